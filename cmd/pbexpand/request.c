/*
 * The body and headers of a POST postback, rendered from the postback's
 * templates (postback.body, postback.headers, postback.content_type, as
 * pbmatch writes them). A form body is a URI template, or a mapping of
 * field names to URI templates joined as name=value&...; a JSON body is a
 * mapping of names to text templates whose results are JSON strings,
 * except that a template that is exactly one {variable} holding a number
 * or a boolean gives that value as it is. Header values are text
 * templates; a header that pb refuses (common/httpheader.c: a name pbfire
 * sets itself, a value that renders with a control character, which could
 * inject a header) fails the record. The message of an hmac sign block
 * is a text template too, rendered as the text pbfire signs (it is not
 * secret; the secret is pbfire's alone).
 */
#include "request.h"
#include "httpheader.h"

#include <string.h>

static bool render_text(const char *t, size_t n, enum tmpl_mode mode, const struct tmpl_vars *v,
			struct buf *out, struct request_error *err)
{
	err->part = (struct text){ t, n };
	return tmpl_expand(t, n, mode, v, out, &err->e);
}

/* The value token of the variable when template t is exactly "{name}". */
static int sole_variable(const struct tmpl_vars *v, struct text t)
{
	if (t.n < 3 || t.p[0] != '{' || t.p[t.n - 1] != '}' || memchr(t.p + 1, '{', t.n - 2) ||
	    strchr("+#./;?&", t.p[1]) || memchr(t.p, ',', t.n) || memchr(t.p, ':', t.n) ||
	    memchr(t.p, '*', t.n))
		return -1;
	return record_getn(v->r, v->obj, t.p + 1, t.n - 2);
}

static bool json_field(struct request *q, const struct tmpl_vars *v, struct text t,
		       struct request_error *err)
{
	int i = sole_variable(v, t);
	if (i >= 0 && v->r->tok[i].type == JSMN_PRIMITIVE && !record_is_null(v->r, i)) {
		struct text raw = record_text(v->r, i);
		buf_add(&q->body, raw.p, raw.n);
		return true;
	}
	buf_clear(&q->scratch);
	if (!render_text(t.p, t.n, TMPL_TEXT, v, &q->scratch, err))
		return false;
	buf_add_json_string(&q->body, q->scratch.data, q->scratch.len);
	return true;
}

/* Renders the body object's fields into q->body, as a form or as JSON. */
static bool body_fields(struct request *q, struct record *r, int body, bool json,
			const struct tmpl_vars *v, struct request_error *err)
{
	if (json)
		buf_addc(&q->body, '{');
	int k = body + 1;
	for (int m = 0; m < r->tok[body].size; m++, k = record_skip(r, k + 1)) {
		struct text name = record_text(r, k), t = record_text(r, k + 1);
		if (m)
			buf_addc(&q->body, json ? ',' : '&');
		if (json) {
			buf_add_json_string(&q->body, name.p, name.n);
			buf_addc(&q->body, ':');
			if (!json_field(q, v, t, err))
				return false;
		} else {
			tmpl_encode(&q->body, name.p, name.n);
			buf_addc(&q->body, '=');
			if (!render_text(t.p, t.n, TMPL_URI, v, &q->body, err))
				return false;
		}
	}
	if (json)
		buf_addc(&q->body, '}');
	return true;
}

static bool render_body(struct request *q, struct record *r, const int *member,
			const struct tmpl_vars *v, struct request_error *err)
{
	int body = member[PB_BODY], type = member[PB_CONTENT_TYPE];
	if (body < 0)
		return true;
	bool json = type >= 0 && text_is(record_text(r, type), "application/json");
	buf_clear(&q->body);
	if (r->tok[body].type == JSMN_OBJECT) {
		if (!body_fields(q, r, body, json, v, err))
			return false;
	} else {
		struct text t = record_text(r, body);
		if (!render_text(t.p, t.n, TMPL_URI, v, &q->body, err))
			return false;
	}
	buf_adds(&q->members, ",\"body\":");
	buf_add_json_string(&q->members, q->body.data, q->body.len);
	return true;
}

