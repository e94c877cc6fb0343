#!/usr/bin/env bash
# Extracts the uncompressed ELF vmlinux from a bzImage, like the kernel's
# scripts/extract-vmlinux.  Usage: extract-vmlinux.sh BZIMAGE OUT
set -euo pipefail
img=${1:?usage: extract-vmlinux.sh BZIMAGE OUT}
out=${2:?usage: extract-vmlinux.sh BZIMAGE OUT}
is_elf() { readelf -h "$1" >/dev/null 2>&1; }
try() { # magic-bytes(PCRE) decompressor...
	local magic=$1 pos; shift
	for pos in $(LC_ALL=C grep -aboP "$magic" "$img" 2>/dev/null | cut -d: -f1 | head -n 8); do
		tail -c+"$((pos + 1))" "$img" | "$@" >"$out.tmp" 2>/dev/null || true
		if is_elf "$out.tmp"; then mv "$out.tmp" "$out"; return 0; fi
	done
	rm -f "$out.tmp"
	return 1
}
try '\xfd7zXZ\x00' xz -dc ||
	try '\x28\xb5\x2f\xfd' zstd -dc ||
	try '\x1f\x8b\x08' gunzip -c ||
	try '\x5d\x00\x00\x00' xz -dc --format=lzma ||
	{ echo "extract-vmlinux: no ELF kernel found in $img" >&2; exit 1; }
