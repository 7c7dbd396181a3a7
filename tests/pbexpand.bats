#!/usr/bin/env bats
# pbexpand end to end: rendering the example postbacks, RFC 6570 encoding
# of awkward values, value maps, --strict, -t, bad input.

load helper

# expand_one JSON TEMPLATE: the url pbexpand renders for one record.
expand_one() {
	pbexpand -t "$2" <<<"$1" | jq -r .url
}

@test "every example postback renders from pbmatch's output; a notice passes unchanged" {
	run bash -c 'head -n 7 "$ACTIONS" | pbmatch -r "$RULES" | pbexpand | jq -r ".url // .notice"'
	assert_success
	assert_output - <<'EOF'
https://tracker.pub9.example/click?id=p9-clk-1&sub=banner%20top
https://publisher-track.com/postback?clickid=pub-abc&status=approved&payout=1.50
https://crm.example.com/hooks/conversion?tid=9f2c41&offer=12&pub=7&status=approved&reason=
https://crm.example.com/hooks/conversion?tid=9f2c42&offer=12&pub=7&status=rejected&reason=chargeback
http://pub8.example.net/pb?cid=p8%20x%2Fy&status=0&why=P
https://events.example.org/e?click=%C3%BCber-1&event=deposit&value=10USD
https://crm.example.com/api/v2/events
supersede
EOF
	notice=$(head -n 7 "$ACTIONS" | pbmatch -r "$RULES" | grep '"notice"')
	assert_equal "$(pbexpand --strict <<<"$notice")" "$notice"
	assert_equal "$(pbexpand -t 'https://h.example/{type}' <<<"$notice")" "$notice"
}

@test "the record is kept byte for byte, url appended; fed again, url replaced" {
	line='{"a" : "x y", "n":1.50 ,"postback":{"url":"https://h.example/{a}"}}'
	out=$(pbexpand <<<"$line")
	assert_equal "$out" '{"a" : "x y", "n":1.50 ,"postback":{"url":"https://h.example/{a}"},"url":"https://h.example/x%20y"}'
	again=$(pbexpand <<<"$out")
	assert_equal "$again" '{"a" : "x y", "n":1.50 ,"postback":{"url":"https://h.example/{a}"},"url":"https://h.example/x%20y"}'
	stale='{"sign_message":"stale","body":"old","headers":{"X":"y"},"postback":{"url":"https://h.example/x"}}'
	assert_equal "$(pbexpand <<<"$stale")" '{"postback":{"url":"https://h.example/x"},"url":"https://h.example/x"}'
}

@test "values with spaces, & = / + % # non-ASCII and emoji are percent-encoded" {
	rec='{"v":"a b&c=d/e+f%g#h é 🎉"}'
	assert_equal "$(expand_one "$rec" 'https://h.example/?v={v}')" \
		'https://h.example/?v=a%20b%26c%3Dd%2Fe%2Bf%25g%23h%20%C3%A9%20%F0%9F%8E%89'
	assert_equal "$(expand_one "$rec" 'https://h.example/{+v}')" \
		'https://h.example/a%20b&c=d/e+f%25g#h%20%C3%A9%20%F0%9F%8E%89'
}

@test "JSON escapes are decoded before encoding" {
	assert_equal "$(expand_one '{"v":"\u00e9\ud83c\udf89\"\n"}' 'https://h.example/{v}')" 'https://h.example/%C3%A9%F0%9F%8E%89%22%0A'
}

@test "numbers keep their source text, booleans are text, null and missing are empty" {
	rec='{"p":1.50,"e":1e3,"b":true,"n":null}'
	assert_equal "$(expand_one "$rec" 'https://h.example/?p={p}&e={e}&b={b}&n={n}&m={m}')" \
		'https://h.example/?p=1.50&e=1e3&b=true&n=&m='
	assert_equal "$(expand_one "$rec" 'https://h.example/{?p,n,m,b}')" 'https://h.example/?p=1.50&b=true'
}

