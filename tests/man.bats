#!/usr/bin/env bats
# The man pages: lint clean, rendered by man(1) without a warning, quotes
# that open and close in turn, and their EXAMPLES as a user would paste
# them from man's output: each display that starts with "$ " runs beside
# the example files and succeeds (status 1, rejected lines, is allowed where
# the example shows --reject on the sample actions); any other display is
# listed in not_run below with its reason, and checked as far as it can be.

load helper

# rendered PAGE: PAGE as man(1) shows it on an 80-column UTF-8 terminal;
# man's warnings to stderr.
rendered() {
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$1"
}

@test "man pages are lint clean" {
	for page in "$TOP"/man/*.[0-9]; do
		run mandoc -Tlint -Wwarning "$page"
		assert_success
		assert_output ""
	done
}

@test "man renders every page without a warning" {
	for page in "$TOP"/man/*.[0-9]; do
		warnings=$(rendered "$page" 2>&1 > /dev/null) || fail "${page##*/}: man failed: $warnings"
		[ -z "$warnings" ] || fail "${page##*/}: $warnings"
	done
}

@test "quotes in the rendered pages close before the next one opens" {
	for page in "$TOP"/man/*.[0-9]; do
		quotes=$(rendered "$page" 2>/dev/null | LC_ALL=C.UTF-8 grep -o '[“”]' | tr -d '\n')
		[ -z "${quotes//“”/}" ] || fail "${page##*/}: nested or unclosed quotes: $quotes"
	done
}

# displays PAGE: the displays of PAGE's EXAMPLES as man shows them (the
# lines indented further than its text, up to a line that is not), each
# ending with a NUL.
displays() {
	rendered "$1" 2>/dev/null | awk '
		in_examples && /^      / { block = block $0 "\n"; next }
		block != "" { printf "%s%c", block, 0; block = "" }
		/^[^ ]/ { in_examples = ($0 == "EXAMPLES") }
		END { if (block != "") printf "%s%c", block, 0 }'
}

# unindented BLOCK: BLOCK without the indent of its first line, which each
# later line must exceed: a later line at that indent is a line that man
# broke, and a user who pastes it gets two commands.
unindented() {
	local first=${1%%$'\n'*} pad line
	pad=${first%%[! ]*}
	while IFS= read -r line; do
		if [[ "$line" != "$first" && "$line" != "$pad "* ]]; then
			echo "the display '$first' is broken at '$line'" >&2
			return 1
		fi
		printf '%s\n' "${line#"$pad"}"
	done <<< "${1%$'\n'}"
}

# not_run PAGE FIRST_LINE: why the display of PAGE's EXAMPLES that starts
# with FIRST_LINE is not run here, after its kind and a colon: a command,
# a crontab line, a rule file or a record. Fails for a display not listed.
not_run() {
	case "$1: $2" in
	"pb-records.7: {\"type\":"*) echo "record: a record, not a command" ;;
	"pb-rules.5: postbacks:") echo "rules: a rule file, not a command" ;;
	*": */5 * * * * cd /var/"* | "pbstat.1: 0 * * * * cd /var/lib/pb "*)
		echo "crontab: a crontab line, run in a directory that is not here" ;;
	"pb-kafka.7: kcat -C -b kafka1:9092 "* | "pbkafka.1: pbkafka -b kafka1:9092,"* | \
	"pbgroup.1: coproc pbgroup -b kafka1:9092 "* | "pbship.1: pbship -b kafka1:9092 "*)
		echo "command: needs a Kafka cluster" ;;
	"pbdelay.1: tail -F actions.log |"* | "pbmatch.1: tail -F actions.log |" | \
	"pbstat.1: tail -n +1 -F results.ndjson "*)
		echo "command: follows a log, so never ends" ;;
	"pbfire.1: pbmatch -r rules.yaml actions.log |"*)
		echo "command: sends postbacks for real" ;;
	"pbfire.1: jq -c 'select(.result.final == false) |" | "pbstat.1: pbstat --by host "*)
		echo "command: reads the results of real deliveries" ;;
	*) return 1 ;;
	esac
}

# narrow DISPLAY: fails when a line of DISPLAY is wider than the terminal,
# where it would wrap.
narrow() {
	! grep -n '.\{81\}' <<< "$1" || fail "a command's display is wider than 80 columns"
}

# check_not_run KIND TEXT: what can be checked of a display not run: a
# command parses, so does a crontab line's command, a rule file passes
# pbmatch --check and a record, its lines joined, is JSON.
check_not_run() {
	case "$1" in
	command) bash -n -c "$2" ;;
	crontab) bash -n -c "$(sed '1s/^\([^ ]* \)\{5\}//' <<< "$2")" ;;
	rules) printf '%s' "$2" > display.yaml && pbmatch --check -r display.yaml > /dev/null ;;
	record) tr -d '\n' <<< "$2" | jq -e . > /dev/null ;;
	esac
}

@test "every man page has EXAMPLES with commands" {
	for page in "$TOP"/man/*.[0-9]; do
		displays "$page" | grep -qz '^ *\$ ' || fail "${page##*/} has no runnable example"
	done
}

# check_actions FILE: the actions (lines with a "type") in FILE have only
# members that pb-records(7) lists under Actions.
check_actions() {
	local members key
	members=$(rendered "$TOP/man/pb-records.7" 2>/dev/null |
		sed -n '/^   Actions$/,/^   [^ ]/p' | grep '^     “' | grep -o '“[a-z_]*”' | tr -d '“”')
	[ -n "$members" ] || fail "pb-records(7) lists no action members"
	run jq -r 'select(has("type")) | keys[]' "$1"
	assert_success
	[ -n "$output" ] || fail "no action in $1"
	for key in $output; do
		grep -qx "$key" <<< "$members" ||
			fail "an example's action has \"$key\", which pb-records(7) does not list"
	done
}

@test "the EXAMPLES run as man shows them, with the actions pb-records(7) lists" {
	# A scratch copy of the source tree's layout: examples may write files.
	ln -s "$TOP/rules.example.yaml" .
	mkdir tests && ln -s "$TOP/tests/fixtures" tests/fixtures
	for page in "$TOP"/man/*.[0-9]; do
		name=${page##*/}
		while IFS= read -r -d '' display; do
			text=$(unindented "$display") || fail "$name: see above"
			if [[ "$text" == '$ '* ]]; then
				cmd=${text#'$ '}
				narrow "$display"
				# echo also keeps what it writes, for check_actions.
				run bash -c 'echo() { builtin echo "$@" | tee -a echoed.ndjson; }; '"$cmd"
				[ "$status" -le 1 ] || fail "$name: '$cmd' exited $status: $output"
				[ -n "$output" ] || fail "$name: '$cmd' printed nothing"
				[ "$status" -eq 0 ] || [[ "$cmd" == *--reject* ]] ||
					fail "$name: '$cmd' exited $status"
			else
				why=$(not_run "$name" "${text%%$'\n'*}") ||
					fail "$name: a display without \"\$ \" that not_run does not list: $text"
				[[ "$why" == record:* || "$why" == rules:* ]] || narrow "$display"
				check_not_run "${why%%:*}" "$text" ||
					fail "$name: the display ($why) does not pass its check: $text"
			fi
		done < <(displays "$page")
	done
	check_actions echoed.ndjson
}
