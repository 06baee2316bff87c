/* core.h: the producer's core: the composition of the connection, REST and
 * publisher machines with the market-data path (decode, merge, aggregate)
 * and the REST policy, driven one input at a time.
 *
 * core_step routes one input to where it belongs and feeds the machines'
 * internal outputs on within the same step: a frame is decoded and
 * classified into the connection machine's input (its data aggregated
 * when the step commits); a REST body is classified into the REST
 * machine's input and its bars converted; pub START_FETCH plans REST
 * requests (preflight on start, backfill after a reconnect gap); rest
 * FETCH_DONE/FETCH_FAILED become pub DATA_READY/FETCH_FAILURE; bars closed
 * by the bar timer go into the core's bar store and to pub DATA_READY.
 *
 * Every step is staged, then committed: the machines step on the staged
 * state and write into a staging buffer; only when every part succeeded
 * are the changes kept and the shell's actions copied to `out`, in order.
 * Internal outputs (fetch, fetch_done, fetch_failed, requeue, gap_open,
 * gap_closed) never reach `out`. Each action carries what the shell needs
 * (subscriptions, the REST request, bars with their ids), valid until the
 * next step. Pure: no I/O, no allocation, no clock. See
 * docs/ARCHITECTURE.md and docs/replay-contract.md. */
#ifndef CORE_H
#define CORE_H

#include "feed.h"
#include "fsm_conn.h"
#include "fsm_pub.h"
#include "fsm_rest.h"
#include "md_prng.h"
#include "md_types.h"
#include "rest_policy.h"

#define CORE_FETCH_MIN 256   /* planned REST requests held at least */
#define CORE_HISTO_CAP 2001  /* bars in one histo body (limit 2000 + 1) */
#define CORE_CLOSING 256     /* bars the aggregator closes per call (a step
                                calls it until nothing is due) */
#define CORE_BAR_MIN 8192    /* closed bars held at least (2^k); more with
                                more series: 4 per series */
/* one subscription, "5~CCCAGG~BTC~USD" (type, market, base, quote) or
 * "24~CCCAGG~BTC~USD~m" (minute candles) */
#define CORE_SUB_LEN (3 + BAR_MARKET_MAX + 2 * (1 + BAR_SYM_MAX) + 2 + 1)
#define CORE_TARGET_MAX 1024 /* a REST request's path and query */
/* A Kafka topic name: at most 249 characters of [a-zA-Z0-9._-]. */
#define CORE_TOPIC_MAX 250
#define CORE_TOPIC_TEMPLATE_MAX 128
/* The topic of a bar: placeholders {market}, {base}, {quote}, {interval}
 * ("1m", "1h", "1d") and {source} ("trades", "cccagg"); any other
 * character of a name outside [a-zA-Z0-9._-] becomes '_'. A handful of
 * topics, keyed by series: */
#define CORE_TOPIC_DEFAULT "ohlcv.{market}.{interval}"

/* The version of the core's behaviour as a recording sees it: what it
 * takes in and what it gives out. A recording made by another version
 * cannot be replayed strictly. Bumped with every change to an action's
 * meaning or text, an input, or a machine table. */
#define CORE_VERSION 6
#define CORE_SERIES_LIMIT (1u << 20) /* largest n_series accepted */

struct core_config {
    uint64_t seed; /* PRNG seed for jitter; recorded in every capture */
    int trace;     /* emit MD_A_TRACE for every transition */
    struct conn_config conn;
    struct rest_config rest;
    struct pub_config pub;
    /* agg.max_streams 0 (the default): one stream per distinct (source,
     * market, base, quote) of the series, plus AGG_STREAMS_DEFAULT for
     * data the series do not name (other pairs in a capture, TYPE 24) */
    struct agg_config agg;
    /* TYPE 2/5 merge states; 0 (the default): as many as streams */
    unsigned max_tickers;
    struct rp_config rp;
    /* The series whose REST bars the policy fetches: CCCAGG pairs (seeded
     * previous close, backfilled) and exchange trade pairs (backfilled).
     * The array is the caller's, cap_series long: set series and
     * cap_series, then add with core_config_add_series (or fill it and
     * set n_series). core_init copies the series into the core's memory,
     * so the array may go once the core is initialised. No fixed limit:
     * the caller sizes the array. */
    struct rp_series *series;
    unsigned n_series, cap_series;
    /* the topic of each bar (CORE_TOPIC_DEFAULT); a topic is asked for
     * by name when the first bar bound for it closes */
    char topic_template[CORE_TOPIC_TEMPLATE_MAX];
    /* STOP closes only the bars due, leaving the open ones to a
     * checkpoint (ckpt.h) instead of flushing them */
    bool stop_keeps_open;
};

