/*
 * The members of a postback that say how pbfire delivers it: its sign
 * block (how it is signed, the secret named, never given) and its own
 * timeout, attempts, final statuses and rate, and its expect (what an
 * answer must be to count as delivered), checked as the rest of the rule
 * file is (every mistake reported with file, line and column) and kept
 * as the JSON that pbmatch writes into the postback object. The words a
 * sign block may use are common/signwords.c's, which pbfire reads too.
 */
#include "buf.h"
#include "duration.h"
#include "httpheader.h"
#include "loader.h"
#include "rate.h"
#include "secretref.h"
#include "signwords.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
		loader_report(l, n, "sign: expected a mapping with a scheme and a secret, got %s", loader_kind(n));
		return false;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = loader_node(l, p->key);
		const char *key = loader_member_key(l, n, p, "sign key");
		int i = key ? loader_lookup(key, sign_keys, SIGN_KEYS) : -1;
		if (key && i < 0)
			loader_unknown(l, k, "sign key", key, sign_keys);
		if (i < 0)
			continue;
		sb->key[i] = k;
		sb->value[i] = loader_node(l, p->value);
		sb->text[i] = loader_want_scalar(l, sb->value[i], sign_key_paths[i]);
	}
	return true;
}

/* Whether member i, when given, is one of choices (reported if not). */
static bool sign_choice(struct loader *l, const struct sign_block *sb, enum sign_key i,
			const char *const *choices, const char *expected)
{
	const char *s = sb->text[i];
	if (!s || sign_word(choices, s, strlen(s)) >= 0)
		return true;
	loader_report(l, sb->value[i], "%s: expected %s, got '%s'", sign_key_paths[i], expected, s);
	return false;
}

/* Reports a param that the URL template's literal query has already. */
static void check_param_unused(struct loader *l, const struct sign_block *sb, const char *url)
{
	const char *param = sb->text[SIGN_PARAM], *query = url ? strchr(url, '?') : NULL;
	size_t n = strlen(param);
	for (const char *p = query; p; p = strchr(p + 1, '&'))
		if (!strncmp(p + 1, param, n) && (p[n + 1] == '=' || p[n + 1] == '&' || !p[n + 1]))
			loader_report(l, sb->value[SIGN_PARAM], "sign.param: '%s' is in the url's query already", param);
}

static void check_hmac(struct loader *l, const struct sign_block *sb, const char *url)
{
	sign_choice(l, sb, SIGN_ALGORITHM, sign_algorithms, "sha1, sha256 or sha512");
	sign_choice(l, sb, SIGN_ENCODING, sign_encodings, "hex or base64");
	if (!sb->key[SIGN_MESSAGE])
		loader_report(l, sb->node, "sign: an hmac signature needs a message, a template over the action");
	else if (sb->text[SIGN_MESSAGE] && secretref_count(sb->text[SIGN_MESSAGE], strlen(sb->text[SIGN_MESSAGE])))
		loader_report(l, sb->value[SIGN_MESSAGE], "sign.message: a {secret:NAME} placeholder is filled in the request pbfire sends, never in the message it signs");
	else if (sb->text[SIGN_MESSAGE])
		loader_check_template(l, sb->value[SIGN_MESSAGE], TMPL_TEXT, "sign", "message");
	if (sb->key[SIGN_PARAM] && sb->key[SIGN_HEADER])
		loader_report(l, sb->key[SIGN_HEADER], "sign: param and header both given; the signature goes in one of them");
	else if (!sb->key[SIGN_PARAM] && !sb->key[SIGN_HEADER])
		loader_report(l, sb->node, "sign: an hmac signature needs a param or a header to go in");
	const char *param = sb->text[SIGN_PARAM], *header = sb->text[SIGN_HEADER], *why;
	if (param && !sign_param_name_ok(param, strlen(param)))
		loader_report(l, sb->value[SIGN_PARAM], "sign.param: a query parameter name (letters, digits and -._~ only), got '%s'", param);
	else if (param)
		check_param_unused(l, sb, url);
	if (header && !strcasecmp(header, "Content-Type"))
		why = "the body's content_type says it";
	else
		why = header ? httpheader_bad_name(header, strlen(header)) : NULL;
	if (why)
		loader_report(l, sb->value[SIGN_HEADER], "sign.header: '%s': %s", header, why);
}

