# tests/:
#   tests/unit/*.c         one test program each, run directly by the runner
#   tests/progs/*.c        helper programs that integration tests run inside
#                          emulated domains (not run on their own)
#   tests/integration/*.sh integration tests; each starts its own emulated
#                          host in a private temp dir (tests/lib/sim.sh)
# tests/run-tests.sh runs unit + integration and prints "N passed, N failed".
TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
TEST_C_SRCS   := $(wildcard tests/unit/*.c tests/progs/*.c)
TEST_BINS     := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_C_SRCS))
TESTS         += $(TEST_BINS)

# The tests that talk to the emulator directly (its XenStore server
# library, its wire protocol) see its headers, sim/include.
SIM_TEST_BINS := $(addprefix $(BUILD)/tests/,unit/xs_server_test unit/common_xs unit/pool_snap \
                 unit/platform_msg progs/xs_standalone progs/xs_hostile progs/plat_badclient \
                 progs/plat_evtchn)
$(SIM_TEST_BINS): private CFLAGS += $(SIM_CFLAGS)
# tests/lib/xs_local.c: that server in a thread, for the unit tests
$(call objs,tests/lib/xs_local.c): private CFLAGS += $(SIM_CFLAGS)

# The backend's unit tests see its internal headers.
$(BUILD)/tests/unit/backend_%: private CFLAGS += $(BACKEND_TEST_INC)

# Test programs link the product libraries listed in TEST_LINK_LIBS by the
# component module.mk files, plus the common layer.
$(BUILD)/tests/%: tests/%.c $(call objs,$(TEST_LIB_SRCS)) $(TEST_LINK_LIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XEN_CFLAGS) -Itests/lib $< $(call objs,$(TEST_LIB_SRCS)) \
		$(TEST_LINK_LIBS) $(COMMON_LIB) $(LDFLAGS) $(XEN_LIBS) $(TEST_EXTRA_LIBS) -o $@
