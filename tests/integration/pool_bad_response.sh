#!/usr/bin/env bash
# A member that breaks the ring protocol while its domain stays up: it
# answers one write with a wrong operation (vbdpool-backd --fault
# bad-response:op=write,ios=N) and never answers it properly.  The frontend
# abandons that ring and says so in its queue directory
# (queue-<q>/abandoned = epoch); the member passes the queue to the other
# member at once, and the write is re-posted there.  The guest's verifier
# must finish (bounded here: a request left on the abandoned queue hangs
# it, which is what happened before the announcement: nothing brought the
# owner change the queue waited for), with no error and no mismatch.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 32
pool_member vol1 --fault bad-response:op=write,ios=300
BAD=$LAST_DOMID
pool_member vol1
GOOD=$LAST_DOMID
G=$(pool_domain guest) || die "create guest"
ctl attach "$G" vol1 --devid 0 --queues 4 >/dev/null || die "attach"

pool_verify_bg "$G" "$POOL_DIR/v.log" --seconds 6 --threads 4 --wait 10
vpid=$VERIFY_PID
pool_wait_connected vol1 "$G" 0
pool_log "owners: $(pool_owners vol1 "$G" 0) (dom$BAD answers its 301st write wrongly)"
for _ in $(seq 400); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$vpid" 2>/dev/null; then
	tail -n 5 "$POOL_DIR/v.log"
	die "front_verify still running 40 s into a 6 s run: a request waits on the abandoned queue"
fi
rc=0; wait "$vpid" || rc=$?
tail -n 3 "$POOL_DIR/v.log"
[ $rc -eq 0 ] || die "front_verify exited $rc"
grep -q 'front_verify: PASS.* errors=0 mismatches=0 ' "$POOL_DIR/v.log" || die "front_verify did not pass cleanly"
bad=$(sed -n 's/.*bad-responses=\([0-9]*\).*/\1/p' "$POOL_DIR/v.log" | tail -n 1)
[ "${bad:-0}" -ge 1 ] || die "the frontend saw no bad response (bad-responses=${bad:-none}): the fault did not fire"
grep -q 'fault injection: answering request' "$POOL_DIR/backd-$BAD.log" || die "dom$BAD injected nothing"
grep -q 'the frontend abandoned our ring' "$POOL_DIR/backd-$BAD.log" ||
	die "dom$BAD did not see its ring abandoned"
grep 'abandon' "$POOL_DIR/backd-$BAD.log" | head -n 3
# The member passes the queue straight to the other member (epoch + 1), as
# a hand-off does.  Released instead (state=unowned), it would wait for a
# claim grace (1 s) here, since the other member already has its fair
# share (2 of 4 queues), and so would the guest's requests on it.
read -r QAB EAB < <(sed -n 's/.*queue-\([0-9]*\) epoch \([0-9]*\): the frontend abandoned our ring.*/\1 \2/p' \
	"$POOL_DIR/backd-$BAD.log" | head -n 1)
next=$((EAB + 1))
grep -q "queue-$QAB epoch $next: owner=$GOOD epoch=$next state=claimed" "$POOL_DIR/backd-$BAD.log" ||
	die "dom$BAD did not pass queue $QAB to dom$GOOD at epoch $next: $(grep "queue-$QAB epoch" "$POOL_DIR/backd-$BAD.log" | tail -n 2)"
pool_log "owners after: $(pool_owners vol1 "$G" 0)"
echo PASS
