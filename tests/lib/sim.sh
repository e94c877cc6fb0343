# shellcheck shell=bash
# Shell helpers to run an emulated Xen host (build/bin/xensim) in a private
# temp dir.  Source it from a test; needs $VBD_BUILD (set by run-tests.sh).
#
#   sim_start [PREFIX]        mktemp -d (named PREFIX.XXXXXX, default vbdsim),
#                             `xensim start`, EXIT trap -> sim_cleanup
#   sim_create NAME [--paused] [--console FILE] CMD...
#                             new domain running CMD; prints its domid
#   sim_exec DOMID CMD...     run CMD in domain DOMID (0 = dom0), wait, its status
#   sim_xs0 CMD...            shorthand for sim_exec 0 CMD...
#   sim_list [DOMID]          `xensim list`
#   sim_wait_gone DOMID [S]   wait until DOMID is no longer listed (default 5 s)
#   sim_pgid DOMID            the domain's process group (empty if none)
#   sim_pids DOMID [NAME]     pids of the domain's processes (named NAME):
#                             by process group, so safe when several emulated
#                             hosts run at once (unlike matching XENSIM_DOMID)
#   sim_nfd                   descriptors the host's daemon holds now
#   sim_settled_nfd           sim_nfd once the CLI connections of earlier
#                             commands are closed (the baseline for:)
#   sim_nfd_back_to N         wait (up to 1 s) until the daemon holds at most N
#                             descriptors, print both counts; fails on a leak
#   sim_stop                  stop the host (idempotent; also a host whose
#                             control socket is gone, by its pid file)
#   sim_cleanup               stop, show logs (the host's, the consoles',
#                             $SIM_TMP/*.log) if the test failed, remove the dir
#                             (kept when VBD_KEEP is set)
# Variables: SIM_TMP (the temp dir), SIM_DIR (the host dir, $SIM_TMP/host),
# XENSIM (the binary).  SIM_ON_EXIT: shell code run first by sim_cleanup.
: "${VBD_BUILD:?VBD_BUILD must point at the build dir}"
XENSIM=$VBD_BUILD/bin/xensim
SIM_TMP=${SIM_TMP:-}
SIM_DIR=${SIM_DIR:-}

# shellcheck disable=SC2120 # PREFIX is optional
sim_start() {
	[ -x "$XENSIM" ] || { echo "no $XENSIM (build first)" >&2; return 1; }
	SIM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/${1:-vbdsim}.XXXXXX")
	SIM_DIR=$SIM_TMP/host
	trap sim_cleanup EXIT
	trap 'exit 130' INT TERM
	"$XENSIM" start --dir "$SIM_DIR"
}

sim_create() { # NAME [--paused] [--console FILE] CMD...
	local name=$1 opts=()
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--paused) opts+=("$1"); shift ;;
		--console) opts+=("$1" "$2"); shift 2 ;;
		*) break ;;
		esac
	done
	"$XENSIM" create --dir "$SIM_DIR" --name "$name" "${opts[@]}" -- "$@"
}

sim_exec() { # DOMID CMD...
	local d=$1
	shift
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$d" -- "$@"
}

sim_xs0() { sim_exec 0 "$@"; }

sim_list() { "$XENSIM" list --dir "$SIM_DIR" "$@"; }

sim_wait_gone() { # DOMID [SECONDS]
	local i n=$((${2:-5} * 20))
	for ((i = 0; i < n; i++)); do
		sim_list "$1" >/dev/null 2>&1 || return 0
		sleep 0.05
	done
	return 1
}

sim_pgid() { # DOMID
	sim_list "$1" 2>/dev/null | awk -v d="$1" '$2 == d && $4 > 0 { print $4 }'
}

sim_pids() { # DOMID [NAME]
	local g
	g=$(sim_pgid "$1")
	[ -n "$g" ] || return 1
	if [ $# -gt 1 ]; then pgrep -g "$g" -x "$2"; else pgrep -g "$g"; fi
}

sim_nfd() {
	# shellcheck disable=SC2012
	ls "/proc/$(cat "$SIM_DIR/xensimd.pid")/fd" | wc -l
}

sim_settled_nfd() {
	local a b i
	b=$(sim_nfd)
	for i in $(seq 20); do
		sleep 0.05
		a=$(sim_nfd)
		[ "$a" -eq "$b" ] && break
		b=$a
	done
	echo "$b"
}

sim_nfd_back_to() { # N
	local i
	for i in $(seq 50); do [ "$(sim_nfd)" -le "$1" ] && break; sleep 0.02; done
	echo "daemon descriptors: $1 before, $(sim_nfd) after"
	[ "$(sim_nfd)" -le "$1" ]
}

sim_stop() {
	[ -n "$SIM_DIR" ] && "$XENSIM" stop --dir "$SIM_DIR"
	return 0
}

sim_cleanup() {
	local rc=$?
	set +e
	[ -n "${SIM_ON_EXIT:-}" ] && eval "$SIM_ON_EXIT"
	sim_stop
	if [ $rc -ne 0 ] && [ -n "$SIM_DIR" ]; then
		echo "--- xensimd.log (tail)"
		tail -n 40 "$SIM_DIR/xensimd.log" 2>/dev/null
		for f in "$SIM_DIR"/dom/*/console.log; do
			[ -s "$f" ] || continue
			echo "--- $f (tail)"
			tail -n 30 "$f"
		done
		for f in "$SIM_TMP"/*.log; do
			[ -f "$f" ] || continue
			echo "--- $(basename "$f") (tail)"
			tail -n 30 "$f"
		done
	fi
	[ -n "$SIM_TMP" ] && [ -z "${VBD_KEEP:-}" ] && rm -rf "$SIM_TMP"
	exit $rc
}
