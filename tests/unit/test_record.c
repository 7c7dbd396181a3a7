/* Unit tests of record lookups and rewriting. */
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "tap.h"

static bool parse(struct record *r, const char *s)
{
	struct json_error e;
	return record_parse(r, s, strlen(s), &e);
}

static bool text_eq(struct record *r, int i, const char *want)
{
	if (i < 0)
		return false;
	struct text t = record_text(r, i);
	return t.n == strlen(want) && memcmp(t.p, want, t.n) == 0;
}

/* What record_write produces, as a string the caller frees. */
static char *written(struct record *r, const char *const *drop, const char *add)
{
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	record_write(r, f, drop, add, strlen(add));
	fclose(f);
	return out;
}

static void check_write(const char *in, const char *const *drop, const char *add, const char *want)
{
	struct record r = { 0 };
	parse(&r, in);
	char *out = written(&r, drop, add);
	size_t n = strlen(out);
	ok(n > 0 && out[n - 1] == '\n' && (out[n - 1] = '\0', strcmp(out, want) == 0), "write %s + %s -> %s (got %s)", in, add, want, out);
	free(out);
	record_free(&r);
}

/* Texts handed out earlier stay valid while later ones are unescaped,
 * however the scratch space fills (a use-after-free before): lines of
 * many lengths, so one of them makes the scratch space grow between two
 * texts, and an allocation between them, as a tool makes, so growing
 * would move it and the allocator would write over the first text. */
static void check_texts_stay(void)
{
	struct record r = { 0 };
	char line[1200];
	bool parsed = true, intact = true;
	for (int pad = 200; pad < 1000; pad += 8) {
		snprintf(line, sizeof line, "{\"t\":\"\\u0041%040d\",\"o\":\"\\u0031\",\"p\":\"%0*d\"}",
			 0, pad, 0);
		parsed &= parse(&r, line);
		struct text t = record_text(&r, record_get(&r, 0, "t"));
		char *between = xmalloc(32);
		struct text o = record_text(&r, record_get(&r, 0, "o"));
		free(between);
		intact &= t.n == 41 && !memcmp(t.p, "A0000000000000000000000000000000000000000", 41) &&
			  o.n == 1 && o.p[0] == '1';
	}
	ok(parsed && intact, "texts stay valid while later ones are unescaped");
	record_free(&r);
}

/* A raw key with an escape equals only its decoded text. */
static void check_escaped_keys(void)
{
	struct record r = { 0 };
	ok(parse(&r, "{\"a\\nb\":1,\"c\\\\d\":2,\"x\":{\"a\\nb\":3}}"), "parse escaped keys");
	ok(record_get(&r, 0, "a\\nb") < 0, "key a\\nb (backslash, n) does not match a<newline>b");
	ok(text_eq(&r, record_get(&r, 0, "a\nb"), "1"), "key a<newline>b found");
	ok(text_eq(&r, record_get(&r, 0, "c\\d"), "2"), "escaped backslash key found");
	ok(record_path(&r, "x.a\\nb", 6) < 0, "nested: raw escape is not the text");
	record_free(&r);
}

int main(void)
{
	check_texts_stay();
	check_escaped_keys();
	struct record r = { 0 };
	ok(parse(&r, "{\"a\":1.50,\"b\":{\"c\":\"x\\u00e9\"},\"a\":2,\"e\\u0078\":\"k\",\"n\":null}"), "parse");
	ok(text_eq(&r, record_get(&r, 0, "a"), "1.50"), "numbers keep their source text");
	ok(text_eq(&r, record_path(&r, "b.c", 3), "x\xc3\xa9"), "nested path, unescaped");
	ok(text_eq(&r, record_get(&r, 0, "ex"), "k"), "escaped key found by its value");
	ok(record_get(&r, 0, "zz") < 0 && record_path(&r, "a.b", 3) < 0, "missing keys");
	ok(record_is_null(&r, record_get(&r, 0, "n")), "null");
	ok(!strcmp(record_type_name(&r, record_get(&r, 0, "b")), "an object"), "type names");

	static const char *const drop_pb[] = { "postback", "fire_at", NULL };
	check_write("{\"a\":1}", NULL, "\"x\":2", "{\"a\":1,\"x\":2}");
	check_write("{}", NULL, "\"x\":2", "{\"x\":2}");
	check_write("{ \"a\" : 1 , \"b\":[1, 2] }", NULL, "\"x\":2", "{ \"a\" : 1 , \"b\":[1, 2] ,\"x\":2}");
	check_write("{\"postback\":{\"n\":1},\"a\":1,\"fire_at\":\"t\"}", drop_pb, "\"postback\":2",
		    "{\"a\":1,\"postback\":2}");
	check_write("{\"postback\":1}", drop_pb, "\"postback\":2", "{\"postback\":2}");
	check_write("{\"a\":\"s\",\"postback\":1,\"b\":\"t\"}", drop_pb, "\"postback\":2",
		    "{\"a\":\"s\",\"b\":\"t\",\"postback\":2}");
	check_write("{ \"fire_at\" : 1 , \"a\" : \"s\" ,\"postback\":{}\t}", drop_pb, "\"x\":2",
		    "{  \"a\" : \"s\"\t,\"x\":2}");
	check_write("{\"a\":[1,{\"b\":2}], \"fire_at\":\"t\", \"c\":3}", drop_pb, "",
		    "{\"a\":[1,{\"b\":2}], \"c\":3}");
	record_free(&r);
	return done();
}
