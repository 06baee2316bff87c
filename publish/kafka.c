/* kafka.c: the publisher shell over librdkafka: the producer, its
 * events, Admin topic creation. See kafka.h; transactions and the
 * progress topic are in kafka_txn.c. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "bar_codec.h"
#include "core.h"
#include "fsm_pub.h"
#include "kafka.h"
#include "kafka_int.h"
#include "log.h"
#include "md_err.h"
#include "record.h"

#define ADMIN_TIMEOUT_MS 30000

/* A CreateTopics request's topic names ("a\0b\0\0"), its opaque, for a
 * failure of the whole request; listed so that one never answered (the
 * producer destroyed first) is freed too. */
struct admin_req {
    struct admin_req *next, *prev;
    char names[];
};


/* A CreateTopics request answered (or never to be): off the list, freed. */
static void req_forget(struct pub_kafka *k, struct admin_req *req)
{
    if (req->prev != NULL) {
        req->prev->next = req->next;
    } else {
        k->reqs = req->next;
    }
    if (req->next != NULL) {
        req->next->prev = req->prev;
    }
    free(req);
}

void pub_kafka_opts_default(struct pub_kafka_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = PUB_FMT_MSGPACK;
    o->partitions = 6;
    o->replication = -1;
}

static struct pub_kafka_event *ev_push(struct pub_kafka *k)
{
    struct pub_kafka_event *e;

    if (k->ev_n == k->ev_cap) {
        size_t cap = k->ev_cap ? k->ev_cap * 2 : 256, i;
        struct pub_kafka_event *v = malloc(cap * sizeof *v);
        if (v == NULL) {
            k->oom = true;
            return NULL;
        }
        for (i = 0; i < k->ev_n; i++) {
            v[i] = k->ev[(k->ev_head + i) % k->ev_cap];
        }
        free(k->ev);
        k->ev = v;
        k->ev_cap = cap;
        k->ev_head = 0;
    }
    e = &k->ev[(k->ev_head + k->ev_n++) % k->ev_cap];
    /* not a memset of the whole event: one per delivered bar */
    e->kind = PKE_NONE;
    e->input = 0;
    e->bar_id = 0;
    e->topic[0] = '\0';
    e->err = 0;
    e->reason[0] = '\0';
    return e;
}

/* The publisher machine's input for a final delivery error. */
static uint8_t classify(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return PUB_I_PUBLISH_SUCCESS;
    case RD_KAFKA_RESP_ERR__FATAL:
        return PUB_I_PRODUCER_FATAL;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return PUB_I_PUBLISH_REJECTED;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return PUB_I_QUEUE_FULL;
    default:
        /* timed out, or retriable errors librdkafka gave up on */
        return PUB_I_PUBLISH_FAILURE;
    }
}

/* *e for the delivery report of one message. */
static void delivery(struct pub_kafka *k, const rd_kafka_message_t *m,
                     struct pub_kafka_event *e)
{
    e->kind = PKE_DELIVERY;
    e->bar_id = (uint64_t)(uintptr_t)m->_private;
    e->err = m->err;
    e->input = classify(m->err);
    k->unsettled -= k->unsettled > 0;
    e->topic[0] = '\0';
    e->reason[0] = '\0';
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(e->reason, sizeof e->reason, "%s", rd_kafka_err2str(m->err));
    }
    switch (e->input) {
    case PUB_I_PUBLISH_SUCCESS:
        k->st.delivered++;
        break;
    case PUB_I_PUBLISH_REJECTED:
        k->st.rejected++;
        break;
    default:
        k->st.failed++;
        break;
    }
}

static void topic_results(struct pub_kafka *k, rd_kafka_event_t *rev);

/* A dead producer's last reports. The fatal error comes before the
 * reports of what its requests carried: the bars already written (their
 * requests were in flight) and, under the gapless guarantee, the bar the
 * broker refused for good, if that was the cause. Its queued messages are
 * purged at once, the answers to its requests in flight awaited (up to
 * DEAD_DRAIN_MS), and those bars handed out before the fatal error:
 * written ones as delivered, so they are not produced twice, refused ones
 * as refused, so they are dead-lettered instead of produced again after
 * every reset. What is left (purged, failed, unanswered) the fatal error
 * gives back to the core, to be produced by the next producer, in order;
 * only an unanswered request can then leave a duplicate. */
#define DEAD_DRAIN_MS 2000

/* The rest of a dead producer's delivery batch: the written and the
 * refused bars into the ring; the others (purged, failed) stay unsettled
 * for the fatal error to give back. */
static void settled(struct pub_kafka *k, rd_kafka_event_t *batch)
{
    const rd_kafka_message_t *m;

    while ((m = rd_kafka_event_message_next(batch)) != NULL) {
        struct pub_kafka_event *e;
        uint8_t in = classify(m->err);
        if ((in == PUB_I_PUBLISH_SUCCESS || in == PUB_I_PUBLISH_REJECTED) &&
            (e = ev_push(k)) != NULL) {
            delivery(k, m, e);
        }
    }
}

