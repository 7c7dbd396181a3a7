/*
 * pbmatch: match actions against the postbacks of a rule file and write
 * one line per (action, postback) that fires, or, for an action that
 * fires none but may supersede a held line, a notice of it for pbdelay.
 * See pbmatch(1).
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "match.h"
#include "record.h"
#include "rules.h"
#include "tool.h"

static const char usage[] =
	"usage: pbmatch -r rules.yaml [--strict] [--reject FILE] [--unmatched FILE]\n"
	"               [--stats] [--max-line BYTES] [FILE ...]\n"
	"       pbmatch --check -r rules.yaml [--strict]\n";

enum { OPT_CHECK = OPT_TOOL_LAST, OPT_STRICT, OPT_UNMATCHED, OPT_STATS };

struct pbmatch {
	struct rules rules;
	struct matcher matcher;
	struct record rec;
	struct action action;
	struct buf add, why;
	FILE *unmatched;
	unsigned long nunmatched, nout, nnotices, *per_postback;
};

static const char *const added_keys[] = { "postback", "fire_at", "notice", NULL };

/* An action that fires nothing is written as a notice when it may
 * supersede a line of its transaction that pbdelay holds. */
static void write_notice(struct pbmatch *pm)
{
	if (!pm->action.has_time || !matcher_may_hold(&pm->matcher, &pm->action))
		return;
	record_write(&pm->rec, stdout, added_keys, RECORD_NOTICE, sizeof RECORD_NOTICE - 1);
	pm->nnotices++;
}

static void match_line(struct tool *t, char *line, size_t len, void *arg)
{
	struct pbmatch *pm = arg;
	struct json_error e;
	if (!record_parse(&pm->rec, line, len, &e)) {
		tool_reject(t, line, len, "invalid JSON: %s at column %zu", e.msg, e.offset + 1);
		return;
	}
	if (!action_read(&pm->rec, &pm->action, &pm->why)) {
		tool_reject(t, line, len, "%s", pm->why.data);
		return;
	}
	size_t n = matcher_find(&pm->matcher, &pm->action);
	if (n == 0) {
		write_notice(pm);
		pm->nunmatched++;
		if (pm->unmatched) {
			fwrite(line, 1, len, pm->unmatched);
			fputc('\n', pm->unmatched);
		}
		return;
	}
	struct stamp now = stamp_now();
	for (size_t i = 0; i < n; i++) {
		size_t pb = pm->matcher.found[i];
		buf_clear(&pm->add);
		matcher_members(&pm->matcher, pb, &pm->action, now, &pm->add);
		record_write(&pm->rec, stdout, added_keys, pm->add.data, pm->add.len);
		pm->per_postback[pb]++;
		pm->nout++;
	}
}

static void print_stats(const struct tool *t, const struct pbmatch *pm)
{
	const char *me = program_invocation_short_name;
	fflush(stdout);	/* the counts come last on a terminal too */
	fprintf(stderr, "%s: %lu read, %lu %s out, %lu unmatched, %lu rejected\n", me,
		t->nread, pm->nout, plural(pm->nout, "line", "lines"), pm->nunmatched, t->nrejected);
	if (pm->nnotices)
		fprintf(stderr, "%s: %lu %s of unmatched actions, for pbdelay\n", me, pm->nnotices,
			plural(pm->nnotices, "notice", "notices"));
	for (size_t i = 0; i < pm->rules.n; i++)
		if (pm->per_postback[i])
			fprintf(stderr, "%s: postback %s: %lu matched\n", me,
				pm->rules.pb[i].name, pm->per_postback[i]);
}

static void print_check(const struct rules *r)
{
	struct buf line = { 0 };
	for (size_t i = 0; i < r->n; i++) {
		buf_clear(&line);
		rules_describe(&r->pb[i], &line);
		buf_addc(&line, '\n');
		fwrite(line.data, 1, line.len, stdout);
	}
	buf_free(&line);
	printf("%s: %zu %s, no errors\n", r->path, r->n, plural(r->n, "postback", "postbacks"));
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ "unmatched", required_argument, NULL, OPT_UNMATCHED },
		{ "stats", no_argument, NULL, OPT_STATS },
		TOOL_OPTIONS,
		{ 0 },
	};
	struct tool t;
	struct pbmatch pm = { 0 };
	const char *rules_path = NULL, *unmatched_path = NULL;
	bool check = false, strict = false, stats = false;
	int opt;

	tool_init(&t, usage);
	while ((opt = getopt_long(argc, argv, "r:h", options, NULL)) != -1) {
		switch (opt) {
		case 'r': rules_path = optarg; break;
		case OPT_CHECK: check = true; break;
		case OPT_STRICT: strict = true; break;
		case OPT_UNMATCHED: unmatched_path = optarg; break;
		case OPT_STATS: stats = true; break;
		default:
			if (!tool_option(&t, opt, optarg))
				tool_usage_error(&t, NULL);
		}
	}
	if (!rules_path)
		tool_usage_error(&t, "a rule file is required (-r rules.yaml)");
	if (check && optind < argc)
		tool_usage_error(&t, "--check reads no input");
	if (!rules_load(&pm.rules, rules_path, strict))
		return EXIT_FATAL;
	if (check) {
		print_check(&pm.rules);
		rules_free(&pm.rules);
		return tool_finish(&t);
	}
	matcher_build(&pm.matcher, &pm.rules);
	pm.per_postback = xcalloc(pm.rules.n, sizeof *pm.per_postback);
	if (unmatched_path)
		pm.unmatched = t.extra_flush = tool_open_output(unmatched_path);

	tool_run(&t, argv + optind, argc - optind, match_line, &pm);

	if (stats)
		print_stats(&t, &pm);
	int status = tool_finish(&t);
	if (pm.unmatched && fclose(pm.unmatched) != 0) {
		warn("%s", unmatched_path);
		status = EXIT_FATAL;
	}
	matcher_free(&pm.matcher);
	rules_free(&pm.rules);
	record_free(&pm.rec);
	buf_free(&pm.add);
	buf_free(&pm.why);
	free(pm.per_postback);
	return status;
}
