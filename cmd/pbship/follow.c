/*
 * Following a file that a writer appends whole lines to: the lines past
 * a byte offset, handed over once complete; a file truncated under it is
 * read again from its start; and a file renamed over its name (pbfire
 * compacting its ledger) taken over once the old one has been read to
 * its end, with only the lines the old one lacked handed over, each
 * once, in byte order (what pbkafka's shell did with sort -u and comm).
 */
#include "follow.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool.h"

#define CHUNK 65536

struct span {
	const char *p;
	size_t n;
};

void follow_init(struct follow *f, const char *path, int fd, off_t from)
{
	*f = (struct follow){ .path = path, .fd = fd, .from = from };
}

void follow_free(struct follow *f)
{
	free(f->buf);
	f->buf = NULL;
	f->cap = 0;
}

static void *grow(void *p, size_t size)
{
	void *q = realloc(p, size);
	if (!q)
		err(EXIT_FATAL, "realloc");
	return q;
}

static off_t size_of(int fd, const char *path)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		err(EXIT_FATAL, "%s", path);
	return st.st_size;
}

/* Hands each line ended by a newline in p[0,n), read at byte at of the
 * file, to each; returns the bytes they take, *count increased by how
 * many. */
static size_t each_line(const char *p, size_t n, off_t at, follow_line_fn *each, void *arg, size_t *count)
{
	size_t done = 0;
	const char *nl;
	while (done < n && (nl = memchr(p + done, '\n', n - done))) {
		size_t end = (size_t)(nl - p) + 1;
		each(arg, p + done, end - 1 - done, at + (off_t)end);
		done = end;
		++*count;
	}
	return done;
}

/* Reads up to f->cap bytes of the file at at into f->buf. */
static size_t read_at(struct follow *f, off_t at)
{
	ssize_t n = pread(f->fd, f->buf, f->cap, at);
	if (n < 0)
		err(EXIT_FATAL, "%s", f->path);
	return (size_t)n;
}

size_t follow_lines(struct follow *f, follow_line_fn *each, void *arg)
{
	size_t count = 0;
	off_t size = size_of(f->fd, f->path);
	if (size < f->from) {
		f->from = 0;
		f->restarts++;
	}
	if (!f->buf)
		f->buf = grow(NULL, f->cap = CHUNK);
	while (f->from < size) {
		size_t n = read_at(f, f->from);
		size_t used = each_line(f->buf, n, f->from, each, arg, &count);
		if (used == 0 && n < f->cap)
			break;		/* a line not yet complete */
		if (used == 0)
			f->buf = grow(f->buf, f->cap *= 2);	/* a line longer than the buffer */
		f->from += (off_t)used;
	}
	return count;
}

static int span_cmp(const struct span *a, const struct span *b)
{
	int c = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);
	return c ? c : (a->n > b->n) - (a->n < b->n);
}

static int by_bytes(const void *a, const void *b)
{
	return span_cmp(a, b);
}

/* The complete lines of the file open on fd, in *text (freed by the
 * caller), as spans sorted by their bytes; *n how many. */
static struct span *sorted_lines(int fd, const char *path, char **text, size_t *n)
{
	size_t size = (size_t)size_of(fd, path), got = 0;
	*text = grow(NULL, size + 1);
	while (got < size) {
		ssize_t r = pread(fd, *text + got, size - got, (off_t)got);
		if (r < 0)
			err(EXIT_FATAL, "%s", path);
		if (r == 0)
			break;
		got += (size_t)r;
	}
	size_t count = 0, cap = 0;
	struct span *lines = NULL;
	const char *p = *text, *end = *text + got, *nl;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		if (count == cap)
			lines = grow(lines, (cap = cap ? cap * 2 : 1024) * sizeof *lines);
		lines[count++] = (struct span){ p, (size_t)(nl - p) };
		p = nl + 1;
	}
	if (count)
		qsort(lines, count, sizeof *lines, by_bytes);
	*n = count;
	return lines;
}

/* Whether the file named path is another file than the one open on fd. */
static bool renamed(int fd, const char *path)
{
	struct stat named, open;
	if (stat(path, &named) != 0)
		return false;	/* none yet: the writer is between unlink and rename */
	if (fstat(fd, &open) != 0)
		err(EXIT_FATAL, "%s", path);
	return named.st_ino != open.st_ino || named.st_dev != open.st_dev;
}

size_t follow_renamed(struct follow *f, follow_line_fn *each, void *arg, bool *switched)
{
	*switched = false;
	if (!renamed(f->fd, f->path))
		return 0;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;	/* gone again: looked at next time */
	if (fd < 0)
		err(EXIT_FATAL, "%s", f->path);
	/* The old file to its end first: the writer appends to it no more
	 * once it has renamed the new one over it, but may have since the
	 * last look, and the new file may hold those lines too. */
	size_t count = follow_lines(f, each, arg);
	char *old_text, *new_text;
	size_t nold, nnew;
	struct span *old = sorted_lines(f->fd, f->path, &old_text, &nold);
	struct span *new = sorted_lines(fd, f->path, &new_text, &nnew);
	off_t from = 0;
	f->restarts++;
	for (size_t i = 0, j = 0; i < nnew; i++) {
		from += (off_t)new[i].n + 1;
		if (i > 0 && span_cmp(&new[i - 1], &new[i]) == 0)
			continue;
		while (j < nold && span_cmp(&old[j], &new[i]) < 0)
			j++;
		if (j < nold && span_cmp(&old[j], &new[i]) == 0)
			continue;
		each(arg, new[i].p, new[i].n, 0);
		count++;
	}
	free(old);
	free(new);
	free(old_text);
	free(new_text);
	close(f->fd);
	f->fd = fd;
	f->from = from;
	*switched = true;
	return count;
}