static void drain_dead(struct pub_kafka *k)
{
    int64_t waited = 0;

    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE);
    if (k->dr != NULL) {
        /* a batch half handed out: the rest of it */
        settled(k, k->dr);
        rd_kafka_event_destroy(k->dr);
        k->dr = NULL;
    }
    while (waited < DEAD_DRAIN_MS) {
        rd_kafka_event_t *rev;
        if (rd_kafka_outq_len(k->rk) == 0) {
            break;
        }
        if ((rev = rd_kafka_queue_poll(k->q, 50)) == NULL) {
            waited += 50;
            continue;
        }
        switch (rd_kafka_event_type(rev)) {
        case RD_KAFKA_EVENT_DR:
            settled(k, rev);
            break;
        case RD_KAFKA_EVENT_CREATETOPICS_RESULT:
            topic_results(k, rev);
            break;
        default:
            break;
        }
        rd_kafka_event_destroy(rev);
    }
}

/* The producer died (what = librdkafka's words, or NULL for its fatal
 * error's; held: the caller holds bars the core counts in flight that
 * the handle never took). Once per handle, after its last reports
 * (drain_dead): one PRODUCER_FATAL when a bar the core counts in flight
 * is still unsettled, for the core to put those back and make a new
 * producer (producer_reset). When every bar was settled the core has
 * nothing to do: the dead handle is replaced here, at once, and the log
 * says so. */
static void fatal(struct pub_kafka *k, const char *what, bool held)
{
    struct pub_kafka_event *e;
    rd_kafka_resp_err_t err;
    char why[256], reason[256];

    if (k->dead) {
        return;
    }
    k->dead = true;
    k->st.fatal++;
    err = rd_kafka_fatal_error(k->rk, why, sizeof why);
    if (what == NULL || strcmp(what, why) == 0) {
        snprintf(reason, sizeof reason, "%s", why);
    } else {
        snprintf(reason, sizeof reason, "%.100s: %.140s", what, why);
    }
    drain_dead(k);
    if (!held && k->unsettled == 0) {
        md_log(MD_LOG_WARN, "producer_reset", "kafka: the producer failed fatally (%s) with every "
                "bar settled: replaced by a new one\n", reason);
        k->replace = true; /* by pub_kafka_next, once this event is gone */
        return;
    }
    e = ev_push(k);
    if (e == NULL) {
        return;
    }
    e->kind = PKE_DELIVERY;
    e->input = PUB_I_PRODUCER_FATAL;
    e->err = err;
    snprintf(e->reason, sizeof e->reason, "%s", reason);
}

/* An error event: a fatal one kills the handle and becomes the machine's
 * PRODUCER_FATAL; retriable ones librdkafka handles itself (its log says
 * what happened). */
static void on_error(struct pub_kafka *k, rd_kafka_event_t *rev)
{
    if (!rd_kafka_event_error_is_fatal(rev)) {
        /* librdkafka goes on (reconnects, retries); kept for whoever
         * wants to say why nothing arrives */
        k->last_err = rd_kafka_event_error(rev);
        snprintf(k->last_why, sizeof k->last_why, "%s%s",
                 rd_kafka_event_error_string(rev),
                 pub_kafka_sasl_hint(k->last_err, k->o.props,
                                     k->o.n_props));
        return;
    }
    fatal(k, rd_kafka_event_error_string(rev), false);
}

/* librdkafka's log, on stderr, warnings and worse; the warning that
 * enable.gapless.guarantee is experimental is left out (it is chosen on
 * purpose: docs/bars.md). */
void pub_kafka__log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    if (level > 4 || (strcmp(fac, "CONFWARN") == 0 &&
                      strstr(buf, "enable.gapless.guarantee") != NULL)) {
        return;
    }
    md_log(MD_LOG_WARN, "kafka", "kafka: %s: %s\n", fac, buf);
}

void pub_kafka_conf_error(char *out, size_t cap, const char *name,
                          const char *value, const char *why)
{
    char clean[512];
    size_t vl = strlen(value), o = 0;
    const char *p = why;

    /* librdkafka quotes the value it refuses: blotted out */
    while (*p != '\0' && o + 4 < sizeof clean) {
        if (vl > 0 && strncmp(p, value, vl) == 0) {
            memcpy(clean + o, "***", 3);
            o += 3;
            p += vl;
        } else {
            clean[o++] = *p++;
        }
    }
    clean[o] = '\0';
    snprintf(out, cap, "Kafka property %s (value not shown): %s", name,
             clean);
}

int pub_kafka__conf_set(rd_kafka_conf_t *c, const char *name,
                       const char *value, char *errbuf, size_t errlen)
{
    char e[512];

    if (rd_kafka_conf_set(c, name, value, e, sizeof e) != RD_KAFKA_CONF_OK) {
        pub_kafka_conf_error(errbuf, errlen, name, value, e);
        return MD_E_USAGE;
    }
    return MD_OK;
}

