/* synth.h: `ccstream synth`: a deterministic generator of realistic
 * CryptoCompare sessions (REST preflight, streamer v2 WebSocket, REST
 * postflight), written as a capture through the store API (store.h).
 *
 * What a session holds and why is docs/synth.md; the shapes, rates and
 * magnitudes follow the shared reference cryptocompare-protocol.md,
 * sections 1, 3, 6, 7 and 9. REST requests are planned and spelled by the
 * core's own REST policy (rest_policy.h: rp_plan_preflight,
 * rp_plan_backfill, rp_req_path), so replay finds them by the same string.
 *
 * Determinism: the output depends on the options and the seed only. The
 * generator reads no clock and no environment, and draws every random
 * number from md_prng (splitmix64); the same options give the same events,
 * byte for byte. Shell code: it allocates (once per run, never per frame)
 * and, through synth_write, writes a file. Locality: one thread. */
#ifndef SYNTH_H
#define SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "rest_policy.h"
#include "store.h"

#define SYNTH_MINUTES_MAX 525600    /* one year of streaming */
#define SYNTH_MINUTES_DEFAULT 10
#define SYNTH_SEED_DEFAULT 1
#define SYNTH_EXCHANGE_DEFAULT "Coinbase"
#define SYNTH_SYMBOLS_DEFAULT "BTC,ETH,LTC"
/* 2025-07-22T13:19:55Z: the WebSocket connect (T0) of every session unless
 * told otherwise; the REST preflight is 5 s earlier (reference 9.1). */
#define SYNTH_START_DEFAULT INT64_C(1753190395)

/* Named variants. Each is the default session (section 9.1 of the
 * reference) with one fault added or put in place of the default's
 * abrupt disconnect; docs/synth.md says exactly what each contains. */
enum synth_scenario {
    SYNTH_SC_INVALID = 0,
    SYNTH_SC_DEFAULT,           /* 9.1: one abrupt drop and reconnect */
    SYNTH_SC_ABRUPT_DISCONNECT, /* drop mid-bar, a refused reconnect */
    SYNTH_SC_CLEAN_CLOSE,       /* server close 1001, later 1000 */
    SYNTH_SC_FORCE_DISCONNECT,  /* TYPE 500 FORCE_DISCONNECT */
    SYNTH_SC_HEARTBEAT_STALL,   /* socket silent; client gives up at 75 s */
    SYNTH_SC_UNAUTHORIZED,      /* reconnect answered TYPE 401 */
    SYNTH_SC_TOO_MANY_SOCKETS,  /* reconnect answered TYPE 429 */
    SYNTH_SC_INVALID_SUB,       /* several rejected subscriptions */
    SYNTH_SC_REST_RATE_LIMIT,   /* a preflight answer is Type 99 */
    SYNTH_SC_REST_UNAUTHORIZED, /* REST answers HTTP 401 Err envelope */
    SYNTH_SC_MALFORMED_FRAME,   /* frames that are not JSON */
    SYNTH_SC_TRUNCATED_FRAME,   /* frames cut short */
    SYNTH_SC_DUPLICATE_TRADES,  /* two reconnects, re-sent trades */
    SYNTH_SC_LATE_TRADES,       /* trades seconds after their minute */
    SYNTH_SC_OUT_OF_ORDER,      /* 10% of trades out of order */
    SYNTH_SC_GAP_BACKFILL,      /* minutes-long gap, REST backfill */
    SYNTH_SC__COUNT
};

/* "default", "abrupt-disconnect", ...; NULL for an invalid value. */
const char *synth_scenario_name(int sc);
/* One line on what the scenario shows; "" for an invalid value. */
const char *synth_scenario_what(int sc);
/* The scenario called name, or SYNTH_SC_INVALID. */
int synth_scenario_from_name(const char *name);

struct synth_stats;

struct synth_opts {
    uint32_t minutes;  /* streaming minutes, 1..SYNTH_MINUTES_MAX */
    uint64_t seed;     /* any value */
    /* The base symbols (the quote is USD), comma-separated, as
     * synth_set_symbols checked them: borrowed, the caller keeps the
     * string while o is used. Any number of them. */
    const char *symbols;
    unsigned n_symbols; /* how many symbols lists */
    char exchange[RP_MARKET_MAX + 1]; /* trade market, e.g. "Coinbase" */
    int scenario;      /* enum synth_scenario */
    int64_t start_s;   /* unix s of the WebSocket connect (T0) */
    uint64_t max_frames; /* 0: none; else streaming ends once this many
                          * WebSocket frames were written (benchmarks) */
    /* Called about every 65536 events with the fraction done (0..1);
     * may be NULL. Runs on the generating thread. */
    void (*progress)(void *ctx, const struct synth_stats *st, double done);
    void *progress_ctx;
};

