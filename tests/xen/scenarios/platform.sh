# shellcheck shell=bash
# rig-timeout: 840
# The platform conformance suite (tests/progs/plat_conform.c) on the real
# Xen implementation of the platform layer (VBD_PLATFORM=xen), in three
# placements of its roles:
#   dom0-domU   granter = dom0, mapper = a domU, third ("wrong") = a domU
#   domU-dom0   granter = a domU, mapper = dom0, third = a domU
#   domU-domU   granter, mapper and third each in their own domU
# dom0 runs `plat_conform setup` (creates the rendezvous directory with an
# ACL for the three domains), the roles meet in XenStore; every role must
# exit 0 and print no FAIL line.  Then tests/progs/plat_domctl (domain
# control through libxenctrl) from dom0 and from a domU, and
# tests/progs/plat_lifecycle with a domain destroyed under a peer that maps
# its page (see pc_lifecycle).

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

PC_ROLE_LIMIT=240 # per role (a loaded 2-core host makes TCG 2-3x slower); the suite waits 60 s per step itself

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
	rig_domu_wait d-o 240 || cu=$?
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

# pc_lifecycle: tests/progs/plat_lifecycle with real domain deaths, as
# tests/integration/xensim_lifecycle.sh does on the emulator, except that
# the victim dies by `xl destroy` (its "release" role times a SIGKILL of an
# emulated domain's process: nothing to kill on Xen, so not run here).
#  - survivor (domU) maps the victim's page and binds its port; after the
#    destroy the page stays usable, notify returns 0 and delivers nothing,
#    the zombie is listed as dying until the survivor unmaps, then vanishes;
#  - a domU watching @releaseDomain gets only the initial event;
#  - a process that exits without unsharing: its grants end, its domain
#    lives on.
pc_wait_key() { # KEY SECS
	for _ in $(seq $(($2 * 4))); do
		xenstore-read "$PC_T/$1" >/dev/null 2>&1 && return 0
		sleep 0.25
	done
	echo "FAIL lifecycle: timed out waiting for $PC_T/$1"
	return 1
}
pc_lifecycle() {
	local s c v s2 c2 rc=0 x ok=0 bad=0 n line
	PC_T=/lifecycle
	rig_say "== lifecycle: victim l-v dies (xl destroy) under survivor l-s; l-c watches"
	s=$(rig_domu_create l-s) && c=$(rig_domu_create l-c) && v=$(rig_domu_create l-v) ||
		{ echo "FAIL lifecycle: create"; return 1; }
	xenstore-write "$PC_T" "" && xenstore-chmod "$PC_T" n0 "b$s" "b$c" "b$v" ||
		{ echo "FAIL lifecycle: mkdir $PC_T"; return 1; }
	rig_domu_run l-v "VBD_PLATFORM=xen plat_lifecycle victim $PC_T $s" || rc=1
	xenstore-write "$PC_T/go" 1
	rig_domu_run l-s "VBD_PLATFORM=xen plat_lifecycle survivor $PC_T $v" || rc=1
	rig_domu_run l-c "VBD_PLATFORM=xen plat_lifecycle domu-watch $PC_T 500" || rc=1
	if pc_wait_key s/ready 240 && pc_wait_key c/ready 120; then
		rig_say "xl destroy l-v (domid $v)"
		xl destroy l-v || { echo "FAIL lifecycle: xl destroy l-v"; rc=1; }
		xenstore-write "$PC_T/killed" 1
		if pc_wait_key s/checked 120; then
			line=$(xl list | awk -v d="$v" '$2 == d')
			echo "lifecycle: domain $v while the survivor maps its page: ${line:-absent}"
			if [[ $line == *d* ]]; then echo "ok zombie listed as dying"; ok=$((ok + 1)); else
				echo "FAIL zombie not listed as dying: '${line:-absent}'"; bad=$((bad + 1)); fi
			xenstore-write "$PC_T/listed" 1
		else rc=1; fi
	else rc=1; fi
	x=0; rig_domu_wait l-s 240 || x=$?
	[ "$x" = 0 ] || { echo "FAIL lifecycle: survivor exited $x"; rc=1; }
	for n in $(seq 20); do xl list | awk -v d="$v" '$2 == d { f = 1 } END { exit !f }' || break; sleep 0.25; done
	if xl list | awk -v d="$v" '$2 == d { f = 1 } END { exit !f }'; then
		echo "FAIL domain $v still listed 5 s after the last unmap"; bad=$((bad + 1))
	else echo "ok the zombie vanished after the last unmap"; ok=$((ok + 1)); fi
	x=0; rig_domu_wait l-c 240 || x=$?
	[ "$x" = 0 ] || { echo "FAIL lifecycle: domU watcher exited $x"; rc=1; }
	rig_domu_destroy l-v

	rig_say "== lifecycle: l-g's granting process exits, its domain lives; l-m maps late"
	c2=$(rig_domu_create l-g) && s2=$(rig_domu_create l-m) || { echo "FAIL lifecycle: create"; return 1; }
	xenstore-write "$PC_T/short" "" && xenstore-chmod "$PC_T/short" n0 "b$s2" "b$c2" ||
		{ echo "FAIL lifecycle: mkdir $PC_T/short"; return 1; }
	rig_domu_run l-m "VBD_PLATFORM=xen plat_lifecycle late $PC_T $c2" || rc=1
	rig_domu_run l-g "VBD_PLATFORM=xen plat_lifecycle short $PC_T $s2 && xenstore-write $PC_T/short/exited 1 && xenstore-read $PC_T/short/exited && sleep 120" || rc=1
	x=0; rig_domu_wait l-m 240 || x=$?
	[ "$x" = 0 ] || { echo "FAIL lifecycle: late mapper exited $x"; rc=1; }
	rig_domu_destroy l-g
	for n in l-s l-c l-m; do
		rig_domu_console "$n" | grep -E '^(ok|FAIL|#) ' | sed "s/^/[lifecycle $n] /"
		ok=$((ok + $(rig_domu_console "$n" | grep -c '^ok ' || true)))
		bad=$((bad + $(rig_domu_console "$n" | grep -c '^FAIL ' || true)))
	done
	[ "$bad" = 0 ] && [ "$ok" -gt 0 ] || rc=1
	PC_RESULTS+=" lifecycle:$ok/$((ok + bad))"
	rig_say "== lifecycle: $ok ok, $bad failed"
	return $rc
}

