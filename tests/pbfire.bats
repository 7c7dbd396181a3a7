#!/usr/bin/env bats
# pbfire end to end against tests/receiver.py on 127.0.0.1: what the
# receiver saw, retries, redirects, the address policy, the ledger,
# interruption, dry runs and result records.

load helper

# fire ARGS...: pbfire with loopback allowed and fast retries.
fire() {
	pbfire --allow-net 127.0.0.0/8 --allow-net ::1 --backoff 0.05 "$@"
}

@test "exact URLs and bodies reach the receiver; one result per line" {
	start_receiver
	cat > in <<EOF
{"id":1,"url":"$RECV/pb?click=a%20b&payout=1.50"}
{"id":2,"url":"$RECV/hook","body":"{\"a\":1}","headers":{"X-Token":"t1"},"postback":{"method":"POST","content_type":"application/json"}}
{"id":3,"url":"$RECV/form","body":"a=1&b=2"}
EOF
	run fire in
	assert_success
	assert_equal "${#lines[@]}" 3
	assert_equal "$(seen | sort)" "$(printf '%s\n' 'GET /pb?click=a%20b&payout=1.50' 'POST /form' 'POST /hook')"
	assert_equal "$(jq -r 'select(.path == "/hook") | .body, .headers["X-Token"], .headers["Content-Type"]' recv.ndjson)" \
		$'{"a":1}\nt1\napplication/json'
	assert_equal "$(jq -r 'select(.path == "/form") | .body' recv.ndjson)" "a=1&b=2"
	result=$(jq -c 'select(.id == 1) | .result | [.ok, .status, .attempts, .error, .ip, .line]' <<<"$output")
	assert_equal "$result" '[true,200,1,null,"127.0.0.1",1]'
	jq -e '.result.fired_at | test("^20[0-9-]+T[0-9:.]+Z$")' <<<"${lines[0]}"
}

@test "a 4xx answer is final; 5xx and 408 are retried with backoff; 429s too, the first 20 without using up attempts" {
	start_receiver
	printf '{"url":"%s/a?status=404"}\n{"url":"%s/b?status=503"}\n{"url":"%s/c?status=429"}\n{"url":"%s/d?status=408"}\n' \
		"$RECV" "$RECV" "$RECV" "$RECV" > in
	run fire --retries 2 in
	assert_failure 1
	assert_equal "$(seen | sort | uniq -c | awk '{ print $1, $3 }')" \
		"$(printf '1 /a?status=404\n3 /b?status=503\n23 /c?status=429\n3 /d?status=408')"
	assert_equal "$(jq -c 'select(.url | endswith("404")) | .result | [.ok, .status, .attempts, .error, .message]' <<<"$output")" \
		'[false,404,1,"http","HTTP 404"]'
	assert_equal "$(jq -c 'select(.url | endswith("503")) | .result.attempts' <<<"$output")" 3
}

@test "a key failing its first tries is delivered once, with no duplicate" {
	start_receiver
	echo "{\"url\":\"$RECV/x?fail=2&key=k1\"}" > in
	run fire in
	assert_success
	assert_equal "$(seen | wc -l)" 3
	assert_equal "$(jq -c '.result | [.ok, .status, .attempts, .message]' <<<"$output")" '[true,200,3,null]'
}

@test "Retry-After is honoured" {
	start_receiver
	echo "{\"url\":\"$RECV/x?fail=1&key=k&retry_after=1\"}" > in
	run fire in
	assert_success
	gap=$(jq -s '.[1].t - .[0].t' recv.ndjson)
	assert_equal "$(awk -v g="$gap" 'BEGIN { print (g >= 1 && g < 3) }')" 1
}

@test "a Retry-After beyond the cap ends the retries" {
	start_receiver
	echo "{\"url\":\"$RECV/x?status=503&retry_after=100000\"}" > in
	run fire in
	assert_failure 1
	assert_equal "$(seen | wc -l)" 1
}

