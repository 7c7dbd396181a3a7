/*
 * The tables that --html and -o openmetrics show whatever --by says: the
 * postbacks by "postback.name", by "publisher_id" and by host, each
 * counted as --by counts (a tally of its own, so a line is read once
 * more for each table on), and --html's latest failures (failures.c).
 */
#include "views.h"

#include <string.h>

static const char *const view_fields[VIEWS] = { "postback.name", "publisher_id", "host" };

void views_init(struct views *v, const bool on[VIEWS], const char *key, size_t failures_max)
{
	memset(v, 0, sizeof *v);
	for (int i = 0; i < VIEWS; i++) {
		v->on[i] = on[i];
		if (!on[i])
			continue;
		groups_init(&v->groups[i], view_fields[i]);
		tally_init(&v->tally[i], key, &v->groups[i], NULL, NULL);
	}
	failures_init(&v->failures, failures_max);
}

/* Counts line, a JSON object that json_validate() accepted, escaped as
 * for tally_line(). */
void views_line(struct views *v, const char *line, size_t len, bool escaped)
{
	for (int i = 0; i < VIEWS; i++)
		if (v->on[i])
			tally_line(&v->tally[i], line, escaped);
	failures_line(&v->failures, line, len);
}

void views_free(struct views *v)
{
	for (int i = 0; i < VIEWS; i++) {
		if (!v->on[i])
			continue;
		tally_free(&v->tally[i]);
		groups_free(&v->groups[i]);
	}
	failures_free(&v->failures);
}
