/*
 * The spool: where pbdelay keeps the lines it holds, and pbfire its
 * retries. Their text lives in a file of records, "+DUE LINE\n" with DUE
 * in nanoseconds since the epoch, after a header line "WRITER-spool 1",
 * WRITER the tool whose spool it is ("pbdelay-spool 1", "pbfire-spool
 * 1"); a file with pbdelay's header is read by either, as pbfire's retry
 * spools began with it until they had their own, and a compaction gives
 * it the writer's. Memory keeps only the heap of (due, position) pairs. A released record is marked by overwriting its
 * "+" with "-" after the line has been written out, so a restart resumes
 * with what is still held. Records are appended in arrival order and read
 * back through a cached window, so releasing in arrival order reads the
 * file sequentially. When released records outweigh held ones the file is
 * rewritten with the held ones only (into a new file renamed over the
 * old, for a named spool: durable.c), and emptied when nothing is held.
 *
 * A line is in one of three modes, each with its own calls (spool.h):
 * held, in due order (spool_hold, spool_take_earliest); leased, taken in
 * due order but left held in the file until its lease ends (pbfire's
 * retries, whose lease ends once their outcome is written:
 * spool_lease_earliest, spool_end_lease); or kept, tracked by position
 * by the caller and taken back in any order (pbfire's overflowing host
 * backlogs: spool_keep, spool_take_kept). Without a path the spool is an
 * unlinked temporary file that is never synced. Any I/O error is fatal
 * (exit 2): what was written stays in the file.
 *
 * A caller that indexes the held lines itself (pbdelay's hold) is told of
 * each one as the spool loads and as a compaction moves it, reads one
 * back by position (spool_peek, which leaves the window alone), and may
 * release a held line before its turn (spool_drop: marked like any
 * release, its place in the heap passed over with spool_skip when it
 * comes first, and left out by a compaction).
 */
#include "spool.h"
#include "durable.h"
#include "tool.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char first_header[] = "pbdelay-spool 1\n";	/* every tool's until pbfire had its own */
#define WINDOW (1024 * 1024)
#define TAIL (2 * 1024 * 1024)	/* the file's last bytes kept in memory: this many to twice as many */
#define MARK_GAP 4096		/* marks this near are written together */
#define PENDING_MAX (256 * 1024)
#define COMPACT_MIN (4 * 1024 * 1024)

static const char *spool_name(const struct spool *s)
{
	return s->path ? s->path : "temporary spool";
}

static void write_all(const struct spool *s, int fd, const char *p, size_t n, uint64_t at)
{
	if (!durable_write(fd, p, n, (int64_t)at))
		err(EXIT_FATAL, "%s", spool_name(s));
}

/* The bytes of the spool from pos on that memory holds, their count in
 * *n: the pending writes, the tail of the file as written, or the
 * window; NULL when it holds none. */
static const char *in_memory(const struct spool *s, uint64_t pos, size_t *n)
{
	if (pos >= s->written && pos - s->written < s->pending.len) {
		*n = s->pending.len - (pos - s->written);
		return s->pending.data + (pos - s->written);
	}
	if (pos >= s->tail_pos && pos - s->tail_pos < s->tail.len) {
		*n = s->tail.len - (pos - s->tail_pos);
		return s->tail.data + (pos - s->tail_pos);
	}
	if (pos >= s->window_pos && pos - s->window_pos < s->window_len) {
		*n = s->window_len - (pos - s->window_pos);
		return s->window + (pos - s->window_pos);
	}
	return NULL;
}

/* Fills the window with the file from pos on: all of it, unless the
 * file ends first (a short read alone never passes for the end). */
static void read_window(struct spool *s, uint64_t pos)
{
	size_t len = 0;
	while (len < s->window_cap) {
		ssize_t r = pread(s->fd, s->window + len, s->window_cap - len, (off_t)(pos + len));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err(EXIT_FATAL, "%s", spool_name(s));
		if (r == 0)
			break;
		len += (size_t)r;
	}
	s->window_pos = pos;
	s->window_len = len;
}

/* Reads the record at pos from memory or else through the window;
 * returns it, newline included, with its length in *n, or NULL if the
 * file ends first. A record longer than the window (held by a run with a
 * larger --max-line) grows the window until it fits. */
