/*
 * pbdelay: hold each line until the time in its fire_at field (or -f
 * FIELD), then write it unchanged; a postback line that a later action
 * of its transaction supersedes meanwhile is written out marked so
 * instead (hold.c), and a line that may still be superseded leaves only
 * once the input read after it has told what could supersede it
 * (later.c). See pbdelay(1).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "duration.h"
#include "hold.h"
#include "later.h"
#include "record.h"
#include "spool.h"
#include "stamp.h"
#include "tool.h"
#include "wake.h"

static const char usage[] =
	"usage: pbdelay [-f FIELD] [--spool FILE [--due-only [--lag DURATION]]]\n"
	"               [--reject FILE] [--max-line BYTES] [FILE ...]\n";

enum { OPT_SPOOL = OPT_TOOL_LAST, OPT_DUE_ONLY, OPT_LAG };

#define SYNC_EVERY (STAMP_NS / 10)	/* a named spool is synced at least this often */
#define MARK_EVERY 4096		/* lines released, at most, between marks */
#define MARK_AFTER (STAMP_NS / 100)	/* a release waits this long, at most, for its flush and mark */
#define CLOCK_EVERY 64		/* lines read, at most, between readings of the clock */
#define LAST_SECOND 9000000000LL	/* later times do not fit in 64-bit nanoseconds */
#define SETTLE STAMP_NS		/* an input idle this long, at least, has told all it has */
#define SETTLE_SHARE 100	/* and idle for this share of how far it is behind the clock */
#define LAG_DEFAULT 900		/* seconds, --lag */
#define NEVER INT64_MAX

struct pbdelay {
	const char *field;
	size_t field_len;
	bool nested;		/* field is a dotted path */
	bool due_only;
	bool parsed;		/* rec holds the line (else index, when it has no escapes) */
	bool postback;		/* the line, not parsed, has a postback or notice member */
	bool ended;		/* the input is read to its end */
	struct tool *t;
	struct json_index index;	/* the line's top-level members */
	struct record rec;
	struct spool spool;
	struct hold hold;
	int64_t now, synced, marked;
	int64_t input_time;	/* the last action time read, not after the clock */
	struct later later;	/* the latest read after each place (later.c) */
	int64_t idle_since;	/* when the input went idle; 0 while it flows */
	int64_t lag;		/* --lag, in ns; its default is also the longest pause asked of a live input */
	unsigned unclocked;	/* lines read since the clock was */
	unsigned long unmarked;	/* lines released or passed over since the last mark */
};

/* The text of top-level member m of the line in *v, and whether it is a
 * string (its quotes taken off). */
static void member_text(const char *line, const struct json_span *m, struct text *v, bool *string)
{
	*v = m ? (struct text){ line + m->value, m->value_end - m->value } : (struct text){ 0 };
	*string = v->p && *v->p == '"';
	if (*string)
		*v = (struct text){ v->p + 1, v->n - 2 };
}

/* Whether key k[0,n) is name[0,len); the first bytes are compared
 * before the call to memcmp, which most keys then never make. */
static inline bool key_is(const char *k, size_t n, const char *name, size_t len)
{
	return n == len && *k == *name && memcmp(k, name, n) == 0;
}

/* The line's top-level member named pd->field, in one pass that also
 * notes whether the line has a "postback" or a "notice" member (the
 * first of a key counts). */
static const struct json_span *scan_members(struct pbdelay *pd, const char *line)
{
	const struct json_span *m = pd->index.member, *end = m + pd->index.n, *field = NULL;
	bool postback = false;
	for (; m < end; m++) {
		size_t n = m->key_end - m->key;
		const char *k = line + m->key;
		if (!field && key_is(k, n, pd->field, pd->field_len))
			field = m;
		else if (key_is(k, n, "postback", 8) || key_is(k, n, "notice", 6))
			postback = true;
	}
	pd->postback = postback;
	return field;
}

/* The text of the line's time field in *v (p NULL when missing), and
 * whether it is a string. The index validation builds finds a top-level
 * field on a line without escapes, the common case and the fast one; a
 * nested field or escapes need the record's tokens (only those of the
 * member on the path are made). False when the line is not valid JSON,
 * after rejecting it. */
