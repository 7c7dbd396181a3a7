#!/usr/bin/env bats
# pbstat --find and --where (the story of a click's postbacks) and the
# cron alerts (--min-success per --by group, --min-count, --stale, --now):
# the story of the real pipeline against the receiver (a failure fed back
# and delivered, lines superseded by a fraud verdict), the publisher's
# answer when a record keeps one (the "response" object, made here as
# pb-records(7) describes it), what matches and what does not, a large
# file searched in bounded memory with the line numbers grep -n gives,
# torn lines, records of the first pbfire (tests/fixtures/
# results-682c6f6.ndjson, written by commit 682c6f6's tools against the
# receiver), then the alerts from records made here.

load helper

# fire ARGS...: pbfire with loopback allowed and no retry in the run.
fire() {
	pbfire --allow-net 127.0.0.0/8 --retries 0 "$@"
}

# pipeline: the sample actions and the fraud verdicts through pbmatch,
# pbexpand, pbdelay and pbfire to results.ndjson, against the receiver
# (pub7 answers the first request of each transaction with 503), then the
# failures fed back once, as pbfire(1) tells.
pipeline() {
	rules <<-EOF
	postbacks:
	  - name: pub7
	    type: conversion
	    scope: any
	    url: $RECV/pb?clickid={external_transaction_id}&fail=1&key={transaction_id}
	    delay: 2m
	  - name: crm
	    type: conversion
	    scope: any
	    status: any
	    url: $RECV/crm?t={transaction_id}
	    delay: 2m
	EOF
	cat "$ACTIONS" "$TOP/tests/fixtures/fraud.ndjson" | pbmatch -r rules.yaml 2> /dev/null | pbexpand |
		pbdelay | fire > results.ndjson || true
	jq -c 'select((.result.ok | not) and .result.error != "superseded")' results.ndjson | fire >> results.ndjson
}

@test "--find: a click's story through the pipeline: failed, fed back, delivered; each record with its time and status" {
	start_receiver
	pipeline
	run pbstat --find pub-abc results.ndjson
	assert_success
	assert_line "9f2c41:pub7:approved: delivered"
	assert_line "9f2c41:crm:approved: delivered"
	assert_line "  action   conversion 9f2c41, click pub-abc, approved, at 2026-11-24T10:00:00Z"
	assert_line "  matched  rule pub7, delay 120 s, held until 2026-11-24T10:02:00Z"
	assert_line --regexp '^  results\.ndjson:[0-9]+: failed, 1 attempt, round 1, the last at 20[0-9T:.-]+Z: status 503 in [0-9.]+ ms, http: HTTP 503; worth feeding back at '
	assert_line --regexp '^  results\.ndjson:[0-9]+: delivered, 1 attempt \(2 in all\), round 2, the last at 20[0-9T:.-]+Z: status 200 in [0-9.]+ ms$'
	# The same for scripts: the records in the order read, where they are.
	run pbstat --find pub-abc -o json results.ndjson
	assert_success
	assert_equal "$(jq -c '[.lines, (.postbacks | sort_by(.key)[] | [.key, .fate, .name, .action.transaction_id,
		.delay, .fire_at, ([.records[] | [.outcome, .role, .result.status, .result.round]])])]' <<< "$output")" \
		'[3,["9f2c41:crm:approved","delivered","crm","9f2c41",120,"2026-11-24T10:02:00Z",[["delivered","decides",200,1]]],["9f2c41:pub7:approved","delivered","pub7","9f2c41",120,"2026-11-24T10:02:00Z",[["failed","decides",503,1],["delivered","decides",200,2]]]]'
	for line in $(jq -r '.postbacks[].records[] | "\(.file):\(.line)"' <<< "$output"); do
		sed -n "${line#*:}p" results.ndjson | grep -q '"pub-abc"' || fail "$line does not hold pub-abc"
	done
}

@test "--find: superseded by what, from the transaction id or the click id" {
	start_receiver
	pipeline
	run pbstat --find t1 results.ndjson
	assert_success
	assert_line "t1:pub7:approved: superseded, never sent"
	assert_line --regexp '^  results\.ndjson:1: superseded by a later action: rejected for fraud at 2026-12-05T10:01:00Z, not sent$'
	assert_line "t1:crm:rejected: delivered"
	run pbstat --find c1 -o json results.ndjson
	assert_success
	assert_equal "$(jq -c '[.postbacks | sort_by(.key)[] | [.key, .fate, .superseded_by.rejection_reason]]' <<< "$output")" \
		'[["t1:crm:approved","superseded","fraud"],["t1:crm:rejected","delivered",null],["t1:pub7:approved","superseded","fraud"]]'
}

