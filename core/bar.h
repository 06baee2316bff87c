/* bar.h: one OHLCV bar, the record ccstream publishes.
 *
 * A bar belongs to a series (market, base, quote, interval, source) and
 * covers [start_ms, end_ms). Sums are exact: volumes are scaled integers
 * (BAR_VOL_SCALE units per base unit, BAR_NOTIONAL_SCALE per quote unit),
 * so the same trades in any order give the same bar, byte for byte. Fields
 * a source cannot know (trade count, VWAP, buy/sell volume for CCCAGG and
 * REST bars) are absent: their BAR_HAS_* bit is clear, never a 0 stand-in.
 * Pure data; no I/O. Encodings: docs/bars.md (codec/bar_codec.h). */
#ifndef BAR_H
#define BAR_H

#include <stdint.h>

/* __int128 is a GCC/Clang extension; -Wpedantic accepts it this way. */
__extension__ typedef __int128 bar_i128;
__extension__ typedef unsigned __int128 bar_u128;

#define BAR_VERSION 1 /* the "v" of every encoding */

#define BAR_MARKET_MAX 31
#define BAR_SYM_MAX 15

/* Exact fixed-point scales. Volumes: 1e-12 base units (no exchange quotes
 * finer than 1e-12); notional (quote volume): 1e-20 quote units, since
 * price 1e-8 x quantity 1e-12 needs 20 digits. */
#define BAR_VOL_DIGITS 12
#define BAR_NOTIONAL_DIGITS 20

enum bar_source {
    BAR_SRC_INVALID = 0,
    BAR_SRC_TRADES, /* TYPE 0 trades of one exchange */
    BAR_SRC_CCCAGG, /* TYPE 5 CCCAGG index updates */
    BAR_SRC_REST,   /* REST histominute/histohour */
    BAR_SRC_OHLC,   /* TYPE 24 candles */
    BAR_SRC__COUNT
};

/* Why this version of the bar was emitted. */
enum bar_close {
    BAR_CLOSE_INVALID = 0,
    BAR_CLOSE_TIMER,    /* the watermark passed end + grace */
    BAR_CLOSE_REVISION, /* a late trade changed a closed bar */
    BAR_CLOSE_FLUSH,    /* shutdown or end of replay: the bar may be partial */
    BAR_CLOSE_BACKFILL, /* REST data revised a bar that spanned a gap */
    BAR_CLOSE__COUNT
};

/* flags */
#define BAR_F_PARTIAL_START 0x1u  /* the series started inside this bar */
#define BAR_F_SPANS_DISCONNECT 0x2u /* the bar overlaps a reconnect gap */
#define BAR_F_SYNTHETIC 0x4u      /* no data: a flat bar at the last close */
#define BAR_F_BACKFILLED 0x8u     /* values come from REST backfill */
#define BAR_F_OHLC_OUTSIDE 0x10u  /* REST values as received, open or close
                                     outside [low, high]: in memory only */
/* Flags no encoding carries (a new flag name on the wire would need a new
 * encoding version, docs/bars.md): the encoders accept and skip them. */
#define BAR_F_MEMORY_ONLY BAR_F_OHLC_OUTSIDE

/* has: which optional fields are present */
#define BAR_HAS_OHLC 0x1u      /* open/high/low/close (absent: empty) */
#define BAR_HAS_VOLUME 0x2u    /* volume, quote_volume */
#define BAR_HAS_TRADES 0x4u    /* trades (count) */
#define BAR_HAS_VWAP 0x8u      /* vwap */
#define BAR_HAS_BUYSELL 0x10u  /* buy_volume, sell_volume */
#define BAR_HAS_FIRSTLAST 0x20u /* first/last trade id and time */

#define BAR_ID_MAX 31

struct bar {
    /* identity */
    char market[BAR_MARKET_MAX + 1]; /* "Coinbase", "CCCAGG" */
    char base[BAR_SYM_MAX + 1];      /* "BTC" */
    char quote[BAR_SYM_MAX + 1];     /* "USD" */
    int64_t interval_s;              /* 60, 300, 900, 3600, ... */
    uint8_t source;                  /* enum bar_source */
    int64_t start_ms, end_ms;        /* [start, end), unix ms */
    /* version */
    uint32_t revision;    /* 0 first emission, +1 per revision */
    uint8_t close_reason; /* enum bar_close */
    uint32_t flags;       /* BAR_F_* */
    uint32_t has;         /* BAR_HAS_* */
    /* values */
    double open, high, low, close;
    bar_i128 volume;       /* base, BAR_VOL_DIGITS */
    bar_i128 quote_volume; /* quote, BAR_NOTIONAL_DIGITS */
    bar_i128 buy_volume, sell_volume; /* base, BAR_VOL_DIGITS */
    uint64_t trades;
    double vwap; /* quote_volume / volume, computed at emit */
    char first_id[BAR_ID_MAX + 1], last_id[BAR_ID_MAX + 1];
    int64_t first_ns, last_ns; /* event times of the open/close trades */
};

/* Names used by every encoding ("trades", "timer", ...). Static strings;
 * "?" for out-of-range values. */
const char *bar_source_name(int source);
const char *bar_close_name(int close_reason);

/* The interval as text: "1m", "5m", "15m", "1h", "4h", "1d", else "<n>s".
 * Writes at most cap bytes including the NUL; returns the length. */
int bar_interval_name(int64_t interval_s, char *buf, unsigned cap);

#endif /* BAR_H */
