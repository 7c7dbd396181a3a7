#!/usr/bin/env bats
# The man pages: lint clean, and every "$ command" of their EXAMPLES runs
# beside the example files and succeeds (status 1, rejected lines, is allowed
# where the example shows --reject on the sample actions).

load helper

@test "man pages are lint clean" {
	for page in "$TOP"/man/*.[0-9]; do
		run mandoc -Tlint -Wwarning "$page"
		assert_success
		assert_output ""
	done
}

# The ".Dl $ command" lines of a page's EXAMPLES section, unescaped.
examples() {
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh /p' "$1" | sed -n 's/^\.Dl \$ //p' |
		sed -e 's/\\(dq/"/g' -e 's/\\-/-/g' -e 's/\\e/\\/g'
}

@test "every man page has EXAMPLES with commands" {
	for page in "$TOP"/man/*.[0-9]; do
		[ -n "$(examples "$page")" ] || fail "$page has no runnable example"
	done
}

@test "the EXAMPLES commands run" {
	# A scratch copy of the source tree's layout: examples may write files.
	ln -s "$TOP/rules.example.yaml" .
	mkdir tests && ln -s "$TOP/tests/fixtures" tests/fixtures
	for page in "$TOP"/man/*.[0-9]; do
		while IFS= read -r cmd; do
			run bash -c "$cmd" 
			[ "$status" -le 1 ] || fail "$page: '$cmd' exited $status: $output"
			[ -n "$output" ] || fail "$page: '$cmd' printed nothing"
			[ "$status" -eq 0 ] || [[ "$cmd" == *--reject* ]] || fail "$page: '$cmd' exited $status"
		done < <(examples "$page")
	done
}
