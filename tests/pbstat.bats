#!/usr/bin/env bats
# pbstat over result records the tests make: every figure of the report
# against the same figure computed here with jq (counts exact, percentiles
# within the 0.8% the man page states), --by, --hist, -o json, --reject,
# --min-success, the SVG plot rendered and looked at, and --every over a
# pipe and a terminal; then postbacks told by several records each (a
# fixture built by hand, every figure asserted), and the memory a key
# costs.

load helper

# make_results N SEED [KEYS] > FILE: N result records like pbfire's:
# delivered, failed of every error class, duplicates, dry runs, pending
# deferrals ("final":false), fire_at as text and as Unix seconds, some
# fired before their fire_at, each of its own postback (or of KEYS keys
# in turn); then lines that are not result records and garbage.
make_results() {
	python3 - "$1" "$2" "${3:-$1}" <<'EOF'
import json, random, sys, time
n, seed, keys = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)
def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(t))) + ".%03dZ" % round((t % 1) * 1000)
failures = [("dns", 0, "Could not resolve host: pub8.example"), ("connect", 0, "Failed to connect"),
            ("timeout", 0, "Operation timed out"), ("tls", 0, "SSL certificate problem"),
            ("http", 404, "HTTP 404"), ("http", 503, "HTTP 503"), ("http", 500, "HTTP 500"),
            ("blocked", 0, "10.0.0.1 is private"), ("invalid", 0, "no url"),
            ("interrupted", 0, "interrupted before it was sent")]
urls = ["https://Pub7.example:8443/pb?c=1", "http://user:pw@pub8.example/pb", "https://pub9.example",
        "https://[2001:db8::1]:8080/p", "http://PUB8.example:80?x"]
pubs = [7, "7", 8, 9, "9", None]
for i in range(n):
    due = 1795000000 + i * 0.37
    rec = {"type": "conversion", "transaction_id": "t%d" % i, "publisher_id": rnd.choice(pubs),
           "postback": {"name": rnd.choice(["pub7-approved", "crm-all", "deposits"]), "key": "k%d" % (i % keys)},
           "fire_at": iso(due) if i % 5 else round(due, 3), "url": rnd.choice(urls)}
    if rec["publisher_id"] is None:
        del rec["publisher_id"]
    ms = round(rnd.lognormvariate(3.5, 1.2), 1)
    fired = iso(due + rnd.uniform(-0.5, 30))
    r = rnd.random()
    if r < 0.55:
        res = {"ok": True, "status": rnd.choice([200, 200, 204]), "attempts": rnd.choice([1, 1, 1, 2, 3]),
               "error": None, "message": None, "ms": ms, "fired_at": fired}
    elif r < 0.75:
        cls, status, msg = rnd.choice(failures)
        attempts = 0 if cls == "invalid" else rnd.choice([1, 4])
        res = {"ok": False, "status": status, "attempts": attempts, "error": cls, "message": msg,
               "ms": ms if attempts else 0.0, "fired_at": fired if attempts else None}
        if cls != "invalid":
            res["retry_at"] = iso(due + 300)
    elif r < 0.83:
        res = {"ok": True, "status": 0, "attempts": 0, "error": "duplicate", "message": None, "ms": 0.0,
               "fired_at": None}
    elif r < 0.9:
        res = {"ok": True, "dry_run": True, "status": 0, "attempts": 0, "error": None, "message": None,
               "ms": 0.0, "fired_at": None}
    else:
        res = {"ok": False, "final": False, "status": 503, "attempts": 1, "error": "http",
               "message": "HTTP 503", "ms": ms, "fired_at": fired, "retry_at": iso(due + 300)}
    res.update({"ip": None, "line": i + 1, "round": 1})
    rec["result"] = res
    print(json.dumps(rec, separators=(",", ":")))
print('{"type":"click","transaction_id":"x1"}')
print('{"result":"not an object"}')
print('{"result":{"status":200}}')
print('not json at all')
print('{"a":1,}')
print('[1,2]')
EOF
}

# The figures of results.ndjson computed with jq, in pbstat's JSON shape,
# from the valid objects among its raw lines, each of its own postback.
# Percentiles by nearest rank.
EXPECT='
def objects_of_lines: [inputs | select(length > 0) | (try fromjson catch null) | select(type == "object")];
def is_result: (.result | type) == "object" and (.result.ok | type) == "boolean";
def outcome: .result as $r |
	if $r.dry_run == true then "dry_runs" elif $r.error == "duplicate" then "earlier"
	elif $r.error == "superseded" then "superseded"
	elif $r.final == false then "pending" elif $r.ok then "delivered" else "failed" end;
