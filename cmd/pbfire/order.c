/*
 * Ordering across retries (pbfire(1), ORDERING): for one transaction
 * (type, transaction_id and, for events, event_name) and one postback
 * rule (postback.name), a stream, the publisher never gets an older
 * action's postback after a newer one's. This module keeps the index of
 * the lines pbfire holds, in memory as jobs or in the spool waiting for a
 * retry, by a 32-bit SipHash of their stream: a chained table of 16-byte
 * entries (the hash, the next entry, and a job's address or a spool
 * position with two flags) behind a power-of-two array of 4-byte bucket
 * heads, at most one entry a bucket: 20 to 24 bytes a line held. A hash
 * that matches is checked against the lines themselves (a job's record,
 * or the spooled line read back), so a collision costs a read, never a
 * wrong answer. Before a line is sent (order_check()), the other lines of
 * its stream decide: an older one in flight, or in memory and never
 * tried, makes it wait; an older one tried and waiting for a retry, in
 * memory or in the spool, is superseded by it; a newer one tried (in
 * flight, or waiting) supersedes it. Lines with the same action time are
 * not ordered (a duplicate, or two statuses at once). A superseded line
 * gets a "superseded" member naming the newer action, as pbdelay(1)
 * writes one, and main.c ends it; one in the spool is dropped there and
 * its entry flagged until its place in the spool's heap comes first
 * (order_passed()). The spool tells of its lines as it loads and as a
 * compaction moves them (order_spooled()). A rule with supersede: false
 * opts out: its lines are not indexed.
 */
#include "order.h"
#include "job.h"
#include "siphash.h"
#include "tool.h"

#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define SPOOLED 1u		/* the entry's line waits in the spool, at ref >> 2 */
#define DROPPED 2u		/* superseded there; its heap place not yet passed */
#define FIRST_BUCKETS 1024

/* What a line says of its stream and action, as written (strings
 * without their quotes, for the stream; whole JSON values, for the
 * "superseded" member). */
struct stream {
	bool ordered;
	struct text type, tid, event, name;
	struct text status_json, reason_json, time_json;
	struct stamp time;
};

void order_init(struct order *o, struct spool *spool)
{
	memset(o, 0, sizeof *o);
	o->spool = spool;
	if (getrandom(o->key, sizeof o->key, GRND_NONBLOCK) != (ssize_t)sizeof o->key)
		o->key[0] = (uint64_t)(uintptr_t)o ^ 0x9e3779b97f4a7c15ULL;
}

/* ---- what a line says ---- */

/* Token i as written: a string without its quotes (quoted: with them),
 * a number (number: when one is allowed); empty when it is neither. */
static struct text raw_at(const struct record *r, int i, bool number, bool quoted)
{
	if (i < 0 || !(r->tok[i].type == JSMN_STRING || (number && record_is_number(r, i))))
		return (struct text){ 0 };
	int q = quoted && r->tok[i].type == JSMN_STRING;
	return (struct text){ r->text + r->tok[i].start - q, (size_t)(r->tok[i].end - r->tok[i].start + 2 * q) };
}

static bool opts_out(struct record *r, int pb)
{
	int s = record_get(r, pb, "supersede");
	return s >= 0 && r->tok[s].type == JSMN_PRIMITIVE && text_is(record_text(r, s), "false");
}

/* The action's time: RFC 3339 text, or Unix seconds as a number or text. */
static bool read_time(struct record *r, int i, struct stream *s)
{
	struct text t = raw_at(r, i, true, false);
	s->time_json = raw_at(r, i, true, true);
	bool string = i >= 0 && r->tok[i].type == JSMN_STRING;
	return t.n && ((string && stamp_parse_rfc3339(t.p, t.n, &s->time)) || stamp_parse_unix(t.p, t.n, &s->time));
}

