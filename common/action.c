/*
 * Actions: reading the fields the rules look at out of a record, and
 * checking their types. type and transaction_id are required; offer_id,
 * publisher_id and transaction_id may be strings or numbers and compare
 * by their text; status, rejection_reason and event_name are strings or
 * null; time is RFC 3339 text or Unix seconds. Anything else makes the
 * line a rejected one, with the reason in why. An unknown type value is
 * not an error: such an action simply matches no postback.
 */
#include "action.h"

#include <string.h>

bool text_is(struct text t, const char *s)
{
	return t.p && t.n == strlen(s) && memcmp(t.p, s, t.n) == 0;
}

static bool wrong(struct buf *why, struct record *r, int i, const char *field, const char *want)
{
	buf_clear(why);
	buf_addf(why, "%s: expected %s, got %s", field, want, record_type_name(r, i));
	return false;
}

/* Reads an optional field that must be a string, or also a number when
 * numbers is set. Null counts as absent. */
static bool field(struct record *r, const char *name, bool numbers, struct text *out, struct buf *why)
{
	int i = record_get(r, 0, name);
	*out = (struct text){ 0 };
	if (i < 0 || record_is_null(r, i))
		return true;
	if (r->tok[i].type != JSMN_STRING && !(numbers && record_is_number(r, i)))
		return wrong(why, r, i, name, numbers ? "a string or a number" : "a string");
	*out = record_text(r, i);
	return true;
}

static bool required(struct buf *why, const struct text *t, const char *name)
{
	if (t->p && t->n)
		return true;
	buf_clear(why);
	buf_addf(why, "%s: missing or empty", name);
	return false;
}

static bool read_time(struct record *r, struct action *a, struct buf *why)
{
	int i = record_get(r, 0, "time");
	a->has_time = i >= 0 && !record_is_null(r, i);
	if (!a->has_time)
		return true;
	if (record_is_number(r, i)) {
		struct text t = record_text(r, i);
		if (stamp_parse_unix(t.p, t.n, &a->time))
			return true;
	} else if (r->tok[i].type == JSMN_STRING) {
		struct text t = record_text(r, i);
		if (stamp_parse_rfc3339(t.p, t.n, &a->time))
			return true;
	} else {
		return wrong(why, r, i, "time", "RFC 3339 text or Unix seconds");
	}
	buf_clear(why);
	buf_addf(why, "time: '%.*s' is not an RFC 3339 time or Unix seconds",
		 r->tok[i].end - r->tok[i].start, r->text + r->tok[i].start);
	return false;
}

bool action_read(struct record *r, struct action *a, struct buf *why)
{
	struct text type;
	if (!field(r, "type", false, &type, why) || !required(why, &type, "type") ||
	    !field(r, "transaction_id", true, &a->transaction_id, why) ||
	    !required(why, &a->transaction_id, "transaction_id") ||
	    !field(r, "offer_id", true, &a->offer, why) ||
	    !field(r, "publisher_id", true, &a->publisher, why) ||
	    !field(r, "status", false, &a->status, why) ||
	    !field(r, "rejection_reason", false, &a->reason, why) ||
	    !field(r, "event_name", false, &a->event, why))
		return false;
	a->type = TYPE_COUNT;
	for (int t = 0; t < TYPE_COUNT; t++)
		if (text_is(type, action_type_names[t]))
			a->type = (enum action_type)t;
	return read_time(r, a, why);
}
