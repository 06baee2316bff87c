/* rest_policy.c: REST request building, preflight and backfill plans, the
 * rate budget and the histo-to-bar conversion (core/rest_policy.h).
 * Pure: integer time arithmetic only (calendar windows by Howard Hinnant's
 * days-from-civil), snprintf-free formatting, no allocation. Reasoning
 * and examples: docs/rest-policy.md. */
#include <string.h>

#include "bar_num.h"
#include "md_civil.h"
#include "md_err.h"
#include "rest_policy.h"

/* Latest time accepted anywhere (2100-01-01): keeps (s + iv) * 1e9 and
 * every window reset far away from int64 overflow. */
#define RP_TS_MAX_NS (INT64_C(4102444800) * MD_NS_PER_S)
#define RP_INTERVAL_MAX_S (INT64_C(31) * 86400)
#define RP_DEPTH_MAX_S (INT64_C(366) * 86400)
#define RP_PREFLIGHT_MAX 1000000u
#define RP_COUNT_MAX INT64_C(1000000000000000) /* 1e15 */

/* ---------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------- */

/* floor(a / b) for b > 0, also for negative a (C division truncates). */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && (a < 0)) {
        q--;
    }
    return q;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return -floor_div(-a, b);
}

static int64_t max_i64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

static int64_t min_i64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* A NUL-terminated, non-empty string inside char[cap]. */
static bool str_ok(const char *s, size_t cap)
{
    return s[0] != '\0' && memchr(s, '\0', cap) != NULL;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive equality of two NUL-terminated strings. */
static bool eq_nocase(const char *a, const char *b)
{
    while (*a != '\0' && lower(*a) == lower(*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

/* Copy the NUL-terminated src into dst[cap]; src fits (checked before). */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static const struct rp_config *cfg_or_default(const struct rp_config *cfg,
                                              struct rp_config *tmp)
{
    if (cfg != NULL) {
        return cfg;
    }
    rp_config_default(tmp);
    return tmp;
}

static bool cfg_ok(const struct rp_config *c)
{
    return c->settle_s >= 0 && c->settle_s <= 86400 && c->page_limit >= 1 &&
           c->page_limit <= RP_LIMIT_MAX && c->preflight_bars >= 1 &&
           c->preflight_bars <= RP_PREFLIGHT_MAX && c->minute_depth_s >= 0 &&
           c->minute_depth_s <= RP_DEPTH_MAX_S && c->retry_min_s >= 1 &&
           c->retry_min_s <= 86400 && c->retry_max_s >= c->retry_min_s &&
           c->retry_max_s <= 7 * 86400;
}

static bool ts_ok(ts_ns t)
{
    return t >= 0 && t <= RP_TS_MAX_NS;
}

static bool interval_ok(int64_t iv)
{
    return iv > 0 && iv <= RP_INTERVAL_MAX_S;
}

void rp_config_default(struct rp_config *cfg)
{
    cfg->settle_s = RP_SETTLE_S_DEFAULT;
    cfg->page_limit = RP_LIMIT_MAX;
    cfg->preflight_bars = RP_PREFLIGHT_BARS_DEFAULT;
    cfg->minute_depth_s = RP_MINUTE_DEPTH_S_DEFAULT;
    cfg->retry_min_s = RP_RETRY_MIN_S_DEFAULT;
    cfg->retry_max_s = RP_RETRY_MAX_S_DEFAULT;
}

/* ---------------------------------------------------------------------
 * Requests
 * ------------------------------------------------------------------- */

/* Which query keys an endpoint takes. */
enum ep_shape {
    SHAPE_NONE = 0,
    SHAPE_HISTO, /* fsym, tsym, limit, toTs, aggregate */
    SHAPE_PRICE, /* fsym, tsyms */
    SHAPE_MULTI  /* fsyms, tsyms */
};

struct ep_info {
    const char *path;
    enum ep_shape shape;
};

static const struct ep_info ep_table[RP_EP__COUNT] = {
    [RP_EP_INVALID] = {"", SHAPE_NONE},
    [RP_EP_HISTOMINUTE] = {"/data/v2/histominute", SHAPE_HISTO},
    [RP_EP_HISTOHOUR] = {"/data/v2/histohour", SHAPE_HISTO},
    [RP_EP_HISTODAY] = {"/data/v2/histoday", SHAPE_HISTO},
    [RP_EP_HISTOMINUTE_V1] = {"/data/histominute", SHAPE_HISTO},
    [RP_EP_PRICE] = {"/data/price", SHAPE_PRICE},
    [RP_EP_PRICEMULTI] = {"/data/pricemulti", SHAPE_MULTI},
    [RP_EP_PRICEMULTIFULL] = {"/data/pricemultifull", SHAPE_MULTI},
};

const char *rp_endpoint_path(int ep)
{
    if (ep <= RP_EP_INVALID || ep >= RP_EP__COUNT) {
        return "";
    }
    return ep_table[ep].path;
}

static enum ep_shape ep_shape_of(unsigned ep)
{
    if (ep == RP_EP_INVALID || ep >= RP_EP__COUNT) {
        return SHAPE_NONE;
    }
    return ep_table[ep].shape;
}

void rp_req_init(struct rp_req *r, enum rp_endpoint ep)
{
    memset(r, 0, sizeof *r);
    r->ep = (uint8_t)ep;
}

static int add_sym(char (*list)[RP_SYM_MAX + 1], uint8_t *n, const char *sym)
{
    size_t len;

    if (sym == NULL || sym[0] == '\0') {
        return MD_E_INVAL;
    }
    len = strlen(sym);
    if (len > RP_SYM_MAX) {
        return MD_E_RANGE;
    }
    if (*n >= RP_SYMS_MAX) {
        return MD_E_FULL;
    }
    memcpy(list[*n], sym, len + 1);
    (*n)++;
    return MD_OK;
}

int rp_req_add_fsym(struct rp_req *r, const char *sym)
{
    if (r == NULL) {
        return MD_E_INVAL;
    }
    return add_sym(r->fsyms, &r->n_fsyms, sym);
}

int rp_req_add_tsym(struct rp_req *r, const char *sym)
{
    if (r == NULL) {
        return MD_E_INVAL;
    }
    return add_sym(r->tsyms, &r->n_tsyms, sym);
}

int rp_req_set_market(struct rp_req *r, const char *market)
{
    size_t len;

    if (r == NULL) {
        return MD_E_INVAL;
    }
    if (market == NULL) {
        r->e[0] = '\0';
        return MD_OK;
    }
    len = strlen(market);
    if (len > RP_MARKET_MAX) {
        return MD_E_RANGE;
    }
    memcpy(r->e, market, len + 1);
    return MD_OK;
}

/* A bounded writer: counts every byte, stores those that fit (keeping
 * room for the NUL). */
struct wbuf {
    char *p;
    size_t cap;
    size_t n;
};

static void w_ch(struct wbuf *w, char c)
{
    if (w->n + 1 < w->cap) {
        w->p[w->n] = c;
    }
    w->n++;
}

static void w_str(struct wbuf *w, const char *s)
{
    while (*s != '\0') {
        w_ch(w, *s++);
    }
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

/* s percent-encoded (RFC 3986: all but the unreserved set). */
static void w_enc(struct wbuf *w, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (unreserved(c)) {
            w_ch(w, (char)c);
        } else {
            w_ch(w, '%');
            w_ch(w, hex[c >> 4]);
            w_ch(w, hex[c & 0xfu]);
        }
    }
}

static void w_u64(struct wbuf *w, uint64_t v)
{
    char tmp[24];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0);
    while (n > 0) {
        w_ch(w, tmp[--n]);
    }
}

/* One query parameter, before sorting. */
enum qkind { Q_STR, Q_LIST, Q_INT };

struct qparam {
    const char *key;
    enum qkind kind;
    const char *str;                  /* Q_STR */
    const char (*list)[RP_SYM_MAX + 1]; /* Q_LIST */
    unsigned n;                       /* Q_LIST */
    uint64_t num;                     /* Q_INT */
};

#define RP_QMAX 8

static bool list_ok(const char (*list)[RP_SYM_MAX + 1], unsigned n)
{
    unsigned i;
    for (i = 0; i < n; i++) {
        if (!str_ok(list[i], RP_SYM_MAX + 1)) {
            return false;
        }
    }
    return true;
}

static void q_add_list(struct qparam *q, unsigned *nq, const char *key,
                       const char (*list)[RP_SYM_MAX + 1], unsigned n)
{
    q[*nq].key = key;
    q[*nq].kind = Q_LIST;
    q[*nq].list = list;
    q[*nq].n = n;
    (*nq)++;
}

static void q_add_int(struct qparam *q, unsigned *nq, const char *key,
                      uint64_t v)
{
    q[*nq].key = key;
    q[*nq].kind = Q_INT;
    q[*nq].num = v;
    (*nq)++;
}

/* Check r against its endpoint's shape and collect its parameters. */
static int collect(const struct rp_req *r, struct qparam *q, unsigned *nq)
{
    enum ep_shape shape = ep_shape_of(r->ep);
    bool index;

    *nq = 0;
    if (shape == SHAPE_NONE || r->n_fsyms < 1 || r->n_tsyms < 1 ||
        r->n_fsyms > RP_SYMS_MAX || r->n_tsyms > RP_SYMS_MAX ||
        !list_ok(r->fsyms, r->n_fsyms) || !list_ok(r->tsyms, r->n_tsyms) ||
        memchr(r->e, '\0', sizeof r->e) == NULL) {
        return MD_E_INVAL;
    }
    index = r->e[0] == '\0' || eq_nocase(r->e, RP_INDEX_MARKET);
    if (!index) {
        q[*nq].key = "e";
        q[*nq].kind = Q_STR;
        q[*nq].str = r->e;
        (*nq)++;
    }
    if (shape == SHAPE_HISTO) {
        if (r->n_fsyms != 1 || r->n_tsyms != 1) {
            return MD_E_INVAL;
        }
        if (r->limit < 1 || r->limit > RP_LIMIT_MAX ||
            r->aggregate > RP_LIMIT_MAX || r->to_ts < 0) {
            return MD_E_RANGE;
        }
        if (r->aggregate > 1 &&
            (uint64_t)r->limit * r->aggregate > RP_LIMIT_MAX) {
            /* the server would cut limit and we would get fewer bars */
            return MD_E_RANGE;
        }
        q_add_list(q, nq, "fsym", r->fsyms, 1);
        q_add_list(q, nq, "tsym", r->tsyms, 1);
        q_add_int(q, nq, "limit", r->limit);
        if (r->to_ts > 0) {
            q_add_int(q, nq, "toTs", (uint64_t)r->to_ts);
        }
        if (r->aggregate > 1) {
            q_add_int(q, nq, "aggregate", r->aggregate);
        }
        return MD_OK;
    }
    if (r->limit != 0 || r->aggregate != 0 || r->to_ts != 0) {
        return MD_E_INVAL;
    }
    if (shape == SHAPE_PRICE) {
        if (r->n_fsyms != 1) {
            return MD_E_INVAL;
        }
        q_add_list(q, nq, "fsym", r->fsyms, 1);
    } else {
        q_add_list(q, nq, "fsyms", r->fsyms, r->n_fsyms);
    }
    q_add_list(q, nq, "tsyms", r->tsyms, r->n_tsyms);
    return MD_OK;
}

int rp_req_path(const struct rp_req *r, char *buf, size_t cap, size_t *len)
{
    struct qparam q[RP_QMAX];
    unsigned nq, i, j, k;
    struct wbuf w;
    int rc;

    if (r == NULL || buf == NULL) {
        return MD_E_INVAL;
    }
    rc = collect(r, q, &nq);
    if (rc != MD_OK) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return rc;
    }
    /* Sort by key (byte order, as replay compares them): insertion sort
     * of at most RP_QMAX entries. */
    for (i = 1; i < nq; i++) {
        struct qparam t = q[i];
        for (j = i; j > 0 && strcmp(q[j - 1].key, t.key) > 0; j--) {
            q[j] = q[j - 1];
        }
        q[j] = t;
    }
    w.p = buf;
    w.cap = cap;
    w.n = 0;
    w_str(&w, ep_table[r->ep].path);
    for (i = 0; i < nq; i++) {
        w_ch(&w, i == 0 ? '?' : '&');
        w_str(&w, q[i].key);
        w_ch(&w, '=');
        switch (q[i].kind) {
        case Q_STR:
            w_enc(&w, q[i].str);
            break;
        case Q_LIST:
            for (k = 0; k < q[i].n; k++) {
                if (k > 0) {
                    w_ch(&w, ',');
                }
                w_enc(&w, q[i].list[k]);
            }
            break;
        case Q_INT:
            w_u64(&w, q[i].num);
            break;
        }
    }
    if (len != NULL) {
        *len = w.n;
    }
    if (w.n + 1 > cap) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return MD_E_FULL;
    }
    buf[w.n] = '\0';
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * Series and plans
 * ------------------------------------------------------------------- */

int rp_series_endpoint(const struct rp_series *s, enum rp_endpoint *ep,
                       uint32_t *aggregate)
{
    int64_t iv, unit;
    enum rp_endpoint e;

    if (s == NULL || ep == NULL || aggregate == NULL) {
        return MD_E_INVAL;
    }
    iv = s->interval_s;
    if (!interval_ok(iv)) {
        return MD_E_RANGE;
    }
    if (iv % 86400 == 0) {
        e = RP_EP_HISTODAY;
        unit = 86400;
    } else if (iv % 3600 == 0) {
        e = RP_EP_HISTOHOUR;
        unit = 3600;
    } else if (iv % 60 == 0) {
        e = RP_EP_HISTOMINUTE;
        unit = 60;
    } else {
        return MD_E_UNSUPPORTED;
    }
    if (iv / unit > RP_LIMIT_MAX) {
        return MD_E_UNSUPPORTED;
    }
    *ep = e;
    *aggregate = (uint32_t)(iv / unit);
    return MD_OK;
}

int rp_gap_bars(int64_t interval_s, ts_ns gap_start_ns, ts_ns gap_end_ns,
                int64_t *first_s, int64_t *last_s)
{
    int64_t iv_ns;

    if (first_s == NULL || last_s == NULL) {
        return MD_E_INVAL;
    }
    if (!interval_ok(interval_s) || !ts_ok(gap_start_ns) ||
        !ts_ok(gap_end_ns)) {
        return MD_E_RANGE;
    }
    if (gap_end_ns < gap_start_ns) {
        return MD_E_INVAL;
    }
    iv_ns = interval_s * MD_NS_PER_S;
    /* Same rule as agg.c gap_flags(): gs < end && ge > start, with an
     * empty gap widened to 1 ns. The first bar contains gs, the last one
     * contains ge - 1 ns, and ge > gs keeps first <= last. */
    if (gap_end_ns == gap_start_ns) {
        gap_end_ns++;
    }
    *first_s = floor_div(gap_start_ns, iv_ns) * interval_s;
    *last_s = floor_div(gap_end_ns - 1, iv_ns) * interval_s;
    return MD_OK;
}

/* The start of the newest bar fetchable at now (may be negative). */
static int64_t newest_fetchable_s(const struct rp_config *c, int64_t iv,
                                  ts_ns now)
{
    int64_t ends = floor_div(now - c->settle_s * MD_NS_PER_S,
                             iv * MD_NS_PER_S);
    return (ends - 1) * iv;
}

/* The start of the oldest bar an endpoint still has, or INT64_MIN when it
 * keeps everything. */
static int64_t oldest_kept_s(const struct rp_config *c, enum rp_endpoint ep,
                             int64_t iv, ts_ns now)
{
    if (ep != RP_EP_HISTOMINUTE || c->minute_depth_s == 0) {
        return INT64_MIN;
    }
    return ceil_div(now - c->minute_depth_s * MD_NS_PER_S,
                    iv * MD_NS_PER_S) *
           iv;
}

bool rp_bar_fetchable(const struct rp_config *cfg, int64_t interval_s,
                      int64_t start_s, ts_ns now_server_ns)
{
    struct rp_config tmp;
    const struct rp_config *c = cfg_or_default(cfg, &tmp);
    int64_t end_s;

    if (!interval_ok(interval_s) || !cfg_ok(c) ||
        start_s > RP_TS_MAX_NS / MD_NS_PER_S ||
        start_s < -RP_TS_MAX_NS / MD_NS_PER_S) {
        return false;
    }
    end_s = start_s + interval_s;
    return end_s * MD_NS_PER_S <= now_server_ns - c->settle_s * MD_NS_PER_S;
}

static bool series_ok(const struct rp_series *s)
{
    return str_ok(s->market, sizeof s->market) &&
           str_ok(s->base, sizeof s->base) &&
           str_ok(s->quote, sizeof s->quote) && s->source > BAR_SRC_INVALID &&
           s->source < BAR_SRC__COUNT;
}

/* Requests needed for k bars, per bars a page. */
static size_t pages_for(int64_t a, int64_t b, int64_t iv, uint32_t per)
{
    int64_t k;
    if (a > b) {
        return 0;
    }
    k = (b - a) / iv + 1;
    return (size_t)((k + (int64_t)per - 1) / (int64_t)per);
}

/* Bars a page may hold: limit counts them, and limit * aggregate must
 * stay within 2000 or the server shortens the page. */
static uint32_t per_page(const struct rp_config *c, uint32_t agg)
{
    uint32_t per = RP_LIMIT_MAX / agg;
    return per < c->page_limit ? per : c->page_limit;
}

/* Write the pages for bars [a, b] of s: newest first, toTs = the page's
 * newest bar start, limit = its bar count. out has room (checked). */
static size_t write_pages(const struct rp_series *s, uint32_t idx,
                          uint8_t purpose, enum rp_endpoint ep, uint32_t agg,
                          uint32_t per, int64_t a, int64_t b,
                          struct rp_fetch *out)
{
    int64_t iv = s->interval_s;
    int64_t to = b;
    size_t n = 0;

    while (to >= a) {
        int64_t from = max_i64(a, to - ((int64_t)per - 1) * iv);
        struct rp_fetch *f = &out[n++];

        memset(f, 0, sizeof *f);
        rp_req_init(&f->req, ep);
        /* series_ok() and the equal array sizes make these fit */
        (void)rp_req_add_fsym(&f->req, s->base);
        (void)rp_req_add_tsym(&f->req, s->quote);
        (void)rp_req_set_market(&f->req, s->market);
        f->req.limit = (uint32_t)((to - from) / iv + 1);
        f->req.aggregate = agg > 1 ? agg : 0;
        f->req.to_ts = to;
        f->series = *s;
        f->series_idx = idx;
        f->purpose = purpose;
        f->first_s = from;
        f->last_s = to;
        to = from - iv;
    }
    return n;
}

int rp_plan_preflight(const struct rp_config *cfg,
                      const struct rp_series *series, size_t n_series,
                      ts_ns now_server_ns, struct rp_fetch *out, size_t cap,
                      size_t *n_out)
{
    struct rp_config tmp;
    const struct rp_config *c = cfg_or_default(cfg, &tmp);
    size_t i, need = 0, n = 0;
    int pass;

    if (n_out == NULL || (series == NULL && n_series > 0) ||
        (out == NULL && cap > 0) || !cfg_ok(c)) {
        return MD_E_INVAL;
    }
    *n_out = 0;
    if (!ts_ok(now_server_ns)) {
        return MD_E_RANGE;
    }
    /* Pass 0 checks and counts; pass 1 writes, so a failure (MD_E_FULL
     * included) leaves out unchanged. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < n_series; i++) {
            const struct rp_series *s = &series[i];
            enum rp_endpoint ep;
            uint32_t agg, per;
            int64_t iv, a, b;
            int rc;

            if (!series_ok(s)) {
                return MD_E_INVAL;
            }
            if (s->source == BAR_SRC_OHLC) {
                continue; /* the server's own candles: nothing to fetch */
            }
            rc = rp_series_endpoint(s, &ep, &agg);
            if (rc != MD_OK) {
                return rc;
            }
            iv = s->interval_s;
            per = per_page(c, agg);
            b = newest_fetchable_s(c, iv, now_server_ns);
            a = b - ((int64_t)c->preflight_bars - 1) * iv;
            a = max_i64(a, oldest_kept_s(c, ep, iv, now_server_ns));
            a = max_i64(a, 0);
            if (pass == 0) {
                need += pages_for(a, b, iv, per);
            } else if (a <= b) {
                n += write_pages(s, (uint32_t)i, RP_P_PREFLIGHT, ep, agg,
                                 per, a, b, out + n);
            }
        }
        if (pass == 0 && need > cap) {
            *n_out = need;
            return MD_E_FULL;
        }
    }
    *n_out = n;
    return MD_OK;
}

