/*
 * The breakers of the hosts, kept with a spool in SPOOL.breakers so that
 * consecutive runs (cron) share them: a header line "pbfire-breakers 1",
 * then one line per host whose breaker is not fresh:
 *
 *	HOST open|closed FAILURES WAIT UNTIL
 *
 * HOST as scheme://name:port, FAILURES the failed attempts in a row, WAIT
 * the seconds of the last wait (doubled at the next opening), UNTIL when
 * an open breaker lets a probe go, in nanoseconds since the epoch. The
 * file is advisory: a line that does not read so is skipped with a
 * warning, a torn last line ignored, and a file that cannot be written
 * warned about; none stops a delivery. It is rewritten through
 * SPOOL.breakers.new, synced and renamed over it, then the directory is
 * synced (durable.c), so a crash leaves the old file or the new one.
 */
#include "breakers.h"

#include <err.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "durable.h"

#define HEADER "pbfire-breakers 1\n"

char *breakers_path(const char *spool_path)
{
	struct buf b = { 0 };
	buf_addf(&b, "%s.breakers", spool_path);
	return b.data;
}

/* Reads one host's line (without its newline) into its breaker; false
 * when it does not read as one. A probe time past the longest wait (with
 * its jitter) from now is brought back to it, so a damaged file cannot
 * hold a host for longer than pbfire itself would. */
static bool read_breaker(struct hosts *hs, char *line, int64_t now, int64_t longest)
{
	char *space = strchr(line, ' ');
	char state[8];
	struct breaker b = { 0 };
	long long until;
	int end = -1;
	if (!space || space == line ||
	    sscanf(space + 1, "%7s %u %lf %lld%n", state, &b.failures, &b.wait, &until, &end) != 4 ||
	    space[1 + end] || !isfinite(b.wait) || b.wait < 0)
		return false;
	if (strcmp(state, "open") == 0)
		b.state = until > now ? BREAKER_OPEN : BREAKER_PROBING;
	else if (strcmp(state, "closed") != 0)
		return false;
	b.until = until > now + longest ? now + longest : (int64_t)until;
	size_t i = hosts_add(hs, line, (size_t)(space - line));	/* may move hs->at */
	hs->at[i].breaker = b;
	return true;
}

/* Loads the breakers saved at path into hs; a missing file holds
 * none. An open breaker whose wait is over by now lets a probe go; none
 * waits more than longest (nanoseconds) from now. */
void breakers_load(struct hosts *hs, const char *path, int64_t now, int64_t longest)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	for (unsigned long lineno = 1; (n = getline(&line, &cap, f)) > 0; lineno++) {
		if (line[n - 1] != '\n')
			break;	/* torn: a write cut short */
		line[n - 1] = '\0';
		bool ok = lineno == 1 ? strcmp(line, "pbfire-breakers 1") == 0 : read_breaker(hs, line, now, longest);
		if (!ok)
			warnx("%s: line %lu: not a breaker line; skipped", path, lineno);
	}
	free(line);
	fclose(f);
}

static bool is_fresh(const struct breaker *b)
{
	return b->state == BREAKER_CLOSED && !b->failures && !b->wait;
}

static void add_breakers(const struct hosts *hs, struct buf *b)
{
	buf_adds(b, HEADER);
	for (size_t i = 0; i < hs->n; i++) {
		const struct breaker *br = &hs->at[i].breaker;
		if (!is_fresh(br))
			buf_addf(b, "%s %s %u %.17g %lld\n", hs->at[i].name,
				 br->state == BREAKER_CLOSED ? "closed" : "open", br->failures, br->wait,
				 (long long)br->until);
	}
}

/* Writes the breakers of hs to path, replacing it whole
 * (durable.c); a failure is warned about, as the file is advisory. */
void breakers_save(const struct hosts *hs, const char *path)
{
	struct buf text = { 0 };
	const char *failed;
	add_breakers(hs, &text);
	if (!durable_replace(path, text.data, text.len, 0666, &failed))
		warn("%s: the breakers not saved: %s", path, failed);
	buf_free(&text);
}
