/*
 * Finding a few members of a JSON object that json_validate() has
 * accepted, without tokenizing it: one walk over the object that steps
 * over strings to their closing quote and over nested values by their
 * brackets. pbstat walks each line for "result", "fire_at" and the
 * first part of the key and --by fields, then the result object for its
 * members.
 * Tokenizing every line with jsmn took a third more time: a result
 * record is mostly members pbstat does not read. A dotted field (--by,
 * --key) is found the same way, one object down at a time. Only valid JSON may be
 * given: nothing here checks it again. When a key occurs twice the first
 * counts, as everywhere in pb.
 */
#include "members.h"

#include <stdlib.h>
#include <string.h>

/* Adds key (which must stay valid) to those members_find() looks for;
 * its value goes to value[i] for the i-th key added, at most MEMBERS_MAX. */
void members_want(struct members *m, const char *key, size_t keylen)
{
	m->key[m->n] = key;
	m->keylen[m->n] = keylen;
	m->n++;
}

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Past the closing quote of the string whose opening quote is at p: the
 * first quote after it with an even number of backslashes before it.
 * (Stepping over each escape instead would make every step wait for
 * the byte it reads, several times slower.) */
static const char *skip_string(const char *p)
{
	for (p++;; p++) {
		while (*p != '"')
			p++;
		size_t backslashes = 0;
		while (p[-1 - (long)backslashes] == '\\')
			backslashes++;
		if (backslashes % 2 == 0)
			return p + 1;
	}
}

static bool ends_primitive(char c)
{
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Past the value that starts at p. */
static const char *skip_value(const char *p)
{
	if (*p == '"')
		return skip_string(p);
	if (*p != '{' && *p != '[') {
		while (!ends_primitive(*p))
			p++;
		return p;
	}
	for (int depth = 0;; p++) {
		if (*p == '"')
			p = skip_string(p) - 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
	}
}

/* Gives value to each wanted key (a key may be wanted twice, such as
 * --by fire_at) that the raw key s[0,n), between its quotes, is and that
 * has none yet; escaped tells whether it may hold escapes to decode. */
static void give_value(struct members *m, const char *s, size_t n, bool escaped, struct text value)
{
	struct text key = { s, n };
	if (escaped && memchr(s, '\\', n))
		key = member_string((struct text){ s - 1, n + 2 }, &m->scratch);
	for (size_t i = 0; i < m->n; i++)
		if (key.n == m->keylen[i] && (!key.n || *key.p == *m->key[i]) &&
		    memcmp(key.p, m->key[i], key.n) == 0 && !m->value[i].p)
			m->value[i] = value;
}

/* Finds the wanted members in object, valid JSON (the walk needs no
 * length: it stops at the closing brace); escaped tells whether any of
 * its strings may hold an escape (json_shape.escapes). */
void members_find(struct members *m, const char *object, bool escaped)
{
	const char *p = skip_space(object) + 1;
	for (size_t i = 0; i < m->n; i++)
		m->value[i] = (struct text){ NULL, 0 };
	for (p = skip_space(p); *p == '"'; p = skip_space(skip_space(p) + 1)) {
		const char *key = p + 1, *key_end = skip_string(p) - 1;
		const char *value = skip_space(skip_space(key_end + 1) + 1);
		p = skip_value(value);
		give_value(m, key, (size_t)(key_end - key), escaped, (struct text){ value, (size_t)(p - value) });
		if (*skip_space(p) != ',')
			break;
	}
}

/* Steps through the members of an object, valid JSON: *at at its
 * opening brace the first time, then where the last call left it. Gives
 * the next member's key and value as their source texts (quotes
 * included), or false after the last. */
bool members_next(const char **at, struct text *key, struct text *value)
{
	const char *p = skip_space(*at);
	if (*p == '{' || *p == ',')
		p = skip_space(p + 1);
	if (*p != '"')
		return false;
	const char *key_end = skip_string(p);
	*key = (struct text){ p, (size_t)(key_end - p) };
	const char *v = skip_space(skip_space(key_end) + 1);
	*at = skip_value(v);
	*value = (struct text){ v, (size_t)(*at - v) };
	return true;
}

/* The text of a string value (its source text, quotes included), escapes
 * decoded into out when it has any; of any other value, its source text. */
struct text member_string(struct text value, struct buf *out)
{
	if (!value.p || value.n < 2 || *value.p != '"')
		return value;
	struct text s = { value.p + 1, value.n - 2 };
	if (!memchr(s.p, '\\', s.n))
		return s;
	buf_clear(out);
	buf_reserve(out, s.n);
	out->len = json_unescape(s.p, s.n, out->data);
	return (struct text){ out->data, out->len };
}

void members_free(struct members *m)
{
	buf_free(&m->scratch);
}

/* The length of the top-level part of dotted field: up to its first dot. */
size_t member_top(const char *field)
{
	return strcspn(field, ".");
}

/* The parts of dotted field after its top-level one, which must stay
 * valid; none for a field without a dot. */
void member_path_init(struct member_path *p, const char *field)
{
	memset(p, 0, sizeof *p);
	for (const char *s = field + member_top(field); *s; s += 1 + member_top(s + 1)) {
		p->level = xreallocarray(p->level, p->n + 1, sizeof *p->level);
		memset(&p->level[p->n], 0, sizeof *p->level);
		members_want(&p->level[p->n++], s + 1, member_top(s + 1));
	}
}

/* The source text of the value at p below top, the source text of the
 * field's top-level member (p NULL when either is missing); escaped as
 * for members_find. */
struct text member_path_find(struct member_path *p, struct text top, bool escaped)
{
	struct text v = top;
	for (size_t i = 0; i < p->n && v.p; i++) {
		if (*v.p != '{')
			return (struct text){ 0 };
		members_find(&p->level[i], v.p, escaped);
		v = p->level[i].value[0];
	}
	return v;
}

/* The text of a value that is a string (decoded into out), a number or
 * a boolean, as pb compares ids; p NULL for null, an object, an array
 * or none. */
struct text member_scalar(struct text value, struct buf *out)
{
	if (!value.p || *value.p == '{' || *value.p == '[' || *value.p == 'n')
		return (struct text){ 0 };
	return member_string(value, out);
}

void member_path_free(struct member_path *p)
{
	for (size_t i = 0; i < p->n; i++)
		members_free(&p->level[i]);
	free(p->level);
	memset(p, 0, sizeof *p);
}
