/*
 * A partition's lease, the one thing pbgroup's member (cmd/pbgroup) and
 * the pbfire of the partition's pipeline (its --lease) share: a small
 * file holding the monotonic time until which the member's hold on the
 * partition was last confirmed by the group coordinator. The member
 * replaces the file whole, by a rename; pbfire follows it with a
 * lease_watch, which reads it again only once the time it knows has
 * passed. Both run on one host, so they share the monotonic clock, which
 * a change of the wall clock does not move.
 */
#include "lease.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define LEASE_MAX 32	/* bytes of a lease file: INT64_MAX has 19 digits */

int64_t lease_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool lease_parse(const char *s, size_t n, int64_t *until)
{
	if (n < 2 || s[n - 1] != '\n' || (s[0] == '0' && n > 2))
		return false;
	int64_t v = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		int d = s[i] - '0';
		if (v > (INT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*until = v;
	return true;
}

int64_t lease_read(const char *path)
{
	char b[LEASE_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof b);
	close(fd);
	int64_t until;
	return n > 0 && lease_parse(b, (size_t)n, &until) ? until : 0;
}

bool lease_write(const char *path, int64_t until)
{
	char tmp[4096], b[LEASE_MAX];
	int len = snprintf(b, sizeof b, "%lld\n", (long long)until);
	if (snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return false;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return false;
	bool ok = write(fd, b, (size_t)len) == len;
	int e = errno;
	if (close(fd) != 0 && ok) {
		ok = false;
		e = errno;
	}
	if (ok && rename(tmp, path) == 0)
		return true;
	e = ok ? errno : e;
	unlink(tmp);
	errno = e;
	return false;
}

bool lease_runs(struct lease_watch *w)
{
	int64_t now = lease_now();
	if (now < w->until && now - w->read_at < LEASE_RECHECK_NS)
		return true;
	w->until = lease_read(w->path);
	w->read_at = now;
	return now < w->until;
}
