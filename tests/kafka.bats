#!/usr/bin/env bats
# pbkafka against librdkafka's mock cluster (tests/kafka_mock.c) and the
# receiver: partitions delivered once each, a failover after SIGKILL that
# rebuilds the ledger from the pb-fired topic, a restart over a day of
# actions, and consumer groups (-G): a member that leaves, joins, is
# killed, or is stopped until the group has moved on (fenced). The mock cannot find an offset by timestamp, so the replays
# start from the beginning of the partition, the widest replay s@SINCE
# can give (pb-kafka(7)).

load helper

# start_kafka [PARTITIONS]: the mock cluster with the topics pbkafka
# uses, PARTITIONS (2) each; sets BROKERS. teardown stops it.
start_kafka() {
	local n=${1:-2}
	[ -z "${MOCK_PID:-}" ] || kill "$MOCK_PID"	# setup's, for a test that wants more partitions
	rm -f mock.in brokers
	mkfifo mock.in
	"$PB_BIN/tests/kafka_mock" actions:$n pb-fired:$n pb-results:$n 0<> mock.in > brokers 3>&- &
	MOCK_PID=$!
	await "the mock Kafka cluster ($PB_BIN/tests/kafka_mock)" "$MOCK_PID" test -s brokers
	BROKERS=$(cat brokers)
}

# kafka_rules: clicks at once, conversions after the 2-minute minimum
# delay; each postback's path names its key: /NAME?tid=ID&st=STATUS.
kafka_rules() {
	rules <<EOF
postbacks:
  - name: clicks
    type: click
    scope: any
    url: $RECV/clicks?tid={transaction_id}&st={status}
  - name: conv
    type: conversion
    scope: any
    status: any
    url: $RECV/conv?tid={transaction_id}&st={status}&delay={delay}
    delay: 2m
EOF
}

# actions N PREFIX SPAN [DELAY]: N actions a line "ID<tab>JSON" (kcat's
# key and value), clicks and conversions in turn, spread over the SPAN
# seconds before the last two minutes, so that every postback is due; the
# receiver takes DELAY seconds (0) to answer each conversion.
actions() {
	awk -v n="$1" -v prefix="$2" -v span="$3" -v delay="${4:-0}" -v now="$(date +%s)" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "%s%d\t{\"type\":\"%s\",\"transaction_id\":\"%s%d\",\"status\":\"approved\",\"delay\":%s,\"time\":%d}\n",
				prefix, i, i % 2 ? "conversion" : "click", prefix, i, delay,
				now - 130 - span + span * i / n
	}'
}

# consume KCAT-OPTION...: the messages kcat -C reads to the end, seeing
# the end at once.
consume() {
	kcat -C -q -e -X fetch.wait.max.ms=10 -X fetch.error.backoff.ms=10 -b "$BROKERS" "$@"
}

# produce [KCAT-OPTION...] < LINES: the keyed lines to the actions topic.
produce() {
	kcat -P -b "$BROKERS" -t actions -K '\t' "$@"
}

# pbkafka_start NAME OPTION...: pbkafka in a session of its own (its ID is
# its PID, in NAME.pid), logging to NAME.err, its state in the directory
# NAME, with the pbfire options in the array PBFIRE; teardown kills what
# is left of the session.
pbkafka_start() {
	local name=$1
	shift
	mkdir -p "$name"
	setsid pbkafka -b "$BROKERS" -r rules.yaml -d "$name" "$@" -- --allow-private "${PBFIRE[@]}" \
		> "$name.out" 2> "$name.err" 3>&- &
	echo $! > "$name.pid"
	SESSIONS+=($!)
}

# pbkafka_stop NAME: SIGTERM, and its exit status once it has returned,
# 60 s at most; a failure shows the end of what it wrote to stderr.
pbkafka_stop() {
	local pid status=0
	pid=$(cat "$1.pid")
	kill -TERM "$pid"
	within 60 "$1 ended after SIGTERM" gone "$pid"
	wait "$pid" || status=$?
	[ "$status" -eq 0 ] || echo "# $1 exited $status after SIGTERM; the end of $1.err:" $'\n'"$(tail -n 8 "$1.err")"
	return "$status"
}

# gone PID: whether the process has ended (a zombie has).
gone() {
	local state
	read -r _ _ state _ 2> /dev/null < "/proc/$1/stat" || return 0
	[ "$state" = Z ]
}

# left_in_session NAME: the processes of NAME's session still alive.
left_in_session() {
	pgrep -s "$(cat "$1.pid")" || true
}

