/*
 * pbfire: send each line's request with libcurl and write the line back
 * with a "result" member, one output line per input line. See pbfire(1).
 * This file holds the event loop (options.c the command line), which
 * after any event does all the work it can before it waits again (as
 * curl's --parallel loop does): take a signal, read input while there is room, put the
 * retries due back in line, give the hosts whose breaker wait or pacing
 * is over their slots back, take the spool's lines that are due, start
 * what may start while the --lease runs (or, stopping, end what outlived
 * the grace period), hand
 * the attempts to the lanes that send them and let the main thread's lane
 * work, reap finished transfers and, when any finished, sync their keys
 * to the ledger and go round again to refill their slots; only then put
 * the records out, once what they tell is on disk (sooner when 256 KiB
 * of them are held), and wait, until the nearest deadline. A line
 * becomes a job in make_job() and leaves through end_line(),
 * keep_in_spool() or interrupt(). The lines waiting are in
 * queue.c, what is known of each host in hosts.c, the rates the lines
 * keep in rates.c, the requests in flight
 * in lanes.c, one attempt's libcurl options and outcome in transfer.c,
 * the answer judged by its postback's expect in expect.c, what is told
 * about them in report.c, the lines held by transaction and rule, which
 * order a line before it is sent, in order.c.
 */
#include <curl/curl.h>
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breaker.h"
#include "breakers.h"
#include "expect.h"
#include "fill.h"
#include "hosts.h"
#include "job.h"
#include "lanes.h"
#include "lease.h"
#include "ledger.h"
#include "options.h"
#include "order.h"
#include "queue.h"
#include "rates.h"
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

#define PACE_MAX 20			/* backpressure answers a line may get without using attempts */
#define LEASE_LOOK_NS 20000000		/* between looks at a lease that has run out, lines waiting */
#define RECORDS_HELD_MAX (256 * 1024)	/* bytes of records held back before they are made durable and put out */

struct pbfire {
	struct tool *t;
	struct options o;		/* as the command line sets them */
	unsigned in_memory;		/* lines in memory (o.in_memory_max at most, but see may_read()) */
	struct hosts hosts;
	struct ledger ledger;
	struct spool spool;		/* --spool: lines waiting for their next attempt */
	char *breakers_path;		/* where the breakers are kept with a spool */
	struct secrets secrets;		/* --secrets: what lines are signed with */
	struct patterns patterns;	/* the expect.body patterns compiled */
	FILE *spooled;			/* a record being written for the spool, */
	char *spooled_text;		/* into this buffer */
	size_t spooled_len;
	FILE *records;			/* records held until what they tell is on disk (stdout in a dry run), */
	char *records_text;		/* in this buffer */
	size_t records_len;
	struct queue queue;
	struct order order;		/* the lines held, by transaction and rule */
	struct lanes lanes;
	struct lease_watch lease;	/* --lease: no request starts while it has run out */
	bool lease_held;		/* a line waits for the lease to run again */
	struct report report;
	struct buf why, scratch, result;
	struct json_error je;
	bool input_done, stopping;
	int64_t now, grace_end;
};

/* ---- a line's end ---- */

/* Frees j without writing its line: it was rejected, or waits on disk. */
static void free_job(struct pbfire *pf, struct job *j)
{
	if (j->in_order) {	/* lines of its stream may wait for it */
		queue_unpark(&pf->queue, j);
		order_remove_job(&pf->order, j);
	}
	job_clear(j);
	free(j);
}

static const char *const drop_result[] = { "result", NULL };

/* What j's line came to, for the ledger: a fate once its record is
 * final, KEY_UNKNOWN while it may still go (deferred, interrupted). */
static enum ledger_state fate_of(const struct job *j)
{
	if (j->error == ERR_NONE)
		return KEY_DELIVERED;
	if (j->error == ERR_SUPERSEDED)
		return KEY_SUPERSEDED;
	return j->error == ERR_INTERRUPTED || j->deferred ? KEY_UNKNOWN : KEY_FAILED;
}

/* Lets go of j once its record is written: its key, its old place in the
 * spool, its memory. */
static void let_go(struct pbfire *pf, struct job *j)
{
	if (j->owns_key) {
		ledger_set(&pf->ledger, j->key, j->key_len, fate_of(j));
		queue_unpark(&pf->queue, NULL);
	}
	if (j->leased)
		spool_end_lease(&pf->spool, j->spool_pos);
	pf->in_memory--;
	free_job(pf, j);
}

/* Appends and syncs the keys settled since the last call. */
static void sync_ledger(struct pbfire *pf)
{
	if (pf->o.ledger_path && !pf->o.dry_run)
		ledger_sync(&pf->ledger);
}

