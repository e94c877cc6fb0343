#!/usr/bin/env bash
# A hostile guest (tests/progs/hostile_front) and a well-behaved guest
# (tests/progs/front_verify, libvbdpool-front) share one vbdpool-backd.
# Every malformed request gets an error response, a req_prod overrun makes
# the member drop that ring and release the queue, and the well-behaved
# guest and the hostile guest's other queue are served throughout.  A
# queue given up stays unclaimed by that member until its ownership record
# moves on: dom0 rewriting it at the same epoch to name a domain that does
# not exist must make the member claim it again.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init

# one member serves both guests, each on its own volume (the data checks
# of one guest must not see the other's writes)
pool_volume vol1 64
pool_volume vol2 64
pool_member vol1 --volume vol2
member=$LAST_DOMID
ctl member add vol2 "$member" >/dev/null || die "member add vol2"

good=$(pool_domain good)
ctl attach "$good" vol1 --devid 0 --queues 2 >/dev/null || die "attach good guest"
bad=$(pool_domain bad)
ctl attach "$bad" vol2 --devid 0 --queues 4 >/dev/null || die "attach hostile guest"

pool_verify_bg "$good" "$POOL_DIR/good.log" --devid 0 --seconds 6 --threads 4
good_pid=$VERIFY_PID

rc=0
"$BIN/xensim" exec --dir "$POOL_DIR/host" --domid "$bad" -- \
	"$VBD_BUILD/tests/progs/hostile_front" --devid 0 >"$POOL_DIR/hostile.log" 2>&1 || rc=$?
cat "$POOL_DIR/hostile.log"
[ $rc -eq 0 ] || die "hostile_front exited $rc"
grep -q '^hostile_front: PASS' "$POOL_DIR/hostile.log" || die "hostile_front did not pass"

rc=0; wait $good_pid || rc=$?
tail -n 1 "$POOL_DIR/good.log"
[ $rc -eq 0 ] || die "the well-behaved guest failed (exit $rc)"
grep -q 'front_verify: PASS' "$POOL_DIR/good.log" || die "front_verify did not pass"

bpid=$(pool_backd_pid "$member") || die "vbdpool-backd of member $member is gone"
# the data path names the queue it drops (guest, device, queue, epoch)
for q in 0 2; do
	grep -q "guest $bad dev 0 queue $q epoch [0-9]*: hostile ring indices (req_prod" \
		"$POOL_DIR/backd-$member.log" || die "backd did not log queue $q's hostile ring"
done
for q in 0 2 3; do
	rec=$(pool_rec vol2 "$bad" 0 $q)
	[[ $rec != "owner=$member "* ]] || die "member still owns hostile queue $q: $rec"
	pool_log "hostile queue $q record: $rec"
done

# The member gave queue 3 up at its epoch and will not claim that ring
# again; but a record rewritten by dom0 at the same epoch to name another
# domain (one that does not exist) is not the record the member left: it
# must claim the queue again (raising the epoch), or nobody ever would.
# (It then waits for the frontend to publish a ring for the new epoch;
# this one has exited.)
rec=$(pool_rec vol2 "$bad" 0 3)
epoch=$(sed -n 's/.*epoch=\([0-9]*\).*/\1/p' <<<"$rec")
[ -n "$epoch" ] || die "queue 3 record without an epoch: $rec"
xs0 xenstore-write "/vbdpool/volumes/vol2/attachments/$bad-0/queue-3" \
	"owner=77 epoch=$epoch state=claimed"
pool_log "queue 3 record rewritten at epoch $epoch to name dom77 (no such domain)"
for _ in $(seq 150); do
	rec=$(pool_rec vol2 "$bad" 0 3)
	e=$(sed -n 's/.*epoch=\([0-9]*\).*/\1/p' <<<"$rec")
	[ "${e:-0}" -gt "$epoch" ] && break
	sleep 0.1
done
pool_log "queue 3 record now: $rec"
[ "${e:-0}" -gt "$epoch" ] || die "nobody claimed queue 3 after dom0 named dom77 at epoch $epoch"

# the member still leaves cleanly
kill -TERM "$bpid"
for _ in $(seq 100); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$bpid" 2>/dev/null || die "backd did not exit after SIGTERM"
for vol in vol1 vol2; do
	state=$(xs0 xenstore-read "/vbdpool/volumes/$vol/members/$member/state")
	[ "$state" = leaving ] || die "member state in $vol after SIGTERM: $state"
done
echo PASS