int rp_plan_backfill(const struct rp_config *cfg, const struct rp_series *s,
                     uint32_t series_idx, ts_ns gap_start_ns,
                     ts_ns gap_end_ns, ts_ns now_server_ns,
                     struct rp_fetch *out, size_t cap,
                     struct rp_backfill *res)
{
    struct rp_config tmp;
    const struct rp_config *c = cfg_or_default(cfg, &tmp);
    enum rp_endpoint ep;
    uint32_t agg, per;
    int64_t iv, first, last, ok_s, old_s, a, b, p;
    int rc;

    if (s == NULL || res == NULL || (out == NULL && cap > 0) ||
        !cfg_ok(c) || !series_ok(s)) {
        return MD_E_INVAL;
    }
    memset(res, 0, sizeof *res);
    if (s->source == BAR_SRC_OHLC) {
        return MD_OK; /* the server's own candles: it revises them */
    }
    rc = rp_series_endpoint(s, &ep, &agg);
    if (rc != MD_OK) {
        return rc;
    }
    if (!ts_ok(now_server_ns)) {
        return MD_E_RANGE;
    }
    iv = s->interval_s;
    rc = rp_gap_bars(iv, gap_start_ns, gap_end_ns, &first, &last);
    if (rc != MD_OK) {
        return rc;
    }
    res->first_s = first;
    res->last_s = last;
    per = per_page(c, agg);
    ok_s = newest_fetchable_s(c, iv, now_server_ns);
    old_s = oldest_kept_s(c, ep, iv, now_server_ns);

