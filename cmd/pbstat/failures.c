/*
 * --html's latest failures: of each postback (by "postback.name"), the
 * last --html-max result records of an attempt that failed, whether the
 * postback failed for good or is to be tried again, as result.c reads
 * them (so a superseded, duplicate or dry-run record is none). Each keeps
 * what the page shows of it: when it was fired, the URL with its secrets
 * masked (mask.c), the ids a search finds it by (transaction_id,
 * external_transaction_id, the click id, and postback.key), the status,
 * error and message, and the publisher's answer (result.response: its
 * status, headers, body and whether pbfire truncated it), every string
 * cut to a bound on a UTF-8 boundary. Memory is bounded by the postbacks'
 * names times --html-max, never by the records read. A line without
 * "false" in it cannot have "ok": false, and is passed over unparsed.
 */
#include "failures.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "mask.h"

#define FIELD_MAX 1024		/* bytes kept of a string */
#define BODY_MAX 4096		/* bytes kept of an answer's body, or its headers */

void failures_init(struct failures *f, size_t max)
{
	memset(f, 0, sizeof *f);
	f->max = max;
	result_reader_init(&f->reader);
}

/* The ring of the postback named by token i (-1: none). */
static struct failure_ring *ring_of(struct failures *f, int i)
{
	bool named = i >= 0 && f->record.tok[i].type == JSMN_STRING;
	struct text name = named ? record_text(&f->record, i) : (struct text){ "", 0 };
	char key[FIELD_MAX + 1];
	key[0] = named ? 'v' : '-';
	size_t n = utf8_cut(name.p, name.n, FIELD_MAX);
	memcpy(key + 1, name.p, n);
	size_t *at = strmap_put(&f->index, key, n + 1, f->n);
	if (*at == f->n) {
		struct failure_ring *r = xcalloc(1, sizeof *r);
		r->v = xcalloc(f->max, sizeof *r->v);
		if (key[0] == 'v') {
			r->name = xstrndup(name.p, n);
			r->len = n;
		}
		f->rings = xreallocarray(f->rings, f->n + 1, sizeof *f->rings);
		f->rings[f->n++] = r;
	}
	return f->rings[*at];
}

/* Appends t to b, a NUL (\u0000 in the record) as U+FFFD, so that the
 * string kept ends at its own end. */
static void add_kept(struct buf *b, struct text t)
{
	for (const char *p = t.p, *end = t.p + t.n; p < end; p++) {
		if (*p)
			buf_addc(b, *p);
		else
			buf_adds(b, "\xEF\xBF\xBD");
	}
}

/* The string at dotted path, cut to max bytes, or NULL. */
static char *string_at(struct failures *f, const char *path, size_t max)
{
	int i = record_path(&f->record, path, strlen(path));
	if (i < 0 || !record_is_scalar(&f->record, i) || record_is_null(&f->record, i))
		return NULL;
	struct text t = record_text(&f->record, i);
	struct buf b = { 0 };
	add_kept(&b, (struct text){ t.p, utf8_cut(t.p, t.n, max) });
	return b.data ? b.data : xstrndup("", 0);
}

static char *masked_url(struct failures *f)
{
	int i = record_path(&f->record, "url", 3);
	if (i < 0 || f->record.tok[i].type != JSMN_STRING)
		return NULL;
	struct text t = record_text(&f->record, i);
	struct buf b = { 0 };
	mask_url(t.p, utf8_cut(t.p, t.n, FIELD_MAX), &b);
	return b.data;
}

/* The answer's headers, "Name: value" a line, or NULL. */
static char *headers_text(struct failures *f)
{
	struct record *r = &f->record;
	int obj = record_path(r, "result.response.headers", 23);
	if (obj < 0 || r->tok[obj].type != JSMN_OBJECT || !r->tok[obj].size)
		return NULL;
	struct buf b = { 0 };
	int k = obj + 1;
	for (int m = 0; m < r->tok[obj].size && b.len < BODY_MAX; m++, k = record_skip(r, k + 1)) {
		struct text name = record_text(r, k), value = record_text(r, k + 1);
		add_kept(&b, name);
		buf_adds(&b, ": ");
		add_kept(&b, value);
		buf_addc(&b, '\n');
	}
	b.len = utf8_cut(b.data, b.len, BODY_MAX);
	b.data[b.len] = '\0';
	return b.data;
}

