/*
 * pbfire: send each line's request with libcurl and write the line back
 * with a "result" member, one output line per input line. See pbfire(1).
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <err.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "ledger.h"
#include "netpolicy.h"
#include "record.h"
#include "retry.h"
#include "stamp.h"
#include "strmap.h"
#include "tool.h"
#include "wake.h"

static const char usage[] =
	"usage: pbfire [--dry-run] [-v] [-j N] [--per-host N] [--retries N] [--backoff SECONDS]\n"
	"              [--connect-timeout SECONDS] [--timeout SECONDS] [--follow N]\n"
	"              [--allow-private] [--allow-net CIDR] [--cacert FILE] [--ledger FILE]\n"
	"              [--ledger-keep DURATION] [--key FIELD] [--grace SECONDS] [--stats]\n"
	"              [--reject FILE] [--max-line BYTES] [FILE ...]\n";

enum {
	OPT_DRY_RUN = OPT_TOOL_LAST, OPT_PER_HOST, OPT_RETRIES, OPT_BACKOFF, OPT_CONNECT_TIMEOUT,
	OPT_TIMEOUT, OPT_FOLLOW, OPT_ALLOW_PRIVATE, OPT_ALLOW_NET, OPT_LEDGER, OPT_KEY, OPT_GRACE,
	OPT_STATS, OPT_LEDGER_KEEP, OPT_CACERT,
};

#define BODY_CAP (64 * 1024)		/* response bytes read before hanging up */
#define ROUND_DELAY (5 * 60)		/* retry_at of a first failed round, seconds */
#define ROUND_DELAY_MAX (24 * 3600)
#define LATENCY_BUCKETS 800		/* 1% wide, from 0.01 ms to 100 s */

struct host {
	char *name;
	unsigned running;
	unsigned long ok, failed;
};

struct pbfire {
	struct tool *t;
	bool dry_run, verbose, stats, progress;
	unsigned jobs, per_host, queue;
	long connect_ms, timeout_ms, follow;
	double grace;
	const char *key_path, *cacert;
	int64_t ledger_keep;		/* seconds; 0: forever */
	struct retry_policy retry;
	struct netpolicy net;
	struct ledger ledger;
	bool use_ledger;
	CURLM *multi;
	struct buf why, scratch, result;
	struct job *first, *last;	/* waiting and running, in arrival order */
	unsigned queued, running;
	struct host *hosts;
	size_t nhosts;
	struct strmap host_index;
	bool input_done, stopping;
	int64_t now, grace_end, last_progress, started;
	unsigned long sent, requests;	/* lines sent; attempts, retries included */
	unsigned long counts[ERR_DUPLICATE + 1];
	unsigned long latency[LATENCY_BUCKETS];
};

/* ---- results ---- */

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

/* The "result" member of a finished job. */
static void build_result(struct pbfire *pf, const struct job *j, struct buf *b)
{
	bool ok = j->error == ERR_NONE || j->error == ERR_DUPLICATE;
	const char *err = error_class_names[j->error];
	buf_clear(b);
	buf_addf(b, "\"result\":{\"ok\":%s,", ok ? "true" : "false");
	if (pf->dry_run)
		buf_adds(b, "\"dry_run\":true,");
	buf_addf(b, "\"status\":%ld,\"attempts\":%d,\"error\":", j->status, j->attempts);
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
	if (!ok && attempt_retryable(j->error, j->status)) {
		long delay = ROUND_DELAY;
		for (int r = 1; r < j->round && delay < ROUND_DELAY_MAX; r++)
			delay *= 2;
		buf_adds(b, ",\"retry_at\":");
		add_stamp(b, pf->now + (delay < ROUND_DELAY_MAX ? delay : ROUND_DELAY_MAX) * STAMP_NS);
	}
	if (pf->dry_run && j->url) {
		buf_adds(b, ",\"request\":");
		job_describe(j, b);
	}
	buf_addc(b, '}');
}

