/* Unit tests of what pbdelay keeps of the action times read after each
 * place of its input (cmd/pbdelay/later.c): later_than() against the
 * brute force over every time read, on times in random order with ties
 * and places shared by several times, exactly; and on times that run
 * backwards past LATER_MAX, never later than the brute force (the
 * earliest read are dropped), exactly for the places after those. */
#include <stdint.h>
#include <stdlib.h>

#include "later.h"
#include "tap.h"

#define N 6000

static uint64_t at[N];
static int64_t when[N];

/* The latest of the first n times read after place p, or INT64_MIN. */
static int64_t brute(size_t n, uint64_t p)
{
	int64_t latest = INT64_MIN;
	for (size_t i = 0; i < n; i++)
		if (at[i] > p && when[i] > latest)
			latest = when[i];
	return latest;
}

static uint64_t rng = 88172645463325252u;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static struct later l;

static void random_order(void)
{
	later_clear(&l);
	size_t wrong = 0;
	uint64_t p = 0;
	for (size_t i = 0; i < 3000; i++) {
		p += next() % 3 == 0;	/* a line held moves the place on */
		at[i] = p;
		when[i] = (int64_t)(next() % 500);
		later_add(&l, at[i], when[i]);
		for (uint64_t q = 0; q <= p + 1; q += 1 + q / 64)
			wrong += later_than(&l, q) != brute(i + 1, q);
	}
	ok(wrong == 0, "random times, shared places: the latest after each place (%zu wrong)", wrong);
	later_clear(&l);
	ok(later_than(&l, 0) == INT64_MIN, "cleared: nothing read after any place");
}

static void backwards(void)
{
	later_clear(&l);
	for (size_t i = 0; i < N; i++) {
		at[i] = i + 1;
		when[i] = (int64_t)(N - i);
		later_add(&l, at[i], when[i]);
	}
	size_t later_than_brute = 0, inexact = 0;
	for (uint64_t q = 0; q <= N; q++) {
		int64_t got = later_than(&l, q), want = brute(N, q);
		later_than_brute += got > want;
		inexact += q >= N - LATER_MAX && got != want;
	}
	ok(later_than_brute == 0, "times running backwards: never later than what was read");
	ok(inexact == 0, "exact after the %d last places", LATER_MAX);
}

int main(void)
{
	random_order();
	backwards();
	return done();
}
