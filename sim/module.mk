# sim/: the emulated Xen host, the test harness (not installed, not linked
# into the product).  See docs/xenstore-emulation.md.
#   sim/          the daemon + CLI in one binary, xensim
#   sim/xs/       its XenStore server and event loop, libxsserver (also
#                 linked by the unit tests and tests/progs/xs_standalone),
#                 and the server's fuzzing entry points (xs_fuzz.c: only
#                 the fuzz target links them, see fuzz/module.mk)
#   sim/include/  the headers the emulator's clients use: sim_hyp.h (the
#                 wire protocol of the emulated hypercalls, spoken by
#                 common/platform/sim_*.c), xs_server.h, simloop.h
SIM_CFLAGS   := -Isim/include
XS_FUZZ_SRCS := sim/xs/xs_fuzz.c
XS_LIB_SRCS  := $(filter-out $(XS_FUZZ_SRCS),$(wildcard sim/xs/*.c))
XS_LIB_HDRS  := $(wildcard sim/xs/*.h sim/include/*.h)
XS_LIB       := $(BUILD)/lib/libxsserver.a
XENSIM_SRCS  := $(wildcard sim/*.c)
LIBS         += $(XS_LIB)
BINS         += $(BUILD)/bin/xensim
TEST_LINK_LIBS += $(XS_LIB)

$(call objs,$(XENSIM_SRCS) $(XS_LIB_SRCS)): private CFLAGS += $(SIM_CFLAGS)

$(XS_LIB): $(call objs,$(XS_LIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/xensim: $(call objs,$(XENSIM_SRCS)) $(XS_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDFLAGS) -o $@
