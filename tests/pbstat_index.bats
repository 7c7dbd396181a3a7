#!/usr/bin/env bats
# pbstat --index and --find with an index: the stories told are the same,
# byte for byte, with the index and without it (--no-index), on a file of
# many transactions over many 64 KiB blocks: values in one block and in
# several, numbers and strings, escaped ids, --where on an id; after
# records were appended past the index, and after it was brought up to
# date; after the file was replaced by another (rotation); with the index
# truncated (before it is read, or in place while it is read), corrupted
# anywhere, foreign, or forged with its checks agreeing; with invalid,
# overlong, empty and CRLF lines, and a torn last line. That the index is read at all
# shows where it is trusted: a record rewritten in place, past what the
# index checks, is not found until the file is indexed again.

load helper

# results N [FROM]: N result records numbered from FROM (1): transaction
# t<i> (every 7th a number), click c<i>, key t<i>:pub:approved; every
# 50th record also tells of transaction t<i/50>, far from its first.
results() {
	awk -v n="$1" -v from="${2:-1}" 'BEGIN {
		for (i = from; i < from + n; i++) {
			t = i % 50 == 0 ? i / 50 : i
			id = t % 7 == 0 ? t : "\"t" t "\""
			printf "{\"type\":\"conversion\",\"transaction_id\":%s,\"external_transaction_id\":\"c%d\",", id, t
			printf "\"postback\":{\"name\":\"pub\",\"key\":\"t%d:pub:approved\"},\"pad\":\"%0200d\",", t, i
			printf "\"result\":{\"ok\":%s,\"status\":%d,\"attempts\":1,\"ms\":3.5}}\n", i % 3 ? "true" : "false", i % 3 ? 200 : 503
		}
	}'
}

# forge MODE FILE: rewrites FILE's index as a forger would, its checks
# made to agree again (FNV-1a, strmap.c), and prints an id the forgery
# hides. MODE block: block 5 starts where block 6's bytes begin, before
# the first line starting there; MODE swap: the last entry of chunk 0
# and one of chunk 1 swap places.
forge() {
	python3 - "$@" <<'PY'
import re, struct, sys
mode, path = sys.argv[1], sys.argv[2]
def check(b):
    h = 0xcbf29ce484222325
    for c in b:
        h = ((h ^ c) * 0x100000001b3) & (2**64 - 1)
    return h
ix = bytearray(open(path + ".idx", "rb").read())
shift, = struct.unpack_from("<I", ix, 12)
nblocks, nentries = struct.unpack_from("<QQ", ix, 64)
blocks = 104 + 8 * nentries
chunks = blocks + 24 * nblocks
nchunks = (nentries + 4095) // 4096
lines = open(path, "rb").read().split(b"\n")
def ids(line):
    return [re.search(p, line).group(1) for p in
            (rb'"transaction_id":"?([^",]+)', rb'"external_transaction_id":"([^"]+)', rb'"key":"([^"]+)')]
if mode == "block":
    struct.pack_into("<Q", ix, blocks + 24 * 5, 6 << shift)
    at, hidden = 0, None
    for line in lines:
        if hidden is None and at >= 5 << shift:
            hidden = ids(line)[2]
        at += len(line) + 1
else:
    a, b = 104 + 8 * 4095, 104 + 8 * 4100
    e, = struct.unpack_from("<Q", ix, a)
    ix[a:a + 8], ix[b:b + 8] = ix[b:b + 8], ix[a:a + 8]
    hidden = next(i for l in lines if l for i in ids(l) if check(i) >> 25 == e >> 24)
    for c in (0, 1):
        n = min(4096, nentries - 4096 * c)
        struct.pack_into("<Q", ix, chunks + 16 * c + 8, check(ix[104 + 8 * 4096 * c:104 + 8 * (4096 * c + n)]))
struct.pack_into("<Q", ix, 80, check(ix[blocks:chunks]))
struct.pack_into("<Q", ix, 88, check(ix[chunks:chunks + 16 * nchunks]))
struct.pack_into("<Q", ix, 96, check(ix[:96]))
open(path + ".idx", "wb").write(ix)
print(hidden.decode())
PY
}

# same ARGS...: pbstat ARGS... tells the same, on stdout and stderr, with
# the same status, with the index as without it.
same() {
	local with without
	with=$(pbstat "$@" 2>&1; echo "status $?")
	without=$(pbstat --no-index "$@" 2>&1; echo "status $?")
	[ "$with" = "$without" ] || fail "$(printf 'pbstat %s differs with the index:\n%s\n--- without:\n%s' "$*" "$with" "$without")"
}

