/* replay_int.h: what the replay's files share: the run, the virtual
 * world's pending events and connections. Not for use outside replay/. */
#ifndef REPLAY_INT_H
#define REPLAY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "book.h"
#include "loop.h"
#include "pump_core.h"
#include "replay.h"
#include "store.h"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)
#define ACK_DELAY_NS NS_PER_MS
#define STOP_GRACE_NS (30 * NS_PER_S)

/* ---- small growable arrays (shell code may allocate) ---------------- */

/* A pending event of the virtual world, ordered by (t, seq). */
enum pend_kind {
    PEND_HTTP = 1,   /* answer to the head REST request */
    PEND_DELIVERY,   /* one delivery report */
    PEND_ADMIN,      /* topic created/failed */
    PEND_WS,         /* a recorded WebSocket event of a shifted connection */
    PEND_WS_CLOSED,  /* the end of a socket the core closed */
    PEND_WS_PONG,    /* the server's pong to the core's ping */
    PEND_WS_REFUSED  /* the end of a socket refused at the handshake
                        (status: its HTTP status) */
};

struct pend {
    int64_t t;
    int64_t sent;     /* when the action it answers was taken */
    uint64_t seq;
    int kind;
    int ok;
    uint32_t conn_id; /* core socket id */
    int store_kind;   /* PEND_WS: the recorded kind */
    int64_t status;
    uint64_t bar_id;  /* PEND_DELIVERY */
    int input;        /* PEND_DELIVERY: the publisher's input (PUB_I_*) */
    unsigned gen;     /* PEND_DELIVERY: the producer it came from */
    int urgent;       /* the answer of the call itself (a refusal at
                         once): first among those due at its time */
    char *data;       /* owned */
    size_t len;
};

struct heap {
    struct pend *v;
    size_t n, cap;
    uint64_t seq;
};

/* A recorded WebSocket connection as the virtual world plays it. */
struct wsmap {
    int64_t store_id;
    uint32_t core_id;  /* 0: not adopted (yet) */
    int64_t shift_ns;  /* its events are played this much later */
    bool closed_by_core;
    bool deferred;     /* accepted while the core was not connecting: its
                          events wait (parked) for the core's next attempt */
    struct pend *parked;
    size_t nparked, capparked;
};

struct run {
    struct rpl_opts *o;
    struct rpl_summary *sum;
    struct core *core;
    void *core_mem;         /* the core's tables (core_mem_size) */
    struct core_config cfg; /* its series array is ours (configure) */
    struct loop loop;      /* the executor */
    struct loop_vclock vclock;
    uint32_t cur_sock;     /* the socket the core opened last */
    char topic[CORE_TOPIC_MAX]; /* strict: the topic an Admin result
                                   names */
    struct timespec speed0; /* --speed: wall time of the first paced event */
    struct heap heap;
    struct book book;
    struct wsmap ws[64];
    unsigned n_ws;
    bool core_connecting;  /* the core asked for a socket not yet opened */
    unsigned producer_gen; /* the virtual producer; a fatal error ends it
                              and its reports still due never come */
    uint32_t want_id;      /* its id */
    int64_t want_t;
    int64_t t0;            /* virtual time origin: the first event */
    int64_t wall0;
    bool strict;
    struct outbox *ob;     /* --state / --resume: the checkpoint's file */
    int64_t resume_seq;    /* the capture seq the restored checkpoint
                              covers (0: none) */
    int64_t last_seq;      /* the last capture event taken in */
    int64_t ckpt_t;        /* virtual time of the last checkpoint */
    bool faulty;           /* faults injected (--inject): faults.c */
    struct pub_kafka *kafka; /* --brokers: the real publisher shell */
    struct pump *pump;       /* --brokers with --state: the outbox (the
                                core's bars go out through it) */
    struct pump_core pc;     /* the bars the core produced into the
                                outbox, and those dropped at closing */
    void *mock_rk;           /* --brokers embedded: the handle that owns
                                the mock cluster (rd_kafka_t *) */
    void *mock;              /* and the cluster (rd_kafka_mock_cluster_t *) */
    bool mock_owned;         /* made here (else rpl_opts.mock_cluster) */
    uint64_t kafka_said[32]; /* topic failures printed (hashes) */
    size_t n_kafka_said;
    struct store_writer *rec;
    int rc;
    char *err;
    size_t errlen;
    FILE *tty; /* --step */
    /* the configured pairs (market, base, quote), sorted: --bars-out
     * writes their bars only; seen[k]: a bar of pair k was made */
    struct pairkey *pairs;
    size_t n_pairs;
    bool *seen;
};