@test "a dropped connection and a timeout are retried and classified" {
	start_receiver
	printf '{"url":"%s/drop?drop=1"}\n{"url":"%s/slow?delay=2"}\n' "$RECV" "$RECV" > in
	run fire --retries 1 --timeout 500ms in
	assert_failure 1
	assert_equal "$(jq -c '[.result.error, .result.attempts, .result.status]' <<<"$output" | sort)" \
		"$(printf '%s\n' '["connect",2,0]' '["timeout",2,0]')"
	jq -e 'select(.result.error == "timeout") | .result.retry_at' <<<"$output"
}

@test "an answer whose body outlasts --timeout stands: delivered once, not retried" {
	start_receiver
	printf '{"url":"%s/ok?stall=5"}\n{"url":"%s/no?status=404&stall=5"}\n' "$RECV" "$RECV" > in
	run fire --retries 1 --timeout 2s in
	assert_failure 1
	assert_equal "$(jq -c '[.result.ok, .result.status, .result.error, .result.attempts]' <<<"$output" | sort)" \
		"$(printf '%s\n' '[false,404,"http",1]' '[true,200,null,1]')"
	assert_equal "$(seen | wc -l)" 2
}

@test "a redirect whose body outlasts --timeout stands without --follow; with it, not followed, it is retried" {
	start_receiver
	echo "{\"url\":\"$RECV/r?redirect=$RECV/target&stall=5\"}" > in
	run fire --retries 1 --timeout 2s in
	assert_failure 1
	assert_equal "$(jq -c '[.result.status, .result.error, .result.attempts]' <<<"$output")" '[302,"http",1]'
	run fire --retries 1 --timeout 2s --follow 1 in
	assert_failure 1
	assert_equal "$(jq -c '[.result.status, .result.error, .result.attempts]' <<<"$output")" '[302,"timeout",2]'
	assert_equal "$(seen | grep -c '^GET /r?')" 3
}

@test "durations: --timeout, --connect-timeout, --backoff, --grace, --breaker-wait, --ledger-keep and --schedule take those of pb-rules(5)" {
	run pbfire --dry-run --timeout 30s --connect-timeout 1.5s --backoff 250ms --grace 500ms --breaker-wait 1m \
		--ledger-keep 1.5d --schedule 1d,1.5h,90 /dev/null
	assert_success
	for opt in --timeout --connect-timeout --backoff --grace --breaker-wait; do
		for bad in 1x -1s 1e999s 99999999999999999999s '' s; do
			run pbfire "$opt" "$bad" /dev/null
			assert_failure 2
			assert_line --regexp "^pbfire: $opt: expected seconds from [0-9.]+ to [0-9]+, or a duration such as 500ms or 2m, got '$bad'\$"
		done
	done
	run pbfire --timeout 2d /dev/null
	assert_failure 2
	assert_line "pbfire: --timeout: expected seconds from 0.001 to 86400, or a duration such as 500ms or 2m, got '2d'"
	for bad in 1x -1s 1e999s 99999999999999999999s 367d 5s,,5m 5s, '' s; do
		run pbfire --schedule "$bad" /dev/null
		assert_failure 2
		assert_line "pbfire: --schedule: expected waits such as 5s,5m,2h,1d (at most 32), got '$bad'"
	done
}

@test "--schedule 1.5d: a failed line comes back 1.2 to 1.8 days later" {
	start_receiver
	echo "{\"url\":\"$RECV/down?status=503\"}" > in
	run pbfire --allow-net 127.0.0.0/8 --spool retry.spool --schedule 1.5d --breaker 0 in
	assert_success
	wait=$(jq '.result | [.retry_at, .fired_at] | map(sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) | .[0] - .[1]' <<<"$output")
	assert_equal "$(awk -v w="$wait" 'BEGIN { print (w >= 0.8 * 1.5 * 86400 - 1 && w <= 1.2 * 1.5 * 86400 + 1) }')" 1
}