static const char *record_at(struct spool *s, uint64_t pos, size_t *n)
{
	size_t have;
	const char *p = in_memory(s, pos, &have), *nl = p ? memchr(p, '\n', have) : NULL;
	while (!nl) {	/* not in the window, or cut by its end: read from pos */
		read_window(s, pos);
		p = s->window;
		nl = memchr(p, '\n', s->window_len);
		if (nl || s->window_len < s->window_cap)
			break;
		s->window_cap *= 2;
		s->window = xreallocarray(s->window, s->window_cap, 1);
	}
	if (!nl)
		return NULL;
	*n = (size_t)(nl - p) + 1;
	return p;
}

/* Parses "+DUE " or "-DUE " at the start of a record; returns the length
 * of that prefix, or 0 if the record is malformed. DUE has 19 digits at
 * most, so it cannot wrap before the range check. */
static size_t record_prefix(const char *p, size_t n, int64_t *due)
{
	size_t i = 1;
	uint64_t v = 0;
	if (n < 4 || (p[0] != '+' && p[0] != '-'))
		return 0;
	while (i < n && i < 20 && p[i] >= '0' && p[i] <= '9')
		v = v * 10 + (uint64_t)(p[i++] - '0');
	if (i == 1 || i >= n - 1 || p[i] != ' ' || v > INT64_MAX)
		return 0;
	*due = (int64_t)v;
	return i + 1;
}

/* Tells the caller of the held record rec[0,n) at pos, due then. */
static void tell_held(const struct spool *s, uint64_t pos, int64_t due, const char *rec, size_t n)
{
	int64_t unused;
	size_t prefix = record_prefix(rec, n, &unused);
	if (s->on_held)
		s->on_held(s->on_held_arg, pos, due, rec + prefix, n - prefix - 1);
}

/* Forgets what memory holds of the file, which has just been truncated
 * or replaced. */
static void forget_window(struct spool *s)
{
	s->window_pos = s->window_len = 0;
	buf_clear(&s->tail);
	s->tail_pos = s->written;
}

static void truncate_to(struct spool *s, uint64_t size)
{
	if (ftruncate(s->fd, (off_t)size) < 0)
		err(EXIT_FATAL, "%s", spool_name(s));
	s->written = size;
	forget_window(s);
}

/* Reads every record of an existing spool into the heap. */
static void load(struct spool *s, uint64_t size)
{
	uint64_t pos = s->start;
	while (pos < size) {
		size_t n;
		int64_t due;
		const char *rec = record_at(s, pos, &n);
		if (!rec) {
			warnx("%s: offset %" PRIu64 ": dropping an incomplete last record", s->path, pos);
			truncate_to(s, pos);
			break;
		}
		if (!record_prefix(rec, n, &due))
			errx(EXIT_FATAL, "%s: offset %" PRIu64 ": not a spool record", s->path, pos);
		if (rec[0] == '+') {
			heap_push(&s->held, (struct timer){ due, pos });
			s->live += n;
			tell_held(s, pos, due, rec, n);
		} else {
			s->dead += n;
		}
		pos += n;
	}
}

/* Opens and locks the named spool (durable.c). */
static int open_locked(const struct spool *s)
{
	int fd = durable_open_locked(s->path, O_RDWR);
	if (fd < 0 && errno == EWOULDBLOCK)
		err(EXIT_FATAL, "%s: in use by another %s", s->path, program_invocation_short_name);
	if (fd < 0)
		err(EXIT_FATAL, "%s", s->path);
	return fd;
}

static int open_temporary(void)
{
	struct buf name = { 0 };
	buf_addf(&name, "%s/pbdelay.XXXXXX", tool_tmpdir());
	int fd = mkostemp(name.data, O_CLOEXEC);
	if (fd < 0)
		err(EXIT_FATAL, "%s", name.data);
	unlink(name.data);
	buf_free(&name);
	return fd;
}

/* The length of the header of the file, or 0 when it is neither the
 * writer's nor the first one. */
static size_t header_of(const struct spool *s)
{
	char head[sizeof s->header];
	ssize_t n = pread(s->fd, head, sizeof head, 0);
	if (n < 0)
		err(EXIT_FATAL, "%s", spool_name(s));
	const char *const known[] = { s->header, first_header };
	for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
		size_t len = strlen(known[i]);
		if ((size_t)n >= len && !memcmp(head, known[i], len))
			return len;
	}
	return 0;
}

/* Opens the spool at path (NULL: a temporary one) of writer, the tool
 * whose it is, and loads what it holds. max_line bounds the records it
 * will have to read back. */
void spool_open(struct spool *s, const char *path, const char *writer, size_t max_line)
{
	spool_open_with(s, path, writer, max_line, NULL, NULL);
}

