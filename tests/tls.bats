#!/usr/bin/env bats
# pbfire over https against nginx on 127.0.0.1 with a certificate from a
# test CA made here: --cacert, HTTP/2 and HTTP/1.1, --per-host over the
# streams of one HTTP/2 connection, both through lanes with threads of
# their own, and certificates refused with error class tls.

load helper

# The helper's teardown (the receiver), and nginx.
eval "helper_$(declare -f teardown)"
teardown() {
	stop_nginx
	helper_teardown
}

# fire ARGS...: pbfire with loopback allowed and fast retries.
fire() {
	pbfire --allow-net 127.0.0.0/8 --backoff 0.05 "$@"
}

# logged URI: the protocol and the connection nginx logged for URI.
logged() {
	awk -v uri="$1" '$3 == uri { print $1, $2 }' nginx/access.log
}

@test "--cacert: https delivered over HTTP/2 where the server offers it, HTTP/1.1 where not" {
	start_nginx
	printf '{"url":"%s/two?a=1"}\n{"url":"%s/one?b=2"}\n' "$NGINX_H2" "$NGINX_H1" > in
	run fire --cacert nginx/ca.crt in
	assert_success
	assert_equal "$(jq -c '.result | [.ok, .status, .error, .attempts]' <<<"$output" | sort -u)" '[true,204,null,1]'
	assert_equal "$(logged '/two?a=1' | cut -d' ' -f1)" HTTP/2.0
	assert_equal "$(logged '/one?b=2' | cut -d' ' -f1)" HTTP/1.1
}

@test "HTTP/2: a POST answered before its body is read is delivered once, not retried" {
	start_nginx
	# nginx's return answers without reading the body, then resets the
	# stream, which libcurl 7.88 reports as an error after the 204, or
	# now and then (one in hundreds) waits out the timeout after it
	for i in $(seq 20); do
		echo "{\"url\":\"$NGINX_H2/early?i=$i\",\"body\":\"payout=1.50\",\"postback\":{\"key\":\"k$i\"}}"
	done > in
	run fire --cacert nginx/ca.crt --timeout 3s in
	assert_success
	assert_equal "$(jq -c '.result | [.ok, .status, .error, .attempts]' <<<"$output" | sort -u)" '[true,204,null,1]'
	assert_equal "$(awk '$3 ~ /^\/early/' nginx/access.log | wc -l)" 20
	assert_equal "$(awk '$3 ~ /^\/early/ { print $1 }' nginx/access.log | sort -u)" HTTP/2.0
}

@test "--per-host bounds the streams of one HTTP/2 connection, which stays one over --threads 4" {
	start_receiver
	start_nginx
	for i in $(seq 6); do echo "{\"url\":\"$NGINX_H2/slow?delay=0.4&i=$i\"}"; done > in
	run fire --cacert nginx/ca.crt --per-host 2 --threads 4 in
	assert_success
	assert_equal "$(seen | wc -l)" 6
	assert_equal "$(awk '$3 ~ /^\/slow/ { print $1 }' nginx/access.log | sort -u)" HTTP/2.0
	assert_equal "$(awk '$3 ~ /^\/slow/ { print $2 }' nginx/access.log | sort -u | wc -l)" 1
	# Requests arriving within 0.4 s of one another were in flight together:
	# two at a time, never more.
	most=$(jq -s '[.[].t] | sort as $t | [range(length) | . as $i |
		[$t[] | select(. >= $t[$i] and . < $t[$i] + 0.35)] | length] | max' recv.ndjson)
	assert_equal "$most" 2
}

@test "--threads 2: two HTTP/2 hosts over TLS, one in each lane, each over one connection" {
	start_nginx
	port=${NGINX_H2##*:}
	for i in $(seq 100); do
		echo "{\"url\":\"https://127.0.0.1:$port/a$i\"}"
		echo "{\"url\":\"https://localhost:$port/b$i\"}"
	done > in
	run fire --allow-net ::1 --cacert nginx/ca.crt --threads 2 in
	assert_success
	assert_equal "$(jq -r .result.ok <<<"$output" | sort | uniq -c | awk '{ print $1, $2 }')" "200 true"
	assert_equal "$(awk '{ print $1 }' nginx/access.log | sort -u)" HTTP/2.0
	# the two hosts went through the two lanes, each over one connection
	assert_equal "$(awk '$3 ~ /^\/a/ { print $2 }' nginx/access.log | sort -u | wc -l)" 1
	assert_equal "$(awk '$3 ~ /^\/b/ { print $2 }' nginx/access.log | sort -u | wc -l)" 1
}

@test "--threads 4: an https host answering over HTTP/1.1 keeps to --per-host connections" {
	start_nginx
	for i in $(seq 300); do echo "{\"url\":\"$NGINX_H1/c$i\"}"; done > in
	run fire --cacert nginx/ca.crt -j 64 --per-host 8 --threads 4 in
	assert_success
	assert_equal "$(awk '$3 ~ /^\/c/' nginx/access.log | wc -l)" 300
	assert_equal "$(awk '{ print $1 }' nginx/access.log | sort -u)" HTTP/1.1
	assert [ "$(awk '{ print $2 }' nginx/access.log | sort -u | wc -l)" -le 8 ]
}

@test "a certificate from a CA not trusted fails with error tls, and is not retried" {
	start_nginx
	echo "{\"url\":\"$NGINX_H2/untrusted\"}" > in
	run fire in
	assert_failure 1
	assert_equal "$(jq -c '.result | [.ok, .error, .attempts, .status]' <<<"$output")" '[false,"tls",1,0]'
	assert_equal "$(jq -r .result.message <<<"$output" | grep -c 'certificate')" 1
	assert_equal "$(logged /untrusted)" ""
}

@test "a certificate for another host name fails with error tls, --cacert or not" {
	start_nginx
	echo "{\"url\":\"$NGINX_OTHER/elsewhere\"}" > in
	run fire --cacert nginx/ca.crt in
	assert_failure 1
	assert_equal "$(jq -c '.result | [.ok, .error, .attempts]' <<<"$output")" '[false,"tls",1]'
	assert_equal "$(jq -r .result.message <<<"$output" | grep -c "127.0.0.1")" 1
	assert_equal "$(logged /elsewhere)" ""
}

@test "--cacert: a file that cannot be read is a usage error, before anything is sent" {
	run pbfire --cacert no-such.pem < /dev/null
	assert_failure 2
	assert_output "pbfire: --cacert: no-such.pem: No such file or directory"
}
