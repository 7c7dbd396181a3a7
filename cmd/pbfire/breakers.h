#ifndef PB_BREAKERS_H
#define PB_BREAKERS_H

#include <stdint.h>

#include "queue.h"

/* The breakers of the hosts kept beside a spool, so that runs share them. */
char *breakers_path(const char *spool_path);
void breakers_load(struct queue *q, const char *path, int64_t now, int64_t longest);
void breakers_save(const struct queue *q, const char *path);

#endif
