#ifndef PB_STAMP_H
#define PB_STAMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A point in time: seconds since the Unix epoch, UTC, and nanoseconds. */
struct stamp {
	int64_t sec;
	int32_t nsec;
};

#define STAMP_TEXT_MAX 40

bool stamp_parse_rfc3339(const char *s, size_t n, struct stamp *t);
bool stamp_parse_unix(const char *s, size_t n, struct stamp *t);
size_t stamp_format(struct stamp t, char out[STAMP_TEXT_MAX]);
struct stamp stamp_now(void);

#endif
