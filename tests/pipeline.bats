#!/usr/bin/env bats
# The whole pipeline, the three ways users run it, against the receiver:
# live from a growing log, cron batch replays, and test-firing by hand.

load helper

# pipeline_rules: a rule file whose postbacks go to the receiver: clicks
# at once, approved conversions after the 2-minute minimum delay.
pipeline_rules() {
	rules <<EOF
postbacks:
  - name: clicks
    type: click
    scope: any
    url: $RECV/click?tid={transaction_id}
  - name: approved
    type: conversion
    scope: any
    url: $RECV/conv?tid={transaction_id}&payout={payout}
    delay: 2m
EOF
}

# iso SECONDS: RFC 3339 UTC time SECONDS from now, with microseconds
# (GNU date and awk: a python start per line made building a test's logs
# take seconds on a loaded machine, and the due times with it).
iso() {
	date -u -d "@$(awk -v d="$1" -v now="$(date +%s.%N)" 'BEGIN { printf "%.6f", now + d }')" \
		+%Y-%m-%dT%H:%M:%S.%6NZ
}

# click ID: an action line for a click, happening now.
click() {
	echo "{\"type\":\"click\",\"transaction_id\":\"$1\",\"time\":\"$(iso 0)\"}"
}

# conversion ID DUE: an approved conversion whose postback is due in DUE
# seconds (it happened 2 minutes earlier than that).
conversion() {
	echo "{\"type\":\"conversion\",\"transaction_id\":\"$1\",\"status\":\"approved\",\"payout\":1.5,\"time\":\"$(iso "$(($2 - 120))")\"}"
}

# setsid "${in_session[@]}" CMD... &: CMD in a new session and process
# group whose ID is $!, with SIGINT at its default, as a terminal's
# foreground job has it (bash starts background jobs with SIGINT ignored).
in_session=(python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])')

# live_pipeline: the README's live pipeline over actions.log, in its own
# process group; sets pid.
live_pipeline() {
	setsid "${in_session[@]}" bash -c 'tail -n +1 -F actions.log 2>/dev/null | pbmatch -r rules.yaml |
		pbexpand | pbdelay --spool held |
		pbfire --ledger fired --allow-net 127.0.0.0/8 >> results.ndjson' 2>> pipeline.err 3>&- &
	pid=$!
}

# stop_pipeline: Ctrl-C, SIGINT to the whole process group, and wait.
stop_pipeline() {
	kill -INT -- "-$pid"
	wait "$pid" || true
}

# wait_seen N: waits up to 10 s for the receiver to have N requests.
wait_seen() {
	for _ in $(seq 200); do
		[ "$(wc -l < recv.ndjson)" -ge "$1" ] && return 0
		sleep 0.05
	done
	cat pipeline.err >&2 || true
	return 1
}

# fired_once IDS...: the receiver saw each transaction exactly once, and
# nothing else.
fired_once() {
	local want have
	want=$(printf '%s\n' "$@" | sort)
	have=$(jq -r '.path | capture("tid=(?<t>[^&]+)").t' recv.ndjson | sort)
	assert_equal "$have" "$want"
}

@test "live: an appended line reaches the receiver at once, a delayed one at its time" {
	start_receiver
	pipeline_rules
	: > actions.log
	live_pipeline
	sleep 1
	for i in 1 2 3 4 5; do
		line=$(click "c$i")
		echo "$(date +%s.%N) c$i" >> appended
		echo "$line" >> actions.log
		wait_seen "$i"
		sleep 0.2
	done
	line=$(conversion v1 1)
	echo "$line" >> actions.log
	wait_seen 6
	stop_pipeline
	fired_once c1 c2 c3 c4 c5 v1
	# lateness of each click: receiver time minus append time, in ms
	late=$(jq -r 'select(.path | startswith("/click")) | "\(.path | capture("tid=(?<t>.*)").t) \(.t)"' recv.ndjson |
		sort | join - <(awk '{ print $2, $1 }' appended | sort) | awk '{ printf "%d\n", ($2 - $3) * 1000 }' | sort -n)
	echo "click latency ms: $late" | paste -sd' ' >&3
	assert [ "$(sed -n 3p <<<"$late")" -lt 100 ]
	# the slowest of five may wait for a core on a loaded machine
	assert [ "$(tail -n 1 <<<"$late")" -lt 2000 ]
	conv=$(jq -r 'select(.path | startswith("/conv")) | .t' recv.ndjson)
	due_s=$(( $(date -d "$(jq -r .time <<< "$line")" +%s) + 120 )).$(jq -r .time <<< "$line" | grep -o '[0-9]*Z$' | tr -d Z)
	assert_equal "$(awk -v c="$conv" -v d="$due_s" 'BEGIN { print (c >= d && c - d < 0.5) }')" 1
}

