/*
 * pbfire: send each line's request with libcurl and write the line back
 * with a "result" member, one output line per input line. See pbfire(1).
 * This file holds the options and the event loop, which after any event
 * does all the work it can before it waits again (as curl's --parallel
 * loop does): read input while there is room, put retries that are due
 * back in line, start what may start, hand the attempts to the lanes
 * that send them (and let the main thread's lane work), reap finished
 * transfers and, when any finished, go round again to refill their slots;
 * only then wait, until the nearest deadline. The lines waiting are in
 * queue.c, the requests in flight in lanes.c, one attempt's libcurl
 * options and outcome in transfer.c, what is told about them in report.c.
 */
#include <curl/curl.h>
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breaker.h"
#include "breakers.h"
#include "duration.h"
#include "heap.h"
#include "job.h"
#include "lanes.h"
#include "ledger.h"
#include "netpolicy.h"
#include "queue.h"
#include "record.h"
#include "report.h"
#include "retry.h"
#include "schedule.h"
#include "secrets.h"
#include "signing.h"
#include "spool.h"
#include "stamp.h"
#include "tool.h"
#include "wake.h"

static const char usage[] =
	"usage: pbfire [--dry-run] [-v] [-j N] [--per-host N] [--threads N] [--retries N]\n"
	"              [--backoff SECONDS] [--connect-timeout SECONDS] [--timeout SECONDS]\n"
	"              [--follow N] [--allow-private] [--allow-net CIDR] [--cacert FILE]\n"
	"              [--ledger FILE] [--ledger-keep DURATION] [--key FIELD] [--spool FILE]\n"
	"              [--schedule LIST] [--breaker N] [--breaker-wait SECONDS]\n"
	"              [--secrets FILE] [--grace SECONDS] [--stats] [--reject FILE]\n"
	"              [--max-line BYTES] [FILE ...]\n";

enum {
	OPT_DRY_RUN = OPT_TOOL_LAST, OPT_PER_HOST, OPT_RETRIES, OPT_BACKOFF, OPT_CONNECT_TIMEOUT,
	OPT_TIMEOUT, OPT_FOLLOW, OPT_ALLOW_PRIVATE, OPT_ALLOW_NET, OPT_LEDGER, OPT_KEY, OPT_GRACE,
	OPT_STATS, OPT_LEDGER_KEEP, OPT_CACERT, OPT_BREAKER, OPT_BREAKER_WAIT, OPT_SPOOL, OPT_SCHEDULE,
	OPT_SECRETS, OPT_THREADS,
};

#define WAIT_MAX_MS (3600 * 1000)	/* a wait with no deadline still ends now and then */
#define PACE_MAX 20			/* backpressure answers a line may get without using attempts */

struct pbfire {
	struct tool *t;
	bool dry_run, stats;
	unsigned jobs, per_host;
	unsigned threads;		/* lanes sending requests; 0: lanes_for(jobs) */
	unsigned held, held_max;	/* lines in memory, and how many may be */
	double grace;
	const char *key_path;
	int64_t ledger_keep;		/* seconds; 0: forever */
	struct retry_policy retry;
	struct breaker_policy breaker;
	struct heap host_timers;	/* when a host's breaker wait or pacing ends: due, host */
	unsigned open_breakers;
	struct netpolicy net;
	struct transfer_options send;
	struct ledger ledger;
	bool use_ledger;
	struct spool spool;		/* --spool: lines waiting for their next attempt */
	const char *spool_path;		/* NULL: no spool */
	char *breakers_path;		/* where the breakers are kept with a spool */
	struct schedule schedule;
	struct secrets secrets;		/* --secrets: what lines are signed with */
	FILE *spooled;			/* a record being written for the spool, */
	char *spooled_text;		/* into this buffer */
	size_t spooled_len;
	struct queue queue;
	struct lanes lanes;
	struct report report;
	struct buf why, scratch, result;
	struct json_error je;
	bool input_done, stopping;
	int64_t now, grace_end;
};

/* ---- finishing ---- */

static void forget(struct job *j)
{
	job_clear(j);
	free(j);
}

static const char *const drop_result[] = { "result", NULL };

/* Lets go of j once its record is written: its key, its old place in the
 * spool, its memory. */
