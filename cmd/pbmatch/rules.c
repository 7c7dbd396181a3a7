/*
 * The rule file: YAML read with libyaml's document API into an array of
 * postbacks, checked completely before any input is read. Every mistake
 * is reported as "tool: FILE:LINE:COL: message" (YAML syntax, unknown
 * keys with a "did you mean", wrong types, bad values, delays under the
 * guide's 2-minute minimum, duplicate names, reasons on an approved-only
 * postback, URLs that are not http(s) with a host, unbalanced braces,
 * secret placeholders in a URL's host,
 * a sign block or a delivery policy, such as a rate, that pbfire could
 * not follow); all of
 * them are reported, then loading fails. A macro that looks like a
 * misspelt standard field is a warning, an error under --strict. The reading and reporting are
 * loader.c's, the members that say how pbfire delivers a postback
 * delivery.c's; rules.example.yaml and pb-rules(5) are the reference for
 * the schema.
 */
#include "rules.h"
#include "buf.h"
#include "duration.h"
#include "httpheader.h"
#include "httpurl.h"
#include "loader.h"
#include "secretref.h"
#include "strmap.h"
#include "uritemplate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

const char *const action_type_names[TYPE_COUNT] = { "click", "conversion", "event" };
const char *const action_status_names[STATUS_COUNT] = { "approved", "rejected", "pending" };

static const char *const top_keys[] = { "postbacks", NULL };
static const char *const postback_keys[] = {
	"name", "type", "scope", "url", "status", "rejection_reasons", "delay", "event", "map",
	"method", "body", "content_type", "headers", "sign", "timeout", "attempts", "final", "rate",
	"supersede", "expect", NULL
};
static const char *const scope_keys[] = { "offer", "publisher", NULL };

static void add_to_list(struct loader *l, yaml_node_t *n, const char *s, void *arg)
{
	struct strlist *out = arg;
	(void)l, (void)n;
	out->v = xreallocarray(out->v, out->n + 1, sizeof *out->v);
	out->v[out->n++] = xstrndup(s, strlen(s));
}

/* Reads one value or a list of values into out. */
static void want_list(struct loader *l, yaml_node_t *n, const char *key, struct strlist *out)
{
	loader_each_value(l, n, key, add_to_list, out);
}

static void add_type(struct loader *l, yaml_node_t *n, const char *s, void *arg)
{
	struct postback *pb = arg;
	int t = loader_lookup(s, action_type_names, TYPE_COUNT);
	if (t < 0)
		loader_report(l, n, "type: expected click, conversion or event, got '%s'", s);
	else
		pb->types |= 1u << t;
}

static void add_status(struct loader *l, yaml_node_t *n, const char *s, void *arg)
{
	struct postback *pb = arg;
	int st = loader_lookup(s, action_status_names, STATUS_COUNT);
	if (!strcmp(s, "any"))
		pb->statuses |= STATUS_ANY;
	else if (st < 0)
		loader_report(l, n, "status: expected any, approved, rejected or pending, got '%s'", s);
	else
		pb->statuses |= 1u << st;
}

/* type and status: one value or a list of them. */
static void read_type(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	loader_each_value(l, n, "type", add_type, pb);
}

static void read_status(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	loader_each_value(l, n, "status", add_status, pb);
}

/* A duration (a bare number is seconds), kept to the second: at least
 * the postback setup guide's 2 minutes, at most a year. */
static void read_delay(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = loader_want_scalar(l, n, "delay");
	int64_t ns;
	if (!s)
		return;
	if (!duration_parse(s, strlen(s), DURATION_S, &ns))
		loader_report(l, n, "delay: expected a duration, such as 2m, 1.5h or 1d; got '%s'", s);
	else if (ns < MIN_DELAY * DURATION_S)
		loader_report(l, n, "delay: %s is under the 2-minute minimum of the postback setup guide (\"Minimum delay is 2 minutes\")", s);
	else if (ns > MAX_DELAY * DURATION_S)
		loader_report(l, n, "delay: %s is over the 1-year maximum", s);
	else
		pb->delay = (long)duration_round(ns, DURATION_S);
}

/* supersede: true (the default) or false. */
static void read_supersede(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = loader_want_scalar(l, n, "supersede");
	if (s && strcmp(s, "true") && strcmp(s, "false"))
		loader_report(l, n, "supersede: expected true or false, got '%s'", s);
	pb->keep_when_superseded = s && !strcmp(s, "false");
}

/* Whether URL template s has a secret placeholder before its path, query
 * or fragment, where it would choose the host. */
