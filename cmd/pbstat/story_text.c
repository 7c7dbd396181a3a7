/*
 * The stories of --find as text, for the person asking what happened to
 * a click: for each postback its key and fate, the action and the rule
 * that matched it, when it was due (held until), then each of its lines
 * as file:line with what it says: superseded by which action, a dry run,
 * a duplicate, or the attempts with their time, status, latency and
 * error, when it is due again, and the publisher's answer (status,
 * headers, body) when the record kept one. Values are shown decoded;
 * control characters, and bytes that are not UTF-8, as C escapes, so an
 * answer can neither break the layout nor reach the terminal raw.
 */
#include "stories.h"

#include <stdint.h>
#include <string.h>

/* The length of the UTF-8 sequence at s[0,n), or 0 when it is not one. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	if (s[0] > 0xf4 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (len == 4 && s[0] == 0xf0 && s[1] < 0x90) || (len == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

/* Writes s[0,n), control characters and bytes that are not UTF-8 as
 * escapes. */
static void put_safe(FILE *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t len = u[i] < 0x80 ? 1 : utf8_length(u + i, n - i);
		if (u[i] == '\n' || u[i] == '\t' || u[i] == '\r')
			fprintf(out, "\\%c", u[i] == '\n' ? 'n' : u[i] == '\t' ? 't' : 'r');
		else if (u[i] < 0x20 || u[i] == 0x7f || !len)
			fprintf(out, "\\x%02x", u[i]);
		else
			fwrite(u + i, 1, len, out);
		i += len ? len : 1;
	}
}

/* A value, its source text given: a string decoded, the rest as written. */
static void put_value(FILE *out, struct text v, struct buf *scratch)
{
	struct text t = member_string(v, scratch);
	put_safe(out, t.p, t.n);
}

static bool present(struct text v)
{
	return v.p && !(v.n == 4 && memcmp(v.p, "null", 4) == 0);
}

/* ", LABEL value" when the value is there. */
static void put_part(FILE *out, const char *label, struct text v, struct buf *scratch)
{
	if (!present(v))
		return;
	fputs(label, out);
	put_value(out, v, scratch);
}

static const char *fate_words(enum outcome o)
{
	static const char *const words[] = {
		[OUTCOME_DELIVERED] = "delivered", [OUTCOME_FAILED] = "failed for good",
		[OUTCOME_PENDING] = "pending, to be tried again", [OUTCOME_SUPERSEDED] = "superseded, never sent",
		[OUTCOME_DRY_RUN] = "a dry run, not sent", [OUTCOME_EARLIER] = "settled earlier, not sent again",
	};
	return o < OUTCOMES ? words[o] : "no result record";
}

static void put_head(FILE *out, const struct story *s, const struct step *st, enum outcome fate,
		     struct buf *scratch)
{
	if (s->key)
		put_safe(out, s->key, s->keylen);
	else
		fputs("(no key)", out);
	fprintf(out, ": %s\n  action   ", fate_words(fate));
	put_part(out, "", st->member[STEP_TYPE], scratch);
	put_part(out, present(st->member[STEP_TYPE]) ? " " : "", st->member[STEP_TRANSACTION_ID], scratch);
	put_part(out, ", click ", st->member[STEP_EXTERNAL_ID], scratch);
	put_part(out, ", event ", st->member[STEP_EVENT_NAME], scratch);
	put_part(out, ", ", st->member[STEP_STATUS], scratch);
	put_part(out, " for ", st->member[STEP_REJECTION_REASON], scratch);
	put_part(out, ", at ", st->member[STEP_TIME], scratch);
	fputs("\n  matched  ", out);
	if (present(st->name))
		put_part(out, "rule ", st->name, scratch);
	else
		fputs("no rule named", out);
	put_part(out, ", delay ", st->delay, scratch);
	put_part(out, " s, held until ", st->member[STEP_FIRE_AT], scratch);
	put_part(out, "\n  url      ", st->member[STEP_URL], scratch);
	fputc('\n', out);
}

/* The action that superseded a line, from its "superseded_by". */
static void put_superseded(FILE *out, struct text by, bool escaped, struct buf *scratch)
{
	struct members m = { 0 };
	superseded_members(&m);
	fputs("superseded", out);
	if (by.p) {
		members_find(&m, by.p, escaped);
		put_part(out, " by a later action: ", m.value[BY_STATUS], scratch);
		put_part(out, " for ", m.value[BY_REJECTION_REASON], scratch);
		put_part(out, " at ", m.value[BY_TIME], scratch);
	}
	fputs(", not sent", out);
	members_free(&m);
}

