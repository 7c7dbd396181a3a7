#ifndef PB_EXPECT_H
#define PB_EXPECT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "record.h"
#include "retry.h"

/* What an answer must be for its postback to be delivered, from the
 * line's "postback.expect": one of statuses when any_status is false,
 * and a body that body, a POSIX extended regular expression, matches
 * when it is not NULL. */
struct expect {
	bool set;
	bool any_status;
	struct status_set statuses;
	char *body;
};

/* Compiled body patterns, the PATTERNS_MAX last used distinct ones. */
#define PATTERNS_MAX 64
struct pattern {
	char *text;
	regex_t re;
};
struct patterns {
	struct pattern at[PATTERNS_MAX];
	size_t n, next;			/* in use; the next to give up when all are */
};

struct job;
bool expect_read(struct expect *x, struct record *r, int e, struct buf *why);
bool expect_compiles(struct patterns *ps, const struct expect *x, struct buf *why);
void expect_judge(struct patterns *ps, struct job *j);
void expect_free(struct expect *x);
void patterns_free(struct patterns *ps);

#endif
