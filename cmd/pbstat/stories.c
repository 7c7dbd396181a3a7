/*
 * The stories --find tells: the lines that matched, kept whole and put
 * together by postback (by key, as the report counts them; a line without
 * a key is a postback of its own), and, when they are told, what each
 * line says: the action and the rule that matched it (the members of
 * pb-records(7)), its result record with the publisher's answer when
 * pbfire kept one ("response"), and the postback's fate as the report
 * would count it, the records applied in the order read (result.c,
 * fates.c). Only the lines that matched are held, each once.
 */
#include "stories.h"

#include <stdlib.h>
#include <string.h>

void stories_init(struct stories *s)
{
	memset(s, 0, sizeof *s);
}

static struct story *new_story(struct stories *s, struct text key)
{
	struct story *st = xcalloc(1, sizeof *st);
	if (key.p) {
		st->key = xstrndup(key.p, key.n);
		st->keylen = key.n;
	}
	s->v = xreallocarray(s->v, s->n + 1, sizeof *s->v);
	s->v[s->n++] = st;
	return st;
}

/* Keeps line[0,len), line lineno of file, in the story of key (p NULL:
 * none); escaped as json_shape.escapes says of it. */
void stories_add(struct stories *s, struct text key, const char *file, unsigned long lineno, const char *line,
		 size_t len, bool escaped)
{
	struct story *st;
	if (key.p) {
		size_t *i = strmap_put(&s->index, key.p, key.n, s->n);
		st = *i == s->n ? new_story(s, key) : s->v[*i];
	} else {
		st = new_story(s, key);
	}
	st->line = xreallocarray(st->line, st->n + 1, sizeof *st->line);
	st->line[st->n++] = (struct story_line){ file, lineno, xstrndup(line, len), len, escaped };
	s->lines++;
}

void stories_free(struct stories *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->v[i]->n; j++)
			free(s->v[i]->line[j].text);
		free(s->v[i]->line);
		free(s->v[i]->key);
		free(s->v[i]);
	}
	free(s->v);
	strmap_free(&s->index);
}

static void want_all(struct members *m, const char *const *keys)
{
	for (; *keys; keys++)
		members_want(m, *keys, strlen(*keys));
}

void step_reader_init(struct step_reader *rd)
{
	static const char *const line[] = {
		"type", "transaction_id", "external_transaction_id", "event_name", "status", "rejection_reason",
		"time", "postback", "fire_at", "url", "superseded", "result", NULL,
	};
	static const char *const postback[] = { "name", "delay", NULL };
	static const char *const result[] = {
		"ok", "final", "dry_run", "status", "attempts", "attempts_in_all", "error", "message", "ms",
		"fired_at", "retry_at", "round", "superseded_by", "response", NULL,
	};
	memset(rd, 0, sizeof *rd);
	want_all(&rd->line, line);
	want_all(&rd->postback, postback);
	want_all(&rd->result, result);
	result_reader_init(&rd->results);
	rd->fate = fate_none;
}

/* Starts a story over: its fate as before its first line. */
void step_reader_start(struct step_reader *rd)
{
	rd->fate = fate_none;
}

static bool is_object(struct text v)
{
	return v.p && *v.p == '{';
}

/* Reads line l of the story being read into out, and applies its result
 * record, if it is one, to the story's fate. */
void step_read(struct step_reader *rd, const struct story_line *l, struct step *out)
{
	memset(out, 0, sizeof *out);
	members_find(&rd->line, l->text, l->escaped);
	memcpy(out->member, rd->line.value, sizeof out->member);
	if (is_object(out->member[STEP_POSTBACK])) {
		members_find(&rd->postback, out->member[STEP_POSTBACK].p, l->escaped);
		out->name = rd->postback.value[0];
		out->delay = rd->postback.value[1];
	}
	struct text result = out->member[STEP_RESULT];
	if (is_object(result)) {
		members_find(&rd->result, result.p, l->escaped);
		memcpy(out->result, rd->result.value, sizeof out->result);
	}
	out->is_result = result_read(&rd->results, result, out->member[STEP_FIRE_AT], l->escaped, &out->r);
	if (out->is_result)
		out->role = fate_apply(&rd->fate, &out->r, 0);
}

/* The fate of story s: OUTCOMES when none of its lines is a result record. */
enum outcome story_fate(struct step_reader *rd, const struct story *s)
{
	struct step st;
	step_reader_start(rd);
	for (size_t i = 0; i < s->n; i++)
		step_read(rd, &s->line[i], &st);
	enum outcome fate = (enum outcome)rd->fate.outcome;
	step_reader_start(rd);
	return fate;
}

/* The action that superseded the line: result.superseded_by, else the
 * "superseded" member pbdelay wrote; p NULL for none. */
struct text step_superseded_by(const struct step *st)
{
	struct text by = st->result[ANSWER_SUPERSEDED_BY];
	return is_object(by) ? by : is_object(st->member[STEP_SUPERSEDED]) ? st->member[STEP_SUPERSEDED]
									    : (struct text){ 0 };
}

/* Wants the members of a superseding action, in BY_* order. */
void superseded_members(struct members *m)
{
	static const char *const keys[] = { "status", "rejection_reason", "time", NULL };
	want_all(m, keys);
}

/* Wants the members of the publisher's answer, in RESPONSE_* order. */
void response_members(struct members *m)
{
	static const char *const keys[] = { "status", "headers", "body", "truncated", NULL };
	want_all(m, keys);
}

/* The name of an outcome in --find's JSON; NULL for OUTCOMES (no result). */
const char *outcome_name(enum outcome o)
{
	static const char *const names[] = {
		[OUTCOME_DELIVERED] = "delivered", [OUTCOME_FAILED] = "failed", [OUTCOME_PENDING] = "pending",
		[OUTCOME_SUPERSEDED] = "superseded", [OUTCOME_DRY_RUN] = "dry_run", [OUTCOME_EARLIER] = "earlier",
	};
	return o < OUTCOMES ? names[o] : NULL;
}

void step_reader_free(struct step_reader *rd)
{
	members_free(&rd->line);
	members_free(&rd->postback);
	members_free(&rd->result);
	result_reader_free(&rd->results);
}