static void check_sign(struct loader *l, const struct sign_block *sb, const char *url)
{
	const char *secret = sb->text[SIGN_SECRET];
	if (!sb->key[SIGN_SCHEME])
		loader_report(l, sb->node, "sign: no scheme (standard-webhooks or hmac)");
	if (!sb->key[SIGN_SECRET])
		loader_report(l, sb->node, "sign: no secret (the name of a secret in pbfire's --secrets file)");
	else if (secret && !sign_secret_name_ok(secret, strlen(secret)))
		loader_report(l, sb->value[SIGN_SECRET], "sign.secret: expected the name of a secret in pbfire's --secrets file (letters, digits, '_', '.' and '-'), never the secret itself");
	if (!sb->text[SIGN_SCHEME] || !sign_choice(l, sb, SIGN_SCHEME, sign_schemes, "standard-webhooks or hmac"))
		return;
	if (!strcmp(sb->text[SIGN_SCHEME], sign_schemes[SIGN_HMAC])) {
		check_hmac(l, sb, url);
		return;
	}
	for (int i = SIGN_ALGORITHM; i < SIGN_KEYS; i++)
		if (sb->key[i])
			loader_report(l, sb->key[i], "%s: only an hmac signature takes it; standard-webhooks signs id, timestamp and body", sign_key_paths[i]);
}

/* Reports a header of the postback's headers mapping h that the
 * signature sets. */
static void check_signed_header(struct loader *l, yaml_node_t *h, const char *name)
{
	if (!h || h->type != YAML_MAPPING_NODE)
		return;
	for (yaml_node_pair_t *p = h->data.mapping.pairs.start; p < h->data.mapping.pairs.top; p++) {
		yaml_node_t *k = loader_node(l, p->key);
		if (k->type == YAML_SCALAR_NODE && !strcasecmp(loader_scalar(k), name))
			loader_report(l, k, "headers: '%s' is set by the postback's signature", loader_scalar(k));
	}
}

/* The sign block as JSON, its defaults filled in. */
static char *sign_json(const struct sign_block *sb)
{
	static const char *const defaults[SIGN_KEYS] = {
		[SIGN_ALGORITHM] = "sha256", [SIGN_ENCODING] = "hex",
	};
	bool hmac = !strcmp(sb->text[SIGN_SCHEME], sign_schemes[SIGN_HMAC]);
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

/* sign: {scheme, secret, ...}, read once the URL and headers are. */
void delivery_read_sign(struct loader *l, yaml_node_t *n, yaml_node_t *headers, struct postback *pb)
{
	struct sign_block sb;
	int errors = l->errors;	/* a mistake anywhere in the block: no JSON of it */
	if (!read_sign_members(l, n, &sb))
		return;
	check_sign(l, &sb, pb->url);
	if (sb.text[SIGN_HEADER])
		check_signed_header(l, headers, sb.text[SIGN_HEADER]);
	if (sb.text[SIGN_SCHEME] && !strcmp(sb.text[SIGN_SCHEME], sign_schemes[SIGN_STANDARD_WEBHOOKS]))
		for (const char *const *h = sign_webhook_headers; *h; h++)
			check_signed_header(l, headers, *h);
	if (l->errors == errors)
		pb->sign_json = sign_json(&sb);
}

/* timeout: a duration per attempt (a bare number is seconds), such as
 * 10, 2.5s, 500ms or 1m, from 1ms to 1d, kept to the millisecond. */
void delivery_read_timeout(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = loader_want_scalar(l, n, "timeout");
	int64_t ns;
	if (!s)
		return;
	if (!duration_parse(s, strlen(s), DURATION_S, &ns) || ns < DURATION_MS || ns > DURATION_D)
		loader_report(l, n, "timeout: expected seconds per attempt from 0.001 to 86400, such as 10, 2.5s, 500ms or 1m; got '%s'", s);
	else
		pb->timeout_ms = (long)duration_round(ns, DURATION_MS);
}

/* attempts: how many attempts a line gets in all, 1 for at most once. */
void delivery_read_attempts(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = loader_want_scalar(l, n, "attempts");
	if (!s)
		return;
	char *end;
	long v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || v < 1 || v > 100)
		loader_report(l, n, "attempts: expected a whole number from 1 (at most once) to 100, got '%s'", s);
	else
		pb->attempts = (int)v;
}

