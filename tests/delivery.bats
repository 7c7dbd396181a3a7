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

# wait_until CMD...: runs CMD every 50 ms until it succeeds, for 15 s at
# most (its arguments are expanded once: put a changing test in a function).
wait_until() {
	for _ in $(seq 300); do
		"$@" && return
		sleep 0.05
	done
}

# at_least_seen N: whether the receiver got N requests or more.
at_least_seen() {
	[ "$(wc -l < recv.ndjson)" -ge "$1" ]
}

# healthy_seen: how many requests the healthy host received.
healthy_seen() {
	grep -c '"path": "/ok' recv.ndjson || true
}

healthy_seen_all() {
	[ "$(healthy_seen)" -ge 100 ]
}

@test "600 lines for a dead host ahead of 100 for a healthy one: the healthy ones arrive within seconds" {
	start_receiver
	dead_then_healthy 600 100
	start=$(date +%s.%N)
	pbfire --allow-net 127.0.0.0/8 --allow-net ::1 --timeout 3 --retries 1 in > out 2> err &
	pid=$!
	wait_until healthy_seen_all
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
	wait_until grep -q "breaker open" err
	sleep 0.3
	kill -TERM "$pid"
	wait "$pid" || true
	assert_equal "$(seen | wc -l)" 2
	assert_equal "$(jq -r .result.error out | sort | uniq -c | awk '{ print $1, $2 }')" "4 interrupted"
	grep -q "^pbfire: host $RECV: 0 ok, 4 failed, breaker open$" err
	grep -q "^pbfire: 1 breaker open$" err
}

# fire_spooled ARGS...: pbfire with loopback allowed and a spool.
fire_spooled() {
	pbfire --allow-net 127.0.0.0/8 --spool retry.spool "$@"
}

@test "--spool: a failed line waits in the spool past the run, by the schedule; each run writes it once, pending until it is delivered" {
	start_receiver
	printf '{"url":"%s/a?fail=2&key=a"}\n{"url":"%s/ok"}\n' "$RECV" "$RECV" > in
	run fire_spooled --schedule 1s,1s in
	assert_success	# a line waiting is not a failure
	assert_equal "$(jq -c '.result | [.ok, .final, .attempts, .error, .retry_at != null]' <<<"$output" | sort)" \
		"$(printf '%s\n' '[false,false,1,"http",true]' '[true,null,1,null,false]')"
	assert_equal "$(tail -n +2 retry.spool | wc -l)" 1
	run fire_spooled --schedule 1s,1s < /dev/null	# nothing due yet: exits at once
	assert_success
	assert_output ""
	sleep 1.3
	run fire_spooled --schedule 1s,1s < /dev/null
	assert_equal "$(jq -c '.result | [.ok, .final, .attempts, .line]' <<<"$output")" '[false,false,2,1]'
	sleep 1.3
	run fire_spooled --schedule 1s,1s < /dev/null
	assert_success
	assert_equal "$(jq -c '.result | [.ok, .final, .attempts, .line, .round]' <<<"$output")" '[true,null,3,1,1]'
	assert_equal "$(tail -n +2 retry.spool | wc -l)" 0
	assert_equal "$(seen | grep -c '/a?')" 3
}

@test "--spool --stats: the deferrals to the spool and the lines in it, one in the singular" {
	start_receiver
	echo "{\"url\":\"$RECV/a?fail=2&key=a\"}" > one
	run fire_spooled --schedule 1m --stats one
	assert_success
	assert_line "pbfire: 1 deferral to the spool, 1 line in it"
	echo "{\"url\":\"$RECV/b?fail=2&key=b\"}" > two
	run fire_spooled --schedule 1m --stats two
	assert_success
	assert_line "pbfire: 1 deferral to the spool, 2 lines in it"
}

@test "--spool: the spool's header is pbfire's own, which pbdelay refuses; a spool an earlier pbfire began with pbdelay's header is still read" {
	start_receiver
	printf '{"url":"%s/a?fail=1&key=a"}\n' "$RECV" > in
	run fire_spooled --schedule 1s in
	assert_success
	assert_equal "$(head -n 1 retry.spool)" "pbfire-spool 1"
	assert_equal "$(tail -n +2 retry.spool | grep -c '^+')" 1
	run pbdelay --spool retry.spool < /dev/null
	assert_failure 2
	assert_output "pbdelay: retry.spool: not a pbdelay spool"
	sed -i '1s/^pbfire-spool 1$/pbdelay-spool 1/' retry.spool	# as pbfire wrote it before
	sleep 1.3
	run fire_spooled --schedule 1s < /dev/null
	assert_success
	assert_equal "$(jq -c '.result | [.ok, .final, .attempts]' <<<"$output")" '[true,null,2]'
	assert_equal "$(seen | grep -c '/a?')" 2
	assert_equal "$(cat retry.spool)" "pbdelay-spool 1"
}