static int make_producer(struct pub_kafka *k, char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char e[512];
    unsigned i;
    int rc;
    static const char *const defaults[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"enable.gapless.guarantee", "true"},
        {"message.timeout.ms", "0"},
        /* by measurement (docs/performance.md, "Publish"): linger 1 ms
         * halves a burst's close-to-ack time against 5 ms at the same
         * throughput; zstd stores JSON bars in a third of lz4's bytes at
         * the same throughput */
        {"linger.ms", "1"},
        {"compression.type", "zstd"},
        {"client.id", "ccstream"},
    };

    if (c == NULL) {
        return MD_E_NOMEM;
    }
    if ((rc = pub_kafka__conf_set(c, "bootstrap.servers", k->o.brokers, errbuf,
                       errlen)) != MD_OK) {
        rd_kafka_conf_destroy(c);
        return rc;
    }
    for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        if (k->o.transactional_id != NULL &&
            (strcmp(defaults[i][0], "enable.gapless.guarantee") == 0 ||
             strcmp(defaults[i][0], "message.timeout.ms") == 0)) {
            continue; /* transactions bound both (below) */
        }
        if ((rc = pub_kafka__conf_set(c, defaults[i][0], defaults[i][1], errbuf,
                           errlen)) != MD_OK) {
            rd_kafka_conf_destroy(c);
            return rc;
        }
    }
    if (k->o.transactional_id != NULL &&
        ((rc = pub_kafka__conf_set(c, "transactional.id", k->o.transactional_id,
                        errbuf, errlen)) != MD_OK ||
         (rc = pub_kafka__conf_set(c, "transaction.timeout.ms", "60000", errbuf,
                        errlen)) != MD_OK ||
         (rc = pub_kafka__conf_set(c, "message.timeout.ms", "60000", errbuf,
                        errlen)) != MD_OK)) {
        rd_kafka_conf_destroy(c);
        return rc;
    }
    for (i = 0; i < k->o.n_props; i++) {
        if ((rc = pub_kafka__conf_set(c, k->o.props[i][0], k->o.props[i][1], errbuf,
                           errlen)) != MD_OK) {
            rd_kafka_conf_destroy(c);
            return rc;
        }
    }
    rd_kafka_conf_set_opaque(c, k);
    /* reports as events, in batches, read when the loop wants them (no
     * callback copies each one) */
    rd_kafka_conf_set_events(c, RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR);
    rd_kafka_conf_set_log_cb(c, pub_kafka__log);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
    if (k->rk == NULL) {
        snprintf(errbuf, errlen, "Kafka producer: %s", e);
        return MD_E_KAFKA; /* c was destroyed with the failure */
    }
    k->q = rd_kafka_queue_get_main(k->rk);
    rd_kafka_queue_io_event_enable(k->q, k->wake[1], "1", 1);
    k->dead = false;
    k->unsettled = 0;
    return MD_OK;
}

static void drop_producer(struct pub_kafka *k)
{
    if (k->rk == NULL) {
        return;
    }
    k->dead = true; /* what destroy reports is not the core's any more */
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (k->dr != NULL) {
        rd_kafka_event_destroy(k->dr);
        k->dr = NULL;
    }
    rd_kafka_queue_io_event_enable(k->q, -1, NULL, 0);
    rd_kafka_queue_destroy(k->q);
    k->q = NULL;
    topic_cache_clear(&k->topics); /* the handles go before their client */
    rd_kafka_destroy(k->rk);
    k->rk = NULL;
    k->admin_pending = 0;
    while (k->reqs != NULL) {
        req_forget(k, k->reqs); /* never answered: nothing holds them now */
    }
}