/* minutes 10, seed 1, BTC ETH LTC, Coinbase, default scenario, start
 * SYNTH_START_DEFAULT, no frame limit, no progress. Cannot fail. */
void synth_opts_default(struct synth_opts *o);

/* Set the symbols from a comma-separated list ("BTC,ETH,LTC"): one or
 * more symbols of 1..RP_SYM_MAX upper-case letters or digits, no
 * duplicates, not "USD" (the quote). list is borrowed (o->symbols points
 * to it). MD_OK; MD_E_USAGE with errbuf saying what is wrong (o
 * unchanged); MD_E_NOMEM. */
int synth_set_symbols(struct synth_opts *o, const char *list, char *errbuf,
                      size_t errlen);

/* Set the trade market: 1..RP_MARKET_MAX letters, digits, '.', '_' or
 * '-', not the index ("CCCAGG"). MD_OK; MD_E_USAGE (o unchanged). */
int synth_set_exchange(struct synth_opts *o, const char *name, char *errbuf,
                       size_t errlen);

/* Parse a start time: unix seconds ("1753190395") or UTC
 * "YYYY-MM-DDTHH:MM:SSZ" (years 2000..2099). MD_OK; MD_E_USAGE. */
int synth_parse_start(const char *text, int64_t *start_s);

/* Check every option. MD_OK; MD_E_USAGE with errbuf. */
int synth_opts_check(const struct synth_opts *o, char *errbuf,
                     size_t errlen);

/* The session's configuration JSON (recorded in the capture): the options,
 * the REST policy settings and the series the requests were planned for.
 * Returns the length, or -1 if cap is too small. */
int synth_config_json(const struct synth_opts *o, char *buf, size_t cap);

struct synth_stats {
    uint64_t events;      /* events written */
    uint64_t frames;      /* WebSocket text frames, in + out */
    uint64_t frames_in, frames_out;
    uint64_t trades;      /* TYPE 0 frames (replays included) */
    uint64_t replayed;    /* TYPE 0 frames sent as subscribe replays */
    uint64_t cccagg;      /* TYPE 5 frames (snapshots included) */
    uint64_t heartbeats;
    uint64_t ws_connections;  /* sockets attempted */
    uint64_t rest_requests;
    uint64_t payload_bytes;   /* frame payloads and REST bodies */
    int64_t span_ns;          /* first to last event, local time */
};

/* Where a generated session goes: the store writer, or a test's or
 * benchmark's own sink. Each returns MD_OK or a negative MD_E_*; a failure
 * stops the generator, which returns it. Pointers are borrowed for the
 * call. Connections are opened in the order their first event is. */
struct synth_sink {
    void *ctx;
    int (*conn_open)(void *ctx, const struct store_conn *c,
                     int64_t *conn_id);
    int (*conn_close)(void *ctx, int64_t conn_id, int64_t closed_mono_ns,
                      int64_t closed_wall_ns, int64_t close_code,
                      const char *reason);
    int (*event)(void *ctx, const struct store_event *ev);
};

/* Generate the session o describes into sink. st (may be NULL) receives
 * the counts. MD_OK; MD_E_USAGE (bad options, errbuf says which);
 * MD_E_NOMEM; or the first error a sink function returned. */
int synth_generate(const struct synth_opts *o, const struct synth_sink *sink,
                   struct synth_stats *st, char *errbuf, size_t errlen);

/* Generate into a new capture file at path (which must not exist):
 * store_writer_open with session kind "synth", the configuration JSON,
 * prng_seed = seed and no secret, then every connection and event, then
 * store_writer_close. On failure the partial file is removed.
 * MD_OK; MD_E_USAGE; MD_E_NOMEM; the store's MD_E_* with errbuf. */
int synth_write(const struct synth_opts *o, const char *path,
                struct synth_stats *st, char *errbuf, size_t errlen);

#endif /* SYNTH_H */
