#!/usr/bin/env bats
# One fate per postback: pbfire's ledger settles each key as delivered,
# failed or superseded, a replay (the cron recipe run again and again, a
# run killed half-way) sends no settled key again and writes no record of
# it, a failed record fed back is sent again, and the ledger's formats:
# version 2 read as delivered, a torn line and an unknown marker skipped.

load helper

# fire ARGS...: pbfire with loopback allowed.
fire() {
	pbfire --allow-net 127.0.0.0/8 "$@"
}

# iso SECONDS: RFC 3339 UTC time SECONDS from now.
iso() {
	date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ
}

# action TID STATUS ANSWER FAIL TIME: a conversion whose postback the
# receiver answers FAIL times with ANSWER, then with 200.
action() {
	echo "{\"type\":\"conversion\",\"transaction_id\":\"$1\",\"status\":\"$2\",\"rejection_reason\":null,\"answer\":$3,\"fail\":$4,\"time\":\"$5\"}"
}

# day_log: rules.yaml (approved only, 2 minutes) and actions.log: t1
# delivered, t2 rejected with 400 (and 200 if it came again), t3
# answered 503 then 200, t4 approved
# then rejected 10 s later (superseded), and t9 rejected a minute ago,
# which takes the log past every fire_at.
day_log() {
	rules <<EOF
postbacks:
  - name: pub
    type: conversion
    url: $RECV/pb?tid={transaction_id}&status={answer}&fail={fail}&key={transaction_id}
    delay: 2m
EOF
	{
		action t1 approved 200 0 "$(iso -600)"
		action t2 approved 400 1 "$(iso -600)"
		action t3 approved 503 1 "$(iso -600)"
		action t4 approved 200 0 "$(iso -600)"
		action t4 rejected 200 0 "$(iso -590)"
		action t9 rejected 200 0 "$(iso -60)"
	} > actions.log
}

# cron_run: the README's cron recipe over actions.log, once; its status
# is pbfire's.
cron_run() {
	pbmatch -r rules.yaml actions.log | pbexpand | pbdelay --spool held --due-only |
		fire --schedule 1s --spool retry.spool --ledger fired >> results.ndjson
}

# fates: "tid error" of each record of results.ndjson.
fates() {
	jq -r '"\(.transaction_id) \(.result.error)"' results.ndjson
}

@test "the cron recipe run again and again: each postback sent once, records on the first runs only, exit 0" {
	start_receiver
	day_log
	run cron_run
	assert_failure 1	# t2's 400: this run's failure
	sleep 1.5		# t3's retry comes due
	run cron_run
	assert_success
	assert_equal "$(fates | sort | uniq -c | awk '{ print $1, $2, $3 }')" \
		"$(printf '1 t1 null\n1 t2 http\n1 t3 http\n1 t3 null\n1 t4 superseded')"
	cp results.ndjson after2
	pbstat -o json results.ndjson > stat2
	for _ in 1 2 3; do
		run cron_run
		assert_success
		assert_output ""
	done
	cmp results.ndjson after2
	assert_equal "$(seen | cut -d'?' -f2 | cut -d'&' -f1 | sort | uniq -c | awk '{ print $1, $2 }')" \
		"$(printf '1 tid=t1\n1 tid=t2\n2 tid=t3')"	# t3: its 503, then its 200
	pbstat -o json results.ndjson | cmp - stat2
	assert_equal "$(jq -c '[.seen, .delivered, .failed, .pending, .superseded]' stat2)" "[4,2,1,0,1]"
	assert_equal "$(jq -c 'select(.result.superseded_by) | .result.superseded_by' results.ndjson)" \
		"{\"status\":\"rejected\",\"rejection_reason\":null,\"time\":\"$(jq -r 'select(.transaction_id == "t4" and .status == "rejected") | .time' actions.log)\"}"
	assert_equal "$(sed 's/^[0-9]*//' fired | sort)" \
		"$(printf ' t1:pub:approved\n t3:pub:approved\nf t2:pub:approved\npbfire-ledger 3\ns t4:pub:approved@%s' "$(jq -r 'select(.transaction_id == "t4") | .time' actions.log | head -n 1)")"
}

