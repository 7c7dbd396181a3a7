/*
 * pbexpand: render each record's postback URL template (RFC 6570) with
 * the record's fields and append it as "url"; pass pbmatch's notices on
 * unchanged. See pbexpand(1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "httpurl.h"
#include "record.h"
#include "request.h"
#include "strmap.h"
#include "tool.h"
#include "uritemplate.h"

static const char usage[] =
	"usage: pbexpand [-t template] [--strict] [--stats] [--reject FILE]\n"
	"                [--max-line BYTES] [FILE ...]\n";

enum { OPT_STRICT = OPT_TOOL_LAST, OPT_STATS };

/* How many malformed templates, and how many bytes of them, are
 * remembered to be reported only once. */
#define MAX_REMEMBERED 1024
#define MAX_REMEMBERED_BYTES (4 * 1024 * 1024)

struct pbexpand {
	const char *template;		/* -t, or NULL for postback.url */
	bool strict;
	struct record rec;
	struct buf url, add, missing;	/* missing: the first macro not in the record */
	struct strmap undefined;	/* macro name -> its index in macros */
	struct macro_count {
		char *name;
		unsigned long count;
	} *macros;			/* undefined macros, in order of first sight */
	size_t nmacros;
	struct strmap bad_templates;	/* malformed template -> its place in bad_where */
	struct buf bad_where;		/* "FILE:LINE\0" where each was first seen */
	size_t bad_bytes;		/* the length of those templates, in all */
	struct request request;
	unsigned long nout;
};

static const char *const added_keys[] = { "url", "body", "headers", "sign_message", NULL };

/* Counts an undefined macro for --stats and remembers the first that
 * is missing, not null, for --strict. */
static void note_undefined(void *arg, const char *name, size_t n, bool missing)
{
	struct pbexpand *pe = arg;
	if (missing && !pe->missing.len)
		buf_add(&pe->missing, name, n);
	size_t i = *strmap_put(&pe->undefined, name, n, pe->nmacros);
	if (i == pe->nmacros) {
		pe->macros = xreallocarray(pe->macros, ++pe->nmacros, sizeof *pe->macros);
		pe->macros[i] = (struct macro_count){ xstrndup(name, n), 0 };
	}
	pe->macros[i].count++;
}

/* The template to render and the name of the postback whose members
 * are member, or false (rejected). */
static bool find_template(struct tool *t, struct pbexpand *pe, const int *member, char *line,
			  size_t len, struct text *tmpl, struct text *name)
{
	int n = member[PB_NAME];
	if (n >= 0 && pe->rec.tok[n].type == JSMN_STRING)
		*name = record_text(&pe->rec, n);
	else
		*name = pe->template ? (struct text){ "-t", 2 } : (struct text){ "(unnamed)", 9 };
	if (pe->template) {
		*tmpl = (struct text){ pe->template, strlen(pe->template) };
		return true;
	}
	int u = member[PB_URL];
	if (u < 0 || pe->rec.tok[u].type != JSMN_STRING) {
		tool_reject(t, line, len, "postback.url: %s", u < 0 ? "missing (and no -t template)"
									 : "expected a string");
		return false;
	}
	*tmpl = record_text(&pe->rec, u);
	return true;
}

/* Remembers a malformed template, the whole of it, as first seen on the
 * current line, while memory allows. */
static void remember_template(struct tool *t, struct pbexpand *pe, struct text tmpl)
{
	if (pe->bad_templates.count >= MAX_REMEMBERED || pe->bad_bytes + tmpl.n > MAX_REMEMBERED_BYTES)
		return;
	strmap_put(&pe->bad_templates, tmpl.p, tmpl.n, pe->bad_where.len);
	buf_addf(&pe->bad_where, "%s:%lu", lines_name(&t->in), lines_lineno(&t->in));
	buf_addc(&pe->bad_where, '\0');
	pe->bad_bytes += tmpl.n;
}

static void reject_template(struct tool *t, struct pbexpand *pe, char *line, size_t len,
			    struct text tmpl, struct text name, const struct tmpl_error *e)
{
	size_t seen = strmap_get(&pe->bad_templates, tmpl.p, tmpl.n);
	if (seen != STRMAP_NONE) {
		tool_reject(t, line, len, "postback %.*s: the malformed template of %s",
			    (int)name.n, name.p, pe->bad_where.data + seen);
		return;
	}
	remember_template(t, pe, tmpl);
	tool_reject(t, line, len, "postback %.*s: malformed template at character %zu: %s: %.*s%s",
		    (int)name.n, name.p, e->offset + 1, e->msg, SHOWN(tmpl.p, tmpl.n));
}

/* Renders the postback of the record parsed from line and writes it
 * with its members added; false when the line is rejected. */
