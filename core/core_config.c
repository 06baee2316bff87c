/* core_config.c: the core's configuration and its memory: the series,
 * the table sizes derived from them, the carving of the caller's block
 * into the core's tables (core_mem_size, core_init), and the SubAdd list.
 * Pure: no I/O, no allocation, no clock. */
#include <string.h>

#include "core_int.h"
#include "md_fnv.h"
#include "md_err.h"

void core_config_default(struct core_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    conn_config_default(&cfg->conn);
    rest_config_default(&cfg->rest);
    pub_config_default(&cfg->pub);
    agg_config_default(&cfg->agg);
    rp_config_default(&cfg->rp);
    cfg->agg.max_streams = 0; /* from the series (core_mem_size) */
    cfg->rest.queue_cap = 0;  /* from the series (fetch_cap_of) */
    memcpy(cfg->topic_template, CORE_TOPIC_DEFAULT,
           sizeof CORE_TOPIC_DEFAULT);
}

static bool copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

int core_config_add_series(struct core_config *cfg, const char *market,
                           const char *base, const char *quote,
                           int64_t interval_s)
{
    struct rp_series *s;

    if (cfg->series == NULL || cfg->n_series >= cfg->cap_series) {
        return MD_E_FULL;
    }
    s = &cfg->series[cfg->n_series];
    memset(s, 0, sizeof *s);
    if (!copy_name(s->market, sizeof s->market, market) ||
        !copy_name(s->base, sizeof s->base, base) ||
        !copy_name(s->quote, sizeof s->quote, quote) || interval_s <= 0) {
        return MD_E_INVAL;
    }
    s->interval_s = interval_s;
    s->source = strcmp(market, RP_INDEX_MARKET) == 0 ? BAR_SRC_CCCAGG
                                                     : BAR_SRC_TRADES;
    cfg->n_series++;
    return MD_OK;
}

int core_config_add_ohlc(struct core_config *cfg, const char *market,
                         const char *base, const char *quote)
{
    int rc = core_config_add_series(cfg, market, base, quote, 60);

    if (rc == MD_OK) {
        cfg->series[cfg->n_series - 1].source = BAR_SRC_OHLC;
    }
    return rc;
}

/* A Bloom filter of the keys met so far, on the stack: a clear bit means
 * a key never met, so a new key (the common case) is known new without a
 * scan; a set bit means maybe, and the caller then scans as before. Two
 * bits a key out of 2^16: a few false "maybe" in a thousand at thousands
 * of keys, each costing one scan. Replaces a scan per key (quadratic in
 * the series: some 60 M instructions for 2,400 series). */
#define SEEN_BITS 65536u

struct seen {
    uint64_t w[SEEN_BITS / 64];
};


/* Record hash h; true when both of its bits were already set (the key
 * may have been met before). */
static bool seen_add(struct seen *f, uint64_t h)
{
    uint32_t a = (uint32_t)(h % SEEN_BITS);
    uint32_t b = (uint32_t)((h >> 32) % SEEN_BITS);
    uint64_t ma = UINT64_C(1) << (a % 64);
    uint64_t mb = UINT64_C(1) << (b % 64);
    bool maybe = (f->w[a / 64] & ma) != 0 && (f->w[b / 64] & mb) != 0;

    f->w[a / 64] |= ma;
    f->w[b / 64] |= mb;
    return maybe;
}

size_t core_series_sub(const struct rp_series *se, char *t)
{
    const char *parts[3] = {se->market, se->base, se->quote};
    size_t n = 0, part;
    unsigned k;

    if (se->source == BAR_SRC_OHLC) {
        t[n++] = '2';
        t[n++] = '4';
    } else {
        t[n++] = se->source == BAR_SRC_CCCAGG ? '5' : '0';
    }
    for (k = 0; k < 3; k++) {
        part = strlen(parts[k]);
        t[n++] = '~';
        memcpy(t + n, parts[k], part);
        n += part;
    }
    if (se->source == BAR_SRC_OHLC) {
        t[n++] = '~';
        t[n++] = 'm'; /* minute candles */
    }
    t[n] = '\0';
    return n;
}

unsigned core_sub_shard(const char *sub, unsigned n)
{
    return n <= 1 ? 0
                  : (unsigned)(md_fnv1a64(MD_FNV1A64_BASIS, sub, strlen(sub)) %
                               n);
}