# requests: how many the receiver got.
requests() {
	wc -l < recv.ndjson
}

# wait_requests N [COUNT]: until COUNT (requests) says N, 20 s at most.
wait_requests() {
	local count=${2:-requests}
	for _ in $(seq 400); do
		[ "$($count)" -ge "$1" ] && return
		sleep 0.05
	done
	fail "$($count) $count of $1 after 20 s"
}

# postbacks: how many postbacks the receiver got, each counted once.
postbacks() {
	jq -r .path recv.ndjson | sort -u | wc -l
}

# paths: the path of each request the receiver got, sorted.
paths() {
	jq -r .path recv.ndjson | sort
}

# expected_paths ACTIONS: the path of every postback the actions fire.
expected_paths() {
	cut -f 2 "$1" | pbmatch -r rules.yaml | pbexpand | jq -r .url | sed "s|^$RECV||" | sort
}

# as_paths [DELAY]: lines "KEY REST" as "PATH REST", the key
# ID:NAME:STATUS of a postback of kafka_rules as its path
# /NAME?tid=ID&st=STATUS, with &delay=DELAY (0) for a conversion.
as_paths() {
	awk -F '[: ]' '{ print "/" $2 "?tid=" $1 "&st=" $3 ($2 == "conv" ? "&delay=" delay : ""), $4 }' \
		delay="${1:-0}"
}

# fired_paths PARTITION [DELAY]: the path of each key in partition
# PARTITION of pb-fired, "PATH TIMESTAMP-MS" a line.
fired_paths() {
	consume -t pb-fired -p "$1" -o beginning -f '%k %T\n' | as_paths "$2"
}

# settled_paths MEMBER [DELAY]: the path of each key in the ledgers of
# MEMBER's pbfire, "PATH SECONDS" a line (when it was settled), sorted.
settled_paths() {
	awk '!/^pbfire-ledger / { print $2, $1 + 0 }' "$1"/fired.* | as_paths "$2" | sort
}

# Seconds at most from a key in pbfire's ledger to its acknowledgement
# in pb-fired (pbship), on a loaded machine and under the sanitizers too.
SHIP_LAG=3

# check_twice IN_FLIGHT KILLED_AT: after a member was SIGKILLed at
# KILLED_AT (Unix time), each postback fired twice (the file twice) was
# in the window (requests before the kill whose key was not in pb-fired),
# and either was in flight, not in the member's ledger (the file
# settled), IN_FLIGHT at most, or was settled in the SHIP_LAG seconds
# before the kill, before pbship had it acknowledged. Says how many of
# each.
check_twice() {
	local in_flight unshipped stale
	[ -z "$(comm -23 twice window)" ] || fail "fired twice though in pb-fired: $(comm -23 twice window | head -n 3)"
	in_flight=$(cut -d ' ' -f 1 settled | comm -23 twice - | wc -l)
	unshipped=$(join twice settled | wc -l)
	stale=$(join twice settled | awk -v t="${2%.*}" -v lag=$SHIP_LAG '$2 < t - lag' | head -n 3)
	echo "# $(wc -l < twice) fired twice: $in_flight in flight ($1 at most), $unshipped settled but not yet in pb-fired" >&3
	[ -z "$stale" ] || fail "fired twice though settled more than $SHIP_LAG s before the kill: $stale"
	[ "$in_flight" -le "$1" ]
}

# In a group, a session times out in 4 s and heartbeats go every half
# second, so that a member's leases run 2.5 s (pbgroup(1)); the mock
# waits a second less than that for the members to join again at a
# rebalance.
GROUP=(-G pb -X session.timeout.ms=4000 -X heartbeat.interval.ms=500)

# group_actions N SPAN: N actions, clicks and conversions in turn, keyed
# over the six partitions; the clicks fire at once, the conversions come
# due over the next SPAN seconds, and the receiver takes 20 ms to answer
# each.
group_actions() {
	awk -v n="$1" -v span="$2" -v now="$(date +%s)" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "g%d\t{\"type\":\"%s\",\"transaction_id\":\"g%d\",\"status\":\"approved\",\"delay\":0.02,\"time\":%d}\n",
				i, i % 2 ? "conversion" : "click", i, i % 2 ? now - 119 + span * i / n : now - 200
	}'
}

