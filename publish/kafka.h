/* kafka.h: the publisher shell: librdkafka under the executor's Kafka
 * operations (loop.h, struct loop_kafka_ops). The core decides what to
 * produce, discard, flush and create; this shell carries it out and gives
 * back, as events, what librdkafka answered: one delivery report per bar
 * (by bar id, through msg_opaque), classified into the publisher
 * machine's inputs (docs/mealy.md, pub), one result per topic asked for,
 * and a fatal error of the producer.
 *
 * The producer is idempotent (acks=all) with enable.gapless.guarantee and
 * no local message timeout (message.timeout.ms=0), the settings docs/bars.md
 * gives for per-series order through failures; librdkafka retries
 * retriable errors and outages itself. A fatal error destroys the handle;
 * the next produce after the core's producer_reset makes a new one.
 *
 * Shell code. Locality: one thread (the loop's); librdkafka's own threads
 * only queue events, read by pub_kafka_next. */
#ifndef PUBLISH_KAFKA_H
#define PUBLISH_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define PUB_KAFKA_MAX_PROPS 64
#define PUB_TOPIC_MAX 249

struct pub_kafka_opts {
    const char *brokers;   /* bootstrap.servers */
    int format;            /* enum pub_format (record.h) */
    int partitions;        /* of the topics it creates (default 6) */
    int replication;       /* their replication factor (-1: the broker's) */
    const char *retention_ms; /* their retention.ms (NULL: the broker's) */
    /* librdkafka properties given as they are (-X key=value), after the
     * defaults above, so a user may change any of them */
    const char *props[PUB_KAFKA_MAX_PROPS][2];
    unsigned n_props;
    /* the topics exist, or the broker makes them on first use (its
     * auto.create.topics.enable, or `ccstream broker`): every topic asked
     * for is reported created at once, no Admin request is sent */
    int no_create;
    /* a transactional producer with this transactional.id (the outbox's
     * exactly-once mode, docs/delivery.md): no gapless guarantee, message
     * and transaction timeouts of 60 s; NULL: idempotent only */
    const char *transactional_id;
    /* librdkafka's mock cluster (rd_kafka_mock_cluster_t *) the brokers
     * are, or NULL: its topics are made through its own API (it answers no
     * CreateTopics request) */
    void *mock;
};

void pub_kafka_opts_default(struct pub_kafka_opts *o);

/* What librdkafka answered. */
enum pub_kafka_ev {
    PKE_NONE = 0,
    PKE_DELIVERY, /* input: PUB_I_PUBLISH_SUCCESS, _FAILURE (timed out or
                     retriable), _REJECTED (refused for good), _QUEUE_FULL
                     (refused at once: back-pressure), _PRODUCER_FATAL */
    PKE_TOPIC     /* input: PUB_I_TOPIC_CREATED (or it exists already),
                     PUB_I_TOPIC_FAILED */
};

struct pub_kafka_event {
    int kind;          /* enum pub_kafka_ev */
    uint8_t input;     /* enum pub_input */
    uint64_t bar_id;   /* PKE_DELIVERY */
    char topic[PUB_TOPIC_MAX + 1]; /* PKE_TOPIC */
    int err;           /* rd_kafka_resp_err_t, 0 for none */
    char reason[256];  /* librdkafka's words */
};

struct pub_kafka;

/* "Kafka property NAME (value not shown): WHY" into out, every copy of
 * value in librdkafka's message why blotted out: a property may be a
 * secret (sasl.password). */
void pub_kafka_conf_error(char *out, size_t cap, const char *name,
                          const char *value, const char *why);

/* A publisher for o (copied; the strings must outlive it). The producer
 * is made at once so bad properties fail here. MD_OK; MD_E_USAGE (a
 * property librdkafka refuses, errbuf names it); MD_E_KAFKA; MD_E_NOMEM. */
int pub_kafka_new(const struct pub_kafka_opts *o, struct pub_kafka **k,
                  char *errbuf, size_t errlen);

/* Flush what is queued (up to timeout_ms) and free everything. Returns how
 * many messages were still undelivered. NULL: 0. */
size_t pub_kafka_free(struct pub_kafka *k, int timeout_ms);

/* The -X properties of o, each taken by librdkafka (no connection is
 * made). MD_OK; MD_E_USAGE with errbuf (pub_kafka_conf_error: the value
 * never shown). */
int pub_kafka_check_props(const struct pub_kafka_opts *o, char *errbuf,
                          size_t errlen);

/* The executor's Kafka operations; ctx is the struct pub_kafka *. */
extern const struct loop_kafka_ops pub_kafka_ops;

/* Serve librdkafka for up to timeout_ms (0: what is ready) and take the
 * next event into *ev: 1 if there was one, 0 if none, MD_E_NOMEM once an
 * event could not be kept (out of memory: an answer the core waits for is
 * lost, so the caller must stop). */
