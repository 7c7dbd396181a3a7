/*
 * The time series behind --plot: per minute of result.fired_at, the
 * postbacks delivered and those failed for good, each at the time of the
 * record that decides its fate (so one pending, superseded, or later
 * delivered is not drawn as failed; one whose fate changes moves), and a
 * coarse latency histogram of the records sent for the p99 line. Its memory is bounded: when the records span more than
 * SERIES_SLOTS slots, slots are merged in pairs and each spans twice as
 * long (2 minutes, 4, ...). Records may come in any order.
 */
#include "series.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

void series_init(struct series *s)
{
	memset(s, 0, sizeof *s);
	s->width = 60;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* A new array of slots first to last, the old ones moved in, merged
 * where shift (0 or 1) halves the slot numbers. */
static void rebuild(struct series *s, int64_t first, int64_t last, int shift)
{
	size_t n = (size_t)(last - first + 1);
	struct slot *v = xcalloc(n, sizeof *v);
	for (size_t i = 0; i < n; i++)
		hist_init(&v[i].latency, HIST_BITS_PLOT);
	for (size_t i = 0; i < s->n; i++) {
		struct slot *from = &s->slots[i];
		struct slot *to = &v[floor_div(s->first + (int64_t)i, 1 << shift) - first];
		to->delivered += from->delivered;
		to->failed += from->failed;
		hist_merge(&to->latency, &from->latency);
		hist_free(&from->latency);
	}
	free(s->slots);
	s->slots = v;
	s->n = n;
	s->first = first;
}

static void coarsen(struct series *s)
{
	int64_t last = s->first + (int64_t)s->n - 1;
	rebuild(s, floor_div(s->first, 2), floor_div(last, 2), 1);
	s->width *= 2;
}

/* The slot of time sec, made room for. */
static struct slot *slot_at(struct series *s, int64_t sec)
{
	for (;;) {
		int64_t k = floor_div(sec, s->width);
		int64_t first = s->n && s->first < k ? s->first : k;
		int64_t last = s->n && s->first + (int64_t)s->n - 1 > k ? s->first + (int64_t)s->n - 1 : k;
		if (last - first >= SERIES_SLOTS) {
			coarsen(s);
			continue;
		}
		if (!s->n || first != s->first || (size_t)(last - first + 1) != s->n)
			rebuild(s, first, last, 0);
		return &s->slots[k - s->first];
	}
}

/* Draws the postback whose fate is f, or with sign -1 takes it back. */
void series_count(struct series *s, const struct fate *f, int sign)
{
	bool delivered = f->outcome == OUTCOME_DELIVERED, failed = f->outcome == OUTCOME_FAILED;
	if (f->minute == FATE_NO_MINUTE || !(delivered || failed))
		return;
	struct slot *slot = slot_at(s, (int64_t)f->minute * 60);
	uint64_t *count = delivered ? &slot->delivered : &slot->failed;
	*count += (uint64_t)(int64_t)sign;
}

/* Adds the latency of record r, sent, to its slot. */
void series_add_latency(struct series *s, const struct result *r)
{
	if (r->has_fired && r->has_latency)
		hist_add(&slot_at(s, r->fired_sec)->latency, r->latency_us);
}

void series_free(struct series *s)
{
	for (size_t i = 0; i < s->n; i++)
		hist_free(&s->slots[i].latency);
	free(s->slots);
	series_init(s);
}
