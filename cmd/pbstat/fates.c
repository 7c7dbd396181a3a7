/*
 * The fate of each postback, by its key (pb-records(7): the ledger's
 * "postback.key"), kept in memory that grows with the postbacks and not
 * with their records: per key, a 64-bit digest and a 12-byte fate, in a
 * table with linear probing at most 3/4 full (20 bytes a slot, so 27 to
 * 54 bytes a key). Two keys take the same digest by chance with odds of
 * about n^2 / 2^65 for n keys (3 in 100,000,000 for a million), and
 * would count as one postback.
 *
 * The records of a key, in the order read, decide its fate: the last one
 * does, but a postback once delivered stays delivered (the publisher has
 * it: later records of it are replays), and a duplicate (the ledger
 * already had the key) only tells of a postback not seen yet, or seen
 * only pending, that it was settled earlier.
 */
#include "fates.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

const struct fate fate_none = {
	.minute = FATE_NO_MINUTE, .status = FATE_NO_STATUS, .outcome = OUTCOMES,
};

static void decide(struct fate *f, const struct result *r, uint32_t group)
{
	f->outcome = (uint8_t)r->outcome;
	f->group = group;
	if (r->attempts_all > f->attempts)
		f->attempts = r->attempts_all < FATE_ATTEMPTS_MAX ? (uint8_t)r->attempts_all : FATE_ATTEMPTS_MAX;
	if (r->attempts > 0)
		f->status = r->status >= 0 ? (uint16_t)r->status : FATE_NO_STATUS;
	f->minute = r->has_fired ? (int32_t)(r->fired_sec / 60) : FATE_NO_MINUTE;
}

/* Applies record r, of a line in group, to its postback's fate f. */
enum record_role fate_apply(struct fate *f, const struct result *r, uint32_t group)
{
	if (f->outcome == OUTCOME_DELIVERED)
		return r->outcome == OUTCOME_EARLIER ? ROLE_DUPLICATE : ROLE_AFTER_DELIVERY;
	if (r->outcome != OUTCOME_EARLIER) {
		decide(f, r, group);
		return ROLE_DECIDES;
	}
	if (f->outcome == OUTCOMES || f->outcome == OUTCOME_PENDING) {
		f->outcome = OUTCOME_EARLIER;
		f->group = group;
	}
	return ROLE_DUPLICATE;
}

/* A 64-bit digest of p[0,n): eight bytes at a time, each word mixed in
 * by a multiply, and the whole by MurmurHash3's finalizer, so that the
 * low bits that place a key in the table depend on every byte. Never 0. */
static uint64_t digest(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)n * 0xff51afd7ed558ccdULL);
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ (w * 0x87c37b91114253d5ULL)) * 0x4cf5ad432745937fULL;
		h ^= h >> 31;
	}
	uint64_t tail = 0;
	memcpy(&tail, p, n);
	h = (h ^ (tail * 0x87c37b91114253d5ULL)) * 0x4cf5ad432745937fULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h ? h : 1;
}

static bool is_empty(const struct fate_slot *s)
{
	return !s->digest[0] && !s->digest[1];
}

/* The slot of digest h, or the empty one where it goes. */
static struct fate_slot *slot_of(struct fates *t, uint64_t h)
{
	uint32_t hi = (uint32_t)(h >> 32), lo = (uint32_t)h;
	size_t mask = t->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		struct fate_slot *s = &t->slots[i];
		if (is_empty(s) || (s->digest[0] == hi && s->digest[1] == lo))
			return s;
	}
}

static void grow(struct fates *t)
{
	struct fates bigger = { xcalloc(t->cap ? 2 * t->cap : 1024, sizeof *t->slots), t->cap ? 2 * t->cap : 1024,
				t->count };
	for (size_t i = 0; i < t->cap; i++)
		if (!is_empty(&t->slots[i]))
			*slot_of(&bigger, (uint64_t)t->slots[i].digest[0] << 32 | t->slots[i].digest[1]) = t->slots[i];
	free(t->slots);
	*t = bigger;
}

/* The fate of the postback of key[0,n); fate_none for one not seen yet. */
struct fate *fates_of(struct fates *t, const char *key, size_t n)
{
	if (4 * (t->count + 1) > 3 * t->cap)
		grow(t);
	uint64_t h = digest(key, n);
	struct fate_slot *s = slot_of(t, h);
	if (is_empty(s)) {
		s->digest[0] = (uint32_t)(h >> 32);
		s->digest[1] = (uint32_t)h;
		s->fate = fate_none;
		t->count++;
	}
	return &s->fate;
}

void fates_free(struct fates *t)
{
	free(t->slots);
	memset(t, 0, sizeof *t);
}
