#!/usr/bin/env bats
# Signed postbacks and a postback's own delivery policy, end to end:
# pbmatch checks the sign block and the policy keys, pbexpand renders the
# hmac message, pbfire signs with --secrets, and tests/receiver.py checks
# every signature with Python's hmac module. No secret may show in any
# output.

load helper

OLD=whsec_cGItc2lnbi10ZXN0LW9sZC1rZXktMzItYnl0ZXMhISE=
NEW=whsec_cGItc2lnbi10ZXN0LW5ldy1rZXktMzItYnl0ZXMhISE=
WALL=wall-Secret-7f3a9c

# secrets FILE LINE...: a secrets file only its owner may read.
secrets() {
	local file=$1
	shift
	printf '%s\n' "$@" > "$file"
	chmod 600 "$file"
}

# signed_rules: a rule file of signed postbacks to the receiver.
signed_rules() {
	rules <<EOF
postbacks:
  - name: crm
    type: conversion
    url: $RECV/crm
    method: POST
    content_type: json
    body: {tid: "{transaction_id}", payout: "{payout}", note: "{note}"}
    sign: {scheme: standard-webhooks, secret: crm}
  - name: crm-get
    type: conversion
    url: $RECV/crm-get?tid={transaction_id}
    sign: {scheme: standard-webhooks, secret: crm}
  - name: wall
    type: conversion
    url: $RECV/wall?tid={transaction_id}&payout={payout}
    sign:
      scheme: hmac
      algorithm: sha256
      secret: wall
      message: "{transaction_id}:{payout}"
      param: sig
      encoding: hex
  - name: wall64
    type: conversion
    url: $RECV/wall64?tid={transaction_id}&payout={payout}#top
    sign: {scheme: hmac, algorithm: sha512, secret: wall, message: "{payout}|{transaction_id}", param: s, encoding: base64}
  - name: wall-header
    type: conversion
    url: $RECV/wall-header?tid={transaction_id}
    sign: {scheme: hmac, algorithm: sha1, secret: wall, message: "{transaction_id}", header: X-Signature}
EOF
}

# actions N: N approved conversions, with non-ASCII text in the body.
actions() {
	for i in $(seq "$1"); do
		printf '{"type":"conversion","transaction_id":"t%d","status":"approved","payout":%d.5,"offer_id":1,"publisher_id":2,"created_at":"2026-11-26T00:00:00Z","note":"caf\\u00e9 \xe2\x82\xac %d"}\n' "$i" "$i" "$i"
	done
}

# start_verifier: the receiver, checking signatures with NEW only (so a
# rotated secret's second signature must be there) and the wall secret.
start_verifier() {
	secrets recv-secrets "crm=$NEW" "wall=$WALL"
	start_receiver --secrets recv-secrets \
		--hmac '{"secret":"wall","algorithm":"sha256","encoding":"hex","param":"sig","message":"{tid}:{payout}"}' \
		--hmac '{"secret":"wall","algorithm":"sha512","encoding":"base64","param":"s","message":"{payout}|{tid}"}' \
		--hmac '{"secret":"wall","algorithm":"sha1","encoding":"hex","header":"X-Signature","message":"{tid}"}'
}

@test "signed postbacks of both schemes arrive and verify, with a rotated secret" {
	start_verifier
	signed_rules
	secrets secrets "crm=$OLD" "wall=$WALL" "crm=$NEW"
	actions 3 | pbmatch -r rules.yaml | pbexpand > lines
	run pbfire --allow-net 127.0.0.0/8 --secrets secrets lines
	assert_success
	assert_equal "$(jq -s 'length' recv.ndjson)" 15
	assert_equal "$(jq -c 'select(.signatures | length != 1)' recv.ndjson)" ""
	assert_equal "$(jq -c 'select(.signatures | all) | .path | split("?")[0]' recv.ndjson | sort | uniq -c | awk '{ print $1, $2 }')" \
		"$(printf '3 "/crm"\n3 "/crm-get"\n3 "/wall"\n3 "/wall-header"\n3 "/wall64"')"
	jq -e -s 'map(select(.path == "/crm")) | all(.headers["webhook-signature"] | test("^v1,[^ ]+ v1,[^ ]+$"))' recv.ndjson
	jq -e -s 'map(select(.path == "/crm")) | all(.body | test("caf\u00e9 \u20ac"))' recv.ndjson
	jq -e -s 'map(select(.path | startswith("/crm-get"))) | all(.body == "")' recv.ndjson
	jq -e -s 'map(select(.path == "/crm")) | all(.headers["webhook-id"] | test("^t[123]:crm:approved$"))' recv.ndjson
}

