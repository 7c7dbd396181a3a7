#ifndef PB_LOADER_H
#define PB_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "compose.h"
#include "rules.h"
#include "strmap.h"
#include "uritemplate.h"

/* A rule file being loaded. */
struct loader {
	const char *path;
	struct rules *rules;
	struct composed yaml;
	struct strmap names;	/* postback name -> its index */
	int errors;
	bool strict;		/* warnings are errors */
};

void loader_report(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void loader_report_at(struct loader *l, const yaml_node_t *n, size_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void loader_warn_at(struct loader *l, const yaml_node_t *n, size_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void loader_unknown(struct loader *l, const yaml_node_t *n, const char *what,
		    const char *word, const char *const *choices);
yaml_node_t *loader_node(struct loader *l, int id);
const char *loader_scalar(const yaml_node_t *n);
const char *loader_kind(const yaml_node_t *n);
const char *loader_want_scalar(struct loader *l, const yaml_node_t *n, const char *key);
const char *loader_member_key(struct loader *l, const yaml_node_t *n, const yaml_node_pair_t *p,
			      const char *what);
void loader_each_value(struct loader *l, yaml_node_t *n, const char *key,
		       void (*add)(struct loader *, yaml_node_t *, const char *, void *), void *arg);
int loader_lookup(const char *word, const char *const *names, int count);
void loader_check_template(struct loader *l, yaml_node_t *v, enum tmpl_mode mode,
			   const char *what, const char *key);
void loader_check_macros(struct loader *l, yaml_node_t *v, enum tmpl_mode mode, const char *what);

/* The members of a postback that say how pbfire delivers it (delivery.c). */
void delivery_read_sign(struct loader *l, yaml_node_t *n, yaml_node_t *headers, struct postback *pb);
void delivery_read_timeout(struct loader *l, yaml_node_t *n, struct postback *pb);
void delivery_read_attempts(struct loader *l, yaml_node_t *n, struct postback *pb);
yaml_node_t *delivery_read_final(struct loader *l, yaml_node_t *n, struct postback *pb);
void delivery_read_expect(struct loader *l, yaml_node_t *n, struct postback *pb);
void delivery_read_rate(struct loader *l, yaml_node_t *n, struct postback *pb);

#endif
