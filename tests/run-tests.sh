#!/usr/bin/env bash
# Runs every unit test program and integration script against one build
# tree.  Usage: tests/run-tests.sh BUILD_DIR [NAME-FILTER]
# Prints "PASS name" / "FAIL name" / "SKIP name" per test (exit 77 = skip),
# keeps each test's output in BUILD_DIR/test-logs/, shows the tail of a
# failure, and ends with "N passed, N failed, N skipped".
set -u
build=${1:?usage: run-tests.sh BUILD_DIR [FILTER]}
filter=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$top" && cd "$build" && pwd)
logs=$build/test-logs
mkdir -p "$logs"
export VBD_BUILD=$build VBD_TOP=$top
per_test_timeout=${VBD_TEST_TIMEOUT:-600}

pass=0 fail=0 skip=0
run_one() { # name cmd...
	local name=$1; shift
	[ -n "$filter" ] && [[ $name != *$filter* ]] && return
	local log=$logs/${name//\//_}.log start=$SECONDS rc
	timeout -k 10 "$per_test_timeout" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1)); echo "PASS $name ($((SECONDS - start))s)"
	elif [ $rc -eq 77 ]; then
		skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$log")"
	else
		fail=$((fail + 1)); echo "FAIL $name (rc=$rc, $((SECONDS - start))s; log $log)"
		tail -n 25 "$log" | sed 's/^/    | /'
	fi
}

for t in "$build"/tests/unit/*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done
for t in "$top"/tests/integration/*.sh; do
	[ -f "$t" ] || continue
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