rig_dom0_main() {
	local rc=0
	PC_RESULTS=""
	export VBD_PLATFORM=xen
	command -v plat_conform >/dev/null || rig_fail "plat_conform missing from the dom0 image"
	# RIG_ARGS (from the host's environment) may name a subset of placements.
	local want=" ${RIG_ARGS:-dom0-domU domU-dom0 domU-domU domctl lifecycle} "
	[[ $want == *" dom0-domU "* ]] && { pc_config dom0-domU dom0 a-m a-w || rc=1; }
	[[ $want == *" domU-dom0 "* ]] && { pc_config domU-dom0 b-g dom0 b-w || rc=1; }
	[[ $want == *" domU-domU "* ]] && { pc_config domU-domU c-g c-m c-w || rc=1; }
	if [[ $want == *" domctl "* ]]; then
		if command -v plat_domctl >/dev/null; then pc_domctl || rc=1; else PC_RESULTS+=" domctl:not-built"; fi
	fi
	if [[ $want == *" lifecycle "* ]]; then
		if command -v plat_lifecycle >/dev/null; then pc_lifecycle || rc=1; else PC_RESULTS+=" lifecycle:not-built"; fi
	fi
	xl list
	if [ "$rc" != 0 ]; then
		rig_fail "platform suites (ok/cases):$PC_RESULTS — failures above"
	fi
	rig_detail "platform suites on real Xen, all cases ok:$PC_RESULTS"
}