static void note_latency(struct pbfire *pf, double ms)
{
	int i = ms <= 0.01 ? 0 : (int)(100 * log10(ms * 100));
	pf->latency[i < LATENCY_BUCKETS ? i : LATENCY_BUCKETS - 1]++;
}

static void say_outcome(const struct pbfire *pf, const struct job *j)
{
	fflush(stdout);
	if (pf->dry_run) {
		fprintf(stderr, "pbfire: line %lu: %s", j->lineno, j->error ? "" : "would send ");
		if (j->error)
			fprintf(stderr, "%s: %s\n", error_class_names[j->error], j->message.data);
		else
			job_print(j, stderr);
	} else {
		fprintf(stderr, "pbfire: line %lu: %s %ld in %.1f ms after %d attempts%s%s: %s\n",
			j->lineno, j->error ? error_class_names[j->error] : "ok", j->status, j->ms,
			j->attempts, j->message.len ? ": " : "", j->message.data ? j->message.data : "",
			j->url ? j->url : "");
	}
}

/* Writes j's line with its result and forgets the job. */
static void finish(struct pbfire *pf, struct job *j)
{
	const char *const drop[] = { "result", NULL };
	pf->counts[j->error]++;
	if (j->host != (size_t)-1 && !pf->dry_run) {
		struct host *h = &pf->hosts[j->host];
		*(j->error == ERR_NONE || j->error == ERR_DUPLICATE ? &h->ok : &h->failed) += 1;
	}
	if (j->owns_key)
		ledger_set(&pf->ledger, j->key, j->key_len,
			   j->error == ERR_NONE ? KEY_DELIVERED : KEY_UNKNOWN);
	if (pf->verbose)
		say_outcome(pf, j);
	build_result(pf, j, &pf->result);
	record_write(&j->rec, stdout, drop, pf->result.data, pf->result.len);
	*(j->prev ? &j->prev->next : &pf->first) = j->next;
	*(j->next ? &j->next->prev : &pf->last) = j->prev;
	pf->queued--;
	job_clear(j);
	free(j);
}

static void fail(struct pbfire *pf, struct job *j, enum error_class c, const char *msg)
{
	j->error = c;
	buf_clear(&j->message);
	buf_adds(&j->message, msg);
	finish(pf, j);
}

/* ---- reading ---- */

/* The round of a line fed back: its old result's round, plus one. */
static int next_round(struct record *r)
{
	static const char path[] = "result.round";
	int i = record_path(r, path, sizeof path - 1);
	struct text t = i >= 0 && record_is_number(r, i) ? record_text(r, i) : (struct text){ "0", 1 };
	long round = strtol(t.p, NULL, 10);
	return round >= 0 && round < 1000 ? (int)round + 1 : 1;
}

static size_t host_of(struct pbfire *pf, const char *name, size_t n)
{
	size_t *i = strmap_put(&pf->host_index, name, n, pf->nhosts);
	if (*i == pf->nhosts) {
		pf->hosts = xreallocarray(pf->hosts, ++pf->nhosts, sizeof *pf->hosts);
		pf->hosts[*i] = (struct host){ .name = xstrndup(name, n) };
	}
	return *i;
}

static void enqueue(struct pbfire *pf, struct job *j)
{
	j->prev = pf->last;
	*(pf->last ? &pf->last->next : &pf->first) = j;
	pf->last = j;
	pf->queued++;
}

/* Claims j's key for it: KEY_UNKNOWN when j may go, the key now marked in
 * flight and owned by j; otherwise what the ledger knows of the key. */
static enum ledger_state claim_key(struct pbfire *pf, struct job *j)
{
	if (!j->key || !pf->use_ledger)
		return KEY_UNKNOWN;
	enum ledger_state s = ledger_state(&pf->ledger, j->key, j->key_len);
	if (s == KEY_UNKNOWN) {
		ledger_set(&pf->ledger, j->key, j->key_len, KEY_IN_FLIGHT);
		j->owns_key = true;
	}
	return s;
}