static bool refuse_header(struct request_error *err, struct text name, const char *why)
{
	err->why = why;
	err->part = name;
	return false;
}

/* Renders the value of header name from template t into q->scratch;
 * false when the template fails or pb refuses the name or the value. */
static bool render_header(struct request *q, struct text name, struct text t,
			  const struct tmpl_vars *v, struct request_error *err)
{
	const char *why = httpheader_bad_name(name.p, name.n);
	if (why)
		return refuse_header(err, name, why);
	buf_clear(&q->scratch);
	if (!render_text(t.p, t.n, TMPL_TEXT, v, &q->scratch, err))
		return false;
	why = httpheader_bad_value(q->scratch.data, q->scratch.len);
	return why ? refuse_header(err, name, why) : true;
}

static bool render_headers(struct request *q, struct record *r, const int *member,
			   const struct tmpl_vars *v, struct request_error *err)
{
	int h = member[PB_HEADERS];
	if (h < 0 || r->tok[h].type != JSMN_OBJECT)
		return true;
	buf_adds(&q->members, ",\"headers\":{");
	int k = h + 1;
	for (int m = 0; m < r->tok[h].size; m++, k = record_skip(r, k + 1)) {
		struct text name = record_text(r, k), t = record_text(r, k + 1);
		if (!render_header(q, name, t, v, err))
			return false;
		if (m)
			buf_addc(&q->members, ',');
		buf_add_json_string(&q->members, name.p, name.n);
		buf_addc(&q->members, ':');
		buf_add_json_string(&q->members, q->scratch.data, q->scratch.len);
	}
	buf_addc(&q->members, '}');
	return true;
}

/* Renders the message of the postback's sign block, if it has one, as
 * "sign_message". */
static bool render_sign_message(struct request *q, struct record *r, const int *member,
				const struct tmpl_vars *v, struct request_error *err)
{
	int sign = member[PB_SIGN];
	int msg = sign >= 0 && r->tok[sign].type == JSMN_OBJECT ? record_get(r, sign, "message") : -1;
	if (msg < 0 || r->tok[msg].type != JSMN_STRING)
		return true;
	struct text t = record_text(r, msg);
	buf_clear(&q->scratch);
	if (!render_text(t.p, t.n, TMPL_TEXT, v, &q->scratch, err))
		return false;
	buf_adds(&q->members, ",\"sign_message\":");
	buf_add_json_string(&q->members, q->scratch.data, q->scratch.len);
	return true;
}

/* The members of postback object pb that pbexpand reads, found in one
 * pass over it; -1 for one it does not have, all -1 when pb is -1. */
void find_postback_members(const struct record *r, int pb, int member[PB_MEMBERS])
{
	static const char *const names[] = {
		"name", "url", "map", "body", "content_type", "headers", "sign", NULL
	};
	static struct keyset keys;
	if (!keys.n)
		keyset_init(&keys, names);
	if (pb >= 0)
		record_members(r, pb, &keys, member);
	else
		for (int i = 0; i < PB_MEMBERS; i++)
			member[i] = -1;
}

/* Renders the body, headers and signing message of a postback whose
 * members find_postback_members() found, if it has them, as JSON members in
 * q->members (each with a leading comma). */
bool request_render(struct request *q, struct record *r, const int member[PB_MEMBERS],
		    const struct tmpl_vars *v, struct request_error *err)
{
	buf_clear(&q->members);
	err->why = NULL;
	return render_body(q, r, member, v, err) && render_headers(q, r, member, v, err) &&
	       render_sign_message(q, r, member, v, err);
}

void request_free(struct request *q)
{
	buf_free(&q->members);
	buf_free(&q->body);
	buf_free(&q->scratch);
}
