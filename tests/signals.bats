#!/usr/bin/env bats
# A signal that comes between a loop's last look at its stop flag and its
# wait: pbdelay and pbfire wait on the self-pipe the handler writes to
# (common/wake.c), so they stop at once instead of sleeping on. A
# preloaded poll() raises SIGTERM just before the main thread's first wait
# that may block, which is that moment, every time (pbfire's lanes, the
# threads sending its requests, take no signals).

load helper

setup_file() {
	cat > "$BATS_FILE_TMPDIR/raise_before_poll.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	static int raised;
	static int (*real)(struct pollfd *, nfds_t, int);
	if (!real)
		real = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_NEXT, "poll");
	if (timeout != 0 && gettid() == getpid() && !raised++)
		raise(SIGTERM);
	return real(fds, n, timeout);
}
EOF
	cc -shared -fPIC -o "$BATS_FILE_TMPDIR/raise_before_poll.so" "$BATS_FILE_TMPDIR/raise_before_poll.c" -ldl
}

# signalled CMD...: CMD with SIGTERM raised just before its first poll()
# that may block; killed after 5 seconds (status 124) if it sleeps on.
signalled() {
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		LD_PRELOAD=$BATS_FILE_TMPDIR/raise_before_poll.so timeout 5 "$@"
}

# idle_input: a fifo, open for writing on fd 4, that never ends: input
# that pauses.
idle_input() {
	mkfifo fifo
	exec 4<> fifo
}

@test "pbdelay holding a line at the end of its input stops at once" {
	echo '{"id":1,"fire_at":"2099-01-01T00:00:00Z"}' > in
	TMPDIR=$PWD run signalled pbdelay in
	assert_equal "$status" 143
	assert_output --partial "pbdelay: interrupted: 1 held line saved to $PWD/pbdelay-held."
}

@test "pbdelay waiting for input stops at once" {
	idle_input
	run signalled pbdelay --spool s < fifo
	exec 4>&-
	assert_equal "$status" 143
	assert_output "pbdelay: interrupted: 0 held lines stay in s"
}

@test "pbfire waiting for input stops at once" {
	idle_input
	run signalled pbfire < fifo
	exec 4>&-
	assert_success
	assert_output "pbfire: interrupted: finishing 0 requests in flight, for up to 5.0 s"
}
