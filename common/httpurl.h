#ifndef PB_HTTPURL_H
#define PB_HTTPURL_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Where pb sends a postback: an absolute http or https URL with a host. */
/* url[n] must be the string's NUL; an earlier NUL is refused. */
bool httpurl_check(const char *url, size_t n, struct buf *origin, const char **why);
bool httpurl_check_template(const char *tmpl, size_t n, const char **why);
size_t httpurl_literal_origin(const char *tmpl, size_t n);

/* libcurl's limit on the length of a URL it reads. */
#define HTTPURL_MAX 8000000

#endif
