# shellcheck shell=bash
# Helpers shared by the real-Xen rig scripts (sourced, not run).
#
# Layout under $RIG_BUILD (build/xen by default; everything is regenerated
# from Debian packages and the project's build/, nothing is committed):
#   debs/      .deb files fetched with `apt-get download`
#   pkgs/      those packages unpacked with dpkg-deb -x (host untouched)
#   images/    xen, vmlinuz, vmlinux, modules.cpio, dom0-base.cpio,
#              domu.cpio.gz, each with a .key file naming its inputs' hash
#   work/      scratch (debootstrap root, per-run overlays)
#   logs/      serial logs of the QEMU runs

RIG_TOP=${RIG_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RIG_SRC=$RIG_TOP/tests/xen
RIG_BUILD=${RIG_BUILD:-$RIG_TOP/build/xen}
RIG_PROJ_BUILD=${RIG_PROJ_BUILD:-$RIG_TOP/build}
RIG_SUITE=bookworm
RIG_XENVER=4.17

# Packages that only the images need: downloaded and unpacked, not installed.
RIG_IMAGE_DEBS=(xen-hypervisor-4.17-amd64 busybox-static) # + the kernel
# What debootstrap puts into dom0 (besides minbase).
RIG_DOM0_INCLUDE=xen-utils-4.17,xenstore-utils,kmod,busybox,procps
# Kernel modules both images load (dependencies are added automatically).
# nbd, ext4 (+ jbd2, mbcache, crc16) and crc32c_generic (ext4's
# metadata_csum; the qemu64 CPU cannot run crc32c-intel): the pool
# scenario's guest mounts ext4 on its vbdpool device.
RIG_MODULES=(xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xen-blkback xen-blkfront brd
	nbd ext4 crc32c_generic)

rig_log() { printf '[rig %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
rig_die() { printf '[rig] ERROR: %s\n' "$*" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
RIG_APT_OPTS=(-q -y -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
_rig_apt_updated=0
rig_apt_update_once() {
	[ "$_rig_apt_updated" = 1 ] && return 0
	rig_log "apt-get update"
	# Unrelated third-party sources may be unreachable: judge by the retry.
	apt-get "${RIG_APT_OPTS[@]}" update >/dev/null 2>&1 || true
	_rig_apt_updated=1
}

# Candidate versions, looked up with one apt-cache call per batch (each
# call costs ~0.5 s).
declare -gA RIG_VER=()
# rig_pkg_versions_load PKG... : fill RIG_VER for these packages.
rig_pkg_versions_load() {
	local p v
	while read -r p v; do
		[ "$v" = "(none)" ] && v=
		RIG_VER[$p]=$v
	done < <(apt-cache policy "$@" 2>/dev/null | awk '/^[^ ].*:$/ { p = substr($1, 1, length($1) - 1) } /Candidate:/ { print p, $2 }')
}
# rig_pkg_version PKG -> candidate version (empty if unknown)
rig_pkg_version() {
	[ -n "${RIG_VER[$1]:-}" ] || rig_pkg_versions_load "$1"
	echo "${RIG_VER[$1]:-}"
}

# rig_host_install PKG... : install on the host what the host itself runs
# (qemu, debootstrap, cpio, depmod).
rig_host_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	rig_log "apt-get install ${missing[*]}"
	if ! apt-get "${RIG_APT_OPTS[@]}" install --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
		rig_apt_update_once
		apt-get "${RIG_APT_OPTS[@]}" install --no-install-recommends "${missing[@]}" ||
			rig_die "cannot install ${missing[*]} with apt-get"
	fi
}

# rig_fetch_pkg PKG -> prints the directory PKG's files are unpacked in
# (build/xen/pkgs/PKG_VERSION), downloading the .deb only if needed.
rig_fetch_pkg() {
	local pkg=$1 ver dir deb
	ver=$(rig_pkg_version "$pkg")
	if [ -z "$ver" ]; then rig_apt_update_once; RIG_VER=(); ver=$(rig_pkg_version "$pkg"); fi
	[ -n "$ver" ] || rig_die "package $pkg is unknown to apt (sources: /etc/apt/sources.list*)"
	dir=$RIG_BUILD/pkgs/${pkg}_${ver//:/%3a}
	if [ ! -f "$dir/.done" ]; then
		mkdir -p "$RIG_BUILD/debs"
		deb=$(ls "$RIG_BUILD/debs/${pkg}_"*"${ver#*:}"_*.deb 2>/dev/null | head -n1 || true)
		if [ -z "$deb" ]; then
			rig_log "apt-get download $pkg=$ver"
			(cd "$RIG_BUILD/debs" && apt-get "${RIG_APT_OPTS[@]}" download "$pkg=$ver" >/dev/null 2>&1) || {
				rig_apt_update_once
				(cd "$RIG_BUILD/debs" && apt-get "${RIG_APT_OPTS[@]}" download "$pkg=$ver") ||
					rig_die "cannot download $pkg=$ver"
			}
			deb=$(ls "$RIG_BUILD/debs/${pkg}_"*"${ver#*:}"_*.deb | head -n1)
		fi
		rm -rf "$dir" && mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir" || rig_die "cannot unpack $deb"
		touch "$dir/.done"
	fi
	echo "$dir"
}

# The kernel package linux-image-amd64 points at (e.g. linux-image-6.1.0-56-amd64).
rig_kernel_pkg() {
	apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
		sed -n 's/^Depends: *\(linux-image-[^ ,]*\).*/\1/p' | head -n1
}

# The Debian mirror the machine's apt sources use for the main suite.
rig_mirror() {
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" && $0 ~ / '"$RIG_SUITE"'( |$)/ && $0 !~ /security/ {
			for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { print $i; exit } }')
	if [ -z "$m" ]; then
		m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '
			/^URIs:/ { u = $2 } /^Suites:/ { s = $0 }
			/^$/ { if (s ~ / '"$RIG_SUITE"'( |$)/ && u !~ /security/ && u ~ /debian/ && !done) { print u; done = 1 } u = ""; s = "" }
			END { if (s ~ / '"$RIG_SUITE"'( |$)/ && u !~ /security/ && u ~ /debian/ && !done) print u }')
	fi
	[ -n "$m" ] || rig_die "no Debian $RIG_SUITE mirror found in /etc/apt/sources.list*"
	echo "${m%/}"
}

# rig_hash ARGS... : hash of the strings and of the files/dirs among them.
rig_hash() {
	local a
	for a in "$@"; do
		if [ -d "$a" ]; then
			(cd "$a" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
		elif [ -f "$a" ]; then
			sha256sum <"$a"
		else
			printf '%s\n' "$a"
		fi
	done | sha256sum | cut -c1-16
}

# rig_cached OUT KEY : true if OUT exists and was built from KEY.
rig_cached() { [ -f "$1" ] && [ -f "$1.key" ] && [ "$(cat "$1.key")" = "$2" ]; }
rig_mark() { printf '%s\n' "$2" >"$1.key"; }

# rig_cpio DIR OUT : pack DIR as an uncompressed newc cpio archive.
rig_cpio() {
	(cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet) >"$2.tmp" && mv "$2.tmp" "$2"
}

# rig_lock: one rig run at a time on this machine (one QEMU; shared build/xen).
rig_lock() {
	[ "${RIG_LOCKED:-0}" = 1 ] && return 0
	mkdir -p "$RIG_BUILD"
	exec 9>"$RIG_BUILD/.lock"
	if ! flock -n 9; then
		rig_log "another rig run holds $RIG_BUILD/.lock: waiting (up to 25 min)"
		flock -w 1500 9 || rig_die "rig lock $RIG_BUILD/.lock still held after 25 min"
	fi
	export RIG_LOCKED=1
}
