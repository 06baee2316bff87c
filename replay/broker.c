/* broker.c: replay --brokers: the bars published through the real shell
 * (publish/kafka.h) to a Kafka cluster or to librdkafka's mock cluster in
 * this process ("embedded"), instead of the virtual broker. Virtual time
 * waits for Kafka: before the next input or timer, every report of what
 * was produced (and every Admin result) is awaited in real time and
 * answered 1 ms of virtual time after the action, so a fast replay never
 * lets a publisher timer fire while the broker is still acknowledging.
 * The bars, not the trace, are what equals the virtual run. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "fsm_pub.h"
#include "kafka.h"
#include "md_err.h"
#include "md_fnv.h"
#include "pump.h"
#include "pump_core.h"
#include "replay_int.h"

#define DRAIN_TIMEOUT_MS 60000
#define CLOSE_FLUSH_MS 10000

static int64_t real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The shell's operations, with --inject acting on the real producer and
 * broker: publish-reject@T makes the embedded broker refuse the first
 * Produce request from T on for good (INVALID_RECORD, as a broker refuses
 * a corrupt batch: under the gapless guarantee that is fatal to the
 * producer too), kafka-fatal@T makes the producer fail fatally before its
 * first produce from T on (librdkafka's own fatal path). What follows is
 * librdkafka's and the machine's. */
#define KAFKAP_PRODUCE 0 /* the Produce request's API key */

static void b_topic_create(void *ctx, mono_ns t, const char *const *topics,
                           size_t n)
{
    struct run *r = ctx;

    pub_kafka_ops.topic_create(r->kafka, t, topics, n);
}

static void b_produce(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    struct run *r = ctx;

    if (r->mock != NULL && fault_take(r, RPL_INJ_PUBLISH_REJECT, t)) {
        rd_kafka_mock_push_request_errors(r->mock, KAFKAP_PRODUCE, 1,
                                          RD_KAFKA_RESP_ERR_INVALID_RECORD);
    }
    if (fault_take(r, RPL_INJ_KAFKA_FATAL, t) &&
        pub_kafka_test_fatal(r->kafka) != MD_OK) {
        fprintf(stderr, "replay: kafka-fatal: the producer could not be "
                "made to fail\n");
    }
    pub_kafka_ops.produce(r->kafka, t, bars, n);
}

static void b_discard(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    struct run *r = ctx;

    pub_kafka_ops.discard(r->kafka, t, bars, n);
}

static void b_flush(void *ctx, mono_ns t, uint64_t inflight)
{
    struct run *r = ctx;

    pub_kafka_ops.flush(r->kafka, t, inflight);
}

static void b_dead_letter(void *ctx, mono_ns t,
                          const struct md_bar *const *bars, size_t n)
{
    struct run *r = ctx;

    pub_kafka_ops.dead_letter(r->kafka, t, bars, n);
}

static void b_producer_reset(void *ctx, mono_ns t)
{
    struct run *r = ctx;

    pub_kafka_ops.producer_reset(r->kafka, t);
}

static const struct loop_kafka_ops broker_kafka_ops = {
    b_topic_create, b_produce,     b_discard,
    b_flush,        b_dead_letter, b_producer_reset,
};

/* The core's answer for a bar of the outbox, ACK_DELAY_NS of virtual time
 * after t. */
struct o_answer {
    struct run *r;
    int64_t t;
};

static void o_answer(void *ctx, uint64_t bar_id, int input)
{
    struct o_answer *a = ctx;
    struct pend p;

    memset(&p, 0, sizeof p);
    p.t = a->t + ACK_DELAY_NS;
    p.kind = PEND_DELIVERY;
    p.bar_id = bar_id;
    p.input = (uint8_t)input;
    p.gen = a->r->producer_gen;
    p.ok = 1;
    world_reply(a->r, a->t, p);
}

/* With the outbox (--state): the core publishes into it. A bar it
 * produces is reported delivered once its row is committed (rpl_kafka_
 * drain); the pump sends it to the broker apart from virtual time. The
 * core's other publisher actions have nothing to act on: the outbox
 * never fails a bar (a refused row is the pump's dead letter). */
static void o_produce(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    struct run *r = ctx;
    struct o_answer a = {r, t};
    uint64_t bad = 0;
    int rc = pump_core_produce(&r->pc, r->pump, bars, n, o_answer, &a, &bad);

    if (rc == MD_E_NOMEM) {
        world_fail(r, MD_E_NOMEM, "out of memory");
    } else if (rc != MD_OK) {
        char msg[96];
        snprintf(msg, sizeof msg, "bar %" PRIu64 " produced that the outbox "
                 "never had", bad);
        world_fail(r, MD_E_STATE, msg);
    }
}

static void o_nothing(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    (void)ctx;
    (void)t;
    (void)bars;
    (void)n;
}

