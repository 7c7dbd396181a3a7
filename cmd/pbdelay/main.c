/*
 * pbdelay: hold each line until the time in its fire_at field (or -f
 * FIELD), then write it unchanged. See pbdelay(1).
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
#include "record.h"
#include "spool.h"
#include "stamp.h"
#include "tool.h"
#include "wake.h"

static const char usage[] =
	"usage: pbdelay [-f FIELD] [--spool FILE [--due-only]] [--reject FILE]\n"
	"               [--max-line BYTES] [FILE ...]\n";

enum { OPT_SPOOL = OPT_TOOL_LAST, OPT_DUE_ONLY };

#define SYNC_EVERY (STAMP_NS / 10)	/* a named spool is synced at least this often */
#define MARK_EVERY 4096		/* lines released between marks in a long release */
#define CLOCK_EVERY 64		/* lines read, at most, between readings of the clock */
#define LAST_SECOND 9000000000LL	/* later times do not fit in 64-bit nanoseconds */

struct pbdelay {
	const char *field;
	size_t field_len;
	bool nested;		/* field is a dotted path */
	bool due_only;
	struct tool *t;
	struct json_index index;	/* the line's top-level members */
	struct record rec;
	struct spool spool;
	int64_t now, synced;
	unsigned unclocked;	/* lines read since the clock was */
};

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
	if (!pd->nested && !shape.escapes) {
		const struct json_span *m = json_index_find(&pd->index, line, pd->field, pd->field_len);
		*v = m ? (struct text){ line + m->value, m->value_end - m->value } : (struct text){ 0 };
		*string = v->p && *v->p == '"';
		if (*string)
			*v = (struct text){ v->p + 1, v->n - 2 };
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
	if (!v.p || (!string && text_is(v, "null")))
		return true;
	bool parsed = (string && stamp_parse_rfc3339(v.p, v.n, &s)) || stamp_parse_unix(v.p, v.n, &s);
	if (!parsed || s.sec >= LAST_SECOND) {
		tool_reject(pd->t, line, len, "%s: %s: %.*s%s", pd->field,
			    parsed ? "time out of range" : "not an RFC 3339 time or Unix seconds",
			    SHOWN(v.p, v.n));
		return false;
	}
	*due = s.sec < 0 ? 0 : stamp_to_ns(s);
	return true;
}

/* Flushes the lines released so far, then marks them released. */
static void flush_and_mark(struct pbdelay *pd)
{
	if (fflush(stdout) != 0)
		err(EXIT_FATAL, "stdout");
	spool_mark_released(&pd->spool);
}

/* Writes out every held line due by pd->now, earliest first, and marks
 * them released once they are out. */
static void release_due(struct pbdelay *pd)
{
	int64_t due;
	unsigned long n = 0;
	while (spool_next(&pd->spool, &due) && due <= pd->now) {
		size_t len;
		const char *line = spool_take_earliest(&pd->spool, &len);
		fwrite(line, 1, len, stdout);
		putchar_unlocked('\n');
		if (++n % MARK_EVERY == 0)
			flush_and_mark(pd);
	}
	if (n) {
		flush_and_mark(pd);
		spool_reclaim(&pd->spool);
	}
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
		release_due(pd);
		bool held = spool_next(&pd->spool, &due);
		if (wake_signal() || (fd < 0 && !held))
			return;
		if (pd->spool.unsynced)
			sync_spool(pd);
		deadline_set(held ? due : INT64_MAX);
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
	if (idle && !wake_signal())
		wait_for(pd, lines_fd(&pd->t->in));
	stop_if_signalled(&pd->t->in);
}

static void delay_line(struct tool *t, char *line, size_t len, void *arg)
{
	struct pbdelay *pd = arg;
	int64_t due;
	if (!due_time(pd, line, len, &due))
		return;
	/* A line due by the last reading is due now (time only moves on), so
	 * the clock is read for a line that may not be, and every CLOCK_EVERY
	 * lines so that held lines are released in time while due ones
	 * stream through. */
	if (due > pd->now || ++pd->unclocked == CLOCK_EVERY)
		read_clock(pd);
	release_due(pd);
	if (due <= pd->now) {
		fwrite(line, 1, len, stdout);
		putchar_unlocked('\n');
	} else {
		spool_hold(&pd->spool, due, line, len);
	}
	if (pd->spool.path && pd->now - pd->synced > SYNC_EVERY)
		sync_spool(pd);
	stop_if_signalled(&t->in);
}

/* Without a spool, an interrupted pbdelay writes what it holds to a file
 * it names, to be fed back in. */
static void save_held(struct pbdelay *pd)
{
	struct buf path = { 0 };
	size_t n = pd->spool.held.n, len;
	const char *held = plural(n, "held line", "held lines");
	buf_addf(&path, "%s/pbdelay-held.%ld.ndjson", tool_tmpdir(), (long)getpid());
	int fd = open(path.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f)
		err(EXIT_FATAL, "%s: cannot save %zu %s", path.data, n, held);
	while (pd->spool.held.n) {
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
	fflush(stdout);
	if (pd->spool.path)
		warnx("interrupted: %zu %s in %s", pd->spool.held.n,
		      plural(pd->spool.held.n, "held line stays", "held lines stay"), pd->spool.path);
	else if (pd->spool.held.n)
		save_held(pd);
	spool_close(&pd->spool);
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
		TOOL_OPTIONS,
		{ 0 },
	};
	struct tool t;
	struct pbdelay pd = { .field = "fire_at", .t = &t };
	const char *spool_path = NULL;
	int opt;

	tool_init(&t, usage);
	while ((opt = getopt_long(argc, argv, "f:h", options, NULL)) != -1) {
		switch (opt) {
		case 'f': pd.field = optarg; break;
		case OPT_SPOOL: spool_path = optarg; break;
		case OPT_DUE_ONLY: pd.due_only = true; break;
		default:
			if (!tool_option(&t, opt, optarg))
				tool_usage_error(&t, NULL);
		}
	}
	if (!*pd.field)
		tool_usage_error(&t, "-f: empty field name");
	if (pd.due_only && !spool_path)
		tool_usage_error(&t, "--due-only needs --spool: what is not due must be kept somewhere");
	pd.field_len = strlen(pd.field);
	pd.nested = strchr(pd.field, '.') != NULL;
	wake_catch_signals();
	spool_open(&pd.spool, spool_path, "pbdelay", t.max_line);
	pd.now = pd.synced = stamp_to_ns(stamp_now());
	release_due(&pd);
	t.before_read = before_read;
	t.read_arg = &pd;

	tool_run(&t, argv + optind, argc - optind, delay_line, &pd);

	if (!pd.due_only)
		wait_for(&pd, -1);
	if (wake_signal())
		finish_interrupted(&pd);
	pd.now = stamp_to_ns(stamp_now());
	release_due(&pd);
	spool_close(&pd.spool);
	record_free(&pd.rec);
	json_index_free(&pd.index);
	return tool_finish(&t);
}
