/*
 * Growable byte buffers and the allocation wrappers every tool uses.
 * Output records are assembled here before one fwrite, so this file also
 * owns writing a JSON string literal (quotes and escapes) from raw bytes,
 * UTF-8 checked or not;
 * adding bytes is inline (buf.h), growing the buffer is here.
 * Allocation failure is not recoverable for a filter: the wrappers print
 * one diagnostic and exit 2.
 */
#include "buf.h"
#include "json.h"

#include <err.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		err(2, "malloc");
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		err(2, "calloc");
	return p;
}

/* An array of n items of size, not zeroed, freed by free(): in huge
 * pages once it takes one or more, where the kernel gives them, as an
 * array of hundreds of megabytes written at once spends much of its time
 * in a fault a small page. */
void *xmalloc_huge(size_t n, size_t size)
{
	const size_t huge = (size_t)2 << 20;
	if (size && n > (size_t)-1 / size)
		errx(2, "out of memory for %zu items of %zu bytes", n, size);
	size_t total = n * size;
	if (total < huge)
		return xmalloc(total);
	void *p;
	if (posix_memalign(&p, huge, total) != 0)
		errx(2, "out of memory for %zu bytes", total);
#ifdef MADV_HUGEPAGE
	madvise(p, total, MADV_HUGEPAGE);	/* a hint: without it, small pages */
#endif
	return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size)
		errx(2, "allocation too large");
	size_t total = n * size;
	p = realloc(p, total ? total : 1);
	if (!p)
		err(2, "realloc");
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Makes b hold need bytes at least: buf_reserve's slow path. */
void buf_grow(struct buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->data = xreallocarray(b->data, cap, 1);
	b->cap = cap;
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		errx(2, "buf_addf: bad format");
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Whether one of the eight bytes at p must be escaped in a JSON string:
 * a control character, a quote or a backslash (bytes >= 0x80 have their
 * high bit set, so none of the three tests takes them), or, when high is
 * 0x80 in each byte, a byte >= 0x80, to be looked at as UTF-8. */
static bool escape_in8(const char *p, uint64_t high_too)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t x, q, b;
	memcpy(&x, p, 8);
	q = x ^ (ones * '"');
	b = x ^ (ones * '\\');
	return ((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high) | (x & high_too);
}

/* Writes the escape of byte c, one that a JSON string may not hold, or
 * (c >= 0x80) a byte that is not part of valid UTF-8: \u00XX, the
 * character of the same number. */
static void add_escape(struct buf *b, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";
	switch (c) {
	case '"': buf_add(b, "\\\"", 2); break;
	case '\\': buf_add(b, "\\\\", 2); break;
	case '\n': buf_add(b, "\\n", 2); break;
	case '\r': buf_add(b, "\\r", 2); break;
	case '\t': buf_add(b, "\\t", 2); break;
	default: {
		char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
		buf_add(b, e, sizeof e);
	}
	}
}

/* How many bytes at s[i] (of n) stand for themselves in a JSON string:
 * 0 for a byte to escape; with check_utf8, a byte >= 0x80 stands only in
 * a valid UTF-8 sequence, which stands whole. */
static size_t standing(const char *s, size_t i, size_t n, bool check_utf8)
{
	unsigned char c = (unsigned char)s[i];
	if (c < 0x20 || c == '"' || c == '\\')
		return 0;
	if (c < 0x80 || !check_utf8)
		return 1;
	return json_utf8_len((const unsigned char *)s + i, (const unsigned char *)s + n);
}

/* Writes s as a JSON string literal, checking its UTF-8 or not. Eight
 * bytes with nothing to look at are passed over at once; eight with
 * something are looked at one by one (a UTF-8 sequence may run past
 * them), once. */
static void add_json_string(struct buf *b, const char *s, size_t n, bool check_utf8)
{
	const uint64_t high_too = check_utf8 ? 0x8080808080808080u : 0;
	size_t run = 0;
	buf_reserve(b, n + 2);
	buf_addc(b, '"');
	for (size_t i = 0; i < n;) {
		if (n - i >= 8 && !escape_in8(s + i, high_too)) {
			i += 8;
			continue;
		}
		for (size_t end = n - i >= 8 ? i + 8 : n; i < end;) {
			size_t k = standing(s, i, n, check_utf8);
			if (k) {
				i += k;
				continue;
			}
			buf_add(b, s + run, i - run);
			add_escape(b, (unsigned char)s[i]);
			run = ++i;
		}
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '"');
}

/* Writes s as a JSON string literal. Bytes >= 0x80 pass through: callers
 * hand in UTF-8 that was validated on the way in. */
void buf_add_json_string(struct buf *b, const char *s, size_t n)
{
	add_json_string(b, s, n, false);
}

/* Writes s, bytes from anywhere, as a JSON string literal that is valid
 * JSON whatever they are: valid UTF-8 passes through, control characters
 * are escaped (NUL as \u0000), and each byte that is not part of a valid
 * UTF-8 sequence is written \u0080 to \u00ff, the character of the same
 * number (as Latin-1 reads the byte), so no byte is lost. */
void buf_add_json_bytes(struct buf *b, const char *s, size_t n)
{
	add_json_string(b, s, n, true);
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