/* Reads one input line into a new job, or rejects it. The job keeps its
 * copy of the line parsed, to write it back with the result. */
static void read_line(struct pbfire *pf, const char *line, size_t len)
{
	struct json_error je;
	struct job *j = xcalloc(1, sizeof *j);
	j->line = xstrndup(line, len);
	j->len = len;
	if (!record_parse(&j->rec, j->line, len, &je)) {
		tool_reject(pf->t, line, len, "invalid JSON: %s at column %zu", je.msg, je.offset + 1);
		job_clear(j);
		free(j);
		return;
	}
	j->lineno = pf->t->nread;
	j->host = (size_t)-1;
	j->round = next_round(&j->rec);
	enqueue(pf, j);
	buf_clear(&pf->why);
	if (!job_read(j, pf->key_path, &pf->why) || !job_host(j, &pf->scratch, &pf->why)) {
		fail(pf, j, ERR_INVALID, pf->why.data);
		return;
	}
	j->host = host_of(pf, pf->scratch.data, pf->scratch.len);
	if (pf->dry_run) {
		j->error = claim_key(pf, j) == KEY_UNKNOWN ? ERR_NONE : ERR_DUPLICATE;
		finish(pf, j);
	}
}

/* Reads lines while there is room for them and input is ready. */
static void read_input(struct pbfire *pf)
{
	const char *line;
	size_t len;
	while (!pf->input_done && pf->queued < pf->queue) {
		switch (tool_next(pf->t)) {
		case LINES_OK:
			line = lines_current(&pf->t->in, &len);
			read_line(pf, line, len);
			break;
		case LINES_AGAIN:
			return;
		default:
			pf->input_done = true;
		}
	}
}

/* ---- sending ---- */

/* Opens a socket only to an address the policy permits: checked here, on
 * the address libcurl is about to connect to, after DNS and redirects. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct job *j = arg;
	const char *why;
	char ip[64] = "?";
	(void)purpose;
	if (netpolicy_permits(j->net, &a->addr, &why))
		return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (a->family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&a->addr)->sin_addr, ip, sizeof ip);
	else if (a->family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr, ip, sizeof ip);
	j->blocked = true;
	snprintf(j->ip, sizeof j->ip, "%s", ip);
	buf_clear(&j->message);
	buf_addf(&j->message, "refused to connect to %s, %s (see --allow-private)", ip, why);
	return CURL_SOCKET_BAD;
}

static size_t read_body(char *data, size_t size, size_t n, void *arg)
{
	struct job *j = arg;
	(void)data;
	j->received += size * n;
	return j->received > BODY_CAP ? 0 : size * n;
}

static void set_options(struct pbfire *pf, struct job *j, CURL *e)
{
	curl_easy_setopt(e, CURLOPT_URL, j->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->error_text);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, pf->follow > 0 ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, pf->follow);
	curl_easy_setopt(e, CURLOPT_PROXY, "");	/* the address check must see the real server */
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, pf->connect_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, pf->timeout_ms);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	if (pf->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, pf->cacert);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "pbfire/" PB_VERSION);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, read_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, j->method);
	if (j->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body);
	} else if (!strcmp(j->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	}
}

/* Starts the next attempt of j. */
static void start(struct pbfire *pf, struct job *j)
{
	j->easy = curl_easy_init();
	if (!j->easy)
		errx(EXIT_USAGE, "curl_easy_init failed");
	j->net = &pf->net;
	j->blocked = false;
	j->received = 0;
	j->error_text[0] = j->ip[0] = '\0';
	set_options(pf, j, j->easy);
	j->state = JOB_RUNNING;
	j->attempts++;
	j->fired_at = pf->now;
	pf->hosts[j->host].running++;
	pf->running++;
	pf->sent += j->attempts == 1;
	pf->requests++;
	curl_multi_add_handle(pf->multi, j->easy);
}

