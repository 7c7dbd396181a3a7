#ifndef PB_SCHEDULE_H
#define PB_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

#include "duration.h"

/* The waits after each failed attempt of a line kept in a spool. */
struct schedule {
	double waits[32];		/* seconds */
	size_t n;
};

#define SCHEDULE_WAIT_MAX (366 * DURATION_D)	/* nanoseconds */
#define SCHEDULE_DEFAULT "5s,5m,30m,2h,5h,10h,14h,20h,24h"

bool schedule_parse(struct schedule *s, const char *text);
double schedule_wait(const struct schedule *s, int failed, double unit_random);

#endif
