#!/usr/bin/env bats
# The fraud check: a later action of a transaction supersedes the line an
# earlier one still holds in pbdelay, through pbmatch | pbexpand | pbdelay,
# with the same answer live, in a burst replay, over cron runs and after
# SIGKILL; and pbdelay's spool holds one line per postback key.

load helper

# iso SECONDS: RFC 3339 UTC time SECONDS from now, with microseconds.
iso() {
	date -u -d "@$(awk -v d="$1" -v now="$(date +%s.%N)" 'BEGIN { printf "%.6f", now + d }')" \
		+%Y-%m-%dT%H:%M:%S.%6NZ
}

# action TID STATUS TIME [REASON]: a conversion of transaction TID.
action() {
	local reason=null
	[ -z "${4:-}" ] || reason="\"$4\""
	echo "{\"type\":\"conversion\",\"transaction_id\":\"$1\",\"external_transaction_id\":\"c-$1\",\"status\":\"$2\",\"rejection_reason\":$reason,\"time\":\"$3\"}"
}

# approved_rules [EXTRA]: pub7-approved of rules.example.yaml, approved
# only, 2 minutes, with EXTRA lines added to it.
approved_rules() {
	rules <<EOF
postbacks:
  - name: pub7-approved
    type: conversion
    url: http://127.0.0.1:9/pb?clickid={external_transaction_id}&status={status}
    delay: 2m
${1:-}
EOF
}

# any_rules [EXTRA]: crm-all, on any status, 2 minutes.
any_rules() {
	rules <<EOF
postbacks:
  - name: crm-all
    type: conversion
    status: any
    url: http://127.0.0.1:9/crm?tid={transaction_id}&status={status}
    delay: 2m
${1:-}
EOF
}

# pipe ARGS...: pbmatch | pbexpand | pbdelay ARGS over stdin.
pipe() {
	pbmatch -r rules.yaml | pbexpand | pbdelay "$@"
}

# sent FILE: "tid:status" of each line of FILE that is released as it is.
sent() {
	jq -r 'select(.superseded == null) | "\(.transaction_id):\(.status)"' "$1"
}

# stopped FILE: "tid:status<-status:reason" of each superseded line.
stopped() {
	jq -r 'select(.superseded) | "\(.transaction_id):\(.status)<-\(.superseded.status):\(.superseded.rejection_reason)"' "$1"
}

@test "the issue's example: approved only, nothing fires; status any, only the rejected goes" {
	{
		action t1 approved "$(iso -86400)"
		action t1 rejected "$(iso -86340)" fraud
	} > log
	approved_rules
	pipe < log > out
	assert_equal "$(sent out)" ""
	assert_equal "$(stopped out)" "t1:approved<-rejected:fraud"
	assert_equal "$(jq -r .superseded.time out)" "$(jq -r 'select(.status == "rejected") | .time' log)"
	assert_equal "$(jq -r .url out)" "http://127.0.0.1:9/pb?clickid=c-t1&status=approved"
	any_rules
	pipe < log > out
	assert_equal "$(sent out)" "t1:rejected"
	assert_equal "$(stopped out)" "t1:approved<-rejected:fraud"
}

@test "pbmatch writes a notice only for an action that fires nothing but may supersede; pbexpand passes it on" {
	approved_rules
	{
		action t1 rejected "$(iso -100)" fraud
		echo '{"type":"click","transaction_id":"k1","time":"2026-01-01T00:00:00Z"}'
		echo '{"type":"conversion","transaction_id":"t2","status":"rejected"}'
	} > log
	run pbmatch -r rules.yaml --stats log
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_equal "$(head -n 1 <<<"$output")" "$(head -n 1 log | jq -c '. + {notice: "supersede"}')"
	assert_line "pbmatch: 1 notice of unmatched actions, for pbdelay"
	pbmatch -r rules.yaml log > matched
	run pbexpand --strict matched
	assert_success
	assert_output "$(cat matched)"
	# an opted-out rule, or one without a delay, holds nothing to supersede
	approved_rules "    supersede: false"
	assert_equal "$(pbmatch -r rules.yaml log | wc -l)" 0
	rules <<'EOF'
postbacks:
  - name: now
    type: conversion
    url: http://127.0.0.1:9/pb
EOF
	assert_equal "$(pbmatch -r rules.yaml log | wc -l)" 0
}

