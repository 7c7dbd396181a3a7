#ifndef PBSTAT_TALLY_H
#define PBSTAT_TALLY_H

#include <stdbool.h>

#include "buckets.h"
#include "fates.h"
#include "groups.h"
#include "members.h"
#include "result.h"
#include "series.h"
#include "summary.h"

/* Everything pbstat counts from the lines read. */
struct tally {
	struct members members;		/* of each line: MEMBER_* */
	struct member_path key_path;	/* the key field below its top-level member */
	struct result_reader reader;
	struct fates fates;
	struct summary total;
	struct groups *groups;		/* --by, or NULL */
	struct buckets *buckets;	/* --hist, or NULL */
	struct series *series;		/* --plot, or NULL */
	unsigned long other;		/* valid lines that are not result records */
	struct buf key;			/* a key with escapes, decoded */
};

void tally_init(struct tally *t, const char *key_field, struct groups *groups, struct buckets *buckets,
		struct series *series);
void tally_line(struct tally *t, const char *line, bool escaped);
void tally_free(struct tally *t);

#endif
