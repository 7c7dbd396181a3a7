#ifndef PB_HOLD_H
#define PB_HOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"
#include "spool.h"
#include "stamp.h"

/* What pbdelay reads of a line: the action it tells of and how it may be
 * held. Texts point into the record read. */
struct line_facts {
	bool identity;		/* a type and a transaction_id: of a transaction */
	struct text type, tid, event, status, reason, key;
	uint32_t home;		/* the hash it is filed under (transaction, or key) */
	bool timed;		/* time is the action's time, in ns */
	int64_t time;
	struct text time_json;	/* the time member as written */
	bool notice;		/* pbmatch's notice of an action, consumed here */
	bool copy;		/* a superseded line, as pbdelay writes it out */
	bool supersedable;	/* a later action of its transaction may supersede it */
	bool indexed;		/* held, it is in the index (a postback line) */
};

/* The index of held lines by transaction (or, lacking one, by postback
 * key): an open-addressing table whose slot i holds a hash and a line's
 * spool position with flags in its top bits (at 0: an empty slot). */
struct hold {
	struct spool *spool;
	uint32_t *hash;
	uint64_t *at;
	size_t cap, n;
	size_t superseding;	/* slots of lines a later action may supersede */
	size_t dropped;		/* slots of superseded lines still in the heap */
	size_t found;		/* the slot hold_place() found, or SIZE_MAX */
	size_t last;		/* the slot it found last, tried first next time */
	uint64_t seed;
	bool loading;		/* the spool is loading: duplicates are dropped */
	struct record line;	/* a line the spool reports */
	struct record back;	/* a held line read back */
	struct buf copy;	/* a superseded line as it is written out */
	struct buf by_json;	/* the status and reason that superseded it, as JSON */
	unsigned long nsuperseded, nduplicates;
};

enum hold_place { HOLD_UNINDEXED, HOLD_WAITING, HOLD_KEPT, HOLD_DROPPED };

bool stamp_parse_either(struct text v, bool string, struct stamp *s);
bool hold_action_time(struct text v, bool string, int64_t *ns);
void hold_init(struct hold *h, struct spool *s);
spool_held_fn hold_loaded;
void hold_moving(struct hold *h);
void hold_read(struct hold *h, struct record *r, int64_t due, struct line_facts *f);
void hold_supersede(struct hold *h, const struct line_facts *by);
bool hold_has_key(struct hold *h, const struct line_facts *f);
void hold_add(struct hold *h, const struct line_facts *f, uint64_t pos);
enum hold_place hold_place(struct hold *h, uint64_t pos);
void hold_forget(struct hold *h);
void hold_free(struct hold *h);

#endif
