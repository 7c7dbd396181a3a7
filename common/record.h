#ifndef PB_RECORD_H
#define PB_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define JSMN_HEADER
#include <jsmn.h>

#include "buf.h"
#include "json.h"

/* One validated NDJSON line and its jsmn tokens; token 0 is the object.
 * Parsing makes the tokens of the object and of its members' keys and
 * values; the tokens inside a top-level array or object are made when it
 * is first looked into by record_getn, record_members or record_path,
 * which also make them for an array or object they return. Until then
 * tok[i + 1].start is -1 for such a value i (record_skip steps over it
 * all the same), so a value reached by counting (i + 1 after key i) must
 * be found by one of those before its inside is read. */
struct record {
	const char *text;
	size_t len;
	jsmntok_t *tok;
	unsigned ntok, cap;
	struct json_index top;	/* the top-level members, as validation found them */
	struct buf scratch;	/* unescaped strings live here until the next parse */
	struct buf line;	/* the line record_write assembles, to write it with one call */
	bool escapes;		/* some string of the line has a backslash escape */
	char **retired;		/* full scratch buffers, freed by the next parse */
	size_t nretired;
};

/* Keys looked up together by record_members(). */
#define KEYSET_MAX 16
#define KEYSET_MAXLEN 64
struct keyset {
	const char *key[KEYSET_MAX];
	size_t len[KEYSET_MAX], n;
	unsigned short by_len[KEYSET_MAXLEN];	/* bit i: key i has this length */
};

bool record_parse(struct record *r, const char *text, size_t len, struct json_error *e);
int record_get(const struct record *r, int obj, const char *key);
void keyset_init(struct keyset *ks, const char *const *keys);
void record_members(const struct record *r, int obj, const struct keyset *ks, int *values);
int record_getn(const struct record *r, int obj, const char *key, size_t keylen);
int record_path(const struct record *r, const char *path, size_t n);
int record_skip(const struct record *r, int i);
struct text record_text(struct record *r, int i);
bool text_is(struct text t, const char *s);
bool record_is_null(const struct record *r, int i);
bool record_is_number(const struct record *r, int i);
bool record_is_scalar(const struct record *r, int i);
const char *record_type_name(const struct record *r, int i);
void record_write(struct record *r, FILE *out, const char *const *drop, const char *add, size_t addlen);

/* The member that makes a record a notice of its action (pb-records(7)),
 * as pbmatch and pbexpand write it, for record_write()'s add. */
#define RECORD_NOTICE "\"notice\":\"supersede\""
/* The JSON texts of the action that superseded a line: its status,
 * rejection_reason and time as written (an empty text writes null). */
struct superseder {
	struct text status, reason, time;
};
void record_add_superseded(struct buf *b, const struct record *held, const struct superseder *by);
void record_free(struct record *r);

#endif
