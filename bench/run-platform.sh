#!/usr/bin/env bash
# Platform benchmarks on an emulated host in a private temp dir (not tests).
#   bench/run-platform.sh [BUILD_DIR]      (default build)
# Prints XenStore round trips/s (dom0 and domU), event-channel ping-pong
# latency between two domains, grant map+unmap rates, and a verdict against
# the floors (XenStore >= 20000 read/s for one client, ping-pong p50 < 20 us).
# Exit status 1 if a floor is missed and BENCH_STRICT=1.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
VBD_BUILD=$(cd "$top" && cd "${1:-build}" && pwd)
export VBD_BUILD VBD_TOP=$top
B=$VBD_BUILD/bench
. "$top/tests/lib/sim.sh"
sim_start || exit 1
a=$(sim_create bench-a sleep 1000000) || exit 1
b=$(sim_create bench-b sleep 1000000) || exit 1
T=/bench
sim_xs0 xenstore-write $T "" && sim_xs0 xenstore-chmod $T n0 "b$a" "b$b" || exit 1
out=$SIM_TMP/bench.out

echo "== XenStore, one client (floor: 20000 read/s)"
echo "dom0:"
sim_xs0 "$B/xs_rtt" /bench-dom0 2 | tee -a "$out" || exit 1
echo "domU (dom$a):"
sim_exec "$a" "$B/xs_rtt" data/bench 2 | tee -a "$out" || exit 1

echo "== event channel ping-pong dom$a <-> dom$b (p50 must be < 20 us)"
sim_exec "$b" "$B/evtchn_pingpong" pong $T "$a" &
pong=$!
sim_exec "$a" "$B/evtchn_pingpong" ping $T "$b" 20000 | tee -a "$out" || exit 1
wait $pong

echo "== grant map+unmap, dom$b maps dom$a's pages"
sim_exec "$a" "$B/gnt_mapunmap" share $T "$b" &
sh=$!
sim_exec "$b" "$B/gnt_mapunmap" map $T "$a" 2 | tee -a "$out" || exit 1
wait $sh

echo "== verdict"
ok=1
min_read=$(awk '/xenstore read:/ { v = $3 + 0; if (min == "" || v < min) min = v } END { print min + 0 }' "$out")
p50=$(sed -n 's/.*round trip p50 \([0-9.]*\) us.*/\1/p' "$out")
if [ "$min_read" -ge 20000 ]; then echo "XenStore reads: $min_read/s >= 20000: ok"
else echo "XenStore reads: $min_read/s < 20000: BELOW FLOOR"; ok=0; fi
if awk -v p="$p50" 'BEGIN { exit !(p < 20) }'; then echo "ping-pong p50 $p50 us < 20 us: ok"
else echo "ping-pong p50 $p50 us >= 20 us: BELOW FLOOR"; ok=0; fi
[ $ok = 1 ] || [ "${BENCH_STRICT:-0}" != 1 ]
