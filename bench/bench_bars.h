/* bench_bars.h: the bars the publishing benchmarks send (bench_publish,
 * bench_outbox): BENCH_SERIES series over three markets, minute bars with
 * prices, volumes and trade counts that vary with the id. Header-only,
 * like the benchmarks. */
#ifndef BENCH_BARS_H
#define BENCH_BARS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

#define BENCH_SERIES 30

/* Bar id of the run, on topic: series id % BENCH_SERIES, minute
 * id / BENCH_SERIES. */
static inline void bench_mkbar(struct md_bar *m, uint64_t id, const char *topic)
{
    static const char *const base[BENCH_SERIES / 3] = {
        "BTC", "ETH", "LTC", "SOL", "XRP", "ADA", "DOT", "AVAX", "LINK",
        "ATOM"};
    unsigned s = (unsigned)(id % BENCH_SERIES);

    memset(m, 0, sizeof *m);
    m->id = id;
    m->topic = topic;
    snprintf(m->bar.market, sizeof m->bar.market, "%s",
             s % 3 == 0 ? "CCCAGG" : s % 3 == 1 ? "Coinbase" : "Kraken");
    snprintf(m->bar.base, sizeof m->bar.base, "%s", base[s / 3]);
    snprintf(m->bar.quote, sizeof m->bar.quote, "USD");
    m->bar.interval_s = 60;
    m->bar.source = s % 3 == 0 ? BAR_SRC_CCCAGG : BAR_SRC_TRADES;
    m->bar.start_ms = 1753190400000 + (int64_t)(id / BENCH_SERIES) * 60000;
    m->bar.end_ms = m->bar.start_ms + 60000;
    m->bar.close_reason = BAR_CLOSE_TIMER;
    m->bar.has = BAR_HAS_OHLC | BAR_HAS_VOLUME | BAR_HAS_TRADES;
    m->bar.open = 100.25 + (double)(id % 97);
    m->bar.high = m->bar.open + 1.5;
    m->bar.low = m->bar.open - 1.25;
    m->bar.close = m->bar.open + 0.5;
    m->bar.volume = (bar_i128)(id % 1000 + 1) * 1000000000;
    m->bar.quote_volume = m->bar.volume * 100000000;
    m->bar.trades = id % 500;
    m->emit_ms = m->bar.end_ms + 2000;
}

#endif /* BENCH_BARS_H */
