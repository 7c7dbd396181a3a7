/*
 * What every pb filter does the same way: the shared options (--reject,
 * --max-line, --help, --version), reading the named inputs or standard
 * input line by line, flushing standard output whenever the input would
 * block, rejecting a bad line (a diagnostic "tool: input:line: why" and
 * the line itself to the --reject file), and turning what happened into
 * the documented exit status: 0 all good, 1 lines rejected, 2 usage,
 * configuration or I/O errors. Also the singular or plural noun of the
 * counts that diagnostics and reports print.
 */
#include "tool.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MAX_LINE (1024 * 1024)

static char stdout_buf[64 * 1024];

void tool_init(struct tool *t, const char *usage)
{
	memset(t, 0, sizeof *t);
	t->usage = usage;
	t->max_line = DEFAULT_MAX_LINE;
	setvbuf(stdout, stdout_buf, _IOFBF, sizeof stdout_buf);
}

void tool_usage_error(const struct tool *t, const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vwarnx(fmt, ap);
		va_end(ap);
	}
	fprintf(stderr, "%s", t->usage);
	exit(EXIT_FATAL);
}

static size_t parse_size(const struct tool *t, const char *arg)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno || end == arg || *arg == '-' || v < 2 || v > 1024ULL * 1024 * 1024)
		tool_usage_error(t, "--max-line: expected a byte count from 2 to 1073741824, got '%s'", arg);
	return (size_t)v;
}

FILE *tool_open_output(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		err(EXIT_FATAL, "%s", path);
	return f;
}

/* Where temporary files go: $TMPDIR, or /tmp when it is unset or empty. */
const char *tool_tmpdir(void)
{
	const char *dir = getenv("TMPDIR");
	return dir && *dir ? dir : "/tmp";
}

/* Handles the options every tool shares; false for any other option. */
bool tool_option(struct tool *t, int opt, const char *arg)
{
	switch (opt) {
	case OPT_REJECT:
		t->reject_path = arg;
		return true;
	case OPT_MAX_LINE:
		t->max_line = parse_size(t, arg);
		return true;
	case 'h':
		fputs(t->usage, stdout);
		exit(EXIT_OK);
	case OPT_VERSION:
		printf("%s %s\n", program_invocation_short_name, PB_VERSION);
		exit(EXIT_OK);
	default:
		return false;
	}
}

void tool_reject(struct tool *t, const char *line, size_t len, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);	/* keep output and diagnostics in order on a terminal */
	fprintf(stderr, "%s: %s:%lu: ", program_invocation_short_name, t->in.name, t->in.lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	t->nrejected++;
	if (t->reject && line) {
		fwrite(line, 1, len, t->reject);
		fputc('\n', t->reject);
	}
}

static void flush_outputs(void *arg, bool idle)
{
	struct tool *t = arg;
	if (idle) {
		fflush(stdout);
		if (t->reject)
			fflush(t->reject);
		if (t->extra_flush)
			fflush(t->extra_flush);
	}
	if (t->before_read)
		t->before_read(t->read_arg, idle);
}

/* Opens the next input file; false when there is none left. */
static bool open_next(struct tool *t)
{
	while (t->next < t->nfiles && !t->in.stop) {
		const char *name = t->files[t->next++];
		bool is_stdin = strcmp(name, "-") == 0;
		int fd = is_stdin ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			lines_reset(&t->in, fd, is_stdin ? "stdin" : name);
			if (t->opened)
				t->opened(t->opened_arg, t, name);
			return true;
		}
		warn("%s", name);
		t->io_error = true;
	}
	return false;
}

static void close_input(struct tool *t)
{
	if (t->in.fd > STDIN_FILENO)
		close(t->in.fd);
	t->in.fd = -1;
}

/* Starts reading the named files ("-" or none: stdin) with tool_next(). */
void tool_begin(struct tool *t, char **files, int nfiles)
{
	static char dash[] = "-";
	static char *stdin_only[] = { dash };
	if (t->reject_path)
		t->reject = tool_open_output(t->reject_path);
	lines_init(&t->in, t->max_line);
	t->in.before_read = flush_outputs;
	t->in.read_arg = t;
	t->files = nfiles ? files : stdin_only;
	t->nfiles = nfiles ? nfiles : 1;
	t->next = 0;
	open_next(t);
}

/* The next line of the inputs, in t->in.line: LINES_OK, LINES_AGAIN when
 * t->in.nowait is set and no line is ready, or LINES_EOF once every input
 * has ended. Overlong lines are rejected and read errors reported here. */
enum lines_status tool_next(struct tool *t)
{
	while (t->in.fd >= 0) {
		switch (lines_next(&t->in)) {
		case LINES_OK:
			t->nread++;
			return LINES_OK;
		case LINES_AGAIN:
			return LINES_AGAIN;
		case LINES_TOO_LONG:
			t->nread++;
			tool_reject(t, NULL, 0, "line longer than %zu bytes (see --max-line)", t->max_line);
			if (lines_discard(&t->in, t->reject))
				break;
			/* fall through */
		case LINES_ERROR:
			warn("%s", t->in.name);
			t->io_error = true;
			/* fall through */
		case LINES_EOF:
			close_input(t);
			open_next(t);
		}
	}
	lines_free(&t->in);
	return LINES_EOF;
}

/* Runs each over every line of the named files ("-" or none: stdin). */
void tool_run(struct tool *t, char **files, int nfiles, line_fn *each, void *arg)
{
	tool_begin(t, files, nfiles);
	while (tool_next(t) == LINES_OK)
		each(t, t->in.line, t->in.len, arg);
}

static bool close_output(FILE *f, const char *name)
{
	if (fflush(f) == 0 && !ferror(f))
		return true;
	warn("%s", name);
	return false;
}

/* Flushes and closes the outputs; returns the exit status. */
int tool_finish(struct tool *t)
{
	bool ok = close_output(stdout, "stdout");
	lines_free(&t->in);
	if (t->reject)
		ok = close_output(t->reject, t->reject_path) && ok;
	if (!ok || t->io_error)
		return EXIT_FATAL;
	return t->nrejected ? EXIT_REJECTED : EXIT_OK;
}

const char *plural(unsigned long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}
