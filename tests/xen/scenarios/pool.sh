# shellcheck shell=bash
# rig-timeout: 720
# The pool on real Xen (issue scenarios 2 and 3 in one boot): two PV driver
# domains (driver_domain=1) reach one shared disk (dom0's /dev/ram0 through
# Xen's own blkback, attached to both with tests/xen/block-shared: xl 4.17
# has no `w!`) and each runs vbdpool-backd; dom0 runs vbdpool-supervisor.
# The guest's xl config carries `vbdpool = [ "volume=...,devid=0,queues=4" ]`
# and dom0 attaches it with `vbdpoolctl attach --config` between `xl create
# -p` and `xl unpause` (RIG_ARGS=cli: `vbdpoolctl attach` instead).  The
# guest exports the device with vbdpool-nbd (RIG_ARGS=nbdkit: nbdkit + the
# vbdpool plugin) and runs the project's verifier over NBD (POOL_GUEST
# below).  When both members own
# queues and the workload is under way, dom0 `xl destroy`s one member: the
# survivor must own every queue, the workload must finish with zero errors
# and verify, and `vbdpoolctl schema-check` must pass on the real
# xenstored's tree (printed with xenstore-ls) while the survivor serves and
# again after `vbdpoolctl detach --config`.
#
# The backing path is the same in every member: /dev/vbdpool-disk, a
# symlink to the domain's view of the shared device (dom0: /dev/ram0, the
# driver domains: /dev/xvdb) — what an administrator does with
# /dev/disk/by-id names.

rig_host_check() {
	local p
	for p in bin/vbdpool-backd bin/vbdpool-supervisor bin/vbdpoolctl bin/vbdpool-nbd \
		tests/progs/front_verify lib/nbdkit-vbdpool-plugin.so; do
		[ -e "$RIG_PROJ_BUILD/$p" ] || { echo "$RIG_PROJ_BUILD/$p not built: run make"; return 1; }
	done
}

POOL_VOL=rigpool
POOL_QUEUES=4
POOL_SECS=${POOL_SECS:-60} # workload length in the guest

# Commands run by the domUs (one line each: xenstore-read escapes newlines).
# Each driver domain: the shared disk, then the service.
POOL_MEMBER_CMD='modprobe xen-blkfront; i=0; while [ ! -b /dev/xvdb ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done; '\
'[ -b /dev/xvdb ] || { echo "no /dev/xvdb"; exit 1; }; ln -s /dev/xvdb /dev/vbdpool-disk; '\
'echo "member: /dev/xvdb $(cat /sys/block/xvdb/size) sectors"; VBD_PLATFORM=xen exec vbdpool-backd --volume '"$POOL_VOL"

# The guest's workload: vbdpool-nbd (the native server: its connections run
# on the library's event thread, which polls before it sleeps) exports the
# device on a Unix socket once a queue is connected; the project's verifier
# (tests/progs/front_verify --nbd: 4 connections, random 4-64 KiB writes
# with FUA now and then, reads checked against what was written, flushes,
# trims, a full read-back at the end) runs over it.  RIG_ARGS=nbdkit
# exports with nbdkit + the plugin instead, RIG_ARGS=direct runs the
# verifier on the library.
POOL_VERIFY="front_verify --seconds $POOL_SECS --threads 4 --max-blocks 16"
POOL_EXPORT="vbdpool-nbd"
if [[ " ${RIG_ARGS:-} " == *" direct "* ]]; then
	POOL_EXPORT="none (the library)"
	POOL_GUEST="VBD_PLATFORM=xen $POOL_VERIFY --devid 0 --wait 120"
elif [[ " ${RIG_ARGS:-} " != *" nbdkit "* ]]; then
	POOL_GUEST='(while :; do xenstore-write data/alive "$(cut -d" " -f1 /proc/uptime) $(grep MemAvailable /proc/meminfo)"; sleep 2; done) & '\
'VBD_PLATFORM=xen vbdpool-nbd --devid 0 --socket /run/nbd.sock --wait 120 2>/run/nbd.log & srv_pid=$!; '\
'i=0; while [ ! -S /run/nbd.sock ] && [ $i -lt 700 ] && kill -0 $srv_pid 2>/dev/null; do sleep 0.2; i=$((i+1)); done; '\
'[ -S /run/nbd.sock ] || { echo "vbdpool-nbd socket never appeared"; tail -n 40 /run/nbd.log; exit 1; }; '\
'echo "guest: vbdpool-nbd export up after $i polls"; '"$POOL_VERIFY"' --nbd /run/nbd.sock; rc=$?; '\
'kill $srv_pid; wait $srv_pid; srv_rc=$?; tail -n 5 /run/nbd.log; echo "guest: vbdpool-nbd exit $srv_rc"; [ $rc = 0 ] || tail -n 40 /run/nbd.log; exit $rc'
else
	POOL_EXPORT="nbdkit + plugin"
	POOL_GUEST='echo "guest: entropy_avail $(cat /proc/sys/kernel/random/entropy_avail)"; free -m; '\
