#!/usr/bin/env bats
# pbfire as a delivery system, against tests/receiver.py on 127.0.0.1:
# a dead host does not hold back a healthy one, and its lines wait on
# disk rather than in memory.

load helper

# dead_then_healthy N M: N lines for a host that never answers (the
# receiver by the name localhost, told to wait 1000 s), then M for a
# healthy one (the receiver by its address), into file in.
dead_then_healthy() {
	for i in $(seq "$1"); do echo "{\"url\":\"http://localhost:$PORT/dead$i?delay=1000\"}"; done > in
	for i in $(seq "$2"); do echo "{\"url\":\"$RECV/ok$i\"}"; done >> in
}

# healthy_seen: how many requests the healthy host received.
healthy_seen() {
	grep -c '"path": "/ok' recv.ndjson || true
}

@test "600 lines for a dead host ahead of 100 for a healthy one: the healthy ones arrive within seconds" {
	start_receiver
	dead_then_healthy 600 100
	start=$(date +%s.%N)
	pbfire --allow-net 127.0.0.0/8 --allow-net ::1 --timeout 3 --retries 1 in > out 2> err &
	pid=$!
	for _ in $(seq 300); do
		[ "$(healthy_seen)" -ge 100 ] && break
		sleep 0.05
	done
	end=$(date +%s.%N)
	kill -TERM "$pid"
	wait "$pid" || true
	assert_equal "$(healthy_seen)" 100
	assert_equal "$(awk -v s="$start" -v e="$end" 'BEGIN { print (e - s < 5) }')" 1
	assert_equal "$(jq -r 'select(.url | contains("/ok")) | .result.ok' out | sort | uniq -c | awk '{ print $1, $2 }')" "100 true"
	assert_equal "$(wc -l < out)" 700	# every line read has its result, the dead host's interrupted
}