/* Whether j may start now; a line whose key is delivered finishes here as
 * a duplicate, and one whose key is in flight waits for it. */
static bool ready(struct pbfire *pf, struct job *j)
{
	if (j->state != JOB_WAITING || j->not_before > pf->now ||
	    pf->hosts[j->host].running >= pf->per_host)
		return false;
	if (j->owns_key)
		return true;
	switch (claim_key(pf, j)) {
	case KEY_DELIVERED:
		j->error = ERR_DUPLICATE;
		finish(pf, j);
		return false;
	case KEY_IN_FLIGHT:
		return false;
	default:
		return true;
	}
}

/* Starts what may start, oldest first, within -j and --per-host. */
static void schedule(struct pbfire *pf)
{
	struct job *next;
	for (struct job *j = pf->first; j && pf->running < pf->jobs; j = next) {
		next = j->next;
		if (ready(pf, j))
			start(pf, j);
	}
}

static double random_unit(void)
{
	return (double)random() / ((double)RAND_MAX + 1);
}

/* Reads what an attempt came to into j; true when j is finished. */
static bool attempt_done(struct pbfire *pf, struct job *j, CURLcode rc)
{
	char *ip = NULL;
	curl_off_t us = 0, retry_after = 0;
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
	curl_easy_getinfo(j->easy, CURLINFO_TOTAL_TIME_T, &us);
	curl_easy_getinfo(j->easy, CURLINFO_RETRY_AFTER, &retry_after);
	if (!j->blocked && curl_easy_getinfo(j->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip)
		snprintf(j->ip, sizeof j->ip, "%s", ip);
	j->ms = (double)us / 1000;
	note_latency(pf, j->ms);
	j->error = attempt_class(rc, j->status, j->blocked);
	if (!j->blocked) {	/* open_socket() wrote why it refused */
		buf_clear(&j->message);
		if (j->error == ERR_HTTP && j->status > 0)
			buf_addf(&j->message, "HTTP %ld", j->status);
		else if (j->error != ERR_NONE)
			buf_adds(&j->message, j->error_text[0] ? j->error_text : curl_easy_strerror(rc));
	}
	if (j->error == ERR_NONE || !attempt_retryable(j->error, j->status) ||
	    j->attempts > pf->retry.retries)
		return true;
	double wait = retry_delay(&pf->retry, j->attempts, (double)retry_after, random_unit());
	if (wait < 0)
		return true;
	j->not_before = pf->now + (int64_t)(wait * STAMP_NS);
	return false;
}

static void release_handle(struct pbfire *pf, struct job *j)
{
	curl_multi_remove_handle(pf->multi, j->easy);
	curl_easy_cleanup(j->easy);
	j->easy = NULL;
	j->state = JOB_WAITING;
	pf->hosts[j->host].running--;
	pf->running--;
}

/* Collects finished transfers: results, or retries to wait for. */
static void collect(struct pbfire *pf)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(pf->multi, &left))) {
		char *private;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &private);
		struct job *j = (struct job *)(void *)private;
		bool done = attempt_done(pf, j, m->data.result);
		release_handle(pf, j);
		if (done)
			finish(pf, j);
	}
}

/* ---- interruption ---- */

/* Ends j as interrupted, saying how far it got: a retry waiting keeps
 * the status of the attempt that finished, and tells its outcome. */
static void end_interrupted(struct pbfire *pf, struct job *j)
{
	if (j->state == JOB_RUNNING) {
		release_handle(pf, j);
		fail(pf, j, ERR_INTERRUPTED, "interrupted; the last attempt's outcome is unknown");
	} else if (j->attempts) {
		buf_clear(&pf->why);
		buf_addf(&pf->why, "interrupted waiting to retry; the last attempt: %s", j->message.data);
		fail(pf, j, ERR_INTERRUPTED, pf->why.data);
	} else {
		fail(pf, j, ERR_INTERRUPTED, "interrupted before it was sent");
	}
}

