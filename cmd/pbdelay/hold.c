/*
 * The hold: what pbdelay knows of the postback lines it holds, so that a
 * later action of a transaction finds the lines it supersedes, and a line
 * whose postback key is held already is not added again (pbdelay(1),
 * SUPERSEDING). A line is of the transaction its type, transaction_id
 * and, for events, event_name name. Each held postback line is filed
 * under a 32-bit hash of its transaction (of its key when it has none)
 * in an open-addressing table of 12-byte slots (the hash, and the line's
 * spool position with two flags), probed linearly, at most 80% full and
 * grown by half: 15 to 23 bytes a held line. A slot keeps the line's
 * position, not its text: each line a hash matches is read back from the
 * spool and compared whole (transaction, key, times) before anything is
 * decided, so a collision costs a read, never a wrong answer.
 *
 * A superseded line leaves through the spool: a copy with a "superseded"
 * member is added, due at once, and written to the file; only then is
 * the original dropped (marked released at the next mark, with the copy).
 * A kill at any moment leaves the original held alone, or the copy
 * beside it, or neither; a spool that loads with both drops the
 * original, and one that loads two lines of one key keeps the first. A
 * dropped line's slot stays, flagged, until its place in the heap comes
 * first and is passed over.
 */
#include "hold.h"
#include "tool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define WAITING (1ULL << 63)	/* a later action may supersede the line */
#define DROPPED (1ULL << 62)	/* superseded or a duplicate; its heap place not yet passed */
#define POS (DROPPED - 1)
#define FIRST_CAP 1024
#define LAST_SECOND 9000000000LL	/* later times do not fit in 64-bit nanoseconds */

enum field { F_TYPE, F_TID, F_EVENT, F_STATUS, F_REASON, F_TIME, F_NOTICE, F_POSTBACK, F_RESULT,
	     F_SUPERSEDED, F_COUNT };
static const char *const field_names[F_COUNT + 1] = {
	"type", "transaction_id", "event_name", "status", "rejection_reason", "time", "notice",
	"postback", "result", "superseded", NULL,
};
enum { P_KEY, P_SUPERSEDE, P_COUNT };
static const char *const postback_names[P_COUNT + 1] = { "key", "supersede", NULL };

/* A time as pbdelay reads one: RFC 3339 text, or Unix seconds as a
 * number or as text. */
bool stamp_parse_either(struct text v, bool string, struct stamp *s)
{
	return (string && stamp_parse_rfc3339(v.p, v.n, s)) || stamp_parse_unix(v.p, v.n, s);
}

/* An action's time, in ns; false when it is none, or out of range. */
bool hold_action_time(struct text v, bool string, int64_t *ns)
{
	struct stamp s;
	if (!stamp_parse_either(v, string, &s) || s.sec >= LAST_SECOND || s.sec <= -LAST_SECOND)
		return false;
	*ns = stamp_to_ns(s);
	return true;
}

/* ---- hashes ---- */

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

/* FNV-1a over t, then a separator, so that ("ab","c") and ("a","bc")
 * differ. */
static uint64_t hash_add(uint64_t h, struct text t)
{
	for (size_t i = 0; i < t.n; i++)
		h = (h ^ (unsigned char)t.p[i]) * 0x100000001b3ULL;
	return (h ^ 0x100) * 0x100000001b3ULL;
}

/* ---- what a line says ---- */

static struct text string_at(struct record *r, int i)
{
	return i >= 0 && r->tok[i].type == JSMN_STRING ? record_text(r, i) : (struct text){ 0 };
}

/* A transaction id: a string or a number, compared by its text. */
static struct text id_at(struct record *r, int i)
{
	return i >= 0 && (r->tok[i].type == JSMN_STRING || record_is_number(r, i)) ? record_text(r, i)
										      : (struct text){ 0 };
}

static void read_time(struct record *r, int i, struct line_facts *f)
{
	bool string = i >= 0 && r->tok[i].type == JSMN_STRING;
	if (i < 0 || !(string || record_is_number(r, i)))
		return;
	f->time_json = (struct text){ r->text + r->tok[i].start - string,
				      (size_t)(r->tok[i].end - r->tok[i].start) + 2 * string };
	f->timed = hold_action_time(record_text(r, i), string, &f->time);
}

