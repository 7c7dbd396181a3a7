/*
 * The lines waiting to be sent, kept so that finding the next one costs
 * the same however many wait: each host (scheme, name, port) has its own
 * first-in first-out list, and a ring of the hosts that may have a line
 * to start takes them in turn, so a host with many lines waiting does not
 * starve the others. A host leaves the ring when its list empties or its
 * slots are full, and comes back when a line is added or one of its
 * transfers ends. Its slots are --per-host, or fewer while its breaker is
 * open or it is paced (hosts.c says how many). A host's list in memory, its backlog, holds four
 * times --per-host lines at most: the lines behind them wait on disk, in
 * an unlinked temporary spool, 16 bytes of memory each, and come back in
 * order as the backlog empties, so a dead or rate-limited host's lines
 * never fill the memory the other hosts' lines need (a host whose
 * backlog is full counts as overflowing, for main.c to read on); when the lines taken back outweigh
 * those still there, the rest move to a new temporary file, so the disk
 * a long run takes is that of the lines waiting. Lines waiting to retry sit in a
 * heap by due time until they are due, then go to the front of their
 * host's list; lines whose ledger key is in flight, or whose older line
 * of the same transaction and rule is (order.c), are parked until such a
 * line finishes. A line that order.c supersedes while it waits is
 * withdrawn from wherever it waits.
 */
#include "queue.h"

#include <stdint.h>
#include <stdlib.h>

#define NO_HOST ((size_t)-1)

void queue_init(struct queue *q, unsigned per_host, size_t max_line, revive_fn *revive, void *arg)
{
	*q = (struct queue){
		.per_host = per_host, .backlog_max = 4 * per_host, .ready_first = NO_HOST,
		.ready_last = NO_HOST, .max_line = max_line, .revive = revive, .revive_arg = arg,
	};
}

/* The lines of host i, which has none yet when new. */
static struct host_lines *lines_of(struct queue *q, size_t i)
{
	if (i >= q->nhosts) {
		size_t n = i + 1 > 2 * q->nhosts ? i + 1 : 2 * q->nhosts;
		q->hosts = xreallocarray(q->hosts, n, sizeof *q->hosts);
		for (size_t k = q->nhosts; k < n; k++)
			q->hosts[k] = (struct host_lines){ .next_ready = NO_HOST, .limit = q->per_host };
		q->nhosts = n;
	}
	return &q->hosts[i];
}

static void make_ready(struct queue *q, size_t i)
{
	struct host_lines *h = &q->hosts[i];
	if (h->in_ready || !h->first || h->running >= h->limit)
		return;
	h->in_ready = true;
	h->next_ready = NO_HOST;
	*(q->ready_last == NO_HOST ? &q->ready_first : &q->hosts[q->ready_last].next_ready) = i;
	q->ready_last = i;
}

static size_t pop_ready(struct queue *q)
{
	size_t i = q->ready_first;
	q->ready_first = q->hosts[i].next_ready;
	if (q->ready_first == NO_HOST)
		q->ready_last = NO_HOST;
	q->hosts[i].in_ready = false;
	return i;
}

static void push_back(struct host_lines *h, struct job *j)
{
	h->backlog++;
	j->waits = WAITS_FOR_HOST;
	j->next = NULL;
	j->prev = h->last;
	*(h->last ? &h->last->next : &h->first) = j;
	h->last = j;
}

static void push_front(struct host_lines *h, struct job *j)
{
	h->backlog++;
	j->waits = WAITS_FOR_HOST;
	j->prev = NULL;
	j->next = h->first;
	*(h->first ? &h->first->prev : &h->last) = j;
	h->first = j;
}

/* Takes j out of h's list. */
static void unlink_job(struct host_lines *h, struct job *j)
{
	h->backlog--;
	*(j->prev ? &j->prev->next : &h->first) = j->next;
	*(j->next ? &j->next->prev : &h->last) = j->prev;
	j->next = j->prev = NULL;
	j->waits = WAITS_NOWHERE;
}

static struct job *pop_front(struct host_lines *h)
{
	struct job *j = h->first;
	unlink_job(h, j);
	return j;
}