/* Ends every job: waiting ones at once, running ones after the grace. */
static void interrupt(struct pbfire *pf)
{
	struct job *next;
	for (struct job *j = pf->first; j; j = next) {
		next = j->next;
		if (j->state != JOB_RUNNING || pf->now >= pf->grace_end)
			end_interrupted(pf, j);
	}
}

/* Starts stopping at the first signal. */
static void note_signal(struct pbfire *pf)
{
	wake_drain();
	if (wake_signal() && !pf->stopping) {
		pf->stopping = pf->input_done = true;
		pf->grace_end = pf->now + (int64_t)(pf->grace * STAMP_NS);
		warnx("interrupted: finishing %u requests in flight, for up to %.1f s", pf->running, pf->grace);
	}
}

/* ---- the loop ---- */

/* Lines that came to a good end: sent, or found in the ledger. */
static unsigned long delivered(const struct pbfire *pf)
{
	return pf->counts[ERR_NONE] + pf->counts[ERR_DUPLICATE];
}

static void show_progress(struct pbfire *pf, bool last)
{
	if (!pf->progress || (!last && pf->now - pf->last_progress < STAMP_NS / 4))
		return;
	unsigned long finished = 0;
	for (int c = 0; c <= ERR_DUPLICATE; c++)
		finished += pf->counts[c];
	double secs = (double)(pf->now - pf->started) / STAMP_NS;
	fprintf(stderr, "\rpbfire: %lu sent, %lu ok, %lu failed, %u in flight, %.0f/s\033[K%s", pf->sent,
		delivered(pf), finished - delivered(pf), pf->running,
		secs > 0 ? (double)pf->sent / secs : 0.0, last ? "\n" : "");
	pf->last_progress = pf->now;
}

/* Milliseconds until the earliest retry is due, at most max. */
static int next_timeout(const struct pbfire *pf, int max)
{
	int64_t soonest = pf->now + (int64_t)max * 1000000;
	for (const struct job *j = pf->first; j; j = j->next)
		if (j->state == JOB_WAITING && j->not_before > pf->now && j->not_before < soonest)
			soonest = j->not_before;
	return (int)((soonest - pf->now + 999999) / 1000000);
}

/* Makes what is done durable and visible, before waiting. */
static void flush_outputs(struct pbfire *pf)
{
	if (pf->use_ledger && !pf->dry_run)
		ledger_sync(&pf->ledger);
	if (fflush(stdout) != 0)
		err(EXIT_USAGE, "stdout");
	if (pf->t->reject)
		fflush(pf->t->reject);
}

static void wait_for_events(struct pbfire *pf)
{
	struct curl_waitfd fds[2] = { { .fd = wake_fd(), .events = CURL_WAIT_POLLIN } };
	unsigned n = 1;
	if (!pf->input_done && pf->queued < pf->queue)
		fds[n++] = (struct curl_waitfd){ .fd = lines_fd(&pf->t->in), .events = CURL_WAIT_POLLIN };
	flush_outputs(pf);
	int timeout = next_timeout(pf, pf->progress ? 250 : 1000);
	if (curl_multi_poll(pf->multi, fds, n, timeout, NULL) != CURLM_OK)
		errx(EXIT_USAGE, "curl_multi_poll failed");
}

static void run(struct pbfire *pf)
{
	int still;
	pf->started = stamp_to_ns(stamp_now());
	while (!pf->input_done || pf->first) {
		pf->now = stamp_to_ns(stamp_now());
		note_signal(pf);
		read_input(pf);
		if (pf->stopping)
			interrupt(pf);
		else
			schedule(pf);
		curl_multi_perform(pf->multi, &still);
		pf->now = stamp_to_ns(stamp_now());
		collect(pf);
		show_progress(pf, false);
		if (pf->first || !pf->input_done)
			wait_for_events(pf);
	}
	flush_outputs(pf);
	show_progress(pf, true);
}

