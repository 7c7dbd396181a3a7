#ifndef PB_RULES_H
#define PB_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* A postback's delay, in seconds: the guide's 2-minute minimum, a year
 * at most. */
#define MIN_DELAY 120
#define MAX_DELAY (365L * 24 * 3600)

enum action_type { TYPE_CLICK, TYPE_CONVERSION, TYPE_EVENT, TYPE_COUNT };

/* The action statuses a postback may fire on, each a bit of its
 * statuses (1u << STATUS_...). */
enum action_status { STATUS_APPROVED, STATUS_REJECTED, STATUS_PENDING, STATUS_COUNT };
#define STATUS_ANY (1u << STATUS_APPROVED | 1u << STATUS_REJECTED)	/* status: any */

struct strlist {
	char **v;
	size_t n;
};

/* One postback of the rule file. An empty offers or publishers list
 * means any; an empty reasons or events list means all. types has bit t
 * for each action type it fires on. statuses 0 is no status given: a
 * click fires whatever its status, any other action when approved. */
struct postback {
	char *name;
	unsigned types;
	struct strlist offers, publishers, reasons, events;
	char *url;
	char *map_json;		/* the value maps as a JSON object, or NULL */
	bool post, json_body;	/* method POST; body sent as JSON, not a form */
	char *body_json;	/* the body template(s), a JSON string or object */
	char *headers_json;	/* header templates, a JSON object, or NULL */
	char *sign_json;	/* how pbfire signs it, a JSON object, or NULL */
	long timeout_ms;	/* per attempt; 0: pbfire's --timeout */
	int attempts;		/* attempts in all; 0: as pbfire's options say */
	char *final_json;	/* statuses never retried, a JSON array, or NULL */
	unsigned statuses;
	char *expect_json;	/* what a delivering answer is, a JSON object, or NULL */
	char *rate;		/* at most this many requests, such as "20/s" (common/rate.c), or NULL */
	long delay;		/* seconds; 0 when the postback has none */
	bool keep_when_superseded;	/* supersede: false, a delayed line a later action never stops */
	unsigned long line;	/* where it starts in the rule file */
};

struct rules {
	const char *path;
	struct postback *pb;
	size_t n;
	size_t warnings;	/* reported, and not errors (no --strict) */
};

extern const char *const action_type_names[TYPE_COUNT];
extern const char *const action_status_names[STATUS_COUNT];

bool rules_load(struct rules *r, const char *path, bool strict);
struct buf;
void rules_describe(const struct postback *pb, struct buf *b);
bool strlist_has(const struct strlist *l, const char *s, size_t n);
void rules_free(struct rules *r);

#endif
