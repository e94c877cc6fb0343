# common/: the platform layer (real Xen + emulated Xen behind one interface),
# wire definitions, logging and small utilities shared by every component.
COMMON_SRCS := $(wildcard common/util/*.c common/platform/*.c common/xs/*.c common/pool/*.c)
COMMON_LIB  := $(BUILD)/lib/libvbdcommon.a
LIBS        += $(COMMON_LIB)

# The emulated platform (common/platform/sim_*.c) speaks the emulator's wire
# protocol, sim/include/sim_hyp.h: only those objects (static and PIC) see it.
COMMON_SIM_SRCS := $(wildcard common/platform/sim_*.c)
$(call objs,$(COMMON_SIM_SRCS)) $(patsubst %.c,$(BUILD)/pic/%.o,$(COMMON_SIM_SRCS)): \
	private CFLAGS += -Isim/include

$(COMMON_LIB): $(call objs,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^


