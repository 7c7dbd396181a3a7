/*
 * The retry schedule of pbfire --spool: a list of waits, such as
 * "5s,5m,30m,2h", one after each failed attempt of a line, each
 * jittered by +-20% so that lines that failed together do not all come
 * back together; when the list is used up the line fails for good. Each
 * wait is a whole number with the unit s, m, h or d (seconds without).
 */
#include "schedule.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool parse_wait(const char *p, char **end, double *seconds)
{
	static const char units[] = "smhd";
	static const long scale[] = { 1, 60, 3600, 86400 };
	errno = 0;
	long v = strtol(p, end, 10);
	if (errno || *end == p || v < 0 || v > 366L * 86400)
		return false;
	*seconds = (double)v;
	if (**end && **end != ',') {
		const char *unit = strchr(units, **end);
		if (!unit)
			return false;
		*seconds *= (double)scale[unit - units];
		(*end)++;
	}
	return true;
}

/* Reads a comma-separated list of waits; false when text is not one. */
bool schedule_parse(struct schedule *s, const char *text)
{
	const char *p = text;
	s->n = 0;
	for (;;) {
		char *end;
		if (s->n == sizeof s->waits / sizeof *s->waits || !parse_wait(p, &end, &s->waits[s->n]))
			return false;
		s->n++;
		if (!*end)
			return true;
		if (*end != ',')
			return false;
		p = end + 1;
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
