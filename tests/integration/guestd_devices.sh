#!/usr/bin/env bash
# vbdpool-guestd (--no-kernel: the emulated host has no kernel NBD client;
# everything up to `nbd-client` is checked, only the kernel step is not):
# a device attached before the agent starts is discovered and exported,
# a hot attach is picked up by itself, data written through the exports is
# on the backing, flush and FUA reach the pool (a member whose flushes fail
# makes them fail), a malformed device directory and a name that is no
# device id are reported and skipped while the others keep working, and a
# restarted agent adopts the running exports.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init guestd
. "$VBD_TOP/tests/lib/guestd.sh"
for v in vol1 vol2 vol3; do pool_volume $v 16; done
# one member serves vol1 and vol2; vol3's member fails every flush
M=$(pool_domain back1) || die "create member"
ctl member add vol1 "$M" >/dev/null && ctl member add vol2 "$M" >/dev/null || die "member add"
"$XENSIM" exec --dir "$SIM_DIR" --domid "$M" -- "$BIN/vbdpool-backd" --volume vol1 --volume vol2 \
	>"$POOL_DIR/backd-$M.log" 2>&1 &
POOL_PIDS+=($!)
pool_member vol3 --fault eio:op=flush
G=$(pool_domain guest) || die "create guest"
ctl attach "$G" vol1 --devid 0 --queues 2 >/dev/null || die "attach vol1"

# --- discovery at start ---------------------------------------------------
guestd_start "$G"
u0=$(guestd_wait_link 0)
pool_log "device 0 found at start: $u0"
[ "$(nbdinfo --size "$u0")" = $((16 << 20)) ] || die "device 0 size"
for c in flush fua; do nbdinfo --can $c "$u0" || die "the export cannot $c"; done
qio "$u0" 'write -P 0x5a 1M 256k' 'write -f -P 0x3c 2M 64k' 'flush' 'read -P 0x5a 1M 256k'
backing_has "$POOL_DIR/vol1.img" 1024 256 90
backing_has "$POOL_DIR/vol1.img" 2048 64 60
pool_log "device 0: write, FUA write, flush ok; the data is on vol1's backing"

# --- hot attach -------------------------------------------------------------
ctl attach "$G" vol2 --devid 1 --queues 3 >/dev/null || die "attach vol2"
u1=$(guestd_wait_link 1)
pool_log "hot attach picked up: $u1"
qio "$u1" 'write -P 0x77 0 512k' 'flush'
backing_has "$POOL_DIR/vol2.img" 0 512 119

# --- flush and FUA reach the pool ----------------------------------------------
ctl attach "$G" vol3 --devid 2 --queues 2 >/dev/null || die "attach vol3"
u2=$(guestd_wait_link 2)
# (qemu-io -t writeback: no flush of its own after each write)
qemu-io -f raw -t writeback "$u2" -c 'write -P 0x11 0 64k' >"$POOL_DIR/qio-f.out" 2>&1 || true
grep -q 'wrote 65536/65536' "$POOL_DIR/qio-f.out" || die "vol3 write: $(cat "$POOL_DIR/qio-f.out")"
for c in 'flush' 'write -f -P 0x12 64k 64k'; do
	if qemu-io -f raw -t writeback "$u2" -c "$c" >"$POOL_DIR/qio-f.out" 2>&1 &&
		! grep -qiE 'fail|error' "$POOL_DIR/qio-f.out"; then
		die "'$c' succeeded although vol3's member fails every flush"
	fi
	pool_log "vol3 (flushes fail in the member): '$c' -> $(tail -n 1 "$POOL_DIR/qio-f.out")"
done

# --- malformed directories: reported, skipped, the others keep working -----
fe=/local/domain/$G/device/vbdpool
xs0 xenstore-write "$fe/5/volume" 'no/such' "$fe/5/num-queues" 2 "$fe/5/pool" /x
xs0 xenstore-write "$fe/junk" ""
guestd_wait_log 'device 5: vbdpool-nbd refused it'
guestd_wait_log 'device/vbdpool/junk: not a device id'
grep -q "device/vbdpool/5/volume 'no/such' is malformed" "$POOL_DIR/guestd.log" ||
	die "no reason for device 5 in the log"
sleep 2 # it must not keep restarting the refused export
n=$(grep -c 'device 5: exporting' "$POOL_DIR/guestd.log")
[ "$n" = 1 ] || die "device 5 started $n times"
xs0 xenstore-write "$fe/5/num-queues" 3
guestd_wait_log 'device 5: its directory changed: trying again'
guestd_wait_log 'device 5: vbdpool-nbd refused it.*'
qio "$u0" 'read -P 0x5a 1M 256k'
qio "$u1" 'read -P 0x77 0 512k'
[ ! -e "$GD_ROOT/dev/vbdpool/5" ] || die "a link for the malformed device 5"
pool_log "malformed device 5 and name 'junk' reported and skipped; devices 0 and 1 still work"
xs0 xenstore-rm "$fe/5"
xs0 xenstore-rm "$fe/junk"

# --- restart: the exports outlive the agent and are adopted ----------------------
pids=$(cat "$GD_RUN"/nbd-[012].pid | tr '\n' ' ')
kill -TERM "$GUESTD_PID"
wait "$GUESTD_PID" || die "vbdpool-guestd exited $? on SIGTERM"
grep -q 'stopping; 3 export(s) keep running' "$POOL_DIR/guestd.log" || die "no stop line"
qio "$u0" 'read -P 0x5a 1M 256k' # served while no agent runs
guestd_start "$G"
for d in 0 1 2; do guestd_wait_log "device $d: adopted its running export"; done
[ "$(cat "$GD_RUN"/nbd-[012].pid | tr '\n' ' ')" = "$pids" ] || die "exports were restarted"
qio "$(guestd_wait_link 1)" 'read -P 0x77 0 512k'
pool_log "restarted agent adopted the exports (pids $pids)"

# a dead export is restarted
kill -KILL "$(cat "$GD_RUN/nbd-1.pid")"
guestd_wait_log 'device 1: its export \(pid\) is gone; restarting'
guestd_wait_log 'device 1: ready on'
qio "$(guestd_wait_link 1)" 'read -P 0x77 0 512k'
pool_log "a killed export was restarted"
echo PASS
