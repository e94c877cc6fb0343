#!/usr/bin/env bash
# Real-Xen rig, step 3: boot Xen 4.17 + the Debian dom0 under QEMU (TCG) and
# run one scenario in dom0.  Usage: tests/xen/run-rig.sh SCENARIO
#
# SCENARIO is tests/xen/scenarios/SCENARIO.sh: a file defining
# rig_dom0_main (runs in dom0; exit 0 pass, 77 skip, else fail) and
# optionally rig_host_check (runs here first; return 77 with a reason on
# stdout to skip without booting).  "# rig-timeout: N" in it bounds the
# scenario inside dom0 (default 600 s).
#
# Exit status: 0 passed, 77 skipped, 1 failed.  The serial log is
# build/xen/logs/SCENARIO.log; the last line printed is the RIG-SUMMARY.
# Env: RIG_NO_BUILD=1 skips deps/images (check-xen.sh did them),
#      RIG_QEMU_TIMEOUT overrides the QEMU bound,
#      RIG_ARGS is handed to the scenario (e.g. a subset of its cases).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

scen=${1:?usage: run-rig.sh SCENARIO (one of: $(cd "$RIG_SRC/scenarios" && ls *.sh | sed 's/\.sh$//' | tr '\n' ' '))}
sfile=$RIG_SRC/scenarios/$scen.sh
[ -f "$sfile" ] || rig_die "no scenario $scen ($sfile)"
[[ $scen =~ ^[A-Za-z0-9_-]+$ ]] || rig_die "scenario names are [A-Za-z0-9_-]: $scen"

skip() { echo "RIG-SUMMARY scenario=$scen result=SKIP rc=77 host: $*"; exit 77; }