static bool find_time(struct pbdelay *pd, char *line, size_t len, struct text *v, bool *string)
{
	struct json_error je;
	struct json_shape shape;
	bool valid = pd->nested ? record_parse(&pd->rec, line, len, &je)
		: json_validate(line, len, &shape, &pd->index, &je);
	if (!valid) {
		tool_reject(pd->t, line, len, "invalid JSON: %s at column %zu", je.msg, je.offset + 1);
		return false;
	}
	pd->parsed = pd->nested || shape.escapes;
	if (!pd->parsed) {
		member_text(line, scan_members(pd, line), v, string);
		return true;
	}
	if (!pd->nested)	/* valid, with escapes to decode */
		record_parse(&pd->rec, line, len, &je);
	int i = record_path(&pd->rec, pd->field, pd->field_len);
	*v = i < 0 ? (struct text){ 0 } : record_text(&pd->rec, i);
	*string = i >= 0 && pd->rec.tok[i].type == JSMN_STRING;
	return true;
}

/* The line's due time in *due: the field's time, or 0 (at once) when the
 * field is missing or null. False when the line is rejected. */
static bool due_time(struct pbdelay *pd, char *line, size_t len, int64_t *due)
{
	struct text v;
	struct stamp s;
	bool string;
	if (!find_time(pd, line, len, &v, &string))
		return false;
	*due = 0;
	if (!v.p || (!string && *v.p == 'n'))	/* valid JSON: the one value so spelt is null */
		return true;
	bool parsed = stamp_parse_either(v, string, &s);
	if (!parsed || s.sec >= LAST_SECOND) {
		tool_reject(pd->t, line, len, "%s: %s: %.*s%s", pd->field,
			    parsed ? "time out of range" : "not an RFC 3339 time or Unix seconds",
			    SHOWN(v.p, v.n));
		return false;
	}
	*due = s.sec < 0 ? 0 : stamp_to_ns(s);
	return true;
}

/* Writes a line out, with its newline: stdout is the main loop's alone,
 * so without stdio's lock. */
static void write_line(const char *line, size_t len)
{
	fwrite_unlocked(line, 1, len, stdout);
	putchar_unlocked('\n');
}

/* Flushes the lines released so far, then marks them released. */
static void flush_and_mark(struct pbdelay *pd)
{
	if (fflush(stdout) != 0)
		err(EXIT_FATAL, "stdout");
	spool_mark_released(&pd->spool);
	pd->unmarked = 0;
	pd->marked = pd->now;
}

/* Before a compaction, which renumbers the held lines, the hold is
 * emptied, to be filled again as the compaction reports them. */
static void reclaim(struct pbdelay *pd)
{
	if (spool_worth_compacting(&pd->spool)) {
		hold_moving(&pd->hold);
		later_clear(&pd->later);	/* its places are the spool's */
	}
	spool_reclaim(&pd->spool);
}

/* Flushes and marks the lines released since the last mark, if any, and
 * reclaims the spool's space they took. Lines released while the input
 * streams are marked together, not one release at a time: a flush and a
 * mark for each would cost the reader downstream a wake-up a line. */
static void mark_released(struct pbdelay *pd)
{
	if (!pd->unmarked && !pd->spool.nreleased)
		return;
	flush_and_mark(pd);
	reclaim(pd);
}

/* How long an input idle since pd->idle_since must stay so to have told
 * all it has: a hundredth of how far its time (its last action's: an
 * action logged early must not make a replay look live) was behind the
 * clock then, at least SETTLE and at most the lag; the lag before it has
 * told any time. A live input is not behind, or only as far as it is
 * quiet, and a pause of a second tells; a replay catching up (pbkafka's
 * after an outage, a log fed in bursts) is hours behind, and a pause of
 * a second there says nothing of the verdicts it has yet to read. */
static int64_t settle(const struct pbdelay *pd)
{
	int64_t pause = (pd->idle_since - pd->input_time) / SETTLE_SHARE;
	return pause < SETTLE ? SETTLE : pause > pd->lag ? pd->lag : pause;
}

