/*
 * Crash-safe files: the idioms by which a tool makes what it writes
 * survive a crash, written once, and their one policy: a failure to make
 * a file durable is never ignored here. Every function returns it to its
 * caller (false or -1, errno set, and the step that failed where there
 * are several), and is declared warn_unused_result, so a caller that
 * drops it does not build with -Werror; the caller reports it, stopping
 * where its man page says such a file is fatal (the spool, the ledger,
 * pbstat's plot) and warning where the file is advisory (pbfire's
 * breakers).
 *
 * - durable_write(): all of a buffer, at a position or at the file's
 *   offset, through short writes and EINTR.
 * - durable_open_locked(): a file one process at a time writes (a spool,
 *   a ledger), created if missing, locked without waiting (EWOULDBLOCK:
 *   another holds it), and opened again when a replacement was renamed
 *   over it between the open and the lock.
 * - durable_new_open() and durable_new_commit(): a file replaced whole;
 *   durable_new_abort() gives it up, the new file removed.
 *   PATH.new is created and locked, the caller writes it, then it is
 *   synced, renamed over PATH and PATH's directory synced, so a crash at
 *   any moment leaves the old file or the new one, each whole; the caller
 *   goes on with the descriptor, now on PATH. durable_replace() does it
 *   all for contents in memory.
 */
#include "durable.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

/* Writes p[0,n) to fd at at, or at its offset (DURABLE_AT_OFFSET). */
bool durable_write(int fd, const void *p, size_t n, int64_t at)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = at == DURABLE_AT_OFFSET ? write(fd, c, n) : pwrite(fd, c, n, (off_t)at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return false;
		c += w;
		n -= (size_t)w;
		if (at != DURABLE_AT_OFFSET)
			at += w;
	}
	return true;
}

/* Closes fd, leaving errno as it was. */
static void close_quietly(int fd)
{
	int saved = errno;
	close(fd);
	errno = saved;
}

/* Opens path with flags (and O_CREAT, of mode), locked, the file now at
 * path; -1 with errno on failure. */
static int open_locked(const char *path, int flags, mode_t mode)
{
	for (;;) {
		struct stat by_fd, by_path;
		int fd = open(path, flags | O_CREAT | O_CLOEXEC, mode);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close_quietly(fd);
			return -1;
		}
		if (fstat(fd, &by_fd) == 0 && stat(path, &by_path) == 0 &&
		    by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev)
			return fd;
		close(fd);
	}
}

/* Opens path with flags (and O_CREAT), locked; -1 with errno on failure. */
int durable_open_locked(const char *path, int flags)
{
	return open_locked(path, flags, 0600);
}

/* Syncs the directory holding path, so that a rename in it lasts. */
static bool sync_directory_of(const char *path)
{
	char *copy = xstrndup(path, strlen(path));
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = fd >= 0 && fsync(fd) == 0;
	if (fd >= 0)
		close_quietly(fd);
	free(copy);
	return ok;
}

/* Gives up the replacement after step failed: closes and removes the new
 * file (if made), leaving errno as it was; returns false. */
bool durable_new_abort(struct durable_new *n, const char *step)
{
	int saved = errno;
	if (n->fd >= 0)
		close(n->fd);
	if (n->tmp)
		unlink(n->tmp);
	free(n->tmp);
	n->tmp = NULL;
	n->fd = -1;
	n->failed = step;
	errno = saved;
	return false;
}

/* Creates and locks PATH.new, opened read-write with flags, of mode,
 * then empties it: it is truncated only once locked, and left alone when
 * another process holds it (EWOULDBLOCK), for that one is writing it. */
bool durable_new_open(struct durable_new *n, const char *path, int flags, mode_t mode)
{
	struct buf tmp = { 0 };
	buf_addf(&tmp, "%s" DURABLE_NEW_SUFFIX, path);
	*n = (struct durable_new){ .path = path, .fd = -1 };
	n->fd = open_locked(tmp.data, O_RDWR | flags, mode);
	if (n->fd < 0) {
		int saved = errno;
		buf_free(&tmp);
		errno = saved;
		return durable_new_abort(n, errno == EWOULDBLOCK ? "locking its " DURABLE_NEW_SUFFIX " file, held by another process"
						       : "creating its " DURABLE_NEW_SUFFIX " file");
	}
	n->tmp = tmp.data;
	if (ftruncate(n->fd, 0) < 0)
		return durable_new_abort(n, "emptying its " DURABLE_NEW_SUFFIX " file");
	return true;
}

/* Syncs what was written to PATH.new and renames it over PATH, then
 * syncs PATH's directory; n->fd stays open, on PATH. */
bool durable_new_commit(struct durable_new *n)
{
	if (fsync(n->fd) < 0)
		return durable_new_abort(n, "syncing its " DURABLE_NEW_SUFFIX " file");
	if (rename(n->tmp, n->path) < 0)
		return durable_new_abort(n, "renaming its " DURABLE_NEW_SUFFIX " file over it");
	free(n->tmp);
	n->tmp = NULL;
	if (!sync_directory_of(n->path))
		return durable_new_abort(n, "syncing its directory");
	return true;
}

/* Replaces path whole with p[0,len), a new file of mode; on failure,
 * *failed names the step that failed. */
bool durable_replace(const char *path, const void *p, size_t len, mode_t mode, const char **failed)
{
	struct durable_new n;
	bool ok = durable_new_open(&n, path, 0, mode) &&
		  (durable_write(n.fd, p, len, 0) || durable_new_abort(&n, "writing its " DURABLE_NEW_SUFFIX " file")) &&
		  durable_new_commit(&n);
	if (ok && close(n.fd) < 0) {
		ok = false;
		n.failed = "closing it";
	}
	*failed = n.failed;
	return ok;
}