static void o_flush(void *ctx, mono_ns t, uint64_t inflight)
{
    (void)ctx;
    (void)t;
    (void)inflight;
}

static void o_reset(void *ctx, mono_ns t)
{
    (void)ctx;
    (void)t;
}

/* A topic asked for: the Admin request goes as without the outbox, and
 * the pump's producer learns the topic before its first bar. */
static void o_topic_create(void *ctx, mono_ns t, const char *const *topics,
                           size_t n)
{
    struct run *r = ctx;
    size_t i;

    for (i = 0; i < n; i++) {
        pump_warm(r->pump, topics[i]);
    }
    b_topic_create(ctx, t, topics, n);
}

static const struct loop_kafka_ops outbox_kafka_ops = {
    o_topic_create, o_produce, o_nothing, o_flush, o_nothing, o_reset,
};

#define OUTBOX_MAX_DEFAULT 1000000

/* The core closed these bars: into the outbox (the sink, world.c). */
int rpl_outbox_closed(struct run *r, const struct md_bar *const *bars,
                      size_t n)
{
    uint64_t max = r->o->outbox_max > 0 ? r->o->outbox_max
                                        : OUTBOX_MAX_DEFAULT;
    bool say_full;
    /* full, and the policy is to drop: counted, said once per stretch,
     * the core's produce of it refused (dead letter) */
    int rc = pump_core_closed(&r->pc, r->pump, max, r->o->outbox_drop, bars,
                              n, &say_full, r->err, r->errlen);

    if (say_full) {
        fprintf(stderr, "outbox: full (%" PRIu64 " bars not acknowledged, "
                "--outbox-max): dropping the bars that close until it has "
                "room\n", pump_pending(r->pump));
    }
    r->sum->outbox_dropped = r->pc.dropped;
    if (rc != MD_OK) {
        r->rc = rc;
    }
    return rc;
}

/* Commit what the outbox holds with the core's checkpoint, covering the
 * last event taken in. */
int rpl_outbox_commit(struct run *r, bool force)
{
    int rc = pump_commit(r->pump, r->core, r->last_seq > r->resume_seq
                                               ? r->last_seq
                                               : r->resume_seq,
                         force, r->err, r->errlen);

    if (rc != MD_OK && r->rc == MD_OK) {
        r->rc = rc;
    }
    return rc;
}

/* The outbox's share of a drain: commit, report the bars committed to
 * the core (1 ms of virtual time later), send, and past the outbox's
 * limit wait for the broker. */
static int outbox_drain(struct run *r, int64_t t)
{
    uint64_t max = r->o->outbox_max > 0 ? r->o->outbox_max
                                        : OUTBOX_MAX_DEFAULT;
    int rc;

    if (pump_core_waiting(&r->pc) > 0) {
        struct o_answer a = {r, t};
        if ((rc = rpl_outbox_commit(r, false)) != MD_OK) {
            return rc;
        }
        pump_core_committed(&r->pc, o_answer, &a);
    } else if (pump_commit_due(r->pump) &&
               (rc = rpl_outbox_commit(r, false)) != MD_OK) {
        return rc;
    }
    rc = pump_run(r->pump, 0);
    while (rc == MD_OK && !r->o->outbox_drop &&
           pump_pending(r->pump) > max) {
        /* only replay may slow its input: a live producer keeps reading */
        rc = pump_run(r->pump, 50);
        if (rc == MD_OK && pump_commit_due(r->pump)) {
            rc = rpl_outbox_commit(r, false);
        }
    }
    if (rc != MD_OK && r->rc == MD_OK) {
        snprintf(r->err, r->errlen, "the outbox: %s",
                 rc == MD_E_KAFKA ? pump_error(r->pump) : md_strerror(rc));
        r->rc = rc;
    }
    return rc;
}

int rpl_kafka_check(const struct rpl_opts *o, char *errbuf, size_t errlen)
{
    unsigned k;

    for (k = 0; k < o->n_inject; k++) {
        int kind = o->inject[k].kind;
        const char *why = NULL;
        if (kind == RPL_INJ_PUBLISH_FAIL || kind == RPL_INJ_TOPIC_FAIL ||
            kind == RPL_INJ_KAFKA_SLOW || kind == RPL_INJ_QUEUE_FULL) {
            why = "acts on the virtual broker only (leave --brokers out); "
                  "with --brokers: publish-reject (embedded) and "
                  "kafka-fatal";
        } else if (kind == RPL_INJ_PUBLISH_REJECT &&
                   strcmp(o->brokers, "embedded") != 0) {
            why = "needs the embedded broker (--brokers embedded), which "
                  "can be made to refuse a request";
        }
        if (why != NULL) {
            snprintf(errbuf, errlen, "--inject %s: %s",
                     rpl_inject_name(kind), why);
            return MD_E_USAGE;
        }
    }
    return MD_OK;
}

