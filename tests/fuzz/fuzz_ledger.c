/* Fuzzes the ledger loader (cmd/pbfire/ledger.c) with the input as the
 * ledger file. Beyond no crash: the key of every complete line, "\n" read
 * as a newline and "\X" as X, is delivered; a torn last line is cut off,
 * and nothing else; keys delivered then (each line's raw text, escapes
 * and all, a key with a newline and a backslash, the torn line's text)
 * and the old ones are all delivered when the ledger is opened again,
 * and a key that was only in flight is not. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "ledger.h"

#define MAX_NEW 16

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

/* Checks that every complete line of text is delivered in l; returns
 * where the last line ends. */
static size_t check_lines(const struct ledger *l, const char *text, size_t size)
{
	struct buf key = { 0 };
	const char *p = text, *end = text + size, *nl;
	for (; (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
		if (nl == p)
			continue;
		decode(p, (size_t)(nl - p), &key);
		CHECK(ledger_state(l, key.data, key.len) == KEY_DELIVERED);
	}
	buf_free(&key);
	return (size_t)(p - text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *path = fuzz_path("ledger");
	fuzz_write_file(path, data, size);
	struct ledger l;
	fuzz_quiet();	/* a torn last key is reported */
	ledger_open(&l, path, false, 0);
	fuzz_loud();
	size_t whole = check_lines(&l, text, size);
	CHECK(fuzz_file_size(path) == (long)whole);

	struct text added[MAX_NEW + 2];
	size_t n = 0;
	added[n++] = (struct text){ "t1:pub\\n7:a\nb\\", 14 };
	if (whole < size)
		added[n++] = (struct text){ text + whole, size - whole };
	for (const char *p = text, *nl; n < MAX_NEW && (nl = memchr(p, '\n', whole - (size_t)(p - text))); p = nl + 1)
		if (nl > p)
			added[n++] = (struct text){ p, (size_t)(nl - p) };
	for (size_t i = 0; i < n; i++)
		ledger_set(&l, added[i].p, added[i].n, KEY_DELIVERED);
	static const char flying[] = "in flight:pub7:approved";
	bool flies = ledger_state(&l, flying, sizeof flying - 1) == KEY_UNKNOWN;
	ledger_set(&l, flying, sizeof flying - 1, KEY_IN_FLIGHT);
	ledger_close(&l);

	ledger_open(&l, path, true, 0);
	check_lines(&l, text, whole);
	for (size_t i = 0; i < n; i++)
		CHECK(ledger_state(&l, added[i].p, added[i].n) == KEY_DELIVERED);
	CHECK(!flies || ledger_state(&l, flying, sizeof flying - 1) == KEY_UNKNOWN);
	ledger_close(&l);
	unlink(path);
	return 0;
}
