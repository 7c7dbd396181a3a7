#!/usr/bin/env bats
# Long waits end on time: a line held a minute goes out never before its
# time, within 10 ms of it from pbdelay and 30 ms from pbfire. A wait of a
# minute as a poll() timeout ends some 60 ms late every time, stretched
# by the kernel's timer slack; a loaded machine may delay a line as much
# now and then, by the scheduler. So six lines go through each tool, each
# alone in its process, half a second apart, and the best of them has
# to be on time. The holds run at once, to spend the minute once; every
# process starts first and the lines come from 1.5 s on, so that no
# start-up and no other line's wait shares their moments.

load helper

# A sanitized build (make check SANITIZE=1 puts it in build/san) is
# timed by its instrumentation, not by the code: these minute-long waits
# run once, on the build that ships.
setup() {
	[[ $PB_BIN != */san ]] || skip "timing is the plain build's to show, not the sanitized one's"
	cd "$BATS_TEST_TMPDIR"
}

# verdict MS: of the lateness in ms of each line of stdin, "early" when
# any is below 0, else "late" when the least is MS or more, else "on time".
verdict() {
	awk -v bound="$1" 'NR == 1 || $1 < least { least = $1 }
	     END { print (least < 0 ? "early" : least >= bound ? "late" : "on time") }'
}

@test "a line held a minute goes out within 10 ms of its time from pbdelay, and within 30 from pbfire after a Retry-After" {
	start_receiver
	pids=()
	for i in 0 1 2 3 4 5; do
		(sleep "$((150 + 50 * i))e-2"; echo "{\"url\":\"$RECV/$i?key=$i&fail=1&retry_after=60\"}") |
			pbfire --allow-net 127.0.0.0/8 --threads 1 > "fired$i" &
		pids+=($!)
	done
	for i in 0 1 2 3 4 5; do
		(sleep "$((175 + 50 * i))e-2"; echo "{\"fire_at\":$(at 60)}") | pbdelay &
	done | stamp > released
	wait "${pids[@]}"
	# pbdelay: from fire_at to the line's arrival at the reader
	pbdelay_late=$(jq -Rr 'split(" ") | ((.[0] | tonumber) - (.[1] | fromjson | .fire_at)) * 1000' released)
	# pbfire: from the first attempt's arrival at the receiver, 60 s on
	# (a little before the host's wait, which starts at the answer, ends),
	# to the second attempt's start; one lane, the main thread's, which
	# waits, so that no other thread's hop is counted
	pbfire_late=$(for i in 0 1 2 3 4 5; do
		jq -r --argjson first "$(jq -s "map(select(.path | startswith(\"/$i?\")))[0].t" recv.ndjson)" \
			'.result.fired_at | ((.[0:19] + "Z" | fromdateiso8601) + ("0" + .[19:-1] | tonumber) - $first - 60) * 1000' \
			"fired$i"
	done)
	echo "ms late: pbdelay" $pbdelay_late "/ pbfire" $pbfire_late
	assert_equal "$(wc -l < released)" 6
	assert_equal "$(verdict 10 <<<"$pbdelay_late")" "on time"
	# pbfire's measure also holds the receiver's answer and pbfire's reading
	# of it (the wait starts there), some ms on a loaded machine; 30 ms still
	# tells a wait stretched by the slack (60 ms and more) from one that is not
	assert_equal "$(verdict 30 <<<"$pbfire_late")" "on time"
	assert_equal "$(cat fired* | jq -c '.result | [.ok, .attempts]' | uniq -c | xargs)" '6 [true,2]'
}
