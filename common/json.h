#ifndef PB_JSON_H
#define PB_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Where and why a line is not valid JSON; offset is 0-based. */
struct json_error {
	const char *msg;
	size_t offset;
};

/* What validation learns on the way: the number of tokens jsmn will
 * produce, and whether any string holds an escape. */
struct json_shape {
	unsigned ntokens;
	bool escapes;
};

/* A value's text: unescaped for strings, the source text for the rest. */
struct text {
	const char *p;
	size_t n;
};

/* A top-level member as validation finds it, in byte offsets from the
 * start of the line: its key's raw text (inside the quotes), its value's
 * source text (quotes included for a string), the index jsmn gives the
 * key's token, and, for an array or object value, how many elements or
 * members it has. */
struct json_span {
	unsigned key, key_end;
	unsigned value, value_end;
	unsigned token;
	unsigned size;
};

/* The top-level members of the last line validated with it, in order,
 * and where the object's braces are. Reused from line to line: it only
 * ever grows to the most members a line has had. */
struct json_index {
	struct json_span *member;
	unsigned n, cap;
	unsigned start, end;
};

#define JSON_MAX_DEPTH 512

bool json_validate(const char *s, size_t n, struct json_shape *shape, struct json_index *index,
		   struct json_error *e);
size_t json_unescape(const char *s, size_t n, char *out);
size_t json_utf8_len(const unsigned char *p, const unsigned char *end);
const struct json_span *json_index_find(const struct json_index *index, const char *text, const char *key,
					size_t n);
void json_index_free(struct json_index *index);

#endif
