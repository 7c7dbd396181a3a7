#ifndef PB_BUF_H
#define PB_BUF_H

#include <stddef.h>

/* A growable byte buffer; b.data is always NUL-terminated. */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_add_json_string(struct buf *b, const char *s, size_t n);
void buf_free(struct buf *b);

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
char *xstrndup(const char *s, size_t n);

#endif
