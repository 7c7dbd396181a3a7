/*
 * What pbfire tells about its lines: the "result" member written with
 * each line that is finished or deferred (with the publisher's answer to
 * its last attempt, any bytes made valid JSON), and read back from a line fed
 * back or taken from the spool, the line printed for it with -v, the counts
 * by outcome and by host with the attempts' latency percentiles for
 * --stats (a histogram of 1%-wide buckets), and the self-updating
 * progress line on a terminal.
 */
#include "report.h"
#include "stamp.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUND_DELAY (5 * 60)		/* retry_at of a first failed round, seconds */
#define ROUND_DELAY_MAX (24 * 3600)

static void add_stamp(struct buf *b, int64_t ns)
{
	char text[STAMP_TEXT_MAX];
	buf_addc(b, '"');
	buf_add(b, text, stamp_format(stamp_from_ns(ns), text));
	buf_addc(b, '"');
}

static void add_string_or_null(struct buf *b, const char *s, size_t n)
{
	if (s && n)
		buf_add_json_string(b, s, n);
	else
		buf_adds(b, "null");
}

/* When a failed round should be fed back in: 5 minutes after now for the
 * first round, doubling each round up to a day. */
static int64_t round_retry_at(int round, int64_t now)
{
	long delay = ROUND_DELAY;
	for (int r = 1; r < round && delay < ROUND_DELAY_MAX; r++)
		delay *= 2;
	return now + (delay < ROUND_DELAY_MAX ? delay : ROUND_DELAY_MAX) * STAMP_NS;
}

/* The "response" member of a result: the answer to j's last attempt,
 * its status, the headers kept and, unless r keeps no body, the body's
 * first bytes and whether there were more. */
static void add_answer(const struct report *r, const struct job *j, struct buf *b)
{
	const struct answer *a = &j->answer;
	size_t kept = a->body_len < r->keep_response ? a->body_len : r->keep_response;
	const char *comma = "";
	buf_addf(b, ",\"response\":{\"status\":%ld,\"headers\":{", j->status);
	for (int i = 0; i < ANSWER_HEADERS; i++) {
		if (!a->header[i][0])
			continue;
		buf_addf(b, "%s\"%s\":", comma, answer_header_names[i]);
		buf_add_json_bytes(b, a->header[i], strlen(a->header[i]));
		comma = ",";
	}
	buf_addc(b, '}');
	if (r->keep_response) {
		buf_adds(b, ",\"body\":");
		buf_add_json_bytes(b, a->body ? a->body : "", kept);
		buf_addf(b, ",\"truncated\":%s", a->received > kept ? "true" : "false");
	}
	buf_addc(b, '}');
}

/* The most a "response" member takes, keeping keep_response body bytes:
 * six for a byte escaped, and room for the headers and the rest. */
size_t report_answer_max(size_t keep_response)
{
	return 6 * (keep_response + ANSWER_HEADERS * ANSWER_HEADER_MAX) + 256;
}

/* The "result" member of a job: final, or (retry_at > 0) deferred until
 * retry_at. */
static void build_result(const struct report *r, const struct job *j, int64_t now, int64_t retry_at,
			 struct buf *b)
{
	bool ok = !retry_at && (j->error == ERR_NONE || (j->error == ERR_DUPLICATE && !j->failed_earlier));
	const char *err = error_class_names[j->error];
	buf_clear(b);
	buf_addf(b, "\"result\":{\"ok\":%s,", ok ? "true" : "false");
	if (retry_at)
		buf_adds(b, "\"final\":false,");
	if (r->dry_run)
		buf_adds(b, "\"dry_run\":true,");
	buf_addf(b, "\"status\":%ld,\"attempts\":%d,", j->status, j->attempts);
	if (j->earlier_attempts)
		buf_addf(b, "\"attempts_in_all\":%d,", job_attempts(j));
	buf_adds(b, "\"error\":");
	add_string_or_null(b, err, strlen(err));
	buf_adds(b, ",\"message\":");
	add_string_or_null(b, j->message.data, j->message.len);
	buf_addf(b, ",\"ms\":%.1f,\"fired_at\":", j->ms);
	if (j->fired_at)
		add_stamp(b, j->fired_at);
	else
		buf_adds(b, "null");
	buf_adds(b, ",\"ip\":");
	add_string_or_null(b, j->ip, strlen(j->ip));
	buf_addf(b, ",\"line\":%lu,\"round\":%d", j->lineno, j->round);
	if (j->answer.came)
		add_answer(r, j, b);
	if (!retry_at && !ok && !r->spool && job_retryable(j))
		retry_at = round_retry_at(j->round, now);
	if (retry_at) {
		buf_adds(b, ",\"retry_at\":");
		add_stamp(b, retry_at);
	}
	if (r->dry_run && j->url) {
		buf_adds(b, ",\"request\":");
		job_describe(j, b);
	}
	buf_addc(b, '}');
}