@test "a Standard Webhooks line is signed anew at each attempt, with that attempt's time" {
	start_verifier
	signed_rules
	secrets secrets "crm=$NEW" "wall=$WALL"
	actions 1 | pbmatch -r rules.yaml | pbexpand | grep '"name":"crm"' |
		jq -c --arg url "$RECV/crm?fail=1&key=t1" '.url = $url' > lines
	run pbfire --allow-net 127.0.0.0/8 --secrets secrets --backoff 2.5 lines
	assert_success
	assert_equal "$(jq -c .signatures recv.ndjson)" "$(printf '%s\n' '{"standard-webhooks":true}' '{"standard-webhooks":true}')"
	assert [ "$(jq -r '.headers["webhook-timestamp"]' recv.ndjson | uniq | wc -l)" -eq 2 ]
	assert [ "$(jq -r '.headers["webhook-signature"]' recv.ndjson | uniq | wc -l)" -eq 2 ]
}

@test "a signed event with a non-ASCII name goes, its key percent-encoded as webhook-id, the same at each attempt" {
	start_verifier
	secrets secrets "crm=$NEW"
	rules <<EOF
postbacks:
  - name: ev
    type: event
    event: [depósito, deposit]
    url: $RECV/ev?fail=1&key={event_name}
    method: POST
    content_type: json
    body: {tid: "{transaction_id}", event: "{event_name}"}
    sign: {scheme: standard-webhooks, secret: crm}
EOF
	for e in depósito deposit; do
		printf '{"type":"event","transaction_id":"t%% 1","status":"approved","event_name":"%s"}\n' "$e"
	done | pbmatch -r rules.yaml | pbexpand > lines
	run pbfire --allow-net 127.0.0.0/8 --secrets secrets --backoff 0.05 lines
	assert_success
	assert_equal "$(jq -c '[.headers["webhook-id"], .signatures["standard-webhooks"]]' recv.ndjson | sort)" \
		"$(printf '%s\n' '["t%25 1:ev:dep%C3%B3sito",true]' '["t%25 1:ev:dep%C3%B3sito",true]' \
			'["t%25 1:ev:deposit",true]' '["t%25 1:ev:deposit",true]')"
	assert_equal "$(jq -r .body recv.ndjson | jq -r .event | sort | uniq -c | awk '{ print $1, $2 }')" \
		"$(printf '2 deposit\n2 depósito')"
}

@test "a dry run shows the signatures it would send, and says which secret is missing" {
	start_verifier
	signed_rules
	secrets secrets "crm=$NEW" "wall=$WALL"
	actions 1 | pbmatch -r rules.yaml | pbexpand > lines
	run pbfire --dry-run --secrets secrets lines
	assert_success
	pbfire --dry-run --secrets secrets lines > dry
	url=$(jq -r 'select(.postback.name == "wall") | .result.request.url' dry)
	want=$(printf 't1:1.5' | openssl dgst -sha256 -hmac "$WALL" -r | cut -d' ' -f1)
	assert_equal "$url" "$RECV/wall?tid=t1&payout=1.5&sig=$want"
	jq -e -s 'map(select(.postback.name == "crm"))[0].result.request.headers["webhook-signature"] | test("^v1,[^ ]+$")' dry
	jq -e -s 'map(select(.postback.name == "wall64"))[0].result.request.url | test("&s=[^#]*%3D#top$")' dry
	assert_equal "$(seen)" ""
	secrets secrets "wall=$WALL"
	run pbfire --dry-run --secrets secrets lines
	assert_failure 1
	pbfire --dry-run --secrets secrets lines > dry || true
	assert_equal "$(jq -c 'select(.result.ok == false) | [.postback.name, .result.error, .result.message]' dry | sort -u)" \
		"$(printf '%s\n' '["crm","invalid","sign: no secret named '\''crm'\'' in the --secrets file"]' \
			'["crm-get","invalid","sign: no secret named '\''crm'\'' in the --secrets file"]')"
	run pbfire --dry-run lines
	assert_failure 1
	assert_output --partial "sign: secret 'wall' wanted, and pbfire has no --secrets file"
}

