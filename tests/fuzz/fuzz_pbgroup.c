/* Fuzzes what pbgroup parses (cmd/pbgroup): a lease file (common/lease.c,
 * which pbfire --lease reads too), pbkafka's answer "revoked P"
 * (member.c) and -X's NAME=VALUE. Beyond no crash: a lease is taken exactly when it is decimal digits without a
 * leading zero (but "0") and a newline, within int64_t, with that value,
 * and one written back reads as itself; an answer exactly when it is
 * "revoked " and such digits within int32_t, a newline or not, with that
 * partition; a setting splits exactly when an '=' follows a non-empty
 * name, at the first '='. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lease.h"
#include "member.h"

/* Whether s[0,n) is a plain decimal number no greater than max; *v its
 * value. */
static bool plain_number(const char *s, size_t n, long long max, long long *v)
{
	if (!n || n > 19 || (s[0] == '0' && n > 1))
		return false;
	char text[20];
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	memcpy(text, s, n);
	text[n] = '\0';
	unsigned long long u = strtoull(text, NULL, 10);
	*v = (long long)u;
	return u <= (unsigned long long)max;
}

static void check_lease(const char *s, size_t n)
{
	int64_t until = -1;
	long long want;
	bool taken = lease_parse(s, n, &until);
	bool valid = n >= 2 && s[n - 1] == '\n' && plain_number(s, n - 1, INT64_MAX, &want);
	CHECK(taken == valid);
	if (!taken)
		return;
	CHECK(until == want);
	const char *path = fuzz_path("lease");
	CHECK(lease_write(path, until));
	CHECK(lease_read(path) == until);
}

static void check_reply(const char *s, size_t n)
{
	static const char word[] = "revoked ";
	size_t w = sizeof word - 1, m = n && s[n - 1] == '\n' ? n - 1 : n;
	int32_t p = -1;
	long long want;
	bool taken = member_reply_parse(s, n, &p);
	bool valid = m > w && !memcmp(s, word, w) && plain_number(s + w, m - w, INT32_MAX, &want);
	CHECK(taken == valid);
	CHECK(!taken || p == want);
}

static void check_property(const char *s, size_t n)
{
	char *text = strndup(s, n);
	CHECK(text);
	size_t len = strlen(text), name = strcspn(text, "=");
	char *copy = strdup(text);
	CHECK(copy);
	char *value = member_property_split(text);
	CHECK((value != NULL) == (name < len && name > 0));
	if (value) {
		CHECK(strlen(text) == name && !memcmp(text, copy, name));
		CHECK(!strcmp(value, copy + name + 1));
	}
	free(copy);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	check_lease(s, size);
	check_reply(s, size);
	check_property(s, size);
	return 0;
}
