#ifndef PB_ORDER_H
#define PB_ORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "record.h"
#include "spool.h"
#include "stamp.h"

struct job;

/* A line's place in its stream, the lines of one transaction (type,
 * transaction_id and, for events, event_name) for one postback rule
 * (postback.name): read once, kept in its job. */
struct order_place {
	bool ordered;		/* of a stream, with an action time, and its rule does not opt out */
	uint32_t hash;		/* its stream's */
	struct stamp time;	/* its action's */
};

struct order_entry {
	uint32_t hash, next;	/* next: the entry after it in its bucket, 0 for none */
	uint64_t ref;		/* a job's address, or a spool position with flags */
};

/* The lines pbfire holds, in memory or in the spool, by stream. */
struct order {
	struct spool *spool;	/* where lines wait for their retry, or NULL */
	uint64_t key[2];	/* the hashes' SipHash key, drawn at random */
	uint32_t *bucket;	/* first entry of each bucket, 0 for none */
	size_t nbuckets;	/* a power of two, or 0 */
	struct order_entry *entry;	/* entry 0 is never used */
	size_t nentries, cap, count;
	size_t dropped;		/* lines superseded in the spool, their heap places not yet passed */
	uint32_t free;		/* the first entry free for reuse, 0 for none */
	uint64_t *found;	/* older lines order_check() found for its line to supersede */
	size_t nfound, found_cap;
	struct job *blocker;	/* the older line order_check() found its line must wait for */
	struct record back;	/* a spooled line read back */
	struct buf copy;	/* a line with the "superseded" member it is to get */
	struct buf scratch;
};

/* What a line about to be sent is to do (order_check()). */
enum order_verdict { ORDER_GO, ORDER_WAIT, ORDER_SUPERSEDED };

void order_init(struct order *o, struct spool *spool);
void order_read(struct order *o, struct record *r, struct order_place *p);
void order_add_job(struct order *o, struct job *j);
void order_remove_job(struct order *o, struct job *j);
void order_add_spooled(struct order *o, const struct order_place *p, uint64_t pos);
spool_held_fn order_spooled;
void order_moving(struct order *o);
bool order_passed(struct order *o, uint64_t pos);
enum order_verdict order_check(struct order *o, struct job *j);
struct job *order_found_job(const struct order *o, size_t i);
void order_supersede_job(struct order *o, struct job *held, struct job *by);
const char *order_supersede_spooled(struct order *o, size_t i, struct job *by, size_t *len);
void order_free(struct order *o);

#endif
