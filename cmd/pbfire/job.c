/*
 * The request a line asks pbfire to send, read out of the record the way
 * pbexpand writes it: "url" (http or https, required), "body" (a string)
 * and "headers" (an object of strings), with the method from
 * "postback.method" (POST when a body is given and no method is), the
 * Content-Type from "postback.content_type" unless a header sets it, and
 * the ledger key from "postback.key" or another dotted field, and the
 * postback's own delivery policy ("timeout", "attempts", "final") and
 * success check ("expect", expect.c). The URL and
 * the headers must be ones pb sends (common/httpurl.c, httpheader.c), as
 * the rule loader and pbexpand check them. Also: the host a request
 * counts against for --per-host, and the request written out for a dry
 * run, as JSON and for people.
 */
#include "job.h"
#include "fill.h"
#include "httpheader.h"
#include "httpurl.h"
#include "tool.h"

#include <err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *copy_text(struct record *r, int i, size_t *len)
{
	struct text t = record_text(r, i);
	if (len)
		*len = t.n;
	return xstrndup(t.p, t.n);
}

static const struct text content_type = { "Content-Type", sizeof "Content-Type" - 1 };

/* Says why in why, as printf would; false. */
bool job_refuse(struct buf *why, const char *fmt, ...)
{
	va_list ap;
	char *text;
	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		errx(EXIT_FATAL, "out of memory");
	va_end(ap);
	buf_clear(why);
	buf_adds(why, text);
	free(text);
	return false;
}

/* Adds header "name: value" to j's request; false with why when pb
 * refuses the name or the value (what names the member it came from). */
bool job_add_header(struct job *j, struct text name, struct text value, const char *what,
		    struct buf *why)
{
	const char *bad = httpheader_bad_name(name.p, name.n);
	if (!bad)
		bad = httpheader_bad_value(value.p, value.n);
	if (bad) {
		buf_clear(why);
		buf_addf(why, "%s: %.*s: %s", what, (int)name.n, name.p, bad);
		return false;
	}
	struct buf line = { 0 };
	buf_add(&line, name.p, name.n);
	buf_adds(&line, value.n ? ": " : ";");	/* libcurl drops "Name: ", sends "Name;" empty */
	buf_add(&line, value.p, value.n);
	j->headers = curl_slist_append(j->headers, line.data);
	buf_free(&line);
	return true;
}

/* Whether j's request has header name (n bytes), in any case. */
bool job_has_header(const struct job *j, const char *name, size_t n)
{
	for (const struct curl_slist *h = j->headers; h; h = h->next)
		if (!strncasecmp(h->data, name, n) && (h->data[n] == ':' || h->data[n] == ';'))
			return true;
	return false;
}

/* Adds a header for each member of the headers object h. */
static bool read_headers(struct job *j, struct record *r, int h, bool *has_type, struct buf *why)
{
	int end = record_skip(r, h);
	for (int k = h + 1; k < end; k = record_skip(r, k + 1)) {
		struct text name = record_text(r, k);
		if (r->tok[k + 1].type != JSMN_STRING)
			return job_refuse(why, "headers: expected an object of strings");
		*has_type |= name.n == content_type.n && !strncasecmp(name.p, content_type.p, name.n);
		if (!job_add_header(j, name, record_text(r, k + 1), "headers", why))
			return false;
	}
	return true;
}

static bool add_content_type(struct job *j, struct record *r, int pb, struct buf *why)
{
	int ct = pb >= 0 ? record_get(r, pb, "content_type") : -1;
	if (ct < 0 || r->tok[ct].type != JSMN_STRING)
		return true;
	return job_add_header(j, content_type, record_text(r, ct), "postback.content_type", why);
}

/* The number token i as a double, or -1 when it is not a number. */
static double number_at(struct record *r, int i)
{
	return record_is_number(r, i) ? strtod(record_text(r, i).p, NULL) : -1;
}

static bool read_final(struct job *j, struct record *r, int f, struct buf *why)
{
	if (r->tok[f].type != JSMN_ARRAY)
		return job_refuse(why, "postback.final: expected an array of HTTP statuses");
	for (int i = f + 1; i < record_skip(r, f); i++) {
		double status = number_at(r, i);
		if (!(status >= 100 && status <= 599))
			return job_refuse(why, "postback.final: expected an array of HTTP statuses");
		policy_add_final(&j->policy, (long)status);
	}
	return true;
}

/* Reads the postback's own timeout, attempts, final statuses and expect. */
static bool read_policy(struct job *j, struct record *r, int pb, struct buf *why)
{
	int timeout = record_get(r, pb, "timeout"), attempts = record_get(r, pb, "attempts");
	int final = record_get(r, pb, "final"), expect = record_get(r, pb, "expect");
	double v;
	if (timeout >= 0 && !((v = number_at(r, timeout)) >= 0.001 && v <= 86400))
		return job_refuse(why, "postback.timeout: expected seconds from 0.001 to 86400");
	if (timeout >= 0)
		j->policy.timeout_ms = (long)(v * 1000 + 0.5);
	if (attempts >= 0 && !((v = number_at(r, attempts)) >= 1 && v <= 100 && v == (int)v))
		return job_refuse(why, "postback.attempts: expected a whole number from 1 to 100");
	if (attempts >= 0)
		j->policy.attempts = (int)v;
	if (expect >= 0 && !expect_read(&j->expect, r, expect, why))
		return false;
	return final < 0 || read_final(j, r, final, why);
}