@test "288 runs of a day, with --stats: nothing sent twice, no record added, each run counts its settled lines" {
	start_receiver
	day_log
	cron_run || true
	sleep 1.5
	cron_run
	cp results.ndjson after2
	requests=$(wc -l < recv.ndjson)
	for i in $(seq 286); do
		pbmatch -r rules.yaml actions.log | pbexpand | pbdelay --spool held --due-only |
			fire --schedule 1s --spool retry.spool --ledger fired --stats 2> stats >> results.ndjson ||
			fail "run $i failed: $(cat stats)"
	done
	cmp results.ndjson after2
	assert_equal "$(wc -l < recv.ndjson)" "$requests"
	assert_equal "$(grep settled stats)" "pbfire: 4 already settled"
}

@test "SIGKILL of pbfire at any moment, then the same command: no settled key is sent again, none is lost" {
	start_receiver
	for i in $(seq 20); do
		answer=$((i % 3 ? 200 : 400))
		echo "{\"url\":\"$RECV/k$i?status=$answer&delay=0.02\",\"postback\":{\"key\":\"k$i\"}}"
	done > in
	for round in $(seq 10); do
		# pbfire itself in the background, not a subshell running fire(),
		# so that the SIGKILL reaches it and not a shell it outlives
		pbfire --allow-net 127.0.0.0/8 -j 2 --spool retry.spool --ledger fired in >> results.ndjson 2>/dev/null &
		pid=$!
		sleep "0.0$((RANDOM % 10))"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" || true
	done
	run fire --spool retry.spool --ledger fired in
	[ "$status" -le 1 ] || fail "the run after the kills exited $status: $output"	# 1: a 400 in it
	assert_equal "$(ledger_keys fired | sort | paste -sd,)" "$(seq 20 | sed 's/^/k/' | sort | paste -sd,)"
	settled=$(wc -l < recv.ndjson)
	for _ in 1 2 3; do
		run fire --spool retry.spool --ledger fired in
		assert_success
		assert_output ""
	done
	assert_equal "$(wc -l < recv.ndjson)" "$settled"
	assert_equal "$(grep -c 'f k' fired)" 6
}

@test "SIGKILL of pbfire with -j 4 at any moment: the requests sent whose key is not in the ledger are 4 at most" {
	start_receiver
	for round in $(seq 8); do
		seq 1000 | sed "s|.*|{\"url\":\"$RECV/r$round-&\",\"postback\":{\"key\":\"r$round-&\"}}|" > in
		pbfire --allow-net 127.0.0.0/8 -j 4 --ledger fired.$round in > /dev/null 2>&1 &
		pid=$!
		sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
		kill -KILL "$pid" 2> /dev/null || true
		wait "$pid" || true
		sleep 0.2	# for the receiver to log what pbfire sent last
		jq -r .path recv.ndjson | sed -n "s|^/\(r$round-.*\)|\1|p" | sort -u > sent
		{ [ ! -e fired.$round ] || ledger_keys fired.$round; } | sort -u | comm -23 sent - > unsettled
		[ "$(wc -l < unsettled)" -le 4 ] ||
			fail "round $round: $(wc -l < unsettled) of $(wc -l < sent) sent not in the ledger: $(head -n 6 unsettled | paste -sd ' ')"
	done
}

# The same bound at every moment, not at a few: each write to the ledger
# adds keys delivered and not yet durable, so one of more than -j keys
# means a kill just before it would have sent them all again.
@test "pbfire -j 4 writes its ledger 4 keys at most at a time (strace), so at no moment are more delivered and not durable" {
	needs_strace
	start_receiver
	seq 1000 | sed "s|.*|{\"url\":\"$RECV/&\",\"postback\":{\"key\":\"k&\"}}|" > in
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -o trace -s 1000000 -P "$PWD/fired" -e trace=write,pwrite64 \
		pbfire --allow-net 127.0.0.0/8 -j 4 --ledger fired in > /dev/null
	assert_equal "$(ledger_keys fired | wc -l)" 1000
	grep -o '"[0-9][^"]*"' trace | awk -F '\\\\n' '{ n += NF - 1; if (NF - 1 > most) most = NF - 1 }
		END { print n " keys in " NR " writes, " most " at most in one" }' > writes
	grep -q '^1000 keys in [0-9]* writes, [1-4] at most in one$' writes || fail "$(cat writes)"
}