@test "duplicates, verdicts timed before, at the same time, or after fire_at do not supersede" {
	base=$(($(date +%s) - 86400))
	at() { date -u -d "@$((base + $1))" +%Y-%m-%dT%H:%M:%SZ; }
	# the log in time order, as pbdelay expects it
	{
		action dup approved "$(at 0)"
		action dup approved "$(at 0)"
		action before approved "$(at 0)"
		action before rejected "$(at -60)" fraud
		action same approved "$(at 0)"
		action same rejected "$(at 0)" fraud
		action late approved "$(at 0)"
		action late rejected "$(at 121)" fraud
		action within approved "$(at 0)"
		action within rejected "$(at 120)" fraud
	} | jq -sc 'sort_by(.time)[]' > log
	approved_rules
	pipe < log > out
	assert_equal "$(sent out | sort | paste -sd' ')" "before:approved dup:approved late:approved same:approved"
	assert_equal "$(stopped out)" "within:approved<-rejected:fraud"
}

@test "a verdict whose own postback pbexpand rejects still supersedes: pbexpand writes a notice of it" {
	# the verdict carries the transaction alone: --strict rejects its
	# crm-all line ({external_transaction_id} missing), a URL macro that
	# renders no host rejects its pub8 line
	rules <<'EOF2'
postbacks:
  - name: crm-all
    type: conversion
    status: any
    url: http://127.0.0.1:9/crm?click={external_transaction_id}&status={status}
    delay: 2m
  - name: pub8
    type: conversion
    status: rejected
    url: "http://{+host}/pb8?s={status}"
EOF2
	{
		action t1 approved "$(iso -86400)"
		echo "{\"type\":\"conversion\",\"transaction_id\":\"t1\",\"status\":\"rejected\",\"rejection_reason\":\"fraud\",\"time\":\"$(iso -86340)\"}"
	} > log
	pbmatch -r rules.yaml log | pbexpand --strict 2> err | pbdelay > out
	assert_equal "$(grep -c 'pbexpand: stdin:[23]: postback' err)" 2
	assert_equal "$(stopped out)" "t1:approved<-rejected:fraud"
	assert_equal "$(sent out)" ""
	# the notice is the action, as pbmatch writes one, once for each rejected line
	run bash -c 'pbmatch -r rules.yaml log | pbexpand --strict 2> /dev/null | jq -c "select(.notice)"'
	assert_equal "${lines[0]}" "$(tail -n 1 log | jq -c '. + {notice: "supersede"}')"
	assert_equal "${#lines[@]}" 2
	# a rejected line of no action with a time tells nothing
	run pbexpand --strict -t 'http://h.example/{nope}' <<<'{"type":"conversion","transaction_id":"t1","postback":{}}'
	assert_failure 1
	assert_output --partial "undefined macro {nope}"
	refute_output --partial notice
}

@test "an action without a time neither supersedes nor is superseded" {
	{
		action a approved "$(iso -86400)"
		echo '{"type":"conversion","transaction_id":"a","status":"rejected","rejection_reason":"fraud"}'
	} > log
	approved_rules
	pipe < log > out
	assert_equal "$(sent out)" "a:approved"
}

@test "supersede: false keeps every status change of a rule; events are superseded per event name" {
	{
		action t1 approved "$(iso -86400)"
		action t1 rejected "$(iso -86340)" fraud
	} > log
	any_rules "    supersede: false"
	pipe < log > out
	assert_equal "$(sent out | paste -sd' ')" "t1:approved t1:rejected"
	assert_equal "$(jq -r .postback.supersede out | sort -u)" false
	rules <<'EOF'
postbacks:
  - name: ev
    type: event
    status: any
    url: http://127.0.0.1:9/ev?e={event_name}
    delay: 2m
EOF
	t=$(iso -86400)
	u=$(iso -86390)
	{
		echo "{\"type\":\"event\",\"transaction_id\":\"e1\",\"event_name\":\"deposit\",\"status\":\"approved\",\"time\":\"$t\"}"
		echo "{\"type\":\"event\",\"transaction_id\":\"e1\",\"event_name\":\"signup\",\"status\":\"rejected\",\"time\":\"$u\"}"
		echo "{\"type\":\"event\",\"transaction_id\":\"e1\",\"event_name\":\"deposit\",\"status\":\"rejected\",\"time\":\"$u\"}"
	} > log
	pipe < log > out
	assert_equal "$(jq -r 'select(.superseded == null) | "\(.event_name):\(.status)"' out | sort | paste -sd' ')" \
		"deposit:rejected signup:rejected"
	assert_equal "$(jq -r 'select(.superseded) | "\(.event_name):\(.status)"' out)" "deposit:approved"
}

