#ifndef PB_RATE_H
#define PB_RATE_H

#include <stddef.h>
#include <stdint.h>

/* The fastest rate pb takes: 10000 a second, one every 100 microseconds. */
#define RATE_MAX_PER_S 10000
/* The slowest: one a day. */
#define RATE_INTERVAL_MAX (86400 * INT64_C(1000000000))

const char *rate_parse(const char *s, size_t n, int64_t *interval_ns);

#endif
