/*
 * The requests in flight, spread over lanes: libcurl multi handles, the
 * first driven by the main thread between its other work and each other
 * one by a thread of its own, so that libcurl's and the kernel's work for
 * many requests spreads over the machine's cores. The main thread hands
 * a lane jobs to start and takes back those whose attempt ended. A job
 * belongs to one thread at a time, the main thread's until handed over
 * and the lane's until handed back, and a lane and the main thread share
 * nothing else but the lane's inbox, outbox and requests, under its lock.
 * Each lane has connections of its own. A host's requests go to the lane
 * where its last attempt ended (its route, kept with the host, hosts.c), which has its connection free: always,
 * while the host may share an HTTP/2 connection (https, until it answers
 * over HTTP/1); an HTTP/1 host's only while that lane carries fewer than
 * JOBS_PER_LANE, else to the least busy lane. A lane keeps the easy
 * handles of ended attempts, reset, for its next.
 */
#include "lanes.h"
#include "deadline.h"
#include "tool.h"
#include "wake.h"

#include <curl/curl.h>
#include <err.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define JOBS_PER_LANE 16		/* -j for each lane by default */
#define LANE_WAIT_MS 60000		/* a lane's longest wait for libcurl or work */
#define MAIN_WAIT_MS (3600 * 1000)	/* the main thread's: one with no deadline still ends now and then */

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
	bool threaded;			/* it has a thread of its own */
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

static void list_add(struct job_list *l, struct job *j)
{
	j->next = NULL;
	*(l->last ? &l->last->next : &l->first) = j;
	l->last = j;
}

static void list_splice(struct job_list *to, struct job_list *from)
{
	if (!from->first)
		return;
	*(to->last ? &to->last->next : &to->first) = from->first;
	to->last = from->last;
	*from = (struct job_list){ 0 };
}

/* ---- a lane's own work ---- */

static void link_running(struct lane *l, struct job *j)
{
	j->prev = NULL;
	j->next = l->running;
	if (l->running)
		l->running->prev = j;
	l->running = j;
}

static void unlink_running(struct lane *l, struct job *j)
{
	*(j->prev ? &j->prev->next : &l->running) = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
}

/* Stops pbfire for a failure in lane l. The main thread's lane exits as
 * any error does; a lane's own thread must not run exit() beside the main
 * thread, so it ends the process at once, as SIGKILL would, which is what
 * the spool and the ledger are made to survive. Nothing a lane's thread
 * runs calls exit() otherwise: it allocates only through libcurl, its
 * idle handles' array (here) and a job's message, which has its room
 * before it is handed over (TRANSFER_MESSAGE_MAX). */
static void lane_fail(const struct lane *l, const char *what)
{
	if (!l->threaded)
		errx(EXIT_FATAL, "%s", what);
	warnx("%s", what);
	_exit(EXIT_FATAL);
}

/* Starts the attempt of j the main thread handed over. */
static void lane_start(struct lane *l, struct job *j)
{
	j->easy = l->nidle ? l->idle[--l->nidle] : curl_easy_init();
	if (!j->easy)
		lane_fail(l, "curl_easy_init failed");
	transfer_prepare(l->opt, j, j->easy);
	link_running(l, j);
	curl_multi_add_handle(l->multi, j->easy);
}

/* Ends j's transfer, finished or not, and keeps its handle, reset, for
 * another attempt. */
static void lane_end(struct lane *l, struct job *j)
{
	curl_multi_remove_handle(l->multi, j->easy);
	curl_easy_reset(j->easy);
	if (l->nidle == l->idle_cap) {
		size_t cap = l->idle_cap ? 2 * l->idle_cap : 16;
		CURL **idle = reallocarray(l->idle, cap, sizeof *idle);
		if (!idle)
			lane_fail(l, "out of memory");
		l->idle = idle;
		l->idle_cap = cap;
	}
	l->idle[l->nidle++] = j->easy;
	j->easy = NULL;
	unlink_running(l, j);
}

/* Hands the jobs whose attempt ended back to the main thread, waking it
 * when the outbox was empty (a later hand back finds it taken or waking). */
static void lane_hand_back(struct lane *l)
{
	struct job_list ended = { 0 };
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(l->multi, &left))) {
		char *private;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &private);
		struct job *j = (struct job *)(void *)private;
		transfer_read_outcome(j, m->data.result);
		lane_end(l, j);
		list_add(&ended, j);
	}
	if (!ended.first)
		return;
	pthread_mutex_lock(&l->lock);
	bool was_empty = !l->outbox.first;
	list_splice(&l->outbox, &ended);
	pthread_mutex_unlock(&l->lock);
	if (was_empty && l->ended_fd >= 0 && eventfd_write(l->ended_fd, 1) < 0)
		lane_fail(l, "eventfd_write failed");
}