@test "no secret shows in any output of a full run" {
	start_verifier
	signed_rules
	secrets secrets "crm=$OLD" "wall=$WALL" "crm=$NEW"
	{ actions 2; echo 'not json'; } | pbmatch -r rules.yaml --reject rej1 > matched 2> err1 || true
	pbexpand --stats matched > lines 2> err2
	echo "{\"url\":\"$RECV/down?status=503\",\"postback\":{\"key\":\"k\",\"sign\":{\"scheme\":\"standard-webhooks\",\"secret\":\"crm\"}}}" >> lines
	pbfire --allow-net 127.0.0.0/8 --secrets secrets --stats -v --spool spool --ledger ledger \
		--schedule 1h lines > out 2> err3 || true
	pbfire --dry-run -v --secrets secrets --stats lines > dry 2> err4 || true
	pbfire --secrets secrets --allow-net 127.0.0.0/8 --spool spool --grace 0 < /dev/null > out2 2> err5 || true
	pbstat out > stat 2> err6 || true
	assert [ -s out ]
	assert [ -s dry ]
	assert [ -s spool ]
	assert [ -s stat ]
	grep -q 'v1,' recv.ndjson
	grep -q 'v1,' dry
	for secret in "$WALL" "${OLD#whsec_}" "${NEW#whsec_}"; do
		run grep -rlF --exclude=secrets --exclude=recv-secrets -- "$secret" .
		assert_output ""
	done
}

@test "--secrets is refused when others may read it, or when a line is not name=value" {
	secrets secrets "wall=$WALL"
	chmod 640 secrets
	run pbfire --dry-run --secrets secrets < /dev/null
	assert_failure 2
	assert_output "pbfire: --secrets: secrets: others may read or write it (mode 0640); chmod 600 it"
	secrets secrets "# a comment" "" "wall=$WALL" "no equals $WALL"
	run pbfire --dry-run --secrets secrets < /dev/null
	assert_failure 2
	assert_output "pbfire: --secrets: secrets:4: expected name=value"
	refute_output --partial "$WALL"
	run pbfire --dry-run --secrets missing < /dev/null
	assert_failure 2
}

@test "pbmatch checks a sign block and the policy keys, naming file, line and column" {
	rules <<'EOF'
postbacks:
  - name: a
    type: conversion
    url: https://crm.example/hook
    headers: {Webhook-Signature: x}
    sign: {scheme: standard-webhooks, secret: crm, message: "{x}"}
  - name: b
    type: conversion
    url: https://wall.example/cb
    sign: {scheme: hmak, secret: "not a name"}
  - name: c
    type: conversion
    url: https://wall.example/cb
    sign: {scheme: hmac, secret: w, algorithm: md5, message: "{a", param: sig, header: X-Sig, encoding: b32}
    timeout: 0
    attempts: 1.5
    final: [200, 503]
  - name: d
    type: conversion
    url: https://wall.example/cb
    sign: {scheme: hmac, secret: w, message: "{a}"}
EOF
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_output - <<'EOF'
pbmatch: rules.yaml:6:52: sign.message: only an hmac signature takes it; standard-webhooks signs id, timestamp and body
pbmatch: rules.yaml:5:15: headers: 'Webhook-Signature' is set by the postback's signature
pbmatch: rules.yaml:10:34: sign.secret: expected the name of a secret in pbfire's --secrets file (letters, digits, '_', '.' and '-'), never the secret itself
pbmatch: rules.yaml:10:20: sign.scheme: expected standard-webhooks or hmac, got 'hmak'
pbmatch: rules.yaml:15:14: timeout: expected seconds per attempt from 0.001 to 86400, such as 10, 2.5s, 500ms or 1m; got '0'
pbmatch: rules.yaml:16:15: attempts: expected a whole number from 1 (at most once) to 100, got '1.5'
pbmatch: rules.yaml:14:48: sign.algorithm: expected sha1, sha256 or sha512, got 'md5'
pbmatch: rules.yaml:14:105: sign.encoding: expected hex or base64, got 'b32'
pbmatch: rules.yaml:14:63: sign.message: unclosed '{'
pbmatch: rules.yaml:14:80: sign: param and header both given; the signature goes in one of them
pbmatch: rules.yaml:17:13: final: a 2xx answer delivers unless the postback has an expect that it fails; set one, or list failing statuses
pbmatch: rules.yaml:21:11: sign: an hmac signature needs a param or a header to go in
EOF
}

