/* rest_policy.h: the REST policy: which min-api requests to make (preflight
 * on start, backfill after a reconnect), how to spell them, how fast to send
 * them (the rate budget learned from Type 99 bodies), and how to turn a
 * histo body into bars. Pure: no I/O, no allocation, no clock; every time
 * is an argument. The prose and worked examples are docs/rest-policy.md. */
#ifndef REST_POLICY_H
#define REST_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bar.h"
#include "cc_decode.h"
#include "md_types.h"

/* ---------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------- */

#define RP_LIMIT_MAX 2000        /* min-api's largest limit (and limit*agg) */
#define RP_SETTLE_S_DEFAULT 120  /* a bar is fetched 2 min after it ends */
#define RP_PREFLIGHT_BARS_DEFAULT 2
#define RP_MINUTE_DEPTH_S_DEFAULT (7 * 86400) /* minute history kept */
#define RP_RETRY_MIN_S_DEFAULT 60     /* a failed backfill, planned again */
#define RP_RETRY_MAX_S_DEFAULT 3600

struct rp_config {
    int64_t settle_s;        /* a bar [s, s+iv) is fetchable once
                              * s + iv <= now - settle_s; 0..86400 */
    uint32_t page_limit;     /* largest limit per request, 1..2000 */
    uint32_t preflight_bars; /* N: closed bars per series on start, >= 1 */
    int64_t minute_depth_s;  /* histominute bars older than now - this are
                              * never requested; 0 = no horizon */
    int64_t retry_min_s;     /* a backfill whose request failed is planned
                              * again after retry_min_s, doubling with each
                              * failure in a row; 1..86400 */
    int64_t retry_max_s;     /* up to this; retry_min_s..7 days */
    uint32_t share;          /* instances sharing the key's REST budget
                              * (shards, docs/operations.md): each takes
                              * 1/share of every window; 0 or 1: alone */
};

/* settle 120 s, page 2000, N = 2, minute depth 7 days, a failed backfill
 * planned again after 60 s doubling to 1 h. Cannot fail. */
void rp_config_default(struct rp_config *cfg);

/* ---------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------- */

enum rp_endpoint {
    RP_EP_INVALID = 0,
    RP_EP_HISTOMINUTE,    /* /data/v2/histominute   fsym tsym [limit toTs] */
    RP_EP_HISTOHOUR,      /* /data/v2/histohour     fsym tsym [limit toTs] */
    RP_EP_HISTODAY,       /* /data/v2/histoday      fsym tsym [limit toTs] */
    RP_EP_HISTOMINUTE_V1, /* /data/histominute (v1) fsym tsym [limit toTs] */
    RP_EP_PRICE,          /* /data/price            fsym tsyms */
    RP_EP_PRICEMULTI,     /* /data/pricemulti       fsyms tsyms */
    RP_EP_PRICEMULTIFULL, /* /data/pricemultifull   fsyms tsyms */
    RP_EP__COUNT
};

#define RP_SYMS_MAX 8 /* symbols per list of one request (fsyms, tsyms):
                         a batching limit of a request, not of a session */
#define RP_SYM_MAX BAR_SYM_MAX    /* bytes per symbol, NUL excluded */
#define RP_MARKET_MAX BAR_MARKET_MAX
#define RP_INDEX_MARKET "CCCAGG"  /* e= absent means this */

/* One GET request. There is deliberately no field for an API key: the
 * shell sends it in the `authorization: Apikey` header, so it never
 * reaches a URL, a capture or a log. Strings are NUL-terminated within
 * their arrays. A histo endpoint takes exactly one fsym and one tsym;
 * /data/price one fsym and 1..RP_SYMS_MAX tsyms; pricemulti(full)
 * 1..RP_SYMS_MAX of each. */
struct rp_req {
    uint8_t ep;      /* enum rp_endpoint */
    uint8_t n_fsyms, n_tsyms;
    char fsyms[RP_SYMS_MAX][RP_SYM_MAX + 1];
    char tsyms[RP_SYMS_MAX][RP_SYM_MAX + 1];
    char e[RP_MARKET_MAX + 1]; /* "" or "CCCAGG" (any case): the index,
                                * and then no e= is sent */
    uint32_t limit;     /* histo: 1..2000 (bars before toTs); price: 0 */
    uint32_t aggregate; /* histo: 0 or 1 = absent, else limit*agg <= 2000 */
    int64_t to_ts;      /* histo: unix s, 0 = absent (server's now) */
};

