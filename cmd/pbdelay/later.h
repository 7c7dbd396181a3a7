#ifndef PB_LATER_H
#define PB_LATER_H

#include <stdint.h>

#define LATER_MAX 4096	/* the times kept; past them, the earliest read go */

/* The action times read, by where in the input each was read (later.c):
 * those later than every one read after them, in the order read, in a
 * ring. */
struct later {
	uint64_t at[LATER_MAX];	/* where each was read, increasing */
	int64_t time[LATER_MAX];	/* decreasing */
	unsigned first, n;
};

void later_clear(struct later *l);
void later_add(struct later *l, uint64_t at, int64_t time);

/* The latest action time read after place at (INT64_MIN: none). */
int64_t later_than(const struct later *l, uint64_t at);

#endif
