/* core.h: the producer's core: the composition of the connection, REST and
 * publisher machines with the market-data path (decode, merge, aggregate)
 * and the REST policy, driven one input at a time.
 *
 * core_step routes one input to where it belongs and feeds internal
 * outputs on within the same step: a frame is decoded and classified into
 * the connection machine's input and its data aggregated; a REST body is
 * classified into the REST machine's input and its bars converted; pub
 * START_FETCH plans REST requests (preflight on start, backfill after a
 * reconnect gap) for the REST machine; rest FETCH_DONE/FETCH_FAILED become
 * pub DATA_READY/FETCH_FAILURE; bars closed by the bar timer go to the
 * caller's bar sink and to pub DATA_READY. Everything the shells must do
 * comes out as actions in `out`, in order. Pure: no I/O, no allocation, no
 * clock. See docs/ARCHITECTURE.md and docs/replay-contract.md. */
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
    CORE_IN_HTTP,     /* the REST response to the head request: http_status
                         and body data[0..len); status 0 = transport error */
    CORE_IN_REST,     /* for tools and tests: a REST machine input */
    CORE_IN_PUB,      /* a delivery report or Admin result: pub input */
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
    int http_status;        /* HTTP */
    const char *data;       /* FRAME, HTTP: borrowed for the call */
    size_t len;
};

struct core_stats {
    uint64_t stale_socket_events; /* events of a replaced socket, dropped */
    uint64_t steps;
    uint64_t bars_emitted, bars_rest, sink_full;
    uint64_t http_responses, http_unexpected, http_malformed;
    uint64_t fetch_planned, fetch_overflow;
    uint64_t backfill_revisions, backfill_fills, backfill_refused;
};

/* The core's state. Small (a few KB): every table sized from the
 * configuration (the aggregator's streams and series, the feed's tickers,
 * the series, the REST queue, REST body scratch) lives in the memory the
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
    /* planned REST requests, a ring of fetch_cap (= cfg.rest.queue_cap);
     * the head is the REST machine's head */
    unsigned fetch_head, fetch_n, fetch_cap;
    struct rp_fetch *fetch;
    /* the reconnect gap to backfill, in server time */
    int64_t gap_start_ns, gap_end_ns;
    bool backfill_pending;  /* bars of the gap not fetchable yet */
    int64_t backfill_from_ns;
    bool stopping; /* STOP was given */
    /* bar timer */
    bool bar_armed;
    mono_ns bar_deadline;
    /* the caller's bar sink, filled by each step */
    struct bar *sink;
    size_t sink_cap, sink_n;
    /* scratch: REST bodies (CORE_HISTO_CAP each), plans (fetch_cap), bars
     * closed without a sink */
    struct cc_bar *histo;
    struct bar *conv;
    struct rp_fetch *plan_tmp;
    struct bar scratch[8];
    struct core_stats st;
};

/* Room a core_step needs in out; less gives MD_E_FULL. */
#define CORE_MAX_ACTIONS 48

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
int core_config_add_series(struct core_config *cfg, const char *market,
                           const char *base, const char *quote,
                           int64_t interval_s);

/* Bytes of memory core_init needs for cfg: the aggregator and feed
 * (feed_mem_size), a copy of the series, the REST queue and plan scratch
 * (rest.queue_cap, 0: CORE_FETCH_MIN or every series' preflight pages if
 * more) and two REST body buffers of CORE_HISTO_CAP bars. Linear in the
 * series. SIZE_MAX for a configuration beyond the limits. Counting the
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

/* Where the bars of the following steps go: each core_step restarts at
 * bars[0] and reports how many it wrote with MD_A_BARS actions (arg = the
 * count added at that point). Without a sink bars are counted and lost. */
void core_set_bar_sink(struct core *c, struct bar *bars, size_t cap);

/* One input. MD_OK; MD_E_FULL if out has less than CORE_MAX_ACTIONS room
 * (nothing changed); MD_E_INVAL for a malformed input (nothing changed);
 * MD_E_STATE if a table lacks an arm (a bug: tables are validated). Bad
 * data (a malformed frame, an undecodable REST body) is never an error:
 * it is classified, counted and noted. */
int core_step(struct core *c, const struct core_in *in, struct md_out *out);

/* The planned request the REST machine is sending (after MD_A_REST_SEND),
 * or NULL. Its path: rp_req_path(&f->req, ...). */
const struct rp_fetch *core_rest_head(const struct core *c);

/* Map a timer to the machine and input it fires; 0 if none (the bar and
 * backfill timers belong to the composition itself). */
int core_timer_target(enum md_timer timer, enum md_machine *machine,
                      uint8_t *input);

#endif /* CORE_H */
