#!/usr/bin/env bats
# The publisher's answer in each result record (pbfire --keep-response)
# and a rule's success check (expect in pb-rules(5)), end to end against
# tests/receiver.py on 127.0.0.1: what the record keeps of the answer,
# any bytes made valid JSON, and answers failing the check.

load helper

# fire ARGS...: pbfire with loopback allowed and fast retries.
fire() {
	pbfire --allow-net 127.0.0.0/8 --backoff 0.01 "$@"
}

# action ID: a conversion of transaction ID, on one line.
action() {
	echo "{\"type\":\"conversion\",\"transaction_id\":\"$1\",\"status\":\"approved\",\"time\":\"2026-11-24T10:00:00Z\"}"
}

# postback NAME QUERY EXTRA: a postback of the rule file to the receiver,
# its query QUERY, with EXTRA keys (YAML flow members).
postback() {
	echo "  - {name: $1, type: conversion, url: \"$RECV/$1?t={transaction_id}&$2\"$3}"
}

# matched: pbmatch and pbexpand over the action in file actions with the
# rule file rules.yaml, into file in.
matched() {
	pbmatch -r rules.yaml actions | pbexpand > in
}

@test "the answer is kept: status, the headers that matter, the body's first bytes, truncated or not" {
	start_receiver
	printf '%s\n' "{\"url\":\"$RECV/a?status=400&body=%7B%22error%22:%22unknown%20clickid%22%7D&content_type=application/json\"}" \
		"{\"url\":\"$RECV/b?status=503&retry_after=100000&body=maintenance,%20try%20later\"}" \
		"{\"url\":\"$RECV/c?redirect=/elsewhere\"}" \
		"{\"url\":\"$RECV/d?body_bytes=2000\"}" > in
	run fire in
	assert_failure 1
	assert_equal "$(jq -c '.result.response | select(.status != 200)' <<<"$output" | sort)" "$(printf '%s\n' \
		'{"status":302,"headers":{"Location":"/elsewhere"},"body":"ok\n","truncated":false}' \
		'{"status":400,"headers":{"Content-Type":"application/json"},"body":"{\"error\":\"unknown clickid\"}","truncated":false}' \
		'{"status":503,"headers":{"Retry-After":"100000"},"body":"maintenance, try later","truncated":false}')"
	assert_equal "$(jq -c 'select(.url | contains("/d?")) | .result.response | [.status, (.body | length), .truncated]' <<<"$output")" \
		'[200,1024,true]'
}

@test "--keep-response 0 keeps no body, the status and headers still; 65536 at most" {
	start_receiver
	echo "{\"url\":\"$RECV/a?status=404&content_type=text/plain\"}" > in
	run fire --keep-response 0 in
	assert_failure 1
	assert_equal "$(jq -c '.result.response' <<<"$output")" '{"status":404,"headers":{"Content-Type":"text/plain"}}'
	run fire --keep-response 65537 in
	assert_failure 2
	assert_output --partial "--keep-response: expected a number from 0 to 65536"
}

@test "a 64 KiB body of NUL, control characters and bytes that are not UTF-8 keeps the record valid JSON, no byte lost" {
	start_receiver
	printf '%s\n' "{\"url\":\"$RECV/a?body_bytes=65536\"}" "{\"url\":\"$RECV/b?body_bytes=70000\"}" > in
	fire --keep-response 65536 in > out
	jq -e . out > /dev/null
	python3 - out <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1], "rb")]
want = bytes(i % 256 for i in range(65536))
for r in records:
    a = r["result"]["response"]
    # each byte outside UTF-8 reads back as the character of its number
    assert a["body"].encode("latin-1") == want, r["url"]
    assert a["truncated"] == r["url"].endswith("70000"), r["url"]
PY
	grep -q '"body":"\\u0000\\u0001' out
}

@test "expect body: a 200 saying ERROR: invalid click fails as unexpected_response, retried; final: [200] ends it at once" {
	start_receiver
	{
		echo postbacks:
		postback tracker 'body=ERROR:%20invalid%20click' ', expect: {body: "^OK"}'
		postback tracker_final 'body=ERROR:%20invalid%20click' ', expect: {body: "^OK"}, final: [200]'
		postback good 'body=OK%20thanks' ', expect: {body: "^OK"}'
	} > rules.yaml
	action t1 > actions
	matched
	run fire --retries 2 in
	assert_failure 1
	assert_equal "$(jq -c '[.postback.name, .result.ok, .result.attempts, .result.error, .result.message, .result.response.body]' <<<"$output" | sort)" \
		"$(printf '%s\n' \
		'["good",true,1,null,null,"OK thanks"]' \
		'["tracker",false,3,"unexpected_response","HTTP 200, its body does not match expect.body: ^OK","ERROR: invalid click"]' \
		'["tracker_final",false,1,"unexpected_response","HTTP 200, its body does not match expect.body: ^OK","ERROR: invalid click"]')"
	assert_equal "$(jq -c '.postback.expect' in | sort -u)" '{"body":"^OK"}'
}

