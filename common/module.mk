# common/: the platform layer (real Xen + emulated Xen behind one interface),
# wire definitions, logging and small utilities shared by every component,
# the one XenStore library (xs/), the typed pool snapshot (pool/), and
# libvbdschema (schema/: the schema parser, ACL helpers, tree views, the
# validator behind `vbdpoolctl schema-check` and the pool writers that set
# the schema's ACLs), which the dom0 tools link.
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



# libvbdschema.  The layout it enforces is xenstore-schema/schema.txt (the
# spec beside it: xenstore-schema/vbdpool-paths.md), compiled in as a
# generated C string so the tools need no data file.
XSCHEMA_SRCS := $(wildcard common/schema/*.c)
XSCHEMA_GEN  := $(BUILD)/gen/common/schema/schema_text.c
XSCHEMA_LIB  := $(BUILD)/lib/libvbdschema.a
XSCHEMA_INC  := -Icommon/schema
LIBS         += $(XSCHEMA_LIB)
TEST_LINK_LIBS += $(XSCHEMA_LIB)

$(XSCHEMA_GEN): xenstore-schema/schema.txt common/module.mk
	@mkdir -p $(dir $@)
	{ echo '/* generated from xenstore-schema/schema.txt: do not edit */'; \
	  echo 'const char vbd_schema_text[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@

$(XSCHEMA_LIB): $(call objs,$(XSCHEMA_SRCS) $(XSCHEMA_GEN))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# the library, its users and its tests include its headers by name
$(call objs,$(XSCHEMA_SRCS) $(XSCHEMA_GEN)): CFLAGS += $(XSCHEMA_INC)
$(BUILD)/tests/unit/schema_%: CFLAGS += $(XSCHEMA_INC)