    /* too old: [first, min(last, old_s - iv)] */
    if (first < old_s) {
        int64_t hi = min_i64(last, old_s - iv);
        res->too_old = (uint64_t)((hi - first) / iv + 1);
    }
    /* fetchable now: [max(first, old_s), min(last, ok_s)] */
    a = max_i64(first, old_s);
    b = min_i64(last, ok_s);
    if (a <= b) {
        res->bars = (uint64_t)((b - a) / iv + 1);
    }
    /* not settled yet: [max(first, old_s, ok_s + iv), last]. They all
     * settle once the newest one (the bar holding gap_end) has. */
    p = max_i64(a, ok_s + iv);
    if (p <= last) {
        res->pending = (uint64_t)((last - p) / iv + 1);
        res->retry_at_ns = (last + iv + c->settle_s) * MD_NS_PER_S;
        res->resume_ns = p * MD_NS_PER_S;
    }
    res->n_fetch = pages_for(a, b, iv, per);
    if (res->n_fetch > cap) {
        return MD_E_FULL;
    }
    if (a <= b) {
        (void)write_pages(s, series_idx, RP_P_BACKFILL, ep, agg, per, a, b,
                          out);
    }
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * Rate budget
 * ------------------------------------------------------------------- */

#define NS_PER_DAY (INT64_C(86400) * MD_NS_PER_S)

static const int64_t window_len_ns[CC_P__COUNT] = {
    [CC_P_SECOND] = MD_NS_PER_S,
    [CC_P_MINUTE] = 60 * MD_NS_PER_S,
    [CC_P_HOUR] = 3600 * MD_NS_PER_S,
    [CC_P_DAY] = NS_PER_DAY,
    [CC_P_MONTH] = 0, /* by the calendar */
};

/* Times are clamped to +-RP_TS_MAX_NS, far inside int64 even after a
 * month is added. */
static ts_ns clamp_ts(ts_ns t)
{
    return t > RP_TS_MAX_NS ? RP_TS_MAX_NS
                            : (t < -RP_TS_MAX_NS ? -RP_TS_MAX_NS : t);
}

ts_ns rp_window_start_ns(int p, ts_ns now_server_ns)
{
    ts_ns t = clamp_ts(now_server_ns);
    int64_t y;
    unsigned m, d;

    if (p < 0 || p >= CC_P__COUNT) {
        return 0;
    }
    if (p != CC_P_MONTH) {
        return floor_div(t, window_len_ns[p]) * window_len_ns[p];
    }
    md_civil_from_days(floor_div(t, NS_PER_DAY), &y, &m, &d);
    return md_days_from_civil(y, m, 1) * NS_PER_DAY;
}

ts_ns rp_window_reset_ns(int p, ts_ns now_server_ns)
{
    ts_ns t = clamp_ts(now_server_ns);
    int64_t y;
    unsigned m, d;

    if (p < 0 || p >= CC_P__COUNT) {
        return 0;
    }
    if (p != CC_P_MONTH) {
        return floor_div(t, window_len_ns[p]) * window_len_ns[p] +
               window_len_ns[p];
    }
    md_civil_from_days(floor_div(t, NS_PER_DAY), &y, &m, &d);
    if (m == 12) {
        y++;
        m = 1;
    } else {
        m++;
    }
    return md_days_from_civil(y, m, 1) * NS_PER_DAY;
}

void rp_budget_init(struct rp_budget *b)
{
    memset(b, 0, sizeof *b);
}

static bool count_ok(int64_t v)
{
    return v >= 0 && v <= RP_COUNT_MAX;
}

int rp_budget_learn(struct rp_budget *b, const struct cc_ratelimit *rl,
                    ts_ns now_server_ns)
{
    int p;

    if (b == NULL || rl == NULL) {
        return MD_E_INVAL;
    }
    for (p = 0; p < CC_P__COUNT; p++) {
        uint32_t bit = 1u << p;
        if (((rl->has_max & bit) && !count_ok(rl->max_calls[p])) ||
            ((rl->has_made & bit) && !count_ok(rl->calls_made[p])) ||
            ((rl->has_left & bit) && !count_ok(rl->calls_left[p]))) {
            return MD_E_RANGE;
        }
    }
    for (p = 0; p < CC_P__COUNT; p++) {
        uint32_t bit = 1u << p;
        int64_t n = b->share > 1 ? b->share : 1;
        if (rl->has_max & bit) {
            b->max[p] = max_i64(rl->max_calls[p] / n, 1);
            b->has_max |= bit;
        }
        if (rl->has_made & bit) {
            b->made[p] = (rl->calls_made[p] + n - 1) / n;
            b->at_ns[p] = now_server_ns;
        } else if ((rl->has_left & bit) && (b->has_max & bit)) {
            b->made[p] = max_i64(b->max[p] - rl->calls_left[p] / n, 0);
            b->at_ns[p] = now_server_ns;
        }
    }
    return MD_OK;
}

/* True when made[p] still describes the window that contains now. */
static bool same_window(int p, ts_ns a, ts_ns b)
{
    return rp_window_start_ns(p, a) == rp_window_start_ns(p, b);
}

void rp_budget_count(struct rp_budget *b, ts_ns now_server_ns)
{
    int p;

    for (p = 0; p < CC_P__COUNT; p++) {
        if (!same_window(p, b->at_ns[p], now_server_ns)) {
            b->made[p] = 0;
        }
        if (b->made[p] < RP_COUNT_MAX) {
            b->made[p]++;
        }
        b->at_ns[p] = now_server_ns;
    }
}

int64_t rp_budget_wait_ns(const struct rp_budget *b, ts_ns now_server_ns)
{
    int64_t w = 0;
    int p;

    if (b == NULL) {
        return 0;
    }
    for (p = 0; p < CC_P__COUNT; p++) {
        if ((b->has_max & (1u << p)) && b->made[p] >= b->max[p] &&
            same_window(p, b->at_ns[p], now_server_ns)) {
            w = max_i64(w, rp_window_reset_ns(p, now_server_ns) -
                               clamp_ts(now_server_ns));
        }
    }
    return w;
}

int64_t rp_budget_pace_ns(const struct rp_budget *b, ts_ns now_server_ns,
                          unsigned reserve_pct)
{
    int64_t w = rp_budget_wait_ns(b, now_server_ns);
    ts_ns now = clamp_ts(now_server_ns);
    int p;

    if (b == NULL || reserve_pct == 0) {
        return w;
    }
    if (reserve_pct > 100) {
        reserve_pct = 100;
    }
    for (p = 0; p < CC_P__COUNT; p++) {
        int64_t left, at, next;
        if (!(b->has_max & (1u << p)) || b->made[p] >= b->max[p] ||
            !same_window(p, b->at_ns[p], now)) {
            continue;
        }
        left = b->max[p] - b->made[p];
        /* counts <= 1e15 and pct <= 100: no overflow */
        if (left * 100 > b->max[p] * (int64_t)reserve_pct) {
            continue;
        }
        at = clamp_ts(b->at_ns[p]);
        next = at + (rp_window_reset_ns(p, at) - at) / (left + 1);
        if (next > now) {
            w = max_i64(w, next - now);
        }
    }
    return w;
}

ts_ns rp_backfill_retry_ns(const struct rp_config *cfg,
                           const struct rp_budget *b, unsigned fails,
                           ts_ns now_server_ns)
{
    struct rp_config tmp;
    const struct rp_config *c = cfg_or_default(cfg, &tmp);
    ts_ns now = clamp_ts(now_server_ns);
    int64_t wait_s, wait;
    unsigned k;

    if (!cfg_ok(c)) {
        rp_config_default(&tmp);
        c = &tmp;
    }
    /* at most 7 days, so no doubling overflows */
    wait_s = c->retry_min_s;
    for (k = 1; k < fails && wait_s < c->retry_max_s; k++) {
        wait_s *= 2;
    }
    wait = min_i64(wait_s, c->retry_max_s) * MD_NS_PER_S;
    wait = max_i64(wait, rp_budget_wait_ns(b, now));
    return clamp_ts(now + wait);
}

/* ---------------------------------------------------------------------
 * Bars from REST
 * ------------------------------------------------------------------- */

#define CC_BAR_NEEDED                                                      \
    (CC_BAR_TIME | CC_BAR_HIGH | CC_BAR_LOW | CC_BAR_OPEN | CC_BAR_CLOSE | \
     CC_BAR_VOLUMEFROM | CC_BAR_VOLUMETO)

/* One REST bar into out (identity from s), after the checks. */
static int make_bar(const struct rp_series *s, const struct cc_bar *cb,
                    struct bar *out)
{
    bar_i128 vol, qvol;
    int rc;

