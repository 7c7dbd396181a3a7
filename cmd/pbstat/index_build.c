/*
 * pbstat --index FILE: builds FILE.idx, the index --find reads (its
 * format in index.h and index.c), or brings it up to date. The index
 * covers the file's whole lines, up to its last newline: a line being
 * written is left to --find's reading of what follows. When FILE.idx is
 * whole and fresh (the same file, its covered bytes unchanged, the same
 * --key) and the file only grew, the lines past it are indexed and their
 * entries merged with its own; otherwise it is built anew. Each line
 * gives an entry per id find_ids() finds in it, the hash of the id's text
 * above the line's block, one per id and block; a line that is not valid
 * JSON or longer than --max-line gives none and marks its block to be
 * read always. The new entries are held in memory, 8 bytes each, up to
 * --index-memory; each time it is full they are sorted and spilled as a
 * run to a temporary file (unlinked, in TMPDIR); the first that cannot be
 * written (a full TMPDIR) ends the build at once. At the end the runs, the
 * entries in memory and the old index's are merged (heap.c) into
 * FILE.idx.new, which replaces FILE.idx whole (durable.c), so a crash
 * leaves the old index or the new one.
 */
#include "index.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "durable.h"
#include "find.h"
#include "heap.h"
#include "tool.h"

#define RUN_READ 8192		/* entries read from a run at a time */

/* A run of sorted entries spilled: where in the runs file, how many. */
struct run {
	uint64_t at, n;
};

/* What is being built: the entries of the lines read, and the blocks. */
struct build {
	struct find ids;
	uint64_t *entry;
	size_t n, cap;
	struct index_block *block;
	size_t nblocks, blocks_cap;
	unsigned shift;
	uint64_t at;		/* the block of the line read */
	size_t run_cap;		/* entries held before they are spilled */
	int runs_fd;		/* the runs file, -1 before the first run */
	struct run *run;
	size_t nruns;
	uint64_t runs_end;
	const char *failed;	/* what failed spilling a run, or NULL */
	int failed_errno;	/* and why */
};

/* An old index of the file that can be brought up to date. */
struct old_index {
	int fd;
	struct index_file m;
};

/* The block shift for a file of size bytes: blocks of at least 64 KiB,
 * few enough for an entry's block bits. */
static unsigned shift_for(uint64_t size)
{
	unsigned shift = INDEX_BLOCK_SHIFT;
	while ((size >> shift) >= (UINT64_C(1) << INDEX_BLOCK_BITS))
		shift++;
	return shift;
}

/* The offset past the last newline of the file open on fd, of size bytes
 * (0: none); false on a read error. */
static bool whole_lines(int fd, uint64_t size, uint64_t *end)
{
	char buf[64 * 1024];
	while (size > 0) {
		size_t n = size < sizeof buf ? (size_t)size : sizeof buf;
		if (pread(fd, buf, n, (off_t)(size - n)) != (ssize_t)n)
			return false;
		const char *nl = memrchr(buf, '\n', n);
		if (nl) {
			*end = size - n + (uint64_t)(nl - buf) + 1;
			return true;
		}
		size -= n;
	}
	*end = 0;
	return true;
}

static int compare_entries(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Sorts the entries in memory, each once. */
static void sort_entries(struct build *b)
{
	if (b->n)
		qsort(b->entry, b->n, sizeof *b->entry, compare_entries);
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++)
		if (n == 0 || b->entry[i] != b->entry[n - 1])
			b->entry[n++] = b->entry[i];
	b->n = n;
}

/* Sorts the entries in memory and writes them as a run to the runs file,
 * made at the first; on failure sets b->failed. */
static void spill(struct build *b)
{
	sort_entries(b);
	if (b->runs_fd < 0) {
		struct buf path = { 0 };
		buf_addf(&path, "%s/pbstat-index.XXXXXX", tool_tmpdir());
		b->runs_fd = mkostemp(path.data, O_CLOEXEC);
		if (b->runs_fd >= 0)
			unlink(path.data);
		buf_free(&path);
	}
	if (b->runs_fd < 0 || !durable_write(b->runs_fd, b->entry, b->n * sizeof *b->entry, (int64_t)b->runs_end)) {
		b->failed = "writing a run of the index to TMPDIR";
		b->failed_errno = errno;
		return;
	}
	b->run = xreallocarray(b->run, b->nruns + 1, sizeof *b->run);
	b->run[b->nruns++] = (struct run){ b->runs_end, b->n };
	b->runs_end += b->n * sizeof *b->entry;
	b->n = 0;
}

