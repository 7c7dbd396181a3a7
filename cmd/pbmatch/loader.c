/*
 * How the rule loader reads its YAML document and reports what is wrong
 * in it: every mistake as "tool: FILE:LINE:COL: message", counted so
 * that loading fails once all are reported; the nodes of the document,
 * scalars that must be single non-empty values, mapping keys given once,
 * one value or a list of them, unknown words with the nearest known one
 * suggested, and templates checked where they go wrong.
 */
#include "loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void __attribute__((format(printf, 4, 0)))
report_v(struct loader *l, const yaml_node_t *n, size_t shift, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s:%zu:%zu: ", program_invocation_short_name, l->path,
		n->start_mark.line + 1, n->start_mark.column + 1 + shift);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	l->errors++;
}

void loader_report(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_v(l, n, 0, fmt, ap);
	va_end(ap);
}

/* Reports a mistake at byte offset of scalar n's text (exact for scalars
 * on one line without escapes). */
void loader_report_at(struct loader *l, const yaml_node_t *n, size_t offset, const char *fmt, ...)
{
	bool quoted = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		      n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	va_list ap;
	va_start(ap, fmt);
	report_v(l, n, offset + quoted, fmt, ap);
	va_end(ap);
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[32];
	if (lb >= sizeof row / sizeof row[0])
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best) best = row[j] + 1;
			if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *closest(const char *word, const char *const *choices)
{
	const char *best = NULL;
	size_t best_d = 3;	/* suggest only near misses */
	for (; *choices; choices++) {
		size_t d = edit_distance(word, *choices);
		if (d < best_d) {
			best_d = d;
			best = *choices;
		}
	}
	return best;
}

/* Reports an unknown word, with the nearest of choices when one is near. */
void loader_unknown(struct loader *l, const yaml_node_t *n, const char *what,
		    const char *word, const char *const *choices)
{
	const char *near = closest(word, choices);
	if (near)
		loader_report(l, n, "unknown %s '%s' (did you mean '%s'?)", what, word, near);
	else
		loader_report(l, n, "unknown %s '%s'", what, word);
}

yaml_node_t *loader_node(struct loader *l, int id)
{
	return yaml_document_get_node(&l->doc, id);
}

const char *loader_scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

const char *loader_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a list";
	default: return "a scalar";
	}
}

/* The scalar text of n, or NULL (reported) when it is not a non-empty scalar. */
const char *loader_want_scalar(struct loader *l, const yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE) {
		loader_report(l, n, "%s: expected a single value, got %s", key, loader_kind(n));
		return NULL;
	}
	if (!*loader_scalar(n)) {
		loader_report(l, n, "%s: must not be empty", key);
		return NULL;
	}
	return loader_scalar(n);
}

/* The scalar key of pair p of mapping n, or NULL (reported) when it is
 * not a non-empty scalar or an earlier pair has the same key: libyaml
 * accepts duplicate keys, and the second would silently win. */
const char *loader_member_key(struct loader *l, const yaml_node_t *n, const yaml_node_pair_t *p,
			      const char *what)
{
	yaml_node_t *k = loader_node(l, p->key);
	const char *key = loader_want_scalar(l, k, what);
	for (const yaml_node_pair_t *q = n->data.mapping.pairs.start; key && q < p; q++) {
		const yaml_node_t *earlier = loader_node(l, q->key);
		if (earlier->type == YAML_SCALAR_NODE && !strcmp(loader_scalar(earlier), key)) {
			loader_report(l, k, "%s '%s' given twice (first on line %zu)", what, key,
				      earlier->start_mark.line + 1);
			return NULL;
		}
	}
	return key;
}

/* Calls add for each value of n, one value or a non-empty list of them. */
void loader_each_value(struct loader *l, yaml_node_t *n, const char *key,
		       void (*add)(struct loader *, yaml_node_t *, const char *, void *), void *arg)
{
	if (n->type == YAML_SCALAR_NODE) {
		const char *s = loader_want_scalar(l, n, key);
		if (s)
			add(l, n, s, arg);
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE || n->data.sequence.items.top == n->data.sequence.items.start) {
		loader_report(l, n, "%s: expected a value or a non-empty list, got %s", key,
			      n->type == YAML_SEQUENCE_NODE ? "an empty list" : loader_kind(n));
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = loader_node(l, *it);
		const char *s = loader_want_scalar(l, item, key);
		if (s)
			add(l, item, s, arg);
	}
}

/* The index of word among the count names, or -1. */
int loader_lookup(const char *word, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (strcmp(word, names[i]) == 0)
			return i;
	return -1;
}

/* Reports a template value v that does not parse, at the mistake. */
void loader_check_template(struct loader *l, yaml_node_t *v, enum tmpl_mode mode,
			   const char *what, const char *key)
{
	struct tmpl_error e;
	const char *t = loader_scalar(v);
	if (!tmpl_check(t, strlen(t), mode, &e))
		loader_report_at(l, v, e.offset, "%s.%s: %s", what, key, e.msg);
}

