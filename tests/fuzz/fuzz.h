/* What the fuzz harnesses share: the entry point libFuzzer (or replay.c)
 * calls, checks that abort with a message, quiet diagnostics, files in a
 * per-process temporary directory, and the properties more than one
 * harness checks (JSON validity, URL text). */
#ifndef PB_FUZZ_H
#define PB_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with file, line and the failed condition when cond is false. */
#define CHECK(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* Sends what the code under test prints to stderr (stdio's stderr, not
 * fd 2, so sanitizer reports still show) to /dev/null until fuzz_loud(). */
void fuzz_quiet(void);
void fuzz_loud(void);

/* A path for name in this process's temporary directory under TMPDIR,
 * made on first use and removed at exit; valid until the next call. */
const char *fuzz_path(const char *name);
void fuzz_write_file(const char *path, const void *p, size_t n);
long fuzz_file_size(const char *path);

/* Writes to path a spool file: header, then the lines of p[0,n), each a
 * record the spool format allows (a sign, 1 to 19 digits worth at most
 * INT64_MAX, a space, the line), at most max_line bytes and max_records
 * of them; false, writing nothing, for any other input. */
bool fuzz_spool_file(const char *path, const char *header, const char *p, size_t n, size_t max_line,
		     size_t max_records);

/* Code that ends the process (a loader that exits on a bad file) runs in
 * a child: fuzz_in_child() runs fn on a copy of arg[0,len) (len at most
 * FUZZ_CHILD_ARG) there, its stderr going to errpath (NULL: nowhere),
 * and returns its wait status. The child exits before the exit handlers
 * of the sanitizers and fuzz.c run. It is forked by a server that
 * fuzz_child_server(), called from a constructor, forks before main
 * while the process is small: a fork of the fuzzer itself, large and
 * mapped by the sanitizers, takes tens of milliseconds. (The child's
 * coverage is not the fuzzer's to see.) */
#define FUZZ_CHILD_ARG 1024
void fuzz_child_server(void);
int fuzz_in_child(void (*fn)(const void *arg), const void *arg, size_t len, const char *errpath);

/* What record_write() writes, as a string the caller frees; *n its length. */
char *fuzz_written(struct record *r, const char *const *drop, const char *add, size_t addlen,
		   size_t *n);

/* Whether s[0,n) is one valid JSON object (json_validate). */
bool fuzz_json_object(const char *s, size_t n);

/* Whether every byte of s[0,n) is a URI character (RFC 3986 unreserved
 * or reserved) and every '%' starts a %XX triplet, but for pb's secret
 * placeholders, {secret:NAME}, that pbfire fills. */
bool fuzz_uri_text(const char *s, size_t n);

#endif