static void add_id(void *arg, struct text id)
{
	struct build *b = arg;
	if (b->failed)
		return;
	if (b->n == b->cap && b->cap < b->run_cap) {
		b->cap = b->cap ? 2 * b->cap : 4096;
		b->cap = b->cap < b->run_cap ? b->cap : b->run_cap;
		b->entry = xreallocarray(b->entry, b->cap, sizeof *b->entry);
	}
	if (b->n == b->cap)
		spill(b);
	if (!b->failed)
		b->entry[b->n++] = index_value_hash(id) << INDEX_BLOCK_BITS | b->at;
}

/* Makes the blocks up to block at, those new starting at start, after
 * lineno lines. */
static void add_blocks(struct build *b, uint64_t at, uint64_t start, uint64_t lineno)
{
	while (b->nblocks <= at) {
		if (b->nblocks == b->blocks_cap) {
			b->blocks_cap = b->blocks_cap ? 2 * b->blocks_cap : 1024;
			b->block = xreallocarray(b->block, b->blocks_cap, sizeof *b->block);
		}
		b->block[b->nblocks++] = (struct index_block){ start, lineno, 0, 0 };
	}
}

/* Indexes the line r returned, which starts at offset. */
static void index_line(struct build *b, struct lines *r, uint64_t offset, bool indexable)
{
	b->at = offset >> b->shift;
	add_blocks(b, b->at, offset, lines_lineno(r) - 1);
	struct index_block *k = &b->block[b->at];
	if (indexable && r->len > k->longest)
		k->longest = (uint32_t)r->len;
	if (!indexable || !find_ids(&b->ids, r->line, r->len, add_id, b))
		k->flags |= INDEX_BLOCK_READ;
}

/* Indexes the lines of range of the file open on fd, and counts the
 * lines up to its end in *lines; false on a read error. It stops early,
 * true, when a run fails to spill (b->failed). */
static bool read_lines(struct build *b, int fd, const char *path, size_t max_line, struct lines_range range,
		       uint64_t *lines)
{
	struct lines r;
	lines_init(&r, max_line);
	lines_reset(&r, fd, path);
	lines_set_ranges(&r, &range, 1);
	enum lines_status s = LINES_EOF;
	while (!b->failed && ((s = lines_next(&r)) == LINES_OK || s == LINES_TOO_LONG)) {
		index_line(b, &r, lines_offset(&r), s == LINES_OK);
		if (s == LINES_TOO_LONG && !lines_discard(&r, NULL)) {
			s = LINES_ERROR;
			break;
		}
	}
	*lines = lines_lineno(&r);
	lines_free(&r);
	return b->failed || s == LINES_EOF;
}

/* The index file being written: its entries go by chunks. */
struct writer {
	int fd;
	bool ok;
	const char *failed;	/* why, when not ok for another reason than a write */
	uint64_t chunk[INDEX_CHUNK];
	size_t inchunk;
	uint64_t nentries;
	struct index_chunk *chunks;
	size_t nchunks;
};

static void write_bytes(struct writer *w, const void *p, size_t n)
{
	w->ok = w->ok && durable_write(w->fd, p, n, DURABLE_AT_OFFSET);
}

static void end_chunk(struct writer *w)
{
	if (!w->inchunk)
		return;
	w->chunks = xreallocarray(w->chunks, w->nchunks + 1, sizeof *w->chunks);
	w->chunks[w->nchunks++] = (struct index_chunk){ w->chunk[0], index_check(w->chunk, w->inchunk * sizeof *w->chunk) };
	write_bytes(w, w->chunk, w->inchunk * sizeof *w->chunk);
	w->inchunk = 0;
}

static void put_entry(struct writer *w, uint64_t e)
{
	w->chunk[w->inchunk++] = e;
	w->nentries++;
	if (w->inchunk == INDEX_CHUNK)
		end_chunk(w);
}

/* Sorted entries to merge: p[i,n), then, for a run, left more in the
 * runs file open on fd from at, read into buf; for the old index, its
 * chunks from chunk on, each checked as it is read (index_entries). */
struct source {
	const uint64_t *p;
	size_t i, n;
	int fd;
	uint64_t at, left;
	struct index_file *index;
	size_t chunk;
	uint64_t buf[RUN_READ];
};