int pub_kafka_new(const struct pub_kafka_opts *o, struct pub_kafka **out,
                  char *errbuf, size_t errlen)
{
    struct pub_kafka *k = calloc(1, sizeof *k);
    int rc;

    *out = NULL;
    if (k == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return MD_E_NOMEM;
    }
    k->o = *o;
    if (k->o.brokers == NULL || *k->o.brokers == '\0') {
        snprintf(errbuf, errlen, "no Kafka brokers given");
        free(k);
        return MD_E_USAGE;
    }
    if (pipe2(k->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(errbuf, errlen, "Kafka publisher: pipe: %s",
                 strerror(errno));
        free(k);
        return MD_E_KAFKA;
    }
    if ((rc = make_producer(k, errbuf, errlen)) != MD_OK) {
        close(k->wake[0]);
        close(k->wake[1]);
        free(k);
        return rc;
    }
    *out = k;
    return MD_OK;
}

size_t pub_kafka_free(struct pub_kafka *k, int timeout_ms)
{
    size_t left = 0;

    if (k == NULL) {
        return 0;
    }
    if (k->rk != NULL && !k->dead) {
        rd_kafka_event_t *rev;
        rd_kafka_flush(k->rk, timeout_ms);
        /* the reports still queued are not messages in flight */
        if (k->dr != NULL) {
            rd_kafka_event_destroy(k->dr);
            k->dr = NULL;
        }
        while ((rev = rd_kafka_queue_poll(k->q, 0)) != NULL) {
            rd_kafka_event_destroy(rev);
        }
        left = (size_t)rd_kafka_outq_len(k->rk);
    }
    drop_producer(k);
    close(k->wake[0]);
    close(k->wake[1]);
    free(k->ev);
    free(k);
    return left;
}

/* ---- the executor's operations ----------------------------------------- */

static void k_topic_create(void *ctx, mono_ns t, const char *const *topics,
                           size_t n)
{
    struct pub_kafka *k = ctx;
    rd_kafka_NewTopic_t **nt;
    rd_kafka_AdminOptions_t *ao;
    char e[512];
    size_t i;

    (void)t;
    if (n == 0 || k->rk == NULL) {
        return;
    }
    if (k->o.mock != NULL || k->o.no_create) {
        for (i = 0; i < n; i++) {
            rd_kafka_resp_err_t err =
                k->o.no_create ? RD_KAFKA_RESP_ERR_NO_ERROR
                               : rd_kafka_mock_topic_create(
                                     k->o.mock, topics[i], k->o.partitions,
                                     1);
            struct pub_kafka_event *ev = ev_push(k);
            if (ev == NULL) {
                return;
            }
            ev->kind = PKE_TOPIC;
            ev->err = err;
            ev->input = err == RD_KAFKA_RESP_ERR_NO_ERROR ||
                                err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
                            ? PUB_I_TOPIC_CREATED
                            : PUB_I_TOPIC_FAILED;
            snprintf(ev->topic, sizeof ev->topic, "%s", topics[i]);
            if (ev->input == PUB_I_TOPIC_CREATED) {
                k->st.topics_created++;
            } else {
                snprintf(ev->reason, sizeof ev->reason, "%s",
                         rd_kafka_err2str(err));
                k->st.topics_failed++;
            }
        }
        return;
    }
    nt = calloc(n, sizeof *nt);
    if (nt == NULL) {
        k->oom = true;
        return;
    }
    for (i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(topics[i], k->o.partitions,
                                      k->o.replication, e, sizeof e);
        if (nt[i] != NULL && k->o.retention_ms != NULL) {
            rd_kafka_NewTopic_set_config(nt[i], "retention.ms",
                                         k->o.retention_ms);
        }
        if (nt[i] == NULL) {
            struct pub_kafka_event *ev = ev_push(k);
            if (ev != NULL) {
                ev->kind = PKE_TOPIC;
                ev->input = PUB_I_TOPIC_FAILED;
                snprintf(ev->topic, sizeof ev->topic, "%s", topics[i]);
                snprintf(ev->reason, sizeof ev->reason, "%.200s", e);
            }
            k->st.topics_failed++;
        }
    }
    {
        /* only the valid ones go to the broker; their names travel with
         * the request, for a failure of the whole request (no per-topic
         * results) */
        size_t m = 0, total = 1, at = 0;
        char *names = NULL;
        struct admin_req *req;
        for (i = 0; i < n; i++) {
            if (nt[i] != NULL) {
                total += strlen(topics[i]) + 1;
            }
        }
        req = malloc(sizeof *req + total);
        if (req != NULL) {
            names = req->names;
        }
        if (names == NULL) {
            k->oom = true;
        }
        for (i = 0; i < n; i++) {
            if (nt[i] != NULL) {
                if (names != NULL) {
                    size_t l = strlen(topics[i]);
                    memcpy(names + at, topics[i], l + 1);
                    at += l + 1;
                }
                nt[m++] = nt[i];
            }
        }
        if (names != NULL) {
            names[at] = '\0'; /* the list ends with an empty name */
        }
        if (m > 0 && names != NULL) {
            ao = rd_kafka_AdminOptions_new(k->rk,
                                           RD_KAFKA_ADMIN_OP_CREATETOPICS);
            rd_kafka_AdminOptions_set_opaque(ao, req);
            req->prev = NULL;
            req->next = k->reqs;
            if (k->reqs != NULL) {
                k->reqs->prev = req;
            }
            k->reqs = req;
            rd_kafka_AdminOptions_set_request_timeout(ao, ADMIN_TIMEOUT_MS,
                                                      e, sizeof e);
            rd_kafka_CreateTopics(k->rk, nt, m, ao, k->q);
            rd_kafka_AdminOptions_destroy(ao);
            k->admin_pending += m;
        } else {
            free(req);
        }
        rd_kafka_NewTopic_destroy_array(nt, m);
    }
    free(nt);
}

/* One record, copied, through the topic's cached handle, or a handle of
 * its own, dropped after, when the cache cannot keep one (out of memory;
 * a name librdkafka refuses fails both, and the record is refused): h is
 * taken on success. */
static rd_kafka_resp_err_t produce1(struct pub_kafka *k, const char *topic,
                                    const void *key, size_t key_len,
                                    const void *value, size_t value_len,
                                    int64_t ts_ms, rd_kafka_headers_t *h,
                                    uint64_t opaque)
{
    rd_kafka_topic_t *rkt = topic_cache_get(&k->topics, k->rk, topic);
    rd_kafka_topic_t *own = NULL;
    rd_kafka_resp_err_t err;

    if (rkt == NULL) {
        rkt = own = rd_kafka_topic_new(k->rk, topic, NULL);
    }
    if (rkt == NULL) {
        err = rd_kafka_last_error();
        return err != RD_KAFKA_RESP_ERR_NO_ERROR ? err
                                                 : RD_KAFKA_RESP_ERR__FAIL;
    }
    err = rd_kafka_producev(
        k->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_VALUE((void *)(uintptr_t)value, value_len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_TIMESTAMP(ts_ms), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE((void *)(uintptr_t)opaque), RD_KAFKA_V_END);
    if (own != NULL) {
        rd_kafka_topic_destroy(own); /* the messages keep what they need */
    }
    return err;
}

static void k_produce(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    struct pub_kafka *k = ctx;
    size_t i;

    (void)t;
    for (i = 0; i < n; i++) {
        const struct md_bar *m = bars[i];
        struct pub_record r;
        rd_kafka_headers_t *h;
        rd_kafka_resp_err_t err;
        unsigned j;
        int rc;

        rc = pub_record_make(&m->bar, m->emit_ms, k->o.format, k->value,
                             sizeof k->value, &r);
        if (rc != MD_OK || k->rk == NULL) {
            struct pub_kafka_event *e = ev_push(k);
            if (e != NULL) {
                e->kind = PKE_DELIVERY;
                e->bar_id = m->id;
                e->input = PUB_I_PUBLISH_REJECTED;
                snprintf(e->reason, sizeof e->reason, "%s",
                         k->rk == NULL ? "no producer"
                                       : "the bar cannot be encoded");
            }
            k->st.rejected++;
            continue;
        }
        h = rd_kafka_headers_new(r.n_hdr);
        for (j = 0; j < r.n_hdr; j++) {
            rd_kafka_header_add(h, r.hdr[j].name, -1, r.hdr[j].value,
                                (ssize_t)r.hdr[j].len);
        }
        err = produce1(k, m->topic, r.key, r.key_len, r.value, r.value_len,
                       r.timestamp_ms, h, m->id);
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            /* the producer died before its error event was read: one
             * PRODUCER_FATAL (the core puts every bar in flight back,
             * these included), not one per bar */
            rd_kafka_headers_destroy(h);
            fatal(k, NULL, true);
            return;
        }
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            struct pub_kafka_event *e;
            rd_kafka_headers_destroy(h); /* not taken on failure */
            e = ev_push(k);
            if (e != NULL) {
                e->kind = PKE_DELIVERY;
                e->bar_id = m->id;
                e->err = err;
                e->input = classify(err);
                if (e->input == PUB_I_PUBLISH_SUCCESS) {
                    e->input = PUB_I_PUBLISH_FAILURE;
                }
                snprintf(e->reason, sizeof e->reason, "%s",
                         rd_kafka_err2str(err));
                if (e->input == PUB_I_QUEUE_FULL) {
                    k->st.queue_full++;
                } else if (e->input == PUB_I_PUBLISH_REJECTED) {
                    k->st.rejected++;
                } else {
                    k->st.failed++;
                }
            }
            continue;
        }
        k->st.produced++;
        k->unsettled++;
    }
}

