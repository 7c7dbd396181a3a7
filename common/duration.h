#ifndef PB_DURATION_H
#define PB_DURATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The units of a duration, in nanoseconds. */
#define DURATION_US INT64_C(1000)
#define DURATION_MS INT64_C(1000000)
#define DURATION_S INT64_C(1000000000)
#define DURATION_M (60 * DURATION_S)
#define DURATION_H (3600 * DURATION_S)
#define DURATION_D (86400 * DURATION_S)

bool duration_parse(const char *s, size_t n, int64_t bare, int64_t *ns);

/* ns in units of unit, rounded to the nearest; ns from 0 to INT64_MAX
 * less unit / 2. */
static inline int64_t duration_round(int64_t ns, int64_t unit)
{
	return (ns + unit / 2) / unit;
}

#endif
