#!/usr/bin/env bash
# Storage failure in one member (fault injection: `--fault eio` makes every
# I/O of that vbdpool-backd fail with EIO, its path-check probes too).
#  1. two members, one failing: the failing member does not answer the
#     failed requests; its path check fails too (the injected range covers
#     the probes: a path failure, not a media error), so it marks itself
#     `failed` (and stays so: its probes keep failing), hands every queue
#     off to the healthy member, and the guest (front_verify) sees no error
#     at all;
#  2. the failing member alone: it answers BLKIF_RSP_ERROR (the guest sees
#     errors, nothing hangs).
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init

# --- 1: failing member + healthy member ------------------------------------
pool_volume vol1 64
pool_member vol1 --fault eio
bad=$LAST_DOMID
pool_member vol1
good=$LAST_DOMID
g1=$(pool_domain guest1)
ctl attach "$g1" vol1 --devid 0 --queues 4 >/dev/null || die "attach"
rc=0
pool_verify "$g1" "$POOL_DIR/verify1.log" --devid 0 --seconds 4 --threads 4 || rc=$?
tail -n 1 "$POOL_DIR/verify1.log"
[ $rc -eq 0 ] || die "front_verify failed with a healthy member available (exit $rc)"
state=$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$bad/state")
[ "$state" = failed ] || die "failing member $bad is '$state', expected failed"
[ "$(pool_owned_by vol1 "$g1" 0 "$bad")" = 0 ] || die "failed member still owns: $(pool_owners vol1 "$g1" 0)"
grep -q 'EIO' "$POOL_DIR/backd-$bad.log" || die "no EIO was injected: the test did not exercise it"
grep -q 'reposted=[1-9]' "$POOL_DIR/verify1.log" || pool_log "note: no request needed a re-post"
pool_log "owners after: $(pool_owners vol1 "$g1" 0)"

# --- 2: the failing member alone -----------------------------------------------
pool_volume vol2 64
pool_member vol2 --fault eio
alone=$LAST_DOMID
g2=$(pool_domain guest2)
ctl attach "$g2" vol2 --devid 0 --queues 2 >/dev/null || die "attach"
rc=0
pool_verify "$g2" "$POOL_DIR/verify2.log" --devid 0 --ops 50 --threads 2 || rc=$?
tail -n 1 "$POOL_DIR/verify2.log"
[ $rc -eq 1 ] || die "front_verify exit $rc; expected 1 (errors from the only, failed member)"
grep -qE 'errors=[1-9]' "$POOL_DIR/verify2.log" || die "no error reached the guest"
state=$(xs0 xenstore-read "/vbdpool/volumes/vol2/members/$alone/state")
[ "$state" = failed ] || die "lone failing member is '$state', expected failed"
grep -q 'no other active member' "$POOL_DIR/backd-$alone.log" || die "member did not switch to answering errors"
echo PASS