/* When a held line due then may leave: at its time, unless a later
 * action may still supersede it (waiting). Such a line waits until the
 * input has passed its time (after, the latest action time read after
 * the line, is later), or has ended, or has been idle since before it
 * fell due, or for settle(); with --due-only, until the input has passed
 * its time or, once the input has ended, until --lag after its time.
 * NEVER: until more input tells. */
static int64_t leave_time(const struct pbdelay *pd, int64_t due, bool waiting, int64_t after)
{
	if (!waiting || after > due)
		return due;
	if (pd->due_only)
		return pd->ended ? due + pd->lag : NEVER;
	if (pd->ended)
		return due;
	if (!pd->idle_since)
		return NEVER;
	return due >= pd->idle_since ? due : pd->idle_since + settle(pd);
}

/* Writes out every held line that may leave by pd->now, earliest first,
 * passing over the places of dropped ones; they are marked released by
 * mark_released(), or here every MARK_EVERY lines. Returns when the first
 * line still held may leave (NEVER: none is held, or more input must
 * tell). */
static int64_t release_due(struct pbdelay *pd)
{
	int64_t due, leave = NEVER;
	while (spool_next(&pd->spool, &due)) {
		if (due > pd->now) {
			leave = due;
			break;
		}
		enum hold_place place = hold_place(&pd->hold, spool_first(&pd->spool));
		if (place == HOLD_DROPPED) {
			spool_skip(&pd->spool);
			hold_forget(&pd->hold);
			pd->unmarked++;
			continue;
		}
		bool waiting = place == HOLD_WAITING;
		int64_t after = waiting ? later_than(&pd->later, spool_first(&pd->spool)) : INT64_MIN;
		if ((leave = leave_time(pd, due, waiting, after)) > pd->now)
			break;
		leave = NEVER;
		hold_forget(&pd->hold);
		size_t len;
		const char *line = spool_take_earliest(&pd->spool, &len);
		write_line(line, len);
		if (++pd->unmarked >= MARK_EVERY)
			flush_and_mark(pd);
	}
	return leave;
}

/* At the end of the input: writes every due line that may leave, also
 * those a line waiting for more input keeps behind it (with --due-only,
 * a line of a rule with supersede: false, or of no transaction, due
 * while a line due earlier waits for the next run); the waiting ones
 * are set aside meanwhile, then put back. */
static void release_behind_waiting(struct pbdelay *pd)
{
	struct timer *aside = NULL;
	size_t n = 0, cap = 0;
	int64_t due;
	for (;;) {
		release_due(pd);
		if (!spool_next(&pd->spool, &due) || due > pd->now)
			break;
		if (n == cap)
			aside = xreallocarray(aside, cap = cap ? 2 * cap : 64, sizeof *aside);
		aside[n++] = spool_skip(&pd->spool);
	}
	while (n)
		spool_put_back(&pd->spool, aside[--n]);
	free(aside);
}

/* --lag: a duration of pb-rules(5), seconds without a unit, up to a
 * year. */
static int64_t parse_lag(const struct tool *t, const char *s)
{
	int64_t ns;
	if (!duration_parse(s, strlen(s), DURATION_S, &ns) || ns > 365 * DURATION_D)
		tool_usage_error(t, "--lag: expected a duration such as 900, 15m or 2h, at most a year, got '%s'", s);
	return ns;
}

static void sync_spool(struct pbdelay *pd)
{
	spool_sync(&pd->spool);
	pd->synced = pd->now;
}

/* Sets pd->now from the clock. */
static void read_clock(struct pbdelay *pd)
{
	pd->now = stamp_to_ns(stamp_now());
	pd->unclocked = 0;
}

/* Releases lines as they fall due until fd has input (fd < 0: until
 * nothing is held) or a signal arrives: the signal's byte in the wake
 * pipe ends the wait even when it comes after the check. The wait for
 * the next line due ends at its time through the deadline timer. */