'(while :; do xenstore-write data/alive "$(cut -d" " -f1 /proc/uptime) $(grep MemAvailable /proc/meminfo)"; sleep 2; done) & '\
'VBD_PLATFORM=xen nbdkit -v -f -U /run/nbd.sock /opt/vbdpool/lib/nbdkit-vbdpool-plugin.so devid=0 wait=120 2>/run/nbdkit.log & nbdkit_pid=$!; '\
'i=0; while [ ! -S /run/nbd.sock ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i+1)); done; '\
'[ -S /run/nbd.sock ] || { echo "nbdkit socket never appeared"; head -n 40 /run/nbdkit.log; echo "nbdkit wchan $(cat /proc/$nbdkit_pid/wchan) stack:"; cat /proc/$nbdkit_pid/stack; exit 1; }; '\
'echo "guest: nbdkit export up after $i polls"; '"$POOL_VERIFY"' --nbd /run/nbd.sock; rc=$?; '\
'kill $nbdkit_pid; wait $nbdkit_pid; [ $rc = 0 ] || grep -v debug: /run/nbdkit.log | tail -n 40; exit $rc'
fi

# pool_owners_rig GUEST -> "q0=<owner> q1=<owner> ..." from the pool area
# (one xenstore-ls: every process start is slow in a PV dom0 under TCG)
pool_owners_rig() {
	xenstore-ls "/vbdpool/volumes/$POOL_VOL/attachments/$1-0" 2>/dev/null |
		sed -n 's/^queue-\([0-9]*\) = "owner=\([0-9]*\).*/q\1=\2/p' | sort -t q -k2 -n | tr '\n' ' ' |
		sed 's/ $//'
}
# owned_in "q0=A q1=B ..." DOMID -> how many of those queues DOMID owns
owned_in() { echo "$1" | tr ' ' '\n' | grep -c "^q[0-9]*=$2\$"; }

