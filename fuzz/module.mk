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
