/* live_cmd.c: preparing and running `ccstream live` (live_cmd.h). */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fsm.h"
#include "live_cmd.h"
#include "log.h"
#include "md_err.h"
#include "version.h"

void live_cmd_init(struct live_cmd *c)
{
    memset(c, 0, sizeof *c);
    rpl_opts_default(&c->ro);
    c->lo.ws_url = "wss://streamer.cryptocompare.com/v2";
    c->lo.rest_url = "https://min-api.cryptocompare.com";
    c->lo.max_message = 16u << 20;
    c->lo.name = "live";
    pub_kafka_opts_default(&c->po.ko);
    c->drain_ns = INT64_C(10) * 1000000000;
    c->status_every_ns = INT64_C(30) * 1000000000;
    c->skew_warn_ns = INT64_C(2) * 1000000000;
}

void live_cmd_free(struct live_cmd *c)
{
    unsigned i;

    cli_conf_free(c->keep);
    for (i = 0; i < c->n_kept; i++) {
        free(c->kept[i]);
        c->kept[i] = NULL;
    }
    c->n_kept = 0;
    free(c->cfg.series);
    c->cfg.series = NULL;
    free(c->sub_text);
    free(c->subs);
    c->sub_text = NULL;
    c->subs = NULL;
    free(c->mem);
    c->mem = NULL;
    free(c->sess_cfg);
    c->sess_cfg = NULL;
    explicit_bzero(c->key, sizeof c->key);
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The distinct subscriptions of the series, in order. */
static int subscriptions(struct live_cmd *c)
{
    unsigned i, k;

    c->sub_text = calloc(c->cfg.n_series + 1, sizeof *c->sub_text);
    c->subs = calloc(c->cfg.n_series + 1, sizeof *c->subs);
    if (c->sub_text == NULL || c->subs == NULL) {
        return MD_E_NOMEM;
    }
    for (i = 0; i < c->cfg.n_series; i++) {
        bool dup = false;
        (void)core_series_sub(&c->cfg.series[i], c->sub_text[c->n_subs]);
        for (k = 0; k < c->n_subs && !dup; k++) {
            dup = strcmp(c->subs[k], c->sub_text[c->n_subs]) == 0;
        }
        if (!dup) {
            c->subs[c->n_subs] = c->sub_text[c->n_subs];
            c->n_subs++;
        }
    }
    return MD_OK;
}

int live_cmd_prepare(struct live_cmd *c)
{
    const char *env;
    int rc;

    if (c->brokers == NULL && (env = getenv("CCSTREAM_BROKERS")) != NULL &&
        env[0] != '\0') {
        c->brokers = env;
    }
    if (c->brokers == NULL) {
        snprintf(c->err, sizeof c->err, "which Kafka? (--brokers "
                 "host:port,... or $CCSTREAM_BROKERS; `ccstream broker` "
                 "starts one on loopback for trying)");
        return MD_E_USAGE;
    }
    if (strcmp(c->brokers, "embedded") == 0) {
        snprintf(c->err, sizeof c->err, "--brokers embedded: the live "
                 "producer publishes to a broker other processes read: "
                 "start one with `ccstream broker` and give its address");
        return MD_E_USAGE;
    }
    if (c->state == NULL) {
        if (c->ro.shard_n > 1) {
            snprintf(c->state_default, sizeof c->state_default,
                     "ccstream-%u-of-%u.state", c->ro.shard_k,
                     c->ro.shard_n);
        } else {
            snprintf(c->state_default, sizeof c->state_default,
                     "ccstream.state");
        }
        c->state = c->state_default;
    }
    if (c->instance != NULL && !c->exactly_once) {
        snprintf(c->err, sizeof c->err, "--instance names the "
                 "transactional producer of --exactly-once: give both");
        return MD_E_USAGE;
    }
    if (c->record != NULL && access(c->record, F_OK) == 0) {
        snprintf(c->err, sizeof c->err, "--record %s exists: a capture is "
                 "never overwritten", c->record);
        return MD_E_USAGE;
    }
    if (c->metrics != NULL) {
        struct sockaddr_storage ss;
        char why[300];
        if (metrics_http_parse_addr(c->metrics, &ss, why, sizeof why) !=
            MD_OK) {
            snprintf(c->err, sizeof c->err, "--metrics-listen: %s", why);
            return MD_E_USAGE;
        }
    }
    if (live_check_urls(&c->lo, c->err, sizeof c->err) != MD_OK) {
        return MD_E_USAGE;
    }
    if (c->drain_ns > INT64_C(3600) * 1000000000) {
        snprintf(c->err, sizeof c->err, "--drain-timeout: at most 1h");
        return MD_E_USAGE;
    }
    if (pub_kafka_check_props(&c->po.ko, c->err, sizeof c->err) != MD_OK) {
        return MD_E_USAGE;
    }
    rc = cli_api_key_live(c->key_file, c->key, sizeof c->key, c->err,
                          sizeof c->err);
    if (rc != MD_OK) {
        return MD_E_USAGE;
    }
    c->key_source = c->key[0] == '\0' ? "none (a real CryptoCompare "
                                        "refuses a session without one)"
                    : c->key_file != NULL ? "from --api-key-file"
                    : getenv("CRYPTOCOMPARE_API_KEY") != NULL
                        ? "from $CRYPTOCOMPARE_API_KEY"
                        : "from $CCSTREAM_API_KEY";
    c->lo.api_key = c->key;
    rc = rpl_core_config(&c->ro, NULL, &c->cfg, c->err, sizeof c->err);
    if (rc != MD_OK) {
        return rc == MD_E_USAGE ? MD_E_USAGE : MD_E_INVAL;
    }
    c->cfg.rp.share = c->rest_share > 0 ? c->rest_share
                      : c->ro.shard_n > 1 ? c->ro.shard_n
                                          : 1;
    if (c->settle_ns > 0) {
        c->cfg.rp.settle_s = c->settle_ns / 1000000000;
    }
    c->n_series = c->cfg.n_series;
    if (c->cfg.n_series == 0) {
        snprintf(c->err, sizeof c->err, "shard %u/%u holds no subscription "
                 "(fewer subscriptions than shards): use fewer shards",
                 c->ro.shard_k, c->ro.shard_n);
        return MD_E_USAGE;
    }
    if ((rc = subscriptions(c)) != MD_OK) {
        snprintf(c->err, sizeof c->err, "out of memory");
        return rc;
    }
    c->po.ko.brokers = c->brokers;
    return MD_OK;
}

/* ---- status -------------------------------------------------------------- */

static const char *state_name(int m, int s)
{
    return core_defs[m]->state_names[s];
}

static void status_line(void *ctx, struct live *lv)
{
    struct live_cmd *c = ctx;
    uint64_t per = lv->frames - c->status_frames;
    double secs = (double)c->status_every_ns / 1e9;
    double lag = live_stats_lag(&c->st, 0.5);
    uint64_t depth = pump_pending(c->lp.pump);
    int64_t oldest = pump_oldest_ms(c->lp.pump);
    int64_t age_s = 0;

    if (oldest > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        age_s = ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - oldest) /
                1000;
    }
    c->status_frames = lv->frames;
    if (md_log_is_json()) {
        fprintf(stderr, "{\"ts_ms\":%" PRId64 ",\"level\":\"info\","
                "\"event\":\"status\",\"msg\":\"status\","
                "\"frames_per_s\":%.1f,\"frames\":%"
                PRIu64 ",\"bars\":%" PRIu64 ",\"revisions\":%" PRIu64
                ",\"lag_p50_s\":%.3f,\"outbox\":%" PRIu64
                ",\"outbox_oldest_s\":%" PRId64 ",\"skew_ms\":%" PRId64
                ",\"conn\":\"%s\",\"rest\":\"%s\",\"pub\":\"%s\"}\n",
                wall_ms(), (double)per / secs, lv->frames, lv->bars,
                lv->revisions, lag < 0 ? 0 : lag, depth, age_s,
                c->st.skew_ms, state_name(MD_M_CONN, lv->core->conn.state),
                state_name(MD_M_REST, lv->core->rest.state),
                state_name(MD_M_PUB, lv->core->pub.state));
        return;
    }
    fprintf(stderr, "live: %.0f frames/s, %" PRIu64 " frames, %" PRIu64
            " bars (%" PRIu64 " revisions), lag p50 %s%.3f s, outbox %"
            PRIu64 " (oldest %" PRId64 " s), skew %" PRId64 " ms, conn %s, "
            "rest %s, pub %s\n", (double)per / secs, lv->frames, lv->bars,
            lv->revisions, lag < 0 ? "-" : "<=", lag < 0 ? 0 : lag, depth,
            age_s, c->st.skew_ms,
            state_name(MD_M_CONN, lv->core->conn.state),
            state_name(MD_M_REST, lv->core->rest.state),
            state_name(MD_M_PUB, lv->core->pub.state));
}

