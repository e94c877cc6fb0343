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

#endif
