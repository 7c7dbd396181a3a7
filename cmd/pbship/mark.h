#ifndef PB_MARK_H
#define PB_MARK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The file of --acked (mark.c). */
struct mark {
	const char *path;	/* NULL: no mark is kept */
	off_t written;		/* what it holds; -1 before the first write */
	int64_t written_ms;	/* when, on the monotonic clock */
	bool warned;		/* a failure to write it has been told */
};

void mark_init(struct mark *m, const char *path);

/* Writes acked to the file if it has moved and, unless now, the last
 * write is MARK_EVERY_MS old. */
void mark_update(struct mark *m, off_t acked, bool now);

#endif
