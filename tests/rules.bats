#!/usr/bin/env bats
# The rule file: every mistake named with file, line and column, exit 2
# before any input is read; --check; the example file.

load helper

# check_error LINE:COL MESSAGE: the rule file in rules.yaml fails with it.
check_error() {
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:$1: $2"
}

@test "rules.example.yaml passes --check with one line per postback" {
	run pbmatch --check -r "$RULES"
	assert_success
	assert_equal "${#lines[@]}" 9
	assert_line --index 0 "pub7-approved: conversion, offer 12, publisher 7, status approved, delay 120s, https://publisher-track.com/postback?clickid={external_transaction_id}&status={status}&payout={payout}"
	assert_line --index 8 "$RULES: 8 postbacks, no errors"
}

@test "YAML syntax errors name line and column" {
	printf 'postbacks:\n  - name: a\n    type: [click\n' | rules
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_output --regexp '^pbmatch: rules\.yaml:4:1: YAML syntax error: '
}

@test "unknown keys are named with a suggestion" {
	rules <<'YAML'
postbacks:
  - name: a
    type: click
    url: https://x.example/
    stauts: any
YAML
	check_error 5:5 "unknown key 'stauts' (did you mean 'status'?)"
}

@test "unknown top-level and scope keys" {
	rules <<'YAML'
postback:
  - name: a
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:1:1: unknown key 'postback' (did you mean 'postbacks'?)"
	assert_line "pbmatch: rules.yaml:1:1: no 'postbacks' list"
	rules <<'YAML'
postbacks:
  - {name: a, type: click, url: "https://x.example/", scope: {offers: 1}}
YAML
	check_error 2:63 "unknown scope key 'offers' (did you mean 'offer'?)"
}

@test "wrong types are reported where they are" {
	rules <<'YAML'
postbacks:
  - name: [a, b]
    type: click
    url: https://x.example/
  - name: c
    type: conversion
    url: {u: 1}
    status: rejected
    rejection_reasons: {a: 1}
  - just a string
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:2:11: name: expected a single value, got a list"
	assert_line "pbmatch: rules.yaml:7:10: url: expected a single value, got a mapping"
	assert_line "pbmatch: rules.yaml:9:24: rejection_reasons: expected a value or a non-empty list, got a mapping"
	assert_line "pbmatch: rules.yaml:10:5: postbacks: each entry must be a mapping, got a scalar"
}

@test "unknown type and status values" {
	rules <<'YAML'
postbacks:
  - {name: a, type: sale, url: "https://x.example/"}
  - {name: b, type: click, status: maybe, url: "https://x.example/"}
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:2:21: type: expected click, conversion or event, got 'sale'"
	assert_line "pbmatch: rules.yaml:3:36: status: expected any, approved, rejected or pending, got 'maybe'"
}

@test "delays: durations of pb-rules(5); under the guide's 2 minutes, over a year or malformed is an error" {
	rules <<'YAML'
postbacks:
  - {name: a, type: click, url: "https://x.example/", delay: 90s}
  - {name: b, type: click, url: "https://x.example/", delay: 2 minutes}
  - {name: c, type: click, url: "https://x.example/", delay: 119.9s}
  - {name: d, type: click, url: "https://x.example/", delay: -5m}
  - {name: e, type: click, url: "https://x.example/", delay: 1x}
  - {name: f, type: click, url: "https://x.example/", delay: 1e999s}
  - {name: g, type: click, url: "https://x.example/", delay: 99999999999999999999s}
  - {name: h, type: click, url: "https://x.example/", delay: 366d}
  - {name: i, type: click, url: "https://x.example/", delay: ""}
  - {name: j, type: click, url: "https://x.example/", delay: s}
  - {name: k, type: click, url: "https://x.example/", delay: 120s}
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_output - <<'EOF'
pbmatch: rules.yaml:2:62: delay: 90s is under the 2-minute minimum of the postback setup guide ("Minimum delay is 2 minutes")
pbmatch: rules.yaml:3:62: delay: expected a duration, such as 2m, 1.5h or 1d; got '2 minutes'
pbmatch: rules.yaml:4:62: delay: 119.9s is under the 2-minute minimum of the postback setup guide ("Minimum delay is 2 minutes")
pbmatch: rules.yaml:5:62: delay: expected a duration, such as 2m, 1.5h or 1d; got '-5m'
pbmatch: rules.yaml:6:62: delay: expected a duration, such as 2m, 1.5h or 1d; got '1x'
pbmatch: rules.yaml:7:62: delay: expected a duration, such as 2m, 1.5h or 1d; got '1e999s'
pbmatch: rules.yaml:8:62: delay: 99999999999999999999s is over the 1-year maximum
pbmatch: rules.yaml:9:62: delay: 366d is over the 1-year maximum
pbmatch: rules.yaml:10:62: delay: must not be empty
pbmatch: rules.yaml:11:62: delay: expected a duration, such as 2m, 1.5h or 1d; got 's'
EOF
}

