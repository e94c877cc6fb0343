#!/usr/bin/env bash
# Builds the dom0 root file system with debootstrap (Debian packages only)
# and trims it.  Usage: mkdom0base.sh DIR MIRROR INCLUDE
# Its hash is part of the dom0 image's cache key: editing it rebuilds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=${1:?usage: mkdom0base.sh DIR MIRROR INCLUDE}
mirror=${2:?mirror}
include=${3:?include list}

rm -rf "$dir"
mkdir -p "$dir"
log=$dir.debootstrap.log
rig_log "debootstrap $RIG_SUITE (minbase + $include) from $mirror"
if ! debootstrap --variant=minbase --include="$include" "$RIG_SUITE" "$dir" "$mirror" >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	rig_die "debootstrap failed (log: $log)"
fi
# Trim what a RAM root never uses.
rm -rf "$dir"/usr/share/{doc,man,info,locale,lintian,linda,bash-completion,zsh} \
	"$dir"/var/cache/apt/* "$dir"/var/cache/debconf/*-old "$dir"/var/lib/apt/lists/* \
	"${dir:?}"/var/log/* "${dir:?}"/usr/lib/xen-4.17/boot "${dir:?}"/boot/*
find "$dir" -name __pycache__ -type d -prune -exec rm -rf {} +
# Device nodes come from devtmpfs at boot.
rm -rf "${dir:?}"/dev/*
# The rig's /init replaces systemd-less init; no fstab needed.
du -sh "$dir" | awk '{ print "[rig] dom0 root: " $1 }' >&2
