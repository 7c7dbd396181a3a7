#ifndef PB_OPTIONS_H
#define PB_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "breaker.h"
#include "netpolicy.h"
#include "rates.h"
#include "retry.h"
#include "schedule.h"
#include "tool.h"
#include "transfer.h"

/* What pbfire's command line sets (options.c). */
struct options {
	bool dry_run, stats, verbose;
	bool duplicates;		/* write the records of lines whose key is settled */
	unsigned jobs, per_host;
	unsigned threads;		/* lanes sending requests; 0: lanes_for(jobs) */
	unsigned in_memory_max;		/* lines that may be in memory, but see may_read() */
	double grace;
	const char *key_path;
	const char *ledger_path;	/* NULL: no ledger */
	int64_t ledger_keep;		/* seconds; 0: forever */
	const char *spool_path;		/* NULL: no spool */
	const char *secrets_path;	/* NULL: no --secrets file */
	const char *lease_path;		/* NULL: no --lease, requests start at any time */
	struct retry_policy retry;
	struct breaker_policy breaker;
	struct netpolicy net;
	struct rates rates;		/* --rate: the hosts', and the rules' met on lines */
	struct transfer_options send;
	struct schedule schedule;
};

void options_parse(struct options *o, struct tool *t, int argc, char **argv);
void options_free(struct options *o);

#endif
