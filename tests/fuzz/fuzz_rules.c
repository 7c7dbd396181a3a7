/* Fuzzes the rule-file loader (cmd/pbmatch/rules.c) with the input as the
 * YAML rule file, then what pbmatch and pbexpand do with what it loaded:
 * fixed actions, with the ids, event names and reasons the rules name,
 * are matched (action.c, match.c), each match is written as pbmatch
 * writes it and rendered as pbexpand renders it (uritemplate.c,
 * request.c). Beyond no crash: loaded postbacks are complete, valid
 * (their URL passes the URL template check, an expect's body pattern
 * compiles) and uniquely named; the
 * postbacks found for an action are exactly those pb-rules(5), read key
 * by key, says fire, in file order, none twice; each line written is
 * valid JSON with the dedupe key; a file loads under --strict exactly
 * when it loads without it with no warning; the URL template expands (unless a
 * value is a list or object) to URI characters, and with a literal host
 * to a URL that passes the URL check (httpurl_check) with it; a rendered
 * body and headers are valid JSON members. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "action.h"
#include "fuzz.h"
#include "httpurl.h"
#include "match.h"
#include "request.h"
#include "rules.h"
#include "uritemplate.h"

#define MAX_IDS 3

/* What the actions are made of: ids, an event name and a reason. */
struct parts {
	const char *offer[MAX_IDS + 1], *publisher[MAX_IDS + 1];	/* NULL: absent */
	size_t noffers, npublishers;
	const char *event, *reason;
};

static void add_id(const char **ids, size_t *n, const struct strlist *l)
{
	for (size_t i = 0; i < l->n && *n < MAX_IDS; i++) {
		size_t j = 1;
		while (j < *n && strcmp(ids[j], l->v[i]))
			j++;
		if (j == *n)
			ids[(*n)++] = l->v[i];
	}
}

static void collect_parts(const struct rules *r, struct parts *p)
{
	memset(p, 0, sizeof *p);
	p->noffers = p->npublishers = 1;	/* [0]: the id is absent */
	p->event = "deposit";
	p->reason = "chargeback";
	for (size_t i = 0; i < r->n; i++) {
		const struct postback *pb = &r->pb[i];
		add_id(p->offer, &p->noffers, &pb->offers);
		add_id(p->publisher, &p->npublishers, &pb->publishers);
		if (pb->events.n)
			p->event = pb->events.v[0];
		if (pb->reasons.n)
			p->reason = pb->reasons.v[0];
	}
}

static void add_member(struct buf *b, const char *key, const char *value)
{
	if (!value)
		return;
	buf_addf(b, ",\"%s\":", key);
	buf_add_json_string(b, value, strlen(value));
}

static void action_line(struct buf *b, enum action_type type, const char *offer, const char *publisher,
			const char *status, const struct parts *p)
{
	buf_clear(b);
	buf_addf(b, "{\"type\":\"%s\",\"transaction_id\":\"t1\"", action_type_names[type]);
	add_member(b, "offer_id", offer);
	add_member(b, "publisher_id", publisher);
	add_member(b, "status", status);
	add_member(b, "event_name", p->event);
	add_member(b, "rejection_reason", p->reason);
	buf_adds(b, ",\"external_transaction_id\":\"pub a&b=c/d\",\"payout\":1.50,\"sub_id\":null,"
		    "\"currency\":\"USD\",\"flag\":true,\"time\":\"2026-11-24T10:00:00Z\"}");
}

static bool has(const struct strlist *l, struct text t)
{
	return t.p && strlist_has(l, t.p, t.n);
}

/* Whether pb fires for a, read off pb-rules(5) key by key: type (one of
 * its types), scope (ids compared as text), status (one it names, "any"
 * being approved and rejected; without one, a click fires whatever its
 * status and any other action when approved), rejection_reasons (a
 * rejected action only with one of them; approved ones are not
 * affected), event (an event's name must be one of them; other types
 * have none). */
