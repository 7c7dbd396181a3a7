#!/usr/bin/env bats
# pbstat's outputs for the operators: the --html page, loaded in headless
# Chromium (no console message, no error, no request, the screenshot a
# PNG of the window's size), its escaping against records that carry
# markup, its search, its masking of URL secrets and its --html-max bound;
# and -o openmetrics, linted by promtool and scraped through
# prometheus-node-exporter's textfile collector.

load helper

# chrome ARGS...: headless Chromium with its console on stderr, a profile
# of its own, and a time limit (it can hang).
chrome() {
	timeout 60 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$BATS_TEST_TMPDIR/profile" \
		--enable-logging=stderr --v=0 "$@"
}

# dom PAGE [#FRAGMENT]: the page's DOM once its scripts ran, in dom.html;
# fails on any console message.
dom() {
	chrome --dump-dom "file://$BATS_TEST_TMPDIR/$1${2:-}" > dom.html 2> chrome.log ||
		fail "chromium failed: $(tail -5 chrome.log)"
	! grep ':CONSOLE' chrome.log || fail "the page wrote to the console"
	grep -q '<html lang="en" data-pb-ready="1">' dom.html || fail "the page's script did not finish: $(head -c 300 dom.html)"
}

# failure ID CLICK NAME [RESULT-MEMBERS]: a result record of a failed attempt.
failure() {
	printf '{"transaction_id":"%s","external_transaction_id":"%s","publisher_id":7,"postback":{"name":"%s","key":"%s:%s"},"url":"https://pub.example/pb?c=%s","result":{"ok":false,"status":500,"attempts":1,"error":"http","message":"HTTP 500","ms":12,"fired_at":"2026-11-24T10:00:00Z"%s}}\n' \
		"$1" "$2" "$3" "$1" "$3" "$1" "${4:-}"
}

delivered() {
	printf '{"transaction_id":"%s","publisher_id":%s,"postback":{"name":"%s","key":"%s"},"url":"https://%s/pb","result":{"ok":true,"status":200,"attempts":%s,"ms":%s,"fired_at":"2026-11-24T10:0%s:00Z"}}\n' \
		"$1" "$2" "$3" "$1" "$4" "$5" "$6" "$7"
}

@test "--html: one page that Chromium loads with no console message, no error and no request; the screenshot is a PNG of the window's size" {
	for i in 1 2 3 4 5 6; do delivered "d$i" 7 pub7 pub7.example 1 $((i * 10)) $((i % 3)); done > r
	failure t1 pub-abc pub7 ',"response":{"status":500,"headers":{"content-type":"text/plain"},"body":"database down","truncated":false}' >> r
	failure t2 pub-def crm >> r
	run pbstat --html page.html r
	assert_success
	assert_line --partial "postbacks    8 seen: 6 delivered, 2 failed"
	# Nothing to fetch: no element names a source, and the policy forbids it.
	! grep -Eq '<[a-z]+ [^>]*(src|href)=' page.html
	grep -q "default-src 'none'" page.html
	dom page.html
	! grep -q 'data-pb-error' dom.html
	grep -q '<h2>By postback</h2>' dom.html
	grep -q '<td class="l">pub7</td><td>7</td><td>6</td><td>1</td>' dom.html
	grep -q '<h2>By publisher</h2>' dom.html
	grep -q '<svg xmlns="http://www.w3.org/2000/svg"' dom.html
	grep -q '<pre>database down</pre>' dom.html
	grep -q 'HTTP 500' dom.html
	chrome --screenshot="$BATS_TEST_TMPDIR/shot.png" --window-size=1024,900 "file://$BATS_TEST_TMPDIR/page.html" \
		2> chrome.log || fail "chromium failed: $(tail -5 chrome.log)"
	run python3 -c '
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n" and d[12:16] == b"IHDR", "not a PNG"
print(*struct.unpack(">II", d[16:24]), len(d))' shot.png
	assert_success
	read -r w h size <<< "$output"
	assert_equal "$w x $h" "1024 x 900"
	[ "$size" -gt 20000 ] || fail "a screenshot of $size bytes is blank"
}

