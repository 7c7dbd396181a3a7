#!/usr/bin/env bats
# The README's commands run as printed, in order, in a scratch copy of the
# clone's layout (build/ is the binaries under test, not yet on PATH):
# every command line of its indented blocks ("$ command" lines, and the
# blocks that are commands), with its continuation lines. Output lines a
# block prints as a tool's diagnostics ("pbfire: ...") must appear in that
# command's output. Commands that cannot run here are named below with the
# reason; a command neither run nor named fails the test, so a new one
# cannot slip past. Postbacks go nowhere: rules.yaml is rules.example.yaml
# with every URL pointed at 127.0.0.1, which pbfire refuses without
# sending (its address policy) unless --dry-run shows them.

load helper

# Not run here, and why.
declare -gA elsewhere=(
	["make demo"]="run by CI itself and by tests/fresh.bats"
	["make check"]="CI runs it; this test is part of it"
	["make"]="the binaries under test are built already"
	["make install PREFIX=/usr/local DESTDIR="]="tests/install.bats installs into a DESTDIR"
	["make check SANITIZE=1"]="CI runs it"
	["make fuzz FUZZ_SECONDS=600"]="a ten-minute campaign per harness; make check replays the corpora"
	["make bench"]="minutes long; tests/bench"
	["pbkafka -b kafka1:9092 -p 0,1 -r rules.yaml -d /var/lib/pb -R pb-results"]="names a real broker; tests/kafka.bats runs pbkafka against a mock cluster"
	["pbkafka -b kafka1:9092 -G pb -r rules.yaml -d /var/lib/pb -R pb-results"]="names a real broker; tests/kafka.bats runs groups against a mock cluster"
)

# The README's commands, each ending in a NUL; a line "#OUT text" after a
# command is a line of output the README shows for it.
readme_commands() {
	awk '
	function flush() { if (cmd != "") printf "%s%c", cmd, 0; cmd = "" }
	function starts_command(l) {
		return l ~ /^(pbmatch|pbexpand|pbdelay|pbfire|pbstat|pbkafka|tail|make)( |$)/ ||
			l ~ /^[0-9*\/,-]+ [0-9*\/,-]+ [0-9*\/,-]+ [0-9*\/,-]+ [0-9*\/,-]+ /
	}
	/^    / && (prev_blank || in_block) {
		line = substr($0, 5)
		if (!in_block) { in_block = 1; dollar = 0; skip = !starts_command(line) && line !~ /^\$ / }
		if (skip) next
		if (cont) { cmd = cmd "\n" line; cont = (line ~ /[|\\]$/); next }
		if (line ~ /^\$ /) { flush(); dollar = 1; line = substr(line, 3) }
		else if (dollar) { flush(); printf "#OUT %s%c", line, 0; next }
		flush(); cmd = line; cont = (line ~ /[|\\]$/)
		next
	}
	{ flush(); in_block = 0; cont = 0; prev_blank = ($0 == "") }
	END { flush() }' "$TOP/README"
}

# as_here CMD: a cron line's command, run in the scratch directory.
as_here() {
	local cron='^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ '
	if [[ $1 =~ $cron ]]; then
		sed -E "s|$cron||; s|^cd /var/lib/pb |cd \"$BATS_TEST_TMPDIR\" |" <<< "$1"
	else
		printf '%s\n' "$1"
	fi
}

# run_live CMD: a command that runs until stopped (tail -F), stopped with
# SIGTERM to its process group after 3 s, as Ctrl-C would.
run_live() {
	setsid bash -c "$1" > live.out 2>&1 &
	local pid=$!
	sleep 3
	kill -TERM -- "-$pid" 2> /dev/null
	wait "$pid"
	status=$?
	output=$(cat live.out)
}

@test "every command the README prints runs as printed" {
	PATH=$(tr : '\n' <<< "$PATH" | grep -vxF "$PB_BIN" | paste -sd:)
	! command -v pbmatch > /dev/null || fail "the tools are on PATH before the README puts them there"
	ln -s "$PB_BIN" build
	ln -s "$TOP/rules.example.yaml" .
	mkdir tests && ln -s "$TOP/tests/fixtures" tests/fixtures
	sed -E 's|https?://[^/{]*|http://127.0.0.1:9|' "$TOP/rules.example.yaml" > rules.yaml
	cp "$ACTIONS" actions.log
	local ran=0 cmd last=
	while IFS= read -r -d '' cmd; do
		if [[ $cmd == "#OUT "* ]]; then
			[[ $cmd != *...* && $cmd =~ ^"#OUT "[a-z]+:\  ]] || continue
			grep -qxF -- "${cmd#\#OUT }" <<< "$last" || fail "'${cmd#\#OUT }' not in the output of the command before it: $last"
			continue
		fi
		if [ -n "${elsewhere[${cmd%%  *#*}]+set}" ]; then
			bash -n -c "$cmd" || fail "'$cmd' is not valid shell"
			continue
		fi
		cmd=$(as_here "$cmd")
		case $cmd in
		export\ *) eval "$cmd"; continue ;;
		*" -F "*) run_live "$cmd"; [ "$status" -eq 143 ] || [ "$status" -le 1 ] ;;
		*) run bash -c "$cmd"; [ "$status" -le 1 ] ;;
		esac || fail "'$cmd' exited $status: $output"
		for bad in "usage:" "command not found" "No such file" "syntax error" "unknown option" "invalid option"; do
			[[ $output != *"$bad"* ]] || fail "'$cmd' printed '$bad': $output"
		done
		last=$output
		ran=$((ran + 1))
	done < <(readme_commands)
	echo "ran $ran README commands; $(wc -l < results.ndjson) result records" >&3
	[ "$ran" -ge 10 ] || fail "only $ran commands found in the README"
	[ -s results.ndjson ] || fail "the README's pipelines wrote no results.ndjson"
	[ -s deliveries.svg ] || fail "pbstat --plot wrote nothing"
	# the fraud check's example: both held lines superseded, none sent
	assert_equal "$(jq -r '[.postback.name, .result.error] | @tsv' fraud.results)" \
		"$(printf 'pub7-approved\tsuperseded\ncrm-all\tsuperseded')"
	run pbstat fraud.results
	assert_line --regexp '^postbacks +2 seen: .* 2 superseded, 0 dry runs'
	assert_line --regexp '^superseded +2 stopped by a later action'
}
