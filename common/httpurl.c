/*
 * Where pb sends a postback: an absolute http or https URL with a host.
 * This is the one definition of it, applied by the rule loader to a URL
 * template, by pbexpand to the URL it renders and by pbfire to the URL it
 * sends to, so that what one accepts the others accept. The URL starts
 * with "http://" or "https://" (in any case) and a host, and libcurl's
 * URL parser, the one that sends it, reads it as http or https with a
 * host. The literal test comes first because libcurl is lenient: it reads
 * "https:///x" and "https:/x" as host x. Each URL gets a parser of its
 * own, since a parser that has read a URL resolves the next one against
 * it, so "/x" would pass after "https://h/".
 */
#include "httpurl.h"
#include "tool.h"

#include <ctype.h>
#include <curl/curl.h>
#include <err.h>
#include <string.h>
#include <strings.h>

#define STAND_IN "1"	/* what a template's expressions stand for */

/* The length of the "http://" or "https://" that url (n bytes) starts
 * with, or 0. */
static size_t scheme_length(const char *url, size_t n)
{
	return n >= 7 && !strncasecmp(url, "http://", 7) ? 7 : n >= 8 && !strncasecmp(url, "https://", 8) ? 8 : 0;
}

/* "scheme://host:port" of the URL u holds, in origin. */
static void get_origin(CURLU *u, const char *host, struct buf *origin)
{
	char *scheme = NULL, *port = NULL;
	curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
	buf_clear(origin);
	buf_addf(origin, "%s://%s:%s", scheme ? scheme : "", host, port ? port : "");
	curl_free(scheme);
	curl_free(port);
}

/* Reads url with libcurl: NULL when it has a host, "scheme://host:port"
 * then in origin (when not NULL); otherwise why not. */
static const char *parse(const char *url, struct buf *origin)
{
	char *host = NULL;
	CURLU *u = curl_url();
	if (!u)
		errx(EXIT_FATAL, "curl_url: out of memory");
	CURLUcode rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc == CURLUE_OK)
		curl_url_get(u, CURLUPART_HOST, &host, 0);
	const char *why = rc != CURLUE_OK ? curl_url_strerror(rc) : !host || !*host ? "no host" : NULL;
	if (!why && origin)
		get_origin(u, host, origin);
	curl_free(host);
	curl_url_cleanup(u);
	return why;
}

/* Whether url is an absolute http or https URL with a host; true with its
 * "scheme://host:port" in origin when origin is not NULL, false with why.
 * url is a string, url[n] its terminating NUL: n tells a NUL inside the
 * text, which is refused, from the end. */
bool httpurl_check(const char *url, size_t n, struct buf *origin, const char **why)
{
	size_t scheme = scheme_length(url, n);
	if (memchr(url, '\0', n))
		*why = "a NUL character";
	else if (!scheme)
		*why = "not an http or https URL";
	else if (strchr("/?#", url[scheme]))	/* the end of url too */
		*why = "no host";
	else
		*why = parse(url, origin);
	return !*why;
}

/* Whether URL template tmpl (n bytes, well formed: see tmpl_check) can
 * render an acceptable URL: checked with each expression standing for a
 * digit, which fits a host, a port, a path or a query alike. */
bool httpurl_check_template(const char *tmpl, size_t n, const char **why)
{
	struct buf url = { 0 };
	const char *p = tmpl, *end = tmpl + n;
	buf_clear(&url);
	while (p < end) {
		const char *open = memchr(p, '{', (size_t)(end - p));
		const char *close = open ? memchr(open, '}', (size_t)(end - open)) : NULL;
		if (!close) {
			buf_add(&url, p, (size_t)(end - p));
			break;
		}
		buf_add(&url, p, (size_t)(open - p));
		buf_adds(&url, STAND_IN);
		p = close + 1;
	}
	bool ok = httpurl_check(url.data, url.len, NULL, why);
	buf_free(&url);
	return ok;
}

/* The length of template tmpl's literal "http://HOST" or "https://HOST"
 * prefix, HOST a domain name (letters, digits, '.' and '-', its last
 * label starting with a letter) followed by '/', '?', '#' or the end; 0
 * when it has none. No value can change such a host, and every URL such
 * a template renders, up to HTTPURL_MAX bytes, passes httpurl_check (the
 * uritemplate and rules fuzzers check both), so pbexpand checks it once. */
size_t httpurl_literal_origin(const char *tmpl, size_t n)
{
	size_t i = scheme_length(tmpl, n);
	size_t label = i;	/* where the host's last label starts */
	if (!i)
		return 0;
	for (; i < n && tmpl[i] && (isalnum((unsigned char)tmpl[i]) || tmpl[i] == '-' || tmpl[i] == '.'); i++)
		if (tmpl[i] == '.')
			label = i + 1;
	if (label == i || !isalpha((unsigned char)tmpl[label]))	/* not a name: curl reads 1.2 as 1.0.0.2 */
		return 0;
	return i == n || tmpl[i] == '/' || tmpl[i] == '?' || tmpl[i] == '#' ? i : 0;
}
