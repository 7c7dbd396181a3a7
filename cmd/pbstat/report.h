#ifndef PBSTAT_REPORT_H
#define PBSTAT_REPORT_H

#include <stdio.h>

#include "buckets.h"
#include "groups.h"
#include "summary.h"

/* Everything one report shows. */
struct report {
	unsigned long lines, rejected, other;
	const struct summary *total;
	const struct groups *groups;	/* NULL without --by */
	const struct buckets *buckets;	/* NULL without --hist */
	const char *at;			/* with --every: the time of the report */
};

#define REPORT_MESSAGES 3	/* the most frequent messages shown per class */

void report_text(const struct report *r, FILE *out);
void report_json(const struct report *r, FILE *out);

#endif
