/*
 * The rule file: YAML read with libyaml's document API into an array of
 * postbacks, checked completely before any input is read. Every mistake
 * is reported as "tool: FILE:LINE:COL: message" (YAML syntax, unknown
 * keys with a "did you mean", wrong types, bad values, delays under the
 * guide's 2-minute minimum, duplicate names, reasons on an approved-only
 * postback, URLs that are not http(s) with a host, unbalanced braces,
 * a sign block or a delivery policy that pbfire could not follow); all of
 * them are reported, then loading fails. rules.example.yaml and
 * pb-rules(5) are the reference for the schema.
 */
#include "rules.h"
#include "buf.h"
#include "httpheader.h"
#include "httpurl.h"
#include "strmap.h"
#include "uritemplate.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>


const char *const action_type_names[TYPE_COUNT] = { "click", "conversion", "event" };
const char *const fire_status_names[] = { "always", "any", "approved", "rejected" };

static const char *const top_keys[] = { "postbacks", NULL };
static const char *const postback_keys[] = {
	"name", "type", "scope", "url", "status", "rejection_reasons", "delay", "event", "map",
	"method", "body", "content_type", "headers", "sign", "timeout", "attempts", "final", NULL
};
static const char *const scope_keys[] = { "offer", "publisher", NULL };

struct loader {
	const char *path;
	struct rules *rules;
	yaml_document_t doc;
	struct strmap names;	/* postback name -> its index */
	int errors;
};

static void report(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void vreport(struct loader *l, const yaml_node_t *n, size_t shift, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s:%zu:%zu: ", program_invocation_short_name, l->path,
		n->start_mark.line + 1, n->start_mark.column + 1 + shift);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	l->errors++;
}

static void report(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(l, n, 0, fmt, ap);
	va_end(ap);
}

/* Reports a mistake at byte offset of scalar n's text (exact for scalars
 * on one line without escapes). */
static void report_in(struct loader *l, const yaml_node_t *n, size_t offset, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report_in(struct loader *l, const yaml_node_t *n, size_t offset, const char *fmt, ...)
{
	bool quoted = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		      n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	va_list ap;
	va_start(ap, fmt);
	vreport(l, n, offset + quoted, fmt, ap);
	va_end(ap);
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[32];
	if (lb >= sizeof row / sizeof row[0])
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best) best = row[j] + 1;
			if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *closest(const char *word, const char *const *choices)
{
	const char *best = NULL;
	size_t best_d = 3;	/* suggest only near misses */
	for (; *choices; choices++) {
		size_t d = edit_distance(word, *choices);
		if (d < best_d) {
			best_d = d;
			best = *choices;
		}
	}
	return best;
}

static void report_unknown(struct loader *l, const yaml_node_t *n, const char *what,
			   const char *word, const char *const *choices)
{
	const char *near = closest(word, choices);
	if (near)
		report(l, n, "unknown %s '%s' (did you mean '%s'?)", what, word, near);
	else
		report(l, n, "unknown %s '%s'", what, word);
}

static yaml_node_t *node(struct loader *l, int id)
{
	return yaml_document_get_node(&l->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static const char *kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE: return "a mapping";
	case YAML_SEQUENCE_NODE: return "a list";
	default: return "a scalar";
	}
}

/* The scalar text of n, or NULL (reported) when it is not a non-empty scalar. */
static const char *want_scalar(struct loader *l, const yaml_node_t *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE) {
		report(l, n, "%s: expected a single value, got %s", key, kind(n));
		return NULL;
	}
	if (!*scalar(n)) {
		report(l, n, "%s: must not be empty", key);
		return NULL;
	}
	return scalar(n);
}

/* The scalar key of pair p of mapping n, or NULL (reported) when it is
 * not a non-empty scalar or an earlier pair has the same key: libyaml
 * accepts duplicate keys, and the second would silently win. */