@test "each RFC 6570 operator, prefix and explode" {
	rec='{"var":"value","hello":"Hello World!","path":"/foo/bar","list":["red","green","blue"],"keys":{"semi":";","dot":".","comma":","}}'
	while IFS='|' read -r tmpl want; do
		assert_equal "$(expand_one "$rec" "https://h.example/$tmpl")" "https://h.example/$want"
	done <<'EOF'
{var}|value
{+path}|/foo/bar
x{#hello}|x#Hello%20World!
x{.list}|x.red,green,blue
x{/list*}|x/red/green/blue
x{;keys*}|x;semi=%3B;dot=.;comma=%2C
x{?var,hello}|x?var=value&hello=Hello%20World%21
x?a=1{&list*}|x?a=1&list=red&list=green&list=blue
{var:3}|val
{?keys}|?keys=semi,%3B,dot,.,comma,%2C
EOF
}

@test "value maps from the rule file replace values before encoding" {
	rules <<'YAML'
postbacks:
  - name: mapped
    type: conversion
    status: any
    url: https://h.example/?s={status}&c={currency}
    map:
      status: {approved: "1", rejected: "2"}
      currency: {EUR: "€"}
YAML
	run bash -c "printf '%s\n' '{\"type\":\"conversion\",\"transaction_id\":\"a\",\"status\":\"approved\",\"currency\":\"EUR\"}' '{\"type\":\"conversion\",\"transaction_id\":\"b\",\"status\":\"rejected\",\"currency\":\"USD\"}' | pbmatch -r rules.yaml | pbexpand | jq -r .url"
	assert_output $'https://h.example/?s=1&c=%E2%82%AC\nhttps://h.example/?s=2&c=USD'
}

@test "--strict rejects a record lacking a macro, naming it" {
	run pbexpand --strict -t 'https://h.example/?t={transation_id}' <<<'{"transaction_id":"x"}'
	assert_failure 1
	assert_output 'pbexpand: stdin:1: postback -t: undefined macro {transation_id} (--strict)'
}

@test "without --strict, undefined macros expand empty and --stats counts them" {
	run pbexpand --stats -t 'https://h.example/?t={transation_id}&s={sub_id}' <<'EOF'
{"transaction_id":"x"}
{"transaction_id":"y","sub_id":"s"}
EOF
	assert_success
	assert_line --index 0 --partial '"url":"https://h.example/?t=&s="'
	assert_line "pbexpand: 2 read, 2 rendered, 0 rejected"
	assert_line "pbexpand: undefined macro {transation_id}: 2 times"
	assert_line "pbexpand: undefined macro {sub_id}: 1 time"
}

@test "a rendered URL that is not absolute http(s) with a host is rejected" {
	run pbexpand --reject rej.ndjson <<'EOF'
{"u":"ftp://h.example/x","postback":{"name":"p1","url":"{+u}"}}
{"u":"","postback":{"name":"p2","url":"https://{u}/x"}}
{"u":"h.example","postback":{"name":"p3","url":"https://{u}/x"}}
EOF
	assert_failure 1
	assert_line "pbexpand: stdin:1: postback p1: rendered URL rejected: not an http or https URL: ftp://h.example/x"
	assert_line --partial "pbexpand: stdin:2: postback p2: rendered URL rejected: "
	assert_line --partial '"url":"https://h.example/x"'
	assert_equal "$(wc -l < rej.ndjson)" 2
}

@test "a relative URL or one slash after the scheme is rejected, also after a good URL" {
	run pbexpand -t '{+u}' <<'EOF'
{"u":"https://h.example/a"}
{"u":"/x"}
{"u":"https:/h.example/"}
{"u":"https://h.example/b"}
EOF
	assert_failure 1
	assert_line "pbexpand: stdin:2: postback -t: rendered URL rejected: not an http or https URL: /x"
	assert_line "pbexpand: stdin:3: postback -t: rendered URL rejected: not an http or https URL: https:/h.example/"
	assert_equal "$(grep -c '^{' <<<"$output")" 2
}

@test "a record's headers that pb refuses are rejected though no rule file checked them" {
	run pbexpand <<'EOF'
{"postback":{"name":"p","url":"https://h.example/","headers":{"Host":"internal.example"}}}
{"postback":{"name":"p","url":"https://h.example/","headers":{"Bad Name":"x"}}}
{"postback":{"name":"p","url":"https://h.example/","headers":{"X-A":"{v}"}},"v":"a\tb"}
{"postback":{"name":"p","url":"https://h.example/","headers":{"X-A":"{v}"}},"v":"ab"}
EOF
	assert_failure 1
	assert_line "pbexpand: stdin:1: postback p: header Host: a header pbfire sets itself"
	assert_line "pbexpand: stdin:2: postback p: header Bad Name: not a header name (letters, digits and !#$%&'*+-.^_\`|~ only)"
	assert_line "pbexpand: stdin:3: postback p: header X-A: a control character (CR, LF, ...) in the value"
	assert_equal "$(grep '^{' <<<"$output" | jq -c .headers)" '{"X-A":"ab"}'
}

@test "a malformed template is reported once with its position, each line still rejected" {
	run pbexpand <<'EOF'
{"postback":{"name":"bad","url":"https://h.example/{a"}}
{"postback":{"name":"bad","url":"https://h.example/{a"}}
EOF
	assert_failure 1
	assert_line "pbexpand: stdin:1: postback bad: malformed template at character 19: unclosed '{': https://h.example/{a"
	assert_line "pbexpand: stdin:2: postback bad: the malformed template of stdin:1"
	run pbexpand -t 'https://h.example/{a:0}'
	assert_failure 2
	assert_line --index 0 "pbexpand: -t: malformed template at character 22: prefix length must be 1 to 9999"
}

@test "two malformed templates that share their first 200 bytes are each reported, not by reference" {
	long=https://h.example/$(printf '%0200d' 0)
	printf '{"postback":{"name":"b","url":"%s{a"}}\n' "$long" "$long/x" "$long" > in
	run pbexpand in
	assert_failure 1
	shown="${long:0:200}..."
	assert_line --index 0 "pbexpand: in:1: postback b: malformed template at character 219: unclosed '{': $shown"
	assert_line --index 1 "pbexpand: in:2: postback b: malformed template at character 221: unclosed '{': $shown"
	assert_line --index 2 "pbexpand: in:3: postback b: the malformed template of in:1"
}

@test "bad input: invalid JSON, no template, a template of the wrong type" {
	run pbexpand --reject rej.ndjson <<'EOF'
{"postback":{"url":"https://h.example/"}
{"postback":{"name":"x"}}
{"postback":{"url":5}}
EOF
	assert_failure 1
	assert_line "pbexpand: stdin:1: invalid JSON: expected ',' or '}' at column 41"
	assert_line "pbexpand: stdin:2: postback.url: missing (and no -t template)"
	assert_line "pbexpand: stdin:3: postback.url: expected a string"
	assert_equal "$(wc -l < rej.ndjson)" 3
}

@test "usage: --help, --version, unknown options" {
	run pbexpand --help
	assert_success
	assert_line --index 0 --partial "usage: pbexpand"
	run pbexpand --version
	assert_output --regexp '^pbexpand [0-9.]+$'
	run pbexpand --nope
	assert_failure 2
}

# post_rules: a JSON and a form POST postback, with headers.
post_rules() {
	rules <<'YAML'
postbacks:
  - name: json-post
    type: conversion
    url: https://crm.example.com/api/conversions
    method: POST
    content_type: json
    body: {click_id: "{external_transaction_id}", payout: "{payout}", note: "{status} at {offer_id}", missing: "{nope}"}
    headers: {Authorization: "Bearer abc", X-Offer: "{offer_id}"}
  - name: form-post
    type: conversion
    url: https://p.example/pb
    method: POST
    body: {click: "{external_transaction_id}", "p p": "{payout}"}
  - name: form-template
    type: conversion
    url: https://p.example/pb
    method: POST
    content_type: form
    body: "click={external_transaction_id}&p={payout}"
YAML
}

@test "POST postbacks get a body, JSON-escaped or form-encoded, and headers" {
	post_rules
	run bash -c "echo '{\"type\":\"conversion\",\"transaction_id\":\"t\",\"external_transaction_id\":\"a b\\\"c&\",\"payout\":1.50,\"status\":\"approved\",\"offer_id\":12}' | pbmatch -r rules.yaml | pbexpand | jq -c '[.postback.method, .body, .headers]'"
	assert_success
	assert_line --index 0 '["POST","{\"click_id\":\"a b\\\"c&\",\"payout\":1.50,\"note\":\"approved at 12\",\"missing\":\"\"}",{"Authorization":"Bearer abc","X-Offer":"12"}]'
	assert_line --index 1 '["POST","click=a%20b%22c%26&p%20p=1.50",null]'
	assert_line --index 2 '["POST","click=a%20b%22c%26&p=1.50",null]'
}

@test "a header value that would carry CR or LF is a rejected line, never output" {
	post_rules
	run bash -c "echo '{\"type\":\"conversion\",\"transaction_id\":\"t\",\"status\":\"approved\",\"offer_id\":\"12\\r\\nX-Evil: 1\"}' | pbmatch -r rules.yaml | pbexpand --reject rej.ndjson"
	assert_failure 1
	assert_line "pbexpand: stdin:1: postback json-post: header X-Offer: a control character (CR, LF, ...) in the value"
	refute_output --partial '"X-Evil'
	assert_equal "$(wc -l < rej.ndjson)" 1
}

@test "--strict covers body and header templates too" {
	post_rules
	run bash -c "echo '{\"type\":\"conversion\",\"transaction_id\":\"t\",\"external_transaction_id\":\"x\",\"payout\":1,\"status\":\"approved\",\"offer_id\":1}' | pbmatch -r rules.yaml | pbexpand --strict"
	assert_failure 1
	assert_line "pbexpand: stdin:1: postback json-post: undefined macro {nope} (--strict)"
}

@test "--strict refuses a macro missing from the record, not one that is null or empty" {
	run pbexpand --strict -t 'https://h.example/?t={transaction_id}&r={rejection_reason}&s={sub_id}' <<'EOF2'
{"transaction_id":"a","status":"approved","rejection_reason":null,"sub_id":""}
{"transaction_id":"b","status":"rejected","rejection_reason":"fraud","sub_id":"s"}
{"transaction_id":"c","status":"approved","sub_id":"s"}
EOF2
	assert_failure 1
	assert_line --index 0 --partial '"url":"https://h.example/?t=a&r=&s="'
	assert_line --index 1 --partial '"url":"https://h.example/?t=b&r=fraud&s=s"'
	assert_line --index 2 'pbexpand: stdin:3: postback -t: undefined macro {rejection_reason} (--strict)'
	assert_equal "${#lines[@]}" 3
}

@test "a value map's \"*\" entry replaces the values it does not name; an undefined one stays so" {
	rules <<'YAML'
postbacks:
  - name: mapped
    type: conversion
    status: [rejected, pending]
    url: https://h.example/?r={rejection_reason}&s={status}
    map:
      rejection_reason: {fraud: F, "*": other}
YAML
	run bash -c "printf '%s\n' '{\"type\":\"conversion\",\"transaction_id\":\"a\",\"status\":\"rejected\",\"rejection_reason\":\"fraud\"}' '{\"type\":\"conversion\",\"transaction_id\":\"b\",\"status\":\"rejected\",\"rejection_reason\":\"dup click\"}' '{\"type\":\"conversion\",\"transaction_id\":\"c\",\"status\":\"pending\"}' | pbmatch -r rules.yaml | pbexpand | jq -r .url"
	assert_output $'https://h.example/?r=F&s=rejected\nhttps://h.example/?r=other&s=rejected\nhttps://h.example/?r=&s=pending'
}