    if (cb->open.d < 0 || cb->high.d < 0 || cb->low.d < 0 ||
        cb->close.d < 0) {
        return MD_E_PROTO;
    }
    rc = bar_dec_scaled(&cb->volumefrom.dec, BAR_VOL_DIGITS, &vol, NULL);
    if (rc != MD_OK) {
        return rc;
    }
    rc = bar_dec_scaled(&cb->volumeto.dec, BAR_NOTIONAL_DIGITS, &qvol, NULL);
    if (rc != MD_OK) {
        return rc;
    }
    if (vol < 0 || qvol < 0) {
        return MD_E_PROTO;
    }
    memset(out, 0, sizeof *out);
    copy_str(out->market, sizeof out->market, s->market);
    copy_str(out->base, sizeof out->base, s->base);
    copy_str(out->quote, sizeof out->quote, s->quote);
    out->interval_s = s->interval_s;
    out->source = BAR_SRC_REST;
    out->start_ms = cb->time * 1000;
    out->end_ms = (cb->time + s->interval_s) * 1000;
    out->revision = 0;
    out->close_reason = BAR_CLOSE_TIMER;
    out->has = BAR_HAS_VOLUME;
    out->volume = vol;
    out->quote_volume = qvol;
    if (vol == 0 && qvol == 0) {
        out->flags |= BAR_F_SYNTHETIC;
    }
    /* All-zero prices: the pair did not exist yet; 0 is no price. */
    if (!(vol == 0 && qvol == 0 && cb->open.d == 0 && cb->high.d == 0 &&
          cb->low.d == 0 && cb->close.d == 0)) {
        out->has |= BAR_HAS_OHLC;
        out->open = cb->open.d;
        out->high = cb->high.d;
        out->low = cb->low.d;
        out->close = cb->close.d;
        /* kept as received, said when they are not a valid record */
        if (!(out->low <= out->open && out->open <= out->high &&
              out->low <= out->close && out->close <= out->high)) {
            out->flags |= BAR_F_OHLC_OUTSIDE;
        }
    }
    return MD_OK;
}

int rp_histo_to_bars(const struct rp_config *cfg, const struct rp_fetch *f,
                     const struct cc_histo *h, const struct cc_bar *bars,
                     size_t n, ts_ns now_server_ns, struct bar *out,
                     size_t cap, size_t *n_out, struct rp_conv_stats *st)
{
    struct rp_config tmp;
    const struct rp_config *c = cfg_or_default(cfg, &tmp);
    struct rp_conv_stats local;
    int64_t iv, prev = INT64_MIN;
    size_t i, kept = 0;

    if (st == NULL) {
        st = &local;
    }
    memset(st, 0, sizeof *st);
    if (n_out != NULL) {
        *n_out = 0;
    }
    if (f == NULL || h == NULL || n_out == NULL || (bars == NULL && n > 0) ||
        (out == NULL && cap > 0) || !cfg_ok(c) || !series_ok(&f->series) ||
        !interval_ok(f->series.interval_s) ||
        ep_shape_of(f->req.ep) != SHAPE_HISTO || h->st.kind != CC_R_OK) {
        return MD_E_INVAL;
    }
    iv = f->series.interval_s;
    for (i = 0; i < n; i++) {
        const struct cc_bar *cb = &bars[i];
        struct bar tmpbar;
        int rc;

        if ((cb->has & CC_BAR_NEEDED) != CC_BAR_NEEDED || cb->time < 0 ||
            cb->time > RP_TS_MAX_NS / MD_NS_PER_S || cb->time % iv != 0 ||
            cb->time <= prev) {
            return MD_E_PROTO;
        }
        prev = cb->time;
        /* Convert every bar, kept or not: the whole body is checked. */
        rc = make_bar(&f->series, cb, &tmpbar);
        if (rc != MD_OK) {
            return rc;
        }
        if (cb->time < f->first_s || cb->time > f->last_s) {
            st->out_of_range++;
            continue;
        }
        if (!rp_bar_fetchable(c, iv, cb->time, now_server_ns)) {
            st->unsettled++;
            continue;
        }
        if (kept < cap) {
            out[kept] = tmpbar;
        }
        kept++;
        if (tmpbar.flags & BAR_F_SYNTHETIC) {
            st->synthetic++;
        }
        if ((cb->has & CC_BAR_CONV_TYPE) &&
            !cc_str_eq(&cb->conversion_type, "direct", 6)) {
            st->converted++;
        }
    }
    st->kept = kept;
    *n_out = kept;
    return kept > cap ? MD_E_FULL : MD_OK;
}

static bool live_source(unsigned src)
{
    return src > BAR_SRC_INVALID && src < BAR_SRC__COUNT &&
           src != BAR_SRC_REST;
}

/* The REST values of rest into out (identity already set). */
static void take_values(const struct bar *rest, struct bar *out)
{
    out->open = rest->open;
    out->high = rest->high;
    out->low = rest->low;
    out->close = rest->close;
    out->volume = rest->volume;
    out->quote_volume = rest->quote_volume;
    out->has = rest->has & (BAR_HAS_OHLC | BAR_HAS_VOLUME);
    out->close_reason = BAR_CLOSE_BACKFILL;
    out->flags = BAR_F_BACKFILLED | BAR_F_SPANS_DISCONNECT |
                 (rest->flags & (BAR_F_SYNTHETIC | BAR_F_OHLC_OUTSIDE));
}

static bool bar_strs_ok(const struct bar *b)
{
    return memchr(b->market, '\0', sizeof b->market) != NULL &&
           memchr(b->base, '\0', sizeof b->base) != NULL &&
           memchr(b->quote, '\0', sizeof b->quote) != NULL;
}

int rp_bar_revise(const struct bar *rest, const struct bar *live,
                  struct bar *out)
{
    struct bar t;

