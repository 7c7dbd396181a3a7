/*
 * Secrets in a request: the {secret:NAME} placeholders (common/secretref.c)
 * that pbexpand leaves in a line's url, body and headers are filled here
 * with the first secret of each name in --secrets, in the copy of the
 * request that is sent (job.h's struct sent), never in the line, its
 * records, or what -v and dry runs show. A value goes in as its place
 * wants it: percent-encoded in the URL and in a form body (as an RFC 6570
 * simple expansion encodes a value), JSON-escaped in a JSON body (one
 * whose postback.content_type is application/json, as pbexpand renders
 * it), as it is in a header, whose value must then still be one pb sends.
 * A line naming a secret pbfire lacks is refused when it is read. The
 * copies are wiped from memory when the line is done.
 */
#include "fill.h"
#include "httpheader.h"
#include "secretref.h"
#include "uritemplate.h"

#include <stdlib.h>
#include <string.h>

enum place { IN_URI, IN_JSON, IN_HEADER };

static void add_value(struct buf *out, const struct secret *sec, enum place p)
{
	struct buf quoted = { 0 };
	if (p == IN_URI) {
		tmpl_encode(out, sec->value, sec->len);
	} else if (p == IN_JSON) {
		buf_add_json_string(&quoted, sec->value, sec->len);
		buf_add(out, quoted.data + 1, quoted.len - 2);	/* inside the string's quotes */
		secrets_forget(&quoted);
	} else {
		buf_add(out, sec->value, sec->len);
	}
}

/* Appends text t (n bytes) to out, each placeholder filled as place p
 * wants it; false with why naming a secret pbfire lacks (what: where the
 * text comes from). */
static bool fill_text(struct buf *out, const char *t, size_t n, enum place p,
		      const struct secrets *s, const char *what, struct buf *why)
{
	const char *at = t, *end = t + n, *open;
	while ((open = memchr(at, '{', (size_t)(end - at)))) {
		struct text name;
		size_t len = secretref_at(open, end, &name);
		buf_add(out, at, (size_t)(open - at) + !len);
		at = open + (len ? len : 1);
		if (!len)
			continue;
		const struct secret *sec = secrets_find(s, name.p, name.n, what, why);
		if (!sec)
			return false;
		add_value(out, sec, p);
	}
	buf_add(out, at, (size_t)(end - at));
	return true;
}

/* Fills text t (n bytes) into a new copy in *copy, when it has a
 * placeholder; false with why when pbfire lacks a secret it names. */
static bool fill_copy(const char *t, size_t n, enum place p, const struct secrets *s,
		      const char *what, char **copy, size_t *len, struct buf *why)
{
	struct buf b = { 0 };
	if (!t || !secretref_count(t, n))
		return true;
	if (!fill_text(&b, t, n, p, s, what, why)) {
		secrets_forget(&b);
		return false;
	}
	*copy = b.data;
	*len = b.len;
	return true;
}

/* Wipes and frees a list of headers that held secrets. */
static void forget_headers(struct curl_slist **list)
{
	for (struct curl_slist *h = *list; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(*list);
	*list = NULL;
}

/* Fills j's headers into a new list in *out; false with why when pbfire
 * lacks a secret one names, or a value filled is not one pb sends. */
static bool fill_headers(const struct job *j, const struct secrets *s, struct curl_slist **out,
			 struct buf *why)
{
	struct buf line = { 0 };
	bool ok = true;
	for (const struct curl_slist *h = j->headers; ok && h; h = h->next) {
		size_t name = strcspn(h->data, ":;");	/* "Name: value", or "Name;" when empty */
		buf_clear(&line);
		ok = fill_text(&line, h->data, strlen(h->data), IN_HEADER, s, "headers", why);
		const char *bad = ok && line.len > name + 2 ? httpheader_bad_value(line.data + name + 2, line.len - name - 2) : NULL;
		if (bad) {
			buf_clear(why);
			buf_addf(why, "headers: %.*s: %s, once its secret is filled", (int)name, h->data, bad);
			ok = false;
		} else if (ok) {
			*out = curl_slist_append(*out, line.data);
		}
	}
	secrets_forget(&line);
	return ok;
}

/* Reads the placeholders of j's request: the URL and the body are filled
 * now, the headers checked (they are filled at each attempt, after the
 * signature's); false with why when a secret is missing. */
bool fill_read(struct job *j, const struct secrets *s, struct buf *why)
{
	struct record *r = &j->rec;
	int pb = record_get(r, 0, "postback");
	int type = pb >= 0 ? record_get(r, pb, "content_type") : -1;
	bool json = type >= 0 && text_is(record_text(r, type), "application/json");
	struct sent *sent = &j->sent;
	if (!fill_copy(j->url, j->url_len, IN_URI, s, "url", &sent->url, &sent->url_len, why) ||
	    !fill_copy(j->body, j->body_len, json ? IN_JSON : IN_URI, s, "body", &sent->body,
		       &sent->body_len, why))
		return false;
	for (const struct curl_slist *h = j->headers; h; h = h->next)
		sent->fills_headers |= secretref_count(h->data, strlen(h->data)) > 0;
	struct curl_slist *check = NULL;
	bool ok = !sent->fills_headers || fill_headers(j, s, &check, why);
	forget_headers(&check);
	return ok;
}

/* Fills j's headers for the attempt about to start, its signature's
 * among them. */
void fill_attempt(struct job *j, const struct secrets *s)
{
	struct buf why = { 0 };
	if (!j->sent.fills_headers)
		return;
	forget_headers(&j->sent.headers);
	fill_headers(j, s, &j->sent.headers, &why);	/* it did when the line was read */
	buf_free(&why);
}

static void forget_text(char **text, size_t len)
{
	if (*text)
		explicit_bzero(*text, len);
	free(*text);
	*text = NULL;
}

/* Wipes and frees the request as sent. */
void fill_forget(struct sent *sent)
{
	forget_text(&sent->url, sent->url_len);
	forget_text(&sent->body, sent->body_len);
	forget_headers(&sent->headers);
	sent->fills_headers = false;
}
