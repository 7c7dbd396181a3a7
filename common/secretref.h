#ifndef PB_SECRETREF_H
#define PB_SECRETREF_H

#include <stddef.h>

#include "json.h"

size_t secretref_at(const char *p, const char *end, struct text *name);
size_t secretref_count(const char *s, size_t n);

#endif