/* What arrives from outside. */
enum core_in_kind {
    CORE_IN_INVALID = 0,
    CORE_IN_START,    /* operator: start everything; server_ms = the local
                         wall clock, the first estimate of server time */
    CORE_IN_STOP,     /* operator or signal: flush bars, stop everything */
    CORE_IN_RESET,    /* operator: reconnect now / leave errors */
    CORE_IN_CONN,     /* a socket event (WS_OPEN, WS_CLOSED) or, for tools
                         and tests, an already classified frame input */
    CORE_IN_FRAME,    /* a WebSocket text frame: data[0..len) */
    CORE_IN_HTTP,     /* the REST response to the request sent last:
                         http_status and body data[0..len); status 0 =
                         transport error */
    CORE_IN_REST,     /* for tools and tests: a REST machine input */
    CORE_IN_PUB,      /* a delivery report (bar_id) or Admin result */
    CORE_IN_TIMER,    /* timer firing, stamped with its deadline */
    CORE_IN__COUNT
};

struct core_in {
    uint8_t kind;   /* enum core_in_kind */
    uint8_t input;  /* machine input symbol for CONN/REST/PUB */
    uint8_t timer;  /* enum md_timer for TIMER */
    mono_ns t_ns;   /* when the shell received it (deadline for TIMER) */
    uint32_t conn_id;       /* CONN, FRAME: the socket it came from */
    int64_t server_ms;      /* CONN: server time or 0; START: wall clock */
    mono_ns retry_after_ns; /* REST: server-requested wait, or 0 */
    uint64_t n;             /* PUB: bars (DATA_READY); REST: bars made */
    uint64_t bar_id;        /* PUB PUBLISH_SUCCESS/FAILURE: the bar */
    int http_status;        /* HTTP: the response's status (0: transport
                               error); CONN WS_CLOSED: the handshake's HTTP
                               status if the server refused the upgrade
                               (401, 429, ...), else 0 */
    int close_code;         /* CONN WS_CLOSED: the close code (1000 normal,
                               1006 abrupt), 0 if none */
    const char *data;       /* FRAME, HTTP: borrowed for the call */
    size_t len;
};

/* A closed bar in the core's bar store (md_types.h). */
struct md_bar {
    uint64_t id;
    const char *topic; /* its topic's name, in the core's table */
    int64_t emit_ms;   /* the server-time watermark when it was made: a
                          record's timestamp when the bar was flushed
                          before its end (docs/bars.md, "On Kafka") */
    struct bar bar;
};

struct core_stats {
    uint64_t stale_socket_events; /* events of a replaced socket, dropped */
    uint64_t stale_reports;       /* reports naming no bar in flight */
    uint64_t steps, rollbacks;
    uint64_t bars_emitted, bars_rest;
    uint64_t bars_unpublished;    /* closed while the publisher took no
                                     more (stopped): noted, released */
    uint64_t bars_rolled_back;    /* closed in a step that failed (a bug):
                                     lost, noted by the next step */
    uint64_t bars_wait;           /* times closing waited for room in the
                                     bar store (full while bars were due) */
    uint64_t bars_ohlc_outside;   /* REST bars whose open or close lies
                                     outside their high and low, taken as
                                     received (BAR_F_OHLC_OUTSIDE) */
    uint64_t http_responses, http_unexpected, http_malformed;
    uint64_t fetch_planned, fetch_overflow;
    uint64_t backfill_revisions, backfill_fills, backfill_refused;
    uint64_t backfill_failed;  /* backfill requests failed for good: their
                                  minutes planned again (noted) */
    uint64_t backfill_dropped; /* gap bars beyond the REST history: never
                                  fetched (noted) */
    uint64_t streams_full, tickers_full; /* frames whose data was dropped */
    uint64_t topics_asked, topics_created, topics_failed;
    uint64_t topic_results_stale; /* Admin results naming no topic asked
                                     for: not passed on */
    uint64_t bars_parked_lost;    /* bars whose topic never came: given up
                                     when the publisher stopped (noted) */
};

