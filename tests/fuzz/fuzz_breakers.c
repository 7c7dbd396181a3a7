/* Fuzzes the breakers file pbfire --spool keeps beside its spool
 * (cmd/pbfire/breakers.c): the input as the file, loaded into the hosts
 * (hosts.c). Beyond no crash: every loaded breaker has a finite wait of 0 or
 * more and no probe time past the longest wait from now; saving and
 * loading again gives every host the same breaker (its probe time only
 * when open: a closed breaker has none that counts). */
#include <math.h>
#include <string.h>

#include "breakers.h"
#include "fuzz.h"

#define NOW 1800000000000000000LL		/* ns, in 2027 */
#define LONGEST (2160LL * 1000000000LL)	/* 30 minutes and 20% */

static void load(struct hosts *hs, const char *path)
{
	hosts_init(hs, 1, (struct breaker_policy){ 5, 30, 1800 });
	breakers_load(hs, path, NOW, LONGEST);
}

static bool same_breaker(const struct breaker *a, const struct breaker *b)
{
	return a->state == b->state && a->failures == b->failures && a->wait == b->wait &&
	       (a->state == BREAKER_CLOSED || a->until == b->until);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_path("breakers");
	struct hosts q, again;
	fuzz_write_file(path, data, size);
	fuzz_quiet();
	load(&q, path);
	for (size_t i = 0; i < q.n; i++) {
		const struct breaker *b = &q.at[i].breaker;
		CHECK(isfinite(b->wait) && b->wait >= 0 && b->until <= NOW + LONGEST);
	}
	breakers_save(&q, path);
	load(&again, path);
	fuzz_loud();
	for (size_t i = 0; i < q.n; i++) {
		const struct host *h = &q.at[i];
		size_t j = hosts_add(&again, h->name, strlen(h->name));
		CHECK(same_breaker(&h->breaker, &again.at[j].breaker));
	}
	hosts_free(&q);
	hosts_free(&again);
	return 0;
}
