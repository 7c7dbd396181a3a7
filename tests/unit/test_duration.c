/* Unit tests of the duration grammar (common/duration.c): every unit,
 * decimals exact to the nanosecond, the bare unit, saturation beyond
 * INT64_MAX, and what is not a duration. */
#include <string.h>

#include "duration.h"
#include "tap.h"

static void good(const char *in, int64_t bare, int64_t want)
{
	int64_t ns = -1;
	bool v = duration_parse(in, strlen(in), bare, &ns);
	ok(v && ns == want, "'%s' -> %lld ns (got %s%lld)", in, (long long)want, v ? "" : "refused, ",
	   (long long)ns);
}

static void bad(const char *in, int64_t bare)
{
	int64_t ns = -1;
	ok(!duration_parse(in, strlen(in), bare, &ns) && ns == -1, "'%s' refused", in);
}

int main(void)
{
	static const struct {
		const char *text;
		int64_t bare, ns;
	} durations[] = {
		{ "0", DURATION_S, 0 },
		{ "0s", DURATION_S, 0 },
		{ "800us", DURATION_S, 800 * DURATION_US },
		{ "250ms", DURATION_S, 250 * DURATION_MS },
		{ "2s", DURATION_MS, 2 * DURATION_S },
		{ "2m", DURATION_S, 120 * DURATION_S },
		{ "1h", DURATION_S, 3600 * DURATION_S },
		{ "1d", DURATION_S, 86400 * DURATION_S },
		{ "30", DURATION_S, 30 * DURATION_S },
		{ "30", DURATION_MS, 30 * DURATION_MS },
		{ "2.5", DURATION_S, 2500 * DURATION_MS },
		{ "2.5s", DURATION_MS, 2500 * DURATION_MS },
		{ "1.5m", DURATION_S, 90 * DURATION_S },
		{ "0.1s", DURATION_S, 100 * DURATION_MS },
		{ "1.", DURATION_S, DURATION_S },
		{ ".5", DURATION_S, 500 * DURATION_MS },
		{ "007s", DURATION_S, 7 * DURATION_S },
		{ "1.000000001s", DURATION_S, DURATION_S + 1 },
		{ "1.0000000019s", DURATION_S, DURATION_S + 1 },	/* below a nanosecond: dropped */
		{ "0.0000000000001d", DURATION_S, 8 },		/* 8.64 ns */
		{ "0.33333333333333333333333h", DURATION_S, 1200 * DURATION_S - 1 },
		{ "1.5us", DURATION_S, 1500 },
		{ "9223372036854775807", 1, INT64_MAX },
		{ "9223372036.854775807s", DURATION_S, INT64_MAX },
		{ "9223372036.854775808s", DURATION_S, INT64_MAX },	/* saturated */
		{ "106752d", DURATION_S, INT64_MAX },
		{ "99999999999999999999999999s", DURATION_S, INT64_MAX },
		{ "0000000000000000000000000001s", DURATION_S, DURATION_S },
		{ "2s", 0, 2 * DURATION_S },	/* no bare unit, a unit given */
	};
	static const char *const not_durations[] = {
		"", "s", ".", ".s", "1x", "-1s", "+1s", " 1s", "1s ", "1 s", "1e3s", "1e999s", "0x10",
		"1.5.2s", "1..5s", "1S", "1sec", "1ss", "1mss", "inf", "nan", "1,5s", "1s,2s", "١s",
	};
	for (size_t i = 0; i < sizeof durations / sizeof *durations; i++)
		good(durations[i].text, durations[i].bare, durations[i].ns);
	for (size_t i = 0; i < sizeof not_durations / sizeof *not_durations; i++)
		bad(not_durations[i], DURATION_S);
	bad("2", 0);	/* a unit required */
	int64_t ns;
	ok(duration_parse("5s,5m", 2, DURATION_S, &ns) && ns == 5 * DURATION_S, "a length: '5s' of '5s,5m'");
	ok(duration_round(1499999, DURATION_MS) == 1 && duration_round(1500000, DURATION_MS) == 2,
	   "rounded to the nearest");
	return done();
}