/* Whether s is an HTTP status, 100 to 599, into *v. */
static bool http_status(const char *s, long *v)
{
	char *end;
	*v = strtol(s, &end, 10);
	return *s >= '0' && *s <= '9' && !*end && *v >= 100 && *v <= 599;
}

/* The statuses of a final or expect list, as a JSON array, and the first
 * 2xx among them. */
struct status_list {
	struct buf json;
	const char *key;
	yaml_node_t *first_2xx;
};

static void add_status(struct loader *l, yaml_node_t *n, const char *s, void *arg)
{
	struct status_list *sl = arg;
	long v;
	if (!http_status(s, &v)) {
		loader_report(l, n, "%s: expected HTTP statuses from 100 to 599, got '%s'", sl->key, s);
		return;
	}
	if (v >= 200 && v < 300 && !sl->first_2xx)
		sl->first_2xx = n;
	buf_addf(&sl->json, "%s%ld", sl->json.len > 1 ? "," : "", v);
}

static char *status_list(struct loader *l, yaml_node_t *n, const char *key, yaml_node_t **first_2xx)
{
	struct status_list sl = { .key = key };
	buf_addc(&sl.json, '[');
	loader_each_value(l, n, key, add_status, &sl);
	buf_addc(&sl.json, ']');
	*first_2xx = sl.first_2xx;
	return sl.json.data;
}

/* final: [403, 404], statuses whose answer ends a line, never retried;
 * returns the node of the first 2xx among them, which only a postback
 * with an expect may list (a 2xx that fails the check), or NULL. */
yaml_node_t *delivery_read_final(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	yaml_node_t *first_2xx;
	pb->final_json = status_list(l, n, "final", &first_2xx);
	return first_2xx;
}

static const char *const expect_keys[] = { "status", "body", NULL };

/* expect.body: a POSIX extended regular expression, compiled as pbfire
 * compiles it, to find a mistake before any input is read. */
static void read_expect_body(struct loader *l, yaml_node_t *n, struct buf *json)
{
	const char *s = loader_want_scalar(l, n, "expect.body");
	if (!s)
		return;
	if (strlen(s) != n->data.scalar.length) {
		loader_report(l, n, "expect.body: a regular expression has no NUL character");
		return;
	}
	regex_t re;
	int rc = regcomp(&re, s, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char why[256];
		regerror(rc, &re, why, sizeof why);
		loader_report(l, n, "expect.body: not a POSIX extended regular expression: %s: '%s'", why, s);
		return;
	}
	regfree(&re);
	buf_adds(json, json->len > 1 ? ",\"body\":" : "\"body\":");
	buf_add_json_string(json, s, strlen(s));
}

/* expect: {status: [200, 204], body: "^OK"}, what an answer must be for
 * its postback to be delivered, kept as the JSON object pbfire reads. */
void delivery_read_expect(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.start == n->data.mapping.pairs.top) {
		loader_report(l, n, "expect: expected a mapping with status, body or both, got %s",
			      n->type == YAML_MAPPING_NODE ? "an empty one" : loader_kind(n));
		return;
	}
	int errors = l->errors;
	struct buf json = { 0 };
	buf_addc(&json, '{');
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = loader_node(l, p->key), *v = loader_node(l, p->value);
		const char *key = loader_member_key(l, n, p, "expect key");
		yaml_node_t *unused;
		if (key && !strcmp(key, "status")) {
			char *statuses = status_list(l, v, "expect.status", &unused);
			buf_addf(&json, "%s\"status\":%s", json.len > 1 ? "," : "", statuses);
			free(statuses);
		} else if (key && !strcmp(key, "body")) {
			read_expect_body(l, v, &json);
		} else if (key) {
			loader_unknown(l, k, "expect key", key, expect_keys);
		}
	}
	buf_addc(&json, '}');
	if (l->errors == errors)
		pb->expect_json = json.data;
	else
		buf_free(&json);
}

/* rate: at most so many requests a second or a minute, such as 20/s or
 * 300/m (common/rate.c's grammar), kept as written: pbfire reads it so. */
void delivery_read_rate(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	const char *s = loader_want_scalar(l, n, "rate"), *why;
	int64_t interval;
	if (!s)
		return;
	if ((why = rate_parse(s, strlen(s), &interval)))
		loader_report(l, n, "rate: %s, got '%s'", why, s);
	else
		pb->rate = xstrndup(s, strlen(s));
}
