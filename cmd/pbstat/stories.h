#ifndef PBSTAT_STORIES_H
#define PBSTAT_STORIES_H

#include <stdbool.h>
#include <stdio.h>

#include "fates.h"
#include "members.h"
#include "result.h"
#include "strmap.h"

/* One line that matched, kept whole. */
struct story_line {
	const char *file;	/* as diagnostics name it; must stay valid */
	unsigned long lineno;
	char *text;
	size_t len;
	bool escaped;		/* it has escapes (json_shape.escapes) */
};

/* The lines of one postback (one key), in the order read. */
struct story {
	char *key;		/* NULL: a line without a key, a postback of its own */
	size_t keylen;
	struct story_line *line;
	size_t n;
};

/* The stories of the lines that matched, in the order their postbacks
 * first showed. */
struct stories {
	struct strmap index;	/* key to story */
	struct story **v;
	size_t n;
	unsigned long lines;
};

/* What a line of a story says: the source text of the members told
 * (p NULL when absent), and what its result record says of its postback. */
enum {
	STEP_TYPE, STEP_TRANSACTION_ID, STEP_EXTERNAL_ID, STEP_EVENT_NAME, STEP_STATUS,
	STEP_REJECTION_REASON, STEP_TIME, STEP_POSTBACK, STEP_FIRE_AT, STEP_URL, STEP_SUPERSEDED,
	STEP_RESULT, STEP_MEMBERS
};
enum {
	ANSWER_OK, ANSWER_FINAL, ANSWER_DRY_RUN, ANSWER_STATUS, ANSWER_ATTEMPTS, ANSWER_ATTEMPTS_IN_ALL,
	ANSWER_ERROR, ANSWER_MESSAGE, ANSWER_MS, ANSWER_FIRED_AT, ANSWER_RETRY_AT, ANSWER_ROUND,
	ANSWER_SUPERSEDED_BY, ANSWER_RESPONSE, ANSWER_MEMBERS
};
struct step {
	struct text member[STEP_MEMBERS];
	struct text name, delay;		/* postback.name, postback.delay */
	struct text result[ANSWER_MEMBERS];	/* of "result", when it is an object */
	bool is_result;				/* a result record: r and role hold */
	struct result r;
	enum record_role role;
};

/* Reads the lines of a story in turn, and the fate they give it. */
struct step_reader {
	struct members line, postback, result;
	struct result_reader results;
	struct fate fate;
};

/* The members of a "superseded" or "superseded_by" object, and of a
 * "response" object, told. */
enum { BY_STATUS, BY_REJECTION_REASON, BY_TIME };
enum { RESPONSE_STATUS, RESPONSE_HEADERS, RESPONSE_BODY, RESPONSE_TRUNCATED };

void stories_init(struct stories *s);
void stories_add(struct stories *s, struct text key, const char *file, unsigned long lineno, const char *line,
		 size_t len, bool escaped);
void stories_free(struct stories *s);

void step_reader_init(struct step_reader *rd);
void step_reader_start(struct step_reader *rd);
void step_read(struct step_reader *rd, const struct story_line *l, struct step *out);
enum outcome story_fate(struct step_reader *rd, const struct story *s);
struct text step_superseded_by(const struct step *st);
void superseded_members(struct members *m);
void response_members(struct members *m);
const char *outcome_name(enum outcome o);
void step_reader_free(struct step_reader *rd);

void stories_text(const struct stories *s, FILE *out);
void stories_json(const struct stories *s, FILE *out);

#endif
