/*
 * Timestamps as the records carry them: RFC 3339 text with any offset and
 * fractional seconds ("2026-11-24T10:00:00Z", "2026-11-24T12:00:00.5+02:00")
 * or Unix seconds as a JSON number, integer or fraction. Parsing is exact,
 * to the nanosecond, and independent of the TZ environment; formatting is
 * always UTC with "Z" and as many fraction digits as needed, none for a
 * whole second. Only the years 0000 to 9999 (in UTC) parse, so whatever
 * parses can be written back.
 */
#include "stamp.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly `width` digits at *p into *v. */
static bool fixed(const char **p, const char *end, int width, int *v)
{
	if (end - *p < width)
		return false;
	*v = 0;
	for (int i = 0; i < width; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		*v = *v * 10 + (c - '0');
	}
	*p += width;
	return true;
}

/* Reads one of the characters of set at *p. */
static bool expect(const char **p, const char *end, const char *set)
{
	if (*p >= end)
		return false;
	for (; *set; set++) {
		if (**p == *set) {
			(*p)++;
			return true;
		}
	}
	return false;
}

/* Reads ".digits" into nanoseconds (digits past the ninth are dropped). */
static bool fraction(const char **p, const char *end, int32_t *nsec)
{
	*nsec = 0;
	if (*p >= end || **p != '.')
		return true;
	(*p)++;
	int n = 0;
	int32_t scale = 100000000;
	for (; *p < end && **p >= '0' && **p <= '9'; (*p)++, n++) {
		*nsec += (**p - '0') * scale;
		scale /= 10;
	}
	return n > 0;
}

static bool offset(const char **p, const char *end, int *seconds)
{
	*seconds = 0;
	if (expect(p, end, "Zz"))
		return true;
	if (*p >= end || (**p != '+' && **p != '-'))
		return false;
	int sign = **p == '-' ? -1 : 1, h, m;
	(*p)++;
	if (!fixed(p, end, 2, &h) || !expect(p, end, ":") || !fixed(p, end, 2, &m) || h > 23 || m > 59)
		return false;
	*seconds = sign * (h * 3600 + m * 60);
	return true;
}

bool stamp_parse_rfc3339(const char *s, size_t n, struct stamp *t)
{
	const char *p = s, *end = s + n;
	int y, mo, d, h, mi, se, off;
	if (!fixed(&p, end, 4, &y) || !expect(&p, end, "-") || !fixed(&p, end, 2, &mo) ||
	    !expect(&p, end, "-") || !fixed(&p, end, 2, &d) || !expect(&p, end, "Tt ") ||
	    !fixed(&p, end, 2, &h) || !expect(&p, end, ":") || !fixed(&p, end, 2, &mi) ||
	    !expect(&p, end, ":") || !fixed(&p, end, 2, &se) || !fraction(&p, end, &t->nsec) ||
	    !offset(&p, end, &off) || p != end)
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
		return false;
	/* A leap second (:60) counts as the first second of the next minute. */
	t->sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
	return t->sec >= STAMP_MIN_SEC && t->sec <= STAMP_MAX_SEC;
}

/* Unix seconds as JSON number text: digits, an optional fraction, no
 * exponent, no sign (a postback does not fire before 1970). */
bool stamp_parse_unix(const char *s, size_t n, struct stamp *t)
{
	const char *p = s, *end = s + n;
	int64_t sec = 0;
	if (p == end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (sec > (STAMP_MAX_SEC - 9) / 10)
			return false;
		sec = sec * 10 + (*p - '0');
	}
	if (!fraction(&p, end, &t->nsec) || p != end)
		return false;
	t->sec = sec;
	return true;
}

/* Writes v as exactly width digits at out; returns the end. */
static char *put_digits(char *out, int64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--, v /= 10)
		out[i] = (char)('0' + v % 10);
	return out + width;
}

size_t stamp_format(struct stamp t, char out[STAMP_TEXT_MAX])
{
	int64_t days = t.sec / 86400, rem = t.sec % 86400, y;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int m, d;
	civil_from_days(days, &y, &m, &d);
	char *p;
	if (y < 0 || y > 9999) {	/* not a time stamp_parse_* gives: the long way */
		p = out + snprintf(out, STAMP_TEXT_MAX, "%04lld-", (long long)y);
	} else {
		p = put_digits(out, y, 4);
		*p++ = '-';
	}
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, rem / 3600, 2);
	*p++ = ':';
	p = put_digits(p, rem / 60 % 60, 2);
	*p++ = ':';
	p = put_digits(p, rem % 60, 2);
	if (t.nsec) {	/* as many fraction digits as needed */
		int digits = 9;
		int32_t f = t.nsec;
		for (; f % 10 == 0; f /= 10)
			digits--;
		*p++ = '.';
		p = put_digits(p, f, digits);
	}
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - out);
}

struct stamp stamp_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (struct stamp){ ts.tv_sec, (int32_t)ts.tv_nsec };
}
