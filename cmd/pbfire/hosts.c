/*
 * The hosts pbfire sends to, by index in the order they are met, and the
 * state each keeps across its lines: its circuit breaker (breaker.c), the
 * end of the pacing a 429 or Retry-After asked for (or its first line's
 * rate, rates.c), the lane its requests
 * go to (lanes.c decides it) and its lines finished, for --stats. A host
 * whose breaker is open or that is paced has a timer, in a heap by due
 * time: when it is due the host is woken, its breaker letting a probe go
 * if its wait is over, and the caller gives it back the slots
 * hosts_slots() says. The breakers are saved and loaded by breakers.c.
 * Only the main thread touches the hosts.
 */
#include "hosts.h"

#include <err.h>
#include <stdlib.h>

#include "stamp.h"
#include "tool.h"

void hosts_init(struct hosts *hs, unsigned per_host, struct breaker_policy breaker)
{
	*hs = (struct hosts){ .per_host = per_host, .breaker = breaker };
}

/* The index of host name (n bytes), added when new. */
size_t hosts_add(struct hosts *hs, const char *name, size_t n)
{
	size_t *i = strmap_put(&hs->index, name, n, hs->n);
	if (*i == hs->n) {
		hs->at = xreallocarray(hs->at, ++hs->n, sizeof *hs->at);
		hs->at[*i] = (struct host){ .name = xstrndup(name, n) };
	}
	return *i;
}

/* How many attempts host i may have in flight: none while paced or while
 * its breaker is open, one probe after the wait, else --per-host. */
unsigned hosts_slots(const struct hosts *hs, size_t i, int64_t now)
{
	const struct host *h = &hs->at[i];
	return h->paced_until > now ? 0 : breaker_slots(&h->breaker, hs->per_host);
}

/* Counts a line of host i finished, ok (delivered or a duplicate) or not. */
void hosts_count_line(struct hosts *hs, size_t i, bool ok)
{
	*(ok ? &hs->at[i].ok : &hs->at[i].failed) += 1;
}

static void wake_at(struct hosts *hs, size_t i, int64_t when)
{
	heap_push(&hs->timers, (struct timer){ when, i });
}

static void say_change(const struct host *h, const struct job *j, enum breaker_change change, int64_t now)
{
	const struct breaker *b = &h->breaker;
	double wait = (double)(b->until - now) / STAMP_NS;
	switch (change) {
	case BREAKER_OPENED:
		warnx("host %s: breaker open for %.0f s after %u failed %s in a row (%s: %s)", h->name,
		      wait, b->failures, plural(b->failures, "attempt", "attempts"), error_class_names[j->error],
		      j->message.data);
		break;
	case BREAKER_REOPENED:
		warnx("host %s: breaker open again for %.0f s: the probe failed (%s: %s)", h->name, wait,
		      error_class_names[j->error], j->message.data);
		break;
	case BREAKER_CLOSED_AGAIN:
		warnx("host %s: breaker closed: it answered again", h->name);
		break;
	case BREAKER_SAME:
		break;
	}
}

/* Notes the outcome of j's attempt in its host's breaker, saying when it
 * opens or closes; an open breaker wakes its host when its wait is over. */
enum breaker_change hosts_note(struct hosts *hs, const struct job *j, int64_t now, double unit_random)
{
	struct host *h = &hs->at[j->host];
	struct breaker *b = &h->breaker;
	bool failed = breaker_failure(j->error, j->status) && !policy_final(&j->policy, j->status);
	enum breaker_change change = breaker_note(b, &hs->breaker, failed, now, unit_random);
	hs->open_breakers += change == BREAKER_OPENED;
	hs->open_breakers -= change == BREAKER_CLOSED_AGAIN;
	say_change(h, j, change, now);
	if (b->state == BREAKER_OPEN && b->until > now)
		wake_at(hs, j->host, b->until);
	return change;
}

/* Paces host i: nothing goes to it until until (ns), unless it is paced
 * longer already. */
void hosts_pace(struct hosts *hs, size_t i, int64_t until)
{
	struct host *h = &hs->at[i];
	if (until > h->paced_until) {
		h->paced_until = until;
		wake_at(hs, i, until);
	}
}

/* Takes up the breakers loaded from file from: counts those not closed,
 * and says how long those open stay so. */
void hosts_take_up(struct hosts *hs, const char *from, int64_t now)
{
	for (size_t i = 0; i < hs->n; i++) {
		const struct breaker *b = &hs->at[i].breaker;
		hs->open_breakers += b->state != BREAKER_CLOSED;
		if (b->state != BREAKER_OPEN)
			continue;
		warnx("host %s: breaker open for %.0f s more, as %s says", hs->at[i].name,
		      (double)(b->until - now) / STAMP_NS, from);
		wake_at(hs, i, b->until);
	}
}

/* The next host whose breaker wait or pacing is over by now, in *i, its
 * breaker letting a probe go if its wait is over; false when none is. */
bool hosts_wake(struct hosts *hs, int64_t now, size_t *i)
{
	if (!hs->timers.n || hs->timers.at[0].due > now)
		return false;
	*i = (size_t)heap_pop(&hs->timers).id;
	struct breaker *b = &hs->at[*i].breaker;
	if (b->state == BREAKER_OPEN && b->until <= now)
		breaker_probe(b);
	return true;
}

/* When the next host is to be woken; false when none is. */
bool hosts_next_deadline(const struct hosts *hs, int64_t *due)
{
	if (!hs->timers.n)
		return false;
	*due = hs->timers.at[0].due;
	return true;
}

void hosts_free(struct hosts *hs)
{
	for (size_t i = 0; i < hs->n; i++)
		free(hs->at[i].name);
	free(hs->at);
	strmap_free(&hs->index);
	heap_free(&hs->timers);
	*hs = (struct hosts){ 0 };
}
