/*
 * kafka_mock: a Kafka cluster for the tests, without a broker to install.
 * It starts librdkafka's mock cluster (rdkafka_mock.h: one broker on an
 * ephemeral 127.0.0.1 port that speaks the real protocol, kcat included),
 * creates each topic named as TOPIC:PARTITIONS, prints the bootstrap
 * address on one line, and serves until its standard input ends or a
 * signal ends it. A line "down" on standard input takes the broker down
 * (its connections are cut and new ones refused, as when the network to
 * it is lost), "up" brings it back; anything else ends the mock
 * (status 2). The mock keeps everything in memory; it neither compacts
 * topics nor finds offsets by timestamp (a ListOffsets for a time answers
 * offset -1, which kcat reads as the end), as pb-kafka(7) says.
 * Exit status: 0 at the end of input, 2 for a bad argument or a cluster
 * that cannot start.
 */
#include <err.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define USAGE "usage: kafka_mock TOPIC:PARTITIONS ..."

/* A client handle for the cluster's book-keeping; it sends nothing. */
static rd_kafka_t *new_handle(void)
{
	char errstr[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
		errx(2, "%s", errstr);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
	if (!rk)
		errx(2, "cannot start librdkafka: %s", errstr);
	return rk;
}

/* Creates the topic that spec "TOPIC:PARTITIONS" names. */
static void create_topic(rd_kafka_mock_cluster_t *mc, const char *spec)
{
	const char *colon = strrchr(spec, ':');
	char *end;
	long partitions = colon ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || colon == spec || *end || partitions < 1 || partitions > 1000)
		errx(2, "%s: not TOPIC:PARTITIONS\n%s", spec, USAGE);
	char *topic = strndup(spec, (size_t)(colon - spec));
	if (!topic)
		err(2, "strndup");
	rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, topic, (int)partitions, 1);
	if (e)
		errx(2, "%s: %s", topic, rd_kafka_err2str(e));
	free(topic);
}

/* Takes the broker down or up as standard input says; returns at its
 * end. */
static void serve(rd_kafka_mock_cluster_t *mc)
{
	char *line = NULL;
	size_t size = 0;
	while (getline(&line, &size, stdin) > 0) {
		rd_kafka_resp_err_t e;
		if (strcmp(line, "down\n") == 0)
			e = rd_kafka_mock_broker_set_down(mc, -1);
		else if (strcmp(line, "up\n") == 0)
			e = rd_kafka_mock_broker_set_up(mc, -1);
		else
			errx(2, "standard input: '%.*s': not down or up", (int)strcspn(line, "\n"), line);
		if (e)
			errx(2, "%s", rd_kafka_err2str(e));
	}
	free(line);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		errx(2, "%s", USAGE);
	rd_kafka_t *rk = new_handle();
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
	if (!mc)
		errx(2, "cannot start the mock cluster");
	for (int i = 1; i < argc; i++)
		create_topic(mc, argv[i]);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	if (fflush(stdout) != 0)
		err(2, "stdout");
	serve(mc);
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