static void start_summary(struct live_cmd *c)
{
    char topic[CORE_TOPIC_MAX + 1] = "";
    char metrics[96] = "off";
    const char *g = c->exactly_once ? "exactly once" : "at least once";

    {
        /* the first series' topic, as an example */
        struct bar b;
        memset(&b, 0, sizeof b);
        snprintf(b.market, sizeof b.market, "%s", c->cfg.series[0].market);
        snprintf(b.base, sizeof b.base, "%s", c->cfg.series[0].base);
        snprintf(b.quote, sizeof b.quote, "%s", c->cfg.series[0].quote);
        b.interval_s = c->cfg.series[0].interval_s;
        b.source = c->cfg.series[0].source;
        (void)core_topic_render(c->core.cfg.topic_template, &b, topic,
                                sizeof topic);
    }
    if (c->mh != NULL) {
        snprintf(metrics, sizeof metrics, "http://%.60s/metrics",
                 c->metrics);
        if (strstr(c->metrics, ":0") != NULL) {
            char *p = strrchr(metrics, ':');
            snprintf(p, sizeof metrics - (size_t)(p - metrics),
                     ":%d/metrics", metrics_http_port(c->mh));
        }
    }
    md_log(MD_LOG_INFO, "start", "ccstream live %s: %u subscriptions (%u "
           "series)%s%s on %s; REST %s; Kafka %s, topics %s (e.g. %s), %s%s%s"
           "; state %s (%s); API key %s; recording %s; metrics %s",
           CCSTREAM_VERSION, c->n_subs, c->n_series,
           c->ro.shard_n > 1 ? ", shard " : "",
           c->ro.shard_n > 1 ? c->shard_text : "", c->lo.ws_url,
           c->lo.rest_url, c->brokers, c->core.cfg.topic_template, topic, g,
           c->exactly_once ? " as transactional.id ccstream-" : "",
           c->exactly_once ? c->txn_instance : "", c->state,
           c->resumed ? "resumed from its checkpoint" : "new",
           c->key_source, c->record != NULL ? c->record : "off", metrics);
}

