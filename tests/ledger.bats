#!/usr/bin/env bats
# pbfire's ledger: retention (--ledger-keep), the first file format,
# compaction cut short by SIGKILL or leaving a stray .new, a ledger that
# cannot be written, and one of a later version.

load helper

# fire ARGS...: pbfire with loopback allowed, writing the records of
# lines whose key is settled already (--duplicates).
fire() {
	pbfire --allow-net 127.0.0.0/8 --backoff 0.05 --duplicates "$@"
}

# lines KEY...: a line per key, each to its own path of the receiver.
lines() {
	for k in "$@"; do echo "{\"url\":\"$RECV/$k\",\"postback\":{\"key\":\"$k\"}}"; done
}

# errors: "KEY ERROR" for each result record on stdin.
errors() {
	jq -r '"\(.postback.key) \(.result.error)"'
}

# big_ledger FILE N: a ledger of N keys, three in four delivered 40 days
# ago and the rest an hour ago, so that loading it compacts it.
big_ledger() {
	awk -v n="$2" -v now="$(date +%s)" 'BEGIN {
		print "pbfire-ledger 2"
		for (i = 1; i <= n; i++)
			printf "%d t%07d:pub7-approved:approved\n", now - (i % 4 ? 40 * 86400 : 3600), i
	}' > "$1"
}

@test "--ledger-keep: keys older than 30 days are forgotten and compacted away, newer ones kept" {
	start_receiver
	now=$(date +%s)
	printf 'pbfire-ledger 2\n%d old1\n%d old2\n%d new1\n%d new2\n' \
		$((now - 40 * 86400)) $((now - 31 * 86400)) $((now - 3600)) $((now - 60)) > fired
	lines old1 new1 > in
	run fire --ledger fired in
	assert_success
	assert_equal "$(errors <<<"$output" | sort)" $'new1 duplicate\nold1 null'
	assert_equal "$(seen)" "GET /old1"
	assert_equal "$(ledger_keys fired)" $'new1\nnew2\nold1'
	assert_equal "$(sed -n 2p fired)" "$((now - 3600)) new1"
	date=$(awk '$2 == "old1" { print $1 }' fired)
	assert_equal "$(awk -v d="$date" -v n="$now" 'BEGIN { print (d >= n && d < n + 60) }')" 1
}

@test "--ledger-keep: units, 0 for forever, and a bad duration refused" {
	start_receiver
	now=$(date +%s)
	printf 'pbfire-ledger 3\n%d a\n%d b\n%d c\n' $((now - 400 * 86400)) $((now - 7200)) $((now - 600)) > ledger
	lines a b c > in
	cp ledger fired
	run fire --ledger fired --ledger-keep 1h in
	assert_equal "$(errors <<<"$output" | sort)" $'a null\nb null\nc duplicate'
	cp ledger fired
	run fire --ledger fired --ledger-keep 0 in
	assert_equal "$(errors <<<"$output" | sort)" $'a duplicate\nb duplicate\nc duplicate'
	assert_equal "$(cat fired)" "$(cat ledger)"
	cp ledger fired
	run fire --ledger fired --ledger-keep 90m in
	assert_equal "$(errors <<<"$output" | sort)" $'a null\nb null\nc duplicate'
	cp ledger fired
	run fire --ledger fired --ledger-keep 7300s in
	assert_equal "$(errors <<<"$output" | sort)" $'a null\nb duplicate\nc duplicate'
	for bad in 1w -1d d 30dd 1h2m 0.5s 1e999s 101y 36601d; do
		run pbfire --ledger fired --ledger-keep "$bad" < /dev/null
		assert_failure 2
		assert_line --partial "--ledger-keep: expected a duration"
	done
}

@test "a ledger of the first format loads, its keys dated by the file, and is rewritten with dates" {
	start_receiver
	printf 'a\nb\\nc\n\nd\\\\e\n' > fired
	touch -d @$(($(date +%s) - 86400)) fired
	mtime=$(stat -c %Y fired)
	printf '{"url":"%s/1","postback":{"key":"a"}}\n{"url":"%s/2","postback":{"key":"b\\nc"}}\n{"url":"%s/3","postback":{"key":"d\\\\e"}}\n{"url":"%s/4","postback":{"key":"f"}}\n' \
		"$RECV" "$RECV" "$RECV" "$RECV" > in
	run pbfire --dry-run --ledger fired in
	assert_equal "$(jq -r .result.error <<<"$output" | paste -sd,)" "duplicate,duplicate,duplicate,null"
	assert_equal "$(head -n 1 fired)" a	# a dry run does not rewrite it
	run fire --ledger fired in
	assert_success
	assert_equal "$(jq -r .result.error <<<"$output" | paste -sd,)" "duplicate,duplicate,duplicate,null"
	assert_equal "$(head -n 4 fired)" "$(printf 'pbfire-ledger 3\n%d a\n%d b\\nc\n%d d\\\\e' "$mtime" "$mtime" "$mtime")"
	assert_equal "$(ledger_keys fired | tail -n 1)" f
}

