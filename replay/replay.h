/* replay.h: drive the core from a capture under a virtual clock.
 *
 * Two modes (docs/replay-contract.md):
 *   strict   the capture holds the core's recorded inputs (a recording
 *            made with --record, or a capture from `capture`/`live`): feed
 *            exactly those, compare the core's actions after every input
 *            with the recorded ones, report the first divergence;
 *   what-if  anything else (synth captures, --inject, another
 *            configuration): frames are fed at their recorded times, REST
 *            requests the core makes are answered from the capture by
 *            method, path and sorted query (identical requests in recorded
 *            order; a miss is a transport error, never a hang), and
 *            publishing goes to a virtual sink that acknowledges each bar
 *            1 ms after it was produced and creates topics in 1 ms.
 * Virtual time advances to each input's time; every timer whose deadline is
 * at or before it fires first, stamped with its deadline, earliest first
 * (ties by timer id). Shell code: uses the capture store and stdio. */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core.h"
#include "loop.h"

enum rpl_mode {
    RPL_AUTO = 0, /* strict if the capture holds recorded core inputs */
    RPL_STRICT,
    RPL_WHATIF
};

enum rpl_bars_fmt {
    RPL_BARS_JSON = 0, /* JSON lines */
    RPL_BARS_MSGPACK,  /* length-prefixed msgpack (u32 big-endian) */
    RPL_BARS_TABLE     /* a readable table (make run) */
};

#define RPL_MAX_INJECT 16
#define RPL_INJECT_MAX_NS (INT64_C(3650) * 86400 * 1000000000) /* 10 y */

enum rpl_inject_kind {
    RPL_INJ_INVALID = 0,
    RPL_INJ_PUBLISH_FAIL, /* publish-fail@T: the first delivery report at
                             or after T fails */
    RPL_INJ_TOPIC_FAIL,   /* topic-fail@T: the first Admin result at or
                             after T fails */
    RPL_INJ_DROP,         /* drop@T: the WebSocket drops at T (1006) */
    RPL_INJ_REST_FAIL,    /* rest-fail@T: the first REST answer at or after
                             T is a transport error */
    RPL_INJ_STOP,         /* stop@T: the operator stops the producer */
    RPL_INJ_RESET,        /* reset@T: the operator's reset (reconnect now,
                             leave errors) */
    RPL_INJ_START,        /* start@T: the operator's start (again) */
    RPL_INJ_FRAME,        /* frame@T:TEXT: the server sends TEXT on the
                             open socket at T */
    RPL_INJ_SLOW_CLOSE,   /* slow-close@T: closes from T on take 10 s */
    RPL_INJ_REST_PARAM,   /* rest-param@T: the first REST answer after T is
                             a Type 2 parameter error */
    RPL_INJ_KAFKA_SLOW,   /* kafka-slow@T: delivery reports and topic
                             creations asked for from T on take 15 s */
    RPL_INJ_STALL,        /* stall@T: the server sends no frame for 100 s */
    RPL_INJ_REFUSE_AUTH,  /* refuse-auth@T: the core's first connection
                             attempt at or after T is refused at the
                             handshake with HTTP 401 */
    RPL_INJ_REFUSE_RATE,  /* refuse-rate@T: ... with HTTP 429 */
    RPL_INJ_PUBLISH_REJECT, /* publish-reject@T: the first delivery report
                               at or after T is a refusal for good (the
                               bar too large, not authorised) */
    RPL_INJ_KAFKA_FATAL,  /* kafka-fatal@T: the producer fails fatally at
                             its first delivery report at or after T; the
                             reports still due from it never come */
    RPL_INJ_QUEUE_FULL,   /* queue-full@T: the producer refuses every bar
                             of the first produce at or after T at once */
    RPL_INJ_HALF_OPEN,    /* half-open@T: the socket dies without a close
                             for 100 s: no frame, no pong */
    RPL_INJ_REST_HANG     /* rest-hang@T: the first REST request at or
                             after T is never answered (it times out) */
};

#define RPL_INJECT_TEXT_MAX 512

struct rpl_inject {
    uint8_t kind;   /* enum rpl_inject_kind */
    int64_t at_ns;  /* virtual time, ns since the capture's first event */
    bool used;
    char text[RPL_INJECT_TEXT_MAX]; /* frame@T: the frame */
};

