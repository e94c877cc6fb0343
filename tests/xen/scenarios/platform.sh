# shellcheck shell=bash
# rig-timeout: 540
# The platform conformance suite (tests/progs/plat_conform.c) on the real
# Xen implementation of the platform layer (VBD_PLATFORM=xen), in three
# placements of its roles:
#   dom0-domU   granter = dom0, mapper = a domU, third ("wrong") = a domU
#   domU-dom0   granter = a domU, mapper = dom0, third = a domU
#   domU-domU   granter, mapper and third each in their own domU
# dom0 runs `plat_conform setup` (creates the rendezvous directory with an
# ACL for the three domains), the roles meet in XenStore; every role must
# exit 0 and print no FAIL line.  Then tests/progs/plat_domctl (domain
# control through libxenctrl) from dom0 and from a domU.

rig_host_check() {
	if [ ! -f "$RIG_TOP/tests/progs/plat_conform.c" ]; then
		echo "platform conformance suite not in the tree yet (tests/progs/plat_conform.c)"
		return 77
	fi
	if [ ! -x "$RIG_PROJ_BUILD/tests/progs/plat_conform" ]; then
		echo "$RIG_PROJ_BUILD/tests/progs/plat_conform not built: run make"
		return 1
	fi
	return 0
}

PC_ROLE_LIMIT=150 # per role: the suite waits at most 60 s per step itself

# pc_config LABEL G M W: run the suite with the granter in G, the mapper in
# M and the third domain in W ("dom0" or a domU name).  Appends
# "LABEL:ok/total" to PC_RESULTS; returns non-zero on any failure.
pc_config() {
	local label=$1 dir=/vbdpool-conform/$1 n role rc=0 out ok=0 bad=0 c
	local -A id=([dom0]=0) rname=([$2]=granter [$3]=mapper [$4]=wrong) pid=() cmd=()
	shift
	rig_say "== $label: granter=$1 mapper=$2 third=$3"
	for n in "$@"; do
		[ "$n" = dom0 ] && continue
		id[$n]=$(rig_domu_create "$n") || { echo "FAIL $label: cannot create $n"; return 1; }
	done
	cmd[granter]="plat_conform granter $dir ${id[$2]} ${id[$3]}"
	cmd[mapper]="plat_conform mapper $dir ${id[$1]} ${id[$3]}"
	cmd[wrong]="plat_conform wrong $dir ${id[$1]}"
	VBD_PLATFORM=xen timeout 30 plat_conform setup "$dir" "${id[$1]}" "${id[$2]}" "${id[$3]}" ||
		{ echo "FAIL $label: setup"; for n in "$@"; do [ "$n" = dom0 ] || rig_domu_destroy "$n"; done; return 1; }
	for n in "$@"; do
		role=${rname[$n]}
		if [ "$n" = dom0 ]; then
			VBD_PLATFORM=xen ${cmd[$role]} >"/run/pc-$label-$role.log" 2>&1 &
			pid[$n]=$!
			rig_say "dom0 runs: ${cmd[$role]}"
		else
			rig_domu_run "$n" "VBD_PLATFORM=xen ${cmd[$role]}" || { echo "FAIL $label: run $n"; rc=1; }
		fi
	done
	for n in "$@"; do
		role=${rname[$n]}
		c=0
		if [ "$n" = dom0 ]; then
			rig_wait_pid "${pid[$n]}" "$PC_ROLE_LIMIT" "$role in dom0" || c=$?
		else
			rig_domu_wait "$n" "$PC_ROLE_LIMIT" || c=$?
			rig_domu_console "$n" >"/run/pc-$label-$role.log"
		fi
		out=/run/pc-$label-$role.log
		sed "s/^/[$label $role@$n] /" "$out" | grep -E '\] (ok|FAIL|#) ' || true
		ok=$((ok + $(grep -c '^ok ' "$out" || true)))
		bad=$((bad + $(grep -c '^FAIL ' "$out" || true)))
		if [ "$c" != 0 ]; then
			echo "FAIL $label: $role in $n exited $c"
			rc=1
		fi
	done
	[ "$bad" = 0 ] || rc=1
	[ "$ok" -gt 0 ] || { echo "FAIL $label: no case ran"; rc=1; }
	PC_RESULTS+=" $label:$ok/$((ok + bad))"
	rig_say "== $label: $ok ok, $bad failed"
	return $rc
}

