#ifndef PB_RETRY_H
#define PB_RETRY_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

/* Why an attempt did not deliver; ERR_NONE when it did. */
enum error_class {
	ERR_NONE, ERR_DNS, ERR_CONNECT, ERR_TIMEOUT, ERR_TLS, ERR_HTTP, ERR_UNEXPECTED, ERR_BLOCKED,
	ERR_INVALID, ERR_INTERRUPTED, ERR_DUPLICATE, ERR_SUPERSEDED,
};
#define ERR_CLASSES (ERR_SUPERSEDED + 1)

extern const char *const error_class_names[];

/* How retries are spaced: base * 2^(attempt-1), jittered by +-50%, at
 * most max; a Retry-After is honoured up to retry_after_max seconds. */
struct retry_policy {
	int retries;
	double base, max, retry_after_max;
};

/* A set of HTTP statuses, 0 to 639: bit s is status s. */
struct status_set {
	uint64_t bits[10];
};

/* A line's own delivery policy, from its postback's timeout, attempts
 * and final: members left zero leave pbfire's options in force. */
struct line_policy {
	long timeout_ms;
	int attempts;			/* requests in all, backpressure answers too */
	struct status_set final;	/* an answer with one of these statuses ends the line */
};

bool attempt_answered(CURLcode rc, long status, bool follows);
enum error_class attempt_class(CURLcode rc, long status, bool blocked, bool follows);
bool attempt_retryable(enum error_class c, long status);
void status_set_add(struct status_set *s, long status);
bool status_set_has(const struct status_set *s, long status);
void policy_add_final(struct line_policy *p, long status);
bool policy_final(const struct line_policy *p, long status);
bool policy_allows_another(const struct line_policy *p, int attempts, long status);
double retry_delay(const struct retry_policy *p, int attempt, double retry_after, double unit_random);

#endif
