#ifndef PBSTAT_RESULT_H
#define PBSTAT_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include "record.h"

/* Where a postback stands, by its result record; each counts in one. */
enum outcome {
	OUTCOME_DELIVERED, OUTCOME_DUPLICATE, OUTCOME_FAILED, OUTCOME_PENDING, OUTCOME_DRY_RUN,
	OUTCOMES
};

/* What pbstat reads from one result record. */
struct result {
	enum outcome outcome;
	long attempts;		/* 0 when missing */
	long status;		/* -1 when missing or not an integer from 0 to 999 */
	bool has_latency, has_lag, has_fired;
	uint64_t latency_us;	/* result.ms of a sent postback */
	uint64_t lag_us;	/* result.fired_at - fire_at, 0 when early */
	int64_t fired_sec;	/* result.fired_at, whole seconds */
	struct text error, message;	/* p NULL when not a string */
};

/* The keys looked up in every line, prepared once. */
struct result_keys {
	struct keyset top, result;
};

void result_keys_init(struct result_keys *k);
bool result_read(const struct result_keys *k, struct record *r, struct result *out);

#endif