/* The whole number at path in r, when it is one from 0 to max; else 0. */
static long result_number(struct record *r, const char *path, long max)
{
	int i = record_path(r, path, strlen(path));
	if (i < 0 || !record_is_number(r, i))
		return 0;
	long v = strtol(record_text(r, i).p, NULL, 10);
	return v >= 0 && v <= max ? v : 0;
}

/* Reads where j's line stands in its rounds from its record's result:
 * a line from the spool carries the pending result of the round it is in,
 * with the attempts made in it and its input line number; any other line
 * starts a round, after the rounds of the result it was fed back with. */
void report_read_round(struct job *j, bool pending)
{
	struct record *r = &j->rec;
	int attempts = (int)result_number(r, "result.attempts", 1000000);
	int all = (int)result_number(r, "result.attempts_in_all", 1000000);
	j->round = (int)result_number(r, "result.round", 999) + !pending;
	j->attempts = pending ? attempts : 0;
	j->earlier_attempts = (all ? all : attempts) - j->attempts;
	if (pending)
		j->lineno = (unsigned long)result_number(r, "result.line", LONG_MAX);
}


/* Notes an attempt that came to an end. */
void report_attempt(struct report *r, const struct job *j)
{
	int i = j->ms <= 0.01 ? 0 : (int)(100 * log10(j->ms * 100));
	r->latency[i < LATENCY_BUCKETS ? i : LATENCY_BUCKETS - 1]++;
}

static void say_outcome(const struct report *r, const struct job *j)
{
	fflush(stdout);
	if (r->dry_run) {
		fprintf(stderr, "pbfire: line %lu: %s", j->lineno, j->error ? "" : "would send ");
		if (j->error)
			fprintf(stderr, "%s: %s\n", error_class_names[j->error], j->message.data);
		else
			job_print(j, stderr);
	} else {
		fprintf(stderr, "pbfire: line %lu: %s %ld in %.1f ms after %d %s%s%s: %s\n",
			j->lineno, j->error ? error_class_names[j->error] : "ok", j->status, j->ms,
			j->attempts, plural(j->attempts, "attempt", "attempts"), j->message.len ? ": " : "", j->message.data ? j->message.data : "",
			j->url ? j->url : "");
	}
}

/* Adds to the result in b the line's "superseded" member as
 * "superseded_by": what superseded it. */
static void add_superseded_by(struct job *j, struct buf *b)
{
	struct record *r = &j->rec;
	int s = record_get(r, 0, "superseded");
	if (s < 0)
		return;
	struct text t = record_text(r, s);
	b->len--;	/* the closing brace */
	buf_adds(b, ",\"superseded_by\":");
	if (r->tok[s].type == JSMN_STRING)
		buf_add_json_string(b, t.p, t.n);
	else
		buf_add(b, t.p, t.n);
	buf_addc(b, '}');
}

/* Counts j, finished, tells about it with -v, and builds its result; a
 * duplicate counts as settled (report_settled()), not here. */
void report_finished(struct report *r, struct job *j, int64_t now, struct buf *result)
{
	if (j->error != ERR_DUPLICATE)
		r->counts[j->error]++;
	if (r->verbose)
		say_outcome(r, j);
	build_result(r, j, now, 0, result);
	if (j->error == ERR_SUPERSEDED)
		add_superseded_by(j, result);
}

/* Counts a line whose key was settled already: not finished in this run. */
void report_settled(struct report *r)
{
	r->settled++;
}

