#ifndef PB_JOB_H
#define PB_JOB_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "expect.h"
#include "netpolicy.h"
#include "order.h"
#include "record.h"
#include "retry.h"

/* How a line is signed at each attempt: with Standard Webhooks' headers
 * made anew, after the headers of its own (tail: the last of those, NULL
 * when none), when secret is not NULL. An hmac is added once, when the
 * line is read, and needs nothing here. */
struct signing {
	char *secret;			/* the secret's name */
	char *id;			/* webhook-id: the key, made printable ASCII */
	size_t id_len;
	struct curl_slist *tail;
};

/* The request as it is sent, its {secret:NAME} placeholders filled with
 * the secrets' values (fill.c); a member is NULL when the line's own is
 * sent as it is. The line's own, placeholders and all, is what records,
 * dry runs and -v show. */
struct sent {
	char *url, *body;
	size_t url_len, body_len;
	struct curl_slist *headers;
	bool fills_headers;		/* some header has a placeholder */
};

/* The headers of an answer that its record keeps (answer_header_names),
 * each up to ANSWER_HEADER_MAX - 1 bytes. */
#define ANSWER_HEADERS 3
#define ANSWER_HEADER_MAX 512
extern const char *const answer_header_names[ANSWER_HEADERS];

/* The answer to a job's last attempt, as much as pbfire keeps of it: the
 * headers that matter and the body's first bytes, into room made before
 * the attempt went to its lane (transfer_make_room()), which only fills it. */
struct answer {
	bool came;			/* an answer that stands; the job's status is its */
	char *body;			/* body_room bytes and a NUL, or NULL */
	size_t body_len, body_room;
	size_t received;		/* body bytes read: the cap and a chunk at most */
	char header[ANSWER_HEADERS][ANSWER_HEADER_MAX];	/* "" when absent */
};

/* Where a line waits in pbfire's queue (queue.c). */
enum job_wait { WAITS_NOWHERE, WAITS_FOR_HOST, WAITS_TO_RETRY, WAITS_PARKED };

/* One input line on its way through pbfire: the request read from it,
 * and what its attempts came to. */
struct job {
	struct job *prev, *next;	/* in its host's list, or a lane's lists */
	char *line;			/* the input line, as read */
	size_t len;
	struct record rec;		/* line, parsed */
	unsigned long lineno;
	char *url, *method, *body, *key;
	size_t url_len, body_len, key_len;
	struct curl_slist *headers;
	struct signing sign;
	struct sent sent;
	struct line_policy policy;	/* its postback's timeout, attempts, final */
	struct expect expect;		/* what a delivering answer is */
	size_t host;			/* index of its host in pbfire's table */
	size_t rate_rule, rate_host;	/* its rule's and its host's rates: bucket + 1 (rates.c); 0: none */
	int attempts, round;
	int earlier_attempts;		/* of the rounds before, for a line fed back */
	int paced;			/* attempts answered with backpressure */
	bool owns_key;			/* it marked its key in flight in the ledger */
	bool reopens;			/* fed back with a failed result: a failed key goes again */
	bool failed_earlier;		/* a duplicate of a key that failed or was superseded */
	bool leased;			/* it came from the spool, and is released from it when done */
	bool deferred;			/* its record went to the spool: it is not over */
	uint64_t spool_pos;
	struct order_place order;	/* its place in its stream (order.c) */
	bool in_order;			/* filed in the order index while held */
	bool sending;			/* an attempt of it is in flight */
	enum job_wait waits;		/* where in the queue it waits */
	const struct job *behind;	/* parked, the older line of its stream it waits for */
	CURL *easy;			/* its attempt in flight, or NULL */
	unsigned lane;			/* the lane sending it */
	double retry_after;		/* the answer's Retry-After, seconds; 0: none */
	bool http1;			/* the answer came over HTTP/1 */
	bool host_http1;		/* its host is known to answer over HTTP/1 */
	char error_text[CURL_ERROR_SIZE];
	struct buf message;		/* why it failed, for the result */
	enum error_class error;
	long status;
	double ms;			/* the last attempt's duration */
	int64_t fired_at;		/* when the last attempt started (ns) */
	char ip[48];
	bool blocked;			/* the address was refused */
	const struct netpolicy *net;	/* what the address is checked against */
	bool follows;			/* libcurl follows the redirects answered (--follow) */
	struct answer answer;		/* to its last attempt */
};

/* The attempts made for j in all, its earlier rounds' too. */
static inline int job_attempts(const struct job *j)
{
	return j->earlier_attempts + j->attempts;
}

/* Whether the attempt of j that ended may be followed by another: its
 * outcome is one to retry, and its postback's policy allows one more. */
static inline bool job_retryable(const struct job *j)
{
	return attempt_retryable(j->error, j->status) &&
	       policy_allows_another(&j->policy, job_attempts(j), j->status);
}

bool job_read(struct job *j, const char *key_path, struct buf *why);
bool job_refuse(struct buf *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool job_add_header(struct job *j, struct text name, struct text value, const char *what,
		    struct buf *why);
bool job_has_header(const struct job *j, const char *name, size_t n);
bool job_host(const struct job *j, struct buf *host, struct buf *why);
void job_describe(const struct job *j, struct buf *out);
void job_print(const struct job *j, FILE *f);
void job_drop_answer(struct job *j);
void job_clear(struct job *j);

#endif
