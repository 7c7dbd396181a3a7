#ifndef PB_BREAKERS_H
#define PB_BREAKERS_H

#include <stdint.h>

#include "hosts.h"

/* The breakers of the hosts kept beside a spool, so that runs share them. */
char *breakers_path(const char *spool_path);
void breakers_load(struct hosts *hs, const char *path, int64_t now, int64_t longest);
void breakers_save(const struct hosts *hs, const char *path);

#endif