# answers > FILE: a postback deferred twice and delivered, the records as
# pbfire --spool writes them, each with the publisher's answer; the
# second answer's body has an escape, the replacement character (a byte
# that was not UTF-8) and control characters, and a header holds a quote.
answers() {
	local common='"type":"conversion","transaction_id":"T9","external_transaction_id":"pub-zz","postback":{"name":"p9","delay":120,"key":"T9:p9:approved"},"fire_at":"2026-11-24T10:02:00Z","url":"https://p9.example/pb?c=pub-zz"'
	printf '{%s,"result":{"ok":false,"final":false,"status":503,"attempts":1,"error":"http","message":"HTTP 503","ms":12.5,"fired_at":"2026-11-24T10:02:00.5Z","retry_at":"2026-11-24T10:03:00Z","round":1,"response":{"status":503,"headers":{"content-type":"text/plain","retry-after":"60"},"body":"busy, try later","truncated":false}}}\n' "$common"
	printf '{%s,"result":{"ok":false,"final":false,"status":500,"attempts":2,"error":"http","message":"HTTP 500","ms":3.5,"fired_at":"2026-11-24T10:03:00.1Z","retry_at":"2026-11-24T10:05:00Z","round":1,"response":{"status":500,"headers":{"x-note":"say \\"hi\\""},"body":"caf\\u00e9 \\ufffd \\u001b[31mred\\nline2","truncated":true}}}\n' "$common"
	printf '{%s,"result":{"ok":true,"status":204,"attempts":3,"error":null,"message":null,"ms":4.0,"fired_at":"2026-11-24T10:05:00.2Z","round":1}}\n' "$common"
}

@test "--find: the publisher's answer when a record keeps one: status, headers, body; escapes and bytes not UTF-8 shown safely" {
	answers > r
	run pbstat --find pub-zz r
	assert_success
	assert_line "T9:p9:approved: delivered"
	assert_line "  r:1: pending, 1 attempt, round 1, the last at 2026-11-24T10:02:00.5Z: status 503 in 12.5 ms, http: HTTP 503; due again at 2026-11-24T10:03:00Z"
	assert_line "      answer 503"
	assert_line "        content-type: text/plain"
	assert_line "        retry-after: 60"
	assert_line "        body: busy, try later"
	assert_line "      answer 500, body truncated"
	assert_line '        x-note: say "hi"'
	assert_line "        body: café � \\x1b[31mred\\nline2"
	assert_line "  r:3: delivered, 3 attempts, round 1, the last at 2026-11-24T10:05:00.2Z: status 204 in 4.0 ms"
	! grep -q $'\x1b' <<< "$output" || fail "an escape character reached the output"
	# JSON keeps the answers as written; jq reads them.
	run pbstat --find pub-zz -o json r
	assert_success
	assert_equal "$(jq -c '.postbacks[0] | [.fate, [.records[] | .result.response.status]]' <<< "$output")" \
		'["delivered",[503,500,null]]'
	assert_equal "$(jq -r '.postbacks[0].records[1].result.response.headers["x-note"]' <<< "$output")" 'say "hi"'
	# A record whose answer holds a byte that is not UTF-8 is not JSON: it
	# is rejected, named, and the rest of the story is told.
	{ head -n 1 r; printf '{"transaction_id":"T9","result":{"ok":false,"response":{"body":"\xff\xfe"}}}\n'; tail -n 1 r; } > bad
	run pbstat --find T9 bad
	assert_failure 1
	assert_line --partial "pbstat: bad:2: invalid JSON"
	assert_line "T9:p9:approved: delivered"
}

