# shellcheck shell=bash
# Helpers for scenarios, sourced in dom0 before the scenario file
# (installed as /rig/lib-dom0.sh).  Guests are PV domUs booted from the
# rig's domU initramfs; each runs the shell command given to
# rig_domu_start (see tests/xen/domu-init.sh) and powers itself off.

RIG_IMAGES=/rig/images
RIG_DOMU_MEM=${RIG_DOMU_MEM:-128}

# One-line result detail for the RIG-SUMMARY line (last call wins).
rig_detail() { echo "$*" | tee -a "$RIG_DETAIL"; }
rig_skip() { rig_detail "$*"; exit 77; }
rig_fail() { rig_detail "$*"; exit 1; }
rig_now() { cut -d' ' -f1 /proc/uptime; }
rig_say() { echo "rig-dom0[$(rig_now)]: $*"; }

# rig_domid NAME -> the domain's id (fails if it does not exist)
rig_domid() { xl domid "$1" 2>/dev/null; }

# rig_domu_create NAME [CONFIG-LINE...]: create the PV domU NAME paused
# (so its domid is known before anything runs); prints the domid.  The
# config file is /run/rig-NAME.cfg, or RIG_DOMU_CFG.
# on_poweroff=preserve keeps a finished guest (and its data/rig-rc) until
# rig_domu_wait or rig_domu_destroy removes it.
rig_domu_create() {
	local name=$1 cfg=${RIG_DOMU_CFG:-/run/rig-$1.cfg} l
	shift
	{
		echo "name = \"$name\""
		echo 'type = "pv"'
		echo "kernel = \"$RIG_IMAGES/vmlinux\""
		echo "ramdisk = \"$RIG_IMAGES/domu.cpio.gz\""
		echo "memory = $RIG_DOMU_MEM"
		echo 'vcpus = 1'
		echo 'extra = "console=hvc0 loglevel=4"'
		echo 'on_poweroff = "preserve"'
		echo 'on_crash = "preserve"'
		for l in "$@"; do echo "$l"; done
	} >"$cfg"
	timeout 120 xl create -q -p "$cfg" >"/run/rig-$name.create.log" 2>&1 ||
		{ cat "/run/rig-$name.create.log" >&2; echo "rig: xl create $name failed" >&2; return 1; }
	rig_domid "$name" || { echo "rig: no domid for $name" >&2; return 1; }
}

# rig_domu_run NAME CMD: give the paused domU its command (dom0 writes
# /local/domain/<id>/rig/cmd, readable by the guest: children inherit its
# home's ACL) and unpause it.
rig_domu_run() {
	local name=$1 cmd=$2 id
	id=$(rig_domid "$name") || { echo "rig: $name does not exist" >&2; return 1; }
	xenstore-write "/local/domain/$id/rig/cmd" "$cmd" || return 1
	xl unpause "$name" || return 1
	rig_say "started $name (domid $id): $cmd" >&2
}

# rig_domu_start NAME CMD [CONFIG-LINE...]: create + run; prints the domid.
rig_domu_start() {
	local name=$1 cmd=$2 id
	shift 2
	id=$(rig_domu_create "$name" "$@") || return 1
	rig_domu_run "$name" "$cmd" || return 1
	echo "$id"
}

# rig_domu_wait NAME TIMEOUT: wait until NAME's command finished; returns
# its exit status (124 on timeout, 125 if the guest died without one).
# The guest is destroyed afterwards.
rig_domu_wait() {
	local name=$1 limit=$2 id rc end
	id=$(rig_domid "$name") || { echo "rig: $name does not exist" >&2; return 125; }
	end=$(($(cut -d. -f1 /proc/uptime) + limit))
	while :; do
		if rc=$(xenstore-read "/local/domain/$id/data/rig-rc" 2>/dev/null); then break; fi
		if ! xl list "$name" >/dev/null 2>&1 || xl list "$name" | awk 'NR == 2 && $5 ~ /[sc]/ { f = 1 } END { exit !f }'; then
			rc=$(xenstore-read "/local/domain/$id/data/rig-rc" 2>/dev/null) || rc=125
			break
		fi
		if [ "$(cut -d. -f1 /proc/uptime)" -ge "$end" ]; then rc=124; break; fi
		sleep 0.5
	done
	rig_say "$name finished: rc=$rc" >&2
	# Let xenconsoled drain the guest's console ring into its log first.
	for _ in $(seq 20); do
		grep -q "rig-domu: $name exit rc=" "/var/log/xen/console/guest-$name.log" 2>/dev/null && break
		sleep 0.25
	done
	rig_domu_destroy "$name"
	return "$rc"
}

rig_domu_destroy() { xl destroy "$1" >/dev/null 2>&1 || true; }

# rig_domu_console NAME: the guest's console output so far (no CRs).
rig_domu_console() { tr -d '\r' <"/var/log/xen/console/guest-$1.log" 2>/dev/null; }

# rig_wait_pid PID LIMIT [LABEL]: wait for a dom0 process started with &;
# returns its exit status, or 124 after LIMIT seconds: then it shows where
# the process is stuck (wchan, syscall, kernel stack) and kills it.
rig_wait_pid() {
	local pid=$1 limit=$2 label=${3:-$1} end rc=0
	end=$(($(cut -d. -f1 /proc/uptime) + limit))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$(cut -d. -f1 /proc/uptime)" -ge "$end" ]; then
			rig_say "$label (pid $pid) still running after ${limit}s: where it is stuck:"
			local p
			for p in "$pid" $(pgrep -P "$pid" 2>/dev/null); do
				echo "  pid $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
				echo "  wchan: $(cat "/proc/$p/wchan" 2>/dev/null)  syscall: $(cat "/proc/$p/syscall" 2>/dev/null)"
				sed 's/^/  stack: /' "/proc/$p/stack" 2>/dev/null
			done
			kill -TERM "$pid" 2>/dev/null
			sleep 1
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 0.5
	done
	wait "$pid" || rc=$?
	return $rc
}
