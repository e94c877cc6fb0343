/* SPDX-License-Identifier: MIT */
/* The control path's per-object log helpers, in the style of Linux's
 * dev_warn: the object a message is about is named the same way in every
 * message, and the compiler checks every format (vbd_log's printf
 * attribute sees the prefix and the message as one literal, as with
 * Linux's pr_fmt; so the message must be a string literal).
 *   vol_*(v, ...)        "volume <id>: ..."
 *   vq_*(v, a, q, ...)   "volume <id>: <guest>-<dev> queue-<q> epoch <e>: ..."
 * where <e> is the slot's last record's epoch (after a transition: the
 * record written), else the epoch its data path serves, else "-" (no
 * valid record, nothing served); vq_log_dp(lvl, v, dq, ...) is the same
 * for a data path (its guest, device, queue and epoch), as when it stops.
 * Macros: a, q and dq are evaluated more than once (pass plain values).
 * Once-only messages: VBD_LOG_ONCE (vbdpool/log.h) around any of them.
 * The sealed data plane has its own (vbdq_log, dataplane/queue.h). */
#ifndef VBD_BACKEND_BLOG_H
#define VBD_BACKEND_BLOG_H

#include <inttypes.h>

#include "vbdpool/log.h"

struct vbd_attach;

#define VBD_VQ_EPOCH_MAX 24
/* The epoch vq_log prints for slot q of a (above), written in buf. */
const char *vq_epoch(const struct vbd_attach *a, unsigned q, char buf[VBD_VQ_EPOCH_MAX]);

#define vol_log(lvl, v, fmt, ...) vbd_log(lvl, "volume %s: " fmt, (v)->id, ##__VA_ARGS__)
#define vq_log(lvl, v, a, q, fmt, ...)                                                             \
	vbd_log(lvl, "volume %s: %u-%u queue-%u epoch %s: " fmt, (v)->id, (a)->guest, (a)->devid,  \
		(unsigned)(q), vq_epoch(a, q, (char[VBD_VQ_EPOCH_MAX]){""}), ##__VA_ARGS__)
#define vq_log_dp(lvl, v, dq, fmt, ...)                                                            \
	vbd_log(lvl, "volume %s: %u-%u queue-%u epoch %" PRIu64 ": " fmt, (v)->id,                 \
		(unsigned)vbdq_config(dq)->guest, (unsigned)vbdq_config(dq)->devid,                \
		(unsigned)vbdq_config(dq)->qidx, vbdq_config(dq)->epoch, ##__VA_ARGS__)

#define vol_err(v, ...)	  vol_log(VBD_LOG_ERROR, v, __VA_ARGS__)
#define vol_warn(v, ...)  vol_log(VBD_LOG_WARN, v, __VA_ARGS__)
#define vol_info(v, ...)  vol_log(VBD_LOG_INFO, v, __VA_ARGS__)
#define vol_debug(v, ...) vol_log(VBD_LOG_DEBUG, v, __VA_ARGS__)

#define vq_err(v, a, q, ...)   vq_log(VBD_LOG_ERROR, v, a, q, __VA_ARGS__)
#define vq_warn(v, a, q, ...)  vq_log(VBD_LOG_WARN, v, a, q, __VA_ARGS__)
#define vq_info(v, a, q, ...)  vq_log(VBD_LOG_INFO, v, a, q, __VA_ARGS__)
#define vq_debug(v, a, q, ...) vq_log(VBD_LOG_DEBUG, v, a, q, __VA_ARGS__)

#endif
