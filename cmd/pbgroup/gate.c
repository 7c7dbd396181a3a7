/*
 * The gate: the stage of a partition's pipeline between pbdelay and
 * pbfire, in group mode. It passes the bytes pbdelay writes on to
 * pbfire, a piece of at most GATE_PIECE bytes at a time, and each only
 * while the partition's lease (lease.c) runs; while it does not (the
 * member lost the partition, or has not been confirmed in it for too
 * long: it was stopped, or cut off from the coordinator), the bytes wait
 * here. Its output is a pipe of one page where the kernel allows it, so
 * what has passed the gate and pbfire has not yet taken is that page at
 * most. It parses nothing: lines are pbfire's to read.
 */
#include "gate.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "lease.h"
#include "tool.h"

#define GATE_PIECE 512		/* bytes written after each look at the lease */
#define GATE_PIPE 4096		/* bytes the pipe to pbfire holds */
#define GATE_WAIT_NS 20000000	/* between looks at a lease that has run out */

/* Returns once the lease runs; *until caches its end. */
static void wait_for_lease(const char *path, int64_t *until)
{
	while (lease_now() >= *until) {
		*until = lease_read(path);
		if (lease_now() < *until)
			return;
		nanosleep(&(struct timespec){ 0, GATE_WAIT_NS }, NULL);
	}
}

/* Writes b[0,n) a piece at a time, each once the lease runs. */
static void pass(const char *path, const char *b, size_t n, int64_t *until)
{
	while (n > 0) {
		wait_for_lease(path, until);
		ssize_t w = write(STDOUT_FILENO, b, n < GATE_PIECE ? n : GATE_PIECE);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			err(EXIT_FATAL, "--gate: standard output");
		b += w;
		n -= (size_t)w;
	}
}

int gate_run(const char *lease_path)
{
	char b[GATE_PIPE];
	int64_t until = 0;
	(void)fcntl(STDOUT_FILENO, F_SETPIPE_SZ, GATE_PIPE);	/* not a pipe: nothing to shrink */
	for (;;) {
		ssize_t n = read(STDIN_FILENO, b, sizeof b);
		if (n == 0)
			return EXIT_OK;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err(EXIT_FATAL, "--gate: standard input");
		pass(lease_path, b, (size_t)n, &until);
	}
}
