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
UNITS = test_json test_json_portable test_stamp test_record test_uritemplate test_firing test_sign
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
	bats bats-assert bats-support mandoc jq python3 librsvg2-bin nginx-light openssl libssl-dev
FUZZ_DEBS = clang libclang-rt-dev

# pbkafka, a shell script (cmd/pbkafka), is built and installed beside the
# tools, with kcat as its Kafka client; librdkafka-dev is for the mock
# cluster of its tests (tests/kafka_mock).
SCRIPTS = pbkafka
MAN1 += $(SCRIPTS:%=man/%.1)
MAN7 += man/pb-kafka.7
DEBS += kcat librdkafka-dev

# Fuzz harnesses: tests/fuzz/fuzz_NAME.c with tests/fuzz/fuzz.c, common/,
# the tool modules FUZZ_SRCS_NAME names and the libraries FUZZ_PKGS_NAME
# names. Normally each is linked with tests/fuzz/replay.c, which make check
# runs over its seed corpus and regression inputs; with FUZZ=1, with
# libFuzzer.
FUZZERS = record uritemplate rules stamp spool ledger netpolicy request action pbstat breakers \
	signing
PBMATCH_RULES = cmd/pbmatch/rules.c cmd/pbmatch/loader.c cmd/pbmatch/delivery.c
FUZZ_SRCS_rules = $(PBMATCH_RULES) cmd/pbmatch/match.c cmd/pbmatch/action.c \
	cmd/pbexpand/request.c
FUZZ_PKGS_rules = $(PKGS_pbmatch)
FUZZ_PKGS_uritemplate = libcurl
FUZZ_SRCS_spool =
FUZZ_SRCS_ledger = cmd/pbfire/ledger.c
FUZZ_SRCS_netpolicy = cmd/pbfire/netpolicy.c
FUZZ_SRCS_request = cmd/pbexpand/request.c
FUZZ_SRCS_action = $(PBMATCH_RULES) cmd/pbmatch/match.c cmd/pbmatch/action.c
FUZZ_SRCS_pbstat = cmd/pbstat/members.c cmd/pbstat/result.c cmd/pbstat/fates.c cmd/pbstat/tally.c \
	cmd/pbstat/summary.c cmd/pbstat/groups.c cmd/pbstat/series.c cmd/pbstat/hist.c \
	cmd/pbstat/errors.c cmd/pbstat/buckets.c
FUZZ_SRCS_breakers = cmd/pbfire/breakers.c cmd/pbfire/queue.c
FUZZ_PKGS_action = $(PKGS_pbmatch)
FUZZ_SRCS_signing = cmd/pbfire/job.c cmd/pbfire/signing.c cmd/pbfire/hmac.c cmd/pbfire/secrets.c \
	cmd/pbfire/retry.c
FUZZ_PKGS_signing = $(PKGS_pbfire)
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
# The archive is made anew, and whenever common/ gains or loses a file, so
# it never keeps the object of a file that has gone.
$(LIBPB): $(call objs,$(wildcard common/*.c)) common
	rm -f $@
	$(AR) rcs $@ $(filter %.o,$^)

define tool_rules
$(B)/cmd/$(1)/%.o: EXTRA_CPPFLAGS = $(call pkg_cflags,$(PKGS_$(1)))
$(B)/$(1): $(call tool_objs,$(1)) $(LIBPB)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $(call pkg_libs,$(PKGS_$(1))) $(LIBS_$(1))
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rules,$(t))))

# build/ gets a copy of pbkafka, so that PB_BIN has every command.
$(B)/pbkafka: cmd/pbkafka/pbkafka
	@mkdir -p $(@D)
	cp $< $@

# tests/kafka_mock starts librdkafka's mock cluster for tests/kafka.bats;
# nothing else links librdkafka.
TEST_HELPERS = $(B)/tests/kafka_mock
$(B)/tests/kafka_mock.o: EXTRA_CPPFLAGS = $(call pkg_cflags,rdkafka)
$(B)/tests/kafka_mock: $(B)/tests/kafka_mock.o
	$(CC) $(LDFLAGS) -o $@ $< $(call pkg_libs,rdkafka)

# A unit test links common/ and, when it tests a tool's module, that
# module's object and the tool's libraries.
$(B)/tests/test_firing: $(B)/cmd/pbfire/netpolicy.o $(B)/cmd/pbfire/retry.o
$(B)/tests/unit/test_firing.o: EXTRA_CPPFLAGS = -Icmd/pbfire
$(B)/tests/test_sign: $(B)/cmd/pbfire/hmac.o
$(B)/tests/test_sign: UNIT_LIBS = $(call pkg_libs,libcrypto)
$(B)/tests/unit/test_sign.o: EXTRA_CPPFLAGS = -Icmd/pbfire
$(B)/tests/%: $(B)/tests/unit/%.o $(LIBPB)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBPB) $(UNIT_LIBS) -lm

# test_json_portable: the JSON unit tests again over common/json.c built
# with JSON_PORTABLE, so the scan used where there is no SSE2 is tested too.
$(B)/common/json_portable.o: common/json.c Makefile
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -DJSON_PORTABLE $(CFLAGS) -c -o $@ $<
$(B)/tests/test_json_portable: $(B)/tests/unit/test_json.o $(B)/common/json_portable.o $(LIBPB)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBPB) -lm

define fuzz_rules
$(B)/tests/fuzz/fuzz_$(1).o: EXTRA_CPPFLAGS = $(addprefix -I,$(sort $(dir $(FUZZ_SRCS_$(1))))) \
	$(call pkg_cflags,$(FUZZ_PKGS_$(1)))
$(B)/tests/fuzz/fuzz_$(1): $(B)/tests/fuzz/fuzz_$(1).o $(B)/tests/fuzz/fuzz.o \
		$(call objs,$(FUZZ_SRCS_$(1))) $(FUZZ_DRIVER) $(LIBPB)
	$$(CC) $$(LDFLAGS) $(FUZZ_LDFLAGS) -o $$@ $$^ $(call pkg_libs,$(FUZZ_PKGS_$(1)))
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rules,$(f))))

# Installs the Debian packages named in $(1) that are missing.
install_debs = missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing:" $$missing; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
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

demo: deps all
	@PB_BIN=$(CURDIR)/$(B) tests/demo

bench: deps all $(TEST_HELPERS)
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
