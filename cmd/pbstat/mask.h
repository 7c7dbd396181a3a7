#ifndef PBSTAT_MASK_H
#define PBSTAT_MASK_H

#include <stddef.h>

#include "buf.h"

#define MASK "***"

void mask_url(const char *u, size_t n, struct buf *out);

#endif
