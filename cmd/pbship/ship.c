/*
 * The producer: librdkafka's idempotent producer (a retry is not written
 * twice to the topic) for one partition of one topic, sending each line
 * as it is handed over, keyed by its ledger key when keyed (a tab in it
 * written "\t", as kcat -K wrote keys before). Messages do not time out:
 * while the broker cannot be reached they wait in the producer's queue
 * (made as large as a long outage needs) and go within a second of its
 * return (the producer tries to connect every second at most); a line
 * counts as failed only when the cluster refuses it, or when pbship is
 * told to stop while an outage has filled the queue. The producer's news
 * (acknowledgements, refusals) wakes the caller's poll through a pipe.
 */
#include "ship.h"

#include <err.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "tool.h"

#define FULL_WAIT_MS 100	/* a look at a full queue, while it drains */

/* A line's end in the file goes with it as librdkafka's opaque pointer. */
_Static_assert(sizeof(uintptr_t) >= sizeof(off_t), "a file offset fits in a pointer");

bool ship_ledger_key(const char *line, size_t len, const char **key, size_t *keylen)
{
	size_t i = 0;
	while (i < len && line[i] >= '0' && line[i] <= '9')
		i++;
	if (i == 0)
		return false;
	if (i < len && (line[i] == 'f' || line[i] == 's'))
		i++;
	if (i + 1 >= len || line[i] != ' ')
		return false;
	*key = line + i + 1;
	*keylen = len - i - 1;
	return true;
}

/* An acknowledgement or a refusal of a line. They come in the order the
 * lines were produced (one partition, an idempotent producer), so an
 * acknowledgement tells that every line before it is acknowledged too,
 * while none has been refused. */
static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct ship *s = opaque;
	off_t end = (off_t)(uintptr_t)m->_private;
	s->unacked--;
	if (s->stale)
		s->stale--;
	else if (!m->err && !s->failed && end > s->acked)
		s->acked = end;
	if (!m->err || m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
		return;
	if (!s->failed++)
		warnx("%s partition %d: a line refused: %s", s->topic, (int)s->partition,
		      rd_kafka_err2str(m->err));
}

void ship_open(struct ship *s, const char *brokers, const char *topic, int32_t partition, bool keyed,
	       const volatile sig_atomic_t *stop)
{
	*s = (struct ship){ .topic = topic, .partition = partition, .keyed = keyed, .stop = stop };
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	kafka_set(conf, "bootstrap.servers", brokers);
	kafka_set(conf, "enable.idempotence", "true");
	kafka_set(conf, "message.timeout.ms", "0");
	kafka_set(conf, "linger.ms", "1");
	kafka_set(conf, "reconnect.backoff.max.ms", "1000");	/* back within a second of the broker */
	kafka_set(conf, "queue.buffering.max.messages", "10000000");
	kafka_set(conf, "queue.buffering.max.kbytes", "2097151");
	kafka_log_to_stderr(conf);
	rd_kafka_conf_set_dr_msg_cb(conf, delivered);
	rd_kafka_conf_set_opaque(conf, s);
	char why[512];
	s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
	if (!s->rk)
		errx(EXIT_FATAL, "%s", why);
	s->rkt = rd_kafka_topic_new(s->rk, topic, NULL);
	if (!s->rkt)
		errx(EXIT_FATAL, "%s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0)
		err(EXIT_FATAL, "pipe");
	rd_kafka_queue_t *q = rd_kafka_queue_get_main(s->rk);
	rd_kafka_queue_io_event_enable(q, s->wake[1], "1", 1);
	rd_kafka_queue_destroy(q);
}

/* key with each tab written "\t", as pbkafka's restore (kcat -K with a
 * tab) and earlier versions wrote keys to the topic, so that compaction
 * finds one key under one name; in s->key, *len its length. */
static const char *tabs_written(struct ship *s, const char *key, size_t *len)
{
	size_t n = 0;
	if (s->key_cap < 2 * *len) {
		s->key_cap = 2 * *len;
		s->key = realloc(s->key, s->key_cap);
		if (!s->key)
			err(EXIT_FATAL, "realloc");
	}
	for (size_t i = 0; i < *len; i++) {
		if (key[i] == '\t') {
			s->key[n++] = '\\';
			s->key[n++] = 't';
		} else {
			s->key[n++] = key[i];
		}
	}
	*len = n;
	return s->key;
}

void ship_line(struct ship *s, const char *line, size_t len, off_t end)
{
	const char *key = NULL;
	size_t keylen = 0;
	if (s->keyed && !ship_ledger_key(line, len, &key, &keylen))
		return;
	if (keylen && memchr(key, '\t', keylen))
		key = tabs_written(s, key, &keylen);
	while (rd_kafka_produce(s->rkt, s->partition, RD_KAFKA_MSG_F_COPY, (void *)(uintptr_t)line, len,
				key, keylen, (void *)(uintptr_t)end) != 0) {
		rd_kafka_resp_err_t e = rd_kafka_last_error();
		if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
			if (!s->failed++)
				warnx("%s partition %d: a line refused: %s", s->topic, (int)s->partition,
				      rd_kafka_err2str(e));
			return;
		}
		if (*s->stop) {	/* a long outage filled the queue: the line is not shipped */
			s->failed++;
			return;
		}
		rd_kafka_poll(s->rk, FULL_WAIT_MS);
	}
	s->unacked++;
}

void ship_restart(struct ship *s)
{
	s->acked = 0;
	s->stale = s->unacked;
}

int ship_wake_fd(const struct ship *s)
{
	return s->wake[0];
}

void ship_serve(struct ship *s)
{
	char b[64];
	while (read(s->wake[0], b, sizeof b) > 0)
		;
	rd_kafka_poll(s->rk, 0);
}

unsigned long ship_close(struct ship *s, int timeout_ms)
{
	rd_kafka_flush(s->rk, timeout_ms);
	rd_kafka_poll(s->rk, 0);
	unsigned long left = s->unacked + s->failed;
	rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	rd_kafka_poll(s->rk, 0);
	rd_kafka_topic_destroy(s->rkt);
	rd_kafka_destroy(s->rk);
	close(s->wake[0]);
	close(s->wake[1]);
	free(s->key);
	return left;
}
