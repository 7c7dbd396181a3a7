#ifndef PB_HOSTS_H
#define PB_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "breaker.h"
#include "heap.h"
#include "job.h"
#include "lanes.h"
#include "strmap.h"

/* What pbfire knows of a host (scheme, name, port) beside its lines
 * waiting (queue.c): its breaker, its pacing, the lane its requests go
 * to, its lines finished. */
struct host {
	char *name;
	unsigned long ok, failed;	/* lines finished */
	struct breaker breaker;
	int64_t paced_until;		/* backpressure or a line's rate: nothing goes before then (ns) */
	struct route route;		/* the lane its requests go to (lanes.c) */
};

/* Every host met, by index, and when the next of them is to be woken. */
struct hosts {
	struct host *at;
	size_t n;
	struct strmap index;		/* host name -> its index in at */
	unsigned per_host;
	struct breaker_policy breaker;
	struct heap timers;		/* when a breaker's wait or pacing ends: due, host */
	unsigned open_breakers;		/* breakers not closed */
};

void hosts_init(struct hosts *hs, unsigned per_host, struct breaker_policy breaker);
size_t hosts_add(struct hosts *hs, const char *name, size_t n);
unsigned hosts_slots(const struct hosts *hs, size_t i, int64_t now);
void hosts_count_line(struct hosts *hs, size_t i, bool ok);
enum breaker_change hosts_note(struct hosts *hs, const struct job *j, int64_t now, double unit_random);
void hosts_pace(struct hosts *hs, size_t i, int64_t until);
void hosts_take_up(struct hosts *hs, const char *from, int64_t now);
bool hosts_wake(struct hosts *hs, int64_t now, size_t *i);
bool hosts_next_deadline(const struct hosts *hs, int64_t *due);
void hosts_free(struct hosts *hs);

#endif
