/*
 * --html FILE: the report as one self-contained page for the people who
 * look after the publishers: the summary, the postbacks by name and by
 * publisher (largest first, HTML_ROWS of each), the per-minute plot
 * (plot.c, inline SVG), the latest failures of each postback
 * (failures.c; --html-max in all, shared in turn among the postbacks)
 * with the publisher's answer, and a search box that finds a click or
 * transaction id among them. Nothing is fetched: the style and script are
 * in the page, and its Content-Security-Policy forbids any request. Every
 * text from the records is escaped for where it goes: in the page, &, <,
 * >, " and ' as entities and control characters as U+FFFD; in the page's
 * data (JSON in a script element), <, > and & as \u escapes, so no text
 * ends the element. The records were valid UTF-8 and are cut on
 * character boundaries, so the page is too. The file is replaced whole,
 * as the plot is (durable.c).
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "durable.h"
#include "plot.h"
#include "stamp.h"

#define HTML_ROWS 200	/* rows of a table by name or by publisher */

static const char style[] =
	"body{font:14px/1.4 sans-serif;margin:1.5em;color:#222;max-width:1400px}"
	"h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.2em;margin:1.4em 0 .4em}h3{font-size:1em}"
	".meta{color:#666}table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:3px 8px;"
	"text-align:right;vertical-align:top}th{background:#f4f4f4}td.l,th.l{text-align:left}"
	"td.u{text-align:left;word-break:break-all;max-width:28em}td.t{white-space:nowrap}"
	"pre{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;max-width:40em;max-height:12em;overflow:auto;"
	"background:#f8f8f8}"
	".bad{color:#b00}.ok{color:#070}tr.hit{background:#fff3b0}#q{width:24em;font-size:1em}"
	"svg{max-width:100%;height:auto}";

/* Runs first: any error, or a request the policy refused, marks the page. */
static const char guard[] =
	"(function(){function bad(w){document.documentElement.setAttribute('data-pb-error',String(w))}"
	"window.addEventListener('error',function(e){bad(e.message)});"
	"document.addEventListener('securitypolicyviolation',function(e){bad('blocked '+e.blockedURI)})})();";

/* The search: shows the failures with an id containing the text, from
 * the box or from the address's #find=ID; marks the page ready. */
static const char search[] =
	"(function(){var data=JSON.parse(document.getElementById('pb-data').textContent);"
	"var q=document.getElementById('q'),found=document.getElementById('found');"
	"function find(){var v=q.value.trim(),n=0;"
	"data.failures.forEach(function(f){var row=document.getElementById(f.row),"
	"hit=v!==''&&f.ids.some(function(id){return id!==null&&id.indexOf(v)>=0});"
	"row.classList.toggle('hit',hit);row.hidden=v!==''&&!hit;if(hit)n++});"
	"document.querySelectorAll('section.postback').forEach(function(s){"
	"s.hidden=v!==''&&!s.querySelector('tr.hit')});"
	"found.textContent=v===''?'':n?n+(n===1?' failure':' failures')+' found':"
	"'not among the '+data.failures.length+' failures this page lists'}"
	"q.addEventListener('input',find);"
	"var h=location.hash.match(/^#find=(.*)$/);if(h){q.value=decodeURIComponent(h[1]);find()}"
	"document.documentElement.setAttribute('data-pb-ready','1')})();";

/* s[0,n) as text of the page. */
static void add_text(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default:
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
				buf_adds(b, "\xEF\xBF\xBD");
			else
				buf_addc(b, (char)c);
		}
	}
}

static void add_texts(struct buf *b, const char *s)
{
	add_text(b, s, strlen(s));
}

/* s[0,n) as a JSON string that is safe inside a script element. */
static void add_json(struct buf *b, const char *s, size_t n)
{
	struct buf j = { 0 };
	buf_add_json_string(&j, s, n);
	for (size_t i = 0; i < j.len; i++) {
		char c = j.data[i];
		if (c == '<' || c == '>' || c == '&')
			buf_addf(b, "\\u%04x", c);
		else
			buf_addc(b, c);
	}
	buf_free(&j);
}

static void add_u(struct buf *b, uint64_t v)
{
	buf_addf(b, "<td>%llu</td>", (unsigned long long)v);
}