# day_log N: N transactions over a past day, each approved, every 20th
# followed by a fraud verdict 30 s later, in time order; frauds has their
# ids.
day_log() {
	awk -v n="$1" -v start="$(($(date +%s) - 2 * 86400))" 'BEGIN {
		for (i = 0; i < n; i++) {
			t = start + i * 7
			printf "%d {\"type\":\"conversion\",\"transaction_id\":\"t%d\",\"status\":\"approved\",\"time\":%d}\n", t, i, t
			if (i % 20 == 3)
				printf "%d {\"type\":\"conversion\",\"transaction_id\":\"t%d\",\"status\":\"rejected\",\"rejection_reason\":\"fraud\",\"time\":%d}\n", t + 30, i, t + 30
		}
	}' | sort -n -s -k1,1 | cut -d' ' -f2- > log
	jq -r 'select(.status == "rejected") | .transaction_id' log | sort > frauds
}

@test "a burst replay of a day, all of it due: every verdict is read before its line leaves" {
	day_log 3000
	approved_rules
	pipe < log > out
	assert_equal "$(stopped out | cut -d: -f1 | sort)" "$(cat frauds)"
	assert_equal "$(sent out | wc -l)" $((3000 - $(wc -l < frauds)))
	assert_equal "$(sent out | sort | uniq -d)" ""
	# the input pausing for less than a second mid-burst does not count as caught up
	{ head -n 1500 log; sleep 0.4; tail -n +1501 log; } | pipe > out2
	assert_equal "$(stopped out2 | cut -d: -f1 | sort)" "$(cat frauds)"
	assert_equal "$(sent out2 | wc -l)" $((3000 - $(wc -l < frauds)))
}

@test "a burst replay writes what it releases in batches: not a write to stdout and a mark a line (strace)" {
	needs_strace
	day_log 3000
	approved_rules
	pbmatch -r rules.yaml log | pbexpand > expanded
	# LeakSanitizer, in a sanitized build, cannot run under ptrace
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -o trace -e trace=write,pwrite64 pbdelay --spool s --due-only < expanded > out
	assert_equal "$(stopped out | cut -d: -f1 | sort)" "$(cat frauds)"
	assert_equal "$(sent out | wc -l)" $((3000 - $(wc -l < frauds)))
	# 3,000 lines of some 380 bytes, held and released one at a time as the
	# log passes their fire_at: each cost a write and a mark before (2,835
	# writes and 3,452 pwrites; 20 and 16 now)
	assert [ "$(grep -c '^write(1,' trace)" -lt 100 ]
	assert [ "$(grep -c '^pwrite64(' trace)" -lt 100 ]
}

# stamp: each line of stdin prefixed with the Unix time it arrived.
stamp() {
	python3 -u -c 'import sys, time
for line in sys.stdin:
    sys.stdout.write("%.6f %s" % (time.time(), line))'
}

# wait_for_line PATTERN: waits up to 10 s for PATTERN in out.
wait_for_line() {
	for _ in $(seq 100); do
		grep -q "$1" out && return 0
		sleep 0.1
	done
	return 1
}

