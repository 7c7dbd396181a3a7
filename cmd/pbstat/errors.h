#ifndef PBSTAT_ERRORS_H
#define PBSTAT_ERRORS_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define ERRORS_CLASSES_MAX 32	/* more classes count as "other" */
#define ERRORS_MESSAGES 16	/* messages tracked per class */
#define ERRORS_MESSAGE_MAX 200	/* bytes of a message kept */

struct error_message {
	char *text;
	size_t len;
	uint64_t count;
};

/* One error class, and its most frequent messages (Space-Saving). */
struct error_class {
	char *name;
	size_t len;
	uint64_t count;
	struct error_message messages[ERRORS_MESSAGES];
	unsigned nmessages;
};

/* The error classes of a set of results, in order of first sight. */
struct errors {
	struct error_class *classes;
	size_t n;
};

void errors_add(struct errors *e, struct text class, struct text message);
const struct error_class **errors_by_count(const struct errors *e);
size_t errors_sorted(const struct error_class *c, const struct error_message **top, size_t max);
void errors_free(struct errors *e);
size_t utf8_cut(const char *s, size_t n, size_t max);

#endif