# pc_domctl: tests/progs/plat_domctl (libxenctrl through the platform
# layer): dom0 lists, pauses, unpauses and destroys a running domU; another
# domU is refused everything.  Appends "domctl:ok/total" to PC_RESULTS.
pc_domctl() {
	local tid c=0 cu=0 ok bad out0=/run/pc-domctl-dom0.log outu=/run/pc-domctl-domu.log rc=0
	rig_say "== domctl: dom0 controls d-t, d-o (a domU) tries"
	tid=$(rig_domu_start d-t 'sleep 600') || { echo "FAIL domctl: cannot start d-t"; return 1; }
	rig_domu_start d-o 'VBD_PLATFORM=xen plat_domctl domu' >/dev/null || { echo "FAIL domctl: cannot start d-o"; return 1; }
	# d-t must be past its boot (running, not just unpaused) for "running"
	for _ in $(seq 60); do xenstore-exists "/local/domain/$tid/rig/cmd" && [ -e /var/log/xen/console/guest-d-t.log ] &&
		grep -q 'rig-domu: run:' /var/log/xen/console/guest-d-t.log && break; sleep 0.5; done
	VBD_PLATFORM=xen timeout 60 plat_domctl dom0 "$tid" >"$out0" 2>&1 || c=$?
	rig_domu_wait d-o 120 || cu=$?
	rig_domu_console d-o >"$outu"
	xl list
	rig_domu_destroy d-t
	sed 's/^/[domctl dom0] /' "$out0"
	grep -E '^(ok|FAIL) ' "$outu" | sed 's/^/[domctl d-o] /'
	ok=$(($(grep -c '^ok ' "$out0" || true) + $(grep -c '^ok ' "$outu" || true)))
	bad=$(($(grep -c '^FAIL ' "$out0" || true) + $(grep -c '^FAIL ' "$outu" || true)))
	[ "$c" = 0 ] || { echo "FAIL domctl: plat_domctl dom0 exited $c"; rc=1; }
	[ "$cu" = 0 ] || { echo "FAIL domctl: plat_domctl domu exited $cu"; rc=1; }
	[ "$bad" = 0 ] && [ "$ok" -gt 0 ] || rc=1
	PC_RESULTS+=" domctl:$ok/$((ok + bad))"
	rig_say "== domctl: $ok ok, $bad failed"
	return $rc
}

rig_dom0_main() {
	local rc=0
	PC_RESULTS=""
	export VBD_PLATFORM=xen
	command -v plat_conform >/dev/null || rig_fail "plat_conform missing from the dom0 image"
	# RIG_ARGS (from the host's environment) may name a subset of placements.
	local want=" ${RIG_ARGS:-dom0-domU domU-dom0 domU-domU domctl} "
	[[ $want == *" dom0-domU "* ]] && { pc_config dom0-domU dom0 a-m a-w || rc=1; }
	[[ $want == *" domU-dom0 "* ]] && { pc_config domU-dom0 b-g dom0 b-w || rc=1; }
	[[ $want == *" domU-domU "* ]] && { pc_config domU-domU c-g c-m c-w || rc=1; }
	if [[ $want == *" domctl "* ]]; then
		if command -v plat_domctl >/dev/null; then pc_domctl || rc=1; else PC_RESULTS+=" domctl:not-built"; fi
	fi
	xl list
	if [ "$rc" != 0 ]; then
		rig_fail "platform suites (ok/cases):$PC_RESULTS — failures above"
	fi
	rig_detail "platform suites on real Xen, all cases ok:$PC_RESULTS"
}