/* Makes what the records held back tell of durable, the keys settled in
 * the ledger and the lines deferred to the spool, then writes them out:
 * no record reaches stdout before its key or its line is on disk. */
static void put_out_records(struct pbfire *pf)
{
	sync_ledger(pf);
	if (pf->o.spool_path)
		spool_sync(&pf->spool);
	if (pf->records != stdout) {
		if (fflush(pf->records) != 0)
			err(EXIT_FATAL, "records");
		fwrite(pf->records_text, 1, (size_t)ftello(pf->records), stdout);
		rewind(pf->records);
	}
	/* ferror too: fwrite writes records that outgrow stdout's buffer
	 * itself, and when that fails, fflush finds nothing left to write */
	if (fflush(stdout) != 0 || ferror(stdout))
		err(EXIT_FATAL, "stdout");
}

/* Puts the records held out once there are RECORDS_HELD_MAX bytes of
 * them, so that a turn of the loop that ends many lines (a whole input
 * deferred to the spool for an open breaker) holds them in bounded
 * memory; called once the lines are let go, their keys set. */
static void bound_records(struct pbfire *pf)
{
	if (pf->records != stdout && ftello(pf->records) >= RECORDS_HELD_MAX)
		put_out_records(pf);
}

/* Ends j's line: writes it with its final result. */
static void end_line(struct pbfire *pf, struct job *j)
{
	if (j->host != (size_t)-1 && !pf->o.dry_run && j->error != ERR_SUPERSEDED)
		hosts_count_line(&pf->hosts, j->host, j->error == ERR_NONE || j->error == ERR_DUPLICATE);
	report_finished(&pf->report, j, pf->now, &pf->result);
	record_write(&j->rec, pf->records, drop_result, pf->result.data, pf->result.len);
	let_go(pf, j);
	bound_records(pf);
}

static void set_failure(struct job *j, enum error_class c, const char *msg)
{
	j->error = c;
	buf_clear(&j->message);
	buf_adds(&j->message, msg);
}

/* Ends j's line as failed, for reason c, msg. */
static void end_line_failed(struct pbfire *pf, struct job *j, enum error_class c, const char *msg)
{
	set_failure(j, c, msg);
	end_line(pf, j);
}

/* Keeps j's line in the spool until due, as its record with a result that
 * says so ("final": false), and writes that record out too. */
static void keep_in_spool(struct pbfire *pf, struct job *j, int64_t due)
{
	j->deferred = true;
	report_deferred(&pf->report, j, due, &pf->result);
	record_write(&j->rec, pf->records, drop_result, pf->result.data, pf->result.len);
	rewind(pf->spooled);
	record_write(&j->rec, pf->spooled, drop_result, pf->result.data, pf->result.len);
	if (fflush(pf->spooled) != 0)
		err(EXIT_FATAL, "spool record");
	uint64_t pos = spool_hold(&pf->spool, due, pf->spooled_text, (size_t)ftello(pf->spooled) - 1);
	if (j->in_order)
		order_add_spooled(&pf->order, &j->order, pos);
	let_go(pf, j);
	bound_records(pf);
}

/* Whether j is to wait in the spool for its host's breaker to let a
 * probe go: the breaker is open, and there is a spool. */
static bool waits_for_probe(const struct pbfire *pf, const struct job *j)
{
	return pf->o.spool_path && pf->hosts.at[j->host].breaker.state == BREAKER_OPEN;
}

/* Keeps j's line in the spool until its host's breaker lets a probe go,
 * rather than in memory, so that a run can end while a breaker is open. */
static void keep_for_probe(void *arg, struct job *j)
{
	struct pbfire *pf = arg;
	if (j->error == ERR_NONE) {	/* not a failed attempt's line */
		buf_clear(&j->message);
		buf_adds(&j->message, "waiting for the host's breaker to let a probe go");
	}
	keep_in_spool(pf, j, pf->hosts.at[j->host].breaker.until);
}

/* Interrupts j, waiting or (cut) cut short in flight: with --spool its
 * line goes back in the spool, due at once, with the outcome of its last
 * attempt when one ended; otherwise the line ends as interrupted. */
static void interrupt(struct pbfire *pf, struct job *j, bool cut)
{
	const char *what = cut ? "interrupted; the last attempt's outcome is unknown"
			       : !j->attempts ? "interrupted before it was sent" : NULL;
	buf_clear(&pf->why);
	if (what)
		buf_addf(&pf->why, "%s%s", what, pf->o.spool_path ? "; kept in the spool" : "");
	else if (!pf->o.spool_path)
		buf_addf(&pf->why, "interrupted waiting to retry; the last attempt: %s", j->message.data);
	if (pf->why.len)
		set_failure(j, ERR_INTERRUPTED, pf->why.data);
	if (pf->o.spool_path)
		keep_in_spool(pf, j, pf->now);
	else
		end_line(pf, j);
}

