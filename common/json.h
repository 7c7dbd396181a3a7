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

/* A top-level member json_validate() locates: its key, and its value's
 * source text (quotes included for a string), p NULL when absent. */
struct json_member {
	const char *key;
	size_t keylen;
	struct text value;
};

#define JSON_MAX_DEPTH 512

bool json_validate(const char *s, size_t n, struct json_shape *shape, struct json_member *want,
		   struct json_error *e);
size_t json_unescape(const char *s, size_t n, char *out);

#endif
