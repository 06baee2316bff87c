/* kafka_txn.c: the publisher's transactions (exactly once) and the
 * progress topic they write: init, begin, commit; a compacted topic made;
 * the last committed value of a key read back. See kafka.h. */
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka.h"
#include "kafka_int.h"
#include "md_err.h"

#define TXN_TIMEOUT_MS 60000

/* A transaction call's error into errbuf; MD_E_KAFKA. */
static int txn_error(rd_kafka_error_t *e, const char *what, char *errbuf,
                     size_t errlen)
{
    snprintf(errbuf, errlen, "Kafka transaction: %s: %s", what,
             rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return MD_E_KAFKA;
}

int pub_kafka_txn_init(struct pub_kafka *k, char *errbuf, size_t errlen)
{
    rd_kafka_error_t *e;

    if (k->rk == NULL) {
        snprintf(errbuf, errlen, "Kafka transaction: no producer");
        return MD_E_KAFKA;
    }
    e = rd_kafka_init_transactions(k->rk, TXN_TIMEOUT_MS);
    return e == NULL ? MD_OK : txn_error(e, "init", errbuf, errlen);
}

int pub_kafka_txn_begin(struct pub_kafka *k, char *errbuf, size_t errlen)
{
    rd_kafka_error_t *e = rd_kafka_begin_transaction(k->rk);

    return e == NULL ? MD_OK : txn_error(e, "begin", errbuf, errlen);
}

int pub_kafka_txn_commit(struct pub_kafka *k, bool *fatal, char *errbuf,
                         size_t errlen)
{
    rd_kafka_error_t *e;
    int tries = 0;

    *fatal = false;
    while ((e = rd_kafka_commit_transaction(k->rk, TXN_TIMEOUT_MS)) !=
               NULL &&
           rd_kafka_error_is_retriable(e) && ++tries < 3) {
        rd_kafka_error_destroy(e); /* the commit's outcome is unknown:
                                      asked again, as librdkafka says */
    }
    if (e == NULL) {
        return MD_OK;
    }
    if (rd_kafka_error_txn_requires_abort(e)) {
        rd_kafka_error_t *a = rd_kafka_abort_transaction(k->rk,
                                                         TXN_TIMEOUT_MS);
        if (a != NULL) {
            *fatal = rd_kafka_error_is_fatal(a) != 0;
            rd_kafka_error_destroy(a);
        }
        return txn_error(e, "commit (aborted)", errbuf, errlen);
    }
    *fatal = true; /* fenced or dead: the handle is of no more use */
    return txn_error(e, "commit", errbuf, errlen);
}

int pub_kafka_topic_compacted(struct pub_kafka *k, const char *topic,
                              char *errbuf, size_t errlen)
{
    rd_kafka_NewTopic_t *nt;
    rd_kafka_AdminOptions_t *ao;
    rd_kafka_queue_t *q;
    rd_kafka_event_t *rev;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **tr;
    size_t n;
    char e[512];
    int rc = MD_OK;

    if (k->o.mock != NULL) {
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(k->o.mock, topic, 1, 1);
        return err == RD_KAFKA_RESP_ERR_NO_ERROR ||
                       err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
                   ? MD_OK
                   : MD_E_KAFKA;
    }
    nt = rd_kafka_NewTopic_new(topic, 1, -1, e, sizeof e);
    if (nt == NULL) {
        snprintf(errbuf, errlen, "topic %s: %s", topic, e);
        return MD_E_KAFKA;
    }
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    q = rd_kafka_queue_new(k->rk);
    ao = rd_kafka_AdminOptions_new(k->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(ao, 30000, e, sizeof e);
    rd_kafka_CreateTopics(k->rk, &nt, 1, ao, q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy(nt);
    rev = rd_kafka_queue_poll(q, 35000);
    if (rev == NULL ||
        (res = rd_kafka_event_CreateTopics_result(rev)) == NULL) {
        snprintf(errbuf, errlen, "topic %s: no answer from the broker in "
                 "35 s", topic);
        rc = MD_E_KAFKA;
    } else {
        tr = rd_kafka_CreateTopics_result_topics(res, &n);
        if (n == 1 &&
            rd_kafka_topic_result_error(tr[0]) !=
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_topic_result_error(tr[0]) !=
                RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            snprintf(errbuf, errlen, "topic %s: %s", topic,
                     rd_kafka_topic_result_error_string(tr[0]));
            rc = MD_E_KAFKA;
        }
    }
    if (rev != NULL) {
        rd_kafka_event_destroy(rev);
    }
    rd_kafka_queue_destroy(q);
    return rc;
}

int pub_kafka_last_value(const struct pub_kafka_opts *o, const char *topic,
                         const char *key, char *buf, size_t cap,
                         char *errbuf, size_t errlen)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *tp;
    rd_kafka_t *rk;
    int64_t lo = 0, hi = 0, read = 0;
    size_t kl = strlen(key);
    char e[512];
    unsigned i;
    int rc = MD_E_NOTFOUND;

    if (pub_kafka__conf_set(c, "bootstrap.servers", o->brokers, errbuf, errlen) !=
            MD_OK ||
        pub_kafka__conf_set(c, "isolation.level", "read_committed", errbuf, errlen) !=
            MD_OK ||
        pub_kafka__conf_set(c, "enable.auto.commit", "false", errbuf, errlen) !=
            MD_OK ||
        pub_kafka__conf_set(c, "group.id", "ccstream-progress-reader", errbuf,
                 errlen) != MD_OK) {
        rd_kafka_conf_destroy(c);
        return MD_E_KAFKA;
    }
    for (i = 0; i < o->n_props; i++) {
        /* the connection's settings (TLS, SASL) apply to the reader too;
         * producer-only properties are refused by a consumer: skipped */
        char ignore[256];
        (void)rd_kafka_conf_set(c, o->props[i][0], o->props[i][1], ignore,
                                sizeof ignore);
    }
    rd_kafka_conf_set_log_cb(c, pub_kafka__log);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
    if (rk == NULL) {
        snprintf(errbuf, errlen, "Kafka consumer: %s", e);
        return MD_E_KAFKA;
    }
    if (rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, 30000) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(errbuf, errlen, "%s: its offsets cannot be read", topic);
        rd_kafka_destroy(rk);
        return MD_E_KAFKA;
    }
    if (hi <= lo) {
        rd_kafka_destroy(rk);
        return MD_E_NOTFOUND;
    }
    tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, topic, 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, tp);
    rd_kafka_topic_partition_list_destroy(tp);
    /* read_committed stops at the last stable offset: the end is reached
     * when a fetch brings nothing more for a while */
    {
        int idle = 0;
        while (idle < 20) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
            if (m == NULL) {
                idle++;
                continue;
            }
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ||
                m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                rd_kafka_message_destroy(m);
                idle++;
                continue;
            }
            idle = 0;
            read++;
            if (m->key_len == kl && memcmp(m->key, key, kl) == 0) {
                size_t n = m->len < cap - 1 ? m->len : cap - 1;
                memcpy(buf, m->payload, n);
                buf[n] = '\0';
                rc = MD_OK;
            }
            if (m->offset + 1 >= hi) {
                rd_kafka_message_destroy(m);
                break;
            }
            rd_kafka_message_destroy(m);
        }
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    (void)read;
    return rc;
}

