/*
 * The rates pbfire keeps its requests to: a host's, from --rate
 * HOST=RATE, and a rule's, the "rate" its lines carry in their postback
 * object (pbmatch writes it from pb-rules(5)), both in common/rate.c's
 * grammar. Each rate is a bucket, GCRA with no burst: a request may go
 * once the bucket's next time has come, and moves it on by one interval,
 * so requests go evenly spaced. A line that had to wait for the time
 * (the loop then wakes for it, a little late on a busy machine) moves it
 * on from the time it was due, or from an interval before now when it
 * went later than that, so that lateness does not add up and the rate
 * holds on average, while no window of n intervals holds more than n + 1
 * requests; a line that did not wait moves it on from now, so an idle
 * spell gives no burst. A host's bucket is keyed by the host as
 * pbfire names it (scheme://name:port), a rule's by its name and rate,
 * so that all the lines of a rule share its rate, whatever their host.
 * A line waits for its rates in its host's queue, the host paced until
 * then (main.c), so other hosts are never slowed.
 */
#include "rates.h"

#include <stdlib.h>
#include <string.h>

#include "httpurl.h"
#include "rate.h"
#include "tool.h"

/* The bucket keyed key (n bytes) of interval, added when new; its index. */
static size_t bucket(struct rates *r, const char *key, size_t n, int64_t interval)
{
	size_t *i = strmap_put(&r->index, key, n, r->n);
	if (*i == r->n) {
		r->at = xreallocarray(r->at, ++r->n, sizeof *r->at);
		r->at[*i] = (struct bucket){ .interval = interval };
	}
	return *i;
}

/* Adds --rate's spec, HOST=RATE, HOST an http or https URL that names a
 * host (a path, if any, ignored); false with why when it is not one. A
 * host given twice keeps its last rate. */
bool rates_add_host(struct rates *r, const char *spec, struct buf *why)
{
	const char *eq = strrchr(spec, '='), *bad;
	struct buf host = { 0 }, origin = { 0 }, key = { 0 };
	int64_t interval;
	buf_clear(why);
	if (!eq)
		buf_adds(why, "expected HOST=RATE, such as https://t.example=20/s");
	else if ((bad = rate_parse(eq + 1, strlen(eq + 1), &interval)))
		buf_addf(why, "%s, got '%s'", bad, eq + 1);
	else if (buf_add(&host, spec, (size_t)(eq - spec)), !httpurl_check(host.data, host.len, &origin, &bad))
		buf_addf(why, "expected a host such as https://t.example or http://t.example:8080, got '%.*s': %s",
			 (int)(eq - spec), spec, bad);
	if (!why->len) {
		buf_addf(&key, "host %s", origin.data);
		size_t i = bucket(r, key.data, key.len, interval);
		r->at[i].interval = interval;
		*strmap_put(&r->hosts, origin.data, origin.len, i) = i;
	}
	buf_free(&host);
	buf_free(&origin);
	buf_free(&key);
	return !why->len;
}

/* Reads the rate of j's postback, if any, and finds j's buckets: its
 * rule's and its host's (host, n bytes, as hosts.c names it); false with
 * why when the rate is not one. */
bool rates_of_job(struct rates *r, struct job *j, const char *host, size_t n, struct buf *why)
{
	int rate = record_path(&j->rec, "postback.rate", sizeof "postback.rate" - 1);
	size_t h = r->hosts.count ? strmap_get(&r->hosts, host, n) : STRMAP_NONE;
	j->rate_host = h == STRMAP_NONE ? 0 : h + 1;
	j->rate_rule = 0;
	if (rate < 0)
		return true;
	struct text t = record_text(&j->rec, rate);
	int64_t interval;
	const char *bad = j->rec.tok[rate].type != JSMN_STRING ? "expected a string such as \"20/s\""
							      : rate_parse(t.p, t.n, &interval);
	if (bad) {
		buf_clear(why);
		buf_addf(why, "postback.rate: %s", bad);
		return false;
	}
	int name = record_path(&j->rec, "postback.name", sizeof "postback.name" - 1);
	struct text rule = name >= 0 ? record_text(&j->rec, name) : (struct text){ "", 0 };
	buf_clear(&r->key);
	buf_addf(&r->key, "rule %.*s %.*s", (int)t.n, t.p, (int)rule.n, rule.p);
	j->rate_rule = bucket(r, r->key.data, r->key.len, interval) + 1;
	return true;
}

/* The time bucket i + 1 (0: none) lets a line go, INT64_MIN for none; a
 * bucket whose time is after now notes that a line waits for it. */
static int64_t due(struct rates *r, size_t i, int64_t now)
{
	if (!i)
		return INT64_MIN;
	struct bucket *b = &r->at[i - 1];
	b->waited |= b->next > now;
	return b->next;
}

/* When j may go by its rates: a time not after now when it may now. */
int64_t rates_due(struct rates *r, const struct job *j, int64_t now)
{
	int64_t rule = due(r, j->rate_rule, now), host = due(r, j->rate_host, now);
	return rule > host ? rule : host;
}

static void take(struct bucket *b, int64_t now)
{
	int64_t from = b->waited ? now - b->interval : now;
	b->next = (b->next > from ? b->next : from) + b->interval;
	b->waited = false;
}

/* Counts j's request, going now, against its rates. */
void rates_take(struct rates *r, const struct job *j, int64_t now)
{
	if (j->rate_rule)
		take(&r->at[j->rate_rule - 1], now);
	if (j->rate_host)
		take(&r->at[j->rate_host - 1], now);
}

void rates_free(struct rates *r)
{
	free(r->at);
	strmap_free(&r->index);
	strmap_free(&r->hosts);
	buf_free(&r->key);
	*r = (struct rates){ 0 };
}
