#ifndef PBSTAT_INDEX_H
#define PBSTAT_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lines.h"
#include "members.h"

/* The index of FILE is FILE then this. */
#define INDEX_SUFFIX ".idx"

#define INDEX_MAGIC "pbstatix"
#define INDEX_VERSION 1
#define INDEX_BLOCK_SHIFT 16	/* 64 KiB blocks, more for a file over 1 TiB */
#define INDEX_BLOCK_BITS 24	/* of an entry, the block; above them, the hash */
#define INDEX_HASH_BITS 39
/* index_build.c merges entries as the int64_t due of heap.c's timers:
 * they must be below 2^63 to keep their order there. */
_Static_assert(INDEX_HASH_BITS + INDEX_BLOCK_BITS <= 63, "an entry must fit an int64_t, not negative");
#define INDEX_CHUNK 4096	/* entries a check covers */
#define INDEX_TAIL_CHECK 4096	/* bytes before the end covered, checked */
#define INDEX_MEMORY (32 << 20)	/* --index-memory, by default */
#define INDEX_MEMORY_MIN (64 << 10)

/* The file: this header, the entries (sorted), the blocks, the chunks;
 * every number in the byte order of the machine that wrote it. */
struct index_header {
	char magic[8];
	uint32_t version, block_shift;
	uint64_t dev, ino;	/* the results file's */
	uint64_t covered;	/* its bytes indexed, whole lines */
	uint64_t lines;		/* the lines in them */
	uint64_t tail_check;	/* index_check of up to INDEX_TAIL_CHECK bytes before covered */
	uint64_t key_check;	/* index_check of the --key field's name */
	uint64_t nblocks, nentries;
	uint64_t blocks_check, chunks_check;
	uint64_t header_check;	/* of the header before it */
};

/* A block of the results file: the lines that start in its bytes. */
struct index_block {
	uint64_t start;		/* where the first of them starts (covered: none) */
	uint64_t lineno;	/* the lines before start */
	uint32_t longest;	/* the longest of them */
	uint32_t flags;
};
#define INDEX_BLOCK_READ 1u	/* one of them is not indexed: read it always */

/* INDEX_CHUNK entries (the last chunk fewer): the first, and their check. */
struct index_chunk {
	uint64_t first, check;
};

/* An index file open: its header read and checked (index_open), then its
 * tables (index_read_tables); its entries are read a chunk at a time
 * (index_entries). */
struct index_file {
	int fd;
	struct index_header h;
	struct index_block *block;
	struct index_chunk *chunk;
	size_t nchunks;
	uint64_t *entry;	/* INDEX_CHUNK entries, those of the chunk read last */
};

uint64_t index_check(const void *p, size_t n);
uint64_t index_value_hash(struct text value);
size_t index_chunks(uint64_t nentries);
bool index_sizes_agree(const struct index_header *h, size_t n);
bool index_open(struct index_file *m, int fd);
bool index_read_tables(struct index_file *m);
void index_close(struct index_file *m);
bool index_fresh(const struct index_file *m, int fd, const char *key_field);
const uint64_t *index_entries(struct index_file *m, size_t c, size_t *n);
bool index_ranges(struct index_file *m, struct text value, size_t max_line, struct lines_range **out,
		  size_t *n);
bool index_find_ranges(const char *path, int fd, const char *key_field, struct text value, size_t max_line,
		       struct lines_range **out, size_t *n);

bool index_build(const char *path, const char *key_field, size_t max_line, size_t memory);

#endif