rig_dom0_main() {
	local d1 d2 g sup_pid n1 n2 rc=0 t_kill t_all own disk sc1=0 sc2=0 det=0 cfg=/run/rig-guest.cfg
	disk='disk = [ "vdev=xvdb,access=rw,script=block-shared,target=/dev/ram0" ]'
	dd if=/dev/zero of=/dev/ram0 bs=1M count=128 2>/dev/null
	ln -sf /dev/ram0 /dev/vbdpool-disk

	d1=$(rig_domu_create m1 'driver_domain = 1' "$disk") || rig_fail "create m1"
	d2=$(rig_domu_create m2 'driver_domain = 1' "$disk") || rig_fail "create m2"
	# under QEMU TCG a domU can be descheduled for seconds: a lease long
	# enough that no member is fenced for being slow (this scenario
	# destroys one itself)
	VBD_PLATFORM=xen vbdpool-supervisor --lease-ms 20000 >/run/supervisor.log 2>&1 &
	sup_pid=$!
	# the members see dom0's /dev/ram0 as their /dev/xvdb (no WWID either
	# side): dom0's storage identity is not theirs, so they agree on one
	vbdpoolctl volume create "$POOL_VOL" --backing /dev/vbdpool-disk --id-by-consensus ||
		rig_fail "volume create"
	vbdpoolctl member add "$POOL_VOL" m1 || rig_fail "member add m1"
	vbdpoolctl member add "$POOL_VOL" m2 || rig_fail "member add m2"
	rig_domu_run m1 "$POOL_MEMBER_CMD" || rig_fail "run m1"
	rig_domu_run m2 "$POOL_MEMBER_CMD" || rig_fail "run m2"

	# The guest: its xl config carries the vbdpool device (xl ignores the
	# key); `xl create -p`, `vbdpoolctl attach --config`, `xl unpause` is the
	# administrator's sequence (docs/tooling.md).  RIG_ARGS=cli attaches
	# with `vbdpoolctl attach DOMAIN VOLUME` instead.
	if [[ " ${RIG_ARGS:-} " == *" cli "* ]]; then
		g=$(RIG_DOMU_MEM=256 rig_domu_create guest) || rig_fail "create guest"
		vbdpoolctl attach guest "$POOL_VOL" --devid 0 --queues "$POOL_QUEUES" || rig_fail "attach"
	else
		g=$(RIG_DOMU_MEM=256 rig_domu_create guest \
			"vbdpool = [ \"volume=$POOL_VOL, devid=0, queues=$POOL_QUEUES\" ]") || rig_fail "create guest"
		echo "== $cfg"
		cat "$cfg"
		vbdpoolctl attach --config "$cfg" || rig_fail "vbdpoolctl attach --config $cfg"
	fi
	rig_say "members m1=$d1 m2=$d2, guest=$g"
	rig_domu_run guest "$POOL_GUEST" || rig_fail "run guest"
	xl list

	# Both members serving: each owns a queue (the balancer splits 4 over 2).
	local end=$(($(cut -d. -f1 /proc/uptime) + 180))
	while :; do
		own=$(pool_owners_rig "$g")
		n1=$(owned_in "$own" "$d1") n2=$(owned_in "$own" "$d2")
		[ "$n1" -ge 1 ] && [ "$n2" -ge 1 ] && break
		[ "$(cut -d. -f1 /proc/uptime)" -ge "$end" ] && break
		xenstore-read "/local/domain/$g/data/rig-rc" >/dev/null 2>&1 && break # guest gave up
		sleep 0.5
	done
	rig_say "owners before: $own (m1=$d1 owns $n1, m2=$d2 owns $n2)"
	vbdpoolctl status
	if [ "$n1" -lt 1 ] || [ "$n2" -lt 1 ]; then
		xenstore-ls -p "/local/domain/$g/device"
		rig_say "guest alive: $(xenstore-read "/local/domain/$g/data/alive" 2>/dev/null)"
		xl list
		rig_domu_wait guest 30 || true
		rig_domu_destroy m1; rig_domu_destroy m2
		rig_fail "ownership never split over both members: $(pool_owners_rig "$g")"
	fi
	sleep 10 # the workload runs on both members for a while

	rig_say "xl destroy m1 (domid $d1) under load"
	t_kill=$(rig_now)
	xl destroy m1 || rig_fail "xl destroy m1"
	end=$(($(cut -d. -f1 /proc/uptime) + 60))
	while [ "$(owned_in "$(pool_owners_rig "$g")" "$d2")" != "$POOL_QUEUES" ] &&
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		sleep 0.1
	done
	t_all=$(rig_now)
	own=$(pool_owners_rig "$g")
	rig_say "owners after: $own (seen $(awk -v a="$t_all" -v b="$t_kill" 'BEGIN { printf "%.1f", a - b }')s after the destroy)"
	vbdpoolctl status
	echo "== vbdpoolctl schema-check (live, workload running on the survivor)"
	vbdpoolctl schema-check || sc1=$?

	# The workload ends; then the device is detached the normal way (the
	# guest, powered off but preserved, left state=Closed) and the tree is
	# checked again.
	end=$(($(cut -d. -f1 /proc/uptime) + POOL_SECS + 240))
	while ! xenstore-read "/local/domain/$g/data/rig-rc" >/dev/null 2>&1 &&
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		sleep 1
	done
	if [[ " ${RIG_ARGS:-} " == *" cli "* ]]; then
		vbdpoolctl detach guest "$POOL_VOL" --timeout 30 || det=$?
	else
		vbdpoolctl detach --config "$cfg" --timeout 30 || det=$?
	fi
	rig_domu_wait guest 30 || rc=$?
	rig_say "guest workload rc=$rc, detach rc=$det"
	rig_domu_console guest | grep -E 'front_verify|FAIL|error' | tail -n 20

	echo "== xl list"
	xl list
	echo "== xenstore-ls -p /vbdpool"
	xenstore-ls -p /vbdpool
	echo "== vbdpoolctl schema-check (after detach)"
	vbdpoolctl schema-check || sc2=$?
	rig_domu_destroy m2
	kill "$sup_pid" 2>/dev/null
	wait "$sup_pid" 2>/dev/null
	echo "== supervisor log"
	cat /run/supervisor.log

	# the owners seen right after the failover: every queue on m2
	[ "$(owned_in "$own" "$d2")" = "$POOL_QUEUES" ] ||
		rig_fail "survivor m2 does not own every queue: $own"
	[ "$rc" = 0 ] || rig_fail "guest workload failed (rc=$rc)"
	[ "$sc1" = 0 ] || rig_fail "schema-check failed on the live tree after the failover"
	[ "$det" = 0 ] || rig_fail "detach failed (rc=$det)"
	[ "$sc2" = 0 ] || rig_fail "schema-check failed after the detach"
	rig_detail "2 driver domains on a shared disk, guest attached from its xl config, $POOL_EXPORT export: xl destroy of one under load -> survivor owns all $POOL_QUEUES queues ($own), $(rig_domu_console guest | grep -o 'front_verify: PASS ops=[0-9]*' | tail -n1) errors=0, schema-check OK live and after detach"
}
