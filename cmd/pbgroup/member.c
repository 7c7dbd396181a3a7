/*
 * The group member: a librdkafka consumer of the actions topic in a
 * consumer group, with the cooperative-sticky assignor, that fetches
 * nothing (its partitions are paused: each partition's pipeline reads
 * the actions with kcat) and whose only work is to own partitions. On
 * an assignment it writes "assign P" on standard output, a line a
 * partition, for pbkafka to restore and start each; on a revocation,
 * first the partitions' leases go (their pbfire start no request
 * after LEASE_RECHECK_NS), then "revoke P" for each, and the partitions are given up
 * only once pbkafka has answered "revoked P" on standard input for
 * every one: their pipelines have stopped and their last keys are in
 * pb-fired. A revocation of partitions the group has already given to
 * another member (librdkafka found the session expired, or the
 * coordinator no longer knew the member) is said on stderr: the member
 * was fenced. A thread renews the leases (lease.c) of the partitions
 * owned every TICK_NS, each for the session timeout less one heartbeat
 * interval and MARGIN_NS, so that a member that stops (SIGSTOP, a paused
 * VM, a hung process) lets its leases run out before the coordinator can
 * give its partitions away; a member that finds it was stopped for more
 * than GAP_NS renews nothing for one heartbeat interval and QUIET_NS
 * more, the time librdkafka takes to find out, by a heartbeat or its own
 * session timer, whether the group has moved on without it.
 */
#include "member.h"

#include <err.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lease.h"
#include "kafka.h"
#include "tool.h"

#define TICK_NS 100000000LL		/* between renewals of the leases */
#define GAP_NS 1000000000LL		/* a tick this late means the member was stopped */
#define QUIET_NS 3000000000LL		/* with a heartbeat interval, no renewal after a stop */
#define MARGIN_NS 1000000000LL		/* a lease ends this long before the session could */
#define POLL_MS 100

struct member {
	rd_kafka_t *rk;
	const char *lease_dir;
	int64_t lease_ns;	/* how long a lease runs from its renewal */
	int64_t quiet_ns;	/* how long no lease is renewed after a stop */
	pthread_mutex_t lock;	/* owned and nowned, between the poll and the ticker */
	int32_t *owned;
	int nowned;
	atomic_bool done;	/* the ticker's end */
};

static volatile sig_atomic_t stop_asked;

static void ask_stop(int sig)
{
	(void)sig;
	stop_asked = 1;
}

bool member_reply_parse(const char *s, size_t n, int32_t *partition)
{
	static const char word[] = "revoked ";
	size_t w = sizeof word - 1;
	if (n && s[n - 1] == '\n')
		n--;
	if (n <= w || memcmp(s, word, w) != 0 || (s[w] == '0' && n > w + 1))
		return false;
	int64_t v = 0;
	for (size_t i = w; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || (v = v * 10 + (s[i] - '0')) > INT32_MAX)
			return false;
	}
	*partition = (int32_t)v;
	return true;
}

char *member_property_split(char *s)
{
	char *eq = strchr(s, '=');
	if (!eq || eq == s)
		return NULL;
	*eq = '\0';
	return eq + 1;
}

static void lease_path(const struct member *m, int32_t p, char *path, size_t size)
{
	if (snprintf(path, size, "%s/lease.%d", m->lease_dir, p) >= (int)size)
		errx(EXIT_FATAL, "%s: directory name too long", m->lease_dir);
}

/* Tells pbkafka WORD P for each partition of parts. */
static void tell(const char *word, const rd_kafka_topic_partition_list_t *parts)
{
	for (int i = 0; i < parts->cnt; i++)
		printf("%s %d\n", word, parts->elems[i].partition);
	if (fflush(stdout) != 0)
		err(EXIT_FATAL, "standard output");
}

