#!/usr/bin/env bash
# vbdpool-nbd's per-connection bounds (tests/progs/nbd_bounds):
# --idle-timeout closes a connection that sends nothing while none of its
# requests is in flight, and only that one (a busy client, and one whose
# replies wait unsent, stay); --conn-budget-mib caps what one client that
# never reads its replies costs the server (VmRSS), refuses a request
# larger than the budget (NBD_EINVAL, advertised maximum block size = the
# budget) and leaves the other clients served.  Each is logged.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
IDLE_S=5 BUDGET_MIB=4
POOL_NBD_ARGS="--idle-timeout $IDLE_S --conn-budget-mib $BUDGET_MIB" pool_nbd 64 2 2
log=$POOL_DIR/vbdpool-nbd.log

nbdinfo --json "$NBD_URI" >"$POOL_DIR/info.json"
grep -q "\"block_size_maximum\": $((BUDGET_MIB << 20))" "$POOL_DIR/info.json" ||
	die "advertised maximum block size is not the budget: $(grep block_size "$POOL_DIR/info.json")"

"$VBD_BUILD/tests/progs/nbd_bounds" idle "$POOL_DIR/nbd.sock" $IDLE_S >"$POOL_DIR/idle.out" 2>&1 ||
	die "nbd_bounds idle: $(tail -n 20 "$POOL_DIR/idle.out")"
cat "$POOL_DIR/idle.out"
grep -q "idle for [0-9]* s (--idle-timeout $IDLE_S): closing the connection" "$log" ||
	die "no idle close in the log: $(tail -n 5 "$log")"
[ "$(grep -c 'idle for' "$log")" = 1 ] || die "more than the idle client closed: $(grep 'idle for' "$log")"

"$VBD_BUILD/tests/progs/nbd_bounds" budget "$POOL_DIR/nbd.sock" $BUDGET_MIB \
	>"$POOL_DIR/budget.out" 2>&1 || die "nbd_bounds budget: $(tail -n 20 "$POOL_DIR/budget.out")"
cat "$POOL_DIR/budget.out"
for pat in "reached its budget of $BUDGET_MIB MiB" 'refused: larger than the maximum block size'; do
	grep -q "$pat" "$log" || die "the server log lacks '$pat'"
done

kill -TERM "$NBD_SERVER_PID"
rc=0; wait "$NBD_SERVER_PID" || rc=$?
[ $rc = 0 ] || die "vbdpool-nbd exited $rc after SIGTERM: $(tail -n 5 "$log")"
echo PASS
