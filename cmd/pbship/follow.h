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
	char *buf;		/* what a read takes in */
	size_t cap;
};

/* Each complete line found, its newline taken off. */
typedef void follow_line_fn(void *arg, const char *line, size_t len);

/* Follows the file open on fd, named path, past byte from. */
void follow_init(struct follow *f, const char *path, int fd, off_t from);
void follow_free(struct follow *f);

/* Hands each complete line past f->from to each and moves f->from past
 * it; a file shorter than f->from (truncated) is read from its start.
 * Returns how many lines it handed over. */
size_t follow_lines(struct follow *f, follow_line_fn *each, void *arg);

/* Once f->path names a file other than the one followed (renamed over
 * it): hands each line of the old file not yet handed over to each, then
 * each line of the new file that the old one lacks, once, and follows
 * the new file past its complete lines. Returns how many lines it handed
 * over; *switched whether it took the new file. */
size_t follow_renamed(struct follow *f, follow_line_fn *each, void *arg, bool *switched);

#endif