# group_start SPAN MEMBER...: pbkafka in the group as each MEMBER,
# pbfire with 4 requests in flight, and once they own the six
# partitions, 3,000 actions (group_actions, conversions due over SPAN
# seconds) to the actions topic, their postbacks in expected; after
# start_kafka 6.
group_start() {
	local m span=$1
	shift
	PBFIRE=(-j 4)
	for m in "$@"; do
		pbkafka_start "$m" "${GROUP[@]}" -o beginning
	done
	wait_owners "$@"
	group_actions 3000 "$span" > actions.tsv
	produce < actions.tsv
	expected_paths actions.tsv > expected
}

# owners MEMBER...: the partitions the members hold a lease for, one a
# line, sorted.
owners() {
	local m
	for m in "$@"; do
		ls "$m/pbkafka.tmp/" 2> /dev/null | sed -n 's/^lease\.\([0-9]*\)$/\1/p'
	done | sort -n
}

# owns MEMBER: whether MEMBER holds a lease.
owns() {
	[ -n "$(owners "$1")" ]
}

# all_owned MEMBER...: whether the members hold a lease for each of the
# six partitions, once each.
all_owned() {
	[ "$(owners "$@" | tr '\n' ' ')" = "0 1 2 3 4 5 " ]
}

# within SECONDS WHAT CMD...: until CMD succeeds; fails, saying WHAT,
# after SECONDS.
within() {
	local what=$2 i
	for ((i = 0; i < $1 * 10; i++)); do
		"${@:3}" && return
		sleep 0.1
	done
	fail "$what: not after $1 s"
}

# wait_owners MEMBER...: until the members own the six partitions.
wait_owners() {
	within 60 "the six partitions owned by $*" all_owned "$@"
}

# wait_all: until every expected postback is in, 60 s at most.
wait_all() {
	for _ in $(seq 600); do
		[ "$(postbacks)" -ge "$(wc -l < expected)" ] && return
		sleep 0.1
	done
	fail "$(postbacks) postbacks of $(wc -l < expected) after 60 s"
}

teardown() {
	local sid
	# Again while any is left: a shell of the session may have forked
	# while pkill went through it.
	for sid in "${SESSIONS[@]}"; do
		for _ in 1 2 3; do
			pkill -KILL -s "$sid" 2> /dev/null || break
			sleep 0.1
		done
	done
	[ -z "${MOCK_PID:-}" ] || kill "$MOCK_PID" 2> /dev/null || true
	if [ -n "${RECEIVER_PID:-}" ]; then
		kill "$RECEIVER_PID" 2> /dev/null || true
		wait "$RECEIVER_PID" 2> /dev/null || true
	fi
}

setup() {
	cd "$BATS_TEST_TMPDIR"
	SESSIONS=() PBFIRE=()
	start_receiver
	start_kafka
	kafka_rules
}

@test "two partitions on two machines: every postback once, every key in pb-fired, results in pb-results" {
	actions 300 a 3600 > actions.tsv
	produce < actions.tsv
	expected_paths actions.tsv > expected
	pbkafka_start m0 -p 0 -o beginning -R pb-results
	pbkafka_start m1 -p 1 -o beginning -R pb-results
	wait_requests "$(wc -l < expected)"
	sleep 0.5
	pbkafka_stop m0
	pbkafka_stop m1
	paths > got
	diff expected got
	for p in 0 1; do
		consume -t pb-results -p $p -o beginning > in_results
		cmp in_results m$p/results.$p.ndjson
		[ "$(cat m$p/results.$p.acked)" = "$(stat -c %s m$p/results.$p.ndjson)" ]
	done
	cat m0/results.0.ndjson m1/results.1.ndjson | jq -r .url | sed "s|^$RECV||" | sort | diff expected -
	{ fired_paths 0; fired_paths 1; } | cut -d ' ' -f 1 | sort > in_topic
	diff expected in_topic
	[ -z "$(left_in_session m0; left_in_session m1)" ]
	# The window: from the receiver's log of a request to its key in pb-fired.
	{ fired_paths 0; fired_paths 1; } | sort > shipped
	jq -r '"\(.path) \(.t)"' recv.ndjson | sort | join - shipped |
		awk '{ printf "%.6f\n", $3 / 1000 - $2 }' | sort -n > lag
	echo "# delivery to pb-fired: median $(sed -n "$(( ($(wc -l < lag) + 1) / 2 ))p" lag) s, max $(tail -n 1 lag) s" >&3
	awk -v lag=$SHIP_LAG '$1 > lag { exit 1 }' lag
}

