# frontend/: libvbdpool-front (the guest side: rings, grants, queues,
# ownership following, re-posting) and the nbdkit plugin `vbdpool` that
# exports a device over NBD.  See docs/frontend.md.
FRONT_SRCS   := $(wildcard frontend/src/*.c)
FRONT_LIB    := $(BUILD)/lib/libvbdpool-front.a
FRONT_PLUGIN := $(BUILD)/lib/nbdkit-vbdpool-plugin.so
LIBS         += $(FRONT_LIB) $(FRONT_PLUGIN)
TEST_LINK_LIBS += $(FRONT_LIB)

# The public header is for every component (tools, tests, bench).
CFLAGS += -Ifrontend/include
# Unit tests of the frontend also see its internal headers.
$(BUILD)/tests/unit/front_%: private CFLAGS += -Ifrontend/src

# The response checks (ring, shadow, grant pool), for fuzz/front_ring_fuzz.
FRONT_RING_SRCS := frontend/src/ring.c frontend/src/shadow.c frontend/src/gpool.c

$(FRONT_LIB): $(call objs,$(FRONT_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The plugin is a shared object: the library and the common layer are
# built again as position-independent code under $(BUILD)/pic/.
NBDKIT_CFLAGS = $(shell pkg-config --cflags nbdkit 2>/dev/null)
pic_objs = $(patsubst %.c,$(BUILD)/pic/%.o,$(1))
FRONT_PLUGIN_SRCS := frontend/nbdkit/vbdpool.c $(FRONT_SRCS) $(COMMON_SRCS)

# nbdkit itself is not built with ASan, and the ASan runtime must come
# first in a process: with SAN=1 the plugin keeps UBSan only (the library
# runs under ASan in front_verify and bench/ring).
comma := ,
PIC_SAN = $(subst -fsanitize=address$(comma)undefined,-fsanitize=undefined,$(1))

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(call PIC_SAN,$(CFLAGS)) -fPIC $(XEN_CFLAGS) $(NBDKIT_CFLAGS) -c $< -o $@

$(FRONT_PLUGIN): $(call pic_objs,$(FRONT_PLUGIN_SRCS))
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $^ $(call PIC_SAN,$(LDFLAGS)) $(XEN_LIBS)

# libvbdpool-front.so: the same PIC objects (but the plugin's own), with
# only the API of front.h exported (libvbdpool-front.map; nm -D).  Real
# file .so.SOVERSION.MINOR.0, SONAME .so.SOVERSION, links to both, as Debian
# ships libraries.  Bump FRONT_SOVERSION when a function of front.h changes
# or goes away (a new soname).  A function added goes into a new version
# node VBDPOOL_FRONT_<SOVERSION>.<MINOR> of the map: MINOR is the newest
# node's, read from the map (the one place it is written).
FRONT_SOVERSION := 0
FRONT_SOMINOR   := $(shell sed -n 's/^VBDPOOL_FRONT_$(FRONT_SOVERSION)\.\([0-9][0-9]*\) {.*/\1/p' \
	frontend/libvbdpool-front.map | sort -n | tail -n 1)
FRONT_SOMINOR   := $(or $(FRONT_SOMINOR),0).0
FRONT_SONAME    := libvbdpool-front.so.$(FRONT_SOVERSION)
FRONT_SO        := $(BUILD)/lib/$(FRONT_SONAME).$(FRONT_SOMINOR)
LIBS            += $(FRONT_SO)
$(FRONT_SO): $(call pic_objs,$(FRONT_SRCS) $(COMMON_SRCS)) frontend/libvbdpool-front.map
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,$(FRONT_SONAME) -Wl,--version-script=frontend/libvbdpool-front.map \
		-Wl,-z,defs -Wl,--as-needed -o $@ $(filter %.o,$^) $(call PIC_SAN,$(LDFLAGS)) $(XEN_LIBS)
	ln -sf $(notdir $@) $(BUILD)/lib/$(FRONT_SONAME)
	ln -sf $(FRONT_SONAME) $(BUILD)/lib/libvbdpool-front.so

-include $(shell find $(BUILD)/pic -name '*.d' 2>/dev/null)

# vbdpool-nbd: a native NBD server for one device that completes requests
# from the library's event thread (frontend/nbd/, docs/frontend.md).
NBD_SERVER_SRCS := $(wildcard frontend/nbd/*.c)
BINS += $(BUILD)/bin/vbdpool-nbd
$(BUILD)/bin/vbdpool-nbd: $(call objs,$(NBD_SERVER_SRCS)) $(FRONT_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDFLAGS) $(XEN_LIBS) -o $@

# vbdpool-guestd: the guest agent, one vbdpool-nbd per device of
# device/vbdpool/ connected to the kernel's NBD client (frontend/guestd/,
# docs/frontend.md).
GUESTD_SRCS := $(wildcard frontend/guestd/*.c)
BINS += $(BUILD)/bin/vbdpool-guestd
$(BUILD)/bin/vbdpool-guestd: $(call objs,$(GUESTD_SRCS)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDFLAGS) $(XEN_LIBS) -o $@