@test "delays: whole or decimal, every unit, a bare number in seconds, kept to the second" {
	rules <<'YAML'
postbacks:
  - {name: a, type: click, url: "https://x.example/", delay: 120}
  - {name: b, type: click, url: "https://x.example/", delay: 2.5m}
  - {name: c, type: click, url: "https://x.example/", delay: 1h}
  - {name: d, type: click, url: "https://x.example/", delay: 1d}
  - {name: e, type: click, url: "https://x.example/", delay: 365d}
  - {name: f, type: click, url: "https://x.example/", delay: 120000ms}
  - {name: g, type: click, url: "https://x.example/", delay: 120.6s}
YAML
	run pbmatch --check -r rules.yaml
	assert_success
	assert_equal "$(grep -o 'delay [0-9]*s' <<<"$output" | tr '\n' ' ')" \
		"delay 120s delay 150s delay 3600s delay 86400s delay 31536000s delay 120s delay 121s "
}

@test "timeouts: durations of pb-rules(5) from 1ms to 1d; out of range or malformed is an error" {
	rules <<'YAML'
postbacks:
  - {name: a, type: click, url: "https://x.example/", timeout: 1h}
  - {name: b, type: click, url: "https://x.example/", timeout: 1d}
  - {name: c, type: click, url: "https://x.example/", timeout: 1.5m}
  - {name: d, type: click, url: "https://x.example/", timeout: 2d}
  - {name: e, type: click, url: "https://x.example/", timeout: 999us}
  - {name: f, type: click, url: "https://x.example/", timeout: 1x}
  - {name: g, type: click, url: "https://x.example/", timeout: -1s}
  - {name: h, type: click, url: "https://x.example/", timeout: 99999999999999999999s}
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_output - <<'EOF'
pbmatch: rules.yaml:5:64: timeout: expected seconds per attempt from 0.001 to 86400, such as 10, 2.5s, 500ms or 1m; got '2d'
pbmatch: rules.yaml:6:64: timeout: expected seconds per attempt from 0.001 to 86400, such as 10, 2.5s, 500ms or 1m; got '999us'
pbmatch: rules.yaml:7:64: timeout: expected seconds per attempt from 0.001 to 86400, such as 10, 2.5s, 500ms or 1m; got '1x'
pbmatch: rules.yaml:8:64: timeout: expected seconds per attempt from 0.001 to 86400, such as 10, 2.5s, 500ms or 1m; got '-1s'
pbmatch: rules.yaml:9:64: timeout: expected seconds per attempt from 0.001 to 86400, such as 10, 2.5s, 500ms or 1m; got '99999999999999999999s'
EOF
	head -4 rules.yaml > ok.yaml
	echo '{"type":"click","transaction_id":"c1"}' | pbmatch -r ok.yaml > out
	assert_equal "$(jq -r .postback.timeout out | tr '\n' ' ')" "3600 86400 90 "
}

@test "duplicate names point at the first one" {
	rules <<'YAML'
postbacks:
  - {name: a, type: click, url: "https://x.example/"}
  - {name: a, type: click, url: "https://y.example/"}
YAML
	check_error 3:12 "name: 'a' is already used on line 2"
}

