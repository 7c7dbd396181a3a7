#ifndef PB_LANES_H
#define PB_LANES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "transfer.h"

#define LANES_MAX 64

/* Jobs in a list through their next member, oldest first. */
struct job_list {
	struct job *first, *last;
};

static inline struct job *job_list_pop(struct job_list *l)
{
	struct job *j = l->first;
	if (j && !(l->first = j->next))
		l->last = NULL;
	return j;
}

/* Where a host's requests go: its lane, where its last attempt ended. */
struct route {
	bool seen;
	bool http1;			/* each request takes a connection of its own */
	unsigned lane;
};

/* The requests in flight, spread over lanes (see lanes.c). */
struct lane;
struct lanes {
	struct transfer_options opt;
	struct lane *lane;
	unsigned n;
	unsigned running;		/* jobs in the lanes' hands */
	int ended_fd;			/* an eventfd: a lane handed jobs back */
	struct job_list ended;		/* taken from the outboxes, not yet reaped */
};

unsigned lanes_for(unsigned jobs);
void lanes_open(struct lanes *ls, struct transfer_options opt, unsigned n);
void lanes_start(struct lanes *ls, struct job *j, struct route *r);
void lanes_hand_over(struct lanes *ls);
void lanes_work(struct lanes *ls);
struct job *lanes_reap(struct lanes *ls);
void lanes_route_ended(struct route *r, const struct job *j);
void lanes_cut(struct lanes *ls, struct job_list *cut);
void lanes_wait(struct lanes *ls, int input_fd, int64_t due);
void lanes_close(struct lanes *ls);

#endif
