# tools/supervisor: vbdpool-supervisor, the dom0 daemon that records member
# deaths (and, later, fences hung members).  Shares the XenStore and pool
# helpers of libvbdctl (tools/vbdpoolctl) and the schema's ACLs.
SUPERVISOR_SRCS := $(wildcard tools/supervisor/*.c)
BINS            += $(BUILD)/bin/vbdpool-supervisor

$(call objs,$(SUPERVISOR_SRCS)): CFLAGS += -Ixenstore-schema -Itools/vbdpoolctl

$(BUILD)/bin/vbdpool-supervisor: $(call objs,$(SUPERVISOR_SRCS)) $(BUILD)/lib/libvbdctl.a \
		$(BUILD)/lib/libvbdschema.a $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDFLAGS) $(XEN_LIBS) -o $@