/* The publisher's answer, from "response", on lines of its own. */
static void put_response(FILE *out, struct text response, bool escaped, struct buf *scratch)
{
	struct members m = { 0 };
	response_members(&m);
	members_find(&m, response.p, escaped);
	const struct text *v = m.value;
	fputs("      answer ", out);
	put_part(out, "", v[RESPONSE_STATUS], scratch);
	if (v[RESPONSE_TRUNCATED].p && *v[RESPONSE_TRUNCATED].p == 't')
		fputs(", body truncated", out);
	fputc('\n', out);
	const char *at = v[RESPONSE_HEADERS].p;
	struct text name, value;
	if (at && *at == '{')
		while (members_next(&at, &name, &value)) {
			fputs("        ", out);
			put_value(out, name, scratch);
			fputs(": ", out);
			put_value(out, value, scratch);
			fputc('\n', out);
		}
	if (present(v[RESPONSE_BODY])) {
		fputs("        body: ", out);
		put_value(out, v[RESPONSE_BODY], scratch);
		fputc('\n', out);
	}
	members_free(&m);
}

/* What the attempts of a line sent came to. */
static void put_attempts(FILE *out, const struct step *st, struct buf *scratch)
{
	const struct text *a = st->result;
	fprintf(out, "%ld %s", st->r.attempts, st->r.attempts == 1 ? "attempt" : "attempts");
	if (st->r.attempts_all > st->r.attempts)
		fprintf(out, " (%ld in all)", st->r.attempts_all);
	put_part(out, ", round ", a[ANSWER_ROUND], scratch);
	put_part(out, ", the last at ", a[ANSWER_FIRED_AT], scratch);
	if (st->r.status > 0)
		fprintf(out, ": status %ld", st->r.status);
	else if (st->r.attempts > 0)
		fputs(": no answer", out);
	put_part(out, " in ", a[ANSWER_MS], scratch);
	if (present(a[ANSWER_MS]))
		fputs(" ms", out);
	put_part(out, ", ", a[ANSWER_ERROR], scratch);
	put_part(out, ": ", a[ANSWER_MESSAGE], scratch);
	put_part(out, st->r.outcome == OUTCOME_PENDING ? "; due again at " : "; worth feeding back at ",
		 a[ANSWER_RETRY_AT], scratch);
}

static void put_line(FILE *out, const struct story_line *l, const struct step *st, struct buf *scratch)
{
	fputs("  ", out);
	put_safe(out, l->file, strlen(l->file));
	fprintf(out, ":%lu: ", l->lineno);
	if (!st->is_result)
		fputs("not a result record", out);
	else if (st->r.outcome == OUTCOME_SUPERSEDED)
		put_superseded(out, step_superseded_by(st), l->escaped, scratch);
	else if (st->r.outcome == OUTCOME_DRY_RUN)
		fputs("dry run, not sent", out);
	else if (st->r.outcome == OUTCOME_EARLIER) {
		fputs("duplicate: the ledger had it settled already, not sent", out);
		put_part(out, ": ", st->result[ANSWER_MESSAGE], scratch);
	}
	else {
		fprintf(out, "%s, ", st->r.outcome == OUTCOME_PENDING ? "pending" : st->r.outcome == OUTCOME_DELIVERED
				 ? "delivered" : "failed");
		put_attempts(out, st, scratch);
	}
	if (st->is_result && st->role == ROLE_AFTER_DELIVERY)
		fputs(" (after its delivery: nothing new)", out);
	fputc('\n', out);
	if (st->is_result && st->result[ANSWER_RESPONSE].p && *st->result[ANSWER_RESPONSE].p == '{')
		put_response(out, st->result[ANSWER_RESPONSE], l->escaped, scratch);
}

void stories_text(const struct stories *s, FILE *out)
{
	struct step_reader rd;
	struct buf scratch = { 0 };
	struct step st;
	step_reader_init(&rd);
	for (size_t i = 0; i < s->n; i++) {
		const struct story *story = s->v[i];
		enum outcome fate = story_fate(&rd, story);
		if (i)
			fputc('\n', out);
		for (size_t j = 0; j < story->n; j++) {
			step_read(&rd, &story->line[j], &st);
			if (!j)
				put_head(out, story, &st, fate, &scratch);
			put_line(out, &story->line[j], &st, &scratch);
		}
	}
	buf_free(&scratch);
	step_reader_free(&rd);
}
