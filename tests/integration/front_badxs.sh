#!/usr/bin/env bash
# The frontend refuses a malformed device directory with a clear error (no
# crash, no hang): bad num-queues, bad volume id, a pool path that is not
# the attachment's, a missing device.  Then the repaired directory attaches
# and verifies.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 16
pool_member vol1
M=$LAST_DOMID
G=$(pool_domain guest) || die "create guest"
ctl attach "$G" vol1 --devid 0 --queues 2 >/dev/null || die "attach"
fe=/local/domain/$G/device/vbdpool/0
verify() { # expected-rc args...
	local want=$1 rc=0; shift
	pool_verify "$G" "$POOL_DIR/v.log" --ops 200 --threads 2 --wait 10 "$@" || rc=$?
	tail -n 2 "$POOL_DIR/v.log"
	[ "$rc" = "$want" ] || die "front_verify $* exited $rc, expected $want"
}
bad() { # node value
	local old
	old=$(xs0 xenstore-read "$fe/$1")
	xs0 xenstore-write "$fe/$1" "$2"
	pool_log "$1='$2'"
	verify 1
	grep -q "$1" "$POOL_DIR/v.log" || die "no error naming $1"
	xs0 xenstore-write "$fe/$1" "$old"
}
bad num-queues abc
bad num-queues 0
bad num-queues 65
bad num-queues 2x
bad volume 'no/such'
bad volume other
bad pool /vbdpool/volumes/vol1/attachments/99-0
pool_log "missing device 7"
verify 1 --devid 7
pool_log "device being detached (state 5)"
xs0 xenstore-write "$fe/state" 5
verify 1
grep -q 'being detached' "$POOL_DIR/v.log" || die "no error for state 5"
[ "$(xs0 xenstore-read "$fe/state")" = 5 ] || die "frontend overwrote dom0's Closing"
xs0 xenstore-write "$fe/state" 1
pool_log "repaired"
verify 0

# An ownership record naming a domain that is not a member: the frontend
# grants it nothing (members then claim the queue and I/O goes on).
pool_verify_bg "$G" "$POOL_DIR/v2.log" --seconds 4 --threads 2 --wait 10
vpid=$VERIFY_PID
pool_wait_connected vol1 "$G" 0
rec=/vbdpool/volumes/vol1/attachments/$G-0/queue-0
# the member must not claim first, and the epoch is read once it cannot
# move it any more: a claim between the read and the pause (the member
# re-claims when the second verifier opens the device) left the bogus
# record at the member's own epoch, which it had banned after the
# frontend revoked that ring: nobody claimed queue-0 again and the test
# hung for 600 s (once in a CI run)
"$BIN/xensim" pause --dir "$POOL_DIR/host" "$M"
epoch=$(xs0 xenstore-read "$rec" | sed 's/.*epoch=\([0-9]*\).*/\1/')
xs0 xenstore-write "$rec" "owner=77 epoch=$((epoch + 1)) state=claimed"
pool_log "queue-0 record: owner=77 (no such member)"
for _ in $(seq 100); do
	grep -q 'names dom77, not a member' "$POOL_DIR/v2.log" && break
	sleep 0.1
done
grep -q 'names dom77, not a member' "$POOL_DIR/v2.log" || die "frontend did not refuse dom77"
[ "$(xs0 xenstore-read "$fe/queue-0/owner")" != 77 ] || die "ring granted to a non-member"
"$BIN/xensim" unpause --dir "$POOL_DIR/host" "$M"
rc=0; wait "$vpid" || rc=$?
tail -n 3 "$POOL_DIR/v2.log"
[ $rc -eq 0 ] || die "front_verify after a non-member record exited $rc"
[ "$(xs0 xenstore-read "$fe/queue-0/owner")" != 77 ] || die "ring granted to a non-member"
echo PASS
