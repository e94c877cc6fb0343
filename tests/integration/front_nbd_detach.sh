#!/usr/bin/env bash
# vbdpool-nbd and dom0 detaching the device: `vbdpoolctl detach` completes
# (the frontend reaches state 6); afterwards NBD requests fail cleanly
# (NBD_ESHUTDOWN) instead of hanging, the server keeps running and still
# stops cleanly on SIGTERM.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
export POOL_NBD_SERVER=vbdpool-nbd
pool_init
pool_volume vol1 16
pool_member vol1
pool_guest vol1 2
pool_wait_connected vol1 "$GUEST" 0
log=$POOL_DIR/vbdpool-nbd.log
qemu-io -f raw "$NBD_URI" -c 'write -P 0x5a 0 1M' -c 'read -P 0x5a 0 1M' >"$POOL_DIR/qio1.log" 2>&1 ||
	die "qemu-io: $(cat "$POOL_DIR/qio1.log")"
! grep -qiE 'fail|error' "$POOL_DIR/qio1.log" || die "qemu-io: $(cat "$POOL_DIR/qio1.log")"
ctl detach "$GUEST" vol1 --devid 0 --timeout 20 || die "detach failed"
if qemu-io -f raw "$NBD_URI" -c 'read 0 4k' >"$POOL_DIR/qio2.log" 2>&1 &&
	! grep -qi 'fail' "$POOL_DIR/qio2.log"; then
	die "read after detach succeeded: $(cat "$POOL_DIR/qio2.log")"
fi
pool_log "after detach: $(tail -n 1 "$POOL_DIR/qio2.log")"
kill -0 "$NBD_SERVER_PID" 2>/dev/null || die "vbdpool-nbd died after the detach"
kill -TERM "$NBD_SERVER_PID"
rc=0; wait "$NBD_SERVER_PID" || rc=$?
[ $rc = 0 ] || die "vbdpool-nbd exited $rc after SIGTERM: $(tail -n 5 "$log")"
grep -q 'stopped' "$log" || die "no clean stop in the log"
echo PASS