static void let_go(struct pbfire *pf, struct job *j)
{
	if (j->owns_key) {
		ledger_set(&pf->ledger, j->key, j->key_len,
			   j->error == ERR_NONE ? KEY_DELIVERED : KEY_UNKNOWN);
		queue_unpark(&pf->queue);
	}
	if (j->leased)
		spool_release(&pf->spool, j->spool_pos);
	pf->held--;
	forget(j);
}

/* Writes j's line with its final result and forgets the job. */
static void finish(struct pbfire *pf, struct job *j)
{
	if (j->host != (size_t)-1 && !pf->dry_run) {
		struct host *h = &pf->queue.hosts[j->host];
		*(j->error == ERR_NONE || j->error == ERR_DUPLICATE ? &h->ok : &h->failed) += 1;
	}
	report_finished(&pf->report, j, pf->now, &pf->result);
	record_write(&j->rec, stdout, drop_result, pf->result.data, pf->result.len);
	let_go(pf, j);
}

/* Keeps j in the spool until due, as its record with a result that says
 * so ("final": false), and writes that record out too. */
static void defer(struct pbfire *pf, struct job *j, int64_t due)
{
	report_deferred(&pf->report, j, due, &pf->result);
	record_write(&j->rec, stdout, drop_result, pf->result.data, pf->result.len);
	rewind(pf->spooled);
	record_write(&j->rec, pf->spooled, drop_result, pf->result.data, pf->result.len);
	if (fflush(pf->spooled) != 0)
		err(EXIT_USAGE, "spool record");
	spool_add(&pf->spool, due, pf->spooled_text, (size_t)ftello(pf->spooled) - 1);
	let_go(pf, j);
}

/* Whether j's host has its breaker open while lines can wait in a spool. */
static bool held_by_breaker(const struct pbfire *pf, const struct job *j)
{
	return pf->spool_path && pf->queue.hosts[j->host].breaker.state == BREAKER_OPEN;
}

/* Keeps j in the spool until its host's breaker lets a probe go, rather
 * than in memory, so that a run can end while a breaker is open. */
static void wait_for_breaker(void *arg, struct job *j)
{
	struct pbfire *pf = arg;
	if (j->error == ERR_NONE) {	/* not a failed attempt's line */
		buf_clear(&j->message);
		buf_adds(&j->message, "waiting for the host's breaker to let a probe go");
	}
	defer(pf, j, pf->queue.hosts[j->host].breaker.until);
}

static void fail(struct pbfire *pf, struct job *j, enum error_class c, const char *msg)
{
	j->error = c;
	buf_clear(&j->message);
	buf_adds(&j->message, msg);
	finish(pf, j);
}

/* ---- reading ---- */

/* The whole number at path in r, when it is one from 0 to max; else 0. */
static long result_number(struct record *r, const char *path, long max)
{
	int i = record_path(r, path, strlen(path));
	if (i < 0 || !record_is_number(r, i))
		return 0;
	long v = strtol(record_text(r, i).p, NULL, 10);
	return v >= 0 && v <= max ? v : 0;
}

/* The round of a line fed back: its old result's round, plus one. */
static int next_round(struct record *r)
{
	return (int)result_number(r, "result.round", 999) + 1;
}

/* The attempts of a line's old result in all, its earlier rounds' too. */
static int attempts_in_all(struct record *r)
{
	long all = result_number(r, "result.attempts_in_all", 1000000);
	return (int)(all ? all : result_number(r, "result.attempts", 1000000));
}

/* Claims j's key for it: KEY_UNKNOWN when j may go, the key now marked in
 * flight and owned by j; otherwise what the ledger knows of the key. */
static enum ledger_state claim_key(struct pbfire *pf, struct job *j)
{
	if (!j->key || !pf->use_ledger || j->owns_key)
		return KEY_UNKNOWN;
	enum ledger_state s = ledger_state(&pf->ledger, j->key, j->key_len);
	if (s == KEY_UNKNOWN) {
		ledger_set(&pf->ledger, j->key, j->key_len, KEY_IN_FLIGHT);
		j->owns_key = true;
	}
	return s;
}

