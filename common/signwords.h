#ifndef PB_SIGNWORDS_H
#define PB_SIGNWORDS_H

#include <stdbool.h>
#include <stddef.h>

/* In the order of enum hmac_algorithm (cmd/pbfire/hmac.h). */
extern const char *const sign_schemes[];	/* "standard-webhooks", "hmac" */
extern const char *const sign_algorithms[];	/* "sha1", "sha256", "sha512" */
extern const char *const sign_encodings[];	/* "hex", "base64" */

int sign_word(const char *const *words, const char *s, size_t n);
bool sign_secret_name_ok(const char *s, size_t n);
bool sign_param_name_ok(const char *s, size_t n);

#endif
