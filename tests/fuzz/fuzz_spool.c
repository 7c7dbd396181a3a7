/* Fuzzes the spool loader (common/spool.c). The input is a byte of flags,
 * then the body of a spool file: "+DUE LINE\n" held and "-DUE LINE\n"
 * released records (the header is added: pbdelay's, or with flag 64
 * pbfire's). Flag 32 opens it as pbfire's spool, which reads both
 * headers; pbdelay's must refuse pbfire's. Flag 1 grows the first held
 * record past the loader's 1 MiB read window, as a line that an earlier
 * run's larger --max-line let in; flag 2 opens with a --max-line that
 * holds it; flags 4, 8 and 16 together (rarely, as they are slow) also
 * add, take and release a line of more than 4 MiB, so that released
 * records outweigh held ones and the spool is compacted (rewritten and
 * renamed, under its writer's header). Inputs over 1 MiB are skipped. A
 * file with a malformed complete record (a record is a sign, one to
 * nineteen digits worth at most INT64_MAX, a space and the line, read
 * here as the format says, not as the loader does) must be refused:
 * spool_open exits with status 2, in a child process. Otherwise, beyond
 * no crash: every complete held record comes back once, in due order
 * (earlier stored first among equals), with its text; only a torn last
 * record is cut off; after some are released and others added, the
 * reopened spool holds exactly the rest and the added ones. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"
#include "spool.h"

static const char *const headers[] = { "pbdelay-spool 1\n", "pbfire-spool 1\n" };
static const char *const writers[] = { "pbdelay", "pbfire" };
#define PAD ((1 << 20) + 100)	/* more than the read window */
#define MAX_LINE 4096
#define BIG ((4 << 20) + 100)	/* more than spool.c's COMPACT_MIN */

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

/* The length of the "+DUE " or "-DUE " that starts a record p[0,n),
 * newline excluded, as the file format defines it, with DUE in *due; 0
 * when the record is malformed. */
static size_t due_prefix(const char *p, size_t n, int64_t *due)
{
	static const char most[] = "9223372036854775807";	/* INT64_MAX */
	char head[sizeof most + 4] = { 0 };
	memcpy(head, p, n < sizeof head - 1 ? n : sizeof head - 1);
	size_t digits = strspn(head + 1, "0123456789");
	if ((head[0] != '+' && head[0] != '-') || digits < 1 || digits > sizeof most - 1 ||
	    head[1 + digits] != ' ' || (digits == sizeof most - 1 && memcmp(head + 1, most, digits) > 0))
		return 0;
	*due = strtoll(head + 1, NULL, 10);
	return digits + 2;
}

/* Builds the file from the input into f and its held records into held;
 * false when a complete record is malformed. */
static bool build(const uint8_t *data, size_t size, struct buf *f, struct rec **held, size_t *n)
{
	const char *p = (const char *)data + 1, *end = (const char *)data + size, *nl;
	bool pad = data[0] & 1, wellformed = true;
	buf_adds(f, headers[!!(data[0] & 64)]);
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
		int64_t due;
		size_t len = (size_t)(nl - p), skip = due_prefix(p, len, &due);
		uint64_t pos = f->len;
		buf_add(f, p, len);
		if (!skip) {
			wellformed = false;
		} else if (p[0] == '+') {
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
	return wellformed;
}

/* What a loader child opens. */
struct request {
	size_t max_line;
	const char *writer;	/* one of writers[], the same in the child */
	char path[512];
};

static void open_spool(const void *arg)
{
	const struct request *q = arg;
	struct spool s;
	spool_open(&s, q->path, q->writer, q->max_line);
}

__attribute__((constructor)) static void start_server(void)
{
	fuzz_child_server();
}

/* Whether spool_open refuses the file at path with exit status 2. */
static bool refused(const char *path, const char *writer, size_t max_line)
{
	struct request q = { max_line, writer, { 0 } };
	CHECK(strlen(path) < sizeof q.path);
	strcpy(q.path, path);
	int status = fuzz_in_child(open_spool, &q, sizeof q, NULL);
	return WIFEXITED(status) && WEXITSTATUS(status) == 2;
}

/* Takes k lines from s; they must be want[0,k), in order. */
static void take(struct spool *s, const struct rec *want, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		int64_t due;
		size_t len;
		CHECK(spool_next(s, &due) && due == want[i].due);
		const char *line = spool_take_earliest(s, &len);
		CHECK(len == want[i].len && memcmp(line, want[i].text, len) == 0);
	}
}

