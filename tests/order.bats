#!/usr/bin/env bats
# Ordering across retries and spool rounds (pbfire(1), ORDERING): for one
# transaction and one postback rule, the publisher never gets an older
# status after a newer one. A newer line supersedes an older one waiting
# for its retry, in memory or in the spool of an earlier run, and waits
# while an older one is in flight; other transactions are not held up.

load helper

# action TID STATUS SECONDS [FAIL [DELAY]]: a conversion of transaction
# TID at SECONDS past 10:00; its postback's first FAIL requests get a 503,
# and each is answered after DELAY seconds (sub_id and payout carry them
# into the URL).
action() {
	printf '{"type":"conversion","transaction_id":"%s","status":"%s","time":"2026-12-05T10:%02d:00Z","sub_id":"%s","payout":"%s"}\n' \
		"$1" "$2" "$3" "${4:-}" "${5:-}"
}

# lines: the postback lines of the actions on stdin, under crm-all (any
# status, no delay), at the receiver.
lines() {
	rules <<EOF
postbacks:
  - name: crm-all
    type: conversion
    status: any
    url: $RECV/crm/{transaction_id}/{status}?fail={sub_id}&delay={payout}&key={transaction_id}-{status}
EOF
	pbmatch -r rules.yaml | pbexpand
}

# arrived: "tid/status" of each request the receiver got, in order.
arrived() {
	jq -r '.path | split("?")[0] | ltrimstr("/crm/")' "$BATS_TEST_TMPDIR/recv.ndjson"
}

# finals FILE...: "tid/status error" of each final record, superseded
# ones with what superseded them.
finals() {
	jq -r 'select(.result.final != false) | "\(.transaction_id)/\(.status) \(.result.error)" +
		(if .result.superseded_by then "<-\(.result.superseded_by.status)" else "" end)' "$@"
}

# arrival TID/STATUS: when the receiver got the first request for it.
arrival() {
	jq -r --arg p "/crm/$1?" 'select(.path | startswith($p)) | .t' "$BATS_TEST_TMPDIR/recv.ndjson" | head -1
}

@test "live: the approved postback waiting for its retry is superseded by the rejected one, never sent after it" {
	start_receiver
	{ action t1 approved 0 1; action t1 rejected 1; } | lines > in
	{ sed -n 1p in; sleep 1; sed -n 2p in; } | pbfire --allow-private --backoff 5 > out
	assert_equal "$(arrived)" "$(printf 't1/approved\nt1/rejected')"
	assert_equal "$(finals out)" "$(printf 't1/approved superseded<-rejected\nt1/rejected null')"
	assert_equal "$(jq -r 'select(.result.error == "superseded") | .superseded.time' out)" "2026-12-05T10:01:00Z"
}

@test "ordering across spool rounds: the older retry in the spool is superseded by a newer line of the next run" {
	start_receiver
	{ action t1 approved 0 1; action t1 rejected 1; } | lines > in
	fire() { pbfire --allow-private --spool spool --ledger ledger --schedule 6s "$@"; }
	sed -n 1p in | fire > out1
	assert_equal "$(jq -r .result.final out1)" "false"
	sed -n 2p in | fire --stats > out2 2> err2
	assert_equal "$(finals out2)" "$(printf 't1/approved superseded<-rejected\nt1/rejected null')"
	run grep -F 'pbfire: 0 deferrals to the spool, 0 lines in it' err2
	assert_success
	sleep 7	# past the approved line's retry (6 s +-20%): nothing of it is left to send
	fire < /dev/null > out3
	assert_equal "$(cat out3)" ""
	assert_equal "$(arrived)" "$(printf 't1/approved\nt1/rejected')"
	assert_equal "$(finals out1 out2 out3 | wc -l)" 2
	run grep -c 's t1:crm-all:approved@2026-12-05T10:00:00Z$' ledger
	assert_output 1
}