# all_same FILE: same for values of every kind in FILE, as text and JSON.
all_same() {
	for v in t1 t2 7 t7 14 c3 c21 t40:pub:approved t999 t1000 c12345 t20000 nothing '' 't/1'; do
		same --find "$v" "$1"
		same --find "$v" -o json "$1"
	done
	same --where transaction_id=t40 "$1"
	same --where postback.key=t41:pub:approved --where external_transaction_id=c41 "$1"
	same --where external_transaction_id=c5 -o json "$1"
}

@test "--index: --find tells the same with the index as without, over many blocks, and reads less" {
	results 30000 > r.ndjson
	run pbstat --index r.ndjson
	assert_success
	assert_output ""
	[ -s r.ndjson.idx ] || fail "no index written"
	[ "$(stat -c %s r.ndjson.idx)" -lt $(($(stat -c %s r.ndjson) / 10)) ] || fail "index over 10% of the file"
	all_same r.ndjson
	run pbstat --find t40 r.ndjson
	assert_success
	assert_line --regexp '^  r\.ndjson:2000: '
	# A record rewritten in place, the file's length and end unchanged:
	# the index does not know t77 is in that block, so only the scan finds
	# it, until the index is removed and built again.
	offset=$(head -n 40 r.ndjson | wc -c)
	printf '"t77"' | dd of=r.ndjson bs=1 seek=$((offset + 38)) conv=notrunc status=none
	run pbstat --no-index --find t77 r.ndjson
	assert_success
	assert_line --regexp '^  r\.ndjson:41: '
	run pbstat --find t77 r.ndjson
	assert_failure 1
	assert_output "pbstat: no record matches"
	rm r.ndjson.idx
	pbstat --index r.ndjson
	same --find t77 r.ndjson
}

@test "--index: records appended after it are read past it; --index again indexes only them" {
	results 20000 > r.ndjson
	pbstat --index r.ndjson
	results 5000 20001 >> r.ndjson
	all_same r.ndjson
	before=$(stat -c %i r.ndjson.idx)
	run pbstat --index r.ndjson
	assert_success
	[ "$(stat -c %i r.ndjson.idx)" != "$before" ] || fail "the index was not replaced"
	all_same r.ndjson
	# The same index as one built at once.
	cp r.ndjson whole.ndjson
	pbstat --index whole.ndjson
	pbstat --find t21001 r.ndjson > updated.txt
	pbstat --find t21001 whole.ndjson | sed 's/whole\.ndjson/r.ndjson/' > whole.txt
	cmp updated.txt whole.txt
	# Up to date: nothing to do, the index left as it is.
	before=$(stat -c %i r.ndjson.idx)
	pbstat --index r.ndjson
	[ "$(stat -c %i r.ndjson.idx)" = "$before" ] || fail "an index up to date was rewritten"
}

@test "--index: a file replaced by another (rotation) is read whole, then indexed anew" {
	results 20000 > r.ndjson
	pbstat --index r.ndjson
	results 20000 100 > new.ndjson
	mv new.ndjson r.ndjson
	all_same r.ndjson
	# Rewritten in place, longer, under the same inode (copytruncate).
	results 25000 7 > new.ndjson
	pbstat --index r.ndjson
	cat new.ndjson > r.ndjson
	all_same r.ndjson
	pbstat --index r.ndjson
	all_same r.ndjson
	# An index of another file, copied beside this one.
	results 3000 > other.ndjson
	pbstat --index other.ndjson
	cp other.ndjson.idx r.ndjson.idx
	all_same r.ndjson
}

@test "--index: a truncated, corrupt or foreign index is no index: the same stories, no error" {
	results 20000 > r.ndjson
	pbstat --index r.ndjson
	cp r.ndjson.idx good.idx
	size=$(stat -c %s good.idx)
	for cut in 0 1 50 104 $((size / 2)) $((size - 1)); do
		head -c "$cut" good.idx > r.ndjson.idx
		same --find t40 r.ndjson
	done
	# A byte changed in the header, the entries, the blocks, the chunks.
	for at in 0 9 20 40 90 200 $((size / 3)) $((size - 3000)) $((size - 20)); do
		cp good.idx r.ndjson.idx
		printf '\377' | dd of=r.ndjson.idx bs=1 seek="$at" conv=notrunc status=none
		same --find t40 r.ndjson
		same --find t12345 -o json r.ndjson
	done
	printf 'not an index\n' > r.ndjson.idx
	same --find t40 r.ndjson
	rm r.ndjson.idx && mkdir r.ndjson.idx
	same --find t40 r.ndjson
	# Another --key: the index is of postback.key.
	rmdir r.ndjson.idx && cp good.idx r.ndjson.idx
	same --key external_transaction_id --find c40 r.ndjson
	pbstat --index --key external_transaction_id r.ndjson
	same --key external_transaction_id --find c40 r.ndjson
}

