/*
 * pbfire's command line, apart from the loop it sets going (as curl keeps
 * tool_getparam.c apart from tool_operate.c): the usage line, the long
 * options, the defaults, each option's range and the message for a value
 * out of it, and the settings that follow from others (--per-host and
 * --threads at most -j, the lines kept in memory, the longest breaker
 * wait at least --breaker-wait) and the hosts' --rate (rates.c). See
 * pbfire(1).
 */
#include "options.h"

#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duration.h"
#include "lanes.h"
#include "ledger.h"

static const char usage[] =
	"usage: pbfire [--dry-run] [-v] [-j N] [--per-host N] [--threads N] [--retries N]\n"
	"              [--backoff DURATION] [--connect-timeout DURATION] [--timeout DURATION]\n"
	"              [--follow N] [--allow-private] [--allow-net CIDR] [--cacert FILE]\n"
	"              [--ledger FILE] [--ledger-keep DURATION] [--key FIELD] [--spool FILE]\n"
	"              [--schedule LIST] [--breaker N] [--breaker-wait DURATION]\n"
	"              [--rate HOST=RATE] [--secrets FILE] [--grace DURATION] [--stats]\n"
	"              [--duplicates] [--keep-response BYTES] [--lease FILE]\n"
	"              [--reject FILE] [--max-line BYTES] [FILE ...]\n";

enum {
	OPT_DRY_RUN = OPT_TOOL_LAST, OPT_PER_HOST, OPT_RETRIES, OPT_BACKOFF, OPT_CONNECT_TIMEOUT,
	OPT_TIMEOUT, OPT_FOLLOW, OPT_ALLOW_PRIVATE, OPT_ALLOW_NET, OPT_LEDGER, OPT_KEY, OPT_GRACE,
	OPT_STATS, OPT_LEDGER_KEEP, OPT_CACERT, OPT_BREAKER, OPT_BREAKER_WAIT, OPT_SPOOL, OPT_SCHEDULE,
	OPT_SECRETS, OPT_THREADS, OPT_DUPLICATES, OPT_RATE,
	OPT_KEEP_RESPONSE, OPT_LEASE,
};

static double number_option(const struct tool *t, const char *name, const char *arg, double min,
			    double max)
{
	char *end;
	errno = 0;
	double v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= min && v <= max))
		tool_usage_error(t, "%s: expected a number from %g to %g, got '%s'", name, min, max, arg);
	return v;
}

/* A duration of pb-rules(5), seconds without a unit, from min to max
 * seconds; in nanoseconds. */
static int64_t duration_option(const struct tool *t, const char *name, const char *arg, double min,
			       double max)
{
	int64_t ns;
	if (!duration_parse(arg, strlen(arg), DURATION_S, &ns) ||
	    !(ns >= min * DURATION_S && ns <= max * DURATION_S))
		tool_usage_error(t, "%s: expected seconds from %g to %g, or a duration such as 500ms or 2m, got '%s'",
				 name, min, max, arg);
	return ns;
}

static double seconds_option(const struct tool *t, const char *name, const char *arg, double min,
			     double max)
{
	return (double)duration_option(t, name, arg, min, max) / DURATION_S;
}

static void net_option(struct options *o, const struct tool *t, const char *arg)
{
	struct netblock b;
	if (!netblock_parse(arg, &b))
		tool_usage_error(t, "--allow-net: expected an address or ADDRESS/BITS, got '%s'", arg);
	netpolicy_allow(&o->net, b);
}

static void rate_option(struct options *o, const struct tool *t, const char *arg)
{
	struct buf why = { 0 };
	if (!rates_add_host(&o->rates, arg, &why))
		tool_usage_error(t, "--rate: %s", why.data);
	buf_free(&why);
}

/* Sets o from the command line, pbfire's defaults first; t takes the
 * options every tool has. */
