#ifndef PB_STRMAP_H
#define PB_STRMAP_H

#include <stddef.h>
#include <stdint.h>

/* A hash map from byte strings to size_t values. */
struct strmap {
	struct strmap_slot *slots;
	unsigned char *tags;
	size_t cap, count;
};

#define STRMAP_NONE ((size_t)-1)

uint64_t strmap_hash(const void *p, size_t n);
size_t strmap_get(const struct strmap *m, const char *key, size_t n);
size_t *strmap_put(struct strmap *m, const char *key, size_t n, size_t value);
void strmap_free(struct strmap *m);

#endif