static long status_at(struct failures *f, const char *path)
{
	int i = record_path(&f->record, path, strlen(path));
	if (i < 0 || !record_is_number(&f->record, i))
		return -1;
	double v = strtod(f->record.text + f->record.tok[i].start, NULL);
	return v >= 0 && v < 1000 && v == floor(v) ? (long)v : -1;
}

static void failure_free(struct failure *x)
{
	for (int i = 0; i < FAILURE_FIELDS; i++)
		free(x->field[i]);
}

static void keep(struct failures *f, const struct result *res)
{
	struct failure_ring *r = ring_of(f, record_path(&f->record, "postback.name", 13));
	struct failure *x = &r->v[r->next];
	failure_free(x);
	*x = (struct failure){ .seq = ++f->seq, .pending = res->outcome == OUTCOME_PENDING, .status = res->status };
	x->field[FAILURE_FIRED_AT] = string_at(f, "result.fired_at", FIELD_MAX);
	x->field[FAILURE_URL] = masked_url(f);
	x->field[FAILURE_TRANSACTION] = string_at(f, "transaction_id", FIELD_MAX);
	x->field[FAILURE_CLICK] = string_at(f, "external_transaction_id", FIELD_MAX);
	x->field[FAILURE_KEY] = string_at(f, "postback.key", FIELD_MAX);
	x->field[FAILURE_ERROR] = string_at(f, "result.error", FIELD_MAX);
	x->field[FAILURE_MESSAGE] = string_at(f, "result.message", FIELD_MAX);
	x->field[FAILURE_HEADERS] = headers_text(f);
	x->field[FAILURE_BODY] = string_at(f, "result.response.body", BODY_MAX);
	x->answer_status = status_at(f, "result.response.status");
	int t = record_path(&f->record, "result.response.truncated", 25);
	x->truncated = t >= 0 && f->record.text[f->record.tok[t].start] == 't';
	r->next = (r->next + 1) % f->max;
	if (r->n < f->max)
		r->n++;
}

/* Keeps line, a JSON object that json_validate() accepted, when it is the
 * record of a failed attempt. */
void failures_line(struct failures *f, const char *line, size_t len)
{
	struct json_error e;
	struct result res;
	if (!f->max || !memmem(line, len, "false", 5) || !record_parse(&f->record, line, len, &e))
		return;
	int i = record_path(&f->record, "result", 6);
	if (i < 0 || f->record.tok[i].type != JSMN_OBJECT)
		return;
	const jsmntok_t *t = &f->record.tok[i];
	struct text source = { line + t->start, (size_t)(t->end - t->start) };
	if (!result_read(&f->reader, source, (struct text){ 0 }, f->record.escapes, &res))
		return;
	if (res.outcome == OUTCOME_FAILED || (res.outcome == OUTCOME_PENDING && res.attempts > 0))
		keep(f, &res);
}

/* The i-th newest failure of r, from 0; NULL past the last. */
const struct failure *failures_newest(const struct failure_ring *r, size_t i, size_t max)
{
	if (i >= r->n)
		return NULL;
	return &r->v[(r->next + max - 1 - i) % max];
}

void failures_free(struct failures *f)
{
	for (size_t i = 0; i < f->n; i++) {
		for (size_t k = 0; k < f->max; k++)
			failure_free(&f->rings[i]->v[k]);
		free(f->rings[i]->v);
		free(f->rings[i]->name);
		free(f->rings[i]);
	}
	free(f->rings);
	strmap_free(&f->index);
	record_free(&f->record);
	result_reader_free(&f->reader);
}
