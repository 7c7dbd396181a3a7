/*
 * A line signed as its postback's sign block asks (pb-rules(5)): the
 * block is read when the line is, and its secret looked up in --secrets
 * then, so a line naming a secret pbfire does not have fails as invalid.
 * An hmac signature, of the line's sign_message (rendered by pbexpand),
 * is computed once and goes in the URL's query or in a header; Standard
 * Webhooks' webhook-id, webhook-timestamp and webhook-signature headers
 * are made anew for each attempt with that attempt's time, so a line held
 * for hours is never signed stale. The signatures are not secret; the
 * secrets never leave this file and hmac.c.
 */
#include "signing.h"

#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

enum sign_member { SIGN_SCHEME, SIGN_SECRET, SIGN_ALGORITHM, SIGN_ENCODING, SIGN_PARAM, SIGN_HEADER, SIGN_N };
static const char *const sign_members[] = {
	"scheme", "secret", "algorithm", "encoding", "param", "header", NULL
};

static bool wrong(struct buf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool wrong(struct buf *why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	buf_clear(why);
	char *text;
	if (vasprintf(&text, fmt, ap) < 0)
		errx(EXIT_USAGE, "out of memory");
	va_end(ap);
	buf_adds(why, text);
	free(text);
	return false;
}

/* The text of string member i of the sign block, or NULL. */
static const char *member(struct record *r, const int *at, enum sign_member i, struct buf *copy)
{
	if (at[i] < 0 || r->tok[at[i]].type != JSMN_STRING)
		return NULL;
	struct text t = record_text(r, at[i]);
	buf_clear(copy);
	buf_add(copy, t.p, t.n);
	return copy->data;
}

/* Adds ?param=value, or &param=value when the URL has a query, before
 * any fragment, base64's +, / and = percent-encoded. */
static bool add_param(struct job *j, const char *param, const struct buf *value, struct buf *why)
{
	static const char name_chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
	if (!*param || strspn(param, name_chars) != strlen(param))
		return wrong(why, "postback.sign.param: expected a name of letters, digits and -._~");
	struct buf url = { 0 };
	size_t end = strcspn(j->url, "#");
	buf_add(&url, j->url, end);
	buf_addf(&url, "%c%s=", memchr(j->url, '?', end) ? '&' : '?', param);
	for (size_t i = 0; i < value->len; i++) {
		char c = value->data[i];
		if (c == '+' || c == '/' || c == '=')
			buf_addf(&url, "%%%02X", (unsigned char)c);
		else
			buf_addc(&url, c);
	}
	buf_adds(&url, j->url + end);
	free(j->url);
	j->url = url.data;
	j->url_len = url.len;
	return true;
}

static int algorithm(const char *name)
{
	for (int a = 0; hmac_algorithm_names[a]; a++)
		if (name && !strcmp(name, hmac_algorithm_names[a]))
			return a;
	return -1;
}

/* 1 for base64, 0 for hex, -1 for anything else. */
static int base64_encoding(const char *name)
{
	return !name ? -1 : !strcmp(name, "base64") ? 1 : !strcmp(name, "hex") ? 0 : -1;
}

/* The hmac of the line's sign_message under secret, written as the sign
 * block asks, into value; false with why when the block or the message
 * is not one to sign. */
static bool hmac_value(struct record *r, const int *at, const struct secret *secret,
		       struct buf *value, struct buf *why)
{
	struct buf text = { 0 };
	int a = algorithm(member(r, at, SIGN_ALGORITHM, &text));
	int base64 = base64_encoding(member(r, at, SIGN_ENCODING, &text));
	int msg = record_get(r, 0, "sign_message");
	buf_free(&text);
	if (a < 0 || base64 < 0)
		return wrong(why, "postback.sign: expected an algorithm (sha1, sha256, sha512) and an encoding (hex, base64)");
	if (msg < 0 || r->tok[msg].type != JSMN_STRING)
		return wrong(why, "sign_message: %s", msg < 0 ? "missing; pbexpand renders it" : "expected a string");
	unsigned char mac[HMAC_MAX];
	struct text m = record_text(r, msg);
	size_t n = hmac_compute((enum hmac_algorithm)a, secret->value, secret->len, m.p, m.n, mac);
	(base64 ? hmac_add_base64 : hmac_add_hex)(value, mac, n);
	return true;
}

/* Signs the line's sign_message with the first secret of its name, into
 * the URL's query or a header. */
static bool sign_hmac(struct job *j, struct record *r, const int *at, const struct secret *secret,
		      struct buf *why)
{
	struct buf value = { 0 }, name = { 0 };
	bool ok = hmac_value(r, at, secret, &value, why);
	if (ok && member(r, at, SIGN_PARAM, &name))
		ok = add_param(j, name.data, &value, why);
	else if (ok && member(r, at, SIGN_HEADER, &name))
		ok = job_add_header(j, (struct text){ name.data, name.len },
				    (struct text){ value.data, value.len }, "postback.sign.header", why);
	else if (ok)
		ok = wrong(why, "postback.sign: an hmac signature needs a param or a header");
	buf_free(&name);
	buf_free(&value);
	return ok;
}

/* Wipes a decoded secret from memory and frees it. */
static void forget_key(struct buf *key)
{
	if (key->data)
		explicit_bzero(key->data, key->cap);
	buf_free(key);
}

/* Whether s is printable ASCII, as a header value that a verifier
 * reads back byte for byte must be. */
static bool printable_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return n > 0;
}

