# tools/xenrig: `make check-xen`, the real-Xen rig (Xen 4.17 + a Debian dom0
# under QEMU TCG).  The scripts live in tests/xen/ (see docs/real-xen-rig.md).
# Not part of `make check`: it needs root, apt and ~2-5 min per run.
XENRIG_SCENARIOS ?=

check-xen: all
	@tests/xen/check-xen.sh $(XENRIG_SCENARIOS)