@test "--index: a forged index, its checks agreeing, that would hide records is no index" {
	results 30000 > r.ndjson
	pbstat --index r.ndjson
	cp r.ndjson.idx good.idx
	id=$(forge swap r.ndjson)
	same --find "$id" r.ndjson
	cp good.idx r.ndjson.idx
	id=$(forge block r.ndjson)
	same --find "$id" r.ndjson
	# Not a forgery: a line over two blocks long leaves blocks where no
	# line starts, which start with the next block. The index is read:
	# a record rewritten in place after them is not found.
	{
		results 1000
		printf '{"transaction_id":"long","pad":"%s"}\n' "$(head -c 200000 /dev/zero | tr '\0' x)"
		results 1000 1001
	} > long.ndjson
	pbstat --index long.ndjson
	same --find t1600 long.ndjson
	offset=$(head -n 1501 long.ndjson | wc -c)
	printf '"t7777"' | dd of=long.ndjson bs=1 seek=$((offset + 38)) conv=notrunc status=none
	run pbstat --no-index --find t7777 long.ndjson
	assert_success
	run pbstat --find t7777 long.ndjson
	assert_failure 1
	assert_output "pbstat: no record matches"
}

@test "--index: invalid, overlong, empty and CRLF lines, a torn last line: the same diagnostics and statuses" {
	{
		results 8000
		printf '{"transaction_id":"t40", broken\n'
		printf '\n\n'
		printf '{"transaction_id":"t40","pad":"%s"}\n' "$(head -c 3000 /dev/zero | tr '\0' x)"
		results 8000 8001 | sed 's/$/\r/'
		printf '{"transaction_id":"t8002","torn":'
	} > r.ndjson
	pbstat --index r.ndjson
	all_same r.ndjson
	same --find t40 --max-line 2000 r.ndjson
	same --find t40 --max-line 100 --reject rejected.txt r.ndjson
	same --find '///' r.ndjson
	# The torn line completed, then more: read past the index.
	printf '"no"}\n' >> r.ndjson
	results 100 16001 >> r.ndjson
	same --find t8002 r.ndjson
	same --find t16050 -o json r.ndjson
	pbstat --index r.ndjson
	same --find t8002 r.ndjson
}

@test "--index: several files, each with its own index or none; standard input read as ever" {
	results 10000 > a.ndjson
	results 10000 5000 > b.ndjson
	pbstat --index a.ndjson
	same --find t6001 a.ndjson b.ndjson
	same --find t6001 b.ndjson a.ndjson
	run pbstat --find t6001 - < a.ndjson
	assert_success
	assert_line --regexp '^  stdin:6001: '
}

@test "--index: usage and file errors" {
	run pbstat --index
	assert_failure 2
	assert_output --partial "pbstat: --index: no file named"
	run pbstat --index --find t1 r.ndjson
	assert_failure 2
	assert_output --partial "pbstat: --index builds indexes: only --index-memory, --key and --max-line with it"
	run pbstat --no-index r.ndjson
	assert_failure 2
	assert_output --partial "pbstat: --no-index: only with --find or --where"
	run pbstat --index missing.ndjson
	assert_failure 2
	assert_output "pbstat: missing.ndjson: No such file or directory"
	run pbstat --index /dev/null
	assert_failure 2
	assert_output "pbstat: /dev/null: not a regular file"
	results 10 > r.ndjson
	mkdir r.ndjson.idx.new
	run pbstat --index r.ndjson
	assert_failure 2
	assert_output --partial "pbstat: r.ndjson.idx: creating its .new file: Is a directory"
	rmdir r.ndjson.idx.new
	# Another --index writing r.ndjson.idx.new holds its lock: this one
	# fails and leaves that file as it is.
	printf 'being written\n' > r.ndjson.idx.new
	flock r.ndjson.idx.new sleep 3 &
	holder=$!
	sleep 0.5
	run pbstat --index r.ndjson
	assert_failure 2
	assert_output "pbstat: r.ndjson.idx: locking its .new file, held by another process: Resource temporarily unavailable"
	[ "$(cat r.ndjson.idx.new)" = "being written" ] || fail "the other's .new file was deleted or truncated"
	[ ! -e r.ndjson.idx ] || fail "an index was written"
	wait "$holder"
	: > empty.ndjson
	run pbstat --index empty.ndjson
	assert_success
	same --find t1 empty.ndjson
}

