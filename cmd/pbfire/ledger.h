#ifndef PB_LEDGER_H
#define PB_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "strmap.h"

/* What the ledger knows of a key. */
enum ledger_state { KEY_UNKNOWN, KEY_DELIVERED, KEY_IN_FLIGHT };

/* The keys of delivered postbacks: a file, and a map loaded from it. */
struct ledger {
	const char *path;
	int fd;
	struct strmap keys;	/* key -> enum ledger_state */
	struct buf pending;	/* delivered keys not yet appended */
	int64_t keep;		/* seconds a delivered key is kept; 0: forever */
};

#define LEDGER_KEEP_DEFAULT (30 * 86400)

bool ledger_parse_keep(const char *s, int64_t *seconds);
void ledger_open(struct ledger *l, const char *path, bool read_only, int64_t keep);
enum ledger_state ledger_state(const struct ledger *l, const char *key, size_t n);
void ledger_set(struct ledger *l, const char *key, size_t n, enum ledger_state s);
void ledger_sync(struct ledger *l);
void ledger_close(struct ledger *l);

#endif
