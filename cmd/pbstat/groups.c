/*
 * --by FIELD: one summary per value of a dotted field, such as
 * postback.name or publisher_id, or per host of the "url" with --by host.
 * Values compare by their text, as ids do across pb (12 and "12" are one
 * group); a missing or null field is a group of its own. This is the one
 * part of pbstat whose memory grows: by a summary per group.
 */
#include "groups.h"

#include <stdlib.h>
#include <string.h>

void groups_init(struct groups *g, const char *field)
{
	memset(g, 0, sizeof *g);
	g->field = field;
	g->by_host = strcmp(field, "host") == 0;
}

/* The host of URL u, lower-case, without user information or port. */
static void host_of(struct text u, struct buf *out)
{
	const char *p = u.p, *end = u.p + u.n;
	const char *scheme = memmem(p, u.n, "://", 3);
	if (scheme)
		p = scheme + 3;
	const char *stop = p;
	while (stop < end && *stop != '/' && *stop != '?' && *stop != '#')
		stop++;
	const char *at = memrchr(p, '@', (size_t)(stop - p));
	if (at)
		p = at + 1;
	const char *bracket = *p == '[' ? memchr(p, ']', (size_t)(stop - p)) : NULL;
	const char *colon = memrchr(bracket ? bracket : p, ':', (size_t)(stop - (bracket ? bracket : p)));
	if (colon)
		stop = colon;
	for (; p < stop; p++)
		buf_addc(out, *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p);
}

/* The group's key in g->key: "v" and the value's text, or "-" for none. */
static void key_of(struct groups *g, struct record *r)
{
	int i = g->by_host ? record_get(r, 0, "url") : record_path(r, g->field, strlen(g->field));
	bool none = i < 0 || record_is_null(r, i) || (g->by_host && r->tok[i].type != JSMN_STRING);
	buf_clear(&g->key);
	buf_addc(&g->key, none ? '-' : 'v');
	if (none)
		return;
	struct text t = record_text(r, i);
	if (g->by_host)
		host_of(t, &g->key);
	else
		buf_add(&g->key, t.p, t.n);
}

/* The summary of r's group, a new one the first time its value is seen. */
struct summary *groups_of(struct groups *g, struct record *r)
{
	key_of(g, r);
	size_t *i = strmap_put(&g->index, g->key.data, g->key.len, g->n);
	if (*i == g->n) {
		struct group *new = xcalloc(1, sizeof *new);
		if (g->key.data[0] == 'v') {
			new->len = g->key.len - 1;
			new->value = xstrndup(g->key.data + 1, new->len);
		}
		summary_init(&new->summary);
		g->v = xreallocarray(g->v, g->n + 1, sizeof *g->v);
		g->v[g->n++] = new;
	}
	return &g->v[*i]->summary;
}

static int by_volume(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a, *y = *(const struct group *const *)b;
	uint64_t nx = summary_seen(&x->summary), ny = summary_seen(&y->summary);
	if (nx != ny)
		return nx < ny ? 1 : -1;
	if (!x->value || !y->value)
		return !x->value - !y->value;
	int c = memcmp(x->value, y->value, x->len < y->len ? x->len : y->len);
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The groups, largest first, then by value; the caller frees the array. */
const struct group **groups_by_volume(const struct groups *g)
{
	const struct group **v = xreallocarray(NULL, g->n ? g->n : 1, sizeof *v);
	if (g->n)
		memcpy(v, g->v, g->n * sizeof *v);
	qsort(v, g->n, sizeof *v, by_volume);
	return v;
}

void groups_free(struct groups *g)
{
	for (size_t i = 0; i < g->n; i++) {
		summary_free(&g->v[i]->summary);
		free(g->v[i]->value);
		free(g->v[i]);
	}
	free(g->v);
	strmap_free(&g->index);
	buf_free(&g->key);
}