struct rpl_opts {
    const char *capture;
    enum rpl_mode mode;
    double speed;         /* 0 = as fast as possible; k = real time x k */
    bool step;            /* wait for Enter before each input (a tty) */
    FILE *bars;           /* NULL: no bar output */
    const char *bars_name; /* for messages ("the bars" when NULL) */
    enum rpl_bars_fmt bars_fmt;
    FILE *trace;          /* NULL: no trace */
    const char *trace_name; /* for messages ("the trace" when NULL) */
    bool trace_quiet;     /* leave out the hot path's self-loops (outputs
                             -, FEED, BEAT, SUB_ACK, ACK) */
    const char *record;   /* write a recording of every core input here */
    const char *record_secret; /* the API key to scrub from the recording
                                  (NULL: credentials in known places only) */
    bool progress;        /* a progress line on stderr */
    unsigned n_inject;
    struct rpl_inject inject[RPL_MAX_INJECT];
    /* configuration: from the capture's session unless overridden */
    const char *symbols;  /* "BTC,ETH,LTC" */
    const char *exchange; /* "Coinbase" */
    const char *quote;    /* "USD" */
    const char *intervals;/* "1m,5m" */
    bool ohlc;            /* also the server's minute candles (TYPE 24,
                             CCCAGG) of each symbol */
    const char *topic;    /* the topic template (CORE_TOPIC_DEFAULT) */
    /* publish through the real shell (publish/kafka.h) to these brokers
     * ("host:port,..." or "embedded": librdkafka's mock cluster in this
     * process) instead of the virtual Kafka; NULL: virtual */
    const char *brokers;
    /* with brokers "embedded": a librdkafka mock cluster
     * (rd_kafka_mock_cluster_t *) the embedding program owns, to publish
     * to instead of a new one; it outlives the run, so what was published
     * can be read back (the tests) */
    void *mock_cluster;
    int kafka_format;     /* enum pub_format */
    bool kafka_no_create; /* the topics exist or the broker makes them */
    int topic_partitions; /* of the topics created (0: 6) */
    int topic_replication;/* their replication factor (0: the broker's) */
    const char *topic_retention_ms; /* their retention.ms (NULL: broker's) */
    const char *kafka_props[64][2]; /* -X key=value */
    unsigned n_kafka_props;
    /* this instance's share of the subscriptions (core_config_shard):
     * shard_k of shard_n (shard_n 0: all; a session's "shard" otherwise) */
    unsigned shard_k, shard_n;
    bool emit_empty;
    const char *grace;    /* "2s": close bars at end + grace */
    const char *lateness; /* "120s": revise bars up to end + lateness */
    /* an observer of every core step (ccstream report); the core traces
     * its transitions for it. NULL: none */
    const struct loop_observer *observer;
    /* the core's checkpoint (publish/outbox.h): written to state at the
     * end (open bars kept, not flushed) and every checkpoint_every_ns of
     * virtual time; restored from resume, the capture continuing after
     * the event it covers. NULL / 0: none */
    const char *state;
    const char *resume;
    bool stop_flush;      /* with state: flush the open bars at the end
                             all the same (a restart then revises them) */
    int64_t checkpoint_every_ns;
    /* with brokers: the outbox's rows not acknowledged at most; past it
     * replay waits for the broker (0: 1,000,000) */
    uint64_t outbox_max;
    /* past outbox_max: false, replay waits for the broker (it may slow
     * its input); true, each bar closing is dropped instead (counted and
     * said: the policy a producer that must keep reading has; the run
     * exits 1) */
    bool outbox_drop;
    /* with brokers and state: exactly once, a transactional producer of
     * transactional.id "ccstream-INSTANCE" (instance NULL: the state
     * file's id) */
    bool exactly_once;
    const char *instance;
    int64_t until_ns;     /* the input ends at this time from the first
                             event (0: at the capture's end) */
    bool coverage_wanted; /* fill coverage (else only with a trace or a
                             recording, the core's traces cost time) */
    uint64_t coverage[MD_M__COUNT][32]; /* out: bit i of [m][s]: input i
                                           seen in state s */
};

