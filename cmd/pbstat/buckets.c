/*
 * --hist BOUNDS: the latency histogram a user asks for, vegeta's way: a
 * comma-separated list of ascending durations ("0,10ms,50ms,1s"), each
 * the start of a bucket that ends where the next starts, the last one
 * open-ended; a first bound above 0 gets a bucket from 0 before it. A
 * bound without a unit is in milliseconds.
 * Counts are exact: each latency is placed by binary search.
 */
#include "buckets.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* A duration such as 250ms, 1.5s, 2m, 800us or 1h, or a bare number of
 * bare_unit microseconds, in microseconds; at most max_seconds. */
bool duration_parse(const char *s, double bare_unit, double max_seconds, uint64_t *us)
{
	static const struct { const char *unit; double us; } units[] = {
		{ "us", 1 }, { "ms", 1e3 }, { "s", 1e6 }, { "m", 60e6 }, { "h", 3600e6 },
	};
	char *end;
	if (*s != '.' && (*s < '0' || *s > '9'))
		return false;
	errno = 0;
	double v = strtod(s, &end), unit = *end ? 0 : bare_unit;
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (strcmp(end, units[i].unit) == 0)
			unit = units[i].us;
	if (errno || end == s || !unit || v * unit > max_seconds * 1e6)
		return false;
	*us = (uint64_t)llround(v * unit);
	return true;
}

/* Adds the bound s after the others, and 0 before a first one above 0. */
static bool add_bound(struct buckets *b, const char *s, const char **why)
{
	uint64_t us;
	if (!duration_parse(s, 1e3, 1e7, &us) || (b->n && us <= b->bound[b->n - 1])) {
		*why = "expected ascending durations, such as 0,10ms,50ms,1s";
		return false;
	}
	if (b->n == 0 && us > 0)
		b->bound[b->n++] = 0;
	if (b->n == BUCKETS_MAX) {
		*why = "too many buckets";
		return false;
	}
	b->bound[b->n++] = us;
	return true;
}

bool buckets_parse(struct buckets *b, const char *list, const char **why)
{
	memset(b, 0, sizeof *b);
	char *copy = xstrndup(list, strlen(list)), *save = NULL;
	bool ok = true;
	for (char *s = strtok_r(copy, ",", &save); ok && s; s = strtok_r(NULL, ",", &save))
		ok = add_bound(b, s, why);
	free(copy);
	*why = ok && !b->n ? "no bounds" : *why;
	return ok && b->n > 0;
}

void buckets_add(struct buckets *b, uint64_t us)
{
	size_t lo = 0, hi = b->n;	/* the bucket is the last bound <= us */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (b->bound[mid] <= us)
			lo = mid;
		else
			hi = mid;
	}
	b->count[lo]++;
}