/* A request with everything empty but the endpoint. Cannot fail. */
void rp_req_init(struct rp_req *r, enum rp_endpoint ep);

/* Append one symbol to fsyms / tsyms. MD_OK; MD_E_INVAL (NULL, empty);
 * MD_E_RANGE (longer than RP_SYM_MAX); MD_E_FULL (RP_SYMS_MAX already).
 * r is unchanged on failure. */
int rp_req_add_fsym(struct rp_req *r, const char *sym);
int rp_req_add_tsym(struct rp_req *r, const char *sym);

/* Set e (NULL or "" clears it). MD_OK; MD_E_RANGE (too long). */
int rp_req_set_market(struct rp_req *r, const char *market);

/* The path and query of r into buf[0..cap), NUL-terminated, e.g.
 *   /data/v2/histominute?e=Coinbase&fsym=BTC&limit=2000&toTs=1753190400&tsym=USD
 * Query keys are sorted by byte value (replay matches a request by method,
 * path and sorted query), each key at most once. Values are
 * percent-encoded: every byte other than A-Z a-z 0-9 - . _ ~ becomes %XX
 * (upper-case hex); a symbol list is joined with a literal ','. e= is
 * omitted when e is empty or names the index; tryConversion is never sent
 * (the server's default). No api_key, ever.
 * *len (may be NULL) receives the length without the NUL; with MD_E_FULL
 * it receives the length that was needed and buf holds "" (if cap > 0).
 * Returns MD_OK; MD_E_INVAL (NULL r/buf, bad endpoint, wrong number of
 * symbols, an empty or unterminated string, limit/aggregate/toTs on a
 * price endpoint); MD_E_RANGE (limit outside 1..2000 on a histo endpoint,
 * aggregate > 2000 or limit*aggregate > 2000, toTs < 0); MD_E_FULL. */
int rp_req_path(const struct rp_req *r, char *buf, size_t cap, size_t *len);

/* The path alone ("/data/v2/histominute"); "" for an invalid endpoint. */
const char *rp_endpoint_path(int ep);

/* ---------------------------------------------------------------------
 * Series and plans
 * ------------------------------------------------------------------- */

/* A configured series. market is "CCCAGG" for the index or an exchange
 * ("Coinbase"); source is the live source the bars are built from
 * (BAR_SRC_TRADES, BAR_SRC_CCCAGG, BAR_SRC_OHLC) or BAR_SRC_REST for a
 * series made from REST alone. interval_s: a multiple of 60, up to
 * 31 days; it picks the endpoint (rp_series_endpoint). */
struct rp_series {
    char market[BAR_MARKET_MAX + 1];
    char base[BAR_SYM_MAX + 1];
    char quote[BAR_SYM_MAX + 1];
    int64_t interval_s;
    uint8_t source; /* enum bar_source */
};

/* The endpoint and aggregate for an interval: a whole number of days ->
 * histoday, else of hours -> histohour, else of minutes -> histominute,
 * with aggregate = interval / unit (1 for 60 s, 3600 s, 86400 s).
 * MD_OK; MD_E_INVAL (NULL); MD_E_UNSUPPORTED (not a multiple of 60, or
 * aggregate > RP_LIMIT_MAX); MD_E_RANGE (interval <= 0 or > 31 days). */
int rp_series_endpoint(const struct rp_series *s, enum rp_endpoint *ep,
                       uint32_t *aggregate);

enum rp_purpose {
    RP_P_INVALID = 0,
    RP_P_PREFLIGHT, /* start: seed the previous close, give the first bars */
    RP_P_BACKFILL,  /* after a reconnect: revise the bars of the gap */
    RP_P__COUNT
};

/* One planned request and what it is for. The composition keeps these
 * (the REST machine only counts them) and hands the matching one back to
 * rp_histo_to_bars with the body. first_s..last_s are the bar starts
 * (unix s, inclusive) the request is for; the request itself is
 * toTs = last_s, limit = the number of bars: the server answers limit+1
 * bars (the bar containing toTs and limit before it), so the oldest one
 * falls outside the range and is dropped (see docs/rest-policy.md). */
struct rp_fetch {
    struct rp_req req;
    struct rp_series series; /* a copy: the fetch stands on its own */
    uint32_t series_idx;     /* the caller's index of the series */
    uint8_t purpose;         /* enum rp_purpose */
    int64_t first_s, last_s;
};

