#!/usr/bin/env bash
# Platform conformance suite (tests/progs/plat_conform.c) on the emulated
# host: three domains (granter, mapper, wrong) meet under a XenStore
# directory dom0 created for them.  The real-Xen rig runs the same program
# with VBD_PLATFORM=xen and real domids.
set -u
. "$VBD_TOP/tests/lib/sim.sh"
PROG=$VBD_BUILD/tests/progs/plat_conform
[ -x "$PROG" ] || { echo "missing $PROG"; exit 1; }
sim_start || exit 1

g=$(sim_create granter sleep 1000000) || exit 1
m=$(sim_create mapper sleep 1000000) || exit 1
w=$(sim_create wrong sleep 1000000) || exit 1
T=/plat-conform
before=$(sim_settled_nfd)
sim_xs0 "$PROG" setup $T "$g" "$m" "$w" || exit 1

sim_exec "$g" "$PROG" granter $T "$m" "$w" >"$SIM_TMP/granter.out" 2>&1 &
pg=$!
sim_exec "$m" "$PROG" mapper $T "$g" "$w" >"$SIM_TMP/mapper.out" 2>&1 &
pm=$!
sim_exec "$w" "$PROG" wrong $T "$g" >"$SIM_TMP/wrong.out" 2>&1 &
pw=$!
rc=0
wait $pg || rc=1
wait $pm || rc=1
wait $pw || rc=1
cat "$SIM_TMP"/granter.out "$SIM_TMP"/mapper.out "$SIM_TMP"/wrong.out
n_ok=$(cat "$SIM_TMP"/*.out | grep -c '^ok ')
n_fail=$(cat "$SIM_TMP"/*.out | grep -c '^FAIL')
echo "conformance: $n_ok ok, $n_fail failed"
[ "$n_fail" -eq 0 ] && [ "$n_ok" -ge 50 ] || rc=1
# every handle is closed: the daemon holds no port, page or connection more
sim_nfd_back_to "$before" || { echo "FAIL: daemon leaks descriptors"; rc=1; }
exit $rc
