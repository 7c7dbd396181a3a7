/*
 * Reading pbstat's index of a results file (FILE.idx, written by
 * pbstat --index, index_build.c), for --find: which parts of the file
 * hold the records whose transaction_id, external_transaction_id or key
 * may be a value. The index is a header, then a sorted array of entries,
 * each the hash of an id's text (INDEX_HASH_BITS) above the number of the
 * 64 KiB block of the file where its line starts, one per id and block;
 * then a table of the blocks (where the first line starting in each
 * starts, its line number, the longest line, and whether a line of it
 * went unindexed), and a table of chunks of INDEX_CHUNK entries, each
 * with its first entry and a check. The index is untrusted input: it is
 * used only when every count and offset in it agrees with its size, its
 * header and tables pass their checks, it names the file read (device,
 * inode, the check of the bytes before the end it covers) and the --key
 * field asked; each chunk of entries read passes its check first. Any
 * failure means "no index": the caller reads the whole file as it would
 * without one. The index is read with pread(2), not mapped, so that one
 * truncated in place while it is read (cp over it, not pbstat's rename)
 * makes a short read, "no index", rather than a SIGBUS. Opening it reads
 * the header; once it is found fresh, which bounds its sizes by the
 * file's, the two tables; a lookup reads the chunk or two of entries
 * that may hold the hash, and gives the blocks to read as ranges
 * of lines with their line numbers, then the part of the file past the
 * index.
 */
#include "index.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "strmap.h"

#define BLOCK_MASK ((UINT64_C(1) << INDEX_BLOCK_BITS) - 1)

uint64_t index_check(const void *p, size_t n)
{
	return strmap_hash(p, n);
}

/* The hash an entry keeps of an id whose text is value. */
uint64_t index_value_hash(struct text value)
{
	return strmap_hash(value.p, value.n) >> (64 - INDEX_HASH_BITS);
}

size_t index_chunks(uint64_t nentries)
{
	return (size_t)((nentries + INDEX_CHUNK - 1) / INDEX_CHUNK);
}

/* Whether the counts of header h give a file of n bytes, n at least the
 * header's. */
bool index_sizes_agree(const struct index_header *h, size_t n)
{
	size_t left = n - sizeof *h;
	if (h->nentries > left / sizeof(uint64_t))
		return false;
	left -= (size_t)h->nentries * sizeof(uint64_t);
	if (h->nblocks > left / sizeof(struct index_block))
		return false;
	left -= (size_t)h->nblocks * sizeof(struct index_block);
	return left == index_chunks(h->nentries) * sizeof(struct index_chunk);
}

static bool header_ok(const struct index_header *h, size_t n)
{
	if (n < sizeof *h || memcmp(h->magic, INDEX_MAGIC, sizeof h->magic) != 0 || h->version != INDEX_VERSION ||
	    h->block_shift < INDEX_BLOCK_SHIFT || h->block_shift > 40 ||
	    h->header_check != index_check(h, offsetof(struct index_header, header_check)))
		return false;
	uint64_t blocks = (h->covered >> h->block_shift) + ((h->covered & ((UINT64_C(1) << h->block_shift) - 1)) != 0);
	return h->nblocks == blocks && blocks <= BLOCK_MASK + 1 && h->nentries <= h->covered &&
	       index_sizes_agree(h, n);
}

/* Whether the blocks start in turn, each in its bytes, or, when no line
 * starts in them, where the next block starts (the end after the last). */
static bool blocks_ok(const struct index_file *m)
{
	const struct index_header *h = &m->h;
	uint64_t start = 0, lineno = 0;
	for (uint64_t b = 0; b < h->nblocks; b++) {
		const struct index_block *k = &m->block[b];
		if (k->start < start || k->start < b << h->block_shift || k->start > h->covered ||
		    k->lineno < lineno || k->lineno > h->lines)
			return false;
		const struct index_block *next = b + 1 < h->nblocks ? &m->block[b + 1] : NULL;
		if (k->start >= (b + 1) << h->block_shift &&
		    (next ? k->start != next->start || k->lineno != next->lineno
			  : k->start != h->covered || k->lineno != h->lines))
			return false;
		start = k->start;
		lineno = k->lineno;
	}
	return true;
}

static bool chunks_ok(const struct index_file *m)
{
	for (size_t c = 1; c < m->nchunks; c++)
		if (m->chunk[c].first < m->chunk[c - 1].first)
			return false;
	return true;
}

/* Reads n bytes of the index at offset into p; false on a short read. */
static bool read_at(const struct index_file *m, void *p, size_t n, uint64_t offset)
{
	return pread(m->fd, p, n, (off_t)offset) == (ssize_t)n;
}

/* Reads the header of the index open on fd into m, which keeps fd to
 * read the rest from (index_read_tables, index_entries); false when it is
 * not an index, or not a whole one. */
bool index_open(struct index_file *m, int fd)
{
	struct stat st;
	*m = (struct index_file){ .fd = fd };
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read_at(m, &m->h, sizeof m->h, 0) &&
	       header_ok(&m->h, (size_t)st.st_size);
}

/* Reads the tables of the index m into memory (index_close frees them),
 * once index_fresh has bounded their sizes by the file indexed; false
 * when they cannot be read or held, or fail their checks. */
bool index_read_tables(struct index_file *m)
{
	const struct index_header *h = &m->h;
	size_t block_bytes = (size_t)h->nblocks * sizeof *m->block;
	uint64_t blocks_at = sizeof *h + h->nentries * sizeof(uint64_t);
	m->nchunks = index_chunks(h->nentries);
	m->block = malloc(block_bytes + 1);
	m->chunk = calloc(m->nchunks + 1, sizeof *m->chunk);
	m->entry = calloc(INDEX_CHUNK, sizeof *m->entry);
	return m->block && m->chunk && m->entry && read_at(m, m->block, block_bytes, blocks_at) &&
	       read_at(m, m->chunk, m->nchunks * sizeof *m->chunk, blocks_at + block_bytes) &&
	       h->blocks_check == index_check(m->block, block_bytes) &&
	       h->chunks_check == index_check(m->chunk, m->nchunks * sizeof *m->chunk) && blocks_ok(m) &&
	       chunks_ok(m);
}

