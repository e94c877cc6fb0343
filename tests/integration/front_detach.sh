#!/usr/bin/env bash
# The nbdkit plugin and detach: the export's flags and size; data written
# over NBD (aligned, FUA, unaligned) reads back; `vbdpoolctl detach` (state 5) completes once the frontend reaches
# state 6; afterwards NBD requests fail cleanly (ESHUTDOWN) instead of
# hanging, and nbdkit keeps running.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_volume vol1 16
pool_member vol1
pool_guest vol1 2
pool_wait_connected vol1 "$GUEST" 0
for c in multi-conn fua flush trim; do
	nbdinfo --can "$c" "$NBD_URI" || die "export cannot $c"
done
[ "$(nbdinfo --size "$NBD_URI")" = $((16 << 20)) ] || die "export size"
# aligned, FUA, unaligned (read-modify-write in the plugin), trim, flush
qemu-io -f raw "$NBD_URI" -c 'write -P 0x5a 0 1M' -c 'write -f -P 0x3c 1M 64k' \
	-c 'write -P 0x11 1000 3000' -c 'read -P 0x5a 0 1000' -c 'read -P 0x11 1000 3000' \
	-c 'read -P 0x5a 4000 1044576' -c 'read -P 0x3c 1M 64k' -c 'discard 2M 1M' -c 'flush' \
	>"$POOL_DIR/qio1.log" 2>&1 || die "qemu-io: $(cat "$POOL_DIR/qio1.log")"
grep -qi 'fail\|error' "$POOL_DIR/qio1.log" && die "qemu-io: $(cat "$POOL_DIR/qio1.log")"
[ "$(xs0 xenstore-read "/local/domain/$GUEST/device/vbdpool/0/state")" = 4 ] ||
	die "frontend not Connected (4)"
pool_detach_refuses vol1 "$NBD_URI"
echo PASS
