/*
 * pbgroup: pbkafka's Kafka consumer group member. It joins the group of
 * the actions topic, tells pbkafka which partitions to start and stop,
 * and keeps each partition's lease, which the partition's pbfire
 * (--lease) starts requests under (member.c). See pbgroup(1).
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "member.h"
#include "tool.h"

static const char usage[] =
	"usage: pbgroup -b brokers -G group -t topic -l lease-dir [-X name=value ...]\n";

static void usage_error(const char *what)
{
	if (what)
		warnx("%s", what);
	fputs(usage, stderr);
	exit(EXIT_FATAL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	struct member_options o = { 0 };
	char **props = calloc((size_t)argc, sizeof *props);
	int opt;
	if (!props)
		err(EXIT_FATAL, "calloc");
	while ((opt = getopt_long(argc, argv, "b:G:t:l:X:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'b': o.brokers = optarg; break;
		case 'G': o.group = optarg; break;
		case 't': o.topic = optarg; break;
		case 'l': o.lease_dir = optarg; break;
		case 'X': props[o.nprops++] = optarg; break;
		case 'h': fputs(usage, stdout); free(props); return EXIT_OK;
		case OPT_VERSION: puts("pbgroup " PB_VERSION); free(props); return EXIT_OK;
		default: usage_error(NULL);
		}
	}
	o.props = props;
	if (optind < argc)
		usage_error("too many arguments");
	if (!o.brokers || !o.group || !o.topic || !o.lease_dir)
		usage_error(NULL);
	int status = member_run(&o);
	free(props);
	return status;
}
