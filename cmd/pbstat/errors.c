/*
 * Error classes with their counts, and each class's most frequent
 * messages, in memory that does not grow with the input: at most
 * ERRORS_CLASSES_MAX classes (the rest count as "other") and, per class,
 * the Space-Saving summary of Metwally, Agrawal and El Abbadi with
 * ERRORS_MESSAGES counters. While a class has no more different messages
 * than that, its message counts are exact; beyond, a new message takes
 * the place of the least counted one and inherits its count, so a count
 * is at most the class's count / ERRORS_MESSAGES too high and a message
 * that is really frequent is never lost. Messages are kept to their
 * first ERRORS_MESSAGE_MAX bytes, cut on a UTF-8 character boundary.
 */
#include "errors.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* The length of s[0,n) cut to at most max bytes without splitting a
 * UTF-8 sequence. */
size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

static bool same(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

static struct error_class *class_of(struct errors *e, const char *name, size_t len)
{
	for (size_t i = 0; i < e->n; i++)
		if (same(e->classes[i].name, e->classes[i].len, name, len))
			return &e->classes[i];
	if (e->n >= ERRORS_CLASSES_MAX - 1 && !same(name, len, "other", 5))
		return class_of(e, "other", 5);
	e->classes = xreallocarray(e->classes, e->n + 1, sizeof *e->classes);
	struct error_class *c = &e->classes[e->n++];
	memset(c, 0, sizeof *c);
	c->name = xstrndup(name, len);
	c->len = len;
	return c;
}

/* Counts one more of message in c's summary. */
static void count_message(struct error_class *c, const char *text, size_t len)
{
	len = utf8_cut(text, len, ERRORS_MESSAGE_MAX);
	struct error_message *least = NULL;
	for (unsigned i = 0; i < c->nmessages; i++) {
		struct error_message *m = &c->messages[i];
		if (same(m->text, m->len, text, len)) {
			m->count++;
			return;
		}
		if (!least || m->count < least->count)
			least = m;
	}
	if (c->nmessages < ERRORS_MESSAGES) {
		least = &c->messages[c->nmessages++];
		least->count = 0;
	} else {
		free(least->text);
	}
	least->text = xstrndup(text, len);
	least->len = len;
	least->count++;
}

/* Counts one error of class (a string), with its message (p NULL when
 * there is none). */
void errors_add(struct errors *e, struct text class, struct text message)
{
	struct error_class *c = class_of(e, class.p, class.n);
	c->count++;
	if (message.p)
		count_message(c, message.p, message.n);
}

/* Larger count first, then by text. */
static int compare(uint64_t xcount, const char *x, size_t xlen, uint64_t ycount, const char *y, size_t ylen)
{
	if (xcount != ycount)
		return xcount < ycount ? 1 : -1;
	int c = memcmp(x, y, xlen < ylen ? xlen : ylen);
	return c ? c : (xlen > ylen) - (xlen < ylen);
}

static int message_by_count(const void *a, const void *b)
{
	const struct error_message *x = *(const struct error_message *const *)a;
	const struct error_message *y = *(const struct error_message *const *)b;
	return compare(x->count, x->text, x->len, y->count, y->text, y->len);
}

static int class_by_count(const void *a, const void *b)
{
	const struct error_class *x = *(const struct error_class *const *)a;
	const struct error_class *y = *(const struct error_class *const *)b;
	return compare(x->count, x->name, x->len, y->count, y->name, y->len);
}

/* The classes, most frequent first; the caller frees the array. */
const struct error_class **errors_by_count(const struct errors *e)
{
	const struct error_class **v = xreallocarray(NULL, e->n ? e->n : 1, sizeof *v);
	for (size_t i = 0; i < e->n; i++)
		v[i] = &e->classes[i];
	qsort(v, e->n, sizeof *v, class_by_count);
	return v;
}

/* Puts c's max most frequent messages in top, most frequent first;
 * returns how many. */
size_t errors_sorted(const struct error_class *c, const struct error_message **top, size_t max)
{
	const struct error_message *all[ERRORS_MESSAGES];
	for (unsigned i = 0; i < c->nmessages; i++)
		all[i] = &c->messages[i];
	qsort(all, c->nmessages, sizeof *all, message_by_count);
	size_t n = c->nmessages < max ? c->nmessages : max;
	memcpy(top, all, n * sizeof *top);
	return n;
}

void errors_free(struct errors *e)
{
	for (size_t i = 0; i < e->n; i++) {
		for (unsigned m = 0; m < e->classes[i].nmessages; m++)
			free(e->classes[i].messages[m].text);
		free(e->classes[i].name);
	}
	free(e->classes);
	*e = (struct errors){ 0 };
}
