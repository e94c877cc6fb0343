# bench/: benchmarks (not tests).
# bench/ring: IOPS of the frontend library against null backends.
FRONT_BENCH := $(BUILD)/bench/ring
BINS += $(FRONT_BENCH)
bench: $(FRONT_BENCH)
$(FRONT_BENCH): bench/ring.c $(FRONT_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XEN_CFLAGS) $< $(FRONT_LIB) $(COMMON_LIB) $(LDFLAGS) $(XEN_LIBS) -o $@

# Platform benchmarks: XenStore round trips, event-channel
# ping-pong, grant map+unmap.  `make bench-platform` builds them and runs
# bench/run-platform.sh on an emulated host.
PLAT_BENCH_SRCS := bench/xs_rtt.c bench/evtchn_pingpong.c bench/gnt_mapunmap.c
PLAT_BENCHES    := $(patsubst bench/%.c,$(BUILD)/bench/%,$(PLAT_BENCH_SRCS))
BINS            += $(PLAT_BENCHES)

.PHONY: bench-platform
bench: bench-platform
bench-platform: $(PLAT_BENCHES) $(BUILD)/bin/xensim
	bench/run-platform.sh $(BUILD)

$(PLAT_BENCHES): $(BUILD)/bench/%: bench/%.c $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XEN_CFLAGS) $< $(COMMON_LIB) $(LDFLAGS) $(XEN_LIBS) -o $@

# bench/stats_record: the data plane's per-request counter cost against the
# baseline it replaced (ns per request and the ratio).
STATS_BENCH := $(BUILD)/bench/stats_record
BINS += $(STATS_BENCH)
bench: $(STATS_BENCH)
$(STATS_BENCH): bench/stats_record.c $(BACKEND_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(BACKEND_TEST_INC) $< $(BACKEND_LIB) $(COMMON_LIB) $(LDFLAGS) -o $@