    if (rest == NULL || live == NULL || out == NULL ||
        rest->source != BAR_SRC_REST || !live_source(live->source) ||
        !bar_strs_ok(rest) || !bar_strs_ok(live) ||
        rest->start_ms != live->start_ms || rest->end_ms != live->end_ms ||
        rest->interval_s != live->interval_s ||
        !eq_nocase(rest->market, live->market) ||
        !eq_nocase(rest->base, live->base) ||
        !eq_nocase(rest->quote, live->quote)) {
        return MD_E_INVAL;
    }
    if ((live->flags & BAR_F_BACKFILLED) ||
        live->close_reason == BAR_CLOSE_BACKFILL) {
        return MD_E_STATE;
    }
    if (!(live->flags & BAR_F_SPANS_DISCONNECT)) {
        return MD_E_INVAL;
    }
    if (live->revision == UINT32_MAX) {
        return MD_E_RANGE;
    }
    memset(&t, 0, sizeof t);
    memcpy(t.market, live->market, sizeof t.market);
    memcpy(t.base, live->base, sizeof t.base);
    memcpy(t.quote, live->quote, sizeof t.quote);
    t.interval_s = live->interval_s;
    t.source = live->source;
    t.start_ms = live->start_ms;
    t.end_ms = live->end_ms;
    t.revision = live->revision + 1;
    take_values(rest, &t);
    *out = t;
    return MD_OK;
}

int rp_bar_fill(const struct bar *rest, const struct rp_series *s,
                struct bar *out)
{
    struct bar t;

