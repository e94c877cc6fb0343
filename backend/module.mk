# backend/: vbdpool-backd, the driver-domain service.
#   control path (backend/*.c): main.c control.c pool.c ownership.c connect.c
#                 policy.c balance.c heartbeat.c pathcheck.c instance.c
#                 storage.c statpub.c (XenStore: common/xs)
#   data plane (backend/dataplane/): queue.c ring.c request.c grant_cache.c,
#                 the I/O engines (io_engine.c io_uring.c io_threads.c
#                 engine_*.c) backing.c stats.c.  Sealed: the control path
#                 is compiled with -Ibackend/dataplane/include only (the
#                 interface dataplane.h and the types it exposes), so it
#                 cannot include queue.h, ring.h, request.h or grant_cache.h.
# Everything but main.c goes into libvbdbackend.a, which the unit tests link.
BACKEND_DP_SRCS  := $(wildcard backend/dataplane/*.c)
BACKEND_SRCS     := $(filter-out backend/main.c,$(wildcard backend/*.c)) $(BACKEND_DP_SRCS)
BACKEND_DP_INC   := -Ibackend/dataplane/include
# What the backend's unit tests, its fuzzer and its benchmarks see: every
# internal header, the data plane's private ones included.
BACKEND_TEST_INC := -Ibackend -Ibackend/dataplane $(BACKEND_DP_INC)
BACKEND_HDRS     := $(wildcard backend/*.h backend/dataplane/*.h backend/dataplane/include/*.h)
BACKEND_LIB      := $(BUILD)/lib/libvbdbackend.a
# The data path's sources, for the ring fuzzer (fuzz/module.mk).
BACKEND_DATAPATH_SRCS := $(BACKEND_DP_SRCS)
URING_LIBS        = $(shell pkg-config --libs liburing 2>/dev/null || echo -luring)
LIBS             += $(BACKEND_LIB)
BINS             += $(BUILD)/bin/vbdpool-backd
TEST_LINK_LIBS   += $(BACKEND_LIB)
TEST_EXTRA_LIBS  += $(URING_LIBS)

$(call objs,$(BACKEND_SRCS) backend/main.c): CFLAGS += $(BACKEND_DP_INC)

$(BACKEND_LIB): $(call objs,$(BACKEND_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/vbdpool-backd: $(call objs,backend/main.c) $(BACKEND_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDFLAGS) $(XEN_LIBS) $(URING_LIBS) -o $@