@test "--spool: when the schedule is used up the line fails for good, with no retry_at" {
	start_receiver
	echo "{\"url\":\"$RECV/down?status=503\"}" > in
	run fire_spooled --schedule 0,0 --breaker 0 in
	assert_failure 1
	assert_equal "$(jq -c '.result | [.final, .attempts]' <<<"$output")" "$(printf '%s\n' '[false,1]' '[false,2]' '[null,3]')"
	assert_equal "$(tail -n 1 <<<"$output" | jq '.result.retry_at')" null
	assert_equal "$(seen | wc -l)" 3
}

@test "--spool: pbstat counts a deferred line as pending, then as delivered" {
	start_receiver
	echo "{\"url\":\"$RECV/a?fail=1&key=a\"}" > in
	fire_spooled --schedule 0 in > results
	assert_equal "$(jq -c '.result.final' results | paste -sd,)" "false,null"
	run pbstat results
	assert_success
	assert_output --partial "pending"
}

@test "--spool: SIGTERM puts the lines waiting back in the spool, and the next run sends them" {
	start_receiver
	for i in $(seq 3); do echo "{\"url\":\"http://localhost:$PORT/dead$i?delay=1000\",\"n\":$i}"; done > in
	for i in $(seq 20); do echo "{\"url\":\"http://localhost:$PORT/later$i\",\"n\":$i}"; done >> in
	pbfire --allow-net 127.0.0.0/8 --allow-net ::1 --spool retry.spool --per-host 3 --grace 0.2 in > out 2> err &
	pid=$!
	wait_until at_least_seen 3
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 0
	assert_equal "$(wc -l < out)" 23
	assert_equal "$(jq -r '.result.final' out | sort -u)" false
	assert_equal "$(tail -n +2 retry.spool | wc -l)" 23
	sed -i 's/delay=1000/delay=0/' retry.spool	# the host is back
	run pbfire --allow-net 127.0.0.0/8 --allow-net ::1 --spool retry.spool < /dev/null
	assert_success
	assert_equal "$(jq -r '.result.ok' <<<"$output" | sort | uniq -c | awk '{ print $1, $2 }')" "23 true"
}

@test "--spool: the lines of a host whose breaker opens wait in the spool for its probe, so the run ends" {
	start_receiver
	for i in $(seq 5); do echo "{\"url\":\"$RECV/down$i?status=503\"}"; done > in
	start=$(date +%s.%N)
	run fire_spooled --per-host 1 --breaker 2 --breaker-wait 60 --schedule 1h in
	end=$(date +%s.%N)
	assert_success
	assert_equal "$(awk -v s="$start" -v e="$end" 'BEGIN { print (e - s < 10) }')" 1
	assert_equal "$(seen | wc -l)" 2
	assert_line --partial "breaker open for"
	records=$(grep '^{' <<<"$output")
	assert_equal "$(jq -r '[.result.ok, .result.final, .result.message] | @tsv' <<<"$records" | sort | uniq -c | awk '{ $1 = $1; print }')" \
		"$(printf '2 false false HTTP 503\n3 false false waiting for the host'"'"'s breaker to let a probe go')"
	assert_equal "$(tail -n +2 retry.spool | grep -c '^+')" 5
}

# breaker_runs ARGS...: fire_spooled with a breaker opening after 2
# failures for 4 s (jittered to 3.2 to 4.8 s), long enough for the run
# after it to start within the wait on a loaded machine.
breaker_runs() {
	fire_spooled --per-host 1 --breaker 2 --breaker-wait 4 --schedule 0,0,0 "$@"
}