@test "failover after SIGKILL: the ledger comes back from pb-fired, duplicates only the requests in flight or not yet shipped" {
	actions 400 f 3600 0.02 > actions.tsv
	produce -p 0 < actions.tsv
	expected_paths actions.tsv > expected
	PBFIRE=(-j 4)
	pbkafka_start m0 -p 0 -o beginning
	wait_requests 120
	pkill -KILL -s "$(cat m0.pid)"
	killed_at=$(date +%s.%N)
	sleep 0.2
	paths > before
	fired_paths 0 0.02 | cut -d ' ' -f 1 | sort > in_topic
	comm -23 before in_topic > window
	settled_paths m0 0.02 > settled
	# A new machine takes partition 0 over, with nothing of the old one's.
	pbkafka_start m2 -p 0 -o beginning
	wait_requests "$(wc -l < expected)" postbacks
	sleep 0.5
	pbkafka_stop m2
	paths | sort -u > got
	diff expected got
	paths | uniq -d > twice
	late=$(jq -r --argjson t "$killed_at" 'select(.t > $t - 0.5) | .path' recv.ndjson | sort -u | comm -12 - before | wc -l)
	echo "# failover: $(wc -l < before) requests before the kill, $(wc -l < in_topic) keys in pb-fired, $late requests in the last 0.5 s before the kill" >&3
	check_twice 4 "$killed_at"
	grep -q "ledger restored, $(wc -l < in_topic) keys" m2.err
}

@test "a restart over a day of actions fires nothing twice; SIGTERM leaves no process" {
	actions 200 d 86400 > actions.tsv
	# Two conversions that come due during the test, held across the restart.
	now=$(date +%s)
	printf 'late%d\t{"type":"conversion","transaction_id":"late%d","status":"approved","delay":0,"time":%d}\n' \
		1 1 $((now - 117)) 2 2 $((now - 116)) >> actions.tsv
	produce < actions.tsv
	expected_paths actions.tsv > expected
	pbkafka_start m0 -p 0,1 -o beginning
	wait_requests 200
	pbkafka_stop m0
	[ -z "$(left_in_session m0)" ]
	PBFIRE+=(--duplicates)	# replays are quiet otherwise
	pbkafka_start m0 -p 0,1 -o beginning
	wait_requests 202
	wait_requests 200 duplicates
	pbkafka_stop m0
	paths > got
	diff expected got
}

# duplicates: how many replayed lines pbfire's ledger turned into
# "duplicate" records.
duplicates() {
	cat m0/results.*.ndjson | jq -r 'select(.result.error == "duplicate") | .url' | wc -l
}

@test "pbkafka: -s asks kcat for the offset at that time; usage and a busy directory exit 2; pbgroup usage" {
	mkdir bin st
	printf '#!/bin/sh\necho "$*" >> %s/kcat.args\n' "$PWD" > bin/kcat
	chmod +x bin/kcat
	PATH=$PWD/bin:$PATH run pbkafka -b x -p 3 -r rules.yaml -d st -s 1d
	assert_failure 1
	since=$(( ($(date +%s) - 86400) * 1000 ))
	run grep -o 'actions -p 3 -o s@[0-9]*' kcat.args
	assert_success
	ms=${output##*@}
	[ $((ms - since)) -le 5000 ] && [ $((since - ms)) -le 5000 ]
	run pbkafka -p 0 -r rules.yaml
	assert_failure 2
	assert_output --partial usage:
	run pbkafka -b x -p 0,a -r rules.yaml
	assert_failure 2
	run pbkafka -b x -p 0,00 -r rules.yaml
	assert_failure 2
	assert_output "pbkafka: -p 0,00: partition 0 given twice"
	run pbkafka -b x -p 0 -G pb -r rules.yaml
	assert_failure 2
	assert_output --partial "-p and -G"
	run pbkafka -b x -p 0 -X session.timeout.ms=6000 -r rules.yaml
	assert_failure 2
	assert_output "pbkafka: -X: for the group's member, with -G"
	run pbgroup -b x -G pb -t actions -l . -X session.timeout.ms=3000
	assert_failure 2
	assert_output "pbgroup: session.timeout.ms must exceed heartbeat.interval.ms by 3 s at least"
	run pbgroup -b x -G pb -t actions -l . -X nosuch
	assert_failure 2
	assert_output "pbgroup: -X nosuch: not NAME=VALUE"
	exec 8>> st/pbkafka.lock
	flock 8
	run pbkafka -b x -p 0 -r rules.yaml -d st
	assert_failure 2
	assert_output "pbkafka: st: in use by another pbkafka"
}

@test "a partition that cannot be restored stops those started: exit 2, no process left" {
	pbkafka_start m0 -p 0,7 -o beginning
	status=0
	wait "$(cat m0.pid)" || status=$?
	[ "$status" -eq 2 ]
	grep -q "partition 7: cannot read pb-fired" m0.err
	[ -z "$(left_in_session m0)" ]
}

@test "SIGTERM while a partition's ledger is being restored stops pbkafka, and starts nothing" {
	mkdir bin
	cat > bin/kcat <<EOF
#!/bin/sh
case "\$*" in *"-t pb-fired"*"-o beginning"*) sleep 2 ;; esac
exec $(command -v kcat) "\$@"
EOF
	chmod +x bin/kcat
	PATH=$PWD/bin:$PATH pbkafka_start m0 -p 0,1 -o beginning
	sleep 0.5
	kill -TERM "$(cat m0.pid)"
	for _ in $(seq 50); do
		kill -0 "$(cat m0.pid)" 2> /dev/null || break
		sleep 0.1
	done
	! kill -0 "$(cat m0.pid)" 2> /dev/null || fail "pbkafka still runs 5 s after SIGTERM"
	[ -z "$(left_in_session m0)" ]
	[ ! -s recv.ndjson ]
}

