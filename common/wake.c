/*
 * Waking an event loop on SIGINT and SIGTERM: the self-pipe. A loop that
 * checks a flag set by a signal handler and then waits misses a signal
 * that comes between the two until the wait ends on its own, which may be
 * never. So the handler here notes the signal and also writes a byte to a
 * non-blocking pipe whose read end the loop waits on beside its other
 * descriptors: a signal at any moment before or during the wait ends it.
 * pbdelay and pbfire wait this way.
 */
#include "wake.h"
#include "tool.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t caught;
static int pipe_end[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	caught = sig;
	ssize_t full_if_negative = write(pipe_end[1], "", 1);	/* full: a wake-up is pending */
	(void)full_if_negative;
	errno = saved;
}

/* From now on, SIGINT and SIGTERM are noted and make wake_fd() readable. */
void wake_catch_signals(void)
{
	if (pipe2(pipe_end, O_CLOEXEC | O_NONBLOCK) < 0)
		err(EXIT_FATAL, "pipe");
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART: waits return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The descriptor to wait on for reading: readable once a signal came. */
int wake_fd(void)
{
	return pipe_end[0];
}

/* The signal caught last, or 0 when none came. */
int wake_signal(void)
{
	return caught;
}

/* Empties the pipe, so that the next wait sleeps until something new. */
void wake_drain(void)
{
	char sink[64];
	while (read(pipe_end[0], sink, sizeof sink) > 0)
		continue;
}

/* Ends the process by the signal caught, with its default action, so that
 * whoever waits for it sees how it ended. */
void wake_die(void)
{
	signal(caught, SIG_DFL);
	raise(caught);
}