static void ring_push(struct spilled *r, struct spilled_line l)
{
	if (r->n == r->cap) {
		size_t old = r->cap;
		r->cap = r->cap ? 2 * r->cap : 64;
		r->at = xreallocarray(r->at, r->cap, sizeof *r->at);
		for (size_t i = 0; i < r->first; i++)	/* unwrap what wrapped round */
			r->at[old + i] = r->at[i];
	}
	r->at[(r->first + r->n++) % r->cap] = l;
}

static struct spilled_line ring_pop(struct spilled *r)
{
	struct spilled_line l = r->at[r->first];
	r->first = (r->first + 1) % r->cap;
	r->n--;
	return l;
}

/* Counts h in q->overflowing while its backlog is full or it has lines
 * on disk: its next line goes to disk, so reading may go on for other
 * hosts (may_read() in main.c). Called after each change of either. */
static void note_overflow(struct queue *q, struct host_lines *h)
{
	bool full = h->spilled.n || h->backlog >= q->backlog_max;
	if (full && !h->overflowing)
		q->overflowing++;
	else if (!full && h->overflowing)
		q->overflowing--;
	h->overflowing = full;
}

/* Writes j's line to disk behind its host's other lines there. */
static void spill(struct queue *q, struct host_lines *h, const struct job *j)
{
	if (!q->overflow_open) {
		spool_open(&q->overflow, NULL, "pbfire", q->max_line);
		q->overflow_open = true;
	}
	ring_push(&h->spilled, (struct spilled_line){ spool_keep(&q->overflow, j->line, j->len), j->lineno });
}

/* Brings h's lines on disk back into its backlog while it has room. */
static void refill(struct queue *q, struct host_lines *h)
{
	while (h->spilled.n && h->backlog < q->backlog_max) {
		struct spilled_line l = ring_pop(&h->spilled);
		size_t len;
		const char *line = spool_take_kept(&q->overflow, l.pos, &len);
		push_back(h, q->revive(q->revive_arg, line, len, l.lineno));
	}
	note_overflow(q, h);
}

/* Adds j behind the lines waiting for its host; false when its host's
 * backlog is full and j's line went to disk instead, for the caller to
 * free j. */
bool queue_add(struct queue *q, struct job *j)
{
	struct host_lines *h = lines_of(q, j->host);
	if (h->spilled.n || h->backlog >= q->backlog_max) {
		spill(q, h, j);	/* h overflows already */
		return false;
	}
	push_back(h, j);
	note_overflow(q, h);
	make_ready(q, j->host);
	return true;
}

/* Takes the oldest line of the next host with a free slot, or NULL. */
struct job *queue_next(struct queue *q)
{
	while (q->ready_first != NO_HOST) {
		size_t i = pop_ready(q);
		struct host_lines *h = &q->hosts[i];
		if (!h->first || h->running >= h->limit)
			continue;
		struct job *j = pop_front(h);
		refill(q, h);
		make_ready(q, i);	/* to the back of the ring: hosts take turns */
		return j;
	}
	return NULL;
}

/* Puts j back first in line for its host. */
void queue_return(struct queue *q, struct job *j)
{
	struct host_lines *h = lines_of(q, j->host);
	push_front(h, j);
	note_overflow(q, h);
	make_ready(q, j->host);
}

/* Host i may have limit attempts in flight from now on. */
void queue_set_limit(struct queue *q, size_t i, unsigned limit)
{
	lines_of(q, i)->limit = limit;
	make_ready(q, i);
}

void queue_started(struct queue *q, const struct job *j)
{
	q->hosts[j->host].running++;
}

/* A transfer of j's host ended: the host has a free slot again. */
void queue_ended(struct queue *q, const struct job *j)
{
	q->hosts[j->host].running--;
	make_ready(q, j->host);
}

/* j waits until when (ns), then goes first for its host. */
void queue_retry_at(struct queue *q, struct job *j, int64_t when)
{
	j->waits = WAITS_TO_RETRY;
	heap_push(&q->retries, (struct timer){ when, (uint64_t)(uintptr_t)j });
}

/* Whether a line waits to retry, and when the earliest is due. */
bool queue_next_retry(const struct queue *q, int64_t *when)
{
	if (!q->retries.n)
		return false;
	*when = q->retries.at[0].due;
	return true;
}

static struct job *job_at(struct timer h)
{
	return (struct job *)(uintptr_t)h.id;
}

