/*
 * --hist BOUNDS: the latency histogram a user asks for, vegeta's way: a
 * comma-separated list of ascending durations ("0,10ms,50ms,1s"), each
 * the start of a bucket that ends where the next starts, the last one
 * open-ended; a first bound above 0 gets a bucket from 0 before it.
 * Each is a duration of pb-rules(5), in milliseconds without a unit,
 * kept to the microsecond.
 * Counts are exact: each latency is placed by binary search.
 */
#include "buckets.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "duration.h"

/* Adds the bound s after the others, and 0 before a first one above 0. */
static bool add_bound(struct buckets *b, const char *s, const char **why)
{
	int64_t ns;
	bool taken = duration_parse(s, strlen(s), DURATION_MS, &ns) && ns <= BUCKETS_MAX_S * DURATION_S;
	uint64_t us = taken ? (uint64_t)duration_round(ns, DURATION_US) : 0;
	if (!taken || (b->n && us <= b->bound[b->n - 1])) {
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
