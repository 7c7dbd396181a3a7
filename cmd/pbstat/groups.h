#ifndef PBSTAT_GROUPS_H
#define PBSTAT_GROUPS_H

#include <stdbool.h>

#include "buf.h"
#include "members.h"
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
	bool by_host;
	struct member_path path;	/* the field below its top-level member */
	struct strmap index;
	struct group **v;
	size_t n;
	struct buf key, scratch;
};

void groups_init(struct groups *g, const char *field);
struct text groups_member(const struct groups *g);
size_t groups_of(struct groups *g, struct text top, bool escaped);
struct summary *groups_at(const struct groups *g, size_t i);
const struct group **groups_by_volume(const struct groups *g);
void groups_free(struct groups *g);

#endif
