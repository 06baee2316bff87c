# mk/fuzz.mk: libFuzzer targets (the decoder, the TYPE 5 merge, the
# whole decode -> merge -> aggregate path, the checkpoint's restore) and a
# decoder throughput bench.
#
#   make fuzz                  build build/fuzz/* and run each target
#                              -runs=$(FUZZ_RUNS) times (bounded)
#   make fuzz FUZZ_RUNS=10000000
#   make fuzz-build            only build the targets
#   make bench-decode          msgs/s on real-shaped frames, pinned to one
#                              core (taskset -c $(BENCH_CPU)), best of 3 x 1 s
#
# Debian clang 14 with libFuzzer (scripts/deps.sh fuzz installs clang and
# libclang-rt-14-dev). Seeds: fuzz/corpus/<target>/ (committed, read-only);
# what the fuzzer finds goes to build/fuzz/corpus/<target>/, crashes to
# build/fuzz/<target>-crash-* (see docs/decoder.md).

FUZZ_CC      ?= clang
FUZZ_RUNS    ?= 2000000
FUZZ_MAXLEN  ?= 4096
FUZZ_SAN     ?= fuzzer,address,undefined
FUZZ_CFLAGS  ?= -std=c11 -D_POSIX_C_SOURCE=200809L -ffp-contract=off -g -O1 \
                -fsanitize=$(FUZZ_SAN) -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_TARGETS := fuzz_decode fuzz_merge fuzz_pipeline fuzz_ckpt
FUZZ_CORE    := core/cc_decode.c core/cc_json.c core/md_err.c core/md_float.c \
                core/agg.c core/bar.c core/bar_num.c core/feed.c
FUZZ_HDRS    := core/cc_decode.h core/cc_json.h core/md_err.h core/md_float.h \
                core/agg.h core/bar.h core/bar_num.h core/feed.h \
                core/fsm_conn.h
BENCH_CPU    ?= 1

.PHONY: fuzz fuzz-build bench-decode

fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)

$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_CORE) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  FUZZ     $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Icore -o $@ $< $(FUZZ_CORE) -lm

# The checkpoint's restore needs the whole core.
$(FUZZ_DIR)/fuzz_ckpt: fuzz/fuzz_ckpt.c $(CORE_SRC) $(wildcard core/*.h)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  FUZZ     $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Icore -o $@ $< $(CORE_SRC) -lm

# Each target: fresh working corpus seeded from fuzz/corpus/<t>, then a
# bounded run; the exec count is libFuzzer's final stat line.
fuzz:
	$(Q)scripts/deps.sh fuzz
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	    echo "  FUZZ     $$t: -runs=$(FUZZ_RUNS)"; \
	    ( cd $(FUZZ_DIR) && ./$$t -runs=$(FUZZ_RUNS) \
	        -max_len=$(FUZZ_MAXLEN) -print_final_stats=1 \
	        -artifact_prefix=$$t- corpus/$$t $(CURDIR)/fuzz/corpus/$$t \
	        > $$t.log 2>&1 ) || { tail -40 $(FUZZ_DIR)/$$t.log; exit 1; }; \
	    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss)' \
	        $(FUZZ_DIR)/$$t.log | sed "s/^/  $$t: /"; \
	done

$(BUILD)/fuzz/bench_decode: fuzz/bench_decode.c $(FUZZ_CORE) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC       $@"
	$(Q)$(CC) -std=c11 -D_POSIX_C_SOURCE=200809L -ffp-contract=off -O2 \
	    -Icore -o $@ $< $(FUZZ_CORE) -lm

bench-decode: $(BUILD)/fuzz/bench_decode
	$(Q)taskset -c $(BENCH_CPU) $(BUILD)/fuzz/bench_decode
