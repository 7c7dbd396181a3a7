#ifndef PB_DURABLE_H
#define PB_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DURABLE_MUST_CHECK __attribute__((warn_unused_result))

/* durable_write's position for "at the file's offset", as write(2). */
#define DURABLE_AT_OFFSET (-1)

/* What the new file of a replacement is named: PATH then this. */
#define DURABLE_NEW_SUFFIX ".new"

/* A file being replaced whole: PATH.new, written, then renamed over PATH. */
struct durable_new {
	const char *path;	/* the file replaced */
	char *tmp;		/* PATH.new, until it is renamed */
	int fd;			/* open on PATH.new, then on PATH; -1 after a failure */
	const char *failed;	/* after a failure, the step that failed */
};

bool durable_write(int fd, const void *p, size_t n, int64_t at) DURABLE_MUST_CHECK;
int durable_open_locked(const char *path, int flags) DURABLE_MUST_CHECK;
bool durable_new_open(struct durable_new *n, const char *path, int flags, mode_t mode) DURABLE_MUST_CHECK;
bool durable_new_commit(struct durable_new *n) DURABLE_MUST_CHECK;
bool durable_new_abort(struct durable_new *n, const char *step);
bool durable_replace(const char *path, const void *p, size_t len, mode_t mode,
		     const char **failed) DURABLE_MUST_CHECK;

#endif
