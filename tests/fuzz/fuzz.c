/* Helpers of the fuzz harnesses; see fuzz.h. */
#include "fuzz.h"

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "secretref.h"
#include "tool.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	fflush(stderr);
	abort();
}

static FILE *saved_stderr;

void fuzz_quiet(void)
{
	static FILE *null;
	if (!null && !(null = fopen("/dev/null", "w")))
		err(1, "/dev/null");
	saved_stderr = stderr;
	stderr = null;
}

void fuzz_loud(void)
{
	stderr = saved_stderr;
}

static char *tmpdir;

/* Removes the temporary directory and whatever a harness left in it. */
static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	struct buf path = { 0 };
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		buf_clear(&path);
		buf_addf(&path, "%s/%s", tmpdir, e->d_name);
		unlink(path.data);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	buf_free(&path);
	free(tmpdir);
}

const char *fuzz_path(const char *name)
{
	static struct buf path;
	if (!tmpdir) {
		struct buf t = { 0 };
		buf_addf(&t, "%s/pbfuzz.XXXXXX", tool_tmpdir());
		if (!mkdtemp(t.data))
			err(1, "%s", t.data);
		tmpdir = t.data;
		atexit(remove_tmpdir);
	}
	buf_clear(&path);
	buf_addf(&path, "%s/%s", tmpdir, name);
	return path.data;
}

void fuzz_write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		err(1, "%s", path);
}

long fuzz_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* What fuzz_in_child() asks of the server. */
struct child_request {
	void (*fn)(const void *arg);
	char errpath[512];	/* empty: stderr to /dev/null */
	size_t len;
	char arg[FUZZ_CHILD_ARG];
};
static int to_server = -1, from_server = -1;

static void exit_at_once(int status, void *arg)
{
	(void)arg;
	_exit(status);
}

static void run_child(const struct child_request *q)
{
	int fd = open(q->errpath[0] ? q->errpath : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || dup2(fd, 2) < 0)
		_exit(125);
	on_exit(exit_at_once, NULL);	/* runs first: the last registered */
	q->fn(q->arg);
	_exit(0);
}

static void serve(int in, int out)
{
	struct child_request q;
	while (read(in, &q, sizeof q) == (ssize_t)sizeof q) {
		pid_t pid = fork();
		if (pid == 0)
			run_child(&q);
		int status = -1;
		while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (write(out, &status, sizeof status) != (ssize_t)sizeof status)
			break;
	}
	_exit(0);
}

void fuzz_child_server(void)
{
	int q[2], a[2];
	if (pipe2(q, O_CLOEXEC) < 0 || pipe2(a, O_CLOEXEC) < 0)
		err(1, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		err(1, "fork");
	if (pid == 0) {
		close(q[1]);
		close(a[0]);
		serve(q[0], a[1]);
	}
	close(q[0]);
	close(a[1]);
	to_server = q[1];
	from_server = a[0];
}

int fuzz_in_child(void (*fn)(const void *arg), const void *arg, size_t len, const char *errpath)
{
	struct child_request q = { .fn = fn, .len = len };
	int status;
	ssize_t n;
	CHECK(to_server >= 0 && len <= sizeof q.arg && (!errpath || strlen(errpath) < sizeof q.errpath));
	memcpy(q.arg, arg, len);
	if (errpath)
		strcpy(q.errpath, errpath);
	CHECK(write(to_server, &q, sizeof q) == (ssize_t)sizeof q);
	while ((n = read(from_server, &status, sizeof status)) < 0 && errno == EINTR)	/* libFuzzer's timer */
		;
	CHECK(n == (ssize_t)sizeof status);
	return status;
}

char *fuzz_written(struct record *r, const char *const *drop, const char *add, size_t addlen,
		   size_t *n)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, n);
	if (!f)
		err(1, "open_memstream");
	record_write(r, f, drop, add, addlen);
	if (fclose(f) != 0)
		err(1, "open_memstream");
	return out;
}

bool fuzz_json_object(const char *s, size_t n)
{
	struct json_shape shape;
	struct json_error e;
	return json_validate(s, n, &shape, NULL, &e);
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

bool fuzz_uri_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t placeholder = c == '{' ? secretref_at(s + i, s + n, NULL) : 0;
		if (placeholder) {
			i += placeholder - 1;
		} else if (c == '%') {
			if (n - i < 3 || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
				return false;
			i += 2;
		} else if (!c || c >= 0x80 || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						       "0123456789-._~:/?#[]@!$&'()*+,;=", c)) {
			return false;
		}
	}
	return true;
}

/* Whether p[0,n) is a record the spool format allows: a sign, 1 to 19
 * digits worth at most INT64_MAX, a space. */
static bool spool_record(const char *p, size_t n)
{
	static const char most[] = "9223372036854775807";
	size_t d = 1;
	if (n < 3 || (p[0] != '+' && p[0] != '-'))
		return false;
	while (d < n && d < sizeof most && p[d] >= '0' && p[d] <= '9')
		d++;
	return d > 1 && d < n && p[d] == ' ' && (d < sizeof most || memcmp(p + 1, most, d - 1) <= 0);
}

bool fuzz_spool_file(const char *path, const char *header, const char *p, size_t n, size_t max_line,
		     size_t max_records)
{
	const char *end = p + n, *nl;
	size_t records = 0;
	struct buf f = { 0 };
	buf_adds(&f, header);
	for (; p < end && (nl = memchr(p, '\n', (size_t)(end - p))); p = nl + 1) {
		size_t len = (size_t)(nl - p);
		if (!spool_record(p, len) || len > max_line || ++records > max_records) {
			buf_free(&f);
			return false;
		}
		buf_add(&f, p, len + 1);
	}
	fuzz_write_file(path, f.data, f.len);
	buf_free(&f);
	return true;
}
