# shellcheck shell=bash
# rig-timeout: 600
# Manual-only: what survives of a guest's xl config after `xl create`, for
# vbdpool-supervisor's automatic attachment (docs/tooling.md, "Attaching
# from the guest's xl config").  Prints, for a guest created from a config
# file carrying a `vbdpool = [...]` line that xl does not know:
#  1. the per-domain xl monitor process: argv, cwd (relative config path);
#  2. /var/lib/xen/userdata-*: which files, and whether the vbdpool key or
#     the config file's path is in any of them; `xl list -l`;
#  3. the domain's XenStore nodes (/local/domain/<id>, /vm/<uuid>);
#  4. `xl create NAME.cfg` from a directory without the file: does xl look
#     in /etc/xen?
#  5. a guest-initiated reboot: new domid, same name, same monitor process,
#     and what the new domain's userdata holds.
# Everything is printed; it fails only when the guest cannot be created.
# RIG_ARGS=etc runs part 4 only (under a loaded host, parts 1-3 and 5
# took 220 s of TCG time).

probe_dump() { # NAME
	local name=$1 id uuid p
	id=$(xl domid "$name") || { rig_say "no domain $name"; return 1; }
	uuid=$(xenstore-read "/local/domain/$id/vm" 2>/dev/null | sed 's,^/vm/,,')
	rig_say "== $name: domid $id, vm /vm/$uuid"
	rig_say "-- xl processes (pid, cwd, argv):"
	for p in $(pgrep -x xl); do
		echo "  pid $p cwd=$(readlink "/proc/$p/cwd") argv=[$(tr '\0' ' ' <"/proc/$p/cmdline")]"
	done
	rig_say "-- /var/lib/xen:"
	ls -l /var/lib/xen/ 2>&1 | sed 's/^/  /'
	for p in /var/lib/xen/userdata-d."$id".*; do
		[ -e "$p" ] || continue
		echo "  $p: $(wc -c <"$p") bytes; vbdpool key: $(grep -c vbdpool "$p") line(s); config path: $(grep -c "probe-dir" "$p") line(s)"
		head -c 400 "$p" | tr '\n' ' ' | sed 's/^/    /'
		echo
	done
	rig_say "-- xl list -l $name: vbdpool mentioned $(xl list -l "$name" 2>/dev/null | grep -c vbdpool) time(s)"
	rig_say "-- xenstore /local/domain/$id (depth-limited) and /vm/$uuid, grep vbdpool/cfg:"
	xenstore-ls -f "/local/domain/$id" 2>/dev/null | grep -E '^/local/domain/[0-9]+/(name|vm|domid|control/[a-z-]*) ' | sed 's/^/  /'
	xenstore-ls -f "/vm/$uuid" 2>/dev/null | sed 's/^/  /'
	rig_say "-- vbdpool or .cfg anywhere in XenStore: $(xenstore-ls -f / 2>/dev/null | grep -cE 'vbdpool|\.cfg')"
}

rig_dom0_main() {
	local dir=/root/probe-dir cfg
	mkdir -p "$dir"
	cfg="$dir/probe.cfg"
	{
		echo 'name = "probe"'
		echo 'type = "pv"'
		echo "kernel = \"$RIG_IMAGES/vmlinux\""
		echo "ramdisk = \"$RIG_IMAGES/domu.cpio.gz\""
		echo 'memory = 128'
		echo 'vcpus = 1'
		echo 'extra = "console=hvc0 loglevel=4"'
		echo 'vbdpool = [ "volume=vol1, devid=0, queues=4" ]'
	} >"$cfg"
	[ "${RIG_ARGS:-}" = etc ] || probe_parts_1235 "$dir" "$cfg"
	probe_part_4 "$cfg"
	rig_detail "xl config probe done (see the log)"
}

probe_parts_1235() {
	local dir=$1 cfg=$2 id id2 i
	# 1-3: created from a relative path (cd to the file's directory)
	(cd "$dir" && timeout 120 xl create -p probe.cfg) || rig_fail "xl create -p probe.cfg"
	probe_dump probe
	# 5: the guest reboots itself after 2 s; the second incarnation has no
	# rig/cmd and powers off (on_poweroff=destroy: the monitor then exits)
	id=$(xl domid probe)
	xenstore-write "/local/domain/$id/rig/cmd" 'sleep 2; reboot -f'
	xl unpause probe
	id2=$id
	for i in $(seq 120); do
		id2=$(xl domid probe 2>/dev/null) && [ "$id2" != "$id" ] && break
		sleep 0.5
	done
	if [ "$id2" != "$id" ] && [ -n "$id2" ]; then
		rig_say "== after the guest's reboot: domid $id -> $id2"
		xl list
		probe_dump probe
		rig_say "old domain's /local/domain/$id: $(xenstore-exists "/local/domain/$id" && echo stays || echo gone); old userdata: $(ls /var/lib/xen/userdata-d."$id".* 2>/dev/null | wc -l) file(s)"
	else
		rig_say "== the guest did not come back with a new domid (still $id2)"
	fi
	for i in $(seq 60); do xl domid probe >/dev/null 2>&1 || break; sleep 0.5; done
	xl destroy probe 2>/dev/null
	rig_say "after the end: xl processes: $(pgrep -x xl | wc -l); userdata files: $(ls /var/lib/xen/userdata-* 2>/dev/null | wc -l)"
}

probe_part_4() {
	local cfg=$1
	# 4: xl create NAME.cfg where cwd has no such file
	sed 's/"probe"/"probe2"/' "$cfg" >/etc/xen/probe2.cfg
	if (cd /tmp && timeout 120 xl create -p probe2.cfg) >/run/p2.log 2>&1; then
		rig_say "xl create -p probe2.cfg from /tmp: found /etc/xen/probe2.cfg: $(cat /run/p2.log)"
		probe_dump probe2
		xl destroy probe2
	else
		rig_say "xl create -p probe2.cfg from /tmp failed: $(cat /run/p2.log)"
	fi
}