@test "rejection_reasons on an approved-only postback, explicit or by default" {
	rules <<'YAML'
postbacks:
  - {name: a, type: conversion, url: "https://x.example/", rejection_reasons: [fraud]}
  - {name: b, type: conversion, status: approved, url: "https://x.example/", rejection_reasons: fraud}
  - {name: c, type: conversion, status: rejected, url: "https://x.example/", rejection_reasons: fraud}
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:2:60: rejection_reasons: this postback fires on approved actions only, never on a rejection; set status: rejected or any"
	assert_line --partial "rules.yaml:3:78: rejection_reasons: this postback fires on approved actions only"
	assert_equal "${#lines[@]}" 2
}

@test "URLs must be http(s) with a host and valid RFC 6570 templates" {
	rules <<'YAML'
postbacks:
  - {name: a, type: click, url: "ftp://x.example/"}
  - {name: b, type: click, url: "https:///path"}
  - {name: c, type: click, url: "publisher-track.com/pb"}
  - {name: d, type: click, url: "https://x.example/?a={b"}
  - {name: e, type: click, url: "https://x.example/?a=b}"}
  - {name: f, type: click, url: "https://x.example/?a={{b}}"}
  - {name: g, type: click, url: "HTTPS://x.example/?a={b}"}
  - {name: h, type: click, url: "https:/x.example/"}
  - {name: i, type: click, url: "https://x.example:99999/?a={b}"}
  - {name: j, type: click, url: "https://{host}:{port}/{+path}{?a,b}"}
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:2:33: url: not an http or https URL: 'ftp://x.example/'"
	assert_line "pbmatch: rules.yaml:3:33: url: no host: 'https:///path'"
	assert_line "pbmatch: rules.yaml:4:33: url: not an http or https URL: 'publisher-track.com/pb'"
	assert_line "pbmatch: rules.yaml:5:55: url: unclosed '{'"
	assert_line "pbmatch: rules.yaml:6:56: url: unmatched '}'"
	assert_line "pbmatch: rules.yaml:7:56: url: expected a variable name"
	assert_line "pbmatch: rules.yaml:9:33: url: not an http or https URL: 'https:/x.example/'"
	assert_line "pbmatch: rules.yaml:10:33: url: Port number was not a decimal number between 0 and 65535: 'https://x.example:99999/?a={b}'"
	assert_equal "${#lines[@]}" 8
	rules <<'YAML'
postbacks:
  - name: a
    type: click
    url: https://x.example/?a={b:0}&c={d e}
YAML
	check_error 4:34 "url: prefix length must be 1 to 9999"
}

@test "missing name, type or url; event on a non-event postback" {
	rules <<'YAML'
postbacks:
  - type: click
    url: https://x.example/
  - name: b
    url: https://x.example/
  - name: c
    type: conversion
    event: deposit
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:2:5: postback has no name"
	assert_line "pbmatch: rules.yaml:4:5: postback 'b' has no type"
	assert_line "pbmatch: rules.yaml:6:5: postback 'c' has no url"
	assert_line "pbmatch: rules.yaml:8:5: event: only event postbacks take an event name"
}

@test "empty values, empty lists, a bad scope, an empty file, two documents" {
	rules <<'YAML'
postbacks:
  - {name: "", type: click, url: "https://x.example/", scope: {offer: []}}
  - {name: b, type: click, url: "https://x.example/", scope: everything}
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:2:12: name: must not be empty"
	assert_line "pbmatch: rules.yaml:2:71: scope.offer: expected a value or a non-empty list, got an empty list"
	assert_line "pbmatch: rules.yaml:3:62: scope: expected 'any' or a mapping with offer and/or publisher"
	: > rules.yaml
	check_error 1:1 "expected a mapping with a 'postbacks' list"
	printf 'postbacks: []\n---\npostbacks: []\n' > rules.yaml
	check_error 3:1 "a second YAML document; the rule file is one document"
}

@test "a missing rule file exits 2" {
	run pbmatch -r nosuch.yaml
	assert_failure 2
	assert_output "pbmatch: nosuch.yaml: No such file or directory"
}

