#ifndef PBSTAT_VIEWS_H
#define PBSTAT_VIEWS_H

#include <stdbool.h>

#include "failures.h"
#include "groups.h"
#include "tally.h"

/* The tables --html and -o openmetrics show beside the report's own. */
enum view { VIEW_NAME, VIEW_PUBLISHER, VIEW_HOST, VIEWS };

struct views {
	bool on[VIEWS];
	struct groups groups[VIEWS];
	struct tally tally[VIEWS];
	struct failures failures;	/* max 0 without --html */
};

void views_init(struct views *v, const bool on[VIEWS], const char *key, size_t failures_max);
void views_line(struct views *v, const char *line, size_t len, bool escaped);
void views_free(struct views *v);

#endif