@test "live: Ctrl-C and a restart over the same log lose nothing and fire nothing twice" {
	start_receiver
	pipeline_rules
	for i in $(seq 20); do click "a$i"; done > actions.log
	for i in $(seq 10); do conversion "b$i" 2; done >> actions.log
	live_pipeline
	wait_seen 5
	stop_pipeline
	[ "$(grep -c '^+' held)" -gt 0 ] || [ "$(wc -l < recv.ndjson)" -eq 30 ]
	for i in $(seq 21 25); do click "a$i"; done >> actions.log
	live_pipeline
	wait_seen 35 || true
	stop_pipeline
	fired_once $(printf 'a%s ' $(seq 25)) $(printf 'b%s ' $(seq 10))
	assert_equal "$(jq -r 'select(.path | startswith("/conv")) | .t' recv.ndjson | wc -l)" 10
}

# cron_run LOG: one cron run of the README's recipe over LOG.
cron_run() {
	pbmatch -r rules.yaml "$1" | pbexpand | pbdelay --spool held --due-only |
		pbfire --ledger fired --allow-net 127.0.0.0/8 >> results.ndjson
}

@test "cron: consecutive runs over overlapping logs, one killed half-way, fire each postback once, none early" {
	start_receiver
	pipeline_rules
	sed -i 's|/click?|/click?delay=0.05\&|' rules.yaml
	# each group of lines from one reading of the clock: a date per line
	# took 0.5 s on a loaded machine, and the due times slid with it
	click_line=$(click a)
	lines() { for i in $(seq "$2" "$3"); do sed "s/\"$1\"/\"$1$i\"/" <<< "$4"; done; }
	lines a 1 10 "$click_line" > log1
	lines b 1 5 "$(conversion b 12)" >> log1
	cp log1 log2
	lines a 11 40 "$click_line" >> log2
	lines b 6 10 "$(conversion b 13)" >> log2
	generated=$(date +%s.%N)	# every conversion is due within 13 s of this
	cron_run log1
	assert_equal "$(grep -c '^+' held)" 5
	# the second run is killed half-way, SIGTERM to its process group
	export -f cron_run
	setsid "${in_session[@]}" bash -c 'cron_run log2' 3>&- &
	pid=$!
	wait_seen 20
	kill -TERM -- "-$pid"
	wait "$pid" || true
	sleep "$(awk -v t0="$generated" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + 13.2 - now; print (d > 0 ? d : 0) }')"
	# clicks after the conversions' fire_at: the log has passed them, so
	# no verdict can still come (pbdelay(1), SUPERSEDING)
	cp log2 log3
	lines a 41 45 "$(click a)" >> log3
	cron_run log3
	fired_once $(printf 'a%s ' $(seq 45)) $(printf 'b%s ' $(seq 10))
	# no conversion postback before its fire_at
	jq -r 'select(.postback.name == "approved" and .result.error == null) | "\(.result.fired_at) \(.fire_at)"' results.ndjson |
		while read -r fired due; do
			[ "$(date -d "$fired" +%s%N)" -ge "$(date -d "$due" +%s%N)" ] || fail "fired $fired before $due"
		done
	run cron_run log3
	assert_success
	assert_equal "$(wc -l < recv.ndjson)" 55
}

@test "by hand: one action through pbmatch, pbexpand and pbfire --dry-run shows the requests" {
	start_receiver
	run bash -c "head -n 2 '$ACTIONS' | pbmatch -r '$RULES' | pbexpand | pbfire --dry-run -v"
	assert_success
	assert_line "pbfire: line 1: would send GET https://tracker.pub9.example/click?id=p9-clk-1&sub=banner%20top"
	assert_line "pbfire: line 2: would send GET https://publisher-track.com/postback?clickid=pub-abc&status=approved&payout=1.50"
	run pbmatch --check -r "$RULES"
	assert_success
}