static void interrupt_waiting(void *arg, struct job *j)
{
	interrupt(arg, j, false);
}

/* ---- reading ---- */

/* Claims j's key for it: KEY_UNKNOWN when j may go, the key now marked in
 * flight and owned by j; otherwise what the ledger knows of the key. A
 * line fed back with a failed result re-opens a key that failed. */
static enum ledger_state claim_key(struct pbfire *pf, struct job *j)
{
	if (!j->key || !pf->o.ledger_path || j->owns_key)
		return KEY_UNKNOWN;
	enum ledger_state s = ledger_state(&pf->ledger, j->key, j->key_len);
	if (s == KEY_FAILED && j->reopens)
		s = KEY_UNKNOWN;
	if (s == KEY_UNKNOWN) {
		ledger_set(&pf->ledger, j->key, j->key_len, KEY_IN_FLIGHT);
		j->owns_key = true;
	}
	return s;
}

/* Ends j's line, whose key the ledger has settled already (s): quietly,
 * counted only, unless -v or --duplicates or a dry run asks for its
 * record, a duplicate (ok when the key was delivered). */
static void end_settled(struct pbfire *pf, struct job *j, enum ledger_state s)
{
	report_settled(&pf->report);
	if (!pf->o.duplicates && !pf->o.dry_run) {
		let_go(pf, j);
		return;
	}
	j->error = ERR_DUPLICATE;
	j->failed_earlier = s != KEY_DELIVERED;
	buf_clear(&j->message);
	if (j->failed_earlier)
		buf_adds(&j->message, s == KEY_FAILED ? "settled earlier: failed" : "settled earlier: superseded");
	end_line(pf, j);
}

/* Puts in pf->scratch the key j's line is settled under when superseded:
 * its key and its action's time, "KEY@TIME". */
static void superseded_key(struct pbfire *pf, struct job *j)
{
	int time = record_get(&j->rec, 0, "time");
	struct text t = time >= 0 && record_is_scalar(&j->rec, time) ? record_text(&j->rec, time) : (struct text){ "", 0 };
	buf_clear(&pf->scratch);
	buf_addf(&pf->scratch, "%.*s@%.*s", (int)j->key_len, j->key, (int)t.n, t.p);
}

/* Whether the ledger has j's line, back from the spool, settled as
 * superseded: a kill came after its record was out and before the spool
 * let it go. */
static bool superseded_earlier(struct pbfire *pf, struct job *j)
{
	if (!j->key || !pf->o.ledger_path)
		return false;
	superseded_key(pf, j);
	return ledger_state(&pf->ledger, pf->scratch.data, pf->scratch.len) == KEY_SUPERSEDED;
}

/* Claims j's key as claim_key() does, unless the ledger has this action's
 * line (its key and action time) settled as superseded: a replay in
 * which pbdelay released the line as it is (its verdict read too late:
 * a pause in the input, a log out of order) must not send what an
 * earlier run stopped. */
static enum ledger_state claim_unsuperseded(struct pbfire *pf, struct job *j)
{
	if (!j->owns_key && superseded_earlier(pf, j))
		return KEY_SUPERSEDED;
	return claim_key(pf, j);
}

/* Ends j's line, which a later action of its transaction superseded: never
 * sent, settled in the ledger under its key and its action's time
 * ("KEY@TIME"), so that a replay of it stays quiet while a later action
 * of the same key still goes. A key the ledger has settled as sent
 * (delivered, or failed for good) ends it as settled earlier: a replay
 * that reads the verdict in time for a line an earlier run sent, the
 * verdict having reached that run too late, must not say it was never
 * sent. */
static void end_superseded(struct pbfire *pf, struct job *j)
{
	enum ledger_state sent = j->key && pf->o.ledger_path && !j->owns_key
		? ledger_state(&pf->ledger, j->key, j->key_len) : KEY_UNKNOWN;
	if (sent == KEY_DELIVERED || (sent == KEY_FAILED && !j->reopens)) {
		end_settled(pf, j, sent);
		return;
	}
	if (j->key) {
		superseded_key(pf, j);
		if (j->owns_key) {	/* tried, it waited for a retry (order.c) */
			ledger_set(&pf->ledger, j->key, j->key_len, KEY_UNKNOWN);
			j->owns_key = false;
		}
		free(j->key);
		j->key_len = pf->scratch.len;
		j->key = xstrndup(pf->scratch.data, pf->scratch.len);
	}
	enum ledger_state s = claim_key(pf, j);
	if (ledger_settled(s))
		end_settled(pf, j, s);
	else
		end_line_failed(pf, j, ERR_SUPERSEDED, "superseded by a later action of its transaction; not sent");
}

