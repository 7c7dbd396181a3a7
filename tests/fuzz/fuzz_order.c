/* Fuzzes pbfire's order index (cmd/pbfire/order.c) over a retry spool it
 * loads. The input is a line, a newer line about to be sent (JSON or
 * not), then the body of a spool file: "+DUE LINE" held and "-DUE LINE"
 * released records (the header is added); an input whose body has a
 * malformed record is skipped (fuzz_spool covers those). The spool is
 * loaded with the index told of each held line, the line checked as
 * pbfire checks one before it is sent, the older lines it supersedes
 * dropped, and every held line taken as pbfire takes its retries (a
 * dropped line's place passed over). Beyond no crash, checked here apart
 * from order.c, with a line's stream read as written (type,
 * transaction_id, for events event_name, postback.name; a "postback"
 * object, no "superseded" or "notice", no "supersede": false, an action
 * time): the line is superseded exactly when a held line of its stream
 * has a later time, and then nothing is dropped; otherwise exactly the
 * held lines of its stream with an earlier time are dropped; a
 * superseded line, and the copy of each line dropped, is a JSON object
 * that has its text up to its closing brace, then a "superseded" member;
 * the index ends empty. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz.h"
#include "job.h"
#include "order.h"
#include "spool.h"

static const char header[] = "pbfire-spool 1\n";
#define MAX_LINE 4096
#define MAX_RECORDS 64

/* What the checks read of a line, apart from order.c. */
struct view {
	bool ordered;
	struct text part[4];	/* type, transaction_id, event_name, postback.name */
	struct stamp time;
};

/* The value at path as written (a string without its quotes), if it is
 * a string or (number) a number. */
static struct text as_written(struct record *r, const char *path, bool number, jsmntype_t *type)
{
	int i = record_path(r, path, strlen(path));
	*type = i >= 0 ? r->tok[i].type : JSMN_UNDEFINED;
	if (i < 0 || !(r->tok[i].type == JSMN_STRING || (number && record_is_number(r, i))))
		return (struct text){ 0 };
	return (struct text){ r->text + r->tok[i].start, (size_t)(r->tok[i].end - r->tok[i].start) };
}

static void view(struct record *r, struct view *v)
{
	jsmntype_t t, pb;
	memset(v, 0, sizeof *v);
	as_written(r, "postback", false, &pb);
	int s = record_path(r, "postback.supersede", sizeof "postback.supersede" - 1);
	bool opted_out = s >= 0 && r->tok[s].type == JSMN_PRIMITIVE && text_is(record_text(r, s), "false");
	if (pb != JSMN_OBJECT || opted_out || record_get(r, 0, "superseded") >= 0 || record_get(r, 0, "notice") >= 0)
		return;
	v->part[0] = as_written(r, "type", false, &t);
	v->part[1] = as_written(r, "transaction_id", true, &t);
	if (v->part[0].n == 5 && !memcmp(v->part[0].p, "event", 5))
		v->part[2] = as_written(r, "event_name", false, &t);
	v->part[3] = as_written(r, "postback.name", false, &t);
	struct text time = as_written(r, "time", true, &t);
	bool timed = time.n && ((t == JSMN_STRING && stamp_parse_rfc3339(time.p, time.n, &v->time)) ||
				stamp_parse_unix(time.p, time.n, &v->time));
	v->ordered = v->part[0].n && v->part[1].n && v->part[3].n && timed;
}

static bool same_stream(const struct view *a, const struct view *b)
{
	if (!a->ordered || !b->ordered)
		return false;
	for (int i = 0; i < 4; i++)
		if (a->part[i].n != b->part[i].n || (a->part[i].n && memcmp(a->part[i].p, b->part[i].p, a->part[i].n)))
			return false;
	return true;
}

static int compare(struct stamp a, struct stamp b)
{
	return a.sec != b.sec ? (a.sec < b.sec ? -1 : 1) : (a.nsec > b.nsec) - (a.nsec < b.nsec);
}

/* Whether copy is a JSON object made of the line text: its text up to
 * its closing brace, then a "superseded" member. */
static bool superseded_copy(const char *copy, size_t n, const char *text, size_t len)
{
	static struct record r;
	struct json_error e;
	size_t body = len;
	while (body && text[body - 1] != '}')
		body--;
	if (!body || n < body || memcmp(copy, text, body - 1) || !fuzz_json_object(copy, n) ||
	    !record_parse(&r, copy, n, &e))
		return false;
	return record_get(&r, 0, "superseded") >= 0;
}

