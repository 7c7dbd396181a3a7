/*
 * The order pbdelay releases lines in: a binary min-heap of 16-byte
 * entries keyed by due time and then by storage position, which grows
 * with arrival, so lines due at the same time leave in arrival order. The
 * array grows by half its size, keeping the memory per held line between
 * 16 and 24 bytes. Compaction renumbers positions: heap_sort_by_pos puts
 * the entries in storage order for it, heap_rebuild restores the heap.
 */
#include "heap.h"
#include "buf.h"

#include <stdbool.h>
#include <stdlib.h>

static bool before(const struct held *a, const struct held *b)
{
	return a->due < b->due || (a->due == b->due && a->pos < b->pos);
}

static void sift_up(struct held *at, size_t i)
{
	struct held e = at[i];
	while (i > 0 && before(&e, &at[(i - 1) / 2])) {
		at[i] = at[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	at[i] = e;
}

static void sift_down(struct held *at, size_t n, size_t i)
{
	struct held e = at[i];
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

void heap_push(struct heap *h, struct held e)
{
	if (h->n == h->cap) {
		h->cap = h->cap < 1024 ? 1024 : h->cap + h->cap / 2;
		h->at = xreallocarray(h->at, h->cap, sizeof *h->at);
	}
	h->at[h->n] = e;
	sift_up(h->at, h->n++);
}

/* Removes and returns the earliest entry; the heap must not be empty. */
struct held heap_pop(struct heap *h)
{
	struct held top = h->at[0];
	h->at[0] = h->at[--h->n];
	if (h->n)
		sift_down(h->at, h->n, 0);
	return top;
}

static int by_pos(const void *a, const void *b)
{
	const struct held *x = a, *y = b;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

void heap_sort_by_pos(struct heap *h)
{
	qsort(h->at, h->n, sizeof *h->at, by_pos);
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
