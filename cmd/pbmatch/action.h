#ifndef PB_ACTION_H
#define PB_ACTION_H

#include <stdbool.h>

#include "buf.h"
#include "record.h"
#include "rules.h"
#include "stamp.h"

/* The fields of an action that rules look at. A text with p == NULL is
 * absent (missing or null). type is TYPE_COUNT for an unknown type. */
struct action {
	enum action_type type;
	struct text transaction_id, offer, publisher, status, reason, event;
	struct stamp time;
	bool has_time;
};

bool action_read(struct record *r, struct action *a, struct buf *why);

#endif
