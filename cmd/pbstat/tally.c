/*
 * Counting a line: a result record is read (result.c), its postback found
 * by its key (fates.c), and the postback's fate, which the record may
 * change, is taken back from the figures it counted in (the total, its
 * --by group, the plot) and counted again as it now stands, in the group
 * of the record that decides it. The record's own figures (latency, fire
 * lag, error) count when it decides the fate; every record counts among
 * the records read, in the group of its own line. A record without a key
 * is a postback of its own.
 */
#include "tally.h"

#include <string.h>

/* The top-level members read from each line, in members.value[]. */
enum { MEMBER_RESULT, MEMBER_FIRE_AT, MEMBER_KEY, MEMBER_BY };

/* Counts by key the records of the lines given to tally_line(), in
 * key_field (dotted), with the groups, buckets and series given (NULL
 * for none), which must have been set up. */
void tally_init(struct tally *t, const char *key_field, struct groups *groups, struct buckets *buckets,
		struct series *series)
{
	memset(t, 0, sizeof *t);
	members_want(&t->members, "result", 6);
	members_want(&t->members, "fire_at", 7);
	members_want(&t->members, key_field, member_top(key_field));
	if (groups) {
		struct text by = groups_member(groups);
		members_want(&t->members, by.p, by.n);
	}
	member_path_init(&t->key_path, key_field);
	result_reader_init(&t->reader);
	summary_init(&t->total);
	t->groups = groups;
	t->buckets = buckets;
	t->series = series;
}

/* Counts fate f, of a postback, everywhere it shows, or takes it back
 * with sign -1. */
static void count_fate(struct tally *t, const struct fate *f, int sign)
{
	summary_count(&t->total, f, sign);
	if (t->groups)
		summary_count(groups_at(t->groups, f->group), f, sign);
	if (t->series)
		series_count(t->series, f, sign);
}

static void count_record(struct tally *t, const struct result *r, size_t group, struct fate *f)
{
	struct fate before = *f;
	enum record_role role = fate_apply(f, r, (uint32_t)group);
	if (memcmp(&before, f, sizeof before) != 0) {
		count_fate(t, &before, -1);
		count_fate(t, f, 1);
	}
	summary_add_record(&t->total, r, role);
	if (t->groups)
		summary_add_record(groups_at(t->groups, group), r, role);
	if (role != ROLE_DECIDES)
		return;
	if (t->buckets && r->has_latency)
		buckets_add(t->buckets, r->latency_us);
	if (t->series)
		series_add_latency(t->series, r);
}

/* Counts line, a JSON object that json_validate() accepted, escaped
 * telling whether it has escapes (json_shape.escapes). */
void tally_line(struct tally *t, const char *line, bool escaped)
{
	struct result r;
	members_find(&t->members, line, escaped);
	const struct text *v = t->members.value;
	if (!result_read(&t->reader, v[MEMBER_RESULT], v[MEMBER_FIRE_AT], escaped, &r)) {
		t->other++;
		return;
	}
	size_t group = t->groups ? groups_of(t->groups, v[MEMBER_BY], escaped) : 0;
	struct text key = member_scalar(member_path_find(&t->key_path, v[MEMBER_KEY], escaped), &t->key);
	struct fate alone = fate_none;
	count_record(t, &r, group, key.p ? fates_of(&t->fates, key.p, key.n) : &alone);
}

void tally_free(struct tally *t)
{
	members_free(&t->members);
	member_path_free(&t->key_path);
	result_reader_free(&t->reader);
	fates_free(&t->fates);
	summary_free(&t->total);
	buf_free(&t->key);
}