@test "--html escapes what the records say: <script> in a click id, a name or an answer runs nothing, and odd text stays valid UTF-8" {
	payload="<script>document.documentElement.setAttribute('data-pwned','1');document.title='pwned'</script>"
	{
		failure t1 "$payload" pub7
		failure t2 '\"><img src=x onerror=document.title=/pwned/.source>' "$payload"
		failure t3 "</script><script>document.title='pwned'</script>" pub7 \
			",\"response\":{\"status\":502,\"headers\":{\"x-a\":\"</script><b>\"},\"body\":\"</script>$payload\\u0000\\u00e9\\ud83d\\ude00\\u2028\\u001b\",\"truncated\":true}"
	} > r
	run pbstat --html page.html r
	assert_success
	iconv -f UTF-8 -t UTF-8 page.html > /dev/null || fail "the page is not valid UTF-8"
	! grep -q $'\x00\|\x1b' page.html
	# The markup in the data is escaped: one script element starts it, and ends it.
	sed -n '/id="pb-data"/,$p' page.html | head -1 | grep -q '\\u003c/script\\u003e'
	dom page.html
	grep -q '<title>Postbacks</title>' dom.html
	! grep -q 'data-pwned\|data-pb-error' dom.html
	! grep -q '<img' dom.html
	grep -q 'é😀' dom.html
	grep -q '(truncated)' dom.html
}

@test "--html: the search finds a click or transaction id among the failures listed, also from the address's #find=" {
	{ failure t1 pub-abc pub7; failure t2 pub-def pub7; failure t3 pub-ghi crm; } > r
	pbstat --html page.html r > /dev/null
	dom page.html '#find=pub-def'
	grep -q 'id="found">1 failure found<' dom.html
	grep -q '<tr id="f2" class="hit">' dom.html
	grep -q '<tr id="f1" hidden="">' dom.html
	grep -q '<section class="postback" hidden="">' dom.html	# crm's has nothing found
	dom page.html '#find=t3'
	grep -q 'id="found">1 failure found<' dom.html
	grep -q '<tr id="f3" class="hit">' dom.html
	dom page.html '#find=pub-zzz'
	grep -q 'id="found">not among the 3 failures this page lists<' dom.html
}

@test "--html masks URL secrets: user information, and the values of parameters named like a token, key, secret, password or signature" {
	echo '{"postback":{"name":"p","key":"k"},"url":"https://bob:hunter2@pub.example/pb?c=pub-abc&Token=t0k&api_key=k3y&client_secret=s3c&password=pw0&sig=5ig&x=1#f","result":{"ok":false,"status":403,"attempts":1,"error":"http","ms":3,"fired_at":"2026-11-24T10:00:00Z"}}' > r
	pbstat --html page.html r > /dev/null
	grep -qF 'https://***@pub.example/pb?c=pub-abc&amp;Token=***&amp;api_key=***&amp;client_secret=***&amp;password=***&amp;sig=***&amp;x=1#f' page.html
	! grep -E 'hunter2|t0k|k3y|s3c|pw0|5ig' page.html
}

@test "--html-max bounds the failures listed, shared in turn among the postbacks, newest first; the page stays small" {
	{
		for i in $(seq 1000); do failure "a$i" "ca$i" busy; done
		failure b1 cb1 quiet; failure b2 cb2 quiet
	} > r
	run pbstat --html page.html --html-max 5 r
	assert_success
	assert_equal "$(grep -c '<tr id="f' page.html)" 5
	grep -q 'busy <span class="meta">(3 listed)' page.html
	grep -q 'quiet <span class="meta">(2 listed)' page.html
	# busy's newest three: a1000, a999, a998, in that order.
	assert_equal "$(grep -o 'transaction <code>a[0-9]*' page.html | cut -d'>' -f2 | tr '\n' ' ')" "a1000 a999 a998 "
	pbstat --html big.html r > /dev/null
	assert_equal "$(grep -c '<tr id="f' big.html)" 100	# the default
	[ "$(stat -c %s big.html)" -lt 200000 ]
	pbstat --html none.html --html-max 0 r > /dev/null
	grep -q '<p>No failures.</p>' none.html
}

@test "--html and -o openmetrics refuse bad arguments, and an --html file that cannot be written stops pbstat with exit 2" {
	failure t1 c1 p > r
	for args in "--html-max -1" "--html-max 5x" "--html-max 100001" "--html=" "-o openmetrics --every 1" "-o yaml"; do
		run pbstat $args r
		assert_failure 2
	done
	run pbstat --html no-such-dir/p.html r
	assert_failure 2
	assert_line --partial "pbstat: no-such-dir/p.html"
}

