/*
 * pbship: ships the lines a file is appended to (pbfire's ledger, its
 * results) to a partition of a Kafka topic as soon as each is complete,
 * through one producer for the whole run, for pbkafka. It follows the
 * file open on its standard input (follow.c), wakes on inotify's word
 * that the file or its directory changed (or every LOOK_MS, which is
 * also how often it looks whether the process group of --while has
 * ended), and produces each line (ship.c), keeping with --acked the mark
 * of how far the file is acknowledged (mark.c). It ends once that group
 * has no process left, with --once at the file's end, or on SIGTERM or
 * SIGINT, when every line it has read is acknowledged, or after
 * --timeout. See pbship(1).
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"
#include "follow.h"
#include "mark.h"
#include "ship.h"
#include "tool.h"

#define LOOK_MS 20	/* between looks at the group, and at a file inotify cannot watch */

static const char usage[] =
	"usage: pbship -b brokers -t topic -p partition [--keyed] [--from bytes]\n"
	"              [--acked mark] [--while pgid | --once] [--timeout duration]\n"
	"              file < file\n";

enum { OPT_KEYED = OPT_TOOL_LAST, OPT_FROM, OPT_ACKED, OPT_WHILE, OPT_ONCE, OPT_TIMEOUT };

struct options {
	const char *brokers, *topic, *path;
	const char *acked;	/* --acked: where the mark is kept, or NULL */
	int32_t partition;
	bool keyed;
	off_t from;
	pid_t group;		/* 0: none, follow until told to stop */
	bool once;		/* ship what the file holds, then end */
	int timeout_ms;
};

/* The watch of the file and of its directory, for a file renamed over it. */
struct watch {
	int fd, file;
};

static volatile sig_atomic_t stop_asked;

static void ask_stop(int sig)
{
	(void)sig;
	stop_asked = 1;
}

static void usage_error(const char *what, const char *arg)
{
	if (what)
		warnx("%s%s%s", what, arg ? ": " : "", arg ? arg : "");
	fputs(usage, stderr);
	exit(EXIT_FATAL);
}

/* arg as a whole number from min to max, for option name. */
static long long number(const char *arg, long long min, long long max, const char *name)
{
	char *end;
	errno = 0;
	long long v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		char what[64];
		snprintf(what, sizeof what, "%s %s", name, arg);
		usage_error(what, "not a number in range");
	}
	return v;
}

/* arg as a duration (duration.c: a bare number is seconds) of at most a
 * day, in milliseconds, for --timeout. */
static int timeout_ms(const char *arg)
{
	int64_t ns;
	if (!duration_parse(arg, strlen(arg), DURATION_S, &ns) || ns > DURATION_D)
		usage_error("--timeout: not a duration up to a day", arg);
	return (int)duration_round(ns, DURATION_MS);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "keyed", no_argument, NULL, OPT_KEYED },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "acked", required_argument, NULL, OPT_ACKED },
		{ "while", required_argument, NULL, OPT_WHILE },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	const char *partition = NULL;
	int opt;
	*o = (struct options){ .timeout_ms = 10000 };
	while ((opt = getopt_long(argc, argv, "b:t:p:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b': o->brokers = optarg; break;
		case 't': o->topic = optarg; break;
		case 'p': partition = optarg; break;
		case OPT_KEYED: o->keyed = true; break;
		case OPT_FROM: o->from = (off_t)number(optarg, 0, INT64_MAX, "--from"); break;
		case OPT_ACKED: o->acked = optarg; break;
		case OPT_WHILE: o->group = (pid_t)number(optarg, 2, INT32_MAX, "--while"); break;
		case OPT_ONCE: o->once = true; break;
		case OPT_TIMEOUT: o->timeout_ms = timeout_ms(optarg); break;
		case 'h': fputs(usage, stdout); exit(EXIT_OK);
		case OPT_VERSION: puts("pbship " PB_VERSION); exit(EXIT_OK);
		default: usage_error(NULL, NULL);
		}
	}
	if (o->once && o->group)
		usage_error("--once and --while", "one or the other");
	if (!o->brokers || !o->topic || !partition || optind != argc - 1)
		usage_error(optind < argc - 1 ? "too many arguments" : NULL, NULL);
	o->partition = (int32_t)number(partition, 0, INT32_MAX, "-p");
	o->path = argv[optind];
	struct stat st;
	if (fstat(STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode))
		usage_error("standard input: not a regular file (pbship follows the file open there)", NULL);
}

