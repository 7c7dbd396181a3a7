/* Unit tests of RFC 6570 expansion: the project's own affiliate cases,
 * then every case of the public conformance suite when it is there
 * (PB_CONFORMANCE names its directory; default ../shared/conformance/
 * uritemplate from the source tree). */
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "tap.h"
#include "uritemplate.h"

static struct record rec;

/* Expands template t with the variables of the JSON object vars. */
static bool expand(const char *vars, const char *t, struct buf *out, struct tmpl_error *e)
{
	struct json_error je;
	if (!record_parse(&rec, vars, strlen(vars), &je))
		return false;
	int map = record_get(&rec, 0, "__map");
	struct tmpl_vars v = { &rec, 0, map, NULL, NULL };
	buf_clear(out);
	return tmpl_expand(t, strlen(t), TMPL_URI, &v, out, e);
}

static void expect(const char *vars, const char *t, const char *want)
{
	struct buf out = { 0 };
	struct tmpl_error e = { 0 };
	bool expanded = expand(vars, t, &out, &e);
	ok(expanded && strcmp(out.data, want) == 0, "%s -> %s (got %s)", t, want, expanded ? out.data : e.msg);
	buf_free(&out);
}

static void affiliate_cases(void)
{
	const char *a = "{\"external_transaction_id\":\"pub a&b=c/d+e%f#g\",\"payout\":1.50,"
			"\"status\":\"approved\",\"sub\":\"\xc3\xbc\xf0\x9f\x8e\x89\",\"none\":null,"
			"\"flag\":true,\"__map\":{\"status\":{\"approved\":\"1\",\"rejected\":\"2\"}}}";
	expect(a, "https://p.example/pb?c={external_transaction_id}",
	       "https://p.example/pb?c=pub%20a%26b%3Dc%2Fd%2Be%25f%23g");
	expect(a, "https://p.example/pb?p={payout}&s={status}", "https://p.example/pb?p=1.50&s=1");
	expect(a, "https://p.example/pb?u={sub}&n={none}&f={flag}&m={missing}",
	       "https://p.example/pb?u=%C3%BC%F0%9F%8E%89&n=&f=true&m=");
	expect(a, "https://p.example/pb{?payout,none,sub}", "https://p.example/pb?payout=1.50&sub=%C3%BC%F0%9F%8E%89");
	expect(a, "https://p.example/{+external_transaction_id}", "https://p.example/pub%20a&b=c/d+e%25f#g");
	char longvars[400], longtmpl[400];
	memset(longvars, 0, sizeof longvars);
	snprintf(longvars, sizeof longvars, "{\"%0300d\":\"long\"}", 0);
	snprintf(longtmpl, sizeof longtmpl, "https://h.example/{%0300d}", 0);
	expect(longvars, longtmpl, "https://h.example/long");
	static const char *const bad[] = { "{a", "a}", "{a b}", "{=a}", "{a:0}", "x y", "%zz", "{a..b}" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct tmpl_error e;
		ok(!tmpl_check(bad[i], strlen(bad[i]), TMPL_URI, &e), "check rejects %s (%s at %zu)", bad[i], e.msg, e.offset);
	}
	struct tmpl_error e;
	ok(tmpl_check("https://x.example/{a}{?b,c*}{#d:3}", 34, TMPL_URI, &e), "check accepts a level 4 template");
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct buf b = { 0 };
	char chunk[65536];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, k);
	fclose(f);
	*n = b.len;
	return b.data;
}

/* Whether out equals the expected token: a string, a list of acceptable
 * strings, or false (the template must fail). */
static bool matches(struct record *r, int want, bool expanded, const struct buf *out)
{
	if (r->tok[want].type == JSMN_PRIMITIVE)
		return !expanded;
	if (!expanded)
		return false;
	int first = want, count = 1;
	if (r->tok[want].type == JSMN_ARRAY) {
		first = want + 1;
		count = r->tok[want].size;
	}
	for (int k = 0, j = first; k < count; k++, j = record_skip(r, j)) {
		struct text t = record_text(r, j);
		if (t.n == out->len && (t.n == 0 || memcmp(t.p, out->data, t.n) == 0))
			return true;
	}
	return false;
}

static void run_group(struct record *r, int group, const char *file)
{
	int vars = record_get(r, group, "variables"), cases = record_get(r, group, "testcases");
	struct tmpl_vars v = { r, vars, -1, NULL, NULL };
	struct buf out = { 0 };
	int c = cases + 1;
	for (int k = 0; k < r->tok[cases].size; k++, c = record_skip(r, c)) {
		struct text t = record_text(r, c + 1);
		char *tmpl = xstrndup(t.p, t.n);
		struct tmpl_error e = { "", 0 };
		buf_clear(&out);
		bool expanded = tmpl_expand(tmpl, t.n, TMPL_URI, &v, &out, &e);
		int want = record_skip(r, c + 1);
		ok(matches(r, want, expanded, &out), "%s: %s -> %s", file, tmpl, expanded ? out.data : e.msg);
		free(tmpl);
	}
	buf_free(&out);
}

static void conformance(const char *dir, const char *file)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	size_t n;
	char *text = slurp(path, &n);
	struct record r = { 0 };
	struct json_error e;
	if (!text || !record_parse(&r, text, n, &e)) {
		ok(0, "conformance file %s readable and valid", path);
		free(text);
		return;
	}
	int g = 1;
	for (int k = 0; k < r.tok[0].size; k++, g = record_skip(&r, g + 1))
		run_group(&r, g + 1, file);
	record_free(&r);
	free(text);
}

int main(void)
{
	affiliate_cases();
	const char *dir = getenv("PB_CONFORMANCE");
	if (!dir)
		dir = "../shared/conformance/uritemplate";
	FILE *probe = fopen(dir, "r");
	if (probe) {
		fclose(probe);
		conformance(dir, "spec-examples.json");
		conformance(dir, "spec-examples-by-section.json");
		conformance(dir, "extended-tests.json");
		conformance(dir, "negative-tests.json");
	} else {
		printf("# conformance suite not found in %s: skipped\n", dir);
	}
	record_free(&rec);
	return done();
}
