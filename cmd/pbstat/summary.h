#ifndef PBSTAT_SUMMARY_H
#define PBSTAT_SUMMARY_H

#include <stdint.h>

#include "errors.h"
#include "fates.h"
#include "hist.h"
#include "result.h"

struct status_count {
	long code;
	uint64_t count;
};

/* The attempts of a set of postbacks. */
struct attempts {
	uint64_t sent, retried, sum;	/* sent: with an attempt; retried: with more than one */
	long max;
};

/* The figures of a set of postbacks: all of them, or one --by group. */
struct summary {
	uint64_t outcomes[OUTCOMES];			/* postbacks */
	uint64_t by_attempts[FATE_ATTEMPTS_MAX + 1];	/* postbacks by their attempts */
	struct status_count *status;			/* postbacks by code, ascending */
	size_t nstatus;
	uint64_t records, duplicates, after_delivery;	/* result records */
	struct hist latency, lag;			/* microseconds */
	struct errors errors;
	int64_t last_delivered;		/* result.fired_at of the latest delivery, seconds; SUMMARY_NEVER */
};

#define SUMMARY_NEVER INT64_MIN

void summary_init(struct summary *s);
void summary_count(struct summary *s, const struct fate *f, int sign);
void summary_add_record(struct summary *s, const struct result *r, enum record_role role);
uint64_t summary_seen(const struct summary *s);
uint64_t summary_finished(const struct summary *s);
double summary_success(const struct summary *s);
struct attempts summary_attempts(const struct summary *s);
void summary_free(struct summary *s);

#endif