/* Counts j, kept in the spool until due, and builds its pending result. */
void report_deferred(struct report *r, const struct job *j, int64_t due, struct buf *result)
{
	r->deferred++;
	build_result(r, j, due, due, result);
}

/* Lines delivered in this run. */
unsigned long report_delivered(const struct report *r)
{
	return r->counts[ERR_NONE];
}

/* Lines that failed for good in this run. */
unsigned long report_failed(const struct report *r)
{
	unsigned long n = 0;
	for (int c = ERR_NONE + 1; c < ERR_DUPLICATE; c++)
		n += r->counts[c];
	return n;
}

/* Redraws the progress line, at most four times a second unless last. */
void report_progress(struct report *r, int64_t now, unsigned running, unsigned open_breakers, bool last)
{
	if (!r->progress || (!last && now - r->last_progress < STAMP_NS / 4))
		return;
	double secs = (double)(now - r->started) / STAMP_NS;
	fprintf(stderr, "\rpbfire: %lu sent, %lu ok, %lu failed, %lu superseded, %lu already settled, %u in flight, "
		"%lu deferred, %u %s open, %.0f/s\033[K%s",
		r->sent, report_delivered(r), report_failed(r), r->counts[ERR_SUPERSEDED], r->settled, running,
		r->deferred, open_breakers, plural(open_breakers, "breaker", "breakers"),
		secs > 0 ? (double)r->sent / secs : 0.0, last ? "\n" : "");
	r->last_progress = now;
}

static double latency_percentile(const struct report *r, double p)
{
	unsigned long total = 0, seen = 0;
	for (int i = 0; i < LATENCY_BUCKETS; i++)
		total += r->latency[i];
	for (int i = 0; i < LATENCY_BUCKETS && total; i++) {
		seen += r->latency[i];
		if (seen >= p * (double)total)
			return pow(10, (i + 1) / 100.0) / 100;
	}
	return 0;
}

void report_stats(const struct report *r, const struct tool *t, const struct hosts *hs, size_t waiting)
{
	fflush(stdout);
	fprintf(stderr, "pbfire: %lu %s read, %lu rejected, %lu %s sent in %lu %s\n",
		t->nread, plural(t->nread, "line", "lines"), t->nrejected, r->sent, plural(r->sent, "line", "lines"),
		r->requests, plural(r->requests, "request", "requests"));
	for (int c = 0; c < ERR_CLASSES; c++)
		if (r->counts[c])
			fprintf(stderr, "pbfire: %-12s %lu\n", c ? error_class_names[c] : "ok", r->counts[c]);
	if (r->settled)
		fprintf(stderr, "pbfire: %lu already settled\n", r->settled);
	if (r->notices)
		fprintf(stderr, "pbfire: %lu %s consumed\n", r->notices, plural(r->notices, "notice", "notices"));
	if (r->spool)
		fprintf(stderr, "pbfire: %lu %s to the spool, %zu %s in it\n", r->deferred,
			plural(r->deferred, "deferral", "deferrals"), waiting, plural(waiting, "line", "lines"));
	for (size_t i = 0; i < hs->n; i++) {
		const struct host *h = &hs->at[i];
		const char *breaker = h->breaker.state == BREAKER_CLOSED ? "" : ", breaker open";
		if (h->ok || h->failed)
			fprintf(stderr, "pbfire: host %s: %lu ok, %lu failed%s\n", h->name, h->ok, h->failed, breaker);
		else	/* a host known from the breakers file only */
			fprintf(stderr, "pbfire: host %s: no line finished in this run%s\n", h->name, breaker);
	}
	if (hs->open_breakers)
		fprintf(stderr, "pbfire: %u %s open\n", hs->open_breakers,
			plural(hs->open_breakers, "breaker", "breakers"));
	if (!r->dry_run && r->sent)
		fprintf(stderr, "pbfire: latency ms (within 1%%): p50 %.2f, p90 %.2f, p99 %.2f, max %.2f\n",
			latency_percentile(r, 0.5), latency_percentile(r, 0.9),
			latency_percentile(r, 0.99), latency_percentile(r, 1));
}