@test "pbexpand renders an hmac message as sign_message, its values not encoded" {
	rules <<'EOF'
postbacks:
  - name: w
    type: conversion
    url: https://wall.example/cb?tid={transaction_id}
    sign: {scheme: hmac, secret: w, message: "{transaction_id}:{payout}:{missing}", param: sig}
EOF
	actions 1 | pbmatch -r rules.yaml | sed 's/"t1"/"t 1\/\\u00e9"/' > matched
	run pbexpand matched
	assert_success
	assert_equal "$(jq -r .sign_message <<<"$output")" "t 1/é:1.5:"
	assert_equal "$(jq -r .url <<<"$output")" "https://wall.example/cb?tid=t%201%2F%C3%A9"
}

@test "a postback's attempts, final statuses and timeout override pbfire's options" {
	start_receiver
	pb() { printf '{"url":"%s/%s","postback":{"key":"%s",%s}}\n' "$RECV" "$1" "$2" "$3"; }
	{
		pb 'once?fail=5&key=a' a '"attempts":1'
		pb 'twice?fail=5&key=b' b '"attempts":2'
		pb 'final?fail=5&key=c&status=503' c '"final":[503]'
		pb 'paced?status=429' d '"attempts":1'
		pb 'slow?delay=3' e '"timeout":0.3,"attempts":1'
		pb 'default?fail=1&key=f' f '"final":[500]'
		pb 'more?fail=5&key=g' g '"attempts":6'
	} > lines
	SECONDS=0
	run pbfire --allow-net 127.0.0.0/8 --backoff 0.05 --retries 3 --timeout 30 --breaker 0 lines
	assert_failure 1
	assert [ "$SECONDS" -lt 10 ]
	assert_equal "$(seen | cut -d'?' -f1 | sort | uniq -c | awk '{ print $1, $3 }')" \
		"$(printf '2 /default\n1 /final\n6 /more\n1 /once\n1 /paced\n1 /slow\n2 /twice')"
	assert_equal "$(jq -c '[.postback.key, .result.ok, .result.attempts, .result.error, .result.retry_at]' <<<"$output" | sort)" \
		"$(printf '%s\n' '["a",false,1,"http",null]' '["b",false,2,"http",null]' '["c",false,1,"http",null]' \
			'["d",false,1,"http",null]' '["e",false,1,"timeout",null]' '["f",true,2,null,null]' \
			'["g",true,6,null,null]')"
}

@test "a postback's attempts stand for --retries, count every round a line is fed back, and never let it go again" {
	start_receiver
	printf '{"url":"%s/r?status=503","postback":{"key":"r1","attempts":3}}\n' "$RECV" > lines
	pbfire --allow-net 127.0.0.0/8 --retries 0 --backoff 0.01 lines > round1 || true
	pbfire --allow-net 127.0.0.0/8 --retries 0 round1 > round2 || true
	assert_equal "$(seen | wc -l)" 3
	assert_equal "$(jq -c '.result | [.attempts, .retry_at]' round1)" '[3,null]'
	assert_equal "$(jq -c '.result | [.attempts, .attempts_in_all, .round, .error, .message]' round2)" \
		'[0,3,2,"invalid","no attempt left: its postback allows 3, and 3 were made"]'
}

