#ifndef PB_REPORT_H
#define PB_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "job.h"
#include "hosts.h"
#include "retry.h"
#include "tool.h"

#define LATENCY_BUCKETS 800		/* 1% wide, from 0.01 ms to 100 s */

/* What pbfire tells about its lines: counts by outcome, attempt
 * latencies, and the progress line. */
struct report {
	bool dry_run, verbose, progress;
	bool spool;			/* retries wait in a spool: no retry_at on final failures */
	size_t keep_response;		/* body bytes of an answer a result shows */
	int64_t started, last_progress;
	unsigned long sent, requests;	/* lines sent; attempts, retries included */
	unsigned long deferred;		/* records written with "final": false */
	unsigned long counts[ERR_CLASSES];	/* lines finished, by outcome (not the settled) */
	unsigned long settled;		/* lines whose key was settled already */
	unsigned long notices;		/* notices of pb-records(7), consumed */
	unsigned long latency[LATENCY_BUCKETS];
};

size_t report_answer_max(size_t keep_response);
void report_read_round(struct job *j, bool pending);
void report_attempt(struct report *r, const struct job *j);
void report_settled(struct report *r);
void report_finished(struct report *r, struct job *j, int64_t now, struct buf *result);
void report_deferred(struct report *r, const struct job *j, int64_t due, struct buf *result);
unsigned long report_delivered(const struct report *r);
unsigned long report_failed(const struct report *r);
void report_progress(struct report *r, int64_t now, unsigned running, unsigned open_breakers, bool last);
void report_stats(const struct report *r, const struct tool *t, const struct hosts *hs, size_t waiting);

#endif
