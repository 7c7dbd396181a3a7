#!/usr/bin/env bats
# pbdelay end to end: release times and order, time formats, bad input,
# the spool across restarts, --due-only, signals and compaction.

load helper

# never_early FILE: the stamped lines that arrived before their fire_at.
never_early() {
	jq -Rr 'split(" ") as $f | ($f[1:] | join(" ") | fromjson) as $r
		| select(($f[0] | tonumber) < $r.fire_at) | "early: \(.)"' "$1"
}

@test "lines without the field or already due go out at once, unchanged" {
	run pbdelay <<'EOF'
{"id":1}
{"id":2, "fire_at":"2020-01-01T00:00:00Z"}
{"id":3,"fire_at":null}
{"id":4,"fire_at":1577836800.25}
EOF
	assert_success
	assert_output - <<'EOF'
{"id":1}
{"id":2, "fire_at":"2020-01-01T00:00:00Z"}
{"id":3,"fire_at":null}
{"id":4,"fire_at":1577836800.25}
EOF
}

@test "a held line comes out at its time, not before, while later lines pass" {
	t=$(at 2)
	printf '{"id":1,"fire_at":%s}\n{"id":2}\n' "$t" | pbdelay | stamp > out
	assert_equal "$(cut -d' ' -f2- out)" $'{"id":2}\n{"id":1,"fire_at":'"$t"'}'
	assert_equal "$(never_early out)" ""
	# stamp's python may take a second to start on a loaded machine
	assert_equal "$(awk -v t="$t" 'NR == 2 { print ($1 - t < 2) }' out)" 1
}

@test "release does not wait for input: a line falls due while stdin stays open" {
	t=$(at 1)
	(echo "{\"fire_at\":$t}"; sleep 5) | pbdelay | stamp > out
	arrived=$(cut -d' ' -f1 out)
	assert_equal "$(awk -v a="$arrived" -v t="$t" 'BEGIN { print (a >= t && a - t < 2) }')" 1
}

@test "lines due at the same time keep their arrival order; earlier times first" {
	t=$(at 0.6)
	u=$(at 0.3)
	for i in 1 2 3 4 5; do echo "{\"n\":$i,\"fire_at\":$t}"; done > in
	echo "{\"n\":0,\"fire_at\":$u}" >> in
	for i in 6 7 8; do echo "{\"n\":$i,\"fire_at\":$t}"; done >> in
	run bash -c 'pbdelay < in | jq -c .n | paste -sd,'
	assert_output "0,1,2,3,4,5,6,7,8"
}

@test "RFC 3339 with offsets and fractions, Unix seconds as numbers or text" {
	run pbdelay <<'EOF'
{"a":1,"fire_at":"2020-01-01T02:00:00.123456789+02:00"}
{"a":2,"fire_at":"2020-01-01t00:00:00z"}
{"a":3,"fire_at":"1577836800"}
{"a":4,"fire_at":1500000000.5}
EOF
	assert_success
	assert_equal "${#lines[@]}" 4
	t=$(date -u -d "@$(at 0.4 | cut -d. -f1)" +%Y-%m-%dT%H:%M:%S)
	later=$(date -u -d "@$(($(date +%s) + 7200))" +%Y-%m-%dT%H:%M:%S)
	printf '{"id":1,"fire_at":"%s+02:00"}\n{"id":2,"fire_at":"%s.9Z"}\n' "$later" "$t" > in
	run pbdelay --spool s --due-only in
	assert_output '{"id":1,"fire_at":"'"$later"'+02:00"}'
}

@test "-f reads another field, nested fields too" {
	t=$(at 0.4)
	printf '{"id":1,"result":{"retry_at":%s},"fire_at":0}\n{"id":2}\n' "$t" |
		pbdelay -f result.retry_at | stamp > out
	assert_equal "$(cut -d' ' -f2- out | jq -c .id | paste -sd,)" "2,1"
	assert_equal "$(awk -v t="$t" 'NR == 2 { print ($1 >= t) }' out)" 1
}

@test "bad lines are rejected with a diagnostic, the rest go on, exit 1" {
	run pbdelay --reject rej <<'EOF'
{"id":1}
not json
{"id":2,"fire_at":"tomorrow"}
{"id":3,"fire_at":true}
{"id":4,"fire_at":"9999-01-01T00:00:00Z"}
{"id":5}
EOF
	assert_failure 1
	assert_line --index 0 '{"id":1}'
	assert_line 'pbdelay: stdin:2: invalid JSON: not a JSON object at column 1'
	assert_line 'pbdelay: stdin:3: fire_at: not an RFC 3339 time or Unix seconds: tomorrow'
	assert_line 'pbdelay: stdin:4: fire_at: not an RFC 3339 time or Unix seconds: true'
	assert_line 'pbdelay: stdin:5: fire_at: time out of range: 9999-01-01T00:00:00Z'
	assert_line '{"id":5}'
	assert_equal "$(wc -l < rej)" 4
}

@test "usage errors exit 2" {
	run pbdelay --due-only
	assert_failure 2
	assert_line --partial "--due-only needs --spool"
	run pbdelay --bogus
	assert_failure 2
	run pbdelay -f ''
	assert_failure 2
}

@test "--spool: what is held survives a restart; released lines are marked" {
	far=$(at 3600)
	t=$(at 0.3)
	printf '{"id":1,"fire_at":%s}\n{"id":2,"fire_at":%s}\n' "$t" "$far" > in
	pbdelay --spool s --due-only < in > out1
	assert_equal "$(cat out1)" ""
	sleep 0.4
	pbdelay --spool s --due-only < /dev/null > out2
	assert_equal "$(jq -c .id out2)" 1
	pbdelay --spool s --due-only < /dev/null > out3
	assert_equal "$(cat out3)" ""
	assert_equal "$(head -1 s)" "pbdelay-spool 1"
	assert_equal "$(grep -c '^+' s)" 1
	assert_equal "$(grep -c '^-' s)" 1
}