@test "redirects are not followed unless --follow, and only to http(s)" {
	start_receiver
	echo "{\"url\":\"$RECV/r?redirect=$RECV/target\"}" > in
	run fire in
	assert_failure 1
	assert_equal "$(jq -c '[.result.status, .result.error]' <<<"$output")" '[302,"http"]'
	assert_equal "$(seen)" "GET /r?redirect=$RECV/target"
	run fire --follow 1 in
	assert_success
	assert_equal "$(seen | tail -n 1)" "GET /target"
	echo "{\"url\":\"$RECV/r?redirect=file:///etc/passwd\"}" > in
	run fire --follow 1 in
	assert_failure 1
	assert_equal "$(jq -r .result.error <<<"$output")" invalid
}

@test "loopback is refused without --allow-private, by address and by name" {
	start_receiver
	printf '{"url":"%s/a"}\n{"url":"http://localhost:%s/b"}\n{"url":"http://169.254.169.254/latest/meta-data/"}\n' \
		"$RECV" "$PORT" > in
	run pbfire --connect-timeout 2 in
	assert_failure 1
	assert_equal "$(seen)" ""
	assert_equal "$(jq -r '.result.error' <<<"$output" | sort -u)" blocked
	assert_equal "$(jq -r 'select(.url | contains("169.254")) | .result.message' <<<"$output")" \
		"refused to connect to 169.254.169.254, a link-local address (see --allow-private)"
	run pbfire --allow-private in --connect-timeout 0.2 --retries 0
	assert_equal "$(seen | wc -l)" 2
}

@test "one stuck host does not hold back another" {
	start_receiver
	for i in 1 2 3 4; do echo "{\"url\":\"$RECV/slow$i?delay=2\"}"; done > in
	echo "{\"url\":\"http://localhost:$PORT/fast\"}" >> in
	start=$(date +%s.%N)
	fire --per-host 2 in > out
	assert_equal "$(jq -r .url out | head -n 1)" "http://localhost:$PORT/fast"
	fast=$(jq -r 'select(.path == "/fast") | .t' recv.ndjson)
	assert_equal "$(awk -v s="$start" -v f="$fast" 'BEGIN { print (f - s < 1) }')" 1
}

@test "--threads 4: lanes on threads of their own send every line once, and each gets one result" {
	start_receiver
	for i in $(seq 300); do
		host=127.0.0.1; [ $((i % 2)) = 0 ] && host=localhost
		echo "{\"url\":\"http://$host:$PORT/t$i?n=$i\",\"postback\":{\"key\":\"k$i\"}}"
	done > in
	pbfire --allow-net 127.0.0.0/8 --allow-net ::1 --threads 4 -j 32 --per-host 16 --ledger fired in > out &
	pid=$!
	most=0
	while kill -0 "$pid" 2>/dev/null; do
		n=$(ls "/proc/$pid/task" 2>/dev/null | wc -l)
		[ "$n" -le "$most" ] || most=$n
		sleep 0.01
	done
	wait "$pid"
	assert_equal "$(wc -l < out)" 300
	assert_equal "$(jq -r .result.ok out | sort -u)" true
	assert_equal "$(jq -r .postback.key out | sort -u | wc -l)" 300
	assert_equal "$(seen | sort -u | wc -l)" 300
	assert_equal "$(seen | wc -l)" 300
	assert_equal "$(ledger_keys fired | wc -l)" 300
	# the main thread and three lanes' threads (a sanitizer's runtime
	# may add one of its own)
	assert [ "$most" -ge 4 ]
}

