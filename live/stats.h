/* stats.h: what the live producer counts for its status line, summary
 * and metrics (docs/operations.md), observed at every core step (loop.h,
 * struct loop_observer) beside what the core counts itself (feed and
 * aggregator statistics, the rate budget, the machines' states, read at
 * scrape time): reconnects by cause, stale detections, REST calls by
 * outcome, bars by close reason, the lag of trades to the exchange's
 * timestamps and the skew of the local wall clock against the server's.
 * Shell code. */
#ifndef LIVE_STATS_H
#define LIVE_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "bar.h"
#include "loop.h"

enum ls_cause {
    LS_C_STALE = 0,       /* no data and no heartbeat */
    LS_C_PING_TIMEOUT,    /* a ping unanswered */
    LS_C_FORCE_DISCONNECT,/* the server's TYPE 500 FORCE_DISCONNECT */
    LS_C_SUBSCRIBE_TIMEOUT,
    LS_C_TOO_MANY_SOCKETS,
    LS_C_AUTH_FAILED,
    LS_C_CLOSED,          /* closed by the server or the network */
    LS_C_HANDSHAKE,       /* the upgrade refused or never answered */
    LS_C__COUNT
};
const char *ls_cause_name(int c);

#define LS_LAG_N 14 /* lag histogram bounds, seconds (stats.c) */
extern const double ls_lag_le_s[LS_LAG_N];

struct live_stats {
    int64_t wall_minus_mono;   /* to turn step times into wall times */
    int64_t skew_warn_ms;      /* warn past this |skew| (0: never) */
    /* connections */
    uint64_t opens, reconnects[LS_C__COUNT], stale;
    int cause;                 /* why the current connection ended, or -1 */
    bool had_conn;
    /* REST: by the REST machine's input for each answer */
    uint64_t rest[16];
    uint64_t rest_sent, rest_cancelled;
    /* trades' lag to the exchange's time stamp (TS), at receipt */
    uint64_t lag[LS_LAG_N + 1];
    double lag_sum_s;
    /* the server's clock (TIMEMS, SERVER_TIME_MS) against ours */
    bool skew_known, skew_warned;
    int64_t skew_ms;           /* server - local wall, last seen */
};

void live_stats_init(struct live_stats *s, int64_t wall_minus_mono,
                     int64_t skew_warn_ms);

/* The observer: o filled, returned. */
const struct loop_observer *live_stats_observer(struct live_stats *s,
                                                struct loop_observer *o);

/* The lag quantile q (0..1) of the trades seen, seconds (the upper bound
 * of its bucket; the last bound beyond); -1 if none. */
double live_stats_lag(const struct live_stats *s, double q);

#endif /* LIVE_STATS_H */
