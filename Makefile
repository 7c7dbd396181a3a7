# pb: affiliate postbacks as Unix filters. See README.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PKG_CONFIG ?= pkg-config

CFLAGS ?= -O2 -g
WARNINGS = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wwrite-strings -Wcast-qual -Wundef
override CFLAGS += -std=c11 $(WARNINGS) $(WERROR) $(SANFLAGS)
override CPPFLAGS += -D_GNU_SOURCE -DJSMN_STRICT -DJSMN_PARENT_LINKS -Icommon -MMD -MP
override LDFLAGS += $(SANFLAGS)

# SANITIZE=1 builds into build/san with AddressSanitizer and UBSan.
ifeq ($(SANITIZE),1)
B = build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
B = build
endif

TOOLS = pbmatch pbexpand pbdelay pbfire
UNITS = test_json test_stamp test_record test_uritemplate test_firing
MAN1 = $(TOOLS:%=man/%.1)
MAN5 = man/pb-rules.5
MAN7 = man/pb-records.7

# Each tool is cmd/TOOL/*.c linked with build/libpb.a (common/) and the
# libraries it alone names here.
PKGS_pbmatch = yaml-0.1 libcurl
PKGS_pbexpand = libcurl
PKGS_pbdelay =
PKGS_pbfire = libcurl
pkg_cflags = $(if $(1),$(shell $(PKG_CONFIG) --cflags $(1)))
pkg_libs = $(if $(1),$(shell $(PKG_CONFIG) --libs $(1))) -lm

LIBPB = $(B)/libpb.a
BINS = $(TOOLS:%=$(B)/%)
UNIT_BINS = $(UNITS:%=$(B)/tests/%)
objs = $(patsubst %.c,$(B)/%.o,$(1))
tool_objs = $(call objs,$(wildcard cmd/$(1)/*.c))

DEBS = gcc make pkg-config libcurl4-openssl-dev libyaml-dev libjsmn-dev \
	bats bats-assert bats-support mandoc jq python3

all: $(BINS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(EXTRA_CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBPB): $(call objs,$(wildcard common/*.c))
	$(AR) rcs $@ $^

define tool_rules
$(B)/cmd/$(1)/%.o: EXTRA_CPPFLAGS = $(call pkg_cflags,$(PKGS_$(1)))
$(B)/$(1): $(call tool_objs,$(1)) $(LIBPB)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $(call pkg_libs,$(PKGS_$(1)))
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))

# A unit test links common/ and, when it tests a tool's module, that
# module's object and the tool's libraries.
$(B)/tests/test_firing: $(B)/cmd/pbfire/netpolicy.o $(B)/cmd/pbfire/retry.o
$(B)/tests/unit/test_firing.o: EXTRA_CPPFLAGS = -Icmd/pbfire
$(B)/tests/%: $(B)/tests/unit/%.o $(LIBPB)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBPB) -lm

# Installs the Debian packages the build and the tests need, if missing.
deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing:" $$missing; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi

# make check: every unit test and bats suite; ends with "N passed, N failed".
check: WERROR = -Werror
check: deps
	@$(MAKE) --no-print-directory all units WERROR=-Werror SANITIZE=$(SANITIZE)
	@PB_BIN=$(CURDIR)/$(B) tests/run $(UNIT_BINS)

units: $(UNIT_BINS)

demo: deps all
	@PB_BIN=$(CURDIR)/$(B) tests/demo

bench: deps all
	@PB_BIN=$(CURDIR)/$(B) tests/bench/run

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7
	cp $(BINS) $(DESTDIR)$(BINDIR)/
	cp $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	cp $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	cp $(MAN7) $(DESTDIR)$(MANDIR)/man7/

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%) $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%) \
		$(MAN5:man/%=$(DESTDIR)$(MANDIR)/man5/%) $(MAN7:man/%=$(DESTDIR)$(MANDIR)/man7/%)

clean:
	rm -rf build

.PHONY: all deps check units demo bench install uninstall clean
.SECONDARY:

-include $(wildcard $(B)/*/*.d $(B)/*/*/*.d $(B)/*/*/*/*.d)