@test "--find and --where: what matches, by text as ids compare; a value inside another does not" {
	printf '%s\n' \
		'{"transaction_id":12,"external_transaction_id":"pub-12","publisher_id":7,"postback":{"name":"a","key":"12:a:approved"},"result":{"ok":true,"attempts":1,"status":200}}' \
		'{"transaction_id":"12","external_transaction_id":"pub-123","publisher_id":"7","postback":{"name":"b","key":"12:b:approved"},"result":{"ok":false,"attempts":1,"status":404,"error":"http"}}' \
		'{"transaction_id":"123","external_transaction_id":"x12","publisher_id":8,"postback":{"name":"a","key":"123:a:approved"},"result":{"ok":true,"attempts":1,"status":200}}' \
		'{"transaction_id":"s\/1","external_transaction_id":"caf\u00e9","publisher_id":9,"postback":{"name":"c","key":"s/1:c:approved"},"result":{"ok":true,"attempts":1,"status":200}}' \
		'{"transaction_id":"z","note":"pub-12 in passing","postback":{"name":"d","key":"z:d:approved"},"result":{"ok":true,"attempts":1,"status":200}}' > r
	keys() { pbstat "$@" -o json r | jq -c '[.postbacks[].key]'; }
	assert_equal "$(keys --find 12)" '["12:a:approved","12:b:approved"]'
	assert_equal "$(keys --find pub-12)" '["12:a:approved"]'
	assert_equal "$(keys --find 123:a:approved)" '["123:a:approved"]'
	assert_equal "$(keys --find s/1)" '["s/1:c:approved"]'
	assert_equal "$(keys --find café)" '["s/1:c:approved"]'
	assert_equal "$(keys --where publisher_id=7)" '["12:a:approved","12:b:approved"]'
	assert_equal "$(keys --where publisher_id=7 --where postback.name=b)" '["12:b:approved"]'
	assert_equal "$(keys --find 12 --where result.status=200)" '["12:a:approved"]'
	run pbstat --find nothing-like-it r
	assert_failure 1
	assert_output "pbstat: no record matches"
	run pbstat --find nothing-like-it -o json r
	assert_failure 1
	assert_line '{"lines":0,"postbacks":[]}'
}

@test "--find: a large file streamed in bounded memory, each line found with the number grep -n gives" {
	# 300,000 records (over 100 MB), the value in every 997th, so that
	# many sit across the reader's buffer boundaries.
	awk 'BEGIN { for (i = 1; i <= 300000; i++) {
		c = i % 997 == 0 ? "needle-x" : "c" i
		printf "{\"type\":\"conversion\",\"transaction_id\":\"t%d\",\"external_transaction_id\":\"%s\",\"postback\":{\"name\":\"p\",\"key\":\"t%d:p:approved\"},\"url\":\"https://p.example/pb?c=%s&pad=%0200d\",\"result\":{\"ok\":true,\"status\":200,\"attempts\":1,\"ms\":1.5}}\n", i, c, i, c, i } }' > big
	python3 - big > found 2> kib <<-'EOF'
	import resource, subprocess, sys
	out = subprocess.run(["pbstat", "--find", "needle-x", "-o", "json", sys.argv[1]], capture_output=True, check=True)
	sys.stdout.buffer.write(out.stdout)
	print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
	EOF
	run jq -r '.postbacks[].records[].line' found
	assert_equal "$output" "$(grep -n '"needle-x"' big | cut -d: -f1)"
	assert_equal "${#lines[@]}" 300
	kib=$(cat kib)
	[ "$kib" -lt 20000 ] || fail "pbstat --find peaked at $kib KiB on a $(du -k big | cut -f1) KiB file"
}

@test "--find: torn lines, CRLF, and the records of the first pbfire" {
	old=$TOP/tests/fixtures/results-682c6f6.ndjson
	run pbstat --find pub-abc "$old"
	assert_success
	assert_line "9f2c41:crm-all:approved: delivered"
	assert_line "9f2c41:pub7-approved:approved: failed for good"
	assert_line --regexp ': failed, 2 attempts, round 1, the last at 20[0-9T:.-]+Z: status 503 in 0\.8 ms, http: HTTP 503; worth feeding back at '
	# A torn last line: rejected when it holds the value, named with its
	# line; not looked at when it does not.
	{ sed 's/$/\r/' "$old"; head -c 150 "$old"; } > torn
	run pbstat --find pub-abc torn
	assert_failure 1
	assert_line --regexp '^pbstat: torn:5: invalid JSON: '
	assert_line "9f2c41:pub7-approved:approved: failed for good"
	run pbstat --find 9f2c43 torn
	assert_success
	assert_line "9f2c43:crm-all:rejected: delivered"
}

@test "--find, --where and the alerts: usage errors exit 2" {
	for args in "--find x --by publisher_id" "--find x --min-success 0.9" "--where x" "--where =x" \
		"--find x --stale 1h" "--stale 0" "--stale 5x" "--stale 367d" "--min-count 0" "--min-count -1" \
		"--min-count x" "--now yesterday" "--now 0"; do
		run pbstat $args /dev/null
		assert_failure 2
		assert_line --index 0 --regexp '^pbstat: '
	done
}

