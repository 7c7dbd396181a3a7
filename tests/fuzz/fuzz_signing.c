/* Fuzzes how pbfire reads a line's request and signs it (cmd/pbfire/job.c,
 * signing.c, hmac.c) with the input as one pbfire line, against secrets
 * held in memory: two Standard Webhooks secrets under "crm", an hmac one
 * under "wall", one that is not base64 under "bad". Beyond no crash: a
 * line read is signed twice, as for two attempts, and then every header
 * passes the header check (httpheader.c), a Standard Webhooks line has
 * exactly one set of its three headers, the request described is valid
 * JSON, and no secret shows in it or in any reason a line is refused
 * (unless the input itself holds the secret's text). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "httpheader.h"
#include "job.h"
#include "secrets.h"
#include "signing.h"

static const char *const secret_lines[][2] = {
	{ "crm", "whsec_cGItc2lnbi10ZXN0LW9sZC1rZXktMzItYnl0ZXMhISE=" },
	{ "wall", "fuzz-wall-secret" },
	{ "crm", "whsec_cGItc2lnbi10ZXN0LW5ldy1rZXktMzItYnl0ZXMhISE=" },
	{ "bad", "not*base64" },
};
#define NSECRETS (sizeof secret_lines / sizeof secret_lines[0])

static struct secrets secrets;

static void load_secrets(void)
{
	if (secrets.n)
		return;
	secrets.path = "fuzz";
	secrets.v = xcalloc(NSECRETS, sizeof *secrets.v);
	for (size_t i = 0; i < NSECRETS; i++, secrets.n++) {
		const char *name = secret_lines[i][0], *value = secret_lines[i][1];
		secrets.v[i] = (struct secret){ xstrndup(name, strlen(name)), xstrndup(value, strlen(value)),
						strlen(value) };
	}
}

/* Checks that s (n bytes) holds no secret that the input (size bytes
 * at data) does not hold. */
static void check_no_secret(const char *s, size_t n, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < NSECRETS; i++) {
		const char *secret = secret_lines[i][1];
		if (!memmem(data, size, secret, strlen(secret)))
			CHECK(!memmem(s, n, secret, strlen(secret)));
	}
}

static int count_headers(const struct job *j, const char *prefix)
{
	int n = 0;
	for (const struct curl_slist *h = j->headers; h; h = h->next) {
		const char *colon = strchr(h->data, ':'), *semi = strchr(h->data, ';');
		const char *end = colon && (!semi || colon < semi) ? colon : semi;
		CHECK(end);
		size_t name = (size_t)(end - h->data);
		CHECK(!httpheader_bad_name(h->data, name));
		if (*end == ':')
			CHECK(!httpheader_bad_value(end + 2, strlen(end + 2)));
		n += !strncmp(h->data, prefix, strlen(prefix));
	}
	return n;
}

static void check_signed(struct job *j, const uint8_t *data, size_t size)
{
	signing_attempt(j, &secrets, 1614265330);
	signing_attempt(j, &secrets, 1614265331);
	int webhook = count_headers(j, "webhook-");
	CHECK(webhook == (j->sign.scheme == SIGN_STANDARD_WEBHOOKS ? 3 : 0));
	struct buf described = { 0 };
	job_describe(j, &described);
	CHECK(fuzz_json_object(described.data, described.len));
	check_no_secret(described.data, described.len, data, size);
	buf_free(&described);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job j = { 0 };
	struct json_error je;
	struct buf why = { 0 };
	load_secrets();
	j.line = xstrndup((const char *)data, size);
	j.len = size;
	if (record_parse(&j.rec, j.line, size, &je)) {
		if (job_read(&j, "postback.key", &why) && signing_read(&j, &secrets, &why))
			check_signed(&j, data, size);
		else
			check_no_secret(why.data, why.len, data, size);
	}
	job_clear(&j);
	buf_free(&why);
	return 0;
}
