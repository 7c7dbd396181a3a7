#ifndef PB_MATCH_H
#define PB_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "action.h"
#include "buf.h"
#include "rules.h"
#include "strmap.h"

/* The rules indexed by type and scope, so finding the postbacks of an
 * action costs the same with ten postbacks or a hundred thousand. */
struct matcher {
	const struct rules *rules;
	struct strmap index;		/* scope key -> chain head in entries */
	unsigned char scopes[TYPE_COUNT];	/* which kinds of key a type has (scope_bit) */
	bool holds[TYPE_COUNT];		/* some postback of the type holds lines to supersede */
	struct match_entry *entries;	/* chains of postbacks, in file order */
	size_t nentries, entries_cap;
	size_t *tails;			/* per chain head: its last entry */
	char **members;			/* per postback: '"postback":{...,"key":' */
	size_t *members_len;
	size_t *found;
	size_t nfound;
	struct buf key;
};

void matcher_build(struct matcher *m, const struct rules *r);
size_t matcher_find(struct matcher *m, const struct action *a);
bool matcher_may_hold(struct matcher *m, const struct action *a);
void matcher_members(struct matcher *m, size_t pb, const struct action *a,
		     struct stamp now, struct buf *out);
void matcher_free(struct matcher *m);

#endif
