/*
 * The circuit breaker of a host. Attempts that fail as a dead or sick
 * host makes them fail (dns, connect, timeout, tls, a 5xx answer) count
 * up; any other outcome, an answer at all, resets the count. At
 * --breaker failures in a row the breaker opens: no attempt goes to the
 * host for --breaker-wait seconds, doubled at each re-opening up to 30
 * minutes, each wait jittered by +-20% so that hosts opened together do
 * not all probe together. When the wait is over one attempt goes, the
 * probe: if it delivers (or gets any answer that is not a failure) the
 * breaker closes and the wait starts again from --breaker-wait, and if
 * it fails the breaker opens again. Backpressure (429, Retry-After) is
 * not a failure here: the caller paces the host instead.
 */
#include "breaker.h"

bool breaker_failure(enum error_class c, long status)
{
	switch (c) {
	case ERR_DNS:
	case ERR_CONNECT:
	case ERR_TIMEOUT:
	case ERR_TLS:
		return true;
	case ERR_HTTP:
		return status >= 500;
	default:
		return false;
	}
}

static void open_for(struct breaker *b, const struct breaker_policy *p, int64_t now, double unit_random)
{
	b->wait = b->wait > 0 ? 2 * b->wait : p->wait;
	if (b->wait > p->wait_max)
		b->wait = p->wait_max;
	b->state = BREAKER_OPEN;
	b->until = now + (int64_t)(b->wait * (0.8 + 0.4 * unit_random) * 1e9);
}

/* Notes the outcome of an attempt to b's host; says how b changed. */
enum breaker_change breaker_note(struct breaker *b, const struct breaker_policy *p, bool failed,
				 int64_t now, double unit_random)
{
	if (!p->failures)
		return BREAKER_SAME;
	if (!failed) {
		bool was_open = b->state != BREAKER_CLOSED;
		*b = (struct breaker){ BREAKER_CLOSED, 0, 0, 0 };
		return was_open ? BREAKER_CLOSED_AGAIN : BREAKER_SAME;
	}
	b->failures++;
	if (b->state == BREAKER_PROBING) {
		open_for(b, p, now, unit_random);
		return BREAKER_REOPENED;
	}
	if (b->state == BREAKER_CLOSED && b->failures >= p->failures) {
		open_for(b, p, now, unit_random);
		return BREAKER_OPENED;
	}
	return BREAKER_SAME;
}

/* The wait of an open breaker is over: one probe may go. */
void breaker_probe(struct breaker *b)
{
	b->state = BREAKER_PROBING;
}

/* How many attempts may be in flight to the host at once. */
unsigned breaker_slots(const struct breaker *b, unsigned per_host)
{
	switch (b->state) {
	case BREAKER_OPEN:
		return 0;
	case BREAKER_PROBING:
		return 1;
	default:
		return per_host;
	}
}
