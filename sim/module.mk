# tools/xensim: the emulated Xen host (daemon + CLI in one binary).
XENSIM_SRCS := $(wildcard tools/xensim/*.c)
BINS        += $(BUILD)/bin/xensim

$(BUILD)/bin/xensim: $(call objs,$(XENSIM_SRCS)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDFLAGS) -o $@
