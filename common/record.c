/*
 * Records: one NDJSON object held as its original bytes plus jsmn tokens.
 * This file owns looking fields up (by key, or by a dotted path such as
 * result.status), reading a value's text (strings unescaped, numbers in
 * their source text so 1.50 stays 1.50), and writing a record back out
 * with members appended and, when a stage runs again, its own earlier
 * members removed. Every other byte of the line is written as it came.
 * Duplicate keys: the first one wins, for lookups as for jq's users.
 */
#include "record.h"

#include <stdlib.h>
#include <string.h>

bool record_parse(struct record *r, const char *text, size_t len, struct json_error *e)
{
	struct json_shape shape;
	if (!json_validate(text, len, &shape, NULL, e))
		return false;
	unsigned need = shape.ntokens;
	if (need > r->cap) {
		r->cap = need < 64 ? 64 : need;
		r->tok = xreallocarray(r->tok, r->cap, sizeof *r->tok);
	}
	jsmn_parser p;
	jsmn_init(&p);
	int n = jsmn_parse(&p, text, len, r->tok, r->cap);
	if (n < 1) {	/* cannot happen after validation; never trust it blindly */
		e->msg = "invalid JSON";
		e->offset = p.pos;
		return false;
	}
	r->text = text;
	r->len = len;
	r->ntok = (unsigned)n;
	r->escapes = shape.escapes;
	buf_clear(&r->scratch);
	while (r->nretired)
		free(r->retired[--r->nretired]);
	return true;
}

/* The index of the token after token i and everything inside it. */
int record_skip(const struct record *r, int i)
{
	int end = r->tok[i].end;
	int j = i + 1;
	while ((unsigned)j < r->ntok && r->tok[j].start < end)
		j++;
	return j;
}

/* Whether raw key token k, escapes decoded, is key[0,keylen). A raw key
 * with an escape decodes to fewer bytes than it has, so it can equal
 * only a longer searched key, and never byte for byte. */
static inline bool key_equals(const struct record *r, int k, const char *key, size_t keylen)
{
	const jsmntok_t *t = &r->tok[k];
	size_t n = (size_t)(t->end - t->start);
	const char *p = r->text + t->start;
	if (!r->escapes || !memchr(p, '\\', n))
		return n == keylen && memcmp(p, key, n) == 0;
	if (n <= keylen || n > 6 * keylen)
		return false;
	char *s = xmalloc(n);
	bool eq = json_unescape(p, n, s) == keylen && memcmp(s, key, keylen) == 0;
	free(s);
	return eq;
}

/* The value of member key[0,keylen) of object token obj, or -1. */
int record_getn(const struct record *r, int obj, const char *key, size_t keylen)
{
	if (obj < 0 || r->tok[obj].type != JSMN_OBJECT)
		return -1;
	int k = obj + 1;
	for (int m = 0; m < r->tok[obj].size; m++) {
		if (key_equals(r, k, key, keylen))
			return k + 1;
		k = record_skip(r, k + 1);
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
	int k = obj + 1;
	for (int m = 0; m < r->tok[obj].size && missing; m++) {
		for (unsigned c = candidates(r, k, ks) & missing; c; c &= c - 1) {
			int i = __builtin_ctz(c);
			if (key_equals(r, k, ks->key[i], ks->len[i])) {
				values[i] = k + 1;
				missing &= ~(1u << i);
			}
		}
		k = record_skip(r, k + 1);
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

static bool dropped(const struct record *r, int k, const char *const *drop)
{
	for (; drop && *drop; drop++)
		if (key_equals(r, k, *drop, strlen(*drop)))
			return true;
	return false;
}

static bool drops_any(const struct record *r, const char *const *drop)
{
	int k = 1;
	for (int m = 0; drop && m < r->tok[0].size; m++) {
		if (dropped(r, k, drop))
			return true;
		k = record_skip(r, k + 1);
	}
	return false;
}

/* The end of member k's value, past its closing quote for a string. */
static int member_end(const struct record *r, int k)
{
	return r->tok[k + 1].end + (r->tok[k + 1].type == JSMN_STRING);
}

/* Writes the text of the top object up to the end of its last member,
 * less the members named in drop, each of which goes with one comma next
 * to it. Returns where the unwritten rest starts; any tells whether a
 * member was kept. */
static int write_without(const struct record *r, FILE *out, const char *const *drop, bool *any)
{
	int from = r->tok[0].start + 1, k = 1;
	fwrite(r->text, 1, (size_t)from, out);
	*any = false;
	for (int m = 0; m < r->tok[0].size; m++, k = record_skip(r, k + 1)) {
		int key = r->tok[k].start - 1, end = member_end(r, k);
		if (!dropped(r, k, drop)) {
			for (int i = from; i < key; i++)	/* the gap holds one comma */
				if (*any || r->text[i] != ',')
					fputc(r->text[i], out);
			fwrite(r->text + key, 1, (size_t)(end - key), out);
			*any = true;
		}
		from = end;
	}
	return from;
}

/* Writes the record with the members named in drop (NULL-terminated, may
 * be NULL) removed and add (members, no leading comma) appended, then a
 * newline. Every other byte is written as it came. */
void record_write(const struct record *r, FILE *out, const char *const *drop,
		  const char *add, size_t addlen)
{
	int close = r->tok[0].end - 1, from = close;
	bool any = r->tok[0].size > 0;
	if (drops_any(r, drop))
		from = write_without(r, out, drop, &any);
	else
		fwrite(r->text, 1, (size_t)close, out);
	fwrite(r->text + from, 1, (size_t)(close - from), out);
	if (addlen) {
		if (any)
			fputc(',', out);
		fwrite(add, 1, addlen, out);
	}
	fputs("}\n", out);
}

void record_free(struct record *r)
{
	free(r->tok);
	buf_free(&r->scratch);
	while (r->nretired)
		free(r->retired[--r->nretired]);
	free(r->retired);
	r->tok = NULL;
	r->cap = 0;
}