static void add_row(struct buf *b, const char *name, const char *value)
{
	buf_adds(b, "<tr><th class=\"l\">");
	add_texts(b, name);
	buf_adds(b, "</th><td class=\"l\">");
	add_texts(b, value);
	buf_adds(b, "</td></tr>\n");
}

static void add_summary_rows(struct buf *b, const struct summary *s)
{
	const uint64_t *o = s->outcomes;
	struct attempts a = summary_attempts(s);
	cell c[6];
	char line[512];
	snprintf(line, sizeof line, "%llu seen: %llu delivered, %llu failed, %llu pending, %llu superseded, "
		 "%llu dry runs, %llu settled earlier", (unsigned long long)summary_seen(s),
		 (unsigned long long)o[OUTCOME_DELIVERED], (unsigned long long)o[OUTCOME_FAILED],
		 (unsigned long long)o[OUTCOME_PENDING], (unsigned long long)o[OUTCOME_SUPERSEDED],
		 (unsigned long long)o[OUTCOME_DRY_RUN], (unsigned long long)o[OUTCOME_EARLIER]);
	add_row(b, "postbacks", line);
	snprintf(line, sizeof line, "%s (%llu of %llu finished)", percent_cell(c[0], summary_success(s)),
		 (unsigned long long)o[OUTCOME_DELIVERED], (unsigned long long)summary_finished(s));
	add_row(b, "success", line);
	snprintf(line, sizeof line, "%llu sent, mean %.2f, max %ld", (unsigned long long)a.sent,
		 a.sent ? (double)a.sum / (double)a.sent : 0.0, a.max);
	add_row(b, "attempts", line);
	const struct hist *l = &s->latency;
	snprintf(line, sizeof line, "p50 %s, p90 %s, p99 %s, max %s", ms_cell(c[0], hist_percentile(l, 50)),
		 ms_cell(c[1], hist_percentile(l, 90)), ms_cell(c[2], hist_percentile(l, 99)),
		 ms_cell(c[3], l->total ? (double)l->max : NAN));
	add_row(b, "latency ms", line);
}

static void add_status_row(struct buf *b, const struct summary *s)
{
	buf_adds(b, "<tr><th class=\"l\">status</th><td class=\"l\">");
	for (size_t i = 0; i < s->nstatus; i++)
		buf_addf(b, "%s%ld: %llu", i ? ", " : "", s->status[i].code, (unsigned long long)s->status[i].count);
	buf_adds(b, s->nstatus ? "</td></tr>\n" : "-</td></tr>\n");
}

static void add_errors_row(struct buf *b, const struct errors *e)
{
	const struct error_class **v = errors_by_count(e);
	buf_adds(b, "<tr><th class=\"l\">errors</th><td class=\"l\">");
	for (size_t i = 0; i < e->n; i++) {
		buf_adds(b, i ? ", " : "");
		add_text(b, v[i]->name, v[i]->len);
		buf_addf(b, " %llu", (unsigned long long)v[i]->count);
	}
	buf_adds(b, e->n ? "</td></tr>\n" : "-</td></tr>\n");
	free(v);
}

static void add_summary(struct buf *b, const struct report *r)
{
	char line[256];
	buf_adds(b, "<section id=\"summary\"><h2>Summary</h2><table>\n");
	add_summary_rows(b, r->total);
	add_status_row(b, r->total);
	add_errors_row(b, &r->total->errors);
	snprintf(line, sizeof line, "%lu read, %llu result records, %lu not result records, %lu rejected",
		 r->lines, (unsigned long long)r->total->records, r->other, r->rejected);
	add_row(b, "lines", line);
	buf_adds(b, "</table></section>\n");
}

static void add_group_row(struct buf *b, const struct group *g)
{
	const struct summary *s = &g->summary;
	double ratio = summary_success(s);
	cell c[3];
	buf_adds(b, "<tr><td class=\"l\">");
	if (g->value)
		add_text(b, g->value, g->len);
	else
		buf_adds(b, "(none)");
	buf_adds(b, "</td>");
	add_u(b, summary_seen(s));
	add_u(b, s->outcomes[OUTCOME_DELIVERED]);
	add_u(b, s->outcomes[OUTCOME_FAILED]);
	add_u(b, s->outcomes[OUTCOME_PENDING]);
	buf_addf(b, "<td class=\"%s\">%s</td><td>%s</td><td>%s</td><td class=\"l\">",
		 isnan(ratio) ? "" : ratio < 0.95 ? "bad" : "ok", percent_cell(c[0], ratio),
		 ms_cell(c[1], hist_percentile(&s->latency, 50)), ms_cell(c[2], hist_percentile(&s->latency, 99)));
	const struct error_class *top = top_failure(&s->errors);
	if (top) {
		add_text(b, top->name, top->len);
		buf_addf(b, " %llu", (unsigned long long)top->count);
	}
	buf_adds(b, "</td></tr>\n");
}

