#!/usr/bin/env bats
# Rate limits: a rule's rate (pb-rules(5)), checked by pbmatch and carried
# on the line, and pbfire --rate HOST=RATE. What the receiver logs (the
# time each request arrived) shows the rate kept in every 1-second
# window, other hosts not slowed, and the lines waiting kept across runs.

load helper

# fire ARGS...: pbfire with loopback allowed.
fire() {
	pbfire --allow-net 127.0.0.0/8 --allow-net ::1 "$@"
}

# lines HOST PATH N [RATE]: N lines for HOST/PATHi, each of postback
# "r" with key "PATHi", and RATE as its rule's rate when given.
lines() {
	local rate=${4:+,\"rate\":\"$4\"}
	for i in $(seq "$3"); do
		echo "{\"url\":\"$1/$2$i\",\"postback\":{\"name\":\"r\",\"key\":\"$2$i\"$rate}}"
	done
}

# arrivals PREFIX: the times the receiver got the requests whose path
# starts with /PREFIX, in order.
arrivals() {
	jq -r --arg p "/$1" 'select(.path | startswith($p)) | .t' recv.ndjson | sort -n
}

# most_in_a_second: the most of the times on stdin in any window of one
# second, [t, t + 1).
most_in_a_second() {
	awk '{ t[NR] = $1 } END { for (i = 1; i <= NR; i++) { n = 0; for (j = i; j <= NR && t[j] < t[i] + 1; j++) n++; if (n > m) m = n } print m + 0 }'
}

# span: the last time on stdin less the first.
span() {
	awk 'NR == 1 { first = $1 } { last = $1 } END { printf "%.3f\n", last - first }'
}

at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

@test "pbmatch: a rate is checked (file:line:col, exit 2, --check too) and goes on the line as written" {
	rules <<'EOF'
postbacks:
  - {name: zero, type: conversion, url: "https://p.example/a", rate: 0/s}
  - {name: huge, type: conversion, url: "https://p.example/b", rate: 1000000000/s}
  - {name: exp, type: conversion, url: "https://p.example/c", rate: 1e9/s}
  - {name: bare, type: conversion, url: "https://p.example/d", rate: 20}
  - {name: hour, type: conversion, url: "https://p.example/e", rate: 20/h}
  - {name: over, type: conversion, url: "https://p.example/f", rate: 99999999999999999999999999999999/m}
  - {name: list, type: conversion, url: "https://p.example/g", rate: [20/s]}
  - {name: slow, type: conversion, url: "https://p.example/h", rate: 0.0001/m}
EOF
	for run in "--check -r rules.yaml" "-r rules.yaml /dev/null"; do
		run pbmatch $run
		assert_failure 2
		assert_line "pbmatch: rules.yaml:2:70: rate: a rate of 0 sends nothing; leave the rate out for no limit, got '0/s'"
		assert_line "pbmatch: rules.yaml:3:70: rate: over the maximum of 10000/s; leave the rate out for no limit, got '1000000000/s'"
		assert_line "pbmatch: rules.yaml:4:69: rate: expected a rate such as 20/s or 300/m, got '1e9/s'"
		assert_line "pbmatch: rules.yaml:5:70: rate: expected a rate such as 20/s or 300/m, got '20'"
		assert_line "pbmatch: rules.yaml:6:70: rate: expected a rate such as 20/s or 300/m, got '20/h'"
		assert_line "pbmatch: rules.yaml:7:70: rate: over the maximum of 10000/s; leave the rate out for no limit, got '99999999999999999999999999999999/m'"
		assert_line "pbmatch: rules.yaml:8:70: rate: expected a single value, got a list"
		assert_line "pbmatch: rules.yaml:9:70: rate: under the minimum of one a day, got '0.0001/m'"
	done
	rules <<'EOF'
postbacks:
  - {name: pub, type: conversion, url: "https://p.example/a", rate: 20/s}
  - {name: crm, type: conversion, url: "https://crm.example/a", rate: 2.5/m}
EOF
	run pbmatch --check -r rules.yaml
	assert_success
	assert_line --partial "pub: conversion, any offer and publisher, status approved, rate 20/s,"
	echo '{"type":"conversion","transaction_id":"t1","offer_id":1,"publisher_id":2,"status":"approved"}' |
		pbmatch -r rules.yaml | jq -c '[.postback.name, .postback.rate]' > out
	assert_equal "$(cat out)" $'["pub","20/s"]\n["crm","2.5/m"]'
}

@test "a rule's rate of 5/s: 20 lines take about 4 s, never more than 5 in a second; another host meanwhile is not slowed" {
	start_receiver
	{ lines "$RECV" a 20 5/s; lines "http://localhost:$PORT" b 20; } > in
	run fire -j 8 in
	assert_success
	assert_equal "$(jq -s 'map(select(.result.ok)) | length' <<<"$output")" 40
	assert_equal "$(arrivals a | wc -l)" 20
	most=$(arrivals a | most_in_a_second)
	# 5 a second, and one more: pbfire's own bound (see pbfire(1)) or the receiver's jitter
	at_least 6 "$most" || fail "$most requests in one second"
	at_least "$most" 5 || fail "only $most requests in one second"
	span=$(arrivals a | span)
	at_least "$span" 3.3 || fail "20 lines at 5/s in $span s"
	# the other host's 20 were all in before the rate let the 6th through
	last_b=$(arrivals b | tail -n 1)
	sixth_a=$(arrivals a | sed -n 6p)
	at_least "$sixth_a" "$last_b" || fail "localhost's last at $last_b, after the 6th rated line at $sixth_a"
}

@test "pbfire --rate HOST=RATE: the host as pbfire names it, any URL of it; its lines keep the rate, other hosts' do not wait" {
	start_receiver
	{ lines "$RECV" a 10; lines "http://localhost:$PORT" b 10; } > in
	run fire --rate "$RECV/any/path=300/m" in
	assert_success
	most=$(arrivals a | most_in_a_second)
	at_least 6 "$most" || fail "$most requests in one second"
	span=$(arrivals a | span)
	at_least "$span" 1.4 || fail "10 lines at 300/m in $span s"
	at_least "$(arrivals a | sed -n 6p)" "$(arrivals b | tail -n 1)" || fail "localhost waited for 127.0.0.1's rate"
	# a host's rate and a rule's both hold: the slower one wins
	: > recv.ndjson
	lines "$RECV" c 4 2/s > in
	run fire --rate "http://127.0.0.1:$PORT=100/s" in
	assert_success
	span=$(arrivals c | span)
	at_least "$span" 1.1 || fail "4 lines at 2/s in $span s"
}

@test "pbfire --rate: a bad host or rate is a usage error; a line with a bad rate fails, the others go" {
	for spec in "http://127.0.0.1=0/s" "http://127.0.0.1=1e9/s" "http://127.0.0.1=1000000000/s" \
		"http://127.0.0.1=20" "127.0.0.1=20/s" "http://127.0.0.1" "=20/s" \
		"http://127.0.0.1=184467440737095516160000000000000000000/s"; do
		run fire --rate "$spec" /dev/null
		assert_failure 2
		assert_line --regexp "^pbfire: --rate: "
	done
	start_receiver
	{ lines "$RECV" a 1 0/s; lines "$RECV" b 1 fast; lines "$RECV" c 1; } > in
	echo "{\"url\":\"$RECV/d\",\"postback\":{\"rate\":20}}" >> in
	run fire in
	assert_failure 1
	assert_equal "$(jq -c 'select(.result.ok | not) | [.result.error, .result.message]' <<<"$output")" \
		"$(printf '%s\n' '["invalid","postback.rate: a rate of 0 sends nothing; leave the rate out for no limit"]' \
			'["invalid","postback.rate: expected a rate such as 20/s or 300/m"]' \
			'["invalid","postback.rate: expected a string such as \"20/s\""]')"
	assert_equal "$(seen)" "GET /c1"
}