@test "a bad rule file stops pbmatch before it reads any input" {
	rules <<'YAML'
postbacks:
  - {name: a, type: clik, url: "https://x.example/"}
YAML
	mkfifo in
	# Nobody ever writes to the fifo: reading it would hang the test.
	run timeout 5 pbmatch -r rules.yaml in
	assert_failure 2
	assert_output --partial "rules.yaml:2:21: type: expected click, conversion or event, got 'clik'"
}

@test "--check counts one postback in the singular" {
	printf '%s\n' 'postbacks:' '  - {name: one, type: click, url: "https://h.example/?c={transaction_id}"}' | rules
	run pbmatch --check -r rules.yaml
	assert_success
	assert_line "rules.yaml: 1 postback, no errors"
}

@test "a file with no postbacks is valid and matches nothing" {
	echo 'postbacks: []' | rules
	run pbmatch --check -r rules.yaml
	assert_success
	assert_output "rules.yaml: 0 postbacks, no errors"
	run pbmatch -r rules.yaml --stats <<<'{"type":"click","transaction_id":"c"}'
	assert_success
	assert_line "pbmatch: 1 read, 0 lines out, 1 unmatched, 0 rejected"
}

@test "POST settings: method, body, content_type and headers are checked" {
	rules <<'YAML'
postbacks:
  - {name: a, type: click, url: "https://x.example/", method: PUT}
  - {name: b, type: click, url: "https://x.example/", body: "x={y}"}
  - {name: c, type: click, url: "https://x.example/", method: POST, content_type: json, body: "x={y}"}
  - {name: d, type: click, url: "https://x.example/", content_type: xml}
  - {name: e, type: click, url: "https://x.example/", method: POST, body: {a: "{b"}, headers: {Host: x, "Bad Name": y}}
  - {name: f, type: click, url: "https://x.example/", method: POST, body: {a: "{b}"}, headers: {X-A: "ok {b}"}}
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:2:63: method: expected GET or POST, got 'PUT'"
	assert_line "pbmatch: rules.yaml:3:61: body: only POST postbacks have a body; set method: POST"
	assert_line "pbmatch: rules.yaml:4:95: body: a JSON body is a mapping of names to templates"
	assert_line "pbmatch: rules.yaml:5:69: content_type: expected form or json, got 'xml'"
	assert_line "pbmatch: rules.yaml:5:55: content_type: describes a body, and there is none"
	assert_line "pbmatch: rules.yaml:6:80: body.a: unclosed '{'"
	assert_line "pbmatch: rules.yaml:6:96: headers: 'Host': a header pbfire sets itself"
	assert_line "pbmatch: rules.yaml:6:105: headers: 'Bad Name': not a header name (letters, digits and !#$%&'*+-.^_\`|~ only)"
	assert_equal "${#lines[@]}" 8
}

@test "headers: the names pbfire sets itself and values with control characters are refused" {
	rules <<'YAML'
postbacks:
  - name: a
    type: click
    url: https://x.example/
    headers:
      connection: close
      Transfer-Encoding: chunked
      Content-Length: "1"
      Expect: 100-continue
      X-Ok: "fine {x}"
      X-Crlf: "a\r\nX-Evil: 1"
      X-Tab: "a\tb"
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:6:7: headers: 'connection': a header pbfire sets itself"
	assert_line "pbmatch: rules.yaml:7:7: headers: 'Transfer-Encoding': a header pbfire sets itself"
	assert_line "pbmatch: rules.yaml:8:7: headers: 'Content-Length': a header pbfire sets itself"
	assert_line "pbmatch: rules.yaml:9:7: headers: 'Expect': a header pbfire sets itself"
	assert_line "pbmatch: rules.yaml:11:15: headers.X-Crlf: a control character (CR, LF, ...) in the value"
	assert_line "pbmatch: rules.yaml:12:14: headers.X-Tab: a control character (CR, LF, ...) in the value"
	assert_equal "${#lines[@]}" 6
}

