# ccstream: one non-recursive GNU Makefile, out-of-tree build in $(BUILD).
#
#   make            build build/ccstream (installs missing Debian packages)
#   make test       every test, loopback only, fast unit tests first
#   make check      the tests again under ASan+UBSan, plus checksrc and slow suites
#   make run        the main job on the embedded defaults
#   make docs       regenerate docs/mealy.md tables and the SVG diagrams
#   make fixtures-update  regenerate golden files under fixtures/ (review!)
#   make bench      throughput figures (docs/performance.md)
#   make fuzz       libFuzzer targets (FUZZ_RUNS=n)
#   make mutate     mutation testing of the machines (not in CI; tests/mutants.txt)
#   make deps       install what is missing (apt-get as root, else print the command)
#   make style      clang-format every C file (if clang-format is installed)
#
# Variables: SANITIZER=address,undefined  V=1  WERROR=0  BUILD=dir  KAFKA_BROKERS=host:port
# See docs/TESTING.md for the test targets and their environment variables.

BUILD      ?= build
PKG_CONFIG ?= pkg-config
CC         ?= cc
V          ?= 0
WERROR     ?= 1
SANITIZER  ?=
OPT        ?= -O2

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Shell libraries. msgpack-c 4 is "msgpack"; from 6 on it is "msgpack-c".
SHELL_PKGS := libcurl libwebsockets libuv rdkafka msgpack sqlite3 openssl
TEST_PKGS  := cmocka

# '=' (not ':='): evaluated only when a recipe runs, after 'deps'.
SHELL_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(SHELL_PKGS))
SHELL_LIBS   = $(shell $(PKG_CONFIG) --libs $(SHELL_PKGS))
TEST_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS))
TEST_LIBS    = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS))

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wwrite-strings \
        -Wformat=2 -Wundef -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif
# core/ is held to more: no implicit conversions at all.
CORE_WARN := $(WARN) -Wconversion -Wsign-conversion -Wdouble-promotion \
             -Wswitch-enum -Wold-style-definition

BASE_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -ffp-contract=off \
               -fno-strict-aliasing -g $(OPT) -MMD -MP
ifneq ($(SANITIZER),)
BASE_CFLAGS += -fsanitize=$(SANITIZER) -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=$(SANITIZER)
endif

# core/ sees only itself and libc: no -I for the shell libraries, so a stray
# #include <curl/curl.h> (or sqlite3.h, librdkafka, libwebsockets) fails.
CORE_CFLAGS  = $(BASE_CFLAGS) $(CORE_WARN) -Icore
APP_CFLAGS   = $(BASE_CFLAGS) $(WARN) -pthread -Icore -Icodec -Icli \
               -Ipublish -Icapture -Iloop -Ireplay -Isynth -Iserve -Ireport -Ilive \
               $(SHELL_CFLAGS)
TESTC_CFLAGS = $(APP_CFLAGS) -Itests $(TEST_CFLAGS) -DUNIT_TESTING

CORE_SRC  := $(sort $(wildcard core/*.c))
APP_SRC   := $(sort $(wildcard codec/*.c publish/*.c capture/*.c loop/*.c \
                                replay/*.c cli/*.c synth/*.c serve/*.c \
                                report/*.c live/*.c))
APP_LIB_SRC := $(filter-out cli/main.c,$(APP_SRC))
TEST_SRC  := $(sort $(wildcard tests/test_*.c))
TEST_SUP  := $(sort $(wildcard tests/support/*.c))

CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/%.o)
APP_OBJ   := $(APP_LIB_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/cli/main.o
SUP_OBJ   := $(TEST_SUP:%.c=$(BUILD)/%.o)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

CORE_LIB  := $(BUILD)/libccstream_core.a
APP_LIB   := $(BUILD)/libccstream_shell.a
BIN       := $(BUILD)/ccstream

.PHONY: all deps build test check run docs style checksrc clean \
        test-build kafka-jars help fixtures-update

all: deps
	$(Q)$(MAKE) --no-print-directory build

help:
	@sed -n '3,16p' Makefile

deps:
	$(Q)scripts/deps.sh build

# Fixture captures live in fixtures/ as JSON lines (reviewable diffs);
# make builds the SQLite captures from them with `ccstream import`.
FIXTURE_JSONL := $(sort $(wildcard fixtures/replay/*/capture.jsonl))
FIXTURE_DBS   := $(FIXTURE_JSONL:fixtures/replay/%/capture.jsonl=$(BUILD)/fixtures/replay/%.db)

build: $(BIN) $(FIXTURE_DBS)