@test "--threads 3: at the end of --grace the attempts in flight in every lane end as interrupted" {
	start_receiver
	for i in $(seq 6); do echo "{\"url\":\"$RECV/f$i\"}"; done > in
	for i in $(seq 6); do echo "{\"url\":\"$RECV/s$i?delay=20\"}"; done >> in
	pbfire --allow-net 127.0.0.0/8 --threads 3 --per-host 6 --grace 0.3 in > out 2> err &
	pid=$!
	for _ in $(seq 200); do [ "$(seen | grep -c /s)" = 6 ] && break; sleep 0.05; done
	start=$(date +%s.%N)
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	end=$(date +%s.%N)
	assert_equal "$status" 1
	assert_equal "$(wc -l < out)" 12
	assert_equal "$(jq -r 'select(.url | contains("/f")) | .result.ok' out | sort | uniq -c | awk '{ print $1, $2 }')" "6 true"
	assert_equal "$(jq -r 'select(.url | contains("/s")) | .result.message' out | sort -u)" \
		"interrupted; the last attempt's outcome is unknown"
	assert_equal "$(awk -v s="$start" -v e="$end" 'BEGIN { print (e - s < 3) }')" 1
}

@test "--threads: 1 to 64" {
	run pbfire --threads 0 /dev/null
	assert_failure 2
	assert_output --partial "pbfire: --threads: expected a number from 1 to 64, got '0'"
	run pbfire --threads 65 /dev/null
	assert_failure 2
	run pbfire --threads 64 -j 2 /dev/null
	assert_success
}

@test "a freed slot is refilled at once: -j 1 and --per-host 1 over six requests take well under a second each" {
	start_receiver
	for i in $(seq 6); do echo "{\"url\":\"$RECV/n$i\"}"; done > in
	for limit in "-j 1" "--per-host 1"; do
		start=$(date +%s.%N)
		fire $limit in > out
		end=$(date +%s.%N)
		assert_equal "$(jq -r .result.ok out | sort -u)" true
		assert_equal "$limit: $(awk -v s="$start" -v e="$end" 'BEGIN { print (e - s < 3) }')" "$limit: 1"
	done
	assert_equal "$(seen | wc -l)" 12
}

@test "--grace ends a request in flight on time, not at the next tick" {
	start_receiver
	echo "{\"url\":\"$RECV/stuck?delay=30\"}" > in
	mkfifo fifo
	pbfire --allow-net 127.0.0.0/8 --grace 500ms < fifo > out 2> err &
	pid=$!
	exec 4> fifo
	cat in >&4
	for _ in $(seq 100); do
		[ "$(wc -l < recv.ndjson)" -eq 1 ] && break
		sleep 0.05
	done
	start=$(date +%s.%N)
	kill -TERM "$pid"
	wait "$pid" || true
	end=$(date +%s.%N)
	exec 4>&-
	assert_equal "$(jq -r .result.error out)" interrupted
	assert_equal "$(awk -v s="$start" -v e="$end" 'BEGIN { print (e - s < 2) }')" 1
}

@test "--ledger: replaying the same lines fires each postback once" {
	start_receiver
	for k in a b c; do echo "{\"url\":\"$RECV/$k\",\"postback\":{\"key\":\"t1:pb:$k\"}}"; done > in
	echo "{\"url\":\"$RECV/a2\",\"postback\":{\"key\":\"t1:pb:a\"}}" >> in
	run fire --ledger fired in
	assert_success
	assert_equal "$(seen | wc -l)" 3
	run fire --ledger fired in
	assert_success
	assert_equal "$(seen | wc -l)" 3
	assert_output ""
	run fire --ledger fired --duplicates in
	assert_success
	assert_equal "$(seen | wc -l)" 3
	assert_equal "$(jq -r '[.result.ok, .result.error] | @tsv' <<<"$output" | sort -u)" "$(printf 'true\tduplicate')"
	assert_equal "$(ledger_keys fired | sort)" "$(printf 't1:pb:a\nt1:pb:b\nt1:pb:c')"
}

@test "--ledger: a bad line with a delivered key does not make the key deliverable again" {
	start_receiver
	echo "{\"url\":\"$RECV/a\",\"postback\":{\"key\":\"k\"}}" > in
	run fire --ledger fired in
	assert_success
	printf '{"url":"ftp://x/","postback":{"key":"k"}}\n{"url":"%s/again","postback":{"key":"k"}}\n' "$RECV" > in2
	run fire --ledger fired --duplicates in2
	assert_equal "$(jq -r .result.error <<<"$output" | paste -sd,)" "invalid,duplicate"
	assert_equal "$(seen)" "GET /a"
	run pbfire --dry-run --ledger fired in2
	assert_equal "$(jq -r .result.error <<<"$output" | paste -sd,)" "invalid,duplicate"
}

