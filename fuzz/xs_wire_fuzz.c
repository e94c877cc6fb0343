/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the emulator's XenStore server: raw bytes through the
 * framing, argument parsing and every operation.  The first input byte
 * chooses the mode: one connection as dom0, one as a domU, or several
 * connections and toolstack calls interleaved (xs_server_fuzz_multi). */
#include <stddef.h>
#include <stdint.h>

#include "xs_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		xs_server_fuzz_input(data + 1, size - 1, 0);
		break;
	case 1:
		xs_server_fuzz_input(data + 1, size - 1, 1);
		break;
	default:
		xs_server_fuzz_multi(data + 1, size - 1);
		break;
	}
	return 0;
}
