# shellcheck shell=bash
# rig-timeout: 720
# The pool on real Xen (issue scenarios 2 and 3 in one boot): two PV driver
# domains (driver_domain=1) reach one shared disk (dom0's /dev/ram0 through
# Xen's own blkback, attached to both with tests/xen/block-shared: xl 4.17
# has no `w!`) and each runs vbdpool-backd; dom0 runs vbdpool-supervisor.
# The guest's xl config, /etc/xen/guest.cfg, carries `vbdpool = [
# "volume=...,devid=0,queues=4" ]`; `xl create` alone attaches it: the
# supervisor sees the new domain and attaches from the file (RIG-SUMMARY
# attach=xl-create; RIG_ARGS=cli: `vbdpoolctl attach` instead).  The
# guest's vbdpool-guestd gives it a block device (vbdpool-nbd + the
# kernel's NBD client: /dev/vbdpool/0); the guest makes ext4 on it and
# writes files with checksums (tests/xen/domu-ext4.sh, rig-ext4 in the
# image); after the failure it verifies every file from a fresh mount,
# unmounts and runs `e2fsck -f -n`, which must be clean (RIG-SUMMARY
# fsck=clean); then it mounts the filesystem again and dom0 detaches the
# device: `vbdpoolctl detach` must fail "in use" while it is mounted, and
# once the guest unmounts, its agent must disconnect /dev/nbd0 and remove
# /dev/vbdpool/0 (the guest reports detach=ok).  RIG_ARGS=verify runs the project's verifier over
# vbdpool-nbd instead (RIG_ARGS=nbdkit: over nbdkit + the vbdpool plugin;
# POOL_GUEST below).  When both members own
# queues and the workload is under way, dom0 `xl pause`s one member (a hung
# driver domain): the supervisor must fence it (its heartbeat unchanged for
# the lease: it destroys the domain through libxenctrl, the default policy)
# before any of its queues moves, must not fence the survivor, and must
# write drained/<m1> once the domain has left Xen's list; the survivor must
# own every queue, the workload must finish with zero errors and verify,
# and `vbdpoolctl schema-check` must pass on the real xenstored's tree
# (printed with xenstore-ls) while the survivor serves and again after
# `xl destroy guest`, which must leave no attachment (the supervisor
# removes it).  RIG_ARGS=destroy fails m1 with `xl
# destroy` instead; RIG_ARGS=lease:MS sets the supervisor's lease.  The run
# prints the heartbeat gaps dom0 saw (what the lease must exceed) and how
# long after the pause each step came.
#
# The backing path is the same in every member: /dev/vbdpool-disk, a
# symlink to the domain's view of the shared device (dom0: /dev/ram0, the
# driver domains: /dev/xvdb) — what an administrator does with
# /dev/disk/by-id names.

