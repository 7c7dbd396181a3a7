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
/* The times a record may carry: the years 0000 to 9999, all that RFC
 * 3339's four-digit year can write. */
#define STAMP_MIN_SEC (-62167219200LL)	/* 0000-01-01T00:00:00Z */
#define STAMP_MAX_SEC 253402300799LL	/* 9999-12-31T23:59:59Z */
#define STAMP_NS 1000000000LL	/* nanoseconds in a second */

bool stamp_parse_rfc3339(const char *s, size_t n, struct stamp *t);
bool stamp_parse_unix(const char *s, size_t n, struct stamp *t);
size_t stamp_format(struct stamp t, char out[STAMP_TEXT_MAX]);
struct stamp stamp_now(void);

/* A stamp as nanoseconds since the epoch, one int64_t, which holds the
 * years 1678 to 2262; and back. */
static inline int64_t stamp_to_ns(struct stamp t)
{
	return t.sec * STAMP_NS + t.nsec;
}

static inline struct stamp stamp_from_ns(int64_t ns)
{
	int64_t sec = ns / STAMP_NS, nsec = ns % STAMP_NS;
	if (nsec < 0) {
		sec--;
		nsec += STAMP_NS;
	}
	return (struct stamp){ sec, (int32_t)nsec };
}

#endif