static bool should_fire(const struct postback *pb, const struct action *a)
{
	if (a->type == TYPE_COUNT || !(pb->types & 1u << a->type))
		return false;
	if ((pb->offers.n && !has(&pb->offers, a->offer)) ||
	    (pb->publishers.n && !has(&pb->publishers, a->publisher)))
		return false;
	bool status_listed = !pb->statuses && (a->type == TYPE_CLICK || text_is(a->status, "approved"));
	for (int s = 0; s < STATUS_COUNT && !status_listed; s++)
		status_listed = pb->statuses & 1u << s && text_is(a->status, action_status_names[s]);
	if (!status_listed)
		return false;
	bool rejected = text_is(a->status, "rejected");
	if (rejected && pb->reasons.n && !has(&pb->reasons, a->reason))
		return false;
	return !pb->events.n || a->type != TYPE_EVENT || has(&pb->events, a->event);
}

/* Whether an expect object, as pbmatch writes it, is valid JSON whose
 * body, if any, compiles as pbfire compiles it. */
static bool expect_is_valid(const char *json)
{
	struct buf line = { 0 };
	struct record r = { 0 };
	struct json_error e;
	buf_addf(&line, "{\"expect\":%s}", json);
	bool ok = record_parse(&r, line.data, line.len, &e);
	int body = ok ? record_path(&r, "expect.body", sizeof "expect.body" - 1) : -1;
	if (body >= 0) {
		regex_t re;
		struct text t = record_text(&r, body);
		char *pattern = xstrndup(t.p, t.n);
		ok = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) == 0;
		if (ok)
			regfree(&re);
		free(pattern);
	}
	record_free(&r);
	buf_free(&line);
	return ok;
}

static void check_loaded(const struct rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct postback *pb = &r->pb[i];
		CHECK(pb->name && pb->url && pb->types && pb->types < 1u << TYPE_COUNT && pb->statuses < 1u << STATUS_COUNT);
		CHECK(pb->delay == 0 || (pb->delay >= MIN_DELAY && pb->delay <= MAX_DELAY));
		CHECK(pb->timeout_ms == 0 || (pb->timeout_ms >= 1 && pb->timeout_ms <= 86400000));
		CHECK(!strncasecmp(pb->url, "http://", 7) || !strncasecmp(pb->url, "https://", 8));
		const char *why;
		CHECK(httpurl_check_template(pb->url, strlen(pb->url), &why));
		CHECK(!pb->body_json || pb->post);
		CHECK(!pb->expect_json || expect_is_valid(pb->expect_json));
		for (size_t j = 0; j < i && j < 64; j++)
			CHECK(strcmp(pb->name, r->pb[j].name) != 0);
		struct buf d = { 0 };
		rules_describe(pb, &d);
		buf_free(&d);
	}
}

/* A template that passed tmpl_check fails only on a value's kind. */
static bool value_error(const char *msg)
{
	return !strcmp(msg, "a list or object nested in a variable") ||
	       !strcmp(msg, "a value makes a {secret:NAME} placeholder, which pbfire would fill with a secret") ||
	       !strcmp(msg, "a prefix applies to strings, not to lists or objects");
}

/* Renders line out, as pbmatch wrote it, as pbexpand does. */
static void check_expand(struct record *out, int pb, struct request *q)
{
	struct text url = record_text(out, record_get(out, pb, "url"));
	struct tmpl_vars v = { out, 0, record_get(out, pb, "map"), NULL, NULL };
	struct tmpl_error e;
	struct buf rendered = { 0 };
	if (tmpl_expand(url.p, url.n, TMPL_URI, &v, &rendered, &e)) {
		CHECK(fuzz_uri_text(rendered.data, rendered.len));
		const char *why;
		size_t origin = httpurl_literal_origin(url.p, url.n);
		CHECK(!origin || (rendered.len >= origin && !memcmp(rendered.data, url.p, origin) &&
				  httpurl_check(rendered.data, rendered.len, NULL, &why)));
	} else {
		CHECK(value_error(e.msg));
	}
	buf_free(&rendered);
	struct request_error re;
	int member[PB_MEMBERS];
	find_postback_members(out, pb, member);
	if (request_render(q, out, member, &v, &re)) {
		struct buf obj = { 0 };
		buf_addc(&obj, '{');
		if (q->members.len)
			buf_add(&obj, q->members.data + 1, q->members.len - 1);
		buf_addc(&obj, '}');
		CHECK(fuzz_json_object(obj.data, obj.len));
		buf_free(&obj);
	} else {
		CHECK(re.why || value_error(re.e.msg));
	}
}

