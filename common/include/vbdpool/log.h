/* SPDX-License-Identifier: MIT */
/* One logger for every vbdpool program: "<prog>[pid] LEVEL: message" on
 * stderr, level from VBD_LOG (error|warn|info|debug, default info). */
#ifndef VBDPOOL_LOG_H
#define VBDPOOL_LOG_H

enum vbd_log_level { VBD_LOG_ERROR, VBD_LOG_WARN, VBD_LOG_INFO, VBD_LOG_DEBUG };

void vbd_log_init(const char *prog);
void vbd_log(enum vbd_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vbd_log_enabled(enum vbd_log_level lvl);

#define log_err(...)   vbd_log(VBD_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  vbd_log(VBD_LOG_WARN, __VA_ARGS__)
#define log_info(...)  vbd_log(VBD_LOG_INFO, __VA_ARGS__)
#define log_debug(...) vbd_log(VBD_LOG_DEBUG, __VA_ARGS__)

/* A message logged once, until reset (instead of a logged_* flag next to
 * each one): a condition that persists (not a member, a backing that does
 * not open, a malformed record) is said once, not on every retry. The
 * object belongs to one thread (no locking); zero-initialised: not logged
 * yet. It counts as logged even when the level hides the message. */
struct vbd_log_once {
	int done;
};

/* Logs unless `o` has logged since its last reset, then marks it; returns
 * 1 if this call logged (or would have, below the level), 0 if not. */
int vbd_log_once(struct vbd_log_once *o, enum vbd_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Marks `o` logged; returns 1 if it was not yet (the caller logs now),
 * 0 if it was. Also a way to count a failure someone else logged as said. */
int vbd_log_once_mark(struct vbd_log_once *o);
/* Any logging call, once: evaluates `call` (a per-object helper's, say
 * vol_warn(v, ...)) only if `o` has not logged since its last reset;
 * 1 if it ran. */
#define VBD_LOG_ONCE(o, call) (vbd_log_once_mark(o) ? ((void)(call), 1) : 0)
/* Forget it (the condition is over: the next occurrence is logged again);
 * returns 1 if it had logged, for "... again"-style recovery messages. */
int vbd_log_once_reset(struct vbd_log_once *o);

#endif
