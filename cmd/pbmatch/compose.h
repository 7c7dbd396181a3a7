#ifndef PB_COMPOSE_H
#define PB_COMPOSE_H

#include <stdbool.h>
#include <yaml.h>

/* A YAML document composed from libyaml's events: its nodes, as
 * yaml_parser_load() makes them, and the blocks their scalars, pairs and
 * items are kept in. */
struct composed {
	yaml_document_t doc;
	struct compose_block *blocks;
};

bool compose_load(yaml_parser_t *parser, struct composed *c);
void compose_delete(struct composed *c);

#endif