@test "with --spool, a postback's attempts stand for the schedule's length, its last wait repeating" {
	start_receiver
	printf '{"url":"%s/s?status=503","postback":{"key":"s1","attempts":3}}\n' "$RECV" > lines
	run pbfire --allow-net 127.0.0.0/8 --breaker 0 --spool spool --schedule 0 lines
	assert_failure 1
	assert_equal "$(seen | wc -l)" 3
	assert_equal "$(jq -c '.result | [.final, .attempts, .retry_at != null]' <<<"$output")" \
		"$(printf '%s\n' '[false,1,true]' '[false,2,true]' '[null,3,false]')"
}

@test "a line with one attempt left still lets a 429 pace its host" {
	start_receiver
	for i in 1 2 3; do
		printf '{"url":"%s/p%d?status=429&retry_after=1","postback":{"key":"p%d","attempts":1}}\n' "$RECV" "$i" "$i"
	done > lines
	run pbfire --allow-net 127.0.0.0/8 -j 1 --per-host 1 lines
	assert_failure 1
	gap=$(jq -s '.[1].t - .[0].t' recv.ndjson)
	assert_equal "$(awk -v g="$gap" 'BEGIN { print (g >= 0.9) }')" 1
	assert_equal "$(seen | wc -l)" 3
}

@test "a final status does not count against the host's breaker" {
	start_receiver
	for i in 1 2 3 4 5 6; do
		printf '{"url":"%s/f%d?status=503","postback":{"key":"f%d","final":[503]}}\n' "$RECV" "$i" "$i"
	done > lines
	printf '{"url":"%s/ok","postback":{"key":"ok"}}\n' "$RECV" >> lines
	run pbfire --allow-net 127.0.0.0/8 -j 1 --breaker 2 lines
	assert_failure 1
	refute_output --partial "breaker open"
	assert_equal "$(seen | wc -l)" 7
}

@test "a signed line waiting in the spool fails as invalid when its secret is gone, and the spool goes on" {
	start_receiver
	secrets secrets "wall=$WALL"
	printf '{"url":"%s/w?fail=1&key=w1","sign_message":"m","postback":{"key":"w1","sign":{"scheme":"hmac","secret":"wall","algorithm":"sha256","encoding":"hex","param":"sig"}}}\n' "$RECV" > lines
	pbfire --allow-net 127.0.0.0/8 --secrets secrets --spool spool --schedule 1s lines > out1
	assert_equal "$(jq -c '.result | [.ok, .final]' out1)" '[false,false]'
	sleep 1.3
	run pbfire --allow-net 127.0.0.0/8 --spool spool --grace 0 < /dev/null
	assert_failure 1
	assert_line "pbfire: line 1: sign: secret 'wall' wanted, and pbfire has no --secrets file"
	assert_equal "$(grep '^{' <<<"$output" | jq -c '.result | [.error, .message]')" \
		'["invalid","sign: secret '\''wall'\'' wanted, and pbfire has no --secrets file"]'
	run pbfire --allow-net 127.0.0.0/8 --spool spool --grace 0 < /dev/null
	assert_success
	assert_output ""
}

@test "pbmatch: a sign param already in the URL, a Content-Type signature header, timeouts to the millisecond" {
	rules <<'EOF'
postbacks:
  - name: a
    type: conversion
    url: https://wall.example/cb?sig={x}&tid={transaction_id}
    sign: {scheme: hmac, secret: w, message: "{x}", param: sig}
  - name: b
    type: conversion
    url: https://wall.example/cb
    sign: {scheme: hmac, secret: w, message: "{x}", header: content-type}
  - name: c
    type: conversion
    url: https://wall.example/cb
    timeout: 0x10
  - name: d
    type: conversion
    url: https://wall.example/cb
    timeout: 1e3
EOF
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_output - <<'EOF'
pbmatch: rules.yaml:5:60: sign.param: 'sig' is in the url's query already
pbmatch: rules.yaml:9:61: sign.header: 'content-type': the body's content_type says it
pbmatch: rules.yaml:13:14: timeout: expected seconds per attempt from 0.001 to 86400, such as 10, 2.5s, 500ms or 1m; got '0x10'
pbmatch: rules.yaml:17:14: timeout: expected seconds per attempt from 0.001 to 86400, such as 10, 2.5s, 500ms or 1m; got '1e3'
EOF
	for t in .5 1234.5678 250ms 2m; do
		printf 'postbacks:\n  - {name: t, type: click, url: "https://p.example/", timeout: %s}\n' "$t" > rules.yaml
		echo '{"type":"click","transaction_id":"c1"}' | pbmatch -r rules.yaml | jq -r .postback.timeout
	done > timeouts
	assert_equal "$(cat timeouts)" "$(printf '0.5\n1234.568\n0.25\n120\n')"
}

