#ifndef PBSTAT_BUCKETS_H
#define PBSTAT_BUCKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUCKETS_MAX 64
#define BUCKETS_MAX_S 10000000	/* the highest bound, in seconds */

/* --hist: latencies counted exactly into the user's buckets, from each
 * bound to the next, the last one open. */
struct buckets {
	uint64_t bound[BUCKETS_MAX];	/* microseconds, ascending, bound[0] = 0 */
	uint64_t count[BUCKETS_MAX];
	size_t n;
};

bool buckets_parse(struct buckets *b, const char *list, const char **why);
void buckets_add(struct buckets *b, uint64_t us);

#endif
