#ifndef PB_NETPOLICY_H
#define PB_NETPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* An address block, IPv4 addresses held as IPv4-mapped IPv6. */
struct netblock {
	unsigned char addr[16];
	unsigned bits;
};

/* Which addresses pbfire may connect to. */
struct netpolicy {
	bool allow_private;		/* every address */
	struct netblock *allowed;	/* non-public blocks allowed anyway */
	size_t nallowed;
};

bool netblock_parse(const char *text, struct netblock *b);
void netpolicy_allow(struct netpolicy *p, struct netblock b);
bool netpolicy_permits(const struct netpolicy *p, const struct sockaddr *sa, const char **why);
void netpolicy_free(struct netpolicy *p);

#endif