/* How far a line got in becoming a job: each stage after the first
 * has the reason it stopped in pf->why. */
enum made { NOT_JSON, NOTICE, NOT_A_REQUEST, NOT_SIGNABLE, MADE };

/* Makes a job of a line, wherever it comes from: the input, its host's
 * backlog on disk or, pending (with the result of its last attempt), the
 * spool. The job keeps its copy of the line parsed, to write it back with
 * the result, and counts as in memory from the NOT_A_REQUEST stage on. */
static enum made make_job(struct pbfire *pf, const char *line, size_t len, unsigned long lineno,
			  bool pending, struct job **made)
{
	struct job *j = *made = xcalloc(1, sizeof *j);
	j->line = xstrndup(line, len);
	j->len = len;
	j->lineno = lineno;
	j->host = (size_t)-1;
	buf_clear(&pf->why);
	if (!record_parse(&j->rec, j->line, len, &pf->je)) {
		buf_addf(&pf->why, "invalid JSON: %s at column %zu", pf->je.msg, pf->je.offset + 1);
		return NOT_JSON;
	}
	if (record_get(&j->rec, 0, "notice") >= 0)
		return NOTICE;
	pf->in_memory++;
	report_read_round(j, pending);
	int ok = record_path(&j->rec, "result.ok", sizeof "result.ok" - 1);
	j->reopens = ok >= 0 && text_is(record_text(&j->rec, ok), "false");
	if (!job_read(j, pf->o.key_path, &pf->why) || !expect_compiles(&pf->patterns, &j->expect, &pf->why) ||
	    !job_host(j, &pf->scratch, &pf->why))
		return NOT_A_REQUEST;
	j->host = hosts_add(&pf->hosts, pf->scratch.data, pf->scratch.len);
	if (!rates_of_job(&pf->o.rates, j, pf->scratch.data, pf->scratch.len, &pf->why))
		return NOT_A_REQUEST;
	if (!signing_read(j, &pf->secrets, &pf->why) || !fill_read(j, &pf->secrets, &pf->why))
		return NOT_SIGNABLE;
	if (!pf->o.dry_run) {
		order_read(&pf->order, &j->rec, &j->order);
		order_add_job(&pf->order, j);
	}
	return MADE;
}

/* Ends j's line, which is not a request pbfire can send (m says how far
 * it got), as invalid; one wanting a secret pbfire lacks is told on
 * stderr too (-v tells every line), naming the secret, never a value. */
static void end_unsendable(struct pbfire *pf, struct job *j, enum made m)
{
	if (m == NOT_SIGNABLE && !pf->o.verbose)
		warnx("line %lu: %s", j->lineno, pf->why.data);
	end_line_failed(pf, j, ERR_INVALID, pf->why.data);
}

/* Makes a job of a line read from the spool: its attempts, round and
 * line number from its pending result. */
static struct job *job_from_spool(struct pbfire *pf, const char *line, size_t len, enum made *m)
{
	struct job *j;
	if ((*m = make_job(pf, line, len, 0, true, &j)) < NOT_SIGNABLE)	/* a notice is never spooled */
		errx(EXIT_FATAL, "%s: a line changed in the spool: %s", pf->o.spool_path, pf->why.data);
	return j;
}

/* Makes a line that waited on disk a job again; it was read once, so its
 * request reads the same. */
static struct job *revive(void *arg, const char *line, size_t len, unsigned long lineno)
{
	struct pbfire *pf = arg;
	struct job *j;
	if (make_job(pf, line, len, lineno, false, &j) != MADE)
		errx(EXIT_FATAL, "line %lu changed on disk: %s", lineno, pf->why.data);
	return j;
}

/* Reads one input line into a new job, or rejects it. */
static void read_line(struct pbfire *pf, const char *line, size_t len)
{
	struct job *j;
	enum made m = make_job(pf, line, len, pf->t->nread, false, &j);
	if (m == NOT_JSON) {
		tool_reject(pf->t, line, len, "%s", pf->why.data);
		free_job(pf, j);
	} else if (m == NOTICE) {
		pf->report.notices++;
		free_job(pf, j);
	} else if (record_get(&j->rec, 0, "superseded") >= 0) {
		end_superseded(pf, j);
	} else if (m != MADE) {
		end_unsendable(pf, j, m);
	} else if (!policy_allows_another(&j->policy, job_attempts(j), 0)) {
		buf_clear(&pf->why);
		buf_addf(&pf->why, "no attempt left: its postback allows %d, and %d were made",
			 j->policy.attempts, job_attempts(j));
		end_line_failed(pf, j, ERR_INVALID, pf->why.data);
	} else if (pf->o.dry_run) {
		enum ledger_state s = claim_unsuperseded(pf, j);
		signing_attempt(j, &pf->secrets, stamp_now().sec);
		if (ledger_settled(s))
			end_settled(pf, j, s);
		else
			end_line(pf, j);
	} else if (waits_for_probe(pf, j)) {
		keep_for_probe(pf, j);
	} else if (!queue_add(&pf->queue, j)) {	/* on disk now */
		pf->in_memory--;
		free_job(pf, j);
	}
}

