#!/usr/bin/env bats
# pbmatch end to end: every rule dimension, the output record, the
# rejected-line contract, options and exit statuses.

load helper

# A rule file exercising each dimension on its own.
dimensions() {
	rules <<'YAML'
postbacks:
  - name: conv-any-scope
    type: conversion
    url: https://a.example/{transaction_id}
  - name: conv-offer-12
    type: conversion
    scope: {offer: 12}
    url: https://b.example/
  - name: conv-pub-7
    type: conversion
    scope: {publisher: "7"}
    url: https://c.example/
  - name: conv-12-7
    type: conversion
    scope: {offer: [11, 12], publisher: 7}
    url: https://d.example/
  - name: conv-rejected-chargeback
    type: conversion
    status: rejected
    rejection_reasons: chargeback
    url: https://e.example/
  - name: conv-any-status
    type: conversion
    status: any
    url: https://f.example/
  - name: clicks
    type: click
    url: https://g.example/
  - name: deposit-events
    type: event
    event: [deposit]
    url: https://h.example/
    delay: 1h
YAML
}

names() {
	jq -r '.postback.name' | paste -sd' ' -
}

@test "type, scope and default status select postbacks, in rule-file order" {
	dimensions
	run bash -c "echo '{\"type\":\"conversion\",\"transaction_id\":\"t1\",\"offer_id\":12,\"publisher_id\":7,\"status\":\"approved\"}' | pbmatch -r rules.yaml | jq -r .postback.name | paste -sd' ' -"
	assert_success
	assert_output "conv-any-scope conv-offer-12 conv-pub-7 conv-12-7 conv-any-status"
}

@test "ids compare by text: 12 and \"12\" are one offer, 12.0 is another" {
	dimensions
	out=$(echo '{"type":"conversion","transaction_id":"t","offer_id":"12","publisher_id":7.0,"status":"approved"}' | pbmatch -r rules.yaml | names)
	assert_equal "$out" "conv-any-scope conv-offer-12 conv-any-status"
}

@test "an action without offer_id matches only postbacks scoped to any offer" {
	dimensions
	out=$(echo '{"type":"conversion","transaction_id":"t","publisher_id":7,"status":"approved"}' | pbmatch -r rules.yaml | names)
	assert_equal "$out" "conv-any-scope conv-pub-7 conv-any-status"
}

@test "rejected actions fire on status rejected/any, and only for listed reasons" {
	dimensions
	out=$(echo '{"type":"conversion","transaction_id":"t","status":"rejected","rejection_reason":"chargeback"}' | pbmatch -r rules.yaml | names)
	assert_equal "$out" "conv-rejected-chargeback conv-any-status"
	out=$(echo '{"type":"conversion","transaction_id":"t","status":"rejected","rejection_reason":"policy"}' | pbmatch -r rules.yaml | names)
	assert_equal "$out" "conv-any-status"
	out=$(echo '{"type":"conversion","transaction_id":"t","status":"rejected"}' | pbmatch -r rules.yaml | names)
	assert_equal "$out" "conv-any-status"
}

@test "status any fires on approved and rejected but not on other statuses" {
	dimensions
	run pbmatch -r rules.yaml --unmatched un.ndjson <<<'{"type":"conversion","transaction_id":"t","status":"pending"}'
	assert_success
	assert_output ""
	assert_equal "$(cat un.ndjson)" '{"type":"conversion","transaction_id":"t","status":"pending"}'
}

@test "clicks fire whatever their status unless the postback sets one" {
	dimensions
	out=$(echo '{"type":"click","transaction_id":"c"}' | pbmatch -r rules.yaml | names)
	assert_equal "$out" "clicks"
	rules <<'YAML'
postbacks:
  - {name: approved-clicks, type: click, status: approved, url: "https://x.example/"}
YAML
	run pbmatch -r rules.yaml <<<'{"type":"click","transaction_id":"c"}'
	assert_output ""
}

@test "event postbacks match their event names" {
	dimensions
	out=$(printf '%s\n' '{"type":"event","event_name":"deposit","transaction_id":"e","status":"approved"}' \
		'{"type":"event","event_name":"login","transaction_id":"e","status":"approved"}' | pbmatch -r rules.yaml | names)
	assert_equal "$out" "deposit-events"
}