@test "pbfire refuses a signed line that sets its signature's header itself, a bad secret, no key" {
	secrets secrets "crm=$NEW" "wall=$WALL" "plain=not-a-whsec-secret"
	hook=https://crm.example/hook
	webhook='"scheme":"standard-webhooks","secret"'
	{
		echo "{\"url\":\"$hook\",\"headers\":{\"Webhook-Signature\":\"v1,forged\"},\"postback\":{\"key\":\"k\",\"sign\":{$webhook:\"crm\"}}}"
		echo "{\"url\":\"$hook\",\"headers\":{\"x-sig\":\"forged\"},\"sign_message\":\"m\",\"postback\":{\"sign\":{\"scheme\":\"hmac\",\"secret\":\"wall\",\"algorithm\":\"sha256\",\"encoding\":\"hex\",\"header\":\"X-Sig\"}}}"
		echo "{\"url\":\"$hook\",\"postback\":{\"key\":\"k\",\"sign\":{$webhook:\"plain\"}}}"
		echo "{\"url\":\"$hook\",\"postback\":{\"sign\":{$webhook:\"crm\"}}}"
	} > lines
	run pbfire --dry-run --secrets secrets lines
	assert_failure 1
	assert_equal "$(grep '^{' <<<"$output" | jq -r '.result | [.error, .message] | join(": ")')" "$(printf '%s\n' \
		"invalid: headers: webhook-signature is set by the postback's signature" \
		"invalid: headers: X-Sig is set by the postback's signature" \
		"invalid: sign: secret 'plain' is not a Standard Webhooks secret (whsec_ and base64)" \
		"invalid: sign: a standard-webhooks signature needs the line's key for its webhook-id")"
}

# A token with characters each place encodes its own way; Zq9Wv marks it.
TOKEN='Zq9Wv t0k&n+/=q"b\s%41'

# secret_rules: postbacks taking crm_token from --secrets in a header,
# the query, a JSON body and a form body.
secret_rules() {
	rules <<EOF
postbacks:
  - name: crm-json
    type: conversion
    url: $RECV/crm?tid={transaction_id}&token={secret:crm_token}
    method: post
    content_type: json
    headers: {Authorization: "Bearer {secret:crm_token}", X-Note: "{note}"}
    body: {tid: "{transaction_id}", token: "{secret:crm_token}", note: "{note}"}
  - name: crm-form
    type: conversion
    url: $RECV/form
    method: POST
    body: {tid: "{transaction_id}", token: "{secret:crm_token}"}
EOF
}

@test "a {secret:NAME} reaches the receiver in a header, the query and the body, and no output shows it" {
	start_receiver
	secret_rules
	secrets secrets "crm_token=$TOKEN" "wall=$WALL"
	{ actions 2; echo 'not json'; } | pbmatch -r rules.yaml --reject rej > matched 2> err1 || true
	pbexpand --stats matched > lines 2> err2
	pbfire --allow-net 127.0.0.0/8 --secrets secrets --stats -v --spool spool --ledger ledger lines > out 2> err3
	pbfire --dry-run -v --secrets secrets --stats lines > dry 2> err4
	pbstat out > stat 2> err5
	assert_equal "$(jq -s 'map(select(.result.ok)) | length' out)" 4
	python3 - "$TOKEN" recv.ndjson <<'PY'
import json, sys
from urllib.parse import parse_qs, urlsplit
token, seen = sys.argv[1], [json.loads(l) for l in open(sys.argv[2])]
crm = [e for e in seen if e["path"].startswith("/crm")]
form = [e for e in seen if e["path"] == "/form"]
assert len(crm) == 2 and len(form) == 2, seen
for e in crm:
    assert parse_qs(urlsplit(e["path"]).query)["token"] == [token], e
    assert e["headers"]["Authorization"] == "Bearer " + token, e
    assert json.loads(e["body"])["token"] == token, e
for e in form:
    assert parse_qs(e["body"])["token"] == [token], e
PY
	jq -e -s 'map(select(.postback.name == "crm-json"))[0].result.request | .headers.Authorization == "Bearer {secret:crm_token}" and (.url | endswith("&token={secret:crm_token}"))' dry
	grep -qF 'Authorization: Bearer {secret:crm_token}' err4
	run grep -rlF --exclude=secrets --exclude=recv.ndjson -- Zq9Wv .
	assert_output ""
}

