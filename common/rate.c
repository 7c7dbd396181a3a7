/*
 * Rates, the one grammar of a rule's rate (pb-rules(5), checked by
 * pbmatch) and of pbfire's --rate HOST=RATE, which reads a rule's rate
 * again off each line:
 *
 *	rate   = number "/" per
 *	number = digits ["." [digits]] | "." digits
 *	per    = "s" | "m"
 *
 * digits being ASCII decimal digits; no sign, exponent or space. A rate
 * is kept as the interval between two requests, in nanoseconds (20/s is
 * 50 ms, 0.5/m two minutes), from 1/RATE_MAX_PER_S seconds to a day:
 * a rate of 0, or one too fast to be a publisher's limit (1000000000/s,
 * a slip more likely than a wish), is refused, not read as no limit,
 * for which the rate is left out. Each caller words its own message
 * around the reason this file gives.
 */
#include "rate.h"

#include <stdbool.h>

#define NS_PER_S 1e9

/* Reads the number s[0,n), the whole of it, into *v; false when it is
 * not one. Digits beyond a double's precision count no more. */
static bool read_number(const char *s, size_t n, double *v)
{
	size_t digits = 0, points = 0;
	double whole = 0, scale = 1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && !points++)
			continue;
		if (s[i] < '0' || s[i] > '9')
			return false;
		digits++;
		if (points)
			whole += (s[i] - '0') * (scale /= 10);
		else
			whole = whole * 10 + (s[i] - '0');
	}
	*v = whole;
	return digits > 0;
}

/* Reads s[0,n), the whole of it, as a rate into *interval_ns: NULL, or
 * why it is not one pb takes. */
const char *rate_parse(const char *s, size_t n, int64_t *interval_ns)
{
	double count, per;
	if (n < 2 || s[n - 2] != '/' || (s[n - 1] != 's' && s[n - 1] != 'm') ||
	    !read_number(s, n - 2, &count))
		return "expected a rate such as 20/s or 300/m";
	per = s[n - 1] == 's' ? NS_PER_S : 60 * NS_PER_S;
	if (count == 0)
		return "a rate of 0 sends nothing; leave the rate out for no limit";
	double interval = per / count;
	if (interval < NS_PER_S / RATE_MAX_PER_S)
		return "over the maximum of 10000/s; leave the rate out for no limit";
	if (interval > (double)RATE_INTERVAL_MAX)
		return "under the minimum of one a day";
	*interval_ns = (int64_t)(interval + 0.5);
	return NULL;
}
