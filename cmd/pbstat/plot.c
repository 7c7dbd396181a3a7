/*
 * --plot FILE.svg: the series drawn as a self-contained SVG, written by
 * hand: one bar per slot (a minute, or wider for long spans) with the
 * delivered postbacks in green and the failed stacked on them in red, the
 * latency p99 of the slot as a blue line on its own scale at the right,
 * axes with round ticks, times in UTC, and a legend. The file is written
 * beside its name, synced and renamed over it (durable.c), so a reader
 * never sees half, nor a crash leaves half.
 */
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "durable.h"

#define LEFT 70
#define RIGHT 80
#define TOP 50
#define BOTTOM 60
#define HEIGHT 320
#define TICKS 5		/* intervals of the scales: whole numbers from a top of 5 */
#define HEADROOM 1.2	/* the p99 line keeps below the top of its scale */
#define DELIVERED_COLOUR "#2ca02c"
#define FAILED_COLOUR "#d62728"
#define P99_COLOUR "#1f77b4"

struct frame {
	double width;		/* of the plot area */
	double count_max, ms_max;	/* the tops of the two scales */
};

/* The smallest 1, 2 or 5 times a power of ten at or above v (> 0). */
static double round_up(double v)
{
	double p = pow(10, floor(log10(v)));
	return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

static double slot_p99_ms(const struct slot *s)
{
	return hist_percentile(&s->latency, 99) / 1000;
}

static struct frame frame_of(const struct series *s)
{
	double count = 1, ms = 0;
	for (size_t i = 0; i < s->n; i++) {
		count = fmax(count, (double)(s->slots[i].delivered + s->slots[i].failed));
		if (s->slots[i].latency.total)
			ms = fmax(ms, slot_p99_ms(&s->slots[i]));
	}
	double width = fmin(fmax((double)s->n * 12, 480), SERIES_SLOTS);
	return (struct frame){ width, round_up(count), ms > 0 ? round_up(ms * HEADROOM) : 1 };
}

/* The UTC time sec as "HH:MM", with the date before it when asked. */
static void clock_text(int64_t sec, bool with_date, char *out, size_t n)
{
	time_t t = (time_t)sec;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, n, with_date ? "%Y-%m-%d %H:%M" : "%H:%M", &tm);
}

static void add_title(struct buf *b, const struct series *s, const struct frame *f)
{
	char from[32], to[32], per[32] = "minute";
	clock_text(s->first * s->width, true, from, sizeof from);
	clock_text((s->first + (int64_t)s->n) * s->width, true, to, sizeof to);
	if (s->width > 60)
		snprintf(per, sizeof per, "%lld minutes", (long long)s->width / 60);
	buf_addf(b, "<text x=\"%d\" y=\"24\" font-size=\"15\">Postbacks per %s, %s to %s UTC</text>\n",
		 LEFT, per, from, to);
	double x = LEFT + f->width - 330;
	buf_addf(b, "<rect x=\"%.0f\" y=\"32\" width=\"10\" height=\"10\" fill=\"%s\"/>"
		 "<text x=\"%.0f\" y=\"41\">delivered</text>\n", x, DELIVERED_COLOUR, x + 14);
	buf_addf(b, "<rect x=\"%.0f\" y=\"32\" width=\"10\" height=\"10\" fill=\"%s\"/>"
		 "<text x=\"%.0f\" y=\"41\">failed</text>\n", x + 90, FAILED_COLOUR, x + 104);
	buf_addf(b, "<line x1=\"%.0f\" y1=\"37\" x2=\"%.0f\" y2=\"37\" stroke=\"%s\" stroke-width=\"2\"/>"
		 "<text x=\"%.0f\" y=\"41\">latency p99</text>\n", x + 160, x + 180, P99_COLOUR, x + 184);
}

/* The two vertical scales, their ticks and the grid. */
static void add_scales(struct buf *b, const struct frame *f)
{
	double right = LEFT + f->width, bottom = TOP + HEIGHT;
	for (int i = 0; i <= TICKS; i++) {
		double y = bottom - HEIGHT * i / (double)TICKS;
		buf_addf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n",
			 LEFT, y, right, y);
		buf_addf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", LEFT - 6, y + 4,
			 f->count_max * i / TICKS);
		buf_addf(b, "<text x=\"%.0f\" y=\"%.1f\">%g ms</text>\n", right + 6, y + 4, f->ms_max * i / TICKS);
	}
	buf_addf(b, "<text x=\"14\" y=\"%.0f\" transform=\"rotate(-90 14 %.0f)\" text-anchor=\"middle\">"
		 "postbacks</text>\n", TOP + HEIGHT / 2.0, TOP + HEIGHT / 2.0);
	buf_addf(b, "<line x1=\"%d\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333333\"/>\n", LEFT, bottom,
		 right, bottom);
}