/* Reads the postback object at p: its key, and whether its rule opted
 * out of superseding. */
static bool read_postback(struct record *r, int p, struct line_facts *f)
{
	static struct keyset names;
	int at[P_COUNT];
	if (!names.n)
		keyset_init(&names, postback_names);
	record_members(r, p, &names, at);
	int k = at[P_KEY], s = at[P_SUPERSEDE];
	if (k >= 0 && record_is_scalar(r, k) && !record_is_null(r, k))
		f->key = record_text(r, k);
	return s >= 0 && r->tok[s].type == JSMN_PRIMITIVE && text_is(record_text(r, s), "false");
}

static bool same_text(struct text a, struct text b)
{
	return a.n == b.n && (!a.n || memcmp(a.p, b.p, a.n) == 0) && !a.p == !b.p;
}

static bool same_transaction(const struct line_facts *a, const struct line_facts *b)
{
	return a->identity && b->identity && same_text(a->type, b->type) && same_text(a->tid, b->tid) &&
	       same_text(a->event, b->event);
}

/* Reads the facts of the line parsed in r, due then (for a held line). */
static void read_facts(const struct hold *h, struct record *r, int64_t due, struct line_facts *f)
{
	static struct keyset names;
	int at[F_COUNT];
	if (!names.n)
		keyset_init(&names, field_names);
	memset(f, 0, sizeof *f);
	record_members(r, 0, &names, at);
	f->type = string_at(r, at[F_TYPE]);
	f->tid = id_at(r, at[F_TID]);
	f->identity = f->type.n && f->tid.n;
	if (f->identity && text_is(f->type, "event"))
		f->event = string_at(r, at[F_EVENT]);
	f->status = string_at(r, at[F_STATUS]);
	f->reason = string_at(r, at[F_REASON]);
	read_time(r, at[F_TIME], f);
	f->notice = at[F_NOTICE] >= 0;
	f->copy = at[F_SUPERSEDED] >= 0;
	int p = at[F_POSTBACK];
	if (p >= 0 && r->tok[p].type == JSMN_OBJECT && !f->notice) {
		bool opted_out = read_postback(r, p, f);
		f->indexed = !f->copy && (f->identity || f->key.p);
		f->supersedable = f->indexed && f->identity && f->timed && due > f->time &&
				  at[F_RESULT] < 0 && !opted_out;
	}
	if (f->identity)
		f->home = (uint32_t)mix(hash_add(hash_add(hash_add(h->seed, f->type), f->tid), f->event));
	else if (f->key.p)
		f->home = (uint32_t)mix(hash_add(h->seed ^ 1, f->key));
}

void hold_read(struct hold *h, struct record *r, int64_t due, struct line_facts *f)
{
	read_facts(h, r, due, f);
}

/* Reads back the held line at pos into h->back; false when it is not a
 * JSON object (it cannot be one of those the hold files). */
static bool read_back(struct hold *h, uint64_t pos, int64_t *due, struct line_facts *f)
{
	struct json_error e;
	size_t len;
	const char *line = spool_peek(h->spool, pos, due, &len);
	if (!record_parse(&h->back, line, len, &e))
		return false;
	read_facts(h, &h->back, *due, f);
	return true;
}

/* ---- the table ---- */

/* The slot a hash starts from: its place in [0, cap) by Lemire's
 * multiply-shift, so that cap need not be a power of two. */
static size_t home(const struct hold *h, uint32_t hash)
{
	return (size_t)(((uint64_t)hash * h->cap) >> 32);
}

static size_t after(const struct hold *h, size_t i)
{
	return i + 1 == h->cap ? 0 : i + 1;
}

static void put(struct hold *h, uint32_t hash, uint64_t at)
{
	size_t i = home(h, hash);
	while (h->at[i])
		i = after(h, i);
	h->hash[i] = hash;
	h->at[i] = at;
	h->n++;
}

static void grow(struct hold *h)
{
	uint32_t *hash = h->hash;
	uint64_t *at = h->at;
	size_t n = h->cap;
	h->cap = h->cap ? h->cap + h->cap / 2 : FIRST_CAP;
	h->hash = xcalloc(h->cap, sizeof *h->hash);
	h->at = xcalloc(h->cap, sizeof *h->at);
	h->n = 0;
	for (size_t i = 0; i < n; i++)
		if (at[i])
			put(h, hash[i], at[i]);
	free(hash);
	free(at);
}

