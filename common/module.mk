# common/: the platform layer (real Xen + emulated Xen behind one interface),
# wire definitions, logging and small utilities shared by every component.
COMMON_SRCS := $(wildcard common/util/*.c common/platform/*.c common/xs/*.c common/pool/*.c)
COMMON_LIB  := $(BUILD)/lib/libvbdcommon.a
LIBS        += $(COMMON_LIB)

$(COMMON_LIB): $(call objs,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^