/* Ends every attempt in flight, as the main thread asked, and says so. */
static void lane_cut(struct lane *l)
{
	struct job_list cut = { 0 };
	while (l->running) {
		struct job *j = l->running;
		lane_end(l, j);
		list_add(&cut, j);
	}
	pthread_mutex_lock(&l->lock);
	list_splice(&l->cut, &cut);
	l->cutting = false;
	pthread_cond_signal(&l->cut_done);
	pthread_mutex_unlock(&l->lock);
}

/* One round of a lane's work: start what it was handed, cut what it was
 * asked to, let libcurl work and hand back what ended; false when it is
 * to stop. */
static bool lane_step(struct lane *l)
{
	int still;
	pthread_mutex_lock(&l->lock);
	struct job_list start = l->inbox;
	bool cutting = l->cutting, quitting = l->quitting;
	l->inbox = (struct job_list){ 0 };
	pthread_mutex_unlock(&l->lock);
	for (struct job *j; (j = job_list_pop(&start));)
		lane_start(l, j);
	if (cutting)
		lane_cut(l);
	if (quitting)
		return false;
	curl_multi_perform(l->multi, &still);
	lane_hand_back(l);
	return true;
}

/* The loop of a lane with a thread: a round of work, then a wait for a
 * socket, a timer or the main thread. */
static void *lane_run(void *arg)
{
	struct lane *l = arg;
	while (lane_step(l))
		if (curl_multi_poll(l->multi, NULL, 0, LANE_WAIT_MS, NULL) != CURLM_OK)
			lane_fail(l, "curl_multi_poll failed");
	return NULL;
}

/* Asks lane l, when it has a thread, to do a round of work. */
static void lane_wake(struct lane *l)
{
	if (l->threaded)
		curl_multi_wakeup(l->multi);
}

/* ---- the main thread's ---- */

/* The default number of lanes for -j jobs: one for every JOBS_PER_LANE,
 * and no more than the cores pbfire may run on. */
unsigned lanes_for(unsigned jobs)
{
	cpu_set_t cpus;
	long cores = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus)
								    : sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = (jobs + JOBS_PER_LANE - 1) / JOBS_PER_LANE;
	if (cores > 0 && n > (unsigned long)cores)
		n = (unsigned)cores;
	return n < 1 ? 1 : n > LANES_MAX ? LANES_MAX : n;
}

/* Sets up n lanes: the first, the main thread's; a thread for each other
 * one, which takes no signal (they are the main thread's to take) and
 * wakes the main thread through ended_fd when it hands jobs back. */
