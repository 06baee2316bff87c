/* metrics.h: the live producer's metrics in the Prometheus text format
 * (docs/operations.md, "Metrics"), rendered at each scrape from what the
 * core counts (frames by TYPE, malformed frames, trades, duplicates, late
 * trades, revisions, the rate budget, each machine's state), what the
 * observer counts (live/stats.h: reconnects by cause, stale detections,
 * REST calls by outcome, lag, clock skew), the driver's counts (bars by
 * close reason) and the publisher's (outbox depth and oldest age,
 * publish latency, drops, dead letters). Shell code. */
#ifndef LIVE_METRICS_H
#define LIVE_METRICS_H

#include <stdint.h>

#include "live.h"
#include "metrics_http.h"
#include "pub.h"
#include "stats.h"

struct live_metrics {
    struct live *lv;
    struct live_pub *lp;
    struct live_stats *st;
    const char *shard;         /* "K/N" or "" */
    const char *guarantee;     /* "at_least_once" or "exactly_once" */
    int64_t start_wall_s;
};

/* The exposition (metrics_render_fn; ctx: struct live_metrics *). */
void live_metrics_render(void *ctx, struct mh_buf *b);

#endif /* LIVE_METRICS_H */