def rank($p): ($p * length + 99) / 100 | floor;
def pct($p): sort | if length == 0 then null else .[rank($p) - 1] end;
def secs: if type == "number" then . else (.[0:19] + "Z" | fromdateiso8601) + (.[19:-1] | if . == "" then 0 else tonumber end) end;
def figures:
	(map(select(.result.attempts > 0))) as $sent
	| ($sent | map(.result.ms)) as $ms
	| (map(select(.result.fired_at | type == "string") | select(.fire_at != null)
		| [0, ((.result.fired_at | secs) - (.fire_at | secs)) * 1000] | max)) as $lag
	| (group_by(outcome) | map({key: .[0] | outcome, value: length}) | from_entries) as $o
	| {seen: length, delivered: ($o.delivered // 0), earlier: ($o.earlier // 0),
	   failed: ($o.failed // 0), pending: ($o.pending // 0), dry_runs: ($o.dry_runs // 0),
	   superseded: ($o.superseded // 0),
	   records: {read: length, duplicates: ($o.earlier // 0), after_delivery: 0},
	   attempts: {sent: ($sent | length), retried: ($sent | map(select(.result.attempts > 1)) | length),
		      max: ([0] + ($sent | map(.result.attempts)) | max)},
	   latency_ms: {count: ($ms | length), min: ($ms | min), max: ($ms | max),
			mean: (if $ms == [] then null else ($ms | add / length) end),
			p50: ($ms | pct(50)), p90: ($ms | pct(90)), p95: ($ms | pct(95)), p99: ($ms | pct(99))},
	   fire_lag_ms: {count: ($lag | length), p50: ($lag | pct(50)), p99: ($lag | pct(99)), max: ($lag | max)},
	   status: ($sent | group_by(.result.status) | map({key: (.[0].result.status | tostring), value: length}) | from_entries),
	   errors: (map(select(.result.error | type == "string" and . != "duplicate")) | group_by(.result.error)
		    | map({key: .[0].result.error, value: length}) | from_entries)}
	| .success_ratio = (if .delivered + .failed == 0 then null else .delivered / (.delivered + .failed) end);
objects_of_lines | {other: map(select(is_result | not)) | length} + (map(select(is_result)) | figures)
'

# close_to GOT WANT: GOT is within the stated 0.8% of WANT, with 2 us for
# the rounding of the output.
close_to() {
	awk -v g="$1" -v w="$2" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w * 0.0078125 + 0.002) }' ||
		fail "$1 is not within 0.8% of $2"
}

@test "every count and ratio is the one jq computes from the same records" {
	make_results 3000 1 > results.ndjson
	code=0
	pbstat -o json results.ndjson > got.json 2> err || code=$?
	assert_equal "$code $(wc -l < err)" "1 3"	# three garbage lines
	jq -R -n "$EXPECT" results.ndjson > want.json
	for f in seen delivered earlier failed pending dry_runs superseded records other attempts.sent \
		attempts.retried attempts.max latency_ms.count fire_lag_ms.count latency_ms.min latency_ms.max status; do
		assert_equal "$f $(jq -c ".$f" got.json)" "$f $(jq -c ".$f" want.json)"
	done
	assert_equal "$(jq -c -S '.errors | map_values(.count)' got.json)" "$(jq -c -S .errors want.json)"
	assert_equal "$(jq -c '[.lines, .rejected]' got.json)" "[3006,3]"
	[ "$(jq '.pending' got.json)" -gt 100 ] && [ "$(jq '.errors | length' got.json)" -eq 8 ]
	jq -e --slurpfile w want.json '(.success_ratio - $w[0].success_ratio | fabs) < 1e-6' got.json
	jq -e --slurpfile w want.json '(.latency_ms.mean - $w[0].latency_ms.mean | fabs) < 0.001' got.json
}

@test "percentiles are within 0.8% of the exact ones; min, max and mean exact" {
	make_results 4000 2 > results.ndjson
	pbstat -o json results.ndjson > got.json || true
	jq -R -n "$EXPECT" results.ndjson > want.json
	for f in latency_ms.p50 latency_ms.p90 latency_ms.p95 latency_ms.p99 latency_ms.max latency_ms.min \
		fire_lag_ms.p50 fire_lag_ms.p99 fire_lag_ms.max; do
		close_to "$(jq ".$f" got.json)" "$(jq ".$f" want.json)"
	done
}

@test "fire lag: fired_at less fire_at, text or Unix seconds; early counts as 0" {
	printf '%s\n' '{"fire_at":"2026-11-24T10:00:00Z","result":{"ok":true,"attempts":1,"ms":1,"fired_at":"2026-11-24T09:59:59Z"}}' \
		'{"fire_at":1795514400,"result":{"ok":true,"attempts":1,"ms":1,"fired_at":"2026-11-24T10:00:02.5Z"}}' \
		'{"fire_at":"2026-11-24T10:00:00+01:00","result":{"ok":true,"attempts":1,"ms":1,"fired_at":"2026-11-24T09:00:00.25Z"}}' \
		'{"result":{"ok":true,"attempts":1,"ms":1,"fired_at":"2026-11-24T10:00:00Z"}}' > r
	run pbstat -o json r
	assert_success
	assert_equal "$(jq -c '.fire_lag_ms | [.count, .p99, .max]' <<<"$output")" '[3,2500,2500]'
	close_to "$(jq '.fire_lag_ms.p50' <<<"$output")" 250
	printf '%s\n' '{"fire_at":"2026-11-24T10:00:00Z","result":{"ok":true,"attempts":1,"ms":1,"fired_at":"2026-11-24T09:59:59Z"}}' > early
	assert_equal "$(pbstat -o json early | jq -c '.fire_lag_ms | [.count, .p50, .max]')" '[1,0,0]'
}

@test "percentiles of one value, and of values a factor 1000 apart" {
	printf '{"result":{"ok":true,"attempts":1,"ms":%s}}\n' 0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.1 0.1 250000 > r
	run pbstat -o json r
	assert_success
	assert_equal "$(jq -c '.latency_ms | [.min, .p50, .p90, .p95, .max]' <<<"$output")" '[0.1,0.1,0.1,250000,250000]'
	close_to "$(jq '.latency_ms.mean' <<<"$output")" 25000.09
}

@test "the text report shows the same figures" {
	make_results 1500 3 > results.ndjson
	pbstat -o json results.ndjson > got.json || true
	run pbstat results.ndjson
	assert_failure 1
	want=$(jq -r '"postbacks    \(.seen) seen: \(.delivered) delivered, \(.failed) failed, \(.pending) pending, 0 superseded, \(.dry_runs) dry runs, \(.earlier) settled earlier"' got.json)
	assert_line "$want"
	assert_line "$(jq -r '"success      \(.success_ratio * 10000 | round / 100)% (\(.delivered) of \(.delivered + .failed) finished)"' got.json | sed 's/\.\([0-9]\)%/.\10%/')"
	assert_line --regexp "^attempts     $(jq .attempts.sent got.json) sent, mean [0-9.]+, max $(jq .attempts.max got.json), [0-9.]+% retried$"
	assert_line --regexp '^latency ms   min [0-9.]+, mean [0-9.]+, p50 [0-9.]+, p90 [0-9.]+, p95 [0-9.]+, p99 [0-9.]+, max [0-9.]+$'
	assert_line "status       none $(jq '.status["0"]' got.json), 200 $(jq '.status["200"]' got.json), 204 $(jq '.status["204"]' got.json), 404 $(jq '.status["404"]' got.json), 500 $(jq '.status["500"]' got.json), 503 $(jq '.status["503"]' got.json)"
	assert_line --regexp "^errors       http $(jq .errors.http.count got.json), "
	assert_line "records      1500 read: $(jq .earlier got.json) duplicates, 0 after delivery"
	assert_line "lines        1506 read, 3 not result records, 3 rejected"
	refute_line --regexp '^errors .*duplicate'	# not an error
	refute_line --partial "superseded   "	# none
}

@test "error classes: counts, and the most frequent messages with exact counts" {
	make_results 2000 4 > results.ndjson
	pbstat -o json results.ndjson > got.json || true
	want=$(grep '"error":"http"' results.ndjson | jq -s -c 'map(.result.message) | group_by(.) | map([.[0], length]) | sort_by(-.[1], .[0])')
	assert_equal "$(jq -c '.errors.http.messages | map([.message, .count])' got.json)" "$want"
	assert_equal "$(jq -c '.errors.duplicate' got.json)" 'null'
	# Classes most frequent first.
	jq -e '[.errors[] | .count] | . == (sort | reverse)' got.json
}

@test "more than 16 messages in a class: the frequent ones are kept" {
	{ for i in $(seq 40); do echo "{\"result\":{\"ok\":false,\"attempts\":1,\"error\":\"dns\",\"message\":\"rare $i\"}}"; done
	  for i in $(seq 100); do echo '{"result":{"ok":false,"attempts":1,"error":"dns","message":"Could not resolve host"}}'; done
	} > r
	run pbstat -o json r
	assert_equal "$(jq -c '.errors.dns | [.count, .messages[0].message]' <<<"$output")" '[140,"Could not resolve host"]'
	jq -e '.errors.dns.messages[0].count >= 100 and .errors.dns.messages[0].count <= 100 + 140 / 16' <<<"$output"
}

@test "more than 32 error classes: the rest count as other" {
	for i in $(seq 40); do echo "{\"result\":{\"ok\":false,\"attempts\":1,\"error\":\"class$i\"}}"; done > r
	run pbstat -o json r
	assert_equal "$(jq -c '.errors | [length, .other.count, .class1.count, .class31.count, .class32]' <<<"$output")" '[32,9,1,1,null]'
}

@test "escapes: keys and strings are read decoded; a key given twice, the first counts" {
	printf '%s\n' '{"fire_at":"2026-11-24T10:00:00Z","res\u0075lt":{"ok":true,"attempts":1,"ms":1,"st\u0061tus":200,"fired_at":"2026-11-24T10:00:01Z"},"publisher_id":"p\u00e9"}' \
		'{"result":{"ok":false,"attempts":1,"ms":2,"error":"h\u0074tp","message":"tab\there","fired_at":"2026\u002d11-24T10:00:02Z"},"fire_at":"2026-11-24T10:00:00Z","publisher_id":"p\u00e9","result":{"ok":true}}' > r
	run pbstat -o json --by publisher_id r
	assert_success
	assert_equal "$(jq -c '[.seen, .delivered, .failed, .status, .errors, .fire_lag_ms.count, .fire_lag_ms.max, .by.groups[0].value, .by.groups[0].seen]' <<<"$output")" \
		'[2,1,1,{"200":1},{"http":{"count":1,"messages":[{"message":"tab\there","count":1}]}},2,2000,"pé",2]'
	run pbstat r
	assert_line "  http: tab?here (1)"
}

@test "members found around spaces, nested brackets and quotes in strings" {
	printf '%s\n' ' { "a" : [ 1 , { "x" : "}\\\"{" } ] , "result" : { "ok" : true , "attempts" : 2 , "ms" : 3.5 , "status" : 204 } } ' \
		'{"result":{}}' '{}' '{"result":{"ok":null}}' > r
	run pbstat -o json r
	assert_success
	assert_equal "$(jq -c '[.seen, .other, .attempts.sent, .latency_ms.max, .status]' <<<"$output")" '[1,3,1,3.5,{"204":1}]'
}

@test "--by a dotted field: a row per value, by volume, 12 and \"12\" together" {
	make_results 2000 5 > results.ndjson
	pbstat -o json --by publisher_id results.ndjson > got.json || true
	want=$(jq -R -s -c '[splits("\n") | (try fromjson catch null) | select(type == "object" and (.result.ok | type) == "boolean")]
		| group_by(.publisher_id | if . == null then null else tostring end)
		| map({value: (.[0].publisher_id | if . == null then null else tostring end), seen: length,
		       failed: map(select(.result.ok == false and .result.final != false and .result.dry_run != true)) | length,
		       pending: map(select(.result.final == false)) | length})
		| sort_by(-.seen, .value)' results.ndjson)
	assert_equal "$(jq -c '.by.groups | map({value, seen, failed, pending})' got.json)" "$want"
	assert_equal "$(jq -c '.by.groups | map(.value) | sort' got.json)" '[null,"7","8","9"]'
	assert_equal "$(jq '[.by.groups[].seen] | add' got.json)" "$(jq .seen got.json)"
	run pbstat --by postback.name results.ndjson
	assert_line --regexp '^by postback.name$'
	assert_line --regexp '^  value +records +seen +delivered +failed +pending +superseded +dry runs +earlier +success +p50 ms +p99 ms +top failure$'
	name=$(pbstat -o json --by postback.name results.ndjson | jq -r '.by.groups[0] | "\(.value) +\(.records.read) +\(.seen) +\(.delivered) +\(.failed)"')
	assert_line --regexp "^  $name "
}

@test "--by a member pbstat reads anyway (fire_at, result) groups by it too" {
	printf '%s\n' '{"fire_at":"2026-11-24T10:00:00Z","result":{"ok":true,"attempts":1,"ms":1}}' \
		'{"fire_at":"2026-11-24T10:00:00Z","result":{"ok":false,"attempts":1,"ms":1}}' > results.ndjson
	run pbstat -o json --by fire_at results.ndjson
	assert_equal "$(jq -c '.by.groups | map({value, seen})' <<<"$output")" '[{"value":"2026-11-24T10:00:00Z","seen":2}]'
}

@test "--by host: the host of url, lower-case, without port or user" {
	make_results 1000 6 > results.ndjson
	pbstat -o json --by host results.ndjson > got.json || true
	want=$(jq -R -s -c '[splits("\n") | (try fromjson catch null) | select(type == "object" and (.result.ok | type) == "boolean")]
		| map(.url | sub("^[a-z]+://"; "") | sub("[/?#].*"; "") | sub("^.*@"; "")
		      | if startswith("[") then sub("\\].*"; "]") else sub(":[0-9]*$"; "") end | ascii_downcase)
		| group_by(.) | map({value: .[0], seen: length}) | sort_by(-.seen, .value)' results.ndjson)
	assert_equal "$(jq -c '.by.groups | map({value, seen})' got.json)" "$want"
	assert_equal "$(jq -c '.by.groups | map(.value) | sort' got.json)" '["[2001:db8::1]","pub7.example","pub8.example","pub9.example"]'
}

@test "--hist: each latency in its bucket, exactly, with bars" {
	make_results 2000 7 > results.ndjson
	pbstat -o json --hist 0,10ms,50ms,100ms,500ms,1s results.ndjson > got.json || true
	want=$(grep -v '"attempts":0' results.ndjson | jq -R -s -c '[splits("\n") | (try fromjson catch null) | select(type == "object" and .result.attempts > 0) | .result.ms]
		| [map(select(. < 10)), map(select(. >= 10 and . < 50)), map(select(. >= 50 and . < 100)),
		   map(select(. >= 100 and . < 500)), map(select(. >= 500 and . < 1000)), map(select(. >= 1000))] | map(length)')
	assert_equal "$(jq -c '.histogram | map(.count)' got.json)" "$want"
	assert_equal "$(jq -c '.histogram | map([.from_ms, .to_ms])' got.json)" '[[0,10],[10,50],[50,100],[100,500],[500,1000],[1000,null]]'
	run pbstat --hist 10ms,1s results.ndjson
	assert_line "latency histogram"
	first=$(jq '.histogram[0].count' got.json)
	total=$(jq '.latency_ms.count' got.json)
	bar=$(awk -v a="$first" -v t="$total" 'BEGIN { n = int(a / t * 40 + 0.5); s = ""; while (n-- > 0) s = s "#"; print s }')
	assert_line --regexp "^  \[0 ms, 10 ms\) +$first +[0-9.]+%  $bar$"
	assert_line --regexp '^  \[1 s, \+inf\) +[0-9]+ +[0-9.]+%  #*$'
}

@test "--hist and --every take durations of pb-rules(5): decimals, us to d; malformed or out of range is refused" {
	echo '{"result":{"ok":true,"attempts":1,"status":200,"ms":2}}' > r
	run pbstat -o json --hist 0,500us,1.5,1d r
	assert_success
	assert_equal "$(jq -c '.histogram | map([.from_ms, .to_ms])' <<<"$output")" '[[0,0.5],[0.5,1.5],[1.5,86400000],[86400000,null]]'
	run bash -c "pbstat --every 1d r < /dev/null"
	assert_success
	for bound in 1x -1s 1e999s 99999999999999999999s 116d s; do
		run pbstat --hist "0,$bound" r
		assert_failure 2
		assert_line "pbstat: --hist: expected ascending durations, such as 0,10ms,50ms,1s, got '0,$bound'"
	done
	run pbstat --every 1.5d r
	assert_failure 2
	assert_line "pbstat: --every: expected seconds, from 0.01 to 86400, got '1.5d'"
}

@test "invalid lines: diagnostics with file and line, --reject, status 1" {
	make_results 20 8 > results.ndjson
	run pbstat --reject rejects results.ndjson
	assert_failure 1
	assert_line "pbstat: results.ndjson:24: invalid JSON: not a JSON object at column 1"
	assert_line "pbstat: results.ndjson:25: invalid JSON: expected a string key at column 8"
	assert_equal "$(grep -c '^pbstat: results.ndjson:2[456]: invalid JSON' <<<"$output")" 3
	assert_equal "$(cat rejects)" "$(tail -n 3 results.ndjson)"
	assert_line "lines        26 read, 3 not result records, 3 rejected"
	printf '{"a":"%s"}\n' "$(head -c 3000 /dev/zero | tr '\0' x)" > long
	run pbstat --max-line 100 long
	assert_failure 1
	assert_line --partial "pbstat: long:1: line longer than 100 bytes"
}

@test "--min-success: 1 below the ratio, 0 at or above it, 0 when nothing finished" {
	{ for i in 1 2 3; do echo '{"result":{"ok":true,"attempts":1,"ms":1}}'; done
	  echo '{"result":{"ok":false,"attempts":1,"ms":1,"error":"http"}}'; } > r
	run pbstat --min-success 0.75 r
	assert_success
	run pbstat --min-success 75% r
	assert_success
	run pbstat --min-success 0.76 -o json r
	assert_failure 1
	assert_equal "$(jq .success_ratio <<<"${lines[0]}")" 0.75
	assert_line "pbstat: success ratio 0.7500 is below --min-success 0.76 (3 of 4 finished)"
	echo '{"result":{"ok":true,"dry_run":true,"attempts":0}}' > dry
	run pbstat --min-success 1 dry
	assert_success
}

@test "the text report says a count of one in the singular, others in the plural" {
	{
		echo '{"result":{"ok":true,"dry_run":true,"attempts":0,"fired_at":null}}'
		echo '{"result":{"ok":true,"error":"duplicate","attempts":0,"fired_at":null}}'
		echo '{"not":"a result"}'
	} > one
	run pbstat one
	assert_success
	assert_line "postbacks    2 seen: 0 delivered, 0 failed, 0 pending, 0 superseded, 1 dry run, 1 settled earlier"
	assert_line "records      2 read: 1 duplicate, 0 after delivery"
	assert_line "lines        3 read, 1 not a result record, 0 rejected"
	cat one one > two
	run pbstat two
	assert_success
	assert_line "postbacks    4 seen: 0 delivered, 0 failed, 0 pending, 0 superseded, 2 dry runs, 2 settled earlier"
	assert_line "records      4 read: 2 duplicates, 0 after delivery"
	assert_line "lines        6 read, 2 not result records, 0 rejected"
}

@test "a deferral (final: false) is pending, not failed, and not finished" {
	printf '%s\n' '{"result":{"ok":false,"final":false,"attempts":1,"status":503,"error":"http","ms":2,"retry_at":"2026-11-24T10:05:00Z"}}' \
		'{"result":{"ok":false,"final":true,"attempts":4,"status":503,"error":"http","ms":2}}' \
		'{"result":{"ok":true,"attempts":1,"status":200,"ms":2}}' > r
	run pbstat -o json r
	assert_equal "$(jq -c '[.seen, .delivered, .failed, .pending, .success_ratio]' <<<"$output")" '[3,1,1,1,0.5]'
}

@test "usage: bad options exit 2 with the synopsis; --help and --version" {
	for args in "-o xml" "--hist 10ms,5ms" "--hist x" "--hist 1x" "--every 0" "--every 5ms" "--min-success 1.5" \
		"--min-success 101%" "--by ''" "--plot ''" "--bogus"; do
		run bash -c "pbstat $args < /dev/null"
		assert_failure 2
		assert_line --partial "usage: pbstat"
	done
	run pbstat -o xml < /dev/null
	assert_line "pbstat: -o: expected text, json or openmetrics, got 'xml'"
	run pbstat --help
	assert_success
	assert_line --index 0 --partial "usage: pbstat [--by FIELD]"
	run pbstat --version
	assert_output --regexp '^pbstat [0-9.]+$'
	run pbstat no-such-file
	assert_failure 2
	assert_line --partial "pbstat: no-such-file: No such file or directory"
}

# png_bars FILE: the picture's bars as "X GREEN RED" per bar, left to
# right: where it starts, and how tall its green and its red part are (in
# its second column, from the colour's top pixel to its bottom one, so a
# line crossing the middle does not count); then "p99 X Y" for the
# topmost blue pixel in each bar's middle column. The plot area is below
# y = 50, where the legend ends. A PNG decoder of zlib and the five
# filters, no packages.
png_bars() {
	python3 - "$1" <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6)
bpp = 4 if ctype == 6 else 3
raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(line)
    prev = line
def colour(x, y):
    r, g, b = rows[y][x * bpp:x * bpp + 3]
    for name, (cr, cg, cb) in {"green": (44, 160, 44), "red": (214, 39, 40), "blue": (31, 119, 180)}.items():
        if abs(r - cr) + abs(g - cg) + abs(b - cb) < 40:
            return name
def span(x, name):
    ys = [y for y in range(50, h) if colour(x, y) == name]
    return max(ys) - min(ys) + 1 if ys else 0
bars, x = [], 0
while x < w:
    if any(colour(x, y) in ("green", "red") for y in range(50, h)):
        start = x
        while x < w and any(colour(x, y) in ("green", "red") for y in range(50, h)):
            x += 1
        bars.append((start, x - 1))
    x += 1
for start, end in bars:
    print(start, span(start + 1, "green"), span(start + 1, "red"))
for start, end in bars:
    mid = (start + end) // 2
    ys = [y for y in range(50, h) if colour(mid, y) == "blue"]
    print("p99", mid, min(ys) if ys else -1)
EOF
}

@test "--plot: an SVG whose rendered bars and p99 line say what the data says" {
	# Minute 0: 40 delivered in 10 ms; minute 1: 20 delivered and 20 failed,
	# p99 100 ms; minute 2: nothing; minute 3: 10 failed, p99 50 ms. Each
	# postback is drawn once, when its fate was decided: 10 pending in
	# minute 2 and delivered in minute 0, 10 failed in minute 3 and
	# delivered in minute 1, are not drawn as failed. Pending postbacks,
	# dry runs, duplicates and superseded ones are not drawn.
	{
		for i in $(seq 10); do echo "{\"postback\":{\"key\":\"p$i\"},\"result\":{\"ok\":false,\"final\":false,\"attempts\":1,\"status\":503,\"ms\":10,\"fired_at\":\"2026-11-24T10:02:10Z\"}}"; done
		for i in $(seq 10); do echo "{\"postback\":{\"key\":\"p$i\"},\"result\":{\"ok\":true,\"attempts\":2,\"status\":200,\"ms\":10,\"fired_at\":\"2026-11-24T10:00:20Z\"}}"; done
		for i in $(seq 30); do echo '{"result":{"ok":true,"attempts":1,"status":200,"ms":10,"fired_at":"2026-11-24T10:00:30Z"}}'; done
		for i in $(seq 10); do echo "{\"postback\":{\"key\":\"f$i\"},\"result\":{\"ok\":false,\"attempts\":1,\"status\":400,\"error\":\"http\",\"ms\":50,\"fired_at\":\"2026-11-24T10:03:00Z\"}}"; done
		for i in $(seq 10); do echo "{\"postback\":{\"key\":\"f$i\"},\"result\":{\"ok\":true,\"attempts\":1,\"status\":200,\"ms\":100,\"fired_at\":\"2026-11-24T10:01:05Z\"}}"; done
		for i in $(seq 10); do echo '{"result":{"ok":true,"attempts":1,"status":200,"ms":100,"fired_at":"2026-11-24T10:01:05Z"}}'; done
		for i in $(seq 20); do echo '{"result":{"ok":false,"attempts":2,"status":503,"error":"http","ms":100,"fired_at":"2026-11-24T10:01:59.9Z"}}'; done
		for i in $(seq 10); do echo '{"result":{"ok":false,"attempts":4,"status":0,"error":"timeout","ms":50,"fired_at":"2026-11-24T10:03:00Z"}}'; done
		for i in $(seq 10); do echo '{"result":{"ok":false,"final":false,"attempts":1,"status":0,"error":"timeout","ms":50,"fired_at":"2026-11-24T10:03:00Z"}}'; done
		echo '{"result":{"ok":true,"dry_run":true,"attempts":0,"fired_at":null}}'
		echo '{"result":{"ok":true,"error":"duplicate","attempts":0,"fired_at":null}}'
		echo '{"result":{"ok":false,"error":"superseded","attempts":0,"fired_at":"2026-11-24T10:03:00Z"}}'
	} > r
	run pbstat --plot plot.svg r
	assert_success
	grep -q '<svg xmlns="http://www.w3.org/2000/svg"' plot.svg
	! grep -q 'href=' plot.svg	# self-contained
	grep -q 'Postbacks per minute, 2026-11-24 10:00 to 2026-11-24 10:04 UTC' plot.svg
	rsvg-convert plot.svg -o plot.png
	png_bars plot.png > bars
	cat bars
	assert_equal "$(grep -vc p99 bars)" 3
	# Heights: 40 delivered is the full bar of a 50 scale, 320 pixels tall.
	read -r x0 g0 r0 < <(sed -n 1p bars)
	read -r x1 g1 r1 < <(sed -n 2p bars)
	read -r x3 g3 r3 < <(sed -n 3p bars)
	near() { [ $(( $1 - $2 )) -le 3 ] && [ $(( $2 - $1 )) -le 3 ] || fail "$1 is not $2 pixels"; }
	near "$g0" 256; near "$r0" 0
	near "$g1" 128; near "$r1" 128
	near "$g3" 0;   near "$r3" 64
	# Minute 2 is a gap the width of a slot: 3 slots from the first to the last bar.
	[ $(( (x3 - x0) * 2 )) -eq $(( (x1 - x0) * 6 )) ] || [ $(( x3 - x0 - 3 * (x1 - x0) )) -le 1 ]
	# The p99 line: 100 ms highest, then 50, then 10 (y grows downwards).
	read -r _ _ y0 < <(grep p99 bars | sed -n 1p)
	read -r _ _ y1 < <(grep p99 bars | sed -n 2p)
	read -r _ _ y3 < <(grep p99 bars | sed -n 3p)
	[ "$y1" -ge 0 ] && [ "$y1" -lt "$y3" ] && [ "$y3" -lt "$y0" ]
}

@test "--plot with nothing sent, and a plot file that cannot be written" {
	echo '{"result":{"ok":true,"dry_run":true,"attempts":0}}' > r
	run pbstat --plot empty.svg r
	assert_success
	grep -q 'No postbacks sent' empty.svg
	rsvg-convert empty.svg -o empty.png
	run pbstat --plot no-such-dir/p.svg r
	assert_failure 2
	assert_line --partial "pbstat: no-such-dir/p.svg"
}

@test "--plot is synced before it replaces the old plot: a failure to sync it stops pbstat with exit 2, saying which step" {
	needs_strace
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0	# LeakSanitizer cannot run under ptrace
	echo '{"result":{"ok":true,"attempts":1,"status":200,"ms":5,"fired_at":"2026-11-24T10:00:00Z"}}' > r
	echo old > p.svg
	run strace -f -o /dev/null -e trace=fsync -e inject=fsync:error=EIO:when=1 pbstat --plot p.svg r
	assert_failure 2
	assert_line "pbstat: p.svg: syncing its .new file: Input/output error"
	assert_equal "$(cat p.svg)" old
	assert [ ! -e p.svg.new ]
	run strace -f -o /dev/null -e trace=fsync -e inject=fsync:error=EIO:when=2 pbstat --plot p.svg r
	assert_failure 2
	assert_line "pbstat: p.svg: syncing its directory: Input/output error"
	grep -q '<svg' p.svg
}

@test "--every on a pipe: a report each interval while the input is quiet, and one at the end" {
	line='{"result":{"ok":true,"attempts":1,"status":200,"ms":5}}'
	start=$(date +%s)
	run timeout 20 bash -c "{ echo '$line'; sleep 1.5; echo '$line'; sleep 1; } | pbstat --every 0.4 -o json"
	assert_success
	[ $(( $(date +%s) - start )) -lt 10 ]
	[ "${#lines[@]}" -ge 5 ] || fail "only ${#lines[@]} reports"
	# Reports came while the pipe was quiet: some saw one line, the last both.
	assert_equal "$(jq -s -c 'map(.seen) | [.[0], .[-1], (. == sort)]' <<<"$output")" '[1,2,true]'
	jq -e -s 'all(.at | test("^20[0-9-]+T[0-9:]+Z$"))' <<<"$output"
	run timeout 20 bash -c "{ echo '$line'; sleep 1; } | pbstat --every 300ms"
	assert_line --regexp '^pbstat at 20[0-9-]+T[0-9:]+Z$'
	[ "$(grep -c '^postbacks ' <<<"$output")" -ge 3 ]
}

@test "--every on a terminal redraws the report in place" {
	line='{"result":{"ok":true,"attempts":1,"status":200,"ms":5}}'
	run timeout 20 script -qec "{ echo '$line'; sleep 1; } | pbstat --every 0.3" out
	[ "$(grep -c $'\033\\[H\033\\[2J' out)" -ge 3 ]
	[ "$(grep -c '^postbacks ' out)" -ge 3 ]
}

# peak FILE: pbstat's peak resident memory over FILE, in KiB (under
# AddressSanitizer, without its quarantine, which would hold on to the
# memory freed).
peak() {
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' pbstat --hist 0,10ms,1s --by postback.name "$1"
}

@test "memory grows with postbacks, not records: 20,000 records to 200,000 over 2,000 keys" {
	make_results 200000 9 2000 > big.ndjson
	head -n 20000 big.ndjson > small.ndjson
	small=$(peak small.ndjson)
	big=$(peak big.ndjson)
	echo "peak KiB: $small on 20,000 records, $big on 200,000"
	[ $((big - small)) -lt 1024 ]
}

@test "a postback costs at most 80 bytes of memory: 10,000 keys to 210,000" {
	make_results 210000 10 > big.ndjson
	head -n 10000 big.ndjson > small.ndjson
	small=$(peak small.ndjson)
	big=$(peak big.ndjson)
	echo "peak KiB: $small on 10,000 keys, $big on 210,000: $(( (big - small) * 1024 / 200000 )) bytes a key"
	[ $(( (big - small) * 1024 )) -le $(( 80 * 200000 )) ]
}

# by_key > FILE: postbacks told by several records each, in the order
# pbfire writes them: k1 pending (503), then delivered on its second
# attempt; k2 failed for good (400) in publisher 7's log, then fed back
# and delivered (attempts_in_all 2) in publisher 9's; k3 delivered, then
# a duplicate and a record sent again once the ledger forgot it; k4
# retried twice (final: false) and failed for good after 3 attempts; k5
# only a duplicate (settled earlier); k6 superseded; k7 a dry run; two
# records without a key, each a postback of its own; a line that is not
# a result record.
by_key() {
	local at='"fire_at":"2026-11-24T10:00:00Z"'
	rec() { echo "{\"publisher_id\":$2,\"postback\":{\"name\":\"pb$2\",\"key\":\"$1\"},$at,\"result\":{$3}}"; }
	rec k1 7 '"ok":false,"final":false,"status":503,"attempts":1,"error":"http","message":"HTTP 503","ms":10,"fired_at":"2026-11-24T10:00:01Z"'
	rec k2 7 '"ok":false,"status":400,"attempts":1,"error":"http","message":"HTTP 400","ms":20,"fired_at":"2026-11-24T10:00:02Z"'
	rec k3 8 '"ok":true,"status":200,"attempts":1,"error":null,"ms":30,"fired_at":"2026-11-24T10:00:03Z"'
	rec k1 7 '"ok":true,"status":200,"attempts":2,"error":null,"ms":40,"fired_at":"2026-11-24T10:05:01Z"'
	rec k4 8 '"ok":false,"final":false,"status":0,"attempts":1,"error":"timeout","message":"timed out","ms":5000,"fired_at":"2026-11-24T10:00:04Z"'
	rec k4 8 '"ok":false,"final":false,"status":0,"attempts":2,"error":"timeout","message":"timed out","ms":5000,"fired_at":"2026-11-24T10:05:04Z"'
	rec k4 8 '"ok":false,"status":0,"attempts":3,"error":"timeout","message":"timed out","ms":5000,"fired_at":"2026-11-24T10:15:04Z"'
	rec k2 9 '"ok":true,"status":200,"attempts":1,"attempts_in_all":2,"error":null,"ms":50,"fired_at":"2026-11-24T11:00:02Z","round":2'
	rec k3 8 '"ok":true,"status":0,"attempts":0,"error":"duplicate","ms":0,"fired_at":null'
	rec k1 7 '"ok":true,"status":0,"attempts":0,"error":"duplicate","ms":0,"fired_at":null'
	rec k5 9 '"ok":true,"status":0,"attempts":0,"error":"duplicate","ms":0,"fired_at":null'
	rec k6 7 '"ok":false,"status":0,"attempts":0,"error":"superseded","message":"rejected (fraud) at 2026-11-24T10:01:00Z","ms":0,"fired_at":null'
	rec k7 8 '"ok":true,"dry_run":true,"status":0,"attempts":0,"error":null,"ms":0,"fired_at":null'
	rec k3 8 '"ok":true,"status":200,"attempts":1,"error":null,"ms":60,"fired_at":"2026-11-24T12:00:00Z"'
	for _ in 1 2; do
		echo "{\"publisher_id\":9,$at,\"result\":{\"ok\":true,\"status\":204,\"attempts\":1,\"ms\":1,\"fired_at\":\"2026-11-24T10:00:00Z\"}}"
	done
	echo '{"type":"click","transaction_id":"x1"}'
}

@test "postbacks by key: the last record decides, delivered stays, duplicates and replays count nothing new" {
	by_key > r
	run pbstat -o json r
	assert_success
	# 9 postbacks: k1, k2, k3 and the two without a key delivered, k4
	# failed, k5 settled earlier, k6 superseded, k7 a dry run.
	assert_equal "$(jq -c '[.seen, .delivered, .failed, .pending, .superseded, .dry_runs, .earlier]' <<<"$output")" '[9,5,1,0,1,1,1]'
	assert_equal "$(jq -c '[.success_ratio, .records, .lines, .other]' <<<"$output")" \
		'[0.833333,{"read":16,"duplicates":3,"after_delivery":1},17,1]'
	# Attempts per postback, the most any of its records shows: k1 2, k2 2
	# (attempts_in_all), k3 1, k4 3, the two without a key 1 each.
	assert_equal "$(jq -c '.attempts' <<<"$output")" '{"sent":6,"retried":3,"mean":1.666667,"max":3}'
	# The status of each postback's last record sent; k4 had no answer.
	assert_equal "$(jq -c '.status' <<<"$output")" '{"0":1,"200":3,"204":2}'
	# Latency, fire lag and errors of the records deciding a fate: not of
	# duplicates, nor of k3's record after its delivery.
	assert_equal "$(jq -c '.latency_ms | [.count, .min, .max]' <<<"$output")" '[10,1,5000]'
	assert_equal "$(jq -c '.fire_lag_ms | [.count, .max]' <<<"$output")" '[10,3602000]'
	assert_equal "$(jq -c '.errors | map_values(.count)' <<<"$output")" '{"timeout":3,"http":2,"superseded":1}'
	run pbstat r
	assert_success
	assert_line "postbacks    9 seen: 5 delivered, 1 failed, 0 pending, 1 superseded, 1 dry run, 1 settled earlier"
	assert_line "success      83.33% (5 of 6 finished)"
	assert_line "superseded   1 stopped by a later action of the transaction, such as a fraud check's verdict"
	assert_line "attempts     6 sent, mean 1.67, max 3, 50.00% retried"
	assert_line "status       none 1, 200 3, 204 2"
	assert_line "errors       timeout 3, http 2, superseded 1"
	assert_line "records      16 read: 3 duplicates, 1 after delivery"
	assert_line "lines        17 read, 1 not a result record, 0 rejected"
}

@test "--by: a postback in the group of the record deciding it; records in their own line's group" {
	by_key > r
	run pbstat -o json --by publisher_id r
	assert_success
	# k2 failed in 7 and was delivered in 9: it counts in 9 only.
	assert_equal "$(jq -c '.by.groups | map([.value, .records.read, .seen, .delivered, .failed, .pending,
		.superseded, .dry_runs, .earlier, .success_ratio, .attempts.sent, .attempts.max, .status])' <<<"$output")" \
		'[["9",4,4,3,0,0,0,0,1,1,3,2,{"200":1,"204":2}],["8",7,3,1,1,0,0,1,0,0.5,2,3,{"0":1,"200":1}],["7",5,2,1,0,0,1,0,0,1,1,2,{"200":1}]]'
	assert_equal "$(jq '[.by.groups[].seen] | add' <<<"$output")" 9
	run pbstat --by publisher_id r
	assert_line --regexp '^  9 +4 +4 +3 +0 +0 +0 +0 +1 +100.00% +1.0 +49.9$'
	assert_line --regexp '^  8 +7 +3 +1 +1 +0 +0 +1 +0 +50.00% +5000.0 +5000.0  timeout 3$'
	assert_line --regexp '^  7 +5 +2 +1 +0 +0 +1 +0 +0 +100.00% +20.1 +40.0  http 2$'
}

@test "--min-success: the ratio of postbacks, not of records" {
	by_key > r
	# 5 of 6 postbacks finished were delivered (83.3%); by records, 7 of 9.
	run pbstat --min-success 0.83 r
	assert_success
	run pbstat --min-success 0.84 r
	assert_failure 1
	assert_line "pbstat: success ratio 0.8333 is below --min-success 0.84 (5 of 6 finished)"
	# A failure delivered later is no longer a failure.
	printf '%s\n' '{"postback":{"key":"a"},"result":{"ok":false,"attempts":1,"error":"http"}}' \
		'{"postback":{"key":"a"},"result":{"ok":true,"attempts":1}}' > r2
	run pbstat --min-success 1 r2
	assert_success
}

@test "--key: the field holding the key, as pbfire's; a record without one is a postback of its own" {
	printf '%s\n' '{"k":{"id":"a\u0031"},"postback":{"key":"x"},"result":{"ok":false,"final":false,"attempts":1}}' \
		'{"k":{"id":"a1"},"postback":{"key":"y"},"result":{"ok":true,"attempts":2}}' \
		'{"k":{"id":7},"result":{"ok":true,"attempts":1}}' '{"k":{"id":"7"},"result":{"ok":true,"attempts":1}}' \
		'{"k":{"id":null},"result":{"ok":true,"attempts":1}}' '{"k":{"id":null},"result":{"ok":true,"attempts":1}}' > r
	assert_equal "$(pbstat -o json --key k.id r | jq -c '[.seen, .delivered, .pending, .attempts.max]')" '[4,4,0,2]'
	assert_equal "$(pbstat -o json r | jq -c '[.seen, .delivered, .pending]')" '[6,5,1]'
	run pbstat --key '' r
	assert_failure 2
}

@test "--every: each report counts postbacks as their records so far tell" {
	pending='{"postback":{"key":"a"},"result":{"ok":false,"final":false,"attempts":1,"status":503}}'
	delivered='{"postback":{"key":"a"},"result":{"ok":true,"attempts":2,"status":200}}'
	run timeout 20 bash -c "{ echo '$pending'; sleep 1.2; echo '$delivered'; sleep 0.6; } | pbstat --every 0.3 -o json"
	assert_success
	assert_equal "$(jq -s -c '[.[0], .[-1]] | map([.seen, .pending, .delivered, .status])' <<<"$output")" \
		'[[1,1,0,{"503":1}],[1,0,1,{"200":1}]]'
}