@test "a ledger pbfire compacts is not shipped to pb-fired again, only what is new in it" {
	mkdir m0
	# Keys 5 s old, kept 10 s: the restore keeps them, and pbfire forgets
	# them while it runs (it looks every quarter of --ledger-keep).
	{
		echo "pbfire-ledger 2"
		seq 1000 | awk -v t="$(( $(date +%s) - 5 ))" '{ printf "%d n%d:conv:approved\n", t, $1 }'
	} > m0/fired.1
	actions 20 c 600 > actions.tsv
	produce -p 1 < actions.tsv
	PBFIRE=(--ledger-keep 10s)
	pbkafka_start m0 -p 1 -o beginning
	within 10 "the ledger restored" grep -q 'ledger restored, 1000 keys' m0.err
	ino=$(stat -c %i m0/fired.1)
	wait_requests 20
	# pbfire reviews its ledger as it syncs it: more actions once the
	# restored keys are past --ledger-keep and a review is due.
	sleep 6
	actions 20 d 600 | produce -p 1
	wait_requests 40
	within 20 "pbfire compacted its ledger" compacted
	[ "$(stat -c %i m0/fired.1)" != "$ino" ]	# pbfire forgot the old keys: a new file
	sleep 0.5
	pbkafka_stop m0
	consume -t pb-fired -p 1 -o beginning -f '%k\n' | sort > keys
	[ -z "$(uniq -d keys)" ] || fail "shipped twice: $(uniq -d keys | head -n 3)"
	[ "$(wc -l < keys)" -eq $((1000 + 40)) ]
}

# compacted: whether m0/fired.1 has fewer lines than the 1,000 restored.
compacted() {
	[ "$(wc -l < m0/fired.1)" -lt 1000 ]
}

@test "the restore drops keys older than pbfire's --ledger-keep, from the topic and the local ledger" {
	mkdir m0
	old=$(( $(date +%s) - 40 * 86400 )) now=$(date +%s)
	{
		seq 300 | awk -v t="$old" '{ printf "o%d:conv:approved\t%d o%d:conv:approved\n", $1, t, $1 }'
		seq 200 | awk -v t="$now" '{ printf "n%d:conv:approved\t%d n%d:conv:approved\n", $1, t, $1 }'
	} | kcat -P -b "$BROKERS" -t pb-fired -p 1 -K '\t'
	{
		echo "pbfire-ledger 3"
		seq 100 | awk -v t="$old" '{ printf "%df lo%d:conv:approved\n", t, $1 }'
		seq 50 | awk -v t="$now" '{ printf "%d ln%d:conv:approved\n", t, $1 }'
	} > m0/fired.1
	pbkafka_start m0 -p 1 -o beginning
	within 20 "the ledger restored" grep -q 'ledger restored' m0.err
	pbkafka_stop m0
	grep -q 'partition 1: ledger restored, 250 keys' m0.err
	consume -t pb-fired -p 1 -o beginning -f '%k\n' | sort > keys
	[ "$(grep -c '^ln' keys)" -eq 50 ] && [ "$(grep -c '^lo' keys)" -eq 0 ]
	# Kept 41 days, the topic's old keys come back; the local ones the
	# first restore dropped do not.
	PBFIRE=(--ledger-keep=41d)
	pbkafka_start m0 -p 1 -o beginning
	within 20 "the ledger restored again" grep -q 'ledger restored' m0.err
	pbkafka_stop m0
	grep -q 'partition 1: ledger restored, 550 keys' m0.err
}