/* The reconnect gap one series still has to backfill. */
struct core_backfill {
    bool want;            /* plan [from_ns, to_ns] at the next job */
    bool pending;         /* to plan again at due_ns (backfill timer): part
                             of it not fetchable yet, or a request of it
                             failed */
    int64_t from_ns, to_ns; /* server time */
    int64_t due_ns;       /* pending: server time it may be planned again */
    uint32_t fails;       /* its requests failed in a row (back-off) */
};

/* The bar store: ids next_id - bar_cap < lo <= id < next_id live in
 * slot[id % bar_cap]; queue holds, in order, the ids waiting to be
 * produced. */
struct core_undo {
    uint64_t id;
    uint8_t st;
};

enum core_bar_state {
    CORE_BAR_FREE = 0,
    CORE_BAR_QUEUED,   /* waiting to be produced */
    CORE_BAR_INFLIGHT, /* produced, delivery report pending */
    CORE_BAR_PARKED    /* its topic does not exist yet: not the
                          publisher's until it does */
};

/* A topic, by name: asked for when the first bar bound for it closes. */
enum core_topic_state {
    CORE_TOPIC_NEW = 0, /* no bar for it yet, or its creation failed */
    CORE_TOPIC_WANTED,  /* bars wait for it; to be asked for */
    CORE_TOPIC_ASKED,   /* in an Admin request, its result due */
    CORE_TOPIC_READY    /* exists: its bars go to the publisher */
};

struct core_topic {
    char name[CORE_TOPIC_MAX];
};

/* The composition's own small state: staged as a whole every step. */
struct core_small {
    int64_t gap_start_ns, gap_end_ns; /* the last reconnect gap, server */
    bool stopping;                    /* STOP was given */
    bool bar_armed;
    bool bars_waiting;                /* the store is full, bars are due */
    mono_ns bar_deadline;
    bool backfill_armed;
    mono_ns backfill_deadline;
    unsigned fetch_head, fetch_n;     /* planned REST requests */
    uint64_t next_id, lo;             /* bar store */
    uint64_t q_head, q_n;             /* bar queue */
    uint64_t n_queued, n_inflight;    /* bars by state */
    uint64_t n_parked;
    unsigned n_topics;                /* names in the topic table */
    unsigned n_asked;                 /* results due of the Admin request */
    bool admin_failed;                /* ... and one of them failed */
    uint64_t req_id;                  /* REST requests sent */
    /* the running fetch (REST requests queued) while the publisher is
     * FETCHING: what its ended requests gave, told to the publisher when
     * the last one ends (docs/mealy.md, "Composition") */
    uint64_t held;         /* bars queued in the store, not yet handed to
                              the publisher (DATA_READY) */
    uint64_t fetch_failed; /* requests failed, not yet reported to the
                              publisher (FETCH_FAILURE) */
    bool restored;           /* from a checkpoint (ckpt.h): no preflight */
    int64_t restored_gap_ns; /* ... whose gap starts here (server time) */
};

/* The core's state. Small (a few KB): every table sized from the
 * configuration (the aggregator's streams and series, the feed's tickers,
 * the series, their backfill state and subscriptions, the REST queue, the
 * bar store, the staging logs, REST body scratch) lives in the memory the
 * caller gave core_init (core_mem_size). cfg.series points to the core's
 * own copy of the series. */
