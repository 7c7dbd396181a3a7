/*
 * The mark of --acked: the byte of the file followed up to which every
 * line is acknowledged by the cluster, kept in a file of its own as a
 * decimal number and a newline, so that a pbship started again after a
 * crash (--from the mark) leaves nothing out. The file is replaced whole
 * (durable.c) when the mark has moved, at most every MARK_EVERY_MS while
 * acknowledgements come, and at the end: a crash between two writes
 * ships again what was acknowledged since the last one. A failure to
 * write it is told once, and the shipping goes on: the mark then lags,
 * which ships lines twice after a crash, never leaves one out.
 */
#include "mark.h"

#include <err.h>
#include <stdio.h>
#include <time.h>

#include "durable.h"

#define MARK_EVERY_MS 1000

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mark_init(struct mark *m, const char *path)
{
	*m = (struct mark){ .path = path, .written = -1 };
}

void mark_update(struct mark *m, off_t acked, bool now)
{
	if (!m->path || acked == m->written)
		return;
	int64_t ms = monotonic_ms();
	if (!now && ms - m->written_ms < MARK_EVERY_MS)
		return;
	char text[32];
	int len = snprintf(text, sizeof text, "%lld\n", (long long)acked);
	const char *failed;
	if (durable_replace(m->path, text, (size_t)len, 0666, &failed)) {
		m->written = acked;
		m->written_ms = ms;
	} else if (!m->warned) {
		m->warned = true;
		warn("%s: the mark not written: %s", m->path, failed);
	}
}