@test "unknown action types match nothing and are not errors" {
	dimensions
	run pbmatch -r rules.yaml --stats <<<'{"type":"impression","transaction_id":"i"}'
	assert_success
	assert_line "pbmatch: 1 read, 0 lines out, 1 unmatched, 0 rejected"
}

@test "--stats counts one line out in the singular" {
	dimensions
	run pbmatch -r rules.yaml --stats <<<'{"type":"click","transaction_id":"c","offer_id":1}'
	assert_success
	assert_line "pbmatch: 1 read, 1 line out, 0 unmatched, 0 rejected"
}

@test "the output is the input line unchanged plus postback and fire_at" {
	line='{"type":"conversion", "transaction_id":"9f2c", "offer_id":12, "publisher_id":7, "payout":1.50, "status":"approved", "time":"2026-11-24T10:00:00Z"}'
	run pbmatch -r "$RULES" <<<"$line"
	assert_success
	assert_line --index 0 "${line%\}},\"postback\":{\"name\":\"pub7-approved\",\"type\":\"conversion\",\"url\":\"https://publisher-track.com/postback?clickid={external_transaction_id}&status={status}&payout={payout}\",\"method\":\"GET\",\"delay\":120,\"key\":\"9f2c:pub7-approved:approved\"},\"fire_at\":\"2026-11-24T10:02:00Z\"}"
}

@test "fire_at counts the delay from time in RFC 3339 with offsets or Unix seconds" {
	dimensions
	run bash -c 'printf "%s\n" "{\"type\":\"event\",\"event_name\":\"deposit\",\"transaction_id\":\"a\",\"status\":\"approved\",\"time\":\"2026-11-24T12:00:00.5+02:00\"}" "{\"type\":\"event\",\"event_name\":\"deposit\",\"transaction_id\":\"b\",\"status\":\"approved\",\"time\":1795514400}" | pbmatch -r rules.yaml | jq -r .fire_at'
	assert_output $'2026-11-24T11:00:00.5Z\n2026-11-24T11:00:00Z'
}

@test "without time, fire_at counts from when pbmatch read the line" {
	dimensions
	before=$(date -u +%s)
	at=$(echo '{"type":"event","event_name":"deposit","transaction_id":"a","status":"approved"}' | pbmatch -r rules.yaml | jq -r '.fire_at | sub("\\.[0-9]+";"") | fromdate')
	after=$(date -u +%s)
	[ "$at" -ge $((before + 3600)) ] && [ "$at" -le $((after + 3600)) ]
}

@test "the dedupe key is transaction_id:postback:status, or the event name" {
	dimensions
	run bash -c 'printf "%s\n" "{\"type\":\"conversion\",\"transaction_id\":42,\"status\":\"approved\"}" "{\"type\":\"event\",\"event_name\":\"deposit\",\"transaction_id\":\"e\\u0031\",\"status\":\"approved\"}" "{\"type\":\"click\",\"transaction_id\":\"c\"}" | pbmatch -r rules.yaml | jq -r .postback.key'
	assert_output $'42:conv-any-scope:approved\n42:conv-any-status:approved\ne1:deposit-events:deposit\nc:clicks:click'
}

@test "feeding pbmatch its own output replaces postback, fire_at and notice" {
	once=$(head -n 7 "$ACTIONS" | pbmatch -r "$RULES")
	twice=$(pbmatch -r "$RULES" <<<"$once" | sort -u)
	assert_equal "$(jq -c 'del(.postback,.fire_at,.notice)' <<<"$twice" | sort -u)" \
		"$(jq -c 'del(.postback,.fire_at,.notice)' <<<"$once" | sort -u)"
	[ "$(jq -r 'keys_unsorted | map(select(. == "postback" or . == "notice")) | length' <<<"$twice" | sort -u)" = 1 ]
	assert_equal "$(jq -r 'select(.notice) | .transaction_id' <<<"$twice")" 9f2c44
}

@test "bad lines: diagnostic with input and line, kept in --reject, the rest processed, exit 1" {
	run pbmatch -r "$RULES" --reject rej.ndjson "$ACTIONS"
	assert_failure 1
	assert_line "pbmatch: $ACTIONS:8: time: 'yesterday' is not an RFC 3339 time or Unix seconds"
	assert_line "pbmatch: $ACTIONS:9: invalid JSON: expected a string key at column 99"
	assert_equal "$(cat rej.ndjson)" "$(sed -n '8,9p' "$ACTIONS")"
	assert_equal "$(grep -c '"postback"' <<<"$output")" 7
}