/* Reads the next part of s into p[0,n); false at its end, or when it
 * cannot be read (w->ok false, and for the old index w->failed). */
static bool source_fill(struct source *s, struct writer *w)
{
	if (s->index) {
		if (s->chunk == s->index->nchunks)
			return false;
		s->p = index_entries(s->index, s->chunk++, &s->n);
		if (!s->p) {
			w->ok = false;
			w->failed = "the old index changed while it was read";
		}
		return s->p != NULL;
	}
	size_t k = s->left < RUN_READ ? (size_t)s->left : RUN_READ;
	if (!k || pread(s->fd, s->buf, k * sizeof *s->buf, (off_t)s->at) != (ssize_t)(k * sizeof *s->buf)) {
		w->ok = w->ok && !k;
		return false;
	}
	s->p = s->buf;
	s->n = k;
	s->at += k * sizeof *s->buf;
	s->left -= k;
	return true;
}

/* The next entry of s into *e; false at its end, or when it cannot be
 * read (source_fill). */
static bool source_next(struct source *s, struct writer *w, uint64_t *e)
{
	if (s->i == s->n) {
		if (!source_fill(s, w))
			return false;
		s->i = 0;
	}
	*e = s->p[s->i++];
	return true;
}

/* Writes the entries of the n sources in order, each once. */
static void merge_entries(struct writer *w, struct source *src, size_t n)
{
	struct heap h = { 0 };
	uint64_t e;
	for (size_t i = 0; i < n; i++)
		if (source_next(&src[i], w, &e))
			heap_push(&h, (struct timer){ (int64_t)e, i });
	bool any = false;
	uint64_t last = 0;
	while (h.n) {
		struct timer t = heap_pop(&h);
		if (!any || (uint64_t)t.due != last)
			put_entry(w, (uint64_t)t.due);
		any = true;
		last = (uint64_t)t.due;
		if (source_next(&src[t.id], w, &e))
			heap_push(&h, (struct timer){ (int64_t)e, t.id });
	}
	end_chunk(w);
	heap_free(&h);
}

/* Merges the old index's entries, the runs and those in memory into w. */
static void write_entries(struct writer *w, const struct build *b, struct old_index *old)
{
	size_t n = 0;
	struct source *src = xcalloc(b->nruns + 2, sizeof *src);
	if (old)
		src[n++] = (struct source){ .index = &old->m };
	for (size_t r = 0; r < b->nruns; r++)
		src[n++] = (struct source){ .fd = b->runs_fd, .at = b->run[r].at, .left = b->run[r].n };
	src[n++] = (struct source){ .p = b->entry, .n = b->n };
	merge_entries(w, src, n);
	free(src);
}

/* Writes the index of b, with the entries of old if any, to path.idx,
 * replacing it; h has the file's identity and coverage. */
static bool write_index(struct build *b, struct old_index *old, struct index_header *h, const char *idx)
{
	struct durable_new n;
	struct writer w = { .ok = true };
	if (!durable_new_open(&n, idx, 0, 0644)) {
		warn("%s: %s", idx, n.failed);
		return false;
	}
	w.fd = n.fd;
	write_bytes(&w, h, sizeof *h);
	write_entries(&w, b, old);
	write_bytes(&w, b->block, b->nblocks * sizeof *b->block);
	write_bytes(&w, w.chunks, w.nchunks * sizeof *w.chunks);
	h->nentries = w.nentries;
	h->blocks_check = index_check(b->block, b->nblocks * sizeof *b->block);
	h->chunks_check = index_check(w.chunks, w.nchunks * sizeof *w.chunks);
	h->header_check = index_check(h, offsetof(struct index_header, header_check));
	free(w.chunks);
	if (w.failed) {
		durable_new_abort(&n, w.failed);
		warnx("%s: %s", idx, w.failed);
		return false;
	}
	if (!w.ok || !durable_write(n.fd, h, sizeof *h, 0)) {
		durable_new_abort(&n, "writing its " DURABLE_NEW_SUFFIX " file");
		warn("%s: %s", idx, n.failed);
		return false;
	}
	if (!durable_new_commit(&n) || close(n.fd) < 0) {
		warn("%s: %s", idx, n.failed ? n.failed : "closing it");
		return false;
	}
	return true;
}

/* Closes what open_old opened. */
static void close_old(struct old_index *old)
{
	index_close(&old->m);
	close(old->fd);
}