$(BUILD)/fixtures/replay/%.db: fixtures/replay/%/capture.jsonl $(BIN)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  IMPORT   $@"
	$(Q)rm -f $@ && $(BIN) import $< --out $@

$(BUILD)/core/%.o: core/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC(core) $<"
	$(Q)$(CC) $(CORE_CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC(test) $<"
	$(Q)$(CC) $(TESTC_CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC       $<"
	$(Q)$(CC) $(APP_CFLAGS) -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(APP_LIB): $(APP_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^ $(if $(APP_OBJ),,)

$(BIN): $(MAIN_OBJ) $(APP_LIB) $(CORE_LIB)
	@[ "$(V)" = 1 ] || echo "  LD       $@"
	$(Q)$(CC) $(SAN_LDFLAGS) -pthread -o $@ $(MAIN_OBJ) $(APP_LIB) \
	    $(CORE_LIB) $(SHELL_LIBS) -lm

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(SUP_OBJ) $(APP_LIB) $(CORE_LIB)
	@[ "$(V)" = 1 ] || echo "  LD       $@"
	$(Q)$(CC) $(SAN_LDFLAGS) -pthread -o $@ $< $(SUP_OBJ) $(APP_LIB) \
	    $(CORE_LIB) $(SHELL_LIBS) $(TEST_LIBS) -lm

test-build: $(BIN) $(TEST_BIN) $(FIXTURE_DBS)

kafka-jars:
	$(Q)BUILD=$(BUILD) tests/kafka/broker.sh fetch

# make test: unit tests first (seconds), then the tests that need the real
# Kafka broker, which tests/run-tests.sh starts once for the whole run.
test: deps
	$(Q)scripts/deps.sh test
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)BUILD=$(BUILD) tests/kafka/broker.sh fetch
	$(Q)BUILD=$(BUILD) tests/run-tests.sh

# make check: checksrc, then everything again under ASan+UBSan in its own
# build tree, plus the slow suites (MD_TEST_SLOW=1), then report pages of
# fault fixtures rendered by headless chromium (tests/report_browser.py).
check: deps checksrc
	$(Q)scripts/deps.sh check
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/san \
	    SANITIZER=address,undefined OPT=-O1 test-build
	$(Q)BUILD=$(BUILD)/san tests/kafka/broker.sh fetch
	$(Q)ASAN_OPTIONS=detect_leaks=0 /usr/bin/python3 \
	    tests/bar_codec_check.py $(BUILD)/san/tests/test_bar_codec
	$(Q)BUILD=$(BUILD)/san MD_TEST_SLOW=1 \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    tests/run-tests.sh
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)MD_TEST_SOAK=1 TEST_TIMEOUT=900 BUILD=$(BUILD) \
	    tests/run-tests.sh test_kafka_live_soak
	$(Q)for f in 0005-heartbeat-stall 0009-rest-rate-limit 0016-gap-backfill; \
	do /usr/bin/python3 tests/report_browser.py $(BUILD)/san/ccstream \
	    $(BUILD)/san/fixtures/replay/$$f.db || exit 1; done
	$(Q)/usr/bin/python3 tests/report_browser.py $(BUILD)/san/ccstream \
	    $(BUILD)/san/fixtures/replay/0001-default.db --inject half-open@150s

checksrc:
	$(Q)scripts/checksrc.sh

# Regenerate the golden files under fixtures/ from the current code; review
# the diff (git diff fixtures/) before committing it.
fixtures-update: all
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)CCSTREAM_UPDATE_GOLDEN=1 $(BUILD)/tests/test_golden
	$(Q)CCSTREAM_UPDATE_GOLDEN=1 BUILD=$(BUILD) $(BUILD)/tests/test_replay_golden
	$(Q)git --no-pager diff --stat -- fixtures/ || true

# make run: the main job on embedded defaults: `ccstream serve` (a fake
# CryptoCompare playing a synthetic session re-based to now), an
# in-memory Kafka (`ccstream broker`), `ccstream live` between them and
# `ccstream tail` showing the bars as they arrive; Ctrl-C or
# $$CCSTREAM_RUN_FOR (default 2m) stops all of them cleanly, a summary
# follows.
run: all
	$(Q)scripts/run-demo.sh $(BIN)

docs: all
	$(Q)scripts/gen-docs.sh $(BIN)

style:
	$(Q)if command -v clang-format >/dev/null; then \
	    clang-format -i $$(git ls-files '*.c' '*.h'); \
	else echo "clang-format not installed: apt-get install -y clang-format"; fi

clean:
	rm -rf $(BUILD)

# Optional fragments (fuzzing, benchmarks) keep their rules beside this file.
include $(sort $(wildcard mk/*.mk))

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d)
