# install/: `make install` and `make uninstall`, laid out as a Debian
# package of a Xen tool would be (docs/tooling.md "Installing"):
#   $(sbindir)      vbdpoolctl vbdpool-backd vbdpool-supervisor vbdpool-nbd
#                   vbdpool-guestd
#                   (not xensim: the emulated host is the test harness)
#   $(libdir)       libvbdpool-front.so.<soversion>.<minor>, the .so.<soversion>
#                   and .so links, pkgconfig/vbdpool-front.pc
#   $(includedir)   vbdpool/front.h vbdpool/io_op.h
#   $(mandir)/man8  a page per program: help2man from its --help and
#                   --version plus install/man/<program>.h2m
#   $(unitdir)      vbdpool-supervisor.service (dom0), vbdpool-backd.service
#                   (driver domain), vbdpool-guestd.service (guest)
#   $(sysconfdir)/default  the units' EnvironmentFiles, never overwritten
# PREFIX (default /usr/local) and DESTDIR as usual; every directory can be
# given on the command line (make install PREFIX=/usr unitdir=/lib/systemd/system).
PREFIX      ?= /usr/local
sbindir     ?= $(PREFIX)/sbin
libdir      ?= $(PREFIX)/lib
includedir  ?= $(PREFIX)/include
pkgconfigdir ?= $(libdir)/pkgconfig
mandir      ?= $(PREFIX)/share/man
unitdir     ?= $(PREFIX)/lib/systemd/system
sysconfdir  ?= /etc

VBD_VERSION := $(shell sed -n 's/^\#define VBDPOOL_VERSION "\(.*\)"$$/\1/p' common/include/vbdpool/version.h)
INSTALL_PROGS   := vbdpoolctl vbdpool-backd vbdpool-supervisor vbdpool-nbd vbdpool-guestd
INSTALL_HEADERS := frontend/include/vbdpool/front.h common/include/vbdpool/io_op.h
INSTALL_UNITS   := vbdpool-supervisor.service vbdpool-backd.service vbdpool-guestd.service
INSTALL_DEFAULTS := vbdpool-supervisor vbdpool-backd vbdpool-guestd
INSTALL_MANS    := $(patsubst %,$(BUILD)/man/%.8,$(INSTALL_PROGS))
INSTALL_GEN     := $(patsubst %,$(BUILD)/install/%,$(INSTALL_UNITS) vbdpool-front.pc)

.PHONY: install uninstall man
man: $(INSTALL_MANS)

# The man pages: one source per program, its own --help/--version (help2man,
# Debian package help2man) and the sections it cannot say (install/man/).
$(BUILD)/man/%.8: $(BUILD)/bin/% install/man/%.h2m
	@mkdir -p $(dir $@)
	@command -v help2man >/dev/null || { echo "help2man is missing (make deps)" >&2; exit 1; }
	help2man --no-info --section=8 --manual="vbdpool" --include=install/man/$*.h2m \
		--output=$@ $<

# Units and the .pc file name the directories they are installed with.
$(BUILD)/install/%: install/%.in common/include/vbdpool/version.h FORCE
	@mkdir -p $(dir $@)
	sed -e 's|@sbindir@|$(sbindir)|g' -e 's|@sysconfdir@|$(sysconfdir)|g' \
	    -e 's|@libdir@|$(libdir)|g' -e 's|@includedir@|$(includedir)|g' \
	    -e 's|@VERSION@|$(VBD_VERSION)|g' $< > $@.tmp && mv $@.tmp $@
.PHONY: FORCE
FORCE:

install: $(addprefix $(BUILD)/bin/,$(INSTALL_PROGS)) $(FRONT_SO) $(INSTALL_MANS) $(INSTALL_GEN)
	install -d $(DESTDIR)$(sbindir) $(DESTDIR)$(libdir) $(DESTDIR)$(pkgconfigdir) \
		$(DESTDIR)$(includedir)/vbdpool $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(unitdir) \
		$(DESTDIR)$(sysconfdir)/default
	install -m 0755 $(addprefix $(BUILD)/bin/,$(INSTALL_PROGS)) $(DESTDIR)$(sbindir)/
	install -m 0644 $(FRONT_SO) $(DESTDIR)$(libdir)/
	ln -sfn $(notdir $(FRONT_SO)) $(DESTDIR)$(libdir)/$(FRONT_SONAME)
	ln -sfn $(FRONT_SONAME) $(DESTDIR)$(libdir)/libvbdpool-front.so
	install -m 0644 $(INSTALL_HEADERS) $(DESTDIR)$(includedir)/vbdpool/
	install -m 0644 $(BUILD)/install/vbdpool-front.pc $(DESTDIR)$(pkgconfigdir)/
	install -m 0644 $(INSTALL_MANS) $(DESTDIR)$(mandir)/man8/
	install -m 0644 $(addprefix $(BUILD)/install/,$(INSTALL_UNITS)) $(DESTDIR)$(unitdir)/
	@for f in $(INSTALL_DEFAULTS); do \
	  if [ -e $(DESTDIR)$(sysconfdir)/default/$$f ]; then \
	    echo "keeping $(DESTDIR)$(sysconfdir)/default/$$f"; \
	  else install -m 0644 install/default/$$f $(DESTDIR)$(sysconfdir)/default/$$f; fi; \
	done
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig || true; fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(sbindir)/,$(INSTALL_PROGS))
	rm -f $(DESTDIR)$(libdir)/$(notdir $(FRONT_SO)) $(DESTDIR)$(libdir)/$(FRONT_SONAME) \
		$(DESTDIR)$(libdir)/libvbdpool-front.so $(DESTDIR)$(pkgconfigdir)/vbdpool-front.pc
	rm -f $(addprefix $(DESTDIR)$(includedir)/vbdpool/,$(notdir $(INSTALL_HEADERS)))
	rmdir $(DESTDIR)$(includedir)/vbdpool 2>/dev/null || true
	rm -f $(addprefix $(DESTDIR)$(mandir)/man8/,$(addsuffix .8,$(INSTALL_PROGS)))
	rm -f $(addprefix $(DESTDIR)$(unitdir)/,$(INSTALL_UNITS))
	@for f in $(INSTALL_DEFAULTS); do \
	  g=$(DESTDIR)$(sysconfdir)/default/$$f; \
	  if cmp -s install/default/$$f $$g; then rm -f $$g; \
	  elif [ -e $$g ]; then echo "keeping $$g (changed: your configuration)"; fi; \
	done
