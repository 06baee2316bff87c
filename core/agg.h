/* agg.h: the OHLCV bar aggregator: a pure function of its inputs, beside
 * the machines (docs/mealy.md), not one of them.
 *
 * Streams are (source, market, base, quote): the trades of one exchange
 * pair, the CCCAGG index of one pair, or the TYPE 24 candles of one pair.
 * Each stream has one series per configured interval (1m by default).
 * Events are bucketed by their *event time* (trade TS*1e9+TSNS, CCCAGG
 * LASTUPDATE, candle TS), never by arrival. A bucket closes when the
 * watermark (the core's estimate of server time) passes its end plus a
 * grace period; later events within the lateness horizon revise it
 * (revision + 1), beyond it they are counted, never dropped silently and
 * never put in another bucket. Trades are deduplicated by exchange trade
 * id within a window at least as long as the lateness horizon.
 *
 * All state lives in the caller's struct agg and the memory it was given
 * (agg_mem_size, sized from the configuration; no allocation).
 * Pure: no I/O, no clock; times come in as arguments. See docs/bars.md. */
#ifndef AGG_H
#define AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bar.h"
#include "cc_decode.h"
#include "md_types.h"

/* Limits of the configuration (not of the data: the tables are sized from
 * the configuration, in memory the caller provides, see agg_mem_size). */
#define AGG_MAX_INTERVALS 16 /* intervals per stream */
#define AGG_SLOTS 16 /* buckets kept per series: open + revisable */
#define AGG_INTERVAL_MAX_S (7 * 86400) /* the longest bar interval */
#define AGG_STREAMS_DEFAULT 64   /* max_streams of agg_config_default */
#define AGG_STREAMS_LIMIT (1u << 22) /* largest max_streams accepted */
#define AGG_DEDUPE_DEFAULT 4096  /* dedupe_cap of agg_config_default */
#define AGG_DEDUPE_LIMIT (1u << 24)  /* largest dedupe_cap accepted */
#define AGG_MAX_GAPS 8 /* reconnect gaps remembered */

struct agg_config {
    int64_t intervals_s[AGG_MAX_INTERVALS]; /* default {60} */
    unsigned n_intervals;
    int64_t grace_ns;    /* close at end + grace; default 2 s */
    int64_t lateness_ns; /* revise up to end + lateness; default 120 s */
    bool emit_empty;     /* a flat synthetic bar for empty intervals */
    /* Streams the table holds (each with n_intervals series); events of
     * further streams are counted in streams_full. Default
     * AGG_STREAMS_DEFAULT; the core sets it from its series. */
    unsigned max_streams;
    /* Trade ids remembered per stream and generation (two generations
     * cover the dedupe window); default AGG_DEDUPE_DEFAULT. */
    unsigned dedupe_cap;
};

/* Counters a person reads in the summary; all monotonic. */
struct agg_stats {
    uint64_t trades, duplicates, late_revisions, late_dropped;
    uint64_t future_dropped;    /* beyond the open window (clock skew) */
    uint64_t bad_values;        /* missing or non-exact P/Q, bad time */
    uint64_t dedupe_expired;    /* ids forgotten after the window: normal */
    uint64_t dedupe_early;      /* ids forgotten inside the window: the set
                                   was full; a duplicate may pass */
    uint64_t cccagg_updates, volume_resets, volume_negative;
    uint64_t ohlc_updates;
    uint64_t bars, revisions, synthetic;
    uint64_t streams_full;      /* events of streams beyond max_streams */
};

/* A trade-id set generation: open addressing with linear probing over
 * the aggregator's ids_slots keys in the caller's memory (h == 0 is
 * empty). Only slots lo..hi are in use, each a key or 0 (lo > hi: none);
 * the others count as empty, whatever the memory holds. So a new set
 * costs nothing, clearing one is O(1), and the memory touched follows the
 * ids seen (a pair's consecutive decimal ids fill neighbouring slots), not
 * the capacity. */
struct agg_idset {
    uint32_t n;
    uint32_t lo, hi;
    uint64_t *h;
};

enum agg_slot_state {
    AGG_SLOT_EMPTY = 0,
    AGG_SLOT_OPEN,   /* collecting; not emitted yet */
    AGG_SLOT_CLOSED, /* emitted; revisable within the lateness horizon */
    AGG_SLOT_DIRTY   /* emitted, then changed: a revision is due */
};

/* Ordering key of an event: event time, then sequence (CCSEQ, or the
 * numeric trade id), then the id's bytes, then arrival. */
struct agg_ord {
    int64_t ev_ns;
    int64_t seq;
    uint8_t has_seq;
    uint64_t arrival;
    char id[BAR_ID_MAX + 1];
};

/* A bucket's body; its state and start live in the series' index. Laid
 * out by use, one cache line each (the tables start on a line): what
 * every event reads and writes, the volumes, the newest event (which each
 * event in order replaces), and the oldest (read only for an event older
 * than the newest). */
