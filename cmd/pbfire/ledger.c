/*
 * The ledger: an append-only file with one line per delivered postback,
 * its key, so that a postback replayed from a log, by a cron run or by a
 * restarted pipeline, is not fired twice. Keys are written with "\" and
 * newline escaped as "\\" and "\n". The whole file is loaded into a hash
 * map at start; keys delivered meanwhile are appended and synced to disk
 * in batches (ledger_sync). A torn last line, from a crash mid-append, is
 * cut off, so the next key appended starts a line of its own. The map
 * also marks keys in flight, so that two lines with one key in the same
 * run do not both fire. One pbfire at a time may use a ledger for
 * writing: it is locked.
 */
#include "ledger.h"
#include "tool.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define READ_CHUNK (1 << 20)

static void add_key(struct ledger *l, const char *line, size_t n, struct buf *scratch)
{
	if (!memchr(line, '\\', n)) {
		*strmap_put(&l->keys, line, n, KEY_DELIVERED) = KEY_DELIVERED;
		return;
	}
	buf_clear(scratch);
	for (size_t i = 0; i < n; i++) {
		char c = line[i];
		if (c == '\\' && i + 1 < n)
			c = line[++i] == 'n' ? '\n' : line[i];
		buf_addc(scratch, c);
	}
	*strmap_put(&l->keys, scratch->data, scratch->len, KEY_DELIVERED) = KEY_DELIVERED;
}

/* Loads every key; returns the size of the file up to its last newline. */
static off_t load(struct ledger *l)
{
	struct buf data = { 0 }, scratch = { 0 };
	off_t whole = 0;
	for (;;) {
		buf_reserve(&data, READ_CHUNK);
		ssize_t r = read(l->fd, data.data + data.len, READ_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err(EXIT_USAGE, "%s", l->path);
		if (r == 0)
			break;
		data.len += (size_t)r;
		size_t start = 0;
		char *nl;
		while ((nl = memchr(data.data + start, '\n', data.len - start))) {
			size_t n = (size_t)(nl - (data.data + start));
			if (n)
				add_key(l, data.data + start, n, &scratch);
			start += n + 1;
		}
		whole += (off_t)start;
		memmove(data.data, data.data + start, data.len - start);
		data.len -= start;
	}
	buf_free(&data);
	buf_free(&scratch);
	return whole;
}

/* Reads a --ledger-keep duration, a whole number of seconds, minutes,
 * hours or days (s, m, h, d; seconds without a unit), up to 100 years;
 * 0 keeps keys forever. */
bool ledger_parse_keep(const char *s, int64_t *seconds)
{
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	unsigned long long v = strtoull(s, &end, 10);
	int64_t unit = !*end ? 1 : end[1] ? 0 : *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
	if (errno || !unit || v > 100ULL * 366 * 86400 / (unsigned long long)unit)
		return false;
	*seconds = (int64_t)v * unit;
	return true;
}

/* Opens and loads the ledger at path; read_only (a dry run) neither
 * creates, locks nor writes it. */
void ledger_open(struct ledger *l, const char *path, bool read_only, int64_t keep)
{
	memset(l, 0, sizeof *l);
	l->path = path;
	l->keep = keep;
	l->fd = open(path, read_only ? O_RDONLY | O_CLOEXEC : O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (l->fd < 0 && read_only && errno == ENOENT)
		return;
	if (l->fd < 0)
		err(EXIT_USAGE, "%s", path);
	if (!read_only && flock(l->fd, LOCK_EX | LOCK_NB) < 0)
		err(EXIT_USAGE, "%s: %s", path, errno == EWOULDBLOCK ? "in use by another pbfire" : "lock");
	off_t whole = load(l);
	off_t size = lseek(l->fd, 0, SEEK_END);
	if (!read_only && size > whole) {	/* a torn last key: appends must not extend it */
		warnx("%s: dropping an incomplete last key", path);
		if (ftruncate(l->fd, whole) < 0)
			err(EXIT_USAGE, "%s", path);
	}
	if (read_only) {
		close(l->fd);
		l->fd = -1;
	}
}

enum ledger_state ledger_state(const struct ledger *l, const char *key, size_t n)
{
	size_t v = strmap_get(&l->keys, key, n);
	return v == STRMAP_NONE ? KEY_UNKNOWN : (enum ledger_state)v;
}

/* Records what is known of key; a delivered key is also appended to the
 * file at the next ledger_sync(). */
void ledger_set(struct ledger *l, const char *key, size_t n, enum ledger_state s)
{
	*strmap_put(&l->keys, key, n, s) = s;
	if (s != KEY_DELIVERED || l->fd < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (key[i] == '\\' || key[i] == '\n')
			buf_addc(&l->pending, '\\');
		buf_addc(&l->pending, key[i] == '\n' ? 'n' : key[i]);
	}
	buf_addc(&l->pending, '\n');
}

/* Appends the keys delivered since the last call and syncs the file. */
void ledger_sync(struct ledger *l)
{
	size_t done = 0;
	if (!l->pending.len)
		return;
	while (done < l->pending.len) {
		ssize_t w = write(l->fd, l->pending.data + done, l->pending.len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			err(EXIT_USAGE, "%s", l->path);
		done += (size_t)w;
	}
	if (fdatasync(l->fd) < 0)
		err(EXIT_USAGE, "%s", l->path);
	buf_clear(&l->pending);
}

void ledger_close(struct ledger *l)
{
	if (l->fd >= 0) {
		ledger_sync(l);
		close(l->fd);
	}
	strmap_free(&l->keys);
	buf_free(&l->pending);
}
