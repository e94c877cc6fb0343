/* SPDX-License-Identifier: MIT */
/*
 * The NBD wire protocol as vbdpool-nbd speaks it: fixed newstyle
 * handshake, simple replies (NetworkBlockDevice/nbd doc/proto.md).  All
 * fields are big-endian on the wire; the helpers below put and get them.
 */
#ifndef VBDNBD_PROTO_H
#define VBDNBD_PROTO_H

#include <stdint.h>

/* ---- handshake ---------------------------------------------------------- */
#define NBD_MAGIC	    0x4e42444d41474943ull /* "NBDMAGIC" */
#define NBD_OPTS_MAGIC	    0x49484156454f5054ull /* "IHAVEOPT" */
#define NBD_REP_MAGIC	    0x0003e889045565a9ull /* option replies */
#define NBD_EXPORT_PAD_ZERO 124			  /* NBD_OPT_EXPORT_NAME reply padding */

/* handshake flags (server) and client flags */
#define NBD_FLAG_FIXED_NEWSTYLE	  (1u << 0)
#define NBD_FLAG_NO_ZEROES	  (1u << 1)
#define NBD_FLAG_C_FIXED_NEWSTYLE NBD_FLAG_FIXED_NEWSTYLE
#define NBD_FLAG_C_NO_ZEROES	  NBD_FLAG_NO_ZEROES

/* options */
#define NBD_OPT_EXPORT_NAME	  1
#define NBD_OPT_ABORT		  2
#define NBD_OPT_LIST		  3
#define NBD_OPT_STARTTLS	  5
#define NBD_OPT_INFO		  6
#define NBD_OPT_GO		  7
#define NBD_OPT_STRUCTURED_REPLY  8
#define NBD_OPT_LIST_META_CONTEXT 9
#define NBD_OPT_SET_META_CONTEXT  10

/* option reply types */
#define NBD_REP_ACK	     1u
#define NBD_REP_SERVER	     2u
#define NBD_REP_INFO	     3u
#define NBD_REP_ERR	     (1u << 31)
#define NBD_REP_ERR_UNSUP    (NBD_REP_ERR | 1)
#define NBD_REP_ERR_POLICY   (NBD_REP_ERR | 2)
#define NBD_REP_ERR_INVALID  (NBD_REP_ERR | 3)
#define NBD_REP_ERR_UNKNOWN  (NBD_REP_ERR | 6)
#define NBD_REP_ERR_SHUTDOWN (NBD_REP_ERR | 7)
#define NBD_REP_ERR_TOO_BIG  (NBD_REP_ERR | 9)

/* NBD_REP_INFO payload types */
#define NBD_INFO_EXPORT	     0
#define NBD_INFO_NAME	     1
#define NBD_INFO_DESCRIPTION 2
#define NBD_INFO_BLOCK_SIZE  3

/* transmission flags */
#define NBD_FLAG_HAS_FLAGS	   (1u << 0)
#define NBD_FLAG_READ_ONLY	   (1u << 1)
#define NBD_FLAG_SEND_FLUSH	   (1u << 2)
#define NBD_FLAG_SEND_FUA	   (1u << 3)
#define NBD_FLAG_SEND_TRIM	   (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_CAN_MULTI_CONN	   (1u << 8)

/* ---- transmission ------------------------------------------------------- */
#define NBD_REQUEST_MAGIC 0x25609513u
#define NBD_SIMPLE_MAGIC  0x67446698u
#define NBD_REQUEST_SIZE  28 /* magic 4, flags 2, type 2, cookie 8, offset 8, length 4 */
#define NBD_REPLY_SIZE	  16 /* magic 4, error 4, cookie 8 */

#define NBD_CMD_READ	     0
#define NBD_CMD_WRITE	     1
#define NBD_CMD_DISC	     2
#define NBD_CMD_FLUSH	     3
#define NBD_CMD_TRIM	     4
#define NBD_CMD_WRITE_ZEROES 6

#define NBD_CMD_FLAG_FUA     (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE (1u << 1)

/* error values (the protocol's, not the host's errno) */
#define NBD_EPERM     1
#define NBD_EIO	      5
#define NBD_ENOMEM    12
#define NBD_EINVAL    22
#define NBD_ENOSPC    28
#define NBD_EOVERFLOW 75
#define NBD_ENOTSUP   95
#define NBD_ESHUTDOWN 108

/* ---- what this server offers ------------------------------------------ */
#define VBDNBD_MIN_BLOCK  512u /* requests must be aligned to this */
#define VBDNBD_PREF_BLOCK 4096u
#define VBDNBD_MAX_BLOCK  (32u << 20) /* largest READ / WRITE payload */
#define VBDNBD_MAX_OPTLEN 8192u	      /* longer option data: drop the client */
#define VBDNBD_MAX_NAME	  4096u	      /* export names (the spec's limit) */
#define VBDNBD_MAX_OPTS	  1024u	      /* options per handshake */

static inline void nbd_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}
static inline void nbd_put32(unsigned char *p, uint32_t v)
{
	nbd_put16(p, (uint16_t)(v >> 16));
	nbd_put16(p + 2, (uint16_t)v);
}
static inline void nbd_put64(unsigned char *p, uint64_t v)
{
	nbd_put32(p, (uint32_t)(v >> 32));
	nbd_put32(p + 4, (uint32_t)v);
}
static inline uint16_t nbd_get16(const unsigned char *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static inline uint32_t nbd_get32(const unsigned char *p)
{
	return (uint32_t)nbd_get16(p) << 16 | nbd_get16(p + 2);
}
static inline uint64_t nbd_get64(const unsigned char *p)
{
	return (uint64_t)nbd_get32(p) << 32 | nbd_get32(p + 4);
}

#endif