struct agg_slot {
    bool has_px;
    bool open_fixed; /* CCCAGG: open is the previous close, kept */
    bool has_volume;
    uint32_t revision; /* of the last emission */
    uint32_t flags;
    double open, high, low, close;
    uint64_t trades;
    bar_i128 volume, notional, buy, sell;
    struct agg_ord last;  /* the close event */
    struct agg_ord first; /* the open event */
};

/* A series: its header and the index of its slots (state and start of
 * each) first, the slots' bodies after them, so that the scans (a new
 * bucket, the bar timer, the next deadline) read the three cache lines of
 * the index, not one line of each of the AGG_SLOTS bodies. */
struct agg_series {
    int64_t interval_ns;
    int64_t last_start_ns; /* the bucket of the last event (a cache that
                              saves the division): INT64_MIN for none */
    int64_t emitted_until_ns; /* end of the newest bucket emitted */
    double last_close;        /* close of the newest emitted bucket */
    unsigned last_slot;    /* the slot it was found in last (a cache that
                              saves the scan of the slots) */
    bool has_last_close;
    uint8_t state[AGG_SLOTS];    /* enum agg_slot_state of each slot */
    int64_t start_ns[AGG_SLOTS]; /* each used slot's bucket start */
    struct agg_slot slot[AGG_SLOTS];
};

struct agg_stream {
    uint8_t source; /* enum bar_source */
    char market[BAR_MARKET_MAX + 1], base[BAR_SYM_MAX + 1],
        quote[BAR_SYM_MAX + 1];
    uint8_t market_len, base_len, quote_len;
    struct agg_series *series; /* cfg.n_intervals, in the caller's memory */
    /* trades: dedupe generations */
    struct agg_idset ids[2];
    unsigned cur;         /* index of the current generation */
    int64_t gen_start_ns; /* watermark when the current one began */
    /* CCCAGG: the last VOLUMEDAY/VOLUMEDAYTO seen, and their UTC day */
    bool has_vd, has_vdto;
    bar_i128 vd, vdto;
    int64_t vd_day, vdto_day;
    int64_t first_ns; /* watermark at the stream's first event */
};

struct agg {
    struct agg_config cfg;
    int64_t watermark_ns; /* never decreases */
    bool started;
    uint64_t arrival;
    unsigned n_streams;
    /* Tables in the caller's memory (agg_init): streams in creation order
     * with their key hashes (source and names), an open-addressing index
     * from hash to stream (index[i] = stream + 1, 0 empty; a power of two
     * at least twice max_streams), each stream's series and id sets. */
    struct agg_stream *stream; /* [cfg.max_streams] */
    uint64_t *tag;             /* [cfg.max_streams] */
    uint32_t *index;           /* [index_mask + 1] */
    size_t index_mask;
    struct agg_series *series_mem; /* [max_streams * n_intervals] */
    uint64_t *ids_mem;             /* [max_streams * 2 * ids_slots] */
    size_t ids_slots;              /* per set: a power of two >= 2 * cap */
    uint64_t *changed; /* bit k: stream k changed since agg_changed_clear */
    unsigned n_gaps, gap_next; /* gaps held; the ring's next slot */
    int64_t gap_start[AGG_MAX_GAPS], gap_end[AGG_MAX_GAPS]; /* end 0: open */
    /* agg_next_deadline's cache: valid until a slot changes state */
    bool dl_valid, dl_dirty;
    int64_t dl_open;
    struct agg_stats st;
};

/* Bars out: the caller's array. */
struct agg_out {
    struct bar *bars;
    size_t cap, n;
};

/* 1m, grace 2 s, lateness 120 s, no empty bars, AGG_STREAMS_DEFAULT
 * streams, AGG_DEDUPE_DEFAULT trade ids. */
void agg_config_default(struct agg_config *cfg);

/* Bytes of memory agg_init needs for cfg: per stream its header, key,
 * n_intervals series and two id sets, plus the index. Grows linearly in
 * max_streams (and in dedupe_cap). SIZE_MAX when max_streams or
 * dedupe_cap is beyond its limit. */
size_t agg_mem_size(const struct agg_config *cfg);

/* Initialise, the tables carved from mem[0..size) (not zeroed, any
 * alignment; borrowed: the caller keeps it while a is used and frees it
 * after). Only the index is written here; a stream's memory is first
 * touched when its first event arrives (its id sets as trade ids come),
 * so resident memory follows the data, not the capacity.
 * MD_OK; MD_E_INVAL for a bad configuration (no interval, an interval not
 * a positive multiple of 1 s, more than AGG_MAX_INTERVALS, negative grace
 * or lateness, lateness beyond what AGG_SLOTS buckets of the smallest
 * interval can hold, max_streams or dedupe_cap 0 or beyond its limit) or
 * size below agg_mem_size(cfg). struct agg itself is small. */
