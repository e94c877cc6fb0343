# fuzz/: libFuzzer targets (`make fuzz`, FUZZ_TIME seconds each, not part of
# `make check`).  Each target compiles the product sources it fuzzes from
# the list their own module.mk exports (XS_LIB_SRCS and XS_FUZZ_SRCS from
# sim/module.mk, ...).
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_FLAGS  := -std=gnu11 -g -O1 -D_GNU_SOURCE -Icommon/include \
               -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=undefined

# $(call fuzz_run,NAME,TARGET,SEED_CORPUS): `make fuzz-NAME` (and `make fuzz`) runs
# TARGET for FUZZ_TIME seconds on $(FUZZ_DIR)/corpus-NAME and the SEED_CORPUS folder.
define fuzz_run
.PHONY: fuzz-$(1)
fuzz: fuzz-$(1)
fuzz-$(1): $$(FUZZ_DIR)/$(2)
	@mkdir -p $$(FUZZ_DIR)/corpus-$(1)
	$$(FUZZ_DIR)/$(2) -max_total_time=$$(FUZZ_TIME) -print_final_stats=1 \
		$$(FUZZ_DIR)/corpus-$(1) $(3)
endef

XS_FUZZ_ALL := $(XS_LIB_SRCS) $(XS_FUZZ_SRCS) common/util/log.c
$(FUZZ_DIR)/xs_wire_fuzz: fuzz/xs_wire_fuzz.c $(XS_FUZZ_ALL) $(XS_LIB_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(SIM_CFLAGS) -Isim/xs fuzz/xs_wire_fuzz.c $(XS_FUZZ_ALL) -o $@

fuzz: $(FUZZ_DIR)/xs_wire_fuzz
	@mkdir -p $(FUZZ_DIR)/corpus-xs
	$(FUZZ_DIR)/xs_wire_fuzz -max_total_time=$(FUZZ_TIME) -print_final_stats=1 $(FUZZ_DIR)/corpus-xs fuzz/corpus-xs

# fuzz/backend_ring_fuzz: the backend's data path (ring indices, request
# slots, indirect pages, grant refs, sector ranges) against a hostile
# frontend, on a fake grant table with the null and inline engines.
BACK_FUZZ_SRCS := $(BACKEND_DATAPATH_SRCS) common/util/log.c common/util/parse_num.c
$(eval $(call fuzz_run,backend,backend_ring_fuzz,fuzz/corpus-backend))
$(FUZZ_DIR)/backend_ring_fuzz: fuzz/backend_ring_fuzz.c $(BACK_FUZZ_SRCS) $(BACKEND_HDRS) \
		tests/lib/fake_evtchn.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(BACKEND_TEST_INC) -Itests/lib -pthread fuzz/backend_ring_fuzz.c $(BACK_FUZZ_SRCS) -o $@ \
		$(URING_LIBS)

# fuzz/front_ring_fuzz: the frontend's response checks against a hostile
# owner.
FRONT_FUZZ_SRCS := $(FRONT_RING_SRCS) common/util/log.c tests/lib/check.c
$(eval $(call fuzz_run,front,front_ring_fuzz,))
$(FUZZ_DIR)/front_ring_fuzz: fuzz/front_ring_fuzz.c $(FRONT_FUZZ_SRCS) tests/unit/front_fake.h \
		tests/lib/check.h $(wildcard frontend/src/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -Ifrontend/include -Ifrontend/src -Itests/lib -Itests/unit \
		fuzz/front_ring_fuzz.c $(FRONT_FUZZ_SRCS) -o $@
