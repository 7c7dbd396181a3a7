/*
 * pbstat: read pbfire's result records and report on the postbacks they
 * tell of, one fate per postback key: counts by fate, success ratio,
 * attempts, latency and fire lag percentiles, status codes and errors,
 * overall and --by a field, as text, JSON or OpenMetrics, with a --hist,
 * an SVG --plot and an --html page; once at the end of the input, or
 * every few seconds over a growing one; then the alerts (alerts.c). Or,
 * with --find and --where, the story of the postbacks of one click or
 * transaction (find.c), which --index makes fast (index_build.c). See
 * pbstat(1).
 */
#include <err.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "buckets.h"
#include "duration.h"
#include "find.h"
#include "groups.h"
#include "index.h"
#include "plot.h"
#include "report.h"
#include "series.h"
#include "stamp.h"
#include "tally.h"
#include "tool.h"

static const char usage[] =
	"usage: pbstat [--by FIELD] [-o text|json|openmetrics] [--hist BOUNDS]\n"
	"              [--plot FILE.svg] [--html FILE] [--html-max N] [--every SECONDS]\n"
	"              [--min-success RATIO] [--min-count N] [--stale DURATION]\n"
	"              [--now TIME] [--key FIELD] [--reject FILE] [--max-line BYTES]\n"
	"              [FILE ...]\n"
	"       pbstat --find VALUE | --where FIELD=VALUE ... [-o text|json] [--key FIELD]\n"
	"              [--no-index] [--reject FILE] [--max-line BYTES] [FILE ...]\n"
	"       pbstat --index [--index-memory BYTES] [--key FIELD] [--max-line BYTES]\n"
	"              FILE ...\n";

enum { OPT_BY = OPT_TOOL_LAST, OPT_HIST, OPT_PLOT, OPT_EVERY, OPT_MIN_SUCCESS, OPT_KEY,
       OPT_HTML, OPT_HTML_MAX, OPT_FIND, OPT_WHERE, OPT_MIN_COUNT, OPT_STALE, OPT_NOW,
       OPT_INDEX, OPT_NO_INDEX, OPT_INDEX_MEMORY };

struct pbstat {
	struct tool *t;
	struct tally tally;
	const char *by, *plot, *key;
	struct groups groups;
	struct buckets *buckets;	/* --hist, or NULL */
	struct series series;
	struct views views;		/* with --html or -o openmetrics */
	const char *html;
	long html_max;
	bool json, openmetrics, terminal;
	bool index;			/* --index */
	size_t index_memory;		/* --index-memory */
	int64_t every;			/* --every, nanoseconds; 0: not given */
	struct alerts alerts;
	struct find find;
	int64_t next_report;		/* CLOCK_MONOTONIC nanoseconds */
};

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * STAMP_NS + ts.tv_nsec;
}

static void count_line(struct pbstat *ps, const char *line, size_t len)
{
	struct json_error je;
	struct json_shape shape;
	if (json_validate(line, len, &shape, NULL, &je))
	{
		tally_line(&ps->tally, line, shape.escapes);
		if (ps->html || ps->openmetrics)
			views_line(&ps->views, line, len, shape.escapes);
	} else
		tool_reject(ps->t, line, len, "invalid JSON: %s at column %zu", je.msg, je.offset + 1);
}

/* Writes the report, and the plot; with --every, stamped with the time
 * and, on a terminal, in place of the last one. */
static void report(struct pbstat *ps)
{
	char at[STAMP_TEXT_MAX];
	stamp_format((struct stamp){ stamp_now().sec, 0 }, at);
	struct report r = {
		.lines = ps->t->nread, .rejected = ps->t->nrejected, .other = ps->tally.other,
		.total = &ps->tally.total, .groups = ps->tally.groups, .buckets = ps->buckets,
		.at = ps->every ? at : NULL, .views = &ps->views, .series = &ps->series,
	};
	if (ps->every && ps->terminal)
		fputs("\033[H\033[2J", stdout);
	(ps->openmetrics ? report_openmetrics : ps->json ? report_json : report_text)(&r, stdout);
	if (ps->every && !ps->json && !ps->terminal)
		putchar('\n');
	if (fflush(stdout) != 0)
		err(EXIT_FATAL, "stdout");
	const char *failed;
	if (ps->plot && !plot_write(&ps->series, ps->plot, &failed))
		err(EXIT_FATAL, "%s: %s", ps->plot, failed);
	if (ps->html && !report_html(&r, ps->html, &failed))
		err(EXIT_FATAL, "%s: %s", ps->html, failed);
}

/* With --every: the report, when it is due. */
static void report_if_due(struct pbstat *ps)
{
	if (!ps->every)
		return;
	int64_t now = monotonic_ns();
	if (now < ps->next_report)
		return;
	report(ps);
	ps->next_report = now + ps->every;
}

