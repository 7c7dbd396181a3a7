#ifndef PBSTAT_GROUPS_H
#define PBSTAT_GROUPS_H

#include <stdbool.h>

#include "buf.h"
#include "record.h"
#include "strmap.h"
#include "summary.h"

/* One value of the --by field and the summary of its records. */
struct group {
	char *value;		/* NULL: the field is missing or null */
	size_t len;
	struct summary summary;
};

/* The --by groups: a summary for each value of a field, or of the host
 * of "url" (field "host"). */
struct groups {
	const char *field;
	bool by_host, nested;	/* nested: field is dotted */
	struct strmap index;
	struct group **v;
	size_t n;
	struct buf key, scratch;
	struct record rec;	/* the field's top-level member, parsed */
};

void groups_init(struct groups *g, const char *field);
struct text groups_member(const struct groups *g);
struct summary *groups_of(struct groups *g, struct text top);
const struct group **groups_by_volume(const struct groups *g);
void groups_free(struct groups *g);

#endif