@test "--dry-run with a ledger: the second line of one key shows as a duplicate" {
	printf '{"url":"http://h.example/1","postback":{"key":"k"}}\n{"url":"http://h.example/2","postback":{"key":"k"}}\n' > in
	run pbfire --dry-run --ledger fired in
	assert_success
	assert_equal "$(jq -r .result.error <<<"$output" | paste -sd,)" "null,duplicate"
	assert [ ! -e fired ]
}

@test "--ledger: a torn last key is cut off, not glued to the next one" {
	start_receiver
	printf 'a\nb' > fired
	echo "{\"url\":\"$RECV/c\",\"postback\":{\"key\":\"c\"}}" > in
	run fire --ledger fired in
	assert_success
	assert_line "pbfire: fired: dropping an incomplete last key"
	assert_equal "$(ledger_keys fired)" $'a\nc'
}

@test "--key names another field; a failed key is settled as failed" {
	start_receiver
	printf '{"id":"x1","url":"%s/ok"}\n{"id":"x2","url":"%s/no?status=400"}\n' "$RECV" "$RECV" > in
	run fire --ledger fired --key id in
	assert_failure 1
	assert_equal "$(head -n 1 fired | sed 's/^[0-9]*//')" 'pbfire-ledger 3'
	# the two requests go at once: their keys are settled in either order
	assert_equal "$(tail -n +2 fired | sed 's/^[0-9]*//' | sort)" $' x1\nf x2'
}

@test "a ledger in use by another pbfire is refused" {
	start_receiver
	echo "{\"url\":\"$RECV/s?delay=2\",\"postback\":{\"key\":\"k\"}}" > in
	fire --ledger fired in > /dev/null &
	first=$!
	sleep 0.5
	run fire --ledger fired < /dev/null
	assert_failure 2
	assert_output --partial "fired: in use by another pbfire"
	wait "$first"
}

# terminated SECONDS OPTION...: pbfire with the options, reading the
# lines of in from a pipe left open, SIGTERMed after SECONDS; its records
# in out, its exit status in status.
terminated() {
	rm -f fifo
	mkfifo fifo
	pbfire --allow-net 127.0.0.0/8 "${@:2}" < fifo > out 2> err &
	pid=$!
	exec 4> fifo
	cat in >&4
	sleep "$1"
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	exec 4>&-
}

@test "SIGTERM: every line read gets a result; a rerun with the ledger fires the rest once" {
	start_receiver
	for i in $(seq 6); do echo "{\"url\":\"$RECV/s$i?delay=0.1\",\"postback\":{\"key\":\"k$i\"}}"; done > in
	for i in $(seq 7 10); do echo "{\"url\":\"$RECV/s$i?delay=5\",\"postback\":{\"key\":\"k$i\"}}"; done >> in
	terminated 1 --ledger fired --grace 0.5
	assert_equal "$status" 1
	assert_equal "$(wc -l < out)" 10
	assert_equal "$(jq -r .result.error out | sort | uniq -c | awk '{ print $1, $2 }')" "$(printf '4 interrupted\n6 null')"
	assert_equal "$(ledger_keys fired | wc -l)" 6
	sed -i 's/delay=5/delay=0/' in
	run fire --ledger fired --duplicates in
	assert_success
	assert_equal "$(seen | cut -d'?' -f1 | sort | uniq -d)" "$(printf 'GET /s10\nGET /s7\nGET /s8\nGET /s9')"
	assert_equal "$(jq -r .result.error <<<"$output" | sort | uniq -c | awk '{ print $1, $2 }')" "$(printf '6 duplicate\n4 null')"
}