int pub_kafka_next(struct pub_kafka *k, int timeout_ms,
                   struct pub_kafka_event *ev);

/* Produce a record already made (the outbox's: headers as
 * outbox_headers_pack writes them); its delivery report carries opaque
 * as bar_id. MD_OK; MD_E_FULL (librdkafka's queue is full: try again
 * after reports); MD_E_KAFKA (no live producer, or refused at once: a
 * fatal error comes as an event). */
int pub_kafka_produce_raw(struct pub_kafka *k, const char *topic,
                          const unsigned char *key, size_t key_len,
                          const unsigned char *value, size_t value_len,
                          const unsigned char *headers, size_t headers_len,
                          int64_t ts_ms, uint64_t opaque);

/* Learn topic's partitions now, before the first record for it: a record
 * produced while its topic's metadata is unknown waits for librdkafka's
 * next scan of its topics (once a second). */
void pub_kafka_warm(struct pub_kafka *k, const char *topic);

/* Transactions (a producer made with transactional_id). Each call waits
 * for the broker (init up to 60 s: it fences a predecessor with the same
 * transactional.id and aborts what it left open). MD_OK; MD_E_KAFKA with
 * errbuf: for commit, *fatal says the producer is dead (fenced by
 * another with the same id: stop), else the transaction was aborted and
 * its records may go again in the next one. */
int pub_kafka_txn_init(struct pub_kafka *k, char *errbuf, size_t errlen);
int pub_kafka_txn_begin(struct pub_kafka *k, char *errbuf, size_t errlen);
int pub_kafka_txn_commit(struct pub_kafka *k, bool *fatal, char *errbuf,
                         size_t errlen);

/* Make topic a compacted topic of one partition (it may exist: then it
 * must be compacted), waiting up to 30 s. MD_OK; MD_E_KAFKA. */
int pub_kafka_topic_compacted(struct pub_kafka *k, const char *topic,
                              char *errbuf, size_t errlen);

/* The value of the last committed record keyed key in topic (one
 * partition, read from the start with isolation.level=read_committed by
 * a consumer of o's brokers and properties) into buf[0..cap), NUL-ended:
 * MD_OK; MD_E_NOTFOUND (no such record); MD_E_KAFKA (errbuf). */
int pub_kafka_last_value(const struct pub_kafka_opts *o, const char *topic,
                         const char *key, char *buf, size_t cap,
                         char *errbuf, size_t errlen);

/* A new producer in place of the current one (after its fatal error):
 * what the old one had not settled is not reported any more. */
void pub_kafka_reset(struct pub_kafka *k);

/* Messages the producer holds, their reports not yet read (librdkafka's
 * outq_len): a transaction's commit needs them read first. */
size_t pub_kafka_in_queue(const struct pub_kafka *k);

/* Messages produced and not yet reported, Admin requests not answered. */
size_t pub_kafka_outstanding(const struct pub_kafka *k);

/* A file descriptor (the read end of a pipe, non-blocking) that becomes
 * readable when librdkafka has queued something for pub_kafka_next: the
 * live loop's driver waits on it, then calls pub_kafka_next(k, 0, ...)
 * until it returns 0 (which empties the pipe). The same descriptor for the
 * publisher's life, across producer resets. */
int pub_kafka_fd(const struct pub_kafka *k);

/* The last error librdkafka reported and went on after (a broker down, a
 * refused TLS handshake, a failed authentication: it reconnects by
 * itself), with its words in *why; 0 ("") if none. */
int pub_kafka_last_error(const struct pub_kafka *k, const char **why);

/* Whether err is a connection setting that no retry can fix (TLS,
 * authentication): a one-shot run stops on it instead of waiting. */
bool pub_kafka_error_is_setup(int err);

/* What to add to a refused SASL authentication (err) when the mechanism
 * among props is SCRAM and librdkafka is older than 2.6.1: those versions
 * repeat the client nonce in SCRAM's final message, which Apache Kafka 4
 * refuses as invalid credentials whatever the password (librdkafka #4895;
 * docs/redpanda.md). "" otherwise. */
const char *pub_kafka_sasl_hint(int err, const char *(*props)[2],
                                unsigned n_props);

struct pub_kafka_stats {
    uint64_t produced, delivered, failed, rejected, queue_full, fatal;
    uint64_t dead_letters, discarded, resets, topics_created, topics_failed;
};
void pub_kafka_stats(const struct pub_kafka *k, struct pub_kafka_stats *st);

/* Testing: make the producer fail fatally now (rd_kafka_test_fatal_error).
 * MD_OK or MD_E_KAFKA. */
int pub_kafka_test_fatal(struct pub_kafka *k);

#endif /* PUBLISH_KAFKA_H */