int rpl_kafka_open(struct run *r, char *errbuf, size_t errlen)
{
    struct pub_kafka_opts ko;
    const char *brokers = r->o->brokers;
    unsigned i;
    int rc;

    if (strcmp(brokers, "embedded") == 0 && r->o->mock_cluster != NULL) {
        r->mock = r->o->mock_cluster;
        r->mock_owned = false;
        snprintf(r->sum->kafka_bootstrap, sizeof r->sum->kafka_bootstrap,
                 "%s", rd_kafka_mock_cluster_bootstraps(r->mock));
        brokers = r->sum->kafka_bootstrap;
    } else if (strcmp(brokers, "embedded") == 0) {
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mc;
        char e[512];

        rd_kafka_conf_set(c, "log_level", "3", NULL, 0);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
        if (rk == NULL) {
            snprintf(errbuf, errlen, "embedded broker: %s", e);
            return MD_E_KAFKA;
        }
        mc = rd_kafka_mock_cluster_new(rk, 1);
        if (mc == NULL) {
            rd_kafka_destroy(rk);
            snprintf(errbuf, errlen, "embedded broker: librdkafka's mock "
                     "cluster could not start");
            return MD_E_KAFKA;
        }
        r->mock_rk = rk;
        r->mock = mc;
        r->mock_owned = true;
        snprintf(r->sum->kafka_bootstrap, sizeof r->sum->kafka_bootstrap,
                 "%s", rd_kafka_mock_cluster_bootstraps(mc));
        brokers = r->sum->kafka_bootstrap;
    }
    pub_kafka_opts_default(&ko);
    ko.brokers = brokers;
    ko.format = r->o->kafka_format;
    for (i = 0; i < r->o->n_kafka_props && i < PUB_KAFKA_MAX_PROPS; i++) {
        ko.props[i][0] = r->o->kafka_props[i][0];
        ko.props[i][1] = r->o->kafka_props[i][1];
    }
    ko.n_props = i;
    ko.mock = r->mock;
    ko.no_create = r->o->kafka_no_create;
    if (r->o->topic_partitions > 0) {
        ko.partitions = r->o->topic_partitions;
    }
    if (r->o->topic_replication > 0) {
        ko.replication = r->o->topic_replication;
    }
    ko.retention_ms = r->o->topic_retention_ms;
    if ((rc = pub_kafka_new(&ko, &r->kafka, errbuf, errlen)) != MD_OK) {
        rpl_kafka_close(r);
        return rc;
    }
    r->loop.kafka = &broker_kafka_ops;
    r->loop.kafka_ctx = r;
    if (r->ob != NULL) {
        /* brokers is the summary's bootstrap or the options': both
         * outlive the pump */
        const char *inst = NULL;
        if (r->o->exactly_once) {
            inst = r->o->instance != NULL ? r->o->instance
                                          : outbox_file_id(r->ob);
        }
        if ((rc = pump_open(&r->pump, r->ob, &ko, r->o->kafka_format, inst,
                            errbuf, errlen)) != MD_OK) {
            rpl_kafka_close(r);
            return rc;
        }
        r->loop.kafka = &outbox_kafka_ops;
        r->sum->outbox = true;
    }
    return MD_OK;
}