struct core {
    struct core_config cfg;
    struct md_prng rng;
    struct conn conn;
    struct rest rest;
    struct pub pub;
    struct feed feed;
    struct rp_budget budget;
    struct core_small s;
    /* planned REST requests: a ring of 2 * fetch_cap (core.c); fetch_cap
     * = cfg.rest.queue_cap */
    unsigned fetch_cap;
    struct rp_fetch *fetch;
    struct core_backfill *bf; /* one per series */
    /* the subscriptions (WS_SUBSCRIBE's payload), at most one per series */
    unsigned n_subs;
    char *sub_text;           /* n_series * CORE_SUB_LEN */
    const char **subs;
    /* the bar store, bar_cap slots (a power of two) */
    uint64_t bar_cap;
    uint8_t *bar_state;
    struct md_bar *bar;
    uint64_t *queue;          /* 2 * bar_cap */
    /* the topic table: topic_cap names (core_topic.c), their states, an
     * open-addressing index of 2 * topic_cap (a power of two) slots, and
     * the names of the Admin request being made */
    unsigned topic_cap, topic_mask;
    struct core_topic *topic;
    uint8_t *topic_state;
    uint32_t *topic_index;
    const char **topic_ask;
    /* the step being staged (core.c) */
    struct {
        struct core_small s;
        struct conn conn;
        struct rest rest;
        struct pub pub;
        struct rp_budget budget;
        struct core_backfill *bf;    /* one per series */
        uint8_t saved; /* bit m: machine m saved; bits 4, 5: budget, bf */
        bool have_offset;            /* the feed's clock */
        int64_t offset_ns;
        struct md_out out;           /* what the machines wrote */
        size_t n_ref;
        const struct md_bar **ref;   /* action payloads, 3 * bar_cap */
        size_t n_undo;
        struct core_undo *undo;      /* 3 * bar_cap */
        uint64_t report_id;          /* the delivery report's bar, or 0 */
        size_t rest_first, rest_n;   /* bars of a REST body, in ref */
        bool frame;                  /* apply msg when committing */
        bool fed;                    /* conn's output for it was FEED */
        struct cc_msg msg;
        struct feed_result res;
        bool gap_open, gap_close, resubscribed;
        bool wait;                   /* closing waited for room */
        int64_t gap_open_at, gap_close_at;
        bool seed;
        struct rp_series seed_series;
        int64_t seed_end_ns;
        double seed_close;
        uint64_t unannounced, dropped_new;
        uint8_t *topic_state;        /* saved before the first change */
        bool topics_saved;
        bool topic_wanted;           /* a topic became wanted: ask */
        uint64_t parked;             /* bars parked this step */
        uint64_t rest_parked;        /* ... of the REST body */
        char topic_name[CORE_TOPIC_MAX]; /* a bar's, being looked up */
    } stg;
    /* the request sent last (REST_SEND's payload) */
    char target[CORE_TARGET_MAX];
    struct md_request req;
    /* scratch: REST bodies (CORE_HISTO_CAP bars each), plans (fetch_cap),
     * bars closing */
    struct cc_bar *histo;
    struct bar *conv;
    struct rp_fetch *plan_tmp;
    struct bar *closing;      /* CORE_CLOSING */
    uint64_t lost_unnoted; /* bars_rolled_back the next step notes */
    struct {
        bool head;         /* a checkpoint's head restored (ckpt.c) */
        unsigned n, next;  /* its streams; the next one due */
    } rst;
    struct core_stats st;
};

/* Room a core_step needs in out; less gives MD_E_FULL. */
#define CORE_MAX_ACTIONS 96

/* The machines' tables, indexed by enum md_machine (index 0 is NULL). */
extern const struct fsm_def *const core_defs[MD_M__COUNT];

/* Defaults for every machine, 1m bars, no series (and no series array),
 * seed 0; tables sized from the series (agg.max_streams, max_tickers and
 * rest.queue_cap 0). */
void core_config_default(struct core_config *cfg);

/* Add a series (market "CCCAGG" for the index, source cccagg, or an
 * exchange with source trades) to cfg->series[cfg->n_series].
 * MD_OK; MD_E_FULL (n_series == cap_series: give a larger array);
 * MD_E_INVAL (a name empty or too long, interval <= 0). */