static void add_groups(struct buf *b, const char *id, const char *title, const struct groups *g)
{
	const struct group **v = groups_by_volume(g);
	buf_addf(b, "<section id=\"%s\"><h2>%s</h2><table>\n<tr><th class=\"l\">%s</th><th>seen</th>"
		 "<th>delivered</th><th>failed</th><th>pending</th><th>success</th><th>p50 ms</th>"
		 "<th>p99 ms</th><th class=\"l\">top failure</th></tr>\n", id, title, g->field);
	for (size_t i = 0; i < g->n && i < HTML_ROWS; i++)
		add_group_row(b, v[i]);
	buf_adds(b, "</table>");
	if (g->n > HTML_ROWS)
		buf_addf(b, "<p class=\"meta\">and %zu more, with fewer postbacks</p>", g->n - HTML_ROWS);
	buf_adds(b, "</section>\n");
	free(v);
}

static void add_field(struct buf *b, const char *label, const char *s)
{
	if (!s)
		return;
	buf_addf(b, "<div>%s <code>", label);
	add_texts(b, s);
	buf_adds(b, "</code></div>");
}

static void add_pre(struct buf *b, const char *s)
{
	if (!s)
		return;
	buf_adds(b, "<pre>");
	add_texts(b, s);
	buf_adds(b, "</pre>");
}

static void add_answer(struct buf *b, const struct failure *x)
{
	buf_adds(b, "<td class=\"l\">");
	if (x->answer_status >= 0)
		buf_addf(b, "<div>HTTP %ld</div>", x->answer_status);
	add_pre(b, x->field[FAILURE_HEADERS]);
	add_pre(b, x->field[FAILURE_BODY]);
	if (x->truncated)
		buf_adds(b, "<div class=\"meta\">(truncated)</div>");
	if (x->answer_status < 0 && !x->field[FAILURE_HEADERS] && !x->field[FAILURE_BODY])
		buf_adds(b, "-");
	buf_adds(b, "</td>");
}

static void add_failure_row(struct buf *b, const struct failure *x)
{
	char *const *f = x->field;
	buf_addf(b, "<tr id=\"f%llu\"><td class=\"l t\">", (unsigned long long)x->seq);
	add_texts(b, f[FAILURE_FIRED_AT] ? f[FAILURE_FIRED_AT] : "-");
	buf_addf(b, "</td><td class=\"l\">%s</td><td>", x->pending ? "to retry" : "failed");
	if (x->status > 0)
		buf_addf(b, "%ld", x->status);
	else
		buf_adds(b, "-");
	buf_adds(b, "</td><td class=\"l\">");
	add_texts(b, f[FAILURE_ERROR] ? f[FAILURE_ERROR] : "-");
	if (f[FAILURE_MESSAGE]) {
		buf_adds(b, "<div class=\"meta\">");
		add_texts(b, f[FAILURE_MESSAGE]);
		buf_adds(b, "</div>");
	}
	buf_adds(b, "</td><td class=\"u\">");
	add_texts(b, f[FAILURE_URL] ? f[FAILURE_URL] : "-");
	buf_adds(b, "</td><td class=\"l\">");
	add_field(b, "transaction", f[FAILURE_TRANSACTION]);
	add_field(b, "click", f[FAILURE_CLICK]);
	add_field(b, "key", f[FAILURE_KEY]);
	buf_adds(b, "</td>");
	add_answer(b, x);
	buf_adds(b, "</tr>\n");
}

/* How many of each postback's latest failures the page lists: one of
 * each in turn, newest first, until max in all. */
static size_t *shares(const struct failures *f)
{
	size_t *take = xcalloc(f->n ? f->n : 1, sizeof *take), total = 0;
	for (bool more = true; more && total < f->max;) {
		more = false;
		for (size_t i = 0; i < f->n && total < f->max; i++)
			if (take[i] < f->rings[i]->n) {
				take[i]++;
				total++;
				more = true;
			}
	}
	return take;
}

