/* Fuzzes the address-block parser and the address policy
 * (cmd/pbfire/netpolicy.c): the input as an --allow-net argument, and
 * its first 16 bytes as an address. Beyond no crash: a parsed block has
 * at most 128 bits, an IPv4 one as IPv4-mapped IPv6 with at least 96;
 * written back as IPv6 text it parses to the same block; a policy that
 * allows it permits its own address, and permits one just outside it
 * only where the default policy does; --allow-private permits every
 * address; an IPv4 address gets the same verdict, and the same reason,
 * as its IPv4-mapped IPv6 form. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "netpolicy.h"

static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static bool permits(const struct netpolicy *p, const unsigned char a[16], const char **why)
{
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	memcpy(&v6.sin6_addr, a, 16);
	*why = NULL;
	return netpolicy_permits(p, (const struct sockaddr *)&v6, why);
}

/* The verdicts on address a: the v6 form's and, if it is IPv4-mapped,
 * the same as the v4 form's; --allow-private permits it. */
static bool check_address(const struct netpolicy *p, const unsigned char a[16])
{
	const char *why, *why4 = NULL;
	bool ok = permits(p, a, &why);
	if (!memcmp(a, mapped, sizeof mapped)) {
		struct sockaddr_in v4 = { .sin_family = AF_INET };
		memcpy(&v4.sin_addr, a + 12, 4);
		CHECK(netpolicy_permits(p, (const struct sockaddr *)&v4, &why4) == ok);
		CHECK(ok || why4 == why);
	}
	CHECK(ok || why);
	struct netpolicy any = { .allow_private = true };
	CHECK(permits(&any, a, &why));
	return ok;
}

static void check_block(const struct netblock *b)
{
	CHECK(b->bits <= 128);
	char text[INET6_ADDRSTRLEN + 8];
	CHECK(inet_ntop(AF_INET6, b->addr, text, INET6_ADDRSTRLEN));
	snprintf(text + strlen(text), 8, "/%u", b->bits);
	struct netblock again;
	CHECK(netblock_parse(text, &again) && again.bits == b->bits && !memcmp(again.addr, b->addr, 16));

	struct netpolicy none = { 0 }, p = { 0 };
	netpolicy_allow(&p, *b);
	CHECK(check_address(&p, b->addr));
	if (b->bits > 0) {	/* an address outside: the prefix's last bit flipped */
		unsigned char out[16];
		const char *why;
		memcpy(out, b->addr, 16);
		out[(b->bits - 1) / 8] ^= (unsigned char)(0x80 >> (b->bits - 1) % 8);
		CHECK(check_address(&p, out) == permits(&none, out, &why));
	}
	netpolicy_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	struct netblock b;
	if (netblock_parse(text, &b)) {
		struct in_addr v4;
		const char *slash = strchr(text, '/');
		if (slash)
			text[slash - text] = '\0';
		if (inet_pton(AF_INET, text, &v4) == 1)
			CHECK(b.bits >= 96 && !memcmp(b.addr, mapped, sizeof mapped));
		check_block(&b);
	}
	if (size >= 16) {
		struct netpolicy none = { 0 };
		check_address(&none, data);
	}
	free(text);
	return 0;
}
