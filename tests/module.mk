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

# Test programs link the product libraries listed in TEST_LINK_LIBS by the
# component module.mk files, plus the common layer.
$(BUILD)/tests/%: tests/%.c $(call objs,$(TEST_LIB_SRCS)) $(TEST_LINK_LIBS) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XEN_CFLAGS) -Itests/lib $< $(call objs,$(TEST_LIB_SRCS)) \
		$(TEST_LINK_LIBS) $(COMMON_LIB) $(LDFLAGS) $(XEN_LIBS) $(TEST_EXTRA_LIBS) -o $@