static void k_discard(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    struct pub_kafka *k = ctx;

    (void)t;
    (void)bars;
    k->st.discarded += n;
}

static void k_flush(void *ctx, mono_ns t, uint64_t inflight)
{
    struct pub_kafka *k = ctx;

    (void)t;
    (void)inflight;
    if (k->rk != NULL && !k->dead) {
        /* send what lingers now; the reports come through
         * pub_kafka_next, the core's flush deadline bounds the wait */
        rd_kafka_flush(k->rk, 0);
    }
}

/* A bar refused for good: named in the log (the live shell also records
 * it in the capture), never produced again. */
static void k_dead_letter(void *ctx, mono_ns t,
                          const struct md_bar *const *bars, size_t n)
{
    struct pub_kafka *k = ctx;
    size_t i;

    (void)t;
    for (i = 0; i < n; i++) {
        char key[PUB_KEY_MAX];
        size_t kl;
        if (bar_key(&bars[i]->bar, key, sizeof key, &kl) != MD_OK) {
            snprintf(key, sizeof key, "(no key: %.16s:%.16s-%.16s)",
                     bars[i]->bar.market, bars[i]->bar.base,
                     bars[i]->bar.quote);
        }
        md_log(MD_LOG_ERROR, "dead_letter", "kafka: dead letter: bar %" PRIu64 " %s start_ms=%"
                PRId64 " revision=%" PRIu32 " topic %s: refused for good, "
                "not produced again\n", bars[i]->id, key,
                bars[i]->bar.start_ms, (uint32_t)bars[i]->bar.revision,
                bars[i]->topic != NULL ? bars[i]->topic : "-");
    }
    k->st.dead_letters += n;
}