static void wait_for(struct pbdelay *pd, int fd)
{
	int64_t due;
	for (;;) {
		read_clock(pd);
		int64_t leave = release_due(pd);
		mark_released(pd);
		bool held = spool_next(&pd->spool, &due);
		if (wake_signal() || (fd < 0 && !held))
			return;
		if (pd->spool.unsynced)
			sync_spool(pd);
		deadline_set(leave != NEVER ? leave : INT64_MAX);
		struct pollfd p[] = { { .fd = fd, .events = POLLIN }, { .fd = wake_fd(), .events = POLLIN },
				      { .fd = deadline_fd(), .events = POLLIN } };
		if (poll(p, 3, -1) > 0 && (p[0].revents || p[1].revents))
			return;
	}
}

/* Ends the input at once when a signal came. */
static void stop_if_signalled(struct lines *in)
{
	if (wake_signal())
		lines_stop(in);
}

/* Before each read: the lines read so far go to the spool file, and when
 * the input pauses, held lines are released as they fall due. */
static void before_read(void *arg, bool idle)
{
	struct pbdelay *pd = arg;
	spool_write(&pd->spool);
	if (idle && !pd->idle_since) {
		read_clock(pd);
		pd->idle_since = pd->now;
	}
	if (idle && !wake_signal())
		wait_for(pd, lines_fd(&pd->t->in));
	stop_if_signalled(&pd->t->in);
}

/* Reads what the line tells of its action into f, notes its time at
 * this place of the input (unless it is later than the clock), and
 * applies the action to the lines held. Only what is read after a line
 * held tells whether the input has passed its time, so what was read
 * while no held line may be superseded is forgotten: a line held next
 * takes a place after it, or, the spool emptied meanwhile, a place
 * before it that it must not pass. A line that is neither a postback
 * line nor a notice is then not read at all. */
static void read_action(struct pbdelay *pd, char *line, size_t len, int64_t due, struct line_facts *f)
{
	struct json_error je;
	memset(f, 0, sizeof *f);
	if (!pd->hold.superseding) {
		later_clear(&pd->later);	/* the spool may have been emptied since, its places reused */
		if (!pd->parsed && !pd->postback)
			return;
	}
	if (!pd->parsed)
		record_parse(&pd->rec, line, len, &je);
	hold_read(&pd->hold, &pd->rec, due, f);
	hold_supersede(&pd->hold, f);
	if (f->timed && f->time <= pd->now) {
		later_add(&pd->later, spool_end(&pd->spool), f->time);
		pd->input_time = f->time;
	}
}

/* A line is written out at once when it is due and nothing may still
 * supersede it; else held, unless a line of its postback key is held
 * already. A notice is consumed. */
static void delay_line(struct tool *t, char *line, size_t len, void *arg)
{
	struct pbdelay *pd = arg;
	struct line_facts f;
	int64_t due;
	if (!due_time(pd, line, len, &due))
		return;
	pd->idle_since = 0;
	/* A line due by the last reading is due now (time only moves on), so
	 * the clock is read for a line that may not be, and every CLOCK_EVERY
	 * lines so that held lines are released in time while due ones
	 * stream through. */
	if (due > pd->now || ++pd->unclocked == CLOCK_EVERY)
		read_clock(pd);
	read_action(pd, line, len, due, &f);
	release_due(pd);
	if (f.notice) {
		/* applied: nothing to pass on */
	} else if (leave_time(pd, due, f.supersedable, INT64_MIN) <= pd->now) {
		write_line(line, len);
	} else if (f.indexed && hold_has_key(&pd->hold, &f)) {
		pd->hold.nduplicates++;
	} else {
		hold_add(&pd->hold, &f, spool_hold(&pd->spool, due, line, len));
	}
	if (pd->unmarked && pd->now - pd->marked > MARK_AFTER)
		mark_released(pd);
	if (pd->spool.path && pd->now - pd->synced > SYNC_EVERY) {
		mark_released(pd);
		sync_spool(pd);
	}
	stop_if_signalled(&t->in);
}

/* Without a spool, an interrupted pbdelay writes what it holds to a file
 * it names, to be fed back in. */
