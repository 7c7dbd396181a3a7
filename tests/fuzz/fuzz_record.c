/* Fuzzes the record layer (common/record.c, common/json.c) with the input
 * as one NDJSON line. Beyond no crash: record_parse agrees with
 * json_validate; each top-level key, looked up by its decoded text, finds
 * its first member (record_getn, record_get, record_path, record_members)
 * and dotted paths find nested members; texts record_text handed out stay
 * intact while later ones are decoded; a decoded string written back as
 * JSON reads back the same; record_write reproduces the line, and with
 * members dropped and others added writes valid JSON holding exactly the
 * kept members, in order and byte for byte, then the added ones; the
 * tokens, those made at once and those made as arrays and objects are
 * looked into, are jsmn's tokens of the whole line; json_index_find
 * finds what record_getn finds on a line without escapes. The input's
 * bytes, whatever they are, written as a JSON string with
 * buf_add_json_bytes, make valid JSON that reads back as the same bytes,
 * each byte outside valid UTF-8 as the character of its number. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"

#define MAX_MEMBERS 64	/* members checked one against another */
#define MAX_HANDED 512	/* texts checked for staying intact */

struct member {
	int key, value;
	char *name;	/* the decoded key, NUL-terminated (it may hold a NUL) */
	size_t len;
};

/* The texts record_text handed out, and copies of what they said then. */
struct handed {
	struct text t[MAX_HANDED];
	char *copy[MAX_HANDED];
	size_t n;
};

static struct text text_of(struct record *r, int i, struct handed *h)
{
	struct text t = record_text(r, i);
	CHECK(t.n <= (size_t)(r->tok[i].end - r->tok[i].start));
	if (h->n < MAX_HANDED) {
		h->t[h->n] = t;
		h->copy[h->n++] = xstrndup(t.p, t.n);
	}
	return t;
}

static void check_handed(struct handed *h)
{
	for (size_t i = 0; i < h->n; i++) {
		CHECK(memcmp(h->t[i].p, h->copy[i], h->t[i].n) == 0);
		free(h->copy[i]);
	}
	h->n = 0;
}

static bool same(const struct member *a, const char *name, size_t len)
{
	return a->len == len && memcmp(a->name, name, len) == 0;
}

/* The members of object obj, keys decoded; returns how many (at most max). */
static size_t members(struct record *r, int obj, struct member *m, size_t max, struct handed *h)
{
	size_t n = 0;
	int k = obj + 1;
	for (int i = 0; i < r->tok[obj].size && n < max; i++, k = record_skip(r, k + 1)) {
		CHECK(r->tok[k].type == JSMN_STRING);
		struct text t = text_of(r, k, h);
		m[n++] = (struct member){ k, k + 1, xstrndup(t.p, t.n), t.n };
	}
	return n;
}

static void free_members(struct member *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].name);
}

/* The first of m[0..n) named like m[i]. */
static size_t first_named(const struct member *m, size_t i)
{
	size_t j = 0;
	while (!same(&m[j], m[i].name, m[i].len))
		j++;
	return j;
}

static bool plain_name(const struct member *m)
{
	return !memchr(m->name, '\0', m->len) && !memchr(m->name, '.', m->len);
}

/* Lookups of each member of object obj by its name, by path from the top
 * when prefix (a plain top-level name, or NULL for the top) is set. */
static void check_lookups(struct record *r, int obj, const struct member *m, size_t n,
			  const struct member *prefix)
{
	for (size_t i = 0; i < n; i++) {
		int want = m[first_named(m, i)].value;
		CHECK(record_getn(r, obj, m[i].name, m[i].len) == want);
		if (!memchr(m[i].name, '\0', m[i].len))
			CHECK(record_get(r, obj, m[i].name) == want);
		if (!plain_name(&m[i]))
			continue;
		struct buf path = { 0 };
		if (prefix) {
			buf_add(&path, prefix->name, prefix->len);
			buf_addc(&path, '.');
		}
		buf_add(&path, m[i].name, m[i].len);
		CHECK(record_path(r, path.data, path.len) == want);
		buf_free(&path);
	}
}

/* record_members over object obj finds what record_getn finds. */
static void check_keyset(struct record *r, int obj, const struct member *m, size_t n)
{
	const char *keys[KEYSET_MAX + 1];
	size_t nk = 0;
	for (size_t i = 0; i < n && nk < KEYSET_MAX; i++)
		if (first_named(m, i) == i && m[i].len < KEYSET_MAXLEN && !memchr(m[i].name, '\0', m[i].len))
			keys[nk++] = m[i].name;
	keys[nk] = NULL;
	struct keyset ks;
	int values[KEYSET_MAX];
	keyset_init(&ks, keys);
	record_members(r, obj, &ks, values);
	for (size_t i = 0; i < nk; i++)
		CHECK(values[i] == record_get(r, obj, keys[i]));
}