void lanes_open(struct lanes *ls, struct transfer_options opt, unsigned n)
{
	sigset_t all, old;
	*ls = (struct lanes){ .opt = opt, .n = n, .lane = xcalloc(n, sizeof *ls->lane) };
	ls->ended_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ls->ended_fd < 0)
		err(EXIT_FATAL, "eventfd");
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < n; i++) {
		struct lane *l = &ls->lane[i];
		l->multi = curl_multi_init();
		l->opt = &ls->opt;
		l->threaded = i > 0;
		l->ended_fd = l->threaded ? ls->ended_fd : -1;
		if (!l->multi)
			errx(EXIT_FATAL, "cannot set up libcurl");
		pthread_mutex_init(&l->lock, NULL);
		pthread_cond_init(&l->cut_done, NULL);
		int rc = l->threaded ? pthread_create(&l->thread, NULL, lane_run, l) : 0;
		if (rc)
			errx(EXIT_FATAL, "cannot start a thread: %s", strerror(rc));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static unsigned least_busy(const struct lanes *ls)
{
	unsigned lane = 0;
	for (unsigned i = 1; i < ls->n; i++)
		if (ls->lane[i].handed < ls->lane[lane].handed)
			lane = i;
	return lane;
}

/* The lane for the next request to r's host: the host's, unless the host
 * answers over HTTP/1 and that lane carries JOBS_PER_LANE or more, then
 * the least busy. A new host's is the least busy; over plain http it is
 * taken to answer over HTTP/1 (pbfire asks for HTTP/2 over TLS only). */
static unsigned lane_for(struct lanes *ls, struct route *r, const struct job *j)
{
	if (!r->seen) {
		r->seen = true;
		r->http1 = strncasecmp(j->url, "https:", 6) != 0;
		r->lane = least_busy(ls);
	} else if (r->http1 && ls->lane[r->lane].handed >= JOBS_PER_LANE) {
		r->lane = least_busy(ls);
	}
	return r->lane;
}

/* Hands j's next attempt to the lane of its host's route r, which starts
 * it at the next lanes_hand_over(). */
void lanes_start(struct lanes *ls, struct job *j, struct route *r)
{
	struct lane *l = &ls->lane[lane_for(ls, r, j)];
	j->lane = (unsigned)(l - ls->lane);
	j->host_http1 = r->http1;
	transfer_make_room(&ls->opt, j);	/* the lane writes its outcome there */
	list_add(&l->pending, j);
	l->handed++;
	ls->running++;
}

/* Gives each lane the attempts started for it, waking those with a
 * thread. */
void lanes_hand_over(struct lanes *ls)
{
	for (unsigned i = 0; i < ls->n; i++) {
		struct lane *l = &ls->lane[i];
		if (!l->pending.first)
			continue;
		pthread_mutex_lock(&l->lock);
		list_splice(&l->inbox, &l->pending);
		pthread_mutex_unlock(&l->lock);
		lane_wake(l);
	}
}

/* Does a round of the main thread's own lane's work: starts what it was
 * handed, lets libcurl work and hands back what ended. */
void lanes_work(struct lanes *ls)
{
	lane_step(&ls->lane[0]);
}

/* Notes that j is back from its lane. */
static struct job *taken_back(struct lanes *ls, struct job *j)
{
	ls->lane[j->lane].handed--;
	ls->running--;
	return j;
}

/* The next job whose attempt ended, its outcome read into it; NULL when
 * no other attempt has ended. */
struct job *lanes_reap(struct lanes *ls)
{
	if (!ls->ended.first) {
		eventfd_t n;
		eventfd_read(ls->ended_fd, &n);	/* before the outboxes: a later hand back signals again */
		for (unsigned i = 0; i < ls->n; i++) {
			struct lane *l = &ls->lane[i];
			pthread_mutex_lock(&l->lock);
			list_splice(&ls->ended, &l->outbox);
			pthread_mutex_unlock(&l->lock);
		}
	}
	struct job *j = job_list_pop(&ls->ended);
	return j ? taken_back(ls, j) : NULL;
}

/* Notes in the route r of j's host that j's attempt ended, over HTTP/1 or
 * not, in j's lane. */
void lanes_route_ended(struct route *r, const struct job *j)
{
	r->http1 |= j->http1;
	if (r->http1)
		r->lane = j->lane;	/* where its connection is free now */
}

/* Ends every attempt in flight and puts their jobs in cut; the attempts
 * that ended before stay for lanes_reap(). */
void lanes_cut(struct lanes *ls, struct job_list *cut)
{
	if (!ls->running)
		return;
	for (unsigned i = 0; i < ls->n; i++) {
		struct lane *l = &ls->lane[i];
		pthread_mutex_lock(&l->lock);
		l->cutting = true;
		pthread_mutex_unlock(&l->lock);
		lane_wake(l);
	}
	lane_step(&ls->lane[0]);
	for (unsigned i = 0; i < ls->n; i++) {
		struct lane *l = &ls->lane[i];
		pthread_mutex_lock(&l->lock);
		while (l->cutting)
			pthread_cond_wait(&l->cut_done, &l->lock);
		for (struct job *j = l->cut.first; j; j = j->next)
			taken_back(ls, j);
		list_splice(cut, &l->cut);
		pthread_mutex_unlock(&l->lock);
	}
}

/* Waits until due, in nanoseconds since the epoch (INT64_MAX: none),
 * for MAIN_WAIT_MS at most, or less when the main thread's lane has a
 * timer due sooner, for one of that lane's sockets, another lane handing
 * back an attempt, a signal or, when input_fd >= 0, input. */
void lanes_wait(struct lanes *ls, int input_fd, int64_t due)
{
	deadline_set(due);
	struct curl_waitfd fds[4] = {
		{ .fd = wake_fd(), .events = CURL_WAIT_POLLIN },
		{ .fd = ls->ended_fd, .events = CURL_WAIT_POLLIN },
		{ .fd = deadline_fd(), .events = CURL_WAIT_POLLIN },
	};
	unsigned n = 3;
	if (input_fd >= 0)
		fds[n++] = (struct curl_waitfd){ .fd = input_fd, .events = CURL_WAIT_POLLIN };
	if (curl_multi_poll(ls->lane[0].multi, fds, n, MAIN_WAIT_MS, NULL) != CURLM_OK)
		errx(EXIT_FATAL, "curl_multi_poll failed");
}

/* Stops the lanes' threads and lets go of every lane, ending what it
 * still has in flight. */
void lanes_close(struct lanes *ls)
{
	for (unsigned i = 0; i < ls->n; i++) {
		struct lane *l = &ls->lane[i];
		if (l->threaded) {
			pthread_mutex_lock(&l->lock);
			l->quitting = true;
			pthread_mutex_unlock(&l->lock);
			lane_wake(l);
			pthread_join(l->thread, NULL);
		}
		while (l->running)
			lane_end(l, l->running);
		while (l->nidle)
			curl_easy_cleanup(l->idle[--l->nidle]);
		free(l->idle);
		curl_multi_cleanup(l->multi);
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->cut_done);
	}
	free(ls->lane);
	close(ls->ended_fd);
}