/* Opens the spool as spool_open() does, telling on_held of each held
 * record as it loads and whenever a compaction moves them. */
void spool_open_with(struct spool *s, const char *path, const char *writer, size_t max_line,
		     spool_held_fn *on_held, void *arg)
{
	struct stat st;
	memset(s, 0, sizeof *s);
	s->on_held = on_held;
	s->on_held_arg = arg;
	s->path = path;
	s->header_len = (size_t)snprintf(s->header, sizeof s->header, "%s-spool 1\n", writer);
	s->window_cap = max_line + 64 > WINDOW ? max_line + 64 : WINDOW;
	s->window = xmalloc(s->window_cap);
	s->fd = path ? open_locked(s) : open_temporary();
	if (fstat(s->fd, &st) < 0)
		err(EXIT_FATAL, "%s", spool_name(s));
	if (st.st_size == 0) {
		write_all(s, s->fd, s->header, s->header_len, 0);
		s->written = s->start = s->tail_pos = s->header_len;
		s->unsynced = true;
		return;
	}
	if (!(s->start = header_of(s)))
		errx(EXIT_FATAL, "%s: not a %s spool", spool_name(s), writer);
	s->written = s->tail_pos = (uint64_t)st.st_size;
	load(s, s->written);
}

/* Appends the record of line, due then, to the pending writes; returns
 * its position. */
/* The position the next record added takes: the positions of records
 * added later are greater. */
uint64_t spool_end(const struct spool *s)
{
	return s->written + s->pending.len;
}

static uint64_t add_record(struct spool *s, int64_t due, const char *line, size_t len)
{
	uint64_t pos = spool_end(s);
	size_t before = s->pending.len;
	buf_addf(&s->pending, "+%" PRId64 " ", due);
	buf_add(&s->pending, line, len);
	buf_addc(&s->pending, '\n');
	s->live += s->pending.len - before;
	if (s->pending.len >= PENDING_MAX)
		spool_write(s);
	return pos;
}

/* Holds line until due; returns its position. */
uint64_t spool_hold(struct spool *s, int64_t due, const char *line, size_t len)
{
	uint64_t pos = add_record(s, due, line, len);
	heap_push(&s->held, (struct timer){ due, pos });
	return pos;
}

/* Keeps what was just written at the end of the file in the tail, the
 * last TAIL to 2 * TAIL bytes of it: lines are mostly taken back, and
 * superseded, a little while after they were added. */
static void keep_tail(struct spool *s, const char *p, size_t n)
{
	buf_add(&s->tail, p, n);
	if (s->tail.len > 2 * TAIL) {
		size_t drop = s->tail.len - TAIL;
		memmove(s->tail.data, s->tail.data + drop, TAIL);
		s->tail.len = TAIL;
		s->tail_pos += drop;
	}
}

/* Writes the records added so far to the file (not yet to disk). */
void spool_write(struct spool *s)
{
	if (!s->pending.len)
		return;
	write_all(s, s->fd, s->pending.data, s->pending.len, s->written);
	keep_tail(s, s->pending.data, s->pending.len);
	s->written += s->pending.len;
	buf_clear(&s->pending);
	s->unsynced = true;
}

/* Writes and, for a named spool, syncs to disk what was added or marked. */
void spool_sync(struct spool *s)
{
	spool_write(s);
	if (s->path && s->unsynced && fdatasync(s->fd) < 0)
		err(EXIT_FATAL, "%s", s->path);
	s->unsynced = false;
}

/* Whether a line is held, and when the earliest is due. */
bool spool_next(const struct spool *s, int64_t *due)
{
	if (!s->held.n)
		return false;
	*due = s->held.at[0].due;
	return true;
}

/* The position of the held line spool_next() tells of. */
uint64_t spool_first(const struct spool *s)
{
	return s->held.at[0].id;
}

/* Reads the record at pos, newline included, with its length in *n:
 * from memory if it is there whole (in_memory), or else on its own into
 * s->peeked, the window left as it was. */
static const char *peek_record(struct spool *s, uint64_t pos, size_t *n)
{
	size_t cached;
	const char *p = in_memory(s, pos, &cached), *nl = p ? memchr(p, '\n', cached) : NULL;
	for (size_t have = 0; !nl;) {
		buf_reserve(&s->peeked, have ? 2 * have : 4096);
		ssize_t r = pread(s->fd, s->peeked.data + have, s->peeked.cap - 1 - have, (off_t)(pos + have));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			errx(EXIT_FATAL, "%s: offset %" PRIu64 ": record changed under %s", spool_name(s), pos,
			     program_invocation_short_name);
		nl = memchr(s->peeked.data + have, '\n', (size_t)r);
		have += (size_t)r;
		p = s->peeked.data;
	}
	*n = (size_t)(nl - p) + 1;
	return p;
}

