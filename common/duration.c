/*
 * Durations, the one grammar of every tool's (a rule's delay and
 * timeout, pbfire's --timeout, --backoff, --grace, --schedule, ...,
 * pbstat's --hist and --every), documented once in pb-rules(5):
 *
 *	duration = number [unit]
 *	number   = digits ["." [digits]] | "." digits
 *	unit     = "us" | "ms" | "s" | "m" | "h" | "d"
 *
 * digits being ASCII decimal digits; no sign, exponent or space. A bare
 * number is in the unit its caller documents (seconds for most). The
 * value is exact to the nanosecond, digits below one dropped; one beyond
 * INT64_MAX nanoseconds (292 years) reads as INT64_MAX, so that the
 * caller's range refuses it with its range message rather than a
 * syntax one. Each caller keeps its range and its message.
 */
#include "duration.h"

#include <string.h>

static const struct {
	const char *name;
	int64_t ns;
} units[] = {
	{ "us", DURATION_US }, { "ms", DURATION_MS }, { "s", DURATION_S },
	{ "m", DURATION_M }, { "h", DURATION_H }, { "d", DURATION_D },
};

/* The unit s[0,n) names, or 0. */
static int64_t unit_named(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		if (strlen(units[i].name) == n && memcmp(s, units[i].name, n) == 0)
			return units[i].ns;
	return 0;
}

static size_t count_digits(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* The whole number s[0,n) of units, each unit nanoseconds, saturated at
 * INT64_MAX. */
static int64_t whole_part(const char *s, size_t n, int64_t unit)
{
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		int digit = s[i] - '0';
		if (v > (INT64_MAX - digit) / 10)
			return INT64_MAX;
		v = v * 10 + digit;
	}
	return v > INT64_MAX / unit ? INT64_MAX : v * unit;
}

/* The fraction 0.s[0,n) of unit, floored to the nanosecond: digits taken
 * from the last, x = (digit * unit + x) / 10, which stays below unit and
 * floors exactly as one division would. */
static int64_t fraction_part(const char *s, size_t n, int64_t unit)
{
	int64_t x = 0;
	while (n--)
		x = ((s[n] - '0') * unit + x) / 10;
	return x;
}

/* Reads s[0,n), the whole of it, as a duration into *ns, in nanoseconds;
 * a bare number is in units of bare nanoseconds (DURATION_S and so on,
 * at most DURATION_D; 0 when a unit is required).
 * False when it is not a duration. */
bool duration_parse(const char *s, size_t n, int64_t bare, int64_t *ns)
{
	size_t whole = count_digits(s, n), fraction = 0, number = whole;
	const char *point = s + whole;
	if (whole < n && *point == '.') {
		fraction = count_digits(point + 1, n - whole - 1);
		number += 1 + fraction;
	}
	int64_t unit = number == n ? bare : unit_named(s + number, n - number);
	if (whole + fraction == 0 || unit <= 0)
		return false;
	int64_t w = whole_part(s, whole, unit), f = fraction ? fraction_part(point + 1, fraction, unit) : 0;
	*ns = w > INT64_MAX - f ? INT64_MAX : w + f;
	return true;
}