static void read_stream(struct record *r, struct stream *s)
{
	memset(s, 0, sizeof *s);
	int pb = record_get(r, 0, "postback");
	if (pb < 0 || r->tok[pb].type != JSMN_OBJECT || record_get(r, 0, "superseded") >= 0 ||
	    record_get(r, 0, "notice") >= 0 || opts_out(r, pb))
		return;
	s->type = raw_at(r, record_get(r, 0, "type"), false, false);
	s->tid = raw_at(r, record_get(r, 0, "transaction_id"), true, false);
	if (text_is(s->type, "event"))
		s->event = raw_at(r, record_get(r, 0, "event_name"), false, false);
	s->name = raw_at(r, record_get(r, pb, "name"), false, false);
	s->status_json = raw_at(r, record_get(r, 0, "status"), false, true);
	s->reason_json = raw_at(r, record_get(r, 0, "rejection_reason"), false, true);
	s->ordered = s->type.n && s->tid.n && s->name.n && read_time(r, record_get(r, 0, "time"), s);
}

static bool same(struct text a, struct text b)
{
	return a.n == b.n && (!a.n || memcmp(a.p, b.p, a.n) == 0);
}

static bool same_stream(const struct stream *a, const struct stream *b)
{
	return same(a->type, b->type) && same(a->tid, b->tid) && same(a->event, b->event) &&
	       same(a->name, b->name);
}

/* Whether a's action came before b's (-1), after (1), or at once (0). */
static int compare_times(struct stamp a, struct stamp b)
{
	if (a.sec != b.sec)
		return a.sec < b.sec ? -1 : 1;
	return a.nsec < b.nsec ? -1 : a.nsec > b.nsec;
}

static void add_part(struct buf *b, struct text t)
{
	uint32_t n = (uint32_t)t.n;
	buf_add(b, (const char *)&n, sizeof n);
	if (t.n)
		buf_add(b, t.p, t.n);
}

/* Reads the place of the line parsed in r. */
void order_read(struct order *o, struct record *r, struct order_place *p)
{
	struct stream s;
	uint64_t h[2];
	read_stream(r, &s);
	memset(p, 0, sizeof *p);
	if (!(p->ordered = s.ordered))
		return;
	buf_clear(&o->scratch);
	add_part(&o->scratch, s.type);
	add_part(&o->scratch, s.tid);
	add_part(&o->scratch, s.event);
	add_part(&o->scratch, s.name);
	siphash128(o->key, o->scratch.data, o->scratch.len, h);
	p->hash = (uint32_t)h[0];
	p->time = s.time;
}

/* ---- the table ---- */

static uint32_t *bucket_of(struct order *o, uint32_t hash)
{
	return &o->bucket[hash & (o->nbuckets - 1)];
}

static void link_entry(struct order *o, uint32_t e)
{
	uint32_t *b = bucket_of(o, o->entry[e].hash);
	o->entry[e].next = *b;
	*b = e;
}

static void grow_buckets(struct order *o)
{
	o->nbuckets = o->nbuckets ? 2 * o->nbuckets : FIRST_BUCKETS;
	free(o->bucket);
	o->bucket = xcalloc(o->nbuckets, sizeof *o->bucket);
	for (uint32_t e = 1; e < o->nentries; e++)
		if (o->entry[e].ref)
			link_entry(o, e);
}

static void add(struct order *o, uint32_t hash, uint64_t ref)
{
	uint32_t e = o->free;
	if (o->count + 1 > o->nbuckets)
		grow_buckets(o);
	if (e) {
		o->free = o->entry[e].next;
	} else {
		if (!o->nentries)
			o->nentries = 1;
		if (o->nentries >= o->cap) {
			o->cap = o->cap ? 2 * o->cap : FIRST_BUCKETS;
			o->entry = xreallocarray(o->entry, o->cap, sizeof *o->entry);
		}
		e = (uint32_t)o->nentries++;
	}
	o->entry[e] = (struct order_entry){ .hash = hash, .ref = ref };
	link_entry(o, e);
	o->count++;
}

/* The link that points at the entry of ref (flags but DROPPED included),
 * filed under hash; NULL when there is none. */