/* The bar starts (unix s, aligned to interval_s) of the bars that overlap
 * the gap [gap_start_ns, gap_end_ns]: bar [s, s+iv) overlaps iff
 * gap_start_ns < (s+iv)*1e9 and s*1e9 < gap_end_ns, the rule by which the
 * aggregator (core/agg.c) flags a bar BAR_F_SPANS_DISCONNECT. So: from the
 * bar containing gap_start to the bar containing gap_end - 1 ns; a bar that
 * starts exactly at gap_end (with the first new event) is not part of it.
 * A gap of zero length counts as 1 ns (as in the aggregator): one bar.
 * Always first_s <= last_s.
 * MD_OK; MD_E_INVAL (NULL, gap_end < gap_start); MD_E_RANGE (a negative
 * time, or interval_s outside 1..31 days). */
int rp_gap_bars(int64_t interval_s, ts_ns gap_start_ns, ts_ns gap_end_ns,
                int64_t *first_s, int64_t *last_s);

/* True when bar [start_s, start_s + interval_s) may be fetched at server
 * time now: (start_s + interval_s) * 1e9 <= now - settle_s * 1e9. A bar
 * that ended exactly settle_s before now is fetchable; 1 ns earlier (at
 * now - 1) it was not. cfg may be NULL (defaults). False for a bad
 * interval or config. */
bool rp_bar_fetchable(const struct rp_config *cfg, int64_t interval_s,
                      int64_t start_s, ts_ns now_server_ns);

/* Plan the preflight, the requests made once on start. What it is for:
 * it seeds each CCCAGG series (open = previous close, the REST
 * convention; rp_prev_close picks the close) and provides the first bars
 * of every series (published as its REST series) before live data has
 * closed a bar. For each series: the newest preflight_bars bars that
 * are fetchable at now (rp_bar_fetchable), paged (page_limit / aggregate
 * bars per request, newest page first), series in array order. Bars
 * beyond the minute depth are left out. The bars between the newest
 * fetched bar and the live start are not settled yet: plan them later as
 * a backfill (docs/rest-policy.md).
 * Writes out[0..*n_out). cfg may be NULL (defaults).
 * MD_OK; MD_E_INVAL (NULL, n_series > 0 with series NULL, out NULL with
 * cap > 0, a bad config, a series with an empty or unterminated string or
 * a bad source); MD_E_RANGE (now < 0 or after 2100) / MD_E_UNSUPPORTED
 * (a series' interval, as rp_series_endpoint); MD_E_FULL (more requests
 * than cap: *n_out = the number needed, out unchanged). */
int rp_plan_preflight(const struct rp_config *cfg,
                      const struct rp_series *series, size_t n_series,
                      ts_ns now_server_ns, struct rp_fetch *out, size_t cap,
                      size_t *n_out);

/* What rp_plan_backfill planned. Bar counts are in bars of the series. */
struct rp_backfill {
    size_t n_fetch;          /* requests (needed, with MD_E_FULL) */
    int64_t first_s, last_s; /* all bars overlapping the gap */
    uint64_t bars;           /* bars the requests cover */
    uint64_t too_old;        /* bars beyond the minute depth: never */
    uint64_t pending;        /* bars not fetchable yet */
    ts_ns retry_at_ns;       /* pending: all of them are fetchable from
                              * then on; 0 when nothing is pending */
    ts_ns resume_ns;         /* pending: plan [resume_ns, gap_end_ns]
                              * again at retry_at_ns; 0 otherwise */
};

/* Plan the backfill of one series after a reconnect. The gap is [last
 * live event before the drop, first non-replayed event after the
 * resubscribe] (server/exchange ns). The bars overlapping it
 * (rp_gap_bars) are split three ways: too old for minute history
 * (dropped, counted), fetchable now (requested: paged newest first, toTs
 * stepping back from the newest bar, each page its own bars, none
 * twice, none missing), and not yet settled (counted; plan
 * [res->resume_ns, gap_end_ns] again at res->retry_at_ns).
 * cfg may be NULL (defaults). Writes out[0..res->n_fetch).
 * MD_OK (possibly with no request); MD_E_INVAL (NULL s/res, out NULL with
 * cap > 0, gap_end < gap_start, a bad config); MD_E_RANGE /
 * MD_E_UNSUPPORTED (as rp_gap_bars / rp_series_endpoint); MD_E_FULL
 * (res->n_fetch = requests needed, out unchanged, res filled). */
