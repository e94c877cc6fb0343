# shellcheck shell=bash
# Shell helpers for end-to-end pool tests on the emulated Xen host, built
# on tests/lib/sim.sh.  Source it; every function works inside a private
# temp dir ($POOL_DIR = $SIM_TMP, the host in $POOL_DIR/host = $SIM_DIR) and
# the EXIT trap set by pool_init stops only what was started under it.
#
#   pool_init [PREFIX]             temp dir (PREFIX.XXXXXX, default vbdpool-test),
#                                  emulated host, trap (sim_start)
#   pool_volume VOL SIZE_MB [PATH] backing file + `vbdpoolctl volume create`
#   pool_faultfs SIZE_MB           a SIZE_MB file served through tests/faultfs
#                                  (a FUSE passthrough that fails I/O on
#                                  command); sets $FAULTFS_DISK (the backing)
#                                  and $FAULTFS_CTL (its control file); exits
#                                  77 (skip) without /dev/fuse
#   pool_members VOL N [ARGS...]   N of those; their domids in $MEMBERS
#   pool_nbd MB N Q [BACKING]      vol1, N members, a vbdpool-nbd guest (Q queues)
#   pool_faultfs_nbd MB N Q        vol1 on faultfs, N members, a vbdpool-nbd
#                                  guest with Q queues, all connected
#   pool_member VOL [ARGS...]      new driver domain, member add, runs
#                                  vbdpool-backd --volume VOL ARGS; sets $LAST_DOMID
#   pool_attach VOL QUEUES [NAME]  a new guest domain NAME (default guest) with
#                                  VOL attached as device 0 (more `attach`
#                                  options in POOL_ATTACH_ARGS); sets $GUEST
#   pool_detach_refuses VOL URI    `vbdpoolctl detach` of $GUEST's device 0
#                                  completes, then a read through URI fails
#   pool_guest VOL QUEUES          pool_attach, then nbdkit + plugin on
#                                  $POOL_DIR/nbd.sock; sets $GUEST, $NBD_URI,
#                                  $NBD_SERVER_PID (the xensim exec); with
#                                  POOL_NBD_SERVER=vbdpool-nbd the native server
#                                  (log vbdpool-nbd.log, extra POOL_NBD_ARGS)
#                                  instead of nbdkit (its options
#                                  POOL_NBDKIT_ARGS, default -v)
#   pool_verify G LOG ARGS...      tests/progs/front_verify ARGS in guest domain
#                                  G, output in LOG; its exit status
#   pool_verify_bg G LOG ARGS...   the same in the background: sets $VERIFY_PID
#                                  (also in POOL_PIDS)
#   pool_outage_start VOL QUEUES SECS
#                                  a volume on one member ($FIRST), a guest
#                                  exporting it with vbdpool-nbd (POOL_NBD_ARGS
#                                  as set), front_verify over NBD for SECS s in
#                                  the background ($VERIFY_PID), then, 2 s into
#                                  it, that only member destroyed
#   pool_supervisor [ARGS...]      vbdpool-supervisor in dom0 (default: a 5 s
#                                  lease, POOL_LEASE_MS); log supervisor.log
#   pool_wait_connected VOL G D    every queue record connected (bounded)
#   pool_wait_owns_none VOL G D DOMID [S]  DOMID owns no queue (prints ms)
#   pool_verify_passed LOG         the background front_verify passed
#   pool_owners VOL G D            "q0=<owner> q1=<owner> ..."
#   pool_wait_owns VOL G D DOMID   wait (up to 10 s) until DOMID owns a queue
#   pool_wait_revoked DOMID        no node of /vbdpool grants DOMID anything
#   xs0 CMD...                     run a command as dom0 in the host
#   pool_expect_fail WHAT... -- CMD...
#                                  CMD fails and its output names each WHAT
# Background processes a test adds to POOL_PIDS are signalled before the
# host stops and reaped after; POOL_ON_EXIT is shell code run before that.
# Start them as `"$XENSIM" exec ... &`, not through a shell function, so
# that $! is the xensim process (it forwards the signal into the domain).
set -u
: "${VBD_BUILD:?VBD_BUILD must point at the build dir}"
# shellcheck source-path=SCRIPTDIR source=sim.sh
. "$(dirname "${BASH_SOURCE[0]}")/sim.sh"
BIN=$VBD_BUILD/bin
PLUGIN=$VBD_BUILD/lib/nbdkit-vbdpool-plugin.so
POOL_PIDS=()

