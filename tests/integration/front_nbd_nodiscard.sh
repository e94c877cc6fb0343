#!/usr/bin/env bash
# Storage that cannot discard (seen on real Xen: a shared blkfront disk
# answers EOPNOTSUPP): the backing is served through faultfs with
# "nodiscard", so the members' fallocate fails with EOPNOTSUPP and they
# answer BLKIF_RSP_EOPNOTSUPP.  NBD's trim is advisory: through vbdpool-nbd
# and through nbdkit + the plugin, a trim must succeed and leave the data
# readable, and the project's verifier (which trims now and then) must
# pass over NBD.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init
pool_faultfs 64
echo nodiscard >"$FAULTFS_CTL"
pool_volume vol1 64 "$FAULTFS_DISK"
pool_member vol1
pool_member vol1

check_trim() { # URI LABEL
	local uri=$1 label=$2 log=$POOL_DIR/qio-$2.log
	qemu-io -f raw "$uri" -c 'write -P 0x3c 1M 1M' -c 'discard 1M 512k' -c 'read -P 0x3c 1M 1M' \
		>"$log" 2>&1 || die "$label: qemu-io: $(cat "$log")"
	! grep -qiE 'fail|error' "$log" || die "$label: trim on storage without discard: $(cat "$log")"
	pool_log "$label: trim answered OK, data still readable"
}

# vbdpool-nbd (both guests attach vol1 --shared: one after the other, each
# read-write; attach refuses a second read-write guest otherwise)
POOL_ATTACH_ARGS=--shared POOL_NBD_SERVER=vbdpool-nbd pool_guest vol1 2
pool_wait_connected vol1 "$GUEST" 0
check_trim "$NBD_URI" vbdpool-nbd
pool_verify "$GUEST" "$POOL_DIR/verify1.log" --nbd "$POOL_DIR/nbd.sock" --seconds 3 --threads 2 ||
	die "front_verify over vbdpool-nbd: $(tail -n 3 "$POOL_DIR/verify1.log")"
tail -n 1 "$POOL_DIR/verify1.log"
# its trims succeeded (an error, or NBD_ENOTSUP, would have stopped them)
grep -q 'discards=[1-9]' "$POOL_DIR/verify1.log" || die "the verifier's trims did not succeed"
kill "$NBD_SERVER_PID"
wait "$NBD_SERVER_PID" || die "vbdpool-nbd exited non-zero"

# nbdkit + the plugin, in a second guest
POOL_ATTACH_ARGS=--shared pool_attach vol1 2 guest2
g2=$GUEST
"$XENSIM" exec --dir "$SIM_DIR" --domid "$g2" -- \
	nbdkit -f -v -U "$POOL_DIR/nbd2.sock" "$PLUGIN" devid=0 wait=20 >"$POOL_DIR/nbdkit2.log" 2>&1 &
POOL_PIDS+=($!)
for _ in $(seq 100); do [ -S "$POOL_DIR/nbd2.sock" ] && break; sleep 0.1; done
[ -S "$POOL_DIR/nbd2.sock" ] || die "nbdkit socket did not appear"
check_trim "nbd+unix:///?socket=$POOL_DIR/nbd2.sock" plugin
ctl schema-check >/dev/null || die "schema-check"
echo PASS
