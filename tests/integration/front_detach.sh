#!/usr/bin/env bash
# Frontend detach through the nbdkit plugin: data written over NBD reads
# back; `vbdpoolctl detach` (state 5) completes once the frontend reaches
# state 6; afterwards NBD requests fail cleanly (ESHUTDOWN) instead of
# hanging, and nbdkit keeps running.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 16
pool_member vol1
pool_guest vol1 2
pool_wait_connected vol1 "$GUEST" 0
qemu-io -f raw "$NBD_URI" -c 'write -P 0x5a 0 1M' -c 'write -f -P 0x3c 1M 64k' \
	-c 'read -P 0x5a 0 1M' -c 'read -P 0x3c 1M 64k' -c 'flush' >"$POOL_DIR/qio1.log" 2>&1 ||
	die "qemu-io: $(cat "$POOL_DIR/qio1.log")"
grep -qi 'fail\|error' "$POOL_DIR/qio1.log" && die "qemu-io: $(cat "$POOL_DIR/qio1.log")"
[ "$(xs0 xenstore-read "/local/domain/$GUEST/device/vbdpool/0/state")" = 4 ] ||
	die "frontend not Connected (4)"
ctl detach "$GUEST" vol1 --devid 0 --timeout 20 || die "detach failed"
if qemu-io -f raw "$NBD_URI" -c 'read 0 4k' >"$POOL_DIR/qio2.log" 2>&1 &&
	! grep -qi 'fail' "$POOL_DIR/qio2.log"; then
	die "read after detach succeeded: $(cat "$POOL_DIR/qio2.log")"
fi
pool_log "after detach: $(tail -n 1 "$POOL_DIR/qio2.log")"
echo PASS
