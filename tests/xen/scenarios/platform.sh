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
# exit 0 and print no FAIL line.

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

rig_dom0_main() {
	local rc=0
	PC_RESULTS=""
	export VBD_PLATFORM=xen
	command -v plat_conform >/dev/null || rig_fail "plat_conform missing from the dom0 image"
	# RIG_ARGS (from the host's environment) may name a subset of placements.
	local want=" ${RIG_ARGS:-dom0-domU domU-dom0 domU-domU} "
	[[ $want == *" dom0-domU "* ]] && { pc_config dom0-domU dom0 a-m a-w || rc=1; }
	[[ $want == *" domU-dom0 "* ]] && { pc_config domU-dom0 b-g dom0 b-w || rc=1; }
	[[ $want == *" domU-domU "* ]] && { pc_config domU-domU c-g c-m c-w || rc=1; }
	xl list
	if [ "$rc" != 0 ]; then
		rig_fail "plat_conform (ok/cases):$PC_RESULTS — failures above"
	fi
	rig_detail "plat_conform on real Xen, all cases ok:$PC_RESULTS"
}