static uint32_t *find(struct order *o, uint32_t hash, uint64_t ref)
{
	if (!o->nbuckets)
		return NULL;
	for (uint32_t *at = bucket_of(o, hash); *at; at = &o->entry[*at].next)
		if (o->entry[*at].hash == hash && (o->entry[*at].ref & ~(uint64_t)DROPPED) == ref)
			return at;
	return NULL;
}

/* Unlinks the entry *at points at and frees it. */
static void remove_at(struct order *o, uint32_t *at)
{
	uint32_t e = *at;
	*at = o->entry[e].next;
	o->entry[e] = (struct order_entry){ .next = o->free };
	o->free = e;
	o->count--;
}

static uint64_t job_ref(const struct job *j)
{
	return (uint64_t)(uintptr_t)j;
}

static uint64_t spool_ref(uint64_t pos)
{
	return pos << 2 | SPOOLED;
}

/* Files j, whose place order_read() has read, while it is held. */
void order_add_job(struct order *o, struct job *j)
{
	if (!j->order.ordered)
		return;
	add(o, j->order.hash, job_ref(j));
	j->in_order = true;
}

void order_remove_job(struct order *o, struct job *j)
{
	uint32_t *at;
	if (j->in_order && (at = find(o, j->order.hash, job_ref(j))))
		remove_at(o, at);
	j->in_order = false;
}

/* Files the line of place p held in the spool at pos. */
void order_add_spooled(struct order *o, const struct order_place *p, uint64_t pos)
{
	if (p->ordered)
		add(o, p->hash, spool_ref(pos));
}

/* The spool's report of a line it holds (spool_held_fn): loading, or
 * moved by a compaction. */
void order_spooled(void *arg, uint64_t pos, int64_t due, const char *line, size_t len)
{
	struct order *o = arg;
	struct json_error e;
	struct order_place p;
	(void)due;
	if (!record_parse(&o->back, line, len, &e))
		return;
	order_read(o, &o->back, &p);
	order_add_spooled(o, &p, pos);
}

/* Before a compaction: the spool's positions change, so its entries go,
 * to be filed again as the compaction reports each line it keeps. */
void order_moving(struct order *o)
{
	for (uint32_t e = 1; e < o->nentries; e++) {
		if (!(o->entry[e].ref & SPOOLED))
			continue;
		uint32_t *at = find(o, o->entry[e].hash, o->entry[e].ref & ~(uint64_t)DROPPED);
		remove_at(o, at);
	}
	o->dropped = 0;
}

/* Reads back the line the spool holds at pos into o->back; false when it
 * is not a JSON object (the index never files such a line). */
static bool read_back(struct order *o, uint64_t pos)
{
	struct json_error e;
	int64_t due;
	size_t len;
	const char *line = spool_peek(o->spool, pos, &due, &len);
	return record_parse(&o->back, line, len, &e);
}

/* The spool's earliest line, at pos, leaves its heap (taken, or passed
 * over): its entry goes. Whether it was superseded, to be passed over. */
bool order_passed(struct order *o, uint64_t pos)
{
	struct order_place p;
	uint32_t *at;
	if (!o->count || !read_back(o, pos))
		return false;
	order_read(o, &o->back, &p);
	if (!p.ordered || !(at = find(o, p.hash, spool_ref(pos))))
		return false;
	bool dropped = o->entry[*at].ref & DROPPED;
	o->dropped -= dropped;
	remove_at(o, at);
	return dropped;
}

/* ---- superseding ---- */

/* Puts in o->copy the line of held with a "superseded" member naming
 * the action of by: its status, rejection_reason and time, as written. */
static void copy_superseded(struct order *o, const struct record *held, const struct stream *by)
{
	struct superseder action = { by->status_json, by->reason_json, by->time_json };
	buf_clear(&o->copy);
	record_add_superseded(&o->copy, held, &action);
}

/* Makes the line in o->copy j's line. */
static void install_copy(struct order *o, struct job *j)
{
	struct json_error e;
	free(j->line);
	j->line = xstrndup(o->copy.data, o->copy.len);
	j->len = o->copy.len;
	if (!record_parse(&j->rec, j->line, j->len, &e))
		errx(EXIT_FATAL, "line %lu: superseded, it is no longer JSON: %s", j->lineno, e.msg);
}

