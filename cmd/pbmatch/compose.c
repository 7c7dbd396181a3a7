/*
 * Composing the rule file's YAML documents from libyaml's events, as
 * yaml_parser_load() does, into the yaml_document_t the loader reads:
 * the same nodes in the same order, with the same marks, anchors and
 * aliases resolved alike (an alias is the index of its anchor's node),
 * and the same errors left in the parser (an undefined alias, an anchor
 * given twice); one document a call, and none, with no root, at the end
 * of the stream. What differs is memory: libyaml's composer makes an
 * allocation for each node's tag, each scalar, and the pairs or items of
 * each collection, which for a 100,000-postback file is millions of them
 * and most of the time it takes to load; here scalars, pairs and items
 * are copied into a few large blocks, nodes carry no tag (the loader
 * reads none), and all is freed at once by compose_delete(), never by
 * yaml_document_delete(). Collections are composed with a stack of those
 * open, not by recursion, so any depth of nesting loads.
 */
#include "compose.h"
#include "buf.h"
#include "strmap.h"
#include "tool.h"

#include <err.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_SIZE (1 << 20)

struct compose_block {
	struct compose_block *next;
	size_t used, cap;
};

/* n bytes of c's blocks, aligned for pairs and items. */
static void *take(struct composed *c, size_t n)
{
	struct compose_block *b = c->blocks;
	n = (n + 7) & ~(size_t)7;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;
		b = xmalloc(sizeof *b + cap);
		*b = (struct compose_block){ c->blocks, 0, cap };
		c->blocks = b;
	}
	void *p = (char *)(b + 1) + b->used;
	b->used += n;
	return p;
}

/* A collection being composed: its node, where its items or pairs begin
 * on the stack of them, and, in a mapping, the key awaiting its value
 * (0: none). */
struct open {
	int node;
	size_t base;
	int key;
};

struct composer {
	yaml_parser_t *parser;
	struct composed *c;
	struct buf open;	/* struct open, innermost last */
	struct buf items;	/* yaml_node_item_t of the open sequences */
	struct buf pairs;	/* yaml_node_pair_t of the open mappings */
	struct strmap anchors;	/* anchor -> its node's index */
};

static bool composer_error(struct composer *k, const char *context, yaml_mark_t context_mark,
			   const char *problem, yaml_mark_t problem_mark)
{
	yaml_parser_t *p = k->parser;
	p->error = YAML_COMPOSER_ERROR;
	p->context = context;
	p->context_mark = context_mark;
	p->problem = problem;
	p->problem_mark = problem_mark;
	return false;
}

static yaml_node_t *node(struct composer *k, int index)
{
	return &k->c->doc.nodes.start[index - 1];
}

/* An array of n nodes, holding the count at from: in huge pages once
 * large, as a large file's nodes take hundreds of megabytes and a fault a
 * small page is much of the time it takes to write them. */
static yaml_node_t *new_nodes(yaml_node_t *from, size_t count, size_t n)
{
	yaml_node_t *p = xmalloc_huge(n, sizeof *from);
	if (count)
		memcpy(p, from, count * sizeof *from);
	free(from);
	return p;
}

/* Adds node n to the document; its index, or 0 when there are too many. */
static int add_node(struct composer *k, const yaml_node_t *n)
{
	yaml_document_t *d = &k->c->doc;
	size_t count = (size_t)(d->nodes.top - d->nodes.start);
	if (d->nodes.top == d->nodes.end) {
		size_t cap = count ? 2 * count : 64;
		d->nodes.start = new_nodes(d->nodes.start, count, cap);
		d->nodes.top = d->nodes.start + count;
		d->nodes.end = d->nodes.start + cap;
	}
	if (count >= INT_MAX - 1)
		return 0;
	*d->nodes.top++ = *n;
	return (int)count + 1;
}

/* Names node index by anchor, if any; an anchor given twice is an error. */
static bool add_anchor(struct composer *k, const yaml_char_t *anchor, int index)
{
	if (!anchor)
		return true;
	const char *a = (const char *)anchor;
	size_t first = *strmap_put(&k->anchors, a, strlen(a), (size_t)index);
	if (first == (size_t)index)
		return true;
	return composer_error(k, "found duplicate anchor; first occurrence", node(k, (int)first)->start_mark,
			      "second occurrence", node(k, index)->start_mark);
}

/* Makes node index the next item, key or value of the innermost open
 * collection, if any. */
static void attach(struct composer *k, int index)
{
	if (!k->open.len)
		return;
	struct open *o = (struct open *)(k->open.data + k->open.len) - 1;
	if (node(k, o->node)->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t item = index;
		buf_add(&k->items, &item, sizeof item);
	} else if (!o->key) {
		o->key = index;
	} else {
		yaml_node_pair_t pair = { o->key, index };
		buf_add(&k->pairs, &pair, sizeof pair);
		o->key = 0;
	}
}

/* Starts a sequence or a mapping, n, to which the items or pairs that
 * follow belong until its end. */
static bool open_collection(struct composer *k, const yaml_node_t *n, const yaml_char_t *anchor)
{
	int index = add_node(k, n);
	if (!index || !add_anchor(k, anchor, index))
		return false;
	attach(k, index);
	struct open o = { index, n->type == YAML_SEQUENCE_NODE ? k->items.len : k->pairs.len, 0 };
	buf_add(&k->open, &o, sizeof o);
	return true;
}