/* Adds a line of more than COMPACT_MIN (4 MiB), due at 0 and so the last
 * of held[k, *n) due at 0 to come out, then takes the held records up to
 * it and releases them: they outweigh what is still held, so the spool
 * is compacted and the file shrinks to the held records. Half the rest
 * are then taken and released, at their new positions. Returns the index
 * of the first record still held. */
static size_t compact(struct spool *s, const char *path, struct rec **held, size_t *n, size_t k)
{
	char head[32] = { 0 };
	FILE *f;
	static char *line;
	if (!line) {
		line = xmalloc(BIG);
		memset(line, 'y', BIG);
	}
	spool_hold(s, 0, line, BIG);
	*held = xreallocarray(*held, *n + 1, sizeof **held);
	(*held)[(*n)++] = (struct rec){ 0, UINT64_MAX, 0, BIG, line };
	qsort(*held + k, *n - k, sizeof **held, order);
	size_t j = k;
	while ((*held)[j].text != line)
		j++;
	take(s, *held + k, j + 1 - k);
	spool_mark_released(s);
	spool_reclaim(s);
	CHECK(fuzz_file_size(path) < BIG);
	CHECK((f = fopen(path, "r")) && fgets(head, sizeof head, f) && fclose(f) == 0);
	CHECK(!strcmp(head, s->header));	/* the writer's, whatever it was */
	size_t more = (*n - j) / 2;	/* through the renumbered positions */
	take(s, *held + j + 1, more);
	spool_mark_released(s);
	return j + 1 + more;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > BIG / 4)
		return 0;
	struct buf f = { 0 };
	struct rec *held = NULL;
	size_t n = 0;
	bool wellformed = build(data, size, &f, &held, &n);
	const char *path = fuzz_path("spool");
	size_t max_line = data[0] & 2 ? 2 * PAD : MAX_LINE;
	const char *writer = writers[!!(data[0] & 32)];
	bool foreign = (data[0] & 96) == 64;	/* pbfire's header, read by pbdelay */
	fuzz_write_file(path, f.data, f.len);
	if (!wellformed || foreign) {
		CHECK(refused(path, writer, max_line));
		goto done;
	}

	long whole = (const char *)memrchr(f.data, '\n', f.len) - f.data + 1;	/* no torn record */
	struct spool s;
	fuzz_quiet();	/* a torn last record is reported */
	spool_open(&s, path, writer, max_line);
	fuzz_loud();
	CHECK(fuzz_file_size(path) == whole);
	size_t k = n / 2;	/* taken and released; the rest stay held */
	take(&s, held, k);
	spool_mark_released(&s);
	spool_reclaim(&s);
	static const char *const added[] = { "{\"fire_at\":0}", "" };
	for (size_t i = 0; i < 2; i++) {
		int64_t due = i ? INT64_MAX : 0;
		spool_hold(&s, due, added[i], strlen(added[i]));
		held = xreallocarray(held, n + 1, sizeof *held);
		held[n++] = (struct rec){ due, UINT64_MAX - 2 + i, 0, strlen(added[i]), added[i] };
	}
	if ((data[0] & 28) == 28)
		k = compact(&s, path, &held, &n, k);
	spool_close(&s);

	qsort(held + k, n - k, sizeof *held, order);
	spool_open(&s, path, writer, max_line);
	take(&s, held + k, n - k);
	int64_t due;
	CHECK(!spool_next(&s, &due));
	spool_close(&s);
done:
	unlink(path);
	buf_free(&f);
	free(held);
	return 0;
}
