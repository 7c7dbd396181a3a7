#ifndef PBSTAT_ALERTS_H
#define PBSTAT_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "groups.h"
#include "summary.h"
#include "tool.h"

/* What the alerts of a cron job ask for. */
struct alerts {
	double min_success;	/* --min-success; 0: not given */
	uint64_t min_count;	/* --min-count: finished postbacks a ratio needs to be flagged */
	int64_t stale;		/* --stale, nanoseconds; 0: not given */
	const char *stale_text;	/* --stale as given */
	int64_t now;		/* --now, nanoseconds since the epoch; 0: the clock */
};

void alerts_init(struct alerts *a);
void alerts_min_success(struct alerts *a, const struct tool *t, const char *arg);
void alerts_min_count(struct alerts *a, const struct tool *t, const char *arg);
void alerts_stale(struct alerts *a, const struct tool *t, const char *arg);
void alerts_now(struct alerts *a, const struct tool *t, const char *arg);
bool alerts_wanted(const struct alerts *a);
unsigned long alerts_check(const struct alerts *a, const struct summary *total, const struct groups *groups);

#endif