/* A configured pair: "MARKET BASE QUOTE". */
struct pairkey {
    char k[BAR_MARKET_MAX + 2 * BAR_SYM_MAX + 3];
};

/* The pair of bar b among r->pairs: its index, or -1 (not configured). */
long configured_pair(const struct run *r, const struct bar *b);

/* world.c: the virtual world (the executor's operation tables), the
 * pending events' heap, and the stepping of the core through the
 * executor with recording. */
extern const struct loop_ws_ops world_ws;
extern const struct loop_http_ops world_http;
extern const struct loop_kafka_ops world_kafka;
extern const struct loop_sink_ops world_sink;

int heap_push(struct heap *h, struct pend p);

/* The world answers an action taken at sent: p goes through the fault
 * filter (when faulty) into the pending heap. world_fail stops the run
 * with rc and msg (the first failure wins). */
void world_reply(struct run *r, int64_t sent, struct pend p);
void world_fail(struct run *r, int rc, const char *msg);
struct pend heap_pop(struct heap *h);

void record_input(struct run *r, int kind, int dir, int64_t conn_id,
                  int64_t t, int64_t status, const char *meta,
                  const void *data, size_t len);
void rec_actions(void *ctx, mono_ns t, const char *text, size_t len);
void timer_input(void *ctx, const struct core_in *in);

/* One core step through the executor. fire_due: everything due at or
 * before t, the core's timers and the world's answers, in time order (a
 * timer first on a tie). The core's rc (r->err set) or r->rc. */
int step(struct run *r, struct core_in *in);
int fire_due(struct run *r, int64_t t);

/* broker.c: --brokers */
int rpl_kafka_open(struct run *r, char *errbuf, size_t errlen);
int rpl_kafka_drain(struct run *r, int64_t t);
void rpl_kafka_close(struct run *r);
int rpl_outbox_closed(struct run *r, const struct md_bar *const *bars,
                      size_t n);
int rpl_outbox_commit(struct run *r, bool force);
int rpl_outbox_finish(struct run *r);

/* The recorded connection store_id as the world plays it (NULL: more
 * than the table holds); feed one of its events to the core (what-if);
 * the core asked for a socket at t: a deferred connection starts. */
struct wsmap *ws_of(struct run *r, int64_t store_id);
int feed_ws(struct run *r, struct wsmap *w, int kind, int64_t t,
            int64_t status, const void *data, size_t len);
void unpark(struct run *r, int64_t t);

/* The same as fire_due: the world's pending events and the timers due
 * at or before t, in time order. */
int drain_pending(struct run *r, int64_t t);

/* faults.c: the fault injector around the world. fault_http wraps
 * world_http (rest-fail, rest-param); fault_reply changes an answer of
 * the world (slow-close, kafka-slow, topic-fail, publish-fail);
 * fault_stalled says whether the server's frames at t are withheld
 * (stall). */
extern const struct loop_http_ops fault_http;
void fault_reply(struct run *r, struct pend *p);
bool fault_stalled(const struct run *r, int64_t t);

/* fault_half_open says whether the socket is dead at t (half-open@T: no
 * frame and no pong for 100 s from T). */
bool fault_half_open(const struct run *r, int64_t t);
/* The HTTP status (401, 429) an injection refuses the core's connection
 * attempt at t with, using the injection up; 0: not refused. */
int fault_refused(struct run *r, int64_t t);
/* Whether the producer refuses a produce at t at once (queue-full),
 * using the injection up. */
/* Use up the first unused injection of kind due at or before at: true if
 * there was one (replay --brokers acts on it for real: broker.c). */
bool fault_take(struct run *r, int kind, int64_t at);
/* --brokers: MD_OK when every --inject can act on a real producer
 * (broker.c), else MD_E_USAGE saying which cannot and why. */
int rpl_kafka_check(const struct rpl_opts *o, char *errbuf, size_t errlen);
bool fault_queue_full(struct run *r, int64_t t);

#endif /* REPLAY_INT_H */
