/* Fuzzes the ledger (cmd/pbfire/ledger.c) with the input as the ledger
 * file, under a clock of its own. Beyond no crash: the key of every
 * complete line ("\n" read as a newline and "\X" as X; after a
 * "pbfire-ledger 3" header, the KEY of "SECONDS KEY" (delivered),
 * "SECONDSf KEY" (failed) or "SECONDSs KEY" (superseded), any other line
 * being skipped and kept as it is; after "pbfire-ledger 2", the KEY of
 * "SECONDS KEY", or the whole line when it is not of that form; without
 * a header, the whole line; a key without a date dated by the file's
 * modification time, and delivered) has the fate of its latest line, the
 * latest date (as a slot keeps it) and of equal dates the last, when that
 * date is within --ledger-keep, and is unknown when not. Opening it for
 * writing cuts off a torn last line and changes nothing else, unless it
 * compacts: exactly when the file is not of version 3, has an undated
 * line, or a quarter of its lines forgotten or repeated, and then the file
 * is the header, the lines skipped as they were and one well-formed line
 * per key kept, with its date and fate. Keys settled then, with each fate
 * in turn (each line's raw text, a key with a newline and a backslash,
 * the torn line's text), and the old ones have those fates when the
 * ledger is opened again, and a key only in flight is unknown. Once the
 * clock passes their keep, they are forgotten, and the next sync
 * compacts them away when they are a quarter of the file. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "ledger.h"
#include "strmap.h"

#define MAX_NEW 16
#define NOW INT64_C(2000000000)	/* the clock at the first open */
#define KEEP INT64_C(1000000000)	/* so the first open forgets dates before 1e9 */
#define HEADER "pbfire-ledger 3\n"
#define HEADER_2 "pbfire-ledger 2\n"
#define HEADER_LEN (sizeof HEADER - 1)

static int64_t now;

static int64_t fuzz_clock(void)
{
	return now;
}

/* What the harness expects: each distinct key with the date (as a slot
 * keeps it) and fate of its latest line. */
struct expect {
	struct strmap index;
	struct buf *keys;
	int64_t *dates;
	enum ledger_state *fates;
	size_t n;
	size_t lines, undated;		/* the file's key lines, those without a date */
	size_t foreign;			/* lines of version 3 that are none of its forms */
};

static int64_t as_slot_date(int64_t date)
{
	return date < 2 ? 2 : date > UINT32_MAX ? UINT32_MAX : date;
}

/* A key as the ledger file escapes it, decoded into out. */
static void decode(const char *s, size_t n, struct buf *out)
{
	buf_clear(out);
	for (const char *p = s, *end = s + n; p < end; p++) {
		bool escaped = *p == '\\' && p + 1 < end;
		p += escaped;
		buf_addc(out, escaped && *p == 'n' ? '\n' : *p);
	}
}

/* Expects a line of key read at date with fate, after those before it;
 * set (a key settled by pbfire) keeps a later date, but takes the fate. */
static void expect_key(struct expect *e, const char *key, size_t n, int64_t date, enum ledger_state fate,
		       bool set)
{
	size_t *i = strmap_put(&e->index, key, n, e->n);
	date = as_slot_date(date);
	if (*i == e->n) {
		e->keys = xreallocarray(e->keys, e->n + 1, sizeof *e->keys);
		e->dates = xreallocarray(e->dates, e->n + 1, sizeof *e->dates);
		e->fates = xreallocarray(e->fates, e->n + 1, sizeof *e->fates);
		e->keys[e->n] = (struct buf){ 0 };
		buf_add(&e->keys[e->n], key, n);
		e->fates[e->n] = fate;
		e->dates[e->n++] = date;
	} else if (e->dates[*i] <= date || set) {
		e->dates[*i] = e->dates[*i] > date ? e->dates[*i] : date;
		e->fates[*i] = fate;
	}
}

static bool has_header(const char *text, size_t size)
{
	return size >= HEADER_LEN && !memcmp(text, HEADER, HEADER_LEN);
}

static bool has_header_2(const char *text, size_t size)
{
	return size >= HEADER_LEN && !memcmp(text, HEADER_2, HEADER_LEN);
}

/* A line of version 3 read: where its key starts, NULL when it is none
 * of the forms; its date and fate. */
static const char *read_v3(const char *p, const char *nl, int64_t *date, enum ledger_state *fate)
{
	size_t digits = strspn(p, "0123456789"), n = (size_t)(nl - p);
	if (digits == 0 || digits > 18 || digits >= n)
		return NULL;
	*date = strtoll(p, NULL, 10);
	*fate = p[digits] == 'f' ? KEY_FAILED : p[digits] == 's' ? KEY_SUPERSEDED : KEY_DELIVERED;
	if (p[digits] == ' ')
		return p + digits + 1;
	return *fate != KEY_DELIVERED && digits + 1 < n && p[digits + 1] == ' ' ? p + digits + 2 : NULL;
}

