#!/usr/bin/env bats
# make install honours PREFIX and DESTDIR and puts binaries and man pages
# where users look.

load helper

@test "make install with DESTDIR and PREFIX" {
	make -s -C "$TOP" install DESTDIR="$BATS_TEST_TMPDIR/root" PREFIX=/usr B="${PB_BIN#$TOP/}" > /dev/null
	for tool in pbmatch pbexpand; do
		[ -x root/usr/bin/$tool ] || fail "no root/usr/bin/$tool"
		[ -f root/usr/share/man/man1/$tool.1 ] || fail "no man page for $tool"
	done
	[ -f root/usr/share/man/man5/pb-rules.5 ] && [ -f root/usr/share/man/man7/pb-records.7 ]
	run root/usr/bin/pbmatch --version
	assert_success
}
