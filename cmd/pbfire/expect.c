/*
 * A postback's success check, "postback.expect" (pb-rules(5)): read from
 * the line, its body pattern compiled (regcomp, REG_EXTENDED|REG_NOSUB)
 * once for all the lines that share it, in a cache of the PATTERNS_MAX
 * last compiled, and an attempt's answer judged by it once the attempt is
 * back in the main thread: a status in expect.status delivers, whatever
 * it is, when the body matches; a 2xx answer that is not listed, or whose
 * body does not match, fails as unexpected_response; any other answer
 * stays what it was. The body matched is what pbfire read of it, 64 KiB
 * at most (transfer.c), byte for byte (NUL bytes too, REG_STARTEND), in
 * the C locale.
 */
#include "expect.h"
#include "job.h"

#include <stdlib.h>
#include <string.h>

static bool refuse_expect(struct buf *why, const char *what)
{
	buf_clear(why);
	buf_addf(why, "postback.expect: %s", what);
	return false;
}

static bool read_statuses(struct expect *x, struct record *r, int s, struct buf *why)
{
	if (r->tok[s].type != JSMN_ARRAY || !r->tok[s].size)
		return refuse_expect(why, "status: expected an array of HTTP statuses");
	for (int i = s + 1; i < record_skip(r, s); i++) {
		double status = record_is_number(r, i) ? strtod(record_text(r, i).p, NULL) : -1;
		if (!(status >= 100 && status <= 599))
			return refuse_expect(why, "status: expected an array of HTTP statuses");
		status_set_add(&x->statuses, (long)status);
	}
	return true;
}

/* Reads the expect object at token e of r into x; false with why when it
 * is not one pbfire can follow (a member it does not know is refused, so
 * a check is never skipped unseen). */
bool expect_read(struct expect *x, struct record *r, int e, struct buf *why)
{
	if (r->tok[e].type != JSMN_OBJECT)
		return refuse_expect(why, "expected an object with status, body or both");
	x->set = x->any_status = true;
	int end = record_skip(r, e);
	for (int k = e + 1; k < end; k = record_skip(r, k + 1)) {
		struct text name = record_text(r, k);
		if (text_is(name, "status")) {
			x->any_status = false;
			if (!read_statuses(x, r, k + 1, why))
				return false;
		} else if (text_is(name, "body")) {
			struct text t = r->tok[k + 1].type == JSMN_STRING ? record_text(r, k + 1) : (struct text){ 0 };
			if (!t.p || memchr(t.p, '\0', t.n))
				return refuse_expect(why, "body: expected a regular expression, a string without NUL");
			free(x->body);
			x->body = xstrndup(t.p, t.n);
		} else {
			return refuse_expect(why, "expected only status and body");
		}
	}
	return true;
}

/* The compiled pattern text, from the cache or compiled into it (giving
 * up the one compiled longest ago when it is full); NULL with why when
 * the text does not compile. */
static const regex_t *compiled(struct patterns *ps, const char *text, struct buf *why)
{
	for (size_t i = 0; i < ps->n; i++)
		if (!strcmp(ps->at[i].text, text))
			return &ps->at[i].re;
	regex_t re;
	int rc = regcomp(&re, text, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char msg[256];
		regerror(rc, &re, msg, sizeof msg);
		buf_clear(why);
		buf_addf(why, "postback.expect.body: not a POSIX extended regular expression: %s", msg);
		return NULL;
	}
	struct pattern *p;
	if (ps->n < PATTERNS_MAX) {
		p = &ps->at[ps->n++];
	} else {
		p = &ps->at[ps->next];
		ps->next = (ps->next + 1) % PATTERNS_MAX;
		free(p->text);
		regfree(&p->re);
	}
	p->text = xstrndup(text, strlen(text));
	p->re = re;
	return &p->re;
}

/* Whether x's body pattern, if any, compiles; false with why if not. */
bool expect_compiles(struct patterns *ps, const struct expect *x, struct buf *why)
{
	return !x->body || compiled(ps, x->body, why);
}

/* Whether re matches the body kept of answer a, NUL bytes and all. */
static bool body_matches(const regex_t *re, const struct answer *a)
{
	regmatch_t whole = { .rm_so = 0, .rm_eo = (regoff_t)a->body_len };
	return regexec(re, a->body ? a->body : "", 1, &whole, REG_STARTEND) == 0;
}

/* Fails j's attempt as unexpected_response; its message begins. */
static void unexpected(struct job *j)
{
	j->error = ERR_UNEXPECTED;
	buf_clear(&j->message);
	buf_addf(&j->message, "HTTP %ld, ", j->status);
}

/* Judges the answer to j's attempt that ended by its postback's expect. */
void expect_judge(struct patterns *ps, struct job *j)
{
	const struct expect *x = &j->expect;
	if (!x->set || !j->answer.came)
		return;
	bool listed = !x->any_status && status_set_has(&x->statuses, j->status);
	if (!listed && j->error != ERR_NONE)	/* a failure as it is */
		return;
	if (!listed && !x->any_status) {
		unexpected(j);
		buf_adds(&j->message, "not one of expect.status");
		return;
	}
	const regex_t *re = x->body ? compiled(ps, x->body, &j->message) : NULL;
	if (x->body && !re) {	/* it compiled when the line was read: out of memory */
		j->error = ERR_INVALID;
		return;
	}
	if (re && !body_matches(re, &j->answer)) {
		unexpected(j);
		buf_addf(&j->message, "its body does not match expect.body: %s", x->body);
		return;
	}
	j->error = ERR_NONE;
	buf_clear(&j->message);
}

void expect_free(struct expect *x)
{
	free(x->body);
	*x = (struct expect){ 0 };
}

void patterns_free(struct patterns *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->at[i].text);
		regfree(&ps->at[i].re);
	}
	ps->n = ps->next = 0;
}
