/* pub.c: live's publisher (pub.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fsm_pub.h"
#include "log.h"
#include "md_err.h"
#include "pub.h"

#define OUTBOX_MAX_DEFAULT 1000000
#define TICK_MS 20 /* transactions, time-based commits, setup errors */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void answer_core(void *ctx, uint64_t bar_id, int input)
{
    struct live_pub *lp = ctx;
    struct core_in in;

    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_PUB;
    in.input = (uint8_t)input;
    in.bar_id = bar_id;
    live_push(lp->lv, &in, NULL);
}

static void admin_drain(struct live_pub *lp);

/* ---- the core's publisher actions ---------------------------------------- */

static void k_topic_create(void *ctx, mono_ns t, const char *const *topics,
                           size_t n)
{
    struct live_pub *lp = ctx;
    size_t i;

    for (i = 0; i < n; i++) {
        pump_warm(lp->pump, topics[i]);
    }
    pub_kafka_ops.topic_create(lp->admin, t, topics, n);
    admin_drain(lp);
}

static void k_produce(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    struct live_pub *lp = ctx;
    uint64_t bad = 0;
    int rc;

    (void)t;
    rc = pump_core_produce(&lp->pc, lp->pump, bars, n, answer_core, lp, &bad);
    if (rc == MD_E_NOMEM) {
        live_fail(lp->lv, MD_E_NOMEM, "out of memory");
    } else if (rc != MD_OK) {
        live_fail(lp->lv, MD_E_STATE, "bar %" PRIu64 " produced that the "
                  "outbox never had", bad);
    }
}

static void k_nothing(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    (void)ctx;
    (void)t;
    (void)bars;
    (void)n;
}

static void k_flush(void *ctx, mono_ns t, uint64_t inflight)
{
    (void)ctx;
    (void)t;
    (void)inflight;
}

static void k_reset(void *ctx, mono_ns t)
{
    (void)ctx;
    (void)t;
}

/* The outbox never fails a bar the core produced (a row refused by the
 * broker is the pump's dead letter): discard, dead_letter, flush and
 * producer_reset have nothing to act on. */
static const struct loop_kafka_ops live_pub_kafka = {
    k_topic_create, k_produce, k_nothing, k_flush, k_nothing, k_reset,
};

/* ---- the sink's bars: into the outbox ---------------------------------- */

static void closed(void *ctx, mono_ns t, const struct md_bar *const *bars,
                   size_t n)
{
    struct live_pub *lp = ctx;
    char err[512];
    bool say_full;
    int rc;

    (void)t;
    rc = pump_core_closed(&lp->pc, lp->pump, lp->outbox_max, true, bars, n,
                          &say_full, err, sizeof err);
    if (say_full) {
        md_log(MD_LOG_WARN, "outbox_full", "ccstream live: outbox full (%"
               PRIu64 " bars not acknowledged, --outbox-max): dropping the "
               "bars that close until it has room", pump_pending(lp->pump));
    }
    if (rc == MD_E_NOMEM) {
        live_fail(lp->lv, MD_E_NOMEM, "out of memory");
    } else if (rc != MD_OK) {
        live_fail(lp->lv, rc, "the outbox: %s", err);
    }
}

/* ---- commits and sending -------------------------------------------------- */

static int commit(struct live_pub *lp, bool force)
{
    char err[512];
    int rc = pump_commit(lp->pump, lp->core, (int64_t)lp->lv->inputs, force,
                         err, sizeof err);

    if (rc != MD_OK) {
        live_fail(lp->lv, rc, "the outbox: %s", err);
        return rc;
    }
    lp->commits++;
    if (force) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        lp->checkpoints++;
        lp->ckpt_wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    }
    /* committed: delivered, as far as the core is concerned */
    pump_core_committed(&lp->pc, answer_core, lp);
    return MD_OK;
}

static void run_pump(struct live_pub *lp)
{
    int rc;

    if (lp->lv->rc != MD_OK || lp->lv->done) {
        return;
    }
    rc = pump_run(lp->pump, 0);
    if (rc == MD_OK && pump_commit_due(lp->pump)) {
        rc = commit(lp, false);
        if (rc != MD_OK) {
            return;
        }
    }
    if (rc != MD_OK) {
        live_fail(lp->lv, rc, "the outbox: %s",
                  rc == MD_E_KAFKA ? pump_error(lp->pump) : md_strerror(rc));
    }
}

static void pass_end(void *ctx, mono_ns t)
{
    struct live_pub *lp = ctx;
    bool ckpt = t - lp->ckpt_t >= lp->ckpt_every;

    if (pump_core_waiting(&lp->pc) > 0 || ckpt) {
        if (commit(lp, ckpt) != MD_OK) {
            return;
        }
        if (ckpt) {
            lp->ckpt_t = t;
        }
    }
    run_pump(lp);
}

static void on_pump(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    run_pump(h->data);
}

/* The Admin client's answers: each topic created or failed, to the core
 * (also those it gives at once, with no request: no-create-topics). */
