#!/bin/sh
# /init of the rig's PV domU initramfs (static busybox).
# The domain's job is a shell command dom0 wrote to XenStore before
# unpausing it: /local/domain/<me>/rig/cmd (read relative: rig/cmd).  Its
# exit status goes to data/rig-rc (the domain's own writable area), its
# output to the PV console (hvc0, logged by xenconsoled in dom0); then the
# domain powers itself off.
export PATH=/bin:/sbin:/opt/vbdpool/bin:/opt/vbdpool/tests/progs
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /proc
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
for m in xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs; do
	modprobe "$m" || echo "rig-domu: modprobe $m failed"
done
mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen 2>/dev/null || true

name=$(xenstore-read name 2>/dev/null)
domid=$(xenstore-read domid 2>/dev/null)
echo "rig-domu: $name domid=$domid in userspace at $(cut -d' ' -f1 /proc/uptime)s"
export RIG_NAME=$name RIG_DOMID=$domid
cmd=$(xenstore-read rig/cmd 2>/dev/null)
if [ -z "$cmd" ]; then
	echo "rig-domu: no rig/cmd for this domain"
	rc=2
else
	echo "rig-domu: run: $cmd"
	sh -c "$cmd"
	rc=$?
fi
echo "rig-domu: $name exit rc=$rc"
xenstore-write data/rig-rc "$rc" || echo "rig-domu: cannot write data/rig-rc"
sync
poweroff -f
sleep 3600
