/* SPDX-License-Identifier: MIT */
/*
 * Per-attachment I/O statistics a member publishes on request for
 * `vbdpoolctl top` (docs/protocol.md "I/O statistics on request"):
 *
 *   /vbdpool/top                     dom0 (top): the last request number, n0
 *   /vbdpool/top/<m>                 dom0 (top): the request for member <m>,
 *                                    n0 r<m>
 *   .../members/<m>/stats/<g>-<d>    member <m>: its counters for attachment
 *                                    <g>-<d>, written once per request
 *
 * A record is one line of key=value words, every key once:
 *   seq=S t=MS rd=N wr=N oth=N rd-bytes=N wr-bytes=N inflight=N lat-us=N
 *   hist=K:C,K:C,...
 * seq: the request it answers; t: the member's CLOCK_MONOTONIC in ms when
 * it sampled; rd/wr/oth: requests completed (reads, writes, flushes and
 * discards) since the member's daemon started; rd-bytes/wr-bytes: their
 * bytes; inflight: requests in flight now; lat-us: the sum of every
 * request's latency (us); hist: the latency histogram, cumulative counts
 * per log2 bucket K (latencies in [2^K, 2^(K+1)) us; K = 0 also takes
 * 0 us; the last bucket everything above), buckets with a count only, K
 * increasing.  Everything but seq, t and inflight only grows while the
 * daemon runs; a restarted daemon starts again from 0.
 */
#ifndef VBDPOOL_IOSTAT_H
#define VBDPOOL_IOSTAT_H

#include <stddef.h>
#include <stdint.h>

#define VBD_XS_TOP	    "/vbdpool/top"
#define VBD_XS_TOP_WANT	    "/vbdpool/top/%u"				 /* member domid */
#define VBD_XS_MEMBER_STATS "/vbdpool/volumes/%s/members/%u/stats"	 /* vol, domid */
#define VBD_XS_MEMBER_STAT  "/vbdpool/volumes/%s/members/%u/stats/%u-%u" /* + guest, devid */

#define VBD_IOSTAT_BUCKETS 32
#define VBD_IOSTAT_MAX	   1024 /* the longest record, with its NUL */

struct vbd_iostat {
	uint64_t seq, t_ms;
	uint64_t rd, wr, oth, rd_bytes, wr_bytes, inflight, lat_us;
	uint64_t hist[VBD_IOSTAT_BUCKETS];
};

/* The record of s into buf; its length, or -ENOSPC (buf too short). */
int vbd_iostat_format(const struct vbd_iostat *s, char *buf, size_t len);
/* Strict: every key once, decimal numbers, hist buckets < VBD_IOSTAT_BUCKETS
 * in increasing order.  0, or -EINVAL (*out untouched). */
int vbd_iostat_parse(const char *str, struct vbd_iostat *out);

#endif
