#ifndef PB_SECRETS_H
#define PB_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

/* A named secret; one name may have several, in the file's order. */
struct secret {
	char *name, *value;
	size_t len;
};

struct secrets {
	const char *path;	/* NULL: no --secrets file */
	struct secret *v;
	size_t n;
};

void secrets_load(struct secrets *s, const char *path);
const struct secret *secrets_next(const struct secrets *s, const char *name, size_t n,
				  const struct secret *after);
struct buf;
const struct secret *secrets_find(const struct secrets *s, const char *name, size_t n,
				  const char *what, struct buf *why);
void secrets_forget(struct buf *b);
void secrets_free(struct secrets *s);

#endif