static void admin_drain(struct live_pub *lp)
{
    struct pub_kafka_event ev;
    int got;

    while ((got = pub_kafka_next(lp->admin, 0, &ev)) == 1) {
        struct core_in in;
        if (ev.kind != PKE_TOPIC) {
            continue; /* it produces nothing */
        }
        if (ev.input != PUB_I_TOPIC_CREATED) {
            lp->topics_failed++;
            if (strncmp(lp->said_topic, ev.topic, sizeof lp->said_topic) !=
                0) {
                md_log(MD_LOG_WARN, "topic_failed", "ccstream live: topic "
                       "%s: %s (asked again while it fails)", ev.topic,
                       ev.reason);
                snprintf(lp->said_topic, sizeof lp->said_topic, "%s",
                         ev.topic);
            }
        }
        memset(&in, 0, sizeof in);
        in.kind = CORE_IN_PUB;
        in.input = ev.input;
        in.data = ev.topic;
        in.len = strlen(ev.topic);
        live_push(lp->lv, &in, NULL);
    }
    if (got < 0) {
        live_fail(lp->lv, MD_E_NOMEM, "out of memory: an answer of Kafka "
                  "was lost");
    }
}

static void on_admin(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    admin_drain(h->data);
}

static void on_tick(uv_timer_t *h)
{
    struct live_pub *lp = h->data;
    const char *why;
    int err = pub_kafka_last_error(lp->admin, &why);

    if (pub_kafka_error_is_setup(err)) {
        /* retrying will not help a wrong CA or password */
        live_fail(lp->lv, MD_E_KAFKA, "Kafka: %s (check -X "
                  "security.protocol and the ssl.* or sasl.* properties)",
                  why);
        return;
    }
    admin_drain(lp);
    run_pump(lp);
}

int live_pub_open(struct live_pub *lp, struct live *lv, struct outbox *ob,
                  const struct live_pub_opts *o, char *errbuf,
                  size_t errlen)
{
    int rc;

    memset(lp, 0, sizeof *lp);
    lp->lv = lv;
    lp->core = lv->core;
    lp->ob = ob;
    lp->outbox_max = o->outbox_max > 0 ? o->outbox_max : OUTBOX_MAX_DEFAULT;
    lp->ckpt_every = o->checkpoint_every_ns > 0 ? o->checkpoint_every_ns
                                                : INT64_C(1000000000);
    lp->ckpt_t = live_now();
    lp->exactly_once = o->instance != NULL;
    rc = pub_kafka_new(&o->ko, &lp->admin, errbuf, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    rc = pump_open(&lp->pump, ob, &o->ko, o->ko.format, o->instance, errbuf,
                   errlen);
    if (rc != MD_OK) {
        pub_kafka_free(lp->admin, 0);
        lp->admin = NULL;
        return rc;
    }
    /* each handle made is closed by live_pub_close (uv_timer_init cannot
     * fail) */
    uv_timer_init(&lv->uv, &lp->tick);
    lp->handles |= 4;
    if (uv_poll_init(&lv->uv, &lp->admin_poll, pub_kafka_fd(lp->admin)) ==
        0) {
        lp->handles |= 1;
    }
    if (uv_poll_init(&lv->uv, &lp->pump_poll, pump_fd(lp->pump)) == 0) {
        lp->handles |= 2;
    }
    if (lp->handles != 7) {
        snprintf(errbuf, errlen, "cannot watch the Kafka clients");
        live_pub_close(lp);
        return MD_E_IO;
    }
    lp->admin_poll.data = lp;
    lp->pump_poll.data = lp;
    lp->tick.data = lp;
    if (uv_poll_start(&lp->admin_poll, UV_READABLE, on_admin) != 0 ||
        uv_poll_start(&lp->pump_poll, UV_READABLE, on_pump) != 0 ||
        uv_timer_start(&lp->tick, on_tick, TICK_MS, TICK_MS) != 0) {
        snprintf(errbuf, errlen, "cannot watch the Kafka clients");
        live_pub_close(lp);
        return MD_E_IO;
    }
    lp->ops.ctx = lp;
    lp->ops.kafka = &live_pub_kafka;
    lp->ops.closed = closed;
    lp->ops.pass_end = pass_end;
    live_set_publisher(lv, &lp->ops);
    return MD_OK;
}

int live_pub_finish(struct live_pub *lp, int timeout_ms, char *errbuf,
                    size_t errlen)
{
    int64_t end = mono_ms() + timeout_ms;
    int rc = MD_OK;

    if (lp->pump == NULL) {
        return MD_OK;
    }
    while (rc == MD_OK && pump_pending(lp->pump) > 0 && mono_ms() < end) {
        rc = pump_run(lp->pump, 50);
        if (rc == MD_OK && pump_commit_due(lp->pump)) {
            rc = pump_commit(lp->pump, lp->core, (int64_t)lp->lv->inputs,
                             false, errbuf, errlen);
        }
    }
    if (rc == MD_E_KAFKA) {
        snprintf(errbuf, errlen, "the outbox: %s", pump_error(lp->pump));
    }
    if (rc == MD_OK) {
        rc = pump_commit(lp->pump, lp->core, (int64_t)lp->lv->inputs, true,
                         errbuf, errlen);
        lp->checkpoints += rc == MD_OK;
    }
    return rc;
}

void live_pub_close(struct live_pub *lp)
{
    /* stopped at once (the descriptors may close now); their closes
     * complete in the loop's run in live_free */
    if (lp->handles & 1) {
        uv_close((uv_handle_t *)&lp->admin_poll, NULL);
    }
    if (lp->handles & 2) {
        uv_close((uv_handle_t *)&lp->pump_poll, NULL);
    }
    if (lp->handles & 4) {
        uv_close((uv_handle_t *)&lp->tick, NULL);
    }
    lp->handles = 0;
    if (lp->pump != NULL) {
        pump_stats(lp->pump, &lp->final);
    }
    pump_close(lp->pump, 0);
    lp->pump = NULL;
    if (lp->admin != NULL) {
        pub_kafka_free(lp->admin, 2000);
        lp->admin = NULL;
    }
    pump_core_free(&lp->pc);
}