/* The line held at pos and its due time, read without taking it; valid
 * until the next call. */
const char *spool_peek(struct spool *s, uint64_t pos, int64_t *due, size_t *len)
{
	size_t n, prefix;
	const char *rec = peek_record(s, pos, &n);
	if (!(prefix = record_prefix(rec, n, due)))
		errx(EXIT_FATAL, "%s: offset %" PRIu64 ": record changed under %s", spool_name(s), pos,
		     program_invocation_short_name);
	*len = n - prefix - 1;
	return rec + prefix;
}

/* Notes pos for marking as released, in a named spool. */
static void note_released(struct spool *s, uint64_t pos)
{
	if (!s->path)
		return;
	if (s->nreleased == s->released_cap) {
		s->released_cap = s->released_cap ? 2 * s->released_cap : 256;
		s->released = xreallocarray(s->released, s->released_cap, sizeof *s->released);
	}
	s->released[s->nreleased++] = pos;
}

/* Reads the record at pos out of the spool and returns its line, valid
 * until the next call. */
static const char *take_record(struct spool *s, uint64_t pos, size_t *len)
{
	size_t n, prefix;
	int64_t due;
	const char *rec = record_at(s, pos, &n);
	if (!rec || !(prefix = record_prefix(rec, n, &due)))
		errx(EXIT_FATAL, "%s: offset %" PRIu64 ": record changed under %s", spool_name(s), pos,
		     program_invocation_short_name);
	s->live -= n;
	s->dead += n;
	*len = n - prefix - 1;
	return rec + prefix;
}

/* Removes the earliest held line and returns its text, valid until the
 * next call; spool_mark_released() must follow once it is written out. */
const char *spool_take_earliest(struct spool *s, size_t *len)
{
	uint64_t pos = heap_pop(&s->held).id;
	note_released(s, pos);
	return take_record(s, pos, len);
}

/* Removes the earliest held line and returns its text, valid until the
 * next call, and its position in *pos; the record stays held in the file
 * until spool_end_lease(pos), so a crash before that keeps the line. */
const char *spool_lease_earliest(struct spool *s, uint64_t *pos, size_t *len)
{
	*pos = heap_pop(&s->held).id;
	s->leased++;
	return take_record(s, *pos, len);
}

/* Ends the lease of a line spool_lease_earliest() returned: it is marked
 * released at the next spool_mark_released(). */
void spool_end_lease(struct spool *s, uint64_t pos)
{
	s->leased--;
	note_released(s, pos);
}

/* Releases the held line at pos before its turn, without reading it
 * out: it is marked at the next spool_mark_released(), and its place in
 * the heap must be passed over with spool_skip() when it comes first. */
void spool_drop(struct spool *s, uint64_t pos)
{
	size_t n;
	peek_record(s, pos, &n);
	s->live -= n;
	s->dead += n;
	note_released(s, pos);
}

/* Passes over the first place in the heap, that of a dropped line, or of
 * a held one set aside for spool_put_back(); returns it. */
struct timer spool_skip(struct spool *s)
{
	return heap_pop(&s->held);
}

/* Puts back a place that spool_skip() set aside, its line still held. */
void spool_put_back(struct spool *s, struct timer place)
{
	heap_push(&s->held, place);
}

/* Keeps a line that the caller tracks itself, outside the heap, and
 * returns its position for spool_take_kept(). */
uint64_t spool_keep(struct spool *s, const char *line, size_t len)
{
	s->kept++;
	return add_record(s, 0, line, len);
}

/* Takes the line spool_keep() put at pos, as spool_take_earliest() does. */
const char *spool_take_kept(struct spool *s, uint64_t pos, size_t *len)
{
	s->kept--;
	note_released(s, pos);
	return take_record(s, pos, len);
}

/* Rewrites the file with the held records only, renumbering positions;
 * the places of dropped ones, marked released by now, are left out. */
