#ifndef PBSTAT_SUMMARY_H
#define PBSTAT_SUMMARY_H

#include <stdint.h>

#include "errors.h"
#include "hist.h"
#include "result.h"

struct status_count {
	long code;
	uint64_t count;
};

/* The figures of a set of result records: all of them, or one --by group. */
struct summary {
	uint64_t outcomes[OUTCOMES];
	uint64_t sent, retried, attempts;	/* attempts: their sum */
	long attempts_max;
	struct hist latency, lag;		/* microseconds */
	struct status_count *status;		/* by code, ascending */
	size_t nstatus;
	struct errors errors;
};

void summary_init(struct summary *s);
void summary_add(struct summary *s, const struct result *r);
uint64_t summary_seen(const struct summary *s);
uint64_t summary_finished(const struct summary *s);
double summary_success(const struct summary *s);
void summary_free(struct summary *s);

#endif