int core_config_shard(struct core_config *cfg, unsigned k, unsigned n)
{
    unsigned i, kept = 0;

    if (cfg == NULL || n == 0 || k >= n) {
        return MD_E_INVAL;
    }
    for (i = 0; i < cfg->n_series; i++) {
        char t[CORE_SUB_LEN];
        (void)core_series_sub(&cfg->series[i], t);
        if (core_sub_shard(t, n) == k) {
            cfg->series[kept++] = cfg->series[i];
        }
    }
    cfg->n_series = kept;
    return MD_OK;
}

/* The SubAdd list: one subscription per configured stream, in the order
 * the series were configured, each once ("0~Coinbase~BTC~USD" for trades,
 * "5~CCCAGG~BTC~USD" for the index). */
static void build_subs(struct core *c)
{
    struct seen f;
    unsigned i, k;

    memset(&f, 0, sizeof f);
    c->n_subs = 0;
    for (i = 0; i < c->cfg.n_series; i++) {
        const struct rp_series *se = &c->cfg.series[i];
        char *t = c->sub_text + (size_t)c->n_subs * CORE_SUB_LEN;
        size_t n = core_series_sub(se, t);
        bool dup = false;

        /* nearest first: a stream's series are usually added together */
        if (seen_add(&f, md_fnv1a64(MD_FNV1A64_BASIS, t, n))) {
            for (k = c->n_subs; k-- > 0 && !dup;) {
                dup = strcmp(c->subs[k], t) == 0;
            }
        }
        if (!dup) {
            c->subs[c->n_subs] = t;
            c->n_subs++;
        }
    }
}

/* The distinct streams (source, market, base, quote) of the series. A
 * series the filter has not met is a new stream; else it is looked for
 * among the ones before it, nearest first (a stream's series are usually
 * added together, so a repeat is found in a few steps). */
static unsigned series_streams(const struct core_config *cfg)
{
    struct seen f;
    unsigned n = 0, i, j;

    memset(&f, 0, sizeof f);
    for (i = 0; i < cfg->n_series; i++) {
        const struct rp_series *s = &cfg->series[i];
        char src = (char)s->source;
        uint64_t h = md_fnv1a64(MD_FNV1A64_BASIS, &src, 1);
        bool seen = false;

        /* the NULs keep ("AB", "C") apart from ("A", "BC") */
        h = md_fnv1a64(h, s->market, strlen(s->market) + 1);
        h = md_fnv1a64(h, s->base, strlen(s->base) + 1);
        h = md_fnv1a64(h, s->quote, strlen(s->quote) + 1);
        if (seen_add(&f, h)) {
            for (j = i; j-- > 0 && !seen;) {
                const struct rp_series *o = &cfg->series[j];
                seen = o->source == s->source &&
                       strcmp(o->base, s->base) == 0 &&
                       strcmp(o->quote, s->quote) == 0 &&
                       strcmp(o->market, s->market) == 0;
            }
        }
        n += !seen;
    }
    return n;
}

/* cfg with the table sizes left 0 filled in from the series. */
static void sized(const struct core_config *in, struct core_config *cfg)
{
    *cfg = *in;
    if (cfg->agg.max_streams == 0) {
        cfg->agg.max_streams = series_streams(in) + AGG_STREAMS_DEFAULT;
    }
    if (cfg->max_tickers == 0) {
        cfg->max_tickers = cfg->agg.max_streams;
    }
    if (cfg->rest.queue_cap == 0) {
        /* every series' preflight pages fit: a plan larger than the
         * queue is refused whole (rp_plan_preflight: MD_E_FULL) */
        uint32_t lim = cfg->rp.page_limit > 0 ? cfg->rp.page_limit : 1;
        uint64_t pages = (cfg->rp.preflight_bars + lim - 1) / lim;
        uint64_t n = (uint64_t)cfg->n_series * (pages > 0 ? pages : 1);
        cfg->rest.queue_cap =
            n > CORE_FETCH_MIN ? (n < UINT32_MAX / 2 ? (unsigned)n
                                                     : UINT32_MAX / 2)
                               : CORE_FETCH_MIN;
    }
}

