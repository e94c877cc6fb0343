# xenstore-schema/: the XenStore layout (vbdpool-paths.md, schema.txt) and
# libvbdschema: schema parser, ACL helpers, tree views (in-memory, live),
# the validator behind `vbdpoolctl schema-check` and the pool writers that
# set the schema's ACLs (pool_acl.c, used by vbdpoolctl and the supervisor).
# schema.txt is compiled in (a generated C string), so the tool needs no
# data file.
XSCHEMA_SRCS := $(wildcard xenstore-schema/*.c)
XSCHEMA_GEN  := $(BUILD)/gen/xenstore-schema/schema_text.c
XSCHEMA_LIB  := $(BUILD)/lib/libvbdschema.a
LIBS         += $(XSCHEMA_LIB)
TEST_LINK_LIBS += $(XSCHEMA_LIB)

$(XSCHEMA_GEN): xenstore-schema/schema.txt xenstore-schema/module.mk
	@mkdir -p $(dir $@)
	{ echo '/* generated from xenstore-schema/schema.txt: do not edit */'; \
	  echo 'const char vbd_schema_text[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@

$(XSCHEMA_LIB): $(call objs,$(XSCHEMA_SRCS) $(XSCHEMA_GEN))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# the library, its users and its tests include its headers by name
$(call objs,$(XSCHEMA_SRCS) $(XSCHEMA_GEN)): CFLAGS += -Ixenstore-schema
$(BUILD)/tests/unit/schema_%: CFLAGS += -Ixenstore-schema
