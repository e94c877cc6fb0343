#!/usr/bin/env bash
# Real-Xen rig, step 1: what the rig needs from Debian.
#  - installed on the host (the host runs them): qemu-system-x86, debootstrap,
#    cpio, kmod (depmod -b), xz-utils; e2fsprogs and nbd-client, whose
#    programs (mke2fs, e2fsck, filefrag, nbd-client) build-images.sh copies
#    into the domU image with the libraries they link;
#  - only downloaded and unpacked under build/xen/pkgs (the images need them,
#    the host must not be modified): the Xen hypervisor, the kernel
#    linux-image-amd64 points at, busybox-static.
# Prints nothing on success except progress on stderr.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || rig_die "the rig needs root (apt-get, debootstrap)"
rig_host_install qemu-system-x86 debootstrap cpio kmod xz-utils e2fsprogs nbd-client
command -v qemu-system-x86_64 >/dev/null || rig_die "qemu-system-x86_64 missing after install"

kpkg=$(rig_kernel_pkg)
if [ -z "$kpkg" ]; then rig_apt_update_once; kpkg=$(rig_kernel_pkg); fi
[ -n "$kpkg" ] || rig_die "cannot resolve the kernel package of linux-image-amd64"
rig_pkg_versions_load "${RIG_IMAGE_DEBS[@]}" "$kpkg"
for p in "${RIG_IMAGE_DEBS[@]}" "$kpkg"; do
	rig_fetch_pkg "$p" >/dev/null
done
