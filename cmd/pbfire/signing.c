/*
 * A line signed as its postback's sign block asks (pb-rules(5)): the
 * block is read when the line is, and its secret looked up in --secrets
 * then, so a line naming a secret pbfire does not have fails as invalid.
 * An hmac signature, of the line's sign_message (rendered by pbexpand),
 * is computed once and goes in the URL's query or in a header; Standard
 * Webhooks' webhook-id, webhook-timestamp and webhook-signature headers
 * are made anew for each attempt with that attempt's time, so a line held
 * for hours is never signed stale, over the body as sent, its secret
 * placeholders filled (fill.c). The signatures are not secret; the
 * secrets never leave this file, hmac.c and fill.c.
 */
#include "signing.h"
#include "hmac.h"
#include "signwords.h"
#include "uritemplate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The members of a sign block that pbfire reads. */
enum block_member { BLOCK_SCHEME, BLOCK_SECRET, BLOCK_ALGORITHM, BLOCK_ENCODING, BLOCK_PARAM, BLOCK_HEADER, BLOCK_N };
static const char *const block_members[] = {
	"scheme", "secret", "algorithm", "encoding", "param", "header", NULL
};

/* A sign block's string members by enum block_member; p is NULL for one
 * that is absent or not a string. */
struct sign_block {
	struct text member[BLOCK_N];
};

static void read_block(struct record *r, int sign, struct sign_block *b)
{
	for (int i = 0; i < BLOCK_N; i++) {
		int at = record_get(r, sign, block_members[i]);
		b->member[i] = at >= 0 && r->tok[at].type == JSMN_STRING ? record_text(r, at)
									 : (struct text){ NULL, 0 };
	}
}

/* Adds ?param=value, or &param=value when the URL has a query, before
 * any fragment, value percent-encoded (base64's +, / and =). */
static bool add_param(struct job *j, struct text param, const struct buf *value, struct buf *why)
{
	if (!sign_param_name_ok(param.p, param.n))
		return job_refuse(why, "postback.sign.param: expected a name of letters, digits and -._~");
	struct buf url = { 0 };
	size_t end = strcspn(j->url, "#");
	buf_add(&url, j->url, end);
	if (!memchr(j->url, '?', end))
		buf_addc(&url, '?');
	else if (j->url[end - 1] != '?' && j->url[end - 1] != '&')
		buf_addc(&url, '&');
	buf_add(&url, param.p, param.n);
	buf_addc(&url, '=');
	tmpl_encode(&url, value->data, value->len);
	buf_adds(&url, j->url + end);
	free(j->url);
	j->url = url.data;
	j->url_len = url.len;
	return true;
}

/* The hmac of the line's sign_message under secret, written as the sign
 * block asks, into value; false with why when the block or the message
 * is not one to sign. */
static bool hmac_value(struct record *r, const struct sign_block *b, const struct secret *secret,
		       struct buf *value, struct buf *why)
{
	struct text algorithm = b->member[BLOCK_ALGORITHM], encoding = b->member[BLOCK_ENCODING];
	int a = sign_word(sign_algorithms, algorithm.p, algorithm.n);
	int e = sign_word(sign_encodings, encoding.p, encoding.n);
	int msg = record_get(r, 0, "sign_message");
	if (a < 0 || e < 0)
		return job_refuse(why, "postback.sign: expected an algorithm (sha1, sha256, sha512) and an encoding (hex, base64)");
	if (msg < 0 || r->tok[msg].type != JSMN_STRING)
		return job_refuse(why, "sign_message: %s", msg < 0 ? "missing; pbexpand renders it" : "expected a string");
	unsigned char mac[HMAC_MAX];
	struct text m = record_text(r, msg);
	size_t n = hmac_compute((enum hmac_algorithm)a, secret->value, secret->len, m.p, m.n, mac);
	(e == SIGN_BASE64 ? hmac_add_base64 : hmac_add_hex)(value, mac, n);
	return true;
}

/* Signs the line's sign_message with the first secret of its name, into
 * the URL's query or a header the line does not set itself. */
static bool sign_hmac(struct job *j, const struct sign_block *b, const struct secret *secret,
		      struct buf *why)
{
	struct buf value = { 0 };
	struct text param = b->member[BLOCK_PARAM], header = b->member[BLOCK_HEADER];
	bool ok = hmac_value(&j->rec, b, secret, &value, why);
	if (ok && param.p)
		ok = add_param(j, param, &value, why);
	else if (ok && header.p && job_has_header(j, header.p, header.n))
		ok = job_refuse(why, "headers: %.*s is set by the postback's signature", (int)header.n, header.p);
	else if (ok && header.p)
		ok = job_add_header(j, header, (struct text){ value.data, value.len }, "postback.sign.header", why);
	else if (ok)
		ok = job_refuse(why, "postback.sign: an hmac signature needs a param or a header");
	buf_free(&value);
	return ok;
}

