/*
 * Which addresses pbfire may connect to. A postback URL comes from a rule
 * file and from action fields, so by default only public unicast
 * addresses are allowed: loopback, private (RFC 1918), shared (CGNAT),
 * link-local (169.254.169.254, the cloud metadata service, above all),
 * unique-local, multicast, documentation, benchmarking and reserved blocks
 * are refused unless --allow-private, or --allow-net names a block that
 * contains the address. IPv4 is checked as IPv4-mapped IPv6, so ::ffff:
 * 10.0.0.1 is refused like 10.0.0.1. The check is made on the address
 * about to be connected to, after DNS, so a name that resolves to an
 * internal address is refused too.
 */
#include "netpolicy.h"
#include "buf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *block, *what;
} non_public[] = {
	{ "0.0.0.0/8", "a 'this network' address" },
	{ "10.0.0.0/8", "a private address" },
	{ "100.64.0.0/10", "a shared (carrier-grade NAT) address" },
	{ "127.0.0.0/8", "a loopback address" },
	{ "169.254.0.0/16", "a link-local address" },
	{ "172.16.0.0/12", "a private address" },
	{ "192.0.0.0/24", "an IETF protocol address" },
	{ "192.0.2.0/24", "a documentation address" },
	{ "192.88.99.0/24", "a 6to4 relay address" },
	{ "192.168.0.0/16", "a private address" },
	{ "198.18.0.0/15", "a benchmarking address" },
	{ "198.51.100.0/24", "a documentation address" },
	{ "203.0.113.0/24", "a documentation address" },
	{ "224.0.0.0/4", "a multicast address" },
	{ "240.0.0.0/4", "a reserved address" },
	{ "::/128", "the unspecified address" },
	{ "::1/128", "a loopback address" },
	{ "64:ff9b:1::/48", "a local NAT64 address" },
	{ "100::/64", "a discard address" },
	{ "2001::/23", "an IETF protocol address" },
	{ "2001:db8::/32", "a documentation address" },
	{ "2002::/16", "a 6to4 address" },
	{ "fc00::/7", "a unique-local address" },
	{ "fe80::/10", "a link-local address" },
	{ "fec0::/10", "a site-local address" },
	{ "ff00::/8", "a multicast address" },
};

static void map_ipv4(const struct in_addr *in, unsigned char out[16])
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, in, 4);
}

/* Parses "ADDRESS/BITS" or a single ADDRESS, IPv4 or IPv6. */
bool netblock_parse(const char *text, struct netblock *b)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	struct in_addr v4;
	if (n >= sizeof addr)
		return false;
	memcpy(addr, text, n);
	addr[n] = '\0';
	bool is_v4 = inet_pton(AF_INET, addr, &v4) == 1;
	if (is_v4)
		map_ipv4(&v4, b->addr);
	else if (inet_pton(AF_INET6, addr, b->addr) != 1)
		return false;
	unsigned max = is_v4 ? 32 : 128;
	b->bits = max;
	if (slash) {
		char *end;
		unsigned long bits = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || bits > max)
			return false;
		b->bits = (unsigned)bits;
	}
	if (is_v4)
		b->bits += 96;
	return true;
}

static bool contains(const struct netblock *b, const unsigned char a[16])
{
	unsigned whole = b->bits / 8, rest = b->bits % 8;
	if (memcmp(a, b->addr, whole) != 0)
		return false;
	return !rest || ((a[whole] ^ b->addr[whole]) & (0xff << (8 - rest)) & 0xff) == 0;
}

void netpolicy_allow(struct netpolicy *p, struct netblock b)
{
	p->allowed = xreallocarray(p->allowed, p->nallowed + 1, sizeof *p->allowed);
	p->allowed[p->nallowed++] = b;
}

static struct netblock non_public_blocks[sizeof non_public / sizeof *non_public];

static void parse_non_public(void)
{
	for (size_t i = 0; i < sizeof non_public / sizeof *non_public; i++)
		netblock_parse(non_public[i].block, &non_public_blocks[i]);
}

/* What kind of non-public address a is, or NULL for a public one. The
 * blocks are parsed once, by whichever of pbfire's threads asks first. */
static const char *non_public_kind(const unsigned char a[16])
{
	static pthread_once_t parsed = PTHREAD_ONCE_INIT;
	const struct netblock *blocks = non_public_blocks;
	pthread_once(&parsed, parse_non_public);
	for (size_t i = 0; i < sizeof non_public / sizeof *non_public; i++)
		if (contains(&blocks[i], a))
			return non_public[i].what;
	return NULL;
}

/* Whether pbfire may connect to sa; why says what it is when not. */
bool netpolicy_permits(const struct netpolicy *p, const struct sockaddr *sa, const char **why)
{
	unsigned char a[16];
	if (sa->sa_family == AF_INET)
		map_ipv4(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, a);
	else if (sa->sa_family == AF_INET6)
		memcpy(a, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	else {
		*why = "not an IP address";
		return false;
	}
	if (p->allow_private || !(*why = non_public_kind(a)))
		return true;
	for (size_t i = 0; i < p->nallowed; i++)
		if (contains(&p->allowed[i], a))
			return true;
	return false;
}

void netpolicy_free(struct netpolicy *p)
{
	free(p->allowed);
	p->allowed = NULL;
	p->nallowed = 0;
}