rig_host_check() {
	local p
	for p in bin/vbdpool-backd bin/vbdpool-supervisor bin/vbdpoolctl bin/vbdpool-nbd \
		bin/vbdpool-guestd tests/progs/front_verify lib/nbdkit-vbdpool-plugin.so; do
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

# The guest's workload.  By default a filesystem: rig-ext4
# (tests/xen/domu-ext4.sh) loads nbd + ext4, starts vbdpool-guestd, waits
# for /dev/vbdpool/0, makes ext4 on it and writes fsync'ed files with
# checksums for POOL_SECS seconds (data/ext4-phase says when: dom0 fails
# the member once it is "writing"), then verifies every file from a fresh
# mount, unmounts and runs e2fsck -f -n; its result line goes to
# data/ext4.  RIG_ARGS=ext4-corrupt alters one checksum and one directory
# block before the check: the run must FAIL (the failure path).
# RIG_ARGS=verify: vbdpool-nbd (the native server: its connections run on
# the library's event thread, which polls before it sleeps) exports the
# device on a Unix socket once a queue is connected; the project's verifier
# (tests/progs/front_verify --nbd: 4 connections, random 4-64 KiB writes
# with FUA now and then, reads checked against what was written, flushes,
# trims, a full read-back at the end) runs over it.  RIG_ARGS=nbdkit
# exports with nbdkit + the plugin instead, RIG_ARGS=direct runs the
# verifier on the library.
POOL_VERIFY="front_verify --seconds $POOL_SECS --threads 4 --max-blocks 16"
POOL_EXPORT="vbdpool-nbd"
POOL_EXT4=0
POOL_GUEST_MEM=256
POOL_ALIVE='(while :; do xenstore-write data/alive "$(cut -d" " -f1 /proc/uptime) $(grep MemAvailable /proc/meminfo)"; sleep 2; done) & '
if [[ " ${RIG_ARGS:-} " != *" "@(verify|nbdkit|direct)" "* ]]; then
	# ext4 over the kernel's NBD client: vbdpool-nbd, nbd, ext4 and the
	# page cache in one guest
	POOL_EXT4=1
	POOL_GUEST_MEM=384
	POOL_EXPORT="vbdpool-guestd (vbdpool-nbd + kernel nbd) + ext4"
	POOL_GUEST="$POOL_ALIVE"'rig-ext4 '"$POOL_SECS"
	[[ " ${RIG_ARGS:-} " == *" ext4-corrupt "* ]] && POOL_GUEST+=" corrupt"
elif [[ " ${RIG_ARGS:-} " == *" direct "* ]]; then
	POOL_EXPORT="none (the library)"
	POOL_GUEST="VBD_PLATFORM=xen $POOL_VERIFY --devid 0 --wait 120"
elif [[ " ${RIG_ARGS:-} " != *" nbdkit "* ]]; then
	POOL_GUEST="$POOL_ALIVE"\
'VBD_PLATFORM=xen vbdpool-nbd --devid 0 --socket /run/nbd.sock --wait 120 2>/run/nbd.log & srv_pid=$!; '\
'i=0; while [ ! -S /run/nbd.sock ] && [ $i -lt 700 ] && kill -0 $srv_pid 2>/dev/null; do sleep 0.2; i=$((i+1)); done; '\
'[ -S /run/nbd.sock ] || { echo "vbdpool-nbd socket never appeared"; tail -n 40 /run/nbd.log; exit 1; }; '\
'echo "guest: vbdpool-nbd export up after $i polls"; '"$POOL_VERIFY"' --nbd /run/nbd.sock; rc=$?; '\
'kill $srv_pid; wait $srv_pid; srv_rc=$?; tail -n 5 /run/nbd.log; echo "guest: vbdpool-nbd exit $srv_rc"; [ $rc = 0 ] || tail -n 40 /run/nbd.log; exit $rc'
else
	POOL_EXPORT="nbdkit + plugin"
	POOL_GUEST='echo "guest: entropy_avail $(cat /proc/sys/kernel/random/entropy_avail)"; free -m; '\
"$POOL_ALIVE"\
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

# The supervisor's lease for this scenario (RIG_ARGS=lease:MS overrides).
# Under QEMU TCG a domU can be descheduled for seconds: the lease must stay
# well above the longest gap between a live member's heartbeats (the
# scenario measures it, below) or the survivor gets fenced too.
POOL_LEASE_MS=15000
for a in ${RIG_ARGS:-}; do
	case $a in lease:[0-9]*) POOL_LEASE_MS=${a#lease:} ;; esac
done

# pool_hb_watch FILE: in the background, one line "<dom0 wall time> <domid>"
# per heartbeat write of any member ("... <domid> node" for an event on
# members/<domid> itself: its creation, or xenstored removing it) (xenstore-watch flushes each event;
# $EPOCHREALTIME is a bash builtin: no process start per line).  This is
# what the supervisor sees: the gaps include dom0's own scheduling delays.
# A member's daemon beats in /vbdpool/domains/<domid>/heartbeat (one node
# per domain; members/<domid>/heartbeat only where dom0 made none).
pool_hb_watch() {
	{
		xenstore-watch /vbdpool/domains 2>/dev/null &
		xenstore-watch "/vbdpool/volumes/$POOL_VOL/members" 2>/dev/null
	} | while read -r p _; do
		case $p in
		*/heartbeat) p=${p%/heartbeat}; echo "$EPOCHREALTIME ${p##*/}" ;;
		*/members/[0-9]*) [[ ${p#*/members/} == */* ]] || echo "$EPOCHREALTIME ${p##*/} node" ;;
		esac
	done >"$1"
}
# pool_hb_gaps FILE D1 D2 T_PAUSE -> the heartbeat changes seen and the
# longest gap between two of them, per member (D1's only before T_PAUSE),
# then when D1's last heartbeat and last members/D1 event came
pool_hb_gaps() {
	awk -v d1="$2" -v d2="$3" -v tp="$4" '
		$3 == "node" { if ($2 == d1 && $1 > tp) rm = $1 - tp; next }
		$2 == d1 && $1 > tp { late = $1 - tp; next }
		$2 == d1 || $2 == d2 { if ($2 in last) { g = $1 - last[$2]; if (g > max[$2]) max[$2] = g }
			last[$2] = $1; n[$2]++ }
		END { printf "m1 (until the failure) %d beats, longest gap %.2f s; m2 %d beats, longest gap %.2f s; m1 last beat %s s, members/%s event %s s after the failure",
			n[d1], max[d1], n[d2], max[d2], late ? sprintf("%.1f", late) : "-", d1, rm ? sprintf("%.1f", rm) : "-" }' "$1"
}
# pool_sv_events LOG DOMID -> "stop=<t> fenced=<t> gone=<t> drained=<t>": the
# supervisor's log stamps (its wall clock mod 100000 s) of the first line
# of each kind about DOMID ("-" when there is none)
pool_sv_events() {
	awk -v d="dom$2" '
		function stamp(k) { if (!(k in t)) t[k] = $1 }
		index($0, " " d ": heartbeat unchanged") && / domain (destroyed|paused)/ { stamp("stop") }
		index($0, " " d " fenced: ") { stamp("fenced") }
		index($0, " " d " is gone") { stamp("gone") }
		index($0, " " d " drained ") { stamp("drained") }
		END { printf "stop=%s fenced=%s gone=%s drained=%s", ("stop" in t) ? t["stop"] : "-",
			("fenced" in t) ? t["fenced"] : "-", ("gone" in t) ? t["gone"] : "-",
			("drained" in t) ? t["drained"] : "-" }' "$1"
}
# secs_after STAMP T0 -> STAMP - T0 in seconds, both taken mod 100000 s
# (the supervisor's log stamps), "-" if STAMP is "-"
secs_after() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || a == "") { print "-"; exit }
		b = b - int(b / 100000) * 100000; a = a - int(a / 100000) * 100000
		d = a - b; if (d < -50000) d += 100000; printf "%.1f", d }'
}