/* Whether byte i of key (n bytes) goes into its webhook-id as it is:
 * printable ASCII but '%', and a space only inside the key (HTTP drops
 * one at either end of a header value). */
static bool id_keeps(const char *key, size_t n, size_t i)
{
	unsigned char c = (unsigned char)key[i];
	if (c == ' ')
		return i > 0 && i + 1 < n;
	return c > 0x20 && c < 0x7f && c != '%';
}

/* The webhook-id of a line's key, into id: the key with every byte that
 * id_keeps() does not keep written as %XX (uppercase hex). A printable
 * ASCII key without '%' is its own id; '%' always being encoded makes
 * the mapping reversible, so distinct keys never share an id. */
static void webhook_id(const char *key, size_t n, struct buf *id)
{
	for (size_t i = 0; i < n; i++) {
		if (id_keeps(key, n, i))
			buf_addc(id, key[i]);
		else
			buf_addf(id, "%%%02X", (unsigned char)key[i]);
	}
}

/* Checks that every secret of the name is a Standard Webhooks one, that
 * the line has a key to make its webhook-id of and none of the headers
 * the signature sets; then j is signed so at each attempt. */
static bool prepare_webhook(struct job *j, const struct secrets *s, struct text name, struct buf *why)
{
	struct buf key = { 0 };
	const struct secret *sec = NULL;
	bool ok = true;
	while (ok && (sec = secrets_next(s, name.p, name.n, sec)))
		ok = webhook_secret_decode(sec->value, sec->len, &key);
	secrets_forget(&key);
	if (!ok)
		return job_refuse(why, "sign: secret '%.*s' is not a Standard Webhooks secret (whsec_ and base64)",
				  (int)name.n, name.p);
	if (!j->key || !j->key_len)
		return job_refuse(why, "sign: a standard-webhooks signature needs the line's key for its webhook-id");
	for (const char *const *h = sign_webhook_headers; *h; h++)
		if (job_has_header(j, *h, strlen(*h)))
			return job_refuse(why, "headers: %s is set by the postback's signature", *h);
	struct buf id = { 0 };
	webhook_id(j->key, j->key_len, &id);
	j->sign.id = id.data;
	j->sign.id_len = id.len;
	j->sign.secret = xstrndup(name.p, name.n);
	for (j->sign.tail = j->headers; j->sign.tail && j->sign.tail->next;)
		j->sign.tail = j->sign.tail->next;
	return true;
}

/* Reads how j is to be signed, and signs it now when its signature does
 * not change from attempt to attempt; false with why when it cannot be. */
bool signing_read(struct job *j, const struct secrets *s, struct buf *why)
{
	struct record *r = &j->rec;
	int pb = record_get(r, 0, "postback");
	int sign = pb >= 0 ? record_get(r, pb, "sign") : -1;
	if (sign < 0 || record_is_null(r, sign))
		return true;
	if (r->tok[sign].type != JSMN_OBJECT)
		return job_refuse(why, "postback.sign: expected an object");
	struct sign_block b;
	read_block(r, sign, &b);
	struct text name = b.member[BLOCK_SECRET], scheme = b.member[BLOCK_SCHEME];
	if (!sign_secret_name_ok(name.p, name.n))
		return job_refuse(why, "postback.sign.secret: expected the name of a secret");
	const struct secret *first = secrets_find(s, name.p, name.n, "sign", why);
	if (!first)
		return false;
	switch (sign_word(sign_schemes, scheme.p, scheme.n)) {
	case SIGN_STANDARD_WEBHOOKS: return prepare_webhook(j, s, name, why);
	case SIGN_HMAC: return sign_hmac(j, &b, first, why);
	default: return job_refuse(why, "postback.sign.scheme: expected standard-webhooks or hmac");
	}
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
	if (!j->sign.secret)
		return;
	struct curl_slist **signature = j->sign.tail ? &j->sign.tail->next : &j->headers;
	curl_slist_free_all(*signature);
	*signature = NULL;
	struct buf key = { 0 }, value = { 0 };
	const char *name = j->sign.secret;
	const char *body = j->sent.body ? j->sent.body : j->body ? j->body : "";
	size_t body_len = j->sent.body ? j->sent.body_len : j->body_len;
	for (const struct secret *sec = NULL; (sec = secrets_next(s, name, strlen(name), sec));) {
		webhook_secret_decode(sec->value, sec->len, &key);
		webhook_signature(key.data, key.len, j->sign.id, j->sign.id_len, unix_time,
				  body, body_len, &value);
	}
	secrets_forget(&key);
	char stamp[24];
	snprintf(stamp, sizeof stamp, "%lld", (long long)unix_time);
	add_signature_header(j, "webhook-id", j->sign.id);
	add_signature_header(j, "webhook-timestamp", stamp);
	add_signature_header(j, "webhook-signature", value.data);
	buf_free(&value);
}
