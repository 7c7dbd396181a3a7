#ifndef PB_BREAKER_H
#define PB_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#include "retry.h"

/* When a host's breaker opens, and for how long. */
struct breaker_policy {
	unsigned failures;		/* failed attempts in a row that open it; 0: never */
	double wait, wait_max;		/* seconds: the first wait, and the longest */
};

/* One host's breaker: closed (attempts go), open (none go until the wait
 * is over) or probing (one attempt goes, and its outcome decides). */
struct breaker {
	enum { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_PROBING } state;
	unsigned failures;		/* failed attempts in a row */
	double wait;			/* seconds of the last wait; 0: none yet */
	int64_t until;			/* when an open breaker lets a probe go (ns) */
};

/* What an attempt's outcome did to a breaker. */
enum breaker_change { BREAKER_SAME, BREAKER_OPENED, BREAKER_REOPENED, BREAKER_CLOSED_AGAIN };

bool breaker_failure(enum error_class c, long status);
enum breaker_change breaker_note(struct breaker *b, const struct breaker_policy *p, bool failed,
				 int64_t now, double unit_random);
void breaker_probe(struct breaker *b);
unsigned breaker_slots(const struct breaker *b, unsigned per_host);

#endif
