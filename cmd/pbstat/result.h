#ifndef PBSTAT_RESULT_H
#define PBSTAT_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include "members.h"

/* Where a postback stands, each in one: what a result record says of
 * it, and what its records together say (fates.c). A duplicate record
 * says that the postback was settled earlier, outside the records read. */
enum outcome {
	OUTCOME_DELIVERED, OUTCOME_FAILED, OUTCOME_PENDING, OUTCOME_SUPERSEDED, OUTCOME_DRY_RUN,
	OUTCOME_EARLIER, OUTCOMES
};

/* What pbstat reads from one result record. */
struct result {
	enum outcome outcome;
	long attempts;		/* 0 when missing */
	long attempts_all;	/* of all rounds: attempts_in_all, else attempts */
	long status;		/* -1 when missing or not an integer from 0 to 999 */
	bool has_latency, has_lag, has_fired;
	uint64_t latency_us;	/* result.ms of a sent postback */
	uint64_t lag_us;	/* result.fired_at - fire_at, 0 when early */
	int64_t fired_sec;	/* result.fired_at, whole seconds */
	struct text error, message;	/* p NULL when not a string */
};

/* The members looked up in every "result" object, and room for strings
 * with escapes, decoded. */
struct result_reader {
	struct members members;
	struct buf error, message, time;
};

void result_reader_init(struct result_reader *rd);
bool result_read(struct result_reader *rd, struct text result, struct text fire_at, bool escaped,
		 struct result *out);
void result_reader_free(struct result_reader *rd);

#endif