/* Waits until the input has more or the next report is due. */
static void wait_for_input(struct pbstat *ps)
{
	int64_t left = ps->next_report - monotonic_ns();
	struct pollfd p = { .fd = ps->t->in.fd, .events = POLLIN };
	if (left > 0 && poll(&p, 1, (int)((left + 999999) / 1000000)) < 0 && errno != EINTR)
		err(EXIT_FATAL, "poll");
}

/* Counts every line of the inputs; with --every the input is read
 * without blocking, so a report falls due while a pipe is quiet. */
static void run(struct pbstat *ps, char **files, int nfiles)
{
	struct tool *t = ps->t;
	tool_begin(t, files, nfiles);
	t->in.nowait = ps->every > 0;
	ps->next_report = monotonic_ns() + ps->every;
	for (;;) {
		enum lines_status s = tool_next(t);
		if (s == LINES_EOF)
			break;
		if (s == LINES_OK)
			count_line(ps, t->in.line, t->in.len);
		else
			wait_for_input(ps);
		report_if_due(ps);
	}
	report(ps);
}

static void every_option(struct pbstat *ps, const char *arg)
{
	int64_t ns;
	if (!duration_parse(arg, strlen(arg), DURATION_S, &ns) || ns < 10 * DURATION_MS || ns > DURATION_D)
		tool_usage_error(ps->t, "--every: expected seconds, from 0.01 to 86400, got '%s'", arg);
	ps->every = ns;
}

static void hist_option(struct pbstat *ps, const char *arg)
{
	static struct buckets buckets;
	const char *why;
	if (!buckets_parse(&buckets, arg, &why))
		tool_usage_error(ps->t, "--hist: %s, got '%s'", why, arg);
	ps->buckets = &buckets;
}

static void output_option(struct pbstat *ps, const char *arg)
{
	if (strcmp(arg, "text") != 0 && strcmp(arg, "json") != 0 && strcmp(arg, "openmetrics") != 0)
		tool_usage_error(ps->t, "-o: expected text, json or openmetrics, got '%s'", arg);
	ps->json = strcmp(arg, "json") == 0;
	ps->openmetrics = strcmp(arg, "openmetrics") == 0;
}

static void html_max_option(struct pbstat *ps, const char *arg)
{
	char *end;
	errno = 0;
	ps->html_max = strtol(arg, &end, 10);
	if (errno || end == arg || *end || ps->html_max < 0 || ps->html_max > 100000)
		tool_usage_error(ps->t, "--html-max: expected a number from 0 to 100000, got '%s'", arg);
}

static void index_memory_option(struct pbstat *ps, const char *arg)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < INDEX_MEMORY_MIN || v > SIZE_MAX / 2)
		tool_usage_error(ps->t, "--index-memory: expected a byte count of %d or more, got '%s'",
				 INDEX_MEMORY_MIN, arg);
	ps->index_memory = (size_t)v;
}

static void where_option(struct pbstat *ps, const char *arg)
{
	if (!find_where(&ps->find, arg))
		tool_usage_error(ps->t, "--where: expected FIELD=VALUE, at most 13 of them, got '%s'", arg);
}

/* Refuses --index, --index-memory and --no-index where they mean nothing:
 * report_options when a report option was given, no_files when no file
 * was named. */
static void check_index_options(const struct pbstat *ps, bool report_options, bool no_files)
{
	if (ps->index && (find_wanted(&ps->find) || report_options || ps->json || ps->t->reject_path))
		tool_usage_error(ps->t, "--index builds indexes: only --index-memory, --key and --max-line with it");
	if (ps->index_memory && !ps->index)
		tool_usage_error(ps->t, "--index-memory: only with --index");
	if (ps->find.no_index && !find_wanted(&ps->find))
		tool_usage_error(ps->t, "--no-index: only with --find or --where");
	if (ps->index && no_files)
		tool_usage_error(ps->t, "--index: no file named");
}

