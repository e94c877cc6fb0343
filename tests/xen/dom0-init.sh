#!/bin/bash
# /init of the rig's dom0 (Debian root from debootstrap, unpacked from the
# initramfs; no systemd).  Brings up the Xen control plane the way Debian's
# /etc/init.d/xen does (modules, xenfs, C xenstored, xen-init-dom0,
# xenconsoled), runs the scenario named in /rig/rig.conf with a time limit,
# prints ONE line "RIG-SUMMARY ..." on the console and powers off.
set -u
export PATH=/usr/lib/xen-4.17/bin:/opt/vbdpool/bin:/opt/vbdpool/tests/progs:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
# The hotplug scripts need these in a bare devtmpfs, or `block` loops forever.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /run/xen /run/xenstored /run/lock /var/log/xen/console /var/lib/xen /var/lib/xenstored
ldconfig 2>/dev/null || true

RIG_SCENARIO=unknown RIG_TIMEOUT=600 RIG_ARGS=
. /rig/rig.conf
export RIG_SCENARIO RIG_TIMEOUT RIG_ARGS RIG_DETAIL=/run/rig-detail RIG_DIR=/rig
: >"$RIG_DETAIL"
t0=$(cut -d. -f1 /proc/uptime)

finish() { # result rc detail
	local guests f
	for f in /var/log/xen/console/guest-*.log; do
		[ -f "$f" ] || continue
		guests=${f##*/guest-}; guests=${guests%.log}
		sed "s/^/[guest $guests] /" "$f"
	done
	sync
	echo "RIG-SUMMARY scenario=$RIG_SCENARIO result=$1 rc=$2 dom0_secs=$(($(cut -d. -f1 /proc/uptime) - t0)) uptime=$(cut -d' ' -f1 /proc/uptime): $3"
	sleep 1
	busybox poweroff -f
	sleep 60
}
fail_boot() { finish FAIL 1 "dom0 setup: $*"; }

echo "rig-dom0: scenario $RIG_SCENARIO, limit ${RIG_TIMEOUT}s, kernel $(uname -r)"
for m in xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-blkback; do
	modprobe "$m" || fail_boot "modprobe $m"
done
# RAM disks /dev/ram0-3, 128 MiB each (allocated as written): backing
# storage dom0 can hand to several domains (script=block-shared).
modprobe brd rd_nr=4 rd_size=131072 || fail_boot "modprobe brd"
mount -t xenfs xenfs /proc/xen || fail_boot "mount xenfs"
grep -q control_d /proc/xen/capabilities || fail_boot "not the control domain (/proc/xen/capabilities)"

# C xenstored, as /etc/init.d/xen would start it.
XENSTORED_ROOTDIR=/run/xenstored xenstored --pid-file /run/xenstore.pid || fail_boot "xenstored"
for _ in $(seq 60); do xenstore-read -s / >/dev/null 2>&1 && break; sleep 0.5; done
xenstore-read -s / >/dev/null 2>&1 || fail_boot "xenstored does not answer"
xen-init-dom0 >/dev/null || fail_boot "xen-init-dom0"
xenconsoled --pid-file /run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
	fail_boot "xenconsoled"
echo "rig-dom0: xenstored + xenconsoled up at $(cut -d' ' -f1 /proc/uptime)s"
for f in /opt/vbdpool/bin/* /opt/vbdpool/tests/progs/*; do
	[ -x "$f" ] || continue
	ldd "$f" 2>/dev/null | grep -q 'not found' &&
		echo "rig-dom0: WARNING: $f lacks libraries here: $(ldd "$f" | grep 'not found' | tr -s ' \t\n' ' ')"
done

# The scenario file defines rig_dom0_main (see tests/xen/scenarios/README).
timeout -k 5 "$RIG_TIMEOUT" bash -c '. /rig/lib-dom0.sh && . "/rig/scenarios/$RIG_SCENARIO.sh" && rig_dom0_main' </dev/null
rc=$?
detail=$(tail -n 1 "$RIG_DETAIL" 2>/dev/null)
case $rc in
0) finish PASS 0 "${detail:-ok}" ;;
77) finish SKIP 77 "${detail:-skipped}" ;;
124 | 137) finish FAIL "$rc" "timed out after ${RIG_TIMEOUT}s${detail:+; $detail}" ;;
*) finish FAIL "$rc" "${detail:-scenario failed}" ;;
esac