/* Reads the complete lines of text the way the ledger's format says. */
static void expect_lines(struct expect *e, const char *text, size_t whole, int64_t undated)
{
	struct buf key = { 0 };
	bool v3 = has_header(text, whole), dated = v3 || has_header_2(text, whole);
	const char *p = text + (dated ? HEADER_LEN : 0), *end = text + whole, *nl;
	for (; (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
		if (nl == p)
			continue;
		e->lines++;
		int64_t date = undated;
		enum ledger_state fate = KEY_DELIVERED;
		const char *k = dated ? read_v3(p, nl, &date, &fate) : NULL;
		if (k && !v3 && fate != KEY_DELIVERED)	/* version 2 has no markers */
			k = NULL;
		if (!k && v3) {
			e->foreign++;
			continue;
		}
		if (!k) {
			k = p;
			date = undated;
			fate = KEY_DELIVERED;
			e->undated++;
		}
		decode(k, (size_t)(nl - k), &key);
		expect_key(e, key.data, key.len, date, fate, false);
	}
	buf_free(&key);
}

static void expect_free(struct expect *e)
{
	for (size_t i = 0; i < e->n; i++)
		buf_free(&e->keys[i]);
	free(e->keys);
	free(e->dates);
	free(e->fates);
	strmap_free(&e->index);
}

static bool kept(int64_t date, int64_t cutoff)
{
	return date >= cutoff;
}

static size_t count_kept(const struct expect *e, int64_t cutoff)
{
	size_t n = 0;
	for (size_t i = 0; i < e->n; i++)
		n += kept(e->dates[i], cutoff);
	return n;
}

static const char flying[] = "in flight:pub7:approved";
static bool flies;	/* it was unknown, and is now in flight */

/* Checks what l says of every key expected, at the clock's cutoff; the
 * key in flight is in flight in the ledger that marked it. */
static void check_keys(const struct ledger *l, const struct expect *e, int64_t cutoff, bool marked)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct buf *k = &e->keys[i];
		bool in_flight = marked && flies && k->len == sizeof flying - 1 && !memcmp(k->data, flying, k->len);
		CHECK(ledger_state(l, k->data, k->len) ==
		      (in_flight ? KEY_IN_FLIGHT : kept(e->dates[i], cutoff) ? e->fates[i] : KEY_UNKNOWN));
	}
	CHECK(!flies || ledger_state(l, flying, sizeof flying - 1) == (marked ? KEY_IN_FLIGHT : KEY_UNKNOWN));
}

static char *read_file(const char *path, size_t *n)
{
	long size = fuzz_file_size(path);
	char *text = xmalloc((size_t)size + 1);
	FILE *f = fopen(path, "rb");
	CHECK(f && fread(text, 1, (size_t)size, f) == (size_t)size);
	fclose(f);
	text[size] = '\0';
	*n = (size_t)size;
	return text;
}

/* Checks that the file at path is a compacted ledger: the header, the
 * lines skipped, and one well-formed line per key kept at cutoff, dated
 * and marked as expected. */
static void check_compacted(const char *path, const struct expect *e, int64_t cutoff)
{
	size_t size, lines = 0;
	char *text = read_file(path, &size);
	struct buf key = { 0 }, again = { 0 };
	struct strmap seen = { 0 };
	CHECK(has_header(text, size) && text[size - 1] == '\n');
	size_t foreign = 0;
	for (char *p = text + HEADER_LEN, *nl; p < text + size; p = nl + 1) {
		nl = memchr(p, '\n', size - (size_t)(p - text));
		int64_t date;
		enum ledger_state fate;
		const char *k = read_v3(p, nl, &date, &fate);
		if (!k) {
			foreign++;
			continue;
		}
		lines++;
		const char *space = k - 1;
		decode(space + 1, (size_t)(nl - space - 1), &key);
		buf_clear(&again);	/* written as the ledger escapes keys */
		for (size_t i = 0; i < key.len; i++) {
			if (key.data[i] == '\\' || key.data[i] == '\n')
				buf_addc(&again, '\\');
			buf_addc(&again, key.data[i] == '\n' ? 'n' : key.data[i]);
		}
		CHECK(again.len == (size_t)(nl - space - 1) && !memcmp(again.data, space + 1, again.len));
		size_t i = strmap_get(&e->index, key.data, key.len);
		CHECK(i != STRMAP_NONE && kept(e->dates[i], cutoff) && date == e->dates[i] && fate == e->fates[i]);
		CHECK(strmap_get(&seen, key.data, key.len) == STRMAP_NONE);
		*strmap_put(&seen, key.data, key.len, 0) = 0;
	}
	CHECK(lines == count_kept(e, cutoff) && foreign == e->foreign);
	strmap_free(&seen);
	buf_free(&key);
	buf_free(&again);
	free(text);
}

