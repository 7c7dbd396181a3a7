/* Fuzzes pbstat's reading of result records (cmd/pbstat/members.c and
 * result.c), which walks a validated line without tokens: the input as
 * one line. Beyond no crash: on a valid object, members_find finds for
 * each wanted key (result, fire_at and the line's first keys, escaped
 * ones decoded) exactly the value record_getn finds, the first of
 * duplicate keys, as its source text; inside "result" likewise; and
 * result_read gives an outcome in range, a status of -1 or 0 to 999,
 * attempts of 0 or more, and a lag only when it has both times. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "members.h"
#include "result.h"

#define FIRST_KEYS 4

/* The source text of value token v, quotes included for a string. */
static struct text source_text(const struct record *r, int v)
{
	const jsmntok_t *t = &r->tok[v];
	bool quoted = t->type == JSMN_STRING;
	return (struct text){ r->text + t->start - quoted, (size_t)(t->end - t->start) + 2 * quoted };
}

/* Checks members_find on object token obj of r, whose text starts at
 * object: for the keys named and the object's first keys. */
static void check_members(struct record *r, int obj, const char *object, bool escaped,
			  const char *const *named)
{
	struct members m = { 0 };
	for (; *named; named++)
		members_want(&m, *named, strlen(*named));
	int k = obj + 1;
	for (int i = 0; i < r->tok[obj].size && i < FIRST_KEYS; i++, k = record_skip(r, k + 1)) {
		struct text key = record_text(r, k);
		members_want(&m, key.p, key.n);
	}
	members_find(&m, object, escaped);
	for (size_t i = 0; i < m.n; i++) {
		int v = record_getn(r, obj, m.key[i], m.keylen[i]);
		if (v < 0) {
			CHECK(!m.value[i].p);
			continue;
		}
		struct text want = source_text(r, v);
		CHECK(m.value[i].p == want.p && m.value[i].n == want.n);
	}
	members_free(&m);
}

static void check_result(struct text result, struct text fire_at, bool escaped)
{
	struct result_reader rd;
	struct result out;
	result_reader_init(&rd);
	if (result_read(&rd, result, fire_at, escaped, &out)) {
		CHECK(out.outcome < OUTCOMES);
		CHECK(out.status == -1 || (out.status >= 0 && out.status < 1000));
		CHECK(out.attempts >= 0);
		CHECK(!out.has_lag || (fire_at.p && out.has_fired));
	}
	result_reader_free(&rd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const top[] = { "result", "fire_at", NULL };
	static const char *const inner[] = { "ok", "error", "status", "ms", "fired_at", NULL };
	struct json_shape shape;
	struct json_error je;
	struct record r = { 0 };
	char *line = xstrndup((const char *)data, size);
	if (json_validate(line, size, &shape, NULL, &je) && record_parse(&r, line, size, &je)) {
		check_members(&r, 0, line, shape.escapes, top);
		int result = record_get(&r, 0, "result");
		int fire_at = record_get(&r, 0, "fire_at");
		if (result >= 0 && r.tok[result].type == JSMN_OBJECT)
			check_members(&r, result, line + r.tok[result].start, shape.escapes, inner);
		check_result(result >= 0 ? source_text(&r, result) : (struct text){ 0 },
			     fire_at >= 0 ? source_text(&r, fire_at) : (struct text){ 0 }, shape.escapes);
	}
	record_free(&r);
	free(line);
	return 0;
}