rig_dom0_main() {
	local d1 d2 g sup_pid hb_pid n1 n2 rc=0 t_kill t_all t_move='' t_drained='' own disk sc1=0 sc2=0 det=0
	local cfg=/etc/xen/guest.cfg ev ev2 stop fenced drained hb attach=cli left= ext4= fsck= phase=
	local out det_busy=-
	disk='disk = [ "vdev=xvdb,access=rw,script=block-shared,target=/dev/ram0" ]'
	dd if=/dev/zero of=/dev/ram0 bs=1M count=128 2>/dev/null
	ln -sf /dev/ram0 /dev/vbdpool-disk

	d1=$(rig_domu_create m1 'driver_domain = 1' "$disk") || rig_fail "create m1"
	d2=$(rig_domu_create m2 'driver_domain = 1' "$disk") || rig_fail "create m2"
	# the lease: see POOL_LEASE_MS (fence policy destroy, the default)
	VBD_PLATFORM=xen vbdpool-supervisor --lease-ms "$POOL_LEASE_MS" >/run/supervisor.log 2>&1 &
	sup_pid=$!
	# the members see dom0's /dev/ram0 as their /dev/xvdb (no WWID either
	# side): dom0's storage identity is not theirs, so they agree on one
	vbdpoolctl volume create "$POOL_VOL" --backing /dev/vbdpool-disk --id-by-consensus ||
		rig_fail "volume create"
	pool_hb_watch /run/heartbeats.log &
	hb_pid=$!
	vbdpoolctl member add "$POOL_VOL" m1 || rig_fail "member add m1"
	vbdpoolctl member add "$POOL_VOL" m2 || rig_fail "member add m2"
	rig_domu_run m1 "$POOL_MEMBER_CMD" || rig_fail "run m1"
	rig_domu_run m2 "$POOL_MEMBER_CMD" || rig_fail "run m2"

	# The guest: its xl config, /etc/xen/guest.cfg, carries the vbdpool
	# device (xl ignores the key); `xl create` is all the administrator
	# does: the supervisor attaches the device from the file
	# (docs/tooling.md).  rig_domu_create uses `xl create -p` so that dom0
	# can write the guest's command before it runs; nothing else happens
	# between create and unpause but the wait for the supervisor's
	# attachment.  RIG_ARGS=cli attaches with `vbdpoolctl attach DOMAIN
	# VOLUME` instead (the file then has no vbdpool line).
	if [[ " ${RIG_ARGS:-} " == *" cli "* ]]; then
		g=$(RIG_DOMU_MEM=$POOL_GUEST_MEM rig_domu_create guest) || rig_fail "create guest"
		vbdpoolctl attach guest "$POOL_VOL" --devid 0 --queues "$POOL_QUEUES" || rig_fail "attach"
	else
		g=$(RIG_DOMU_CFG=$cfg RIG_DOMU_MEM=$POOL_GUEST_MEM rig_domu_create guest \
			"vbdpool = [ \"volume=$POOL_VOL, devid=0, queues=$POOL_QUEUES\" ]") || rig_fail "create guest"
		echo "== $cfg"
		cat "$cfg"
		for _ in $(seq 120); do
			xenstore-exists "/vbdpool/volumes/$POOL_VOL/attachments/$g-0" && break
			sleep 0.5
		done
		xenstore-exists "/vbdpool/volumes/$POOL_VOL/attachments/$g-0" ||
			rig_fail "the supervisor did not attach the guest from $cfg within 60 s ($(xenstore-read "/vbdpool/autoattach/$g" 2>/dev/null))"
		rig_say "attached by the supervisor: $(xenstore-read "/vbdpool/autoattach/$g")"
		attach=xl-create
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
	if [ "$POOL_EXT4" = 1 ]; then
		# the failure must come while the guest writes files: wait for
		# mkfs + mount (guestd, nbd-client, mke2fs under TCG)
		end=$(($(cut -d. -f1 /proc/uptime) + 240))
		while phase=$(xenstore-read "/local/domain/$g/data/ext4-phase" 2>/dev/null || echo -) &&
			[ "$phase" != writing ] && [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ] &&
			! xenstore-read "/local/domain/$g/data/rig-rc" >/dev/null 2>&1; do
			sleep 0.5
		done
		rig_say "guest ext4 phase: $phase"
		if [ "$phase" != writing ]; then
			rig_domu_wait guest 30 || true
			rig_domu_destroy m1; rig_domu_destroy m2
			rig_fail "attach=$attach fsck=FAIL(no-writing) the guest never started writing files (phase $phase)"
		fi
	fi
	sleep 10 # the workload runs on both members for a while
	# the owners now: the members' balancer may have handed queues over
	# meanwhile (a cooperative handoff, not a failover); what m1 owns
	# from here on must stay until the supervisor stops it
	own=$(pool_owners_rig "$g")
	n1=$(owned_in "$own" "$d1")
	rig_say "owners at the failure: $own (m1=$d1 owns $n1)"

	if [[ " ${RIG_ARGS:-} " == *" destroy "* ]]; then
		# the administrator destroys a member (the supervisor sees it gone)
		rig_say "xl destroy m1 (domid $d1) under load"
		t_kill=$EPOCHREALTIME
		xl destroy m1 || rig_fail "xl destroy m1"
	else
		# a hung member: its domain paused.  The supervisor must see its
		# heartbeat stop, destroy the domain (libxenctrl) and only then
		# have the survivor take its queues over.
		rig_say "xl pause m1 (domid $d1) under load: the supervisor must fence it (lease $POOL_LEASE_MS ms)"
		t_kill=$EPOCHREALTIME
		xl pause m1 || rig_fail "xl pause m1"
	fi
	end=$(($(cut -d. -f1 /proc/uptime) + POOL_LEASE_MS / 1000 + 60))
	while :; do
		own=$(pool_owners_rig "$g")
		# the first queue of m1's that moves (a paused m1 hands nothing off)
		[ -z "$t_move" ] && [ "$(owned_in "$own" "$d1")" -lt "$n1" ] && t_move=$EPOCHREALTIME
		[ "$(owned_in "$own" "$d2")" = "$POOL_QUEUES" ] && break
		[ "$(cut -d. -f1 /proc/uptime)" -ge "$end" ] && break
		sleep 0.1
	done
	t_all=$EPOCHREALTIME
	rig_say "owners after: $own (first of m1's queues moved $(secs_after "$t_move" "$t_kill") s, all on m2 $(secs_after "$t_all" "$t_kill") s after the failure)"
	# the guests' signal that m1's I/O is over: the supervisor writes it
	# once m1's domain has left Xen's domain list
	end=$(($(cut -d. -f1 /proc/uptime) + 60))
	while ! xenstore-read "/vbdpool/volumes/$POOL_VOL/drained/$d1" >/dev/null 2>&1 &&
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		sleep 0.2
	done
	xenstore-read "/vbdpool/volumes/$POOL_VOL/drained/$d1" >/dev/null 2>&1 && t_drained=$EPOCHREALTIME
	rig_say "drained/$d1 seen $(secs_after "${t_drained:--}" "$t_kill") s after the failure; xl list:"
	xl list
	# what the toolstack left of m1 (xl's own destroy removes it; a
	# domain destroyed through libxenctrl alone leaves it)
	rig_say "/local/domain/$d1 after the failure: $(xenstore-ls "/local/domain/$d1" 2>&1 | head -n 3 | tr '\n' ' ')"
	vbdpoolctl status
	echo "== vbdpoolctl schema-check (live, workload running on the survivor)"
	vbdpoolctl schema-check || sc1=$?

	# The workload ends; then the device is detached the normal way (the
	# guest, powered off but preserved, left state=Closed) and the tree is
	# checked again.
	end=$(($(cut -d. -f1 /proc/uptime) + POOL_SECS + 240))
	if [ "$POOL_EXT4" = 1 ]; then
		# the detach of a device in use, then released (domu-ext4.sh):
		# refused while the guest has it mounted, done once it is not
		while [ "$(xenstore-read "/local/domain/$g/data/detach-step" 2>/dev/null)" != mounted ] &&
			! xenstore-read "/local/domain/$g/data/rig-rc" >/dev/null 2>&1 &&
			[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
			sleep 1
		done
		if [ "$(xenstore-read "/local/domain/$g/data/detach-step" 2>/dev/null)" = mounted ]; then
			if out=$(vbdpoolctl detach guest "$POOL_VOL" --timeout 5 2>&1); then
				det_busy="FAIL(detached while mounted)"
			elif [[ $out == *"in use"* ]]; then
				det_busy=refused
			else
				det_busy="FAIL(refused without saying in use)"
			fi
			rig_say "detach while the guest has it mounted: $det_busy: $out"
			vbdpoolctl detach guest "$POOL_VOL" --timeout 120 || det=$?
			rig_say "detach once released: rc=$det"
		fi
	fi
	while ! xenstore-read "/local/domain/$g/data/rig-rc" >/dev/null 2>&1 &&
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
		sleep 1
	done
	xenstore-read "/local/domain/$g/data/rig-rc" >/dev/null 2>&1 ||
		rig_say "guest not finished: alive $(xenstore-read "/local/domain/$g/data/alive" 2>/dev/null), phase $(xenstore-read "/local/domain/$g/data/ext4-phase" 2>/dev/null)"
	# the guest's ext4 result (before rig_domu_wait destroys it)
	if [ "$POOL_EXT4" = 1 ]; then
		ext4=$(xenstore-read "/local/domain/$g/data/ext4" 2>/dev/null) || ext4="fsck=FAIL(no-result)"
		fsck=$(echo "$ext4" | sed -n 's/.*fsck=\([^ ]*\).*/\1/p')
		rig_say "guest ext4: $ext4"
	fi
	if [[ " ${RIG_ARGS:-} " == *" cli "* ]]; then
		[ "$det_busy" != - ] || vbdpoolctl detach guest "$POOL_VOL" --timeout 30 || det=$?
		rig_domu_wait guest 30 || rc=$?
	else
		# `xl destroy guest` (rig_domu_wait) is the detach: the supervisor
		# removes a gone guest's attachments
		rig_domu_wait guest 30 || rc=$?
		for _ in $(seq 60); do
			left=$(xenstore-list "/vbdpool/volumes/$POOL_VOL/attachments" 2>/dev/null | grep "^$g-")
			[ -z "$left" ] && break
			sleep 0.5
		done
		[ -z "$left" ] || det=1
	fi
	rig_say "guest workload rc=$rc, detach rc=$det${left:+ (attachments left after xl destroy guest: $left)}"
	rig_domu_console guest | grep -E 'front_verify|rig-ext4|FAIL|error' | tail -n 40

	echo "== xl list"
	xl list
	echo "== xenstore-ls -p /vbdpool"
	xenstore-ls -p /vbdpool
	echo "== vbdpoolctl schema-check (after detach)"
	vbdpoolctl schema-check || sc2=$?
	rig_domu_destroy m2
	rig_domu_destroy m1 # normally gone already
	kill "$sup_pid" 2>/dev/null
	wait "$sup_pid" 2>/dev/null
	kill $(pgrep -P "$hb_pid") "$hb_pid" 2>/dev/null
	echo "== supervisor log"
	cat /run/supervisor.log
	hb=$(pool_hb_gaps /run/heartbeats.log "$d1" "$d2" "$t_kill")
	ev=$(pool_sv_events /run/supervisor.log "$d1")
	ev2=$(pool_sv_events /run/supervisor.log "$d2")
	stop=$(echo "$ev" | sed 's/.*stop=\([^ ]*\).*/\1/')
	fenced=$(echo "$ev" | sed 's/.*fenced=\([^ ]*\).*/\1/')
	drained=$(echo "$ev" | sed 's/.*drained=\([^ ]*\).*/\1/')
	rig_say "heartbeats seen in dom0 (lease $POOL_LEASE_MS ms): $hb"
	rig_say "supervisor on m1 (dom$d1), s after the failure: stop $(secs_after "$stop" "$t_kill"), fenced $(secs_after "$fenced" "$t_kill"), gone $(secs_after "$(echo "$ev" | sed 's/.*gone=\([^ ]*\).*/\1/')" "$t_kill"), drained $(secs_after "$drained" "$t_kill") ($ev)"
	rig_say "failover: first of m1's queues moved $(secs_after "$t_move" "$t_kill") s, m2 owned every queue $(secs_after "$t_all" "$t_kill") s after the failure"

	# the fence: m1 stopped by the supervisor (not m2: no false fence),
	# before anything recorded it fenced or drained and before any of its
	# queues moved
	[[ $ev2 == "stop=- "* ]] || rig_fail "the survivor m2 was fenced: $ev2 (lease $POOL_LEASE_MS ms too short under TCG?)"
	if [[ " ${RIG_ARGS:-} " != *" destroy "* ]]; then
		[ "$stop" != - ] || rig_fail "the supervisor never stopped the paused m1 ($ev)"
		for t in "$fenced" "$drained" "${t_move:--}"; do
			[ "$t" = - ] || awk -v a="$(secs_after "$t" "$t_kill")" -v b="$(secs_after "$stop" "$t_kill")" 'BEGIN { exit !(a >= b) }' ||
				rig_fail "m1 recorded fenced / drained or its queue moved before the supervisor stopped it ($ev, first move $(secs_after "$t_move" "$t_kill") s)"
		done
	fi
	[ -n "$t_drained" ] || rig_fail "drained/$d1 not written within 60 s of m2 owning every queue ($ev)"
	# the owners seen right after the failover: every queue on m2
	[ "$(owned_in "$own" "$d2")" = "$POOL_QUEUES" ] ||
		rig_fail "survivor m2 does not own every queue: $own"
	if [ "$POOL_EXT4" = 1 ]; then
		# every file verified, fsck clean (the guest's rc says so too)
		[ "$fsck" = clean ] && [[ $ext4 == *" mismatches=0 "* ]] ||
			rig_fail "attach=$attach fsck=${fsck:-FAIL} guest ext4 workload failed (rc=$rc): $ext4"
		# the guest's agent refused the detach while mounted, then did it
		[ "$det_busy" = refused ] && [[ $ext4 == *" detach=ok"* ]] ||
			rig_fail "attach=$attach fsck=$fsck detach=FAIL: while mounted $det_busy; guest: ${ext4##* detach=}"
	fi
	[ "$rc" = 0 ] || rig_fail "attach=$attach${fsck:+ fsck=$fsck} guest workload failed (rc=$rc)"
	[ "$sc1" = 0 ] || rig_fail "schema-check failed on the live tree after the failover"
	[ "$det" = 0 ] || rig_fail "detach failed (rc=$det)${left:+: xl destroy guest left $left}"
	[ "$sc2" = 0 ] || rig_fail "schema-check failed after the detach"
	local how
	how="xl pause of one under load -> fenced (destroyed) by the supervisor $(secs_after "$stop" "$t_kill") s later (lease $POOL_LEASE_MS ms)"
	[[ " ${RIG_ARGS:-} " == *" destroy "* ]] && how="xl destroy of one under load"
	local work
	work="$(rig_domu_console guest | grep -o 'front_verify: PASS ops=[0-9]*' | tail -n1) errors=0"
	[ "$POOL_EXT4" = 1 ] && work="ext4: ${ext4% fsck=*} (every file verified after a remount, e2fsck -f -n clean; vbdpoolctl detach refused while the guest had it mounted, done by the guest's agent once unmounted: nbd-client -d, link removed)"
	rig_detail "attach=$attach${fsck:+ fsck=$fsck} 2 driver domains on a shared disk, guest attached from its xl config, $POOL_EXPORT: $how -> survivor owns all $POOL_QUEUES queues after $(secs_after "$t_all" "$t_kill") s ($own), drained after $(secs_after "$t_drained" "$t_kill") s, $work, schema-check OK live and after $( [ "$attach" = cli ] && echo detach || echo "xl destroy guest (no attachment left)")"
}
