#ifndef PBSTAT_PLOT_H
#define PBSTAT_PLOT_H

#include <stdbool.h>

#include "buf.h"
#include "series.h"

void plot_add_svg(struct buf *b, const struct series *s);
bool plot_write(const struct series *s, const char *path, const char **failed);

#endif
