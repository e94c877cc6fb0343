#!/usr/bin/env bash
# dom0 detaching a device vbdpool-guestd exports (--no-kernel: "in use"
# means an NBD client is connected; the kernel step is not available on the
# emulated host): while a client is connected the detach waits, the agent
# logs why and writes device/vbdpool/<d>/busy, `vbdpoolctl detach` times out
# naming the reason, and the device keeps serving; once the client goes
# the export stops, state 6, and the detach completes.
set -euo pipefail
. "$VBD_TOP/tests/lib/pool.sh"
pool_init guestd
. "$VBD_TOP/tests/lib/guestd.sh"
pool_volume vol1 16
pool_member vol1
G=$(pool_domain guest) || die "create guest"
ctl attach "$G" vol1 --devid 0 --queues 2 >/dev/null || die "attach"
fe=/local/domain/$G/device/vbdpool/0
guestd_start "$G"
u=$(guestd_wait_link 0)
qio "$u" 'write -P 0x42 0 1M'

# a client that stays connected (qemu-io reading commands from a fifo)
mkfifo "$POOL_DIR/cmds"
qemu-io -f raw "$u" <"$POOL_DIR/cmds" >"$POOL_DIR/holder.out" 2>&1 &
holder=$!
POOL_PIDS+=("$holder")
exec 3>"$POOL_DIR/cmds"
for _ in $(seq 50); do
	[ "$(grep -c " $(readlink "$GD_ROOT/dev/vbdpool/0")\$" /proc/net/unix)" -ge 2 ] && break
	sleep 0.1
done

# refused while in use: vbdpoolctl says why, the device keeps serving
rc=0
ctl detach "$G" vol1 --devid 0 --timeout 2 >"$POOL_DIR/detach1.out" 2>&1 || rc=$?
cat "$POOL_DIR/detach1.out"
[ $rc != 0 ] || die "detach completed while a client is connected"
grep -q 'in use: 1 NBD client(s) connected' "$POOL_DIR/detach1.out" ||
	die "vbdpoolctl does not say why"
guestd_wait_log 'device 0: dom0 detaches it, but it is in use \(1 NBD client\(s\) connected'
[ "$(xs0 xenstore-read "$fe/busy")" = "1 NBD client(s) connected to $GD_RUN/nbd-0.sock" ] ||
	die "busy node: $(xs0 xenstore-read "$fe/busy" 2>&1)"
[ "$(xs0 xenstore-read "$fe/state")" = 5 ] || die "state not 5"
kill -0 "$holder" || die "the client was disconnected"
qio "$u" 'read -P 0x42 0 1M' # still served (a second client meanwhile)
pool_log "detach refused while in use; I/O goes on"

# a detach that waits, then completes once the client goes
ctl detach "$G" vol1 --devid 0 --timeout 30 >"$POOL_DIR/detach2.out" 2>&1 3>&- &
det=$!
sleep 1
kill -0 "$det" 2>/dev/null || die "detach finished while the client is connected: $(cat "$POOL_DIR/detach2.out")"
exec 3>&- # qemu-io sees EOF and quits
wait "$holder" || true
wait "$det" || die "detach failed after the client left: $(cat "$POOL_DIR/detach2.out")"
grep -q 'detached volume vol1' "$POOL_DIR/detach2.out" || die "$(cat "$POOL_DIR/detach2.out")"
guestd_wait_log 'device 0: dom0 detaches it and it is not in use'
guestd_wait_log 'device 0: export stopped'
[ ! -e "$GD_ROOT/dev/vbdpool/0" ] || die "the link is still there"
xs0 xenstore-exists "$fe" 2>/dev/null && die "frontend dir still there"
pool_log "detach completed once the client left; link removed"

# re-attached later: picked up again
ctl attach "$G" vol1 --devid 0 --queues 2 >/dev/null || die "re-attach"
qio "$(guestd_wait_link 0)" 'read -P 0x42 0 1M'
pool_log "re-attach picked up"
echo PASS
