#ifndef PB_TRANSFER_H
#define PB_TRANSFER_H

#include <curl/curl.h>

#include "job.h"
#include "netpolicy.h"

/* How every request is sent. */
struct transfer_options {
	long connect_ms, timeout_ms, follow;
	const char *cacert;		/* NULL: the system's CA certificates */
	const struct netpolicy *net;
};

void transfer_prepare(const struct transfer_options *o, struct job *j, CURL *e);
void transfer_read_outcome(struct job *j, CURLcode rc);

#endif
