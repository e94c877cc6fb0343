/* SPDX-License-Identifier: MIT */
/* libFuzzer target: raw bytes of one XenStore connection, as dom0 or as a
 * domU (first input byte chooses), through the framing, argument parsing
 * and every operation of the emulator's XenStore server. */
#include <stddef.h>
#include <stdint.h>

#include "xs_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned domid = 0;

	if (size) {
		domid = data[0] & 1 ? 1 : 0;
		data++;
		size--;
	}
	xs_server_fuzz_input(data, size, domid);
	return 0;
}
