# fio job used by the pool tests: 4 KiB-1 MiB mixed random read/write over
# NBD with crc32c verification of everything written.  serialize_overlap:
# random sizes at QD16 would otherwise let fio have two overlapping writes
# in flight, whose order no block device guarantees (verify would then fail
# on a correct device, more often when failover re-posts one of them).
# pool_fio URI SIZE_MB RUNTIME_S OUT   (runs RUNTIME_S seconds)
pool_fio() {
	fio --name=pool --ioengine=nbd --uri="$1" --rw=randrw --rwmixread=50 \
		--bsrange=4k-1m --iodepth=16 --size="$2"m \
		--verify=crc32c --verify_fatal=1 --verify_state_save=0 --serialize_overlap=1 --verify_backlog=64 --do_verify=1 \
		--runtime="$3" --time_based --exitall_on_error=1 \
		--output="$4" >/dev/null 2>&1
}
# errors reported by fio in OUT (0 when clean)
fio_errors() { grep -oE 'err= *[0-9]+' "$1" | grep -oE '[0-9]+' | sort -nr | head -1; }
