/*
 * What an attempt's outcome means and when to try again. A 2xx answer
 * delivers; connection failures, timeouts, a dropped connection, 408, 429
 * and 5xx answers are worth retrying, and so is an answer that fails its
 * postback's expect (expect.c); every other 4xx, TLS failures,
 * refused addresses and invalid requests are final. Retries back off
 * exponentially with jitter, so a recovering server is not hit by every
 * pbfire in step, and wait at least as long as the server's Retry-After
 * asks, up to a cap. A postback's own policy may allow fewer attempts,
 * or end a line at statuses that would be retried.
 */
#include "retry.h"

const char *const error_class_names[] = {
	"", "dns", "connect", "timeout", "tls", "http", "unexpected_response", "blocked", "invalid", "interrupted",
	"duplicate", "superseded",
};

/* Whether an attempt that ended with rc got an answer that stands: a
 * final status came, whatever ended the transfer after it: the body read
 * cut off at 64 KiB, the connection lost or the time up while the body
 * was read, an HTTP/2 server that answered before reading the request's
 * body then reset the stream, which libcurl 7.88 reports as a stream
 * error (curl issue 13678) or, now and then, waits out the timeout after.
 * Retrying would deliver the postback again. But when libcurl follows
 * redirects (follows), a redirect with an error did not reach where it
 * leads: its body cut, or its next request failed (CURLINFO_RESPONSE_CODE
 * keeps the redirect's status then). */
bool attempt_answered(CURLcode rc, long status, bool follows)
{
	bool redirect_failed = follows && status >= 300 && status < 400 && rc != CURLE_OK;
	return status >= 200 && !redirect_failed;
}

enum error_class attempt_class(CURLcode rc, long status, bool blocked, bool follows)
{
	if (blocked)
		return ERR_BLOCKED;
	if (attempt_answered(rc, status, follows))
		return status >= 200 && status < 300 ? ERR_NONE : ERR_HTTP;
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return ERR_DNS;
	case CURLE_OPERATION_TIMEDOUT:
		return ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return ERR_TLS;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		return ERR_INVALID;
	case CURLE_TOO_MANY_REDIRECTS:
		return ERR_HTTP;
	default:
		return ERR_CONNECT;	/* refused, reset, dropped, nothing received */
	}
}

bool attempt_retryable(enum error_class c, long status)
{
	switch (c) {
	case ERR_DNS:
	case ERR_CONNECT:
	case ERR_TIMEOUT:
		return true;
	case ERR_HTTP:
		return status == 408 || status == 429 || status >= 500;
	case ERR_UNEXPECTED:
		return true;
	default:
		return false;
	}
}

#define SET_BITS 64

void status_set_add(struct status_set *s, long status)
{
	if (status >= 0 && status < SET_BITS * 10)
		s->bits[status / SET_BITS] |= UINT64_C(1) << (status % SET_BITS);
}

bool status_set_has(const struct status_set *s, long status)
{
	return status > 0 && status < SET_BITS * 10 && (s->bits[status / SET_BITS] >> (status % SET_BITS) & 1);
}

void policy_add_final(struct line_policy *p, long status)
{
	status_set_add(&p->final, status);
}

/* Whether an answer with status ends a line under its policy. */
bool policy_final(const struct line_policy *p, long status)
{
	return status_set_has(&p->final, status);
}

/* Whether a line's policy allows another request after attempts of them
 * in all, the last answered with status (0: no answer). */
bool policy_allows_another(const struct line_policy *p, int attempts, long status)
{
	return !(p->attempts && attempts >= p->attempts) && !policy_final(p, status);
}

/* Seconds to wait before attempt + 1, given the server's Retry-After in
 * seconds (0: none) and a uniform random number in [0, 1). A negative
 * result means the server asked for longer than the cap: give up. */
double retry_delay(const struct retry_policy *p, int attempt, double retry_after, double unit_random)
{
	double d = p->base;
	for (int i = 1; i < attempt && d < p->max; i++)
		d *= 2;
	d *= 0.5 + unit_random;
	if (d > p->max)
		d = p->max;
	if (retry_after > p->retry_after_max)
		return -1;
	return retry_after > d ? retry_after : d;
}