/* Files a slot, counting what it is. */
static void insert(struct hold *h, uint32_t hash, uint64_t at)
{
	if ((h->n + 1) * 5 > h->cap * 4)
		grow(h);
	put(h, hash, at);
	h->superseding += (at & WAITING) != 0;
	h->dropped += (at & DROPPED) != 0;
}

/* Whether k lies in the cyclic range (i, j]. */
static bool between(size_t i, size_t k, size_t j)
{
	return i < j ? i < k && k <= j : i < k || k <= j;
}

/* Empties slot i, moving later slots of its cluster back so that each
 * stays reachable from its home (Knuth's algorithm R). */
static void remove_slot(struct hold *h, size_t i)
{
	h->superseding -= (h->at[i] & WAITING) != 0;
	h->dropped -= (h->at[i] & DROPPED) != 0;
	for (size_t j = after(h, i); h->at[j]; j = after(h, j)) {
		if (between(i, home(h, h->hash[j]), j))
			continue;
		h->hash[i] = h->hash[j];
		h->at[i] = h->at[j];
		i = j;
	}
	h->at[i] = 0;
	h->n--;
}

/* The next slot from *i on (the first when *i is SIZE_MAX) filed under
 * hash with none of the flags in skip; false at the end of the cluster. */
static bool next_slot(const struct hold *h, uint32_t hash, uint64_t skip, size_t *i)
{
	if (!h->cap)
		return false;
	for (*i = *i == SIZE_MAX ? home(h, hash) : after(h, *i); h->at[*i]; *i = after(h, *i))
		if (h->hash[*i] == hash && !(h->at[*i] & skip))
			return true;
	return false;
}

/* Drops the line of slot i, which stays until its heap place passes. */
static void drop(struct hold *h, size_t i)
{
	spool_drop(h->spool, h->at[i] & POS);
	h->superseding -= (h->at[i] & WAITING) != 0;
	h->at[i] = (h->at[i] & ~WAITING) | DROPPED;
	h->dropped++;
}

/* ---- superseding ---- */

/* Adds the string v as JSON to b, or nothing when there is none. */
static void add_json_text(struct buf *b, struct text v)
{
	if (v.p)
		buf_add_json_string(b, v.p, v.n);
}

/* Supersedes the held line read back into h->back (facts held), in slot
 * i, by the action by: its copy is added to the spool, then it is
 * dropped (its mark, at the next spool_mark_released(), follows the
 * copy's write). */
static void supersede(struct hold *h, size_t i, const struct record *held, const struct line_facts *by)
{
	struct buf *j = &h->by_json;
	buf_clear(j);
	add_json_text(j, by->status);
	size_t status_len = j->len;
	add_json_text(j, by->reason);
	struct superseder action = { { j->data, status_len }, { j->data + status_len, j->len - status_len },
				     by->time_json };
	struct buf *c = &h->copy;
	buf_clear(c);
	record_add_superseded(c, held, &action);
	spool_hold(h->spool, 0, c->data, c->len);
	drop(h, i);
	h->nsuperseded++;
}

/* Applies the action a line or notice tells of: each held line of its
 * transaction whose action came before it, and whose fire time it is
 * not after, is superseded. */
void hold_supersede(struct hold *h, const struct line_facts *by)
{
	struct line_facts held;
	int64_t due;
	if (!by->identity || !by->timed || !h->superseding)
		return;
	for (size_t i = SIZE_MAX; next_slot(h, by->home, DROPPED, &i);) {
		if (!(h->at[i] & WAITING) || !read_back(h, h->at[i] & POS, &due, &held))
			continue;
		if (held.supersedable && same_transaction(&held, by) && held.time < by->time && by->time <= due)
			supersede(h, i, &h->back, by);
	}
}

/* Whether a line of f's postback key is held (not dropped). */
bool hold_has_key(struct hold *h, const struct line_facts *f)
{
	struct line_facts held;
	int64_t due;
	if (!f->key.p)
		return false;
	for (size_t i = SIZE_MAX; next_slot(h, f->home, DROPPED, &i);)
		if (read_back(h, h->at[i] & POS, &due, &held) && held.indexed && same_text(held.key, f->key))
			return true;
	return false;
}