@test "live from a FIFO: a verdict during the wait supersedes at once; the rest leaves at its fire_at" {
	any_rules
	mkfifo in
	pipe < in 3>&- | stamp > out 3>&- &
	exec 5> in
	action live approved "$(iso -117)" >&5
	action kept approved "$(iso -117)" >&5
	sleep 0.5
	action live rejected "$(iso -116.5)" fraud >&5
	wait_for_line superseded
	# the copy came out at once, before the approved line's fire_at
	read -r t line < out
	assert_equal "$(jq -r '.transaction_id + ":" + .superseded.status' <<<"$line")" "live:rejected"
	due=$(date -d "$(jq -r .fire_at <<<"$line")" +%s.%N)
	assert_equal "$(awk -v t="$t" -v d="$due" 'BEGIN { print (t < d) }')" 1
	wait_for_line '"status":"rejected".*"fire_at"'
	exec 5>&-
	wait
	cut -d' ' -f2- out > lines
	assert_equal "$(sent lines | paste -sd' ')" "kept:approved live:rejected"
	# each left within a second of its fire_at, the input open and idle
	while read -r t line; do
		due=$(date -d "$(jq -r .fire_at <<<"$line")" +%s.%N)
		assert_equal "$(awk -v t="$t" -v d="$due" 'BEGIN { print (t >= d && t - d < 1) }')" 1
	done < <(grep -v superseded out)
}

@test "an action logged early, out of time order, passes none of the lines read after it" {
	approved_rules
	{
		action early approved "$(iso -3000)"
		action c1 approved "$(iso -5000)"
		action c1 rejected "$(iso -4990)" fraud
	} | pipe > out
	assert_equal "$(stopped out)" "c1:approved<-rejected:fraud"
	assert_equal "$(sent out)" "early:approved"
}

@test "an action logged early passes no line held after the spool was emptied" {
	# early releases a1 and nothing is held: the spool is emptied, and c1
	# is held where a1 was, before the place early was read at
	approved_rules
	{
		action a1 approved "$(iso -6000)"
		action early rejected "$(iso -3000)" fraud
		action c1 approved "$(iso -5000)"
		action c2 approved "$(iso -4995)"
		action c1 rejected "$(iso -4990)" fraud
	} > log
	{ head -n 1 log; sleep 0.3; sed -n 2p log; sleep 0.3; tail -n 3 log; } | pipe > out
	assert_equal "$(stopped out)" "c1:approved<-rejected:fraud"
	assert_equal "$(sent out)" "$(printf 'a1:approved\nc2:approved')"
}

@test "a replay a day behind the clock that pauses for a second still reads the verdict before its line leaves" {
	any_rules
	{ action slow approved "$(iso -86400)"; sleep 1.5; action slow rejected "$(iso -86340)" fraud; } | pipe > out
	assert_equal "$(stopped out)" "slow:approved<-rejected:fraud"
	assert_equal "$(sent out)" "slow:rejected"
	# an action logged early, just before, does not make the replay look live
	approved_rules
	{
		action early rejected "$(iso -5)" fraud
		action slow approved "$(iso -86400)"
		sleep 1.5
		action slow rejected "$(iso -86340)" fraud
	} | pipe > out
	assert_equal "$(stopped out)" "slow:approved<-rejected:fraud"
	assert_equal "$(sent out)" ""
}

@test "cron: a verdict that reaches the log only in the next run, after fire_at, still supersedes" {
	approved_rules
	action c1 approved "$(iso -125)" > log
	action ok approved "$(iso -125)" >> log
	run bash -c 'pbmatch -r rules.yaml log | pbexpand | pbdelay --spool s --due-only'
	assert_success
	assert_output ""
	assert_equal "$(grep -c '^+' s)" 2
	action c1 rejected "$(iso -100)" fraud >> log
	pbmatch -r rules.yaml log | pbexpand | pbdelay --spool s --due-only > out
	assert_equal "$(stopped out)" "c1:approved<-rejected:fraud"
	assert_equal "$(sent out)" ""
	# a later action in the log passes ok's fire_at: it goes, once
	action other approved "$(iso -1)" >> log
	pbmatch -r rules.yaml log | pbexpand | pbdelay --spool s --due-only > out
	assert_equal "$(sent out)" "ok:approved"
	assert_equal "$(stopped out)" "c1:approved<-rejected:fraud"
	assert_equal "$(grep -c '^+' s)" 1
}

@test "cron: --lag releases a line the log never passes, at the end of a run" {
	approved_rules
	action q approved "$(iso -130)" > log
	pbmatch -r rules.yaml log | pbexpand | pbdelay --spool s --due-only --lag 60 > out
	assert_equal "$(sent out)" ""
	pbmatch -r rules.yaml log | pbexpand | pbdelay --spool s --due-only --lag 5 > out
	assert_equal "$(sent out)" "q:approved"
	run pbdelay --lag 5
	assert_failure 2
	assert_line --partial "--lag needs --due-only"
	run pbdelay --spool s --due-only --lag 5x
	assert_failure 2
}