static bool render_line(struct tool *t, struct pbexpand *pe, char *line, size_t len)
{
	struct tmpl_error te;
	struct text tmpl, name;
	int member[PB_MEMBERS];
	find_postback_members(&pe->rec, record_get(&pe->rec, 0, "postback"), member);
	if (!find_template(t, pe, member, line, len, &tmpl, &name))
		return false;
	struct tmpl_vars vars = { &pe->rec, 0, member[PB_MAP], note_undefined, pe };
	buf_clear(&pe->url);
	buf_clear(&pe->missing);
	if (!tmpl_expand(tmpl.p, tmpl.n, TMPL_URI, &vars, &pe->url, &te)) {
		reject_template(t, pe, line, len, tmpl, name, &te);
		return false;
	}
	struct request_error re;
	if (!request_render(&pe->request, &pe->rec, member, &vars, &re)) {
		if (re.why)
			tool_reject(t, line, len, "postback %.*s: header %.*s: %s", (int)name.n, name.p,
				    (int)re.part.n, re.part.p, re.why);
		else
			reject_template(t, pe, line, len, re.part, name, &re.e);
		return false;
	}
	if (pe->strict && pe->missing.len) {
		tool_reject(t, line, len, "postback %.*s: undefined macro {%s} (--strict)",
			    (int)name.n, name.p, pe->missing.data);
		return false;
	}
	const char *why;	/* a literal origin makes every URL pass (see httpurl.c) */
	bool literal = httpurl_literal_origin(tmpl.p, tmpl.n) && pe->url.len <= HTTPURL_MAX;
	if (!literal && !httpurl_check(pe->url.data, pe->url.len, NULL, &why)) {
		tool_reject(t, line, len, "postback %.*s: rendered URL rejected: %s: %.*s%s",
			    (int)name.n, name.p, why, SHOWN(pe->url.data, pe->url.len));
		return false;
	}
	buf_clear(&pe->add);
	buf_adds(&pe->add, "\"url\":\"");	/* URI characters: none needs a JSON escape */
	buf_add(&pe->add, pe->url.data, pe->url.len);
	buf_addc(&pe->add, '"');
	buf_add(&pe->add, pe->request.members.data, pe->request.members.len);
	record_write(&pe->rec, stdout, added_keys, pe->add.data, pe->add.len);
	pe->nout++;
	return true;
}

/* A rejected postback line of an action with a time still tells
 * pbdelay of its action, written as pbmatch writes a notice: a fraud check's
 * verdict whose own postback cannot be rendered must supersede what the
 * transaction holds all the same (pbdelay(1), SUPERSEDING). */
static void write_notice(struct pbexpand *pe)
{
	static const char *const drop[] = { "postback", "fire_at", "notice", "url", "body", "headers",
					    "sign_message", NULL };
	int pb = record_get(&pe->rec, 0, "postback");
	if (pb < 0 || pe->rec.tok[pb].type != JSMN_OBJECT || record_get(&pe->rec, 0, "time") < 0 ||
	    record_get(&pe->rec, 0, "type") < 0 || record_get(&pe->rec, 0, "transaction_id") < 0)
		return;
	record_write(&pe->rec, stdout, drop, RECORD_NOTICE, sizeof RECORD_NOTICE - 1);
}

static void expand_line(struct tool *t, char *line, size_t len, void *arg)
{
	struct pbexpand *pe = arg;
	struct json_error je;
	if (!record_parse(&pe->rec, line, len, &je)) {
		tool_reject(t, line, len, "invalid JSON: %s at column %zu", je.msg, je.offset + 1);
		return;
	}
	if (record_get(&pe->rec, 0, "notice") >= 0) {	/* pbmatch's, for pbdelay */
		fwrite(line, 1, len, stdout);
		putchar_unlocked('\n');
		return;
	}
	if (!render_line(t, pe, line, len))
		write_notice(pe);
}

static void print_stats(const struct tool *t, const struct pbexpand *pe)
{
	const char *me = program_invocation_short_name;
	fflush(stdout);
	fprintf(stderr, "%s: %lu read, %lu rendered, %lu rejected\n", me, t->nread, pe->nout, t->nrejected);
	for (size_t i = 0; i < pe->nmacros; i++)
		fprintf(stderr, "%s: undefined macro {%s}: %lu %s\n", me, pe->macros[i].name,
			pe->macros[i].count, plural(pe->macros[i].count, "time", "times"));
}

static void pbexpand_free(struct pbexpand *pe)
{
	for (size_t i = 0; i < pe->nmacros; i++)
		free(pe->macros[i].name);
	free(pe->macros);
	strmap_free(&pe->undefined);
	strmap_free(&pe->bad_templates);
	buf_free(&pe->bad_where);
	record_free(&pe->rec);
	buf_free(&pe->url);
	buf_free(&pe->add);
	buf_free(&pe->missing);
	request_free(&pe->request);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "template", required_argument, NULL, 't' },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "stats", no_argument, NULL, OPT_STATS },
		TOOL_OPTIONS,
		{ 0 },
	};
	struct tool t;
	struct pbexpand pe = { 0 };
	bool stats = false;
	int opt;

	tool_init(&t, usage);
	while ((opt = getopt_long(argc, argv, "t:h", options, NULL)) != -1) {
		switch (opt) {
		case 't': pe.template = optarg; break;
		case OPT_STRICT: pe.strict = true; break;
		case OPT_STATS: stats = true; break;
		default:
			if (!tool_option(&t, opt, optarg))
				tool_usage_error(&t, NULL);
		}
	}
	struct tmpl_error e;
	if (pe.template && !tmpl_check(pe.template, strlen(pe.template), TMPL_URI, &e))
		tool_usage_error(&t, "-t: malformed template at character %zu: %s", e.offset + 1, e.msg);

	tool_run(&t, argv + optind, argc - optind, expand_line, &pe);

	if (stats)
		print_stats(&t, &pe);
	pbexpand_free(&pe);
	return tool_finish(&t);
}
