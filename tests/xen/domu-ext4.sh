#!/bin/sh
# rig-ext4 SECS [corrupt]: the pool scenario's guest workload (in the domU
# image as /bin/rig-ext4; busybox sh).  vbdpool-guestd gives the guest its
# block device (/dev/vbdpool/0 -> /dev/nbdN: vbdpool-nbd + the kernel's NBD
# client), the guest makes ext4 on it and, for SECS seconds, writes files
# of random sizes (two writers, one fsyncing every file; each file's
# sha256 recorded in /run, outside the filesystem; once MAXFILES exist,
# old ones are rewritten), while dom0 fails a driver domain.  Then: sync,
# umount, mount again (every read now comes from the pool, not the page
# cache), every checksum verified, umount, `e2fsck -f -n` must be clean.
# Progress goes to XenStore data/ext4-phase (dom0 fails the member once it
# says "writing"); the result to data/ext4 as one line:
#   files=N writes=N MiB=N verified=N mismatches=N fsck=clean|FAIL(rc=N) detach=ok|...
# Then the detach, by dom0, of a device in use and then released
# (docs/frontend.md "Detach"): the guest mounts it read-only again and says
# so (data/detach-step=mounted); dom0's first `vbdpoolctl detach
# --timeout 5` must fail, the agent having written device/vbdpool/0/busy;
# 10 s after the busy node appeared the guest unmounts
# (data/detach-step=released), and the agent must then disconnect
# /dev/nbd0 and remove /dev/vbdpool/0 (dom0's second detach completes):
# detach=ok|FAIL(...) ends the result line.
# Exit 0 only if every file verified, fsck was clean and the detach worked.
# `corrupt` (RIG_ARGS=ext4-corrupt) checks the failure path: one recorded
# checksum is altered and, while unmounted, one directory block of the
# filesystem is overwritten on the device: the run must then fail (both
# mismatches and fsck=FAIL).
secs=${1:-60}
corrupt=${2:-}
MAXFILES=200 # per writer
MNT=/mnt/pool
SUMS=/run/sums
DEV=/dev/vbdpool/0
say() { echo "rig-ext4[$(cut -d' ' -f1 /proc/uptime)]: $*"; }
phase() { xenstore-write data/ext4-phase "$1" 2>/dev/null; say "phase $1"; }
now() { cut -d. -f1 /proc/uptime; }
result() {
	xenstore-write data/ext4 "$1" 2>/dev/null
	say "RESULT $1"
}
# the D-state tasks and their kernel stacks (a stuck I/O path)
stuck_tasks() {
	for p in /proc/[0-9]*; do
		st=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "$p/status" 2>/dev/null)
		[ "$st" = D ] || continue
		say "stuck: pid ${p#/proc/} $(cat "$p/comm") wchan $(cat "$p/wchan" 2>/dev/null)"
		sed 's/^/    /' "$p/stack" 2>/dev/null
	done
}
# watch: every 10 s one line of progress; after 30 s without a file
# written, the stuck tasks (every 60 s)
watch() {
	last=-1 same=0
	while :; do
		sleep 10
		w="$(cat /run/w0.n 2>/dev/null)/$(cat /run/w1.n 2>/dev/null)"
		say "watch: files $w, nbd inflight $(cat /sys/block/nbd0/inflight 2>/dev/null | tr -s ' '), $(grep -E '^(Dirty|Writeback|MemAvailable):' /proc/meminfo | tr -s ' ' | tr '\n' ' ')"
		if [ "$w" = "$last" ]; then same=$((same + 10)); else same=0 last=$w; fi
		[ $same -ge 30 ] && [ $((same % 60)) = 30 ] && stuck_tasks
	done
}

# nbd: the kernel's NBD client; ext4 needs crc32c (metadata_csum): the
# generic one, the qemu64 CPU has no SSE4.2 for crc32c-intel
for m in nbd crc32c_generic ext4; do
	modprobe "$m" || { say "modprobe $m failed"; result "fsck=FAIL(no module $m)"; exit 1; }
