#!/usr/bin/env bash
# Event-channel mask/pending/fd-readiness semantics on the emulated host
# (tests/progs/plat_evtchn.c: loopback channels inside one domain, handles
# with one port and with several, threads), then: the daemon holds no
# descriptor more once the program's handles are closed.
set -u
. "$VBD_TOP/tests/lib/sim.sh"
PROG=$VBD_BUILD/tests/progs/plat_evtchn
[ -x "$PROG" ] || { echo "missing $PROG"; exit 1; }
sim_start || exit 1
d=$(sim_create evtchn sleep 1000000) || exit 1
before=$(sim_settled_nfd)
rc=0
sim_exec "$d" "$PROG" 20000 || rc=1
sim_nfd_back_to "$before" || { echo "FAIL: daemon leaks descriptors"; rc=1; }
exit $rc
