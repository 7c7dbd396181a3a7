#ifndef PB_QUEUE_H
#define PB_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "job.h"
#include "spool.h"

/* A line of a host waiting on disk: where, and its input line number. */
struct spilled_line {
	uint64_t pos;
	unsigned long lineno;
};

/* A host's lines on disk, oldest first: a ring of their positions. */
struct spilled {
	struct spilled_line *at;
	size_t first, n, cap;
};

/* Makes a line taken back from disk a job again. */
typedef struct job *revive_fn(void *arg, const char *line, size_t len, unsigned long lineno);

/* The lines waiting to go to a host (hosts.c), and its slots. */
struct host_lines {
	unsigned running, limit;	/* attempts in flight, and how many may be */
	struct job *first, *last;	/* waiting to be sent, oldest first */
	unsigned backlog;		/* lines in that list */
	struct spilled spilled;		/* and, behind them, lines on disk */
	size_t next_ready;		/* the host after it in the ready ring */
	bool in_ready;
	bool overflowing;		/* backlog full or lines on disk (note_overflow()) */
};

/* The lines waiting to be sent, by host. */
struct queue {
	unsigned per_host, backlog_max;
	struct host_lines *hosts;	/* by host index (hosts.c) */
	size_t nhosts;
	size_t ready_first, ready_last;	/* hosts that may have a line to start */
	struct heap retries;		/* lines waiting to retry: due, job address */
	struct job *parked;		/* lines waiting for their key in flight */
	struct spool overflow;		/* lines of hosts with a full backlog */
	bool overflow_open;
	size_t max_line, overflowing;	/* hosts whose next line goes to disk */
	revive_fn *revive;
	void *revive_arg;
};

void queue_init(struct queue *q, unsigned per_host, size_t max_line, revive_fn *revive, void *arg);
bool queue_add(struct queue *q, struct job *j);
struct job *queue_next(struct queue *q);
void queue_return(struct queue *q, struct job *j);
void queue_set_limit(struct queue *q, size_t i, unsigned limit);
void queue_started(struct queue *q, const struct job *j);
void queue_ended(struct queue *q, const struct job *j);
void queue_retry_at(struct queue *q, struct job *j, int64_t when);
bool queue_next_retry(const struct queue *q, int64_t *when);
void queue_release_due(struct queue *q, int64_t now);
void queue_park(struct queue *q, struct job *j, const struct job *behind);
void queue_unpark(struct queue *q, const struct job *behind);
void queue_withdraw(struct queue *q, struct job *j);
void queue_take_host(struct queue *q, size_t i, void (*take)(void *arg, struct job *j), void *arg);
void queue_drain(struct queue *q, void (*end)(void *arg, struct job *j), void *arg);
void queue_reclaim(struct queue *q);
void queue_free(struct queue *q);

#endif