@test "a fed-back failed record is sent again and leaves a record; the line itself stays quiet" {
	start_receiver
	echo "{\"url\":\"$RECV/a?fail=1&status=400&key=a\",\"postback\":{\"key\":\"a\"}}" > in
	run fire --ledger fired in
	assert_failure 1
	assert_equal "$(jq -r .result.status <<<"$output")" 400
	echo "$output" > failed.ndjson
	run fire --ledger fired in
	assert_success
	assert_output ""
	run fire --ledger fired failed.ndjson
	assert_success
	assert_equal "$(jq -r '[.result.ok, .result.status, .result.round] | @tsv' <<<"$output")" "$(printf 'true\t200\t2')"
	assert_equal "$(seen | wc -l)" 2
	run fire --ledger fired failed.ndjson
	assert_success
	assert_output ""
	assert_equal "$(seen | wc -l)" 2
}

@test "with -v or --duplicates a settled line is written as a duplicate, ok only when it was delivered" {
	start_receiver
	printf '{"url":"%s/a","postback":{"key":"a"}}\n{"url":"%s/b?status=400","postback":{"key":"b"}}\n' "$RECV" "$RECV" > in
	run fire --ledger fired in
	run fire --ledger fired --duplicates in
	assert_success
	assert_equal "$(jq -r '[.postback.key, .result.ok, .result.error, .result.message] | @tsv' <<<"$output")" \
		"$(printf 'a\ttrue\tduplicate\t\nb\tfalse\tduplicate\tsettled earlier: failed')"
	run fire --ledger fired -v in
	assert_success
	assert_line --partial "pbfire: line 2: duplicate 0 in 0.0 ms after 0 attempts: settled earlier: failed"
	run fire --ledger fired --stats in
	assert_success
	assert_line "pbfire: 2 already settled"
	assert_equal "$(seen | wc -l)" 2
}

@test "a superseded line is not sent even without pbdelay, a notice is consumed, and a later action of its key still goes" {
	start_receiver
	{
		echo "{\"url\":\"$RECV/a\",\"time\":\"10:00\",\"postback\":{\"key\":\"k\"},\"superseded\":{\"status\":\"rejected\",\"rejection_reason\":\"fraud\",\"time\":\"10:01\"}}"
		echo '{"type":"conversion","transaction_id":"t1","status":"rejected","notice":"supersede"}'
	} > in
	run fire --ledger fired --stats in
	assert_success
	assert_line "pbfire: superseded   1"
	assert_line "pbfire: 1 notice consumed"
	assert_equal "$(jq -r 'select(.result) | [.result.ok, .result.error, .result.attempts, .result.superseded_by.rejection_reason] | @tsv' <<<"$output")" \
		"$(printf 'false\tsuperseded\t0\tfraud')"
	echo "{\"url\":\"$RECV/b\",\"time\":\"10:02\",\"postback\":{\"key\":\"k\"}}" >> in
	run fire --ledger fired in
	assert_success
	assert_equal "$(jq -r '[.time, (.result.error | tostring)] | @tsv' <<<"$output")" "$(printf '10:02\tnull')"
	assert_equal "$(seen)" "GET /b"
}

