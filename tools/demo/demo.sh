#!/usr/bin/env bash
# make demo: vbdpool on the emulated Xen host.
#
#   an emulated host in a temp dir; a 256 MiB volume on a file; the dom0
#   supervisor; three backend domains (vbdpool-backd) and one guest domain
#   exporting the device over NBD (nbdkit + the vbdpool plugin);
#   fio (ioengine=nbd, verify=crc32c) runs through it while one backend
#   domain is SIGKILLed; shows queue owners before/after, the failover
#   time, the load per domain (vbdpoolctl status) and the verify result;
#   then a full write+verify pass on the survivors; cleans up everything.
#
# Usage: tools/demo/demo.sh [BUILD_DIR]   (VBD_KEEP=1 keeps the temp dir)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$top" && cd "${1:-${VBD_BUILD:-build}}" && pwd)
VBD_BUILD=$BUILD
# the emulated host in a temp dir, xs0, ctl, pool_owners, POOL_PIDS, cleanup
. "$top/tests/lib/pool.sh"
VOL=demo
QUEUES=6
SIZE_MB=256
FIO_SECONDS=10
KILL_AFTER=3

for f in "$BIN/xensim" "$BIN/vbdpoolctl" "$BIN/vbdpool-supervisor" "$BIN/vbdpool-backd" "$PLUGIN"; do
	[ -e "$f" ] || { echo "demo: missing $f (run make first)" >&2; exit 1; }
done
for c in nbdkit fio python3; do
	command -v "$c" >/dev/null || { echo "demo: $c not installed (make deps)" >&2; exit 1; }
done

T0=$(date +%s%N)
say() {
	local ms=$((($(date +%s%N) - T0) / 1000000))
	printf '[%3d.%02ds] %s\n' $((ms / 1000)) $((ms % 1000 / 10)) "$*"
}
hr() { echo "------------------------------------------------------------------------"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }

pool_init vbdpool-demo
D=$POOL_DIR
HOST=$SIM_DIR
demo_exit() { # pool.sh's cleanup (stop, logs, remove), announced
	local rc=$?
	set +e
	[ $rc -ne 0 ] && echo "demo FAILED (rc=$rc); logs:"
	[ -n "${VBD_KEEP:-}" ] && echo "kept $D"
	(exit $rc)
	sim_cleanup
}
trap demo_exit EXIT

# start CMD in domain DOMID in the background (xensim forwards signals)
bg_in() { # DOMID LOG CMD...
	local d=$1 log=$2
	shift 2
	"$XENSIM" exec --dir "$HOST" --domid "$d" -- "$@" >"$log" 2>&1 &
	POOL_PIDS+=($!)
}
rec() { pool_rec "$VOL" "$GUEST" 0 "$1"; }
owners() { pool_owners "$VOL" "$GUEST" 0; }
all_connected_without() { # [DOMID]: every queue connected, none owned by DOMID
	local q r
	for ((q = 0; q < QUEUES; q++)); do
		r=$(rec $q)
		[[ $r == *state=connected* ]] || return 1
		[ -n "${1:-}" ] && [[ $r == "owner=$1 "* ]] && return 1
	done
	return 0
}
wait_for() { # SECONDS CMD...: poll CMD every 20 ms
	local n=$(($1 * 50))
	shift
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.02; done
	return 1
}

hr
say "emulated Xen host in $D"
truncate -s ${SIZE_MB}M "$D/$VOL.img"
ctl volume create $VOL --backing "$D/$VOL.img"
pool_supervisor

members=()
names=()
for i in 1 2 3; do
	d=$(pool_domain "backend$i")
	ctl member add $VOL "$d" >/dev/null
	bg_in "$d" "$D/backd-$d.log" "$BIN/vbdpool-backd" --volume $VOL
	members+=("$d")
	names+=("backend$i")
	say "backend domain backend$i = dom$d running vbdpool-backd"
done
member_active() { [ "$(xs0 xenstore-read "/vbdpool/volumes/$VOL/members/$1/state" 2>/dev/null)" = active ]; }
for d in "${members[@]}"; do wait_for 10 member_active "$d" || { echo "dom$d never became active"; exit 1; }; done

