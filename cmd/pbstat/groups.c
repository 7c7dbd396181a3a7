/*
 * --by FIELD: one summary per value of a dotted field, such as
 * postback.name or publisher_id, or per host of the "url" with --by host.
 * Values compare by their text, as ids do across pb (12 and "12" are one
 * group); a missing or null field is a group of its own. A postback
 * belongs to the group of the record that decides its fate (tally.c), so
 * the groups' postbacks add up to the total. Memory grows here by a
 * summary per group.
 */
#include "groups.h"

#include <stdlib.h>
#include <string.h>

#include "members.h"

void groups_init(struct groups *g, const char *field)
{
	memset(g, 0, sizeof *g);
	g->field = field;
	g->by_host = strcmp(field, "host") == 0;
	if (!g->by_host)
		member_path_init(&g->path, field);
}

/* The top-level member the groups are told apart by: the field's first
 * part, or "url" for --by host. */
struct text groups_member(const struct groups *g)
{
	if (g->by_host)
		return (struct text){ "url", 3 };
	return (struct text){ g->field, member_top(g->field) };
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
	const char *bracket = p < stop && *p == '[' ? memchr(p, ']', (size_t)(stop - p)) : NULL;
	const char *colon = memrchr(bracket ? bracket : p, ':', (size_t)(stop - (bracket ? bracket : p)));
	if (colon)
		stop = colon;
	for (; p < stop; p++)
		buf_addc(out, *p >= 'A' && *p <= 'Z' ? (char)(*p + 32) : *p);
}

/* The field's value, p NULL for none: strings decoded, other values
 * their source text. */
static struct text value_of(struct groups *g, struct text top, bool escaped)
{
	struct text v = g->by_host ? top : member_path_find(&g->path, top, escaped);
	if (!v.p || (v.n == 4 && memcmp(v.p, "null", 4) == 0) || (g->by_host && *v.p != '"'))
		return (struct text){ 0 };
	return member_string(v, &g->scratch);
}

/* The group's key in g->key: "v" and the value's text, or "-" for none;
 * top is the source text of the field's top-level member (of "url" for
 * --by host), p NULL when absent. */
static void key_of(struct groups *g, struct text top, bool escaped)
{
	struct text v = value_of(g, top, escaped);
	buf_clear(&g->key);
	buf_addc(&g->key, v.p ? 'v' : '-');
	if (v.p && g->by_host)
		host_of(v, &g->key);
	else if (v.p)
		buf_add(&g->key, v.p, v.n);
}

/* The number of the group of a line whose member named by
 * groups_member() has the source text top (p NULL when absent), escaped
 * as for members_find; a new one the first time its value is seen. */
size_t groups_of(struct groups *g, struct text top, bool escaped)
{
	key_of(g, top, escaped);
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
	return *i;
}

struct summary *groups_at(const struct groups *g, size_t i)
{
	return &g->v[i]->summary;
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
	buf_free(&g->scratch);
	member_path_free(&g->path);
}
