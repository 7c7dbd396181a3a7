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
 * before_read the first chunk size numbers (from 0).
 * Beyond no crash, against the text split on '\n' (the last line with or
 * without one): every line comes back once, in order, with its number,
 * its final CR stripped and exactly its bytes, NULs and inner CRs
 * included; an empty one is skipped but counted; one longer than
 * --max-line comes back as LINES_TOO_LONG, and what lines_discard()
 * keeps of it is the whole line, as any other line comes back, and a
 * newline; then the input reads as ended, and again. Once stopped, the
 * input reads as ended at once: the part of a line read so far is not
 * a line. */
#include <err.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "lines.h"

enum { MEMFD = 1, NOWAIT = 2, KEEP = 4, MAX_BY_256 = 8, CHUNKS_BY_256 = 16, STOP = 32 };

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

static void check_lines(struct lines *r, struct feed *f, size_t max, bool keep)
{
	const uint8_t *p = f->text, *end = f->text + f->n;
	unsigned long lineno = 0;
	while (p < end) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		const uint8_t *line = p;
		p += len + (nl != NULL);
		lineno++;
		len -= len > 0 && line[len - 1] == '\r';
		if (!len)
			continue;
		enum lines_status s = next_status(r, f);
		if (f->stopped) {
			CHECK(s == LINES_EOF);	/* not the part of a line read so far */
			break;
		}
		CHECK(lines_lineno(r) == lineno);
		if (len > max) {
			CHECK(s == LINES_TOO_LONG);
			check_kept(r, f, line, len, keep);
			continue;
		}
		size_t got;
		const char *text = lines_current(r, &got);
		CHECK(s == LINES_OK && got == len && memcmp(text, line, len) == 0);
	}
	CHECK(next_status(r, f) == LINES_EOF);
	CHECK(next_status(r, f) == LINES_EOF);
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
	check_lines(&r, &f, max, flags & KEEP);
	lines_free(&r);
	close(fd);
	if (f.fd >= 0)
		close(f.fd);
	return 0;
}
