# pb: affiliate postbacks as Unix filters. See README.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
PKG_CONFIG ?= pkg-config

CFLAGS ?= -O2 -g
WARNINGS = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wwrite-strings -Wcast-qual -Wundef
override CFLAGS += -std=c11 $(WARNINGS) $(WERROR) $(SANFLAGS)
override CPPFLAGS += -D_GNU_SOURCE -DJSMN_STRICT -Icommon -MMD -MP
override LDFLAGS += $(SANFLAGS)

# SANITIZE=1 builds into build/san with AddressSanitizer and UBSan; FUZZ=1
# (make fuzz sets it) into build/fuzz with clang, instrumented for libFuzzer.
ifeq ($(SANITIZE),1)
B = build/san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(FUZZ),1)
B = build/fuzz
CC = clang
SANFLAGS = -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
B = build
endif

TOOLS = pbmatch pbexpand pbdelay pbfire pbstat
UNITS = test_json test_json_portable test_stamp test_record test_uritemplate test_firing test_sign \
	test_siphash test_duration test_later
MAN1 = $(TOOLS:%=man/%.1)
MAN5 = man/pb-rules.5
MAN7 = man/pb-records.7

# Each tool is cmd/TOOL/*.c linked with build/libpb.a (common/) and the
# libraries it alone names here.
PKGS_pbmatch = yaml-0.1 libcurl
PKGS_pbexpand = libcurl
PKGS_pbdelay =
PKGS_pbfire = libcurl libcrypto
PKGS_pbstat =
LIBS_pbfire = -pthread
pkg_cflags = $(if $(1),$(shell $(PKG_CONFIG) --cflags $(1)))
pkg_libs = $(if $(1),$(shell $(PKG_CONFIG) --libs $(1))) -lm

