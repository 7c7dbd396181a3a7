/*
 * One summary: the counts by outcome, the attempts, the latency and fire
 * lag histograms, the status codes and the error classes of a set of
 * result records, added one record at a time in memory that does not
 * grow with their number. A postback counts as sent when its result
 * shows an attempt; latency, attempts and status codes are those of sent
 * postbacks. The success ratio is delivered and duplicates over those
 * and the failed: pending postbacks and dry runs are not finished.
 */
#include "summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void summary_init(struct summary *s)
{
	memset(s, 0, sizeof *s);
	hist_init(&s->latency, HIST_BITS_PRECISE);
	hist_init(&s->lag, HIST_BITS_PRECISE);
}

static void count_status(struct summary *s, long code)
{
	size_t i = 0;
	while (i < s->nstatus && s->status[i].code < code)
		i++;
	if (i == s->nstatus || s->status[i].code != code) {
		s->status = xreallocarray(s->status, s->nstatus + 1, sizeof *s->status);
		memmove(s->status + i + 1, s->status + i, (s->nstatus - i) * sizeof *s->status);
		s->status[i] = (struct status_count){ code, 0 };
		s->nstatus++;
	}
	s->status[i].count++;
}

void summary_add(struct summary *s, const struct result *r)
{
	s->outcomes[r->outcome]++;
	if (r->attempts > 0) {
		s->sent++;
		s->attempts += (uint64_t)r->attempts;
		s->retried += r->attempts > 1;
		if (r->attempts > s->attempts_max)
			s->attempts_max = r->attempts;
		if (r->status >= 0)
			count_status(s, r->status);
	}
	if (r->has_latency)
		hist_add(&s->latency, r->latency_us);
	if (r->has_lag)
		hist_add(&s->lag, r->lag_us);
	if (r->error.p)
		errors_add(&s->errors, r->error, r->message);
}

uint64_t summary_seen(const struct summary *s)
{
	uint64_t n = 0;
	for (int o = 0; o < OUTCOMES; o++)
		n += s->outcomes[o];
	return n;
}

/* Postbacks delivered, found duplicate or failed for good. */
uint64_t summary_finished(const struct summary *s)
{
	return s->outcomes[OUTCOME_DELIVERED] + s->outcomes[OUTCOME_DUPLICATE] +
		s->outcomes[OUTCOME_FAILED];
}

/* Delivered and duplicates over the finished ones; NAN when none is. */
double summary_success(const struct summary *s)
{
	uint64_t finished = summary_finished(s);
	uint64_t good = s->outcomes[OUTCOME_DELIVERED] + s->outcomes[OUTCOME_DUPLICATE];
	return finished ? (double)good / (double)finished : NAN;
}

void summary_free(struct summary *s)
{
	hist_free(&s->latency);
	hist_free(&s->lag);
	free(s->status);
	errors_free(&s->errors);
	summary_init(s);
}
