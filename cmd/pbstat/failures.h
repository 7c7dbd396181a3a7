#ifndef PBSTAT_FAILURES_H
#define PBSTAT_FAILURES_H

#include <stdbool.h>
#include <stdint.h>

#include "record.h"
#include "result.h"
#include "strmap.h"

/* What a failure keeps of its record, each a string cut to a bound (NULL
 * when the record has none); the URL with its secrets masked (mask.c). */
enum failure_field {
	FAILURE_FIRED_AT, FAILURE_URL, FAILURE_TRANSACTION, FAILURE_CLICK, FAILURE_KEY, FAILURE_ERROR,
	FAILURE_MESSAGE, FAILURE_HEADERS, FAILURE_BODY, FAILURE_FIELDS
};

/* A result record of an attempt that failed: failed for good, or to be
 * tried again (pending). */
struct failure {
	uint64_t seq;		/* its place among the failures read, from 1 */
	bool pending, truncated;
	long status, answer_status;	/* -1 for none */
	char *field[FAILURE_FIELDS];
};

/* The latest failures of one postback (by "postback.name"): a ring. */
struct failure_ring {
	char *name;		/* NULL: the record has no name */
	size_t len;
	struct failure *v;	/* max of them */
	size_t next, n;
};

/* The latest failures of each postback, --html-max at most of each. */
struct failures {
	size_t max;
	uint64_t seq;
	struct strmap index;
	struct failure_ring **rings;
	size_t n;
	struct record record;
	struct result_reader reader;
};

void failures_init(struct failures *f, size_t max);
void failures_line(struct failures *f, const char *line, size_t len);
const struct failure *failures_newest(const struct failure_ring *r, size_t i, size_t max);
void failures_free(struct failures *f);

#endif
