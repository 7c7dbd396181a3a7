/* Fuzzes how pbfire reads a line's request and signs it (cmd/pbfire/job.c,
 * signing.c, hmac.c) with the input as one pbfire line, against secrets
 * held in memory: two Standard Webhooks secrets under "crm", an hmac one
 * under "wall", one that is not base64 under "bad". Beyond no crash: a
 * line read is signed twice, as for two attempts, and then every header
 * passes the header check (httpheader.c), a Standard Webhooks line has
 * each of its three headers exactly once, its webhook-id printable ASCII
 * without a space at either end and, percent-decoded, the line's key
 * (so no two keys share an id), the request described is valid
 * JSON, and no secret shows in it or in any reason a line is refused
 * (unless the input itself holds the secret's text). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

/* The length of the name of header line h ("Name: value" or "Name;"). */
static size_t header_name_len(const char *h)
{
	size_t n = strcspn(h, ":;");
	CHECK(h[n]);
	return n;
}

/* Checks that every header of j passes the header check. */
static void check_headers(const struct job *j)
{
	for (const struct curl_slist *h = j->headers; h; h = h->next) {
		size_t n = header_name_len(h->data);
		CHECK(!httpheader_bad_name(h->data, n));
		if (h->data[n] == ':')
			CHECK(!httpheader_bad_value(h->data + n + 2, strlen(h->data + n + 2)));
	}
}

/* How many headers of j are named name. */
static int count_named(const struct job *j, const char *name)
{
	int count = 0;
	for (const struct curl_slist *h = j->headers; h; h = h->next)
		count += header_name_len(h->data) == strlen(name) && !strncasecmp(h->data, name, strlen(name));
	return count;
}

/* The value of the one header of j named name. */
static const char *header_value(const struct job *j, const char *name)
{
	for (const struct curl_slist *h = j->headers; h; h = h->next)
		if (header_name_len(h->data) == strlen(name) && !strncasecmp(h->data, name, strlen(name)))
			return h->data + strlen(name) + 2;
	return NULL;
}

static int hex_digit(char c)
{
	return c <= '9' ? c - '0' : c - 'A' + 10;
}

/* Checks that the webhook-id of j is printable ASCII, has no space at
 * either end, and is its key with bytes written as uppercase %XX. */
static void check_webhook_id(const struct job *j)
{
	const char *id = header_value(j, "webhook-id");
	size_t n = strlen(id), k = 0;
	CHECK(n > 0 && id[0] != ' ' && id[n - 1] != ' ');
	for (size_t i = 0; i < n; k++) {
		CHECK(id[i] >= 0x20 && id[i] <= 0x7e && k < j->key_len);
		if (id[i] != '%') {
			CHECK(j->key[k] == id[i++]);
			continue;
		}
		CHECK(i + 2 < n && strchr("0123456789ABCDEF", id[i + 1]) && strchr("0123456789ABCDEF", id[i + 2]));
		CHECK((unsigned char)j->key[k] == hex_digit(id[i + 1]) * 16 + hex_digit(id[i + 2]));
		i += 3;
	}
	CHECK(k == j->key_len);
}

static void check_signed(struct job *j, const uint8_t *data, size_t size)
{
	signing_attempt(j, &secrets, 1614265330);
	signing_attempt(j, &secrets, 1614265331);
	static const char *const webhook[] = { "webhook-id", "webhook-timestamp", "webhook-signature" };
	check_headers(j);
	for (int i = 0; i < 3 && j->sign.secret; i++)
		CHECK(count_named(j, webhook[i]) == 1);
	if (j->sign.secret)
		check_webhook_id(j);
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