int agg_init(struct agg *a, const struct agg_config *cfg, void *mem,
             size_t size);

/* One decoded TYPE 0 trade received when the watermark was now_ns.
 * Duplicates, late and bad trades are counted (see struct agg_stats).
 * A late trade within the horizon marks its bucket for revision; the
 * revised bar is emitted by the next agg_advance. Never emits bars itself.
 * MD_OK; MD_E_FULL when a new stream does not fit (counted). */
int agg_trade(struct agg *a, const struct cc_trade *t, int64_t now_ns);

/* The fields agg_trade and agg_cccagg read (besides the identities and
 * FLAGS): what the feed asks the decoder to convert (cc_ws_decode_want).
 * Not TOTAL: the aggregator sums P * Q exactly (RTS and RTSNS are left
 * out too, but integers are read all the same). */
#define AGG_TRADE_FIELDS                                                   \
    (CC_TR_M | CC_TR_FSYM | CC_TR_TSYM | CC_TR_F | CC_TR_ID | CC_TR_TS |  \
     CC_TR_TSNS | CC_TR_Q | CC_TR_P | CC_TR_CCSEQ)
#define AGG_TICKER_FIELDS                                                  \
    (CC_TKM(CC_TK_PRICE) | CC_TKM(CC_TK_LASTUPDATE) |                      \
     CC_TKM(CC_TK_VOLUMEDAY) | CC_TKM(CC_TK_VOLUMEDAYTO))

/* A TYPE 5 update, after cc_ticker_merge into st; changed is the merge's
 * changed mask; fresh is true for the first update after a (re)subscribe
 * (its VOLUMEDAY only sets the baseline). MD_OK; MD_E_FULL as above. */
int agg_cccagg(struct agg *a, const struct cc_ticker_state *st,
               uint64_t changed, bool fresh, int64_t now_ns);

/* A TYPE 24 candle: the latest message for a period wins. */
int agg_ohlc(struct agg *a, const struct cc_ohlc *c, int64_t now_ns);

/* The previous close of a CCCAGG series, from the REST preflight: the
 * open of its next bar. */
int agg_seed_close(struct agg *a, const char *base, const char *quote,
                   int64_t interval_s, int64_t bar_end_ns, double close);

/* A reconnect gap began (at the last live event) / ended (at the first
 * new event). Bars overlapping a gap carry BAR_F_SPANS_DISCONNECT. */
void agg_gap_open(struct agg *a, int64_t at_ns);
void agg_gap_close(struct agg *a, int64_t at_ns);

/* Move the watermark to now_ns (if later) and emit every bar whose end +
 * grace it passed (close_reason timer), every due revision (revision),
 * and synthetic bars if configured. Deterministic order: stream creation
 * order, interval order, bucket order. MD_OK; MD_E_FULL when out filled up
 * first (what was emitted is consistent; call again to continue). */
int agg_advance(struct agg *a, int64_t now_ns, struct agg_out *out);

/* Emit every open bucket now (close_reason flush) and due revisions. */
int agg_flush(struct agg *a, struct agg_out *out);

/* The earliest watermark at which agg_advance has something to emit, or
 * INT64_MAX. The core arms its bar timer for it. */
int64_t agg_next_deadline(struct agg *a);

/* Look up a bar's bucket for a REST backfill revision: finds the
 * emitted bucket of (source, market, base, quote, interval, start) and
 * returns its last revision in *revision. MD_OK or MD_E_NOTFOUND. */
int agg_find_emitted(const struct agg *a, const struct bar *identity,
                     uint32_t *revision);

/* The last emitted version of identity's bucket, as a bar (values, flags
 * and revision as emitted). MD_OK or MD_E_NOTFOUND. */
int agg_emitted_bar(const struct agg *a, const struct bar *identity,
                    struct bar *out);

/* Record that a revision of identity's bucket was emitted outside the
 * aggregator (a REST backfill): its revision becomes `revision` and it is
 * flagged backfilled, so later revisions count on from there. MD_OK or
 * MD_E_NOTFOUND. */
int agg_note_backfill(struct agg *a, const struct bar *identity,
                      uint32_t revision);

/* The stream of (source, market, base, quote), created if new (a
 * restore, core/ckpt.c, makes the streams again in their order); NULL
 * when a name is too long or the table is full. */
struct agg_stream *agg_stream_get(struct agg *a, uint8_t source,
                                  const char *market, const char *base,
                                  const char *quote);

/* Stream k changed (an event, an emission, a backfill mark) since the
 * last agg_changed_clear: what an incremental checkpoint writes again.
 * The clear costs the streams / 8 bytes. */
bool agg_changed(const struct agg *a, unsigned k);
void agg_changed_clear(struct agg *a);

#endif /* AGG_H */