/* Whether a line in the spool is due by now, to be taken unless stopping. */
static bool spool_due(const struct pbfire *pf)
{
	int64_t due;
	return pf->o.spool_path && !pf->stopping && spool_next(&pf->spool, &due) && due <= pf->now;
}

/* Takes the lines due in the spool back into line, first for their hosts,
 * with the attempts, round and line number their pending result gives. */
static void take_due(struct pbfire *pf)
{
	while (pf->in_memory < pf->o.in_memory_max && spool_due(pf)) {
		uint64_t pos;
		size_t len;
		enum made m;
		if (order_passed(&pf->order, spool_first(&pf->spool))) {	/* superseded there */
			spool_skip(&pf->spool);
			continue;
		}
		const char *line = spool_lease_earliest(&pf->spool, &pos, &len);
		struct job *j = job_from_spool(pf, line, len, &m);
		j->leased = true;
		j->spool_pos = pos;
		if (m == NOT_SIGNABLE)	/* its secret is gone */
			end_unsendable(pf, j, m);
		else if (superseded_earlier(pf, j))
			end_settled(pf, j, KEY_SUPERSEDED);
		else if (waits_for_probe(pf, j))
			keep_for_probe(pf, j);
		else
			queue_return(&pf->queue, j);
	}
}

/* Whether to read more input: while the lines in memory are fewer than
 * four times -j (at least 256) and a backlog's worth more for each host
 * whose backlog is full, which holds lines of its own and sends its next
 * ones to disk: so a host whose lines cannot go (a rate, a dead host)
 * never holds up the input for the others. */
