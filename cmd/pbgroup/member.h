#ifndef PB_MEMBER_H
#define PB_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A member of a consumer group, as pbkafka runs it. */
struct member_options {
	const char *brokers, *group, *topic, *lease_dir;
	char **props;		/* -X NAME=VALUE, each as given */
	int nprops;
};

/* Joins the group and serves it until SIGTERM or SIGINT; returns the
 * exit status (member.c says what it tells pbkafka and hears back). */
int member_run(const struct member_options *o);

/* Whether s[0,n) (its newline taken off) is pbkafka's word that it has
 * stopped a partition, "revoked P" (P from 0 to 2147483647, written
 * plainly); P in *partition. */
bool member_reply_parse(const char *s, size_t n, int32_t *partition);

/* Splits -X's NAME=VALUE at its first '=' (s is changed); NULL when
 * there is none or NAME is empty, else VALUE. */
char *member_property_split(char *s);

#endif
