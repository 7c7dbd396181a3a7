/* Fuzzes the spool loader (common/spool.c). The input is a byte of flags,
 * then the body of a spool file: "+DUE LINE\n" held and "-DUE LINE\n"
 * released records (the header is added). An input with a malformed
 * complete record is skipped: the loader rightly refuses that file (exit
 * 2). Flag 1 grows the first held record past the loader's 1 MiB read
 * window, as a line that an earlier run's larger --max-line let in; flag
 * 2 opens with a --max-line that holds it. Beyond no crash: every
 * complete held record comes back once, in due order (earlier stored
 * first among equals), with its text; only a torn last record is cut
 * off; after some are released and others added, the reopened spool
 * holds exactly the rest and the added ones. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"
#include "spool.h"

static const char header[] = "pbdelay-spool 1\n";
#define PAD ((1 << 20) + 100)	/* more than the read window */
#define MAX_LINE 4096

/* A record the spool must hold: due, position and the offset of its line
 * in the file's text (or in added[]). */
struct rec {
	int64_t due;
	uint64_t pos;
	size_t at, len;
	const char *text;
};

static int order(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Parses "+DUE " or "-DUE " (DUE an int64) at p[0,n), n without the
 * newline; the length of the prefix, or 0. */
static size_t prefix(const char *p, size_t n, int64_t *due)
{
	size_t i = 1;
	uint64_t v = 0;
	if (n < 3 || (p[0] != '+' && p[0] != '-'))
		return 0;
	for (; i < n && i < 20 && p[i] >= '0' && p[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(p[i] - '0');
	if (i == 1 || i >= n || p[i] != ' ' || v > INT64_MAX)
		return 0;
	*due = (int64_t)v;
	return i + 1;
}

/* Builds the file from the input into f and its held records into held;
 * false when a complete record is malformed. */
static bool build(const uint8_t *data, size_t size, struct buf *f, struct rec **held, size_t *n)
{
	const char *p = (const char *)data + 1, *end = (const char *)data + size, *nl;
	bool pad = data[0] & 1;
	buf_add(f, header, sizeof header - 1);
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
		int64_t due;
		size_t len = (size_t)(nl - p), skip = prefix(p, len, &due);
		if (!skip)
			return false;
		uint64_t pos = f->len;
		buf_add(f, p, len);
		if (p[0] == '+') {
			size_t grow = pad ? PAD : 0;
			pad = false;
			buf_reserve(f, grow);
			memset(f->data + f->len, 'x', grow);
			f->len += grow;
			*held = xreallocarray(*held, *n + 1, sizeof **held);
			(*held)[(*n)++] = (struct rec){ due, pos, pos + skip, f->len - pos - skip, NULL };
		}
		buf_addc(f, '\n');
	}
	buf_add(f, p, (size_t)(end - p));	/* a torn last record, if any */
	for (size_t i = 0; i < *n; i++)
		(*held)[i].text = f->data + (*held)[i].at;
	if (*n)
		qsort(*held, *n, sizeof **held, order);
	return true;
}

/* Takes k lines from s; they must be want[0,k), in order. */
static void take(struct spool *s, const struct rec *want, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		int64_t due;
		size_t len;
		CHECK(spool_next(s, &due) && due == want[i].due);
		const char *line = spool_take(s, &len);
		CHECK(len == want[i].len && memcmp(line, want[i].text, len) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf f = { 0 };
	struct rec *held = NULL;
	size_t n = 0;
	if (size < 1 || !build(data, size, &f, &held, &n)) {
		buf_free(&f);
		free(held);
		return 0;
	}
	const char *path = fuzz_path("spool");
	size_t max_line = data[0] & 2 ? 2 * PAD : MAX_LINE;
	long whole = (const char *)memrchr(f.data, '\n', f.len) - f.data + 1;	/* no torn record */
	fuzz_write_file(path, f.data, f.len);

	struct spool s;
	fuzz_quiet();	/* a torn last record is reported */
	spool_open(&s, path, max_line);
	fuzz_loud();
	CHECK(fuzz_file_size(path) == whole);
	size_t k = n / 2;	/* taken and released; the rest stay held */
	take(&s, held, k);
	spool_mark_released(&s);
	spool_reclaim(&s);
	static const char *const added[] = { "{\"fire_at\":0}", "" };
	for (size_t i = 0; i < 2; i++) {
		int64_t due = i ? INT64_MAX : 0;
		spool_add(&s, due, added[i], strlen(added[i]));
		held = xreallocarray(held, n + 1, sizeof *held);
		held[n++] = (struct rec){ due, UINT64_MAX - 1 + i, 0, strlen(added[i]), added[i] };
	}
	spool_close(&s);

	qsort(held + k, n - k, sizeof *held, order);
	spool_open(&s, path, max_line);
	take(&s, held + k, n - k);
	int64_t due;
	CHECK(!spool_next(&s, &due));
	spool_close(&s);
	unlink(path);
	buf_free(&f);
	free(held);
	return 0;
}
