#!/usr/bin/env bats
# Defects fuzzing found (issue 10), each reproduced with the real
# binaries. The first two prove something only under `make check
# SANITIZE=1`, where the old code aborts; in the plain build the unit
# test test_record and the fuzz regression inputs catch that defect.

load helper

@test "unescaped texts stay valid in pbmatch (a use-after-free before)" {
	printf '{"type":"click","transaction_id":"\\u0041%040d","offer_id":"\\u0031","publisher_id":9,"p":"%0350d"}\n' 0 0 > in.ndjson
	run pbmatch -r "$RULES" in.ndjson
	assert_success
	run jq -r .postback.key <<<"$output"
	assert_output "A$(printf '%040d' 0):pub9-clicks:click"
}

@test "unescaped texts stay valid in pbexpand (a use-after-free before)" {
	printf '{"postback":{"url":"https://h.example/%040d\\u002f{x}"},"x":"\\u0031","p":"%0350d"}\n' 0 0 > in.ndjson
	run pbexpand in.ndjson
	assert_success
	run jq -r .url <<<"$output"
	assert_output "https://h.example/$(printf '%040d' 0)/1"
}

@test "a scope list that names an id twice fires the postback once" {
	rules <<'YAML'
postbacks:
  - name: twice
    type: conversion
    scope: {offer: [12, "12"], publisher: [9, "9", 9]}
    url: https://h.example/{transaction_id}
YAML
	run pbmatch -r rules.yaml <<<'{"type":"conversion","transaction_id":"t","offer_id":12,"publisher_id":"9","status":"approved"}'
	assert_success
	run jq -r .postback.key <<<"$output"
	assert_output 't:twice:approved'
}

@test "a value-map key with an escape maps only its decoded text" {
	cat > in.ndjson <<'EOF'
{"postback":{"url":"https://h.example/?s={status}","map":{"status":{"a\nb":"X"}}},"status":"a\\nb"}
{"postback":{"url":"https://h.example/?s={status}","map":{"status":{"a\nb":"X"}}},"status":"a\nb"}
EOF
	run pbexpand in.ndjson
	assert_success
	run jq -r .url <<<"$output"
	assert_output $'https://h.example/?s=a%5Cnb\nhttps://h.example/?s=X'
}

# held S: the lines the spool S holds, their "+DUE " prefix removed.
held() {
	sed -n 's/^+[0-9]* //p' "$1"
}

@test "a held line longer than the next run's --max-line stays in the spool" {
	python3 -c 'print("{\"fire_at\":\"2099-01-01T00:00:00Z\",\"p\":\"" + "x"*1500000 + "\"}"); print("{\"fire_at\":\"2099-01-02T00:00:00Z\"}")' > in.ndjson
	run pbdelay --max-line 2000000 --spool S --due-only in.ndjson
	assert_success
	run pbdelay --spool S --due-only </dev/null
	assert_success
	assert_output ''
	held S > kept.ndjson
	cmp in.ndjson kept.ndjson
}

@test "only a truly torn last spool record is cut, with a warning" {
	printf '{"fire_at":"2099-01-01T00:00:00Z","n":1}\n' | pbdelay --spool S --due-only
	printf '+4070908800000000000 {"n":2' >> S
	run pbdelay --spool S --due-only </dev/null
	assert_success
	assert_output --partial 'dropping an incomplete last record'
	run held S
	assert_output '{"fire_at":"2099-01-01T00:00:00Z","n":1}'
}

@test "a time out of the years 0000 to 9999, or too late for a delay, is rejected" {
	cat > in.ndjson <<'EOF'
{"type":"click","transaction_id":"a","publisher_id":9,"time":"0000-01-01T00:00:00+01:00"}
{"type":"click","transaction_id":"b","publisher_id":9,"time":"9999-06-01T00:00:00Z"}
{"type":"click","transaction_id":"c","publisher_id":9,"time":"0000-01-01T00:00:00-01:00"}
EOF
	run pbmatch -r "$RULES" in.ndjson
	assert_failure 1
	assert_line "pbmatch: in.ndjson:1: time: '0000-01-01T00:00:00+01:00' is not an RFC 3339 time or Unix seconds"
	assert_line "pbmatch: in.ndjson:2: time: '9999-06-01T00:00:00Z' is too late: a delay would take fire_at past the year 9999"
	assert_line --partial '"fire_at":"0000-01-01T01:00:00Z"'
}

@test "a spool record with a due time past 64 bits is refused, not wrapped" {
	printf 'pbdelay-spool 1\n+18446744073709551626 {"n":1}\n' > S
	run pbdelay --spool S --due-only </dev/null
	assert_failure 2
	assert_output --partial 'not a spool record'
}

@test "an empty header value is sent empty, not dropped" {
	start_receiver
	printf '{"url":"%s/h","body":"x","headers":{"X-Token":"","Content-Type":""},"postback":{"method":"POST"}}\n' "$RECV" > in.ndjson
	run pbfire --allow-net 127.0.0.0/8 in.ndjson
	assert_success
	run jq -c '.headers | [has("X-Token"), .["X-Token"], has("Content-Type"), .["Content-Type"]]' recv.ndjson
	assert_output '[true,"",true,""]'
	pbfire --dry-run in.ndjson > dry
	assert_equal "$(jq -c .result.request.headers dry)" '{"X-Token":"","Content-Type":""}'
}
