# shellcheck shell=bash
# rig-timeout: 300
# Manual-only (names starting with _ are not in `make check-xen`): checks
# the rig itself.
#  1. two PV domUs run their command and report its status via XenStore;
#  2. shared storage: two domUs attach the same dom0 RAM disk (/dev/ram0,
#     blkback in dom0, blkfront in the guests; tests/xen/block-shared
#     skips the sharing check of Xen's block script: shared on purpose);
#     what one writes (O_DIRECT) the other reads (O_DIRECT) — the set-up a
#     pool of driver domains over one backing device needs.

SMOKE_WAIT_XVDB='modprobe xen-blkfront; i=0; while [ ! -b /dev/xvdb ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done; [ -b /dev/xvdb ] || { echo "no /dev/xvdb"; exit 1; }; echo "xvdb: $(cat /sys/block/xvdb/size) sectors"'

rig_dom0_main() {
	local rc1=0 rc2=0 disk='disk = [ "vdev=xvdb,access=rw,script=block-shared,target=/dev/ram0" ]'
	rig_domu_start u1 'echo "hello from $(xenstore-read name)"; ls /dev/xen; lsmod | wc -l' >/dev/null || rig_fail "start u1"
	rig_domu_start u2 'exit 3' >/dev/null || rig_fail "start u2"
	xl list
	rig_domu_wait u1 120 || rc1=$?
	rig_domu_wait u2 120 || rc2=$?
	[ "$rc1" = 0 ] && [ "$rc2" = 3 ] || rig_fail "u1 rc=$rc1 (want 0), u2 rc=$rc2 (want 3)"
	rig_say "part 1 ok: two domUs ran their commands (rc 0 and 3 as expected)"

	dd if=/dev/zero of=/dev/ram0 bs=1M count=4 2>/dev/null
	rig_domu_create s1 "$disk" >/dev/null || rig_fail "create s1 with $disk"
	rig_domu_create s2 "$disk" >/dev/null || rig_fail "create s2 with $disk"
	xl block-list s1
	xl block-list s2
	rig_domu_run s1 "$SMOKE_WAIT_XVDB; echo written-by-s1 | dd of=/dev/xvdb bs=4096 count=1 conv=sync oflag=direct" || rig_fail "run s1"
	rig_domu_run s2 "$SMOKE_WAIT_XVDB; i=0; while [ \$i -lt 150 ]; do v=\$(dd if=/dev/xvdb bs=4096 count=1 iflag=direct 2>/dev/null | head -c 13); [ \"\$v\" = written-by-s1 ] && { echo \"s2 read: \$v\"; exit 0; }; sleep 0.2; i=\$((i+1)); done; echo \"s2 never saw s1's write\"; exit 1" || rig_fail "run s2"
	rc1=0 rc2=0
	rig_domu_wait s1 120 || rc1=$?
	rig_domu_wait s2 120 || rc2=$?
	[ "$rc1" = 0 ] && [ "$rc2" = 0 ] || rig_fail "shared disk: s1 rc=$rc1, s2 rc=$rc2"
	echo "dom0 reads: $(head -c 13 /dev/ram0)"
	rig_detail "two domUs ran their commands; two domUs shared dom0's /dev/ram0 through blkback (s2 read what s1 wrote)"
}
