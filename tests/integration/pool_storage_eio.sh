#!/usr/bin/env bash
# Must-show 6: the pool's backing is served through faultfs (a FUSE
# passthrough); mid-run, every I/O that one member issues fails with EIO.
# Its path checker's probes fail too (a path failure): that member must go
# `failed` (until its path works again: pool_path_reinstate) and hand its
# queues (and the failed requests) to the others: fio sees no error and
# verify passes.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
. "$VBD_TOP/tests/lib/fio.sh"
pool_init
pool_faultfs 256
pool_volume vol1 256 "$FAULTFS_DISK"
members=()
for i in 1 2 3; do pool_member vol1; members+=("$LAST_DOMID"); done
pool_guest vol1 6
pool_wait_connected vol1 "$GUEST" 0
pool_log "owners before: $(pool_owners vol1 "$GUEST" 0)"

pool_fio "$NBD_URI" 128 10 "$POOL_DIR/fio.out" &
fio_pid=$!
sleep 2
bad=${members[0]}
bpid=$(pool_backd_pid "$bad") || die "no backd in domain $bad"
pool_log "failing every I/O of member $bad (pid $bpid)"
echo "fail $bpid" >"$FAULTFS_CTL"
rc=0; wait $fio_pid || rc=$?
grep -E 'err=|READ:|WRITE:' "$POOL_DIR/fio.out" || true
pool_log "faultfs: $(tr '\n' ' ' <"$FAULTFS_CTL")"
[ $rc -eq 0 ] || die "fio exited $rc"
[ "$(fio_errors "$POOL_DIR/fio.out")" = 0 ] || die "fio reported errors"
grep -q 'failed=[1-9]' "$FAULTFS_CTL" || die "no I/O was failed: the test did not exercise EIO"
[ "$(pool_owned_by vol1 "$GUEST" 0 "$bad")" = 0 ] || die "failed member still owns: $(pool_owners vol1 "$GUEST" 0)"
state=$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$bad/state")
[ "$state" = failed ] || die "member $bad state is '$state', expected failed"
pool_log "owners after: $(pool_owners vol1 "$GUEST" 0)"
echo PASS
