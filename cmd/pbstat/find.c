/*
 * pbstat --find VALUE and --where FIELD=VALUE: the records of one
 * transaction, click or any field's value, out of a results file of any
 * size. The line reader gets a needle (lines_set_needle): the longest run
 * of the values' bytes that JSON writes as they are (printable ASCII but
 * the quote, backslash and slash, which a writer may escape), so only the
 * lines holding it are validated and looked into, and the rest go by at
 * the speed of memmem. A line holding the needle matches when each term
 * holds: --find when its transaction_id, external_transaction_id or key
 * is the value, each --where when its field is; values compare by their
 * text, as ids do across pb (12 and "12" are one). The lines that match
 * are kept for their stories (stories.c), nothing else: memory grows with
 * what is printed, never with the file. When a file has an index
 * (FILE.idx, index.c) that is whole and fresh, and a value is asked of
 * an id it indexes, only the parts of the file the index names are read,
 * with their line numbers, then the lines past those it covers; the
 * lines read are matched as any. The index is built of each line's ids
 * as find_ids() gives them, which are what matches() compares.
 */
#include "find.h"

#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"

/* The top-level members read from each line, in members.value[], the
 * --where terms' after these. */
enum { FIND_TRANSACTION, FIND_EXTERNAL, FIND_KEY, FIND_TERMS };
#define FIND_WHERE_MAX (MEMBERS_MAX - FIND_TERMS)

void find_init(struct find *f)
{
	memset(f, 0, sizeof *f);
	f->key_field = "postback.key";
	stories_init(&f->stories);
}

/* Adds the term FIELD=VALUE of arg; false when arg is not one, or one
 * too many. */
bool find_where(struct find *f, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg || f->nterms == FIND_WHERE_MAX)
		return false;
	f->term = xreallocarray(f->term, f->nterms + 1, sizeof *f->term);
	f->term[f->nterms++] = (struct find_term){
		.field = xstrndup(arg, (size_t)(eq - arg)), .value = { eq + 1, strlen(eq + 1) },
	};
	return true;
}

/* Whether --find or --where was given. */
bool find_wanted(const struct find *f)
{
	return f->value || f->nterms;
}

/* Whether JSON writes byte c as it is in any string. */
static bool plain(char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '/';
}

/* The longest run of plain bytes of v if longer than *best. */
static void longest_plain(struct text v, struct text *best)
{
	for (size_t i = 0; i < v.n; i++) {
		size_t j = i;
		while (j < v.n && plain(v.p[j]))
			j++;
		if (j - i > best->n)
			*best = (struct text){ v.p + i, j - i };
		i = j;
	}
}

/* What every line that matches holds as it is: n 0 for nothing. */
static struct text needle_of(const struct find *f)
{
	struct text best = { "", 0 };
	if (f->value)
		longest_plain((struct text){ f->value, strlen(f->value) }, &best);
	for (size_t i = 0; i < f->nterms; i++)
		longest_plain(f->term[i].value, &best);
	return best;
}

/* Wants the members matched; before the first line. */
void find_prepare(struct find *f)
{
	members_want(&f->members, "transaction_id", 14);
	members_want(&f->members, "external_transaction_id", 23);
	members_want(&f->members, f->key_field, member_top(f->key_field));
	member_path_init(&f->key_path, f->key_field);
	for (size_t i = 0; i < f->nterms; i++) {
		struct find_term *term = &f->term[i];
		members_want(&f->members, term->field, member_top(term->field));
		member_path_init(&term->path, term->field);
	}
}

/* Whether the value v (its source text, p NULL for none) is want, by
 * its text as ids compare. */
static bool is_value(struct find *f, struct text v, struct text want)
{
	struct text t = member_scalar(v, &f->scratch);
	return t.p && t.n == want.n && memcmp(t.p, want.p, t.n) == 0;
}

/* The source text of id i (FIND_TRANSACTION, FIND_EXTERNAL, FIND_KEY)
 * of the line whose members f->members found; p NULL when absent. */
static struct text id_source(struct find *f, int i, bool escaped)
{
	struct text v = f->members.value[i];
	return i == FIND_KEY ? member_path_find(&f->key_path, v, escaped) : v;
}