# Host-side precondition (no boot needed to know we must skip).
hc_out=$(
	set +e
	rig_host_check() { return 0; }
	. "$sfile"
	RIG_TOP=$RIG_TOP RIG_PROJ_BUILD=$RIG_PROJ_BUILD rig_host_check
	echo "rc=$?"
) || true
hc_rc=${hc_out##*rc=}
hc_msg=$(printf '%s\n' "$hc_out" | sed '$d' | tail -n 1)
[ "$hc_rc" = 77 ] && skip "${hc_msg:-host check}"
[ "$hc_rc" = 0 ] || rig_die "scenario $scen: host check failed (rc=$hc_rc): $hc_msg"

rig_lock
if [ "${RIG_NO_BUILD:-0}" != 1 ]; then
	"$RIG_SRC/deps.sh"
	"$RIG_SRC/build-images.sh"
fi
img=$RIG_BUILD/images
for f in xen vmlinuz vmlinux dom0-base.cpio domu.cpio.gz; do
	[ -f "$img/$f" ] || rig_die "image $img/$f missing (run tests/xen/build-images.sh)"
done

# --- dom0 initramfs = dom0-base.cpio + a per-run overlay --------------------
# The kernel unpacks concatenated cpio archives in order.  The overlay may
# only hold real directories that are real directories in the base too (an
# entry of another type replaces it: never /lib, /bin, /var/run here).
timeout_s=$(sed -n 's/^# rig-timeout: *\([0-9][0-9]*\).*/\1/p' "$sfile" | head -n1)
timeout_s=${timeout_s:-600}
run=$RIG_BUILD/work/run
rm -rf "$run" && mkdir -p "$run/ov/rig/images" "$run/ov/rig/scenarios" "$run/ov/opt/vbdpool" \
	"$run/ov/usr/lib" "$run/ov/usr/local/lib"
cp "$RIG_SRC/dom0-init.sh" "$run/ov/init"
cp "$RIG_SRC/lib-dom0.sh" "$run/ov/rig/lib-dom0.sh"
mkdir -p "$run/ov/etc/xen/scripts"
cp "$RIG_SRC/block-shared" "$run/ov/etc/xen/scripts/block-shared"
cp "$RIG_SRC"/scenarios/*.sh "$run/ov/rig/scenarios/"
[[ ${RIG_ARGS:-} =~ ^[A-Za-z0-9_.,:/\ -]*$ ]] || rig_die "RIG_ARGS may hold only [A-Za-z0-9_.,:/ -]"
printf 'RIG_SCENARIO=%s\nRIG_TIMEOUT=%s\nRIG_ARGS="%s"\n' "$scen" "$timeout_s" "${RIG_ARGS:-}" >"$run/ov/rig/rig.conf"
ln "$img/vmlinux" "$run/ov/rig/images/vmlinux" 2>/dev/null || cp "$img/vmlinux" "$run/ov/rig/images/"
cp "$img/domu.cpio.gz" "$run/ov/rig/images/"
cp -a "$RIG_BUILD/work/modules/lib/modules" "$run/ov/usr/lib/modules"
for d in bin tests/progs; do
	[ -d "$RIG_PROJ_BUILD/$d" ] || continue
	mkdir -p "$run/ov/opt/vbdpool/$d"
	find "$RIG_PROJ_BUILD/$d" -maxdepth 1 -type f -perm -u+x -exec cp {} "$run/ov/opt/vbdpool/$d/" \;
done
# Shared libraries the project's programs link that the dom0 root lacks
# (the C library itself always comes from the dom0 root).
base=$RIG_BUILD/work/dom0-root
for l in $(find "$run/ov/opt/vbdpool" -type f -exec ldd {} \; 2>/dev/null |
	awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u); do
	n=$(basename "$l")
	case $n in libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | ld-linux*) continue ;; esac
	[ -e "$base/usr/lib/x86_64-linux-gnu/$n" ] || [ -e "$base/lib/x86_64-linux-gnu/$n" ] ||
		cp -L "$l" "$run/ov/usr/local/lib/"
done
rig_cpio "$run/ov" "$run/overlay.cpio"
cat "$img/dom0-base.cpio" "$run/overlay.cpio" >"$run/dom0.cpio"

# --- boot -------------------------------------------------------------------
logdir=$RIG_BUILD/logs
mkdir -p "$logdir"
log=$logdir/$scen.log
: >"$log"
xen_cmd="console=com1 com1=115200,8n1 dom0_mem=1280M,max:1280M bootscrub=0 loglvl=all guest_loglvl=all console_timestamps=boot"
dom0_cmd="console=hvc0 earlyprintk=xen"
for p in "$img/vmlinuz" "$run/dom0.cpio"; do
	case $p in *,* | *\ *) rig_die "QEMU splits -initrd on commas/spaces: move $p" ;; esac
done
[[ $dom0_cmd != *,* ]] || rig_die "the dom0 command line may hold no comma (QEMU -initrd)"
qemu_limit=${RIG_QEMU_TIMEOUT:-$((timeout_s + 240))}

qpid=
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill -TERM "$qpid" 2>/dev/null || true
		sleep 2
		kill -KILL "$qpid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rig_log "booting Xen for scenario $scen (limit ${qemu_limit}s, serial log $log)"
t0=$SECONDS
# timeout(1) is the process started here; it kills only its own QEMU.
timeout -k 10 "$qemu_limit" qemu-system-x86_64 \
	-machine q35 -accel tcg,thread=multi -smp 2 -cpu qemu64 -m 3G \
	-nodefaults -display none -no-reboot -net none \
	-serial "file:$log" -monitor none \
	-kernel "$img/xen" -append "$xen_cmd" \
	-initrd "$img/vmlinuz $dom0_cmd,$run/dom0.cpio" \
	</dev/null >"$logdir/$scen.qemu.log" 2>&1 &
qpid=$!
seen=
hwm=0
while kill -0 "$qpid" 2>/dev/null; do
	# Peak resident memory of QEMU (the child of our timeout process).
	for c in $(pgrep -P "$qpid" 2>/dev/null); do
		h=$(awk '/^VmHWM:/ { print $2 }' "/proc/$c/status" 2>/dev/null || true)
		[ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
	done
	if [ -z "$seen" ] && grep -aq 'RIG-SUMMARY' "$log"; then seen=$SECONDS; fi
	# The guest powers off right after the summary; don't wait long for it.
	if [ -n "$seen" ] && [ $((SECONDS - seen)) -gt 30 ]; then
		rig_log "QEMU still running 30 s after the summary: stopping it"
		kill -TERM "$qpid" 2>/dev/null || true
	fi
	sleep 1
done
qrc=0
wait "$qpid" || qrc=$?
qpid=
secs=$((SECONDS - t0))
summary=$(grep -ao 'RIG-SUMMARY.*' "$log" | tail -n1 | tr -d '\r') || true
if [ -z "$summary" ]; then
	echo "---- last lines of $log:" >&2
	tail -n 40 "$log" | tr -d '\r' >&2
	[ -s "$logdir/$scen.qemu.log" ] && { echo "---- QEMU:" >&2; cat "$logdir/$scen.qemu.log" >&2; }
	reason="no summary line (QEMU exit $qrc"
	[ "$qrc" = 124 ] && reason+=", killed after ${qemu_limit}s"
	echo "RIG-SUMMARY scenario=$scen result=FAIL rc=1 host: $reason) qemu_secs=$secs"
	exit 1
fi
if [[ $summary != *" result=PASS "* ]]; then
	# What failed, as the scenario printed it (guest console dumps aside).
	tr -d '\r' <"$log" | grep -a -E '(^|\] )FAIL|still running after|^  (stack|wchan|pid) ' | grep -av '^\[guest ' | head -n 40 || true
fi
echo "$summary qemu_secs=$secs qemu_peak_rss=$((hwm / 1024))M"
case $summary in
*" result=PASS "*) exit 0 ;;
*" result=SKIP "*) exit 77 ;;
*) exit 1 ;;
esac
