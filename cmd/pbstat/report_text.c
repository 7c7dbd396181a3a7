/*
 * The report as text, for people: the summary as labelled lines (the
 * postbacks by fate, success, those superseded when there are any,
 * attempts, latency and fire lag percentiles, status codes, error classes
 * with their most frequent messages, the records and lines read), then
 * the --hist bars and the --by table, one row per value, largest first. Times are in milliseconds; a figure that has no
 * records to come from shows as "-". Control characters of messages
 * and values show as "?".
 */
#include "report.h"
#include "tool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_BAR 40	/* characters of the --hist bar of a bucket holding all */
#define VALUE_MAX 40	/* bytes of a --by value shown */

const char *ms_cell(cell c, double us)
{
	if (isnan(us))
		return "-";
	snprintf(c, sizeof(cell), "%.1f", us / 1000);
	return c;
}

const char *percent_cell(cell c, double ratio)
{
	if (isnan(ratio))
		return "-";
	snprintf(c, sizeof(cell), "%.2f%%", 100 * ratio);
	return c;
}

static const char *bound_cell(cell c, uint64_t us)
{
	if (us && us % 1000000 == 0)
		snprintf(c, sizeof(cell), "%llu s", (unsigned long long)(us / 1000000));
	else
		snprintf(c, sizeof(cell), "%g ms", (double)us / 1000);
	return c;
}

static void put_text(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fputc((unsigned char)s[i] < 0x20 ? '?' : s[i], out);
}

static void put_outcomes(FILE *out, const struct summary *s)
{
	const uint64_t *o = s->outcomes;
	cell c;
	fprintf(out, "postbacks    %llu seen: %llu delivered, %llu failed, %llu pending, %llu superseded, "
		"%llu %s, %llu settled earlier\n", (unsigned long long)summary_seen(s),
		(unsigned long long)o[OUTCOME_DELIVERED], (unsigned long long)o[OUTCOME_FAILED],
		(unsigned long long)o[OUTCOME_PENDING], (unsigned long long)o[OUTCOME_SUPERSEDED],
		(unsigned long long)o[OUTCOME_DRY_RUN], plural(o[OUTCOME_DRY_RUN], "dry run", "dry runs"),
		(unsigned long long)o[OUTCOME_EARLIER]);
	fprintf(out, "success      %s (%llu of %llu finished)\n", percent_cell(c, summary_success(s)),
		(unsigned long long)o[OUTCOME_DELIVERED], (unsigned long long)summary_finished(s));
	if (o[OUTCOME_SUPERSEDED])
		fprintf(out, "superseded   %llu stopped by a later action of the transaction, such as a fraud "
			"check's verdict\n", (unsigned long long)o[OUTCOME_SUPERSEDED]);
}

static void put_attempts(FILE *out, const struct summary *s)
{
	struct attempts a = summary_attempts(s);
	fprintf(out, "attempts     %llu sent", (unsigned long long)a.sent);
	if (a.sent)
		fprintf(out, ", mean %.2f, max %ld, %.2f%% retried", (double)a.sum / (double)a.sent, a.max,
			100.0 * (double)a.retried / (double)a.sent);
	fputc('\n', out);
}

static void put_times(FILE *out, const struct summary *s)
{
	const struct hist *l = &s->latency, *g = &s->lag;
	cell c[7];
	fprintf(out, "latency ms   min %s, mean %s, p50 %s, p90 %s, p95 %s, p99 %s, max %s\n",
		ms_cell(c[0], l->total ? (double)l->min : NAN), ms_cell(c[1], hist_mean(l)),
		ms_cell(c[2], hist_percentile(l, 50)), ms_cell(c[3], hist_percentile(l, 90)),
		ms_cell(c[4], hist_percentile(l, 95)), ms_cell(c[5], hist_percentile(l, 99)),
		ms_cell(c[6], l->total ? (double)l->max : NAN));
	fprintf(out, "fire lag ms  p50 %s, p99 %s, max %s\n", ms_cell(c[0], hist_percentile(g, 50)),
		ms_cell(c[1], hist_percentile(g, 99)), ms_cell(c[2], g->total ? (double)g->max : NAN));
}

static void put_status(FILE *out, const struct summary *s)
{
	fputs("status      ", out);
	for (size_t i = 0; i < s->nstatus; i++) {
		fputs(i ? ", " : " ", out);
		if (s->status[i].code)
			fprintf(out, "%ld", s->status[i].code);
		else
			fputs("none", out);
		fprintf(out, " %llu", (unsigned long long)s->status[i].count);
	}
	fputs(s->nstatus ? "\n" : " -\n", out);
}

static void put_messages(FILE *out, const struct error_class *c)
{
	const struct error_message *top[REPORT_MESSAGES];
	size_t n = errors_sorted(c, top, REPORT_MESSAGES);
	if (!n)
		return;
	fputs("  ", out);
	put_text(out, c->name, c->len);
	for (size_t m = 0; m < n; m++) {
		fputs(m ? "; " : ": ", out);
		put_text(out, top[m]->text, top[m]->len);
		fprintf(out, " (%llu)", (unsigned long long)top[m]->count);
	}
	fputc('\n', out);
}