pool_log() { echo "[$(date +%T.%N | cut -c1-12)] $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }

# SIM_ON_EXIT of a pool test: sim_cleanup then shows the logs and removes
# the dir.  A program exec'ed into a domain may only end with its domain,
# hence the host stops before the processes are reaped.
pool_on_exit() {
	local p running
	[ -n "${POOL_ON_EXIT:-}" ] && eval "$POOL_ON_EXIT"
	# only the ones still running: the pid of one that exited (and was
	# reaped) may belong to anyone by now (a long bench/chaos.sh run goes
	# round a 32768-pid space; it SIGKILLs members and supervisors)
	running=" $(jobs -rp | tr '\n' ' ') "
	for p in "${POOL_PIDS[@]}"; do
		[[ $running == *" $p "* ]] && kill "$p" 2>/dev/null
	done
	sim_stop >/dev/null 2>&1
	for p in "${POOL_PIDS[@]}"; do wait "$p" 2>/dev/null; done
}

pool_cleanup() { sim_cleanup; }

pool_init() {
	SIM_ON_EXIT=pool_on_exit
	sim_start "${1:-vbdpool-test}" || die "xensim start failed"
	POOL_DIR=$SIM_TMP
}

xs0() { sim_xs0 "$@"; }
ctl() { xs0 "$BIN/vbdpoolctl" "$@"; }

pool_expect_fail() { # WHAT... -- CMD...
	local want=() out rc w
	while [ "$1" != -- ]; do want+=("$1"); shift; done
	shift
	rc=0; out=$("$@" 2>&1) || rc=$?
	[ $rc -ne 0 ] || die "'$*' succeeded; expected an error mentioning ${want[*]}"
	for w in "${want[@]}"; do
		[[ $out == *"$w"* ]] || die "'$*' said '$out'; expected '$w'"
	done
	echo "ok (exit $rc): $out"
}

pool_volume() { # VOL SIZE_MB [BACKING]
	local vol=$1 mb=$2 backing=${3:-$POOL_DIR/$1.img}
	[ -e "$backing" ] || truncate -s "${mb}M" "$backing"
	ctl volume create "$vol" --backing "$backing" >/dev/null || die "volume create $vol"
}

# A domain whose first process only keeps it alive; the service runs in it
# through `xensim exec`, so it can be added as a member before it starts.
pool_domain() { # NAME -> prints domid
	sim_create "$1" sleep 100000
}

pool_member() { # VOL [backd args...]
	local vol=$1; shift
	local d
	d=$(pool_domain "back$((${#POOL_PIDS[@]} + 1))") || die "create backend domain"
	ctl member add "$vol" "$d" >/dev/null || die "member add $vol $d"
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$d" -- \
		"$BIN/vbdpool-backd" --volume "$vol" "$@" >"$POOL_DIR/backd-$d.log" 2>&1 &
	POOL_PIDS+=($!)
	LAST_DOMID=$d
}

# pool_members VOL N [ARGS...]: N members (pool_member), their domids in
# the array MEMBERS
pool_members() {
	local vol=$1 n=$2 i
	shift 2
	MEMBERS=()
	for i in $(seq "$n"); do pool_member "$vol" "$@"; MEMBERS+=("$LAST_DOMID"); done
}

# pool_start SIZE_MB N: pool_init, volume vol1 of SIZE_MB, N members (their
# domids in MEMBERS) and the supervisor
pool_start() {
	pool_init
	pool_volume vol1 "$1"
	pool_members vol1 "$2"
	pool_supervisor
}

# pool_member_leave VOL G DOMID: SIGTERM to member DOMID's backd; it must
# exit within 20 s and own no queue of G's device 0 afterwards
pool_member_leave() {
	local lpid i
	lpid=$(pool_backd_pid "$3") || die "no backd in domain $3"
	pool_log "SIGTERM to member $3 (pid $lpid)"
	kill -TERM "$lpid"
	for i in $(seq 200); do kill -0 "$lpid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$lpid" 2>/dev/null || die "member $3 did not exit after SIGTERM"
	[ "$(pool_owned_by "$1" "$2" 0 "$3")" = 0 ] || die "leaver still owns: $(pool_owners "$1" "$2" 0)"
}

# pool_faultfs_nbd SIZE_MB MEMBERS QUEUES: volume vol1 on faultfs
# (pool_faultfs), MEMBERS members (in $MEMBERS), a guest exporting it with
# vbdpool-nbd, every queue connected
pool_faultfs_nbd() {
	pool_faultfs "$1"
	pool_nbd "$1" "$2" "$3" "$FAULTFS_DISK"
}

# pool_nbd SIZE_MB MEMBERS QUEUES [BACKING]: volume vol1, MEMBERS members
# (in $MEMBERS), a guest exporting it with vbdpool-nbd (POOL_NBD_ARGS),
# every queue connected
pool_nbd() {
	pool_volume vol1 "$1" ${4:+"$4"}
	pool_members vol1 "$2"
	POOL_NBD_SERVER=vbdpool-nbd pool_guest vol1 "$3"
	pool_wait_connected vol1 "$GUEST" 0
}

pool_faultfs() { # SIZE_MB
	[ -c /dev/fuse ] || { echo "no /dev/fuse"; exit 77; }
	mkdir -p "$POOL_DIR/mnt"
	truncate -s "$1M" "$POOL_DIR/real.img"
	"$VBD_BUILD/tests/faultfs" "$POOL_DIR/real.img" "$POOL_DIR/mnt" >"$POOL_DIR/faultfs.log" 2>&1 &
	POOL_PIDS+=($!)
	POOL_ON_EXIT='fusermount3 -u "$POOL_DIR/mnt" 2>/dev/null'
	FAULTFS_DISK=$POOL_DIR/mnt/disk FAULTFS_CTL=$POOL_DIR/mnt/control
	local i
	for i in $(seq 50); do [ -e "$FAULTFS_DISK" ] && return 0; sleep 0.1; done
	die "faultfs did not mount"
}

pool_outage_start() { # VOL QUEUES SECS
	local vol=$1 queues=$2 secs=$3
	pool_volume "$vol" 64
	pool_member "$vol"
	FIRST=$LAST_DOMID
	POOL_NBD_SERVER=vbdpool-nbd pool_guest "$vol" "$queues"
	pool_wait_connected "$vol" "$GUEST" 0
	pool_verify_bg "$GUEST" "$POOL_DIR/verify.log" --nbd "$POOL_DIR/nbd.sock" --seconds "$secs" \
		--threads 4
	sleep 2
	pool_log "destroying the only member, domain $FIRST"
	"$XENSIM" destroy --dir "$SIM_DIR" "$FIRST"
}

# pool_supervisor [ARGS...]: vbdpool-supervisor in dom0.  Tests that are
# not about fencing run it with a 5 s lease (POOL_LEASE_MS), so that a
# member starved of CPU on a loaded 2-core machine (ASan builds) is not
# fenced in the middle of what they check; the fence tests pass their own.
pool_supervisor() {
	[ $# -gt 0 ] || set -- --lease-ms "${POOL_LEASE_MS:-5000}"
	"$XENSIM" exec --dir "$SIM_DIR" --domid 0 -- "$BIN/vbdpool-supervisor" "$@" \
		>"$POOL_DIR/supervisor.log" 2>&1 &
	POOL_PIDS+=($!)
}

pool_attach() { # VOL QUEUES [NAME]
	GUEST=$(pool_domain "${3:-guest}") || die "create guest domain"
	# shellcheck disable=SC2086 # POOL_ATTACH_ARGS: words
	ctl attach "$GUEST" "$1" --devid 0 --queues "$2" ${POOL_ATTACH_ARGS:-} >/dev/null ||
		die "attach $GUEST $1"
}

pool_detach_refuses() { # VOL URI
	ctl detach "$GUEST" "$1" --devid 0 --timeout 20 || die "detach failed"
	if qemu-io -f raw "$2" -c 'read 0 4k' >"$POOL_DIR/qio-detached.log" 2>&1 &&
		! grep -qi 'fail' "$POOL_DIR/qio-detached.log"; then
		die "read after detach succeeded: $(cat "$POOL_DIR/qio-detached.log")"
	fi
	pool_log "after detach: $(tail -n 1 "$POOL_DIR/qio-detached.log")"
}

pool_guest() { # VOL QUEUES
	pool_attach "$1" "$2"
	if [ "${POOL_NBD_SERVER:-nbdkit}" = vbdpool-nbd ]; then
		# shellcheck disable=SC2086 # POOL_NBD_ARGS: words
		"$XENSIM" exec --dir "$SIM_DIR" --domid "$GUEST" -- \
			"$BIN/vbdpool-nbd" --devid 0 --socket "$POOL_DIR/nbd.sock" ${POOL_NBD_ARGS:-} \
			>"$POOL_DIR/vbdpool-nbd.log" 2>&1 &
	else
		# shellcheck disable=SC2086 # POOL_NBDKIT_ARGS: words
		"$XENSIM" exec --dir "$SIM_DIR" --domid "$GUEST" -- \
			nbdkit -f ${POOL_NBDKIT_ARGS--v} -U "$POOL_DIR/nbd.sock" "$PLUGIN" devid=0 \
			>"$POOL_DIR/nbdkit.log" 2>&1 &
	fi
	POOL_PIDS+=($!)
	NBD_SERVER_PID=$!
	NBD_URI="nbd+unix:///?socket=$POOL_DIR/nbd.sock"
	local i
	for i in $(seq 100); do [ -S "$POOL_DIR/nbd.sock" ] && return 0; sleep 0.1; done
	die "NBD socket did not appear"
}

pool_verify() { # G LOG ARGS...
	local g=$1 log=$2
	shift 2
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$g" -- \
		"$VBD_BUILD/tests/progs/front_verify" "$@" >"$log" 2>&1
}

pool_verify_bg() { # G LOG ARGS...
	local g=$1 log=$2
	shift 2
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$g" -- \
		"$VBD_BUILD/tests/progs/front_verify" "$@" >"$log" 2>&1 &
	VERIFY_PID=$!
	POOL_PIDS+=("$VERIFY_PID")
}

# pid of the vbdpool-backd process running in domain DOMID of this test's
# host (other tests may run hosts with the same domids at the same time)
pool_backd_pid() {
	local p env
	for p in $(pgrep -x vbdpool-backd); do
		env=$(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null) || continue
		grep -qx "XENSIM_DOMID=$1" <<<"$env" &&
			grep -qx "XENSIM_DIR=$POOL_DIR/host" <<<"$env" && { echo "$p"; return 0; }
	done
	return 1
}

# number of queues of attachment VOL/G-D owned by DOMID
pool_owned_by() { # VOL G D DOMID
	local o n=0
	for o in $(pool_owners "$1" "$2" "$3"); do [ "${o#*=}" = "$4" ] && n=$((n + 1)); done
	echo $n
}

pool_wait_owns() { # VOL G D DOMID
	local i
	for i in $(seq 100); do
		[ "$(pool_owned_by "$@")" -ge 1 ] && return 0
		sleep 0.1
	done
	[ "$(pool_owned_by "$@")" -ge 1 ]
}

# pool_wait_revoked DOMID: wait (up to 10 s) until no node of the pool area
# grants DOMID anything: a dead member's own nodes go with its domain, the
# supervisor then revokes the grants on dom0's nodes (schema-check wants both)
pool_wait_revoked() {
	local i
	for i in $(seq 100); do
		xs0 xenstore-ls -p /vbdpool 2>/dev/null | grep -qE "[(,][nrwb]$1[,)]" || return 0
		sleep 0.1
	done
	return 1
}

# pool_wait_owns_none VOL G D DOMID [SECONDS]: wait (default 6 s) until
# DOMID owns no queue of the attachment; prints how many ms it took
pool_wait_owns_none() {
	local t0 i
	t0=$(date +%s%N)
	for i in $(seq $((${5:-6} * 20))); do
		[ "$(pool_owned_by "$1" "$2" "$3" "$4")" = 0 ] && break
		sleep 0.05
	done
	echo $((($(date +%s%N) - t0) / 1000000))
	[ "$(pool_owned_by "$1" "$2" "$3" "$4")" = 0 ]
}

# pool_verify_passed LOG: wait for the background front_verify
# ($VERIFY_PID), show its summary; it must have passed with no error
pool_verify_passed() {
	local rc=0
	wait "$VERIFY_PID" || rc=$?
	cat "$1"
	[ $rc -eq 0 ] || die "front_verify failed (exit $rc)"
	grep -q 'errors=0 mismatches=0' "$1" || die "guest errors: $(tail -n 1 "$1")"
}

pool_rec() { # VOL G D Q
	xs0 xenstore-read "/vbdpool/volumes/$1/attachments/$2-$3/queue-$4"
}

pool_owners() { # VOL G D -> "q0=3 q1=4 ..."
	local n q out="" rec
	n=$(xs0 xenstore-read "/vbdpool/volumes/$1/attachments/$2-$3/num-queues")
	for q in $(seq 0 $((n - 1))); do
		rec=$(pool_rec "$1" "$2" "$3" "$q")
		rec=${rec#owner=}
		out="$out q$q=${rec%% *}"
	done
	echo "${out# }"
}

pool_wait_connected() { # VOL G D [SECONDS]
	local n q t=${4:-20} ok i
	n=$(xs0 xenstore-read "/vbdpool/volumes/$1/attachments/$2-$3/num-queues")
	for i in $(seq $((t * 10))); do
		ok=1
		for q in $(seq 0 $((n - 1))); do
			[[ $(pool_rec "$1" "$2" "$3" "$q") == *state=connected* ]] || { ok=0; break; }
		done
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	die "queues of $1/$2-$3 not all connected after ${t}s: $(pool_owners "$1" "$2" "$3")"
}
