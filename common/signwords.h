#ifndef PB_SIGNWORDS_H
#define PB_SIGNWORDS_H

#include <stdbool.h>
#include <stddef.h>

/* The words by name, NULL-terminated, each in the order of its enum;
 * the algorithms in that of enum hmac_algorithm (cmd/pbfire/hmac.h). */
enum sign_scheme_word { SIGN_STANDARD_WEBHOOKS, SIGN_HMAC };
enum sign_encoding_word { SIGN_HEX, SIGN_BASE64 };
extern const char *const sign_schemes[];	/* "standard-webhooks", "hmac" */
extern const char *const sign_algorithms[];	/* "sha1", "sha256", "sha512" */
extern const char *const sign_encodings[];	/* "hex", "base64" */
extern const char *const sign_webhook_headers[];	/* what standard-webhooks sets */

int sign_word(const char *const *words, const char *s, size_t n);
bool sign_secret_name_ok(const char *s, size_t n);
bool sign_param_name_ok(const char *s, size_t n);

#endif