/* Returns once pbkafka has answered "revoked P" for each of parts. */
static void await_revoked(const rd_kafka_topic_partition_list_t *parts)
{
	char *line = NULL;
	size_t size = 0;
	int left = parts->cnt;
	bool *done = calloc((size_t)parts->cnt + 1, sizeof *done);
	if (!done)
		err(EXIT_FATAL, "calloc");
	while (left > 0) {
		ssize_t n = getline(&line, &size, stdin);
		if (n < 0)
			errx(EXIT_FATAL, "standard input ended while partitions were being given up");
		int32_t p;
		int i = parts->cnt;
		if (member_reply_parse(line, (size_t)n, &p))
			for (i = 0; i < parts->cnt && (parts->elems[i].partition != p || done[i]); i++)
				;
		if (i == parts->cnt)
			errx(EXIT_FATAL, "standard input: '%.*s%s': not 'revoked P' for a partition being given up",
			     SHOWN(line, (size_t)n - (line[n - 1] == '\n')));
		done[i] = true;
		left--;
	}
	free(done);
	free(line);
}

static void take(struct member *m, rd_kafka_topic_partition_list_t *parts)
{
	rd_kafka_error_t *e = rd_kafka_incremental_assign(m->rk, parts);
	if (e)
		errx(EXIT_REJECTED, "cannot take partitions: %s", rd_kafka_error_string(e));
	rd_kafka_pause_partitions(m->rk, parts);
	pthread_mutex_lock(&m->lock);
	int32_t *owned = realloc(m->owned, (size_t)(m->nowned + parts->cnt + 1) * sizeof *owned);
	if (!owned)
		err(EXIT_FATAL, "realloc");
	for (int i = 0; i < parts->cnt; i++)
		owned[m->nowned++] = parts->elems[i].partition;
	m->owned = owned;
	pthread_mutex_unlock(&m->lock);
	tell("assign", parts);
}

static void give_up(struct member *m, rd_kafka_topic_partition_list_t *parts)
{
	bool lost = rd_kafka_assignment_lost(m->rk);
	char path[4096];
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < parts->cnt; i++) {
		int32_t p = parts->elems[i].partition;
		for (int j = 0; j < m->nowned; j++)
			if (m->owned[j] == p)
				m->owned[j--] = m->owned[--m->nowned];
		lease_path(m, p, path, sizeof path);
		if (unlink(path) != 0 && errno != ENOENT)
			err(EXIT_FATAL, "%s", path);
		if (lost)
			warnx("partition %d: fenced: the group gave it to another member while this one "
			      "was away; stopping its pipeline", p);
	}
	pthread_mutex_unlock(&m->lock);
	tell("revoke", parts);
	await_revoked(parts);
	rd_kafka_error_t *e = rd_kafka_incremental_unassign(m->rk, parts);
	if (e)
		errx(EXIT_REJECTED, "cannot give partitions up: %s", rd_kafka_error_string(e));
}

