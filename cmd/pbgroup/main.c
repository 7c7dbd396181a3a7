/*
 * pbgroup: pbkafka's Kafka consumer group member, and the gate of each
 * partition's pipeline. As a member (-G) it joins the group of the
 * actions topic and tells pbkafka which partitions to start and stop
 * (member.c); as a gate (--gate) it passes pbdelay's lines on to pbfire
 * only while the partition's lease runs (gate.c). See pbgroup(1).
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "gate.h"
#include "member.h"
#include "tool.h"

static const char usage[] =
	"usage: pbgroup -b brokers -G group -t topic -l lease-dir [-X name=value ...]\n"
	"       pbgroup --gate lease-file\n";

enum { OPT_GATE = OPT_TOOL_LAST };

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
		{ "gate", required_argument, NULL, OPT_GATE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	struct member_options o = { 0 };
	const char *gate = NULL;
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
		case OPT_GATE: gate = optarg; break;
		case 'h': fputs(usage, stdout); free(props); return EXIT_OK;
		case OPT_VERSION: puts("pbgroup " PB_VERSION); free(props); return EXIT_OK;
		default: usage_error(NULL);
		}
	}
	o.props = props;
	if (optind < argc)
		usage_error("too many arguments");
	bool member = o.brokers || o.group || o.topic || o.lease_dir || o.nprops;
	if (gate && member)
		usage_error("--gate takes no other option");
	if (gate) {
		free(props);
		return gate_run(gate);
	}
	if (!o.brokers || !o.group || !o.topic || !o.lease_dir)
		usage_error(NULL);
	int status = member_run(&o);
	free(props);
	return status;
}
