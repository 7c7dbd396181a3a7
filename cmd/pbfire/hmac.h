#ifndef PB_HMAC_H
#define PB_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* In the order of sign_algorithms (common/signwords.c). */
enum hmac_algorithm { HMAC_SHA1, HMAC_SHA256, HMAC_SHA512 };

#define HMAC_MAX 64	/* bytes of the longest MAC, SHA-512's */

size_t hmac_compute(enum hmac_algorithm a, const void *key, size_t keylen, const void *msg,
		    size_t n, unsigned char mac[HMAC_MAX]);
void hmac_add_hex(struct buf *out, const unsigned char *mac, size_t n);
void hmac_add_base64(struct buf *out, const unsigned char *mac, size_t n);
bool webhook_secret_decode(const char *secret, size_t n, struct buf *key);
void webhook_signature(const void *key, size_t keylen, const char *id, size_t idlen,
		       int64_t timestamp, const char *body, size_t bodylen, struct buf *out);

#endif