@test "an older attempt in flight: the newer line waits for it; delivered, the order is kept; failed, it is superseded" {
	start_receiver
	{
		action t1 approved 0 "" 1
		action t1 rejected 1
		action t2 approved 0 1 1
		action t2 rejected 1
	} | lines > in
	{ sed -n 1p in; sed -n 3p in; sleep 0.3; sed -n 2p in; sed -n 4p in; } |
		pbfire --allow-private --backoff 5 > out
	assert_equal "$(finals out | sort)" "$(printf '%s\n' 't1/approved null' 't1/rejected null' \
		't2/approved superseded<-rejected' 't2/rejected null')"
	for t in t1 t2; do	# each rejected request only once its approved one was answered
		run awk -v a="$(arrival $t/approved)" -v r="$(arrival $t/rejected)" 'BEGIN { exit !(r >= a + 1) }'
		assert_success
	done
	assert_equal "$(arrived | grep -c approved)" 2
}

@test "ordering in one transaction never holds up another" {
	start_receiver
	{
		action t1 approved 0 "" 3
		action t1 rejected 1
		action t2 approved 0
		action t3 approved 0 1
		action t3 rejected 1
		action t4 approved 0
	} | lines > in
	{ sed -n 1p in; sed -n 4p in; sleep 0.3; sed -n 2p in; sed -n 3p in; sed -n 5p in; sed -n 6p in; } |
		pbfire --allow-private --spool spool --schedule 1m > out
	# t1's rejected waits for its approved (3 s in flight), t3's approved for
	# its retry in the spool; t2 and t4 go at once
	for t in t2 t4; do
		run awk -v a="$(arrival t1/approved)" -v r="$(arrival $t/approved)" 'BEGIN { exit !(r < a + 2.5) }'
		assert_success
	done
	run awk -v a="$(arrival t1/approved)" -v r="$(arrival t1/rejected)" 'BEGIN { exit !(r >= a + 3) }'
	assert_success
	assert_equal "$(finals out | sort)" "$(printf '%s\n' 't1/approved null' 't1/rejected null' \
		't2/approved null' 't3/approved superseded<-rejected' 't3/rejected null' 't4/approved null')"
}

@test "a line with the same action time and status is a duplicate, not newer; supersede: false opts out" {
	start_receiver
	{ action t1 approved 0 1; action t1 approved 0; } | lines > in
	{ sed -n 1p in; sleep 0.5; sed -n 2p in; } | pbfire --allow-private --backoff 1.5 > out
	assert_equal "$(finals out)" "$(printf 't1/approved null\nt1/approved null')"
	: > "$BATS_TEST_TMPDIR/recv.ndjson"
	{ action t2 approved 0 1; action t2 rejected 1; } | lines > in
	sed -i 's/"key":/"supersede":false,"key":/' in
	{ sed -n 1p in; sleep 0.5; sed -n 2p in; } | pbfire --allow-private --backoff 4 > out
	assert_equal "$(arrived)" "$(printf 't2/approved\nt2/rejected\nt2/approved')"
	assert_equal "$(finals out | sort)" "$(printf 't2/approved null\nt2/rejected null')"
}

@test "a kill after a superseded record is out but before the spool lets go of its line: with --ledger the next run settles it quietly" {
	start_receiver
	{ action t1 approved 0 1; action t1 rejected 1; } | lines > in
	fire() { pbfire --allow-private --spool spool --ledger ledger --schedule 2s "$@"; }
	sed -n 1p in | fire > out1
	cp spool spool.before	# the approved line waiting for its retry
	sed -n 2p in | fire > out2
	assert_equal "$(finals out2)" "$(printf 't1/approved superseded<-rejected\nt1/rejected null')"
	cp spool.before spool	# as if killed before the line's release reached the file
	sleep 3	# past its retry
	fire --stats < /dev/null > out3 2> err3
	assert_equal "$(cat out3)" ""
	run grep -F 'pbfire: 0 deferrals to the spool, 0 lines in it' err3
	assert_success
	assert_equal "$(arrived)" "$(printf 't1/approved\nt1/rejected')"
}
