#ifndef PB_SPOOL_H
#define PB_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "heap.h"

/* Told of each held record as a spool loads, and of each one a
 * compaction keeps, at its new position: line[0,len) is its text. */
typedef void spool_held_fn(void *arg, uint64_t pos, int64_t due, const char *line, size_t len);

/* Held lines: their text in a file, their order in memory. */
struct spool {
	int fd;
	const char *path;	/* NULL: an unlinked temporary file */
	char header[32];	/* "WRITER-spool 1\n": what a new file starts with */
	size_t header_len;
	uint64_t start;		/* where the records start: after the file's header */
	struct heap held;
	struct buf pending;	/* records added but not yet written */
	uint64_t written;	/* file size, pending excluded */
	uint64_t live, dead;	/* bytes of held and of released records */
	size_t kept;		/* records appended outside the heap, not yet taken */
	size_t leased;		/* records taken but not yet released */
	char *window;		/* a cached stretch of the file, for reading */
	size_t window_cap, window_len;
	uint64_t window_pos;
	struct buf tail;	/* the file's last bytes as written, from tail_pos on */
	uint64_t tail_pos;
	uint64_t *released;	/* positions released but not yet marked */
	size_t nreleased, released_cap;
	struct buf peeked;	/* a record read by spool_peek() outside the window */
	spool_held_fn *on_held;
	void *on_held_arg;
	bool unsynced;
};

void spool_open(struct spool *s, const char *path, const char *writer, size_t max_line);
void spool_open_with(struct spool *s, const char *path, const char *writer, size_t max_line,
		     spool_held_fn *on_held, void *arg);
uint64_t spool_first(const struct spool *s);
uint64_t spool_end(const struct spool *s);
const char *spool_peek(struct spool *s, uint64_t pos, int64_t *due, size_t *len);
void spool_drop(struct spool *s, uint64_t pos);
struct timer spool_skip(struct spool *s);
void spool_put_back(struct spool *s, struct timer place);
void spool_write(struct spool *s);
void spool_sync(struct spool *s);
void spool_mark_released(struct spool *s);
bool spool_worth_compacting(const struct spool *s);
void spool_reclaim(struct spool *s);
void spool_close(struct spool *s);

/* Held lines, in the order they fall due (pbdelay, pbfire's retries):
 * spool_hold() one; spool_next() says when the earliest is due;
 * spool_take_earliest() takes it, or spool_lease_earliest() takes it but
 * leaves it held in the file until spool_end_lease(). */
uint64_t spool_hold(struct spool *s, int64_t due, const char *line, size_t len);
bool spool_next(const struct spool *s, int64_t *due);
const char *spool_take_earliest(struct spool *s, size_t *len);
const char *spool_lease_earliest(struct spool *s, uint64_t *pos, size_t *len);
void spool_end_lease(struct spool *s, uint64_t pos);

/* Kept lines, which the caller tracks by position (pbfire's host
 * backlogs): spool_keep() one, spool_take_kept() it back, in any order. */
uint64_t spool_keep(struct spool *s, const char *line, size_t len);
const char *spool_take_kept(struct spool *s, uint64_t pos, size_t *len);

#endif