@test "SIGTERM: a line waiting to retry is reported with its last attempt's outcome" {
	start_receiver
	printf '{"url":"%s/retry?status=503"}\n{"url":"%s/next"}\n' "$RECV" "$RECV" > in
	pbfire --allow-net 127.0.0.0/8 -j 1 --backoff 30 in > out 2> err &	# /next starts once /retry's attempt is over
	pid=$!
	for _ in $(seq 100); do
		[ "$(wc -l < recv.ndjson)" -eq 2 ] && break
		sleep 0.05
	done
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 1
	assert_equal "$(jq -c 'select(.url | contains("retry")) | .result | [.error, .status, .attempts, .message]' out)" \
		'["interrupted",503,1,"interrupted waiting to retry; the last attempt: HTTP 503"]'
}

# lease FILE SECONDS: a lease (pbfire --lease) in FILE that runs SECONDS
# from now on the monotonic clock, or that ran out when SECONDS is 0;
# replaced whole, as pbgroup writes it.
lease() {
	python3 -c 'import sys, time; print(time.monotonic_ns() + int(float(sys.argv[1]) * 1e9) if sys.argv[1] != "0" else 1)' \
		"$2" > "$1.new"
	mv "$1.new" "$1"
}

# requests_held WHAT: fails, saying WHAT, if the receiver got a request
# or pbfire wrote a record.
requests_held() {
	[ ! -s recv.ndjson ] || fail "$1: $(wc -l < recv.ndjson) requests sent"
	[ ! -s out ] || fail "$1: $(wc -l < out) records written"
}

@test "--lease: a lease run out holds every line, without a record, until it runs again; one that runs out, or is withdrawn, stops new requests" {
	start_receiver
	lease lease 0
	for i in $(seq 300); do echo "{\"url\":\"$RECV/s$i\",\"postback\":{\"key\":\"k$i\"}}"; done > in
	mkfifo fifo
	pbfire --allow-net 127.0.0.0/8 --lease lease --ledger fired < fifo > out 2> err &
	pid=$!
	exec 4> fifo
	cat in >&4
	sleep 1
	requests_held "with the lease run out"
	lease lease 60
	exec 4>&-
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 0
	assert_equal "$(seen | sort -u | wc -l)" 300
	assert_equal "$(seen | wc -l)" 300
	assert_equal "$(jq -r .result.ok out | sort | uniq -c | awk '{ print $1, $2 }')" "300 true"
	# A lease of a second, requests of 0.3 s one at a time: what starts
	# while it runs (4 at most), and nothing after.
	: > recv.ndjson; : > out	# the receiver appends to its open log
	for i in $(seq 20); do echo "{\"url\":\"$RECV/t$i?delay=0.3\"}"; done > in
	lease lease 1
	pbfire --allow-net 127.0.0.0/8 --lease lease -j 1 < in > out 2> err &
	pid=$!
	sleep 3
	sent=$(seen | wc -l)
	kill -TERM "$pid"
	wait "$pid" || true
	[ "$sent" -ge 1 ] || fail "nothing sent while the lease ran"
	[ "$sent" -le 4 ] || fail "$sent requests sent for a lease of 1 s"
	# A lease of a minute withdrawn (pbgroup removes the file at a
	# revocation): within 0.1 s no request starts, whatever its end said;
	# the one in flight, and one starting in that 0.1 s, may still go.
	: > recv.ndjson; : > out	# the receiver appends to its open log
	lease lease 60
	pbfire --allow-net 127.0.0.0/8 --lease lease -j 1 < in > out 2> err &
	pid=$!
	await pbfire "$pid" test -s recv.ndjson	# a request went while the lease ran
	rm lease
	before=$(seen | wc -l)
	sleep 2
	sent=$(seen | wc -l)
	kill -TERM "$pid"
	wait "$pid" || true
	[ "$sent" -le $((before + 2)) ] || fail "$((sent - before)) requests sent after the lease was withdrawn"
}

