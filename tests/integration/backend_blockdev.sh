#!/usr/bin/env bash
# A block device as the shared backing (a loop device over a temp file):
# O_DIRECT I/O, discard through BLKDISCARD, two members and a verifying
# guest. Skipped where loop devices cannot be set up.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
command -v losetup >/dev/null || { echo "no losetup"; exit 77; }
pool_init
truncate -s 64M "$POOL_DIR/loop.img"
loopdev=$(losetup -f --show "$POOL_DIR/loop.img" 2>/dev/null) || { echo "cannot set up a loop device"; exit 77; }
POOL_ON_EXIT='losetup -d "$loopdev" 2>/dev/null'
pool_volume vol1 64 "$loopdev"
pool_member vol1
m1=$LAST_DOMID
pool_member vol1
g=$(pool_domain guest)
ctl attach "$g" vol1 --devid 0 --queues 4 >/dev/null || die "attach"
rc=0
pool_verify "$g" "$POOL_DIR/verify.log" --devid 0 --seconds 4 --threads 4 || rc=$?
tail -n 1 "$POOL_DIR/verify.log"
[ $rc -eq 0 ] || die "front_verify on a block device failed (exit $rc)"
grep -qE 'discards=[1-9]' "$POOL_DIR/verify.log" || die "no discard was exercised"
grep -q "on $loopdev (O_DIRECT)" "$POOL_DIR/backd-$m1.log" || die "backing not opened O_DIRECT"
echo PASS