LIBPB = $(B)/libpb.a
BINS = $(TOOLS:%=$(B)/%) $(SCRIPTS:%=$(B)/%)
UNIT_BINS = $(UNITS:%=$(B)/tests/%)
objs = $(patsubst %.c,$(B)/%.o,$(1))
tool_objs = $(call objs,$(wildcard cmd/$(1)/*.c))

DEBS = gcc make pkg-config libcurl4-openssl-dev libyaml-dev libjsmn-dev \
	bats bats-assert bats-support mandoc man-db groff-base jq python3 librsvg2-bin nginx-light openssl libssl-dev \
	strace
# pbstat --html is loaded in chromium, -o openmetrics linted by promtool
# (prometheus) and scraped from prometheus-node-exporter with curl.
DEBS += chromium prometheus prometheus-node-exporter curl
FUZZ_DEBS = clang libclang-rt-dev

# pbkafka, a shell script (cmd/pbkafka), is built and installed beside the
# tools, with kcat as its Kafka client; librdkafka-dev is for pbgroup, its
# consumer group member (cmd/pbgroup), pbship, its producer (cmd/pbship),
# and for the mock cluster of its tests (tests/kafka_mock).
SCRIPTS = pbkafka
TOOLS += pbgroup
PKGS_pbgroup = rdkafka
LIBS_pbgroup = -pthread
# pbship, the producer that ships pbfire's ledger and results as they grow.
TOOLS += pbship
PKGS_pbship = rdkafka
MAN1 += $(SCRIPTS:%=man/%.1)
MAN7 += man/pb-kafka.7
DEBS += kcat librdkafka-dev

# Fuzz harnesses: tests/fuzz/fuzz_NAME.c with tests/fuzz/fuzz.c, common/,
# the modules of the tools FUZZ_TOOLS_NAME names (see tools_archives,
# below) and the libraries FUZZ_PKGS_NAME names. Normally each is linked
# with tests/fuzz/replay.c, which make check runs over its seed corpus and
# regression inputs; with FUZZ=1, with libFuzzer.
FUZZERS = record uritemplate rules stamp spool ledger netpolicy request action pbstat breakers \
	signing hosts hold duration lines secrets page order pbgroup rate index pbship
FUZZ_TOOLS_rules = pbmatch pbexpand
FUZZ_TOOLS_action = pbmatch
FUZZ_TOOLS_request = pbexpand
FUZZ_TOOLS_ledger = pbfire
FUZZ_TOOLS_netpolicy = pbfire
FUZZ_TOOLS_breakers = pbfire
FUZZ_TOOLS_signing = pbfire
FUZZ_TOOLS_hosts = pbfire
FUZZ_TOOLS_hold = pbdelay
FUZZ_TOOLS_duration = pbfire
FUZZ_TOOLS_secrets = pbfire
FUZZ_TOOLS_order = pbfire
FUZZ_TOOLS_rate = pbfire
FUZZ_TOOLS_pbstat = pbstat
FUZZ_TOOLS_page = pbstat
FUZZ_TOOLS_index = pbstat
FUZZ_TOOLS_pbgroup = pbgroup
FUZZ_TOOLS_pbship = pbship
FUZZ_PKGS_uritemplate = libcurl
FUZZ_BINS = $(FUZZERS:%=$(B)/tests/fuzz/fuzz_%)
FUZZ_SECONDS ?= 60
ifeq ($(FUZZ),1)
FUZZ_LDFLAGS = -fsanitize=fuzzer
else
FUZZ_DRIVER = $(B)/tests/fuzz/replay.o
endif

all: $(BINS)

# Objects depend on the Makefile too: its flags (the JSMN_* ones change
# the layout of jsmntok_t) must be the same in every object.
$(B)/%.o: %.c Makefile
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(EXTRA_CPPFLAGS) $(CFLAGS) -c -o $@ $<

# common/httpurl.c asks libcurl's URL parser; only the tools that use it
# link libcurl (a tool pulls from the archive only what it calls).
$(B)/common/httpurl.o: EXTRA_CPPFLAGS = $(call pkg_cflags,libcurl)
# common/kafka.c sets up librdkafka for pbgroup and pbship, which link it.
$(B)/common/kafka.o: EXTRA_CPPFLAGS = $(call pkg_cflags,rdkafka)
# The archive is made anew, and whenever common/ gains or loses a file, so
# it never keeps the object of a file that has gone.
$(LIBPB): $(call objs,$(wildcard common/*.c)) common
	rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

# A tool's modules, its objects but main.o, are also archived, anew
# whenever its directory gains or loses a file, for the test programs.
define tool_rules
$(B)/cmd/$(1)/%.o: EXTRA_CPPFLAGS = $$(call pkg_cflags,$(PKGS_$(1)))
$(B)/$(1): $(call tool_objs,$(1)) $(LIBPB)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(call pkg_libs,$(PKGS_$(1))) $(LIBS_$(1))
$(B)/cmd/$(1)/modules.a: $(filter-out %/main.o,$(call tool_objs,$(1))) cmd/$(1)
	rm -f $$@
	$$(AR) rcs $$@ $$(filter %.o,$$^)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))

# A test program that tests modules of tools (a unit test's
# UNIT_TOOLS_NAME, a fuzz harness's FUZZ_TOOLS_NAME) sees their headers
# and links their modules' archives and libraries, and those of the
# packages $(2) names: the linker takes from the archives what the test
# calls and what that calls in turn, so the module graph is written
# nowhere but in the code.
tools_pkgs = $(sort $(2) $(foreach t,$(1),$(PKGS_$(t))))
tools_cppflags = $(1:%=-Icmd/%) $(call pkg_cflags,$(call tools_pkgs,$(1),$(2)))
tools_archives = $(1:%=$(B)/cmd/%/modules.a)
tools_libs = $(call pkg_libs,$(call tools_pkgs,$(1),$(2))) $(foreach t,$(1),$(LIBS_$(t)))
link_archives = -Wl,--start-group $(filter %.a,$(1)) -Wl,--end-group

# build/ gets a copy of pbkafka, so that PB_BIN has every command.
$(B)/pbkafka: cmd/pbkafka/pbkafka
	@mkdir -p $(@D)
	cp $< $@

# tests/kafka_mock starts librdkafka's mock cluster for tests/kafka.bats;
# besides it, only pbgroup and pbship link librdkafka.
TEST_HELPERS = $(B)/tests/kafka_mock
$(B)/tests/kafka_mock.o: EXTRA_CPPFLAGS = $(call pkg_cflags,rdkafka)
$(B)/tests/kafka_mock: $(B)/tests/kafka_mock.o
	$(CC) $(LDFLAGS) -o $@ $< $(call pkg_libs,rdkafka)

# A unit test links common/ and, when it tests modules of tools, those
# of the tools UNIT_TOOLS_NAME names (see tools_archives, above).
UNIT_TOOLS_test_firing = pbfire
UNIT_TOOLS_test_sign = pbfire
UNIT_TOOLS_test_siphash = pbfire
UNIT_TOOLS_test_later = pbdelay
define unit_rules
$(B)/tests/unit/$(1).o: EXTRA_CPPFLAGS = $$(call tools_cppflags,$(UNIT_TOOLS_$(1)))
$(B)/tests/$(1): $(B)/tests/unit/$(1).o $(call tools_archives,$(UNIT_TOOLS_$(1))) $(LIBPB)
	$$(CC) $$(LDFLAGS) -o $$@ $$< $$(call link_archives,$$^) $$(call tools_libs,$(UNIT_TOOLS_$(1)))
endef
$(foreach u,$(filter-out test_json_portable,$(UNITS)),$(eval $(call unit_rules,$(u))))

# test_json_portable: the JSON unit tests again over common/json.c built
# with JSON_PORTABLE, so the scan used where there is no SSE2 is tested too.
$(B)/common/json_portable.o: common/json.c Makefile
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -DJSON_PORTABLE $(CFLAGS) -c -o $@ $<
$(B)/tests/test_json_portable: $(B)/tests/unit/test_json.o $(B)/common/json_portable.o $(LIBPB)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBPB) -lm

define fuzz_rules
$(B)/tests/fuzz/fuzz_$(1).o: EXTRA_CPPFLAGS = $$(call tools_cppflags,$(FUZZ_TOOLS_$(1)),$(FUZZ_PKGS_$(1)))
$(B)/tests/fuzz/fuzz_$(1): $(B)/tests/fuzz/fuzz_$(1).o $(B)/tests/fuzz/fuzz.o $(FUZZ_DRIVER) \
		$(call tools_archives,$(FUZZ_TOOLS_$(1))) $(LIBPB)
	$$(CC) $$(LDFLAGS) $(FUZZ_LDFLAGS) -o $$@ $$(filter %.o,$$^) $$(call link_archives,$$^) \
		$$(call tools_libs,$(FUZZ_TOOLS_$(1)),$(FUZZ_PKGS_$(1)))
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rules,$(f))))

# Installs the Debian packages named in $(1) that are missing, saying so
# in one line; apt's own output goes to $(DEPS_LOG), shown only if it fails.
DEPS_LOG = build/deps.log
install_debs = missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing:" $$missing "(apt's output in $(DEPS_LOG))"; \
		mkdir -p $(dir $(DEPS_LOG)); \
		{ $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			$$sudo apt-get install -y -q $$missing; } > $(DEPS_LOG) 2>&1 || \
			{ cat $(DEPS_LOG); echo "make: installing $$missing failed"; exit 1; }; \
	fi

# The Debian packages the build and the tests need; make fuzz, clang too.
deps:
	@$(call install_debs,$(DEBS))

fuzz-deps: deps
	@$(call install_debs,$(FUZZ_DEBS))

# make check: every unit test and bats suite; ends with "N passed, N failed".
check: WERROR = -Werror
check: deps
	@$(MAKE) --no-print-directory all units WERROR=-Werror SANITIZE=$(SANITIZE)
	@PB_BIN=$(CURDIR)/$(B) tests/run $(UNIT_BINS) $(FUZZ_BINS)

units: $(UNIT_BINS) $(FUZZ_BINS) $(TEST_HELPERS)

# make fuzz: every harness built with clang and libFuzzer into build/fuzz,
# then run for FUZZ_SECONDS over a working copy of its corpus (kept in
# build/fuzz/corpus/NAME, so later runs go on from it); a crash, leak,
# sanitizer report or timeout fails it and keeps the input as
# build/fuzz/artifacts/NAME-*. make fuzz-NAME runs one harness.
fuzz: fuzz-deps
	@$(MAKE) --no-print-directory FUZZ=1 $(FUZZERS:%=fuzz-%)

ifeq ($(FUZZ),1)
fuzz-%: $(B)/tests/fuzz/fuzz_%
	@mkdir -p $(B)/corpus/$* $(B)/artifacts
	@for f in tests/fuzz/corpus/$*/* $(wildcard tests/fuzz/regressions/$*/*); do \
		[ ! -f "$$f" ] || [ -e "$(B)/corpus/$*/$${f##*/}" ] || cp "$$f" $(B)/corpus/$*/ || exit 1; \
	done
	@echo "fuzz $*: $(FUZZ_SECONDS) s, log in $(B)/$*.log"
	@UBSAN_OPTIONS=print_stacktrace=1 $< -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(B)/artifacts/$*- \
		$(addprefix -dict=,$(wildcard tests/fuzz/$*.dict)) $(B)/corpus/$* > $(B)/$*.log 2>&1 || \
		{ tail -n 40 $(B)/$*.log; echo "fuzz $*: FAILED, see $(B)/$*.log"; exit 1; }
	@echo "fuzz $*: $$(grep -o 'stat::number_of_executed_units: [0-9]*' $(B)/$*.log | \
		grep -o '[0-9]*$$') runs, $$(grep 'DONE' $(B)/$*.log | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*')"
else
fuzz-%: fuzz-deps
	@$(MAKE) --no-print-directory FUZZ=1 $@
endif

# demo, bench and check build in a second make, started once deps has
# installed the libraries: pkg-config knows them only from then on.
demo: deps
	@$(MAKE) --no-print-directory all
	@PB_BIN=$(CURDIR)/$(B) tests/demo

bench: deps
	@$(MAKE) --no-print-directory all $(TEST_HELPERS)
	@PB_BIN=$(CURDIR)/$(B) tests/bench/run

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7
	cp $(BINS) $(DESTDIR)$(BINDIR)/
	cp $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	cp $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	cp $(MAN7) $(DESTDIR)$(MANDIR)/man7/

uninstall:
	rm -f $(BINS:$(B)/%=$(DESTDIR)$(BINDIR)/%) $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%) \
		$(MAN5:man/%=$(DESTDIR)$(MANDIR)/man5/%) $(MAN7:man/%=$(DESTDIR)$(MANDIR)/man7/%)

clean:
	rm -rf build

.PHONY: all deps fuzz-deps check units fuzz demo bench install uninstall clean
.SECONDARY:

-include $(wildcard $(B)/*/*.d $(B)/*/*/*.d $(B)/*/*/*/*.d)