static const char *member_key(struct loader *l, const yaml_node_t *n, const yaml_node_pair_t *p,
			      const char *what)
{
	yaml_node_t *k = node(l, p->key);
	const char *key = want_scalar(l, k, what);
	for (const yaml_node_pair_t *q = n->data.mapping.pairs.start; key && q < p; q++) {
		const yaml_node_t *earlier = node(l, q->key);
		if (earlier->type == YAML_SCALAR_NODE && !strcmp(scalar(earlier), key)) {
			report(l, k, "%s '%s' given twice (first on line %zu)", what, key,
			       earlier->start_mark.line + 1);
			return NULL;
		}
	}
	return key;
}

/* Calls add for each value of n, one value or a non-empty list of them. */
static void each_value(struct loader *l, yaml_node_t *n, const char *key,
		       void (*add)(struct loader *, yaml_node_t *, const char *, void *), void *arg)
{
	if (n->type == YAML_SCALAR_NODE) {
		const char *s = want_scalar(l, n, key);
		if (s)
			add(l, n, s, arg);
		return;
	}
	if (n->type != YAML_SEQUENCE_NODE || n->data.sequence.items.top == n->data.sequence.items.start) {
		report(l, n, "%s: expected a value or a non-empty list, got %s", key,
		       n->type == YAML_SEQUENCE_NODE ? "an empty list" : kind(n));
		return;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = node(l, *it);
		const char *s = want_scalar(l, item, key);
		if (s)
			add(l, item, s, arg);
	}
}

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
	each_value(l, n, key, add_to_list, out);
}

static int lookup(const char *word, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (strcmp(word, names[i]) == 0)
			return i;
	return -1;
}

static void read_type(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = want_scalar(l, n, "type");
	if (!s)
		return;
	int t = lookup(s, action_type_names, TYPE_COUNT);
	if (t < 0)
		report(l, n, "type: expected click, conversion or event, got '%s'", s);
	else
		pb->type = (enum action_type)t;
}

static void read_status(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = want_scalar(l, n, "status");
	if (!s)
		return;
	int st = lookup(s, fire_status_names, 4);
	if (st <= FIRE_ALWAYS)
		report(l, n, "status: expected any, approved or rejected, got '%s'", s);
	else
		pb->status = (enum fire_status)st;
}

/* Parses "<number><s|m|h>"; the guide's minimum is 2 minutes. */
static void read_delay(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = want_scalar(l, n, "delay");
	if (!s)
		return;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	long unit = !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : 0;
	if (*s < '0' || *s > '9' || errno || !unit || v > MAX_DELAY / unit) {
		report(l, n, "delay: expected a number and a unit (s, m or h), such as 2m; got '%s'", s);
		return;
	}
	pb->delay = v * unit;
	if (pb->delay < MIN_DELAY)
		report(l, n, "delay: %s is under the 2-minute minimum", s);
}

/* Checks the URL template: a valid one, of a URL pb sends postbacks to. */
static void read_url(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = want_scalar(l, n, "url"), *why;
	if (!s)
		return;
	pb->url = xstrndup(s, strlen(s));
	struct tmpl_error e;
	if (!tmpl_check(s, strlen(s), TMPL_URI, &e))
		report_in(l, n, e.offset, "url: %s", e.msg);
	else if (!httpurl_check_template(s, strlen(s), &why))
		report(l, n, "url: %s: '%s'", why, s);
}

/* What the keys and values of a string mapping must be. */
enum string_map_kind { VALUE_MAP, BODY_FIELDS, HEADERS };

/* Checks a header's name (key k) and the literal text of its value v. */
static void check_header(struct loader *l, yaml_node_t *k, yaml_node_t *v, const char *name)
{
	const char *why = httpheader_bad_name(name, strlen(name));
	if (why)
		report(l, k, "headers: '%s': %s", name, why);
	why = httpheader_bad_value(scalar(v), strlen(scalar(v)));
	if (why)
		report(l, v, "headers.%s: %s", name, why);
}

static void check_template(struct loader *l, yaml_node_t *v, enum tmpl_mode mode,
			   const char *what, const char *key)
{
	struct tmpl_error e;
	const char *t = scalar(v);
	if (!tmpl_check(t, strlen(t), mode, &e))
		report_in(l, v, e.offset, "%s.%s: %s", what, key, e.msg);
}

