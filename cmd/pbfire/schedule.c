/*
 * The retry schedule of pbfire --spool: a list of waits, such as
 * "5s,5m,30m,2h", one after each failed attempt of a line, each
 * jittered by +-20% so that lines that failed together do not all come
 * back together; when the list is used up the line fails for good. Each
 * wait is a duration of pb-rules(5) (seconds without a unit) of at most
 * 366 days.
 */
#include "schedule.h"

#include <string.h>

/* Reads a comma-separated list of waits; false when text is not one. */
bool schedule_parse(struct schedule *s, const char *text)
{
	s->n = 0;
	for (const char *p = text;; p++) {
		size_t len = strcspn(p, ",");
		int64_t ns;
		if (s->n == sizeof s->waits / sizeof *s->waits || !duration_parse(p, len, DURATION_S, &ns) ||
		    ns > SCHEDULE_WAIT_MAX)
			return false;
		s->waits[s->n++] = (double)ns / DURATION_S;
		p += len;
		if (!*p)
			return true;
	}
}

/* Seconds to wait after failed attempt number failed (from 1), given a
 * uniform random number in [0, 1); negative when the schedule is over. */
double schedule_wait(const struct schedule *s, int failed, double unit_random)
{
	if (failed < 1 || (size_t)failed > s->n)
		return -1;
	return s->waits[failed - 1] * (0.8 + 0.4 * unit_random);
}
