/*
 * The secret placeholder of a template, "{secret:NAME}": NAME a letter
 * then letters, digits, '_', '.' and '-' (a secret's name in pbfire's
 * --secrets file that starts with a letter), alone in its braces, with no
 * operator. RFC 6570 has no such expression: its {secret:3} is a prefix,
 * which needs digits, so a NAME starting with a letter tells the two
 * apart. pbmatch checks placeholders (uritemplate.c), pbexpand copies
 * them into what it renders as they are, and pbfire fills them with the
 * secrets' values when it sends. This is the one place that says what a
 * placeholder is, for all three.
 */
#include "secretref.h"
#include "signwords.h"

#include <ctype.h>
#include <string.h>

#define OPENING "{secret:"
#define OPENING_LEN (sizeof OPENING - 1)

/* The length of the placeholder at p (text up to end), its name then in
 * *name; 0 when p does not start one. */
size_t secretref_at(const char *p, const char *end, struct text *name)
{
	if ((size_t)(end - p) < OPENING_LEN + 2 || memcmp(p, OPENING, OPENING_LEN))
		return 0;
	const char *n = p + OPENING_LEN, *close = memchr(n, '}', (size_t)(end - n));
	if (!close || !isalpha((unsigned char)*n) || !sign_secret_name_ok(n, (size_t)(close - n)))
		return 0;
	if (name)
		*name = (struct text){ n, (size_t)(close - n) };
	return (size_t)(close + 1 - p);
}

/* The number of placeholders in s[0,n); they never overlap, since a
 * placeholder holds no '{' but its first. */
size_t secretref_count(const char *s, size_t n)
{
	size_t count = 0;
	const char *end = s + n;
	for (const char *p = s; (p = memchr(p, '{', (size_t)(end - p))); p++)
		count += secretref_at(p, end, NULL) > 0;
	return count;
}