/* Reads a mapping of scalars to scalars into b as a JSON object: a value
 * map, the fields of a body or the headers, whose values are templates. */
static void read_string_map(struct loader *l, yaml_node_t *n, const char *what,
			    enum string_map_kind kind_of, bool json, struct buf *b)
{
	if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.start == n->data.mapping.pairs.top) {
		report(l, n, "%s: expected a mapping, got %s", what,
		       n->type == YAML_MAPPING_NODE ? "an empty one" : kind(n));
		return;
	}
	size_t start = b->len;
	buf_addc(b, '{');
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
		const char *key = member_key(l, n, p, what);
		if (!key)
			continue;
		if (v->type != YAML_SCALAR_NODE) {
			report(l, v, "%s.%s: expected a single value, got %s", what, key, kind(v));
			continue;
		}
		if (kind_of == HEADERS)
			check_header(l, k, v, key);
		if (kind_of != VALUE_MAP)
			check_template(l, v, kind_of == HEADERS || json ? TMPL_TEXT : TMPL_URI, what, key);
		if (b->len > start + 1)
			buf_addc(b, ',');
		buf_add_json_string(b, key, strlen(key));
		buf_addc(b, ':');
		buf_add_json_string(b, scalar(v), strlen(scalar(v)));
	}
	buf_addc(b, '}');
}

/* map: {field: {value: replacement, ...}, ...}, kept as JSON text. */
static void read_map(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.start == n->data.mapping.pairs.top) {
		report(l, n, "map: expected a mapping of field names to value maps");
		return;
	}
	struct buf b = { 0 };
	buf_addc(&b, '{');
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *field = member_key(l, n, p, "map field");
		if (!field)
			continue;
		if (b.len > 1)
			buf_addc(&b, ',');
		buf_add_json_string(&b, field, strlen(field));
		buf_addc(&b, ':');
		read_string_map(l, node(l, p->value), "map value", VALUE_MAP, false, &b);
	}
	buf_addc(&b, '}');
	pb->map_json = b.data;
}

static void read_method(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = want_scalar(l, n, "method");
	if (s && strcmp(s, "GET") && strcmp(s, "POST"))
		report(l, n, "method: expected GET or POST, got '%s'", s);
	pb->post = s && !strcmp(s, "POST");
}

static void read_content_type(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = want_scalar(l, n, "content_type");
	if (!s)
		return;
	if (!strcmp(s, "form") || !strcmp(s, "application/x-www-form-urlencoded"))
		pb->json_body = false;
	else if (!strcmp(s, "json") || !strcmp(s, "application/json"))
		pb->json_body = true;
	else
		report(l, n, "content_type: expected form or json, got '%s'", s);
}

/* body: a template (form bodies) or a mapping of names to templates. */
static void read_body(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	struct buf b = { 0 };
	if (n->type == YAML_SCALAR_NODE) {
		check_template(l, n, TMPL_URI, "body", "template");
		buf_add_json_string(&b, scalar(n), strlen(scalar(n)));
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
	if (n->type == YAML_SCALAR_NODE && strcmp(scalar(n), "any") == 0)
		return;
	if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.start == n->data.mapping.pairs.top) {
		report(l, n, "scope: expected 'any' or a mapping with offer and/or publisher");
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
		const char *key = member_key(l, n, p, "scope key");
		if (!key)
			continue;
		if (!strcmp(key, "offer"))
			want_list(l, v, "scope.offer", &pb->offers);
		else if (!strcmp(key, "publisher"))
			want_list(l, v, "scope.publisher", &pb->publishers);
		else
			report_unknown(l, k, "scope key", key, scope_keys);
	}
}

static void read_name(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = want_scalar(l, n, "name");
	if (!s)
		return;
	pb->name = xstrndup(s, strlen(s));
	size_t self = (size_t)(pb - l->rules->pb);
	size_t first = *strmap_put(&l->names, s, strlen(s), self);
	if (first != self)
		report(l, n, "name: '%s' is already used on line %lu", s, l->rules->pb[first].line);
}

/* ---- signing and the delivery policy ---- */

