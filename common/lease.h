#ifndef PB_LEASE_H
#define PB_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A partition's lease: until when (CLOCK_MONOTONIC, in ns) the member
 * may let pbfire start requests for the partition. The file holds the
 * time in decimal and a newline, and is replaced whole (written beside,
 * renamed over). */

/* The monotonic clock, in ns. */
int64_t lease_now(void);

/* Whether s[0,n) is a lease ("NS\n", NS from 0 to INT64_MAX without
 * leading zeros but for 0 itself); the time in *until. */
bool lease_parse(const char *s, size_t n, int64_t *until);

/* Until when the lease in path runs: 0 when there is none or it cannot
 * be read. */
int64_t lease_read(const char *path);

/* Writes the lease until in path; false, errno set, when it cannot. */
bool lease_write(const char *path, int64_t until);

/* How long a reader trusts the end it last read: a lease withdrawn (its
 * file removed when the partition is revoked) stops its reader within
 * this time, long before the end it had read. */
#define LEASE_RECHECK_NS 100000000

/* A lease as its reader follows it: the file, the end last read from it
 * and when it was read (0 before the first look). */
struct lease_watch {
	const char *path;
	int64_t until, read_at;
};

/* Whether w's lease runs now; the file is read again once the end last
 * read has passed or LEASE_RECHECK_NS after the last read, so a lease
 * that runs costs a look at the clock, and a read ten times a second. */
bool lease_runs(struct lease_watch *w);

#endif
