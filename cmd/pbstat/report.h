#ifndef PBSTAT_REPORT_H
#define PBSTAT_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "buckets.h"
#include "groups.h"
#include "series.h"
#include "summary.h"
#include "views.h"

/* Everything one report shows. */
struct report {
	unsigned long lines, rejected, other;
	const struct summary *total;
	const struct groups *groups;	/* NULL without --by */
	const struct buckets *buckets;	/* NULL without --hist */
	const char *at;			/* with --every: the time of the report */
	const struct views *views;	/* with --html or -o openmetrics */
	const struct series *series;	/* with --html or --plot */
};

typedef char cell[32];	/* one formatted figure */

#define REPORT_MESSAGES 3	/* the most frequent messages shown per class */

const char *ms_cell(cell c, double us);
const char *percent_cell(cell c, double ratio);
const struct error_class *top_failure(const struct errors *e);
void report_text(const struct report *r, FILE *out);
void report_json(const struct report *r, FILE *out);
void report_openmetrics(const struct report *r, FILE *out);
void report_html_page(struct buf *b, const struct report *r);
bool report_html(const struct report *r, const char *path, const char **failed);

#endif