/* Add a series of the server's minute candles (TYPE 24, subscribed as
 * "24~MARKET~BASE~QUOTE~m", source ohlc, 60 s bars): its bars are the
 * server's own, revised as it revises them; no REST request is planned
 * for it. Errors as core_config_add_series. */
int core_config_add_ohlc(struct core_config *cfg, const char *market,
                         const char *base, const char *quote);

int core_config_add_series(struct core_config *cfg, const char *market,
                           const char *base, const char *quote,
                           int64_t interval_s);

/* Series se's subscription ("0~Coinbase~BTC~USD", "5~CCCAGG~BTC~USD",
 * "24~CCCAGG~BTC~USD~m") into t[0..CORE_SUB_LEN); its length. */
size_t core_series_sub(const struct rp_series *se, char *t);

/* The shard 0..n-1 of subscription sub among n (n <= 1: 0): FNV-1a 64
 * of its text, modulo n. Stable: the same text, the same shard, on every
 * machine and version (docs/operations.md, "Scaling out"). */
unsigned core_sub_shard(const char *sub, unsigned n);

/* Keep the series whose subscription falls in shard k of n (every
 * interval of a subscription goes with it), in their order. MD_OK;
 * MD_E_INVAL (k >= n). */
int core_config_shard(struct core_config *cfg, unsigned k, unsigned n);

/* MD_OK if tmpl is a topic template (CORE_TOPIC_DEFAULT: the characters
 * of a Kafka topic name and the placeholders), else MD_E_INVAL. */
int core_topic_template_check(const char *tmpl);

/* Bar b's topic under tmpl into out[0..cap); its length, 0 if it does
 * not fit. */
size_t core_topic_render(const char *tmpl, const struct bar *b, char *out,
                         size_t cap);

/* Bytes of memory core_init needs for cfg: the aggregator and feed
 * (feed_mem_size), a copy of the series with their backfill state and
 * subscriptions, the REST queue and plan scratch (rest.queue_cap, 0:
 * CORE_FETCH_MIN or every series' preflight pages if more), the bar store
 * (CORE_BAR_MIN slots or 4 per series) with its staging logs, and two REST
 * body buffers of CORE_HISTO_CAP bars. Linear in the series. SIZE_MAX for a configuration beyond the limits. Counting the
 * distinct streams of the series takes time quadratic in the streams
 * (about 10 ms at 2,400 series); it is done here and in core_init. */
size_t core_mem_size(const struct core_config *cfg);

/* Every machine in q0, the tables carved from mem[0..size) (not zeroed,
 * any alignment; borrowed: the caller keeps mem while c is used and frees
 * it afterwards; most of it is only touched as streams appear, so
 * resident memory follows the data). MD_OK; MD_E_INVAL (a bad aggregator
 * configuration, n_series beyond CORE_SERIES_LIMIT or size below
 * core_mem_size(cfg)). c itself is small. */
int core_init(struct core *c, const struct core_config *cfg, void *mem,
              size_t size);

/* One input. MD_OK: every part of the step is committed and its actions
 * appended to out. Otherwise nothing changed and nothing was appended:
 * MD_E_FULL if out has less than CORE_MAX_ACTIONS room; MD_E_INVAL for a
 * malformed input; MD_E_STATE if a machine has no arm for its input or an
 * internal bound is exceeded (a bug; the one change kept is that bars the
 * failed step made are lost: those the aggregator closed cannot close
 * again, a REST body is not answered twice; counted in
 * st.bars_rolled_back and noted by the next step). Bad data (a malformed
 * frame, an undecodable REST body, a report for no bar in flight) is never
 * an error: it is classified, counted and noted. */
int core_step(struct core *c, const struct core_in *in, struct md_out *out);

/* Check the composition's invariants (the bar store against the
 * publisher's counts, the fetch queue against the REST machine's). MD_OK
 * or MD_E_STATE. Tests call it after every step. */
int core_check(const struct core *c);

/* Map a timer to the machine and input it fires; 0 if none (the bar and
 * backfill timers belong to the composition itself). */
int core_timer_target(enum md_timer timer, enum md_machine *machine,
                      uint8_t *input);

#endif /* CORE_H */
