/*
 * What pb's two librdkafka clients, pbgroup's member and pbship's
 * producer, set up the same way: a configuration property set or the
 * tool stopped (exit 2) naming it, and librdkafka's log lines on
 * standard error, prefixed with the tool's name and "kafka:". Only the
 * tools that call these link librdkafka (a tool pulls from the archive
 * only what it calls).
 */
#include "kafka.h"

#include <err.h>

#include "tool.h"

void kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value)
{
	char why[512];
	if (rd_kafka_conf_set(conf, name, value, why, sizeof why) != RD_KAFKA_CONF_OK)
		errx(EXIT_FATAL, "kafka: %s=%s: %s", name, value, why);
}

static void log_line(const rd_kafka_t *rk, int level, const char *facility, const char *line)
{
	(void)rk;
	(void)level;
	warnx("kafka: %s: %s", facility, line);
}

void kafka_log_to_stderr(rd_kafka_conf_t *conf)
{
	rd_kafka_conf_set_log_cb(conf, log_line);
}
