/*
 * One summary: the postbacks by fate, by attempts and by status code,
 * and, of the records that decide a fate, the latency and fire lag
 * histograms and the error classes; in memory that does not grow with
 * their number. A postback's fate may change as more of its records come
 * (a pending one delivered), so it is counted with summary_count(), and
 * taken back the same way with sign -1 before it counts again. A
 * postback counts as sent when it shows an attempt; the status codes are
 * those of its last record sent. The success ratio is the delivered over
 * those and the failed: postbacks pending, superseded, dry runs and
 * those settled earlier are not finished here. The time of the latest
 * delivery is kept for --stale.
 */
#include "summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void summary_init(struct summary *s)
{
	memset(s, 0, sizeof *s);
	s->last_delivered = SUMMARY_NEVER;
	hist_init(&s->latency, HIST_BITS_PRECISE);
	hist_init(&s->lag, HIST_BITS_PRECISE);
}

/* Adds sign (1 or -1) to the count of code; a code whose count drops to
 * 0 is dropped. */
static void count_status(struct summary *s, long code, int sign)
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
	s->status[i].count += (uint64_t)(int64_t)sign;
	if (!s->status[i].count) {
		memmove(s->status + i, s->status + i + 1, (s->nstatus - i - 1) * sizeof *s->status);
		s->nstatus--;
	}
}

/* Counts the postback whose fate is f, or with sign -1 takes it back. */
void summary_count(struct summary *s, const struct fate *f, int sign)
{
	if (f->outcome == OUTCOMES)
		return;
	s->outcomes[f->outcome] += (uint64_t)(int64_t)sign;
	s->by_attempts[f->attempts] += (uint64_t)(int64_t)sign;
	if (f->status != FATE_NO_STATUS)
		count_status(s, f->status, sign);
}

/* Counts record r, whose role role is to its postback. */
void summary_add_record(struct summary *s, const struct result *r, enum record_role role)
{
	s->records++;
	s->duplicates += role == ROLE_DUPLICATE;
	s->after_delivery += role == ROLE_AFTER_DELIVERY;
	if (role != ROLE_DECIDES)
		return;
	if (r->has_latency)
		hist_add(&s->latency, r->latency_us);
	if (r->has_lag)
		hist_add(&s->lag, r->lag_us);
	if (r->error.p)
		errors_add(&s->errors, r->error, r->message);
	if (r->outcome == OUTCOME_DELIVERED && r->has_fired && r->fired_sec > s->last_delivered)
		s->last_delivered = r->fired_sec;
}

uint64_t summary_seen(const struct summary *s)
{
	uint64_t n = 0;
	for (int o = 0; o < OUTCOMES; o++)
		n += s->outcomes[o];
	return n;
}

/* Postbacks delivered or failed for good. */
uint64_t summary_finished(const struct summary *s)
{
	return s->outcomes[OUTCOME_DELIVERED] + s->outcomes[OUTCOME_FAILED];
}

/* Delivered over the finished ones; NAN when none is. */
double summary_success(const struct summary *s)
{
	uint64_t finished = summary_finished(s);
	return finished ? (double)s->outcomes[OUTCOME_DELIVERED] / (double)finished : NAN;
}

struct attempts summary_attempts(const struct summary *s)
{
	struct attempts a = { 0 };
	for (long n = 1; n <= FATE_ATTEMPTS_MAX; n++) {
		uint64_t postbacks = s->by_attempts[n];
		a.sent += postbacks;
		a.retried += n > 1 ? postbacks : 0;
		a.sum += postbacks * (uint64_t)n;
		a.max = postbacks ? n : a.max;
	}
	return a;
}

void summary_free(struct summary *s)
{
	hist_free(&s->latency);
	hist_free(&s->lag);
	free(s->status);
	errors_free(&s->errors);
	summary_init(s);
}