/* Whether the file would need compacting, with lines file lines of which
 * live are of distinct kept keys. */
static bool compacts(size_t lines, size_t live)
{
	return lines > live && (lines - live) * 4 >= lines;
}

/* A header of a version after 3 stops pbfire, as it should. */
static bool later_version(const char *text, size_t size)
{
	static const char prefix[] = "pbfire-ledger ";
	size_t n = sizeof prefix - 1, digits = 0;
	int64_t version = 0;
	if (size <= n || memcmp(text, prefix, n))
		return false;
	for (; n + digits < size && digits < 10 && text[n + digits] >= '0' && text[n + digits] <= '9'; digits++)
		version = 10 * version + (text[n + digits] - '0');
	return digits && digits < 10 && n + digits < size && text[n + digits] == '\n' && version > 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool tmpfs;	/* the ledger syncs: on a disk, that is most of a run */
	if (!tmpfs && access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 1);
	tmpfs = true;
	const char *text = (const char *)data, *path = fuzz_path("ledger");
	if (later_version(text, size))
		return 0;
	fuzz_write_file(path, data, size);
	int64_t mtime = size & 1 ? 500000000 : 1500000000;	/* forgotten or kept at the first open */
	struct timespec times[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };
	CHECK(utimensat(AT_FDCWD, path, times, 0) == 0);
	ledger_clock = fuzz_clock;
	now = NOW;

	/* The first open, for writing. */
	struct ledger l;
	struct expect e = { 0 };
	const char *last_nl = size ? memrchr(text, '\n', size) : NULL;
	size_t whole = last_nl ? (size_t)(last_nl - text) + 1 : 0;
	expect_lines(&e, text, whole, mtime);
	fuzz_quiet();	/* a torn last key is reported */
	ledger_open(&l, path, false, KEEP);
	fuzz_loud();
	flies = false;
	check_keys(&l, &e, NOW - KEEP, false);
	size_t live = count_kept(&e, NOW - KEEP) + e.foreign, lines = live;
	if ((!has_header(text, whole) && whole > 0) || e.undated || compacts(e.lines, live)) {
		check_compacted(path, &e, NOW - KEEP);
	} else {
		size_t n;
		char *after = read_file(path, &n);
		lines = e.lines;
		CHECK(whole ? n == whole && !memcmp(after, text, n) : n == HEADER_LEN && !memcmp(after, HEADER, n));
		free(after);
	}

	/* Keys delivered now, and one in flight, synced 10 s later. */
	struct text added[MAX_NEW + 2];
	size_t n = 0;
	added[n++] = (struct text){ "t1:pub\\n7:a\nb\\", 14 };
	if (whole < size)
		added[n++] = (struct text){ text + whole, size - whole };
	for (const char *p = text, *nl; n < MAX_NEW && (nl = memchr(p, '\n', whole - (size_t)(p - text))); p = nl + 1)
		if (nl > p)
			added[n++] = (struct text){ p, (size_t)(nl - p) };
	for (size_t i = 0; i < n; i++) {	/* each fate in turn */
		enum ledger_state fate = KEY_DELIVERED + (enum ledger_state)(i % 3);
		ledger_set(&l, added[i].p, added[i].n, fate);
		expect_key(&e, added[i].p, added[i].n, NOW, fate, true);
	}
	flies = ledger_state(&l, flying, sizeof flying - 1) == KEY_UNKNOWN;
	if (flies)	/* as pbfire claims a key */
		ledger_set(&l, flying, sizeof flying - 1, KEY_IN_FLIGHT);
	now = NOW + 10;
	ledger_sync(&l);
	lines += n;
	check_keys(&l, &e, now - KEEP, true);

	/* What a second pbfire reading it sees. */
	struct ledger again;
	ledger_open(&again, path, true, KEEP);
	check_keys(&again, &e, now - KEEP, false);
	ledger_close(&again);

	/* Past the keep of the keys delivered now: forgotten, and compacted
	 * away from the file when they are a quarter of it. */
	now = NOW + KEEP + 100;
	ledger_sync(&l);
	check_keys(&l, &e, now - KEEP, true);
	ledger_close(&l);
	if (compacts(lines, count_kept(&e, now - KEEP) + e.foreign))
		check_compacted(path, &e, now - KEEP);
	ledger_open(&again, path, true, KEEP);
	check_keys(&again, &e, now - KEEP, false);
	ledger_close(&again);
	expect_free(&e);
	unlink(path);
	return 0;
}