@test "--lease: SIGTERM while a lease has run out: held lines are interrupted before they were sent, or kept in the spool" {
	start_receiver
	lease lease 0
	for i in $(seq 5); do echo "{\"url\":\"$RECV/s$i\",\"postback\":{\"key\":\"k$i\"}}"; done > in
	for spool in "" --spool=retry.spool; do
		terminated 0.5 --lease lease --ledger fired $spool
		[ ! -s recv.ndjson ] || fail "$spool: $(wc -l < recv.ndjson) requests sent"
		assert_equal "$(jq -r '.result | [.error, .message] | join(": ")' out | sort -u)" \
			"interrupted: interrupted before it was sent${spool:+; kept in the spool}"
		assert_equal "$(wc -l < out)" 5
		[ ! -s fired ] || assert_equal "$(ledger_keys fired)" ""
	done
	assert_equal "$status" 0	# with the spool: waiting there, not failed
	assert_equal "$(jq -r .result.final out | sort -u)" false
	# The spool sends them once a pbfire runs without the lease.
	run fire --ledger fired --spool retry.spool < /dev/null
	assert_success
	assert_equal "$(seen | sort -u | wc -l)" 5
}

@test "--dry-run sends nothing and shows the request" {
	start_receiver
	echo "{\"url\":\"$RECV/hook\",\"body\":\"a=1\",\"headers\":{\"X-T\":\"v\"}}" > in
	run pbfire --dry-run -v in
	assert_success
	assert_equal "$(seen)" ""
	assert_line "pbfire: line 1: would send POST $RECV/hook"
	assert_line "    X-T: v"
	assert_line "    a=1"
	record=$(grep '^{' <<<"$output")
	assert_equal "$(jq -c '.result | [.ok, .dry_run, .status, .request.method, .request.headers, .request.body]' <<<"$record")" \
		'[true,true,0,"POST",{"X-T":"v"},"a=1"]'
}

@test "a failed record fed back is fired again, its old result replaced" {
	start_receiver
	echo "{\"url\":\"$RECV/x?fail=1&key=z\"}" > in
	fire --retries 0 in > first || true
	assert_equal "$(jq -r .result.round first)" 1
	jq -e .result.retry_at first
	run fire first
	assert_success
	assert_equal "$(jq -c '[.result.ok, .result.round]' <<<"$output")" '[true,2]'
	assert_equal "$(grep -o '"result"' <<<"$output" | wc -l)" 1
}

@test "bad lines: invalid JSON is rejected, a bad request is a failed result" {
	start_receiver
	printf 'nope\n{"url":"ftp://x/y"}\n{"no":"url"}\n{"url":"%s/ok"}\n' "$RECV" > in
	run fire --reject rej in
	assert_failure 1
	assert_line "pbfire: in:1: invalid JSON: not a JSON object at column 1"
	assert_equal "$(cat rej)" nope
	assert_equal "$(grep -c '"error":"invalid"' <<<"$output")" 2
	assert_equal "$(seen)" "GET /ok"
}

@test "a record with a header or URL pb refuses is invalid and never sent, dry run or not" {
	start_receiver
	cat > in <<EOF
{"url":"$RECV/ok"}
{"url":"$RECV/host","headers":{"Host":"internal.example"}}
{"url":"$RECV/conn","headers":{"connection":"Upgrade"}}
{"url":"$RECV/name","headers":{"X:Y":"v"}}
{"url":"$RECV/tab","headers":{"X-A":"a\tb"}}
{"url":"$RECV/ct","body":"a=1","postback":{"content_type":"text/plain\r\nX-Evil: 1"}}
{"url":"/relative"}
{"url":"http:///127.0.0.1:$PORT/nohost"}
{"url":"$RECV/nul\u0000"}
EOF
	for dry in --dry-run ""; do
		run fire $dry in
		assert_failure 1
		assert_equal "$(jq -s -r 'sort_by(.result.line)[] | .result.error // "ok"' <<<"$output" | paste -sd' ')" \
			"ok$(printf ' invalid%.0s' $(seq 8))"
	done
	assert_equal "$(seen)" "GET /ok"
	messages=$(jq -s -r 'sort_by(.result.line)[] | select(.result.error) | .result.message' <<<"$output")
	assert_equal "$messages" "$(cat <<'EOF'
headers: Host: a header pbfire sets itself
headers: connection: a header pbfire sets itself
headers: X:Y: not a header name (letters, digits and !#$%&'*+-.^_`|~ only)
headers: X-A: a control character (CR, LF, ...) in the value
postback.content_type: Content-Type: a control character (CR, LF, ...) in the value
url: not an http or https URL
url: no host
url: a NUL character
EOF
)"
}