/* ---- the run --------------------------------------------------------------- */

static int open_state(struct live_cmd *c)
{
    int64_t seq = 0;
    int rc = outbox_open(&c->ob, c->state, c->err, sizeof c->err);

    if (rc != MD_OK) {
        return rc;
    }
    rc = outbox_restore(c->ob, &c->core, &seq, c->err, sizeof c->err);
    if (rc == MD_E_NOTFOUND) {
        return MD_OK; /* new, or a run that died before its first commit */
    }
    if (rc != MD_OK) {
        char why[600];
        snprintf(why, sizeof why, "%.500s", c->err);
        snprintf(c->err, sizeof c->err, "the state file %.100s cannot be "
                 "resumed: %s (written with other symbols, intervals or "
                 "shard? give another --state, or move this one away to "
                 "start afresh: its bars not yet sent are in it)", c->state,
                 why);
        return rc;
    }
    c->resumed = true;
    return MD_OK;
}

static int open_record(struct live_cmd *c)
{
    struct store_session sess;
    struct timespec ts;

    memset(&sess, 0, sizeof sess);
    sess.started_mono_ns = live_now();
    clock_gettime(CLOCK_REALTIME, &ts);
    sess.started_wall_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    sess.tool = "ccstream " CCSTREAM_VERSION;
    sess.kind = "live";
    sess.config = c->sess_cfg;
    sess.prng_seed = c->seed;
    sess.core_version = CORE_VERSION;
    return store_writer_open(c->record, &sess, c->key[0] ? c->key : NULL,
                             NULL, &c->w, c->err, sizeof c->err);
}

static int core_up(struct live_cmd *c)
{
    size_t need;
    int rc;

    if (getrandom(&c->seed, sizeof c->seed, 0) != (ssize_t)sizeof c->seed) {
        c->seed = (uint64_t)live_now();
    }
    c->cfg.seed = c->seed;
    c->cfg.trace = 1;
    /* the open bars stay in the checkpoint at a stop, unless flushed */
    c->cfg.stop_keeps_open = !c->stop_flush;
    if (rpl_session_config(&c->ro, NULL, &c->cfg, &c->sess_cfg) != MD_OK) {
        snprintf(c->err, sizeof c->err, "out of memory");
        return MD_E_NOMEM;
    }
    need = core_mem_size(&c->cfg);
    c->mem = need != SIZE_MAX ? malloc(need) : NULL;
    if (c->mem != NULL) {
        /* every page of the core's tables resident from the start: a
         * producer that runs for months touches them all anyway (trade
         * ids move through the dedupe sets), and its memory should not
         * creep up over the first hours nor fault in the hot path (a
         * write per page, through volatile: a compiler may turn malloc
         * and memset 0 into calloc, which touches nothing) */
        volatile unsigned char *p = c->mem;
        size_t i;
        for (i = 0; i < need; i += 4096) {
            p[i] = 0;
        }
    }
    rc = c->mem != NULL ? core_init(&c->core, &c->cfg, c->mem, need)
                        : MD_E_NOMEM;
    if (rc != MD_OK) {
        snprintf(c->err, sizeof c->err, "bad configuration: %s",
                 md_strerror(rc));
    }
    return rc;
}

