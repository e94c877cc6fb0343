# tools/vbdpoolctl: the dom0 tool.  Everything but main.c is libvbdctl
# (unit-tested: tests/unit/ctl_*.c).  It links libvbdschema (common/schema).
VBDCTL_SRCS := $(filter-out tools/vbdpoolctl/main.c,$(wildcard tools/vbdpoolctl/*.c))
VBDCTL_LIB  := $(BUILD)/lib/libvbdctl.a
VBDCTL_SCHEMA_LIB := $(XSCHEMA_LIB)
LIBS        += $(VBDCTL_LIB)
BINS        += $(BUILD)/bin/vbdpoolctl
TEST_LINK_LIBS += $(VBDCTL_LIB)

# `attach --config` parses xl config files with Xen's libxlutil (xlcfg.c;
# libxen-dev, which pulls in libxenmisc with libxlutil and libxenlight).
XLUTIL_LIBS := $(or $(shell pkg-config --libs xlutil 2>/dev/null),-lxlutil)

$(call objs,$(VBDCTL_SRCS) tools/vbdpoolctl/main.c): CFLAGS += $(XSCHEMA_INC) -Itools/vbdpoolctl
$(BUILD)/tests/unit/ctl_%: CFLAGS += $(XSCHEMA_INC) -Itools/vbdpoolctl
$(BUILD)/tests/unit/ctl_%: TEST_EXTRA_LIBS += $(XLUTIL_LIBS)

$(VBDCTL_LIB): $(call objs,$(VBDCTL_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/vbdpoolctl: $(call objs,tools/vbdpoolctl/main.c) $(VBDCTL_LIB) $(VBDCTL_SCHEMA_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDFLAGS) $(XEN_LIBS) $(XLUTIL_LIBS) -o $@
