/* Fuzzes the hosts' breakers, pacing and timers (cmd/pbfire/hosts.c) as
 * pbfire's loop drives them: the input is a run of operations, each a
 * byte saying which and bytes for its arguments: meet a host, note an
 * attempt's outcome, pace a host, let time pass and wake the hosts due.
 * Beyond no crash: the hosts' indexes stay as given, the open breakers
 * counted are those not closed, the slots a host has agree with its
 * breaker and pacing, and once the hosts due are woken none is left open
 * or paced past its time without a deadline to wake it. */
#include "fuzz.h"
#include "hosts.h"

#define NOW 1800000000000000000LL	/* ns, in 2027 */
#define MS 1000000LL
#define HOSTS 8

struct run {
	const uint8_t *p, *end;
	struct hosts hs;
	size_t index[HOSTS];		/* hosts_add's answer for each name; HOSTS: not met */
	int64_t now;
};

static unsigned next(struct run *r)
{
	return r->p < r->end ? *r->p++ : 0;
}

/* A host met so far, by the next byte; false when none is. */
static bool some_host(struct run *r, size_t *i)
{
	if (!r->hs.n)
		return false;
	*i = next(r) % r->hs.n;
	return true;
}

static void meet(struct run *r)
{
	char name[] = "http://h0:80";
	unsigned k = next(r) % HOSTS;
	name[8] = (char)('0' + k);
	size_t i = hosts_add(&r->hs, name, sizeof name - 1);
	CHECK(r->index[k] == HOSTS || r->index[k] == i);
	CHECK(i < r->hs.n);
	r->index[k] = i;
}

/* Notes an attempt: its error class and HTTP status from the next bytes. */
static void note(struct run *r)
{
	struct job j = { 0 };
	if (!some_host(r, &j.host))
		return;
	j.error = (enum error_class)(next(r) % (ERR_DUPLICATE + 1));
	j.status = j.error == ERR_HTTP ? 400 + next(r) % 200 : 0;
	buf_adds(&j.message, "fuzzed");
	hosts_note(&r->hs, &j, r->now, next(r) / 256.0);
	buf_free(&j.message);
}

static void pace(struct run *r)
{
	size_t i;
	if (some_host(r, &i))
		hosts_pace(&r->hs, i, r->now + (int64_t)next(r) * 10 * MS);
}

/* Lets time pass and wakes the hosts due, as the loop does. */
static void wake(struct run *r)
{
	size_t i;
	r->now += (int64_t)next(r) * 10 * MS;
	while (hosts_wake(&r->hs, r->now, &i))
		CHECK(i < r->hs.n);
}

static void check(const struct run *r)
{
	unsigned open = 0;
	int64_t due;
	bool has_due = hosts_next_deadline(&r->hs, &due);
	for (size_t i = 0; i < r->hs.n; i++) {
		const struct host *h = &r->hs.at[i];
		const struct breaker *b = &h->breaker;
		unsigned slots = hosts_slots(&r->hs, i, r->now);
		open += b->state != BREAKER_CLOSED;
		if (h->paced_until > r->now || b->state == BREAKER_OPEN)
			CHECK(slots == 0);
		else
			CHECK(slots == (b->state == BREAKER_PROBING ? 1 : r->hs.per_host));
		if (b->state == BREAKER_OPEN)
			CHECK(has_due && due <= b->until && b->until > r->now);
		if (h->paced_until > r->now)
			CHECK(has_due && due <= h->paced_until);
	}
	CHECK(open == r->hs.open_breakers);
	CHECK(!has_due || due > r->now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r = { .p = data, .end = data + size, .now = NOW };
	for (size_t k = 0; k < HOSTS; k++)
		r.index[k] = HOSTS;
	hosts_init(&r.hs, 1 + next(&r) % 8,
		   (struct breaker_policy){ next(&r) % 4, 0.001 + next(&r) / 100.0, 2 });
	fuzz_quiet();
	while (r.p < r.end) {
		switch (next(&r) % 4) {
		case 0: meet(&r); break;
		case 1: note(&r); break;
		case 2: pace(&r); break;
		default: wake(&r);
		}
		size_t i;
		while (hosts_wake(&r.hs, r.now, &i))	/* the loop wakes before it checks */
			;
		check(&r);
	}
	fuzz_loud();
	hosts_free(&r.hs);
	return 0;
}
