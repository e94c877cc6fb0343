#!/usr/bin/env bash
# vbdpool-nbd under failover: pool_failover.sh (fio 4 KiB-1 MiB random
# read/write with crc32c verify over NBD, 3 members, one destroyed mid-run:
# zero errors, survivors own its queues, schema-check) with the guest's
# native NBD server instead of nbdkit + the plugin; it must also have
# logged no error.
POOL_NBD_SERVER=vbdpool-nbd exec bash "$VBD_TOP/tests/integration/pool_failover.sh"
