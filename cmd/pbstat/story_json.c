/*
 * The stories of --find as one line of JSON, for scripts (pbstat(1)
 * documents the schema): the postbacks in the order they first showed,
 * each with its key, fate, rule, action and times as its first line has
 * them, and its lines, each with where it was read, what it says of the
 * postback and its "result" object as it was written, the publisher's
 * answer in it. Values are copied as their source text, which
 * validation has checked, so what the records hold passes through
 * exactly, escapes and all.
 */
#include "stories.h"

#include <string.h>

/* "name":value, the value's source text, or null. */
static void add_source(struct buf *b, const char *name, struct text v)
{
	buf_addf(b, "\"%s\":", name);
	buf_add(b, v.p ? v.p : "null", v.p ? v.n : 4);
	buf_addc(b, ',');
}

/* "name":s[0,n) as a JSON string, or null for s NULL. */
static void add_string(struct buf *b, const char *name, const char *s, size_t n)
{
	struct buf quoted = { 0 };
	if (s)
		buf_add_json_string(&quoted, s, n);
	add_source(b, name, (struct text){ quoted.data, quoted.len });
	buf_free(&quoted);
}

static void add_name(struct buf *b, const char *name, const char *value)
{
	add_string(b, name, value, value ? strlen(value) : 0);
}

/* Replaces the comma the last member left with c, and adds a comma. */
static void close_with(struct buf *b, char c)
{
	if (b->data[b->len - 1] == ',')
		b->len--;
	buf_addc(b, c);
	buf_addc(b, ',');
}

/* The action's members that the first line has. */
static void add_action(struct buf *b, const struct step *st)
{
	static const struct {
		const char *name;
		int member;
	} action[] = {
		{ "type", STEP_TYPE }, { "transaction_id", STEP_TRANSACTION_ID },
		{ "external_transaction_id", STEP_EXTERNAL_ID }, { "event_name", STEP_EVENT_NAME },
		{ "status", STEP_STATUS }, { "rejection_reason", STEP_REJECTION_REASON }, { "time", STEP_TIME },
	};
	buf_adds(b, "\"action\":{");
	for (size_t i = 0; i < sizeof action / sizeof *action; i++)
		if (st->member[action[i].member].p)
			add_source(b, action[i].name, st->member[action[i].member]);
	close_with(b, '}');
}

static void add_line(struct buf *b, const struct story_line *l, const struct step *st)
{
	static const char *const roles[] = {
		[ROLE_DECIDES] = "decides", [ROLE_DUPLICATE] = "duplicate", [ROLE_AFTER_DELIVERY] = "after_delivery",
	};
	buf_addc(b, '{');
	add_name(b, "file", l->file);
	buf_addf(b, "\"line\":%lu,", l->lineno);
	add_name(b, "outcome", st->is_result ? outcome_name(st->r.outcome) : NULL);
	add_name(b, "role", st->is_result ? roles[st->role] : NULL);
	add_source(b, "result", st->is_result ? st->member[STEP_RESULT] : (struct text){ 0 });
	close_with(b, '}');
}

/* Story s as an object, without a comma after it. */
static void add_story(struct buf *b, struct step_reader *rd, const struct story *s)
{
	struct step st;
	struct text superseded_by = { 0 };
	buf_addc(b, '{');
	add_name(b, "fate", outcome_name(story_fate(rd, s)));
	add_string(b, "key", s->key, s->keylen);
	step_read(rd, &s->line[0], &st);
	add_source(b, "name", st.name);
	add_action(b, &st);
	add_source(b, "delay", st.delay);
	add_source(b, "fire_at", st.member[STEP_FIRE_AT]);
	add_source(b, "url", st.member[STEP_URL]);
	buf_adds(b, "\"records\":[");
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			step_read(rd, &s->line[i], &st);
		add_line(b, &s->line[i], &st);
		if (step_superseded_by(&st).p)
			superseded_by = step_superseded_by(&st);
	}
	close_with(b, ']');
	add_source(b, "superseded_by", superseded_by);
	b->len--;
	buf_addc(b, '}');
}

/* Writes the stories, a story at a time. */
void stories_json(const struct stories *s, FILE *out)
{
	struct step_reader rd;
	struct buf b = { 0 };
	step_reader_init(&rd);
	buf_addf(&b, "{\"lines\":%lu,\"postbacks\":[", s->lines);
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			buf_addc(&b, ',');
		add_story(&b, &rd, s->v[i]);
		fwrite(b.data, 1, b.len, out);
		buf_clear(&b);
	}
	buf_adds(&b, "]}\n");
	fwrite(b.data, 1, b.len, out);
	buf_free(&b);
	step_reader_free(&rd);
}
