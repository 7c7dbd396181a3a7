/* Fuzzes the POST body and header renderer (cmd/pbexpand/request.c) with
 * the input as one line for pbexpand: its postback object's body,
 * content_type, headers and map, its other members the variables.
 * Beyond no crash: a rendered request is valid JSON members; a JSON body
 * made from a mapping is a valid JSON object; a form body has only URI
 * characters; every header passes the header check (httpheader.c); a
 * failure names its cause; the line written back with the members added
 * is valid JSON. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "httpheader.h"
#include "request.h"
#include "uritemplate.h"

static void check_members(const struct request *q, int body, bool json, bool mapping)
{
	struct buf obj = { 0 };
	struct record back = { 0 };
	struct json_error e;
	buf_addc(&obj, '{');
	if (q->members.len)
		buf_add(&obj, q->members.data + 1, q->members.len - 1);	/* less the leading comma */
	buf_addc(&obj, '}');
	CHECK(record_parse(&back, obj.data, obj.len, &e));
	if (body >= 0) {
		CHECK(record_get(&back, 0, "body") >= 0);
		if (json && mapping)
			CHECK(fuzz_json_object(q->body.data, q->body.len));
		else if (!json)
			CHECK(fuzz_uri_text(q->body.data, q->body.len));
	}
	int h = record_get(&back, 0, "headers");
	for (int i = 0, k = h + 1; h >= 0 && i < back.tok[h].size; i++, k = record_skip(&back, k + 1)) {
		struct text name = record_text(&back, k), v = record_text(&back, k + 1);
		CHECK(!httpheader_bad_name(name.p, name.n) && !httpheader_bad_value(v.p, v.n));
	}
	record_free(&back);
	buf_free(&obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record r = { 0 };
	struct json_error je;
	if (!record_parse(&r, (const char *)data, size, &je)) {
		record_free(&r);
		return 0;
	}
	int pb = record_get(&r, 0, "postback");
	int body = pb >= 0 ? record_get(&r, pb, "body") : -1;
	int type = pb >= 0 ? record_get(&r, pb, "content_type") : -1;
	bool json = type >= 0 && text_is(record_text(&r, type), "application/json");
	struct tmpl_vars v = { &r, 0, pb >= 0 ? record_get(&r, pb, "map") : -1, NULL, NULL };
	static const char *const names[PB_MEMBERS] = {
		"name", "url", "map", "body", "content_type", "headers", "sign"
	};
	int member[PB_MEMBERS];
	find_postback_members(&r, pb, member);	/* in one pass: as one lookup each finds them */
	for (int i = 0; i < PB_MEMBERS; i++)
		CHECK(member[i] == (pb >= 0 ? record_get(&r, pb, names[i]) : -1));
	struct request q = { 0 };
	struct request_error err;
	if (request_render(&q, &r, member, &v, &err)) {
		check_members(&q, body, json, body >= 0 && r.tok[body].type == JSMN_OBJECT);
		static const char *const added[] = { "url", "body", "headers", NULL };
		struct buf add = { 0 };
		buf_adds(&add, "\"url\":\"https://h.example/\"");
		buf_add(&add, q.members.data, q.members.len);
		size_t len;
		char *line = fuzz_written(&r, added, add.data, add.len, &len);
		CHECK(fuzz_json_object(line, len - 1));
		free(line);
		buf_free(&add);
	} else {
		CHECK(err.why || (err.e.msg && err.e.offset <= err.part.n));
	}
	request_free(&q);
	record_free(&r);
	return 0;
}
