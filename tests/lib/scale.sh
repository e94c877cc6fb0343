# shellcheck shell=bash
# Helpers for many devices on one emulated host (tests/integration/
# backend_scale.sh, bench/scale.sh), on tests/lib/pool.sh (source that
# first).
#
#   scale_volumes N        3 member domains (their domids in the array M) and
#                          N volumes v0..v<N-1> of 1 MiB, volume i with members
#                          M[i % 3] and M[(i + 1) % 3] (Xen's default node
#                          quota: a member owns 5 nodes per volume); one dom0
#                          shell runs the vbdpoolctl loop
#   scale_member_of K I    is member K (0..2) one of volume I's?
#   scale_guests N FRONT   N guests, g<i> running FRONT --devid 0 (started
#                          paused), v<i> attached to g<i> (4 queues), all
#                          unpaused; their domids in the array G
#   scale_connected        how many queue records of every volume are
#                          connected (one listing)
#   scale_settle           wait (up to 60 s) until the queue records stop
#                          changing for 2 s (balance settled); 1 if they
#                          never do
M=()
G=()

scale_volumes() { # N
	local i
	M=()
	for i in 1 2 3; do M+=("$(pool_domain "back$i")") || die "create member domain"; done
	# shellcheck disable=SC2016 # expanded by the dom0 shell
	xs0 env BIN="$BIN" D="$POOL_DIR" NV="$1" MS="${M[*]}" sh -ec 'i=0; while [ $i -lt $NV ]; do
		truncate -s 1M $D/v$i.img
		$BIN/vbdpoolctl volume create v$i --backing $D/v$i.img
		set -- $MS ${MS%% *}
		shift $((i % 3))
		$BIN/vbdpoolctl member add v$i $1
		$BIN/vbdpoolctl member add v$i $2
		i=$((i + 1)); done' >/dev/null || die "creating $1 volumes"
}

scale_member_of() { # K I
	[ $(($2 % 3)) = "$1" ] || [ $((($2 + 1) % 3)) = "$1" ]
}

scale_guests() { # N FRONT
	local i g
	G=()
	for i in $(seq 0 $(($1 - 1))); do
		G+=("$(sim_create "g$i" --paused "$2" --devid 0)") || die "create guest $i"
	done
	# shellcheck disable=SC2016
	xs0 env BIN="$BIN" sh -ec 'i=0; for g in "$@"; do
		$BIN/vbdpoolctl attach $g v$i --devid 0 --queues 4; i=$((i + 1)); done' \
		attach "${G[@]}" >/dev/null || die "attach"
	for g in "${G[@]}"; do "$XENSIM" unpause --dir "$SIM_DIR" "$g" || die "unpause $g"; done
}

scale_connected() { xs0 xenstore-ls /vbdpool/volumes | grep -c 'state=connected' || true; }

scale_settle() {
	local a b i
	recs() { xs0 xenstore-ls /vbdpool/volumes | grep 'queue-.*owner=' | md5sum; }
	a=$(recs)
	for i in $(seq 30); do
		sleep 2
		b=$(recs)
		[ "$a" = "$b" ] && return 0
		a=$b
	done
	return 1
}