@test "a ledger of the first format untouched for longer than --ledger-keep is forgotten" {
	start_receiver
	printf 'a\nb\n' > fired
	touch -d @$(($(date +%s) - 31 * 86400)) fired
	lines a > in
	run fire --ledger fired in
	assert_success
	assert_equal "$(errors <<<"$output")" "a null"
	assert_equal "$(ledger_keys fired)" a
}

@test "a line of the file format without a date is kept, dated by the file, and given one" {
	start_receiver
	printf 'pbfire-ledger 2\nno date here\n12345678901234567890 too many digits\n' > fired
	mtime=$(stat -c %Y fired)
	echo "{\"url\":\"$RECV/x\",\"postback\":{\"key\":\"no date here\"}}" > in
	run fire --ledger fired in
	assert_success
	assert_equal "$(errors <<<"$output")" "no date here duplicate"
	assert_equal "$(cat fired)" "$(printf 'pbfire-ledger 3\n%d no date here\n%d 12345678901234567890 too many digits' "$mtime" "$mtime")"
}

@test "a leftover .new from a compaction cut short is removed and the ledger left whole" {
	start_receiver
	now=$(date +%s)
	printf 'pbfire-ledger 2\n%d a\n%d b\n' "$now" "$now" > fired
	printf 'pbfire-ledger 2\n%d a\n%d b\n%d half-writ' "$now" "$now" "$now" > fired.new
	lines a b c > in
	run fire --ledger fired in
	assert_success
	assert_equal "$(errors <<<"$output" | sort)" $'a duplicate\nb duplicate\nc null'
	assert [ ! -e fired.new ]
	assert_equal "$(ledger_keys fired)" $'a\nb\nc'
}

# A compaction killed at any moment leaves the old ledger or the new one,
# byte for byte, and the next run compacts it as an uninterrupted one did.
check_killed() {
	if ! cmp -s fired before && ! cmp -s fired after; then
		fail "after a kill $1: the ledger is neither the old one nor the new one"
	fi
	pbfire --ledger fired < /dev/null
	cmp fired after || fail "after a kill $1: the next run did not compact it as expected"
	assert [ ! -e fired.new ]
}

@test "SIGKILL during a compaction loses nothing: the old ledger or the new one, whole" {
	big_ledger before 200000
	cp -p before fired
	start=$(date +%s%N)
	pbfire --ledger fired < /dev/null
	took=$(( ($(date +%s%N) - start) / 1000000 ))
	cp fired after
	assert_equal "$(ledger_keys after | wc -l)" 50000
	for percent in 5 15 30 45 60 75 90 120 150 200; do
		cp -p before fired
		pbfire --ledger fired < /dev/null &
		pid=$!
		sleep "$(awk -v t="$took" -v p="$percent" 'BEGIN { print t * p / 100000 }')"
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" || true
		check_killed "at $percent% of a run"
	done
}

@test "SIGKILL at each step of a compaction (strace): the old ledger or the new one, whole" {
	needs_strace
	big_ledger before 200000
	cp -p before fired
	pbfire --ledger fired < /dev/null
	cp fired after
	# the first write to fired.new, the second (1 MiB in), its fsync, the
	# rename, the directory's fsync
	for step in write:when=1 write:when=2 fsync:when=1 rename:when=1 fsync:when=2; do
		cp -p before fired
		run strace -f -o /dev/null -e trace="${step%%:*}" -e inject="$step:error=EIO:signal=KILL" \
			pbfire --ledger fired < /dev/null
		assert_equal "$status" 137
		check_killed "at $step"
	done
}

# as_other CMD...: CMD as an unprivileged user when run as root, whom file
# modes do not stop; as is otherwise.
as_other() {
	if [ "$(id -u)" = 0 ]; then
		chmod o+x "$BATS_RUN_TMPDIR"
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}

@test "a read-only ledger stops pbfire with exit 2, before it sends anything" {
	start_receiver
	mkdir d
	printf 'pbfire-ledger 2\n%d a\n' "$(date +%s)" > d/fired
	chmod 755 d
	chmod 444 d/fired
	lines a b > in
	chmod 644 in
	run as_other pbfire --allow-net 127.0.0.0/8 --ledger d/fired in
	assert_failure 2
	assert_output "pbfire: d/fired: cannot open the ledger for writing: Permission denied"
	assert_equal "$(wc -l < recv.ndjson)" 0
}

@test "a ledger in a read-only directory stops pbfire with exit 2, before it sends anything" {
	start_receiver
	mkdir d
	printf 'pbfire-ledger 2\n%d a\n' "$(date +%s)" > d/fired
	chmod 555 d
	[ "$(id -u)" != 0 ] || chown 65534 d/fired
	lines a b > in
	chmod 644 in
	run as_other pbfire --allow-net 127.0.0.0/8 --ledger d/fired in
	assert_failure 2
	assert_output "pbfire: d/fired.new: cannot create the file that compacting the ledger needs: Permission denied"
	assert_equal "$(wc -l < recv.ndjson)" 0
	chmod 755 d
}

@test "a ledger of a later version is refused, not rewritten" {
	printf 'pbfire-ledger 4\nwhatever it holds\n' > fired
	cp fired before
	run pbfire --ledger fired < /dev/null
	assert_failure 2
	assert_output "pbfire: fired: a ledger of version 4, newer than this pbfire reads"
	cmp fired before
}
