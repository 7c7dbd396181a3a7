#ifndef PB_SHIP_H
#define PB_SHIP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The producer of one partition of a topic (ship.c). */
struct ship {
	struct rd_kafka_s *rk;
	struct rd_kafka_topic_s *rkt;
	const char *topic;
	int32_t partition;
	bool keyed;		/* ledger lines, each keyed by its key; others skipped */
	unsigned long unacked;	/* produced, not yet acknowledged */
	unsigned long failed;	/* refused by the cluster, or left on a stop with the queue full */
	off_t acked;		/* the byte of the file up to which every line is acknowledged */
	unsigned long stale;	/* the next acknowledgements, of lines from before a restart */
	const volatile sig_atomic_t *stop;	/* set when pbship is told to stop */
	int wake[2];		/* a pipe the producer writes to when it has news */
	char *key;		/* a key with its tabs written "\t" */
	size_t key_cap;
};

/* Starts the idempotent producer for partition of topic on brokers; a
 * line that finds the producer's queue full waits for room until *stop
 * is set. */
void ship_open(struct ship *s, const char *brokers, const char *topic, int32_t partition, bool keyed,
	       const volatile sig_atomic_t *stop);

/* Produces a line: with s->keyed, a ledger line keyed by its key (a tab
 * in it written "\t"), and nothing for any other line. Its
 * acknowledgement moves s->acked to end, the byte after it in the file,
 * unless a line before it was refused (end 0: a line out of the file's
 * order, which moves nothing). */
void ship_line(struct ship *s, const char *line, size_t len, off_t end);

/* The file followed was truncated or renamed over: s->acked starts
 * again from 0, and the lines in flight do not move it. */
void ship_restart(struct ship *s);

/* The descriptor readable when the producer has news for ship_serve. */
int ship_wake_fd(const struct ship *s);

/* Counts the acknowledgements and refusals that have come in. */
void ship_serve(struct ship *s);

/* Waits up to timeout_ms for every line to be acknowledged, and closes
 * the producer; returns how many lines were not shipped. */
unsigned long ship_close(struct ship *s, int timeout_ms);

/* Whether line[0,len) is a key line of a pbfire ledger, "SECONDS KEY",
 * "SECONDSf KEY" or "SECONDSs KEY" (SECONDS one digit or more, KEY one
 * byte or more, whatever it holds); its key in *key and *keylen. */
bool ship_ledger_key(const char *line, size_t len, const char **key, size_t *keylen);

#endif
