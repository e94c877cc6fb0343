#!/usr/bin/env bash
# Emulated host: a destroyed domain stays listed as dying while I/O it
# issued is still in flight, as on Xen (a dying domain lingers until its
# pages are released), and is gone once that I/O completes.
#  - a process of the domain writes to a file on tests/faultfs while the
#    faultfs holds every I/O: blocked in the kernel, it outlives SIGKILL
#  - `xensim destroy`: /local/domain/<id> is removed and @releaseDomain
#    fires at once (C xenstored does so when the domain becomes dying);
#    `xensim list` shows the domain as dying for as long as the write is
#    held; pause/unpause/exec of it fail cleanly, destroy again succeeds, a
#    new domain of the same name can be created and gets another domid
#  - the faultfs releases the write: the process exits, the domain is gone
set -u
. "$VBD_TOP/tests/lib/pool.sh"
pool_init xensim-dying
pool_faultfs 4
# a write still held at exit would keep its process (and the unmount) busy
POOL_ON_EXIT='echo release >"$FAULTFS_CTL" 2>/dev/null; fusermount3 -u "$POOL_DIR/mnt" 2>/dev/null'
state_of() { sim_list "$1" 2>/dev/null | awk -v d="$1" '$2 == d { print $3 }'; }

d=$(sim_create holder sleep 1000000) || die "create holder"
echo hold >"$FAULTFS_CTL" || die "faultfs hold"
sim_exec "$d" dd if=/dev/zero of="$FAULTFS_DISK" bs=4k count=1 conv=notrunc \
	>"$POOL_DIR/dd.log" 2>&1 &
POOL_PIDS+=($!)
for i in $(seq 100); do grep -q 'held=1' "$FAULTFS_CTL" && break; sleep 0.05; done
grep -q 'held=1' "$FAULTFS_CTL" || die "the write never reached the faultfs: $(cat "$FAULTFS_CTL")"
ddpid=$(sim_pids "$d" dd) || die "no dd in dom$d"
pool_log "dom$d: dd ($ddpid) is blocked writing to the faultfs"

sim_xs0 timeout 10 xenstore-watch -n 2 @releaseDomain >"$POOL_DIR/release.out" 2>&1 &
wpid=$!
sleep 0.3 # the watch is registered (its initial event fired)
"$XENSIM" destroy --dir "$SIM_DIR" "$d" || die "xensim destroy"
sim_xs0 xenstore-exists "/local/domain/$d" && die "/local/domain/$d still there after destroy"
for i in $(seq 40); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$wpid" 2>/dev/null && die "no @releaseDomain within 2 s of the destroy"
wait "$wpid" || die "xenstore-watch @releaseDomain: $(cat "$POOL_DIR/release.out")"
pool_log "XenStore home removed and @releaseDomain fired at once"

sleep 1
st=$(ps -o stat= -p "$ddpid") || die "dd exited although its write is held"
[[ $st != Z* ]] || die "dd is a zombie although its write is held"
[ "$(state_of "$d")" = dying ] ||
	die "dom$d with a write in flight: '$(state_of "$d")' (want dying): $(sim_list)"
pool_log "1 s after destroy, dd state $st: dom$d is listed $(state_of "$d")"

"$XENSIM" pause --dir "$SIM_DIR" "$d" 2>/dev/null && die "pause of a dying domain succeeded"
"$XENSIM" unpause --dir "$SIM_DIR" "$d" 2>/dev/null && die "unpause of a dying domain succeeded"
sim_exec "$d" true 2>/dev/null && die "exec in a dying domain succeeded"
"$XENSIM" destroy --dir "$SIM_DIR" "$d" || die "destroy of a dying domain failed"
n=$(sim_create holder sleep 1000000) || die "create a new 'holder' while the old one is dying"
[ "$n" != "$d" ] || die "dying dom$d's domid reused"
[ "$(state_of "$d")" = dying ] || die "dom$d no longer dying after the commands: $(sim_list)"
pool_log "pause/unpause/exec refused, destroy again ok, new holder is dom$n"

echo release >"$FAULTFS_CTL" || die "faultfs release"
sim_wait_gone "$d" 2 || die "dom$d still listed 2 s after its write completed: $(sim_list)"
kill -0 "$ddpid" 2>/dev/null && die "dd still there"
[ "$(state_of "$n")" = running ] || die "new holder dom$n: '$(state_of "$n")'"
pool_log "write released: dom$d gone"
echo PASS