static void k_producer_reset(void *ctx, mono_ns t)
{
    struct pub_kafka *k = ctx;
    char err[512];

    (void)t;
    drop_producer(k);
    k->st.resets++;
    if (make_producer(k, err, sizeof err) != MD_OK) {
        /* the same settings worked before: the next produce reports each
         * bar refused (no producer), which the core dead-letters */
        k->rk = NULL;
    }
}

int pub_kafka_produce_raw(struct pub_kafka *k, const char *topic,
                          const unsigned char *key, size_t key_len,
                          const unsigned char *value, size_t value_len,
                          const unsigned char *headers, size_t headers_len,
                          int64_t ts_ms, uint64_t opaque)
{
    rd_kafka_headers_t *h;
    rd_kafka_resp_err_t err;
    size_t at = 0;

    if (k->rk == NULL || k->dead) {
        return MD_E_KAFKA;
    }
    h = rd_kafka_headers_new(PUB_HEADERS);
    while (at < headers_len) {
        size_t nl = headers[at], vl;
        if (headers_len - at < 3 + nl) {
            break;
        }
        vl = (size_t)headers[at + 1 + nl] |
             (size_t)headers[at + 2 + nl] << 8;
        if (headers_len - at - 3 - nl < vl) {
            break;
        }
        rd_kafka_header_add(h, (const char *)headers + at + 1, (ssize_t)nl,
                            headers + at + 3 + nl, (ssize_t)vl);
        at += 3 + nl + vl;
    }
    err = produce1(k, topic, key, key_len, value, value_len, ts_ms, h,
                   opaque);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(h); /* not taken on failure */
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
            fatal(k, NULL, true);
        }
        return err == RD_KAFKA_RESP_ERR__QUEUE_FULL ? MD_E_FULL
                                                    : MD_E_KAFKA;
    }
    k->st.produced++;
    k->unsettled++;
    return MD_OK;
}

void pub_kafka_warm(struct pub_kafka *k, const char *topic)
{
    if (k->rk == NULL || k->dead) {
        return;
    }
    /* a topic handle asks the cluster for the topic's metadata now; it
     * is the one the records will go through */
    (void)topic_cache_get(&k->topics, k->rk, topic);
}

void pub_kafka_reset(struct pub_kafka *k)
{
    k_producer_reset(k, 0);
}

const struct loop_kafka_ops pub_kafka_ops = {
    k_topic_create, k_produce,     k_discard,
    k_flush,        k_dead_letter, k_producer_reset,
};

/* ---- events ------------------------------------------------------------- */

/* The topic's retention.ms as the broker has it, into buf: 1, else 0
 * (not answered within 5 s). */
static int topic_retention(struct pub_kafka *k, const char *topic, char *buf,
                           size_t cap)
{
    rd_kafka_ConfigResource_t *res =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
    rd_kafka_event_t *rev;
    int found = 0;

    rd_kafka_DescribeConfigs(k->rk, &res, 1, NULL, q);
    rd_kafka_ConfigResource_destroy(res);
    rev = rd_kafka_queue_poll(q, 5000);
    if (rev != NULL && rd_kafka_event_error(rev) == 0) {
        const rd_kafka_DescribeConfigs_result_t *r =
            rd_kafka_event_DescribeConfigs_result(rev);
        size_t nres = 0, nc = 0, i;
        const rd_kafka_ConfigResource_t **rs =
            r ? rd_kafka_DescribeConfigs_result_resources(r, &nres) : NULL;
        const rd_kafka_ConfigEntry_t **ce =
            nres == 1 ? rd_kafka_ConfigResource_configs(rs[0], &nc) : NULL;
        for (i = 0; i < nc; i++) {
            const char *v = rd_kafka_ConfigEntry_value(ce[i]);
            if (strcmp(rd_kafka_ConfigEntry_name(ce[i]), "retention.ms") ==
                    0 && v != NULL) {
                snprintf(buf, cap, "%s", v);
                found = 1;
            }
        }
    }
    if (rev != NULL) {
        rd_kafka_event_destroy(rev);
    }
    rd_kafka_queue_destroy(q);
    return found;
}

/* An existing topic fits when its partition count (and replication
 * factor and retention, when configured) is what this publisher would
 * create: 1, else 0 with why. Asks the cluster (up to 5 s each). */
