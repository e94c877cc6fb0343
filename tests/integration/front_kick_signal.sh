#!/usr/bin/env bash
# A signal that interrupts the frontend's event thread does not lose the
# kicks of application descriptors (tests/progs/front_kick_signal: a
# callback kicks a descriptor polled with events 0 while the event thread
# is flooded with SIGUSR1; every kick must run its callback).
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 16
pool_member vol1
pool_attach vol1 1
G=$GUEST
rc=0
"$XENSIM" exec --dir "$SIM_DIR" --domid "$G" -- \
	"$VBD_BUILD/tests/progs/front_kick_signal" 0 5 >"$POOL_DIR/kick.log" 2>&1 || rc=$?
grep -v ' debug: ' "$POOL_DIR/kick.log" | tail -n 20
[ $rc = 0 ] || die "front_kick_signal exited $rc"
echo PASS