/* Times under the bars: about eight labels, on slot boundaries. */
static void add_times(struct buf *b, const struct series *s, const struct frame *f)
{
	size_t every = s->n / 8 + 1;
	double slot = f->width / (double)s->n;
	for (size_t i = 0; i < s->n; i += every) {
		char text[16];
		clock_text((s->first + (int64_t)i) * s->width, false, text, sizeof text);
		double x = LEFT + slot * (double)i;
		buf_addf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333333\"/>"
			 "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
			 x, TOP + HEIGHT, x, TOP + HEIGHT + 5, x, TOP + HEIGHT + 20, text);
	}
	buf_addf(b, "<text x=\"%.0f\" y=\"%d\" text-anchor=\"middle\">fired at (UTC)</text>\n",
		 LEFT + f->width / 2, TOP + HEIGHT + 45);
}

static void add_bar(struct buf *b, double x, double w, double y, double h, const char *colour)
{
	if (h > 0)
		buf_addf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
			 x, y, w, h, colour);
}

static void add_bars(struct buf *b, const struct series *s, const struct frame *f)
{
	double slot = f->width / (double)s->n, bottom = TOP + HEIGHT;
	double w = slot > 3 ? slot * 0.8 : slot;
	buf_adds(b, "<g shape-rendering=\"crispEdges\">\n");
	for (size_t i = 0; i < s->n; i++) {
		double x = LEFT + slot * (double)i + (slot - w) / 2;
		double delivered = HEIGHT * (double)s->slots[i].delivered / f->count_max;
		double failed = HEIGHT * (double)s->slots[i].failed / f->count_max;
		add_bar(b, x, w, bottom - delivered, delivered, DELIVERED_COLOUR);
		add_bar(b, x, w, bottom - delivered - failed, failed, FAILED_COLOUR);
	}
	buf_adds(b, "</g>\n");
}

/* The p99 line through the middle of each slot that sent postbacks,
 * with a dot on each, so a lone slot shows too. */
static void add_p99(struct buf *b, const struct series *s, const struct frame *f)
{
	double slot = f->width / (double)s->n;
	struct buf dots = { 0 };
	buf_addf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", P99_COLOUR);
	for (size_t i = 0; i < s->n; i++) {
		if (!s->slots[i].latency.total)
			continue;
		double x = LEFT + slot * ((double)i + 0.5);
		double y = TOP + HEIGHT - HEIGHT * slot_p99_ms(&s->slots[i]) / f->ms_max;
		buf_addf(b, "%.2f,%.2f ", x, y);
		buf_addf(&dots, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"2.5\" fill=\"%s\"/>\n", x, y, P99_COLOUR);
	}
	buf_adds(b, "\"/>\n");
	buf_add(b, dots.data, dots.len);
	buf_free(&dots);
}

/* The series as one <svg> element, which an HTML page can hold too. */
void plot_add_svg(struct buf *b, const struct series *s)
{
	struct frame f = frame_of(s);
	buf_addf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%d\" "
		 "font-family=\"sans-serif\" font-size=\"12\">\n"
		 "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
		 LEFT + f.width + RIGHT, TOP + HEIGHT + BOTTOM);
	if (!s->n) {
		buf_addf(b, "<text x=\"%d\" y=\"%d\">No postbacks sent.</text>\n", LEFT, TOP + HEIGHT / 2);
	} else {
		add_title(b, s, &f);
		add_scales(b, &f);
		add_bars(b, s, &f);
		add_p99(b, s, &f);
		add_times(b, s, &f);
	}
	buf_adds(b, "</svg>\n");
}

/* Writes the plot to path, replacing it whole (durable.c); false on an
 * I/O error, with errno set and *failed naming the step that failed. */
bool plot_write(const struct series *s, const char *path, const char **failed)
{
	struct buf svg = { 0 };
	buf_adds(&svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	plot_add_svg(&svg, s);
	bool ok = durable_replace(path, svg.data, svg.len, 0666, failed);
	buf_free(&svg);
	return ok;
}