static bool secret_in_host(const char *s)
{
	const char *host = strstr(s, "://");
	size_t n = host ? strcspn(host + 3, "/?#") : 0;
	return host && secretref_count(host + 3, n);
}

/* Checks the URL template: a valid one, of a URL pb sends postbacks to. */
static void read_url(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = loader_want_scalar(l, n, "url"), *why;
	if (!s)
		return;
	pb->url = xstrndup(s, strlen(s));
	struct tmpl_error e;
	if (!tmpl_check(s, strlen(s), TMPL_URI, &e))
		loader_report_at(l, n, e.offset, "url: %s", e.msg);
	else if (!httpurl_check_template(s, strlen(s), &why))
		loader_report(l, n, "url: %s: '%s'", why, s);
	else if (secret_in_host(s))
		loader_report(l, n, "url: a {secret:NAME} placeholder goes in the path, query or fragment, never in the host");
	else
		loader_check_macros(l, n, TMPL_URI, "url");
}

/* What the keys and values of a string mapping must be. */
enum string_map_kind { VALUE_MAP, BODY_FIELDS, HEADERS };

/* Checks a header's name (key k) and the literal text of its value v. */
static void check_header(struct loader *l, yaml_node_t *k, yaml_node_t *v, const char *name)
{
	const char *why = httpheader_bad_name(name, strlen(name));
	if (why)
		loader_report(l, k, "headers: '%s': %s", name, why);
	why = httpheader_bad_value(loader_scalar(v), strlen(loader_scalar(v)));
	if (why)
		loader_report(l, v, "headers.%s: %s", name, why);
}

/* Reads a mapping of scalars to scalars into b as a JSON object: a value
 * map, the fields of a body or the headers, whose values are templates. */
static void read_string_map(struct loader *l, yaml_node_t *n, const char *what,
			    enum string_map_kind kind_of, bool json, struct buf *b)
{
	if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.start == n->data.mapping.pairs.top) {
		loader_report(l, n, "%s: expected a mapping, got %s", what,
		       n->type == YAML_MAPPING_NODE ? "an empty one" : loader_kind(n));
		return;
	}
	size_t start = b->len;
	buf_addc(b, '{');
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = loader_node(l, p->key), *v = loader_node(l, p->value);
		const char *key = loader_member_key(l, n, p, what);
		if (!key)
			continue;
		if (v->type != YAML_SCALAR_NODE) {
			loader_report(l, v, "%s.%s: expected a single value, got %s", what, key, loader_kind(v));
			continue;
		}
		if (kind_of == HEADERS)
			check_header(l, k, v, key);
		if (kind_of != VALUE_MAP)
			loader_check_template(l, v, kind_of == HEADERS || json ? TMPL_TEXT : TMPL_URI, what, key);
		if (b->len > start + 1)
			buf_addc(b, ',');
		buf_add_json_string(b, key, strlen(key));
		buf_addc(b, ':');
		buf_add_json_string(b, loader_scalar(v), strlen(loader_scalar(v)));
	}
	buf_addc(b, '}');
}

/* map: {field: {value: replacement, ...}, ...}, kept as JSON text. */
static void read_map(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.start == n->data.mapping.pairs.top) {
		loader_report(l, n, "map: expected a mapping of field names to value maps");
		return;
	}
	struct buf b = { 0 };
	buf_addc(&b, '{');
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *field = loader_member_key(l, n, p, "map field");
		if (!field)
			continue;
		if (b.len > 1)
			buf_addc(&b, ',');
		buf_add_json_string(&b, field, strlen(field));
		buf_addc(&b, ':');
		read_string_map(l, loader_node(l, p->value), "map value", VALUE_MAP, false, &b);
	}
	buf_addc(&b, '}');
	pb->map_json = b.data;
}

/* method: GET or POST, in any case. */
static void read_method(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = loader_want_scalar(l, n, "method");
	if (s && strcasecmp(s, "GET") && strcasecmp(s, "POST"))
		loader_report(l, n, "method: expected GET or POST, got '%s'", s);
	pb->post = s && !strcasecmp(s, "POST");
}

static void read_content_type(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = loader_want_scalar(l, n, "content_type");
	if (!s)
		return;
	if (!strcmp(s, "form") || !strcmp(s, "application/x-www-form-urlencoded"))
		pb->json_body = false;
	else if (!strcmp(s, "json") || !strcmp(s, "application/json"))
		pb->json_body = true;
	else
		loader_report(l, n, "content_type: expected form or json, got '%s'", s);
}

