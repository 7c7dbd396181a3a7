/*
 * The words of a postback's sign block that the rule loader (pbmatch)
 * and pbfire must agree on: the schemes, HMAC algorithms and encodings by
 * name, the headers a Standard Webhooks signature sets, and what may make up the name of a secret (what pbfire looks up
 * in its --secrets file) and of the query parameter a signature goes in.
 * pb-rules(5) describes the block.
 */
#include "signwords.h"

#include <string.h>

const char *const sign_schemes[] = { "standard-webhooks", "hmac", NULL };
const char *const sign_algorithms[] = { "sha1", "sha256", "sha512", NULL };
const char *const sign_encodings[] = { "hex", "base64", NULL };
const char *const sign_webhook_headers[] = {
	"webhook-id", "webhook-timestamp", "webhook-signature", NULL
};

/* The index of s (n bytes) in the NULL-terminated words, or -1. */
int sign_word(const char *const *words, const char *s, size_t n)
{
	for (int i = 0; s && words[i]; i++)
		if (strlen(words[i]) == n && !memcmp(words[i], s, n))
			return i;
	return -1;
}

static bool all_of(const char *s, size_t n, const char *allowed)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(allowed, s[i]))
			return false;
	return n > 0;
}

/* A secret's name: letters, digits, '_', '.' and '-'. */
bool sign_secret_name_ok(const char *s, size_t n)
{
	return all_of(s, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
}

/* A query parameter's name that needs no encoding: RFC 3986 unreserved. */
bool sign_param_name_ok(const char *s, size_t n)
{
	return all_of(s, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~");
}
