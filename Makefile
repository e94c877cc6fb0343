# vbdpool — top-level build.  Non-recursive: each directory contributes a
# module.mk fragment that appends to BINS / LIBS / TESTS.
#
#   make            build everything into build/
#   make check      install missing Debian packages, build, run all tests,
#                   then again built with ASan+UBSan (build/san/)
#   make demo       the main job on the emulated Xen host
#   make fuzz       libFuzzer targets (60 s each, not part of check)
#   make bench      benchmarks (not tests)
#   make check-xen  the real-Xen rig (Xen 4.17 under QEMU)

SHELL      := /bin/bash
TOP        := $(CURDIR)
SAN        ?= 0
ifeq ($(SAN),1)
BUILD      ?= build/san
SANFLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD      ?= build
SANFLAGS   :=
endif
CC         ?= gcc
OPT        ?= -O2
CFLAGS     := -std=gnu11 -Wall -Wextra -Werror $(OPT) -g -D_GNU_SOURCE -pthread \
              -Icommon/include -MMD -MP $(SANFLAGS)
LDFLAGS    := -pthread $(SANFLAGS)

# Debian packages the build, tests, demo and benchmarks need.
DEB_PKGS   := build-essential pkg-config clang libxen-dev xenstore-utils xen-utils-4.17 \
              liburing-dev libcmocka-dev nbdkit nbdkit-plugin-dev qemu-utils fio libnbd-bin \
              libfuse3-dev fuse3 python3 help2man nbd-client

PKGS_XEN   := xenstore xenevtchn xengnttab xencontrol
XEN_CFLAGS  = $(shell pkg-config --cflags $(PKGS_XEN) 2>/dev/null)
XEN_LIBS    = $(shell pkg-config --libs $(PKGS_XEN) 2>/dev/null)

BINS  :=
LIBS  :=
TESTS :=

# $(call objs,SRCS) -> object paths under $(BUILD)/obj
objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

.PHONY: all check check-build test deps demo fuzz bench check-xen clean format
all: $(BUILD)/.built

include common/module.mk
include sim/module.mk
include $(wildcard tools/*/module.mk)
include $(wildcard backend/module.mk frontend/module.mk)
include tests/module.mk
include $(wildcard tests/faultfs/module.mk)
include $(wildcard fuzz/module.mk bench/module.mk)
include install/module.mk

$(BUILD)/.built: $(BINS) $(LIBS) $(TESTS)
	@touch $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(XEN_CFLAGS) -c $< -o $@

# --- packages ------------------------------------------------------------
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing; }; \
	fi

# --- tests ---------------------------------------------------------------
test: all
	@tests/run-tests.sh $(BUILD) | tee $(BUILD)/test-summary.txt

check: deps
	$(MAKE) all
	$(MAKE) SAN=1 all
	@rc=0; \
	tests/run-tests.sh build > >(tee build/test-plain.log) || rc=1; \
	wait; \
	VBD_SAN=1 tests/run-tests.sh build/san > >(tee build/test-san.log) || rc=1; \
	wait; \
	p=$$(( $$(grep -c '^PASS ' build/test-plain.log) + $$(grep -c '^PASS ' build/test-san.log) )); \
	f=$$(( $$(grep -c '^FAIL ' build/test-plain.log) + $$(grep -c '^FAIL ' build/test-san.log) )); \
	s=$$(( $$(grep -c '^SKIP ' build/test-plain.log) + $$(grep -c '^SKIP ' build/test-san.log) )); \
	echo "all (plain + asan/ubsan):"; \
	echo "$$p passed, $$f failed, $$s skipped"; \
	exit $$rc

clean:
	rm -rf build

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