static void put_errors(FILE *out, const struct errors *e)
{
	const struct error_class **v = errors_by_count(e);
	fputs("errors      ", out);
	for (size_t i = 0; i < e->n; i++) {
		fputs(i ? ", " : " ", out);
		put_text(out, v[i]->name, v[i]->len);
		fprintf(out, " %llu", (unsigned long long)v[i]->count);
	}
	fputs(e->n ? "\n" : " -\n", out);
	for (size_t i = 0; i < e->n; i++)
		put_messages(out, v[i]);
	free(v);
}

static void put_buckets(FILE *out, const struct buckets *b)
{
	uint64_t total = 0;
	for (size_t i = 0; i < b->n; i++)
		total += b->count[i];
	fputs("\nlatency histogram\n", out);
	for (size_t i = 0; i < b->n; i++) {
		cell from, to = "+inf";
		char range[2 * sizeof(cell) + 8];
		snprintf(range, sizeof range, "[%s, %s)", bound_cell(from, b->bound[i]),
			 i + 1 < b->n ? bound_cell(to, b->bound[i + 1]) : to);
		double share = total ? (double)b->count[i] / (double)total : 0;
		fprintf(out, "  %-22s %10llu %7.2f%%  ", range, (unsigned long long)b->count[i], 100 * share);
		for (long n = lround(share * HIST_BAR); n > 0; n--)
			fputc('#', out);
		fputc('\n', out);
	}
}

/* The most frequent error class other than "superseded", which has its
 * own column, or NULL. */
const struct error_class *top_failure(const struct errors *e)
{
	const struct error_class **v = errors_by_count(e), *top = NULL;
	for (size_t i = 0; i < e->n && !top; i++)
		if (v[i]->len != 10 || memcmp(v[i]->name, "superseded", 10) != 0)
			top = v[i];
	free(v);
	return top;
}

static void put_top_failure(FILE *out, const struct errors *e)
{
	const struct error_class *top = top_failure(e);
	if (!top)
		return;
	fputs("  ", out);
	put_text(out, top->name, top->len);
	fprintf(out, " %llu", (unsigned long long)top->count);
}

static void put_group(FILE *out, const struct group *g, int width)
{
	const struct summary *s = &g->summary;
	const uint64_t *o = s->outcomes;
	size_t n = g->value ? utf8_cut(g->value, g->len, VALUE_MAX) : 6;
	cell c[3];
	fputs("  ", out);
	put_text(out, g->value ? g->value : "(none)", n);
	fprintf(out, "%*s %9llu %9llu %9llu %7llu %7llu %10llu %8llu %7llu %8s %8s %8s", width - (int)n, "",
		(unsigned long long)s->records, (unsigned long long)summary_seen(s),
		(unsigned long long)o[OUTCOME_DELIVERED], (unsigned long long)o[OUTCOME_FAILED],
		(unsigned long long)o[OUTCOME_PENDING], (unsigned long long)o[OUTCOME_SUPERSEDED],
		(unsigned long long)o[OUTCOME_DRY_RUN], (unsigned long long)o[OUTCOME_EARLIER],
		percent_cell(c[0], summary_success(s)), ms_cell(c[1], hist_percentile(&s->latency, 50)),
		ms_cell(c[2], hist_percentile(&s->latency, 99)));
	put_top_failure(out, &s->errors);
	fputc('\n', out);
}

static void put_groups(FILE *out, const struct groups *g)
{
	const struct group **v = groups_by_volume(g);
	int width = (int)strlen("(none)");
	for (size_t i = 0; i < g->n; i++)
		if (v[i]->value && (int)utf8_cut(v[i]->value, v[i]->len, VALUE_MAX) > width)
			width = (int)utf8_cut(v[i]->value, v[i]->len, VALUE_MAX);
	fprintf(out, "\nby %s\n  %-*s %9s %9s %9s %7s %7s %10s %8s %7s %8s %8s %8s  %s\n", g->field, width,
		"value", "records", "seen", "delivered", "failed", "pending", "superseded", "dry runs", "earlier",
		"success", "p50 ms", "p99 ms", "top failure");
	for (size_t i = 0; i < g->n; i++)
		put_group(out, v[i], width);
	free(v);
}

void report_text(const struct report *r, FILE *out)
{
	if (r->at)
		fprintf(out, "pbstat at %s\n", r->at);
	put_outcomes(out, r->total);
	put_attempts(out, r->total);
	put_times(out, r->total);
	put_status(out, r->total);
	put_errors(out, &r->total->errors);
	fprintf(out, "records      %llu read: %llu %s, %llu after delivery\n",
		(unsigned long long)r->total->records, (unsigned long long)r->total->duplicates,
		plural(r->total->duplicates, "duplicate", "duplicates"),
		(unsigned long long)r->total->after_delivery);
	fprintf(out, "lines        %lu read, %lu %s, %lu rejected\n", r->lines, r->other,
		plural(r->other, "not a result record", "not result records"), r->rejected);
	if (r->buckets)
		put_buckets(out, r->buckets);
	if (r->groups)
		put_groups(out, r->groups);
}