void options_parse(struct options *o, struct tool *t, int argc, char **argv)
{
	static const struct option options[] = {
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "verbose", no_argument, NULL, 'v' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "per-host", required_argument, NULL, OPT_PER_HOST },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "retries", required_argument, NULL, OPT_RETRIES },
		{ "backoff", required_argument, NULL, OPT_BACKOFF },
		{ "connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "follow", required_argument, NULL, OPT_FOLLOW },
		{ "allow-private", no_argument, NULL, OPT_ALLOW_PRIVATE },
		{ "allow-net", required_argument, NULL, OPT_ALLOW_NET },
		{ "ledger", required_argument, NULL, OPT_LEDGER },
		{ "ledger-keep", required_argument, NULL, OPT_LEDGER_KEEP },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "spool", required_argument, NULL, OPT_SPOOL },
		{ "schedule", required_argument, NULL, OPT_SCHEDULE },
		{ "breaker", required_argument, NULL, OPT_BREAKER },
		{ "breaker-wait", required_argument, NULL, OPT_BREAKER_WAIT },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "secrets", required_argument, NULL, OPT_SECRETS },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "duplicates", no_argument, NULL, OPT_DUPLICATES },
		{ "keep-response", required_argument, NULL, OPT_KEEP_RESPONSE },
		{ "lease", required_argument, NULL, OPT_LEASE },
		TOOL_OPTIONS,
		{ 0 },
	};
	struct transfer_options *send = &o->send;
	int opt;
	tool_init(t, usage);
	*o = (struct options){
		.jobs = 64, .per_host = 8, .grace = 5, .key_path = "postback.key",
		.ledger_keep = LEDGER_KEEP_DEFAULT,
		.send = { .connect_ms = 10000, .timeout_ms = 30000, .keep_response = 1024 },
		.retry = { .retries = 3, .base = 1, .max = 60, .retry_after_max = 300 },
		.breaker = { .failures = 5, .wait = 30, .wait_max = 30 * 60 },
	};
	schedule_parse(&o->schedule, SCHEDULE_DEFAULT);
	while ((opt = getopt_long(argc, argv, "vj:h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_DRY_RUN: o->dry_run = true; break;
		case 'v': o->verbose = o->duplicates = true; break;
		case OPT_DUPLICATES: o->duplicates = true; break;
		case 'j': o->jobs = (unsigned)number_option(t, "-j", optarg, 1, 10000); break;
		case OPT_PER_HOST: o->per_host = (unsigned)number_option(t, "--per-host", optarg, 1, 10000); break;
		case OPT_THREADS: o->threads = (unsigned)number_option(t, "--threads", optarg, 1, LANES_MAX); break;
		case OPT_RETRIES: o->retry.retries = (int)number_option(t, "--retries", optarg, 0, 100); break;
		case OPT_BACKOFF: o->retry.base = seconds_option(t, "--backoff", optarg, 0, 3600); break;
		case OPT_CONNECT_TIMEOUT:
			send->connect_ms = (long)duration_round(duration_option(t, "--connect-timeout", optarg, 0.001, 3600),
							       DURATION_MS);
			break;
		case OPT_TIMEOUT:
			send->timeout_ms = (long)duration_round(duration_option(t, "--timeout", optarg, 0.001, 86400),
							       DURATION_MS);
			break;
		case OPT_FOLLOW: send->follow = (long)number_option(t, "--follow", optarg, 0, 50); break;
		case OPT_ALLOW_PRIVATE: o->net.allow_private = true; break;
		case OPT_ALLOW_NET: net_option(o, t, optarg); break;
		case OPT_LEDGER: o->ledger_path = optarg; break;
		case OPT_LEDGER_KEEP:
			if (!ledger_parse_keep(optarg, &o->ledger_keep))
				tool_usage_error(t, "--ledger-keep: expected a duration such as 30d, 12h, 90m or 3600s, got '%s'", optarg);
			break;
		case OPT_CACERT:
			if (access(optarg, R_OK) < 0)
				err(EXIT_FATAL, "--cacert: %s", optarg);
			send->cacert = optarg;
			break;
		case OPT_KEY: o->key_path = optarg; break;
		case OPT_SPOOL: o->spool_path = optarg; break;
		case OPT_SCHEDULE:
			if (!schedule_parse(&o->schedule, optarg))
				tool_usage_error(t, "--schedule: expected waits such as 5s,5m,2h,1d (at most 32), got '%s'", optarg);
			break;
		case OPT_BREAKER: o->breaker.failures = (unsigned)number_option(t, "--breaker", optarg, 0, 10000); break;
		case OPT_BREAKER_WAIT: o->breaker.wait = seconds_option(t, "--breaker-wait", optarg, 0.001, 86400); break;
		case OPT_RATE: rate_option(o, t, optarg); break;
		case OPT_SECRETS: o->secrets_path = optarg; break;
		case OPT_LEASE: o->lease_path = optarg; break;
		case OPT_GRACE: o->grace = seconds_option(t, "--grace", optarg, 0, 3600); break;
		case OPT_STATS: o->stats = true; break;
		case OPT_KEEP_RESPONSE:
			send->keep_response = (size_t)number_option(t, "--keep-response", optarg, 0, TRANSFER_BODY_MAX);
			break;
		default:
			if (!tool_option(t, opt, optarg))
				tool_usage_error(t, NULL);
		}
	}
	if (o->per_host > o->jobs)
		o->per_host = o->jobs;
	if (o->threads > o->jobs)
		o->threads = o->jobs;
	o->in_memory_max = 4 * o->jobs < 256 ? 256 : 4 * o->jobs;
	if (o->breaker.wait_max < o->breaker.wait)
		o->breaker.wait_max = o->breaker.wait;
}

void options_free(struct options *o)
{
	netpolicy_free(&o->net);
	rates_free(&o->rates);
}