/* The bar store's slots: a power of two, CORE_BAR_MIN or 4 per series
 * (a bar boundary closes one bar per series; the store holds a few
 * boundaries while the broker is slow). */
static uint64_t bar_cap_of(const struct core_config *cfg)
{
    uint64_t cap = CORE_BAR_MIN;

    while (cap < 4 * (uint64_t)cfg->n_series) {
        cap *= 2;
    }
    return cap;
}

/* The topic table's names: as many as distinct (stream, interval) a bar
 * can come from, whatever the template (the aggregator's intervals, and
 * the series' for REST bars). */
static unsigned topic_cap_of(const struct core_config *cfg)
{
    int64_t seen[64];
    unsigned k, j, n = 0;
    uint64_t cap;

    for (k = 0; k < cfg->n_series; k++) {
        for (j = 0; j < n && seen[j] != cfg->series[k].interval_s; j++) {
        }
        if (j < n) {
            continue;
        }
        if (n == sizeof seen / sizeof seen[0]) {
            n = cfg->n_series; /* many intervals: one per series at most */
            break;
        }
        seen[n++] = cfg->series[k].interval_s;
    }
    /* a stream's bars: the aggregator's intervals; REST bars: the
     * series' */
    cap = (uint64_t)cfg->agg.max_streams * (n + cfg->agg.n_intervals + 1);
    return cap < 16 ? 16 : cap > (1u << 24) ? 1u << 24 : (unsigned)cap;
}

/* The topic index's slots: a power of two, at least twice the names. */
static unsigned topic_slots_of(unsigned cap)
{
    unsigned s = 32;

    while (s < 2 * cap) {
        s *= 2;
    }
    return s;
}

/* The tables core_init carves from its memory, in order. */
enum core_table {
    CT_FEED, CT_SERIES, CT_FETCH, CT_PLAN, CT_BF, CT_STG_BF, CT_SUB_TEXT,
    CT_SUBS, CT_BAR_STATE, CT_BAR, CT_QUEUE, CT_REF, CT_UNDO, CT_HISTO,
    CT_CONV, CT_CLOSING, CT_TOPIC, CT_TOPIC_STATE, CT_STG_TOPIC_STATE,
    CT_TOPIC_INDEX, CT_TOPIC_ASK, CT__COUNT
};

/* The bytes of each table for a sized configuration (SIZE_MAX on
 * overflow). */
static void layout(const struct core_config *cfg, size_t sz[CT__COUNT])
{
    size_t ns = cfg->n_series, bc = (size_t)bar_cap_of(cfg);

    sz[CT_FEED] = feed_mem_size(&cfg->agg, cfg->max_tickers);
    sz[CT_SERIES] = md_mem_mul(ns, sizeof(struct rp_series));
    sz[CT_FETCH] = md_mem_mul(2 * (size_t)cfg->rest.queue_cap,
                              sizeof(struct rp_fetch));
    sz[CT_PLAN] = md_mem_mul(cfg->rest.queue_cap, sizeof(struct rp_fetch));
    sz[CT_BF] = md_mem_mul(ns, sizeof(struct core_backfill));
    sz[CT_STG_BF] = sz[CT_BF];
    sz[CT_SUB_TEXT] = md_mem_mul(ns, CORE_SUB_LEN);
    sz[CT_SUBS] = md_mem_mul(ns, sizeof(const char *));
    sz[CT_BAR_STATE] = bc;
    sz[CT_BAR] = md_mem_mul(bc, sizeof(struct md_bar));
    sz[CT_QUEUE] = md_mem_mul(2 * bc, sizeof(uint64_t));
    sz[CT_REF] = md_mem_mul(3 * bc, sizeof(const struct md_bar *));
    sz[CT_UNDO] = md_mem_mul(3 * bc, sizeof(struct core_undo));
    sz[CT_HISTO] = CORE_HISTO_CAP * sizeof(struct cc_bar);
    sz[CT_CONV] = CORE_HISTO_CAP * sizeof(struct bar);
    sz[CT_CLOSING] = CORE_CLOSING * sizeof(struct bar);
    {
        unsigned tc = topic_cap_of(cfg);
        sz[CT_TOPIC] = md_mem_mul(tc, sizeof(struct core_topic));
        sz[CT_TOPIC_STATE] = tc;
        sz[CT_STG_TOPIC_STATE] = tc;
        sz[CT_TOPIC_INDEX] = md_mem_mul(topic_slots_of(tc), sizeof(uint32_t));
        sz[CT_TOPIC_ASK] = md_mem_mul(tc, sizeof(const char *));
    }
}

