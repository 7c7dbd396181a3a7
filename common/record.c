/*
 * Records: one NDJSON object held as its original bytes plus jsmn tokens.
 * This file owns making the tokens (those of the top-level members from
 * the index validation builds, those inside a top-level array or object
 * with jsmn when it is first looked into, so a line is scanned once and
 * tokenized only where it must be), looking fields up (by key, or by a
 * dotted path such as result.status), reading a value's text (strings
 * unescaped, numbers in their source text so 1.50 stays 1.50), and
 * writing a record back out with members appended and, when a stage runs
 * again, its own earlier members removed. Every other byte of the line is
 * written as it came. Duplicate keys: the first one wins for lookups
 * (jq and Python's json keep the last; pb's own records never repeat a
 * key).
 */
#include "record.h"

#include <err.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The token of a top-level value, from its source text; an array or
 * object gets its size, its inside comes later (see tokenize). */
static jsmntok_t value_token(const char *text, const struct json_span *m)
{
	int start = (int)m->value, end = (int)m->value_end;
	switch (text[start]) {
	case '"': return (jsmntok_t){ .type = JSMN_STRING, .start = start + 1, .end = end - 1 };
	case '{': return (jsmntok_t){ .type = JSMN_OBJECT, .start = start, .end = end, .size = (int)m->size };
	case '[': return (jsmntok_t){ .type = JSMN_ARRAY, .start = start, .end = end, .size = (int)m->size };
	default: return (jsmntok_t){ .type = JSMN_PRIMITIVE, .start = start, .end = end };
	}
}

/* Makes the tokens of the object and of its members' keys and values,
 * as jsmn would, and marks each non-empty array or object value i as not
 * yet tokenized inside: tok[i + 1] has start -1 and, as its end, the
 * index of the token after the value. */
static void top_tokens(struct record *r)
{
	const struct json_index *ix = &r->top;
	r->tok[0] = (jsmntok_t){ .type = JSMN_OBJECT, .start = (int)ix->start, .end = (int)ix->end,
				 .size = (int)ix->n };
	for (unsigned m = 0; m < ix->n; m++) {
		const struct json_span *s = &ix->member[m];
		jsmntok_t *t = &r->tok[s->token];
		t[0] = (jsmntok_t){ .type = JSMN_STRING, .start = (int)s->key, .end = (int)s->key_end, .size = 1 };
		t[1] = value_token(r->text, s);
		if (t[1].size) {
			unsigned after = m + 1 < ix->n ? ix->member[m + 1].token : r->ntok;
			t[2] = (jsmntok_t){ .type = JSMN_UNDEFINED, .start = -1, .end = (int)after };
		}
	}
}

bool record_parse(struct record *r, const char *text, size_t len, struct json_error *e)
{
	struct json_shape shape;
	if (!json_validate(text, len, &shape, &r->top, e))
		return false;
	unsigned need = shape.ntokens;
	if (need > r->cap) {
		r->cap = need < 64 ? 64 : need;
		r->tok = xreallocarray(r->tok, r->cap, sizeof *r->tok);
	}
	r->text = text;
	r->len = len;
	r->ntok = need;
	r->escapes = shape.escapes;
	top_tokens(r);
	buf_clear(&r->scratch);
	while (r->nretired)
		free(r->retired[--r->nretired]);
	return true;
}

/* Whether token i is a top-level array or object not yet tokenized inside. */
static bool untokenized(const struct record *r, int i)
{
	const jsmntok_t *t = &r->tok[i];
	return (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY) && t->size > 0 && t[1].start == -1;
}

/* Makes the tokens inside token i with jsmn, if they are not made yet;
 * returns i. The tokens array is a cache of the line's structure, so this
 * fills it in through a const record. */
static int tokenize(const struct record *r, int i)
{
	if (i < 0 || !untokenized(r, i))
		return i;
	jsmntok_t *t = &r->tok[i];
	int start = t->start;
	jsmn_parser p;
	jsmn_init(&p);
	int n = jsmn_parse(&p, r->text + start, (size_t)(t->end - start), t, r->ntok - (unsigned)i);
	if (n < 1)	/* validation guarantees jsmn's success; never go on without it */
		errx(2, "jsmn cannot tokenize what validation accepted, at column %d", start + 1);
	for (int j = 0; j < n; j++) {
		t[j].start += start;
		t[j].end += start;
	}
	return i;
}

