/* Fuzzes pbstat's reading of result records (cmd/pbstat/members.c and
 * result.c), which walks a validated line without tokens, and its
 * counting of postbacks by key (fates.c, tally.c, summary.c, groups.c,
 * series.c): the input as lines. Beyond no crash: on each valid object,
 * members_find finds for each wanted key (result, fire_at and the line's
 * first keys, escaped ones decoded) exactly the value record_getn finds,
 * the first of duplicate keys, as its source text; inside "result"
 * likewise; and result_read gives an outcome in range, a status of -1 or
 * 0 to 999, attempts of 0 or more, and a lag only when it has both
 * times. Over all lines, the postbacks by fate are those a plain model
 * finds, one entry per key as pbfire's ledger reads it (record_path on
 * "postback.key", the whole key compared): the last record deciding,
 * delivered staying delivered, a duplicate settling only a postback
 * unseen or pending; so are the records, duplicates and records after
 * delivery; the --by groups add up to the total; no count taken back
 * below 0 (a status code left at 0, a plot slot wrapped around).
 * members_next steps through each object's members exactly as its
 * tokens list them. The lines, as --find keeps them (stories.c), are
 * told as JSON that is valid, and as text with no control character but
 * the newline. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "members.h"
#include "result.h"
#include "stories.h"
#include "tally.h"

#define FIRST_KEYS 4

/* The source text of value token v, quotes included for a string. */
static struct text source_text(const struct record *r, int v)
{
	const jsmntok_t *t = &r->tok[v];
	bool quoted = t->type == JSMN_STRING;
	return (struct text){ r->text + t->start - quoted, (size_t)(t->end - t->start) + 2 * quoted };
}

/* Checks members_find on object token obj of r, whose text starts at
 * object: for the keys named and the object's first keys. */
static void check_members(struct record *r, int obj, const char *object, bool escaped,
			  const char *const *named)
{
	struct members m = { 0 };
	for (; *named; named++)
		members_want(&m, *named, strlen(*named));
	int k = obj + 1;
	for (int i = 0; i < r->tok[obj].size && i < FIRST_KEYS; i++, k = record_skip(r, k + 1)) {
		struct text key = record_text(r, k);
		members_want(&m, key.p, key.n);
	}
	members_find(&m, object, escaped);
	for (size_t i = 0; i < m.n; i++) {
		int v = record_getn(r, obj, m.key[i], m.keylen[i]);
		if (v < 0) {
			CHECK(!m.value[i].p);
			continue;
		}
		struct text want = source_text(r, v);
		CHECK(m.value[i].p == want.p && m.value[i].n == want.n);
	}
	members_free(&m);
}

/* Checks that members_next gives the members of object token obj of r,
 * whose text starts at object, as their tokens are. */
static void check_next(struct record *r, int obj, const char *object)
{
	const char *at = object;
	struct text key, value;
	int k = obj + 1;
	for (int i = 0; i < r->tok[obj].size; i++, k = record_skip(r, k + 1)) {
		CHECK(members_next(&at, &key, &value));
		CHECK(key.p == r->text + r->tok[k].start - 1 && key.n == (size_t)(r->tok[k].end - r->tok[k].start) + 2);
		struct text want = source_text(r, k + 1);
		CHECK(value.p == want.p && value.n == want.n);
	}
	CHECK(!members_next(&at, &key, &value));
}

/* Tells the stories as JSON, which must be valid, and as text, which
 * must hold no control character but the newline. */
static void check_stories(const struct stories *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	CHECK(f != NULL);
	stories_json(st, f);
	CHECK(fclose(f) == 0);
	struct json_shape shape;
	struct json_error je;
	CHECK(len > 0 && text[len - 1] == '\n' && json_validate(text, len - 1, &shape, NULL, &je));
	free(text);
	f = open_memstream(&text, &len);
	CHECK(f != NULL);
	stories_text(st, f);
	CHECK(fclose(f) == 0);
	for (size_t i = 0; i < len; i++)
		CHECK((unsigned char)text[i] >= 0x20 || text[i] == '\n');
	free(text);
}

static void check_result(struct text result, struct text fire_at, bool escaped)
{
	struct result_reader rd;
	struct result out;
	result_reader_init(&rd);
	if (result_read(&rd, result, fire_at, escaped, &out)) {
		CHECK(out.outcome < OUTCOMES);
		CHECK(out.status == -1 || (out.status >= 0 && out.status < 1000));
		CHECK(out.attempts >= 0);
		CHECK(!out.has_lag || (fire_at.p && out.has_fired));
	}
	result_reader_free(&rd);
}

/* The plain model of the postbacks: a key (NULL for none) and its fate. */
struct model {
	struct postback {
		char *key;
		size_t n;
		int fate;
	} *v;
	size_t n;
	uint64_t outcomes[OUTCOMES], records, duplicates, after_delivery;
};