static void parse_options(struct pbstat *ps, int argc, char **argv)
{
	static const struct option options[] = {
		{ "by", required_argument, NULL, OPT_BY },
		{ "output", required_argument, NULL, 'o' },
		{ "hist", required_argument, NULL, OPT_HIST },
		{ "plot", required_argument, NULL, OPT_PLOT },
		{ "every", required_argument, NULL, OPT_EVERY },
		{ "min-success", required_argument, NULL, OPT_MIN_SUCCESS },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "html", required_argument, NULL, OPT_HTML },
		{ "html-max", required_argument, NULL, OPT_HTML_MAX },
		{ "find", required_argument, NULL, OPT_FIND },
		{ "where", required_argument, NULL, OPT_WHERE },
		{ "min-count", required_argument, NULL, OPT_MIN_COUNT },
		{ "stale", required_argument, NULL, OPT_STALE },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "index", no_argument, NULL, OPT_INDEX },
		{ "no-index", no_argument, NULL, OPT_NO_INDEX },
		{ "index-memory", required_argument, NULL, OPT_INDEX_MEMORY },
		TOOL_OPTIONS,
		{ 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "o:h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_BY: ps->by = optarg; break;
		case 'o': output_option(ps, optarg); break;
		case OPT_HIST: hist_option(ps, optarg); break;
		case OPT_PLOT: ps->plot = optarg; break;
		case OPT_EVERY: every_option(ps, optarg); break;
		case OPT_MIN_SUCCESS: alerts_min_success(&ps->alerts, ps->t, optarg); break;
		case OPT_KEY: ps->key = optarg; break;
		case OPT_HTML: ps->html = optarg; break;
		case OPT_HTML_MAX: html_max_option(ps, optarg); break;
		case OPT_FIND: ps->find.value = optarg; break;
		case OPT_WHERE: where_option(ps, optarg); break;
		case OPT_MIN_COUNT: alerts_min_count(&ps->alerts, ps->t, optarg); break;
		case OPT_STALE: alerts_stale(&ps->alerts, ps->t, optarg); break;
		case OPT_NOW: alerts_now(&ps->alerts, ps->t, optarg); break;
		case OPT_INDEX: ps->index = true; break;
		case OPT_NO_INDEX: ps->find.no_index = true; break;
		case OPT_INDEX_MEMORY: index_memory_option(ps, optarg); break;
		default:
			if (!tool_option(ps->t, opt, optarg))
				tool_usage_error(ps->t, NULL);
		}
	}
	if (ps->by && !*ps->by)
		tool_usage_error(ps->t, "--by: empty field name");
	if (ps->plot && !*ps->plot)
		tool_usage_error(ps->t, "--plot: empty file name");
	if (ps->html && !*ps->html)
		tool_usage_error(ps->t, "--html: empty file name");
	if (ps->openmetrics && ps->every)
		tool_usage_error(ps->t, "-o openmetrics: one exposition, without --every");
	if (!*ps->key)
		tool_usage_error(ps->t, "--key: empty field name");
	bool report_options = ps->by || ps->buckets || ps->plot || ps->html || ps->openmetrics ||
			      ps->every || alerts_wanted(&ps->alerts);
	if (find_wanted(&ps->find) && report_options)
		tool_usage_error(ps->t, "--find and --where tell a story: no report options with them");
	check_index_options(ps, report_options, optind == argc);
}

/* pbstat --index: builds or brings up to date the index of each file;
 * the exit status. */
static int index_files(const struct pbstat *ps, char **files, int nfiles)
{
	int status = EXIT_OK;
	size_t memory = ps->index_memory ? ps->index_memory : INDEX_MEMORY;
	for (int i = 0; i < nfiles; i++)
		if (!index_build(files[i], ps->key, ps->t->max_line, memory))
			status = EXIT_FATAL;
	return status;
}

int main(int argc, char **argv)
{
	struct tool t;
	struct pbstat ps = { .t = &t, .key = "postback.key", .html_max = 100 };
	tool_init(&t, usage);
	alerts_init(&ps.alerts);
	find_init(&ps.find);
	parse_options(&ps, argc, argv);
	if (ps.index) {
		find_free(&ps.find);
		return index_files(&ps, argv + optind, argc - optind);
	}
	if (find_wanted(&ps.find)) {
		ps.find.key_field = ps.key;
		int status = find_run(&ps.find, &t, argv + optind, argc - optind, ps.json);
		find_free(&ps.find);
		return status;
	}
	ps.terminal = isatty(STDOUT_FILENO);
	groups_init(&ps.groups, ps.by ? ps.by : "");
	series_init(&ps.series);
	tally_init(&ps.tally, ps.key, ps.by ? &ps.groups : NULL, ps.buckets,
		   ps.plot || ps.html ? &ps.series : NULL);
	bool views[VIEWS] = { [VIEW_NAME] = ps.html || ps.openmetrics, [VIEW_PUBLISHER] = ps.html,
			      [VIEW_HOST] = ps.openmetrics };
	views_init(&ps.views, views, ps.key, ps.html ? (size_t)ps.html_max : 0);

	run(&ps, argv + optind, argc - optind);

	bool flagged = alerts_check(&ps.alerts, &ps.tally.total, ps.by ? &ps.groups : NULL) > 0;
	find_free(&ps.find);
	tally_free(&ps.tally);
	groups_free(&ps.groups);
	series_free(&ps.series);
	views_free(&ps.views);
	int status = tool_finish(&t);
	return status == EXIT_OK && flagged ? EXIT_REJECTED : status;
}