/* The index of the token after token i and everything inside it. */
int record_skip(const struct record *r, int i)
{
	if (untokenized(r, i))
		return r->tok[i + 1].end;
	int end = r->tok[i].end;
	int j = i + 1;
	while ((unsigned)j < r->ntok && r->tok[j].start < end)
		j = untokenized(r, j) ? r->tok[j + 1].end : j + 1;
	return j;
}

/* The key token after the member whose key token is k: two tokens on
 * when the value has nothing inside it, as most values. */
static inline int next_key(const struct record *r, int k)
{
	return r->tok[k + 1].size == 0 ? k + 2 : record_skip(r, k + 1);
}

/* memcmp(a, b, n) == 0, without a call for the short keys of records:
 * eight bytes at a time, the last eight (or four) overlapping. */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t v, w;
	if (n < 4) {
		for (size_t i = 0; i < n; i++)
			if (a[i] != b[i])
				return false;
		return true;
	}
	if (n < 8) {
		memcpy(&v, a, 4), memcpy(&w, b, 4);
		bool head = v == w;
		memcpy(&v, a + n - 4, 4), memcpy(&w, b + n - 4, 4);
		return head && v == w;
	}
	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8), memcpy(&y, b + i, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, a + n - 8, 8), memcpy(&y, b + n - 8, 8);
	return x == y;
}

/* Whether raw key text p[0,n), escapes decoded, is key[0,keylen). A raw
 * key with an escape decodes to fewer bytes than it has, so it can equal
 * only a longer searched key, and never byte for byte. */
static bool escaped_key_equals(const char *p, size_t n, const char *key, size_t keylen)
{
	if (!memchr(p, '\\', n))
		return n == keylen && same_bytes(p, key, n);
	if (n <= keylen || n > 6 * keylen)
		return false;
	char *s = xmalloc(n);
	bool eq = json_unescape(p, n, s) == keylen && memcmp(s, key, keylen) == 0;
	free(s);
	return eq;
}

/* Whether raw key token k, escapes decoded, is key[0,keylen); on a line
 * without escapes, a comparison of lengths first. */
static inline bool key_equals(const struct record *r, int k, const char *key, size_t keylen)
{
	const jsmntok_t *t = &r->tok[k];
	size_t n = (size_t)(t->end - t->start);
	const char *p = r->text + t->start;
	if (r->escapes)
		return escaped_key_equals(p, n, key, keylen);
	return n == keylen && same_bytes(p, key, n);
}

/* The value of member key[0,keylen) of object token obj, or -1. */
int record_getn(const struct record *r, int obj, const char *key, size_t keylen)
{
	if (obj < 0 || r->tok[obj].type != JSMN_OBJECT)
		return -1;
	int k = tokenize(r, obj) + 1;
	for (int m = 0; m < r->tok[obj].size; m++) {
		if (key_equals(r, k, key, keylen))
			return tokenize(r, k + 1);
		k = next_key(r, k);
	}
	return -1;
}

/* Prepares keys (NULL-terminated; at most KEYSET_MAX, each shorter than
 * KEYSET_MAXLEN) for record_members. */
void keyset_init(struct keyset *ks, const char *const *keys)
{
	memset(ks, 0, sizeof *ks);
	for (; keys[ks->n]; ks->n++) {
		ks->key[ks->n] = keys[ks->n];
		ks->len[ks->n] = strlen(keys[ks->n]);
		ks->by_len[ks->len[ks->n]] |= (unsigned short)(1u << ks->n);
	}
}

/* The keys of ks that the raw key token k may equal: those of its length,
 * or any when the line has escapes (an escaped key is longer raw). */
static unsigned candidates(const struct record *r, int k, const struct keyset *ks)
{
	size_t n = (size_t)(r->tok[k].end - r->tok[k].start);
	if (r->escapes)
		return (1u << ks->n) - 1;
	return n < KEYSET_MAXLEN ? ks->by_len[n] : 0;
}

