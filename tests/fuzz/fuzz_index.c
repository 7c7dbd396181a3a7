/* Fuzzes pbstat's index (cmd/pbstat/index.c, index_build.c), the file
 * --find trusts to skip most of a results file. The input is read twice.
 * As an index: its checks made to agree first (the header's, the
 * tables', each chunk's), so that what lies past them is reached, it is
 * loaded or refused without a crash, and when loaded, the ranges a value
 * gives are in order, apart, of lines with numbers that do not go back,
 * within the bytes covered, and end with what follows them. As a results
 * file: pbstat --index writes an index of it that loads, is fresh for
 * it, and for each id of each whole valid line (find_ids), gives a range
 * holding that line's start with its line number, or the line past what
 * the index covers. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "find.h"
#include "fuzz.h"
#include "index.h"

#define MAX_LINE 4096

/* Makes the checks of the index p[0,n) agree with what they check. */
static void seal(unsigned char *p, size_t n)
{
	struct index_header *h = (struct index_header *)p;
	if (n < sizeof *h)
		return;
	if (index_sizes_agree(h, n)) {
		uint64_t *entry = (uint64_t *)(h + 1);
		struct index_block *block = (struct index_block *)(entry + h->nentries);
		struct index_chunk *chunk = (struct index_chunk *)(block + h->nblocks);
		size_t nchunks = index_chunks(h->nentries);
		for (size_t c = 0; c < nchunks; c++) {
			size_t at = c * INDEX_CHUNK, k = h->nentries - at < INDEX_CHUNK ? h->nentries - at : INDEX_CHUNK;
			chunk[c].check = index_check(entry + at, k * sizeof *entry);
		}
		h->blocks_check = index_check(block, h->nblocks * sizeof *block);
		h->chunks_check = index_check(chunk, nchunks * sizeof *chunk);
	}
	h->header_check = index_check(h, offsetof(struct index_header, header_check));
}

/* Checks the ranges m gives for value, with lines up to max_line bytes. */
static void check_ranges(struct index_file *m, struct text value, size_t max_line)
{
	struct lines_range *r;
	size_t n;
	if (!index_ranges(m, value, max_line, &r, &n))
		return;
	CHECK(n >= 1);
	uint64_t at = 0;
	unsigned long lineno = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		CHECK(r[i].offset >= at && r[i].len > 0 && r[i].offset + r[i].len <= m->h.covered);
		CHECK(r[i].lineno >= lineno && r[i].lineno <= m->h.lines);
		at = r[i].offset + r[i].len;
		lineno = r[i].lineno;
	}
	CHECK(r[n - 1].offset == m->h.covered && r[n - 1].len == LINES_TO_END && r[n - 1].lineno == m->h.lines);
	free(r);
}

static void as_index(const uint8_t *data, size_t size)
{
	unsigned char *copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	seal(copy, size);
	const char *path = fuzz_path("index");
	fuzz_write_file(path, copy, size);
	free(copy);
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	struct index_file m;
	if (index_open(&m, fd) && index_read_tables(&m)) {
		for (size_t i = 0; i < m.h.nentries && i < 4; i++) {
			char v[2] = { (char)('0' + i), 0 };
			check_ranges(&m, (struct text){ v, 1 }, MAX_LINE);
		}
		check_ranges(&m, (struct text){ "t1", 2 }, 10);
		check_ranges(&m, (struct text){ (const char *)data, size < 8 ? size : 8 }, MAX_LINE);
	}
	index_close(&m);
	close(fd);
	unlink(path);
}

/* The line starting at offset of the file data, line lineno of it, for
 * find_ids. */
struct line_at {
	struct index_file *m;
	const uint8_t *data;
	uint64_t offset;
	unsigned long lineno;
};

/* Checks that the ranges for id hold the line, numbered as it is. */
static void check_found(void *arg, struct text id)
{
	struct line_at *l = arg;
	struct lines_range *r;
	size_t n;
	CHECK(index_ranges(l->m, id, MAX_LINE, &r, &n));
	size_t i = 0;
	while (i + 1 < n && !(r[i].offset <= l->offset && l->offset < r[i].offset + r[i].len))
		i++;
	CHECK(i + 1 < n);
	unsigned long lineno = r[i].lineno + 1;
	for (uint64_t at = r[i].offset; at < l->offset; at++)
		lineno += l->data[at] == '\n';
	CHECK(lineno == l->lineno);
	free(r);
}

/* Checks each whole valid line of data[0,covered) against m. */
static void check_lines(struct index_file *m, const uint8_t *data, uint64_t covered)
{
	struct find f;
	find_init(&f);
	find_prepare(&f);
	unsigned long lineno = 0;
	for (uint64_t at = 0; at < covered;) {
		const uint8_t *nl = memchr(data + at, '\n', covered - at);
		size_t len = (size_t)(nl - (data + at));
		lineno++;
		if (len > 0 && data[at + len - 1] == '\r')
			len--;
		struct line_at l = { m, data, at, lineno };
		char *line = xmalloc(len + 1);
		memcpy(line, data + at, len);
		line[len] = '\0';
		if (len > 0 && len <= MAX_LINE)
			find_ids(&f, line, len, check_found, &l);
		free(line);
		at = (uint64_t)(nl - data) + 1;
	}
	find_free(&f);
}

static void as_results(const uint8_t *data, size_t size)
{
	const char *path = fuzz_path("results.ndjson");
	fuzz_write_file(path, data, size);
	CHECK(index_build(path, "postback.key", MAX_LINE, INDEX_MEMORY_MIN));
	char idx[4096];
	snprintf(idx, sizeof idx, "%s" INDEX_SUFFIX, path);
	int fd = open(path, O_RDONLY), ifd = open(idx, O_RDONLY);
	CHECK(fd >= 0 && ifd >= 0);
	struct index_file m;
	CHECK(index_open(&m, ifd) && index_fresh(&m, fd, "postback.key") && index_read_tables(&m));
	const uint8_t *last = size ? memrchr(data, '\n', size) : NULL;
	CHECK(m.h.covered == (last ? (uint64_t)(last - data) + 1 : 0));
	check_lines(&m, data, m.h.covered);
	index_close(&m);
	close(fd);
	close(ifd);
	unlink(idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_index(data, size);
	as_results(data, size);
	return 0;
}
