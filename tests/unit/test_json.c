/* Unit tests of the strict JSON validator and string unescaping. */
#include <string.h>

#include "json.h"
#include "tap.h"

static const char *const valid[] = {
	"{}", " { } ", "{\"a\":1}", "{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":false}",
	"{\"n\":-0.5e+10}", "{\"n\":0}", "{\"n\":1E3}", "{\"s\":\"\\u00e9\\n\\\"\\\\\\/\"}",
	"{\"s\":\"\\ud83d\\ude00\"}", "{\"s\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
	"{\"a\":1,\"a\":2}", "{\"s\":\"\xe2\x82\xac\"}", "\t{\"a\" : [ ] }\r",
};

static const struct {
	const char *text;
	size_t offset;
} invalid[] = {
	{ "[1,,2]", 0 },		/* not an object at all */
	{ "{\"a\":[1,,2]}", 8 },
	{ "{\"a\":1,}", 7 },
	{ "{\"a\":[tru]}", 6 },
	{ "{\"a\":01}", 6 },
	{ "{\"a\":\"x\ty\"}", 7 },
	{ "{\"a\":\"\xc3\"}", 6 },
	{ "{\"a\":\"\xc0\xaf\"}", 6 },	/* overlong */
	{ "{\"a\":\"\xed\xa0\x80\"}", 6 },	/* UTF-8 surrogate */
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", 6 },	/* above U+10FFFF */
	{ "{\"a\":1}{\"b\":2}", 7 },
	{ "{\"a\":1} x", 8 },
	{ "{\"a\":\"\\x\"}", 7 },
	{ "{\"a\":\"\\ud800\"}", 6 },
	{ "{\"a\":\"\\ude00\"}", 6 },
	{ "{\"a\":\"\\u12\"}", 6 },
	{ "{\"a\":\"\\ud800\\u0041\"}", 6 },
	{ "{\"a\":1.}", 7 },
	{ "{\"a\":-}", 6 },
	{ "{\"a\":.5}", 5 },
	{ "{\"a\":+1}", 5 },
	{ "{a:1}", 1 },
	{ "{\"a\" 1}", 5 },
	{ "{\"a\":1", 6 },
	{ "{\"a\":\"x", 7 },
	{ "{\"a\":[1}", 7 },
	{ "", 0 },
	{ "  ", 2 },
	{ "{\"a\":NaN}", 5 },
	{ "{\"a\":truex}", 9 },
};

static void test_depth(void)
{
	char deep[2 * JSON_MAX_DEPTH + 16];
	size_t n = 0;
	deep[n++] = '{';
	memcpy(deep + n, "\"a\":", 4);
	n += 4;
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n++] = '}';
	struct json_shape shape;
	struct json_error e;
	ok(!json_validate(deep, n, &shape, NULL, &e) && strcmp(e.msg, "nesting too deep") == 0,
	   "nesting deeper than %d is refused", JSON_MAX_DEPTH);
}

static void test_unescape(void)
{
	const char in[] = "a\\u00e9\\ud83d\\ude00\\n\\/b";
	char out[sizeof in];
	size_t n = json_unescape(in, strlen(in), out);
	ok(n == 10 && memcmp(out, "a\xc3\xa9\xf0\x9f\x98\x80\n/b", n) == 0, "unescape: BMP, surrogate pair, simple escapes");
}

/* json_validate locating one top-level member: its exact source text,
 * the first of its name, never a nested one. */
static void test_member(void)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
		{ "{\"fire_at\":\"2026-11-24T10:00:00Z\"}", "\"2026-11-24T10:00:00Z\"" },
		{ "{ \"a\" : {\"fire_at\":1}, \"fire_at\" :  12.5 , \"fire_at\":2}", "12.5" },
		{ "{\"b\":[{\"fire_at\":1}],\"fire_at\":null}", "null" },
		{ "{\"fire_at_x\":1,\"fire\":2,\"x\":{\"y\":true}}", NULL },
		{ "{\"fire_at\":{\"x\":[1,2]}}", "{\"x\":[1,2]}" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct json_member m = { "fire_at", 7, { "stale", 5 } };
		struct json_shape shape;
		struct json_error e;
		bool v = json_validate(cases[i].line, strlen(cases[i].line), &shape, &m, &e);
		bool same = cases[i].want ? m.value.p && m.value.n == strlen(cases[i].want) &&
						    memcmp(m.value.p, cases[i].want, m.value.n) == 0
					  : !m.value.p;
		ok(v && same, "member fire_at of %s: %.*s", cases[i].line, (int)m.value.n,
		   m.value.p ? m.value.p : "(none)");
	}
}

int main(void)
{
	struct json_shape shape;
	struct json_error e;
	for (size_t i = 0; i < sizeof valid / sizeof *valid; i++)
		ok(json_validate(valid[i], strlen(valid[i]), &shape, NULL, &e), "valid: %s", valid[i]);
	for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++) {
		bool v = json_validate(invalid[i].text, strlen(invalid[i].text), &shape, NULL, &e);
		ok(!v && e.offset == invalid[i].offset, "invalid at %zu (got %zu, %s): %s", invalid[i].offset,
		   v ? 0 : e.offset, v ? "accepted" : e.msg, invalid[i].text);
	}
	const char *nested = "{\"a\":[1,{\"b\":\"c\"}]}";
	json_validate(nested, strlen(nested), &shape, NULL, &e);
	ok(shape.ntokens == 7 && !shape.escapes, "token count matches jsmn's (got %u)", shape.ntokens);
	test_depth();
	test_unescape();
	test_member();
	return done();
}
