#!/usr/bin/env bats
# The README's first command on a fresh machine: `make demo` in a fresh
# copy of the tree, where no -dev package is installed until make's deps
# step has run. Stand-ins on PATH play Debian's part: dpkg-query knows no
# package and pkg-config no library until apt-get has "installed" them
# (touched a marker); from then on both hand over to the real ones.

load helper

# fake_debian DIR: the stand-ins, in DIR/bin, with their marker DIR/installed.
fake_debian() {
	local dir=$1
	mkdir -p "$dir/bin"
	cat > "$dir/bin/dpkg-query" <<-EOF
	#!/bin/sh
	[ -e "$dir/installed" ] && exec $(command -v dpkg-query) "\$@"
	echo "unknown ok not-installed"
	EOF
	cat > "$dir/bin/apt-get" <<-EOF
	#!/bin/sh
	echo "apt-get \$*" >> "$dir/apt-calls"
	echo "Reading package lists... Done"
	case \$1 in install) echo "Unpacking libcurl4-openssl-dev ..."; touch "$dir/installed"; esac
	EOF
	cat > "$dir/bin/pkg-config" <<-EOF
	#!/bin/sh
	[ -e "$dir/installed" ] && exec $(command -v pkg-config) "\$@"
	echo "Package \$* was not found in the pkg-config search path." >&2
	exit 1
	EOF
	printf '#!/bin/sh\nexec "$@"\n' > "$dir/bin/sudo"
	chmod +x "$dir/bin/"*
}

@test "make demo succeeds on the first run on a machine without the -dev packages" {
	fake_debian "$BATS_TEST_TMPDIR/debian"
	mkdir tree
	(cd "$TOP" && git ls-files -z | xargs -0 cp --parents -t "$BATS_TEST_TMPDIR/tree")
	PATH=$BATS_TEST_TMPDIR/debian/bin:$PATH run make -C tree -j2 demo
	assert_success
	refute_output --partial "was not found"
	refute_output --partial "Unpacking"
	[ "$(grep -c '^installing:' <<< "$output")" -eq 1 ] || fail "not one 'installing:' line"
	assert_output --partial "== pbstat --by postback.name"
	grep -q Unpacking tree/build/deps.log
}

@test "a failing apt-get shows its output and stops make" {
	fake_debian "$BATS_TEST_TMPDIR/debian"
	printf '#!/bin/sh\necho "E: Unable to locate package libjsmn-dev"\nexit 100\n' \
		> debian/bin/apt-get
	mkdir tree
	cp "$TOP/Makefile" tree/
	PATH=$BATS_TEST_TMPDIR/debian/bin:$PATH run make -C tree deps
	assert_failure
	assert_output --partial "E: Unable to locate package libjsmn-dev"
	assert_output --partial "make: installing"
}

@test "a set-up step that fails fails its test at once, saying which" {
	mkdir bin
	for tool in pbmatch pbexpand pbdelay pbfire pbstat pbkafka; do ln -s "$PB_BIN/$tool" bin/; done
	PB_BIN=$PWD/bin run timeout 60 bats -f "two partitions on two machines" "$TOP/tests/kafka.bats"
	assert_failure 1
	assert_output --partial "the mock Kafka cluster ($PWD/bin/tests/kafka_mock) ended before it was ready"
}