static int exit_status(struct live_cmd *c, int rc)
{
    if (rc == MD_E_USAGE) {
        return 2;
    }
    if (rc != MD_OK) {
        return 1;
    }
    if (c->lv.refused) {
        return 3;
    }
    if (c->lp.pc.dropped > 0) {
        return 5;
    }
    if (c->lp.pump != NULL && pump_pending(c->lp.pump) > 0) {
        return 4;
    }
    return 0;
}

static void end_summary(struct live_cmd *c, int status)
{
    struct pump_stats ps;
    uint64_t reconnects = 0;
    int k;

    ps = c->lp.final;
    if (c->lp.pump != NULL) {
        pump_stats(c->lp.pump, &ps);
    }
    for (k = 0; k < LS_C__COUNT; k++) {
        reconnects += c->st.reconnects[k];
    }
    md_log(status == 0 ? MD_LOG_INFO : MD_LOG_WARN, "summary",
           "live: %" PRIu64 " frames, %" PRIu64 " bars (%" PRIu64
           " revisions, %" PRIu64 " backfilled), %" PRIu64 " reconnects, %"
           PRIu64 " REST calls; outbox: %" PRIu64 " bars sent, %" PRIu64
           " acknowledged, %" PRIu64 " dead letters, %" PRIu64 " dropped, %"
           PRIu64 " left in %s%s; %" PRIu64 " checkpoints%s; exit %d",
           c->lv.frames, c->lv.bars, c->lv.revisions, c->lv.backfilled,
           reconnects, c->st.rest_sent, ps.sent, ps.acked, ps.dead,
           c->lp.pc.dropped, ps.pending, c->state,
           ps.pending > 0 ? " (sent by the next run)" : "",
           c->lp.checkpoints,
           c->lv.stop_signal ? "; stopped by a signal" : "", status);
    if (c->lv.withdrawn + c->lv.late_frames + c->lv.binary_frames > 0) {
        md_log(MD_LOG_INFO, "not_stepped", "live: not given to the core: %"
               PRIu64 " inputs withdrawn (their request cancelled or socket "
               "closed by the core), %" PRIu64 " frames after a close or "
               "past --max-message, %" PRIu64 " binary frames",
               c->lv.withdrawn, c->lv.late_frames, c->lv.binary_frames);
    }
}