static int existing_fits(struct pub_kafka *k, const char *topic, char *why,
                         size_t cap)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(k->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int fits = 1;

    if (rkt == NULL ||
        rd_kafka_metadata(k->rk, 0, rkt, &md, 5000) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        md->topic_cnt != 1) {
        snprintf(why, cap, "exists, but its settings could not be read");
        fits = 0;
    } else {
        const struct rd_kafka_metadata_topic *t = &md->topics[0];
        int replicas = t->partition_cnt > 0 ? t->partitions[0].replica_cnt
                                            : 0;
        if (t->partition_cnt != k->o.partitions) {
            snprintf(why, cap, "exists with %d partitions, configured %d: "
                     "delete it, or use it as it is (--no-create-topics)",
                     t->partition_cnt, k->o.partitions);
            fits = 0;
        } else if (k->o.replication > 0 && replicas != k->o.replication) {
            snprintf(why, cap, "exists with replication factor %d, "
                     "configured %d", replicas, k->o.replication);
            fits = 0;
        } else if (k->o.retention_ms != NULL) {
            char ret[32];
            if (!topic_retention(k, topic, ret, sizeof ret)) {
                snprintf(why, cap, "exists, but its retention.ms could not "
                         "be read");
                fits = 0;
            } else if (strcmp(ret, k->o.retention_ms) != 0) {
                snprintf(why, cap, "exists with retention.ms=%s, configured "
                         "%.40s: change it (kafka-configs --alter) or "
                         "leave --topic-retention out", ret,
                         k->o.retention_ms);
                fits = 0;
            }
        }
    }
    if (md != NULL) {
        rd_kafka_metadata_destroy(md);
    }
    if (rkt != NULL) {
        rd_kafka_topic_destroy(rkt);
    }
    return fits;
}

/* The answer to a CreateTopics request: one event per topic. */
static void topic_results(struct pub_kafka *k, rd_kafka_event_t *rev)
{
    const rd_kafka_CreateTopics_result_t *res =
        rd_kafka_event_CreateTopics_result(rev);
    size_t n = 0, i;
    const rd_kafka_topic_result_t **tr =
        res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
    for (i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[i]);
        struct pub_kafka_event *e = ev_push(k);
        if (e == NULL) {
            break;
        }
        e->kind = PKE_TOPIC;
        e->err = err;
        snprintf(e->topic, sizeof e->topic, "%s",
                 rd_kafka_topic_result_name(tr[i]));
        if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS &&
            !existing_fits(k, e->topic, e->reason, sizeof e->reason)) {
            /* there, but not as configured: reported, not used */
            e->input = PUB_I_TOPIC_FAILED;
            k->st.topics_failed++;
        } else if (err == RD_KAFKA_RESP_ERR_NO_ERROR ||
                   err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            e->input = PUB_I_TOPIC_CREATED;
            k->st.topics_created++;
        } else {
            const char *why = rd_kafka_topic_result_error_string(tr[i]);
            e->input = PUB_I_TOPIC_FAILED;
            snprintf(e->reason, sizeof e->reason, "%s",
                     why ? why : rd_kafka_err2str(err));
            k->st.topics_failed++;
        }
    }
    {
        struct admin_req *req = rd_kafka_event_opaque(rev);
        char *names = req != NULL ? req->names : NULL;
        if (n == 0 && names != NULL) {
            /* the whole request failed (a timeout, no broker): every
             * topic it named failed, with the request's error */
            const char *nm;
            for (nm = names; *nm != '\0'; nm += strlen(nm) + 1) {
                struct pub_kafka_event *e = ev_push(k);
                if (e == NULL) {
                    break;
                }
                e->kind = PKE_TOPIC;
                e->input = PUB_I_TOPIC_FAILED;
                e->err = rd_kafka_event_error(rev);
                snprintf(e->topic, sizeof e->topic, "%s", nm);
                snprintf(e->reason, sizeof e->reason, "%s",
                         rd_kafka_event_error_string(rev));
                k->st.topics_failed++;
                k->admin_pending -= k->admin_pending > 0;
            }
        } else {
            k->admin_pending = k->admin_pending > n
                                   ? k->admin_pending - n
                                   : 0;
        }
        if (req != NULL) {
            req_forget(k, req);
        }
    }
}

/* Take the queue's next event apart: a delivery batch becomes k->dr
 * (handed out one message at a time), the rest goes into the ring. */
static void dispatch(struct pub_kafka *k, rd_kafka_event_t *rev)
{
    switch (rd_kafka_event_type(rev)) {
    case RD_KAFKA_EVENT_DR:
        if (!k->dead && (k->dr_left = rd_kafka_event_message_count(rev)) >
                            0) {
            k->dr = rev; /* the core took a dead handle's bars back */
            return;
        }
        break;
    case RD_KAFKA_EVENT_ERROR:
        on_error(k, rev);
        break;
    case RD_KAFKA_EVENT_CREATETOPICS_RESULT:
        topic_results(k, rev);
        break;
    default:
        break;
    }
    rd_kafka_event_destroy(rev);
}

