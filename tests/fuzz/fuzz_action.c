/* Fuzzes pbmatch's per-line path (cmd/pbmatch/main.c) with the input's
 * first line (as common/lines.c gives it) as the action and a fixed rule
 * file (clicks, conversions by status and rejection reason, events by
 * name, scopes, delays): record_parse, action_read (with read_time and
 * fire_time_fits), matcher_find, and for each match matcher_members and
 * record_write as pbmatch writes them. Beyond no crash: action_read
 * accepts exactly the lines pb-records(7) allows (required type and
 * transaction_id, members of the right types, a time that parses and
 * leaves a year before the end of 9999), and a rejected line writes
 * nothing; the postbacks written are exactly those the rule table below
 * says fire, in file order, none twice; each line is one valid JSON
 * object with one postback and one fire_at member (pbmatch's own), the
 * dedupe key transaction_id:name:status (event name for events, the type
 * when absent) and a fire_at that parses back to the action's time (or
 * now) plus the delay, so within a year of it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "action.h"
#include "fuzz.h"
#include "match.h"
#include "rules.h"

#define MAX_LIST 3

/* A postback of the rule file, and when pb-rules(5) says it fires: its
 * type, offers and publishers (none: any), the statuses it fires on
 * (none: every click), the reasons a rejected action needs and the event
 * names (none: all). */
static const struct rule {
	const char *yaml;
	enum action_type type;
	const char *offers[MAX_LIST], *publishers[MAX_LIST], *statuses[MAX_LIST];
	const char *reasons[MAX_LIST], *events[MAX_LIST];
	long delay;
} table[] = {
	{ "name: clicks\n    type: click", TYPE_CLICK, .delay = 0 },
	{ "name: clicks-12\n    type: click\n    scope: {offer: 12}\n    delay: 2m", TYPE_CLICK,
	  .offers = { "12" }, .delay = 120 },
	{ "name: approved-clicks\n    type: click\n    status: approved", TYPE_CLICK,
	  .statuses = { "approved" } },
	{ "name: conversions\n    type: conversion\n    status: any", TYPE_CONVERSION,
	  .statuses = { "approved", "rejected" } },
	{ "name: pub7\n    type: conversion\n    scope: {offer: [12, \"13\"], publisher: 7}\n    delay: 1h",
	  TYPE_CONVERSION, .offers = { "12", "13" }, .publishers = { "7" }, .statuses = { "approved" },
	  .delay = 3600 },
	{ "name: chargebacks\n    type: conversion\n    status: rejected\n"
	  "    rejection_reasons: [chargeback, fraud]\n    delay: 8760h",
	  TYPE_CONVERSION, .statuses = { "rejected" }, .reasons = { "chargeback", "fraud" },
	  .delay = 365L * 24 * 3600 },
	{ "name: fraud-7-8\n    type: conversion\n    status: any\n    rejection_reasons: fraud\n"
	  "    scope: {publisher: [7, \"8\", 8]}",
	  TYPE_CONVERSION, .publishers = { "7", "8" }, .statuses = { "approved", "rejected" },
	  .reasons = { "fraud" } },
	{ "name: deposits\n    type: event\n    event: [deposit, signup]", TYPE_EVENT,
	  .statuses = { "approved" }, .events = { "deposit", "signup" } },
	{ "name: rejected-events\n    type: event\n    status: rejected\n"
	  "    scope: {offer: 12, publisher: 7}\n    delay: 180s",
	  TYPE_EVENT, .offers = { "12" }, .publishers = { "7" }, .statuses = { "rejected" }, .delay = 180 },
	{ "name: any-deposit\n    type: event\n    status: any\n    event: deposit\n"
	  "    rejection_reasons: [chargeback]",
	  TYPE_EVENT, .statuses = { "approved", "rejected" }, .reasons = { "chargeback" },
	  .events = { "deposit" } },
};
#define NRULES (sizeof table / sizeof table[0])

/* pbmatch's clock, fixed: 2026-11-24T10:00:00.5Z. */
static const struct stamp now = { 1795514400, 500000000 };

static struct rules rules;
static struct matcher matcher;

static void load_rules(void)
{
	struct buf yaml = { 0 };
	buf_adds(&yaml, "postbacks:\n");
	for (size_t i = 0; i < NRULES; i++)
		buf_addf(&yaml, "  - %s\n    url: https://h.example/pb?t={transaction_id}&s={status}\n",
			 table[i].yaml);
	const char *path = fuzz_path("rules.yaml");
	fuzz_write_file(path, yaml.data, yaml.len);
	CHECK(rules_load(&rules, path, true));
	unlink(path);
	CHECK(rules.n == NRULES);
	matcher_build(&matcher, &rules);
	buf_free(&yaml);
}

/* Whether t is one of list's texts; an empty list holds every text. */
static bool listed(struct text t, const char *const *list)
{
	bool any = !list[0];
	for (size_t i = 0; i < MAX_LIST && list[i] && !any; i++)
		any = text_is(t, list[i]);
	return any;
}

static bool expected(const struct rule *r, const struct action *a)
{
	bool rejected = text_is(a->status, "rejected");
	return r->type == a->type && listed(a->offer, r->offers) && listed(a->publisher, r->publishers) &&
	       listed(a->status, r->statuses) && (!rejected || listed(a->reason, r->reasons)) &&
	       listed(a->event, r->events);
}

/* The member of the action named name: absent (or null), a string, a
 * number or something else. */
enum kind { ABSENT, STRING, NUMBER, OTHER };
static enum kind kind_of(struct record *r, const char *name, struct text *t)
{
	int i = record_get(r, 0, name);
	*t = (struct text){ 0 };
	if (i < 0 || record_is_null(r, i))
		return ABSENT;
	*t = record_text(r, i);
	return r->tok[i].type == JSMN_STRING ? STRING : record_is_number(r, i) ? NUMBER : OTHER;
}

