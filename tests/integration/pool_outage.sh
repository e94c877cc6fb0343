#!/usr/bin/env bash
# A total outage: the pool's only member is destroyed while the guest is
# writing and verifying over NBD (vbdpool-nbd).  Nobody can serve the queues,
# so the guest's I/O waits — as blkfront's does while its backend is gone —
# and must not fail.  A new member then joins the volume: it takes over the
# dead member's queues, the frontend re-posts what was in flight, and the
# verifier finishes with zero errors and every block as it was written.
# vbdpool-nbd logs the stall (--stall-warn 2) and the end of it.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_supervisor
POOL_NBD_ARGS="--stall-warn 2" pool_outage_start vol1 4 12
first=$FIRST vpid=$VERIFY_PID
sleep 4
kill -0 "$vpid" 2>/dev/null || die "the verifier ended during the outage: $(tail -n 3 "$POOL_DIR/verify.log")"
pool_log "after 4 s without a member: owners $(pool_owners vol1 "$GUEST" 0)"
pool_member vol1
second=$LAST_DOMID
pool_log "member $second joined"
rc=0; wait "$vpid" || rc=$?
tail -n 1 "$POOL_DIR/verify.log"
[ $rc -eq 0 ] || die "front_verify failed (exit $rc) across the outage"
grep -q 'errors=0' "$POOL_DIR/verify.log" || die "verifier errors"
pool_wait_connected vol1 "$GUEST" 0
[ "$(pool_owned_by vol1 "$GUEST" 0 "$second")" = 4 ] ||
	die "the new member does not own every queue: $(pool_owners vol1 "$GUEST" 0)"
grep -E 'no response for|responses again' "$POOL_DIR/vbdpool-nbd.log" || true
grep -qE "warn: front: device 0: [0-9]+ request\(s\) outstanding and no response for 2\.[0-9] s \(waiting for the pool; owners: q0=dom$first/e" \
	"$POOL_DIR/vbdpool-nbd.log" || die "no stall warning naming the dead owner"
grep -q 'info: front: device 0: responses again after' "$POOL_DIR/vbdpool-nbd.log" ||
	die "no line when responses came again"
ctl schema-check >"$POOL_DIR/schema.out" 2>&1 || die "schema-check: $(cat "$POOL_DIR/schema.out")"
echo PASS
