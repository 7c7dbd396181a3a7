/* Fuzzes the rate grammar (common/rate.c), pbfire's --rate HOST=RATE
 * (cmd/pbfire/rates.c) and the buckets' pacing. Beyond no crash: a rate
 * is taken exactly when it is digits with at most one point and a digit,
 * "/", then s or m, and its interval (the unit over the number, as
 * strtold reads it) from 1/RATE_MAX_PER_S s to a day; the interval is
 * that to within a nanosecond and double's precision; --rate takes the
 * text only when its part after the last '=' is a rate, with that
 * interval; and requests let through at the times the rest of the input
 * gives never go faster than the rate: the m-th after one at least m - 1
 * intervals after it, so that no window of n intervals holds more than
 * n + 1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "rate.h"
#include "rates.h"

#define NOW 1800000000000000000LL	/* ns, in 2027 */

/* The interval s[0,n) gives by the grammar, in or out of range (inf for
 * a rate of 0), or -1 when it is not a rate. */
static long double expected(const char *s, size_t n)
{
	size_t digits = 0, points = 0;
	if (n < 2 || s[n - 2] != '/' || (s[n - 1] != 's' && s[n - 1] != 'm'))
		return -1;
	for (size_t i = 0; i < n - 2; i++) {
		if (s[i] != '.' && (s[i] < '0' || s[i] > '9'))
			return -1;
		digits += s[i] != '.';
		points += s[i] == '.';
	}
	if (!digits || points > 1)
		return -1;
	char *text = strndup(s, n - 2);
	CHECK(text);
	long double count = strtold(text, NULL);
	free(text);
	return (s[n - 1] == 's' ? 1e9L : 60e9L) / count;
}

static void check_grammar(const char *s, size_t n)
{
	int64_t interval = -1;
	bool taken = !rate_parse(s, n, &interval);
	long double want = expected(s, n);
	/* at the range's edges double's rounding may decide either way */
	long double slack = 1 + want * 1e-12L, min = 1e9L / RATE_MAX_PER_S, max = (long double)RATE_INTERVAL_MAX;
	if (want < 0 || want < min - slack || want > max + slack)
		CHECK(!taken);
	else if (want > min + slack && want < max - slack)
		CHECK(taken);
	if (taken)
		CHECK(fabsl((long double)interval - want) <= slack);
}

/* Lets requests through at the times the bytes give, as pbfire's loop
 * does: one whenever rates_due() says it may go. */
static void check_pacing(struct rates *r, const uint8_t *p, size_t n)
{
	struct job j = { .rate_host = 1 };
	int64_t interval = r->at[0].interval, now = NOW, sent[64];
	size_t k = 0;
	for (size_t i = 0; i < n && k < 64; i++) {
		now += (int64_t)p[i] * interval / 32;
		if (rates_due(r, &j, now) > now)
			continue;
		rates_take(r, &j, now);
		sent[k++] = now;
	}
	for (size_t a = 0; a < k; a++)
		for (size_t b = a + 1; b < k; b++)
			CHECK(sent[b] - sent[a] >= (int64_t)(b - a - 1) * interval);
}

static void check_host_rate(const char *s, size_t n)
{
	char *text = strndup(s, n);
	CHECK(text);
	struct rates r = { 0 };
	struct buf why = { 0 };
	const char *eq = strrchr(text, '=');
	int64_t interval;
	bool rate_ok = eq && !rate_parse(eq + 1, strlen(eq + 1), &interval);
	fuzz_quiet();
	bool taken = rates_add_host(&r, text, &why);
	fuzz_loud();
	CHECK(taken == !why.len);
	CHECK(!taken || (rate_ok && r.n == 1 && r.at[0].interval == interval));
	if (taken)
		check_pacing(&r, (const uint8_t *)s, n);
	rates_free(&r);
	buf_free(&why);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	check_grammar(s, size);
	check_host_rate(s, strnlen(s, size));
	return 0;
}
