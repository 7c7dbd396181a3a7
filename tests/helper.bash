# Shared set-up for the bats suites: the binaries under test first on
# PATH, a private temporary directory, bats-assert and bats-support.
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
PB_BIN=${PB_BIN:-$TOP/build}
PATH=$PB_BIN:$PATH
export LC_ALL=C TZ=UTC
export RULES=$TOP/rules.example.yaml
export ACTIONS=$TOP/tests/fixtures/actions.ndjson

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# rules <<EOF ... EOF: writes a rule file, rules.yaml, from standard input.
rules() {
	cat > rules.yaml
}

# jget FIELD: the value of FIELD (jq syntax) in each line of stdin.
jget() {
	jq -r "$1"
}