/* Whether pb-records(7) allows the action; its time in *t, if any. */
static bool acceptable(struct record *r, struct stamp *t, bool *has_time)
{
	static const char *const ids[] = { "transaction_id", "offer_id", "publisher_id", NULL };
	static const char *const strings[] = { "type", "status", "rejection_reason", "event_name", NULL };
	struct text v;
	for (const char *const *k = ids; *k; k++)
		if (kind_of(r, *k, &v) > NUMBER)
			return false;
	for (const char *const *k = strings; *k; k++)
		if (kind_of(r, *k, &v) != ABSENT && kind_of(r, *k, &v) != STRING)
			return false;
	if (!kind_of(r, "type", &v) || !v.n || !kind_of(r, "transaction_id", &v) || !v.n)
		return false;
	enum kind time = kind_of(r, "time", &v);
	*has_time = time != ABSENT;
	if (time == STRING && !stamp_parse_rfc3339(v.p, v.n, t))
		return false;
	if (time == NUMBER && !stamp_parse_unix(v.p, v.n, t))
		return false;
	return time == ABSENT || (time != OTHER && t->sec + MAX_DELAY <= STAMP_MAX_SEC);
}

/* How many top-level members of r are named name, escapes decoded. */
static int count_named(struct record *r, const char *name)
{
	int count = 0, k = 1;
	for (int m = 0; m < r->tok[0].size; m++, k = record_skip(r, k + 1))
		count += text_is(record_text(r, k), name);
	return count;
}

/* Checks one line written for action a; returns its postback's index. */
static size_t check_line(const char *line, size_t len, const struct action *a)
{
	struct record out = { 0 };
	struct json_error e;
	CHECK(fuzz_json_object(line, len));
	CHECK(record_parse(&out, line, len, &e));
	CHECK(count_named(&out, "postback") == 1 && count_named(&out, "fire_at") == 1);
	int pb = record_get(&out, 0, "postback");
	CHECK(pb >= 0 && out.tok[pb].type == JSMN_OBJECT);
	int nm = record_get(&out, pb, "name");
	CHECK(nm >= 0);
	struct text name = record_text(&out, nm);
	size_t i = 0;
	while (i < rules.n && !text_is(name, rules.pb[i].name))
		i++;
	CHECK(i < rules.n);

	struct buf key = { 0 };
	struct text which = a->type == TYPE_EVENT ? a->event : a->status;
	buf_add(&key, a->transaction_id.p, a->transaction_id.n);
	buf_addf(&key, ":%s:", rules.pb[i].name);
	if (which.p)
		buf_add(&key, which.p, which.n);
	else
		buf_adds(&key, action_type_names[a->type]);
	int k = record_get(&out, pb, "key");
	CHECK(k >= 0 && out.tok[k].type == JSMN_STRING);
	struct text got = record_text(&out, k);
	CHECK(got.n == key.len && memcmp(got.p, key.data, key.len) == 0);
	buf_free(&key);

	int f = record_get(&out, 0, "fire_at");
	CHECK(out.tok[f].type == JSMN_STRING);
	struct text at = record_text(&out, f);
	struct stamp fire, from = a->has_time ? a->time : now;
	CHECK(stamp_parse_rfc3339(at.p, at.n, &fire));
	CHECK(fire.sec == from.sec + table[i].delay && fire.nsec == from.nsec);
	CHECK(fire.sec >= from.sec && fire.sec <= from.sec + MAX_DELAY);

	record_free(&out);
	return i;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const added_keys[] = { "postback", "fire_at", NULL };
	static struct record rec;
	static struct action a;
	static struct buf add, why;
	struct json_error e;
	if (!rules.n)
		load_rules();
	const char *line = (const char *)data, *end = memchr(line, '\n', size);
	size_t len = end ? (size_t)(end - line) : size;	/* the line pbmatch's reader gives */
	if (len && line[len - 1] == '\r')
		len--;
	if (!record_parse(&rec, line, len, &e))
		return 0;
	struct stamp t = { 0, 0 };
	bool has_time = false, ok = acceptable(&rec, &t, &has_time);
	bool read = action_read(&rec, &a, &why);
	CHECK(read == ok);
	if (!read) {
		CHECK(why.len > 0);
		return 0;	/* pbmatch rejects the line: nothing is written */
	}
	CHECK(a.has_time == has_time && (!has_time || (a.time.sec == t.sec && a.time.nsec == t.nsec)));

	char *out = NULL;
	size_t outlen = 0, n = matcher_find(&matcher, &a);
	FILE *f = open_memstream(&out, &outlen);
	CHECK(f);
	for (size_t i = 0; i < n; i++) {
		buf_clear(&add);
		matcher_members(&matcher, matcher.found[i], &a, now, &add);
		record_write(&rec, f, added_keys, add.data, add.len);
	}
	CHECK(fclose(f) == 0);

	size_t next = 0;	/* the next rule that may fire, in file order */
	for (const char *p = out, *nl; p < out + outlen; p = nl + 1) {
		nl = memchr(p, '\n', outlen - (size_t)(p - out));
		CHECK(nl);
		size_t i = check_line(p, (size_t)(nl - p), &a);
		CHECK(i >= next);
		for (; next < i; next++)
			CHECK(!expected(&table[next], &a));
		CHECK(expected(&table[i], &a));
		next = i + 1;
	}
	for (; next < NRULES; next++)
		CHECK(!expected(&table[next], &a));
	free(out);
	return 0;
}
