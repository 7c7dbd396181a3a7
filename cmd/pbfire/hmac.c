/*
 * The signatures pbfire sends, computed with OpenSSL's libcrypto: an
 * HMAC (SHA-1, SHA-256 or SHA-512) and its text forms (lowercase hex,
 * base64 with padding), and the Standard Webhooks signature, "v1," and
 * the base64 HMAC-SHA256 of "id.timestamp.body" keyed by the secret
 * decoded from its "whsec_" base64 form. Nothing here keeps a secret or
 * says one.
 */
#include "hmac.h"

#include <err.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "tool.h"

static const EVP_MD *digest(enum hmac_algorithm a)
{
	switch (a) {
	case HMAC_SHA1: return EVP_sha1();
	case HMAC_SHA512: return EVP_sha512();
	default: return EVP_sha256();
	}
}

/* Writes the MAC of msg under key into mac; returns its length. */
size_t hmac_compute(enum hmac_algorithm a, const void *key, size_t keylen, const void *msg,
		    size_t n, unsigned char mac[HMAC_MAX])
{
	static const unsigned char no_key;
	unsigned len = 0;
	if (!HMAC(digest(a), keylen ? key : &no_key, (int)keylen, msg, n, mac, &len))
		errx(EXIT_FATAL, "libcrypto could not compute an HMAC");
	return len;
}

void hmac_add_hex(struct buf *out, const unsigned char *mac, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		buf_addc(out, digits[mac[i] >> 4]);
		buf_addc(out, digits[mac[i] & 15]);
	}
}

void hmac_add_base64(struct buf *out, const unsigned char *mac, size_t n)
{
	char text[4 * ((HMAC_MAX + 2) / 3) + 1];
	int len = EVP_EncodeBlock((unsigned char *)text, mac, (int)(n < HMAC_MAX ? n : HMAC_MAX));
	buf_add(out, text, (size_t)len);
}

/* Whether s (n bytes, a multiple of 4) is strict base64: the alphabet,
 * and '=' only as the last one or two. */
static bool strict_base64(const char *s, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t data = n - (s[n - 1] == '=') - (s[n - 2] == '=');
	for (size_t i = 0; i < data; i++)
		if (!s[i] || !strchr(alphabet, s[i]))
			return false;
	return true;
}

/* Decodes a Standard Webhooks secret, base64 after an optional "whsec_",
 * into key (which holds no other copy of it); false when it is not one
 * (or is empty). */
bool webhook_secret_decode(const char *secret, size_t n, struct buf *key)
{
	if (n >= 6 && !memcmp(secret, "whsec_", 6)) {
		secret += 6;
		n -= 6;
	}
	if (!n || n % 4 || n > 1024 || !strict_base64(secret, n))
		return false;
	unsigned char bytes[768];
	int len = EVP_DecodeBlock(bytes, (const unsigned char *)secret, (int)n);
	if (len >= 0)
		len -= (secret[n - 1] == '=') + (secret[n - 2] == '=');	/* EVP_DecodeBlock counts padding */
	buf_clear(key);
	buf_reserve(key, sizeof bytes);	/* so that adding never copies it elsewhere */
	if (len > 0)
		buf_add(key, bytes, (size_t)len);
	explicit_bzero(bytes, sizeof bytes);
	return len > 0;
}

/* Appends " v1,SIGNATURE" (no space when out is empty) for the message
 * of the given id, Unix timestamp and body, under the decoded key. */
void webhook_signature(const void *key, size_t keylen, const char *id, size_t idlen,
		       int64_t timestamp, const char *body, size_t bodylen, struct buf *out)
{
	struct buf msg = { 0 };
	unsigned char mac[HMAC_MAX];
	buf_add(&msg, id, idlen);
	buf_addf(&msg, ".%" PRId64 ".", timestamp);
	buf_add(&msg, body, bodylen);
	size_t n = hmac_compute(HMAC_SHA256, key, keylen, msg.data, msg.len, mac);
	buf_adds(out, out->len ? " v1," : "v1,");
	hmac_add_base64(out, mac, n);
	buf_free(&msg);
}