enum sign_key {
	SIGN_SCHEME, SIGN_SECRET, SIGN_ALGORITHM, SIGN_MESSAGE, SIGN_PARAM, SIGN_HEADER, SIGN_ENCODING,
	SIGN_KEYS
};
static const char *const sign_keys[] = {
	"scheme", "secret", "algorithm", "message", "param", "header", "encoding", NULL
};
static const char *const sign_key_paths[] = {
	"sign.scheme", "sign.secret", "sign.algorithm", "sign.message", "sign.param", "sign.header",
	"sign.encoding",
};
static const char *const standard_webhooks_headers[] = {
	"webhook-id", "webhook-timestamp", "webhook-signature", NULL
};

/* A sign block's members by enum sign_key: their key and value nodes and
 * the value's text (NULL when absent or reported). */
struct sign_block {
	yaml_node_t *node, *key[SIGN_KEYS], *value[SIGN_KEYS];
	const char *text[SIGN_KEYS];
};

static bool read_sign_members(struct loader *l, yaml_node_t *n, struct sign_block *sb)
{
	memset(sb, 0, sizeof *sb);
	sb->node = n;
	if (n->type != YAML_MAPPING_NODE) {
		report(l, n, "sign: expected a mapping with a scheme and a secret, got %s", kind(n));
		return false;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(l, p->key);
		const char *key = member_key(l, n, p, "sign key");
		int i = key ? lookup(key, sign_keys, SIGN_KEYS) : -1;
		if (key && i < 0)
			report_unknown(l, k, "sign key", key, sign_keys);
		if (i < 0)
			continue;
		sb->key[i] = k;
		sb->value[i] = node(l, p->value);
		sb->text[i] = want_scalar(l, sb->value[i], sign_key_paths[i]);
	}
	return true;
}

/* Whether member i, when given, is one of choices (reported if not). */
static bool sign_choice(struct loader *l, const struct sign_block *sb, enum sign_key i,
			const char *const *choices, const char *expected)
{
	for (const char *const *c = choices; sb->text[i] && *c; c++)
		if (!strcmp(sb->text[i], *c))
			return true;
	if (!sb->text[i])
		return true;
	report(l, sb->value[i], "%s: expected %s, got '%s'", sign_key_paths[i], expected, sb->text[i]);
	return false;
}

/* A secret's name: what pbfire looks up in its --secrets file. */
static bool is_secret_name(const char *s)
{
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == strlen(s);
}

