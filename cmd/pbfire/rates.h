#ifndef PB_RATES_H
#define PB_RATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "job.h"
#include "strmap.h"

/* One rate's state: the interval between two requests, and when the
 * next may go (GCRA's theoretical arrival time), in nanoseconds; whether
 * a line waits for that time. */
struct bucket {
	int64_t interval, next;
	bool waited;
};

/* The rates pbfire keeps to: those --rate gives hosts, by host, and a
 * bucket for each of them and for each rule's rate met on a line. */
struct rates {
	struct bucket *at;
	size_t n;
	struct strmap index;		/* bucket key -> its index in at */
	struct strmap hosts;		/* a --rate host -> its bucket's index */
	struct buf key;			/* a rule's bucket key, reused line to line */
};

bool rates_add_host(struct rates *r, const char *spec, struct buf *why);
bool rates_of_job(struct rates *r, struct job *j, const char *host, size_t n, struct buf *why);
int64_t rates_due(struct rates *r, const struct job *j, int64_t now);
void rates_take(struct rates *r, const struct job *j, int64_t now);
void rates_free(struct rates *r);

#endif
