# Shared set-up for the bats suites: the binaries under test first on
# PATH, a private temporary directory, bats-assert and bats-support.
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
PB_BIN=${PB_BIN:-$TOP/build}
# Debian's python3 (make deps installs it) before any version manager's
# shim on PATH, which can take seconds to start on a loaded machine.
PATH=$PB_BIN:/usr/bin:$PATH
export LC_ALL=C TZ=UTC
export RULES=$TOP/rules.example.yaml
export ACTIONS=$TOP/tests/fixtures/actions.ndjson

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# rules <<EOF ... EOF: writes a rule file, rules.yaml, from standard input.
rules() {
	cat > rules.yaml
}

# jget FIELD: the value of FIELD (jq syntax) in each line of stdin.
jget() {
	jq -r "$1"
}

# await WHAT PID CHECK...: waits up to 20 s for the command CHECK to
# succeed while the set-up process PID lives; fails the test at once,
# naming WHAT, when the process has ended (a binary missing, a port taken)
# or time runs out, so that a broken set-up never leaves a test hanging.
await() {
	local what=$1 pid=$2 state
	shift 2
	for _ in $(seq 400); do
		"$@" && return 0
		read -r _ _ state _ 2> /dev/null < "/proc/$pid/stat" || state=gone
		[ "$state" != Z ] && [ "$state" != gone ] || fail "$what ended before it was ready"
		sleep 0.05
	done
	fail "$what not ready after 20 s"
}

# at SECONDS: Unix time SECONDS from now, with a fraction.
at() {
	awk -v d="$1" -v now="$(date +%s.%N)" 'BEGIN { printf "%.3f\n", now + d }'
}

# stamp: each line of stdin prefixed with the Unix time it arrived.
stamp() {
	python3 -u -c 'import sys, time
for line in sys.stdin:
    sys.stdout.write("%.6f %s" % (time.time(), line))'
}

# start_receiver: starts tests/receiver.py on an ephemeral 127.0.0.1 port,
# logging to recv.ndjson; sets RECV to its base URL. teardown stops it.
start_receiver() {
	python3 "$TOP/tests/receiver.py" --log "$BATS_TEST_TMPDIR/recv.ndjson" \
		--port-file "$BATS_TEST_TMPDIR/port" "$@" 3>&- &
	RECEIVER_PID=$!
	await "the receiver" "$RECEIVER_PID" test -s "$BATS_TEST_TMPDIR/port"
	PORT=$(cat "$BATS_TEST_TMPDIR/port")
	RECV=http://127.0.0.1:$PORT
	touch "$BATS_TEST_TMPDIR/recv.ndjson"
}

teardown() {
	if [ -n "${RECEIVER_PID:-}" ]; then
		kill "$RECEIVER_PID" 2>/dev/null || true
		wait "$RECEIVER_PID" 2>/dev/null || true
	fi
}

# seen: the requests the receiver got, one "METHOD PATH" a line.
seen() {
	jq -r '"\(.method) \(.path)"' "$BATS_TEST_TMPDIR/recv.ndjson"
}

# needs_strace: skips the test where strace is missing or may not trace
# (a container that forbids ptrace).
needs_strace() {
	command -v strace > /dev/null || skip "no strace"
	strace -f -o /dev/null true 2> /dev/null || skip "strace cannot trace here"
}

# ledger_keys FILE: the keys a pbfire ledger holds, one a line as written
# (escaped), without its header and the delivery dates.
ledger_keys() {
	sed -e '1{/^pbfire-ledger [23]$/d;}' -e 's/^[0-9]*[fs]\{0,1\} //' "$1"
}

# make_test_ca DIR: a test certificate authority, DIR/ca.crt and ca.key,
# and two server certificates it signs: DIR/server.crt and .key for
# 127.0.0.1 and localhost, DIR/other.crt and .key for other.test only.
make_test_ca() {
	local dir=$1 cert ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=pb test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
		-keyout "$dir/ca.key" -out "$dir/ca.crt" 2> /dev/null
	for cert in server:IP:127.0.0.1,DNS:localhost other:DNS:other.test; do
		openssl req -new "${ec[@]}" -subj "/CN=${cert%%:*}" -keyout "$dir/${cert%%:*}.key" \
			-out "$dir/${cert%%:*}.csr" 2> /dev/null
		openssl x509 -req -in "$dir/${cert%%:*}.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
			-CAcreateserial -days 2 -out "$dir/${cert%%:*}.crt" 2> /dev/null \
			-extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "${cert#*:}")
	done
}

# start_nginx: nginx serving https on three ephemeral 127.0.0.1 ports,
# run as this user with everything under $BATS_TEST_TMPDIR/nginx and the
# certificates of make_test_ca there; sets the base URLs NGINX_H2 (HTTP/2
# and HTTP/1.1), NGINX_H1 (HTTP/1.1 only) and NGINX_OTHER (a certificate
# for another name). Every path answers 204 but NGINX_H2's /slow, passed to
# the receiver (start_receiver first). nginx/access.log has a line per
# request: "PROTOCOL CONNECTION URI". teardown must call stop_nginx.
start_nginx() {
	local dir=$BATS_TEST_TMPDIR/nginx port ports
	mkdir -p "$dir/temp"
	make_test_ca "$dir"
	read -r -a ports < <(python3 -c 'import socket
socks = [socket.socket() for _ in range(3)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
	cat > "$dir/nginx.conf" <<CONF
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
	log_format pb '\$server_protocol \$connection \$request_uri';
	access_log $dir/access.log pb;
	client_body_temp_path $dir/temp/body;
	proxy_temp_path $dir/temp/proxy;
	fastcgi_temp_path $dir/temp/fastcgi;
	uwsgi_temp_path $dir/temp/uwsgi;
	scgi_temp_path $dir/temp/scgi;
	ssl_certificate $dir/server.crt;
	ssl_certificate_key $dir/server.key;
	server {
		listen 127.0.0.1:${ports[0]} ssl http2;
		location / { return 204; }
		location /slow { proxy_pass ${RECV:-http://127.0.0.1:9}; }
	}
	server { listen 127.0.0.1:${ports[1]} ssl; location / { return 204; } }
	server {
		listen 127.0.0.1:${ports[2]} ssl;
		ssl_certificate $dir/other.crt;
		ssl_certificate_key $dir/other.key;
		location / { return 204; }
	}
}
CONF
	/usr/sbin/nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" 3>&- &
	NGINX_PID=$!
	for port in "${ports[@]}"; do
		await "nginx" "$NGINX_PID" bash -c "(: < /dev/tcp/127.0.0.1/$port) 2> /dev/null"
	done
	NGINX_H2=https://127.0.0.1:${ports[0]}
	NGINX_H1=https://127.0.0.1:${ports[1]}
	NGINX_OTHER=https://127.0.0.1:${ports[2]}
}

stop_nginx() {
	if [ -n "${NGINX_PID:-}" ]; then
		kill "$NGINX_PID" 2> /dev/null || true
		wait "$NGINX_PID" 2> /dev/null || true
	fi
}
