/* Fuzzes what pbship reads (cmd/pbship): a ledger line (ship.c) and the
 * file it follows (follow.c). The input's first byte says where the
 * rest splits into an old file and a new one. Beyond no crash: each
 * line of the input is taken as a key line exactly when it is digits,
 * then 'f', 's' or nothing, a space and one byte or more, with that key;
 * the first half of the old file, followed from its start, hands over
 * its complete lines, in order, with their bytes, NULs included, and
 * stops past the last newline; then the rest of the old file is
 * appended and the new one renamed over it before pbship looks again
 * (pbfire appending a key, then compacting its ledger): the old file's
 * lines not yet handed over come first, in order, then each complete
 * line of the new one that the old one lacked, once, and none other,
 * and the new file is followed from past its last complete line. Each
 * line of the old file comes with the byte after its newline; those of
 * the new one, out of its order, with 0; the rename counts as a restart. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "follow.h"
#include "fuzz.h"
#include "ship.h"

struct span {
	const char *p;
	size_t n;
};

/* The lines handed over, and the ends they came with. */
struct got {
	struct span lines[4096];
	off_t ends[4096];
	size_t n;
};

static void take(void *arg, const char *line, size_t len, off_t end)
{
	struct got *g = arg;
	CHECK(g->n < sizeof g->lines / sizeof *g->lines);
	char *copy = malloc(len + 1);
	CHECK(copy);
	memcpy(copy, line, len);
	g->ends[g->n] = end;
	g->lines[g->n++] = (struct span){ copy, len };
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		free((void *)(uintptr_t)g->lines[i].p);
	g->n = 0;
}

/* The complete lines of s[0,n) in l (as many as fit); returns how many,
 * *used the bytes they take. */
static size_t split(const char *s, size_t n, struct span *l, size_t max, size_t *used)
{
	size_t count = 0, at = 0;
	const char *nl;
	while (at < n && count < max && (nl = memchr(s + at, '\n', n - at))) {
		l[count++] = (struct span){ s + at, (size_t)(nl - (s + at)) };
		at = (size_t)(nl - s) + 1;
	}
	*used = at;
	return count;
}

/* The byte after line l of text, read from text's start: its end. */
static off_t end_in(const char *text, struct span l)
{
	return (off_t)(l.p - text + (ptrdiff_t)l.n + 1);
}

static bool same(struct span a, struct span b)
{
	return a.n == b.n && !memcmp(a.p, b.p, a.n);
}

static bool among(struct span x, const struct span *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (same(x, l[i]))
			return true;
	return false;
}

static void check_key(struct span l)
{
	const char *key = NULL;
	size_t keylen = 0, i = 0;
	while (i < l.n && l.p[i] >= '0' && l.p[i] <= '9')
		i++;
	size_t digits = i;
	if (i < l.n && (l.p[i] == 'f' || l.p[i] == 's'))
		i++;
	bool valid = digits > 0 && i + 1 < l.n && l.p[i] == ' ';
	CHECK(ship_ledger_key(l.p, l.n, &key, &keylen) == valid);
	CHECK(!valid || (key == l.p + i + 1 && keylen == l.n - i - 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct span old[4096], new[4096], half_lines[4096];
	static struct got got;
	if (size < 1 || size > 4097)
		return 0;
	const char *text = (const char *)data + 1;
	size_t n = size - 1, k = n * data[0] / 255, half = k / 2, old_used, new_used, half_used;
	size_t nold = split(text, k, old, 4096, &old_used), nnew = split(text + k, n - k, new, 4096, &new_used);
	size_t nhalf = split(text, half, half_lines, 4096, &half_used);
	for (size_t i = 0; i < nold; i++)
		check_key(old[i]);
	for (size_t i = 0; i < nnew; i++)
		check_key(new[i]);

	char path[4096], next[4096];
	snprintf(path, sizeof path, "%s", fuzz_path("followed"));
	snprintf(next, sizeof next, "%s", fuzz_path("next"));
	fuzz_write_file(path, text, half);
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	struct follow f;
	follow_init(&f, path, fd, 0);
	follow_lines(&f, take, &got);
	CHECK(got.n == nhalf && f.from == (off_t)half_used && f.restarts == 0);
	for (size_t i = 0; i < nhalf; i++)
		CHECK(same(got.lines[i], half_lines[i]) && same(half_lines[i], old[i]) &&
		      got.ends[i] == end_in(text, old[i]));
	got_free(&got);

	bool switched = true;
	CHECK(follow_renamed(&f, take, &got, &switched) == 0 && !switched);
	int append = open(path, O_WRONLY | O_APPEND);
	CHECK(append >= 0 && write(append, text + half, k - half) == (ssize_t)(k - half) && close(append) == 0);
	fuzz_write_file(next, text + k, n - k);
	CHECK(rename(next, path) == 0);
	size_t handed = follow_renamed(&f, take, &got, &switched), rest = nold - nhalf;
	CHECK(switched && handed == got.n && got.n >= rest && f.from == (off_t)new_used && f.restarts == 1);
	for (size_t i = 0; i < rest; i++)
		CHECK(same(got.lines[i], old[nhalf + i]) && got.ends[i] == end_in(text, old[nhalf + i]));
	struct span *lacked = got.lines + rest;
	size_t nlacked = got.n - rest;
	for (size_t i = 0; i < nlacked; i++) {
		CHECK(among(lacked[i], new, nnew) && !among(lacked[i], old, nold) && got.ends[rest + i] == 0);
		CHECK(!among(lacked[i], lacked, i));
	}
	for (size_t i = 0; i < nnew; i++)
		CHECK(among(new[i], old, nold) || among(new[i], lacked, nlacked));
	got_free(&got);
	close(f.fd);
	follow_free(&f);
	return 0;
}
