#ifndef PBSTAT_PLOT_H
#define PBSTAT_PLOT_H

#include <stdbool.h>

#include "series.h"

bool plot_write(const struct series *s, const char *path, const char **failed);

#endif