@test "a group of three: one leaves by SIGTERM, then a fourth member joins; every postback once" {
	start_kafka 6
	group_start 30 m1 m2 m3
	wait_requests 1600
	left=$(requests)
	pbkafka_stop m2
	[ -z "$(left_in_session m2)" ]
	wait_owners m1 m3
	pbkafka_start m4 "${GROUP[@]}" -o beginning
	joined=$(requests)
	within 60 "a partition for the fourth member" owns m4
	wait_owners m1 m3 m4
	given=$(requests)
	wait_all
	sleep 0.5
	paths | uniq -d > twice
	echo "# SIGTERM at $left requests, a fourth member at $joined, given partitions at $given; $(requests) in all, $(wc -l < twice) fired twice" >&3
	[ ! -s twice ] || fail "fired twice: $(head -n 3 twice)"
	paths | diff expected -
}

@test "a group of three, one member SIGKILLed: its partitions move, every postback delivered, twice only if unshipped; back with an empty directory" {
	start_kafka 6
	group_start 15 m1 m2 m3
	wait_requests 1800
	owned=$(owners m1 | wc -l)
	pkill -KILL -s "$(cat m1.pid)"
	killed_at=$(date +%s.%N)
	sleep 0.2
	paths > before
	for p in 0 1 2 3 4 5; do fired_paths $p 0.02; done | cut -d ' ' -f 1 | sort > in_topic
	comm -23 before in_topic > window
	settled_paths m1 0.02 > settled
	wait_owners m2 m3
	moved_at=$(date +%s.%N)
	# The machine comes back with an empty disk: it joins again, and the
	# partitions it is given come back from pb-fired and the replay.
	rm -rf m1
	pbkafka_start m1 "${GROUP[@]}" -o beginning
	within 60 "a partition for the member that came back" owns m1
	wait_owners m1 m2 m3
	wait_all
	sleep 0.5
	paths | uniq -d > twice
	late=$(jq -r --argjson t "$killed_at" 'select(.t > $t - 0.5) | .path' recv.ndjson | sort -u | comm -12 - before | wc -l)
	first=$(jq -r --argjson t "$moved_at" 'select(.t > $t) | .t' recv.ndjson | head -n 1)
	echo "# SIGKILL at $(wc -l < before) requests: partitions moved in $(echo "$moved_at - $killed_at" | bc | cut -c 1-4) s, $late in the last 0.5 s; first postback of a successor $(echo "$first - $killed_at" | bc | cut -c 1-4) s after the kill" >&3
	check_twice $((owned * 4)) "$killed_at"
	paths | sort -u | diff expected -
	grep -q 'ledger restored, [1-9][0-9]* keys' m1.err
}

# attempts_since SECONDS MEMBER: the path of each request the member's
# pbfire sent from Unix time SECONDS on (to the second), sorted; lines
# never sent (interrupted before it, kept in the spool) have no time.
attempts_since() {
	cat "$2"/results.*.ndjson |
		jq -r --argjson t "${1%.*}" 'select(.result.fired_at != null and
			(.result.fired_at | sub("\\.[0-9]*Z$"; "Z") | fromdate) >= $t) | .url' |
		sed "s|^$RECV||" | sort
}

@test "a zombie: a member stopped until its partitions move sends no more than its requests in flight, and says it was fenced" {
	start_kafka 6
	group_start 15 m1 m2 m3
	wait_requests 1800
	pkill -STOP -s "$(cat m1.pid)"
	sleep 0.2
	paths > before
	for p in 0 1 2 3 4 5; do fired_paths $p 0.02; done | cut -d ' ' -f 1 | sort > in_topic
	comm -23 before in_topic > window
	wait_owners m2 m3
	continued=$(date +%s)
	pkill -CONT -s "$(cat m1.pid)"
	within 30 "m1 says it was fenced" grep -q 'fenced' m1.err
	wait_all
	sleep 1
	attempts_since "$continued" m1 > after
	paths | uniq -d > twice
	# What the zombie sent once continued and another member sent too:
	# the partitions it had lost (those it was given again were restored).
	comm -12 after twice > zombie
	echo "# zombie: stopped at $(wc -l < before) requests, $(wc -l < zombie) sent after SIGCONT that another member sent too ($(wc -l < after) in all, with the partitions it was given again), $(wc -l < twice) fired twice ($(wc -l < window) delivered but not shipped when stopped); $(grep -c fenced m1.err) partitions fenced" >&3
	# pbfire looks at the lease before each request: all it may still
	# send is what it had in flight (-j 4), not the lines it had read.
	[ "$(wc -l < zombie)" -le 4 ]
	[ "$(wc -l < zombie)" -le "$(wc -l < after)" ]
	# Else only its requests in flight when it stopped, which the receiver
	# may log after the look at what it had (a loaded machine, sanitizers).
	[ "$(comm -23 twice window | comm -23 - zombie | wc -l)" -le 4 ]
	paths | sort -u | diff expected -
}