/* ---- statistics ---- */

static double latency_percentile(const struct pbfire *pf, double p)
{
	unsigned long total = 0, seen = 0;
	for (int i = 0; i < LATENCY_BUCKETS; i++)
		total += pf->latency[i];
	for (int i = 0; i < LATENCY_BUCKETS && total; i++) {
		seen += pf->latency[i];
		if (seen >= p * (double)total)
			return pow(10, (i + 1) / 100.0) / 100;
	}
	return 0;
}

static void print_stats(const struct pbfire *pf)
{
	fflush(stdout);
	fprintf(stderr, "pbfire: %lu lines read, %lu rejected, %lu lines sent in %lu requests\n",
		pf->t->nread, pf->t->nrejected, pf->sent, pf->requests);
	for (int c = 0; c <= ERR_DUPLICATE; c++)
		if (pf->counts[c])
			fprintf(stderr, "pbfire: %-12s %lu\n", c ? error_class_names[c] : "ok", pf->counts[c]);
	for (size_t i = 0; i < pf->nhosts; i++)
		fprintf(stderr, "pbfire: host %s: %lu ok, %lu failed\n", pf->hosts[i].name, pf->hosts[i].ok,
			pf->hosts[i].failed);
	if (!pf->dry_run && pf->sent)
		fprintf(stderr, "pbfire: latency ms (within 1%%): p50 %.2f, p90 %.2f, p99 %.2f, max %.2f\n",
			latency_percentile(pf, 0.5), latency_percentile(pf, 0.9),
			latency_percentile(pf, 0.99), latency_percentile(pf, 1));
}

/* ---- options ---- */

static double number_option(const struct tool *t, const char *name, const char *arg, double min,
			    double max)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= min && v <= max))
		tool_usage_error(t, "%s: expected a number from %g to %g, got '%s'", name, min, max, arg);
	return v;
}

static void net_option(struct pbfire *pf, const char *arg)
{
	struct netblock b;
	if (!netblock_parse(arg, &b))
		tool_usage_error(pf->t, "--allow-net: expected an address or ADDRESS/BITS, got '%s'", arg);
	netpolicy_allow(&pf->net, b);
}

static void parse_options(struct pbfire *pf, int argc, char **argv)
{
	static const struct option options[] = {
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "verbose", no_argument, NULL, 'v' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "per-host", required_argument, NULL, OPT_PER_HOST },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "backoff", required_argument, NULL, OPT_BACKOFF },
		{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "follow", required_argument, NULL, OPT_FOLLOW },
		{ "allow-private", no_argument, NULL, OPT_ALLOW_PRIVATE },
		{ "allow-net", required_argument, NULL, OPT_ALLOW_NET },
		{ "ledger", required_argument, NULL, OPT_LEDGER },
		{ "ledger-keep", required_argument, NULL, OPT_LEDGER_KEEP },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "stats", no_argument, NULL, OPT_STATS },
		TOOL_OPTIONS,
		{ 0 },
	};
	const struct tool *t = pf->t;
	int opt;
	while ((opt = getopt_long(argc, argv, "vj:h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_DRY_RUN: pf->dry_run = true; break;
		case 'v': pf->verbose = true; break;
		case 'j': pf->jobs = (unsigned)number_option(t, "-j", optarg, 1, 10000); break;
		case OPT_PER_HOST: pf->per_host = (unsigned)number_option(t, "--per-host", optarg, 1, 10000); break;
		case OPT_RETRIES: pf->retry.retries = (int)number_option(t, "--retries", optarg, 0, 100); break;
		case OPT_BACKOFF: pf->retry.base = number_option(t, "--backoff", optarg, 0, 3600); break;
		case OPT_CONNECT_TIMEOUT:
			pf->connect_ms = (long)(1000 * number_option(t, "--connect-timeout", optarg, 0.001, 3600));
			break;
		case OPT_TIMEOUT:
			pf->timeout_ms = (long)(1000 * number_option(t, "--timeout", optarg, 0.001, 86400));
			break;
		case OPT_FOLLOW: pf->follow = (long)number_option(t, "--follow", optarg, 0, 50); break;
		case OPT_ALLOW_PRIVATE: pf->net.allow_private = true; break;
		case OPT_ALLOW_NET: net_option(pf, optarg); break;
		case OPT_LEDGER: pf->ledger.path = optarg; pf->use_ledger = true; break;
		case OPT_LEDGER_KEEP:
			if (!ledger_parse_keep(optarg, &pf->ledger_keep))
				tool_usage_error(t, "--ledger-keep: expected a duration such as 30d, 12h, 90m or 3600s, got '%s'", optarg);
			break;
		case OPT_CACERT:
			if (access(optarg, R_OK) < 0)
				err(EXIT_USAGE, "--cacert: %s", optarg);
			pf->cacert = optarg;
			break;
		case OPT_KEY: pf->key_path = optarg; break;
		case OPT_GRACE: pf->grace = number_option(t, "--grace", optarg, 0, 3600); break;
		case OPT_STATS: pf->stats = true; break;
		default:
			if (!tool_option(pf->t, opt, optarg))
				tool_usage_error(t, NULL);
		}
	}
	if (pf->per_host > pf->jobs)
		pf->per_host = pf->jobs;
	pf->queue = 4 * pf->jobs < 256 ? 256 : 4 * pf->jobs;
}