    if (rest == NULL || s == NULL || out == NULL ||
        rest->source != BAR_SRC_REST || !bar_strs_ok(rest) ||
        !series_ok(s) || !live_source(s->source) ||
        rest->interval_s != s->interval_s ||
        !eq_nocase(rest->market, s->market) ||
        !eq_nocase(rest->base, s->base) ||
        !eq_nocase(rest->quote, s->quote)) {
        return MD_E_INVAL;
    }
    memset(&t, 0, sizeof t);
    copy_str(t.market, sizeof t.market, s->market);
    copy_str(t.base, sizeof t.base, s->base);
    copy_str(t.quote, sizeof t.quote, s->quote);
    t.interval_s = s->interval_s;
    t.source = s->source;
    t.start_ms = rest->start_ms;
    t.end_ms = rest->end_ms;
    t.revision = 0;
    take_values(rest, &t);
    *out = t;
    return MD_OK;
}

int rp_prev_close(const struct bar *bars, size_t n, int64_t live_start_ms,
                  double *close, int64_t *end_ms)
{
    const struct bar *best = NULL;
    size_t i;

    if ((bars == NULL && n > 0) || close == NULL) {
        return MD_E_INVAL;
    }
    for (i = 0; i < n; i++) {
        const struct bar *b = &bars[i];
        if ((b->has & BAR_HAS_OHLC) && b->end_ms <= live_start_ms &&
            (best == NULL || b->end_ms > best->end_ms)) {
            best = b;
        }
    }
    if (best == NULL) {
        return MD_E_NOTFOUND;
    }
    *close = best->close;
    if (end_ms != NULL) {
        *end_ms = best->end_ms;
    }
    return MD_OK;
}
