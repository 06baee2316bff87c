/* metrics.c: the live producer's exposition (metrics.h). Names follow
 * Prometheus's conventions: ccstream_ prefix, counters end in _total,
 * units in the name (_seconds, _bars), labels for a dimension. */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cc_decode.h"
#include "core.h"
#include "fsm.h"
#include "metrics.h"
#include "version.h"

/* The label of each cc_type (enum order). */
static const char *const type_label[CC_T__COUNT] = {
    "none",          "trade",       "ticker",       "cccagg",
    "ohlc",          "welcome",     "sub_complete", "unsub_complete",
    "unsub_all",     "load_complete", "heartbeat",  "unauthorized",
    "rate_limit",    "error",       "unknown",
};

static const char *const window_label[CC_P__COUNT] = {
    "second", "minute", "hour", "day", "month",
};

static void head(struct mh_buf *b, const char *name, const char *type,
                 const char *help)
{
    mh_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(struct mh_buf *b, const char *name, const char *type,
                const char *help, uint64_t v)
{
    head(b, name, type, help);
    mh_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* A state label: lower case, as Prometheus labels usually are. */
static void lower(char *out, size_t cap, const char *in)
{
    size_t i;

    for (i = 0; in[i] != '\0' && i + 1 < cap; i++) {
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
    }
    out[i] = '\0';
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void machines(struct mh_buf *b, const struct core *c)
{
    static const char *const mname[] = {"conn", "rest", "pub"};
    const int ms[] = {MD_M_CONN, MD_M_REST, MD_M_PUB};
    const int cur[] = {c->conn.state, c->rest.state, c->pub.state};
    unsigned m;
    int s;

    head(b, "ccstream_machine_state", "gauge",
         "1 for the state each of the producer's machines is in "
         "(docs/mealy.md), 0 for the others");
    for (m = 0; m < 3; m++) {
        const struct fsm_def *d = core_defs[ms[m]];
        for (s = 1; s < (int)d->nstates; s++) {
            char l[64];
            lower(l, sizeof l, d->state_names[s]);
            mh_printf(b, "ccstream_machine_state{machine=\"%s\",state="
                      "\"%s\"} %d\n", mname[m], l, s == cur[m]);
        }
    }
}

static void histogram(struct mh_buf *b, const char *name, const char *help,
                      const uint64_t *counts, const double *le, unsigned n,
                      double sum)
{
    uint64_t acc = 0;
    unsigned i;

    head(b, name, "histogram", help);
    for (i = 0; i < n; i++) {
        acc += counts[i];
        mh_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, le[i], acc);
    }
    acc += counts[n];
    mh_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n%s_sum %.6f\n%s_count %"
              PRIu64 "\n", name, acc, name, sum, name, acc);
}

void live_metrics_render(void *ctx, struct mh_buf *b)
{
    const struct live_metrics *m = ctx;
    const struct live *lv = m->lv;
    const struct core *c = lv->core;
    const struct live_stats *st = m->st;
    const struct agg_stats *ag = &c->feed.agg.st;
    struct pump_stats ps;
    unsigned i;

    memset(&ps, 0, sizeof ps);
    if (m->lp->pump != NULL) {
        pump_stats(m->lp->pump, &ps);
    }
    head(b, "ccstream_build_info", "gauge",
         "the producer's version, guarantee and shard");
    mh_printf(b, "ccstream_build_info{version=\"%s\",core_version=\"%d\","
              "guarantee=\"%s\",shard=\"%s\"} 1\n", CCSTREAM_VERSION,
              CORE_VERSION, m->guarantee, m->shard);
    head(b, "ccstream_start_time_seconds", "gauge",
         "when the producer started, Unix time");
    mh_printf(b, "ccstream_start_time_seconds %" PRId64 "\n",
              m->start_wall_s);
    /* the connection */
    head(b, "ccstream_frames_total", "counter",
         "WebSocket frames by CryptoCompare TYPE");
    for (i = 1; i < CC_T__COUNT; i++) {
        mh_printf(b, "ccstream_frames_total{type=\"%s\"} %" PRIu64 "\n",
                  type_label[i], c->feed.st.by_type[i]);
    }
    one(b, "ccstream_malformed_frames_total", "counter",
        "frames that did not decode (malformed or truncated JSON)",
        c->feed.st.malformed + c->feed.st.truncated);
    one(b, "ccstream_connections_opened_total", "counter",
        "WebSocket connections the producer opened", st->opens);
    head(b, "ccstream_reconnects_total", "counter",
         "reconnections by what ended the connection before");
    for (i = 0; i < LS_C__COUNT; i++) {
        mh_printf(b, "ccstream_reconnects_total{cause=\"%s\"} %" PRIu64 "\n",
                  ls_cause_name((int)i), st->reconnects[i]);
    }
    one(b, "ccstream_stale_detections_total", "counter",
        "connections found stale (no data and no heartbeat)", st->stale);
    head(b, "ccstream_clock_skew_seconds", "gauge",
         "the server's clock (TIMEMS, SERVER_TIME_MS) minus the local wall "
         "clock at receipt, last seen");
    mh_printf(b, "ccstream_clock_skew_seconds %.3f\n",
              (double)st->skew_ms / 1e3);
    histogram(b, "ccstream_trade_lag_seconds",
              "trades' receipt time minus the exchange's time stamp (TS)",
              st->lag, ls_lag_le_s, LS_LAG_N, st->lag_sum_s);
    /* REST */
    one(b, "ccstream_rest_requests_total", "counter",
        "REST requests sent", st->rest_sent);
    one(b, "ccstream_rest_cancelled_total", "counter",
        "REST requests cancelled by the core before their answer",
        st->rest_cancelled);
    head(b, "ccstream_rest_calls_total", "counter",
         "REST answers by outcome, as the REST machine took them");
    for (i = REST_I_RESP_OK; i <= REST_I_T_TIMEOUT; i++) {
        char l[64];
        if (i == REST_I_T_TIMEOUT) {
            snprintf(l, sizeof l, "timeout");
        } else {
            lower(l, sizeof l,
                  core_defs[MD_M_REST]->input_names[i] + 5 /* RESP_ */);
        }
        mh_printf(b, "ccstream_rest_calls_total{outcome=\"%s\"} %" PRIu64
                  "\n", l, st->rest[i]);
    }
    head(b, "ccstream_rest_budget_remaining", "gauge",
         "REST calls left in each rate-limit window, as the server last "
         "said (windows it has not told absent)");
    for (i = 0; i < CC_P__COUNT; i++) {
        if (c->budget.has_max & (1u << i)) {
            int64_t left = c->budget.max[i] - c->budget.made[i];
            mh_printf(b, "ccstream_rest_budget_remaining{window=\"%s\"} %"
                      PRId64 "\n", window_label[i], left < 0 ? 0 : left);
        }
    }
    /* bars */
    head(b, "ccstream_bars_total", "counter",
         "bars the core closed, by close reason");
    for (i = BAR_CLOSE_TIMER; i < BAR_CLOSE__COUNT; i++) {
        mh_printf(b, "ccstream_bars_total{reason=\"%s\"} %" PRIu64 "\n",
                  bar_close_name((int)i), lv->by_reason[i]);
    }
    one(b, "ccstream_bar_revisions_total", "counter",
        "bars closed as a revision of one published before", lv->revisions);
    one(b, "ccstream_bars_backfilled_total", "counter",
        "bars with values from REST backfill", lv->backfilled);
    one(b, "ccstream_trades_total", "counter", "trades aggregated",
        ag->trades);
    one(b, "ccstream_duplicate_trades_total", "counter",
        "trades seen before (same id), not counted again", ag->duplicates);
    head(b, "ccstream_late_trades_total", "counter",
         "trades after their bar closed: revised it, or too late "
         "(beyond the lateness horizon) and dropped");
    mh_printf(b, "ccstream_late_trades_total{outcome=\"revised\"} %" PRIu64
              "\nccstream_late_trades_total{outcome=\"dropped\"} %" PRIu64
              "\n", ag->late_revisions, ag->late_dropped);
    head(b, "ccstream_dropped_trades_total", "counter",
         "trades not aggregated: ahead of the open window (clock skew), "
         "bad values, beyond the configured streams");
    mh_printf(b, "ccstream_dropped_trades_total{reason=\"future\"} %" PRIu64
              "\nccstream_dropped_trades_total{reason=\"bad_value\"} %"
              PRIu64 "\nccstream_dropped_trades_total{reason=\"streams_full\"}"
              " %" PRIu64 "\n", ag->future_dropped, ag->bad_values,
              ag->streams_full);
    /* publishing */
    {
        double le[PUMP_LAT_N];
        for (i = 0; i < PUMP_LAT_N; i++) {
            le[i] = (double)pump_latency_le_ms[i] / 1e3;
        }
        histogram(b, "ccstream_publish_latency_seconds",
                  "from a bar's entering the outbox to the broker's "
                  "acknowledgement (exactly once: its transaction's commit)",
                  ps.lat, le, PUMP_LAT_N, (double)ps.lat_sum_ms / 1e3);
    }
    one(b, "ccstream_outbox_bars", "gauge",
        "bars in the outbox not yet acknowledged by the broker",
        ps.pending);
    {
        int64_t oldest = m->lp->pump != NULL ? pump_oldest_ms(m->lp->pump)
                                             : 0;
        head(b, "ccstream_outbox_oldest_age_seconds", "gauge",
             "age of the oldest bar not acknowledged (0: none)");
        mh_printf(b, "ccstream_outbox_oldest_age_seconds %.3f\n",
                  oldest > 0 ? (double)(mono_ms() - oldest) / 1e3 : 0.0);
    }
    one(b, "ccstream_bars_sent_total", "counter",
        "bars sent to the broker (again after a producer reset counted "
        "again)", ps.sent);
    one(b, "ccstream_bars_acknowledged_total", "counter",
        "bars the broker acknowledged", ps.acked);
    one(b, "ccstream_dead_letters_total", "counter",
        "bars the broker refused for good (kept in the state file)",
        ps.dead);
    one(b, "ccstream_outbox_dropped_total", "counter",
        "bars dropped at their closing because the outbox was full "
        "(--outbox-max)", m->lp->pc.dropped);
    one(b, "ccstream_topic_failures_total", "counter",
        "topics the broker refused to create (asked again)",
        m->lp->topics_failed);
    one(b, "ccstream_transactions_total", "counter",
        "exactly once: transactions committed", ps.txns);
    one(b, "ccstream_checkpoints_total", "counter",
        "checkpoints written to the state file", m->lp->checkpoints);
    head(b, "ccstream_last_checkpoint_timestamp_seconds", "gauge",
         "when the last checkpoint was written, Unix time (0: none yet)");
    mh_printf(b, "ccstream_last_checkpoint_timestamp_seconds %.3f\n",
              (double)m->lp->ckpt_wall_ms / 1e3);
    machines(b, c);
}