@test "--html and -o openmetrics over a torn last line, records of older pbfires and no records at all" {
	{
		failure t1 c1 pub7
		echo '{"postback":{"name":"pub7"},"url":"https://pub.example/old","result":{"ok":false,"status":0,"attempts":3,"error":"connect","ms":0}}'
		printf '{"postback":{"name":"pub7","key":"k9"},"result":{"ok":tr'
	} > r
	run pbstat --html page.html -o openmetrics r
	assert_failure 1	# the torn line is rejected
	assert_line 'pb_lines_total{kind="rejected"} 1'
	assert_line 'pb_postbacks_total{postback="pub7",fate="failed"} 2'
	grep -q '2 result records, 0 not result records, 1 rejected' page.html
	grep -q '<h3>pub7 <span class="meta">(2 listed)' page.html
	tail -1 page.html | grep -qx '</body></html>'
	run pbstat --html empty.html -o openmetrics < /dev/null
	assert_success
	echo "$output" | promtool check metrics
	grep -q 'No postbacks sent' empty.html
	grep -q '<p>No failures.</p>' empty.html
}

# results_for_metrics: postbacks of two names and hosts, with a name that
# needs escaping as a label value.
results_for_metrics() {
	delivered d1 7 pub7 pub7.example 1 10 0
	delivered d2 7 pub7 pub7.example 2 20 0
	delivered d3 7 pub7 pub7.example 1 300 1
	delivered d4 8 'we\"ird\\name\né' pub8.example 3 2000 1
	failure t1 c1 pub7
	echo '{"postback":{"name":"pub7","key":"p1"},"url":"https://pub7.example/pb","result":{"ok":false,"final":false,"status":503,"attempts":1,"error":"http","ms":40,"fired_at":"2026-11-24T10:02:05Z"}}'
}

@test "-o openmetrics: fates per postback and host, attempts and a latency histogram with le buckets, that promtool passes" {
	results_for_metrics > r
	run pbstat -o openmetrics r
	assert_success
	echo "$output" > m.prom
	assert_equal "$(tail -1 m.prom)" "# EOF"
	run promtool check metrics < m.prom
	assert_success
	assert_output ""
	grep -qx 'pb_postbacks_total{postback="pub7",fate="delivered"} 3' m.prom
	grep -qx 'pb_postbacks_total{postback="pub7",fate="failed"} 1' m.prom
	# we"ird\name, a newline and é: the JSON's escapes are the label's.
	grep -qxF 'pb_postbacks_total{postback="we\"ird\\name\né",fate="delivered"} 1' m.prom
	grep -qx 'pb_host_postbacks_total{host="pub7.example",fate="delivered"} 3' m.prom
	grep -qx 'pb_host_postbacks_total{host="pub.example",fate="failed"} 1' m.prom
	grep -qx 'pb_pending_postbacks{postback="pub7"} 1' m.prom
	grep -qx 'pb_attempts_total{postback="pub7"} 6' m.prom
	grep -qx 'pb_latency_seconds_bucket{postback="pub7",le="0.01"} 1' m.prom
	grep -qx 'pb_latency_seconds_bucket{postback="pub7",le="0.025"} 3' m.prom	# 10, 12 and 20 ms
	grep -qx 'pb_latency_seconds_bucket{postback="pub7",le="0.25"} 4' m.prom
	grep -qx 'pb_latency_seconds_bucket{postback="pub7",le="+Inf"} 5' m.prom
	grep -qx 'pb_latency_seconds_count{postback="pub7"} 5' m.prom
	grep -qx 'pb_latency_seconds_sum{postback="pub7"} 0.382000' m.prom
	# --hist's bounds are the buckets.
	pbstat -o openmetrics --hist 0,15ms,1s r > h.prom
	assert_equal "$(grep -c 'pb_latency_seconds_bucket{postback="pub7"' h.prom)" 3
	grep -qx 'pb_latency_seconds_bucket{postback="pub7",le="0.015"} 2' h.prom
	grep -qx 'pb_latency_seconds_bucket{postback="pub7",le="1.0"} 5' h.prom
	promtool check metrics < h.prom
}

@test "-o openmetrics through prometheus-node-exporter's textfile collector, written as the README's cron line does" {
	results_for_metrics > r
	mkdir textfile
	pbstat -o openmetrics r > textfile/pb.prom.tmp && mv textfile/pb.prom.tmp textfile/pb.prom
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	prometheus-node-exporter --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$BATS_TEST_TMPDIR/textfile" 2> exporter.log &
	RECEIVER_PID=$!	# teardown stops it
	await "node_exporter" "$RECEIVER_PID" curl -sf "http://127.0.0.1:$port/metrics" -o scraped
	grep -qx 'node_textfile_scrape_error 0' scraped
	grep -qx '# TYPE pb_postbacks_total counter' scraped
	grep -qx 'pb_postbacks_total{fate="delivered",postback="pub7"} 3' scraped
	grep -qx 'pb_host_postbacks_total{fate="failed",host="pub.example"} 1' scraped
	grep -qx 'pb_latency_seconds_bucket{postback="pub7",le="0.025"} 3' scraped
}