done
# the kernel's NBD messages (a request stuck for 30 s, a dead socket) are
# KERN_INFO: show them on the console
echo 7 >/proc/sys/kernel/printk
phase guestd
# its log and its exports' (vbdpool-nbd: stall warnings, failovers) on the console
VBD_PLATFORM=xen vbdpool-guestd 2>&1 &
i=0
while [ ! -b $DEV ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
if [ ! -b $DEV ]; then
	say "no $DEV after 120 s"
	result "fsck=FAIL(no-device)"
	exit 1
fi
say "$DEV -> $(readlink $DEV) after $i polls, $(cat "/sys/block/$(basename "$(readlink $DEV)")/size") sectors"

phase mkfs
t0=$(now)
# nodiscard: the shared disk cannot discard (the export answers trims
# without discarding): mke2fs would only spend time on it
/sbin/mke2fs -t ext4 -b 4096 -q -F -E nodiscard -L rigpool $DEV || { result "fsck=FAIL(mkfs rc=$?)"; exit 1; }
mkdir -p $MNT $SUMS
mount -t ext4 $DEV $MNT || { result "fsck=FAIL(mount rc=$?)"; exit 1; }
say "mkfs + mount in $(($(now) - t0)) s: $(grep " $MNT " /proc/mounts)"
for d in 0 1 2 3 4 5 6 7; do mkdir $MNT/d$d; done

# Two writers at once: writer 0 fsyncs every file (a careful application:
# each fsync is a journal commit, i.e. flushes and FUA writes to the pool),
# writer 1 does not (its data reaches the pool by the kernel's writeback,
# many requests in flight when the member fails).  Each writes into its own
# four directories, MAXFILES files, then rewrites them.
# writer K FSYNC: leaves "<writes> <bytes>" in /run/w<K>.count, the
# reason it stopped early in /run/w<K>.err
writer() {
	k=$1 n=0 bytes=0
	while [ "$(now)" -lt "$end" ]; do
		i=$((n % MAXFILES))
		f=$MNT/d$((k * 4 + i % 4))/f$k-$i
		# shellcheck disable=SC3028 # busybox ash has RANDOM
		# mostly 1 B - 64 KiB, every 8th 256 KiB - 1 MiB (sizes not block-aligned)
		if [ $((RANDOM % 8)) = 0 ]; then sz=$((262144 + (RANDOM << 5) % 786432)); else sz=$((1 + (RANDOM << 1) % 65536)); fi
		head -c $sz /dev/urandom >"$f.tmp" || { echo "write $f failed" >/run/w"$k".err; break; }
		if [ "$2" = 1 ]; then
			sync "$f.tmp" || { echo "fsync $f failed" >/run/w"$k".err; break; } # fsync(2)
		fi
		mv "$f.tmp" "$f" # a rewrite replaces the old file atomically
		sha256sum "$f" >"$SUMS/$k-$i"
		n=$((n + 1)) bytes=$((bytes + sz))
		echo $n >/run/w"$k".n
		[ $((n % 50)) = 0 ] && say "writer $k: $n files written ($((bytes / 1048576)) MiB)"
	done
	echo "$n $bytes" >/run/w"$k".count
}
watch &
watch_pid=$!
phase writing
t0=$(now)
end=$((t0 + secs))
writer 0 1 &
w0=$!
writer 1 0 &
w1=$!
wait $w0 $w1 # not a bare wait: vbdpool-guestd and watch are our children too
sync
n=0 bytes=0 nfiles=0 werr=
for k in 0 1; do
	read -r wn wb </run/w$k.count || wn=0 wb=0
	[ -s /run/w$k.err ] && werr="$werr$(cat /run/w$k.err); "
	say "writer $k: $wn files ($wb bytes)"
	n=$((n + wn)) bytes=$((bytes + wb))
	if [ "$wn" -gt $MAXFILES ]; then nfiles=$((nfiles + MAXFILES)); else nfiles=$((nfiles + wn)); fi
done
[ -z "$werr" ] || say "FAIL: $werr"
say "wrote $n files ($nfiles distinct, $((bytes / 1048576)) MiB) in $(($(now) - t0)) s"
df -k $MNT | tail -n 1

phase verifying
if [ "$corrupt" = corrupt ]; then
	# the failure path: a wrong checksum, and a directory block overwritten
	blk=$(filefrag -v -b4096 $MNT/d1 | awk '$1 == "0:" { sub(/\.\..*/, "", $4); print $4; exit }')
	awk '{ c = substr($0, 1, 1); print (c == "0" ? "1" : "0") substr($0, 2) }' $SUMS/0-0 >/run/s0 && cat /run/s0 >$SUMS/0-0
	say "corrupt: checksum of file 0 altered, overwriting directory $MNT/d1 block $blk (4 KiB) after the umount"
fi
umount $MNT || { result "fsck=FAIL(umount rc=$?)"; exit 1; }
[ "$corrupt" = corrupt ] && [ -n "$blk" ] && dd if=/dev/urandom of=$DEV bs=4096 seek="$blk" count=1 conv=fsync 2>/dev/null
echo 3 >/proc/sys/vm/drop_caches
mount -t ext4 -o ro $DEV $MNT || { result "fsck=FAIL(remount rc=$?)"; exit 1; }
t0=$(now)
cat $SUMS/* >/run/all.sums
sha256sum -c /run/all.sums >/run/check.log 2>&1
ok=$(grep -c ': OK$' /run/check.log)
bad=$((nfiles - ok))
say "verified $ok of $nfiles files in $(($(now) - t0)) s, $bad mismatch(es)"
[ $bad = 0 ] || grep -v ': OK$' /run/check.log | head -n 10
umount $MNT || { result "fsck=FAIL(umount rc=$?)"; exit 1; }
kill $watch_pid

phase fsck
t0=$(now)
/sbin/e2fsck -f -n $DEV >/run/fsck.log 2>&1
frc=$?
cat /run/fsck.log
if [ $frc = 0 ]; then fsck=clean; else fsck="FAIL(rc=$frc)"; fi
say "e2fsck -f -n: exit $frc in $(($(now) - t0)) s"

detach=skipped
if [ $bad = 0 ] && [ "$fsck" = clean ]; then
	phase detach
	t0=$(now)
	if mount -t ext4 -o ro $DEV $MNT; then
		xenstore-write data/detach-step mounted
		i=0
		while ! busy=$(xenstore-read device/vbdpool/0/busy 2>/dev/null) && [ $i -lt 600 ]; do
			sleep 0.2
			i=$((i + 1))
		done
		say "the agent's busy node: ${busy:-none} (after $i polls)"
		sleep 10 # dom0's first detach (--timeout 5) gives up meanwhile
		umount $MNT
		xenstore-write data/detach-step released
		i=0
		while { [ -e $DEV ] || [ -e /sys/block/nbd0/pid ]; } && [ $i -lt 600 ]; do
			sleep 0.2
			i=$((i + 1))
		done
		link=gone nbd=disconnected
		[ -e $DEV ] && link=left
		[ -e /sys/block/nbd0/pid ] && nbd=connected
		if [ -n "$busy" ] && [ $link = gone ] && [ $nbd = disconnected ]; then
			detach=ok
		else
			detach="FAIL(busy=${busy:-none},link=$link,nbd0=$nbd)"
		fi
		say "detach: $detach in $(($(now) - t0)) s"
	else
		detach="FAIL(remount)"
	fi
fi
result "files=$nfiles writes=$n MiB=$((bytes / 1048576)) verified=$ok mismatches=$bad fsck=$fsck${werr:+ write-error} detach=$detach"
phase finished
[ $bad = 0 ] && [ "$fsck" = clean ] && [ $nfiles -gt 0 ] && [ -z "$werr" ] && [ "$detach" = ok ]