static void note_found(struct order *o, uint64_t ref)
{
	if (o->nfound == o->found_cap) {
		o->found_cap = o->found_cap ? 2 * o->found_cap : 8;
		o->found = xreallocarray(o->found, o->found_cap, sizeof *o->found);
	}
	o->found[o->nfound++] = ref;
}

/* What j, about to be sent, is to do, as the other lines of its stream
 * decide: wait (for o->blocker's attempt to end, or for it to go), be
 * superseded (its line then has its "superseded" member), or go. Unless superseded, the older lines it is to supersede
 * are found, order_found_job() and order_supersede_spooled() tell them. */
enum order_verdict order_check(struct order *o, struct job *j)
{
	struct stream mine = { 0 }, other;
	enum order_verdict v = ORDER_GO;
	o->nfound = 0;
	if (!j->in_order)
		return ORDER_GO;
	for (uint32_t e = *bucket_of(o, j->order.hash); e; e = o->entry[e].next) {
		struct order_entry x = o->entry[e];
		if (x.hash != j->order.hash || x.ref == job_ref(j) || (x.ref & DROPPED))
			continue;
		struct job *k = x.ref & SPOOLED ? NULL : (struct job *)(uintptr_t)x.ref;
		bool tried = !k || k->sending || job_attempts(k) > 0;
		int c = k ? compare_times(k->order.time, j->order.time) : 0;
		if (k && (c == 0 || (c > 0 && !tried) || (c < 0 && (!tried || k->sending) && v == ORDER_WAIT)))
			continue;	/* it changes nothing, whatever its stream */
		if (!k && !read_back(o, x.ref >> 2))
			continue;
		if (!mine.ordered)	/* read only when another line's hash matches */
			read_stream(&j->rec, &mine);
		read_stream(k ? &k->rec : &o->back, &other);
		if (!other.ordered || !same_stream(&mine, &other))
			continue;
		c = compare_times(other.time, mine.time);
		if (c > 0 && tried) {
			copy_superseded(o, &j->rec, &other);
			install_copy(o, j);
			o->nfound = 0;
			return ORDER_SUPERSEDED;
		}
		if (c < 0 && (!tried || (k && k->sending))) {
			v = ORDER_WAIT;
			o->blocker = k;
		}
		else if (c < 0)
			note_found(o, x.ref);
	}
	return v;
}

/* The i-th older line order_check() found, when it waits in memory;
 * NULL when it waits in the spool. */
struct job *order_found_job(const struct order *o, size_t i)
{
	return o->found[i] & SPOOLED ? NULL : (struct job *)(uintptr_t)o->found[i];
}

/* Gives held, found in memory, its "superseded" member: by supersedes it. */
void order_supersede_job(struct order *o, struct job *held, struct job *by)
{
	struct stream s;
	read_stream(&by->rec, &s);
	copy_superseded(o, &held->rec, &s);
	install_copy(o, held);
}

/* Supersedes the i-th older line order_check() found, waiting in the
 * spool, by by: drops it there, flagged until its heap place passes,
 * and returns its line with its "superseded" member (len bytes), valid
 * until the next call, for the caller to end. */
const char *order_supersede_spooled(struct order *o, size_t i, struct job *by, size_t *len)
{
	uint64_t ref = o->found[i];
	struct stream s;
	uint32_t *at;
	read_stream(&by->rec, &s);
	if (!read_back(o, ref >> 2))
		errx(EXIT_FATAL, "spool: offset %llu: record changed", (unsigned long long)(ref >> 2));
	copy_superseded(o, &o->back, &s);
	spool_drop(o->spool, ref >> 2);
	if ((at = find(o, by->order.hash, ref))) {
		o->entry[*at].ref |= DROPPED;
		o->dropped++;
	}
	*len = o->copy.len;
	return o->copy.data;
}

void order_free(struct order *o)
{
	free(o->bucket);
	free(o->entry);
	free(o->found);
	record_free(&o->back);
	buf_free(&o->copy);
	buf_free(&o->scratch);
}