static void save_held(struct pbdelay *pd)
{
	struct buf path = { 0 };
	size_t n = pd->spool.held.n - pd->hold.dropped, len;
	const char *held = plural(n, "held line", "held lines");
	int64_t due;
	buf_addf(&path, "%s/pbdelay-held.%ld.ndjson", tool_tmpdir(), (long)getpid());
	int fd = open(path.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f)
		err(EXIT_FATAL, "%s: cannot save %zu %s", path.data, n, held);
	while (spool_next(&pd->spool, &due)) {
		bool dropped = hold_place(&pd->hold, spool_first(&pd->spool)) == HOLD_DROPPED;
		hold_forget(&pd->hold);
		if (dropped) {
			spool_skip(&pd->spool);
			continue;
		}
		const char *line = spool_take_earliest(&pd->spool, &len);
		fwrite(line, 1, len, f);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		err(EXIT_FATAL, "%s: cannot save %zu %s", path.data, n, held);
	warnx("interrupted: %zu %s saved to %s; feed it back in to resume", n, held, path.data);
	buf_free(&path);
}

static void finish_interrupted(struct pbdelay *pd)
{
	if (fflush(stdout) == 0)
		spool_mark_released(&pd->spool);
	if (pd->spool.path)
		warnx("interrupted: %zu %s in %s", pd->spool.held.n - pd->hold.dropped,
		      plural(pd->spool.held.n - pd->hold.dropped, "held line stays", "held lines stay"),
		      pd->spool.path);
	else if (pd->spool.held.n > pd->hold.dropped)
		save_held(pd);
	spool_close(&pd->spool);
	hold_free(&pd->hold);
	record_free(&pd->rec);
	json_index_free(&pd->index);
	wake_die();
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "field", required_argument, NULL, 'f' },
		{ "spool", required_argument, NULL, OPT_SPOOL },
		{ "due-only", no_argument, NULL, OPT_DUE_ONLY },
		{ "lag", required_argument, NULL, OPT_LAG },
		TOOL_OPTIONS,
		{ 0 },
	};
	struct tool t;
	struct pbdelay pd = { .field = "fire_at", .t = &t, .lag = LAG_DEFAULT * STAMP_NS };
	const char *spool_path = NULL, *lag = NULL;
	int opt;

	tool_init(&t, usage);
	while ((opt = getopt_long(argc, argv, "f:h", options, NULL)) != -1) {
		switch (opt) {
		case 'f': pd.field = optarg; break;
		case OPT_SPOOL: spool_path = optarg; break;
		case OPT_DUE_ONLY: pd.due_only = true; break;
		case OPT_LAG: lag = optarg; break;
		default:
			if (!tool_option(&t, opt, optarg))
				tool_usage_error(&t, NULL);
		}
	}
	if (!*pd.field)
		tool_usage_error(&t, "-f: empty field name");
	if (pd.due_only && !spool_path)
		tool_usage_error(&t, "--due-only needs --spool: what is not due must be kept somewhere");
	if (lag && !pd.due_only)
		tool_usage_error(&t, "--lag needs --due-only: a live pbdelay releases a line when its input pauses");
	if (lag)
		pd.lag = parse_lag(&t, lag);
	pd.field_len = strlen(pd.field);
	pd.nested = strchr(pd.field, '.') != NULL;
	wake_catch_signals();
	hold_init(&pd.hold, &pd.spool);
	spool_open_with(&pd.spool, spool_path, "pbdelay", t.max_line, hold_loaded, &pd.hold);
	pd.hold.loading = false;
	pd.now = pd.synced = stamp_to_ns(stamp_now());
	release_due(&pd);
	mark_released(&pd);
	t.before_read = before_read;
	t.read_arg = &pd;

	tool_run(&t, argv + optind, argc - optind, delay_line, &pd);

	pd.ended = true;
	if (!pd.due_only)
		wait_for(&pd, -1);
	if (wake_signal())
		finish_interrupted(&pd);
	pd.now = stamp_to_ns(stamp_now());
	release_behind_waiting(&pd);
	flush_and_mark(&pd);	/* lines dropped but never in the heap's first place too */
	reclaim(&pd);
	spool_close(&pd.spool);
	hold_free(&pd.hold);
	record_free(&pd.rec);
	json_index_free(&pd.index);
	return tool_finish(&t);
}
