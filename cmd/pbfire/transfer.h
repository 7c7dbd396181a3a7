#ifndef PB_TRANSFER_H
#define PB_TRANSFER_H

#include <curl/curl.h>

#include "job.h"
#include "netpolicy.h"

/* The longest message an attempt's outcome writes into its job: libcurl's
 * error text, or a refused address's (under 200 bytes). The job's message
 * has that room before it goes to a lane, whose thread thus never grows
 * it (and never exits for want of memory; see lanes.c). */
#define TRANSFER_MESSAGE_MAX CURL_ERROR_SIZE

/* The most of an answer's body read before hanging up. */
#define TRANSFER_BODY_MAX (64 * 1024)

/* How every request is sent. */
struct transfer_options {
	long connect_ms, timeout_ms, follow;
	size_t keep_response;		/* body bytes kept for the record, TRANSFER_BODY_MAX at most */
	const char *cacert;		/* NULL: the system's CA certificates */
	const struct netpolicy *net;
};

void transfer_make_room(const struct transfer_options *o, struct job *j);
void transfer_prepare(const struct transfer_options *o, struct job *j, CURL *e);
void transfer_read_outcome(struct job *j, CURLcode rc);

#endif