@test "--spool: a breaker's state is kept beside the spool, so the next run sends nothing to the host until the wait is over, then one probe closes it" {
	start_receiver
	echo "{\"url\":\"$RECV/a?fail=2&key=k\"}" > in
	run breaker_runs in	# 503 twice: the breaker opens
	assert_success
	assert_line --regexp "breaker open for [345] s after 2 failed attempts"
	assert_equal "$(seen | wc -l)" 2
	assert_equal "$(head -n 1 retry.spool.breakers)" "pbfire-breakers 1"
	assert_equal "$(tail -n +2 retry.spool.breakers | cut -d ' ' -f 1-4)" "$RECV open 2 4"
	echo "{\"url\":\"$RECV/b?fail=2&key=k\"}" > in2
	run breaker_runs --stats in2	# at once: the saved breaker holds the new line too
	assert_success
	assert_equal "$(seen | wc -l)" 2
	assert_line "pbfire: host $RECV: no line finished in this run, breaker open"
	assert_line --regexp "^pbfire: host $RECV: breaker open for [0-5] s more, as retry.spool.breakers says$"
	assert_equal "$(grep '^{' <<<"$output" | jq -r '[.result.final, .result.message] | @tsv')" \
		"$(printf 'false\twaiting for the host'"'"'s breaker to let a probe go')"
	sleep 5
	run breaker_runs < /dev/null	# the wait is over: a probe, then the other line
	assert_success
	assert_line "pbfire: host $RECV: breaker closed: it answered again"
	assert_equal "$(grep '^{' <<<"$output" | jq -r '.result.ok' | paste -sd,)" "true,true"
	assert_equal "$(seen | wc -l)" 4
	assert_equal "$(cat retry.spool.breakers)" "pbfire-breakers 1"
}

@test "--spool: a malformed line of the breakers file is skipped with a warning, a torn last line ignored" {
	start_receiver
	echo "{\"url\":\"$RECV/a\"}" > in
	printf 'pbfire-breakers 1\nhttp://x:80 ajar 1 1 0\nhttp://127.0.0.1:1 open 2 1 9' > retry.spool.breakers
	run fire_spooled in
	assert_success
	assert_line "pbfire: retry.spool.breakers: line 2: not a breaker line; skipped"
	assert_equal "$(grep '^{' <<<"$output" | jq -r '.result.ok')" true
	assert_equal "$(cat retry.spool.breakers)" "pbfire-breakers 1"
}