static void check_hmac(struct loader *l, const struct sign_block *sb)
{
	static const char *const algorithms[] = { "sha1", "sha256", "sha512", NULL };
	static const char *const encodings[] = { "hex", "base64", NULL };
	sign_choice(l, sb, SIGN_ALGORITHM, algorithms, "sha1, sha256 or sha512");
	sign_choice(l, sb, SIGN_ENCODING, encodings, "hex or base64");
	if (!sb->key[SIGN_MESSAGE])
		report(l, sb->node, "sign: an hmac signature needs a message, a template over the action");
	else if (sb->text[SIGN_MESSAGE])
		check_template(l, sb->value[SIGN_MESSAGE], TMPL_TEXT, "sign", "message");
	if (sb->key[SIGN_PARAM] && sb->key[SIGN_HEADER])
		report(l, sb->key[SIGN_HEADER], "sign: param and header both given; the signature goes in one of them");
	else if (!sb->key[SIGN_PARAM] && !sb->key[SIGN_HEADER])
		report(l, sb->node, "sign: an hmac signature needs a param or a header to go in");
	const char *param = sb->text[SIGN_PARAM], *header = sb->text[SIGN_HEADER], *why;
	if (param && strspn(param, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != strlen(param))
		report(l, sb->value[SIGN_PARAM], "sign.param: a query parameter name (letters, digits and -._~ only), got '%s'", param);
	if (header && (why = httpheader_bad_name(header, strlen(header))))
		report(l, sb->value[SIGN_HEADER], "sign.header: '%s': %s", header, why);
}

static void check_sign(struct loader *l, const struct sign_block *sb)
{
	static const char *const schemes[] = { "standard-webhooks", "hmac", NULL };
	if (!sb->key[SIGN_SCHEME])
		report(l, sb->node, "sign: no scheme (standard-webhooks or hmac)");
	if (!sb->key[SIGN_SECRET])
		report(l, sb->node, "sign: no secret (the name of a secret in pbfire's --secrets file)");
	else if (sb->text[SIGN_SECRET] && !is_secret_name(sb->text[SIGN_SECRET]))
		report(l, sb->value[SIGN_SECRET], "sign.secret: expected the name of a secret in pbfire's --secrets file (letters, digits, '_', '.' and '-'), never the secret itself");
	if (!sb->text[SIGN_SCHEME] || !sign_choice(l, sb, SIGN_SCHEME, schemes, "standard-webhooks or hmac"))
		return;
	if (!strcmp(sb->text[SIGN_SCHEME], "hmac")) {
		check_hmac(l, sb);
		return;
	}
	for (int i = SIGN_ALGORITHM; i < SIGN_KEYS; i++)
		if (sb->key[i])
			report(l, sb->key[i], "%s: only an hmac signature takes it; standard-webhooks signs id, timestamp and body", sign_key_paths[i]);
}

/* Reports a header of the postback's headers mapping h that the
 * signature sets. */
static void check_signed_header(struct loader *l, yaml_node_t *h, const char *name)
{
	if (!h || h->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = h->data.mapping.pairs.start; p < h->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(l, p->key);
		if (k->type == YAML_SCALAR_NODE && !strcasecmp(scalar(k), name))
			report(l, k, "headers: '%s' is set by the postback's signature", scalar(k));
	}
}

/* The sign block as JSON, its defaults filled in. */
static char *sign_json(const struct sign_block *sb)
{
	static const char *const defaults[SIGN_KEYS] = {
		[SIGN_ALGORITHM] = "sha256", [SIGN_ENCODING] = "hex",
	};
	bool hmac = !strcmp(sb->text[SIGN_SCHEME], "hmac");
	struct buf b = { 0 };
	buf_addc(&b, '{');
	for (int i = 0; i < SIGN_KEYS; i++) {
		const char *v = sb->text[i] ? sb->text[i] : hmac ? defaults[i] : NULL;
		if (!v)
			continue;
		buf_addf(&b, "%s\"%s\":", b.len > 1 ? "," : "", sign_keys[i]);
		buf_add_json_string(&b, v, strlen(v));
	}
	buf_addc(&b, '}');
	return b.data;
}

/* sign: {scheme, secret, ...}, read once the headers are known. */
static void read_sign(struct loader *l, yaml_node_t *n, yaml_node_t *headers, struct postback *pb)
{
	struct sign_block sb;
	if (!read_sign_members(l, n, &sb))
		return;
	int errors = l->errors;
	check_sign(l, &sb);
	if (sb.text[SIGN_HEADER])
		check_signed_header(l, headers, sb.text[SIGN_HEADER]);
	if (sb.text[SIGN_SCHEME] && !strcmp(sb.text[SIGN_SCHEME], "standard-webhooks"))
		for (const char *const *h = standard_webhooks_headers; *h; h++)
			check_signed_header(l, headers, *h);
	if (l->errors == errors)
		pb->sign_json = sign_json(&sb);
}

/* timeout: seconds per attempt, such as 10, 2.5, 500ms or 1m. */
static void read_timeout(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = want_scalar(l, n, "timeout");
	if (!s)
		return;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	double unit = !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "ms") ? 0.001 : !strcmp(end, "m") ? 60 : 0;
	v *= unit;
	if (*s < '0' || *s > '9' || errno || !(v >= 0.001 && v <= 86400))
		report(l, n, "timeout: expected seconds per attempt from 0.001 to 86400, such as 10, 2.5s, 500ms or 1m; got '%s'", s);
	else
		pb->timeout = v;
}

/* attempts: how many attempts a line gets in all, 1 for at most once. */
static void read_attempts(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = want_scalar(l, n, "attempts");
	if (!s)
		return;
	char *end;
	long v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || v < 1 || v > 100)
		report(l, n, "attempts: expected a whole number from 1 (at most once) to 100, got '%s'", s);
	else
		pb->attempts = (int)v;
}

