/* Unit tests of pbfire's dense decisions: which addresses the policy
 * refuses, CIDR parsing, and the retry rules and delays. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "netpolicy.h"
#include "retry.h"
#include "tap.h"

/* Whether policy p permits the IPv4 or IPv6 address text. */
static bool permits(const struct netpolicy *p, const char *text)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	const char *why;
	if (inet_pton(AF_INET, text, &v4.sin_addr) == 1)
		return netpolicy_permits(p, (struct sockaddr *)&v4, &why);
	inet_pton(AF_INET6, text, &v6.sin6_addr);
	return netpolicy_permits(p, (struct sockaddr *)&v6, &why);
}

static void test_policy(void)
{
	static const char *const refused[] = {
		"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1",
		"fd00::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "2001:db8::1",
	};
	static const char *const allowed[] = {
		"8.8.8.8", "172.15.255.255", "172.32.0.0", "100.128.0.1", "2606:4700::1111",
		"::ffff:8.8.8.8",
	};
	struct netpolicy p = { 0 };
	for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
		ok(!permits(&p, refused[i]), "refused by default: %s", refused[i]);
	for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
		ok(permits(&p, allowed[i]), "allowed: %s", allowed[i]);
	struct netblock b;
	ok(netblock_parse("10.0.0.0/8", &b), "parse 10.0.0.0/8");
	netpolicy_allow(&p, b);
	ok(permits(&p, "10.9.9.9") && !permits(&p, "192.168.0.1"), "--allow-net 10.0.0.0/8 opens that block only");
	ok(permits(&p, "::ffff:10.1.1.1"), "--allow-net 10.0.0.0/8 covers its IPv4-mapped form");
	ok(netblock_parse("fd00::/8", &b) && netblock_parse("127.0.0.1", &b), "parse IPv6 blocks and single addresses");
	ok(!netblock_parse("10.0.0.0/33", &b) && !netblock_parse("10.0.0.0/", &b) &&
	   !netblock_parse("example.com", &b) && !netblock_parse("::/129", &b), "bad blocks are refused");
	netpolicy_free(&p);
	p.allow_private = true;
	ok(permits(&p, "127.0.0.1"), "--allow-private allows loopback");
}

static void test_retry(void)
{
	struct retry_policy p = { .retries = 3, .base = 1, .max = 60, .retry_after_max = 300 };
	ok(attempt_class(CURLE_OK, 204, false, false) == ERR_NONE, "204 delivers");
	ok(attempt_class(CURLE_OK, 302, false, false) == ERR_HTTP && !attempt_retryable(ERR_HTTP, 302),
	   "a redirect not followed is final");
	ok(!attempt_retryable(ERR_HTTP, 404) && attempt_retryable(ERR_HTTP, 429) &&
	   attempt_retryable(ERR_HTTP, 408) && attempt_retryable(ERR_HTTP, 503), "4xx final, 408 429 5xx retried");
	ok(attempt_class(CURLE_COULDNT_CONNECT, 0, true, false) == ERR_BLOCKED && !attempt_retryable(ERR_BLOCKED, 0),
	   "a refused address is final");
	ok(attempt_class(CURLE_OPERATION_TIMEDOUT, 0, false, false) == ERR_TIMEOUT &&
	   attempt_retryable(ERR_TIMEOUT, 0), "a timeout is retried");
	ok(attempt_class(CURLE_WRITE_ERROR, 200, false, false) == ERR_NONE, "a 2xx cut at the body cap delivers");
	ok(attempt_answered(CURLE_WRITE_ERROR, 200, false) && !attempt_answered(CURLE_TOO_MANY_REDIRECTS, 302, true) &&
	   !attempt_answered(CURLE_OPERATION_TIMEDOUT, 0, false), "an answer cut at the body cap stands, too many redirects do not");
	ok(attempt_class(CURLE_OPERATION_TIMEDOUT, 204, false, false) == ERR_NONE &&
	   attempt_class(CURLE_SEND_ERROR, 204, false, false) == ERR_NONE &&
	   attempt_class(CURLE_RECV_ERROR, 503, false, false) == ERR_HTTP &&
	   attempt_class(CURLE_UNSUPPORTED_PROTOCOL, 302, false, true) == ERR_INVALID &&
	   attempt_class(CURLE_COULDNT_CONNECT, 301, false, true) == ERR_CONNECT,
	   "a final status that came before a timeout or a lost connection stands, a redirect not followed does not");
	ok(attempt_class(CURLE_OPERATION_TIMEDOUT, 302, false, false) == ERR_HTTP &&
	   attempt_class(CURLE_OPERATION_TIMEDOUT, 302, false, true) == ERR_TIMEOUT,
	   "a redirect whose body is cut stands without --follow, and is retried with it");
	ok(attempt_retryable(ERR_UNEXPECTED, 200), "an answer failing its expect is retried");
	ok(retry_delay(&p, 1, 0, 0.5) == 1 && retry_delay(&p, 3, 0, 0.5) == 4, "doubling from the base");
	ok(retry_delay(&p, 1, 0, 0) == 0.5 && retry_delay(&p, 1, 0, 0.999) < 1.5, "jitter of +-50%%");
	ok(retry_delay(&p, 20, 0, 0.999) == 60, "capped at the maximum");
	ok(retry_delay(&p, 1, 30, 0.5) == 30, "Retry-After waited for");
	ok(retry_delay(&p, 1, 301, 0.5) < 0, "a Retry-After beyond the cap ends the retries");
}

int main(void)
{
	test_policy();
	test_retry();
	return done();
}