/* Looks up a set of keys in one pass over the members of object obj:
 * values[i] becomes the value token of the i-th key, or -1. */
void record_members(const struct record *r, int obj, const struct keyset *ks, int *values)
{
	unsigned missing = (1u << ks->n) - 1;
	for (size_t i = 0; i < ks->n; i++)
		values[i] = -1;
	int k = tokenize(r, obj) + 1;
	for (int m = 0; m < r->tok[obj].size && missing; m++) {
		for (unsigned c = candidates(r, k, ks) & missing; c; c &= c - 1) {
			int i = __builtin_ctz(c);
			if (key_equals(r, k, ks->key[i], ks->len[i])) {
				values[i] = tokenize(r, k + 1);
				missing &= ~(1u << i);
			}
		}
		k = next_key(r, k);
	}
}

/* The value of member key of object token obj, or -1. */
int record_get(const struct record *r, int obj, const char *key)
{
	return record_getn(r, obj, key, strlen(key));
}

/* The value at dotted path[0,n) from the top object ("result.status"),
 * or -1. */
int record_path(const struct record *r, const char *path, size_t n)
{
	const char *end = path + n;
	int i = 0;
	for (;;) {
		const char *dot = memchr(path, '.', (size_t)(end - path));
		const char *stop = dot ? dot : end;
		i = record_getn(r, i, path, (size_t)(stop - path));
		if (i < 0 || !dot)
			return i;
		path = dot + 1;
	}
}

struct text record_text(struct record *r, int i)
{
	const jsmntok_t *t = &r->tok[i];
	struct text s = { r->text + t->start, (size_t)(t->end - t->start) };
	if (t->type != JSMN_STRING || !r->escapes || !memchr(s.p, '\\', s.n))
		return s;
	/* Earlier texts must stay valid, so the scratch buffer never moves:
	 * one too full for this string is retired (the next parse frees it)
	 * and a new one, room for all of the line's strings, replaces it. */
	if (r->scratch.len + s.n + 1 > r->scratch.cap) {
		if (r->scratch.data) {
			r->retired = xreallocarray(r->retired, r->nretired + 1, sizeof *r->retired);
			r->retired[r->nretired++] = r->scratch.data;
			r->scratch = (struct buf){ 0 };
		}
		buf_reserve(&r->scratch, s.n > r->len ? s.n : r->len);
	}
	char *out = r->scratch.data + r->scratch.len;
	s.n = json_unescape(s.p, s.n, out);
	s.p = out;
	r->scratch.len += s.n;
	return s;
}

bool text_is(struct text t, const char *s)
{
	return t.p && t.n == strlen(s) && memcmp(t.p, s, t.n) == 0;
}

bool record_is_null(const struct record *r, int i)
{
	return r->tok[i].type == JSMN_PRIMITIVE && r->text[r->tok[i].start] == 'n';
}

bool record_is_number(const struct record *r, int i)
{
	char c = r->text[r->tok[i].start];
	return r->tok[i].type == JSMN_PRIMITIVE && (c == '-' || (c >= '0' && c <= '9'));
}

bool record_is_scalar(const struct record *r, int i)
{
	return r->tok[i].type == JSMN_STRING || r->tok[i].type == JSMN_PRIMITIVE;
}

const char *record_type_name(const struct record *r, int i)
{
	switch (r->tok[i].type) {
	case JSMN_OBJECT: return "an object";
	case JSMN_ARRAY: return "an array";
	case JSMN_STRING: return "a string";
	default: break;
	}
	switch (r->text[r->tok[i].start]) {
	case 'n': return "null";
	case 't': case 'f': return "a boolean";
	default: return "a number";
	}
}

/* The first bytes of the names in drop, as bits (byte & 63) of a mask. */
static uint64_t first_bytes(const char *const *drop)
{
	uint64_t mask = 0;
	for (; drop && *drop; drop++)
		mask |= 1ull << ((unsigned char)**drop & 63);
	return mask;
}

