/* Fuzzes pbdelay's hold (cmd/pbdelay/hold.c) over a spool it loads. The
 * input is a line, the action to apply (a line or notice, JSON or not),
 * then the body of a spool file: "+DUE LINE" held and "-DUE LINE"
 * released records (the header is added); an input whose body has a
 * malformed record is skipped (fuzz_spool covers those). The spool is
 * loaded with the hold told of each held line, the action applied, and
 * every held line released as pbdelay does (a dropped line's place
 * passed over). Beyond no crash, checked here apart from hold.c: the
 * table ends empty; no two lines released as they are share a postback
 * key and a transaction; the original of a copy (a line with
 * "superseded"), held before it, is not released; no line released as it is
 * was one the action should have superseded (the same type,
 * transaction_id and, for events, event_name, a "postback" object, no
 * "result" or "superseded", no "supersede": false, its action's time
 * before the action's and the action's no later than its due time). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"
#include "hold.h"
#include "spool.h"

static const char header[] = "pbdelay-spool 1\n";
#define MAX_LINE 4096
#define MAX_RECORDS 64

/* A line released, as it is or as a copy: its text, due time and place
 * in the spool. */
struct out {
	char *text;
	size_t len;
	int64_t due;
	uint64_t pos;
};

/* A member of the object r parsed as text, or absent; nested one level
 * with a dot. */
static struct text member(struct record *r, const char *path, jsmntype_t *type)
{
	int i = record_path(r, path, strlen(path));
	*type = i >= 0 ? r->tok[i].type : JSMN_UNDEFINED;
	return i >= 0 ? record_text(r, i) : (struct text){ 0 };
}

static bool same(struct text a, struct text b)
{
	return !a.p == !b.p && a.n == b.n && (!a.n || memcmp(a.p, b.p, a.n) == 0);
}

/* What the checks read of a line, independently of hold.c. */
struct view {
	struct text type, tid, event, key;
	bool typed_ok, has_postback, plain, opted_out, timed, copy;
	int64_t time;
};

static void view(struct record *r, struct view *v)
{
	jsmntype_t t, tt, ti, te, tk, ts, tp;
	memset(v, 0, sizeof *v);
	v->type = member(r, "type", &tt);
	v->tid = member(r, "transaction_id", &ti);
	v->event = member(r, "event_name", &te);
	v->typed_ok = tt == JSMN_STRING && v->type.n && v->tid.n &&
		      (ti == JSMN_STRING || record_is_number(r, record_get(r, 0, "transaction_id")));
	if (te != JSMN_STRING || !text_is(v->type, "event"))
		v->event = (struct text){ 0 };
	member(r, "postback", &tp);
	v->has_postback = tp == JSMN_OBJECT;
	v->copy = record_get(r, 0, "superseded") >= 0;
	v->plain = v->has_postback && record_get(r, 0, "result") < 0 && !v->copy && record_get(r, 0, "notice") < 0;
	if (v->has_postback) {
		struct text s = member(r, "postback.supersede", &ts);
		v->opted_out = ts == JSMN_PRIMITIVE && text_is(s, "false");
		v->key = member(r, "postback.key", &tk);
		if (tk == JSMN_OBJECT || tk == JSMN_ARRAY || (tk == JSMN_PRIMITIVE && text_is(v->key, "null")))
			v->key = (struct text){ 0 };
	}
	struct text time = member(r, "time", &t);
	v->timed = (t == JSMN_STRING || (t == JSMN_PRIMITIVE && record_is_number(r, record_get(r, 0, "time")))) &&
		   hold_action_time(time, t == JSMN_STRING, &v->time);
}

static bool same_transaction(const struct view *a, const struct view *b)
{
	return a->typed_ok && b->typed_ok && same(a->type, b->type) && same(a->tid, b->tid) &&
	       same(a->event, b->event);
}

/* Whether the copy c was made of the line l: l's text up to its closing
 * brace, then a comma. */
static bool copy_of(const struct out *c, struct record *l)
{
	size_t n = (size_t)l->tok[0].end - 1;
	return n < c->len && c->text[n] == ',' && memcmp(c->text, l->text, n) == 0;
}

static void check(struct out *out, size_t n, const char *action, size_t action_len)
{
	static struct record act, a, b;
	struct view va, vb, by = { 0 };
	struct json_error e;
	bool acts = record_parse(&act, action, action_len, &e);
	if (acts)
		view(&act, &by);
	acts = acts && by.typed_ok && by.timed;
	for (size_t i = 0; i < n; i++) {
		if (!record_parse(&a, out[i].text, out[i].len, &e))
			continue;
		view(&a, &va);
		CHECK(!(acts && va.plain && !va.opted_out && va.timed && out[i].due > va.time &&
			same_transaction(&va, &by) && va.time < by.time && by.time <= out[i].due));
		for (size_t j = 0; j < n; j++) {
			if (j == i || !record_parse(&b, out[j].text, out[j].len, &e))
				continue;
			view(&b, &vb);
			if (j > i && va.plain && vb.plain && va.key.p && same(va.key, vb.key))
				CHECK(!(va.typed_ok ? same_transaction(&va, &vb) : !vb.typed_ok));
			if (vb.copy && va.plain && out[i].pos < out[j].pos)
				CHECK(!copy_of(&out[j], &a));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl = memchr(p, '\n', size);
	if (!nl || size > 64 * 1024)
		return 0;
	const char *action = p;
	size_t action_len = (size_t)(nl - p);
	const char *path = fuzz_path("spool");
	if (!fuzz_spool_file(path, header, nl + 1, (size_t)(end - nl - 1), MAX_LINE, MAX_RECORDS))
		return 0;

	struct spool s;
	struct hold h;
	struct record r;
	struct json_error e;
	struct line_facts by;
	memset(&r, 0, sizeof r);
	hold_init(&h, &s);
	spool_open_with(&s, path, "pbdelay", MAX_LINE, hold_loaded, &h);
	h.loading = false;
	if (record_parse(&r, action, action_len, &e)) {
		hold_read(&h, &r, 0, &by);
		hold_supersede(&h, &by);
	}
	struct out out[MAX_RECORDS * 2];
	size_t n = 0;
	int64_t due;
	while (spool_next(&s, &due)) {
		enum hold_place place = hold_place(&h, spool_first(&s));
		hold_forget(&h);
		if (place == HOLD_DROPPED) {
			spool_skip(&s);
			continue;
		}
		size_t len;
		uint64_t pos = spool_first(&s);
		const char *line = spool_take_earliest(&s, &len);
		CHECK(n < sizeof out / sizeof *out);
		out[n++] = (struct out){ xstrndup(line, len), len, due, pos };
	}
	CHECK(h.n == 0 && h.superseding == 0 && h.dropped == 0);
	spool_close(&s);
	check(out, n, action, action_len);
	for (size_t i = 0; i < n; i++)
		free(out[i].text);
	hold_free(&h);
	record_free(&r);
	unlink(path);
	return 0;
}
