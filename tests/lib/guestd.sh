# shellcheck shell=bash
# Helpers for the vbdpool-guestd tests (tests/integration/guestd_*.sh), on
# top of pool.sh.  The kernel NBD client is not available on the emulated
# host, so the agent runs with --no-kernel: <root>/dev/vbdpool/<d> links to
# the export's socket and "in use" means an NBD client is connected.
#
#   guestd_start G       vbdpool-guestd in domain G (log guestd.log, links
#                        under $GD_ROOT, exports in $GD_RUN); sets $GUESTD_PID
#   guestd_wait_link D   wait (10 s) for $GD_ROOT/dev/vbdpool/D and an export
#                        answering on it; prints its NBD URI
#   guestd_wait_log RE   wait (10 s) until guestd.log matches RE
GD_ROOT=$POOL_DIR/root
GD_RUN=$POOL_DIR/run

guestd_start() { # G
	"$XENSIM" exec --dir "$SIM_DIR" --domid "$1" -- "$BIN/vbdpool-guestd" --no-kernel \
		--root "$GD_ROOT" --run-dir "$GD_RUN" >>"$POOL_DIR/guestd.log" 2>&1 &
	GUESTD_PID=$!
	POOL_PIDS+=("$GUESTD_PID")
}

guestd_wait_link() { # D
	local l=$GD_ROOT/dev/vbdpool/$1 i
	for i in $(seq 100); do
		if [ -L "$l" ] && nbdinfo --size "nbd+unix:///?socket=$(readlink "$l")" >/dev/null 2>&1; then
			echo "nbd+unix:///?socket=$(readlink "$l")"
			return 0
		fi
		sleep 0.1
	done
	die "no working $l after 10 s: $(tail -n 5 "$POOL_DIR/guestd.log")"
}

guestd_wait_log() { # RE
	local i
	for i in $(seq 100); do
		grep -qE "$1" "$POOL_DIR/guestd.log" && return 0
		sleep 0.1
	done
	die "guestd.log never said /$1/: $(tail -n 8 "$POOL_DIR/guestd.log")"
}

# qemu-io commands on URI; fails the test unless they all succeed
qio() { # URI CMD...
	local uri=$1 out=$POOL_DIR/qio.out args=()
	shift
	for c in "$@"; do args+=(-c "$c"); done
	qemu-io -f raw "$uri" "${args[@]}" >"$out" 2>&1 || die "qemu-io $*: $(cat "$out")"
	! grep -qiE 'fail|error' "$out" || die "qemu-io $*: $(cat "$out")"
}

# BACKING holds byte BYTE (decimal) over [OFF_KIB, +LEN_KIB)
backing_has() { # BACKING OFF_KIB LEN_KIB BYTE
	local n
	n=$(dd if="$1" bs=1k skip="$2" count="$3" status=none | od -An -v -tu1 | tr -s ' ' '\n' |
		grep -v '^$' | grep -cvx "$4" || true)
	[ "$n" = 0 ] || die "$1: $n byte(s) in [$2 KiB, +$3 KiB) are not $4"
}
