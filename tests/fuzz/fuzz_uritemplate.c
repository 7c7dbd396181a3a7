/* Fuzzes the URI template engine (common/uritemplate.c): the input is a
 * template, a newline, then the variables as a JSON object ("__map" in it
 * is the value map, as in the unit tests); no newline, no variables.
 * Beyond no crash: tmpl_check accepts exactly what expands with no
 * variables, failing at the same place, and whatever expands; a URI
 * expansion has only URI characters; a template with a literal http(s)
 * host expands to a URL that passes the URL check (httpurl_check) with
 * that host, so no value can send a postback elsewhere; an expansion has
 * the template's secret placeholders, and no more, in either mode, so no
 * value can make pbfire fill a secret; variables reported
 * undefined are missing, or null when not said to be missing; tmpl_encode keeps only unreserved
 * characters and decodes back to its input. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "fuzz.h"
#include "httpurl.h"
#include "secretref.h"
#include "uritemplate.h"

static void note_undefined(void *arg, const char *name, size_t n, bool missing)
{
	struct record *r = arg;
	int i = record_getn(r, 0, name, n);
	if (i < 0 && memchr(name, '.', n))
		i = record_path(r, name, n);
	CHECK(missing ? i < 0 : record_is_null(r, i));
}

/* The rendered URL passes the URL check, with the template's host. */
static void check_origin(const struct buf *url, const char *t, size_t origin)
{
	struct buf got = { 0 };
	const char *why;
	CHECK(httpurl_check(url->data, url->len, &got, &why));
	const char *host = strstr(got.data, "://") + 3, *want = strstr(t, "://") + 3;
	size_t n = (size_t)(strrchr(got.data, ':') - host);	/* "scheme://host:port" */
	CHECK(n == (size_t)(t + origin - want) && !strncasecmp(host, want, n));
	buf_free(&got);
}

static int hexval(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void check_encode(const char *s, size_t n)
{
	struct buf out = { 0 };
	tmpl_encode(&out, s, n);
	size_t k = 0;
	for (size_t i = 0; i < out.len; i++, k++) {
		char c = out.data[i];
		if (c == '%') {
			CHECK(fuzz_uri_text(out.data + i, 3));
			CHECK(k < n && s[k] == (char)(hexval(out.data[i + 1]) << 4 | hexval(out.data[i + 2])));
			i += 2;
		} else {
			CHECK(k < n && s[k] == c && c && (strchr("-._~", c) || isalnum((unsigned char)c)));
		}
	}
	CHECK(k == n);
	buf_free(&out);
}

static void check_mode(const char *t, size_t n, enum tmpl_mode mode, struct record *vars,
		       struct record *none)
{
	struct tmpl_error e = { 0 }, ce = { 0 }, ne = { 0 };
	struct buf out = { 0 };
	bool checked = tmpl_check(t, n, mode, &ce);
	struct tmpl_vars v = { none, 0, -1, NULL, NULL };
	bool bare = tmpl_expand(t, n, mode, &v, &out, &ne);
	CHECK(bare == checked);
	CHECK(checked || (ce.offset == ne.offset && !strcmp(ce.msg, ne.msg) && ce.offset <= n));
	buf_clear(&out);
	int map = record_get(vars, 0, "__map");
	v = (struct tmpl_vars){ vars, 0, map, note_undefined, vars };
	bool expanded = tmpl_expand(t, n, mode, &v, &out, &e);
	CHECK(!expanded || checked);
	CHECK(expanded || e.offset <= n);
	CHECK(!expanded || secretref_count(out.data ? out.data : "", out.len) == secretref_count(t, n));
	if (expanded && mode == TMPL_URI) {
		CHECK(fuzz_uri_text(out.data, out.len));
		size_t origin = httpurl_literal_origin(t, n);
		if (origin) {
			CHECK(out.len >= origin && !memcmp(out.data, t, origin));
			check_origin(&out, t, origin);
		}
	}
	buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nl = memchr(in, '\n', size);
	size_t n = nl ? (size_t)(nl - in) : size;
	char *t = xstrndup(in, n);	/* NUL-terminated for strstr; t[0,n) is the template */
	struct record vars = { 0 }, none = { 0 };
	struct json_error je;
	CHECK(record_parse(&none, "{}", 2, &je));
	if (!nl || !record_parse(&vars, nl + 1, size - n - 1, &je))
		CHECK(record_parse(&vars, "{}", 2, &je));
	check_mode(t, n, TMPL_URI, &vars, &none);
	check_mode(t, n, TMPL_TEXT, &vars, &none);
	check_encode(t, n);
	record_free(&vars);
	record_free(&none);
	free(t);
	return 0;
}
