# shellcheck shell=bash
# rig-timeout: 420
# Xen's own XenStore test program (test-xenstore from xen-utils-4.17, all
# tests) against the real C xenstored in dom0; shows xl list / xl info.

rig_dom0_main() {
	local t=/usr/lib/xen-4.17/bin/test-xenstore out=/run/test-xenstore.log rc n_ok n_fail n_tests
	echo "== xl info (head)"
	xl info | head -n 16
	echo "== xl list"
	xl list
	[ -x "$t" ] || rig_fail "$t missing from dom0"
	echo "== $t (all tests)"
	timeout 360 "$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	# One line per test: "name: <avg> ns" when it passed, "name: failed (...)".
	n_ok=$(grep -Ec ': [0-9]+ ns' "$out" || true)
	n_fail=$(grep -c ': failed' "$out" || true)
	n_tests=$("$t" -l 2>/dev/null | grep -c . || true)
	[ "$rc" = 124 ] && rig_fail "test-xenstore timed out after 360 s"
	if [ "$rc" != 0 ] || [ "$n_fail" != 0 ] || [ "$n_ok" = 0 ] || [ "$n_ok" -lt "$n_tests" ]; then
		rig_fail "test-xenstore rc=$rc, $n_fail of $n_tests tests failed, $n_ok passed: $(grep ': failed' "$out" | tr '\n' ' ')"
	fi
	rig_detail "test-xenstore: all $n_ok of $n_tests tests passed against C xenstored ($(xl info | awk '/^xen_version/ { print "Xen " $3 }'))"
}