static bool may_read(const struct pbfire *pf)
{
	return !pf->input_done &&
	       pf->in_memory < pf->o.in_memory_max + pf->queue.overflowing * pf->queue.backlog_max;
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

/* Starts an attempt of j: the one place attempts are counted (those of
 * its earlier rounds and of this one before it was deferred are read back
 * with its result, by report_read_round()). */
static void start(struct pbfire *pf, struct job *j)
{
	pf->report.sent += !j->fired_at;
	pf->report.requests++;
	j->attempts++;
	j->fired_at = pf->now;
	j->sending = true;
	rates_take(&pf->o.rates, j, pf->now);
	queue_started(&pf->queue, j);
	signing_attempt(j, &pf->secrets, pf->now / STAMP_NS);
	fill_attempt(j, &pf->secrets);
	lanes_start(&pf->lanes, j, &pf->hosts.at[j->host].route);
}

/* Ends the older lines of j's stream that order_check() found waiting
 * for a retry, in memory or in the spool: j supersedes them. */
static void supersede_older(struct pbfire *pf, struct job *j)
{
	for (size_t i = 0; i < pf->order.nfound; i++) {
		struct job *old = order_found_job(&pf->order, i);
		if (old) {
			queue_withdraw(&pf->queue, old);
			order_supersede_job(&pf->order, old, j);
		} else {
			size_t len;
			enum made m;
			const char *line = order_supersede_spooled(&pf->order, i, j, &len);
			old = job_from_spool(pf, line, len, &m);
		}
		end_superseded(pf, old);
	}
}

static void update_limit(struct pbfire *pf, size_t i);

/* Whether j is to wait for its rates (its rule's, its host's): then it
 * goes back first in its host's line, and the host is paced until j may
 * go, so that the host's other lines wait behind it and other hosts'
 * lines go on. */
static bool waits_for_rate(struct pbfire *pf, struct job *j)
{
	int64_t when = rates_due(&pf->o.rates, j, pf->now);
	if (when <= pf->now)
		return false;
	hosts_pace(&pf->hosts, j->host, when);
	update_limit(pf, j->host);
	queue_return(&pf->queue, j);
	return true;
}

/* Whether a request may start now: while the --lease runs, if any. */
static bool lease_allows(struct pbfire *pf)
{
	return !pf->lease.path || lease_runs(&pf->lease);
}

/* Starts lines, each host's oldest first and hosts in turn, within -j,
 * --per-host and the rates, and only while the --lease runs: once it has
 * run out, the next line goes back first in line, untouched, and waits
 * with the others for the lease to run again. A line that a newer one of
 * its transaction and rule supersedes ends here, and one that must wait
 * for an older one waits (order.c). A line whose key is settled finishes here, quietly
 * (end_settled()), and one whose key is in flight waits for it. */
static void start_ready(struct pbfire *pf)
{
	struct job *j;
	enum ledger_state s;
	pf->lease_held = false;
	while (pf->lanes.running < pf->o.jobs && (j = queue_next(&pf->queue))) {
		if (!lease_allows(pf)) {
			queue_return(&pf->queue, j);
			pf->lease_held = true;
			break;
		}
		enum order_verdict v = order_check(&pf->order, j);
		if (v == ORDER_SUPERSEDED) {
			end_superseded(pf, j);
			continue;
		}
		supersede_older(pf, j);
		if (v == ORDER_WAIT) {
			queue_park(&pf->queue, j, pf->order.blocker);
			continue;
		}
		switch (s = claim_unsuperseded(pf, j)) {
		case KEY_DELIVERED:
		case KEY_FAILED:
		case KEY_SUPERSEDED:
			end_settled(pf, j, s);
			break;
		case KEY_IN_FLIGHT:
			queue_park(&pf->queue, j, NULL);
			break;
		default:
			if (!waits_for_rate(pf, j))
				start(pf, j);
		}
	}
}

static double random_unit(void)
{
	return (double)random() / ((double)RAND_MAX + 1);
}

/* Ends j's attempt that ended: tries j again if its outcome and policy
 * allow, waiting in the spool, by the schedule, with --spool, else in
 * memory (or, when stopping, interrupted); otherwise ends its line. A
 * postback's own attempts, when it sets them, stand for --retries and the
 * length of the schedule (whose last wait then repeats). */
static void retry_or_end(struct pbfire *pf, struct job *j)
{
	int used = j->attempts - j->paced;
	double wait;
	if (j->error == ERR_NONE || !job_retryable(j)) {
		end_line(pf, j);
	} else if (pf->o.spool_path) {
		int step = j->policy.attempts && used > (int)pf->o.schedule.n ? (int)pf->o.schedule.n : used;
		wait = schedule_wait(&pf->o.schedule, step, random_unit());
		if (wait >= 0)
			keep_in_spool(pf, j, pf->now + (int64_t)(wait * STAMP_NS));
		else
			end_line(pf, j);
	} else if ((!j->policy.attempts && used > pf->o.retry.retries) ||
		   (wait = retry_delay(&pf->o.retry, used, j->retry_after, random_unit())) < 0) {
		end_line(pf, j);
	} else if (pf->stopping) {
		interrupt(pf, j, false);
	} else {
		job_drop_answer(j);
		queue_retry_at(&pf->queue, j, pf->now + (int64_t)(wait * STAMP_NS));
	}
}

/* ---- hosts: breakers and pacing ---- */

/* Gives host i's lines the slots it has now (hosts_slots()). */
static void update_limit(struct pbfire *pf, size_t i)
{
	queue_set_limit(&pf->queue, i, hosts_slots(&pf->hosts, i, pf->now));
}

/* Hosts whose breaker wait or pacing is over get their slots back. */
static void wake_hosts(struct pbfire *pf)
{
	size_t i;
	while (hosts_wake(&pf->hosts, pf->now, &i))
		update_limit(pf, i);
}

/* Whether the answer to j asks the host to slow down: a 429, or a
 * Retry-After that is not beyond the cap. */
static bool backpressure(const struct pbfire *pf, const struct job *j)
{
	return j->error == ERR_HTTP && (j->status == 429 || j->retry_after > 0) &&
	       j->retry_after <= pf->o.retry.retry_after_max;
}

/* When the answer to j is backpressure, paces j's host for the
 * Retry-After (or one --backoff) and puts j back first in line without
 * using up an attempt, up to PACE_MAX times a line and as its postback's
 * policy allows; false when j is not put back. */
static bool paced(struct pbfire *pf, struct job *j)
{
	if (pf->stopping || !backpressure(pf, j))
		return false;
	double wait = j->retry_after > 0 ? j->retry_after : retry_delay(&pf->o.retry, 1, 0, random_unit());
	hosts_pace(&pf->hosts, j->host, pf->now + (int64_t)(wait * STAMP_NS));
	update_limit(pf, j->host);
	if (j->paced >= PACE_MAX || !policy_allows_another(&j->policy, job_attempts(j), j->status))
		return false;
	j->paced++;
	job_drop_answer(j);
	queue_return(&pf->queue, j);
	return true;
}

/* Notes j's outcome in its host's breaker, saved when it changed; when it
 * is open, the host's lines wait for its probe in the spool if any. */
static void note_breaker(struct pbfire *pf, const struct job *j)
{
	const struct breaker *b = &pf->hosts.at[j->host].breaker;
	if (hosts_note(&pf->hosts, j, pf->now, random_unit()) != BREAKER_SAME && pf->breakers_path)
		breakers_save(&pf->hosts, pf->breakers_path);
	if (pf->o.spool_path && b->state == BREAKER_OPEN && b->until > pf->now)
		queue_take_host(&pf->queue, j->host, keep_for_probe, pf);
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
		j->sending = false;
		if (j->in_order)	/* lines of its stream may wait for this attempt */
			queue_unpark(&pf->queue, j);
		lanes_route_ended(&pf->hosts.at[j->host].route, j);
		queue_ended(&pf->queue, j);
		report_attempt(&pf->report, j);
		expect_judge(&pf->patterns, j);
		if (paced(pf, j))
			continue;
		note_breaker(pf, j);
		retry_or_end(pf, j);
	}
	return any;
}

