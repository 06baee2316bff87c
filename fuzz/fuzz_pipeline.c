/* fuzz_pipeline.c: stateful libFuzzer target for the whole market-data
 * path: decode -> classify -> merge -> aggregate -> close bars on timers.
 *
 * The input is a session of '\n'-separated lines. A line's first byte
 * advances local time (by byte * 37 ms); the rest is a WebSocket frame, or
 * "!gap" / "!resub" for a reconnect. Bar timers fire as the replay contract
 * says. Checked after every step: the bars' invariants (start < end,
 * low <= open, close <= high, volumes >= 0, buy + sell <= volume, a
 * revision only of an emitted bar); and the whole session is run twice and
 * must give byte-identical bars (no uninitialised state, no hidden input).
 * Configured with small tables (4 streams, 64 trade ids, 4 tickers) so
 * an execution is cheap and the tables fill up. The memory is reused
 * between runs without zeroing: a run that depended on it being zero
 * would differ from the next. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "fsm_conn.h"
#include "md_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXBARS 512

static struct feed F[2];
/* Small tables, so an execution is quick and overflow paths are reached:
 * the sizes are configuration (FUZZ_* below), the memory sized from it. */
#define FUZZ_STREAMS 4
#define FUZZ_DEDUPE 64
#define FUZZ_TICKERS 4
static void *MEM[2];
static struct bar OUT[2][MAXBARS];

static void check_bar(const struct bar *b)
{
    if (b->start_ms >= b->end_ms || b->interval_s <= 0) {
        abort();
    }
    if (b->has & BAR_HAS_OHLC) {
        if (!(b->low <= b->high)) {
            abort();
        }
        /* every source: a valid OHLC record (CCCAGG's open, the
         * previous close, widens high and low) */
        if (b->open < b->low || b->open > b->high || b->close < b->low ||
            b->close > b->high) {
            abort();
        }
    }
    if (b->volume < 0 || b->buy_volume < 0 || b->sell_volume < 0 ||
        b->buy_volume + b->sell_volume > b->volume) {
        abort();
    }
    if (b->source == BAR_SRC_CCCAGG &&
        (b->has & (BAR_HAS_TRADES | BAR_HAS_VWAP | BAR_HAS_BUYSELL))) {
        abort(); /* absent, never 0 */
    }
}

static size_t drain(struct agg_out *o, size_t n)
{
    size_t i;

    for (i = n; i < o->n; i++) {
        check_bar(&o->bars[i]);
    }
    return o->n;
}

static size_t run(int k, const uint8_t *data, size_t size)
{
    struct feed *f = &F[k];
    struct agg_out out = {OUT[k], MAXBARS, 0};
    struct agg_config cfg;
    mono_ns t = 1000000000;
    size_t pos = 0, n = 0;

    agg_config_default(&cfg);
    cfg.intervals_s[1] = 300;
    cfg.n_intervals = 2;
    cfg.emit_empty = (size > 0 && (data[0] & 1));
    cfg.max_streams = FUZZ_STREAMS;
    cfg.dedupe_cap = FUZZ_DEDUPE;
    if (MEM[k] == NULL) {
        MEM[k] = malloc(feed_mem_size(&cfg, FUZZ_TICKERS));
    }
    if (MEM[k] == NULL || feed_init(f, &cfg, FUZZ_TICKERS, MEM[k],
                                    feed_mem_size(&cfg, FUZZ_TICKERS)) !=
                              MD_OK) {
        abort();
    }
    while (pos < size && out.n < MAXBARS - 64) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - data) : size;
        const char *line = (const char *)data + pos;
        size_t len = end - pos;
        struct feed_result res;
        int64_t d, now;

        pos = end + 1;
        if (len == 0) {
            continue;
        }
        t += (mono_ns)(unsigned char)line[0] * 37000000;
        line++;
        len--;
        now = feed_server_ns(f, t);
        while ((d = agg_next_deadline(&f->agg)) <= now) {
            if (agg_advance(&f->agg, d, &out) != MD_OK) {
                break;
            }
            n = drain(&out, n);
            if (out.n >= MAXBARS - 64) {
                break;
            }
        }
        if (len == 4 && memcmp(line, "!gap", 4) == 0) {
            agg_gap_open(&f->agg, now);
        } else if (len == 6 && memcmp(line, "!resub", 6) == 0) {
            agg_gap_close(&f->agg, now);
            feed_resubscribed(f);
        } else {
            int rc = feed_frame(f, line, len, t, &res);
            if (rc != MD_OK && rc != MD_E_FULL) {
                abort();
            }
            if ((res.type == CC_T_NONE) != (res.conn_input == CONN_I_MALFORMED)) {
                abort(); /* a frame that did not decode is MALFORMED */
            }
        }
    }
    if (out.n < MAXBARS - 64) {
        (void)agg_flush(&f->agg, &out);
        drain(&out, n);
    }
    return out.n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t a = run(0, data, size), b = run(1, data, size);

    if (a != b || memcmp(OUT[0], OUT[1], a * sizeof OUT[0][0]) != 0) {
        abort(); /* the same session must give the same bars */
    }
    return 0;
}