/* body: a template (form bodies) or a mapping of names to templates. */
static void read_body(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	struct buf b = { 0 };
	if (n->type == YAML_SCALAR_NODE) {
		loader_check_template(l, n, TMPL_URI, "body", "template");
		buf_add_json_string(&b, loader_scalar(n), strlen(loader_scalar(n)));
	} else {
		read_string_map(l, n, "body", BODY_FIELDS, pb->json_body, &b);
	}
	pb->body_json = b.data;
}

static void read_headers(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	struct buf b = { 0 };
	read_string_map(l, n, "headers", HEADERS, false, &b);
	pb->headers_json = b.data;
}

static void read_scope(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	if (n->type == YAML_SCALAR_NODE && strcmp(loader_scalar(n), "any") == 0)
		return;
	if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.start == n->data.mapping.pairs.top) {
		loader_report(l, n, "scope: expected 'any' or a mapping with offer and/or publisher");
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = loader_node(l, p->key), *v = loader_node(l, p->value);
		const char *key = loader_member_key(l, n, p, "scope key");
		if (!key)
			continue;
		if (!strcmp(key, "offer"))
			want_list(l, v, "scope.offer", &pb->offers);
		else if (!strcmp(key, "publisher"))
			want_list(l, v, "scope.publisher", &pb->publishers);
		else
			loader_unknown(l, k, "scope key", key, scope_keys);
	}
}

static void read_name(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = loader_want_scalar(l, n, "name");
	if (!s)
		return;
	pb->name = xstrndup(s, strlen(s));
	size_t self = (size_t)(pb - l->rules->pb);
	size_t first = *strmap_put(&l->names, s, strlen(s), self);
	if (first != self)
		loader_report(l, n, "name: '%s' is already used on line %lu", s, l->rules->pb[first].line);
}

/* The key nodes of the members that need checks across members. */
struct seen {
	yaml_node_t *name, *type, *url, *reasons, *event, *body, *content_type;
	yaml_node_t *headers, *sign, *supersede;	/* values */
	yaml_node_t *final_2xx, *expect;		/* values */
};

static void read_member(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v,
			struct postback *pb, struct seen *seen)
{
	if (!strcmp(key, "name")) {
		seen->name = k;
		read_name(l, v, pb);
	} else if (!strcmp(key, "type")) {
		seen->type = k;
		read_type(l, v, pb);
	} else if (!strcmp(key, "scope")) {
		read_scope(l, v, pb);
	} else if (!strcmp(key, "url")) {
		seen->url = k;
		read_url(l, v, pb);
	} else if (!strcmp(key, "status")) {
		read_status(l, v, pb);
	} else if (!strcmp(key, "rejection_reasons")) {
		seen->reasons = k;
		want_list(l, v, "rejection_reasons", &pb->reasons);
	} else if (!strcmp(key, "delay")) {
		read_delay(l, v, pb);
	} else if (!strcmp(key, "event")) {
		seen->event = k;
		want_list(l, v, "event", &pb->events);
	} else if (!strcmp(key, "map")) {
		read_map(l, v, pb);
	} else if (!strcmp(key, "method")) {
		read_method(l, v, pb);
	} else if (!strcmp(key, "body")) {
		seen->body = v;	/* read once content_type is known */
	} else if (!strcmp(key, "content_type")) {
		seen->content_type = k;
		read_content_type(l, v, pb);
	} else if (!strcmp(key, "headers")) {
		seen->headers = v;
		read_headers(l, v, pb);
	} else if (!strcmp(key, "sign")) {
		seen->sign = v;	/* read once the headers are known */
	} else if (!strcmp(key, "timeout")) {
		delivery_read_timeout(l, v, pb);
	} else if (!strcmp(key, "attempts")) {
		delivery_read_attempts(l, v, pb);
	} else if (!strcmp(key, "final")) {
		seen->final_2xx = delivery_read_final(l, v, pb);
	} else if (!strcmp(key, "expect")) {
		seen->expect = v;
		delivery_read_expect(l, v, pb);
	} else if (!strcmp(key, "rate")) {
		delivery_read_rate(l, v, pb);
	} else if (!strcmp(key, "supersede")) {
		seen->supersede = v;
		read_supersede(l, v, pb);
	} else {
		loader_unknown(l, k, "key", key, postback_keys);
	}
}

/* The names of the bits set in bits, joined by '|'. */
static void describe_bits(struct buf *b, unsigned bits, const char *const *names, int count)
{
	const char *sep = "";
	for (int i = 0; i < count; i++, bits >>= 1)
		if (bits & 1) {
			buf_adds(b, sep);
			buf_adds(b, names[i]);
			sep = "|";
		}
}

/* Reports rejection_reasons (node n) on a postback that fires on no
 * rejected action, saying what it fires on. */
