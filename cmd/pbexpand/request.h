#ifndef PB_REQUEST_H
#define PB_REQUEST_H

#include <stdbool.h>

#include "buf.h"
#include "record.h"
#include "uritemplate.h"

/* The rendered parts of a POST postback, as JSON member text. */
struct request {
	struct buf members;	/* ,"body":"...","headers":{...},"sign_message":"..." or empty */
	struct buf body, scratch;
};

/* Why rendering failed: a template error, or a header pb refuses, its
 * name or its rendered value (why is then set and e unused). */
struct request_error {
	struct tmpl_error e;
	const char *why;
	struct text part;	/* the template or header at fault */
};

/* The members of a postback object that pbexpand reads, as indexes into
 * what find_postback_members() finds. */
enum postback_member { PB_NAME, PB_URL, PB_MAP, PB_BODY, PB_CONTENT_TYPE, PB_HEADERS, PB_SIGN, PB_MEMBERS };

void find_postback_members(const struct record *r, int postback, int member[PB_MEMBERS]);
bool request_render(struct request *q, struct record *r, const int member[PB_MEMBERS],
		    const struct tmpl_vars *v, struct request_error *err);
void request_free(struct request *q);

#endif