/* Checks that every secret of the name is a Standard Webhooks one and
 * that the line has the key its webhook-id is. */
static bool prepare_webhook(struct job *j, const struct secrets *s, const char *name, struct buf *why)
{
	struct buf key = { 0 };
	const struct secret *sec = NULL;
	bool ok = true;
	while (ok && (sec = secrets_next(s, name, sec)))
		ok = webhook_secret_decode(sec->value, sec->len, &key);
	forget_key(&key);
	if (!ok)
		return wrong(why, "sign: secret '%s' is not a Standard Webhooks secret (whsec_ and base64)", name);
	if (!j->key || !printable_ascii(j->key, j->key_len))
		return wrong(why, "sign: a standard-webhooks signature needs the line's key, in printable ASCII, to send as webhook-id");
	j->sign.scheme = SIGN_STANDARD_WEBHOOKS;
	j->sign.secret = xstrndup(name, strlen(name));
	for (j->sign.tail = j->headers; j->sign.tail && j->sign.tail->next;)
		j->sign.tail = j->sign.tail->next;
	return true;
}

/* Reads how j is to be signed, and signs it now when its signature does
 * not change from attempt to attempt; false with why when it cannot be. */
bool signing_read(struct job *j, const struct secrets *s, struct buf *why)
{
	struct record *r = &j->rec;
	int pb = record_get(r, 0, "postback"), at[SIGN_N];
	int sign = pb >= 0 ? record_get(r, pb, "sign") : -1;
	if (sign < 0 || record_is_null(r, sign))
		return true;
	if (r->tok[sign].type != JSMN_OBJECT)
		return wrong(why, "postback.sign: expected an object");
	for (int i = 0; i < SIGN_N; i++)
		at[i] = record_get(r, sign, sign_members[i]);
	struct buf scheme = { 0 }, name = { 0 };
	const char *scheme_is = member(r, at, SIGN_SCHEME, &scheme);
	const char *secret = member(r, at, SIGN_SECRET, &name);
	const struct secret *first = secret ? secrets_next(s, secret, NULL) : NULL;
	bool ok;
	if (!secret || !secret_name_ok(secret, name.len))
		ok = wrong(why, "postback.sign.secret: expected the name of a secret");
	else if (!first && !s->path)
		ok = wrong(why, "sign: secret '%s' wanted, and pbfire has no --secrets file", secret);
	else if (!first)
		ok = wrong(why, "sign: no secret named '%s' in the --secrets file", secret);
	else if (scheme_is && !strcmp(scheme_is, "hmac"))
		ok = sign_hmac(j, r, at, first, why);
	else if (scheme_is && !strcmp(scheme_is, "standard-webhooks"))
		ok = prepare_webhook(j, s, secret, why);
	else
		ok = wrong(why, "postback.sign.scheme: expected standard-webhooks or hmac");
	buf_free(&scheme);
	buf_free(&name);
	return ok;
}

static void add_signature_header(struct job *j, const char *name, const char *value)
{
	struct buf line = { 0 };
	buf_addf(&line, "%s: %s", name, value);
	j->headers = curl_slist_append(j->headers, line.data);
	buf_free(&line);
}

/* Signs the attempt of j about to be sent at unix_time, when its
 * signature changes from attempt to attempt: Standard Webhooks headers,
 * with a signature for each secret of the name. */
void signing_attempt(struct job *j, const struct secrets *s, int64_t unix_time)
{
	if (j->sign.scheme != SIGN_STANDARD_WEBHOOKS)
		return;
	struct curl_slist **signature = j->sign.tail ? &j->sign.tail->next : &j->headers;
	curl_slist_free_all(*signature);
	*signature = NULL;
	struct buf key = { 0 }, value = { 0 };
	for (const struct secret *sec = NULL; (sec = secrets_next(s, j->sign.secret, sec));) {
		webhook_secret_decode(sec->value, sec->len, &key);
		webhook_signature(key.data, key.len, j->key, j->key_len, unix_time,
				  j->body ? j->body : "", j->body_len, &value);
	}
	forget_key(&key);
	char stamp[24];
	snprintf(stamp, sizeof stamp, "%lld", (long long)unix_time);
	add_signature_header(j, "webhook-id", j->key);
	add_signature_header(j, "webhook-timestamp", stamp);
	add_signature_header(j, "webhook-signature", value.data);
	buf_free(&value);
}