@test "a line sent by an earlier run and superseded in a replay that reads its verdict in time ends settled earlier, not as never sent" {
	start_receiver
	line="{\"url\":\"$RECV/a\",\"time\":\"10:00\",\"postback\":{\"key\":\"k\"}"
	# the verdict reached the first run too late: the line went
	echo "$line}" > first
	run fire --ledger fired first
	assert_success
	assert_equal "$(jq -r .result.ok <<<"$output")" true
	# the replay reads it in time, and pbdelay supersedes the line
	echo "$line,\"superseded\":{\"status\":\"rejected\",\"rejection_reason\":\"fraud\",\"time\":\"10:01\"}}" > replay
	run fire --ledger fired --stats replay
	assert_success
	assert_line "pbfire: 1 already settled"
	refute_output --partial '"superseded"'
	run fire --ledger fired --duplicates replay
	assert_equal "$(jq -r '[.result.ok, .result.error] | @tsv' <<<"$output")" "$(printf 'true\tduplicate')"
	# one failed for good is settled earlier as failed
	echo "{\"url\":\"$RECV/b?status=400\",\"time\":\"10:00\",\"postback\":{\"key\":\"f\"}}" > first
	run fire --ledger fired first
	sed 's/}$/,"superseded":{"status":"rejected","rejection_reason":null,"time":"10:01"}}/' first > replay
	run fire --ledger fired --duplicates replay
	assert_equal "$(jq -r '[.result.ok, .result.error, .result.message] | @tsv' <<<"$output")" \
		"$(printf 'false\tduplicate\tsettled earlier: failed')"
	assert_equal "$(seen | wc -l)" 2
}

@test "a line superseded in one run is not sent by a replay that releases it as it is (its verdict read too late)" {
	start_receiver
	line="{\"url\":\"$RECV/a\",\"time\":\"10:00\",\"postback\":{\"key\":\"k\"}"
	echo "$line,\"superseded\":{\"status\":\"rejected\",\"rejection_reason\":\"fraud\",\"time\":\"10:01\"}}" > first
	run fire --ledger fired first
	assert_success
	# the replay's pbdelay paused between the line and its verdict
	echo "$line}" > replay
	run fire --ledger fired --stats replay
	assert_success
	assert_line "pbfire: 1 already settled"
	run fire --ledger fired --duplicates replay
	assert_equal "$(jq -r '[.result.ok, .result.error, .result.message] | @tsv' <<<"$output")" \
		"$(printf 'false\tduplicate\tsettled earlier: superseded')"
	# the same key for a later action still goes
	echo "{\"url\":\"$RECV/b\",\"time\":\"10:30\",\"postback\":{\"key\":\"k\"}}" > later
	run fire --ledger fired later
	assert_success
	assert_equal "$(seen)" "GET /b"
}

@test "a ledger of version 2 is read as delivered keys and rewritten as version 3" {
	start_receiver
	printf 'pbfire-ledger 2\n%d a\n' "$(date +%s)" > fired
	printf '{"url":"%s/a","postback":{"key":"a"}}\n{"url":"%s/b","postback":{"key":"b"}}\n' "$RECV" "$RECV" > in
	run fire --ledger fired --duplicates in
	assert_success
	assert_equal "$(jq -r '[.postback.key, .result.ok, (.result.error | tostring)] | @tsv' <<<"$output")" \
		"$(printf 'a\ttrue\tduplicate\nb\ttrue\tnull')"
	assert_equal "$(seen)" "GET /b"
	assert_equal "$(sed 's/^[0-9]*//' fired)" $'pbfire-ledger 3\n a\n b'
}

@test "a torn line and a line of an unknown marker are skipped with a warning, kept, and never stop a run" {
	start_receiver
	now=$(date +%s)
	printf 'pbfire-ledger 3\n%dx a\n%d\n%df b\n%d b\n%d c\n%d d\n%df d\n' "$now" "$now" "$((now - 5))" "$((now - 9))" "$now" "$now" "$now" > fired
	for k in a b c d; do echo "{\"url\":\"$RECV/$k\",\"postback\":{\"key\":\"$k\"}}"; done > in
	run fire --ledger fired --duplicates in
	assert_success
	assert_line "pbfire: fired: skipping a line this pbfire does not read (a newer format, or torn): ${now}x a"
	assert_line "pbfire: fired: skipping a line this pbfire does not read (a newer format, or torn): $now"
	# b and d failed (their latest line), c was delivered
	assert_equal "$(grep '^{' <<<"$output" | jq -r '[.postback.key, .result.ok, (.result.error | tostring)] | @tsv' | sort)" \
		"$(printf 'a\ttrue\tnull\nb\tfalse\tduplicate\nc\ttrue\tduplicate\nd\tfalse\tduplicate')"
	assert_equal "$(seen)" "GET /a"
	grep -qx "${now}x a" fired
}
