/* Unit tests of the strict JSON validator and string unescaping. */
#include <string.h>

#include "buf.h"
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

/* Bytes from anywhere written as a JSON string: valid UTF-8 as it is
 * (a sequence across the eight-byte steps too), control characters
 * escaped, NUL as \u0000, every other byte \u00XX; the result is valid
 * JSON. */
static void test_bytes(void)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} cases[] = {
		{ "OK", 2, "\"OK\"" },
		{ "a\0b", 3, "\"a\\u0000b\"" },
		{ "caf\xe9!", 5, "\"caf\\u00e9!\"" },
		{ "1234567\xc3\xa9x", 10, "\"1234567\xc3\xa9x\"" },
		{ "\xc3(\xed\xa0\x80\xf4\x90", 7, "\"\\u00c3(\\u00ed\\u00a0\\u0080\\u00f4\\u0090\"" },
		{ "\"\\\n\x7f\xf0\x9f\x98\x80", 8, "\"\\\"\\\\\\n\x7f\xf0\x9f\x98\x80\"" },
		{ "12345678\xf0\x9f\x98", 11, "\"12345678\\u00f0\\u009f\\u0098\"" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct buf b = { 0 }, line = { 0 };
		struct json_shape shape;
		struct json_error e;
		buf_add_json_bytes(&b, cases[i].in, cases[i].n);
		buf_addf(&line, "{\"s\":%s}", b.data);
		ok(!strcmp(b.data, cases[i].out) && json_validate(line.data, line.len, &shape, NULL, &e),
		   "bytes as a JSON string: %s", b.data);
		buf_free(&b);
		buf_free(&line);
	}
}

/* The index of the top-level members: each key's raw text, each value's
 * source text, the key token's index as jsmn counts and the size of an
 * array or object value; nested members are not in it; json_index_find
 * finds the first of a name. */
static void test_index(void)
{
	static const struct {
		const char *line, *want;
	} cases[] = {
		{ "{}", "" },
		{ "{\"fire_at\":\"2026-11-24T10:00:00Z\"}", "1 fire_at=\"2026-11-24T10:00:00Z\"" },
		{ " { \"a\" : {\"fire_at\":1}, \"fire_at\" :  12.5 , \"fire_at\":2} ",
		  "1 a={\"fire_at\":1}/1 5 fire_at=12.5 7 fire_at=2" },
		{ "{\"b\":[{\"x\":1},[]],\"c\\\"d\":null,\"e\":[]}", "1 b=[{\"x\":1},[]]/2 7 c\\\"d=null 9 e=[]" },
	};
	struct json_index ix = { 0 };
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct json_shape shape;
		struct json_error e;
		struct buf got = { 0 };
		const char *line = cases[i].line;
		bool v = json_validate(line, strlen(line), &shape, &ix, &e);
		buf_clear(&got);	/* got.data is a string even with no member */
		for (unsigned m = 0; v && m < ix.n; m++) {
			const struct json_span *s = &ix.member[m];
			buf_addf(&got, "%s%u %.*s=%.*s", m ? " " : "", s->token, (int)(s->key_end - s->key),
				 line + s->key, (int)(s->value_end - s->value), line + s->value);
			if (s->size)
				buf_addf(&got, "/%u", s->size);
		}
		bool braces = v && line[ix.start] == '{' && line[ix.end - 1] == '}';
		ok(v && braces && strcmp(got.data, cases[i].want) == 0, "index of %s: %s", line, got.data);
		buf_free(&got);
	}
	const char *line = "{\"fire\":1,\"fire_at\":2,\"x\":{\"fire_at\":3},\"fire_at\":4}";
	struct json_shape shape;
	struct json_error e;
	const struct json_span *s = json_validate(line, strlen(line), &shape, &ix, &e)
		? json_index_find(&ix, line, "fire_at", 7) : NULL;
	ok(s && line[s->value] == '2' && !json_index_find(&ix, line, "fire_a", 6), "json_index_find: %s", line);
	json_index_free(&ix);
}

/* Strings of every length up to 40 with a byte that ends the plain run
 * (a quote, a backslash, a control character, a byte >= 0x80) at every
 * place, so both the wide and the narrow scans meet it at every offset
 * of their blocks. */
static void test_plain_runs(void)
{
	static const struct {
		const char *text;
		bool valid;
		size_t fault;	/* where an invalid line fails, after the stop's place */
	} stops[] = {
		{ "\\n", true, 0 }, { "\xc3\xa9", true, 0 }, { "\x01", false, 0 }, { "\xff", false, 0 },
		{ "\"", false, 1 },	/* the string ends there, and the object should */
	};
	int wrong = 0, runs = 0;
	for (size_t s = 0; s < sizeof stops / sizeof *stops; s++) {
		for (size_t len = 0; len <= 40; len++) {
			for (size_t at = 0; at <= len; at++, runs++) {
				char line[128];
				size_t n = 0;
				memcpy(line + n, "{\"k\":\"", 6);
				n += 6;
				memset(line + n, 'a', at);
				n += at;
				memcpy(line + n, stops[s].text, strlen(stops[s].text));
				n += strlen(stops[s].text);
				memset(line + n, 'b', len - at);
				n += len - at;
				memcpy(line + n, "\"}", 2);
				n += 2;
				struct json_shape shape;
				struct json_error e;
				bool v = json_validate(line, n, &shape, NULL, &e);
				wrong += v != stops[s].valid || (!v && e.offset != 6 + at + stops[s].fault);
			}
		}
	}
	ok(wrong == 0, "%d strings, each stopping byte at each place: %d judged wrong", runs, wrong);
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
	test_bytes();
	test_index();
	test_plain_runs();
	return done();
}
