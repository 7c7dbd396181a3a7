#ifndef PB_SIGNING_H
#define PB_SIGNING_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "job.h"
#include "secrets.h"

bool signing_read(struct job *j, const struct secrets *s, struct buf *why);
void signing_attempt(struct job *j, const struct secrets *s, int64_t unix_time);

#endif
