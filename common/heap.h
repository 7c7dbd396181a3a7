#ifndef PB_HEAP_H
#define PB_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* A held line: when it is due, in nanoseconds since the epoch, and where
 * it is stored, which also orders lines that arrived one after another. */
struct held {
	int64_t due;
	uint64_t pos;
};

/* A min-heap of held lines, earliest due first, then earliest stored. */
struct heap {
	struct held *at;
	size_t n, cap;
};

void heap_push(struct heap *h, struct held e);
struct held heap_pop(struct heap *h);
void heap_sort_by_pos(struct heap *h);
void heap_rebuild(struct heap *h);
void heap_free(struct heap *h);

#endif