static void add_final_status(struct loader *l, yaml_node_t *n, const char *s, void *arg)
{
	struct buf *b = arg;
	char *end;
	long v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || v < 100 || v > 599 || (v >= 200 && v < 300)) {
		report(l, n, "final: expected HTTP statuses that fail, from 100 to 599 but not 2xx, got '%s'", s);
		return;
	}
	buf_addf(b, "%s%ld", b->len > 1 ? "," : "", v);
}

/* final: [403, 404], statuses whose answer ends a line, never retried. */
static void read_final(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	struct buf b = { 0 };
	buf_addc(&b, '[');
	each_value(l, n, "final", add_final_status, &b);
	buf_addc(&b, ']');
	pb->final_json = b.data;
}

/* The key nodes of the members that need checks across members. */
struct seen {
	yaml_node_t *name, *type, *url, *reasons, *event, *status, *body, *content_type;
	yaml_node_t *headers, *sign;	/* values */
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
		seen->status = k;
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
		read_timeout(l, v, pb);
	} else if (!strcmp(key, "attempts")) {
		read_attempts(l, v, pb);
	} else if (!strcmp(key, "final")) {
		read_final(l, v, pb);
	} else {
		report_unknown(l, k, "key", key, postback_keys);
	}
}

static void check_postback(struct loader *l, yaml_node_t *n, struct postback *pb,
			   const struct seen *seen)
{
	if (!seen->name)
		report(l, n, "postback has no name");
	if (!seen->type)
		report(l, n, "postback '%s' has no type", pb->name ? pb->name : "?");
	if (!seen->url)
		report(l, n, "postback '%s' has no url", pb->name ? pb->name : "?");
	if (seen->body)
		read_body(l, seen->body, pb);
	if (seen->sign)
		read_sign(l, seen->sign, seen->headers, pb);
	if (seen->body && !pb->post)
		report(l, seen->body, "body: only POST postbacks have a body; set method: POST");
	if (seen->content_type && !seen->body)
		report(l, seen->content_type, "content_type: describes a body, and there is none");
	if (seen->body && pb->json_body && seen->body->type == YAML_SCALAR_NODE)
		report(l, seen->body, "body: a JSON body is a mapping of names to templates");
	if (seen->event && pb->type != TYPE_EVENT)
		report(l, seen->event, "event: only event postbacks take an event name");
	if (!seen->status && pb->type != TYPE_CLICK)
		pb->status = FIRE_APPROVED;
	if (seen->reasons && (pb->status == FIRE_APPROVED || pb->status == FIRE_ALWAYS))
		report(l, seen->reasons, "rejection_reasons: this postback fires on %s only, never on a rejection; set status: rejected or any",
		       pb->status == FIRE_ALWAYS ? "every click" : "approved actions");
}

static void read_postback(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	memset(pb, 0, sizeof *pb);
	pb->line = n->start_mark.line + 1;
	if (n->type != YAML_MAPPING_NODE) {
		report(l, n, "postbacks: each entry must be a mapping, got %s", kind(n));
		return;
	}
	struct seen seen = { 0 };
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *key = member_key(l, n, p, "key");
		if (key)
			read_member(l, key, node(l, p->key), node(l, p->value), pb, &seen);
	}
	check_postback(l, n, pb, &seen);
}

static void read_postbacks(struct loader *l, yaml_node_t *n)
{
	struct rules *r = l->rules;
	if (n->type != YAML_SEQUENCE_NODE) {
		report(l, n, "postbacks: expected a list, got %s", kind(n));
		return;
	}
	yaml_node_item_t *it = n->data.sequence.items.start;
	r->pb = xcalloc((size_t)(n->data.sequence.items.top - it), sizeof *r->pb);
	for (; it < n->data.sequence.items.top; it++)
		read_postback(l, node(l, *it), &r->pb[r->n++]);
}