/* A decoded string, written as a JSON string, reads back the same. */
static void check_string(struct text t)
{
	struct buf line = { 0 };
	struct record back = { 0 };
	struct json_error e;
	buf_adds(&line, "{\"k\":");
	buf_add_json_string(&line, t.p, t.n);
	buf_addc(&line, '}');
	CHECK(record_parse(&back, line.data, line.len, &e));
	struct text again = record_text(&back, 2);
	CHECK(again.n == t.n && memcmp(again.p, t.p, t.n) == 0);
	record_free(&back);
	buf_free(&line);
}

static bool in(const char *const *drop, const struct member *m)
{
	for (; drop && *drop; drop++)
		if (same(m, *drop, strlen(*drop)))
			return true;
	return false;
}

static bool same_span(const struct record *a, int i, const struct record *b, int j)
{
	int n = a->tok[i].end - a->tok[i].start;
	return a->tok[i].type == b->tok[j].type && n == b->tok[j].end - b->tok[j].start &&
	       memcmp(a->text + a->tok[i].start, b->text + b->tok[j].start, (size_t)n) == 0;
}

/* record_write with drop and add (nadd members) writes one valid JSON
 * object: r's members not dropped, as they were, then the added ones. */
static void check_write(struct record *r, const struct member *m, size_t n,
			const char *const *drop, const char *add, int nadd)
{
	size_t len;
	char *out = fuzz_written(r, drop, add, strlen(add), &len);
	CHECK(len > 0 && out[len - 1] == '\n');
	struct record back = { 0 };
	struct json_error e;
	CHECK(record_parse(&back, out, len - 1, &e));
	int k = 1, kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (in(drop, &m[i]))
			continue;
		CHECK(kept < back.tok[0].size);
		CHECK(same_span(r, m[i].key, &back, k) && same_span(r, m[i].value, &back, k + 1));
		k = record_skip(&back, k + 1);
		kept++;
	}
	CHECK(back.tok[0].size == kept + nadd);
	record_free(&back);
	free(out);
}

static void check_writes(struct record *r, const uint8_t *data, const struct member *m,
			 size_t n)
{
	size_t len;
	char *out = fuzz_written(r, NULL, "", 0, &len);
	size_t end = (size_t)r->tok[0].end;
	CHECK(len == end + 1 && memcmp(out, data, end) == 0 && out[end] == '\n');
	free(out);

	const char *some[] = { "postback", "fire_at", n ? m[0].name : NULL, NULL };
	check_write(r, m, n, some, "\"postback\":{\"name\":\"p\"},\"fire_at\":\"2026-11-24T10:02:00Z\"", 2);
	const char *all[MAX_MEMBERS + 1];
	size_t na = 0;
	for (size_t i = 0; i < n; i++)
		if (!memchr(m[i].name, '\0', m[i].len))
			all[na++] = m[i].name;
	all[na] = NULL;
	check_write(r, m, n, all, "", 0);
	check_write(r, m, n, all, "\"url\":\"https://h.example/\"", 1);
}

static bool same_token(const jsmntok_t *a, const jsmntok_t *b)
{
	return a->type == b->type && a->start == b->start && a->end == b->end && a->size == b->size;
}

/* The index of the token after all[i] and everything inside it. */
static int skip_all(const jsmntok_t *all, int n, int i)
{
	int j = i + 1;
	while (j < n && all[j].start < all[i].end)
		j++;
	return j;
}

/* The tokens of r are the ones jsmn makes of the whole line, where they
 * are made: an array or object not yet looked into has its own token,
 * then one with start -1 whose end is the index after it. */
static void check_tokens(const struct record *r)
{
	jsmntok_t *all = xreallocarray(NULL, r->ntok, sizeof *all);
	jsmn_parser p;
	jsmn_init(&p);
	CHECK(jsmn_parse(&p, r->text, r->len, all, r->ntok) == (int)r->ntok);
	int n = (int)r->ntok;
	for (int j = 0; j < n;) {
		CHECK(same_token(&r->tok[j], &all[j]));
		bool inside_made = all[j].size == 0 || (all[j].type != JSMN_OBJECT && all[j].type != JSMN_ARRAY) ||
				   r->tok[j + 1].start != -1;
		int after = skip_all(all, n, j);
		CHECK(record_skip(r, j) == after);
		if (!inside_made)
			CHECK(r->tok[j + 1].end == after);
		j = inside_made ? j + 1 : after;
	}
	free(all);
}

