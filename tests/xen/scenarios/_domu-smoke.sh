# shellcheck shell=bash
# rig-timeout: 240
# Manual-only (names starting with _ are not in `make check-xen`): boots two
# PV domUs from the rig's domU initramfs and checks they run their command
# and report its status through XenStore.  For debugging the rig itself.

rig_dom0_main() {
	local rc1=0 rc2=0
	rig_domu_start u1 'echo "hello from $(xenstore-read name)"; ls /dev/xen; lsmod | wc -l' >/dev/null || rig_fail "start u1"
	rig_domu_start u2 'exit 3' >/dev/null || rig_fail "start u2"
	xl list
	rig_domu_wait u1 120 || rc1=$?
	rig_domu_wait u2 120 || rc2=$?
	xl list
	[ "$rc1" = 0 ] && [ "$rc2" = 3 ] || rig_fail "u1 rc=$rc1 (want 0), u2 rc=$rc2 (want 3)"
	rig_detail "two domUs ran their commands (rc 0 and 3 as expected)"
}
