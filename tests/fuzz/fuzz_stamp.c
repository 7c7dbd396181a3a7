/* Fuzzes timestamps (common/stamp.c): the input as RFC 3339 text and as
 * Unix seconds. Beyond no crash: a parsed stamp has nanoseconds in
 * range; formatting it gives RFC 3339 text in UTC that fits
 * STAMP_TEXT_MAX and parses back to the same stamp for years 0000 to
 * 9999, the only ones that parse; Unix seconds land in 1970 to 9999;
 * a stamp within int64 nanoseconds converts there and back unchanged. */
#include <string.h>

#include "fuzz.h"
#include "stamp.h"

static void check_stamp(struct stamp t)
{
	CHECK(t.nsec >= 0 && t.nsec < STAMP_NS);
	char out[STAMP_TEXT_MAX];
	size_t n = stamp_format(t, out);
	CHECK(n < STAMP_TEXT_MAX && n == strlen(out) && out[n - 1] == 'Z');
	if (t.sec >= STAMP_MIN_SEC && t.sec <= STAMP_MAX_SEC) {
		struct stamp back;
		CHECK(stamp_parse_rfc3339(out, n, &back));
		CHECK(back.sec == t.sec && back.nsec == t.nsec);
	}
	if (t.sec > INT64_MIN / STAMP_NS && t.sec < INT64_MAX / STAMP_NS) {
		struct stamp back = stamp_from_ns(stamp_to_ns(t));
		CHECK(back.sec == t.sec && back.nsec == t.nsec);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct stamp t;
	if (stamp_parse_rfc3339(s, size, &t)) {
		CHECK(t.sec >= STAMP_MIN_SEC && t.sec <= STAMP_MAX_SEC);
		check_stamp(t);
	}
	if (stamp_parse_unix(s, size, &t)) {
		CHECK(t.sec >= 0 && t.sec <= STAMP_MAX_SEC);
		check_stamp(t);
	}
	if (size >= 8) {	/* nanoseconds from the input's first bytes */
		int64_t ns;
		memcpy(&ns, data, sizeof ns);
		t = stamp_from_ns(ns);
		CHECK(t.sec <= INT64_MIN / STAMP_NS || stamp_to_ns(t) == ns);	/* before 1678: out of range */
		check_stamp(t);
	}
	return 0;
}