/* Parses line into j; false with the reason in pf->why. */
static bool parse_line(struct pbfire *pf, struct job *j, const char *line, size_t len,
		       unsigned long lineno)
{
	j->line = xstrndup(line, len);
	j->len = len;
	j->lineno = lineno;
	j->host = (size_t)-1;
	buf_clear(&pf->why);
	if (record_parse(&j->rec, j->line, len, &pf->je))
		return true;
	buf_addf(&pf->why, "invalid JSON: %s at column %zu", pf->je.msg, pf->je.offset + 1);
	return false;
}

/* Reads the request of j's record and its host; false with the reason
 * in pf->why. */
static bool read_request(struct pbfire *pf, struct job *j)
{
	j->round = next_round(&j->rec);
	if (!job_read(j, pf->key_path, &pf->why) || !job_host(j, &pf->scratch, &pf->why))
		return false;
	j->host = queue_host(&pf->queue, pf->scratch.data, pf->scratch.len);
	return true;
}

/* Makes a line that waited on disk a job again; it was read once, so its
 * request reads the same. */
static struct job *revive(void *arg, const char *line, size_t len, unsigned long lineno)
{
	struct pbfire *pf = arg;
	struct job *j = xcalloc(1, sizeof *j);
	if (!parse_line(pf, j, line, len, lineno) || !read_request(pf, j) ||
	    !signing_read(j, &pf->secrets, &pf->why))
		errx(EXIT_USAGE, "line %lu changed on disk: %s", lineno, pf->why.data);
	pf->held++;
	return j;
}

/* Reads one input line into a new job, or rejects it. The job keeps its
 * copy of the line parsed, to write it back with the result. */
static void read_line(struct pbfire *pf, const char *line, size_t len)
{
	struct job *j = xcalloc(1, sizeof *j);
	if (!parse_line(pf, j, line, len, pf->t->nread)) {
		tool_reject(pf->t, line, len, "%s", pf->why.data);
		forget(j);
		return;
	}
	pf->held++;
	j->earlier_attempts = attempts_in_all(&j->rec);
	if (!read_request(pf, j) || !signing_read(j, &pf->secrets, &pf->why)) {
		fail(pf, j, ERR_INVALID, pf->why.data);
	} else if (!policy_allows_another(&j->policy, job_attempts(j), 0)) {
		buf_clear(&pf->why);
		buf_addf(&pf->why, "no attempt left: its postback allows %d, and %d were made",
			 j->policy.attempts, job_attempts(j));
		fail(pf, j, ERR_INVALID, pf->why.data);
	} else if (pf->dry_run) {
		j->error = claim_key(pf, j) == KEY_UNKNOWN ? ERR_NONE : ERR_DUPLICATE;
		signing_attempt(j, &pf->secrets, stamp_now().sec);
		finish(pf, j);
	} else if (held_by_breaker(pf, j)) {
		wait_for_breaker(pf, j);
	} else if (!queue_add(&pf->queue, j)) {	/* on disk now */
		pf->held--;
		forget(j);
	}
}

/* Whether a line in the spool is due by now, to be taken unless stopping. */
static bool spool_due(const struct pbfire *pf)
{
	int64_t due;
	return pf->spool_path && !pf->stopping && spool_next(&pf->spool, &due) && due <= pf->now;
}

/* Takes the lines due in the spool back into line, first for their hosts,
 * with the attempts, round and line number their pending result gives. */
static void take_due(struct pbfire *pf)
{
	while (pf->held < pf->held_max && spool_due(pf)) {
		uint64_t pos;
		size_t len;
		const char *line = spool_lease(&pf->spool, &pos, &len);
		struct job *j = xcalloc(1, sizeof *j);
		if (!parse_line(pf, j, line, len, 0) || !read_request(pf, j))
			errx(EXIT_USAGE, "%s: a line changed in the spool: %s", pf->spool_path, pf->why.data);
		j->round = (int)result_number(&j->rec, "result.round", 999);
		j->attempts = (int)result_number(&j->rec, "result.attempts", 1000000);
		j->earlier_attempts = attempts_in_all(&j->rec) - j->attempts;
		j->lineno = (unsigned long)result_number(&j->rec, "result.line", LONG_MAX);
		j->leased = true;
		j->spool_pos = pos;
		pf->held++;
		if (!signing_read(j, &pf->secrets, &pf->why))	/* its secret is gone */
			fail(pf, j, ERR_INVALID, pf->why.data);
		else if (held_by_breaker(pf, j))
			wait_for_breaker(pf, j);
		else
			queue_return(&pf->queue, j);
	}
}