/* The source text of token i, quotes included for a string. */
static struct text source_of(const struct record *r, int i)
{
	int q = r->tok[i].type == JSMN_STRING;
	return (struct text){ r->text + r->tok[i].start - q, (size_t)(r->tok[i].end - r->tok[i].start + 2 * q) };
}

/* On a line without escapes, json_index_find, pbdelay's way to a
 * top-level member, finds for each key (and for one cut short) the value
 * record_getn finds, by its source text. */
static void check_index_find(struct record *r, const struct member *m, size_t n)
{
	struct json_shape shape;
	struct json_error e;
	struct json_index index = { 0 };
	CHECK(json_validate(r->text, r->len, &shape, &index, &e));
	for (size_t i = 0; i < n && !r->escapes; i++) {
		for (size_t cut = 0; cut < 2 && cut <= m[i].len; cut++) {
			size_t len = m[i].len - cut;
			const struct json_span *s = json_index_find(&index, r->text, m[i].name, len);
			int v = record_getn(r, 0, m[i].name, len);
			struct text want = v < 0 ? (struct text){ 0 } : source_of(r, v);
			CHECK(s ? want.p == r->text + s->value && want.n == s->value_end - s->value : !want.p);
		}
	}
	json_index_free(&index);
}

/* The bytes written as a JSON string read back as they were, but for
 * a byte outside valid UTF-8, which reads back as U+0080 to U+00FF. */
static void check_bytes(const uint8_t *data, size_t size)
{
	struct buf line = { 0 }, want = { 0 };
	struct record back = { 0 };
	struct json_error e;
	buf_adds(&line, "{\"body\":");
	buf_add_json_bytes(&line, (const char *)data, size);
	buf_addc(&line, '}');
	CHECK(fuzz_json_object(line.data, line.len));
	CHECK(record_parse(&back, line.data, line.len, &e));
	for (size_t i = 0; i < size;) {
		size_t k = json_utf8_len(data + i, data + size);
		if (k) {
			buf_add(&want, data + i, k);
			i += k;
		} else {
			buf_addc(&want, (char)(0xC0 | data[i] >> 6));
			buf_addc(&want, (char)(0x80 | (data[i++] & 0x3F)));
		}
	}
	struct text t = record_text(&back, 2);
	CHECK(t.n == want.len && (!t.n || !memcmp(t.p, want.data, t.n)));
	record_free(&back);
	buf_free(&line);
	buf_free(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_bytes(data, size);
	struct record r = { 0 };
	struct json_error e;
	const char *text = (const char *)data;
	bool parsed = record_parse(&r, text, size, &e);
	CHECK(parsed == fuzz_json_object(text, size));
	struct json_shape shape;
	struct json_index index = { 0 };
	CHECK(json_validate(text, size, &shape, &index, &e) == parsed);
	json_index_free(&index);
	if (!parsed) {
		CHECK(e.offset <= size && e.msg);
		record_free(&r);
		return 0;
	}
	CHECK(r.ntok >= 1 && r.tok[0].type == JSMN_OBJECT);
	check_tokens(&r);

	static struct handed h;
	struct member top[MAX_MEMBERS], sub[MAX_MEMBERS];
	size_t n = members(&r, 0, top, MAX_MEMBERS, &h);
	check_lookups(&r, 0, top, n, NULL);
	check_keyset(&r, 0, top, n);
	check_index_find(&r, top, n);
	for (size_t i = 0; i < n; i++) {
		int v = top[i].value;
		if (r.tok[v].type == JSMN_STRING)
			check_string(text_of(&r, v, &h));
		if (r.tok[v].type != JSMN_OBJECT || first_named(top, i) != i || !plain_name(&top[i]))
			continue;
		CHECK(record_getn(&r, 0, top[i].name, top[i].len) == v);	/* its inside made */
		size_t ns = members(&r, v, sub, MAX_MEMBERS, &h);
		check_lookups(&r, v, sub, ns, &top[i]);
		check_keyset(&r, v, sub, ns);
		free_members(sub, ns);
	}
	static const char *const paths[] = { "type", "postback", "postback.url", "result.status",
					     "", ".", "a..b", "x.", NULL };
	for (const char *const *p = paths; *p; p++) {
		int i = record_path(&r, *p, strlen(*p));
		CHECK(i >= -1 && i < (int)r.ntok);
	}
	if (n < MAX_MEMBERS)	/* the write checks need every member */
		check_writes(&r, data, top, n);
	check_tokens(&r);
	check_handed(&h);
	free_members(top, n);
	record_free(&r);
	return 0;
}
