/*
 * Growable byte buffers and the allocation wrappers every tool uses.
 * Output records are assembled here before one fwrite, so this file also
 * owns writing a JSON string literal (quotes and escapes) from raw bytes;
 * adding bytes is inline (buf.h), growing the buffer is here.
 * Allocation failure is not recoverable for a filter: the wrappers print
 * one diagnostic and exit 2.
 */
#include "buf.h"

#include <err.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * high bit set, so none of the three tests takes them). */
static bool escape_in8(const char *p)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t x, q, b;
	memcpy(&x, p, 8);
	q = x ^ (ones * '"');
	b = x ^ (ones * '\\');
	return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high;
}

/* Writes the escape of byte c, one that a JSON string may not hold. */
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

/* Writes s as a JSON string literal. Bytes >= 0x80 pass through: callers
 * hand in UTF-8 that was validated on the way in. Eight bytes with
 * nothing to escape are passed over at once; eight with something are
 * looked at one by one, once. */
void buf_add_json_string(struct buf *b, const char *s, size_t n)
{
	size_t run = 0;
	buf_reserve(b, n + 2);
	buf_addc(b, '"');
	for (size_t i = 0; i < n;) {
		if (n - i >= 8 && !escape_in8(s + i)) {
			i += 8;
			continue;
		}
		for (size_t end = n - i >= 8 ? i + 8 : n; i < end; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c >= 0x20 && c != '"' && c != '\\')
				continue;
			buf_add(b, s + run, i - run);
			run = i + 1;
			add_escape(b, c);
		}
	}
	buf_add(b, s + run, n - run);
	buf_addc(b, '"');
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
