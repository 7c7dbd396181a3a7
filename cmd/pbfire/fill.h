#ifndef PB_FILL_H
#define PB_FILL_H

#include <stdbool.h>

#include "buf.h"
#include "job.h"
#include "secrets.h"

bool fill_read(struct job *j, const struct secrets *s, struct buf *why);
void fill_attempt(struct job *j, const struct secrets *s);
void fill_forget(struct sent *sent);

#endif
