/*
 * Percentiles in constant memory, HDR-style: a value's bucket is found
 * from its highest set bit and the next `bits` bits below it, so every
 * bucket is at most 1/2^bits of its lower bound wide, and a percentile
 * reported as the middle of its bucket is within 1/2^(bits+1) of the
 * true value (0.8% with HIST_BITS_PRECISE; values below 2^(bits+1) are
 * exact). The count array grows only up to the highest bucket used, so
 * latencies of a few seconds take a few kilobytes. Percentiles are by
 * nearest rank, clamped to the exact min and max.
 */
#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void hist_init(struct hist *h, unsigned bits)
{
	memset(h, 0, sizeof *h);
	h->bits = bits;
}

static size_t bucket_of(unsigned bits, uint64_t v)
{
	uint64_t linear = 2ULL << bits;
	if (v < linear)
		return (size_t)v;
	unsigned top = 63 - (unsigned)__builtin_clzll(v);	/* > bits */
	unsigned shift = top - bits;
	return (size_t)(linear + (uint64_t)(shift - 1) * (linear / 2) + ((v >> shift) - linear / 2));
}

/* The smallest and largest value of bucket i. */
static void bucket_range(unsigned bits, size_t i, uint64_t *lo, uint64_t *hi)
{
	uint64_t linear = 2ULL << bits, half = linear / 2;
	if (i < linear) {
		*lo = *hi = i;
		return;
	}
	unsigned shift = (unsigned)((i - linear) / half) + 1;
	*lo = (half + (i - linear) % half) << shift;
	*hi = *lo + ((1ULL << shift) - 1);
}

static void grow(struct hist *h, size_t need)
{
	if (need <= h->n)
		return;
	size_t n = h->n ? h->n : 64;
	while (n < need)
		n *= 2;
	h->counts = xreallocarray(h->counts, n, sizeof *h->counts);
	memset(h->counts + h->n, 0, (n - h->n) * sizeof *h->counts);
	h->n = n;
}

void hist_add(struct hist *h, uint64_t v)
{
	size_t i = bucket_of(h->bits, v);
	grow(h, i + 1);
	h->counts[i]++;
	if (!h->total || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->total++;
	h->sum += (double)v;
}

/* Adds from's counts to into's; both have the same bits. */
void hist_merge(struct hist *into, const struct hist *from)
{
	if (!from->total)
		return;
	grow(into, from->n);
	for (size_t i = 0; i < from->n; i++)
		into->counts[i] += from->counts[i];
	if (!into->total || from->min < into->min)
		into->min = from->min;
	if (from->max > into->max)
		into->max = from->max;
	into->total += from->total;
	into->sum += from->sum;
}

/* The value at rank ceil(percent * total / 100), percent from 1 to 100;
 * NAN when empty. */
double hist_percentile(const struct hist *h, unsigned percent)
{
	if (!h->total)
		return NAN;
	uint64_t rank = (percent * h->total + 99) / 100, seen = 0, lo, hi;
	for (size_t i = 0; i < h->n; i++) {
		seen += h->counts[i];
		if (seen < rank)
			continue;
		bucket_range(h->bits, i, &lo, &hi);
		double mid = ((double)lo + (double)hi) / 2;
		return fmin(fmax(mid, (double)h->min), (double)h->max);
	}
	return (double)h->max;
}

/* How many values are at most v: exact below 2^(bits+1), at the minimum
 * and maximum and beyond; else the values of v's bucket above v count
 * too (within 2^-bits of v). */
uint64_t hist_count_at_most(const struct hist *h, uint64_t v)
{
	if (!h->total || v < h->min)
		return 0;
	if (v >= h->max)
		return h->total;
	uint64_t n = 0;
	for (size_t i = 0, last = bucket_of(h->bits, v); i <= last && i < h->n; i++)
		n += h->counts[i];
	return n;
}

double hist_mean(const struct hist *h)
{
	return h->total ? h->sum / (double)h->total : NAN;
}

void hist_free(struct hist *h)
{
	free(h->counts);
	hist_init(h, h->bits);
}