# verdict CMD...: "takes" when CMD succeeds, else "refuses".
verdict() {
	if "$@" > /dev/null 2>&1; then echo takes; else echo refuses; fi
}

# verdicts NAME: the verdicts of the rule loader, pbexpand and pbfire on
# a header NAME, on one line.
verdicts() {
	printf 'postbacks:\n  - {name: p, type: click, url: "https://h.example/", headers: {"%s": v}}\n' "$1" > rules.yaml
	record=$(jq -nc --arg n "$1" '{url: "https://h.example/", postback: {url: "https://h.example/", headers: {($n): "v"}}}
		| .headers = .postback.headers')
	echo "$(verdict pbmatch --check -r rules.yaml) $(verdict pbexpand <<<"$record") $(verdict pbfire --dry-run <<<"$record")"
}

@test "the rule loader, pbexpand and pbfire agree on the headers a postback may set" {
	for name in Host content-length Transfer-Encoding Connection Keep-Alive Proxy-Connection TE Trailer \
		Upgrade Expect "Bad Name" "X:Y" ""; do
		assert_equal "$name: $(verdicts "$name")" "$name: refuses refuses refuses"
	done
	for name in X-Token Authorization Content-Type; do
		assert_equal "$name: $(verdicts "$name")" "$name: takes takes takes"
	done
}

@test "usage errors exit 2" {
	run pbfire -j 0
	assert_failure 2
	run pbfire --allow-net 10.0.0.0/33
	assert_failure 2
	run pbfire --nope
	assert_failure 2
}

@test "--stats and -v say one line, request and attempt in the singular" {
	start_receiver
	printf '{"url":"%s/a"}\n' "$RECV" > one
	run fire -v --stats one
	assert_success
	assert_line "pbfire: 1 line read, 0 rejected, 1 line sent in 1 request"
	assert_line --regexp "^pbfire: line 1: ok 200 in [0-9.]+ ms after 1 attempt: $RECV/a$"
	printf '{"url":"%s/b?status=500"}\n' "$RECV" > two
	run fire -v --retries 1 two
	assert_failure 1
	assert_line --regexp "^pbfire: line 1: http 500 in [0-9.]+ ms after 2 attempts: HTTP 500: $RECV/b\\?status=500$"
}

@test "--stats counts lines, requests with their retries, outcomes and hosts" {
	start_receiver
	printf '{"url":"%s/a"}\n{"url":"%s/b?status=500"}\n' "$RECV" "$RECV" > in
	run fire --retries 2 --stats in
	assert_failure 1
	assert_line "pbfire: 2 lines read, 0 rejected, 2 lines sent in 4 requests"
	assert_line "pbfire: host http://127.0.0.1:$PORT: 1 ok, 1 failed"
	assert_line --partial "pbfire: latency ms (within 1%): p50"
}

@test "on a terminal: a progress line on standard error, the records on standard output" {
	start_receiver
	printf '{"url":"%s/a"}\n{"url":"%s/b?status=500"}\n' "$RECV" "$RECV" > in
	run script -qec "pbfire --allow-net 127.0.0.0/8 --retries 0 in 2>&1 > out" /dev/null
	assert_output --partial "pbfire: 2 sent, 1 ok, 1 failed, 0 superseded, 0 already settled, 0 in flight"
	assert_equal "$(wc -l < out)" 2
}
