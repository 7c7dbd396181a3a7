/* Unit tests of timestamp parsing and formatting. */
#include <string.h>

#include "stamp.h"
#include "tap.h"

static void rfc3339(const char *in, long long sec, int nsec)
{
	struct stamp t;
	bool v = stamp_parse_rfc3339(in, strlen(in), &t);
	ok(v && t.sec == sec && t.nsec == nsec, "rfc3339 %s -> %lld.%09d (got %lld.%09d)", in, sec, nsec,
	   v ? (long long)t.sec : -1LL, v ? (int)t.nsec : -1);
}

static void round_trip(long long sec, int nsec, const char *want)
{
	char out[STAMP_TEXT_MAX];
	stamp_format((struct stamp){ sec, nsec }, out);
	ok(strcmp(out, want) == 0, "format %lld.%09d -> %s (got %s)", sec, nsec, want, out);
}

/* Nanoseconds and back, before the epoch too. */
static void nanoseconds(int64_t ns, int64_t sec, int32_t nsec)
{
	struct stamp t = stamp_from_ns(ns);
	ok(t.sec == sec && t.nsec == nsec && stamp_to_ns(t) == ns, "ns %lld -> %lld.%09d",
	   (long long)ns, (long long)sec, nsec);
}

int main(void)
{
	static const char *const bad[] = {
		"2026-11-24", "2026-11-24T10:00:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
		"2026-11-24T24:00:00Z", "2026-11-24T10:60:00Z", "2026-11-24T10:00:00.Z",
		"2026-11-24T10:00:00+2:00", "2026-11-24T10:00:00Zjunk", "26-11-24T10:00:00Z", "",
	};
	nanoseconds(0, 0, 0);
	nanoseconds(1795514400123456789LL, 1795514400, 123456789);
	nanoseconds(-1, -1, 999999999);
	rfc3339("1970-01-01T00:00:00Z", 0, 0);
	rfc3339("2026-11-24T10:00:00Z", 1795514400, 0);
	rfc3339("2026-11-24t10:00:00z", 1795514400, 0);
	rfc3339("2026-11-24 10:00:00Z", 1795514400, 0);
	rfc3339("2026-11-24T12:00:00+02:00", 1795514400, 0);
	rfc3339("2026-11-24T05:30:00-04:30", 1795514400, 0);
	rfc3339("2026-11-24T10:00:00.25Z", 1795514400, 250000000);
	rfc3339("2026-11-24T10:00:00.123456789123Z", 1795514400, 123456789);
	rfc3339("2024-02-29T00:00:00Z", 1709164800, 0);
	rfc3339("2016-12-31T23:59:60Z", 1483228800, 0);
	rfc3339("0000-01-01T00:00:00Z", STAMP_MIN_SEC, 0);
	rfc3339("9999-12-31T23:59:59Z", STAMP_MAX_SEC, 0);
	rfc3339("0000-01-01T00:00:00-01:00", STAMP_MIN_SEC + 3600, 0);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct stamp t;
		ok(!stamp_parse_rfc3339(bad[i], strlen(bad[i]), &t), "rfc3339 rejects '%s'", bad[i]);
	}
	struct stamp t;
	ok(!stamp_parse_rfc3339("0000-01-01T00:00:00+01:00", 25, &t) &&
	   !stamp_parse_rfc3339("9999-12-31T23:59:60Z", 20, &t) &&
	   !stamp_parse_rfc3339("9999-12-31T23:00:00-01:00", 25, &t), "rfc3339 rejects UTC times outside 0000 to 9999");
	ok(stamp_parse_unix("253402300799", 12, &t) && !stamp_parse_unix("253402300800", 12, &t),
	   "unix seconds up to the end of 9999");
	ok(stamp_parse_unix("1700000000", 10, &t) && t.sec == 1700000000 && t.nsec == 0, "unix integer");
	ok(stamp_parse_unix("1700000000.5", 12, &t) && t.sec == 1700000000 && t.nsec == 500000000, "unix fraction");
	ok(!stamp_parse_unix("-5", 2, &t) && !stamp_parse_unix("1e9", 3, &t) &&
	   !stamp_parse_unix("99999999999999999999", 20, &t), "unix rejects sign, exponent, overflow");
	round_trip(0, 0, "1970-01-01T00:00:00Z");
	round_trip(253402300801LL, 500000000, "10000-01-01T00:00:01.5Z");	/* past what parses: still whole */
	round_trip(1795514520, 0, "2026-11-24T10:02:00Z");
	round_trip(1795514400, 250000000, "2026-11-24T10:00:00.25Z");
	round_trip(1709164800, 1, "2024-02-29T00:00:00.000000001Z");
	return done();
}
