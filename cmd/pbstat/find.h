#ifndef PBSTAT_FIND_H
#define PBSTAT_FIND_H

#include <stdbool.h>

#include "members.h"
#include "stories.h"
#include "tool.h"

/* One --where FIELD=VALUE. */
struct find_term {
	char *field;
	struct text value;
	struct member_path path;	/* the field below its top-level member */
};

/* What --find and --where ask for, and the stories of the records that
 * match. */
struct find {
	const char *value;		/* --find, or NULL */
	struct find_term *term;		/* --where */
	size_t nterms;
	const char *key_field;		/* --key */
	struct members members;		/* of each line: FIND_* then the terms' */
	struct member_path key_path;
	struct buf scratch;
	struct stories stories;
	bool no_index;			/* --no-index */
	struct lines_range *ranges;	/* of the file read, from its index */
};

void find_init(struct find *f);
bool find_where(struct find *f, const char *arg);
bool find_wanted(const struct find *f);
void find_prepare(struct find *f);
bool find_ids(struct find *f, const char *line, size_t len, void (*each)(void *arg, struct text id), void *arg);
int find_run(struct find *f, struct tool *t, char **files, int nfiles, bool json);
void find_free(struct find *f);

#endif