struct rpl_summary {
    enum rpl_mode mode;
    uint64_t events, frames, inputs, timers_fired;
    uint64_t bars, revisions, rest_bars;
    uint64_t duplicates, late_revisions, late_dropped, malformed;
    uint64_t transitions; /* counted when traced (trace, coverage, record,
                             strict) */
    bool traced;
    uint64_t rest_matched, rest_misses;
    /* the publisher's counts (pub_stats): deliveries failed (timed out),
     * bars dead-lettered (refused for good), fatal producer errors, bars
     * refused at once (queue full) */
    uint64_t deliveries_failed, dead_lettered, producer_fatal, queue_full;
    uint64_t bars_given_up; /* produced or queued, then given up while
                               draining: failed or past the flush
                               deadline (pub_stats.lost) */
    uint64_t bars_topic_lost; /* waiting for a topic that never came when
                                 the publisher stopped */
    uint64_t topics_created, topics_failed; /* Admin results */
    /* --brokers: records produced, acknowledged, and still undelivered
     * when the run ended (after a bounded flush) */
    uint64_t kafka_produced, kafka_acked, kafka_undelivered;
    /* the outbox (--brokers with --state): rows sent, acknowledged, sent
     * again after a producer reset, found from a run before, dead-lettered,
     * and left unacknowledged at the end (kept for the next run) */
    bool outbox;
    uint64_t outbox_sent, outbox_acked, outbox_resent, outbox_restored;
    uint64_t outbox_dead, outbox_left;
    uint64_t outbox_txns, outbox_aborts, outbox_skipped;
    uint64_t outbox_dropped; /* bars dropped past --outbox-max (drop) */
    char kafka_bootstrap[256]; /* the embedded broker's address */
    bool interrupted;     /* stopped by rpl_interrupt before the end */
    int64_t resumed_seq;  /* restored from a checkpoint covering this
                             capture seq (0: not resumed) */
    bool resumed_empty;   /* --resume of a state file with no checkpoint
                             yet: from the start */
    uint64_t checkpoints; /* written (--state) */
    int64_t ckpt_seq;     /* ... the last one covering this seq */
    uint64_t ckpt_bytes, ckpt_streams; /* written, over all of them */
    uint64_t stalled;     /* frames withheld by stall@T */
    /* the core's loss and refusal counters (core_stats), printed when
     * not zero */
    uint64_t bars_lost;   /* closed but never produced: unpublished (the
                             publisher had stopped) or rolled back */
    uint64_t bars_waits;  /* times closing waited for a full bar store */
    uint64_t stale_reports, streams_full, tickers_full;
    uint64_t subs_rejected; /* subscriptions the server refused (conn) */
    uint64_t bars_ohlc_outside; /* REST bars breaking low <= open, close
                                   <= high, kept as received */
    unsigned max_streams, max_tickers; /* the sizes of those tables */
    uint64_t bars_unconfigured; /* bars of pairs outside the configuration
                                   (not written) */
    char unseen[256];     /* configured pairs without a bar ("" none) */
    int capture_state;    /* enum store_state of the capture */
    char capture_warning[512]; /* store_reader_warning, or "" */
    uint64_t backfill_failed;  /* backfill requests failed, planned again */
    uint64_t backfill_dropped; /* gap bars beyond the REST history */
    uint64_t divergences; /* strict: 0 or 1 (stops at the first) */
    int64_t span_ns;      /* virtual time covered */
    double seconds;       /* wall time the replay took */
    double cpu_core;      /* CPU seconds of the thread running the core */
    double cpu_read;      /* CPU seconds of the read-ahead thread */
    char divergence[1024];
};

void rpl_opts_default(struct rpl_opts *o);

/* Ask the running replay to stop as at the end of its capture: no more
 * input, then the operator's STOP (open bars closed per policy, the
 * publisher flushed within its deadline, every report awaited). Safe in a
 * signal handler. The summary says it was interrupted. */
void rpl_interrupt(void);

/* Parse "publish-fail@90s" (units ns, us, ms, s, m, h; plain = s) into
 * o->inject. MD_OK or MD_E_INVAL. */
int rpl_add_inject(struct rpl_opts *o, const char *spec);

/* The name of an injection kind ("publish-fail"), "?" if none. */
const char *rpl_inject_name(int kind);

/* The core's configuration for a run with options o of a capture whose
 * session configuration is session_config (JSON, or NULL): symbols,
 * exchange, quote and intervals (the options', else the session's, else
 * BTC,ETH,LTC against USD on Coinbase, 1m), the REST policy the session
 * names, grace, lateness, the topic template, empty bars. Everything a
 * recording needs to be replayed as it ran: `capture` and `live` make
 * theirs with it from the session configuration they record. cfg->series
 * is allocated (the caller frees it); cfg->trace is left off. MD_OK;
 * MD_E_USAGE (an option's fault), MD_E_INVAL (the session's), MD_E_NOMEM;
 * err says which. */
int rpl_core_config(const struct rpl_opts *o, const char *session_config,
                    struct core_config *cfg, char *err, size_t errlen);

/* The session configuration a recording of this run carries (JSON, in
 * *out, malloc'd): the symbols, exchange, quote and intervals, grace,
 * lateness, empty bars, topic template and REST policy it ran with, and
 * the source's own configuration under "source". rpl_core_config of it
 * gives cfg again. MD_OK or MD_E_NOMEM. */
int rpl_session_config(const struct rpl_opts *o, const char *session_config,
                       const struct core_config *cfg, char **out);

/* Run the replay. MD_OK when it ran to the end (in strict mode: without a
 * divergence, else MD_E_STATE with sum->divergence set); MD_E_CORRUPT /
 * MD_E_VERSION / MD_E_IO for a bad capture or output, with errbuf. */
int rpl_run(struct rpl_opts *o, struct rpl_summary *sum, char *errbuf,
            size_t errlen);

/* Write the summary a person reads. */
void rpl_print_summary(FILE *f, const struct rpl_summary *sum);

#endif /* REPLAY_H */