/* Reads the request of j's record into j; false with why when the record
 * does not describe one. The key is read from key_path. */
bool job_read(struct job *j, const char *key_path, struct buf *why)
{
	struct record *r = &j->rec;
	int url = record_get(r, 0, "url"), body = record_get(r, 0, "body");
	int headers = record_get(r, 0, "headers"), pb = record_get(r, 0, "postback");
	int method = pb >= 0 ? record_get(r, pb, "method") : -1;
	int key = record_path(r, key_path, strlen(key_path));
	bool has_type = false;
	if (url < 0 || r->tok[url].type != JSMN_STRING)
		return job_refuse(why, url < 0 ? "url: missing" : "url: expected a string");
	j->url = copy_text(r, url, &j->url_len);
	if (body >= 0 && !record_is_null(r, body)) {
		if (r->tok[body].type != JSMN_STRING)
			return job_refuse(why, "body: expected a string");
		j->body = copy_text(r, body, &j->body_len);
	}
	if (method >= 0 && r->tok[method].type == JSMN_STRING)
		j->method = copy_text(r, method, NULL);
	else
		j->method = xstrndup(j->body ? "POST" : "GET", 4);
	if (strspn(j->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(j->method) || !*j->method)
		return job_refuse(why, "postback.method: expected an HTTP method such as GET or POST");
	if (headers >= 0 && !record_is_null(r, headers)) {
		if (r->tok[headers].type != JSMN_OBJECT)
			return job_refuse(why, "headers: expected an object of strings");
		if (!read_headers(j, r, headers, &has_type, why))
			return false;
	}
	if (j->body && !has_type && !add_content_type(j, r, pb, why))
		return false;
	if (key >= 0 && record_is_scalar(r, key) && !record_is_null(r, key))
		j->key = copy_text(r, key, &j->key_len);
	return pb < 0 || read_policy(j, r, pb, why);
}

/* The host the request goes to, "scheme://host:port"; false with why
 * when the URL is not one pb sends postbacks to. */
bool job_host(const struct job *j, struct buf *host, struct buf *why)
{
	const char *bad;
	if (httpurl_check(j->url, j->url_len, host, &bad))
		return true;
	buf_clear(why);
	buf_addf(why, "url: %s", bad);
	return false;
}

/* The request as a JSON object: method, url, headers, body. */
void job_describe(const struct job *j, struct buf *out)
{
	buf_adds(out, "{\"method\":");
	buf_add_json_string(out, j->method, strlen(j->method));
	buf_adds(out, ",\"url\":");
	buf_add_json_string(out, j->url, strlen(j->url));
	buf_adds(out, ",\"headers\":{");
	for (const struct curl_slist *h = j->headers; h; h = h->next) {
		size_t name = strcspn(h->data, ":;");	/* "Name: value", or "Name;" when empty */
		const char *value = h->data[name] == ':' ? h->data + name + 2 : "";
		buf_add_json_string(out, h->data, name);
		buf_addc(out, ':');
		buf_add_json_string(out, value, strlen(value));
		if (h->next)
			buf_addc(out, ',');
	}
	buf_adds(out, "},\"body\":");
	if (j->body)
		buf_add_json_string(out, j->body, j->body_len);
	else
		buf_adds(out, "null");
	buf_addc(out, '}');
}

/* The request as people read it: a request line, headers, body. */
void job_print(const struct job *j, FILE *f)
{
	fprintf(f, "%s %s\n", j->method, j->url);
	for (const struct curl_slist *h = j->headers; h; h = h->next)
		fprintf(f, "    %s\n", h->data);
	if (j->body)
		fprintf(f, "\n    %.*s\n", (int)j->body_len, j->body);
}

/* Lets go of what j keeps of its last answer, as a job waiting in memory
 * for its next attempt does, so that only those in flight hold a body. */
void job_drop_answer(struct job *j)
{
	free(j->answer.body);
	j->answer = (struct answer){ 0 };
}

/* Frees what j holds and empties it. */
void job_clear(struct job *j)
{
	free(j->line);
	record_free(&j->rec);
	free(j->url);
	free(j->method);
	free(j->body);
	free(j->key);
	curl_slist_free_all(j->headers);
	fill_forget(&j->sent);
	free(j->sign.secret);
	free(j->sign.id);
	expect_free(&j->expect);
	free(j->answer.body);
	buf_free(&j->message);
	memset(j, 0, sizeof *j);
}
