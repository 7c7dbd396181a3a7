#ifndef PBSTAT_MEMBERS_H
#define PBSTAT_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "json.h"

#define MEMBERS_MAX 16

/* Members of an object looked up together: their keys, and the source
 * text of their values (quotes included for a string; p NULL when
 * absent). */
struct members {
	const char *key[MEMBERS_MAX];
	size_t keylen[MEMBERS_MAX], n;
	struct text value[MEMBERS_MAX];
	struct buf scratch;	/* escaped keys, decoded */
};

/* A dotted field below a top-level member, such as "key" below
 * "postback": one single-key lookup per part. */
struct member_path {
	struct members *level;
	size_t n;
};

void members_want(struct members *m, const char *key, size_t keylen);
void members_find(struct members *m, const char *object, bool escaped);
bool members_next(const char **at, struct text *key, struct text *value);
struct text member_string(struct text value, struct buf *out);
void members_free(struct members *m);
size_t member_top(const char *field);
void member_path_init(struct member_path *p, const char *field);
struct text member_path_find(struct member_path *p, struct text top, bool escaped);
struct text member_scalar(struct text value, struct buf *out);
void member_path_free(struct member_path *p);

#endif
