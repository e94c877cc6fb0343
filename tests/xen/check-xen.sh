#!/usr/bin/env bash
# `make check-xen`: the real-Xen rig.  Installs/downloads what it needs from
# Debian, builds (or reuses) the images, then boots Xen under QEMU once per
# scenario (one QEMU at a time) and prints one line per scenario and the
# totals.  Usage: tests/xen/check-xen.sh [SCENARIO...]
# (default: every tests/xen/scenarios/*.sh, or $RIG_SCENARIOS).
# Exit status: 0 unless a scenario failed (skips do not fail the run).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

t0=$SECONDS
rig_lock
if [ $# -gt 0 ]; then
	scenarios=("$@")
elif [ -n "${RIG_SCENARIOS:-}" ]; then
	read -r -a scenarios <<<"$RIG_SCENARIOS"
else
	scenarios=()
	for f in "$RIG_SRC"/scenarios/[!_]*.sh; do scenarios+=("$(basename "$f" .sh)"); done
fi
mkdir -p "$RIG_BUILD/logs"

"$RIG_SRC/deps.sh"
t_deps=$((SECONDS - t0))
"$RIG_SRC/build-images.sh"
t_img=$((SECONDS - t0 - t_deps))
rig_log "deps ${t_deps}s, images ${t_img}s"

pass=0 fail=0 skip=0
for s in "${scenarios[@]}"; do
	ts=$SECONDS
	rc=0
	RIG_NO_BUILD=1 "$RIG_SRC/run-rig.sh" "$s" >"$RIG_BUILD/logs/$s.run.log" 2>&1 || rc=$?
	line=$(grep -a '^RIG-SUMMARY' "$RIG_BUILD/logs/$s.run.log" | tail -n1 || true)
	case $rc in
	0) pass=$((pass + 1)); v=PASS ;;
	77) skip=$((skip + 1)); v=SKIP ;;
	*) fail=$((fail + 1)); v=FAIL ;;
	esac
	echo "$v xen/$s ($((SECONDS - ts))s)"
	echo "    $line"
	if [ "$v" = FAIL ]; then
		echo "    (run log $RIG_BUILD/logs/$s.run.log, serial log $RIG_BUILD/logs/$s.log)"
		grep -v '^RIG-SUMMARY\|^\[rig ' "$RIG_BUILD/logs/$s.run.log" | tail -n 25 | sed 's/^/    | /'
	fi
done
echo "check-xen: $pass passed, $fail failed, $skip skipped in $((SECONDS - t0))s (deps ${t_deps}s, images ${t_img}s)"
[ "$fail" -eq 0 ]