size_t core_mem_size(const struct core_config *in)
{
    struct core_config cfg;
    size_t sz[CT__COUNT], size = MD_MEM_ALIGN;
    unsigned k;

    if (in->n_series > CORE_SERIES_LIMIT ||
        (in->n_series > 0 && in->series == NULL) ||
        core_topic_template_check(in->topic_template) != MD_OK) {
        return SIZE_MAX;
    }
    sized(in, &cfg);
    layout(&cfg, sz);
    for (k = 0; k < CT__COUNT; k++) {
        size = md_mem_add(size, md_mem_round(sz[k]));
    }
    return size;
}

int core_init(struct core *c, const struct core_config *cfg, void *mem,
              size_t size)
{
    size_t need = core_mem_size(cfg), sz[CT__COUNT];
    struct md_arena ar;
    void *t[CT__COUNT];
    unsigned k;
    int rc;

    memset(c, 0, sizeof *c);
    if (need == SIZE_MAX || size < need) {
        return MD_E_INVAL;
    }
    sized(cfg, &c->cfg);
    layout(&c->cfg, sz);
    md_arena_init(&ar, mem, size);
    for (k = 0; k < CT__COUNT; k++) {
        t[k] = md_arena_take(&ar, sz[k]);
        if (t[k] == NULL && sz[k] > 0) {
            memset(c, 0, sizeof *c);
            return MD_E_INVAL; /* cannot happen: size was checked */
        }
    }
    if (c->cfg.n_series > 0) {
        memcpy(t[CT_SERIES], cfg->series, sz[CT_SERIES]);
    }
    c->cfg.series = t[CT_SERIES];
    c->cfg.cap_series = c->cfg.n_series;
    c->fetch_cap = c->cfg.rest.queue_cap;
    c->fetch = t[CT_FETCH];
    c->plan_tmp = t[CT_PLAN];
    c->bf = t[CT_BF];
    c->stg.bf = t[CT_STG_BF];
    c->sub_text = t[CT_SUB_TEXT];
    c->subs = t[CT_SUBS];
    c->bar_cap = bar_cap_of(&c->cfg);
    c->bar_state = t[CT_BAR_STATE];
    c->bar = t[CT_BAR];
    c->queue = t[CT_QUEUE];
    c->stg.ref = t[CT_REF];
    c->stg.undo = t[CT_UNDO];
    c->histo = t[CT_HISTO];
    c->conv = t[CT_CONV];
    c->closing = t[CT_CLOSING];
    c->topic_cap = topic_cap_of(&c->cfg);
    c->topic_mask = topic_slots_of(c->topic_cap) - 1;
    c->topic = t[CT_TOPIC];
    c->topic_state = t[CT_TOPIC_STATE];
    c->stg.topic_state = t[CT_STG_TOPIC_STATE];
    c->topic_index = t[CT_TOPIC_INDEX];
    c->topic_ask = t[CT_TOPIC_ASK];
    memset(c->topic_state, 0, c->topic_cap);
    topics_init(c);
    if (sz[CT_BF] > 0) {
        memset(c->bf, 0, sz[CT_BF]);
    }
    memset(c->bar_state, 0, sz[CT_BAR_STATE]);
    md_prng_seed(&c->rng, cfg->seed);
    conn_init(&c->conn, &cfg->conn, &c->rng);
    rest_init(&c->rest, &c->cfg.rest, &c->rng);
    pub_init(&c->pub, &cfg->pub, &c->rng);
    c->conn.trace = c->rest.trace = c->pub.trace = (uint8_t)(cfg->trace != 0);
    rc = feed_init(&c->feed, &c->cfg.agg, c->cfg.max_tickers, t[CT_FEED],
                   sz[CT_FEED]);
    if (rc != MD_OK) {
        return rc;
    }
    rp_budget_init(&c->budget);
    c->budget.share = c->cfg.rp.share;
    build_subs(c);
    c->s.next_id = 1;
    c->s.lo = 1;
    c->req.method = "GET";
    c->req.target = c->target;
    return MD_OK;
}