static void add_ids(struct buf *data, const struct failure *x)
{
	static const enum failure_field ids[] = { FAILURE_TRANSACTION, FAILURE_CLICK, FAILURE_KEY };
	buf_addf(data, "{\"row\":\"f%llu\",\"ids\":[", (unsigned long long)x->seq);
	for (size_t i = 0; i < 3; i++) {
		const char *s = x->field[ids[i]];
		if (i)
			buf_addc(data, ',');
		if (s)
			add_json(data, s, strlen(s));
		else
			buf_adds(data, "null");
	}
	buf_adds(data, "]}");
}

/* The failures listed, and their ids in data, a JSON array's members. */
static void add_failures(struct buf *b, struct buf *data, const struct failures *f)
{
	size_t *take = shares(f);
	buf_addf(b, "<section id=\"failures\"><h2>Latest failures</h2><p class=\"meta\">The latest failed "
		 "attempts of each postback, newest first, %zu at most in all (--html-max); secrets in URLs "
		 "are masked.</p>\n", f->max);
	for (size_t i = 0; i < f->n; i++) {
		const struct failure_ring *r = f->rings[i];
		if (!take[i])
			continue;
		buf_adds(b, "<section class=\"postback\"><h3>");
		if (r->name)
			add_text(b, r->name, r->len);
		else
			buf_adds(b, "(none)");
		buf_addf(b, " <span class=\"meta\">(%zu listed)</span></h3><table>\n<tr><th class=\"l\">fired at"
			 "</th><th class=\"l\">fate</th><th>status</th><th class=\"l\">error</th><th class=\"l\">"
			 "URL</th><th class=\"l\">ids</th><th class=\"l\">answer</th></tr>\n", take[i]);
		for (size_t k = 0; k < take[i]; k++) {
			const struct failure *x = failures_newest(r, k, f->max);
			add_failure_row(b, x);
			if (data->len > 1)
				buf_addc(data, ',');
			add_ids(data, x);
		}
		buf_adds(b, "</table></section>\n");
	}
	if (!f->n)
		buf_adds(b, "<p>No failures.</p>\n");
	buf_adds(b, "</section>\n");
	free(take);
}

static void add_head(struct buf *b, const struct report *r)
{
	char at[STAMP_TEXT_MAX];
	stamp_format((struct stamp){ stamp_now().sec, 0 }, at);
	buf_addf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		 "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		 "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
		 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		 "<title>Postbacks</title>\n<script>%s</script>\n<style>%s</style></head>\n<body>\n"
		 "<h1>Postbacks</h1><p class=\"meta\">pbstat, %s UTC, from %lu lines</p>\n",
		 guard, style, at, r->lines);
	buf_adds(b, "<section id=\"find\"><h2>Find a click or transaction</h2><input id=\"q\" type=\"search\" "
		 "placeholder=\"click or transaction id\" aria-label=\"click or transaction id\"> "
		 "<span id=\"found\"></span></section>\n");
}

/* Appends the page to b. */
void report_html_page(struct buf *b, const struct report *r)
{
	struct buf data = { 0 };
	add_head(b, r);
	add_summary(b, r);
	buf_adds(b, "<section id=\"plot\"><h2>Per minute</h2>\n");
	plot_add_svg(b, r->series);
	buf_adds(b, "</section>\n");
	add_groups(b, "by-postback", "By postback", &r->views->groups[VIEW_NAME]);
	add_groups(b, "by-publisher", "By publisher", &r->views->groups[VIEW_PUBLISHER]);
	buf_addc(&data, '[');
	add_failures(b, &data, &r->views->failures);
	buf_addf(b, "<script type=\"application/json\" id=\"pb-data\">{\"failures\":%s]}</script>\n"
		 "<script>%s</script>\n</body></html>\n", data.data, search);
	buf_free(&data);
}

/* Writes the page to path, replacing it whole; false on an I/O error,
 * with errno set and *failed naming the step that failed. */
bool report_html(const struct report *r, const char *path, const char **failed)
{
	struct buf page = { 0 };
	report_html_page(&page, r);
	bool ok = durable_replace(path, page.data, page.len, 0666, failed);
	buf_free(&page);
	return ok;
}