@test "--spool: a saved probe time past the longest wait is brought back to it" {
	echo '{"url":"http://127.0.0.1:1/x"}' > in
	printf 'pbfire-breakers 1\nhttp://127.0.0.1:1 open 5 1800 9000000000000000000\n' > retry.spool.breakers
	run fire_spooled in
	assert_success
	line=$(grep -o 'breaker open for [0-9]* s more' <<<"$output")
	n=${line//[^0-9]/}
	[ "$n" -gt 0 ] && [ "$n" -le 2160 ]
}

@test "--spool: a spool that cannot be written stops pbfire with status 2" {
	echo '{"url":"http://127.0.0.1:1/x"}' > in
	run pbfire --allow-net 127.0.0.0/8 --spool /dev/full in
	assert_failure 2
	assert_output "pbfire: /dev/full: No space left on device"
	mkdir dir
	run pbfire --allow-net 127.0.0.0/8 --spool dir in
	assert_failure 2
	assert_output "pbfire: dir: Is a directory"
}

@test "--spool: records that stdout cannot take stop pbfire with status 2 before the spool lets their lines go" {
	[ -w /dev/full ] || skip "no /dev/full"
	start_receiver
	# answered 503, then 200, its records bigger than stdout's buffer:
	# fwrite writes them itself, and fflush then has nothing left to fail
	echo "{\"url\":\"$RECV/big?fail=1&key=big&body_bytes=60000\"}" > in
	run bash -c 'pbfire --allow-net 127.0.0.0/8 --spool s --schedule 0 --keep-response 60000 in > /dev/full'
	assert_failure 2
	assert_output "pbfire: stdout: No space left on device"
	assert_equal "$(grep -c '^+' s)" 1
}

@test "--spool: SIGKILL at any moment, then the same command over the same input, loses no postback" {
	start_receiver
	for i in $(seq 30); do echo "{\"url\":\"$RECV/k$i?fail=1&key=k$i\",\"postback\":{\"key\":\"k$i\"}}"; done > in
	for round in $(seq 12); do
		pbfire --allow-net 127.0.0.0/8 --spool retry.spool --ledger fired --schedule 0,0,0 --breaker 0 in > "out.$round" 2>/dev/null &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" || true
	done
	run pbfire --allow-net 127.0.0.0/8 --spool retry.spool --ledger fired --schedule 0,0,0 --breaker 0 in
	assert_success
	run pbfire --dry-run --ledger fired in
	assert_equal "$(jq -r .result.error <<<"$output" | sort | uniq -c | awk '{ print $1, $2 }')" "30 duplicate"
	assert_equal "$(tail -n +2 retry.spool | grep -c '^+' || true)" 0
}

@test "--spool: no pending record is out before its line is in the spool, though a breaker defers the whole input at once" {
	start_receiver
	for round in $(seq 4); do
		seq 20000 | sed "s|.*|{\"url\":\"$RECV/r$round-&?status=503\",\"id\":\"r$round-&\"}|" > in
		rm -f s s.breakers out
		pbfire --allow-net 127.0.0.0/8 -j 4 --spool s in > out 2> /dev/null &
		pid=$!
		# Killed once 64 KiB of records are out: the breaker has opened and
		# pbfire is deferring the 20,000 lines to the spool, in one turn.
		until [ "$(stat -c %s out 2> /dev/null || echo 0)" -ge 65536 ] || ! kill -0 "$pid" 2> /dev/null; do sleep 0.005; done
		kill -KILL "$pid" 2> /dev/null || true
		wait "$pid" || true
		jq -r 'select(.result.final == false) | .id' out | sort -u > out_pending
		grep -o '"id":"r[0-9]*-[0-9]*"' s | cut -d '"' -f 4 | sort -u > in_spool
		[ -z "$(comm -23 out_pending in_spool)" ] ||
			fail "round $round: $(comm -23 out_pending in_spool | wc -l) of $(wc -l < out_pending) pending records out, their lines not in the spool"
	done
}

# overflow_size PID: the size of the unlinked temporary file pbfire PID
# keeps host backlogs in (0 when it has none open).
overflow_size() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		if [[ $(readlink "$fd") == *"(deleted)" ]]; then
			stat -L -c %s "$fd"
			return
		fi
	done
	echo 0
}

@test "a host's lines waiting on disk take the disk of the lines still waiting, not of all that went through" {
	start_receiver
	pad=$(head -c 10000 /dev/zero | tr '\0' x)
	# the last 80 answer slowly, so that the loop below looks in time
	seq 800 | awk -v r="$RECV" -v p="$pad" '{ printf "{\"url\":\"%s/o%d%s\",\"pad\":\"%s\"}\n", r, $1, ($1 > 720 ? "?delay=0.03" : ""), p }' > in
	pbfire --allow-net 127.0.0.0/8 -j 1 --per-host 1 in > out &
	pid=$!
	size=
	for _ in $(seq 600); do	# up to 60 s, until 90% are delivered
		[ "$(wc -l < recv.ndjson)" -lt 720 ] || { size=$(overflow_size "$pid"); break; }
		sleep 0.1
	done
	wait "$pid"
	assert_equal "$(grep -c '"ok":true' out)" 800
	jq -r '.path | sub("[?].*"; "")' recv.ndjson | diff - <(seq 800 | sed 's|^|/o|')	# in order, moved or not
	# 8 MB went through the temporary file; 80 lines (0.8 MB) were left
	assert [ -n "$size" ]
	assert [ "$size" -lt 6000000 ]
}

@test "a failed line fed back keeps its attempts, whether it waits in memory or on disk behind its host's backlog" {
	start_receiver
	for i in $(seq 40); do
		printf '{"url":"%s/f%d?status=503","postback":{"key":"f%d","attempts":3},"result":{"ok":false,"status":503,"attempts":2,"error":"http","line":%d,"round":1}}\n' \
			"$RECV" "$i" "$i" "$i"
	done > in
	run pbfire --allow-net 127.0.0.0/8 --backoff 0.01 -j 1 --per-host 1 --breaker 0 in
	assert_failure 1
	assert_equal "$(seen | wc -l)" 40	# one more attempt each: 4 in memory, 36 on disk
	assert_equal "$(jq -c '.result | [.attempts, .attempts_in_all, .round]' <<<"$output" | sort | uniq -c | awk '{ print $1, $2 }')" \
		'40 [1,3,2]'
}
