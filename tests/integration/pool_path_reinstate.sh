#!/usr/bin/env bash
# A path failure on one member only (faultfs "fail PID": every I/O of that
# vbdpool-backd fails, its probes too): the member goes `failed` (with
# failed-reason and failed-since, shown by `vbdpoolctl status`), its
# requests are served by the others, and the guest sees no error. When the
# path comes back ("ok"), the member's path checker reinstates it (`active`)
# within two checker periods (2 s), and the balance gives it queues again.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_faultfs_nbd 64 3 6
members=("${MEMBERS[@]}")
pool_log "owners before: $(pool_owners vol1 "$GUEST" 0)"

ms() { date +%s%3N; }
mstate() { xs0 xenstore-read "/vbdpool/volumes/vol1/members/$1/state" 2>/dev/null || echo gone; }
wait_state() { # DOMID STATE SECONDS
	local i
	for i in $(seq $(($3 * 20))); do
		[ "$(mstate "$1")" = "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

pool_verify_bg "$GUEST" "$POOL_DIR/verify.log" --nbd "$POOL_DIR/nbd.sock" --seconds 16 --threads 4
sleep 2
bad=${members[0]}
pool_wait_owns vol1 "$GUEST" 0 "$bad" || die "member $bad owns no queue to fail"
bpid=$(pool_backd_pid "$bad") || die "no backd in domain $bad"
pool_log "failing the path of member $bad (pid $bpid)"
echo "fail $bpid" >"$FAULTFS_CTL"
wait_state "$bad" failed 10 || die "member $bad is '$(mstate "$bad")', expected failed"
reason=$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$bad/failed-reason") ||
	die "no failed-reason"
since=$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$bad/failed-since") ||
	die "no failed-since"
pool_log "failed-reason: $reason; failed-since: $since"
[[ $reason == *"path check"* ]] || die "failed-reason does not say the path check failed: $reason"
now=$(ms)
[ "$since" -le "$now" ] && [ "$since" -gt $((now - 60000)) ] || die "failed-since $since is not now ($now)"
st=$(ctl status vol1) || die "vbdpoolctl status failed"
grep -q "failed since .*path check" <<<"$st" || die "status does not show why: $st"
ctl status vol1 --json | grep -q '"failed_reason": *"EIO, then path check' ||
	die "status --json has no failed_reason: $(ctl status vol1 --json)"
ctl schema-check >/dev/null || die "schema-check failed with failed-reason/failed-since"
for i in $(seq 100); do
	[ "$(pool_owned_by vol1 "$GUEST" 0 "$bad")" = 0 ] && break
	sleep 0.1
done
[ "$(pool_owned_by vol1 "$GUEST" 0 "$bad")" = 0 ] || die "failed member still owns: $(pool_owners vol1 "$GUEST" 0)"
pool_log "owners while $bad is failed: $(pool_owners vol1 "$GUEST" 0)"
sleep 2.5 # several checker periods with the path still failing: stays failed
[ "$(mstate "$bad")" = failed ] || die "member $bad left failed while its path fails: $(mstate "$bad")"

echo ok >"$FAULTFS_CTL"
t0=$(ms)
wait_state "$bad" active 5 || die "member $bad not reinstated: '$(mstate "$bad")'"
dt=$(($(ms) - t0))
pool_log "member $bad reinstated $dt ms after its path came back"
[ "$dt" -le 2500 ] || die "reinstated after $dt ms: more than two checker periods"
xs0 xenstore-read "/vbdpool/volumes/vol1/members/$bad/failed-reason" >/dev/null 2>&1 &&
	die "failed-reason left behind after reinstatement"
for i in $(seq 150); do
	[ "$(pool_owned_by vol1 "$GUEST" 0 "$bad")" -ge 1 ] && break
	sleep 0.1
done
[ "$(pool_owned_by vol1 "$GUEST" 0 "$bad")" -ge 1 ] ||
	die "reinstated member $bad got no queue back: $(pool_owners vol1 "$GUEST" 0)"
pool_log "owners after: $(pool_owners vol1 "$GUEST" 0)"

rc=0; wait "$VERIFY_PID" || rc=$?
tail -n 1 "$POOL_DIR/verify.log"
[ $rc -eq 0 ] || die "front_verify failed: exit $rc"
grep -q 'errors=0 mismatches=0' "$POOL_DIR/verify.log" || die "the guest saw errors"
grep -q 'failed=[1-9]' "$FAULTFS_CTL" || die "no I/O was failed: the test did not exercise EIO"
echo PASS