static void rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t why, rd_kafka_topic_partition_list_t *parts,
		      void *opaque)
{
	(void)rk;
	if (why == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
		take(opaque, parts);
	else
		give_up(opaque, parts);
}

/* The ticker: renews the lease of every partition owned, but for a
 * while after the member was found stopped. */
static void *tick(void *arg)
{
	struct member *m = arg;
	char path[4096];
	int64_t last = lease_now(), quiet_until = 0;
	while (!atomic_load(&m->done)) {
		nanosleep(&(struct timespec){ 0, TICK_NS }, NULL);
		int64_t now = lease_now();
		if (now - last > GAP_NS) {
			quiet_until = now + m->quiet_ns;
			warnx("stopped for %.1f s: no lease renewed for %.1f s, until the group has said "
			      "whether this member still owns its partitions",
			      (double)(now - last) / 1e9, (double)m->quiet_ns / 1e9);
		}
		last = now;
		if (now < quiet_until)
			continue;
		pthread_mutex_lock(&m->lock);
		for (int i = 0; i < m->nowned; i++) {
			lease_path(m, m->owned[i], path, sizeof path);
			if (!lease_write(path, now + m->lease_ns))
				err(EXIT_FATAL, "%s", path);
		}
		pthread_mutex_unlock(&m->lock);
	}
	return NULL;
}

static int64_t conf_ms(rd_kafka_conf_t *conf, const char *name)
{
	char b[64];
	size_t n = sizeof b;
	if (rd_kafka_conf_get(conf, name, b, &n) != RD_KAFKA_CONF_OK)
		errx(EXIT_FATAL, "%s: not a setting of this librdkafka", name);
	return strtoll(b, NULL, 10) * 1000000;
}

/* The client's settings: ours, then -X's; the lease's length in *m. */
static rd_kafka_conf_t *configure(const struct member_options *o, struct member *m)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	kafka_set(conf, "bootstrap.servers", o->brokers);
	kafka_set(conf, "group.id", o->group);
	kafka_set(conf, "partition.assignment.strategy", "cooperative-sticky");
	kafka_set(conf, "enable.auto.commit", "false");
	kafka_set(conf, "enable.auto.offset.store", "false");
	for (int i = 0; i < o->nprops; i++) {
		char *name = strdup(o->props[i]), *value = name ? member_property_split(name) : NULL;
		if (!value)
			errx(EXIT_FATAL, "-X %s: not NAME=VALUE", o->props[i]);
		kafka_set(conf, name, value);
		free(name);
	}
	int64_t heartbeat = conf_ms(conf, "heartbeat.interval.ms");
	m->lease_ns = conf_ms(conf, "session.timeout.ms") - heartbeat - MARGIN_NS;
	m->quiet_ns = heartbeat + QUIET_NS;
	if (m->lease_ns < GAP_NS + MARGIN_NS)
		errx(EXIT_FATAL, "session.timeout.ms must exceed heartbeat.interval.ms by 3 s at least");
	kafka_log_to_stderr(conf);
	rd_kafka_conf_set_rebalance_cb(conf, rebalance);
	rd_kafka_conf_set_opaque(conf, m);
	return conf;
}

static void subscribe(rd_kafka_t *rk, const char *topic)
{
	rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
	rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
	rd_kafka_topic_partition_list_destroy(topics);
	if (e)
		errx(EXIT_FATAL, "%s: cannot subscribe: %s", topic, rd_kafka_err2str(e));
}

/* Serves the group: rebalances come through poll; a fatal error of the
 * client ends the run, status 1. */
static int serve(struct member *m)
{
	while (!stop_asked) {
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(m->rk, POLL_MS);
		if (msg && msg->err == RD_KAFKA_RESP_ERR__FATAL) {
			char why[512];
			rd_kafka_fatal_error(m->rk, why, sizeof why);
			warnx("kafka: %s", why);
			rd_kafka_message_destroy(msg);
			return EXIT_REJECTED;
		}
		if (msg)
			rd_kafka_message_destroy(msg);
	}
	return EXIT_OK;
}

int member_run(const struct member_options *o)
{
	struct member m = { .lease_dir = o->lease_dir, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t ticker;
	char why[512];
	struct sigaction sa = { .sa_handler = ask_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	m.rk = rd_kafka_new(RD_KAFKA_CONSUMER, configure(o, &m), why, sizeof why);
	if (!m.rk)
		errx(EXIT_FATAL, "cannot start librdkafka: %s", why);
	rd_kafka_poll_set_consumer(m.rk);
	subscribe(m.rk, o->topic);
	if ((errno = pthread_create(&ticker, NULL, tick, &m)) != 0)
		err(EXIT_FATAL, "pthread_create");
	int status = serve(&m);
	rd_kafka_resp_err_t e = rd_kafka_consumer_close(m.rk);	/* gives every partition up, as give_up() does */
	if (e && !status) {
		warnx("leaving the group: %s", rd_kafka_err2str(e));
		status = EXIT_REJECTED;
	}
	atomic_store(&m.done, true);
	pthread_join(ticker, NULL);
	rd_kafka_destroy(m.rk);
	free(m.owned);
	return status;
}
