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

# gap N M: seconds between the receiver's Nth and Mth request (from 1).
gap() {
	jq -s --argjson a "$1" --argjson b "$2" '.[$b - 1].t - .[$a - 1].t' recv.ndjson
}

# at_least X Y: prints 1 when X >= Y.
at_least() {
	awk -v x="$1" -v y="$2" 'BEGIN { print (x >= y) }'
}

@test "a host failing --breaker times in a row: its breaker opens, one probe goes after the wait, a failed probe opens it for longer, a good one closes it" {
	start_receiver
	for i in $(seq 8); do echo "{\"url\":\"$RECV/b$i?fail=4&key=b\"}"; done > in
	run pbfire --allow-net 127.0.0.0/8 --backoff 0.05 --per-host 1 --breaker 3 --breaker-wait 1 --stats in
	assert_success
	assert_line --regexp "^pbfire: host $RECV: breaker open for 1 s after 3 failed attempts in a row \(http: HTTP 503\)$"
	assert_line --regexp "^pbfire: host $RECV: breaker open again for 2 s: the probe failed \(http: HTTP 503\)$"
	assert_line "pbfire: host $RECV: breaker closed: it answered again"
	assert_equal "$(seen | wc -l)" 12	# 3 failed, 1 failed probe, 8 delivered
	assert_equal "$(at_least "$(gap 3 4)" 0.75)" 1	# the wait, 1 s +-20%
	assert_equal "$(at_least "$(gap 4 5)" 1.55)" 1	# doubled
	assert_equal "$(at_least 1 "$(gap 5 12)")" 1	# closed: the rest at once
}

@test "--breaker 0 turns the breaker off" {
	start_receiver
	for i in $(seq 6); do echo "{\"url\":\"$RECV/b$i?fail=6&key=b\"}"; done > in
	run pbfire --allow-net 127.0.0.0/8 --backoff 0.05 --per-host 1 --breaker 0 in
	assert_success
	refute_output --partial breaker
	assert_equal "$(seen | wc -l)" 12
}

@test "429 and Retry-After pace the host: no breaker opens and the line's attempts are not used up" {
	start_receiver
	echo "{\"url\":\"$RECV/p?fail=6&status=429&key=p\"}" > in
	echo "{\"url\":\"$RECV/q?fail=1&status=503&retry_after=1&key=q\"}" >> in
	run pbfire --allow-net 127.0.0.0/8 --backoff 0.05 --retries 1 --breaker 2 in
	assert_success
	refute_output --partial breaker
	assert_equal "$(jq -c 'select(.url | contains("/p")) | .result | [.ok, .attempts]' <<<"$output")" '[true,7]'
	gap=$(jq -s '[.[] | select(.path | startswith("/q"))] | .[1].t - .[0].t' recv.ndjson)
	assert_equal "$(at_least "$gap" 0.9)" 1
}

@test "a breaker open is shown by --stats; the lines behind it keep their attempts and end as interrupted on SIGTERM" {
	start_receiver
	for i in $(seq 4); do echo "{\"url\":\"$RECV/d$i?status=503\"}"; done > in
	pbfire --allow-net 127.0.0.0/8 --backoff 0.05 --per-host 1 --breaker 2 --breaker-wait 60 --stats in > out 2> err &
	pid=$!
	for _ in $(seq 100); do
		grep -q "breaker open" err && break
		sleep 0.05
	done
	sleep 0.3
	kill -TERM "$pid"
	wait "$pid" || true
	assert_equal "$(seen | wc -l)" 2
	assert_equal "$(jq -r .result.error out | sort | uniq -c | awk '{ print $1, $2 }')" "4 interrupted"
	grep -q "^pbfire: host $RECV: 0 ok, 4 failed, breaker open$" err
	grep -q "^pbfire: 1 breakers open$" err
}
