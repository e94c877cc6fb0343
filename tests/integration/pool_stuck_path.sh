#!/usr/bin/env bash
# A storage path that hangs while its driver domain lives (an NFS hard
# mount, iSCSI with no replacement timeout): no EIO comes, the member's
# heartbeat goes on, and a hand-off cannot drain the stuck requests, so the
# guest's requests on its queues used to wait for as long as the path hung.
#  1. Member A's writes hang in its own path (faultfs delay-writes, 12 s).
#     With --io-timeout-ms 2000, A publishes members/A/io-stuck; the
#     supervisor (lease 1 s) sees B active and not stuck for two leases
#     and fences A
#     (destroy); B takes every queue, the re-posted writes complete there,
#     and writes overlapping A's stuck ones wait until A's domain is gone
#     (the late-write hold).  The guest sees no error.
#  2. The storage itself hangs for everyone (faultfs hold, 5 s): B and C
#     both say io-stuck, and the supervisor fences neither (no member could
#     serve instead); when the storage comes back both withdraw io-stuck
#     and the guest finishes without an error.  (16 guest threads, so that
#     both members have requests in flight: a member with none says
#     nothing, and would look healthy: docs/protocol.md.)
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
unshare -m true 2>/dev/null || { echo "no mount namespaces"; exit 77; }
pool_init
pool_faultfs 64
pool_volume vol1 64 "$FAULTFS_DISK"
pool_supervisor --lease-ms 1000
# A reaches the disk through its own path (faultfs's disk-b: the same file,
# another kernel inode), as members reach shared storage through their own
# HBAs: its hung writes do not lock out the others'.
A=$(pool_domain backA) || die "create domain A"
ctl member add vol1 "$A" >/dev/null || die "member add A"
"$XENSIM" exec --dir "$SIM_DIR" --domid "$A" -- unshare -m --propagation private \
	sh -c 'mount --bind "$1-b" "$1" && exec "$2" --volume vol1 --io-timeout-ms 2000' sh \
	"$FAULTFS_DISK" "$BIN/vbdpool-backd" >"$POOL_DIR/backd-$A.log" 2>&1 &
POOL_PIDS+=($!)
pool_member vol1 --io-timeout-ms 2000
B=$LAST_DOMID
POOL_NBD_SERVER=vbdpool-nbd pool_guest vol1 4
pool_wait_connected vol1 "$GUEST" 0
pool_wait_owns vol1 "$GUEST" 0 "$A" || die "A owns no queue: $(pool_owners vol1 "$GUEST" 0)"
apid=$(pool_backd_pid "$A") || die "no backd in domain $A"
mstate() { xs0 xenstore-read "/vbdpool/volumes/vol1/members/$1/state" 2>/dev/null || echo gone; }

pool_verify_bg "$GUEST" "$POOL_DIR/verify.log" --nbd "$POOL_DIR/nbd.sock" --seconds 8 --threads 4
sleep 1
pool_log "1. A's writes hang in its path (they land 12 s late); owners $(pool_owners vol1 "$GUEST" 0)"
echo "delay-writes $apid 12000" >"$FAULTFS_CTL"
took=$(pool_wait_owns_none vol1 "$GUEST" 0 "$A" 10) ||
	die "A kept its queues with its path hung: $(pool_owners vol1 "$GUEST" 0), A $(mstate "$A")"
pool_log "A's queues taken over ${took} ms in: $(pool_owners vol1 "$GUEST" 0)"
grep -q "the path hangs; io-stuck published" "$POOL_DIR/backd-$A.log" || die "A did not say io-stuck"
grep -q "dom$A: storage I/O in vol1 hangs" "$POOL_DIR/supervisor.log" ||
	die "the supervisor did not fence A for its hung path: $(tail -n 3 "$POOL_DIR/supervisor.log")"
pool_verify_passed "$POOL_DIR/verify.log"
echo "nodelay" >"$FAULTFS_CTL"

pool_member vol1 --io-timeout-ms 2000
C=$LAST_DOMID
for _ in $(seq 100); do [ "$(mstate "$C")" = active ] && break; sleep 0.1; done
pool_wait_owns vol1 "$GUEST" 0 "$C" || die "C got no queue: $(pool_owners vol1 "$GUEST" 0)"
pool_verify_bg "$GUEST" "$POOL_DIR/verify2.log" --nbd "$POOL_DIR/nbd.sock" --seconds 10 --threads 16
sleep 1
pool_log "2. the storage hangs for everyone for 5 s; owners $(pool_owners vol1 "$GUEST" 0)"
echo hold >"$FAULTFS_CTL"
for _ in $(seq 80); do
	xs0 xenstore-exists "/vbdpool/volumes/vol1/members/$B/io-stuck" &&
		xs0 xenstore-exists "/vbdpool/volumes/vol1/members/$C/io-stuck" && break
	sleep 0.05
done
xs0 xenstore-exists "/vbdpool/volumes/vol1/members/$B/io-stuck" || die "B did not say io-stuck"
xs0 xenstore-exists "/vbdpool/volumes/vol1/members/$C/io-stuck" || die "C did not say io-stuck"
sleep 2.5 # past the supervisor's two leases of grace: a fence would have come
echo release >"$FAULTFS_CTL"
for m in "$B" "$C"; do
	[ "$(mstate "$m")" = active ] || die "member $m is $(mstate "$m") after the storage hung for all"
done
grep -q "but no other member serves it: not fenced, waiting" "$POOL_DIR/supervisor.log" ||
	die "the supervisor did not say why it waits"
for _ in $(seq 100); do
	xs0 xenstore-exists "/vbdpool/volumes/vol1/members/$B/io-stuck" ||
		xs0 xenstore-exists "/vbdpool/volumes/vol1/members/$C/io-stuck" || break
	sleep 0.05
done
for m in "$B" "$C"; do
	xs0 xenstore-exists "/vbdpool/volumes/vol1/members/$m/io-stuck" && die "member $m still says io-stuck"
done
pool_verify_passed "$POOL_DIR/verify2.log"
echo PASS
