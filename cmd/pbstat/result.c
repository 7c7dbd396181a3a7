/*
 * Reading a result record, as pbfire(1) writes it, into the few figures
 * pbstat counts: the outcome (dry run, duplicate, pending, delivered or
 * failed, in that order of precedence), attempts, status, the last
 * attempt's latency, the fire lag (result.fired_at less fire_at) and the
 * error class and message. A line is a result record when its "result"
 * member is an object with a boolean "ok"; "final": false marks a
 * deferral that will be tried again (pending), and a record without
 * "final" is final, as pbfire writes them today.
 */
#include "result.h"

#include <math.h>
#include <stdlib.h>

#include "stamp.h"

enum { TOP_RESULT, TOP_FIRE_AT };
enum { R_OK, R_DRY_RUN, R_FINAL, R_ERROR, R_MESSAGE, R_STATUS, R_ATTEMPTS, R_MS, R_FIRED_AT, R_KEYS };

void result_keys_init(struct result_keys *k)
{
	static const char *const top[] = { "result", "fire_at", NULL };
	static const char *const result[] = {
		"ok", "dry_run", "final", "error", "message", "status", "attempts", "ms", "fired_at", NULL,
	};
	keyset_init(&k->top, top);
	keyset_init(&k->result, result);
}

static bool is_literal(const struct record *r, int i, char first)
{
	return i >= 0 && r->tok[i].type == JSMN_PRIMITIVE && r->text[r->tok[i].start] == first;
}

static bool is_string(const struct record *r, int i)
{
	return i >= 0 && r->tok[i].type == JSMN_STRING;
}

static struct text string_or_none(struct record *r, int i)
{
	return is_string(r, i) ? record_text(r, i) : (struct text){ 0 };
}

/* The number at token i (which a delimiter follows in the line), or NAN. */
static double number_at(const struct record *r, int i)
{
	return i >= 0 && record_is_number(r, i) ? strtod(r->text + r->tok[i].start, NULL) : NAN;
}

/* A time at token i, RFC 3339 text or Unix seconds, in nanoseconds. */
static bool time_at(struct record *r, int i, int64_t *ns)
{
	struct stamp s;
	if (i < 0)
		return false;
	struct text t = record_text(r, i);
	bool ok = is_string(r, i) ? stamp_parse_rfc3339(t.p, t.n, &s)
		: record_is_number(r, i) && stamp_parse_unix(t.p, t.n, &s);
	if (ok && (s.sec < 0 || s.sec >= 9000000000LL))	/* nanoseconds must fit in 64 bits */
		return false;
	*ns = ok ? stamp_to_ns(s) : 0;
	return ok;
}

static enum outcome outcome_of(struct record *r, const int *v)
{
	if (is_literal(r, v[R_DRY_RUN], 't'))
		return OUTCOME_DRY_RUN;
	if (text_is(string_or_none(r, v[R_ERROR]), "duplicate"))
		return OUTCOME_DUPLICATE;
	if (is_literal(r, v[R_FINAL], 'f'))
		return OUTCOME_PENDING;
	return is_literal(r, v[R_OK], 't') ? OUTCOME_DELIVERED : OUTCOME_FAILED;
}

static void read_times(struct record *r, int fire_at, int fired_at, struct result *out)
{
	int64_t fired, due;
	out->has_fired = is_string(r, fired_at) && time_at(r, fired_at, &fired);
	out->has_lag = out->has_fired && time_at(r, fire_at, &due);
	if (out->has_fired)
		out->fired_sec = fired / STAMP_NS;
	if (out->has_lag)
		out->lag_us = fired > due ? (uint64_t)(fired - due) / 1000 : 0;
}

/* Reads r, a parsed line, into out; false when it is not a result record. */
bool result_read(const struct result_keys *k, struct record *r, struct result *out)
{
	int top[2], v[R_KEYS];
	record_members(r, 0, &k->top, top);
	if (top[TOP_RESULT] < 0 || r->tok[top[TOP_RESULT]].type != JSMN_OBJECT)
		return false;
	record_members(r, top[TOP_RESULT], &k->result, v);
	if (!is_literal(r, v[R_OK], 't') && !is_literal(r, v[R_OK], 'f'))
		return false;
	out->outcome = outcome_of(r, v);
	double attempts = number_at(r, v[R_ATTEMPTS]), status = number_at(r, v[R_STATUS]);
	double ms = number_at(r, v[R_MS]);
	out->attempts = attempts >= 1 && attempts < 1e9 ? (long)attempts : 0;
	out->status = status >= 0 && status < 1000 && status == floor(status) ? (long)status : -1;
	out->has_latency = out->attempts > 0 && ms >= 0 && ms < 1e12;
	out->latency_us = out->has_latency ? (uint64_t)llround(ms * 1000) : 0;
	read_times(r, top[TOP_FIRE_AT], v[R_FIRED_AT], out);
	out->error = string_or_none(r, v[R_ERROR]);
	out->message = string_or_none(r, v[R_MESSAGE]);
	return true;
}
