/* Fuzzes the line reader every tool reads its input with (common/lines.c).
 * The input is a byte of flags, a byte of --max-line, a count k and k
 * bytes of chunk sizes, then the text. The text reaches the reader
 * through a pipe, written a chunk at a time (the sizes in turn, again
 * from the first when they run out) whenever the pipe is empty, so reads
 * come short and lines are cut anywhere; or, with flag 1, all at once
 * through a memfd. Flag 2 makes the reader return LINES_AGAIN rather
 * than wait; flag 4 keeps overlong lines, as --reject does; flags 8 and
 * 16 take the --max-line and the chunk sizes in units of 256 bytes;
 * flag 32 stops the input, as pbdelay does on a signal, at the call of
 * before_read the first chunk size numbers (from 0); flag 64 gives the
 * reader a needle (pbstat --find): a byte n after the chunk sizes, then
 * n % 16 + 1 bytes of needle, without a newline.
 * Beyond no crash, against the text split on '\n' (the last line with or
 * without one): every line comes back once, in order, with its number,
 * its final CR stripped and exactly its bytes, NULs and inner CRs
 * included; an empty one is skipped but counted; one longer than
 * --max-line comes back as LINES_TOO_LONG, and what lines_discard()
 * keeps of it is the whole line, as any other line comes back, and a
 * newline; then the input reads as ended, and again. Once stopped, the
 * input reads as ended at once: the part of a line read so far is not
 * a line. With a needle, the lines that hold it (their bytes as read,
 * CR included) come back so, with their numbers, and of the others only
 * an overlong one may, as LINES_TOO_LONG. */
#include <err.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "lines.h"

enum { MEMFD = 1, NOWAIT = 2, KEEP = 4, MAX_BY_256 = 8, CHUNKS_BY_256 = 16, STOP = 32, NEEDLE = 64 };

/* The writing end of the pipe and what is still to be written to it. */
struct feed {
	int fd;			/* -1 once closed */
	const uint8_t *text, *sizes;
	size_t n, at, k, next;
	size_t unit;
	struct lines *r;
	size_t stop_at;		/* stop the input at this call of before_read; 0: never */
	bool stopped;
};

/* Writes the next chunk, or closes the pipe after the last one. */
static void feed(struct feed *f)
{
	if (f->fd < 0)
		return;
	if (f->at == f->n) {
		close(f->fd);
		f->fd = -1;
		return;
	}
	size_t size = f->k ? (size_t)(f->sizes[f->next++ % f->k] + 1) * f->unit : 65536;
	if (size > f->n - f->at)
		size = f->n - f->at;
	ssize_t w = write(f->fd, f->text + f->at, size);	/* non-blocking: what fits */
	CHECK(w > 0);
	f->at += (size_t)w;
}

/* Feeds the pipe when it is empty, or stops the input there, as pbdelay
 * does on a signal. */
static void before_read(void *arg, bool idle)
{
	struct feed *f = arg;
	if (f->stop_at && !--f->stop_at) {
		lines_stop(f->r);
		f->stopped = true;
	} else if (idle) {
		feed(f);
	}
}

/* The descriptor the reader reads the text from. */
static int open_input(struct feed *f, bool memfd)
{
	int fds[2];
	if (memfd) {
		int fd = memfd_create("lines", MFD_CLOEXEC);
		if (fd < 0)
			err(1, "memfd_create");
		CHECK(write(fd, f->text, f->n) == (ssize_t)f->n && lseek(fd, 0, SEEK_SET) == 0);
		f->fd = -1;
		return fd;
	}
	if (pipe2(fds, O_CLOEXEC) < 0 || fcntl(fds[1], F_SETFL, O_NONBLOCK) < 0)
		err(1, "pipe");
	f->fd = fds[1];
	return fds[0];
}

/* The next status, feeding the pipe whenever the reader would wait. */
static enum lines_status next_status(struct lines *r, struct feed *f)
{
	enum lines_status s;
	while ((s = lines_next(r)) == LINES_AGAIN)
		feed(f);
	return s;
}

/* Discards the overlong line just read; what is kept must be want[0,n)
 * and a newline, unless the input was stopped meanwhile. */
