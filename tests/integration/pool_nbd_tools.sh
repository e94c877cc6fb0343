#!/usr/bin/env bash
# Must-show 1: standard NBD clients against the vbdpool export of a 3-member
# pool: nbdinfo reports the size; qemu-io writes a distinct pattern into
# every MiB of the device and a second connection reads every pattern back;
# nbdcopy round-trips a 64 MiB random file byte-exact.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
SIZE_MB=64
pool_volume vol1 $SIZE_MB
for i in 1 2 3; do pool_member vol1; done
pool_guest vol1 4
pool_wait_connected vol1 "$GUEST" 0
pool_log "owners: $(pool_owners vol1 "$GUEST" 0)"

size=$(nbdinfo --size "$NBD_URI")
[ "$size" = $((SIZE_MB * 1024 * 1024)) ] || die "nbdinfo size $size"
pool_log "nbdinfo size ok: $size"

wargs=() rargs=()
for m in $(seq 0 $((SIZE_MB - 1))); do
	p=$(( (m * 7 + 1) % 256 ))
	wargs+=(-c "write -P $p ${m}M 1M")
	rargs+=(-c "read -P $p ${m}M 1M")
done
qemu-io -f raw "$NBD_URI" "${wargs[@]}" >"$POOL_DIR/qio-w.out" 2>&1 || die "qemu-io write: $(tail -3 "$POOL_DIR/qio-w.out")"
qemu-io -r -f raw "$NBD_URI" "${rargs[@]}" >"$POOL_DIR/qio-r.out" 2>&1 || die "qemu-io read: $(tail -3 "$POOL_DIR/qio-r.out")"
! grep -qiE 'fail|error' "$POOL_DIR/qio-w.out" "$POOL_DIR/qio-r.out" || die "qemu-io reported: $(grep -iE 'fail|error' "$POOL_DIR"/qio-*.out | head -3)"
reads=$(grep -c '^read 1048576/1048576' "$POOL_DIR/qio-r.out")
[ "$reads" = $SIZE_MB ] || die "qemu-io verified $reads of $SIZE_MB MiB"
pool_log "qemu-io: $SIZE_MB MiB of patterns written and verified over a second connection"

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$POOL_DIR/rand.bin"
nbdcopy "$POOL_DIR/rand.bin" "$NBD_URI"
nbdcopy "$NBD_URI" "$POOL_DIR/back.bin"
cmp "$POOL_DIR/rand.bin" "$POOL_DIR/back.bin" || die "nbdcopy round trip differs"
pool_log "nbdcopy: 64 MiB round trip byte-exact"
ctl schema-check >"$POOL_DIR/schema.out" 2>&1 || die "schema-check: $(cat "$POOL_DIR/schema.out")"
echo "PASS"
