/*
 * Timers in the order they fall due: a binary min-heap of 16-byte
 * entries keyed by due time and then by id. pbdelay's and pbfire's spools
 * hold their lines' records in one (the id a record's position, which
 * grows with arrival, so lines due together leave in arrival order), and
 * pbfire its lines waiting to retry and its hosts' breaker and pacing
 * timers. The array grows by half its size, keeping the memory per timer
 * between 16 and 24 bytes. A spool's compaction renumbers positions:
 * heap_sort_by_id puts the entries in storage order for it, heap_rebuild
 * restores the heap.
 */
#include "heap.h"
#include "buf.h"

#include <stdbool.h>
#include <stdlib.h>

static bool before(const struct timer *a, const struct timer *b)
{
	return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void sift_up(struct timer *at, size_t i)
{
	struct timer e = at[i];
	while (i > 0 && before(&e, &at[(i - 1) / 2])) {
		at[i] = at[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	at[i] = e;
}

static void sift_down(struct timer *at, size_t n, size_t i)
{
	struct timer e = at[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(&at[c + 1], &at[c]))
			c++;
		if (!before(&at[c], &e))
			break;
		at[i] = at[c];
		i = c;
	}
	at[i] = e;
}

void heap_push(struct heap *h, struct timer e)
{
	if (h->n == h->cap) {
		h->cap = h->cap < 1024 ? 1024 : h->cap + h->cap / 2;
		h->at = xreallocarray(h->at, h->cap, sizeof *h->at);
	}
	h->at[h->n] = e;
	sift_up(h->at, h->n++);
}

/* Removes and returns the earliest entry; the heap must not be empty. */
struct timer heap_pop(struct heap *h)
{
	struct timer top = h->at[0];
	h->at[0] = h->at[--h->n];
	if (h->n)
		sift_down(h->at, h->n, 0);
	return top;
}

static int by_id(const void *a, const void *b)
{
	const struct timer *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

void heap_sort_by_id(struct heap *h)
{
	qsort(h->at, h->n, sizeof *h->at, by_id);
}

void heap_rebuild(struct heap *h)
{
	for (size_t i = h->n / 2; i-- > 0;)
		sift_down(h->at, h->n, i);
}

void heap_free(struct heap *h)
{
	free(h->at);
	*h = (struct heap){ 0 };
}
