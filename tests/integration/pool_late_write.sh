#!/usr/bin/env bash
# Issue 9, must-show 8: no late write overtakes a newer one.
# One queue, owned by member A, whose storage path (faultfs) performs A's
# writes 3 s late.  The guest writes 0xaa; A's domain is destroyed 0.5 s
# later while that write is held in A's path; B takes the queue over and the
# frontend re-posts 0xaa (acknowledged).  The guest then writes 0xbb to the
# same range.  A's 0xaa lands ~3 s in.  Without the hold, 0xbb is
# acknowledged before that and overwritten (the guest reads 0xaa back: an
# acknowledged write lost).  With it, 0xbb waits until the supervisor
# reports A drained (its domain left the domain list: the emulator keeps a
# destroyed domain dying while a process of it is blocked in I/O), so the
# guest reads 0xbb.  A write elsewhere (0xcc) is not held.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
command -v qemu-io >/dev/null || { echo "no qemu-io"; exit 77; }
pool_init
pool_faultfs 64
pool_volume vol1 64 "$FAULTFS_DISK"
pool_supervisor
# A reaches the disk through its own path (faultfs's disk-b: the same file
# and identity, another kernel inode), as members reach shared storage
# through their own HBAs: its held write does not lock out B's writes.
A=$(pool_domain backA) || die "create domain A"
ctl member add vol1 "$A" >/dev/null || die "member add A"
"$XENSIM" exec --dir "$SIM_DIR" --domid "$A" -- unshare -m --propagation private \
	sh -c 'mount --bind "$1-b" "$1" && exec "$2" --volume vol1' sh "$FAULTFS_DISK" \
	"$BIN/vbdpool-backd" >"$POOL_DIR/backd-$A.log" 2>&1 &
POOL_PIDS+=($!)
POOL_NBD_SERVER=vbdpool-nbd pool_guest vol1 1
unshare -m true 2>/dev/null || { echo "no mount namespaces"; exit 77; }
pool_wait_connected vol1 "$GUEST" 0
[ "$(pool_owned_by vol1 "$GUEST" 0 "$A")" = 1 ] || die "A does not own the queue"
pool_member vol1
B=$LAST_DOMID
for _ in $(seq 100); do
	[ "$(xs0 xenstore-read "/vbdpool/volumes/vol1/members/$B/state" 2>/dev/null)" = active ] && break
	sleep 0.1
done
apid=$(pool_backd_pid "$A") || die "no backd in domain $A"
qio() { qemu-io -f raw "$NBD_URI" -c "$1" >>"$POOL_DIR/qio.log" 2>&1; }
ms() { echo $(($(date +%s%N) / 1000000)); }

echo "delay-writes $apid 3000" >"$FAULTFS_CTL"
t0=$(ms)
qio "write -P 0xaa 0 64k" &
w1=$!
for _ in $(seq 50); do grep -q 'delayed=[1-9]' "$FAULTFS_CTL" && break; sleep 0.05; done
grep -q 'delayed=[1-9]' "$FAULTFS_CTL" || die "A's write was not held in its path"
sleep 0.5
pool_log "destroying member $A while its 0xaa write is held in its storage path"
"$XENSIM" destroy --dir "$SIM_DIR" "$A"
# what a domain destroyed through libxenctrl alone (the supervisor's fence)
# leaves on real Xen: the toolstack's /local/domain/<id> (only libxl's
# destroy removes it).  The supervisor must judge A drained by the domain
# list alone, not wait for that node to go.
xs0 xenstore-write "/local/domain/$A/name" backA
wait $w1 || die "the 0xaa write failed: $(tail -n 3 "$POOL_DIR/qio.log")"
t1=$(ms)
pool_log "0xaa acknowledged $((t1 - t0)) ms in (re-posted to $B); owners $(pool_owners vol1 "$GUEST" 0)"
grep -q 'landed=0' "$FAULTFS_CTL" || die "A's write landed already: the test did not hold it long enough"

qio "write -P 0xbb 0 64k" &
w2=$!
t2=$(ms)
qio "write -P 0xcc 1M 64k" || die "the 0xcc write failed"
t3=$(ms)
pool_log "0xcc (elsewhere) acknowledged in $((t3 - t2)) ms"
wait $w2 || die "the 0xbb write failed: $(tail -n 3 "$POOL_DIR/qio.log")"
t4=$(ms)
pool_log "0xbb (overlapping) acknowledged in $((t4 - t2)) ms"
for _ in $(seq 100); do grep -q 'landed=[1-9]' "$FAULTFS_CTL" && break; sleep 0.1; done
grep -q 'landed=[1-9]' "$FAULTFS_CTL" || die "A's held write never landed"
pool_log "A's held write landed $(($(ms) - t0)) ms in; faultfs: $(tr '\n' ' ' <"$FAULTFS_CTL")"
sleep 0.3
qemu-io -f raw "$NBD_URI" -c "read -P 0xbb 0 64k" >"$POOL_DIR/read.log" 2>&1 || true
cat "$POOL_DIR/read.log"
grep -q 'Pattern verification failed' "$POOL_DIR/read.log" &&
	die "acknowledged write lost: 0xbb was overwritten by the dead member's late 0xaa"
grep -q 'read 65536/65536' "$POOL_DIR/read.log" || die "reading back failed"
qemu-io -f raw "$NBD_URI" -c "read -P 0xcc 1M 64k" | grep -q 'read 65536/65536' || die "0xcc lost"
[ $((t3 - t2)) -lt 1000 ] || die "a non-overlapping write was held ($((t3 - t2)) ms)"
grep -q "taken over with 1 write(s) in flight" "$POOL_DIR/vbdpool-nbd.log" ||
	die "the frontend recorded no lost write: $(grep front: "$POOL_DIR/vbdpool-nbd.log" | tail -n 5)"
grep -q "dom$A drained" "$POOL_DIR/supervisor.log" || die "the supervisor reported no drain"
echo PASS
