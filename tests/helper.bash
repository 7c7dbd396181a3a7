# Shared set-up for the bats suites: the binaries under test first on
# PATH, a private temporary directory, bats-assert and bats-support.
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
PB_BIN=${PB_BIN:-$TOP/build}
PATH=$PB_BIN:$PATH
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

# start_receiver: starts tests/receiver.py on an ephemeral 127.0.0.1 port,
# logging to recv.ndjson; sets RECV to its base URL. teardown stops it.
start_receiver() {
	python3 "$TOP/tests/receiver.py" --log "$BATS_TEST_TMPDIR/recv.ndjson" \
		--port-file "$BATS_TEST_TMPDIR/port" 3>&- &
	RECEIVER_PID=$!
	for _ in $(seq 100); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.05
	done
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

# ledger_keys FILE: the keys a pbfire ledger holds, one a line as written
# (escaped), without its header and the delivery dates.
ledger_keys() {
	sed -e '1{/^pbfire-ledger 2$/d;}' -e 's/^[0-9]* //' "$1"
}