GUEST=$(pool_domain guest)
ctl attach guest $VOL --devid 0 --queues $QUEUES
bg_in "$GUEST" "$D/nbdkit.log" nbdkit -f -U "$D/nbd.sock" "$PLUGIN" devid=0
NBDKIT=${POOL_PIDS[-1]}
URI="nbd+unix:///?socket=$D/nbd.sock"
say "guest domain dom$GUEST exports the device: $URI"
wait_for 20 test -S "$D/nbd.sock" || { echo "nbdkit did not start"; exit 1; }
wait_for 20 all_connected_without || { echo "queues not connected: $(owners)"; exit 1; }
ctl schema-check >/dev/null && say "schema-check: live XenStore tree OK"

hr
say "queue owners before: $(owners)"
hr
say "fio: ${FIO_SECONDS}s random read/write 4k-1m, iodepth 16, crc32c verify (backlog), over NBD"
fio --name=demo --ioengine=nbd --uri="$URI" --rw=randrw --rwmixread=50 --bsrange=4k-1m \
	--iodepth=16 --size=${SIZE_MB}m --time_based --runtime=$FIO_SECONDS \
	--verify=crc32c --verify_fatal=1 --verify_state_save=0 --serialize_overlap=1 --verify_backlog=32 --do_verify=1 \
	--exitall_on_error=1 --output="$D/fio-failover.out" >/dev/null 2>&1 &
FIO=$!
POOL_PIDS+=("$FIO")
sleep $KILL_AFTER
ctl status | sed -n '/load per domain/,$p' | grep -v '^supervisor'
victim=${members[0]}
pg=$(sim_pgid "$victim")
hr
say "KILL: SIGKILL every process of backend domain dom$victim (${names[0]}) mid-run"
t_kill=$(ms_now)
kill -KILL -- "-$pg"
# As C xenstored 4.17 does, the dead domain's own nodes (members/<m>) go
# with it; the supervisor then revokes the grants dom0's nodes still give it.
gone() { ! xs0 xenstore-exists "/vbdpool/volumes/$VOL/members/$victim" 2>/dev/null; }
revoked() { ! xs0 xenstore-ls -p /vbdpool 2>/dev/null | grep -qE "[(,][nrwb]$victim[,)]"; }
wait_for 10 gone || { echo "the dead member's nodes are still there"; exit 1; }
t_gone=$(ms_now)
wait_for 20 all_connected_without "$victim" || { echo "failover incomplete: $(owners)"; exit 1; }
t_over=$(ms_now)
wait_for 10 revoked || { echo "supervisor did not revoke the dead member's grants"; exit 1; }
t_rev=$(ms_now)
say "dom$victim's member nodes gone with it after $((t_gone - t_kill)) ms (XenStore)"
say "failover: every queue reconnected to a survivor $((t_over - t_kill)) ms after the kill"
say "supervisor revoked dom$victim's grants in the pool area $((t_rev - t_kill)) ms after the kill"
say "queue owners after:  $(owners)"
hr
fio_rc=0
wait $FIO || fio_rc=$?
sleep 0.6 # one heartbeat: loads settle
ctl status
hr
errs=$(grep -oE 'err= *[0-9]+' "$D/fio-failover.out" | grep -oE '[0-9]+' | sort -nr | head -1)
grep -E '^ *(READ|WRITE):' "$D/fio-failover.out" || true
if [ $fio_rc -eq 0 ] && [ "${errs:-1}" = 0 ]; then
	say "verify under failover: OK (fio exit 0, err=0, crc32c backlog verify of what was written)"
else
	say "verify under failover: FAILED (fio exit $fio_rc, err=${errs:-?})"
	cat "$D/fio-failover.out"
	exit 1
fi

say "fio: full write + crc32c read-back of 64 MiB on the survivors"
if fio --name=verify --ioengine=nbd --uri="$URI" --rw=write --bs=256k --iodepth=8 --size=64m \
	--verify=crc32c --verify_fatal=1 --do_verify=1 --output="$D/fio-verify.out" >/dev/null 2>&1 &&
	[ "$(grep -oE 'err= *[0-9]+' "$D/fio-verify.out" | grep -oE '[0-9]+' | sort -nr | head -1)" = 0 ]; then
	say "verify after failover: OK"
else
	say "verify after failover: FAILED"
	cat "$D/fio-verify.out"
	exit 1
fi
ctl schema-check >/dev/null && say "schema-check after failover: OK"

hr
# guest shuts its export down, then dom0 detaches (Closing -> Closed)
kill "$NBDKIT" 2>/dev/null || true
ctl detach guest $VOL --timeout 5 >/dev/null 2>&1 || ctl detach guest $VOL --force >/dev/null
say "detached; demo done in $(( ($(date +%s%N) - T0) / 1000000000 )) s"