int rp_plan_backfill(const struct rp_config *cfg, const struct rp_series *s,
                     uint32_t series_idx, ts_ns gap_start_ns,
                     ts_ns gap_end_ns, ts_ns now_server_ns,
                     struct rp_fetch *out, size_t cap,
                     struct rp_backfill *res);

/* ---------------------------------------------------------------------
 * Rate budget
 * ------------------------------------------------------------------- */

struct rp_budget;

/* When a backfill whose requests failed `fails` times in a row (>= 1; 0
 * counts as 1) may be planned again, at server time now: after the
 * back-off min(retry_max_s, retry_min_s * 2^(fails - 1)), and never
 * before the rate budget allows a call (rp_budget_wait_ns; b may be
 * NULL). Deterministic: the same inputs, the same time. cfg may be NULL
 * (defaults); a bad config counts as the defaults. The result is clamped
 * to 2100. */
ts_ns rp_backfill_retry_ns(const struct rp_config *cfg,
                           const struct rp_budget *b, unsigned fails,
                           ts_ns now_server_ns);

/* Calls per window (CC_P_SECOND..CC_P_MONTH, calendar windows in UTC:
 * a whole second, minute, hour, day from 00:00, month from the 1st).
 * made[p] counts the calls in the window that contains at_ns[p]; a count
 * learned in an earlier window means nothing once that window is over. */
struct rp_budget {
    uint32_t share;              /* rp_config.share: this process's part */
    uint32_t has_max;            /* bit p: max[p] known */
    int64_t max[CC_P__COUNT];
    int64_t made[CC_P__COUNT];
    ts_ns at_ns[CC_P__COUNT];    /* when made[p] was learned or counted */
};

/* Nothing known: no wait. Cannot fail. */
void rp_budget_init(struct rp_budget *b);

/* Learn from a RateLimit object (a Type 99 body, or calls_left from the
 * quota endpoint): max_calls -> max; calls_made -> made; calls_left with
 * max known (from this body or before) and no calls_made -> made =
 * max - left. Windows the body does not mention are kept. With share
 * N > 1 the key's counts are divided by N (max and left rounded down, max
 * at least 1, so more shards than a window's calls may together exceed
 * it by a few; made rounded up): this process's fair part of the key's
 * budget, the others' use counted as evenly spread.
 * MD_OK; MD_E_INVAL (NULL); MD_E_RANGE (a negative or absurd count:
 * > 1e15); b is unchanged on failure. */
int rp_budget_learn(struct rp_budget *b, const struct cc_ratelimit *rl,
                    ts_ns now_server_ns);

/* Count one call sent at now (a window that has rolled starts at 0).
 * Cannot fail. */
void rp_budget_count(struct rp_budget *b, ts_ns now_server_ns);

/* How long to wait before the next request: for every exhausted window
 * (max known, made >= max, learned in the window that contains now), the
 * time until that window resets; the largest of them; 0 if none. The
 * REST machine takes it as retry_after_ns for RESP_RATE_LIMIT. */
int64_t rp_budget_wait_ns(const struct rp_budget *b, ts_ns now_server_ns);

/* rp_budget_wait_ns, plus proactive pacing: a window with calls left but
 * no more than reserve_pct percent of its max spreads those calls evenly
 * over the rest of the window, counted from at_ns[p]: the next call waits
 * until at + (reset - at) / (left + 1). reserve_pct 0 = no pacing. */
int64_t rp_budget_pace_ns(const struct rp_budget *b, ts_ns now_server_ns,
                          unsigned reserve_pct);

/* The first reset of window p (CC_P_*) strictly after now: the next whole
 * second / minute / hour, the next 00:00 UTC, the next 1st 00:00 UTC.
 * Works for any now (negative too). 0 for a bad p. */
ts_ns rp_window_reset_ns(int p, ts_ns now_server_ns);

/* The start of the window p that contains now. 0 for a bad p. */
ts_ns rp_window_start_ns(int p, ts_ns now_server_ns);

/* ---------------------------------------------------------------------
 * Bars from REST
 * ------------------------------------------------------------------- */

struct rp_conv_stats {
    uint64_t kept;        /* bars written */
    uint64_t out_of_range; /* outside the fetch's first_s..last_s */
    uint64_t unsettled;   /* not fetchable at now (the partial last bar) */
    uint64_t synthetic;   /* kept bars with no volume */
    uint64_t converted;   /* kept bars with a conversionType not "direct" */
};

