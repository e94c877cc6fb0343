# fuzz/: libFuzzer targets (`make fuzz`, 60 s each) and the XenStore server
# library that the unit tests and the standalone test server link.
XS_LIB_SRCS := $(wildcard tools/xensim/xs_*.c) tools/xensim/simloop.c
XS_LIB      := $(BUILD)/lib/libxsserver.a
LIBS        += $(XS_LIB)
TEST_LINK_LIBS += $(XS_LIB)
# tests/module.mk is read first: make its programs wait for the library.
$(TEST_BINS): $(XS_LIB)

$(XS_LIB): $(call objs,$(XS_LIB_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_DIR    := build/fuzz
FUZZ_FLAGS  := -std=gnu11 -g -O1 -D_GNU_SOURCE -Itools/xensim -Icommon/include \
               -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined

$(FUZZ_DIR)/xs_wire_fuzz: fuzz/xs_wire_fuzz.c $(XS_LIB_SRCS) common/util/log.c $(wildcard tools/xensim/xs_*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) fuzz/xs_wire_fuzz.c $(XS_LIB_SRCS) common/util/log.c -o $@

fuzz: $(FUZZ_DIR)/xs_wire_fuzz
	@mkdir -p $(FUZZ_DIR)/corpus-xs
	$(FUZZ_DIR)/xs_wire_fuzz -max_total_time=$(FUZZ_TIME) -print_final_stats=1 $(FUZZ_DIR)/corpus-xs fuzz/corpus-xs

# fuzz/backend_ring_fuzz: the backend's data path (ring indices, request
# slots, indirect pages, grant refs, sector ranges) against a hostile
# frontend, on a fake grant table with the null and inline engines.
BACK_FUZZ_SRCS := $(addprefix backend/,queue.c ring.c request.c grant_cache.c io_engine.c \
                  io_uring.c io_threads.c engine_null.c engine_inline.c engine_wrap.c \
                  engine_fault.c engine_throttle.c backing.c stats.c) \
                  common/util/log.c common/util/parse_num.c
.PHONY: fuzz-backend
fuzz: fuzz-backend
fuzz-backend: $(FUZZ_DIR)/backend_ring_fuzz
	@mkdir -p $(FUZZ_DIR)/corpus-backend
	$(FUZZ_DIR)/backend_ring_fuzz -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
		$(FUZZ_DIR)/corpus-backend fuzz/corpus-backend
$(FUZZ_DIR)/backend_ring_fuzz: fuzz/backend_ring_fuzz.c $(BACK_FUZZ_SRCS) $(wildcard backend/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -pthread fuzz/backend_ring_fuzz.c $(BACK_FUZZ_SRCS) -o $@ \
		$(URING_LIBS)