/* Whether raw key token k is one of the names in drop, whose first bytes
 * are firsts: on a line without escapes, most keys are told apart by
 * their first byte. */
static bool dropped(const struct record *r, int k, const char *const *drop, uint64_t firsts)
{
	const jsmntok_t *t = &r->tok[k];
	if (!r->escapes && t->end > t->start && !(firsts >> ((unsigned char)r->text[t->start] & 63) & 1))
		return false;
	for (; drop && *drop; drop++)
		if (key_equals(r, k, *drop, strlen(*drop)))
			return true;
	return false;
}

static bool drops_any(const struct record *r, const char *const *drop, uint64_t firsts)
{
	int k = 1;
	for (int m = 0; drop && m < r->tok[0].size; m++) {
		if (dropped(r, k, drop, firsts))
			return true;
		k = next_key(r, k);
	}
	return false;
}

/* The end of member k's value, past its closing quote for a string. */
static int member_end(const struct record *r, int k)
{
	return r->tok[k + 1].end + (r->tok[k + 1].type == JSMN_STRING);
}

/* Appends the text of the top object up to the end of its last member,
 * less the members named in drop, each of which goes with one comma next
 * to it. Returns where the unwritten rest starts; any tells whether a
 * member was kept. */
static int add_without(const struct record *r, struct buf *out, const char *const *drop, uint64_t firsts,
		       bool *any)
{
	int from = r->tok[0].start + 1, k = 1;
	buf_add(out, r->text, (size_t)from);
	*any = false;
	for (int m = 0; m < r->tok[0].size; m++, k = next_key(r, k)) {
		int key = r->tok[k].start - 1, end = member_end(r, k);
		if (!dropped(r, k, drop, firsts)) {
			for (int i = from; i < key; i++)	/* the gap holds one comma */
				if (*any || r->text[i] != ',')
					buf_addc(out, r->text[i]);
			buf_add(out, r->text + key, (size_t)(end - key));
			*any = true;
		}
		from = end;
	}
	return from;
}

/* Writes the record with the members named in drop (NULL-terminated, may
 * be NULL) removed and add (members, no leading comma) appended, then a
 * newline, with one call. Every other byte is written as it came. */
void record_write(struct record *r, FILE *out, const char *const *drop, const char *add, size_t addlen)
{
	struct buf *line = &r->line;
	int close = r->tok[0].end - 1, from = close;
	bool any = r->tok[0].size > 0;
	uint64_t firsts = first_bytes(drop);
	buf_clear(line);
	if (drops_any(r, drop, firsts))
		from = add_without(r, line, drop, firsts, &any);
	else
		buf_add(line, r->text, (size_t)close);
	buf_add(line, r->text + from, (size_t)(close - from));
	if (addlen) {
		if (any)
			buf_addc(line, ',');
		buf_add(line, add, addlen);
	}
	buf_add(line, "}\n", 2);
	fwrite(line->data, 1, line->len, out);
}

static void add_json_member(struct buf *b, const char *name, struct text json)
{
	buf_addf(b, "\"%s\":", name);
	if (json.n)
		buf_add(b, json.p, json.n);
	else
		buf_adds(b, "null");
}

/* Adds to b the object held with one member more, "superseded", naming
 * the action by, for the one final record of a superseded line
 * (pb-records(7)). */
void record_add_superseded(struct buf *b, const struct record *held, const struct superseder *by)
{
	buf_add(b, held->text, (size_t)held->tok[0].end - 1);
	buf_adds(b, held->tok[0].size ? ",\"superseded\":{" : "\"superseded\":{");
	add_json_member(b, "status", by->status);
	buf_addc(b, ',');
	add_json_member(b, "rejection_reason", by->reason);
	buf_addc(b, ',');
	add_json_member(b, "time", by->time);
	buf_adds(b, "}}");
}

void record_free(struct record *r)
{
	free(r->tok);
	json_index_free(&r->top);
	buf_free(&r->line);
	buf_free(&r->scratch);
	while (r->nretired)
		free(r->retired[--r->nretired]);
	free(r->retired);
	r->tok = NULL;
	r->cap = 0;
}