@test "a secret missing from --secrets fails its line as invalid, naming the secret; nothing is sent" {
	start_receiver
	secret_rules
	secrets secrets "wall=$WALL"
	actions 1 | pbmatch -r rules.yaml | pbexpand > lines
	run pbfire --allow-net 127.0.0.0/8 --secrets secrets lines
	assert_failure 1
	pbfire --allow-net 127.0.0.0/8 --secrets secrets lines > out 2> err || true
	assert_equal "$(cat err)" "$(printf '%s\n' "pbfire: line 1: url: no secret named 'crm_token' in the --secrets file" \
		"pbfire: line 2: body: no secret named 'crm_token' in the --secrets file")"
	assert_equal "$(jq -c '[.postback.name, .result.error, .result.ok]' out)" \
		"$(printf '%s\n' '["crm-json","invalid",false]' '["crm-form","invalid",false]')"
	run pbfire --dry-run lines
	assert_failure 1
	assert_line --partial "url: secret 'crm_token' wanted, and pbfire has no --secrets file"
	assert_equal "$(seen)" ""
}

@test "a value that would make a {secret:NAME} fails its line in pbexpand; no secret goes out" {
	start_receiver
	secret_rules
	secrets secrets "crm_token=$TOKEN"
	printf '%s\n' '{"type":"conversion","transaction_id":"t1","status":"approved","note":"{secret:crm_token}"}' \
		'{"type":"conversion","transaction_id":"t2","status":"approved","note":"{"}' | pbmatch -r rules.yaml > matched
	run pbexpand matched
	assert_failure 1
	assert_line --partial "a value makes a {secret:NAME} placeholder, which pbfire would fill with a secret"
	pbexpand matched 2> /dev/null | pbfire --allow-net 127.0.0.0/8 --secrets secrets > out
	assert_equal "$(jq -r .path recv.ndjson | sort)" "$(printf '%s\n' "/crm?tid=t2&token=Zq9Wv%20t0k%26n%2B%2F%3Dq%22b%5Cs%2541" /form /form)"
	assert_equal "$(jq -r 'select(.path | startswith("/crm")) | .headers["X-Note"]' recv.ndjson)" "{"
	run grep -rlF --exclude=secrets --exclude=recv.ndjson -- Zq9Wv .
	assert_output ""
}

@test "pbmatch checks secret placeholders: a name, alone in its braces, never in the host or an hmac message" {
	rules <<'EOF'
postbacks:
  - name: a
    type: conversion
    url: "https://{secret:host}/x?t={secret:ok.name-1}"
  - name: b
    type: conversion
    url: "https://b.example/x?t={secret:bad name}&u={+secret:t}&p={secret:3}"
    headers: {X-T: "{secret:}"}
  - name: c
    type: conversion
    url: https://c.example/x
    sign: {scheme: hmac, secret: w, message: "{secret:w}", param: sig}
EOF
	run pbmatch --check -r rules.yaml
	assert_failure 2
	assert_output - <<'EOF'
pbmatch: rules.yaml:4:10: url: a {secret:NAME} placeholder goes in the path, query or fragment, never in the host
pbmatch: rules.yaml:7:41: url: a secret placeholder is {secret:NAME}, alone in its braces with no operator, NAME a letter then letters, digits, '_', '.' or '-'
pbmatch: rules.yaml:8:29: headers.X-T: prefix length must be 1 to 9999
pbmatch: rules.yaml:12:46: sign.message: a {secret:NAME} placeholder is filled in the request pbfire sends, never in the message it signs
EOF
}
