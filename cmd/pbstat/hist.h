#ifndef PBSTAT_HIST_H
#define PBSTAT_HIST_H

#include <stddef.h>
#include <stdint.h>

/* A log-linear histogram of non-negative integers (microseconds here):
 * values below 2^(bits+1) have a bucket each, every power of two above
 * is cut into 2^bits buckets. min, max and the sum are kept exactly. */
struct hist {
	unsigned bits;
	uint64_t *counts;	/* grown to the highest bucket used */
	size_t n;
	uint64_t total, min, max;
	double sum;
};

#define HIST_BITS_PRECISE 6	/* within 1/128 = 0.8% */
#define HIST_BITS_PLOT 4	/* within 1/32 = 3.1%: the plot's p99 line */

void hist_init(struct hist *h, unsigned bits);
void hist_add(struct hist *h, uint64_t v);
void hist_merge(struct hist *into, const struct hist *from);
double hist_percentile(const struct hist *h, unsigned percent);
uint64_t hist_count_at_most(const struct hist *h, uint64_t v);
double hist_mean(const struct hist *h);
void hist_free(struct hist *h);

#endif