static void report_no_rejection(struct loader *l, yaml_node_t *n, const struct postback *pb)
{
	struct buf on = { 0 };
	if (pb->statuses) {
		describe_bits(&on, pb->statuses, action_status_names, STATUS_COUNT);
		buf_adds(&on, " actions");
	} else {
		buf_adds(&on, pb->types == 1u << TYPE_CLICK ? "every click" : "approved actions");
	}
	loader_report(l, n, "rejection_reasons: this postback fires on %s only, never on a rejection; set status: rejected or any",
		      on.data);
	buf_free(&on);
}

static void check_postback(struct loader *l, yaml_node_t *n, struct postback *pb,
			   const struct seen *seen)
{
	if (!seen->name)
		loader_report(l, n, "postback has no name");
	if (!seen->type)
		loader_report(l, n, "postback '%s' has no type", pb->name ? pb->name : "?");
	if (!seen->url)
		loader_report(l, n, "postback '%s' has no url", pb->name ? pb->name : "?");
	if (seen->body)
		read_body(l, seen->body, pb);
	if (seen->sign)
		delivery_read_sign(l, seen->sign, seen->headers, pb);
	if (seen->body && !pb->post)
		loader_report(l, seen->body, "body: only POST postbacks have a body; set method: POST");
	if (seen->content_type && !seen->body)
		loader_report(l, seen->content_type, "content_type: describes a body, and there is none");
	if (seen->body && pb->json_body && seen->body->type == YAML_SCALAR_NODE)
		loader_report(l, seen->body, "body: a JSON body is a mapping of names to templates");
	if (seen->event && !(pb->types & 1u << TYPE_EVENT))
		loader_report(l, seen->event, "event: only event postbacks take an event name");
	if (seen->final_2xx && !seen->expect)
		loader_report(l, seen->final_2xx, "final: a 2xx answer delivers unless the postback has an expect that it fails; set one, or list failing statuses");
	if (seen->supersede && !pb->delay)
		loader_report(l, seen->supersede, "supersede: only a postback with a delay waits, and can be superseded; set a delay");
	if (seen->reasons && !(pb->statuses & 1u << STATUS_REJECTED))
		report_no_rejection(l, seen->reasons, pb);
}

static void read_postback(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	memset(pb, 0, sizeof *pb);
	pb->line = n->start_mark.line + 1;
	if (n->type != YAML_MAPPING_NODE) {
		loader_report(l, n, "postbacks: each entry must be a mapping, got %s", loader_kind(n));
		return;
	}
	struct seen seen = { 0 };
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *key = loader_member_key(l, n, p, "key");
		if (key)
			read_member(l, key, loader_node(l, p->key), loader_node(l, p->value), pb, &seen);
	}
	check_postback(l, n, pb, &seen);
}

static void read_postbacks(struct loader *l, yaml_node_t *n)
{
	struct rules *r = l->rules;
	if (n->type != YAML_SEQUENCE_NODE) {
		loader_report(l, n, "postbacks: expected a list, got %s", loader_kind(n));
		return;
	}
	yaml_node_item_t *it = n->data.sequence.items.start;
	r->pb = xcalloc((size_t)(n->data.sequence.items.top - it), sizeof *r->pb);
	for (; it < n->data.sequence.items.top; it++)
		read_postback(l, loader_node(l, *it), &r->pb[r->n++]);
}

static void read_root(struct loader *l)
{
	yaml_node_t *root = yaml_document_get_root_node(&l->yaml.doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		yaml_node_t empty = { .start_mark = { 0 } };
		loader_report(l, root ? root : &empty, "expected a mapping with a 'postbacks' list");
		return;
	}
	bool found = false;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = loader_node(l, p->key);
		const char *key = loader_member_key(l, root, p, "key");
		if (key && !strcmp(key, "postbacks")) {
			found = true;
			read_postbacks(l, loader_node(l, p->value));
		} else if (key) {
			loader_unknown(l, k, "key", key, top_keys);
		}
	}
	if (!found)
		loader_report(l, root, "no 'postbacks' list");
}

static bool syntax_error(const struct loader *l, const yaml_parser_t *p)
{
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
	fprintf(stderr, "%s: %s:%zu:%zu: YAML syntax error: %s%s%s\n", program_invocation_short_name,
		l->path, m->line + 1, m->column + 1, p->problem ? p->problem : "unknown",
		p->context ? " " : "", p->context ? p->context : "");
	return false;
}

