/*
 * A hash map from byte strings to size_t values: open addressing with
 * linear probing, FNV-1a hashes, doubling at half load. Keys are copied
 * in. Beside the slots, one tag byte per slot (0 for empty, else 7 bits
 * of the hash) is probed first, so a lookup that misses, the common case
 * in a large rule index, reads a small array that stays in cache instead
 * of the slots. It is what makes rule lookups independent of the number of rules
 * (the match index) and names checkable for duplicates while loading.
 */
#include "strmap.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

struct strmap_slot {
	char *key;
	size_t len;
	uint64_t hash;
	size_t value;
};

/* The FNV-1a hash of p[0,n): the map's, and pbstat's index's. */
uint64_t strmap_hash(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3u;
	return h;
}

static unsigned char tag(uint64_t h)
{
	return (unsigned char)(0x80 | h >> 57);
}

/* The slot index of key, or of the empty slot where it would go. */
static size_t find(const struct strmap *m, const char *key, size_t n, uint64_t h)
{
	size_t mask = m->cap - 1;
	unsigned char t = tag(h);
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		if (!m->tags[i])
			return i;
		const struct strmap_slot *s = &m->slots[i];
		if (m->tags[i] == t && s->hash == h && s->len == n && memcmp(s->key, key, n) == 0)
			return i;
	}
}

size_t strmap_get(const struct strmap *m, const char *key, size_t n)
{
	if (!m->cap)
		return STRMAP_NONE;
	size_t i = find(m, key, n, strmap_hash(key, n));
	return m->tags[i] ? m->slots[i].value : STRMAP_NONE;
}

static void grow(struct strmap *m)
{
	struct strmap old = *m;
	m->cap = old.cap ? old.cap * 2 : 16;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	m->tags = xcalloc(m->cap, 1);
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.tags[i])
			continue;
		size_t j = find(m, old.slots[i].key, old.slots[i].len, old.slots[i].hash);
		m->slots[j] = old.slots[i];
		m->tags[j] = old.tags[i];
	}
	free(old.slots);
	free(old.tags);
}

/* Inserts key with value unless present; returns the stored value's
 * address either way, so callers can tell and update. */
size_t *strmap_put(struct strmap *m, const char *key, size_t n, size_t value)
{
	if (2 * (m->count + 1) > m->cap)
		grow(m);
	uint64_t h = strmap_hash(key, n);
	size_t i = find(m, key, n, h);
	if (!m->tags[i]) {
		m->slots[i] = (struct strmap_slot){ xstrndup(key, n), n, h, value };
		m->tags[i] = tag(h);
		m->count++;
	}
	return &m->slots[i].value;
}

void strmap_free(struct strmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	free(m->tags);
	*m = (struct strmap){ 0 };
}