/* ---- interruption ---- */

/* Ends the requests still in flight when the grace period is over. */
static void end_overdue(struct pbfire *pf)
{
	struct job_list cut = { 0 };
	struct job *j;
	if (pf->now < pf->grace_end)
		return;
	lanes_cut(&pf->lanes, &cut);
	while ((j = job_list_pop(&cut))) {
		j->sending = false;
		queue_ended(&pf->queue, j);
		interrupt(pf, j, true);
	}
}

/* Starts stopping at the first signal: lines waiting end at once. */
static void note_signal(struct pbfire *pf)
{
	wake_drain();
	if (!wake_signal() || pf->stopping)
		return;
	pf->stopping = pf->input_done = true;
	pf->grace_end = pf->now + (int64_t)(pf->o.grace * STAMP_NS);
	warnx("interrupted: finishing %u %s in flight, for up to %.1f s", pf->lanes.running,
	      plural(pf->lanes.running, "request", "requests"), pf->o.grace);
	queue_drain(&pf->queue, interrupt_waiting, pf);
}

/* ---- the loop ---- */

/* Makes what is done durable and visible, before waiting: the records
 * (put_out_records), and only once they are out are the spool's lines
 * they replace released. */
static void flush_outputs(struct pbfire *pf)
{
	put_out_records(pf);
	if (pf->o.spool_path) {	/* the lines now out, once their records are */
		spool_mark_released(&pf->spool);
		if (!pf->spool.leased && spool_worth_compacting(&pf->spool))
			order_moving(&pf->order);	/* the compaction files them again */
		spool_reclaim(&pf->spool);
	}
	queue_reclaim(&pf->queue);
	if (pf->t->reject)
		fflush(pf->t->reject);
}

/* The nearest deadline: a retry due, a host's breaker wait or pacing
 * over, the end of the grace period, the next look at a lease that has
 * run out while lines wait for it, the next redraw of the progress line;
 * INT64_MAX when there is none. */
static int64_t next_deadline(const struct pbfire *pf)
{
	int64_t due = INT64_MAX, retry;
	if (queue_next_retry(&pf->queue, &retry))
		due = retry;
	if (hosts_next_deadline(&pf->hosts, &retry) && retry < due)
		due = retry;
	if (pf->o.spool_path && !pf->stopping && spool_next(&pf->spool, &retry) && retry < due)
		due = retry;
	if (pf->stopping && pf->grace_end < due)
		due = pf->grace_end;
	if (pf->lease_held && !pf->stopping && pf->now + LEASE_LOOK_NS < due)
		due = pf->now + LEASE_LOOK_NS;
	if (pf->report.progress && pf->report.last_progress + STAMP_NS / 4 < due)
		due = pf->report.last_progress + STAMP_NS / 4;
	return due;
}

/* Waits for input, a socket, a signal or the nearest deadline. */
static void wait_for_events(struct pbfire *pf)
{
	int64_t due = next_deadline(pf);
	flush_outputs(pf);
	lanes_wait(&pf->lanes, may_read(pf) ? lines_fd(&pf->t->in) : -1, due);
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
		lanes_work(&pf->lanes);
		pf->now = stamp_to_ns(stamp_now());
		bool slots_freed = reap(pf);
		if (slots_freed)	/* before the slots fill again: a crash sends again only what was in flight */
			sync_ledger(pf);
		report_progress(&pf->report, pf->now, pf->lanes.running, pf->hosts.open_breakers, false);
		if (pf->input_done && !pf->in_memory && !spool_due(pf))
			break;
		if (!slots_freed)
			wait_for_events(pf);
	}
	flush_outputs(pf);
	if (pf->breakers_path)
		breakers_save(&pf->hosts, pf->breakers_path);
	report_progress(&pf->report, pf->now, 0, pf->hosts.open_breakers, true);
}

