#!/usr/bin/env bash
# The emulator survives hostile clients: a domU sends garbage to its
# hypercall socket (the control socket refuses it), dom0 sends garbage to
# the control socket; afterwards the daemon still serves that domain and
# others, and XenStore still answers.
set -u
. "$VBD_TOP/tests/lib/sim.sh"
PROG=$VBD_BUILD/tests/progs/plat_badclient
[ -x "$PROG" ] || { echo "missing $PROG"; exit 1; }
fail() { echo "FAIL: $*"; exit 1; }
sim_start || exit 1
d=$(sim_create bad sleep 1000000) || fail create
e=$(sim_create good sleep 1000000) || fail create
before=$(sim_settled_nfd)
sim_exec "$d" "$PROG" 4 "${SEED:-$RANDOM}" || fail "bad client run (daemon alive: $(sim_list >/dev/null 2>&1 && echo yes || echo no))"
sim_exec 0 "$PROG" 2 "${SEED:-$RANDOM}" || fail "bad control client run as dom0"
sim_exec "$e" xenstore-write data/x 1 || fail "xenstore after abuse"
sim_list | grep -q ' good ' || sim_list | grep -q "good" || fail "list after abuse"
sim_exec "$e" "$PROG" 0 1 || fail "another domain after abuse"
# every hostile connection, port and grant is gone: no descriptor leaks
sim_nfd_back_to "$before" || fail "daemon leaks descriptors"
echo PASS
