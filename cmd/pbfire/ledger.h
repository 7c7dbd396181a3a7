#ifndef PB_LEDGER_H
#define PB_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* What the ledger knows of a key: nothing, in flight in this run, or
 * settled with a fate (delivered, failed for good, superseded). */
enum ledger_state { KEY_UNKNOWN, KEY_IN_FLIGHT, KEY_DELIVERED, KEY_FAILED, KEY_SUPERSEDED };

/* One key in memory: a digest of it, whose low 2 bits of digest[3]
 * hold its fate, and what is known. */
struct ledger_slot {
	uint32_t digest[4];
	uint32_t when;		/* 0 empty, 1 in flight, else settled then (Unix seconds) */
};

/* The keys of settled postbacks, with when and how each was settled: a
 * file, and a hash table of digests loaded from it. */
struct ledger {
	const char *path;
	int fd;			/* -1 when read only */
	int64_t keep;		/* seconds a settled key is kept; 0: forever */
	int64_t cutoff;		/* keys settled before it are forgotten */
	int64_t next_review;	/* when to look for forgotten keys to compact away */
	uint64_t hash_key[2];	/* SipHash's, drawn at random at each open */
	struct ledger_slot *slots;
	size_t cap, count;	/* slots, and slots in use */
	size_t lines;		/* key lines in the file (dead ones included) */
	size_t foreign;		/* lines of the file not read, kept as they are */
	struct buf pending;	/* settled keys not yet appended */
	struct buf scratch;
};

#define LEDGER_KEEP_DEFAULT (30 * 86400)

/* The clock the ledger dates keys by, in Unix seconds; tests set their own. */
extern int64_t (*ledger_clock)(void);

bool ledger_settled(enum ledger_state s);
bool ledger_parse_keep(const char *s, int64_t *seconds);
void ledger_open(struct ledger *l, const char *path, bool read_only, int64_t keep);
enum ledger_state ledger_state(const struct ledger *l, const char *key, size_t n);
void ledger_set(struct ledger *l, const char *key, size_t n, enum ledger_state s);
void ledger_sync(struct ledger *l);
void ledger_close(struct ledger *l);

#endif