/* Whether a process of the group is alive. */
static bool group_alive(pid_t group)
{
	return kill(-group, 0) == 0 || errno == EPERM;
}

/* Watches path's directory (a file renamed over path) and the file path
 * names; a watch that cannot be had leaves the LOOK_MS looks. */
static void watch_start(struct watch *w, const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		err(EXIT_FATAL, "strdup");
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	w->file = -1;
	if (w->fd >= 0) {
		inotify_add_watch(w->fd, dirname(copy), IN_CREATE | IN_MOVED_TO);
		w->file = inotify_add_watch(w->fd, path, IN_MODIFY);
	}
	free(copy);
}

/* Moves the watch of the file to the one path now names. */
static void watch_renamed(struct watch *w, const char *path)
{
	if (w->fd < 0)
		return;
	if (w->file >= 0)
		inotify_rm_watch(w->fd, w->file);
	w->file = inotify_add_watch(w->fd, path, IN_MODIFY);
}

/* Returns once the file or the producer has news, a signal came, or
 * LOOK_MS have passed. */
static void wait_news(struct watch *w, int producer)
{
	struct pollfd fds[2] = { { .fd = producer, .events = POLLIN }, { .fd = w->fd, .events = POLLIN } };
	if (poll(fds, w->fd >= 0 ? 2 : 1, LOOK_MS) < 0 && errno != EINTR)
		err(EXIT_FATAL, "poll");
	char events[4096];
	while (w->fd >= 0 && read(w->fd, events, sizeof events) > 0)
		;
}

/* The file followed and its producer, which learns of each restart of
 * the file's positions before the first line after it. */
struct shipping {
	struct follow *f;
	struct ship *s;
	unsigned restarts;	/* the file's restarts the producer knows of */
};

static void note_restarts(struct shipping *sh)
{
	if (sh->f->restarts != sh->restarts) {
		sh->restarts = sh->f->restarts;
		ship_restart(sh->s);
	}
}

/* A follow_line_fn: the line to the producer. */
static void ship_followed(void *arg, const char *line, size_t len, off_t end)
{
	struct shipping *sh = arg;
	note_restarts(sh);
	ship_line(sh->s, line, len, end);
}

/* Ships what is appended to the file until the group has ended or a
 * signal says stop, or the cluster refuses a line; keeps the mark. */
static void follow_and_ship(const struct options *o, struct follow *f, struct ship *s, struct mark *m)
{
	struct shipping sh = { .f = f, .s = s };
	struct watch w;
	watch_start(&w, o->path);
	for (;;) {
		bool last = o->once || (o->group && !group_alive(o->group)) || stop_asked;
		ship_serve(s);
		mark_update(m, s->acked, false);
		if (s->failed)
			break;
		bool switched = false;
		size_t n = follow_lines(f, ship_followed, &sh);
		if (n == 0)
			n = follow_renamed(f, ship_followed, &sh, &switched);
		note_restarts(&sh);
		if (switched)
			watch_renamed(&w, o->path);
		if (n == 0 && !switched && last)
			break;
		if (n == 0 && !switched)
			wait_news(&w, ship_wake_fd(s));
	}
	if (w.fd >= 0)
		close(w.fd);
}

int main(int argc, char **argv)
{
	struct options o;
	parse_options(argc, argv, &o);
	struct sigaction sa = { .sa_handler = ask_stop };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct follow f;
	follow_init(&f, o.path, STDIN_FILENO, o.from);
	struct ship s;
	ship_open(&s, o.brokers, o.topic, o.partition, o.keyed, &stop_asked);
	s.acked = o.from;
	struct mark m;
	mark_init(&m, o.acked);
	mark_update(&m, s.acked, true);
	follow_and_ship(&o, &f, &s, &m);
	follow_free(&f);
	unsigned long left = ship_close(&s, o.timeout_ms);
	mark_update(&m, s.acked, true);
	if (left) {
		warnx("%s: %lu line%s not shipped to %s partition %d", o.path, left, left == 1 ? "" : "s",
		      o.topic, (int)o.partition);
		return EXIT_REJECTED;
	}
	return EXIT_OK;
}
