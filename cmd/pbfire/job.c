/*
 * The request a line asks pbfire to send, read out of the record the way
 * pbexpand writes it: "url" (http or https, required), "body" (a string)
 * and "headers" (an object of strings), with the method from
 * "postback.method" (POST when a body is given and no method is), the
 * Content-Type from "postback.content_type" unless a header sets it, and
 * the ledger key from "postback.key" or another dotted field. Also: the
 * host a request counts against for --per-host, and the request written
 * out for a dry run, as JSON and for people.
 */
#include "job.h"

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

static bool wrong(struct buf *why, const char *what)
{
	buf_clear(why);
	buf_adds(why, what);
	return false;
}

/* Adds "Name: value" for each member of the headers object h. */
static bool read_headers(struct job *j, struct record *r, int h, bool *has_type, struct buf *why)
{
	struct buf line = { 0 };
	bool ok = true;
	int end = record_skip(r, h);
	for (int k = h + 1; ok && k < end; k = record_skip(r, k + 1)) {
		struct text name = record_text(r, k);
		int v = k + 1;
		buf_clear(&line);
		buf_add(&line, name.p, name.n);
		if (r->tok[v].type != JSMN_STRING || !name.n || strpbrk(line.data, ": \t\r\n")) {
			ok = wrong(why, "headers: expected an object of strings with valid names");
			break;
		}
		*has_type |= strcasecmp(line.data, "content-type") == 0;
		struct text value = record_text(r, v);
		buf_adds(&line, ": ");
		buf_add(&line, value.p, value.n);
		for (size_t i = 0; i < line.len; i++)
			if ((unsigned char)line.data[i] < 0x20 && line.data[i] != '\t')
				ok = wrong(why, "headers: control character in a header");
		if (ok)
			j->headers = curl_slist_append(j->headers, line.data);
	}
	buf_free(&line);
	return ok;
}

static void add_content_type(struct job *j, struct record *r, int pb)
{
	int ct = pb >= 0 ? record_get(r, pb, "content_type") : -1;
	if (ct < 0 || r->tok[ct].type != JSMN_STRING)
		return;
	struct buf line = { 0 };
	struct text t = record_text(r, ct);
	buf_adds(&line, "Content-Type: ");
	buf_add(&line, t.p, t.n);
	if (!strpbrk(line.data, "\r\n"))
		j->headers = curl_slist_append(j->headers, line.data);
	buf_free(&line);
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
		return wrong(why, url < 0 ? "url: missing" : "url: expected a string");
	j->url = copy_text(r, url, NULL);
	if (body >= 0 && !record_is_null(r, body)) {
		if (r->tok[body].type != JSMN_STRING)
			return wrong(why, "body: expected a string");
		j->body = copy_text(r, body, &j->body_len);
	}
	if (method >= 0 && r->tok[method].type == JSMN_STRING)
		j->method = copy_text(r, method, NULL);
	else
		j->method = xstrndup(j->body ? "POST" : "GET", 4);
	if (strspn(j->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(j->method) || !*j->method)
		return wrong(why, "postback.method: expected an HTTP method such as GET or POST");
	if (headers >= 0 && !record_is_null(r, headers)) {
		if (r->tok[headers].type != JSMN_OBJECT)
			return wrong(why, "headers: expected an object of strings");
		if (!read_headers(j, r, headers, &has_type, why))
			return false;
	}
	if (j->body && !has_type)
		add_content_type(j, r, pb);
	if (key >= 0 && record_is_scalar(r, key) && !record_is_null(r, key))
		j->key = copy_text(r, key, &j->key_len);
	return true;
}

/* The host the request goes to, "scheme://host:port", by libcurl's URL
 * parser; false with why when the URL is not an http(s) URL with a host. */
bool job_host(const struct job *j, CURLU *parser, struct buf *host, struct buf *why)
{
	char *scheme = NULL, *name = NULL, *port = NULL;
	CURLUcode rc = curl_url_set(parser, CURLUPART_URL, j->url, 0);
	bool ok = rc == CURLUE_OK;
	if (!ok)
		buf_addf(why, "url: %s", curl_url_strerror(rc));
	if (ok) {
		curl_url_get(parser, CURLUPART_SCHEME, &scheme, 0);
		curl_url_get(parser, CURLUPART_HOST, &name, 0);
		curl_url_get(parser, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
		ok = scheme && (!strcmp(scheme, "http") || !strcmp(scheme, "https")) && name && *name;
		if (!ok)
			buf_adds(why, "url: not an http or https URL with a host");
	}
	if (ok) {
		buf_clear(host);
		buf_addf(host, "%s://%s:%s", scheme, name, port ? port : "");
	}
	curl_free(scheme);
	curl_free(name);
	curl_free(port);
	return ok;
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
		const char *colon = strchr(h->data, ':');
		buf_add_json_string(out, h->data, (size_t)(colon - h->data));
		buf_addc(out, ':');
		buf_add_json_string(out, colon + 2, strlen(colon + 2));
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
	buf_free(&j->message);
	memset(j, 0, sizeof *j);
}
