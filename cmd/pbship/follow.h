#ifndef PB_FOLLOW_H
#define PB_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A file followed as it grows (follow.c), by its name and an open
 * descriptor. */
struct follow {
	const char *path;	/* the name watched for a file renamed over it */
	int fd;			/* the file followed */
	off_t from;		/* its bytes handed over, whole lines */
	unsigned restarts;	/* times it was truncated or renamed over */
	char *buf;		/* what a read takes in */
	size_t cap;
};

/* Each complete line found, its newline taken off, and end, the byte of
 * the file followed after its newline; 0 for a line of a file renamed
 * over it, which is handed over out of the file's order. */
typedef void follow_line_fn(void *arg, const char *line, size_t len, off_t end);

/* Follows the file open on fd, named path, past byte from. */
void follow_init(struct follow *f, const char *path, int fd, off_t from);
void follow_free(struct follow *f);

/* Hands each complete line past f->from to each and moves f->from past
 * it; a file shorter than f->from (truncated) is counted in f->restarts,
 * then read from its start. Returns how many lines it handed over. */
size_t follow_lines(struct follow *f, follow_line_fn *each, void *arg);

/* Once f->path names a file other than the one followed (renamed over
 * it): hands each line of the old file not yet handed over to each,
 * counts the new file in f->restarts, hands over each of its lines that
 * the old one lacks, once, and follows it past its complete lines.
 * Returns how many lines it handed over; *switched whether it took the
 * new file. */
size_t follow_renamed(struct follow *f, follow_line_fn *each, void *arg, bool *switched);

#endif
