/*
 * Reading a result record, as pbfire(1) writes it, into the few figures
 * pbstat counts: the outcome (dry run, duplicate, superseded, pending,
 * delivered or failed, in that order of precedence), the attempts of
 * this round and of all rounds, the status, the last
 * attempt's latency, the fire lag (result.fired_at less fire_at) and the
 * error class and message. A line is a result record when its "result"
 * member is an object with a boolean "ok"; "final": false marks a
 * deferral that will be tried again (pending), and a record without
 * "final" is final, as pbfire writes them today. The result object's
 * members are found the way the line's are (members.c), without tokens.
 */
#include "result.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "stamp.h"

enum {
	R_OK, R_DRY_RUN, R_FINAL, R_ERROR, R_MESSAGE, R_STATUS, R_ATTEMPTS, R_ATTEMPTS_IN_ALL, R_MS,
	R_FIRED_AT
};

void result_reader_init(struct result_reader *rd)
{
	static const char *const keys[] = {
		"ok", "dry_run", "final", "error", "message", "status", "attempts", "attempts_in_all", "ms",
		"fired_at", NULL,
	};
	memset(rd, 0, sizeof *rd);
	for (size_t i = 0; keys[i]; i++)
		members_want(&rd->members, keys[i], strlen(keys[i]));
}

/* Whether value v is the literal that starts with first (t, f or n). */
static bool is_literal(struct text v, char first)
{
	return v.p && *v.p == first;
}

static bool is_string(struct text v)
{
	return v.p && *v.p == '"';
}

static struct text string_or_none(struct text v, struct buf *scratch)
{
	return is_string(v) ? member_string(v, scratch) : (struct text){ 0 };
}

/* The number v (which a delimiter follows in the line), or NAN. */
static double number_of(struct text v)
{
	return v.p && (*v.p == '-' || (*v.p >= '0' && *v.p <= '9')) ? strtod(v.p, NULL) : NAN;
}

/* A time, RFC 3339 text (a string) or Unix seconds, in nanoseconds. */
static bool time_of(struct text v, struct buf *scratch, int64_t *ns)
{
	struct stamp s;
	struct text t = member_string(v, scratch);
	bool ok = v.p && (is_string(v) ? stamp_parse_rfc3339(t.p, t.n, &s) : stamp_parse_unix(t.p, t.n, &s));
	if (ok && (s.sec < 0 || s.sec >= 9000000000LL))	/* nanoseconds must fit in 64 bits */
		return false;
	*ns = ok ? stamp_to_ns(s) : 0;
	return ok;
}

/* What a record says of its postback. A superseded line is not sent,
 * dry run or not, so that fate comes first. */
static enum outcome outcome_of(const struct text *v, struct text error)
{
	if (text_is(error, "superseded"))
		return OUTCOME_SUPERSEDED;
	if (is_literal(v[R_DRY_RUN], 't'))
		return OUTCOME_DRY_RUN;
	if (text_is(error, "duplicate"))
		return OUTCOME_EARLIER;
	if (is_literal(v[R_FINAL], 'f'))
		return OUTCOME_PENDING;
	return is_literal(v[R_OK], 't') ? OUTCOME_DELIVERED : OUTCOME_FAILED;
}

static void read_times(struct result_reader *rd, struct text fired_at, struct text fire_at,
		       struct result *out)
{
	int64_t fired, due;
	out->has_fired = is_string(fired_at) && time_of(fired_at, &rd->time, &fired);
	out->has_lag = out->has_fired && time_of(fire_at, &rd->time, &due);
	if (out->has_fired)
		out->fired_sec = fired / STAMP_NS;
	if (out->has_lag)
		out->lag_us = fired > due ? (uint64_t)(fired - due) / 1000 : 0;
}

/* Reads a line's "result" and "fire_at" members (their source text, p
 * NULL when absent) into out; escaped tells whether the line has escapes.
 * False when it is not a result record. */
bool result_read(struct result_reader *rd, struct text result, struct text fire_at, bool escaped,
		 struct result *out)
{
	if (!result.p || *result.p != '{')
		return false;
	members_find(&rd->members, result.p, escaped);
	const struct text *v = rd->members.value;
	if (!is_literal(v[R_OK], 't') && !is_literal(v[R_OK], 'f'))
		return false;
	out->error = string_or_none(v[R_ERROR], &rd->error);
	out->message = string_or_none(v[R_MESSAGE], &rd->message);
	out->outcome = outcome_of(v, out->error);
	double attempts = number_of(v[R_ATTEMPTS]), status = number_of(v[R_STATUS]), ms = number_of(v[R_MS]);
	double in_all = number_of(v[R_ATTEMPTS_IN_ALL]);
	out->attempts = attempts >= 1 && attempts < 1e9 ? (long)attempts : 0;
	out->attempts_all = in_all >= 1 && in_all < 1e9 ? (long)in_all : out->attempts;
	out->status = status >= 0 && status < 1000 && status == floor(status) ? (long)status : -1;
	out->has_latency = out->attempts > 0 && ms >= 0 && ms < 1e12;
	out->latency_us = out->has_latency ? (uint64_t)llround(ms * 1000) : 0;
	read_times(rd, v[R_FIRED_AT], fire_at, out);
	return true;
}

void result_reader_free(struct result_reader *rd)
{
	members_free(&rd->members);
	buf_free(&rd->error);
	buf_free(&rd->message);
	buf_free(&rd->time);
}
