/* Fuzzes what pbstat's --html and -o openmetrics make of result records
 * (cmd/pbstat/failures.c, mask.c, views.c, report_html.c,
 * report_openmetrics.c): the input as lines, every valid one counted and
 * its failures kept (three at most per postback), then the page and the
 * exposition written. Beyond no crash: the page is valid UTF-8 without a
 * NUL and has exactly its own three script elements, whatever markup the
 * records hold; the exposition is valid UTF-8, every line of it a comment
 * or a pb_ sample (a newline in a label value escaped), ending in
 * "# EOF"; and masking a URL masked already changes nothing. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mask.h"
#include "report.h"

/* Whether s[0,n) is valid UTF-8: json_validate() checks it in a string. */
static bool utf8_valid(const char *s, size_t n)
{
	struct buf b = { 0 };
	buf_adds(&b, "{\"s\":");
	buf_add_json_string(&b, s, n);
	buf_addc(&b, '}');
	bool ok = fuzz_json_object(b.data, b.len);
	buf_free(&b);
	return ok;
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;
	for (const char *p = s; (p = strcasestr(p, what)); p++)
		n++;
	return n;
}

static void check_mask(const char *u, size_t n)
{
	struct buf once = { 0 }, twice = { 0 };
	mask_url(u, n, &once);
	mask_url(once.data ? once.data : "", once.len, &twice);
	CHECK(once.len == twice.len && (!once.len || memcmp(once.data, twice.data, once.len) == 0));
	buf_free(&once);
	buf_free(&twice);
}

static void check_page(const struct report *r)
{
	struct buf page = { 0 };
	report_html_page(&page, r);
	CHECK(utf8_valid(page.data, page.len));
	CHECK(strlen(page.data) == page.len);
	CHECK(count(page.data, "<script") == 3 && count(page.data, "</script") == 3);
	buf_free(&page);
}

static void check_metrics(const struct report *r)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	report_openmetrics(r, f);
	CHECK(fclose(f) == 0);
	CHECK(utf8_valid(text, n));
	CHECK(n >= 6 && memcmp(text + n - 6, "# EOF\n", 6) == 0);
	for (const char *p = text; p < text + n; p = strchr(p, '\n') + 1)
		CHECK(strncmp(p, "# ", 2) == 0 || strncmp(p, "pb_", 3) == 0);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const bool on[VIEWS] = { true, true, true };
	struct views v;
	struct series series;
	struct tally t;
	unsigned long lines = 0;
	views_init(&v, on, "postback.key", 3);
	series_init(&series);
	tally_init(&t, "postback.key", NULL, NULL, &series);
	for (const uint8_t *p = data, *end = data + size; p < end; lines++) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		char *line = xstrndup((const char *)p, n);
		struct json_shape shape;
		struct json_error je;
		if (json_validate(line, n, &shape, NULL, &je)) {
			tally_line(&t, line, shape.escapes);
			views_line(&v, line, n, shape.escapes);
		}
		check_mask(line, n);
		free(line);
		p += n + 1;
	}
	struct report r = { .lines = lines, .total = &t.total, .views = &v, .series = &series };
	check_page(&r);
	check_metrics(&r);
	tally_free(&t);
	series_free(&series);
	views_free(&v);
	return 0;
}