# groups > FILE: delivered and failed postbacks by publisher_id, fired at
# the times given: 7 ten delivered by 10:00; 8 eight delivered, two
# failed; 9 one of each, at 11:50; 10 only superseded and dry runs.
groups() {
	local n=0
	record() {	# PUBLISHER OK FIRED_AT [ERROR]
		n=$((n + 1))
		printf '{"publisher_id":%s,"postback":{"key":"k%d"},"result":{"ok":%s,"attempts":1,"status":%s,"error":%s,"fired_at":"%s"}}\n' \
			"$1" "$n" "$2" "$([ "$2" = true ] && echo 200 || echo 503)" "${4:-null}" "$3"
	}
	for i in $(seq 10); do record 7 true "2026-11-24T09:5${i: -1}:00Z"; done
	for i in $(seq 8); do record 8 true 2026-11-24T11:0$i:00Z; done
	record 8 false 2026-11-24T11:20:00Z '"http"'
	record 8 false 2026-11-24T11:30:00Z '"http"'
	record 9 true 2026-11-24T11:50:00Z
	record 9 false 2026-11-24T11:55:00Z '"http"'
	printf '%s\n' '{"publisher_id":10,"postback":{"key":"s1"},"result":{"ok":false,"attempts":0,"error":"superseded"}}' \
		'{"publisher_id":10,"postback":{"key":"d1"},"result":{"ok":true,"dry_run":true,"attempts":0}}'
}

@test "--min-success per --by group: a line for each group below, none for groups under --min-count" {
	groups > r
	run pbstat --by publisher_id --min-success 0.9 --min-count 5 r
	assert_failure 1
	assert_line "pbstat: publisher_id 8: success ratio 0.8000 is below --min-success 0.9 (8 of 10 finished)"
	[ "$(grep -c '^pbstat: ' <<< "$output")" = 1 ] || fail "more than one group flagged: $output"
	run pbstat --by publisher_id --min-success 90% r
	assert_failure 1
	assert_line "pbstat: publisher_id 8: success ratio 0.8000 is below --min-success 0.9 (8 of 10 finished)"
	assert_line "pbstat: publisher_id 9: success ratio 0.5000 is below --min-success 0.9 (1 of 2 finished)"
	run pbstat --by publisher_id --min-success 0.8 --min-count 5 r
	assert_success
	# Without --by, the total: 19 of 22, 86%.
	run pbstat --min-success 0.9 r
	assert_failure 1
	assert_line "pbstat: success ratio 0.8636 is below --min-success 0.9 (19 of 22 finished)"
	run pbstat --min-success 0.9 --min-count 23 r
	assert_success
}

@test "--stale: a group with postbacks but no delivery in the last DURATION before --now or the clock" {
	groups > r
	run pbstat --by publisher_id --stale 1h --now 2026-11-24T12:00:00Z r
	assert_failure 1
	assert_line "pbstat: publisher_id 7: no postback delivered in the last 1h (the last at 2026-11-24T09:59:00Z)"
	[ "$(grep -c '^pbstat: ' <<< "$output")" = 1 ] || fail "not only publisher 7 flagged: $output"
	run pbstat --by publisher_id --stale 30m --now 1795521600 r
	assert_failure 1
	assert_line "pbstat: publisher_id 7: no postback delivered in the last 30m (the last at 2026-11-24T09:59:00Z)"
	assert_line "pbstat: publisher_id 8: no postback delivered in the last 30m (the last at 2026-11-24T11:08:00Z)"
	# A group that never had a delivery; superseded and dry runs alone
	# need none (publisher 10).
	grep -v '"ok":true' r > failed
	run pbstat --by publisher_id --stale 1h --now 2026-11-24T12:00:00Z failed
	assert_failure 1
	assert_line "pbstat: publisher_id 8: no postback delivered in the last 1h (none delivered: 2 failed, 0 pending)"
	assert_line "pbstat: publisher_id 9: no postback delivered in the last 1h (none delivered: 1 failed, 0 pending)"
	[ "$(grep -c '^pbstat: ' <<< "$output")" = 2 ] || fail "$output"
	run pbstat --stale 1h --now 2026-11-24T12:00:00Z r
	assert_success
	# From the clock: a delivery a minute ago is not stale.
	printf '{"result":{"ok":true,"attempts":1,"fired_at":"%s"}}\n' "$(date -u -d @$(($(date +%s) - 60)) +%Y-%m-%dT%H:%M:%SZ)" > now
	run pbstat --stale 5m now
	assert_success
	run pbstat --stale 30s now
	assert_failure 1
	assert_line --partial "pbstat: no postback delivered in the last 30s (the last at "
	# Both alerts together, per group.
	run pbstat --by publisher_id --min-success 0.9 --min-count 5 --stale 1h --now 2026-11-24T12:00:00Z r
	assert_failure 1
	[ "$(grep -c '^pbstat: ' <<< "$output")" = 2 ] || fail "$output"
}