static void compact(struct spool *s)
{
	struct durable_new fresh;
	struct buf out = { 0 };
	if (s->path && !durable_new_open(&fresh, s->path, 0, 0600))
		err(EXIT_FATAL, "%s: compacting: %s", s->path, fresh.failed);
	int fd = s->path ? fresh.fd : open_temporary();
	uint64_t pos = s->header_len;
	buf_add(&out, s->header, s->header_len);
	heap_sort_by_id(&s->held);
	size_t kept = 0;
	for (size_t i = 0; i < s->held.n; i++) {
		size_t n;
		const char *rec = record_at(s, s->held.at[i].id, &n);
		if (rec[0] == '-')
			continue;
		s->held.at[kept] = (struct timer){ s->held.at[i].due, pos };
		tell_held(s, pos, s->held.at[kept++].due, rec, n);
		buf_add(&out, rec, n);
		pos += n;
		if (out.len >= PENDING_MAX) {
			write_all(s, fd, out.data, out.len, pos - out.len);
			buf_clear(&out);
		}
	}
	write_all(s, fd, out.data, out.len, pos - out.len);
	s->held.n = kept;
	heap_rebuild(&s->held);
	if (s->path && !durable_new_commit(&fresh))
		err(EXIT_FATAL, "%s: compacting: %s", s->path, fresh.failed);
	close(s->fd);
	s->fd = fd;
	s->written = pos;
	s->start = s->header_len;
	s->live = pos - s->start;
	s->dead = 0;
	forget_window(s);
	buf_free(&out);
}

/* Memory's copy of the file's bytes [pos, pos + n), or NULL when it holds
 * none whole. The tail and the window are kept the same as the file: a
 * mark is made in them too. */
static const char *file_copy(const struct spool *s, uint64_t pos, size_t n)
{
	if (pos >= s->tail_pos && pos - s->tail_pos + n <= s->tail.len)
		return s->tail.data + (pos - s->tail_pos);
	if (pos >= s->window_pos && pos - s->window_pos + n <= s->window_len)
		return s->window + (pos - s->window_pos);
	return NULL;
}

/* Marks the record at pos released in memory's copies of it. */
static void mark_in_memory(struct spool *s, uint64_t pos)
{
	if (pos >= s->tail_pos && pos - s->tail_pos < s->tail.len)
		s->tail.data[pos - s->tail_pos] = '-';
	if (pos >= s->window_pos && pos - s->window_pos < s->window_len)
		s->window[pos - s->window_pos] = '-';
}

static int by_position(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Marks the lines taken since the last call as released, once they are
 * out; the records added meanwhile are written first, so that a
 * superseded line's copy is in the file before the line is marked. Marks
 * less than MARK_GAP apart go to the file in one write of the stretch
 * they lie in, taken from memory's copy of it, marks made: one write for
 * a run of lines held together, not one a line. */
void spool_mark_released(struct spool *s)
{
	if (!s->nreleased)
		return;
	spool_write(s);
	qsort(s->released, s->nreleased, sizeof *s->released, by_position);
	for (size_t i = 0, j; i < s->nreleased; i = j) {
		uint64_t from = s->released[i];
		mark_in_memory(s, from);
		for (j = i + 1; j < s->nreleased && s->released[j] - s->released[j - 1] <= MARK_GAP &&
				file_copy(s, from, s->released[j] - from + 1);
		     j++)
			mark_in_memory(s, s->released[j]);
		size_t n = s->released[j - 1] + 1 - from;
		write_all(s, s->fd, j - i > 1 ? file_copy(s, from, n) : "-", n, from);
	}
	s->unsynced = true;
	s->nreleased = 0;
}

/* Whether released records outweigh held ones enough to rewrite the
 * file with the held ones only. */
bool spool_worth_compacting(const struct spool *s)
{
	return s->dead > COMPACT_MIN && s->dead > s->live;
}

/* Reclaims the space of released lines, after spool_mark_released():
 * empties the file when nothing is held, and compacts it when released
 * records outweigh held ones; neither while a line is kept or leased by
 * its caller (compaction renumbers only the heap's positions). */
void spool_reclaim(struct spool *s)
{
	if (s->kept || s->leased)
		return;
	if (!s->held.n && !s->pending.len && s->written > s->start) {
		truncate_to(s, s->start);
		s->dead = 0;
	} else if (spool_worth_compacting(s)) {
		spool_write(s);
		compact(s);
	}
}

void spool_close(struct spool *s)
{
	spool_sync(s);
	close(s->fd);
	heap_free(&s->held);
	buf_free(&s->pending);
	free(s->window);
	buf_free(&s->tail);
	free(s->released);
	buf_free(&s->peeked);
}