# restored NAME N: whether NAME has restored N partitions' ledgers.
restored() {
	[ "$(grep -c 'ledger restored' "$1.err")" -ge "$2" ]
}

# shipped: whether pb-fired holds a key for every expected postback
# (actions of kafka_rules answered in 0.05 s), written to in_topic.
shipped() {
	{ fired_paths 0 0.05; fired_paths 1 0.05; } | cut -d ' ' -f 1 | sort > in_topic
	[ "$(wc -l < in_topic)" -ge "$(wc -l < expected)" ]
}

@test "the broker unreachable for 30 s: a member keeps its pipelines, delivers, and ships its keys once the broker is back" {
	actions 400 u 3600 0.05 > actions.tsv
	produce < actions.tsv
	expected_paths actions.tsv > expected
	PBFIRE=(-j 4)
	pbkafka_start m0 -G pb -o beginning	# the default session timeout, 45 s
	# Both pipelines running: a restore that cannot read pb-fired stops
	# pbkafka (exit 2), as at start-up.
	within 60 "both partitions restored" restored m0 2
	wait_requests 40
	# Both partitions' kcat past their start, when each asks the cluster
	# for the topic's partitions once (a kcat that cannot then ends).
	within 20 "a result on each partition" test -s m0/results.0.ndjson -a -s m0/results.1.ndjson
	echo down > mock.in
	down_at=$(requests)
	sleep 30
	up_at=$(requests)
	echo up > mock.in
	within 20 "every key in pb-fired" shipped
	echo "# broker down at $down_at requests, back at $up_at; every key shipped $SECONDS s into the test" >&3
	[ "$up_at" -gt "$down_at" ] || fail "nothing delivered while the broker was down"
	! grep -q fenced m0.err
	pbkafka_stop m0
	paths | uniq -d > twice
	[ ! -s twice ] || fail "fired twice: $(head -n 3 twice)"
	paths | diff expected -
	diff expected in_topic
}

# topic_lines TOPIC P: partition P of TOPIC, "KEY|VALUE" a message.
topic_lines() {
	consume -t "$1" -p "$2" -o beginning -f '%k|%s\n'
}

# group_of_one: a process in a process group of its own, $group, alive
# for a minute.
group_of_one() {
	setsid sleep 60 &
	group=$!
	within 5 "a process group" kill -0 -- "-$group" 2> /dev/null
}

# has_line TOPIC P LINE: whether partition P of TOPIC holds LINE.
has_line() {
	topic_lines "$1" "$2" | grep -qxF "$3"
}