/* Ends the innermost open collection at mark end: its items or pairs
 * are moved into the blocks. */
static void close_collection(struct composer *k, yaml_mark_t end)
{
	k->open.len -= sizeof(struct open);
	struct open o;
	memcpy(&o, k->open.data + k->open.len, sizeof o);
	yaml_node_t *n = node(k, o.node);
	struct buf *stack = n->type == YAML_SEQUENCE_NODE ? &k->items : &k->pairs;
	size_t bytes = stack->len - o.base;
	void *kept = take(k->c, bytes);	/* not NULL, even for none */
	if (bytes)
		memcpy(kept, stack->data + o.base, bytes);
	stack->len = o.base;
	if (n->type == YAML_SEQUENCE_NODE) {
		n->data.sequence.items.start = kept;
		n->data.sequence.items.end = n->data.sequence.items.top =
			n->data.sequence.items.start + bytes / sizeof(yaml_node_item_t);
	} else {
		n->data.mapping.pairs.start = kept;
		n->data.mapping.pairs.end = n->data.mapping.pairs.top =
			n->data.mapping.pairs.start + bytes / sizeof(yaml_node_pair_t);
	}
	n->end_mark = end;
}

static bool add_scalar(struct composer *k, const yaml_event_t *e)
{
	yaml_node_t n = { .type = YAML_SCALAR_NODE, .start_mark = e->start_mark, .end_mark = e->end_mark };
	size_t len = e->data.scalar.length;
	n.data.scalar.value = take(k->c, len + 1);
	memcpy(n.data.scalar.value, e->data.scalar.value, len);
	n.data.scalar.value[len] = '\0';
	n.data.scalar.length = len;
	n.data.scalar.style = e->data.scalar.style;
	int index = add_node(k, &n);
	if (!index || !add_anchor(k, e->data.scalar.anchor, index))
		return false;
	attach(k, index);
	return true;
}

static bool add_alias(struct composer *k, const yaml_event_t *e)
{
	const char *a = (const char *)e->data.alias.anchor;
	size_t index = strmap_get(&k->anchors, a, strlen(a));
	if (index == STRMAP_NONE)
		return composer_error(k, NULL, (yaml_mark_t){ 0 }, "found undefined alias", e->start_mark);
	attach(k, (int)index);
	return true;
}

/* Composes what event e says. */
static bool compose_event(struct composer *k, const yaml_event_t *e)
{
	yaml_node_t n = { .start_mark = e->start_mark, .end_mark = e->end_mark };
	switch (e->type) {
	case YAML_ALIAS_EVENT:
		return add_alias(k, e);
	case YAML_SCALAR_EVENT:
		return add_scalar(k, e);
	case YAML_SEQUENCE_START_EVENT:
		n.type = YAML_SEQUENCE_NODE;
		n.data.sequence.style = e->data.sequence_start.style;
		return open_collection(k, &n, e->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		n.type = YAML_MAPPING_NODE;
		n.data.mapping.style = e->data.mapping_start.style;
		return open_collection(k, &n, e->data.mapping_start.anchor);
	default:	/* the end of a sequence or a mapping: the parser allows no other */
		close_collection(k, e->end_mark);
		return true;
	}
}

/* Composes the document's root node and what it holds. */
static bool compose_root(struct composer *k)
{
	yaml_event_t e;
	do {
		if (!yaml_parser_parse(k->parser, &e))
			return false;
		bool ok = compose_event(k, &e);
		yaml_event_delete(&e);
		if (!ok)
			return false;
	} while (k->open.len);
	return true;
}

/* Composes the next document of the parser's stream into c, as
 * yaml_parser_load() does; false, with the error in the parser, when the
 * stream is not valid YAML. At the end of the stream, c has no nodes. */
bool compose_load(yaml_parser_t *parser, struct composed *c)
{
	yaml_event_t e;
	memset(c, 0, sizeof *c);
	if (!parser->stream_start_produced) {
		if (!yaml_parser_parse(parser, &e))
			return false;
		yaml_event_delete(&e);	/* STREAM-START */
	}
	if (parser->stream_end_produced)
		return true;
	if (!yaml_parser_parse(parser, &e))
		return false;
	if (e.type == YAML_STREAM_END_EVENT)
		return true;
	c->doc.start_mark = e.start_mark;
	c->doc.start_implicit = e.data.document_start.implicit;
	yaml_event_delete(&e);	/* DOCUMENT-START */
	struct composer k = { .parser = parser, .c = c };
	bool ok = compose_root(&k) && yaml_parser_parse(parser, &e);
	if (ok) {
		c->doc.end_mark = e.end_mark;
		c->doc.end_implicit = e.data.document_end.implicit;
		yaml_event_delete(&e);	/* DOCUMENT-END */
	}
	buf_free(&k.open);
	buf_free(&k.items);
	buf_free(&k.pairs);
	strmap_free(&k.anchors);
	if (!ok)
		compose_delete(c);
	return ok;
}

void compose_delete(struct composed *c)
{
	while (c->blocks) {
		struct compose_block *b = c->blocks;
		c->blocks = b->next;
		free(b);
	}
	free(c->doc.nodes.start);
	memset(c, 0, sizeof *c);
}
