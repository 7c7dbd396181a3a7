#ifndef PBSTAT_FATES_H
#define PBSTAT_FATES_H

#include <stddef.h>
#include <stdint.h>

#include "result.h"

#define FATE_NO_STATUS 0xFFFF
#define FATE_NO_MINUTE INT32_MIN
#define FATE_ATTEMPTS_MAX 255

/* What one postback counts as in the report, as its records so far say. */
struct fate {
	uint32_t group;		/* its --by group: that of the record deciding it */
	int32_t minute;		/* result.fired_at of that record, in minutes; FATE_NO_MINUTE */
	uint16_t status;	/* of its last record sent, or FATE_NO_STATUS */
	uint8_t attempts;	/* the most any of its records shows, up to FATE_ATTEMPTS_MAX */
	uint8_t outcome;	/* enum outcome; OUTCOMES while it has no record */
};

/* What a record is to its postback. */
enum record_role {
	ROLE_DECIDES,		/* it decides the postback's fate, and its figures count */
	ROLE_DUPLICATE,		/* the ledger already had the postback: nothing new */
	ROLE_AFTER_DELIVERY,	/* a record of a postback already delivered: nothing new */
};

struct fate_slot {
	uint32_t digest[2];	/* 0, 0: empty */
	struct fate fate;
};

/* The fate of each postback seen, by a 64-bit digest of its key. */
struct fates {
	struct fate_slot *slots;
	size_t cap, count;
};

extern const struct fate fate_none;

enum record_role fate_apply(struct fate *f, const struct result *r, uint32_t group);
struct fate *fates_of(struct fates *t, const char *key, size_t n);
void fates_free(struct fates *t);

#endif
