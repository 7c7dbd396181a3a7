/*
 * How the rule loader reads its YAML document and reports what is wrong
 * in it: every mistake as "tool: FILE:LINE:COL: message", counted so
 * that loading fails once all are reported, and warnings, which are
 * errors under --strict; the nodes of the document, scalars that must be
 * single non-empty values, mapping keys given once, one value or a list
 * of them, unknown words with the nearest known one suggested, templates
 * checked where they go wrong, and their macros against the standard
 * fields.
 */
#include "loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The fields an action is documented to have (pb-records(7)): the
 * guide's ten macros, then the others, and the one pbmatch adds. */
static const char *const standard_fields[] = {
	"transaction_id", "external_transaction_id", "offer_id", "publisher_id", "sub_id",
	"payout", "revenue", "currency", "status", "rejection_reason",
	"event_name", "type", "time", "fire_at", NULL
};

/* The shortest macro name, '_' aside, that is compared with them. */
#define MIN_NEAR_MACRO 4

static void __attribute__((format(printf, 5, 0)))
report_v(struct loader *l, const yaml_node_t *n, size_t shift, bool warning, const char *fmt,
	 va_list ap)
{
	fprintf(stderr, "%s: %s:%zu:%zu: %s", program_invocation_short_name, l->path,
		n->start_mark.line + 1, n->start_mark.column + 1 + shift, warning ? "warning: " : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (warning)
		l->rules->warnings++;
	else
		l->errors++;
}

void loader_report(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_v(l, n, 0, false, fmt, ap);
	va_end(ap);
}

/* Where byte offset of scalar n's text is, from the start of n (exact
 * for scalars on one line without escapes). */
static size_t scalar_shift(const yaml_node_t *n, size_t offset)
{
	bool quoted = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		      n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return offset + quoted;
}

/* Reports a mistake at byte offset of scalar n's text. */
void loader_report_at(struct loader *l, const yaml_node_t *n, size_t offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_v(l, n, scalar_shift(n, offset), false, fmt, ap);
	va_end(ap);
}

/* Reports something suspect at byte offset of scalar n's text: a
 * warning, or an error under --strict. */
void loader_warn_at(struct loader *l, const yaml_node_t *n, size_t offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report_v(l, n, scalar_shift(n, offset), !l->strict, fmt, ap);
	va_end(ap);
}

/* The optimal string alignment distance of a and b (Damerau-Levenshtein
 * with no substring edited twice): the insertions, deletions,
 * substitutions and swaps of two adjacent characters that make b of a;
 * (size_t)-1 when b is too long to compare. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), rows[3][32];
	if (lb >= sizeof rows[0] / sizeof rows[0][0])
		return (size_t)-1;
	size_t *before = rows[0], *prev = rows[1], *row = rows[2];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t best = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < best) best = prev[j] + 1;
			if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && before[j - 2] + 1 < best)
				best = before[j - 2] + 1;
			row[j] = best;
		}
		size_t *oldest = before;
		before = prev;
		prev = row;
		row = oldest;
	}
	return prev[lb];
}

/* Folds n bytes of s into out (FOLDED bytes) as words are compared for a
 * misspelling: lowercase, without '_'; its length, or (size_t)-1 when it
 * does not fit. */
#define FOLDED 32
static size_t fold(const char *s, size_t n, char *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_')
			continue;
		if (k + 1 >= FOLDED)
			return (size_t)-1;
		out[k++] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
	}
	out[k] = '\0';
	return k;
}

/* The choice nearest to word (n bytes), when it is at most 2 edits away,
 * case and '_' aside, and when same_start begins with the same letter;
 * NULL when none is. */
static const char *closest(const char *word, size_t n, const char *const *choices, bool same_start)
{
	const char *best = NULL;
	size_t best_d = 3;	/* suggest only near misses */
	char w[FOLDED], c[FOLDED];
	if (fold(word, n, w) == (size_t)-1)
		return NULL;
	for (; *choices; choices++) {
		fold(*choices, strlen(*choices), c);
		if (same_start && w[0] != c[0])
			continue;
		size_t d = edit_distance(w, c);
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
	const char *near = closest(word, strlen(word), choices, false);
	if (near)
		loader_report(l, n, "unknown %s '%s' (did you mean '%s'?)", what, word, near);
	else
		loader_report(l, n, "unknown %s '%s'", what, word);
}

yaml_node_t *loader_node(struct loader *l, int id)
{
	return yaml_document_get_node(&l->yaml.doc, id);
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

/* Reports a template value v that does not parse, at the mistake, or
 * its macros that look misspelt. */
void loader_check_template(struct loader *l, yaml_node_t *v, enum tmpl_mode mode,
			   const char *what, const char *key)
{
	struct tmpl_error e;
	const char *t = loader_scalar(v);
	if (!tmpl_check(t, strlen(t), mode, &e)) {
		loader_report_at(l, v, e.offset, "%s.%s: %s", what, key, e.msg);
		return;
	}
	struct buf label = { 0 };
	buf_addf(&label, "%s.%s", what, key);
	loader_check_macros(l, v, mode, label.data);
	buf_free(&label);
}


/* The standard field that macro name (n bytes) looks like a misspelling
 * of, or NULL: a name that is not one, with no '.', of MIN_NEAR_MACRO
 * characters or more besides '_' (shorter ones are a few edits from
 * anything), within closest()'s distance of it and beginning with the
 * same letter ({nope} is no misspelt {type}). */
static const char *misspelt_field(const char *name, size_t n)
{
	char folded[FOLDED];
	for (const char *const *f = standard_fields; *f; f++)
		if (strlen(*f) == n && !memcmp(*f, name, n))
			return NULL;
	size_t len = fold(name, n, folded);
	if (memchr(name, '.', n) || len == (size_t)-1 || len < MIN_NEAR_MACRO)
		return NULL;
	return closest(name, n, standard_fields, true);
}

/* A template's macros being checked: the template and where it is. */
struct macro_check {
	struct loader *l;
	yaml_node_t *v;
	const char *what;
};

static void check_macro(void *arg, const char *name, size_t n, bool missing)
{
	struct macro_check *c = arg;
	const char *field = misspelt_field(name, n);
	(void)missing;
	if (field)
		loader_warn_at(c->l, c->v, (size_t)(name - loader_scalar(c->v)),
			       "%s: macro {%.*s} is not a standard field (did you mean {%s}?)", c->what,
			       (int)n, name, field);
}

/* Warns of each macro of template v, which parses, that looks like a
 * misspelt standard field: it expands empty wherever the action lacks a
 * field of that name, as it would when misspelt. what names v. */
void loader_check_macros(struct loader *l, yaml_node_t *v, enum tmpl_mode mode, const char *what)
{
	static const char no_fields[] = "{}";
	struct record none = { 0 };
	struct json_error je;
	struct buf out = { 0 };
	struct tmpl_error e;
	struct macro_check c = { l, v, what };
	const char *t = loader_scalar(v);
	record_parse(&none, no_fields, sizeof no_fields - 1, &je);
	struct tmpl_vars vars = { &none, 0, -1, check_macro, &c };
	tmpl_expand(t, strlen(t), mode, &vars, &out, &e);
	record_free(&none);
	buf_free(&out);
}