# has_arrivals PREFIX N: whether the receiver has N requests or more
# whose path starts with /PREFIX.
has_arrivals() {
	[ "$(arrivals "$1" | wc -l)" -ge "$2" ]
}

# fire_until PREFIX N SIGNAL ARGS...: pbfire ARGS on in, sent SIGNAL
# once the receiver has N requests whose path starts with /PREFIX, 0.3 s
# after: between two requests at 1/s, well after the last one's key was
# written to the ledger and before the next is sent.
fire_until() {
	local prefix=$1 n=$2 signal=$3 pid
	shift 3
	# pbfire itself, not a subshell running fire(), gets the signal
	pbfire --allow-net 127.0.0.0/8 "$@" in > out1 2> err1 &
	pid=$!
	await "pbfire" "$pid" has_arrivals "$prefix" "$n"
	sleep 0.3
	kill "-$signal" "$pid"
	wait "$pid" || true
}

@test "SIGKILL while lines wait for their rate, with --spool and --ledger, then the same run again: each line once" {
	start_receiver
	lines "$RECV" a 8 1/s > in
	fire_until a 3 KILL --spool spool --ledger fired
	sent=$(arrivals a | wc -l)
	at_least 5 "$sent" || fail "$sent sent before the kill"
	run fire --spool spool --ledger fired in
	assert_success
	assert_equal "$(seen | sort | uniq -d)" ""
	assert_equal "$(seen | wc -l)" 8
	at_least 2 "$(arrivals a | most_in_a_second)" || fail "the rate was not kept across the runs"
}

@test "interrupted while lines wait for their rate, with --spool: they wait in the spool and the next run sends each once, at the rate" {
	start_receiver
	lines "$RECV" a 8 1/s > in
	fire_until a 3 TERM --spool spool --ledger fired
	kept=$(jq -s 'map(select(.result.final == false)) | length' out1)
	sent=$(arrivals a | wc -l)
	assert_equal "$((kept + sent))" 8
	run fire --spool spool --ledger fired /dev/null
	assert_success
	assert_equal "$(seen | sort | uniq -d)" ""
	assert_equal "$(seen | wc -l)" 8
	at_least 2 "$(arrivals a | most_in_a_second)" || fail "the spooled lines went faster than their rate"
}

@test "-j 64 --per-host 64: a rated host's full backlog (256 lines) does not stop the input; another host's lines behind it go at once" {
	start_receiver
	{ lines "$RECV" a 300 2/s; lines "http://localhost:$PORT" b 20; } > in
	pbfire --allow-net 127.0.0.0/8 --allow-net ::1 -j 64 --per-host 64 in > out 2> err &
	pid=$!
	# up to 8 s; before the fix localhost's lines waited for 45 of the
	# rated lines to go, 22 s
	deadline=$(at 8)
	until has_arrivals b 20 || at_least "$(at 0)" "$deadline"; do
		sleep 0.05
	done
	kill -TERM "$pid"
	wait "$pid" || true
	assert_equal "$(arrivals b | wc -l)" 20
	first=$(jq -r .t recv.ndjson | sort -n | head -n 1)
	last_b=$(arrivals b | tail -n 1)
	# within 2 s of the first request, with room for a loaded machine
	wait_b=$(printf '%s\n' "$first" "$last_b" | span)
	at_least 2 "$wait_b" || fail "localhost's last $wait_b s after the first request"
	most=$(arrivals a | most_in_a_second)
	at_least 3 "$most" || fail "$most rated requests in one second"
	# the rated lines not sent end interrupted, each once
	assert_equal "$(jq -s 'length' out)" 320
}