@test "a key given twice is an error, not a silent override" {
	rules <<'YAML'
postbacks:
  - name: a
    type: click
    url: https://x.example/a
    url: https://x.example/b
    scope: {offer: 1, offer: 2}
    headers: {X-A: "1", X-A: "2"}
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_line "pbmatch: rules.yaml:5:5: key 'url' given twice (first on line 4)"
	assert_line "pbmatch: rules.yaml:6:23: scope key 'offer' given twice (first on line 6)"
	assert_line "pbmatch: rules.yaml:7:25: headers 'X-A' given twice (first on line 7)"
	assert_equal "${#lines[@]}" 3
}

@test "a macro a few edits from a standard field is a warning, with the field it looks like; an error under --strict" {
	rules <<'YAML'
postbacks:
  - name: pub
    type: conversion
    url: https://p.example/pb?clickid={external_transacton_id}&payout={payuot}&sub={sub1}
    method: POST
    body: {tid: "{transaction_id}", "n": "{note}", s: "{sub}", id: "{SubId}", p: "{postback.nmae}"}
    headers: {X-Event: "{event_nmae}"}
YAML
	warnings=$(cat <<'OUT'
pbmatch: rules.yaml:4:40: warning: url: macro {external_transacton_id} is not a standard field (did you mean {external_transaction_id}?)
pbmatch: rules.yaml:4:72: warning: url: macro {payuot} is not a standard field (did you mean {payout}?)
pbmatch: rules.yaml:4:85: warning: url: macro {sub1} is not a standard field (did you mean {sub_id}?)
pbmatch: rules.yaml:7:26: warning: headers.X-Event: macro {event_nmae} is not a standard field (did you mean {event_name}?)
pbmatch: rules.yaml:6:70: warning: body.id: macro {SubId} is not a standard field (did you mean {sub_id}?)
OUT
)
	pbmatch --check -r rules.yaml > out 2> err
	assert_equal "$(cat err)" "$warnings"
	assert_equal "$(tail -n 1 out)" "rules.yaml: 1 postback, no errors"
	run pbmatch --check --strict -r rules.yaml
	assert_failure 2
	assert_output "${warnings//warning: /}"
	run pbmatch --strict -r rules.yaml < /dev/null
	assert_failure 2
	echo '{"type":"conversion","transaction_id":"t1","status":"approved","payout":1}' > action
	pbmatch -r rules.yaml action > matched 2> err
	assert_equal "$(cat err)" "$warnings"
	assert_equal "$(jq -r .postback.name matched)" pub
}

@test "supersede: true or false, on a postback with a delay; --check shows false" {
	rules <<'YAML'
postbacks:
  - {name: a, type: conversion, url: "https://h.example/a", delay: 2m, supersede: no}
  - {name: b, type: conversion, url: "https://h.example/b", supersede: false}
  - {name: c, type: conversion, url: "https://h.example/c", delay: 2m, supersede: false}
YAML
	check_error 2:83 "supersede: expected true or false, got 'no'"
	assert_line "pbmatch: rules.yaml:3:72: supersede: only a postback with a delay waits, and can be superseded; set a delay"
	assert_equal "${#lines[@]}" 2
	sed -i '2,3d' rules.yaml
	run pbmatch --check -r rules.yaml
	assert_success
	assert_line "c: conversion, any offer and publisher, status approved, delay 120s, supersede false, https://h.example/c"
}

@test "type and status lists are checked value by value" {
	rules <<'YAML'
postbacks:
  - {name: a, type: [conversion, sale], status: [approved, maybe], url: "https://h.example/"}
  - {name: b, type: [], url: "https://h.example/", method: put}
  - {name: c, type: [click, conversion], status: [approved, pending], rejection_reasons: [fraud], url: "https://h.example/"}
YAML
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_output - <<'EOF'
pbmatch: rules.yaml:2:34: type: expected click, conversion or event, got 'sale'
pbmatch: rules.yaml:2:60: status: expected any, approved, rejected or pending, got 'maybe'
pbmatch: rules.yaml:3:21: type: expected a value or a non-empty list, got an empty list
pbmatch: rules.yaml:3:60: method: expected GET or POST, got 'put'
pbmatch: rules.yaml:4:71: rejection_reasons: this postback fires on approved|pending actions only, never on a rejection; set status: rejected or any
EOF
}
