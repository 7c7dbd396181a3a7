/*
 * The secrets of a URL masked for a page others read (pbstat(1), --html):
 * the user information before the host, "https://user:pw@host" showing
 * as "https://MASK@host", and the value of each query parameter whose
 * name, in any case, contains one of the words below, "?token=abc&c=1"
 * showing as "?token=MASK&c=1" (MASK is three asterisks). pbfire's
 * signing secrets never reach a record; these are the secrets a
 * publisher put in its own postback URL. What a URL holds elsewhere, in
 * its path, cannot be told from an id and is shown.
 */
#include "mask.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const char *const secret_words[] = { "token", "key", "secret", "pass", "pwd", "sig", "auth", NULL };

static bool names_secret(const char *name, size_t n)
{
	for (const char *const *w = secret_words; *w; w++) {
		size_t wn = strlen(*w);
		for (size_t i = 0; i + wn <= n; i++)
			if (strncasecmp(name + i, *w, wn) == 0)
				return true;
	}
	return false;
}

/* Copies the authority of u[0,n), from p, with its user information
 * masked; returns where the authority ends. */
static const char *add_authority(const char *p, const char *end, struct buf *out)
{
	const char *stop = p;
	while (stop < end && *stop != '/' && *stop != '?' && *stop != '#')
		stop++;
	const char *at = memrchr(p, '@', (size_t)(stop - p));
	if (at) {
		buf_adds(out, MASK);
		p = at;
	}
	buf_add(out, p, (size_t)(stop - p));
	return stop;
}

/* Copies the query p[0,end), without its '?', with secret values masked. */
static void add_query(const char *p, const char *end, struct buf *out)
{
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		if (eq && names_secret(p, (size_t)(eq - p))) {
			buf_add(out, p, (size_t)(eq + 1 - p));
			buf_adds(out, MASK);
		} else {
			buf_add(out, p, (size_t)(stop - p));
		}
		if (amp)
			buf_addc(out, '&');
		p = amp ? amp + 1 : end;
	}
}

/* Appends u[0,n) to out, its secrets masked. */
void mask_url(const char *u, size_t n, struct buf *out)
{
	const char *p = u, *end = u + n;
	const char *scheme = memmem(u, n, "://", 3);
	if (scheme && !memchr(u, '?', (size_t)(scheme - u)) && !memchr(u, '/', (size_t)(scheme - u))) {
		buf_add(out, u, (size_t)(scheme + 3 - u));
		p = add_authority(scheme + 3, end, out);
	}
	const char *q = memchr(p, '?', (size_t)(end - p));
	const char *hash = memchr(p, '#', (size_t)(end - p));
	if (!q || (hash && hash < q)) {
		buf_add(out, p, (size_t)(end - p));
		return;
	}
	const char *query_end = hash ? hash : end;
	buf_add(out, p, (size_t)(q + 1 - p));
	add_query(q + 1, query_end, out);
	buf_add(out, query_end, (size_t)(end - query_end));
}
