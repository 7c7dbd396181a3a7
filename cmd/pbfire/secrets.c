/*
 * The secrets pbfire signs with, read from --secrets FILE: "name=value"
 * lines, the value exactly as it stands up to the end of the line; blank
 * lines and lines starting with '#' are skipped, and a name given on
 * several lines has several secrets (key rotation), kept in the file's
 * order. The file is refused when anyone but its owner may read or write
 * it. No message here, nor anywhere in pbfire, shows a secret's value,
 * and the values are wiped from memory when pbfire is done with them.
 */
#include "secrets.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "signwords.h"
#include "tool.h"

static FILE *open_private(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		err(EXIT_FATAL, "--secrets: %s", path);
	if (!S_ISREG(st.st_mode))
		errx(EXIT_FATAL, "--secrets: %s: not a regular file", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		errx(EXIT_FATAL, "--secrets: %s: others may read or write it (mode %04o); chmod 600 it",
		     path, (unsigned)(st.st_mode & 07777));
	FILE *f = fdopen(fd, "r");
	if (!f)
		err(EXIT_FATAL, "--secrets: %s", path);
	return f;
}

/* Why line (n bytes, without its newline) is not "name=value", or NULL. */
static const char *bad_line(const char *line, size_t n)
{
	const char *eq = memchr(line, '=', n);
	if (line[n - 1] == '\r')
		return "a carriage return at the end of the line (a file with CRLF line ends?)";
	if (!eq)
		return "expected name=value";
	if (!sign_secret_name_ok(line, (size_t)(eq - line)))
		return "a name is letters, digits, '_', '.' and '-'";
	if (eq + 1 == line + n)
		return "an empty secret";
	for (const char *p = eq + 1; p < line + n; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "a control character in the secret";
	return NULL;
}

static void add_secret(struct secrets *s, const char *line, size_t n)
{
	const char *eq = memchr(line, '=', n);
	s->v = xreallocarray(s->v, s->n + 1, sizeof *s->v);
	struct secret *sec = &s->v[s->n++];
	sec->name = xstrndup(line, (size_t)(eq - line));
	sec->len = n - (size_t)(eq + 1 - line);
	sec->value = xstrndup(eq + 1, sec->len);
}

/* Loads the secrets of path; any problem with the file ends pbfire
 * (exit 2), naming the file and line but never a value. */
void secrets_load(struct secrets *s, const char *path)
{
	FILE *f = open_private(path);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	*s = (struct secrets){ .path = path };
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		size_t len = (size_t)n - (line[n - 1] == '\n');
		if (!len || line[0] == '#')
			continue;
		const char *why = bad_line(line, len);
		if (why)
			errx(EXIT_FATAL, "--secrets: %s:%lu: %s", path, lineno, why);
		add_secret(s, line, len);
	}
	if (ferror(f))
		err(EXIT_FATAL, "--secrets: %s", path);
	if (line)
		explicit_bzero(line, cap);
	free(line);
	fclose(f);
}

/* The next secret named name (n bytes) after after (NULL: the first),
 * or NULL. */
const struct secret *secrets_next(const struct secrets *s, const char *name, size_t n,
				  const struct secret *after)
{
	for (const struct secret *sec = after ? after + 1 : s->v; name && sec && sec < s->v + s->n; sec++)
		if (strlen(sec->name) == n && !memcmp(sec->name, name, n))
			return sec;
	return NULL;
}

/* The first secret named name (n bytes) for what (the member that wants
 * it), or NULL with why saying that pbfire lacks it: naming the secret,
 * never showing a value. */
const struct secret *secrets_find(const struct secrets *s, const char *name, size_t n,
				  const char *what, struct buf *why)
{
	const struct secret *first = secrets_next(s, name, n, NULL);
	if (first)
		return first;
	buf_clear(why);
	if (s->path)
		buf_addf(why, "%s: no secret named '%.*s' in the --secrets file", what, (int)n, name);
	else
		buf_addf(why, "%s: secret '%.*s' wanted, and pbfire has no --secrets file", what, (int)n, name);
	return NULL;
}

/* Wipes a buffer that held a secret, all of its room, and frees it. */
void secrets_forget(struct buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}

void secrets_free(struct secrets *s)
{
	for (size_t i = 0; i < s->n; i++) {
		explicit_bzero(s->v[i].value, s->v[i].len);
		free(s->v[i].value);
		free(s->v[i].name);
	}
	free(s->v);
	*s = (struct secrets){ 0 };
}