static void check_kept(struct lines *r, struct feed *fd, const uint8_t *want, size_t n, bool keep)
{
	char *kept = NULL;
	size_t len = 0;
	FILE *f = keep ? open_memstream(&kept, &len) : NULL;
	if (keep && !f)
		err(1, "open_memstream");
	CHECK(lines_discard(r, f));
	if (!keep)
		return;
	CHECK(fclose(f) == 0);
	CHECK(fd->stopped || (len == n + 1 && memcmp(kept, want, n) == 0 && kept[n] == '\n'));
	free(kept);
}

/* Line number lineno of the text: where it starts, its length without
 * the newline and whether it holds the needle (every line does without
 * one). */
struct text_line {
	const uint8_t *p;
	size_t len;
	bool holds;
};

static struct text_line *split(const struct feed *f, const char *needle, size_t m, size_t *n)
{
	struct text_line *v = NULL;
	*n = 0;
	for (const uint8_t *p = f->text, *end = f->text + f->n; p < end;) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		v = realloc(v, (*n + 1) * sizeof *v);
		CHECK(v != NULL);
		v[(*n)++] = (struct text_line){ p, len, !m || memmem(p, len, needle, m) };
		p += len + (nl != NULL);
	}
	return v;
}

/* Whether the reader may step over line l: an empty one, or one without
 * the needle (an overlong one may come back all the same). */
static bool may_skip(const struct text_line *l)
{
	return !l->holds || !(l->len - (l->len > 0 && l->p[l->len - 1] == '\r'));
}

static void check_lines(struct lines *r, struct feed *f, size_t max, bool keep, const char *needle, size_t m)
{
	size_t nlines, done = 0;
	struct text_line *v = split(f, needle, m, &nlines);
	for (;;) {
		enum lines_status s = next_status(r, f);
		if (f->stopped) {
			CHECK(s == LINES_EOF);	/* not the part of a line read so far */
			break;
		}
		if (s == LINES_EOF) {
			for (; done < nlines; done++)
				CHECK(may_skip(&v[done]));
			break;
		}
		unsigned long lineno = lines_lineno(r);
		CHECK(lineno > done && lineno <= nlines);
		for (; done + 1 < lineno; done++)
			CHECK(may_skip(&v[done]));
		const struct text_line *l = &v[done++];
		size_t len = l->len - (l->len > 0 && l->p[l->len - 1] == '\r');
		CHECK(len > 0 && (l->holds || len > max));
		if (len > max) {
			CHECK(s == LINES_TOO_LONG);
			check_kept(r, f, l->p, len, keep);
			continue;
		}
		size_t got;
		const char *text = lines_current(r, &got);
		CHECK(s == LINES_OK && got == len && memcmp(text, l->p, len) == 0);
	}
	CHECK(next_status(r, f) == LINES_EOF);
	free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3 || size - 3 < data[2])
		return 0;
	unsigned flags = data[0];
	size_t max = (size_t)(data[1] + 2) * (flags & MAX_BY_256 ? 256 : 1);
	struct feed f = { .sizes = data + 3, .k = data[2], .unit = flags & CHUNKS_BY_256 ? 256 : 1 };
	f.text = data + 3 + f.k;
	f.n = size - 3 - f.k;
	const char *needle = NULL;
	size_t m = 0;
	if (flags & NEEDLE) {
		if (!f.n || f.n - 1 < (size_t)(f.text[0] % 16 + 1))
			return 0;
		m = (size_t)(f.text[0] % 16 + 1);
		needle = (const char *)f.text + 1;
		if (memchr(needle, '\n', m))
			return 0;
		f.text += 1 + m;
		f.n -= 1 + m;
	}
	struct lines r;
	lines_init(&r, max);
	f.r = &r;
	f.stop_at = flags & STOP ? (size_t)(f.k ? f.sizes[0] : 0) + 1 : 0;
	int fd = open_input(&f, flags & MEMFD);
	lines_reset(&r, fd, "input");
	r.before_read = before_read;
	r.read_arg = &f;
	if (flags & NOWAIT)
		lines_set_nowait(&r);
	if (needle)
		lines_set_needle(&r, needle, m);
	check_lines(&r, &f, max, flags & KEEP, needle, m);
	lines_free(&r);
	close(fd);
	if (f.fd >= 0)
		close(f.fd);
	return 0;
}