static void dry_run_line(struct tool *t, char *line, size_t len, void *arg)
{
	(void)t;
	read_line(arg, line, len);
}

/* A stream writing into a buffer of its own, *text, *len long. */
static FILE *memory_stream(char **text, size_t *len)
{
	FILE *f = open_memstream(text, len);
	if (!f)
		err(EXIT_FATAL, "open_memstream");
	return f;
}

/* Takes up the breakers an earlier run left open beside the spool. */
static void load_breakers(struct pbfire *pf)
{
	pf->breakers_path = breakers_path(pf->o.spool_path);
	breakers_load(&pf->hosts, pf->breakers_path, pf->now,
		      (int64_t)(pf->o.breaker.wait_max * 1.2 * STAMP_NS));
	hosts_take_up(&pf->hosts, pf->breakers_path, pf->now);
	for (size_t i = 0; i < pf->hosts.n; i++)
		update_limit(pf, i);
}

static void set_up(struct pbfire *pf)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	pf->secrets.path = pf->o.secrets_path;
	pf->lease.path = pf->o.lease_path;
	if (pf->secrets.path)
		secrets_load(&pf->secrets, pf->secrets.path);
	if (pf->o.ledger_path)
		ledger_open(&pf->ledger, pf->o.ledger_path, pf->o.dry_run, pf->o.ledger_keep);
	pf->report.dry_run = pf->o.dry_run;
	pf->records = pf->o.dry_run ? stdout : memory_stream(&pf->records_text, &pf->records_len);
	pf->report.spool = pf->o.spool_path != NULL;
	pf->report.keep_response = pf->o.send.keep_response;
	pf->report.progress = !pf->o.dry_run && isatty(STDERR_FILENO);
	pf->report.verbose = pf->o.verbose || (pf->o.dry_run && isatty(STDERR_FILENO));
	hosts_init(&pf->hosts, pf->o.per_host, pf->o.breaker);
	queue_init(&pf->queue, pf->o.per_host, pf->t->max_line, revive, pf);
	order_init(&pf->order, pf->o.spool_path ? &pf->spool : NULL);
	if (pf->o.dry_run)
		return;
	pf->o.send.net = &pf->o.net;
	if (pf->o.spool_path) {
		spool_open_with(&pf->spool, pf->o.spool_path, "pbfire",
				pf->t->max_line + 4096 + report_answer_max(pf->o.send.keep_response),
				order_spooled, &pf->order);
		pf->spooled = memory_stream(&pf->spooled_text, &pf->spooled_len);
		pf->now = stamp_to_ns(stamp_now());
		if (pf->o.breaker.failures)
			load_breakers(pf);
	}
	wake_catch_signals();
	lanes_open(&pf->lanes, pf->o.send, pf->o.threads ? pf->o.threads : lanes_for(pf->o.jobs));
	srandom((unsigned)stamp_to_ns(stamp_now()));
}

static void tear_down(struct pbfire *pf)
{
	if (!pf->o.dry_run)
		lanes_close(&pf->lanes);
	if (pf->o.ledger_path)
		ledger_close(&pf->ledger);
	queue_free(&pf->queue);
	order_free(&pf->order);
	hosts_free(&pf->hosts);
	free(pf->breakers_path);
	if (pf->spooled) {
		spool_close(&pf->spool);
		fclose(pf->spooled);
		free(pf->spooled_text);
	}
	if (pf->records != stdout) {
		fclose(pf->records);
		free(pf->records_text);
	}
	options_free(&pf->o);
	secrets_free(&pf->secrets);
	patterns_free(&pf->patterns);
	buf_free(&pf->why);
	buf_free(&pf->scratch);
	buf_free(&pf->result);
	curl_global_cleanup();
}

int main(int argc, char **argv)
{
	struct tool t;
	struct pbfire pf = { .t = &t };
	options_parse(&pf.o, &t, argc, argv);
	set_up(&pf);
	if (pf.o.dry_run) {
		tool_run(&t, argv + optind, argc - optind, dry_run_line, &pf);
	} else {
		tool_begin(&t, argv + optind, argc - optind);
		lines_set_nowait(&t.in);
		run(&pf);
	}
	if (pf.o.stats)
		report_stats(&pf.report, &t, &pf.hosts, pf.o.spool_path ? pf.spool.held.n - pf.order.dropped : 0);
	tear_down(&pf);
	int status = tool_finish(&t);
	bool all_ok = report_failed(&pf.report) == 0;
	return status == EXIT_OK && !all_ok ? EXIT_REJECTED : status;
}