/* Writes the line pbmatch writes for postback i and checks it. */
static void check_line(struct matcher *m, size_t i, struct record *action, const struct action *a,
		       struct request *q)
{
	static const char *const added[] = { "postback", "fire_at", NULL };
	struct buf add = { 0 }, key = { 0 };
	matcher_members(m, i, a, (struct stamp){ 0, 0 }, &add);
	size_t len;
	char *line = fuzz_written(action, added, add.data, add.len, &len);
	CHECK(fuzz_json_object(line, len - 1));
	struct record out = { 0 };
	struct json_error e;
	CHECK(record_parse(&out, line, len - 1, &e));
	int pb = record_get(&out, 0, "postback");
	CHECK(pb >= 0 && record_get(&out, pb, "url") >= 0);
	struct text which = a->type == TYPE_EVENT ? a->event : a->status;
	buf_addf(&key, "t1:%s:%.*s", m->rules->pb[i].name, (int)which.n, which.p);
	int k = record_get(&out, pb, "key");
	CHECK(k >= 0 && text_is(record_text(&out, k), key.data));
	check_expand(&out, pb, q);
	record_free(&out);
	free(line);
	buf_free(&add);
	buf_free(&key);
}

static void check_action(struct matcher *m, const struct buf *line, struct record *r, struct request *q)
{
	struct action a;
	struct buf why = { 0 };
	struct json_error e;
	CHECK(record_parse(r, line->data, line->len, &e));
	CHECK(action_read(r, &a, &why));
	size_t n = matcher_find(m, &a), f = 0;
	for (size_t i = 0; i < m->rules->n; i++) {
		if (!should_fire(&m->rules->pb[i], &a))
			continue;
		CHECK(f < n && m->found[f] == i);	/* in file order, once */
		f++;
	}
	CHECK(f == n);
	for (size_t i = 0; i < n; i++)
		check_line(m, m->found[i], r, &a, q);
	buf_free(&why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_path("rules.yaml");
	struct rules r;
	fuzz_write_file(path, data, size);
	fuzz_quiet();
	bool strict = rules_load(&r, path, true);
	if (strict)
		rules_free(&r);
	bool loaded = rules_load(&r, path, false);
	fuzz_loud();
	unlink(path);
	CHECK(strict == (loaded && !r.warnings));	/* --strict: a warning is an error */
	if (!loaded)
		return 0;
	check_loaded(&r);

	struct matcher m;
	struct parts p;
	struct record rec = { 0 };
	struct request q = { 0 };
	struct buf line = { 0 };
	static const char *const statuses[] = { "approved", "rejected", "pending" };
	matcher_build(&m, &r);
	collect_parts(&r, &p);
	for (int t = 0; t < TYPE_COUNT; t++)
		for (size_t o = 0; o < p.noffers; o++)
			for (size_t u = 0; u < p.npublishers; u++)
				for (int s = 0; s < 3; s++) {
					action_line(&line, (enum action_type)t, p.offer[o], p.publisher[u],
						    statuses[s], &p);
					check_action(&m, &line, &rec, &q);
				}
	buf_free(&line);
	request_free(&q);
	record_free(&rec);
	matcher_free(&m);
	rules_free(&r);
	return 0;
}