/* Whether to read more input: while the lines in memory are fewer than
 * four times -j (at least 256) and a backlog's worth more for each host
 * whose lines overflow to disk, which hold lines of their own. */
static bool may_read(const struct pbfire *pf)
{
	return !pf->input_done &&
	       pf->held < pf->held_max + pf->queue.spilling * pf->queue.backlog_max;
}

/* Reads lines while there is room for them and input is ready. */
static void read_input(struct pbfire *pf)
{
	const char *line;
	size_t len;
	while (may_read(pf)) {
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

static void start(struct pbfire *pf, struct job *j)
{
	pf->report.sent += !j->fired_at;
	queue_started(&pf->queue, j);
	signing_attempt(j, &pf->secrets, pf->now / STAMP_NS);
	lanes_start(&pf->lanes, j, pf->now);
	pf->report.requests++;
}

/* Starts lines, each host's oldest first and hosts in turn, within -j
 * and --per-host. A line whose key is delivered finishes here as a
 * duplicate, and one whose key is in flight waits for it. */
static void start_ready(struct pbfire *pf)
{
	struct job *j;
	while (pf->lanes.running < pf->jobs && (j = queue_next(&pf->queue))) {
		switch (claim_key(pf, j)) {
		case KEY_DELIVERED:
			j->error = ERR_DUPLICATE;
			finish(pf, j);
			break;
		case KEY_IN_FLIGHT:
			queue_park(&pf->queue, j);
			break;
		default:
			start(pf, j);
		}
	}
}

static double random_unit(void)
{
	return (double)random() / ((double)RAND_MAX + 1);
}

/* Ends a line waiting to retry as interrupted, with the outcome of the
 * attempt that finished (its status stays). */
static void end_waiting_retry(struct pbfire *pf, struct job *j)
{
	buf_clear(&pf->why);
	buf_addf(&pf->why, "interrupted waiting to retry; the last attempt: %s", j->message.data);
	fail(pf, j, ERR_INTERRUPTED, pf->why.data);
}

/* Whether the attempt of j that ended is to be tried again; if so, j now
 * waits for it: in the spool, by the schedule, with --spool; else in
 * memory (or, when stopping, it ends as interrupted). A postback's own
 * attempts, when it sets them, stand for --retries and the length of the
 * schedule (whose last wait then repeats). */
static bool retried(struct pbfire *pf, struct job *j)
{
	int used = j->attempts - j->paced;
	if (j->error == ERR_NONE || !job_retryable(j))
		return false;
	if (pf->spool_path) {
		int step = j->policy.attempts && used > (int)pf->schedule.n ? (int)pf->schedule.n : used;
		double wait = schedule_wait(&pf->schedule, step, random_unit());
		if (wait >= 0)
			defer(pf, j, pf->now + (int64_t)(wait * STAMP_NS));
		return wait >= 0;
	}
	if (!j->policy.attempts && used > pf->retry.retries)
		return false;
	double wait = retry_delay(&pf->retry, used, j->retry_after, random_unit());
	if (wait < 0)
		return false;
	if (pf->stopping)
		end_waiting_retry(pf, j);
	else
		queue_retry_at(&pf->queue, j, pf->now + (int64_t)(wait * STAMP_NS));
	return true;
}

/* ---- hosts: breakers and pacing ---- */

/* Sets how many attempts host i may have in flight: none while paced or
 * while its breaker is open, one probe after the wait, else --per-host. */
static void update_limit(struct pbfire *pf, size_t i)
{
	struct host *h = &pf->queue.hosts[i];
	queue_set_limit(&pf->queue, i, h->paced_until > pf->now ? 0 : breaker_slots(&h->breaker, pf->per_host));
}

static void wake_host_at(struct pbfire *pf, size_t i, int64_t when)
{
	heap_push(&pf->host_timers, (struct held){ when, i });
}

/* Hosts whose breaker wait or pacing is over get their slots back. */
static void wake_hosts(struct pbfire *pf)
{
	while (pf->host_timers.n && pf->host_timers.at[0].due <= pf->now) {
		size_t i = (size_t)heap_pop(&pf->host_timers).pos;
		struct breaker *b = &pf->queue.hosts[i].breaker;
		if (b->state == BREAKER_OPEN && b->until <= pf->now)
			breaker_probe(b);
		update_limit(pf, i);
	}
}

/* Whether the answer to j asks the host to slow down: a 429, or a
 * Retry-After that is not beyond the cap. */
static bool backpressure(const struct pbfire *pf, const struct job *j)
{
	return j->error == ERR_HTTP && (j->status == 429 || j->retry_after > 0) &&
	       j->retry_after <= pf->retry.retry_after_max;
}

/* Paces host i for the Retry-After (or one --backoff). */
static void pace_host(struct pbfire *pf, size_t i, double retry_after)
{
	struct host *h = &pf->queue.hosts[i];
	double wait = retry_after > 0 ? retry_after : retry_delay(&pf->retry, 1, 0, random_unit());
	int64_t until = pf->now + (int64_t)(wait * STAMP_NS);
	if (until > h->paced_until) {
		h->paced_until = until;
		wake_host_at(pf, i, until);
	}
	update_limit(pf, i);
}

/* When the answer to j is backpressure, paces j's host and puts j back
 * first in line without using up an attempt, up to PACE_MAX times a line
 * and as its postback's policy allows; false when j is not put back. */
static bool paced(struct pbfire *pf, struct job *j)
{
	if (pf->stopping || !backpressure(pf, j))
		return false;
	pace_host(pf, j->host, j->retry_after);
	if (j->paced >= PACE_MAX || !policy_allows_another(&j->policy, job_attempts(j), j->status))
		return false;
	j->paced++;
	queue_return(&pf->queue, j);
	return true;
}

/* Notes j's outcome in its host's breaker, saying when it opens or
 * closes. */
static void note_breaker(struct pbfire *pf, const struct job *j)
{
	struct host *h = &pf->queue.hosts[j->host];
	struct breaker *b = &h->breaker;
	bool failed = breaker_failure(j->error, j->status) && !policy_final(&j->policy, j->status);
	enum breaker_change change = breaker_note(b, &pf->breaker, failed, pf->now, random_unit());
	switch (change) {
	case BREAKER_OPENED:
		pf->open_breakers++;
		warnx("host %s: breaker open for %.0f s after %u failed attempts in a row (%s: %s)", h->name,
		      (double)(b->until - pf->now) / STAMP_NS, b->failures, error_class_names[j->error],
		      j->message.data);
		break;
	case BREAKER_REOPENED:
		warnx("host %s: breaker open again for %.0f s: the probe failed (%s: %s)", h->name,
		      (double)(b->until - pf->now) / STAMP_NS, error_class_names[j->error], j->message.data);
		break;
	case BREAKER_CLOSED_AGAIN:
		pf->open_breakers--;
		warnx("host %s: breaker closed: it answered again", h->name);
		break;
	case BREAKER_SAME:
		break;
	}
	if (pf->breakers_path && change != BREAKER_SAME)
		breakers_save(&pf->queue, pf->breakers_path);
	if (b->state == BREAKER_OPEN && b->until > pf->now) {
		wake_host_at(pf, j->host, b->until);
		if (pf->spool_path)
			queue_take_host(&pf->queue, j->host, wait_for_breaker, pf);
	}
	update_limit(pf, j->host);
}

/* Collects finished transfers: results, or retries to wait for; true
 * when any finished, freeing a slot. */
static bool reap(struct pbfire *pf)
{
	struct job *j;
	bool any = false;
	while ((j = lanes_reap(&pf->lanes))) {
		any = true;
		queue_ended(&pf->queue, j);
		report_attempt(&pf->report, j);
		if (paced(pf, j))
			continue;
		note_breaker(pf, j);
		if (!retried(pf, j))
			finish(pf, j);
	}
	return any;
}

/* ---- interruption ---- */

/* Puts j, interrupted, back in the spool, due at once. */
static void keep_interrupted(struct pbfire *pf, struct job *j, const char *msg)
{
	j->error = ERR_INTERRUPTED;
	buf_clear(&j->message);
	buf_adds(&j->message, msg);
	defer(pf, j, pf->now);
}

static void end_waiting(void *arg, struct job *j)
{
	struct pbfire *pf = arg;
	if (pf->spool_path && j->attempts)
		defer(pf, j, pf->now);
	else if (pf->spool_path)
		keep_interrupted(pf, j, "interrupted before it was sent; kept in the spool");
	else if (j->attempts)
		end_waiting_retry(pf, j);
	else
		fail(pf, j, ERR_INTERRUPTED, "interrupted before it was sent");
}

/* Ends the requests still in flight when the grace period is over. */
static void end_overdue(struct pbfire *pf)
{
	struct job_list cut = { 0 };
	struct job *j;
	if (pf->now < pf->grace_end)
		return;
	lanes_cut(&pf->lanes, &cut);
	while ((j = job_list_pop(&cut))) {
		queue_ended(&pf->queue, j);
		if (pf->spool_path)
			keep_interrupted(pf, j, "interrupted; the last attempt's outcome is unknown; kept in the spool");
		else
			fail(pf, j, ERR_INTERRUPTED, "interrupted; the last attempt's outcome is unknown");
	}
}

/* Starts stopping at the first signal: lines waiting end at once. */
static void note_signal(struct pbfire *pf)
{
	wake_drain();
	if (!wake_signal() || pf->stopping)
		return;
	pf->stopping = pf->input_done = true;
	pf->grace_end = pf->now + (int64_t)(pf->grace * STAMP_NS);
	warnx("interrupted: finishing %u requests in flight, for up to %.1f s", pf->lanes.running,
	      pf->grace);
	queue_drain(&pf->queue, end_waiting, pf);
}

/* ---- the loop ---- */

/* Makes what is done durable and visible, before waiting. */
static void flush_outputs(struct pbfire *pf)
{
	if (pf->use_ledger && !pf->dry_run)
		ledger_sync(&pf->ledger);
	if (pf->spool_path)
		spool_sync(&pf->spool);	/* the deferred lines, before their records */
	if (fflush(stdout) != 0)
		err(EXIT_USAGE, "stdout");
	if (pf->spool_path) {	/* the lines now out, once their records are */
		spool_mark_released(&pf->spool);
		spool_reclaim(&pf->spool);
	}
	queue_reclaim(&pf->queue);
	if (pf->t->reject)
		fflush(pf->t->reject);
}

/* The nearest deadline: a retry due, a host's breaker wait or pacing
 * over, the end of the grace period, the next redraw of the progress
 * line; INT64_MAX when there is none. */
static int64_t next_deadline(const struct pbfire *pf)
{
	int64_t due = INT64_MAX, retry;
	if (queue_next_retry(&pf->queue, &retry))
		due = retry;
	if (pf->host_timers.n && pf->host_timers.at[0].due < due)
		due = pf->host_timers.at[0].due;
	if (pf->spool_path && !pf->stopping && spool_next(&pf->spool, &retry) && retry < due)
		due = retry;
	if (pf->stopping && pf->grace_end < due)
		due = pf->grace_end;
	if (pf->report.progress && pf->report.last_progress + STAMP_NS / 4 < due)
		due = pf->report.last_progress + STAMP_NS / 4;
	return due;
}

/* Waits for input, a socket, a signal or the nearest deadline. */
static void wait_for_events(struct pbfire *pf)
{
	int64_t due = next_deadline(pf), ms = WAIT_MAX_MS;
	if (due != INT64_MAX)
		ms = due <= pf->now ? 0 : (due - pf->now + 999999) / 1000000;
	flush_outputs(pf);
	lanes_wait(&pf->lanes, may_read(pf) ? lines_fd(&pf->t->in) : -1,
		       (int)(ms < WAIT_MAX_MS ? ms : WAIT_MAX_MS));
}

static void run(struct pbfire *pf)
{
	pf->report.started = pf->report.last_progress = stamp_to_ns(stamp_now());
	for (;;) {
		pf->now = stamp_to_ns(stamp_now());
		note_signal(pf);
		read_input(pf);
		queue_release_due(&pf->queue, pf->now);
		wake_hosts(pf);
		take_due(pf);
		if (pf->stopping)
			end_overdue(pf);
		else
			start_ready(pf);
		lanes_hand_over(&pf->lanes);
		pf->now = stamp_to_ns(stamp_now());
		bool slots_freed = reap(pf);
		report_progress(&pf->report, pf->now, pf->lanes.running, pf->open_breakers, false);
		if (pf->input_done && !pf->held && !spool_due(pf))
			break;
		if (!slots_freed)
			wait_for_events(pf);
	}
	flush_outputs(pf);
	if (pf->breakers_path)
		breakers_save(&pf->queue, pf->breakers_path);
	report_progress(&pf->report, pf->now, 0, pf->open_breakers, true);
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

/* A duration of pb-rules(5), seconds without a unit, from min to max
 * seconds; in nanoseconds. */
static int64_t duration_option(const struct tool *t, const char *name, const char *arg, double min,
			       double max)
{
	int64_t ns;
	if (!duration_parse(arg, strlen(arg), DURATION_S, &ns) ||
	    !(ns >= min * DURATION_S && ns <= max * DURATION_S))
		tool_usage_error(t, "%s: expected seconds from %g to %g, or a duration such as 500ms or 2m, got '%s'",
				 name, min, max, arg);
	return ns;
}

static double seconds_option(const struct tool *t, const char *name, const char *arg, double min,
			     double max)
{
	return (double)duration_option(t, name, arg, min, max) / DURATION_S;
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
		{ "threads", required_argument, NULL, OPT_THREADS },
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
		{ "spool", required_argument, NULL, OPT_SPOOL },
		{ "schedule", required_argument, NULL, OPT_SCHEDULE },
		{ "breaker", required_argument, NULL, OPT_BREAKER },
		{ "breaker-wait", required_argument, NULL, OPT_BREAKER_WAIT },
		{ "secrets", required_argument, NULL, OPT_SECRETS },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "stats", no_argument, NULL, OPT_STATS },
		TOOL_OPTIONS,
		{ 0 },
	};
	const struct tool *t = pf->t;
	struct transfer_options *send = &pf->send;
	int opt;
	while ((opt = getopt_long(argc, argv, "vj:h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_DRY_RUN: pf->dry_run = true; break;
		case 'v': pf->report.verbose = true; break;
		case 'j': pf->jobs = (unsigned)number_option(t, "-j", optarg, 1, 10000); break;
		case OPT_PER_HOST: pf->per_host = (unsigned)number_option(t, "--per-host", optarg, 1, 10000); break;
		case OPT_THREADS: pf->threads = (unsigned)number_option(t, "--threads", optarg, 1, LANES_MAX); break;
		case OPT_RETRIES: pf->retry.retries = (int)number_option(t, "--retries", optarg, 0, 100); break;
		case OPT_BACKOFF: pf->retry.base = seconds_option(t, "--backoff", optarg, 0, 3600); break;
		case OPT_CONNECT_TIMEOUT:
			send->connect_ms = (long)duration_round(duration_option(t, "--connect-timeout", optarg, 0.001, 3600),
							       DURATION_MS);
			break;
		case OPT_TIMEOUT:
			send->timeout_ms = (long)duration_round(duration_option(t, "--timeout", optarg, 0.001, 86400),
							       DURATION_MS);
			break;
		case OPT_FOLLOW: send->follow = (long)number_option(t, "--follow", optarg, 0, 50); break;
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
			send->cacert = optarg;
			break;
		case OPT_KEY: pf->key_path = optarg; break;
		case OPT_SPOOL: pf->spool_path = optarg; break;
		case OPT_SCHEDULE:
			if (!schedule_parse(&pf->schedule, optarg))
				tool_usage_error(t, "--schedule: expected waits such as 5s,5m,2h,1d (at most 32), got '%s'", optarg);
			break;
		case OPT_BREAKER: pf->breaker.failures = (unsigned)number_option(t, "--breaker", optarg, 0, 10000); break;
		case OPT_BREAKER_WAIT: pf->breaker.wait = seconds_option(t, "--breaker-wait", optarg, 0.001, 86400); break;
		case OPT_SECRETS: pf->secrets.path = optarg; break;
		case OPT_GRACE: pf->grace = seconds_option(t, "--grace", optarg, 0, 3600); break;
		case OPT_STATS: pf->stats = true; break;
		default:
			if (!tool_option(pf->t, opt, optarg))
				tool_usage_error(t, NULL);
		}
	}
	if (pf->per_host > pf->jobs)
		pf->per_host = pf->jobs;
	if (pf->threads > pf->jobs)
		pf->threads = pf->jobs;
	pf->held_max = 4 * pf->jobs < 256 ? 256 : 4 * pf->jobs;
	if (pf->breaker.wait_max < pf->breaker.wait)
		pf->breaker.wait_max = pf->breaker.wait;
}

static void dry_run_line(struct tool *t, char *line, size_t len, void *arg)
{
	(void)t;
	read_line(arg, line, len);
}

/* Takes up the breakers an earlier run left open beside the spool. */
static void load_breakers(struct pbfire *pf)
{
	pf->breakers_path = breakers_path(pf->spool_path);
	breakers_load(&pf->queue, pf->breakers_path, pf->now,
		      (int64_t)(pf->breaker.wait_max * 1.2 * STAMP_NS));
	for (size_t i = 0; i < pf->queue.nhosts; i++) {
		struct host *h = &pf->queue.hosts[i];
		if (h->breaker.state == BREAKER_CLOSED)
			continue;
		pf->open_breakers++;
		if (h->breaker.state == BREAKER_OPEN) {
			warnx("host %s: breaker open for %.0f s more, as %s says", h->name,
			      (double)(h->breaker.until - pf->now) / STAMP_NS, pf->breakers_path);
			wake_host_at(pf, i, h->breaker.until);
		}
		update_limit(pf, i);
	}
}

static void set_up(struct pbfire *pf)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (pf->secrets.path)
		secrets_load(&pf->secrets, pf->secrets.path);
	if (pf->use_ledger)
		ledger_open(&pf->ledger, pf->ledger.path, pf->dry_run, pf->ledger_keep);
	pf->report.dry_run = pf->dry_run;
	pf->report.spool = pf->spool_path != NULL;
	pf->report.progress = !pf->dry_run && isatty(STDERR_FILENO);
	pf->report.verbose |= pf->dry_run && isatty(STDERR_FILENO);
	queue_init(&pf->queue, pf->per_host, pf->t->max_line, revive, pf);
	if (pf->dry_run)
		return;
	pf->send.net = &pf->net;
	if (pf->spool_path) {
		spool_open(&pf->spool, pf->spool_path, pf->t->max_line + 4096);
		pf->spooled = open_memstream(&pf->spooled_text, &pf->spooled_len);
		if (!pf->spooled)
			err(EXIT_USAGE, "open_memstream");
		pf->now = stamp_to_ns(stamp_now());
		if (pf->breaker.failures)
			load_breakers(pf);
	}
	wake_catch_signals();
	lanes_open(&pf->lanes, pf->send, pf->threads ? pf->threads : lanes_for(pf->jobs));
	srandom((unsigned)stamp_to_ns(stamp_now()));
}

static void tear_down(struct pbfire *pf)
{
	if (!pf->dry_run)
		lanes_close(&pf->lanes);
	if (pf->use_ledger)
		ledger_close(&pf->ledger);
	queue_free(&pf->queue);
	heap_free(&pf->host_timers);
	free(pf->breakers_path);
	if (pf->spooled) {
		spool_close(&pf->spool);
		fclose(pf->spooled);
		free(pf->spooled_text);
	}
	netpolicy_free(&pf->net);
	secrets_free(&pf->secrets);
	buf_free(&pf->why);
	buf_free(&pf->scratch);
	buf_free(&pf->result);
	curl_global_cleanup();
}

int main(int argc, char **argv)
{
	struct tool t;
	struct pbfire pf = {
		.t = &t, .jobs = 64, .per_host = 8, .grace = 5, .key_path = "postback.key",
		.ledger_keep = LEDGER_KEEP_DEFAULT,
		.send = { .connect_ms = 10000, .timeout_ms = 30000 },
		.retry = { .retries = 3, .base = 1, .max = 60, .retry_after_max = 300 },
		.breaker = { .failures = 5, .wait = 30, .wait_max = 30 * 60 },
	};
	tool_init(&t, usage);
	schedule_parse(&pf.schedule, SCHEDULE_DEFAULT);
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
		report_stats(&pf.report, &t, &pf.queue, pf.open_breakers, pf.spool_path ? pf.spool.held.n : 0);
	tear_down(&pf);
	int status = tool_finish(&t);
	bool all_ok = report_failed(&pf.report) == 0;
	return status == EXIT_OK && !all_ok ? EXIT_REJECTED : status;
}
