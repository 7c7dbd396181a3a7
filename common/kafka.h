#ifndef PB_KAFKA_H
#define PB_KAFKA_H

#include <librdkafka/rdkafka.h>

void kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value);
void kafka_log_to_stderr(rd_kafka_conf_t *conf);

#endif
