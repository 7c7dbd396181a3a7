#ifndef PB_LINES_H
#define PB_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A part of a file that lines_set_ranges() reads as a file of its own:
 * len bytes from offset (LINES_TO_END: up to the end of the file), its
 * lines numbered after the lineno lines before it. */
struct lines_range {
	uint64_t offset, len;
	unsigned long lineno;
};
#define LINES_TO_END UINT64_MAX

/* A line reader over one file descriptor with a fixed-size buffer. */
struct lines {
	int fd;
	const char *name;
	unsigned long lineno;
	size_t max;		/* longest line accepted, in bytes */
	char *buf;
	size_t cap, start, scan, end;
	char *line;		/* the line lines_next returned */
	size_t len;
	bool eof, discarding;
	bool stop;		/* set to end the input early: reads as end of file */
	bool nowait;		/* return LINES_AGAIN rather than block */
	const char *needle;	/* return only lines holding it; NULL: all */
	size_t needle_len;
	uint64_t pos;		/* the file offset of buf[end] */
	const struct lines_range *range;	/* the ranges left to read */
	size_t nranges;
	bool ranged;		/* reading ranges: left bytes of this one */
	uint64_t left;
	void (*before_read)(void *, bool idle);	/* idle: the read would block */
	void *read_arg;
};

enum lines_status { LINES_OK, LINES_TOO_LONG, LINES_EOF, LINES_ERROR, LINES_AGAIN };

void lines_init(struct lines *r, size_t max);
void lines_reset(struct lines *r, int fd, const char *name);
enum lines_status lines_next(struct lines *r);
bool lines_discard(struct lines *r, FILE *keep);
void lines_free(struct lines *r);

int lines_fd(const struct lines *r);
char *lines_current(const struct lines *r, size_t *len);
unsigned long lines_lineno(const struct lines *r);
const char *lines_name(const struct lines *r);
void lines_stop(struct lines *r);
void lines_set_nowait(struct lines *r);
void lines_set_needle(struct lines *r, const char *needle, size_t n);
void lines_set_ranges(struct lines *r, const struct lines_range *range, size_t n);
uint64_t lines_offset(const struct lines *r);

#endif