@test "pbship: lines shipped as appended, a ledger renamed over ships only its new lines, truncation, --from, --once; unshipped lines exit 1; usage exits 2" {
	printf 'pbfire-ledger 3\n1 old:conv:approved\n' > led
	group_of_one
	from=$(stat -c %s led)
	pbship -b "$BROKERS" -t pb-fired -p 0 --keyed --from "$from" --while "$group" led < led 2> ship.err &
	ship=$!
	echo '2 a:conv:approved' >> led
	printf '3f tab\there' >> led	# not yet a line
	within 5 "the appended key shipped" has_line pb-fired 0 'a:conv:approved|2 a:conv:approved'
	echo >> led
	# pbfire compacting its ledger: the new file has the old key and one more.
	printf 'pbfire-ledger 3\n2 a:conv:approved\n3f tab\there\n4s new:conv:approved\n' > led.new
	mv led.new led
	within 5 "the new key of the ledger renamed over shipped" has_line pb-fired 0 'new:conv:approved|4s new:conv:approved'
	echo '5 after:conv:approved' >> led
	within 5 "a key appended to the new ledger shipped" has_line pb-fired 0 'after:conv:approved|5 after:conv:approved'
	: > led
	echo '6 t' >> led
	within 5 "the truncated ledger shipped from its start" has_line pb-fired 0 't|6 t'
	kill "$group"
	wait "$ship"
	printf '%s\n' 'a:conv:approved|2 a:conv:approved' $'tab\\there|3f tab\there' \
		'new:conv:approved|4s new:conv:approved' 'after:conv:approved|5 after:conv:approved' 't|6 t' > want
	topic_lines pb-fired 0 | diff want -
	[ ! -s ship.err ]

	# Unkeyed, until SIGTERM: every line read is shipped first.
	printf 'r1\n' > res
	pbship -b "$BROKERS" -t pb-results -p 0 res < res &
	ship=$!
	within 5 "r1 shipped" has_line pb-results 0 '|r1'
	echo r2 >> res
	kill -TERM "$ship"
	wait "$ship"
	has_line pb-results 0 '|r2'

	# The broker gone and the group ended: the lines not shipped are told.
	group_of_one
	: > res
	pbship -b "$BROKERS" -t pb-results -p 1 --while "$group" --timeout 1 res < res 2> ship.err &
	ship=$!
	echo down > mock.in
	printf 'd1\nd2\n' >> res
	sleep 0.5
	kill "$group"
	status=0
	wait "$ship" || status=$?
	echo up > mock.in
	[ "$status" -eq 1 ]
	grep -qx 'pbship: res: 2 lines not shipped to pb-results partition 1' ship.err

	# --once, as the restore ships: what the file holds, then the end.
	printf 'pbfire-ledger 3\n7 once:conv:approved\n' > once
	pbship -b "$BROKERS" -t pb-fired -p 1 --keyed --once once < once
	[ "$(topic_lines pb-fired 1)" = 'once:conv:approved|7 once:conv:approved' ]

	run pbship -b "$BROKERS" -t pb-results -p 0 --once --while 5 led < led
	assert_failure 2
	run pbship -b "$BROKERS" -t pb-results led < led
	assert_failure 2
	assert_output --partial 'usage: pbship'
	run pbship -b "$BROKERS" -t pb-results -p x led < led
	assert_failure 2
	run pbship -b "$BROKERS" -t pb-results -p 0 --while 1 led < led
	assert_failure 2
	run pbship -b "$BROKERS" -t pb-results -p 0 led < /dev/null
	assert_failure 2
	assert_output --partial 'standard input: not a regular file'
}

# unreachable: whether a client finds the broker down.
unreachable() {
	! kcat -L -b "$BROKERS" -m 1 > /dev/null 2>&1
}

# broker_down: the mock's broker taken down, once a client finds it so.
broker_down() {
	echo down > mock.in
	within 10 "the broker down" unreachable
}

@test "pbship --acked: a line not acknowledged at a SIGKILL ships again from the mark, once; pbkafka ships a crash's leftovers at start" {
	printf 'a1\n' > res
	pbship -b "$BROKERS" -t pb-results -p 0 --acked res.mark res < res 2> ship.err &
	ship=$!
	within 5 "a1 acknowledged and marked" grep -qx 3 res.mark
	broker_down
	echo a2 >> res
	sleep 1.5	# read and queued, or not yet: the mark stays at 3 either way
	kill -KILL "$ship"
	wait "$ship" || true
	echo up > mock.in
	[ "$(cat res.mark)" = 3 ]
	pbship -b "$BROKERS" -t pb-results -p 0 --once --from "$(cat res.mark)" --acked res.mark res < res
	[ "$(cat res.mark)" = 6 ]
	[ "$(topic_lines pb-results 0)" = $'|a1\n|a2' ]

	# A crash's leftovers in a partition this pbkafka does not start.
	mkdir m0
	printf '{"r":1}\n{"r":2}\n' > m0/results.0.ndjson
	echo 8 > m0/results.0.acked
	pbkafka_start m0 -p 1 -o beginning -R pb-results
	within 20 "the leftover shipped" has_line pb-results 0 '|{"r":2}'
	within 60 "partition 1's results followed" test -s m0/results.1.acked
	pbkafka_stop m0
	[ "$(topic_lines pb-results 0)" = $'|a1\n|a2\n|{"r":2}' ]
	[ -z "$(topic_lines pb-results 1)" ]
	[ "$(cat m0/results.0.acked)" = 16 ]
	[ "$(cat m0/results.1.acked)" = 0 ]
}
