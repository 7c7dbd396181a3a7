#ifndef PB_HEAP_H
#define PB_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* A timer: when it is due, in nanoseconds since the epoch, and what is
 * due then, as its user numbers it (a spool's record position, a host's
 * index, a job's address), which also orders timers due together. */
struct timer {
	int64_t due;
	uint64_t id;
};

/* A min-heap of timers, earliest due first, then lowest id. */
struct heap {
	struct timer *at;
	size_t n, cap;
};

void heap_push(struct heap *h, struct timer e);
struct timer heap_pop(struct heap *h);
void heap_sort_by_id(struct heap *h);
void heap_rebuild(struct heap *h);
void heap_free(struct heap *h);

#endif
