#ifndef PB_TRANSFER_H
#define PB_TRANSFER_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "job.h"
#include "netpolicy.h"

/* How every request is sent. */
struct transfer_options {
	long connect_ms, timeout_ms, follow;
	const char *cacert;		/* NULL: the system's CA certificates */
	const struct netpolicy *net;
};

/* The requests in flight, in one libcurl multi handle. */
struct transfers {
	CURLM *multi;
	struct transfer_options opt;
	struct job *running;		/* a list through prev and next */
	unsigned nrunning;
	CURL **idle;			/* easy handles of ended attempts, reset */
	size_t nidle, idle_cap;
};

void transfers_open(struct transfers *t, struct transfer_options opt);
void transfer_start(struct transfers *t, struct job *j, int64_t now);
void transfers_perform(struct transfers *t);
struct job *transfer_reap(struct transfers *t, double *retry_after);
void transfer_cancel(struct transfers *t, struct job *j);
void transfers_wait(struct transfers *t, int input_fd, int timeout_ms);
void transfers_close(struct transfers *t);

#endif