/* Whether the line whose members f->members found matches every term. */
static bool matches(struct find *f, bool escaped)
{
	const struct text *v = f->members.value;
	if (f->value) {
		struct text want = { f->value, strlen(f->value) };
		int i = 0;
		while (i < FIND_TERMS && !is_value(f, id_source(f, i, escaped), want))
			i++;
		if (i == FIND_TERMS)
			return false;
	}
	for (size_t i = 0; i < f->nterms; i++)
		if (!is_value(f, member_path_find(&f->term[i].path, v[FIND_TERMS + i], escaped), f->term[i].value))
			return false;
	return true;
}

/* Calls each with the text of each id of line[0,len) that --find
 * compares, as it compares them (find_prepare first); false when the
 * line is not valid JSON. */
bool find_ids(struct find *f, const char *line, size_t len, void (*each)(void *arg, struct text id), void *arg)
{
	struct json_error je;
	struct json_shape shape;
	if (!json_validate(line, len, &shape, NULL, &je))
		return false;
	members_find(&f->members, line, shape.escapes);
	for (int i = 0; i < FIND_TERMS; i++) {
		struct text id = member_scalar(id_source(f, i, shape.escapes), &f->scratch);
		if (id.p)
			each(arg, id);
	}
	return true;
}

/* The value an index is looked up for: --find's, else that of a --where
 * on an id; false for none. */
static bool indexed_value(const struct find *f, struct text *value)
{
	if (f->value) {
		*value = (struct text){ f->value, strlen(f->value) };
		return true;
	}
	for (size_t i = 0; i < f->nterms; i++) {
		const char *field = f->term[i].field;
		if (strcmp(field, "transaction_id") == 0 || strcmp(field, "external_transaction_id") == 0 ||
		    strcmp(field, f->key_field) == 0) {
			*value = f->term[i].value;
			return true;
		}
	}
	return false;
}

/* When a file is opened: only the parts its index names, if it has one
 * that serves. */
static void use_index(void *arg, struct tool *t, const char *path)
{
	struct find *f = arg;
	struct text value;
	if (strcmp(path, "-") == 0 || !indexed_value(f, &value))
		return;
	struct buf idx = { 0 };
	buf_addf(&idx, "%s" INDEX_SUFFIX, path);
	free(f->ranges);
	f->ranges = NULL;
	size_t n;
	if (index_find_ranges(idx.data, t->in.fd, f->key_field, value, t->max_line, &f->ranges, &n))
		lines_set_ranges(&t->in, f->ranges, n);
	buf_free(&idx);
}

/* Keeps the line the reader returned when it matches. */
static void find_line(struct find *f, struct tool *t)
{
	struct json_error je;
	struct json_shape shape;
	if (!json_validate(t->in.line, t->in.len, &shape, NULL, &je)) {
		tool_reject(t, t->in.line, t->in.len, "invalid JSON: %s at column %zu", je.msg, je.offset + 1);
		return;
	}
	members_find(&f->members, t->in.line, shape.escapes);
	if (!matches(f, shape.escapes))
		return;
	struct text key = member_scalar(member_path_find(&f->key_path, f->members.value[FIND_KEY], shape.escapes),
					&f->scratch);
	stories_add(&f->stories, key, t->in.name, t->in.lineno, t->in.line, t->in.len, shape.escapes);
}

/* Reads the inputs for the lines that match and writes their stories as
 * text or JSON; returns the exit status: that of tool_finish(), or 1 when
 * no line matched. */
int find_run(struct find *f, struct tool *t, char **files, int nfiles, bool json)
{
	find_prepare(f);
	if (!f->no_index) {
		t->opened = use_index;
		t->opened_arg = f;
	}
	tool_begin(t, files, nfiles);
	struct text needle = needle_of(f);
	if (needle.n)
		lines_set_needle(&t->in, needle.p, needle.n);
	while (tool_next(t) == LINES_OK)
		find_line(f, t);
	(json ? stories_json : stories_text)(&f->stories, stdout);
	int status = tool_finish(t);
	if (f->stories.lines || status == EXIT_FATAL)
		return status;
	warnx("no record matches");
	return EXIT_REJECTED;
}

void find_free(struct find *f)
{
	for (size_t i = 0; i < f->nterms; i++) {
		free(f->term[i].field);
		member_path_free(&f->term[i].path);
	}
	free(f->term);
	free(f->ranges);
	members_free(&f->members);
	member_path_free(&f->key_path);
	buf_free(&f->scratch);
	stories_free(&f->stories);
}
