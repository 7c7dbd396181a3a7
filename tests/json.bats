#!/usr/bin/env bats
# The strict JSON validator against an independent oracle, Python's json
# module held to the same rules, over 20,000 randomly mutated records.

load helper

@test "the validator agrees with Python's json on 20,000 mutated lines" {
	run python3 "$TOP/tests/json_oracle.py" "$PB_BIN/pbexpand" 20000
	assert_success
	assert_output --regexp ', 0 disagreements$'
}