/* The held lines of the spool file, as the checks see them. */
struct held {
	size_t n;
	uint64_t pos[MAX_RECORDS];
	struct view v[MAX_RECORDS];
	bool dropped[MAX_RECORDS];
	char *text[MAX_RECORDS];
	size_t len[MAX_RECORDS];
	struct record r[MAX_RECORDS];
};

static size_t index_of(const struct held *h, uint64_t pos)
{
	size_t i = 0;
	while (i < h->n && h->pos[i] != pos)
		i++;
	CHECK(i < h->n);
	return i;
}

/* Reads the spool's held lines, each as the checks view it. */
static void read_held(struct held *h, struct spool *s)
{
	struct json_error e;
	for (size_t i = 0; i < s->held.n; i++) {
		int64_t due;
		size_t len;
		uint64_t pos = s->held.at[i].id;
		const char *line = spool_peek(s, pos, &due, &len);
		h->pos[h->n] = pos;
		h->text[h->n] = xstrndup(line, len);
		h->len[h->n] = len;
		if (record_parse(&h->r[h->n], h->text[h->n], len, &e))
			view(&h->r[h->n], &h->v[h->n]);
		h->n++;
	}
}

static void free_held(struct held *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->text[i]);
		record_free(&h->r[i]);
	}
}

/* Checks the newer line j against the held lines, then drops what it
 * supersedes, as pbfire does before sending it. */
static void check_line(struct order *o, struct job *j, struct held *h)
{
	struct view mine;
	bool newer = false;
	char *text = xstrndup(j->line, j->len);
	size_t len = j->len;
	view(&j->rec, &mine);
	for (size_t i = 0; i < h->n; i++)
		newer |= same_stream(&mine, &h->v[i]) && compare(h->v[i].time, mine.time) > 0;
	enum order_verdict v = order_check(o, j);
	CHECK(v != ORDER_WAIT);
	CHECK((v == ORDER_SUPERSEDED) == newer);
	if (newer)
		CHECK(superseded_copy(j->line, j->len, text, len));
	for (size_t i = 0; i < o->nfound; i++) {
		CHECK(!order_found_job(o, i));
		size_t k = index_of(h, o->found[i] >> 2), n;
		const char *copy = order_supersede_spooled(o, i, j, &n);
		CHECK(superseded_copy(copy, n, h->text[k], h->len[k]));
		h->dropped[k] = true;
	}
	for (size_t i = 0; i < h->n; i++)
		CHECK(h->dropped[i] == (!newer && same_stream(&mine, &h->v[i]) &&
					compare(h->v[i].time, mine.time) < 0));
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl = memchr(p, '\n', size);
	if (!nl || size > 64 * 1024 || (size_t)(nl - p) > MAX_LINE)
		return 0;
	size_t line_len = (size_t)(nl - p);
	const char *path = fuzz_path("spool");
	if (!fuzz_spool_file(path, header, nl + 1, (size_t)(end - nl - 1), MAX_LINE, MAX_RECORDS))
		return 0;

	static struct held h;
	struct spool s;
	struct order o;
	struct json_error e;
	struct job *j = xcalloc(1, sizeof *j);
	memset(&h, 0, sizeof h);
	order_init(&o, &s);
	spool_open_with(&s, path, "pbfire", MAX_LINE, order_spooled, &o);
	read_held(&h, &s);
	j->line = xstrndup(p, line_len);
	j->len = line_len;
	if (record_parse(&j->rec, j->line, j->len, &e)) {
		order_read(&o, &j->rec, &j->order);
		order_add_job(&o, j);
		check_line(&o, j, &h);
	}
	int64_t due;
	while (spool_next(&s, &due)) {
		uint64_t pos = spool_first(&s);
		bool dropped = order_passed(&o, pos);
		CHECK(dropped == h.dropped[index_of(&h, pos)]);
		if (dropped) {
			spool_skip(&s);
			continue;
		}
		size_t len;
		spool_lease_earliest(&s, &pos, &len);
		spool_end_lease(&s, pos);
	}
	order_remove_job(&o, j);
	CHECK(o.count == 0 && o.dropped == 0);
	spool_close(&s);
	job_clear(j);
	free(j);
	free_held(&h);
	order_free(&o);
	unlink(path);
	return 0;
}
