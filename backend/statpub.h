/* SPDX-License-Identifier: MIT */
/* Per-attachment I/O statistics on request (`vbdpoolctl top`,
 * docs/protocol.md "I/O statistics on request"): the member watches
 * /vbdpool/top/<me>; each new value dom0 writes there is answered once with
 * members/<me>/stats/<g>-<d> of every joined volume; nothing is written
 * while no one asks.  Control thread only. */
#ifndef VBD_BACKEND_STATPUB_H
#define VBD_BACKEND_STATPUB_H

#include "backd.h"

#define STATPUB_TOKEN "t" /* the watch token of /vbdpool/top/<me> */

/* Watch /vbdpool/top/<me>. 0 or -errno. */
int statpub_watch(struct backd *bd);
/* The watch fired: a new request is answered (XenStore writes, one per
 * attachment this member has counted anything for). */
void statpub_event(struct backd *bd);
/* A queue stops: its counters go on counting in its attachment's. */
void statpub_retire(struct vbd_volume *v, struct vbd_queue *q);
/* Is path a member's stats node (…/members/<m>/stats or below)? Those
 * change nothing a member acts on: its volume watch ignores them. */
int statpub_is_stats_path(const char *path);
/* Forget everything (at exit). */
void statpub_free(void);

#endif