/* Loads the file's one YAML document into l->yaml. */
static bool parse_file(struct loader *l, FILE *f)
{
	yaml_parser_t parser;
	struct composed extra;
	bool ok;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!compose_load(&parser, &l->yaml)) {
		ok = syntax_error(l, &parser);
	} else if (!compose_load(&parser, &extra)) {
		ok = syntax_error(l, &parser);
		compose_delete(&l->yaml);
	} else {
		yaml_node_t *root = yaml_document_get_root_node(&extra.doc);
		if (root)
			loader_report(l, root, "a second YAML document; the rule file is one document");
		ok = !root;
		compose_delete(&extra);
		if (!ok)
			compose_delete(&l->yaml);
	}
	yaml_parser_delete(&parser);
	return ok;
}

/* Loads and checks the rule file; on any error reports them all and
 * returns false. Warnings are reported too, and are errors when strict. */
bool rules_load(struct rules *r, const char *path, bool strict)
{
	memset(r, 0, sizeof *r);
	r->path = path;
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, path, strerror(errno));
		return false;
	}
	struct loader l = { .path = path, .rules = r, .strict = strict };
	bool ok = parse_file(&l, f);
	fclose(f);
	if (!ok)
		return false;
	read_root(&l);
	compose_delete(&l.yaml);
	strmap_free(&l.names);
	if (l.errors)
		rules_free(r);
	return l.errors == 0;
}

bool strlist_has(const struct strlist *l, const char *s, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i]) == n && memcmp(l->v[i], s, n) == 0)
			return true;
	return false;
}

static void describe_list(struct buf *b, const char *what, const struct strlist *l)
{
	buf_adds(b, ", ");
	buf_adds(b, what);
	for (size_t i = 0; i < l->n; i++) {
		buf_addc(b, i ? '|' : ' ');
		buf_adds(b, l->v[i]);
	}
}

/* One line summing a postback up, for pbmatch --check; the common
 * parts are added without printf, as a file may have 100,000 of them. */
void rules_describe(const struct postback *pb, struct buf *b)
{
	buf_adds(b, pb->name);
	buf_adds(b, ": ");
	describe_bits(b, pb->types, action_type_names, TYPE_COUNT);
	if (pb->events.n)
		describe_list(b, "event", &pb->events);
	if (!pb->offers.n && !pb->publishers.n)
		buf_adds(b, ", any offer and publisher");
	if (pb->offers.n)
		describe_list(b, "offer", &pb->offers);
	if (pb->publishers.n)
		describe_list(b, "publisher", &pb->publishers);
	if (pb->statuses) {
		buf_adds(b, ", status ");
		describe_bits(b, pb->statuses, action_status_names, STATUS_COUNT);
	} else if (pb->types != 1u << TYPE_CLICK) {	/* the default */
		buf_adds(b, pb->types & 1u << TYPE_CLICK ? ", status approved (clicks any)" : ", status approved");
	}
	if (pb->reasons.n)
		describe_list(b, "reasons", &pb->reasons);
	if (pb->delay)
		buf_addf(b, ", delay %lds", pb->delay);
	if (pb->keep_when_superseded)
		buf_adds(b, ", supersede false");
	if (pb->map_json)
		buf_addf(b, ", map %s", pb->map_json);
	if (pb->post)
		buf_addf(b, ", POST %s body %s", pb->json_body ? "json" : "form",
			 pb->body_json ? pb->body_json : "none");
	if (pb->headers_json)
		buf_addf(b, ", headers %s", pb->headers_json);
	if (pb->sign_json)
		buf_addf(b, ", sign %s", pb->sign_json);
	if (pb->timeout_ms)
		buf_addf(b, ", timeout %ld.%03lds", pb->timeout_ms / 1000, pb->timeout_ms % 1000);
	if (pb->attempts)
		buf_addf(b, ", attempts %d", pb->attempts);
	if (pb->final_json)
		buf_addf(b, ", final %s", pb->final_json);
	if (pb->expect_json)
		buf_addf(b, ", expect %s", pb->expect_json);
	if (pb->rate)
		buf_addf(b, ", rate %s", pb->rate);
	buf_adds(b, ", ");
	buf_adds(b, pb->url);
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

void rules_free(struct rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct postback *pb = &r->pb[i];
		free(pb->name);
		free(pb->url);
		free(pb->map_json);
		free(pb->body_json);
		free(pb->headers_json);
		free(pb->sign_json);
		free(pb->final_json);
		free(pb->expect_json);
		free(pb->rate);
		strlist_free(&pb->offers);
		strlist_free(&pb->publishers);
		strlist_free(&pb->reasons);
		strlist_free(&pb->events);
	}
	free(r->pb);
	r->pb = NULL;
	r->n = 0;
}
