#ifndef PB_JSON_H
#define PB_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Where and why a line is not valid JSON; offset is 0-based. */
struct json_error {
	const char *msg;
	size_t offset;
};

#define JSON_MAX_DEPTH 512

bool json_validate(const char *s, size_t n, unsigned *ntokens, struct json_error *e);
size_t json_unescape(const char *s, size_t n, char *out);
bool json_utf8_valid(const char *s, size_t n);

#endif
