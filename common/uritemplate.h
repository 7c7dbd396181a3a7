#ifndef PB_URITEMPLATE_H
#define PB_URITEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "record.h"

/* Why a template cannot be expanded; offset is 0-based in the template. */
struct tmpl_error {
	const char *msg;
	size_t offset;
};

/* Where a template's variables come from: the members of object token obj
 * of a record. map, when not -1, is an object of value maps: map.NAME.VALUE
 * replaces VALUE of variable NAME before encoding. undefined, when set, is
 * told of each variable that is missing (missing true) or null, its name
 * as the template spells it (name points into the template). */
struct tmpl_vars {
	struct record *r;
	int obj, map;
	void (*undefined)(void *arg, const char *name, size_t n, bool missing);
	void *arg;
};

/* URI templates percent-encode values and allow only URI characters in
 * their literal text; text templates (headers, JSON body fields) take
 * values and literals as they are. */
enum tmpl_mode { TMPL_URI, TMPL_TEXT };

void tmpl_encode(struct buf *out, const char *s, size_t n);
bool tmpl_check(const char *t, size_t n, enum tmpl_mode mode, struct tmpl_error *e);
bool tmpl_expand(const char *t, size_t n, enum tmpl_mode mode, const struct tmpl_vars *v,
		 struct buf *out, struct tmpl_error *e);

#endif