/* Wait for what Kafka owes and queue it as the world's answers. */
int rpl_kafka_drain(struct run *r, int64_t t)
{
    struct pub_kafka_event ev;
    int64_t end = real_ms() + DRAIN_TIMEOUT_MS;

    if (r->kafka == NULL) {
        return MD_OK;
    }
    if (r->pump != NULL && outbox_drain(r, t) != MD_OK) {
        return r->rc;
    }
    while (pub_kafka_outstanding(r->kafka) > 0) {
        struct pend p;
        const char *why;
        int err = pub_kafka_last_error(r->kafka, &why);
        if (pub_kafka_error_is_setup(err)) {
            /* retrying will not help a wrong CA or password */
            snprintf(r->err, r->errlen, "Kafka at %s: %s (check -X "
                     "security.protocol and the ssl.* or sasl.* "
                     "properties)", r->o->brokers, why);
            r->rc = MD_E_KAFKA;
            return MD_E_KAFKA;
        }
        if (real_ms() > end) {
            snprintf(r->err, r->errlen, "Kafka at %s answered nothing for "
                     "%d s (%zu records and requests outstanding): is the "
                     "broker up?%s%s",
                     r->o->brokers, DRAIN_TIMEOUT_MS / 1000,
                     pub_kafka_outstanding(r->kafka), *why ? " Last error: "
                     : "", why);
            r->rc = MD_E_KAFKA;
            return MD_E_KAFKA;
        }
        {
            int got = pub_kafka_next(r->kafka, 50, &ev);
            if (got < 0) {
                snprintf(r->err, r->errlen, "out of memory: an answer of "
                         "Kafka was lost");
                r->rc = MD_E_NOMEM;
                return MD_E_NOMEM;
            }
            if (got == 0) {
                continue;
            }
        }
        memset(&p, 0, sizeof p);
        p.t = t + ACK_DELAY_NS;
        if (ev.kind == PKE_TOPIC) {
            size_t len = strlen(ev.topic);
            p.kind = PEND_ADMIN;
            p.ok = ev.input == PUB_I_TOPIC_CREATED;
            p.data = malloc(len + 1);
            if (p.data == NULL) {
                return MD_E_NOMEM;
            }
            memcpy(p.data, ev.topic, len + 1);
            p.len = len;
            if (!p.ok) {
                /* once per topic and reason: the machine retries */
                char said[512];
                uint64_t h;
                size_t i;
                bool seen = false;
                snprintf(said, sizeof said, "%s: %s", ev.topic, ev.reason);
                h = md_fnv1a64(MD_FNV1A64_BASIS, said, strlen(said));
                for (i = 0; i < r->n_kafka_said && !seen; i++) {
                    seen = r->kafka_said[i] == h;
                }
                if (!seen) {
                    fprintf(stderr, "replay: topic %s (asked again while "
                            "it fails)\n", said);
                    if (r->n_kafka_said < sizeof r->kafka_said /
                                              sizeof r->kafka_said[0]) {
                        r->kafka_said[r->n_kafka_said++] = h;
                    }
                }
            }
        } else {
            p.kind = PEND_DELIVERY;
            p.bar_id = ev.bar_id;
            p.input = ev.input;
            p.gen = r->producer_gen;
            p.ok = 1;
            if (ev.input == PUB_I_QUEUE_FULL) {
                p.t = t; /* refused at once */
                p.urgent = 1;
            } else if (ev.input == PUB_I_PUBLISH_SUCCESS) {
                r->sum->kafka_acked++;
            }
            if (ev.input == PUB_I_PUBLISH_REJECTED ||
                ev.input == PUB_I_PRODUCER_FATAL) {
                fprintf(stderr, "replay: Kafka: bar %" PRIu64 ": %s\n",
                        ev.bar_id, ev.reason);
            }
        }
        world_reply(r, t, p);
    }
    return MD_OK;
}

/* The end of the run: wait up to DRAIN_TIMEOUT_MS for the broker to
 * acknowledge every row, and commit; what is left stays in the outbox for
 * the next run. */
int rpl_outbox_finish(struct run *r)
{
    int64_t end = real_ms() + DRAIN_TIMEOUT_MS;
    struct pump_stats st;
    int rc = MD_OK;

    if (r->pump == NULL) {
        return MD_OK;
    }
    while (rc == MD_OK && pump_pending(r->pump) > 0 && real_ms() < end) {
        rc = pump_run(r->pump, 50);
        if (rc == MD_OK && pump_commit_due(r->pump)) {
            rc = rpl_outbox_commit(r, false);
        }
    }
    if (rc == MD_OK) {
        rc = rpl_outbox_commit(r, false);
    }
    pump_stats(r->pump, &st);
    r->sum->outbox_sent = st.sent;
    r->sum->outbox_acked = st.acked;
    r->sum->outbox_resent = st.resent;
    r->sum->outbox_restored = st.restored;
    r->sum->outbox_dead = st.dead;
    r->sum->outbox_left = st.pending;
    r->sum->outbox_txns = st.txns;
    r->sum->outbox_aborts = st.aborts;
    r->sum->outbox_skipped = st.skipped;
    if (rc == MD_E_KAFKA && r->rc == MD_OK) {
        snprintf(r->err, r->errlen, "the outbox: %s", pump_error(r->pump));
        r->rc = rc;
    }
    return rc;
}

void rpl_kafka_close(struct run *r)
{
    if (r->pump != NULL) {
        struct pump_stats st;
        pump_stats(r->pump, &st);
        r->sum->outbox_left = st.pending;
        pump_close(r->pump, 0);
        r->pump = NULL;
    }
    pump_core_free(&r->pc);
    if (r->kafka != NULL) {
        struct pub_kafka_stats st;
        pub_kafka_stats(r->kafka, &st);
        r->sum->kafka_produced = st.produced;
        r->sum->kafka_undelivered = pub_kafka_free(r->kafka, CLOSE_FLUSH_MS);
        r->kafka = NULL;
    }
    if (r->mock != NULL && r->mock_owned) {
        rd_kafka_mock_cluster_destroy(r->mock);
    }
    r->mock = NULL;
    if (r->mock_rk != NULL) {
        rd_kafka_destroy(r->mock_rk);
        r->mock_rk = NULL;
    }
}
