#ifndef PBSTAT_SERIES_H
#define PBSTAT_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "fates.h"
#include "hist.h"
#include "result.h"

#define SERIES_SLOTS 1440	/* a day by the minute; wider spans widen the slots */

/* The postbacks finished in one slot of time, and the latency of the
 * records sent in it. */
struct slot {
	uint64_t delivered, failed;
	struct hist latency;	/* HIST_BITS_PLOT */
};

/* Deliveries over time for --plot: slots of `width` seconds, slots[0]
 * starting at first * width seconds since the epoch. */
struct series {
	int64_t width, first;
	struct slot *slots;
	size_t n;
};

void series_init(struct series *s);
void series_count(struct series *s, const struct fate *f, int sign);
void series_add_latency(struct series *s, const struct result *r);
void series_free(struct series *s);

#endif