/* Puts the lines due to retry by now back at the front of their hosts. */
void queue_release_due(struct queue *q, int64_t now)
{
	while (q->retries.n && q->retries.at[0].due <= now)
		queue_return(q, job_at(heap_pop(&q->retries)));
}

/* j waits for a line with the same key to finish (behind NULL), or for
 * the attempt of behind, an older line of its stream (order.c), to end. */
void queue_park(struct queue *q, struct job *j, const struct job *behind)
{
	j->prev = NULL;
	j->next = q->parked;
	j->waits = WAITS_PARKED;
	j->behind = behind;
	q->parked = j;
}

/* The parked lines waiting for behind (all of them, when all) go back to
 * the front of their hosts, to be tried again. */
static void unpark(struct queue *q, const struct job *behind, bool all)
{
	for (struct job **at = &q->parked; *at;) {
		struct job *j = *at;
		if (!all && j->behind != behind) {
			at = &j->next;
			continue;
		}
		*at = j->next;
		queue_return(q, j);
	}
}

/* A keyed line finished (behind NULL), or an attempt of behind ended or
 * it is let go: the lines parked for it go back to the front of their
 * hosts, to claim their keys, or be ordered, again. */
void queue_unpark(struct queue *q, const struct job *behind)
{
	unpark(q, behind, false);
}

/* Takes j out of the queue, wherever it waits (order.c supersedes it). */
void queue_withdraw(struct queue *q, struct job *j)
{
	struct job **at;
	size_t i;
	switch (j->waits) {
	case WAITS_FOR_HOST:
		unlink_job(&q->hosts[j->host], j);
		refill(q, &q->hosts[j->host]);
		break;
	case WAITS_TO_RETRY:
		for (i = 0; q->retries.at[i].id != (uint64_t)(uintptr_t)j; i++)
			;
		q->retries.at[i] = q->retries.at[--q->retries.n];
		heap_rebuild(&q->retries);
		break;
	case WAITS_PARKED:
		for (at = &q->parked; *at != j; at = &(*at)->next)
			;
		*at = j->next;
		break;
	default:
		break;
	}
	j->next = j->prev = NULL;
	j->waits = WAITS_NOWHERE;
}

/* Hands every line waiting in host i's backlog or on disk to take(),
 * which must not add any back. */
void queue_take_host(struct queue *q, size_t i, void (*take)(void *arg, struct job *j), void *arg)
{
	struct host_lines *h = lines_of(q, i);
	while (h->first) {
		take(arg, pop_front(h));
		refill(q, h);
	}
}

/* Hands every waiting line to end(), which must not add any back. */
void queue_drain(struct queue *q, void (*end)(void *arg, struct job *j), void *arg)
{
	unpark(q, NULL, true);
	queue_release_due(q, INT64_MAX);
	for (size_t i = 0; i < q->nhosts; i++)
		queue_take_host(q, i, end, arg);
	q->ready_first = q->ready_last = NO_HOST;
	for (size_t i = 0; i < q->nhosts; i++)
		q->hosts[i].in_ready = false;
}

/* Moves the lines on disk to a new temporary file, in each host's order,
 * and lets the old one go. */
static void move_overflow(struct queue *q)
{
	struct spool fresh;
	spool_open(&fresh, NULL, "pbfire", q->max_line);
	for (size_t i = 0; i < q->nhosts; i++) {
		struct spilled *r = &q->hosts[i].spilled;
		for (size_t k = 0; k < r->n; k++) {
			struct spilled_line *l = &r->at[(r->first + k) % r->cap];
			size_t len;
			const char *line = spool_take_kept(&q->overflow, l->pos, &len);
			l->pos = spool_keep(&fresh, line, len);
		}
	}
	spool_close(&q->overflow);
	q->overflow = fresh;
}

/* Gives back the disk space of the lines taken back: all of it once none
 * is left, most of it once they outweigh the lines still there. */
void queue_reclaim(struct queue *q)
{
	if (!q->overflow_open)
		return;
	spool_reclaim(&q->overflow);
	if (spool_worth_compacting(&q->overflow))
		move_overflow(q);
}

void queue_free(struct queue *q)
{
	for (size_t i = 0; i < q->nhosts; i++)
		free(q->hosts[i].spilled.at);
	if (q->overflow_open)
		spool_close(&q->overflow);
	free(q->hosts);
	heap_free(&q->retries);
}
