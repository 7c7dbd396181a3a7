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

/* A lease as its reader follows it: the file, and the end last read
 * from it (0 before the first look). */
struct lease_watch {
	const char *path;
	int64_t until;
};

/* Whether w's lease runs now; the file is read again only once the end
 * last read has passed, so a lease that runs costs a look at the clock. */
bool lease_runs(struct lease_watch *w);

#endif
