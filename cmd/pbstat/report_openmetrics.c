/*
 * The report in the OpenMetrics text exposition, for Prometheus through
 * node_exporter's textfile collector: the postbacks by fate per postback
 * name and per host (counters; those pending, which can fall, a gauge),
 * the attempts and a latency histogram per postback name, and the lines
 * read and rejected, then "# EOF". A counter's TYPE and HELP lines name
 * its samples, NAME_total, as the Prometheus text format that
 * node_exporter and promtool read wants it (OpenMetrics would name the
 * family NAME); the rest reads the same in both. Label values are escaped as the format
 * asks (backslash, double quote, newline); they are valid UTF-8, as every
 * line read was. The histogram's buckets are --hist's bounds, or
 * Prometheus's defaults, counted from each name's latency histogram
 * (hist.c), so a latency within 1.6% above a bound may count below it;
 * the count and sum are exact.
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t default_bounds_us[] = {
	5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

/* The fates counted, as their label values; pending is a gauge. */
static const struct {
	enum outcome outcome;
	const char *name;
} fates[] = {
	{ OUTCOME_DELIVERED, "delivered" }, { OUTCOME_FAILED, "failed" },
	{ OUTCOME_SUPERSEDED, "superseded" }, { OUTCOME_DRY_RUN, "dry_run" }, { OUTCOME_EARLIER, "earlier" },
};

static void put_label(FILE *out, const char *name, const struct group *g)
{
	fprintf(out, "%s=\"", name);
	for (size_t i = 0; g->value && i < g->len; i++) {
		char c = g->value[i];
		if (c == '\\' || c == '"')
			fputc('\\', out);
		if (c == '\n')
			fputs("\\n", out);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void put_family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# TYPE %s %s\n# HELP %s %s\n", name, type, name, help);
}

static void put_fates(FILE *out, const char *family, const char *label, const struct groups *g)
{
	const struct group **v = groups_by_volume(g);
	for (size_t i = 0; i < g->n; i++)
		for (size_t f = 0; f < sizeof fates / sizeof *fates; f++) {
			fprintf(out, "%s_total{", family);
			put_label(out, label, v[i]);
			fprintf(out, ",fate=\"%s\"} %llu\n", fates[f].name,
				(unsigned long long)v[i]->summary.outcomes[fates[f].outcome]);
		}
	free(v);
}

static uint64_t pending_of(const struct summary *s)
{
	return s->outcomes[OUTCOME_PENDING];
}

static uint64_t attempts_of(const struct summary *s)
{
	return summary_attempts(s).sum;
}

/* A family with one sample per postback name, of value(its summary). */
static void put_per_postback(FILE *out, const char *name, const char *type, const char *help,
			     const struct groups *g, uint64_t (*value)(const struct summary *))
{
	const struct group **v = groups_by_volume(g);
	put_family(out, name, type, help);
	for (size_t i = 0; i < g->n; i++) {
		fprintf(out, "%s{", name);
		put_label(out, "postback", v[i]);
		fprintf(out, "} %llu\n", (unsigned long long)value(&v[i]->summary));
	}
	free(v);
}

static void put_bucket(FILE *out, const struct group *g, const char *le, uint64_t count)
{
	fputs("pb_latency_seconds_bucket{", out);
	put_label(out, "postback", g);
	fprintf(out, ",le=\"%s\"} %llu\n", le, (unsigned long long)count);
}

static void put_histogram(FILE *out, const struct group *g, const uint64_t *bounds, size_t n)
{
	const struct hist *h = &g->summary.latency;
	for (size_t b = 0; b < n; b++) {
		char le[32];
		snprintf(le, sizeof le, "%g", (double)bounds[b] / 1e6);
		if (!strpbrk(le, ".e"))
			strcat(le, ".0");
		put_bucket(out, g, le, hist_count_at_most(h, bounds[b]));
	}
	put_bucket(out, g, "+Inf", h->total);
	fputs("pb_latency_seconds_count{", out);
	put_label(out, "postback", g);
	fprintf(out, "} %llu\npb_latency_seconds_sum{", (unsigned long long)h->total);
	put_label(out, "postback", g);
	fprintf(out, "} %.6f\n", h->sum / 1e6);
}

static void put_latency(FILE *out, const struct groups *g, const struct buckets *k)
{
	const uint64_t *bounds = default_bounds_us;
	size_t n = sizeof default_bounds_us / sizeof *default_bounds_us;
	if (k) {	/* --hist: its bounds but the first, 0 */
		bounds = k->bound + 1;
		n = k->n - 1;
	}
	const struct group **v = groups_by_volume(g);
	put_family(out, "pb_latency_seconds", "histogram", "The time of the last attempt of each postback sent.");
	fputs("# UNIT pb_latency_seconds seconds\n", out);
	for (size_t i = 0; i < g->n; i++)
		put_histogram(out, v[i], bounds, n);
	free(v);
}

void report_openmetrics(const struct report *r, FILE *out)
{
	const struct views *v = r->views;
	put_family(out, "pb_postbacks_total", "counter", "Postbacks by their fate, one fate a postback key.");
	put_fates(out, "pb_postbacks", "postback", &v->groups[VIEW_NAME]);
	put_family(out, "pb_host_postbacks_total", "counter", "Postbacks by their fate, by the host of their URL.");
	put_fates(out, "pb_host_postbacks", "host", &v->groups[VIEW_HOST]);
	put_per_postback(out, "pb_pending_postbacks", "gauge", "Postbacks to be tried again.",
			 &v->groups[VIEW_NAME], pending_of);
	put_per_postback(out, "pb_attempts_total", "counter", "Attempts to send the postbacks.",
			 &v->groups[VIEW_NAME], attempts_of);
	put_latency(out, &v->groups[VIEW_NAME], r->buckets);
	put_family(out, "pb_lines_total", "counter", "Lines read, by what they were.");
	fprintf(out, "pb_lines_total{kind=\"result\"} %llu\n", (unsigned long long)r->total->records);
	fprintf(out, "pb_lines_total{kind=\"other\"} %lu\n", r->other);
	fprintf(out, "pb_lines_total{kind=\"rejected\"} %lu\n", r->rejected);
	fputs("# EOF\n", out);
}
