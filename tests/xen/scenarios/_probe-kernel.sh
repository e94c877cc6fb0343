# shellcheck shell=bash
# rig-timeout: 120
# Manual-only probe of two Linux PV behaviours the platform suite ran into
# (python3 + ctypes on Xen's own libraries, in dom0):
#  1. evtchn: unbind/notify of ports this handle does not own, below and
#     above 1024 (the FIFO event array's first page);
#  2. gntdev: is a grant mapping visible in a fork()ed child?  dom0 grants
#     a page to itself, maps it read-only, and a child reads it.

rig_dom0_main() {
	python3 - <<'PY' || rig_fail "probe failed"
import ctypes, errno, os, signal
P = ctypes.c_void_p
ev = ctypes.CDLL("libxenevtchn.so.1", use_errno=True)
ev.xenevtchn_open.restype = P
h = P(ev.xenevtchn_open(None, 0))
for port in (7, 500, 1000, 1023, 1024, 1100, 2047, 2048, 4000, 100000):
    ctypes.set_errno(0); r = ev.xenevtchn_unbind(h, port); e = ctypes.get_errno()
    ctypes.set_errno(0); r2 = ev.xenevtchn_notify(h, port); e2 = ctypes.get_errno()
    print("PROBE evtchn port %6d (not ours): unbind %s, notify %s" % (port,
          "ok" if r == 0 else errno.errorcode.get(e, e), "ok" if r2 == 0 else errno.errorcode.get(e2, e2)))

gs = ctypes.CDLL("libxengnttab.so.1", use_errno=True)
for f in ("xengntshr_open", "xengnttab_open", "xengntshr_share_pages", "xengnttab_map_grant_ref"):
    getattr(gs, f).restype = P
sh = P(gs.xengntshr_open(None, 0)); gt = P(gs.xengnttab_open(None, 0))
refs = (ctypes.c_uint32 * 1)()
page = gs.xengntshr_share_pages(sh, 0, 1, refs, 1)
ctypes.memmove(page, b"granted-page", 12)
m = gs.xengnttab_map_grant_ref(gt, 0, refs[0], 1)  # PROT_READ
if not m:
    print("PROBE gntdev: dom0 cannot map its own grant: %s" % errno.errorcode.get(ctypes.get_errno()))
else:
    print("PROBE gntdev: parent reads %r through the mapping" % ctypes.string_at(m, 12))
    pid = os.fork()
    if pid == 0:
        print("PROBE gntdev: child reads %r" % ctypes.string_at(m, 12), flush=True)
        os._exit(0)
    _, st = os.waitpid(pid, 0)
    if os.WIFSIGNALED(st):
        print("PROBE gntdev: the fork()ed child died of %s reading the mapping (not inherited)" % signal.Signals(os.WTERMSIG(st)).name)
    else:
        print("PROBE gntdev: child exit %d (mapping inherited)" % os.WEXITSTATUS(st))
PY
	rig_detail "probe done (PROBE lines above)"
}
