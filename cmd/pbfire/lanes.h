#ifndef PB_LANES_H
#define PB_LANES_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "job.h"
#include "transfer.h"

#define LANES_MAX 64

/* Jobs in a list through their next member, oldest first. */
struct job_list {
	struct job *first, *last;
};

/* A libcurl multi handle sending requests, in a thread of its own but for
 * the first lane, which is the main thread's. What a lane shares with the
 * main thread is under its lock; the rest is one thread's alone. */
struct lane {
	pthread_mutex_t lock;
	pthread_cond_t cut_done;	/* it has cut its attempts short, as asked */
	struct job_list inbox;		/* jobs to start */
	struct job_list outbox;		/* jobs whose attempt ended */
	struct job_list cut;		/* jobs whose attempt it cut short */
	bool cutting, quitting;		/* what the main thread asks of it */
	/* the main thread's: */
	pthread_t thread;
	struct job_list pending;	/* jobs for it, not yet in its inbox */
	unsigned handed;		/* jobs handed over and not yet back */
	/* the lane's: */
	CURLM *multi;
	const struct transfer_options *opt;
	int ended_fd;			/* signalled when its outbox fills; -1: none */
	struct job *running;		/* a list through prev and next */
	CURL **idle;			/* easy handles of ended attempts, reset */
	size_t nidle, idle_cap;
};

/* Which lane a host's requests go to: its own while they may share a
 * connection, any once the host answered over HTTP/1. */
struct route {
	bool seen, http1;
	unsigned lane;
};

/* The requests in flight, spread over lanes. */
struct lanes {
	struct transfer_options opt;
	struct lane *lane;
	unsigned n;
	unsigned running;		/* jobs in the lanes' hands */
	int ended_fd;			/* an eventfd: a lane handed jobs back */
	struct job_list ended;		/* taken from the outboxes, not yet reaped */
	struct route *routes;		/* by host */
	size_t nroutes;
};

unsigned lanes_for(unsigned jobs);
void lanes_open(struct lanes *ls, struct transfer_options opt, unsigned n);
void lanes_start(struct lanes *ls, struct job *j, int64_t now);
void lanes_hand_over(struct lanes *ls);
struct job *lanes_reap(struct lanes *ls);
void lanes_cut(struct lanes *ls, struct job_list *cut);
void lanes_wait(struct lanes *ls, int input_fd, int timeout_ms);
void lanes_close(struct lanes *ls);

#endif
