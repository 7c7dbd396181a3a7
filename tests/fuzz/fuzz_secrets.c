/* Fuzzes pbfire's --secrets file (cmd/pbfire/secrets.c). The input is a
 * byte of flags, then the file: its low three bits give the group and
 * others some of read, write and execute (none, as a --secrets file
 * should be, when they are 0). Beyond no crash, against a model of the
 * format read as pbfire(1) gives it (lines split on '\n', the last one
 * with or without it; empty lines and lines starting with '#' skipped;
 * the others name=value, the name one or more of letters, digits, '_',
 * '.' and '-', the value not empty and free of control characters and
 * CRs): a file the model takes, loaded here, gives exactly its secrets,
 * in order, and secrets_next() finds those of each name in turn; a file
 * others may read or write, or one with a line the model refuses, makes
 * a loader process exit with status 2 and one message, naming the file
 * and the first such line and why, never a value: checked byte for byte. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "buf.h"
#include "fuzz.h"
#include "secrets.h"

/* The group and others' bits that flags 1, 2 and 4 set. */
static const mode_t loose[] = { 0, 0040, 0002, 0060, 0004, 0044, 0020, 0077 };

/* Why the line p[0,n) (no newline) is refused, or NULL when it is taken. */
static const char *refusal(const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	if (p[n - 1] == '\r')
		return "a carriage return at the end of the line (a file with CRLF line ends?)";
	if (!eq)
		return "expected name=value";
	if (eq == p || strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
		       < (size_t)(eq - p))
		return "a name is letters, digits, '_', '.' and '-'";
	if (eq + 1 == p + n)
		return "an empty secret";
	for (const char *c = eq + 1; c < p + n; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return "a control character in the secret";
	return NULL;
}

/* A name=value line the model takes: where it starts, its length and its
 * name's. */
struct line {
	const char *p;
	size_t n, name;
};

/* The model's reading of the file text[0,n): whether it is taken, its
 * secrets in *want, and the message pbfire prints when it is not. */
static bool model(const char *text, size_t n, const char *path, struct line **want, size_t *nwant,
		  struct buf *message)
{
	unsigned long lineno = 0;
	for (const char *p = text, *end = text + n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl ? nl : end) - p);
		const char *line = p;
		p += len + (nl != NULL);
		lineno++;
		if (!len || line[0] == '#')
			continue;
		const char *why = refusal(line, len);
		if (why) {
			buf_addf(message, "%s: --secrets: %s:%lu: %s\n", program_invocation_short_name, path,
				 lineno, why);
			return false;
		}
		*want = realloc(*want, (*nwant + 1) * sizeof **want);
		CHECK(*want);
		(*want)[(*nwant)++] = (struct line){ line, len, (size_t)((const char *)memchr(line, '=', len) - line) };
	}
	return true;
}

static void load(const void *path)
{
	struct secrets s;
	secrets_load(&s, path);
}

__attribute__((constructor)) static void start_server(void)
{
	fuzz_child_server();
}

/* Loads path in a child; its exit status, and what it printed in *printed. */
static int load_refused(const char *path, struct buf *printed)
{
	static char *errpath;
	if (!errpath)
		CHECK((errpath = strdup(fuzz_path("stderr"))));
	int status = fuzz_in_child(load, path, strlen(path) + 1, errpath);
	FILE *f = fopen(errpath, "r");
	char chunk[512];
	size_t got;
	CHECK(f);
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(printed, chunk, got);
	CHECK(fclose(f) == 0);
	return status;
}

static void check_loaded(const char *path, const struct line *want, size_t n)
{
	struct secrets s;
	secrets_load(&s, path);
	CHECK(s.n == n && !strcmp(s.path, path));
	for (size_t i = 0; i < n; i++) {
		const struct secret *sec = &s.v[i];
		CHECK(strlen(sec->name) == want[i].name && !memcmp(sec->name, want[i].p, want[i].name));
		CHECK(sec->len == want[i].n - want[i].name - 1 &&
		      !memcmp(sec->value, want[i].p + want[i].name + 1, sec->len) && !sec->value[sec->len]);
		/* those of its name before it, then it */
		const struct secret *found = NULL;
		for (size_t j = 0; j <= i; j++)
			if (want[j].name == want[i].name && !memcmp(want[j].p, want[i].p, want[i].name))
				CHECK((found = secrets_next(&s, want[i].p, want[i].name, found)) == &s.v[j]);
	}
	CHECK(!secrets_next(&s, "", 0, NULL) && !secrets_next(&s, NULL, 0, NULL));
	secrets_free(&s);
	CHECK(s.n == 0 && !s.v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	static char *path;
	if (!path)
		CHECK((path = strdup(fuzz_path("secrets"))));
	mode_t mode = 0600 | loose[data[0] & 7];
	fuzz_write_file(path, text, size - 1);
	CHECK(chmod(path, mode) == 0);
	struct line *want = NULL;
	size_t n = 0;
	struct buf message = { 0 };
	if (mode != 0600)
		buf_addf(&message, "%s: --secrets: %s: others may read or write it (mode %04o); chmod 600 it\n",
			 program_invocation_short_name, path, (unsigned)mode);
	if (mode == 0600 && model(text, size - 1, path, &want, &n, &message)) {
		check_loaded(path, want, n);
	} else {
		struct buf printed = { 0 };
		int status = load_refused(path, &printed);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
		CHECK(printed.len == message.len && !memcmp(printed.data, message.data, message.len));
		buf_free(&printed);
	}
	buf_free(&message);
	free(want);
	return 0;
}
