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
#include "tool.h"

#include <string.h>

static bool wrong(struct buf *why, struct record *r, int i, const char *field, const char *want)
{
	buf_clear(why);
	buf_addf(why, "%s: expected %s, got %s", field, want, record_type_name(r, i));
	return false;
}

/* The members an action is read from, in the order of enum field. */
enum field { F_TYPE, F_TID, F_OFFER, F_PUBLISHER, F_STATUS, F_REASON, F_EVENT, F_TIME, F_COUNT };
static const char *const field_names[F_COUNT + 1] = {
	"type", "transaction_id", "offer_id", "publisher_id", "status",
	"rejection_reason", "event_name", "time", NULL,
};

/* Reads an optional member that must be a string, or also a number when
 * numbers is set. Null counts as absent. */
static bool field(struct record *r, const int *at, enum field f, bool numbers, struct text *out,
		  struct buf *why)
{
	int i = at[f];
	*out = (struct text){ 0 };
	if (i < 0 || record_is_null(r, i))
		return true;
	if (r->tok[i].type != JSMN_STRING && !(numbers && record_is_number(r, i)))
		return wrong(why, r, i, field_names[f], numbers ? "a string or a number" : "a string");
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

/* Whether every fire time from the action's time, delay added, can be
 * written: a year at most after it, up to 9999-12-31T23:59:59Z. */
static bool fire_time_fits(struct record *r, int i, struct action *a, struct buf *why)
{
	if (a->time.sec <= STAMP_MAX_SEC - MAX_DELAY)
		return true;
	buf_clear(why);
	buf_addf(why, "time: '%.*s%s' is too late: a delay would take fire_at past the year 9999",
		 SHOWN(r->text + r->tok[i].start, (size_t)(r->tok[i].end - r->tok[i].start)));
	return false;
}

static bool read_time(struct record *r, int i, struct action *a, struct buf *why)
{
	a->has_time = i >= 0 && !record_is_null(r, i);
	if (!a->has_time)
		return true;
	if (record_is_number(r, i)) {
		struct text t = record_text(r, i);
		if (stamp_parse_unix(t.p, t.n, &a->time))
			return fire_time_fits(r, i, a, why);
	} else if (r->tok[i].type == JSMN_STRING) {
		struct text t = record_text(r, i);
		if (stamp_parse_rfc3339(t.p, t.n, &a->time))
			return fire_time_fits(r, i, a, why);
	} else {
		return wrong(why, r, i, "time", "RFC 3339 text or Unix seconds");
	}
	buf_clear(why);
	buf_addf(why, "time: '%.*s%s' is not an RFC 3339 time or Unix seconds",
		 SHOWN(r->text + r->tok[i].start, (size_t)(r->tok[i].end - r->tok[i].start)));
	return false;
}

bool action_read(struct record *r, struct action *a, struct buf *why)
{
	struct text type;
	static struct keyset fields;
	int at[F_COUNT];
	if (!fields.n)
		keyset_init(&fields, field_names);
	record_members(r, 0, &fields, at);
	if (!field(r, at, F_TYPE, false, &type, why) || !required(why, &type, "type") ||
	    !field(r, at, F_TID, true, &a->transaction_id, why) ||
	    !required(why, &a->transaction_id, "transaction_id") ||
	    !field(r, at, F_OFFER, true, &a->offer, why) ||
	    !field(r, at, F_PUBLISHER, true, &a->publisher, why) ||
	    !field(r, at, F_STATUS, false, &a->status, why) ||
	    !field(r, at, F_REASON, false, &a->reason, why) ||
	    !field(r, at, F_EVENT, false, &a->event, why))
		return false;
	a->type = TYPE_COUNT;
	for (int t = 0; t < TYPE_COUNT; t++)
		if (text_is(type, action_type_names[t]))
			a->type = (enum action_type)t;
	return read_time(r, at[F_TIME], a, why);
}