/* Opens idx into old when it is an index of the file open on fd that
 * the lines up to covered, with key_field as the key, can bring up to
 * date, and every chunk of its entries passes its check now (each is
 * checked again as the merge reads it). */
static bool open_old(struct old_index *old, const char *idx, int fd, const char *key_field, uint64_t covered)
{
	old->fd = open(idx, O_RDONLY | O_CLOEXEC);
	if (old->fd < 0)
		return false;
	bool ok = index_open(&old->m, old->fd) && index_fresh(&old->m, fd, key_field) &&
		  old->m.h.covered <= covered && old->m.h.block_shift == shift_for(covered) &&
		  index_read_tables(&old->m);
	size_t n;
	for (size_t c = 0; ok && c < old->m.nchunks; c++)
		ok = index_entries(&old->m, c, &n) != NULL;
	if (!ok)
		close_old(old);
	return ok;
}

/* Brings the index of the file open on fd, whose whole lines end at
 * covered, up to date in idx. */
static bool build(struct build *b, int fd, const char *path, const char *idx, const struct stat *st,
		  uint64_t covered, size_t max_line)
{
	struct old_index old;
	bool update = open_old(&old, idx, fd, b->ids.key_field, covered);
	struct index_header h = {
		.magic = INDEX_MAGIC, .version = INDEX_VERSION, .block_shift = shift_for(covered),
		.dev = (uint64_t)st->st_dev, .ino = (uint64_t)st->st_ino, .covered = covered,
		.key_check = index_check(b->ids.key_field, strlen(b->ids.key_field)),
	};
	b->shift = h.block_shift;
	struct lines_range range = { 0, covered, 0 };
	if (update) {
		if (old.m.h.covered == covered) {
			close_old(&old);
			return true;
		}
		b->nblocks = b->blocks_cap = (size_t)old.m.h.nblocks;
		b->block = xreallocarray(NULL, b->nblocks + 1, sizeof *b->block);
		memcpy(b->block, old.m.block, b->nblocks * sizeof *b->block);
		range = (struct lines_range){ old.m.h.covered, covered - old.m.h.covered, (unsigned long)old.m.h.lines };
	}
	bool ok = read_lines(b, fd, path, max_line, range, &h.lines);
	if (!ok)
		warn("%s", path);
	if (ok && b->failed) {
		warnx("%s: %s: %s", idx, b->failed, strerror(b->failed_errno));
		ok = false;
	}
	uint64_t mask = (UINT64_C(1) << b->shift) - 1;
	h.nblocks = (covered >> b->shift) + ((covered & mask) != 0);
	char tail[INDEX_TAIL_CHECK];
	size_t n = covered < sizeof tail ? (size_t)covered : sizeof tail;
	if (ok && pread(fd, tail, n, (off_t)(covered - n)) != (ssize_t)n) {
		warn("%s", path);
		ok = false;
	}
	if (ok) {
		if (h.nblocks)
			add_blocks(b, h.nblocks - 1, covered, h.lines);
		h.tail_check = index_check(tail, n);
		sort_entries(b);
	}
	ok = ok && write_index(b, update ? &old : NULL, &h, idx);
	if (update)
		close_old(&old);
	return ok;
}

/* Builds or brings up to date the index of the results file at path,
 * with key_field as the key, lines up to max_line bytes and up to memory
 * bytes of entries held; false, with a diagnostic, when it cannot. */
bool index_build(const char *path, const char *key_field, size_t max_line, size_t memory)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		warn("%s", path);
		return false;
	}
	struct stat st;
	uint64_t covered;
	bool ok = false;
	if (fstat(fd, &st) < 0) {
		warn("%s", path);
	} else if (!S_ISREG(st.st_mode)) {
		warnx("%s: not a regular file", path);
	} else if (!whole_lines(fd, (uint64_t)st.st_size, &covered)) {
		warn("%s", path);
	} else {
		struct build b = { .run_cap = memory / sizeof(uint64_t), .runs_fd = -1 };
		struct buf idx = { 0 };
		buf_addf(&idx, "%s" INDEX_SUFFIX, path);
		find_init(&b.ids);
		b.ids.key_field = key_field;
		find_prepare(&b.ids);
		ok = build(&b, fd, path, idx.data, &st, covered, max_line);
		find_free(&b.ids);
		free(b.entry);
		free(b.block);
		free(b.run);
		if (b.runs_fd >= 0)
			close(b.runs_fd);
		buf_free(&idx);
	}
	close(fd);
	return ok;
}
