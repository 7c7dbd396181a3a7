#ifndef PB_BUF_H
#define PB_BUF_H

#include <stddef.h>
#include <string.h>

/* A growable byte buffer; b.data is always NUL-terminated. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_grow(struct buf *b, size_t need);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_add_json_string(struct buf *b, const char *s, size_t n);
void buf_add_json_bytes(struct buf *b, const char *s, size_t n);
void buf_free(struct buf *b);

/* Makes room for extra more bytes and the terminating NUL. */
static inline void buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra + 1 > b->cap)
		buf_grow(b, b->len + extra + 1);
}

static inline void buf_add(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static inline void buf_addc(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

/* Empties b; its data is a valid empty string afterwards. */
static inline void buf_clear(struct buf *b)
{
	b->len = 0;
	buf_reserve(b, 0);
	b->data[0] = '\0';
}

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
void *xmalloc_huge(size_t n, size_t size);
char *xstrndup(const char *s, size_t n);

#endif
