#ifndef PB_DEADLINE_H
#define PB_DEADLINE_H

#include <stdint.h>

/* Waking an event loop at a time on the wall clock, through a timerfd. */
int deadline_fd(void);
void deadline_set(int64_t due);

#endif