@test "every kind of invalid JSON is rejected, never passed on" {
	dimensions
	printf '%s\n' '[1,2]' '{"a":[1,,2]}' '{"a":1,}' '{"a":[tru]}' '{"a":01}' $'{"a":"x\ty"}' \
		$'{"a":"\xc3"}' '{"type":"click","transaction_id":"c"} {}' '{"a":"\ud800"}' 'not json' > bad.ndjson
	run pbmatch -r rules.yaml --reject rej.ndjson bad.ndjson
	assert_failure 1
	assert_equal "$(grep -c 'invalid JSON' <<<"$output")" 10
	cmp bad.ndjson rej.ndjson
}

@test "fields of the wrong type are rejected with the field named" {
	dimensions
	run pbmatch -r rules.yaml <<'EOF'
{"type":"conversion","transaction_id":"t","offer_id":{"id":1}}
{"type":"conversion","transaction_id":"t","status":1}
{"type":"conversion","transaction_id":["t"]}
{"type":"conversion"}
{"transaction_id":"t"}
{"type":"conversion","transaction_id":"t","time":true}
EOF
	assert_failure 1
	assert_line "pbmatch: stdin:1: offer_id: expected a string or a number, got an object"
	assert_line "pbmatch: stdin:2: status: expected a string, got a number"
	assert_line "pbmatch: stdin:3: transaction_id: expected a string or a number, got an array"
	assert_line "pbmatch: stdin:4: transaction_id: missing or empty"
	assert_line "pbmatch: stdin:5: type: missing or empty"
	assert_line "pbmatch: stdin:6: time: expected RFC 3339 text or Unix seconds, got a boolean"
}

@test "duplicate keys: the first one wins" {
	dimensions
	out=$(echo '{"type":"click","type":"conversion","transaction_id":"c"}' | pbmatch -r rules.yaml | names)
	assert_equal "$out" "clicks"
}

@test "CRLF line endings and empty lines are accepted" {
	dimensions
	printf '{"type":"click","transaction_id":"a"}\r\n\r\n\n{"type":"click","transaction_id":"b"}' > crlf.ndjson
	run pbmatch -r rules.yaml --stats crlf.ndjson
	assert_success
	assert_line --index 0 --partial '{"type":"click","transaction_id":"a","postback"'
	assert_line "pbmatch: 2 read, 2 lines out, 0 unmatched, 0 rejected"
}

@test "a line over --max-line is rejected whole and kept verbatim, the next one processed" {
	dimensions
	long=$(printf '{"type":"click","transaction_id":"%s"}' "$(head -c 300000 /dev/zero | tr '\0' x)")
	printf '%s\n%s\n' "$long" '{"type":"click","transaction_id":"short"}' > in.ndjson
	run pbmatch -r rules.yaml --max-line 1000 --reject rej.ndjson in.ndjson
	assert_failure 1
	assert_line "pbmatch: in.ndjson:1: line longer than 1000 bytes (see --max-line)"
	assert_line --partial '"transaction_id":"short"'
	assert_equal "$(cat rej.ndjson)" "$long"
	run pbmatch -r rules.yaml in.ndjson
	assert_success
}

@test "an over-long line is kept as any line comes back: its inner CRs kept, its final one not" {
	dimensions
	# With --max-line 2 the reader's first read ends on the inner CR.
	head -c 65537 /dev/zero | tr '\0' x > line
	printf '\ryy' >> line
	{ cat line; printf '\r\nabc\r\n'; } > in.ndjson
	{ cat line; printf '\nabc\n'; } > want
	run pbmatch -r rules.yaml --max-line 2 --reject rej.ndjson in.ndjson
	assert_failure 1
	assert_line "pbmatch: in.ndjson:2: line longer than 2 bytes (see --max-line)"
	cmp rej.ndjson want
}

@test "several inputs and - for standard input, with their own names and line numbers" {
	dimensions
	echo '{"type":"click","transaction_id":"a"}' > a.ndjson
	echo 'oops' > b.ndjson
	run bash -c 'echo "{\"type\":\"click\",\"transaction_id\":\"s\"}" | pbmatch -r rules.yaml a.ndjson - b.ndjson'
	assert_failure 1
	assert_line --partial '"transaction_id":"a"'
	assert_line --partial '"transaction_id":"s"'
	assert_line "pbmatch: b.ndjson:1: invalid JSON: not a JSON object at column 1"
}