/* Turn the bars of a decoded histo body (h->st.kind == CC_R_OK; bars[0..n)
 * as cc_rest_histo wrote them) into bars of the REST series of f->series:
 * market/base/quote/interval from the series, source BAR_SRC_REST,
 * [start_ms, end_ms) = [time, time + interval) * 1000, revision 0,
 * close_reason BAR_CLOSE_TIMER (it closed because its end + settle
 * passed), has = BAR_HAS_OHLC | BAR_HAS_VOLUME: REST has no trade count,
 * VWAP, buy/sell or first/last trade, so those stay absent (bits clear,
 * values 0), never a 0 stand-in. volume = volumefrom exactly
 * (BAR_VOL_DIGITS), quote_volume = volumeto exactly (BAR_NOTIONAL_DIGITS),
 * rounded half-even per value if the body has more digits.
 * Kept: bars inside f->first_s..f->last_s that are fetchable at now; so
 * the still-forming last bar of a body and the extra bar before the range
 * are dropped (counted in *st). A bar with no volume is still a bar (the
 * REST fill rule: flat at the previous close) and gets BAR_F_SYNTHETIC;
 * if its prices are 0 too (the pair did not trade yet) its OHLC is absent.
 * now_server_ns is the server time the answer arrived: convert on
 * arrival (a later now could keep a bar that was partial when it was
 * sent; planned fetches are safe anyway, their range holds settled bars
 * only). Bars must have time, open, high, low, close, volumefrom,
 * volumeto, be aligned to the interval and strictly increasing in time.
 * cfg may be NULL (defaults); st may be NULL.
 * MD_OK; MD_E_INVAL (NULL arguments, h not CC_R_OK, f not a histo fetch);
 * MD_E_PROTO (a bar missing a field, misaligned, out of order, negative
 * price or volume); MD_E_RANGE (a volume not exact or too large);
 * MD_E_FULL (more than cap bars kept: *n_out = the number needed, out
 * partly written). */
int rp_histo_to_bars(const struct rp_config *cfg, const struct rp_fetch *f,
                     const struct cc_histo *h, const struct cc_bar *bars,
                     size_t n, ts_ns now_server_ns, struct bar *out,
                     size_t cap, size_t *n_out, struct rp_conv_stats *st);

/* The backfill revision of a live bar that closed flagged
 * BAR_F_SPANS_DISCONNECT, from the REST bar of the same period: identity
 * (market, base, quote, interval, source, start, end) from live,
 * revision = live->revision + 1, close_reason BAR_CLOSE_BACKFILL, flags
 * BAR_F_BACKFILLED | BAR_F_SPANS_DISCONNECT (plus BAR_F_SYNTHETIC when the
 * REST bar has it), values and has from the REST bar (OHLC and volume
 * only: trades, VWAP, buy/sell, first/last absent). out may be rest or
 * live (it is written last).
 * MD_OK; MD_E_INVAL (NULL; rest not a BAR_SRC_REST bar; live a REST bar;
 * different period, interval, market, base or quote (compared without
 * regard to case); live not flagged
 * spans_disconnect); MD_E_STATE (live is already a backfill: a bar gets
 * one revision from REST); MD_E_RANGE (revision would overflow). */
int rp_bar_revise(const struct bar *rest, const struct bar *live,
                  struct bar *out);

/* The first emission of a live-series bar that was never emitted (no live
 * data in that period of the gap), from the REST bar: identity from the
 * series s and the REST bar's period, revision 0, close_reason
 * BAR_CLOSE_BACKFILL, flags and values as rp_bar_revise.
 * MD_OK; MD_E_INVAL (NULL; rest not BAR_SRC_REST; s a REST series or of
 * another interval, market, base or quote). */
int rp_bar_fill(const struct bar *rest, const struct rp_series *s,
                struct bar *out);

/* The previous close for a live series starting at live_start_ms: the
 * close of the newest bar in bars[0..n) that has OHLC and ends at or
 * before live_start_ms (the CCCAGG convention: open = previous close).
 * *end_ms (may be NULL) receives that bar's end.
 * MD_OK; MD_E_INVAL (NULL); MD_E_NOTFOUND (no such bar). */
int rp_prev_close(const struct bar *bars, size_t n, int64_t live_start_ms,
                  double *close, int64_t *end_ms);

#endif /* REST_POLICY_H */