static struct postback *model_postback(struct model *m, const char *key, size_t n)
{
	for (size_t i = 0; key && i < m->n; i++)
		if (m->v[i].key && m->v[i].n == n && memcmp(m->v[i].key, key, n) == 0)
			return &m->v[i];
	m->v = xreallocarray(m->v, m->n + 1, sizeof *m->v);
	m->v[m->n] = (struct postback){ key ? xstrndup(key, n) : NULL, n, OUTCOMES };
	return &m->v[m->n++];
}

/* Adds the record of line r, a result record saying outcome. */
static void model_add(struct model *m, struct record *r, int outcome)
{
	int k = record_path(r, "postback.key", strlen("postback.key"));
	struct text key = k >= 0 && record_is_scalar(r, k) && !record_is_null(r, k) ? record_text(r, k)
										    : (struct text){ 0 };
	struct postback *p = model_postback(m, key.p, key.n);
	m->records++;
	m->duplicates += outcome == OUTCOME_EARLIER;
	m->after_delivery += outcome != OUTCOME_EARLIER && p->fate == OUTCOME_DELIVERED;
	if (p->fate == OUTCOME_DELIVERED)
		return;
	if (outcome != OUTCOME_EARLIER)
		p->fate = outcome;
	else if (p->fate == OUTCOMES || p->fate == OUTCOME_PENDING)
		p->fate = OUTCOME_EARLIER;
}

static void check_model(struct model *m, const struct tally *t, const struct groups *g,
			const struct series *series)
{
	for (size_t i = 0; i < m->n; i++) {
		m->outcomes[m->v[i].fate]++;
		free(m->v[i].key);
	}
	free(m->v);
	const struct summary *s = &t->total;
	CHECK(memcmp(m->outcomes, s->outcomes, sizeof m->outcomes) == 0);
	CHECK(m->records == s->records && m->duplicates == s->duplicates);
	CHECK(m->after_delivery == s->after_delivery);
	uint64_t seen = 0, records = 0, statuses = 0, drawn = 0;
	for (size_t i = 0; i < g->n; i++) {
		seen += summary_seen(groups_at(g, i));
		records += groups_at(g, i)->records;
	}
	CHECK(seen == summary_seen(s) && records == s->records);
	for (size_t i = 0; i < s->nstatus; i++) {
		CHECK(s->status[i].count > 0 && s->status[i].count <= seen);
		statuses += s->status[i].count;
	}
	struct attempts a = summary_attempts(s);
	CHECK(statuses <= a.sent && a.sent <= seen && a.retried <= a.sent);
	for (size_t i = 0; i < series->n; i++)
		drawn += series->slots[i].delivered + series->slots[i].failed;
	CHECK(drawn <= s->outcomes[OUTCOME_DELIVERED] + s->outcomes[OUTCOME_FAILED]);
}

/* The checks of one line, line[0,size), a copy ending in a NUL. */
static void check_line(char *line, size_t size, struct tally *t, struct model *m, struct stories *st,
		       unsigned long lineno)
{
	static const char *const top[] = { "result", "fire_at", NULL };
	static const char *const inner[] = { "ok", "error", "status", "ms", "fired_at", NULL };
	struct json_shape shape;
	struct json_error je;
	struct record r = { 0 };
	if (json_validate(line, size, &shape, NULL, &je) && record_parse(&r, line, size, &je)) {
		check_members(&r, 0, line, shape.escapes, top);
		check_next(&r, 0, line);
		int k = record_path(&r, "postback.key", strlen("postback.key"));
		struct text key = k >= 0 && record_is_scalar(&r, k) && !record_is_null(&r, k) ? record_text(&r, k)
											     : (struct text){ 0 };
		stories_add(st, key, "input", lineno, line, size, shape.escapes);
		int result = record_get(&r, 0, "result");
		int fire_at = record_get(&r, 0, "fire_at");
		if (result >= 0 && r.tok[result].type == JSMN_OBJECT)
			check_members(&r, result, line + r.tok[result].start, shape.escapes, inner);
		struct text result_text = result >= 0 ? source_text(&r, result) : (struct text){ 0 };
		struct text fire_at_text = fire_at >= 0 ? source_text(&r, fire_at) : (struct text){ 0 };
		check_result(result_text, fire_at_text, shape.escapes);
		struct result_reader rd;
		struct result out;
		result_reader_init(&rd);
		if (result_read(&rd, result_text, fire_at_text, shape.escapes, &out))
			model_add(m, &r, (int)out.outcome);
		result_reader_free(&rd);
		tally_line(t, line, shape.escapes);
	}
	record_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct groups groups;
	struct series series;
	struct tally t;
	struct model m = { 0 };
	struct stories st;
	unsigned long lineno = 0;
	stories_init(&st);
	groups_init(&groups, "postback.name");
	series_init(&series);
	tally_init(&t, "postback.key", &groups, NULL, &series);
	for (const uint8_t *p = data, *end = data + size; p < end;) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *line = xstrndup((const char *)p, n);
		check_line(line, n, &t, &m, &st, ++lineno);
		free(line);
		p += n + 1;
	}
	check_model(&m, &t, &groups, &series);
	check_stories(&st);
	stories_free(&st);
	tally_free(&t);
	groups_free(&groups);
	series_free(&series);
	return 0;
}