@test "a missing input file is reported, the others processed, exit 2" {
	dimensions
	echo '{"type":"click","transaction_id":"a"}' > a.ndjson
	run pbmatch -r rules.yaml nosuch.ndjson a.ndjson
	assert_failure 2
	assert_line "pbmatch: nosuch.ndjson: No such file or directory"
	assert_line --partial '"transaction_id":"a"'
}

@test "--stats counts read, matched per postback, unmatched and rejected" {
	run pbmatch -r "$RULES" --stats "$ACTIONS"
	assert_failure 1
	assert_line "pbmatch: 9 read, 7 lines out, 2 unmatched, 2 rejected"
	assert_line "pbmatch: postback crm-all: 2 matched"
	assert_line "pbmatch: postback pub8-rejections: 1 matched"
}

@test "output reaches the pipe while the input is still open" {
	dimensions
	mkfifo in
	pbmatch -r rules.yaml < in > out &
	exec 7> in
	echo '{"type":"click","transaction_id":"live"}' >&7
	for _ in $(seq 50); do [ -s out ] && break; sleep 0.1; done
	seen=$(cat out)
	exec 7>&-
	wait
	assert_equal "$(jq -r .transaction_id <<<"$seen")" "live"
}

@test "usage errors exit 2; --help and --version exit 0" {
	run pbmatch
	assert_failure 2
	assert_line --index 0 "pbmatch: a rule file is required (-r rules.yaml)"
	run pbmatch -r "$RULES" --bogus
	assert_failure 2
	run pbmatch -r "$RULES" --max-line 0
	assert_failure 2
	run pbmatch --help
	assert_success
	assert_line --index 0 --partial "usage: pbmatch -r rules.yaml"
	run pbmatch --version
	assert_success
	assert_output --regexp '^pbmatch [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "a write error on standard output is reported with exit 2" {
	[ -w /dev/full ] || skip "no /dev/full"
	run bash -c 'pbmatch -r "$RULES" "$ACTIONS" --reject /dev/null > /dev/full'
	assert_failure 2
	assert_output --partial "pbmatch: stdout:"
}

@test "type and status take lists, status pending fires, method in any case" {
	rules <<'YAML'
postbacks:
  - name: crm-everything
    type: [click, conversion, event]
    status: [approved, rejected, pending]
    url: https://crm.example/{type}
    method: post
  - name: pending-only
    type: conversion
    status: pending
    url: https://p.example/
    method: Get
  - name: conv-and-events
    type: [conversion, event]
    event: deposit
    url: https://c.example/
YAML
	out=$(printf '%s\n' '{"type":"conversion","transaction_id":"t","status":"pending"}' \
		'{"type":"conversion","transaction_id":"t","status":"approved"}' \
		'{"type":"event","transaction_id":"e","status":"approved","event_name":"login"}' \
		'{"type":"event","transaction_id":"e","status":"approved","event_name":"deposit"}' \
		'{"type":"click","transaction_id":"c","status":"rejected"}' \
		'{"type":"click","transaction_id":"c"}' |
		pbmatch -r rules.yaml | jq -c '[.postback.name, .postback.type, .postback.method, .postback.key]')
	assert_equal "$out" "$(cat <<'EOF'
["crm-everything",["click","conversion","event"],"POST","t:crm-everything:pending"]
["pending-only","conversion","GET","t:pending-only:pending"]
["crm-everything",["click","conversion","event"],"POST","t:crm-everything:approved"]
["conv-and-events",["conversion","event"],"GET","t:conv-and-events:approved"]
["crm-everything",["click","conversion","event"],"POST","e:crm-everything:login"]
["crm-everything",["click","conversion","event"],"POST","e:crm-everything:deposit"]
["conv-and-events",["conversion","event"],"GET","e:conv-and-events:deposit"]
["crm-everything",["click","conversion","event"],"POST","c:crm-everything:rejected"]
EOF
)"
	run pbmatch --check -r rules.yaml
	assert_success
	assert_line --partial "crm-everything: click|conversion|event, any offer and publisher, status approved|rejected|pending,"
	assert_line --partial "conv-and-events: conversion|event, event deposit, any offer and publisher, status approved,"
}