@test "cron: a due line that cannot be superseded leaves at the end of the run, not behind one that waits" {
	# w waits for a run whose log passes its fire_at; n, of a rule with
	# supersede: false and due after it, has nothing to wait for
	{
		echo "{\"type\":\"conversion\",\"transaction_id\":\"w\",\"status\":\"approved\",\"time\":$(at -10),\"postback\":{\"name\":\"p\",\"key\":\"w:p:approved\"},\"fire_at\":$(at 1)}"
		echo "{\"type\":\"conversion\",\"transaction_id\":\"n\",\"status\":\"approved\",\"time\":$(at -10),\"postback\":{\"name\":\"crm\",\"key\":\"n:crm:approved\",\"supersede\":false},\"fire_at\":$(at 1.3)}"
	} > held
	run pbdelay --spool s --due-only held
	assert_success
	assert_output ""
	sleep 1.6
	pbdelay --spool s --due-only < /dev/null > out
	assert_equal "$(sent out)" "n:approved"
	assert_equal "$(grep -c '^+' s)" 1
	# the next run, whose log passes w's fire_at, writes it once
	echo "{\"type\":\"conversion\",\"transaction_id\":\"x\",\"status\":\"approved\",\"time\":$(at -0.1),\"notice\":\"supersede\"}" > log
	pbdelay --spool s --due-only log > out
	assert_equal "$(sent out)" "w:approved"
	assert_equal "$(grep -c '^+' s)" 0
}

@test "the spool holds one line per postback key, across replays and restarts" {
	any_rules
	{
		action r1 approved "$(iso -60)"
		action r2 approved "$(iso -50)"
		action r2 approved "$(iso -50)"
	} > log
	for _ in 1 2 3; do
		pbmatch -r rules.yaml log | pbexpand | pbdelay --spool s --due-only > /dev/null
	done
	assert_equal "$(grep -c '^+' s)" 2
	# a spool that holds a key twice (written before this check) loads it once
	line=$(grep '^+' s | head -n 1)
	echo "$line" >> s
	run pbdelay --spool s --due-only < /dev/null
	assert_equal "$(grep -c '^+' s)" 2
	# live restarts, killed at once, add nothing either
	for _ in 1 2; do
		pbmatch -r rules.yaml log | pbexpand > matched
		{ cat matched; sleep 5; } | pbdelay --spool s > /dev/null &
		pid=$!
		sleep 0.5
		kill -KILL "$pid"
		wait "$pid" || true
	done
	assert_equal "$(grep -c '^+' s)" 2
}

@test "a compaction while lines are held keeps them findable by their transaction" {
	any_rules
	pad=$(printf '%0300d' 0)
	soon=$(awk -v now="$(date +%s)" 'BEGIN { print now + 1 }')
	for i in $(seq 50); do action "far$i" approved "$(iso -60)"; done > far.log
	seq 20000 | awk -v t="$soon" -v p="$pad" '{ printf "{\"id\":%d,\"p\":\"%s\",\"fire_at\":%s}\n", $1, p, t }' > filler
	for i in $(seq 1 2 50); do action "far$i" rejected "$(iso -59)" fraud; done > verdicts.log
	pbmatch -r rules.yaml far.log | pbexpand > far
	pbmatch -r rules.yaml verdicts.log | pbexpand > verdicts
	{ cat far filler; sleep 2.5; cat verdicts; } | pbdelay --spool s --due-only > out
	assert_equal "$(jq -r 'select(.id) | .id' out | wc -l)" 20000
	assert [ "$(stat -c %s s)" -lt $((4 * 1024 * 1024)) ]
	assert_equal "$(stopped out | wc -l)" 25
	assert_equal "$(stopped out | cut -d: -f1 | sort -V | paste -sd' ')" \
		"$(seq 1 2 50 | sed 's/^/far/' | paste -sd' ')"
	assert_equal "$(grep -c '^+' s)" 50
}

@test "SIGKILL at random moments, then the same command: nothing superseded is sent, nothing else lost" {
	run python3 "$TOP/tests/kill_supersede.py" --rounds 20 --transactions 200
	assert_success
	assert_output --partial "ok:"
}