/* The next message of the delivery batch in hand, into *ev: 1, or 0 when
 * there is none. The batch is freed with its last message, at once: its
 * messages count in librdkafka's queue length until then. */
static int next_delivery(struct pub_kafka *k, struct pub_kafka_event *ev)
{
    const rd_kafka_message_t *m;

    if (k->dr == NULL) {
        return 0;
    }
    m = rd_kafka_event_message_next(k->dr);
    if (m != NULL) {
        delivery(k, m, ev);
    }
    if (m == NULL || --k->dr_left == 0) {
        rd_kafka_event_destroy(k->dr);
        k->dr = NULL;
    }
    return m != NULL;
}

int pub_kafka_next(struct pub_kafka *k, int timeout_ms,
                   struct pub_kafka_event *ev)
{
    int wait = timeout_ms > 0 ? timeout_ms : 0;

    for (;;) {
        rd_kafka_event_t *rev;
        if (k->oom) {
            return MD_E_NOMEM; /* an answer was lost: the run cannot go
                                  on */
        }
        if (k->ev_n > 0) {
            *ev = k->ev[k->ev_head];
            k->ev_head = (k->ev_head + 1) % k->ev_cap;
            k->ev_n--;
            return 1;
        }
        if (next_delivery(k, ev)) {
            return 1;
        }
        if (k->q == NULL) {
            return 0;
        }
        /* the pipe is emptied before the queue is read: what arrives
         * after this read writes to it again */
        {
            char buf[64];
            while (read(k->wake[0], buf, sizeof buf) > 0) {
            }
        }
        if ((rev = rd_kafka_queue_poll(k->q, wait)) == NULL) {
            return 0;
        }
        wait = 0;
        dispatch(k, rev);
        if (k->replace) {
            char errbuf[512];
            k->replace = false;
            drop_producer(k);
            k->st.resets++;
            if (make_producer(k, errbuf, sizeof errbuf) != MD_OK) {
                k->rk = NULL; /* the next produce refuses each bar: no
                                 producer */
                md_log(MD_LOG_WARN, "kafka", "kafka: %s\n", errbuf);
            }
        }
    }
}

size_t pub_kafka_in_queue(const struct pub_kafka *k)
{
    return k->rk != NULL && !k->dead ? (size_t)rd_kafka_outq_len(k->rk)
                                     : 0;
}

size_t pub_kafka_outstanding(const struct pub_kafka *k)
{
    size_t n = k->admin_pending + k->ev_n + (k->dr != NULL);

    if (k->rk != NULL && !k->dead) {
        n += (size_t)rd_kafka_outq_len(k->rk);
    }
    return n;
}

int pub_kafka_fd(const struct pub_kafka *k)
{
    return k->wake[0];
}

int pub_kafka_last_error(const struct pub_kafka *k, const char **why)
{
    *why = k->last_why;
    return k->last_err;
}

bool pub_kafka_error_is_setup(int err)
{
    return err == RD_KAFKA_RESP_ERR__SSL ||
           err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
           err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
           err == RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM;
}

const char *pub_kafka_sasl_hint(int err, const char *(*props)[2],
                                unsigned n_props)
{
    unsigned i;

    if (rd_kafka_version() >= 0x020601ff ||
        (err != RD_KAFKA_RESP_ERR__AUTHENTICATION &&
         err != RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED)) {
        return "";
    }
    for (i = 0; i < n_props; i++) {
        if ((strcmp(props[i][0], "sasl.mechanism") == 0 ||
             strcmp(props[i][0], "sasl.mechanisms") == 0) &&
            strncasecmp(props[i][1], "SCRAM", 5) == 0) {
            return "; note: this librdkafka cannot do SCRAM with Apache "
                   "Kafka 4 brokers (that needs librdkafka 2.6.1 or later):"
                   " use sasl.mechanism=PLAIN over SASL_SSL, or a newer "
                   "librdkafka";
        }
    }
    return "";
}

void pub_kafka_stats(const struct pub_kafka *k, struct pub_kafka_stats *st)
{
    *st = k->st;
}

int pub_kafka_test_fatal(struct pub_kafka *k)
{
    if (k->rk == NULL ||
        rd_kafka_test_fatal_error(k->rk, RD_KAFKA_RESP_ERR__FENCED,
                                  "injected by a test") !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
        return MD_E_KAFKA;
    }
    return MD_OK;
}

int pub_kafka_check_props(const struct pub_kafka_opts *o, char *errbuf,
                          size_t errlen)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char e[512];
    unsigned i;

    for (i = 0; i < o->n_props; i++) {
        if (rd_kafka_conf_set(c, o->props[i][0], o->props[i][1], e,
                              sizeof e) != RD_KAFKA_CONF_OK) {
            pub_kafka_conf_error(errbuf, errlen, o->props[i][0],
                                 o->props[i][1], e);
            rd_kafka_conf_destroy(c);
            return MD_E_USAGE;
        }
    }
    rd_kafka_conf_destroy(c);
    return MD_OK;
}
