/* feed.h: the market-data path of the core: one WebSocket text frame in,
 * decoded (cc_decode.h), classified into the connection machine's input,
 * TYPE 5 updates merged into per-pair state, and everything that is market
 * data handed to the aggregator (agg.h) in server time.
 *
 * Server time: the feed learns offset = server - local from the welcome's
 * SERVER_TIME_MS and every heartbeat's TIMEMS, and times everything as
 * local receive time + offset. A local clock that runs ahead or behind
 * therefore shifts nothing: bars close on the server's clock.
 * Pure: no I/O, no allocation, no clock. */
#ifndef FEED_H
#define FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agg.h"
#include "cc_decode.h"
#include "md_types.h"

#define FEED_TICKERS_DEFAULT 64 /* max_tickers when 0 is given */
#define FEED_TICKERS_LIMIT (1u << 22)

/* A ticker's key (TYPE, MARKET, FROMSYMBOL, TOSYMBOL), unescaped, and its
 * hash: what the index compares. */
struct feed_key {
    uint64_t tag;
    int32_t type_num;
    uint8_t market_len, fsym_len, tsym_len;
    char market[CC_STATE_STR_MAX], fsym[CC_STATE_STR_MAX],
        tsym[CC_STATE_STR_MAX];
};

struct feed_stats {
    uint64_t frames;
    uint64_t by_type[CC_T__COUNT];
    uint64_t malformed, truncated; /* did not decode */
    uint64_t unknown_type;         /* decoded, TYPE not known */
    uint64_t ticker_overflow;      /* updates of TYPE 2/5 keys beyond
                                      max_tickers (not merged) */
    uint64_t merge_errors;
};

struct feed {
    struct agg agg;
    bool have_offset;
    int64_t offset_ns; /* server epoch ns - local mono ns */
    /* The fields decoded (cc_ws_decode_want): feed_init sets what the
     * aggregator reads (AGG_TRADE_FIELDS, AGG_TICKER_FIELDS); a ticker
     * mask of CC_ALL_FIELDS keeps the whole snapshot in tk[]. */
    struct cc_want want;
    /* The merge state of each TYPE 2/5 key, in the caller's memory
     * (feed_init), in order of first appearance, found through an
     * open-addressing index by key hash (index[i] = ticker + 1, 0 empty;
     * a power of two at least twice max_tickers). */
    unsigned n_tickers, max_tickers;
    struct cc_ticker_state *tk; /* [max_tickers] */
    bool *fresh;                /* [max_tickers]: next update is a new
                                   snapshot */
    struct feed_key *key;       /* [max_tickers] */
    uint32_t *index;            /* [index_mask + 1] */
    size_t index_mask;
    struct feed_stats st;
    int last_rc;             /* of the last frame that failed to decode */
    struct cc_err last_err;  /* its offset and reason */
};

/* What one frame means to the rest of the core. */
struct feed_result {
    uint8_t conn_input; /* enum conn_input */
    int64_t server_ms;  /* SERVER_TIME_MS / TIMEMS when present, else 0 */
    enum cc_type type;  /* CC_T_NONE if it did not decode */
};

/* Bytes of memory feed_init needs: the aggregator's (agg_mem_size) and
 * max_tickers merge states (0: FEED_TICKERS_DEFAULT) with their index.
 * SIZE_MAX for sizes beyond the limits. */
size_t feed_mem_size(const struct agg_config *cfg, unsigned max_tickers);

/* Initialise with the aggregator's configuration and room for max_tickers
 * TYPE 2/5 keys (0: FEED_TICKERS_DEFAULT), the tables carved from
 * mem[0..size) (borrowed as in agg_init: not zeroed, any alignment, kept
 * by the caller while f is used). MD_OK; MD_E_INVAL for a bad
 * configuration or size below feed_mem_size. */
int feed_init(struct feed *f, const struct agg_config *cfg,
              unsigned max_tickers, void *mem, size_t size);

/* One text frame buf[0..len) received at local time t_ns: feed_decode,
 * then feed_apply. */
int feed_frame(struct feed *f, const char *buf, size_t len, mono_ns t_ns,
               struct feed_result *res);

/* Decode and classify one frame into *msg (which borrows buf) and *res;
 * counts it, changes nothing else. Never fails on bad input: a frame that
 * does not decode is counted and classified CONN_I_MALFORMED
 * (last_rc/last_err say where). Always MD_OK. */
int feed_decode(struct feed *f, const char *buf, size_t len,
                struct cc_msg *msg, struct feed_result *res);

/* Apply a decoded frame received at t_ns: learn the server time it
 * carries, merge and aggregate its data. MD_OK; MD_E_FULL when the
 * aggregator's stream table is full (agg.st.streams_full). A full ticker
 * table gives MD_OK and counts st.ticker_overflow. Either way the frame's
 * data is dropped and counted; the caller reports it. */
int feed_apply(struct feed *f, const struct cc_msg *msg,
               const struct feed_result *res, mono_ns t_ns);

/* The server time is server_ms at local t_ns (the welcome, a heartbeat,
 * or the wall clock at START until the server tells). The feed is the
 * one owner of the offset. Ignored unless 0 < server_ms < INT64_MAX/1e6. */
void feed_set_clock(struct feed *f, int64_t server_ms, mono_ns t_ns);

/* An estimate of the server's clock from outside the feed (the wall clock
 * an operator START carries): server_ms read at local time t_ns. Used only
 * while the feed has learned no offset from the server itself, and only
 * for a server_ms in (0, INT64_MAX / 1e6); otherwise ignored. The feed is
 * the one owner of the server-time offset. Cannot fail. */
void feed_set_clock_estimate(struct feed *f, int64_t server_ms,
                             mono_ns t_ns);

/* Server time at local time t_ns: t_ns + offset (t_ns if none learned). */
int64_t feed_server_ns(const struct feed *f, mono_ns t_ns);

/* Local time at which the server clock reads server_ns. */
mono_ns feed_local_ns(const struct feed *f, int64_t server_ns);

/* After a (re)subscribe: the next TYPE 2/5 update of every pair is a new
 * snapshot (merge state reset; its VOLUMEDAY only a baseline). */
void feed_resubscribed(struct feed *f);

/* The conn input of a decoded frame (exposed for tests and tools). */
uint8_t feed_classify(const struct cc_msg *msg);

#endif /* FEED_H */
