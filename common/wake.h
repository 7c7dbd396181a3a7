#ifndef PB_WAKE_H
#define PB_WAKE_H

/* Waking an event loop on SIGINT and SIGTERM through a self-pipe. */
void wake_catch_signals(void);
int wake_fd(void);
int wake_signal(void);
void wake_drain(void);
void wake_die(void);

#endif
