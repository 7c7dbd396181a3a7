/*
 * Reading newline-delimited input in constant memory. One buffer of
 * max + 64 KiB bytes is reused for every line of every input; a line
 * longer than max is reported as LINES_TOO_LONG and lines_discard() then
 * consumes the rest of it, copying it whole to a reject file when asked
 * (as any line comes back: without its final CR) without ever holding it
 * whole. A final CR is stripped, so CRLF input works, and
 * empty lines are skipped (still counted). Before every read the reader
 * calls before_read, telling it whether the read would block, which is
 * how tools flush their output exactly when the input pauses and stay
 * fully buffered otherwise; setting stop ends the input there, before
 * the line read in part, if any. With nowait
 * set, the reader returns LINES_AGAIN instead of blocking. With a needle
 * set (pbstat --find), it returns only the lines that hold it: one
 * search over all the bytes buffered finds the next such line, and the
 * lines before it are stepped over unread, only counted, sixteen bytes
 * at a time, so that a search goes at the speed of grep -F rather than
 * of a line at a time. With ranges set (pbstat --find with an index), it
 * reads only those parts of a file, each as a file of its own whose
 * lines are numbered on from the range's; lines_offset() tells where in
 * the file a line starts.
 */
#include "lines.h"
#include "buf.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_BLOCK (64 * 1024)

void lines_init(struct lines *r, size_t max)
{
	memset(r, 0, sizeof *r);
	r->max = max;
	r->cap = max + READ_BLOCK;
	r->buf = xmalloc(r->cap);
	r->fd = -1;
}

void lines_reset(struct lines *r, int fd, const char *name)
{
	r->fd = fd;
	r->name = name;
	r->lineno = 0;
	r->start = r->scan = r->end = 0;
	r->eof = r->discarding = false;
	r->pos = 0;
	r->ranged = false;
	r->nranges = 0;
}

/* Whether a read of fd would wait. A signal that interrupts the poll
 * (the tools' handlers do not restart calls) asks again: taken as "no",
 * it sent the reader into a read that waits, unflushed, or with nowait
 * set waits at all. */
static bool would_block(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;
	while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR)
		;
	return n == 0;
}

/* Reads more bytes after r->end; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t fill(struct lines *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->scan -= r->start;
		r->start = 0;
	}
	if (r->before_read)
		r->before_read(r->read_arg, would_block(r->fd));
	if (r->stop)
		return 0;
	size_t room = r->cap - r->end;
	if (r->ranged && room > r->left)
		room = (size_t)r->left;
	if (room == 0)
		return 0;
	for (;;) {
		ssize_t n = r->ranged ? pread(r->fd, r->buf + r->end, room, (off_t)r->pos)
				      : read(r->fd, r->buf + r->end, room);
		if (n >= 0 || errno != EINTR) {
			if (n > 0) {
				r->end += (size_t)n;
				r->pos += (uint64_t)n;
				r->left -= r->ranged ? (uint64_t)n : 0;
			}
			return n;
		}
	}
}

/* Starts reading the next range, if there is one left. */
static bool next_range(struct lines *r)
{
	if (!r->nranges)
		return false;
	r->pos = r->range->offset;
	r->left = r->range->len;
	r->lineno = r->range->lineno;
	r->range++;
	r->nranges--;
	r->start = r->scan = r->end = 0;
	r->eof = false;
	return true;
}

/* Makes buf[start, start+len) the current line and consumes `used` bytes;
 * a whole line loses its final CR, the start of an overlong one keeps it. */
static enum lines_status take(struct lines *r, size_t len, size_t used, bool whole)
{
	r->line = r->buf + r->start;
	r->len = len;
	r->start += used;
	r->scan = r->start;
	r->lineno++;
	if (whole && len > 0 && r->line[len - 1] == '\r')
		r->len = --len;
	return len > r->max ? LINES_TOO_LONG : LINES_OK;
}

/* Sixteen bytes, compared all at once (GCC's and Clang's vector
 * extension: SSE2 on x86-64, NEON on arm64). */
typedef unsigned char bytes16 __attribute__((vector_size(16)));

static bytes16 bytes16_of(const char *p)
{
	bytes16 v;
	memcpy(&v, p, sizeof v);
	return v;
}

static bytes16 bytes16_all(char c)
{
	bytes16 v;
	memset(&v, c, sizeof v);
	return v;
}

static bool bytes16_any(bytes16 v)
{
	uint64_t half[2];
	memcpy(half, &v, sizeof half);
	return half[0] | half[1];
}

/* The first place of needle[0,m) in s[0,n), or NULL: the places where
 * the needle's first and last bytes both are, sixteen at a time, each
 * then compared whole (W. Mula's "SIMD-friendly algorithms for substring
 * searching"); three times glibc's memmem on a results file. */
static const char *find_needle(const char *s, size_t n, const char *needle, size_t m)
{
	bytes16 first = bytes16_all(needle[0]), last = bytes16_all(needle[m - 1]);
	size_t i = 0;
	for (; i + m - 1 + sizeof first <= n; i += sizeof first) {
		bytes16 both = (bytes16)(bytes16_of(s + i) == first) & (bytes16)(bytes16_of(s + i + m - 1) == last);
		if (!bytes16_any(both))
			continue;
		for (size_t k = 0; k < sizeof both; k++)
			if (both[k] && memcmp(s + i + k, needle, m) == 0)
				return s + i + k;
	}
	return i < n ? memmem(s + i, n - i, needle, m) : NULL;
}

/* The newlines in p[0,n), sixteen bytes at a time: each lane counts up
 * to 255 of them before the lanes are added up. */
