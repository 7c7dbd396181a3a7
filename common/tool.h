#ifndef PB_TOOL_H
#define PB_TOOL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "lines.h"

#define PB_VERSION "0.1.0"

/* Exit statuses, the same for every tool (each man page's EXIT STATUS):
 * EXIT_FATAL (2) ends the run on a usage error or on a failure it cannot
 * go on from (I/O, a file that cannot be opened, locked or made durable). */
enum { EXIT_OK = 0, EXIT_REJECTED = 1, EXIT_FATAL = 2 };

/* Options every tool takes; their getopt_long values. */
enum { OPT_REJECT = 0x100, OPT_MAX_LINE, OPT_VERSION, OPT_TOOL_LAST };

#define TOOL_OPTIONS \
	{ "reject", required_argument, NULL, OPT_REJECT }, \
	{ "max-line", required_argument, NULL, OPT_MAX_LINE }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, OPT_VERSION }

struct tool;
typedef void line_fn(struct tool *t, char *line, size_t len, void *arg);

/* A filter's run: its inputs, rejects, counts and exit status. */
struct tool {
	const char *usage;		/* the synopsis, printed by --help and on errors */
	size_t max_line;
	const char *reject_path;
	FILE *reject;
	FILE *extra_flush;		/* another output to flush when input idles */
	void (*before_read)(void *arg, bool idle);	/* a tool's own hook, after flushing */
	void *read_arg;
	/* A tool's own hook, when an input is opened: path as named. */
	void (*opened)(void *arg, struct tool *t, const char *path);
	void *opened_arg;
	unsigned long nread, nrejected;
	bool io_error;
	struct lines in;
	char **files;			/* the inputs, and the index of the next */
	int nfiles, next;
};

void tool_init(struct tool *t, const char *usage);
bool tool_option(struct tool *t, int opt, const char *arg);
void tool_usage_error(const struct tool *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
FILE *tool_open_output(const char *path);
const char *tool_tmpdir(void);
void tool_run(struct tool *t, char **files, int nfiles, line_fn *each, void *arg);
void tool_begin(struct tool *t, char **files, int nfiles);
enum lines_status tool_next(struct tool *t);
/* A value in a diagnostic, for "%.*s%s": its first SHOWN_MAX bytes, then
 * "..." when it is longer, so a diagnostic stays one readable line. */
#define SHOWN_MAX 200
#define SHOWN(p, n) (int)((n) > SHOWN_MAX ? SHOWN_MAX : (n)), (p), ((n) > SHOWN_MAX ? "..." : "")

void tool_reject(struct tool *t, const char *line, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The noun for n of a thing in a diagnostic or a report: ONE when n is 1,
 * else MANY ("1 postback", "0 postbacks", "2 entries"). */
const char *plural(unsigned long long n, const char *one, const char *many);
int tool_finish(struct tool *t);

#endif
