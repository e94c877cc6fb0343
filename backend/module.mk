# backend/: vbdpool-backd, the driver-domain service.
#   control path: main.c control.c pool.c ownership.c connect.c policy.c
#                 balance.c heartbeat.c pathcheck.c instance.c storage.c
#                 (XenStore: common/xs)
#   data path:    queue.c ring.c request.c grant_cache.c io_engine.c io_uring.c
#                 io_threads.c backing.c stats.c, behind dataplane.h (the
#                 control path includes nothing else of it; queue.h is
#                 private to the data plane and its tests)
# Everything but main.c goes into libvbdbackend.a, which the unit tests link.
BACKEND_SRCS     := $(filter-out backend/main.c,$(wildcard backend/*.c))
BACKEND_LIB      := $(BUILD)/lib/libvbdbackend.a
# The data path's sources, for the ring fuzzer (fuzz/module.mk).
BACKEND_DATAPATH_SRCS := $(addprefix backend/,queue.c ring.c request.c grant_cache.c io_engine.c \
                         io_uring.c io_threads.c engine_null.c engine_inline.c engine_wrap.c \
                         engine_fault.c engine_throttle.c backing.c stats.c)
URING_LIBS        = $(shell pkg-config --libs liburing 2>/dev/null || echo -luring)
LIBS             += $(BACKEND_LIB)
BINS             += $(BUILD)/bin/vbdpool-backd
TEST_LINK_LIBS   += $(BACKEND_LIB)
TEST_EXTRA_LIBS  += $(URING_LIBS)

$(BACKEND_LIB): $(call objs,$(BACKEND_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/bin/vbdpool-backd: $(call objs,backend/main.c) $(BACKEND_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $^ $(LDFLAGS) $(XEN_LIBS) $(URING_LIBS) -o $@
