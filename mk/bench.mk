# mk/bench.mk: `make bench`: throughput figures, never asserted in tests.
# Each benchmark runs pinned to one core (taskset -c 1) when taskset exists,
# except bench_replay, bench_report, bench_series and bench_ckpt (replay
# reads the capture ahead on a second thread), bench_serve (a server and its
# client, two processes) and bench_publish and bench_outbox (the Kafka
# broker they publish to).
# See docs/performance.md for the figures and how they were taken.

BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
TASKSET := $(shell command -v taskset >/dev/null && echo taskset -c 1)

.PHONY: bench bench-build

$(BUILD)/bench/%: bench/%.c $(CORE_LIB) $(APP_LIB)
	@mkdir -p $(@D)
	@[ "$(V)" = 1 ] || echo "  CC(bench) $<"
	$(Q)$(CC) $(APP_CFLAGS) -O2 -o $@ $< $(APP_LIB) $(CORE_LIB) \
	    $(SHELL_LIBS) -lm

bench-build: $(BENCH_BIN)

bench: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)for b in $(BENCH_BIN); do \
	    echo "== $$b"; \
	    case $$b in \
	    *bench_replay|*bench_report|*bench_series|*bench_serve|*bench_publish|\
	    *bench_capture|*bench_ckpt|*bench_outbox) \
	        $$b || exit 1 ;; \
	    *) $(TASKSET) $$b || exit 1 ;; \
	    esac; done