/* Files the line f tells of, held at pos (a postback line). */
void hold_add(struct hold *h, const struct line_facts *f, uint64_t pos)
{
	if (f->indexed)
		insert(h, f->home, pos | (f->supersedable ? WAITING : 0));
}

/* ---- loading ---- */

/* Drops the original of a superseded line's copy, held beside it when a
 * kill came between the two: a line of its transaction whose text, up
 * to its closing brace, the copy starts with. */
static void drop_original(struct hold *h, const struct line_facts *copy, const struct record *r)
{
	struct line_facts held;
	int64_t due;
	for (size_t i = SIZE_MAX; next_slot(h, copy->home, DROPPED, &i);) {
		if (!read_back(h, h->at[i] & POS, &due, &held))
			continue;
		size_t n = (size_t)h->back.tok[0].end - 1;
		if (n < r->len && r->text[n] == ',' && memcmp(r->text, h->back.text, n) == 0)
			drop(h, i);
	}
}

/* The spool's report of a held line: loading, it is filed, unless its
 * key is held already (then dropped), and a copy drops its original;
 * moved by a compaction, it is filed again at its new position. */
void hold_loaded(void *arg, uint64_t pos, int64_t due, const char *line, size_t len)
{
	struct hold *h = arg;
	struct json_error e;
	struct line_facts f;
	if (!record_parse(&h->line, line, len, &e))
		return;
	read_facts(h, &h->line, due, &f);
	if (h->loading && f.copy && (f.identity || f.key.p)) {
		drop_original(h, &f, &h->line);
		return;
	}
	if (!f.indexed)
		return;
	if (h->loading && hold_has_key(h, &f)) {
		insert(h, f.home, pos | DROPPED);
		spool_drop(h->spool, pos);
		h->nduplicates++;
		return;
	}
	hold_add(h, &f, pos);
}

/* Before a compaction: the positions change, so the table is emptied,
 * to be filled again as the compaction reports each line it keeps. */
void hold_moving(struct hold *h)
{
	if (h->cap)
		memset(h->at, 0, h->cap * sizeof *h->at);
	h->n = h->superseding = h->dropped = 0;
	h->loading = false;
}

void hold_init(struct hold *h, struct spool *s)
{
	memset(h, 0, sizeof *h);
	h->spool = s;
	h->loading = true;
	h->found = SIZE_MAX;
	if (getrandom(&h->seed, sizeof h->seed, GRND_NONBLOCK) != (ssize_t)sizeof h->seed)
		h->seed = (uint64_t)(uintptr_t)h ^ 0xcbf29ce484222325ULL;
}

/* ---- releasing ---- */

static enum hold_place place_in(const struct hold *h, size_t i)
{
	return h->at[i] & DROPPED ? HOLD_DROPPED : h->at[i] & WAITING ? HOLD_WAITING : HOLD_KEPT;
}

/* What the held line at pos is to the hold; its slot, if any, is noted
 * for hold_forget(). A line that waits first in the heap is asked about
 * at each line read: the slot found last is tried first, and is the
 * line's while it holds pos (a position is one held line's at a time),
 * so that the line is not read back and parsed each time. */
enum hold_place hold_place(struct hold *h, uint64_t pos)
{
	struct line_facts f;
	int64_t due;
	h->found = SIZE_MAX;
	if (h->last < h->cap && h->at[h->last] && (h->at[h->last] & POS) == pos)
		return place_in(h, h->found = h->last);
	if (!h->n || !read_back(h, pos, &due, &f) || !f.indexed)
		return HOLD_UNINDEXED;
	for (size_t i = SIZE_MAX; next_slot(h, f.home, 0, &i);) {
		if ((h->at[i] & POS) != pos)
			continue;
		h->found = h->last = i;
		return place_in(h, i);
	}
	return HOLD_UNINDEXED;
}

/* Forgets the slot hold_place() found, its line released or passed. */
void hold_forget(struct hold *h)
{
	if (h->found != SIZE_MAX)
		remove_slot(h, h->found);
	h->found = SIZE_MAX;
}

void hold_free(struct hold *h)
{
	free(h->hash);
	free(h->at);
	record_free(&h->line);
	record_free(&h->back);
	buf_free(&h->copy);
	buf_free(&h->by_json);
}
