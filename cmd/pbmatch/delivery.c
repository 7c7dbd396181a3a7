/*
 * The members of a postback that say how pbfire delivers it: its sign
 * block (how it is signed, the secret named, never given) and its own
 * timeout, attempts, final statuses and rate, checked as the rest of the rule
 * file is (every mistake reported with file, line and column) and kept
 * as the JSON that pbmatch writes into the postback object. The words a
 * sign block may use are common/signwords.c's, which pbfire reads too.
 */
#include "buf.h"
#include "duration.h"
#include "httpheader.h"
#include "loader.h"
#include "rate.h"
#include "signwords.h"

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

static void add_final_status(struct loader *l, yaml_node_t *n, const char *s, void *arg)
{
	struct buf *b = arg;
	char *end;
	long v = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || v < 100 || v > 599 || (v >= 200 && v < 300)) {
		loader_report(l, n, "final: expected HTTP statuses that fail, from 100 to 599 but not 2xx, got '%s'", s);
		return;
	}
	buf_addf(b, "%s%ld", b->len > 1 ? "," : "", v);
}

/* final: [403, 404], statuses whose answer ends a line, never retried. */
void delivery_read_final(struct loader *l, yaml_node_t *n, struct postback *pb)
{
	struct buf b = { 0 };
	buf_addc(&b, '[');
	loader_each_value(l, n, "final", add_final_status, &b);
	buf_addc(&b, ']');
	pb->final_json = b.data;
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
