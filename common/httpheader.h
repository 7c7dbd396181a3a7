#ifndef PB_HTTPHEADER_H
#define PB_HTTPHEADER_H

#include <stddef.h>

/* The headers a postback may set. */
const char *httpheader_bad_name(const char *name, size_t n);
const char *httpheader_bad_value(const char *value, size_t n);

#endif
