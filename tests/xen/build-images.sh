#!/usr/bin/env bash
# Real-Xen rig, step 2: the boot images, from Debian packages only, each
# cached under build/xen/images keyed on its inputs (package versions, the
# project's binaries, the scripts): a second run rebuilds only what changed.
#   xen            Xen 4.17 (gunzipped, for QEMU's multiboot loader)
#   vmlinuz        Debian's kernel (dom0 kernel)
#   vmlinux        its ELF image (domU kernel: xl create is twice as fast)
#   ../work/modules  the xen modules + deps, depmod'ed (dom0 + domU)
#   dom0-base.cpio debootstrap'ed dom0 root (uncompressed cpio)
#   domu.cpio.gz   small PV domU initramfs: static busybox, the project's
#                  binaries + the shared libraries they link, modules,
#                  nbd-client + e2fsprogs' mke2fs/e2fsck/filefrag and the
#                  pool scenario's ext4 workload (domu-ext4.sh as rig-ext4)
# Needs deps.sh to have run (it does not install anything itself).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

img=$RIG_BUILD/images
work=$RIG_BUILD/work
mkdir -p "$img" "$work"

kpkg=$(rig_kernel_pkg)
[ -n "$kpkg" ] || rig_die "cannot resolve the kernel package of linux-image-amd64 (run deps.sh)"
rig_pkg_versions_load "${RIG_IMAGE_DEBS[@]}" "$kpkg" debootstrap ${RIG_DOM0_INCLUDE//,/ } libc6 libxenstore4 libxenmisc4.17
xen_dir=$(rig_fetch_pkg xen-hypervisor-4.17-amd64)
k_dir=$(rig_fetch_pkg "$kpkg")
bb_dir=$(rig_fetch_pkg busybox-static)
kver=${kpkg#linux-image-}

# --- Xen ------------------------------------------------------------------
key=$(rig_hash "$(basename "$xen_dir")")
if ! rig_cached "$img/xen" "$key"; then
	rig_log "xen: $(basename "$xen_dir")"
	gunzip -c "$xen_dir/boot/xen-$RIG_XENVER-amd64.gz" >"$img/xen.tmp" && mv "$img/xen.tmp" "$img/xen"
	rig_mark "$img/xen" "$key"
fi

# --- kernel -----------------------------------------------------------------
key=$(rig_hash "$(basename "$k_dir")" "$RIG_SRC/extract-vmlinux.sh")
if ! rig_cached "$img/vmlinux" "$key"; then
	rig_log "kernel: $(basename "$k_dir")"
	cp "$k_dir/boot/vmlinuz-$kver" "$img/vmlinuz"
	"$RIG_SRC/extract-vmlinux.sh" "$img/vmlinuz" "$img/vmlinux"
	rig_mark "$img/vmlinux" "$key"
fi

# --- modules ----------------------------------------------------------------
mod_key=$(rig_hash "$(basename "$k_dir")" "${RIG_MODULES[*]}" "$RIG_SRC/build-images.sh")
if ! rig_cached "$work/modules.stamp" "$mod_key" || [ ! -d "$work/modules/lib/modules/$kver" ]; then
	rig_log "modules: ${RIG_MODULES[*]} (+ dependencies)"
	stage=$work/modules
	rm -rf "$stage" && mkdir -p "$stage/lib/modules/$kver"
	src=$k_dir/lib/modules/$kver
	cp "$src"/modules.order "$src"/modules.builtin "$src"/modules.builtin.modinfo "$stage/lib/modules/$kver/"
	declare -A seen=()
	add_mod() { # module name (- or _)
		local name=${1//-/_} f d
		[ -n "${seen[$name]:-}" ] && return 0
		seen[$name]=1
		f=$(find "$src/kernel" -name "$1.ko*" -o -name "${1//-/_}.ko*" -o -name "${1//_/-}.ko*" | head -n1)
		[ -n "$f" ] || rig_die "module $1 not found in $kpkg"
		mkdir -p "$stage/${f#"$k_dir"/}" && rmdir "$stage/${f#"$k_dir"/}"
		cp "$f" "$stage/${f#"$k_dir"/}"
		for d in $(modinfo -F depends "$f" | tr ',' ' '); do add_mod "$d"; done
	}
	for m in "${RIG_MODULES[@]}"; do add_mod "$m"; done
	depmod -b "$stage" "$kver"
	touch "$work/modules.stamp"
	rig_mark "$work/modules.stamp" "$mod_key"
fi

# --- dom0 root --------------------------------------------------------------
mirror=$(rig_mirror)
vers=""
for p in debootstrap ${RIG_DOM0_INCLUDE//,/ } libc6 libxenstore4 libxenmisc4.17; do
	vers+="$p=$(rig_pkg_version "$p") "
done
key=$(rig_hash "$mirror" "$RIG_SUITE" "$RIG_DOM0_INCLUDE" "$vers" "$RIG_SRC/mkdom0base.sh")
if ! rig_cached "$img/dom0-base.cpio" "$key" || [ ! -d "$work/dom0-root/usr" ]; then
	"$RIG_SRC/mkdom0base.sh" "$work/dom0-root" "$mirror" "$RIG_DOM0_INCLUDE"
	rig_log "packing dom0-base.cpio"
	rig_cpio "$work/dom0-root" "$img/dom0-base.cpio"
	rig_mark "$img/dom0-base.cpio" "$key"
fi

# --- domU initramfs ---------------------------------------------------------
# The project's programs: every executable under build/bin and build/tests/progs.
proj=()
for d in "$RIG_PROJ_BUILD/bin" "$RIG_PROJ_BUILD/tests/progs"; do
	[ -d "$d" ] || continue
	while IFS= read -r -d '' f; do proj+=("$f"); done < <(find "$d" -maxdepth 1 -type f -perm -u+x -print0 | sort -z)
done
# Host tools the guests use to talk to XenStore (from xenstore-utils).
xs_tools=(/usr/bin/xenstore-read /usr/bin/xenstore-write /usr/bin/xenstore-rm /usr/bin/xenstore-ls
	/usr/bin/xenstore-list /usr/bin/xenstore-exists /usr/bin/xenstore-chmod /usr/bin/xenstore-watch)
for t in "${xs_tools[@]}"; do [ -x "$t" ] || rig_die "$t missing: install xenstore-utils (make deps)"; done
# The guest's NBD export: nbdkit (Debian's, as on the host) + the project's
# plugin, in /opt/vbdpool/lib.
nbd_bits=(/usr/bin/nbdkit "$RIG_PROJ_BUILD/lib/nbdkit-vbdpool-plugin.so")
for t in "${nbd_bits[@]}"; do [ -e "$t" ] || rig_die "$t missing: run make (make deps installs nbdkit)"; done
# The guest's block device and filesystem (pool scenario): the kernel's NBD
# client that vbdpool-guestd runs, and e2fsprogs (busybox's mke2fs makes
# no ext4; its sh runs its own applets first, so rig-ext4 calls these by
# their /sbin paths), with /etc/mke2fs.conf.
fs_tools=(/usr/sbin/nbd-client /sbin/mke2fs /sbin/e2fsck /usr/sbin/filefrag)
for t in "${fs_tools[@]}" /etc/mke2fs.conf; do [ -e "$t" ] || rig_die "$t missing: install nbd-client and e2fsprogs (tests/xen/deps.sh)"; done
# + libgcc_s, which glibc dlopen()s (invisible to ldd) for pthread_cancel:
# libxenstore cancels its reader thread in xs_close once a watch was set.
libs=$( (for f in "${proj[@]}" "${xs_tools[@]}" "${nbd_bits[@]}" "${fs_tools[@]}"; do ldd "$f" 2>/dev/null || true; done
	ls /lib/x86_64-linux-gnu/libgcc_s.so.1 2>/dev/null || true) |
	awk '$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }' | sort -u)
key=$(rig_hash "$mod_key" "$(basename "$bb_dir")" "$RIG_SRC/domu-init.sh" "$RIG_SRC/domu-ext4.sh" \
	"$RIG_SRC/build-images.sh" "${proj[@]}" "${xs_tools[@]}" "${nbd_bits[@]}" "${fs_tools[@]}" \
	/etc/mke2fs.conf $libs "${proj[*]}")
if ! rig_cached "$img/domu.cpio.gz" "$key"; then
	rig_log "domU initramfs (${#proj[@]} project programs)"
	r=$work/domu-root
	rm -rf "$r" && mkdir -p "$r"/{bin,sbin,dev,proc,sys,run,tmp,etc,opt/vbdpool/bin,opt/vbdpool/tests/progs,opt/vbdpool/lib,var/run,root}
	cp "$bb_dir/bin/busybox" "$r/bin/busybox"
	# Applets as links, so /init can run before --install.
	for a in $("$r/bin/busybox" --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
	cp "$RIG_SRC/domu-init.sh" "$r/init" && chmod 755 "$r/init"
	for f in "${proj[@]}"; do
		case $f in
		"$RIG_PROJ_BUILD"/bin/*) cp "$f" "$r/opt/vbdpool/bin/" ;;
		*) cp "$f" "$r/opt/vbdpool/tests/progs/" ;;
		esac
	done
	for t in "${xs_tools[@]}"; do cp "$t" "$r/bin/"; done
	cp /usr/bin/nbdkit "$r/bin/"
	for t in "${fs_tools[@]}"; do cp "$t" "$r/sbin/"; done
	cp /etc/mke2fs.conf "$r/etc/"
	cp "$RIG_SRC/domu-ext4.sh" "$r/bin/rig-ext4" && chmod 755 "$r/bin/rig-ext4"
	cp "$RIG_PROJ_BUILD/lib/nbdkit-vbdpool-plugin.so" "$r/opt/vbdpool/lib/"
	# The initramfs is unpacked into the domU's RAM: the 128 MB driver
	# domains ran out of memory unpacking it once ext4 + e2fsprogs joined
	# (kernel panic "System is deadlocked on memory").  The project's
	# programs are built with -g: without their debug info (symbols kept)
	# they are ~1/3 the size, which more than makes up for it.
	strip --strip-debug "$r"/opt/vbdpool/bin/* "$r"/opt/vbdpool/tests/progs/* "$r"/opt/vbdpool/lib/*
	for l in $libs; do
		mkdir -p "$r$(dirname "$l")"
		cp -L "$l" "$r$l"
	done
	# Debian's multiarch dirs + /lib64 loader: merged /usr like the host.
	[ -e "$r/lib64" ] || mkdir -p "$r/lib64"
	if [ -d "$r/usr/lib64" ]; then cp -a "$r/usr/lib64/." "$r/lib64/"; fi
	for d in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu; do mkdir -p "$r/$d"; done
	echo "/lib/x86_64-linux-gnu" >"$r/etc/ld.so.conf"
	echo "/usr/lib/x86_64-linux-gnu" >>"$r/etc/ld.so.conf"
	echo "root:x:0:0:root:/root:/bin/sh" >"$r/etc/passwd"
	echo "root:x:0:" >"$r/etc/group"
	(cd "$work/modules" && find . -mindepth 1 -print0 | cpio --null -pdm --quiet "$r")
	(cd "$r" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) |
		gzip -6 >"$img/domu.cpio.gz.tmp"
	mv "$img/domu.cpio.gz.tmp" "$img/domu.cpio.gz"
	rig_mark "$img/domu.cpio.gz" "$key"
	rig_log "domU initramfs: $(du -h "$img/domu.cpio.gz" | cut -f1)"
fi
