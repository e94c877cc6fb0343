# tools/supervisor: vbdpool-supervisor, the dom0 daemon that records member
# deaths, fences hung members and signals drains.  Reads the pool through
# common/ (the XenStore library, the pool snapshot) and writes it with the
# schema's ACLs (libvbdschema: vbd_pool_acl.h); nothing of vbdpoolctl.
SUPERVISOR_SRCS := $(wildcard tools/supervisor/*.c)
BINS            += $(BUILD)/bin/vbdpool-supervisor

$(call objs,$(SUPERVISOR_SRCS)): CFLAGS += $(XSCHEMA_INC)

$(BUILD)/bin/vbdpool-supervisor: $(call objs,$(SUPERVISOR_SRCS)) $(BUILD)/lib/libvbdschema.a \
		$(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDFLAGS) $(XEN_LIBS) -o $@