static unsigned long count_newlines(const char *p, size_t n)
{
	const bytes16 newline = bytes16_all('\n');
	unsigned long count = 0;
	size_t i = 0;
	while (n - i >= sizeof newline) {
		bytes16 lanes = { 0 };
		for (size_t run = 0; run < 255 && n - i >= sizeof newline; run++, i += sizeof newline)
			lanes -= (bytes16)(bytes16_of(p + i) == newline);
		for (size_t k = 0; k < sizeof lanes; k++)
			count += lanes[k];
	}
	for (; i < n; i++)
		count += p[i] == '\n';
	return count;
}

/* With a needle: moves start to the line of the buffered bytes that
 * holds the needle first, or else past every whole line (at the end of
 * the input, past the rest too), counting the lines stepped over. */
static void skip_to_needle(struct lines *r)
{
	char *p = r->buf + r->start, *end = r->buf + r->end;
	const char *hit = find_needle(p, (size_t)(end - p), r->needle, r->needle_len);
	const char *stop = hit || !r->eof ? memrchr(p, '\n', (size_t)((hit ? hit : end) - p)) : end - 1;
	stop = stop ? stop + 1 : p;
	r->lineno += count_newlines(p, (size_t)(stop - p));
	r->start = (size_t)(stop - r->buf);
	if (r->scan < r->start || hit)
		r->scan = r->start;
}

enum lines_status lines_next(struct lines *r)
{
	if (r->stop)
		return LINES_EOF;
	for (;;) {
		if (r->needle && r->start < r->end)
			skip_to_needle(r);
		char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
		enum lines_status s;
		if (nl) {
			size_t len = (size_t)(nl - (r->buf + r->start));
			s = take(r, len, len + 1, true);
		} else if (r->end - r->start > r->max + 1) {
			s = take(r, r->end - r->start, r->end - r->start, false);
			r->discarding = true;
			return LINES_TOO_LONG;
		} else if (r->eof) {
			if (r->start == r->end && !r->stop && next_range(r))
				continue;
			if (r->start == r->end || r->stop)	/* stopped: a line read in part is none */
				return LINES_EOF;
			s = take(r, r->end - r->start, r->end - r->start, true);
		} else {
			r->scan = r->end;	/* no newline before end */
			if (r->nowait && would_block(r->fd))
				return LINES_AGAIN;
			ssize_t n = fill(r);
			if (n < 0)
				return LINES_ERROR;
			r->eof = n == 0;
			continue;
		}
		if (s != LINES_OK || r->len > 0)
			return s;
	}
}

/* Writes part of an overlong line to keep, holding back a final CR until
 * what follows shows whether it ends the line (*cr: one is held back). */
static void keep_part(FILE *keep, const char *p, size_t n, bool *cr)
{
	if (!keep || !n)
		return;
	if (*cr)
		fputc('\r', keep);
	*cr = p[n - 1] == '\r';
	fwrite(p, 1, n - *cr, keep);
}

/* Consumes the current overlong line, writing it as any line is returned
 * (without its final CR) and a newline to keep when keep is not NULL.
 * Returns false on a read error. */
bool lines_discard(struct lines *r, FILE *keep)
{
	bool cr = false;
	if (r->discarding)
		keep_part(keep, r->line, r->len, &cr);	/* its start */
	else if (keep)
		fwrite(r->line, 1, r->len, keep);	/* whole */
	while (r->discarding) {
		if (r->start == r->end) {
			r->start = r->scan = r->end = 0;
			ssize_t n = fill(r);
			if (n < 0)
				return false;
			if (n == 0) {
				r->eof = true;
				break;
			}
		}
		char *p = r->buf + r->start;
		char *nl = memchr(p, '\n', r->end - r->start);
		size_t n = nl ? (size_t)(nl - p) : r->end - r->start;
		keep_part(keep, p, n, &cr);
		r->start += n + (nl != NULL);
		r->scan = r->start;
		r->discarding = nl == NULL;
	}
	if (keep)
		fputc('\n', keep);
	return true;
}

void lines_free(struct lines *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* The descriptor read, for a tool's loop to wait on; -1 when there is none. */
int lines_fd(const struct lines *r)
{
	return r->fd;
}

/* The line lines_next returned last, and its length in *len. */
char *lines_current(const struct lines *r, size_t *len)
{
	*len = r->len;
	return r->line;
}

/* The number of the line lines_next returned last, counted from 1. */
unsigned long lines_lineno(const struct lines *r)
{
	return r->lineno;
}

/* The name of the input being read, as diagnostics give it. */
const char *lines_name(const struct lines *r)
{
	return r->name;
}

/* Ends the input here: from now on it reads as ended. */
void lines_stop(struct lines *r)
{
	r->stop = true;
}

/* From now on lines_next returns only the lines that hold needle[0,n)
 * (which must stay valid, be non-empty and hold no newline), and those
 * too long to look into; line numbers still count every line. */
void lines_set_needle(struct lines *r, const char *needle, size_t n)
{
	r->needle = needle;
	r->needle_len = n;
}

/* From now on reads only range[0,n) of the file (which must stay valid),
 * in turn, each as a file of its own: a line does not run from one into
 * the next, and each range's lines are numbered on from its lineno. The
 * file must be one pread(2) reads. */
void lines_set_ranges(struct lines *r, const struct lines_range *range, size_t n)
{
	r->range = range;
	r->nranges = n;
	r->ranged = true;
	r->left = 0;
	r->start = r->scan = r->end = 0;
	r->eof = true;
}

/* The file offset where the line lines_next returned last starts, when
 * the file was read from its start or in ranges. */
uint64_t lines_offset(const struct lines *r)
{
	return r->pos - r->end + (uint64_t)(r->line - r->buf);
}

/* From now on lines_next returns LINES_AGAIN rather than block. */
void lines_set_nowait(struct lines *r)
{
	r->nowait = true;
}
