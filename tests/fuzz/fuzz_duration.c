/* Fuzzes the duration grammar (common/duration.c) with a bare number in
 * seconds, milliseconds or refused, and pbfire's --schedule, a list of
 * them (cmd/pbfire/schedule.c). Beyond no crash: the input is taken
 * exactly when it is digits with at most one point and a digit, then a
 * unit or nothing; the value is that of strtold's reading of the number
 * times the unit, to within a nanosecond and long double's precision,
 * or INT64_MAX when that is beyond it; the value written back as
 * seconds with nine decimals parses to itself; a schedule is taken
 * exactly when it is 1 to 32 durations in range, comma-separated, with
 * their values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "fuzz.h"
#include "schedule.h"

static const char *const unit_names[] = { "us", "ms", "s", "m", "h", "d" };
static const int64_t unit_ns[] = { DURATION_US, DURATION_MS, DURATION_S, DURATION_M, DURATION_H, DURATION_D };

/* The length of the number that starts s[0,n), or 0 when it is not one:
 * its digits and points, at least one digit, at most one point. */
static size_t number_length(const char *s, size_t n)
{
	size_t i = 0, digits = 0, points = 0;
	for (; i < n && (s[i] == '.' || (s[i] >= '0' && s[i] <= '9')); i++) {
		digits += s[i] != '.';
		points += s[i] == '.';
	}
	return digits && points <= 1 ? i : 0;
}

/* The unit s[0,n) names, the bare one when n is 0; 0 when none. */
static int64_t unit_of(const char *s, size_t n, int64_t bare)
{
	if (!n)
		return bare;
	for (size_t i = 0; i < sizeof unit_names / sizeof *unit_names; i++)
		if (n == strlen(unit_names[i]) && !strncmp(s, unit_names[i], n))
			return unit_ns[i];
	return 0;
}

static void check_value(const char *s, size_t number, int64_t unit, int64_t ns)
{
	char *text = strndup(s, number);
	CHECK(text);
	long double want = strtold(text, NULL) * (long double)unit;
	free(text);
	long double slack = 2 + want * 1e-17L;
	if (want >= (long double)INT64_MAX + slack)
		CHECK(ns == INT64_MAX);
	else
		CHECK(fabsl((long double)ns - want) <= slack || (ns == INT64_MAX && want >= INT64_MAX - slack));
}

/* ns written as seconds with nine decimals reads back as ns. */
static void check_round_trip(int64_t ns)
{
	char text[40];
	int len = snprintf(text, sizeof text, "%lld.%09llds", (long long)(ns / DURATION_S),
			   (long long)(ns % DURATION_S));
	int64_t back = -1;
	CHECK(duration_parse(text, (size_t)len, 0, &back) && back == ns);
}

static void check_grammar(const char *s, size_t n, int64_t bare)
{
	int64_t ns = -1;
	bool taken = duration_parse(s, n, bare, &ns);
	size_t number = number_length(s, n);
	int64_t unit = number ? unit_of(s + number, n - number, bare) : 0;
	CHECK(taken == (unit != 0));
	if (!taken)
		return;
	CHECK(ns >= 0);
	check_value(s, number, unit, ns);
	check_round_trip(ns);
}

/* The text up to the first NUL, as --schedule, against its items each
 * read alone. */
static void check_schedule(const char *s, size_t size)
{
	char *text = strndup(s, size);
	CHECK(text);
	struct schedule sch;
	bool taken = schedule_parse(&sch, text);
	size_t n = 0, items = sizeof sch.waits / sizeof *sch.waits;
	bool all_waits = true;
	for (const char *p = text; all_waits; p++) {
		size_t len = strcspn(p, ",");
		int64_t ns;
		all_waits = n < items && duration_parse(p, len, DURATION_S, &ns) && ns <= SCHEDULE_WAIT_MAX;
		if (all_waits && taken)
			CHECK(sch.waits[n] == (double)ns / DURATION_S);
		n++;
		p += len;
		if (!*p)
			break;
	}
	CHECK(taken == all_waits);
	CHECK(!taken || sch.n == n);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	check_grammar(s, size, DURATION_S);
	check_grammar(s, size, DURATION_MS);
	check_grammar(s, size, 0);
	check_schedule(s, size);
	return 0;
}