@test "expect status: a listed status delivers, any other 2xx fails as unexpected_response, other failures stay what they are" {
	start_receiver
	{
		echo postbacks:
		postback s200 'status=200' ', expect: {status: [200, 204]}'
		postback s204 'status=204' ', expect: {status: [200, 204]}'
		postback s201 'status=201' ', expect: {status: [200, 204]}, final: 201'
		postback s404 'status=404' ', expect: {status: [200, 204]}'
		postback s302 'redirect=/x&body=queued' ', expect: {status: 302, body: queued}'
	} > rules.yaml
	action t1 > actions
	matched
	run fire in
	assert_failure 1
	assert_equal "$(jq -r '[.postback.name, .result.ok, .result.status, .result.error, .result.message] | @tsv' <<<"$output" | sort)" \
		"$(printf '%s\t%s\t%s\t%s\t%s\n' \
		s200 true 200 '' '' \
		s201 false 201 unexpected_response 'HTTP 201, not one of expect.status' \
		s204 true 204 '' '' \
		s302 true 302 '' '' \
		s404 false 404 http 'HTTP 404')"
}

@test "expect body is matched against all that is read, not only the bytes kept, NUL bytes and all" {
	start_receiver
	printf '%s\n' "{\"url\":\"$RECV/a?body_bytes=65536\",\"postback\":{\"expect\":{\"body\":\"xyz\"}}}" \
		"{\"url\":\"$RECV/b?body_bytes=100\",\"postback\":{\"expect\":{\"body\":\"xyz\"}}}" > in
	run fire --keep-response 10 --retries 0 in
	assert_failure 1
	assert_equal "$(jq -c '[.result.ok, .result.error, (.result.response.body | length)]' <<<"$output" | sort)" \
		"$(printf '%s\n' '[false,"unexpected_response",10]' '[true,null,10]')"
}

@test "a regular expression that does not compile: pbmatch names file:line:col and exits 2 before reading input; pbfire refuses the line" {
	start_receiver
	{
		echo postbacks:
		postback bad 'a=1' ', expect: {status: [200, 999], body: "(OK"}'
		postback bad2 'a=1' ', final: 200'
	} > rules.yaml
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:2:$(($(sed -n 2p rules.yaml | grep -bo '\[200' | cut -d: -f1) + 7)): expect.status: expected HTTP statuses from 100 to 599, got '999'"
	assert_line --partial "pbmatch: rules.yaml:2:$(($(sed -n 2p rules.yaml | grep -bo '"(OK' | cut -d: -f1) + 1)): expect.body: not a POSIX extended regular expression: "
	assert_line --partial "pbmatch: rules.yaml:3:"
	action t1 > actions
	run pbmatch -r rules.yaml actions
	assert_failure 2
	refute_output --partial '{'
	echo "{\"url\":\"$RECV/a\",\"postback\":{\"expect\":{\"body\":\"(OK\"}}}" > in
	run fire in
	assert_failure 1
	assert_equal "$(jq -c '[.result.error, .result.attempts]' <<<"$output")" '["invalid",0]'
	assert_equal "$(seen | wc -l)" 0
}

@test "pbstat reads records with the answer in them" {
	start_receiver
	printf '%s\n' "{\"url\":\"$RECV/a?body_bytes=300\",\"postback\":{\"key\":\"k1\"}}" \
		"{\"url\":\"$RECV/b?body=nope\",\"postback\":{\"key\":\"k2\",\"expect\":{\"body\":\"^OK\"},\"attempts\":1}}" > in
	fire in > out || true
	run pbstat -o json out
	assert_success
	assert_equal "$(jq -c '[.delivered, .failed, .errors.unexpected_response.count, .status]' <<<"$output")" '[1,1,1,{"200":2}]'
}

@test "--spool: a pending record keeps the answer, 64 KiB escaped, and the next run takes the line back from the spool" {
	start_receiver
	echo "{\"url\":\"$RECV/a?body_bytes=65536\",\"postback\":{\"key\":\"k1\",\"expect\":{\"body\":\"^OK\"}}}" > in
	run fire --spool retry.spool --schedule 1s,1s --keep-response 65536 in
	assert_success
	assert_equal "$(jq -c '.result | [.final, .attempts, .error, (.response.body | length)]' <<<"$output")" \
		'[false,1,"unexpected_response",65536]'
	sleep 1.3
	run fire --spool retry.spool --schedule 1s,1s --keep-response 65536 < /dev/null
	assert_success
	assert_equal "$(jq -c '.result | [.final, .attempts, .error, (.response.body | length)]' <<<"$output")" \
		'[false,2,"unexpected_response",65536]'
}