static void read_root(struct loader *l)
{
	yaml_node_t *root = yaml_document_get_root_node(&l->doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		yaml_node_t empty = { .start_mark = { 0 } };
		report(l, root ? root : &empty, "expected a mapping with a 'postbacks' list");
		return;
	}
	bool found = false;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(l, p->key);
		const char *key = member_key(l, root, p, "key");
		if (key && !strcmp(key, "postbacks")) {
			found = true;
			read_postbacks(l, node(l, p->value));
		} else if (key) {
			report_unknown(l, k, "key", key, top_keys);
		}
	}
	if (!found)
		report(l, root, "no 'postbacks' list");
}

static bool syntax_error(const struct loader *l, const yaml_parser_t *p)
{
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
	fprintf(stderr, "%s: %s:%zu:%zu: YAML syntax error: %s%s%s\n", program_invocation_short_name,
		l->path, m->line + 1, m->column + 1, p->problem ? p->problem : "unknown",
		p->context ? " " : "", p->context ? p->context : "");
	return false;
}

/* Loads the file's one YAML document into l->doc. */
static bool parse_file(struct loader *l, FILE *f)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	bool ok;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &l->doc)) {
		ok = syntax_error(l, &parser);
	} else if (!yaml_parser_load(&parser, &extra)) {
		ok = syntax_error(l, &parser);
		yaml_document_delete(&l->doc);
	} else {
		yaml_node_t *root = yaml_document_get_root_node(&extra);
		if (root)
			report(l, root, "a second YAML document; the rule file is one document");
		ok = !root;
		yaml_document_delete(&extra);
		if (!ok)
			yaml_document_delete(&l->doc);
	}
	yaml_parser_delete(&parser);
	return ok;
}

/* Loads and checks the rule file; on any error reports them all and
 * returns false. */
bool rules_load(struct rules *r, const char *path)
{
	memset(r, 0, sizeof *r);
	r->path = path;
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, path, strerror(errno));
		return false;
	}
	struct loader l = { .path = path, .rules = r };
	bool ok = parse_file(&l, f);
	fclose(f);
	if (!ok)
		return false;
	read_root(&l);
	yaml_document_delete(&l.doc);
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
	buf_addf(b, ", %s ", what);
	for (size_t i = 0; i < l->n; i++)
		buf_addf(b, "%s%s", i ? "|" : "", l->v[i]);
}

/* One line summing a postback up, for pbmatch --check. */
void rules_describe(const struct postback *pb, struct buf *b)
{
	buf_addf(b, "%s: %s", pb->name, action_type_names[pb->type]);
	if (pb->events.n)
		describe_list(b, "event", &pb->events);
	if (!pb->offers.n && !pb->publishers.n)
		buf_adds(b, ", any offer and publisher");
	if (pb->offers.n)
		describe_list(b, "offer", &pb->offers);
	if (pb->publishers.n)
		describe_list(b, "publisher", &pb->publishers);
	if (pb->status != FIRE_ALWAYS)
		buf_addf(b, ", status %s", fire_status_names[pb->status]);
	if (pb->reasons.n)
		describe_list(b, "reasons", &pb->reasons);
	if (pb->delay)
		buf_addf(b, ", delay %lds", pb->delay);
	if (pb->map_json)
		buf_addf(b, ", map %s", pb->map_json);
	if (pb->post)
		buf_addf(b, ", POST %s body %s", pb->json_body ? "json" : "form",
			 pb->body_json ? pb->body_json : "none");
	if (pb->headers_json)
		buf_addf(b, ", headers %s", pb->headers_json);
	if (pb->sign_json)
		buf_addf(b, ", sign %s", pb->sign_json);
	if (pb->timeout)
		buf_addf(b, ", timeout %gs", pb->timeout);
	if (pb->attempts)
		buf_addf(b, ", attempts %d", pb->attempts);
	if (pb->final_json)
		buf_addf(b, ", final %s", pb->final_json);
	buf_addf(b, ", %s", pb->url);
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
		strlist_free(&pb->offers);
		strlist_free(&pb->publishers);
		strlist_free(&pb->reasons);
		strlist_free(&pb->events);
	}
	free(r->pb);
	r->pb = NULL;
	r->n = 0;
}