/* Frees what index_read_tables read (fd stays open: it is the caller's). */
void index_close(struct index_file *m)
{
	free(m->block);
	free(m->chunk);
	free(m->entry);
	m->block = NULL;
	m->chunk = NULL;
	m->entry = NULL;
}

/* Whether the index m is of the file open on fd as it is now, the bytes
 * it covers unchanged, with key_field as the key. */
bool index_fresh(const struct index_file *m, int fd, const char *key_field)
{
	const struct index_header *h = &m->h;
	struct stat st;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != h->dev || (uint64_t)st.st_ino != h->ino ||
	    st.st_size < 0 || (uint64_t)st.st_size < h->covered ||
	    h->key_check != index_check(key_field, strlen(key_field)))
		return false;
	char tail[INDEX_TAIL_CHECK];
	size_t n = h->covered < sizeof tail ? (size_t)h->covered : sizeof tail;
	return pread(fd, tail, n, (off_t)(h->covered - n)) == (ssize_t)n && index_check(tail, n) == h->tail_check;
}

/* The entries in chunk c, read into m->entry, which holds *n of them;
 * NULL when they cannot be read, fail their check, or do not ascend,
 * each once, to below the next chunk's first. */
const uint64_t *index_entries(struct index_file *m, size_t c, size_t *n)
{
	size_t at = c * INDEX_CHUNK;
	size_t k = m->h.nentries - at < INDEX_CHUNK ? (size_t)(m->h.nentries - at) : INDEX_CHUNK;
	uint64_t *e = m->entry;
	if (!read_at(m, e, k * sizeof *e, sizeof m->h + at * sizeof *e) || e[0] != m->chunk[c].first ||
	    m->chunk[c].check != index_check(e, k * sizeof *e))
		return NULL;
	for (size_t i = 1; i < k; i++)
		if (e[i] <= e[i - 1])
			return NULL;
	if (c + 1 < m->nchunks && e[k - 1] >= m->chunk[c + 1].first)
		return NULL;
	*n = k;
	return e;
}

/* The first chunk whose first entry is above e. */
static size_t chunks_up_to(const struct index_file *m, uint64_t e)
{
	size_t lo = 0, hi = m->nchunks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->chunk[mid].first <= e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Marks in read[] the blocks with an entry of hash; false when a chunk
 * that may hold it cannot be read or fails its check. */
static bool mark_hits(struct index_file *m, uint64_t hash, bool *read)
{
	uint64_t lo = hash << INDEX_BLOCK_BITS, hi = lo | BLOCK_MASK;
	size_t first = lo ? chunks_up_to(m, lo - 1) : 0, end = chunks_up_to(m, hi);
	for (size_t c = first ? first - 1 : 0; c < end; c++) {
		size_t n;
		const uint64_t *e = index_entries(m, c, &n);
		if (!e)
			return false;
		for (size_t i = 0; i < n; i++) {
			if (e[i] >> INDEX_BLOCK_BITS != hash)
				continue;
			uint64_t b = e[i] & BLOCK_MASK;
			if (b >= m->h.nblocks)
				return false;
			read[b] = true;
		}
	}
	return true;
}

/* The parts of the file to read for the records whose ids may be value,
 * with lines up to max_line bytes: the blocks with an entry of its hash,
 * those with a line not indexed or longer than max_line, then what
 * follows the bytes covered; in *out (to free) and *n. False when the
 * index cannot tell. */
bool index_ranges(struct index_file *m, struct text value, size_t max_line, struct lines_range **out,
		  size_t *n)
{
	const struct index_header *h = &m->h;
	bool *read = xcalloc((size_t)h->nblocks + 1, sizeof *read);
	if (!mark_hits(m, index_value_hash(value), read)) {
		free(read);
		return false;
	}
	struct lines_range *r = xreallocarray(NULL, (size_t)h->nblocks + 1, sizeof *r);
	size_t nr = 0;
	for (size_t b = 0; b < h->nblocks;) {
		const struct index_block *k = &m->block[b];
		if (!read[b] && !(k->flags & INDEX_BLOCK_READ) && k->longest <= max_line) {
			b++;
			continue;
		}
		size_t e = b + 1;
		while (e < h->nblocks && (read[e] || (m->block[e].flags & INDEX_BLOCK_READ) || m->block[e].longest > max_line))
			e++;
		uint64_t end = e < h->nblocks ? m->block[e].start : h->covered;
		if (end > k->start)
			r[nr++] = (struct lines_range){ k->start, end - k->start, (unsigned long)k->lineno };
		b = e;
	}
	r[nr++] = (struct lines_range){ h->covered, LINES_TO_END, (unsigned long)h->lines };
	free(read);
	*out = r;
	*n = nr;
	return true;
}

/* index_ranges() from the index at path of the file open on fd, if it is
 * one, whole and fresh (index_fresh), with key_field as the key. */
bool index_find_ranges(const char *path, int fd, const char *key_field, struct text value, size_t max_line,
		       struct lines_range **out, size_t *n)
{
	int ifd = open(path, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		return false;
	struct index_file m;
	bool ok = index_open(&m, ifd) && index_fresh(&m, fd, key_field) && index_read_tables(&m) &&
		  index_ranges(&m, value, max_line, out, n);
	index_close(&m);
	close(ifd);
	return ok;
}