static void dry_run_line(struct tool *t, char *line, size_t len, void *arg)
{
	(void)t;
	read_line(arg, line, len);
}

static void set_up(struct pbfire *pf)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pf->use_ledger)
		ledger_open(&pf->ledger, pf->ledger.path, pf->dry_run, pf->ledger_keep);
	pf->progress = !pf->dry_run && isatty(STDERR_FILENO);
	pf->verbose |= pf->dry_run && isatty(STDERR_FILENO);
	if (pf->dry_run)
		return;
	pf->multi = curl_multi_init();
	if (!pf->multi)
		errx(EXIT_USAGE, "cannot set up libcurl");
	wake_catch_signals();
	srandom((unsigned)stamp_to_ns(stamp_now()));
}

static void tear_down(struct pbfire *pf)
{
	if (pf->multi)
		curl_multi_cleanup(pf->multi);
	if (pf->use_ledger)
		ledger_close(&pf->ledger);
	for (size_t i = 0; i < pf->nhosts; i++)
		free(pf->hosts[i].name);
	free(pf->hosts);
	strmap_free(&pf->host_index);
	netpolicy_free(&pf->net);
	buf_free(&pf->why);
	buf_free(&pf->scratch);
	buf_free(&pf->result);
	curl_global_cleanup();
}

int main(int argc, char **argv)
{
	struct tool t;
	struct pbfire pf = {
		.t = &t, .jobs = 64, .per_host = 8, .connect_ms = 10000, .timeout_ms = 30000,
		.grace = 5, .key_path = "postback.key", .ledger_keep = LEDGER_KEEP_DEFAULT,
		.retry = { .retries = 3, .base = 1, .max = 60, .retry_after_max = 300 },
	};
	tool_init(&t, usage);
	parse_options(&pf, argc, argv);
	set_up(&pf);
	if (pf.dry_run) {
		tool_run(&t, argv + optind, argc - optind, dry_run_line, &pf);
	} else {
		tool_begin(&t, argv + optind, argc - optind);
		lines_set_nowait(&t.in);
		run(&pf);
	}
	if (pf.stats)
		print_stats(&pf);
	tear_down(&pf);
	int status = tool_finish(&t);
	bool all_ok = delivered(&pf) == t.nread - t.nrejected;
	return status == EXIT_OK && !all_ok ? EXIT_REJECTED : status;
}
