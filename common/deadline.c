/*
 * Waking an event loop at a time: a timerfd armed at an absolute time,
 * whose descriptor the loop waits on beside its others. A poll() timeout
 * would do the same but for the kernel's timer slack, which stretches a
 * timeout by 0.1% of it, up to 100 ms: a line held two minutes would go
 * out a tenth of a second late. A timerfd's timer has no slack. Its clock
 * is CLOCK_REALTIME, the clock of stamp_now() and of every due time the
 * tools keep, so a deadline is the due time itself, and when the system
 * clock is set, deadlines move with the due times. pbdelay and pbfire
 * wait this way.
 */
#include "deadline.h"
#include "stamp.h"
#include "tool.h"

#include <err.h>
#include <sys/timerfd.h>

static int timer_fd = -1;

/* The descriptor to wait on for reading: readable once the time set last
 * by deadline_set() has come. */
int deadline_fd(void)
{
	if (timer_fd < 0 && (timer_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK)) < 0)
		err(EXIT_FATAL, "timerfd_create");
	return timer_fd;
}

/* Makes deadline_fd() readable from due, in nanoseconds since the epoch,
 * on (at once when due has passed), and not before; never when due is
 * INT64_MAX. */
void deadline_set(int64_t due)
{
	struct itimerspec when = { 0 };	/* all zero: no deadline */
	if (due != INT64_MAX) {
		struct stamp s = stamp_from_ns(due > 0 ? due : 1);
		when.it_value = (struct timespec){ .tv_sec = s.sec, .tv_nsec = s.nsec };
	}
	if (timerfd_settime(deadline_fd(), TFD_TIMER_ABSTIME, &when, NULL) < 0)
		err(EXIT_FATAL, "timerfd_settime");
}