int live_cmd_run(struct live_cmd *c)
{
    FILE *bars = NULL, *trace = NULL;
    int rc, status;

    /* no core file of this process (it holds the key) */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    c->started_wall_ms = wall_ms();
    if (c->lo.insecure) {
        md_log(MD_LOG_WARN, "insecure", "ccstream live: WARNING: "
               "--insecure: the server's certificate is not checked; anyone "
               "on the path can read and alter this session and see the "
               "API key");
    }
    if (c->ro.shard_n > 1) {
        snprintf(c->shard_text, sizeof c->shard_text, "%u/%u",
                 c->ro.shard_k, c->ro.shard_n);
    }
    rc = core_up(c);
    if (rc == MD_OK) {
        rc = open_state(c);
    }
    if (rc == MD_OK && c->exactly_once) {
        snprintf(c->txn_instance, sizeof c->txn_instance, "%s",
                 c->instance != NULL ? c->instance
                                     : outbox_file_id(c->ob));
        c->po.instance = c->txn_instance;
    }
    if (rc == MD_OK && c->record != NULL) {
        if (c->resumed) {
            md_log(MD_LOG_WARN, "record_resumed", "ccstream live: the "
                   "state file was resumed: the recording %s starts from "
                   "its checkpoint, so a strict replay of it from the "
                   "start differs; replay it with --mode follow, or record "
                   "from a new state file", c->record);
        }
        rc = open_record(c);
    }
    if (rc == MD_OK && c->bars_name != NULL &&
        (bars = fopen(c->bars_name, "w")) == NULL) {
        snprintf(c->err, sizeof c->err, "%s: %s", c->bars_name,
                 strerror(errno));
        rc = MD_E_IO;
    }
    if (rc == MD_OK && c->trace_name != NULL &&
        (trace = fopen(c->trace_name, "w")) == NULL) {
        snprintf(c->err, sizeof c->err, "%s: %s", c->trace_name,
                 strerror(errno));
        rc = MD_E_IO;
    }
    if (rc != MD_OK) {
        md_log(MD_LOG_ERROR, "error", "ccstream live: %s", c->err);
        if (c->w != NULL) {
            (void)store_writer_close(c->w, c->err, sizeof c->err);
        }
        outbox_close(c->ob);
        if (bars != NULL) {
            fclose(bars);
        }
        return 1;
    }
    c->lo.bars = bars;
    c->lo.trace = trace;
    c->lo.status = !c->quiet && c->status_every_ns > 0;
    c->lo.status_fn = status_line;
    c->lo.status_ctx = c;
    c->lo.status_every_ms = c->status_every_ns / 1000000;
    rc = live_init(&c->lv, &c->core, &c->lo, c->w);
    live_stats_init(&c->st, c->lv.wall_minus_mono, c->skew_warn_ns / 1000000);
    c->lv.loop.obs = live_stats_observer(&c->st, &c->obs);
    if (rc == MD_OK) {
        rc = live_pub_open(&c->lp, &c->lv, c->ob, &c->po, c->lv.err,
                           sizeof c->lv.err);
    }
    if (rc == MD_OK && c->metrics != NULL) {
        c->m.lv = &c->lv;
        c->m.lp = &c->lp;
        c->m.st = &c->st;
        c->m.shard = c->shard_text;
        c->m.guarantee = c->exactly_once ? "exactly_once" : "at_least_once";
        c->m.start_wall_s = c->started_wall_ms / 1000;
        rc = metrics_http_start(&c->mh, &c->lv.uv, c->metrics,
                                live_metrics_render, &c->m, c->lv.err,
                                sizeof c->lv.err);
    }
    if (rc == MD_OK) {
        if (!c->quiet) {
            start_summary(c);
        }
        rc = live_run(&c->lv);
    }
    if (rc != MD_OK) {
        md_log(MD_LOG_ERROR, "error", "ccstream live: %s", c->lv.err);
    }
    {
        /* a signal during the shutdown must not kill the process before
         * the state file, the recording and the outputs are closed: held
         * until then, and dropped (the run is over) */
        sigset_t hold, prev;
        char err[1024];
        int frc = MD_OK;
        sigemptyset(&hold);
        sigaddset(&hold, SIGINT);
        sigaddset(&hold, SIGTERM);
        sigprocmask(SIG_BLOCK, &hold, &prev);
        if (c->lp.pump != NULL && c->lv.started && c->lv.rc != MD_E_IO) {
            frc = live_pub_finish(&c->lp, (int)(c->drain_ns / 1000000), err,
                                  sizeof err);
            if (frc != MD_OK) {
                md_log(MD_LOG_ERROR, "error", "ccstream live: %s", err);
                rc = rc == MD_OK ? frc : rc;
            }
        }
        status = exit_status(c, rc);
        if (c->lv.refused) {
            md_log(MD_LOG_ERROR, "key_refused", "ccstream live: the server "
                   "refused the API key (UNAUTHORIZED): give a valid one "
                   "with --api-key-file or $CRYPTOCOMPARE_API_KEY");
        }
        metrics_http_close(c->mh);
        c->mh = NULL;
        live_pub_close(&c->lp);
        live_free(&c->lv);
        if (c->w != NULL && store_writer_close(c->w, err, sizeof err) !=
                                MD_OK) {
            md_log(MD_LOG_ERROR, "error", "ccstream live: %s", err);
            status = 1;
        }
        c->w = NULL;
        outbox_close(c->ob);
        c->ob = NULL;
        if (bars != NULL && fclose(bars) != 0) {
            md_log(MD_LOG_ERROR, "error", "ccstream live: %s: write failed",
                   c->bars_name);
            status = 1;
        }
        if (trace != NULL && fclose(trace) != 0) {
            md_log(MD_LOG_ERROR, "error", "ccstream live: %s: write failed",
                   c->trace_name);
            status = 1;
        }
        if (!c->quiet) {
            end_summary(c, status);
        }
        /* live_free gave the signals back to their default action: one
         * held now would kill the process at the unblocking */
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        sigprocmask(SIG_SETMASK, &prev, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }
    return status;
}
