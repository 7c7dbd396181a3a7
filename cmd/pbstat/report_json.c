/*
 * The report as one line of JSON, for scripts and dashboards: the same
 * figures as the text, with times in milliseconds to the microsecond,
 * ratios from 0 to 1, and null for a figure that has no records to come
 * from. Under --every, each report is one more line: NDJSON.
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void add_u(struct buf *b, const char *key, uint64_t v)
{
	buf_addf(b, "\"%s\":%llu,", key, (unsigned long long)v);
}

/* "key":v, v in microseconds written as milliseconds, or null. */
static void add_ms(struct buf *b, const char *key, double us)
{
	if (isnan(us))
		buf_addf(b, "\"%s\":null,", key);
	else
		buf_addf(b, "\"%s\":%.3f,", key, us / 1000);
}

static void add_ratio(struct buf *b, const char *key, double v)
{
	if (isnan(v))
		buf_addf(b, "\"%s\":null,", key);
	else
		buf_addf(b, "\"%s\":%.6f,", key, v);
}

/* Ends an object or array whose last member left a comma. */
static void close_with(struct buf *b, char c)
{
	if (b->data[b->len - 1] == ',')
		b->len--;
	buf_addc(b, c);
	buf_addc(b, ',');
}

static void add_hist(struct buf *b, const char *key, const struct hist *h, bool all)
{
	static const unsigned percents[] = { 50, 90, 95, 99 };
	buf_addf(b, "\"%s\":{", key);
	add_u(b, "count", h->total);
	if (all) {
		add_ms(b, "min", h->total ? (double)h->min : NAN);
		add_ms(b, "mean", hist_mean(h));
	}
	for (size_t i = 0; i < 4; i++) {
		char name[8];
		snprintf(name, sizeof name, "p%u", percents[i]);
		if (all || percents[i] == 50 || percents[i] == 99)
			add_ms(b, name, hist_percentile(h, percents[i]));
	}
	add_ms(b, "max", h->total ? (double)h->max : NAN);
	close_with(b, '}');
}

static void add_errors(struct buf *b, const struct errors *e)
{
	const struct error_class **v = errors_by_count(e);
	buf_adds(b, "\"errors\":{");
	for (size_t i = 0; i < e->n; i++) {
		const struct error_message *top[REPORT_MESSAGES];
		size_t n = errors_sorted(v[i], top, REPORT_MESSAGES);
		buf_add_json_string(b, v[i]->name, v[i]->len);
		buf_addf(b, ":{\"count\":%llu,\"messages\":[", (unsigned long long)v[i]->count);
		for (size_t m = 0; m < n; m++) {
			buf_adds(b, "{\"message\":");
			buf_add_json_string(b, top[m]->text, top[m]->len);
			buf_addf(b, ",\"count\":%llu},", (unsigned long long)top[m]->count);
		}
		close_with(b, ']');
		close_with(b, '}');
	}
	close_with(b, '}');
	free(v);
}

/* The members of a summary, each followed by a comma. */
static void add_summary(struct buf *b, const struct summary *s)
{
	const uint64_t *o = s->outcomes;
	struct attempts a = summary_attempts(s);
	add_u(b, "seen", summary_seen(s));
	add_u(b, "delivered", o[OUTCOME_DELIVERED]);
	add_u(b, "failed", o[OUTCOME_FAILED]);
	add_u(b, "pending", o[OUTCOME_PENDING]);
	add_u(b, "superseded", o[OUTCOME_SUPERSEDED]);
	add_u(b, "dry_runs", o[OUTCOME_DRY_RUN]);
	add_u(b, "earlier", o[OUTCOME_EARLIER]);
	add_ratio(b, "success_ratio", summary_success(s));
	buf_adds(b, "\"records\":{");
	add_u(b, "read", s->records);
	add_u(b, "duplicates", s->duplicates);
	add_u(b, "after_delivery", s->after_delivery);
	close_with(b, '}');
	buf_adds(b, "\"attempts\":{");
	add_u(b, "sent", a.sent);
	add_u(b, "retried", a.retried);
	add_ratio(b, "mean", a.sent ? (double)a.sum / (double)a.sent : NAN);
	buf_addf(b, "\"max\":%ld},", a.max);
	add_hist(b, "latency_ms", &s->latency, true);
	add_hist(b, "fire_lag_ms", &s->lag, false);
	buf_adds(b, "\"status\":{");
	for (size_t i = 0; i < s->nstatus; i++)
		buf_addf(b, "\"%ld\":%llu,", s->status[i].code, (unsigned long long)s->status[i].count);
	close_with(b, '}');
	add_errors(b, &s->errors);
}

static void add_buckets(struct buf *b, const struct buckets *k)
{
	buf_adds(b, "\"histogram\":[");
	for (size_t i = 0; i < k->n; i++) {
		buf_addf(b, "{\"from_ms\":%g,\"to_ms\":", (double)k->bound[i] / 1000);
		if (i + 1 < k->n)
			buf_addf(b, "%g", (double)k->bound[i + 1] / 1000);
		else
			buf_adds(b, "null");
		buf_addf(b, ",\"count\":%llu},", (unsigned long long)k->count[i]);
	}
	close_with(b, ']');
}

static void add_groups(struct buf *b, const struct groups *g)
{
	const struct group **v = groups_by_volume(g);
	buf_adds(b, "\"by\":{\"field\":");
	buf_add_json_string(b, g->field, strlen(g->field));
	buf_adds(b, ",\"groups\":[");
	for (size_t i = 0; i < g->n; i++) {
		buf_adds(b, "{\"value\":");
		if (v[i]->value)
			buf_add_json_string(b, v[i]->value, v[i]->len);
		else
			buf_adds(b, "null");
		buf_addc(b, ',');
		add_summary(b, &v[i]->summary);
		close_with(b, '}');
	}
	close_with(b, ']');
	close_with(b, '}');
	free(v);
}

void report_json(const struct report *r, FILE *out)
{
	struct buf b = { 0 };
	buf_addc(&b, '{');
	if (r->at)
		buf_addf(&b, "\"at\":\"%s\",", r->at);
	buf_addf(&b, "\"lines\":%lu,\"rejected\":%lu,\"other\":%lu,", r->lines, r->rejected, r->other);
	add_summary(&b, r->total);
	if (r->buckets)
		add_buckets(&b, r->buckets);
	if (r->groups)
		add_groups(&b, r->groups);
	b.len--;	/* the last comma */
	buf_adds(&b, "}\n");
	fwrite(b.data, 1, b.len, out);
	buf_free(&b);
}
