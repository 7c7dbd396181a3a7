/*
 * What the input has told after each place in it: the latest action
 * time read after a held line was, which says whether the input has
 * passed the line's fire_at. Only what comes after the line counts, so
 * that an action logged early, out of time order (a server whose log is
 * merged late, a clock ahead), passes none of the lines read after it;
 * a place is a position of the spool's (spool_end() when the line was
 * read), which grows as lines are held. Kept are the times later than
 * every one read after them (a time read drops the earlier or equal
 * ones before it, which can no longer be the latest after any place),
 * so that the first one read after a place is the latest after it, found
 * by a binary search. Past LATER_MAX of them, which takes a log whose
 * times run backwards, the earliest read go: a line held before them
 * then waits for more of the input, or its pause or end.
 */
#include "later.h"

void later_clear(struct later *l)
{
	l->n = 0;
}

/* The ring's index of the i-th time kept. */
static unsigned ring(const struct later *l, unsigned i)
{
	return (l->first + i) % LATER_MAX;
}

void later_add(struct later *l, uint64_t at, int64_t time)
{
	while (l->n && l->time[ring(l, l->n - 1)] <= time)
		l->n--;
	if (l->n == LATER_MAX) {
		l->first = ring(l, 1);
		l->n--;
	}
	unsigned i = ring(l, l->n++);
	l->at[i] = at;
	l->time[i] = time;
}

int64_t later_than(const struct later *l, uint64_t at)
{
	unsigned lo = 0, hi = l->n;	/* the first kept read after at is in [lo, hi] */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (l->at[ring(l, mid)] > at)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < l->n ? l->time[ring(l, lo)] : INT64_MIN;
}