@test "--index-memory: the entries spilled in sorted runs and merged make the same index" {
	results 30000 > r.ndjson
	cp r.ndjson small.ndjson
	pbstat --index r.ndjson
	run pbstat --index --index-memory 65536 small.ndjson
	assert_success
	[ "$(stat -c %s r.ndjson.idx)" = "$(stat -c %s small.ndjson.idx)" ] || fail "another size spilled"
	cmp <(tail -c +105 r.ndjson.idx) <(tail -c +105 small.ndjson.idx)
	all_same small.ndjson
	# Brought up to date in runs too.
	results 20000 30001 | tee -a r.ndjson >> small.ndjson
	pbstat --index r.ndjson
	pbstat --index --index-memory 65536 small.ndjson
	cmp <(tail -c +105 r.ndjson.idx) <(tail -c +105 small.ndjson.idx)
	run pbstat --index --index-memory 1000 r.ndjson
	assert_failure 2
	assert_output --partial "pbstat: --index-memory: expected a byte count of 65536 or more, got '1000'"
	run pbstat --find t1 --index-memory 65536 r.ndjson
	assert_failure 2
	assert_output --partial "pbstat: --index-memory: only with --index"
}

@test "--index-memory: a full TMPDIR fails --index at the first run, which is not written again" {
	needs_strace
	# Each id once (no record of a transaction told before), so that the
	# first run, failed, stays full.
	results 10000 | awk 'NR % 50' > r.ndjson
	# Runs are written with pwrite, the index with write: each pwrite
	# fails as on a full disk. (LeakSanitizer cannot run under ptrace.)
	run env ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o trace.log -e trace=pwrite64 -e inject=pwrite64:error=ENOSPC \
		pbstat --index --index-memory 65536 r.ndjson
	assert_failure 2
	assert_output "pbstat: r.ndjson.idx: writing a run of the index to TMPDIR: No space left on device"
	[ "$(grep -c 'pwrite64(' trace.log)" = 1 ] || fail "$(grep -c 'pwrite64(' trace.log) runs written, not 1"
	[ ! -e r.ndjson.idx ] || fail "an index was written"
}

# traced PATTERN: until strace's log, trace, has a line matching PATTERN
# (10 s at most).
traced() {
	for _ in $(seq 100); do
		! grep -q "$1" trace 2> /dev/null || return 0
		sleep 0.1
	done
}

@test "--index: an index truncated in place while --find reads it is no index, not a crash" {
	needs_strace
	results 20000 > r.ndjson
	pbstat --index r.ndjson
	pbstat --no-index --find t40 r.ndjson > want
	# Once pbstat has opened the index, its next read of it (or mapping)
	# returns 2 s late; meanwhile the index is emptied in place, as cp
	# over it would. (LeakSanitizer cannot work under strace.)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -o trace -P r.ndjson.idx -e trace=openat,mmap,pread64 \
		-e inject=mmap,pread64:delay_exit=2000000:when=1 pbstat --find t40 r.ndjson > got 2> err &
	pid=$!
	traced 'openat(.*r\.ndjson\.idx'
	: > r.ndjson.idx
	wait "$pid" || fail "pbstat exited $?: $(cat err)"
	diff want got
}

@test "--index: an old index truncated in place while it is brought up to date fails the update, named" {
	needs_strace
	results 20000 > r.ndjson
	pbstat --index r.ndjson
	results 10 20001 >> r.ndjson
	# The new index is opened 2 s late, after the old one's chunks were
	# checked and before they are merged; meanwhile the old one is emptied.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -o trace -P r.ndjson.idx -P r.ndjson.idx.new \
		-e trace=openat -e inject=openat:delay_exit=2000000:when=2 pbstat --index r.ndjson 2> err &
	pid=$!
	traced 'openat(.*r\.ndjson\.idx\.new'
	: > r.ndjson.idx
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 2 ] || fail "pbstat exited $status: $(cat err)"
	grep -qx 'pbstat: r.ndjson.idx: the old index changed while it was read' err
	[ ! -e r.ndjson.idx.new ]
	pbstat --index r.ndjson
	same --find t20005 r.ndjson
}
