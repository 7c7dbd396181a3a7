/* Replays inputs through a fuzz harness without libFuzzer, so make check
 * needs no clang: LLVMFuzzerTestOneInput on each file named, and on each
 * file of each directory named, each in a child process so that a crash
 * or a leak (LeakSanitizer checks at the child's exit) names its input.
 * One TAP line per argument; a directory is one test of all its files,
 * and a path that does not exist fails as "no such corpus". */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

/* Runs the harness on one file in a child; whether it passed. */
static int replay(const char *path)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		FILE *f = fopen(path, "rb");
		struct stat st;
		if (!f || fstat(fileno(f), &st) < 0)
			_exit(125);
		size_t n = (size_t)st.st_size;
		uint8_t *data = malloc(n ? n : 1);	/* exactly n: reads past the end are caught */
		if (!data || fread(data, 1, n, f) != n)
			_exit(125);
		fclose(f);
		LLVMFuzzerTestOneInput(data, n);
		free(data);
		exit(0);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	if (WIFSIGNALED(status))
		printf("# %s: killed by signal %d\n", path, WTERMSIG(status));
	else
		printf("# %s: exit status %d\n", path, WEXITSTATUS(status));
	return 0;
}

static int skip_dots(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
	const char *me = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int failed = 0;
	for (int a = 1; a < argc; a++) {
		struct dirent **names = NULL;
		int n = scandir(argv[a], &names, skip_dots, alphasort), passed = 0;
		if (n < 0 && errno == ENOTDIR) {
			passed = replay(argv[a]);
			n = 1;
		} else if (n < 0 && errno == ENOENT) {
			printf("not ok %d - %s: no such corpus %s\n", a, me, argv[a]);
			failed++;
			continue;
		} else if (n < 0) {
			printf("# %s: %s\n", argv[a], strerror(errno));
		}
		for (int i = 0; i < n && names; i++) {
			char *path = malloc(strlen(argv[a]) + strlen(names[i]->d_name) + 2);
			sprintf(path, "%s/%s", argv[a], names[i]->d_name);
			passed += replay(path);
			free(path);
			free(names[i]);
		}
		if (n >= 0 && names)
			free(names);
		printf("%sok %d - %s: %d of %d inputs of %s\n", passed == n && n > 0 ? "" : "not ",
		       a, me, passed, n, argv[a]);
		failed += passed != n || n <= 0;
	}
	printf("1..%d\n", argc - 1);
	return failed != 0;
}