@test "cron replay: yesterday's log fires what is past and holds the rest" {
	past=$(at -86400)
	soon=$(at 0.5)
	printf '{"id":1,"fire_at":%s}\n{"id":2,"fire_at":%s}\n{"id":3}\n' "$past" "$soon" > log
	run pbdelay --spool s --due-only log
	assert_success
	assert_equal "$(jq -c .id <<<"$output" | paste -sd,)" "1,3"
	sleep 0.6
	run pbdelay --spool s --due-only < /dev/null
	assert_equal "$(jq -c .id <<<"$output")" 2
}

@test "a spool in use by another pbdelay is refused" {
	sleep 2 | pbdelay --spool s &
	sleep 0.3
	run pbdelay --spool s < /dev/null
	assert_failure 2
	assert_output "pbdelay: s: in use by another pbdelay: Resource temporarily unavailable"
	wait
}

@test "a damaged spool stops pbdelay before input; a torn last record is dropped" {
	printf 'something else\n' > bad
	run pbdelay --spool bad < /dev/null
	assert_failure 2
	assert_output "pbdelay: bad: not a pbdelay spool"
	printf 'pbdelay-spool 1\n+1 {"a":1}\n+2 {"a"' > torn
	run pbdelay --spool torn < /dev/null
	assert_success
	assert_line 'pbdelay: torn: offset 27: dropping an incomplete last record'
	assert_line '{"a":1}'
	printf 'pbdelay-spool 1\n+1 {"a":1}\n*junk\n' > junk
	run pbdelay --spool junk < /dev/null
	assert_failure 2
	assert_output "pbdelay: junk: offset 27: not a spool record"
}

# interrupt SIGNAL ARGS...: starts pbdelay ARGS on a FIFO, feeds it one far
# line and one due line (or $feed), sends SIGNAL; sets pid and status.
interrupt() {
	local sig=$1
	shift
	mkfifo fifo
	pbdelay "$@" < fifo > out 2> err &
	pid=$!
	exec 4> fifo
	local text=${feed:-'{"id":1,"fire_at":%s}\n{"id":2}\n'}
	printf "$text" "$(at 3600)" >&4
	sleep 0.3
	kill "-$sig" "$pid"
	status=0
	wait "$pid" || status=$?
	exec 4>&-
}

@test "SIGTERM with a spool: held lines stay there, nothing comes out early" {
	interrupt TERM --spool s
	assert_equal "$status" 143
	assert_equal "$(cat out)" '{"id":2}'
	assert_equal "$(cat err)" "pbdelay: interrupted: 1 held line stays in s"
	assert_equal "$(grep -c '^+' s)" 1
}

@test "a signal in the middle of a line ends the input before it" {
	feed='{"id":1,"fire_at":%s}\n{"id":2}\n{"id":3,' interrupt TERM --spool s
	assert_equal "$status" 143
	assert_equal "$(cat out)" '{"id":2}'
	assert_equal "$(cat err)" "pbdelay: interrupted: 1 held line stays in s"
}

@test "SIGINT without a spool: held lines go to a file the diagnostic names" {
	TMPDIR=$PWD interrupt INT
	assert_equal "$status" 130
	assert_equal "$(cat out)" '{"id":2}'
	saved=$PWD/pbdelay-held.$pid.ndjson
	assert_equal "$(cat err)" "pbdelay: interrupted: 1 held line saved to $saved; feed it back in to resume"
	assert_equal "$(jq -c .id "$saved")" 1
}

@test "released records are compacted away; an empty spool shrinks to its header" {
	far=$(at 3600)
	t=$(at 1)
	pad=$(printf '%0300d' 0)
	{
		echo "{\"id\":\"keep\",\"fire_at\":$far}"
		seq 20000 | awk -v t="$t" -v p="$pad" '{ printf "{\"id\":%d,\"p\":\"%s\",\"fire_at\":%s}\n", $1, p, t }'
	} > in
	pbdelay --spool s --due-only < in > out
	assert_equal "$(wc -l < s)" 20002
	sleep 1.1
	pbdelay --spool s --due-only < /dev/null > out
	assert_equal "$(wc -l < out)" 20000
	# 6.6 MB were spooled; released records may take 4 MiB before compaction
	assert [ "$(stat -c %s s)" -lt $((4 * 1024 * 1024 + 1024)) ]
	assert_equal "$(grep '^+' s | cut -d' ' -f2- | jq -r .id)" keep
	printf '{"id":1,"fire_at":%s}\n' "$(at 0.2)" | pbdelay --spool e > /dev/null
	assert_equal "$(cat e)" "pbdelay-spool 1"
}

@test "SIGKILL at random moments on one spool: every line out at least once, none early" {
	run python3 "$TOP/tests/kill_pbdelay.py" --rounds 25 --lines 300
	assert_success
	assert_output --partial "ok:"
}

@test "--lag takes a duration of pb-rules(5), bare seconds too, and needs --due-only" {
	run pbdelay --spool held --due-only --lag 15m < /dev/null
	assert_success
	run pbdelay --spool held --due-only --lag 900 < /dev/null
	assert_success
	run pbdelay --spool held --due-only --lag 2y < /dev/null
	assert_failure 2
	assert_line --partial "--lag: expected a duration such as 900, 15m or 2h, at most a year, got '2y'"
	run pbdelay --spool held --due-only --lag 366d < /dev/null
	assert_failure 2
	run pbdelay --spool held --lag 1m < /dev/null
	assert_failure 2
	assert_line --partial "--lag needs --due-only"
}
