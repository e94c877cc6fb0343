/* SPDX-License-Identifier: MIT */
/* The block operations every layer speaks: the frontend library's API, the
 * NBD servers and the backend's I/O engines. Installed with front.h. */
#ifndef VBDPOOL_IO_OP_H
#define VBDPOOL_IO_OP_H

enum vbd_io_op {
	VBD_IO_READ,
	VBD_IO_WRITE,
	VBD_IO_FLUSH, /* all completed writes durable (every queue) */
	VBD_IO_DISCARD,
};

#endif
