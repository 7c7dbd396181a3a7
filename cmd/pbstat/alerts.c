/*
 * The alerts a cron job runs pbstat for, checked once the input has
 * ended: --min-success, a success ratio below which the postbacks, or
 * with --by each group of them, are flagged, but only with at least
 * --min-count postbacks finished; and --stale, a duration in which a set
 * of postbacks with some delivered, failed or pending must have had a
 * delivery (by result.fired_at), counted back from --now or the clock.
 * Each set flagged gets one line on standard error, naming the group;
 * pbstat then exits 1 (pbstat(1), EXIT STATUS).
 */
#include "alerts.h"

#include <err.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "stamp.h"

void alerts_init(struct alerts *a)
{
	memset(a, 0, sizeof *a);
	a->min_count = 1;
}

/* A ratio from 0 to 1, or a percentage such as 95%. */
void alerts_min_success(struct alerts *a, const struct tool *t, const char *arg)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (*end == '%' && end > arg) {
		v /= 100;
		end++;
	}
	if (errno || end == arg || *end || !(v >= 0 && v <= 1))
		tool_usage_error(t, "--min-success: expected a ratio from 0 to 1 or a percentage, got '%s'", arg);
	a->min_success = v;
}

void alerts_min_count(struct alerts *a, const struct tool *t, const char *arg)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < 1)
		tool_usage_error(t, "--min-count: expected a count of 1 or more, got '%s'", arg);
	a->min_count = v;
}

void alerts_stale(struct alerts *a, const struct tool *t, const char *arg)
{
	int64_t ns;
	if (!duration_parse(arg, strlen(arg), DURATION_S, &ns) || ns < DURATION_S || ns > 366 * DURATION_D)
		tool_usage_error(t, "--stale: expected a duration from 1s to 366d, got '%s'", arg);
	a->stale = ns;
	a->stale_text = arg;
}

/* RFC 3339 text or Unix seconds, as a record's times. */
void alerts_now(struct alerts *a, const struct tool *t, const char *arg)
{
	struct stamp s;
	size_t n = strlen(arg);
	if (!(stamp_parse_rfc3339(arg, n, &s) || stamp_parse_unix(arg, n, &s)) || s.sec <= 0 ||
	    s.sec >= 9000000000LL)
		tool_usage_error(t, "--now: expected an RFC 3339 time or Unix seconds after 1970, got '%s'", arg);
	a->now = stamp_to_ns(s);
}

bool alerts_wanted(const struct alerts *a)
{
	return a->min_success > 0 || a->stale;
}

/* Writes "FIELD VALUE: " for group g, a value's control characters as
 * "?", or nothing for the total (g NULL). */
static void put_label(const struct groups *groups, const struct group *g)
{
	if (!g)
		return;
	fprintf(stderr, "%s ", groups->field);
	if (!g->value)
		fputs("(none)", stderr);
	for (size_t i = 0; g->value && i < g->len; i++)
		fputc((unsigned char)g->value[i] < 0x20 ? '?' : g->value[i], stderr);
	fputs(": ", stderr);
}

/* Whether the set of postbacks s, the group g of groups or all of them
 * (g NULL), is below --min-success; says so when it is. */
static bool below(const struct alerts *a, const struct summary *s, const struct groups *groups,
		  const struct group *g)
{
	double success = summary_success(s);
	if (!(a->min_success > 0) || summary_finished(s) < a->min_count || !(success < a->min_success))
		return false;
	fprintf(stderr, "%s: ", program_invocation_short_name);
	put_label(groups, g);
	fprintf(stderr, "success ratio %.4f is below --min-success %g (%llu of %llu finished)\n", success,
		a->min_success, (unsigned long long)s->outcomes[OUTCOME_DELIVERED],
		(unsigned long long)summary_finished(s));
	return true;
}

/* Whether s had postbacks to deliver but none delivered within --stale
 * of now; says so when it did. */
static bool stale(const struct alerts *a, const struct summary *s, const struct groups *groups,
		  const struct group *g, int64_t now)
{
	const uint64_t *o = s->outcomes;
	if (!a->stale || !(o[OUTCOME_DELIVERED] + o[OUTCOME_FAILED] + o[OUTCOME_PENDING]))
		return false;
	if (s->last_delivered != SUMMARY_NEVER && s->last_delivered >= (now - a->stale) / STAMP_NS)
		return false;
	fprintf(stderr, "%s: ", program_invocation_short_name);
	put_label(groups, g);
	fprintf(stderr, "no postback delivered in the last %s", a->stale_text);
	if (s->last_delivered != SUMMARY_NEVER) {
		char last[STAMP_TEXT_MAX];
		stamp_format((struct stamp){ s->last_delivered, 0 }, last);
		fprintf(stderr, " (the last at %s)\n", last);
	} else {
		fprintf(stderr, " (none delivered: %llu failed, %llu pending)\n",
			(unsigned long long)o[OUTCOME_FAILED], (unsigned long long)o[OUTCOME_PENDING]);
	}
	return true;
}

/* Checks the alerts asked for on the total, or with groups (--by) on
 * each group, largest first; returns how many sets were flagged. */
unsigned long alerts_check(const struct alerts *a, const struct summary *total, const struct groups *groups)
{
	int64_t now = a->now ? a->now : stamp_to_ns(stamp_now());
	unsigned long flagged = 0;
	if (!groups) {
		flagged += below(a, total, NULL, NULL) | stale(a, total, NULL, NULL, now);
		return flagged;
	}
	const struct group **v = groups_by_volume(groups);
	for (size_t i = 0; i < groups->n; i++)
		flagged += below(a, &v[i]->summary, groups, v[i]) | stale(a, &v[i]->summary, groups, v[i], now);
	free(v);
	return flagged;
}
