/* rest.c: the min-api REST answers of `ccstream serve`. See rest.h and
 * docs/serve.md ("REST"). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agg.h"
#include "bar_codec.h"
#include "bar_num.h"
#include "book.h"
#include "cc_decode.h"
#include "cc_json.h"
#include "feed.h"
#include "jbuf.h"
#include "md_err.h"
#include "rest.h"

#define NS INT64_C(1000000000)
#define MINUTE_DEPTH_S (7 * 86400) /* minute data is kept 7 days */
#define LIMIT_MAX 2000
#define MAX_KEYS 4096

static const int64_t win_s[SREST_W__COUNT] = {1, 60, 3600, 86400,
                                              30 * 86400};
static const char *const win_name[SREST_W__COUNT] = {
    "second", "minute", "hour", "day", "month"};

struct key_calls {
    char key[128];
    int64_t win[SREST_W__COUNT];    /* index of the current window */
    uint64_t calls[SREST_W__COUNT]; /* in it */
    uint64_t total;
};

struct srest {
    const struct src *s;
    struct srest_cfg cfg;
    struct key_calls *keys;
    size_t n_keys;
    struct srest_stats st;
    /* the bars the aggregator made up to cache_t (source time) */
    struct bar *bars;
    size_t n_bars, cap_bars;
    int64_t cache_t;
    bool cached;
};

void srest_cfg_default(struct srest_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->max_calls[SREST_W_SECOND] = 20;
    c->max_calls[SREST_W_MINUTE] = 300;
    c->max_calls[SREST_W_HOUR] = 3000;
    c->max_calls[SREST_W_DAY] = 7500;
    c->max_calls[SREST_W_MONTH] = 50000;
}

int srest_new(const struct src *s, const struct srest_cfg *cfg,
              struct srest **r, char *errbuf, size_t errlen)
{
    struct srest *x = calloc(1, sizeof *x);

    *r = NULL;
    if (x == NULL) {
        snprintf(errbuf, errlen, "out of memory");
        return MD_E_NOMEM;
    }
    x->s = s;
    x->cfg = *cfg;
    *r = x;
    return MD_OK;
}

void srest_free(struct srest *r)
{
    if (r != NULL) {
        free(r->keys);
        free(r->bars);
        free(r);
    }
}

void srest_stats(const struct srest *r, struct srest_stats *st)
{
    if (r == NULL) {
        memset(st, 0, sizeof *st);
        return;
    }
    *st = r->st;
}

/* ---- the query ----------------------------------------------------------- */

/* The value of name in query (%-decoded, '+' as space) into out; 1 if
 * present, 0 if not. */
static int qget(const char *query, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = query;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, '&');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > nl && p[nl] == '=' && strncmp(p, name, nl) == 0) {
            size_t i, k = 0;
            for (i = nl + 1; i < n && k + 1 < cap; i++) {
                char c = p[i];
                if (c == '%' && i + 2 < n + 1 && isxdigit((unsigned char)p[i + 1]) &&
                    isxdigit((unsigned char)p[i + 2])) {
                    char hx[3] = {p[i + 1], p[i + 2], 0};
                    c = (char)strtol(hx, NULL, 16);
                    i += 2;
                } else if (c == '+') {
                    c = ' ';
                }
                out[k++] = c;
            }
            out[k] = '\0';
            return 1;
        }
        p = end ? end + 1 : NULL;
    }
    out[0] = '\0';
    return 0;
}

/* A whole number parameter: 1 and *v if present and valid; 0 absent; -1
 * present but not a whole number. */
static int qint(const char *query, const char *name, int64_t *v)
{
    char t[32], *e;
    long long x;

    if (!qget(query, name, t, sizeof t)) {
        return 0;
    }
    if (t[0] == '\0') {
        return -1;
    }
    x = strtoll(t, &e, 10);
    if (*e != '\0') {
        return -1;
    }
    *v = x;
    return 1;
}

/* ---- envelopes ------------------------------------------------------------ */

static void envelope_error(struct jb *b, const char *msg, int type,
                           const char *param, const char *warning)
{
    jb_s(b, "{\"Response\":\"Error\",\"Message\":");
    jb_str(b, msg, strlen(msg));
    jb_s(b, warning ? ",\"HasWarning\":true" : ",\"HasWarning\":false");
    jb_s(b, ",\"Type\":");
    jb_i64(b, type);
    jb_s(b, ",\"RateLimit\":{},\"Data\":{}");
    if (param != NULL) {
        jb_s(b, ",\"ParamWithError\":");
        jb_str(b, param, strlen(param));
    }
    if (warning != NULL) {
        jb_s(b, ",\"Warning\":");
        jb_str(b, warning, strlen(warning));
    }
    jb_s(b, "}");
}

static void headers(struct srest_resp *out, bool ok)
{
    static const struct srest_hdr common[] = {
        {"Server", "nginx"},
        {"Vary", "Accept-Encoding"},
        {"Content-Security-Policy", "frame-ancestors 'none'"},
        {"Access-Control-Allow-Origin", "*"},
        {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
        {"Access-Control-Allow-Headers",
         "Content-Type, Cookie, Set-Cookie, Authorization"},
        {"Access-Control-Allow-Credentials", "true"},
        {"X-CryptoCompare-Cache-HIT", "false"},
        {"X-CryptoCompare-Server-Id", "ccstream-serve"},
    };
    size_t i;

    out->n_hdr = 0;
    for (i = 0; i < sizeof common / sizeof common[0]; i++) {
        out->hdr[out->n_hdr++] = common[i];
    }
    out->hdr[out->n_hdr].name = "Cache-Control";
    out->hdr[out->n_hdr++].value = ok ? "public, max-age=10"
                                      : "no-cache, no-store";
}

static int finish(struct srest *r, struct jb *b, int status, bool ok,
                  struct srest_resp *out)
{
    int rc = jb_ok(b);

    if (rc != MD_OK) {
        return rc;
    }
    out->status = status;
    out->body = b->p;
    out->len = b->len;
    headers(out, ok);
    if (!ok) {
        r->st.errors++;
    }
    return MD_OK;
}

static int answer_error(struct srest *r, const char *msg, int type,
                        const char *param, struct srest_resp *out)
{
    struct jb b = {0};

    envelope_error(&b, msg, type, param, NULL);
    return finish(r, &b, 200, false, out);
}

/* ---- rate limits ---------------------------------------------------------- */

static struct key_calls *calls_of(struct srest *r, const char *key)
{
    size_t i;
    struct key_calls *k;

    for (i = 0; i < r->n_keys; i++) {
        if (strcmp(r->keys[i].key, key) == 0) {
            return &r->keys[i];
        }
    }
    if (r->n_keys == MAX_KEYS) {
        return &r->keys[r->n_keys - 1]; /* the rest share the last */
    }
    k = realloc(r->keys, (r->n_keys + 1) * sizeof *k);
    if (k == NULL) {
        return NULL;
    }
    r->keys = k;
    k = &r->keys[r->n_keys++];
    memset(k, 0, sizeof *k);
    snprintf(k->key, sizeof k->key, "%s", key);
    return k;
}

/* Count the call; 1 if it is over a limit. */
static int count_call(struct srest *r, struct key_calls *k, int64_t wall_ns)
{
    int over = 0, w;

    for (w = 0; w < SREST_W__COUNT; w++) {
        int64_t idx = wall_ns / (win_s[w] * NS);
        if (k->win[w] != idx) {
            k->win[w] = idx;
            k->calls[w] = 0;
        }
        k->calls[w]++;
        if (r->cfg.max_calls[w] != 0 && k->calls[w] > r->cfg.max_calls[w]) {
            over = 1;
        }
    }
    k->total++;
    return over;
}

static void calls_json(struct jb *b, const struct key_calls *k,
                       const struct srest_cfg *cfg, bool left, bool total)
{
    int w;

    jb_s(b, "{");
    for (w = 0; w < SREST_W__COUNT; w++) {
        int64_t v = (int64_t)k->calls[w];
        if (left) {
            v = cfg->max_calls[w] == 0
                    ? INT64_C(999999999)
                    : (int64_t)cfg->max_calls[w] - (int64_t)k->calls[w];
            if (v < 0) {
                v = 0;
            }
        }
        if (w > 0) {
            jb_s(b, ",");
        }
        jb_s(b, "\"");
        jb_s(b, win_name[w]);
        jb_s(b, "\":");
        jb_i64(b, v);
    }
    if (total) {
        jb_s(b, ",\"total_calls\":");
        jb_i64(b, (int64_t)k->total);
    }
    jb_s(b, "}");
}

static void max_json(struct jb *b, const struct srest_cfg *cfg)
{
    int w;

    jb_s(b, "{");
    for (w = 0; w < SREST_W__COUNT; w++) {
        if (w > 0) {
            jb_s(b, ",");
        }
        jb_s(b, "\"");
        jb_s(b, win_name[w]);
        jb_s(b, "\":");
        jb_i64(b, (int64_t)cfg->max_calls[w]);
    }
    jb_s(b, "}");
}

/* ---- the aggregator over the source --------------------------------------- */

static int bar_cmp(const void *pa, const void *pb)
{
    const struct bar *a = pa, *b = pb;
    int c = (int)a->source - (int)b->source;

    if (c == 0) {
        c = strcmp(a->market, b->market);
    }
    if (c == 0) {
        c = strcmp(a->base, b->base);
    }
    if (c == 0) {
        c = strcmp(a->quote, b->quote);
    }
    if (c == 0) {
        c = a->interval_s < b->interval_s ? -1 : a->interval_s > b->interval_s;
    }
    if (c == 0) {
        c = a->start_ms < b->start_ms ? -1 : a->start_ms > b->start_ms;
    }
    return c;
}

static int keep_bars(struct srest *r, const struct agg_out *o)
{
    size_t i;

    for (i = 0; i < o->n; i++) {
        if (r->n_bars == r->cap_bars) {
            size_t cap = r->cap_bars ? r->cap_bars * 2 : 1024;
            struct bar *v = realloc(r->bars, cap * sizeof *v);
            if (v == NULL) {
                return MD_E_NOMEM;
            }
            r->bars = v;
            r->cap_bars = cap;
        }
        r->bars[r->n_bars++] = o->bars[i];
    }
    return MD_OK;
}

/* The producer opens its first CCCAGG bar at the close of the last
 * complete bar of its REST preflight (CryptoCompare's convention): the
 * preflight answers the source recorded before its first frame seed the
 * aggregator the same way (core.c, the preflight's seed). */
static void seed_from_preflight(const struct src *s, struct feed *f)
{
    size_t i, k;
    struct cc_bar bars[64];

    for (i = 0; i < s->n_rest; i++) {
        const struct src_rest *rr = &s->rest[i];
        const char *q = strchr(rr->key, '?');
        char fsym[32], tsym[32], e[8];
        struct cc_histo h;
        int64_t best = INT64_MIN, now;
        double close = 0;

        if (q == NULL || rr->t_ns > s->first_ns ||
            (strncmp(rr->key, "GET /data/v2/histominute?", 25) != 0 &&
             strncmp(rr->key, "GET /data/histominute?", 22) != 0) ||
            qget(q + 1, "e", e, sizeof e) ||
            !qget(q + 1, "fsym", fsym, sizeof fsym) ||
            !qget(q + 1, "tsym", tsym, sizeof tsym)) {
            continue;
        }
        memset(&h, 0, sizeof h);
        if (cc_rest_histo(rr->body, rr->len, rr->status, &h, bars,
                          sizeof bars / sizeof bars[0], NULL) != MD_OK) {
            continue;
        }
        now = s->first_ns;
        for (k = 0; k < h.n_bars && k < sizeof bars / sizeof bars[0]; k++) {
            const struct cc_bar *cb = &bars[k];
            if ((cb->has & CC_BAR_TIME) && (cb->has & CC_BAR_CLOSE) &&
                cb->time > best && (cb->time + 60) * NS <= now &&
                cb->close.d > 0) {
                best = cb->time;
                close = cb->close.d;
            }
        }
        if (best != INT64_MIN) {
            (void)agg_seed_close(&f->agg, fsym, tsym, 60, (best + 60) * NS,
                                 close);
        }
    }
}

/* Every bar the producer's aggregator makes of the source's frames up to
 * source time t: the closed ones in their last revision and the open ones
 * as they stand (the partial bars). Sorted by series and start, one bar
 * per bucket. Cached per second of t. */
static int compute_bars(struct srest *r, int64_t t)
{
    const struct src *s = r->s;
    struct agg_config cfg;
    struct feed *f;
    void *mem;
    size_t sz, i, k;
    struct bar out_bars[256];
    struct agg_out o;
    int rc = MD_OK;
    bool in_snapshots = false;

    if (r->cached && r->cache_t / NS == t / NS) {
        return MD_OK;
    }
    agg_config_default(&cfg);
    cfg.intervals_s[0] = 60;
    cfg.intervals_s[1] = 3600;
    cfg.n_intervals = 2;
    cfg.emit_empty = true;
    cfg.max_streams = (unsigned)(s->n_subs + 4);
    sz = feed_mem_size(&cfg, (unsigned)(s->n_subs + 4));
    f = malloc(sizeof *f);
    mem = malloc(sz);
    if (f == NULL || mem == NULL || sz == SIZE_MAX) {
        free(f);
        free(mem);
        return MD_E_NOMEM;
    }
    if ((rc = feed_init(f, &cfg, (unsigned)(s->n_subs + 4), mem, sz)) !=
        MD_OK) {
        goto out;
    }
    seed_from_preflight(s, f);
    r->n_bars = 0;
    o.bars = out_bars;
    o.cap = sizeof out_bars / sizeof out_bars[0];
    for (i = 0; i < s->n_frames && s->frames[i].t_ns <= t; i++) {
        const struct src_frame *fr = &s->frames[i];
        struct feed_result res;
        if (i == 0) {
            /* the source's clock is server time */
            feed_set_clock(f, fr->t_ns / 1000000, fr->t_ns);
        }
        if (fr->flags & SRC_F_SNAPSHOT) {
            if (!in_snapshots && i > 0) {
                feed_resubscribed(f); /* a reconnect's new snapshots */
            }
            in_snapshots = true;
        } else if (s->subs[fr->sub].type != 0) {
            in_snapshots = false;
        }
        (void)feed_frame(f, src_payload(s, fr), fr->len, fr->t_ns, &res);
        do {
            o.n = 0;
            rc = agg_advance(&f->agg, fr->t_ns, &o);
            if (keep_bars(r, &o) != MD_OK) {
                rc = MD_E_NOMEM;
                goto out;
            }
        } while (rc == MD_E_FULL);
    }
    do {
        o.n = 0;
        rc = agg_advance(&f->agg, t, &o);
        if (keep_bars(r, &o) != MD_OK) {
            rc = MD_E_NOMEM;
            goto out;
        }
    } while (rc == MD_E_FULL);
    do {
        o.n = 0;
        rc = agg_flush(&f->agg, &o);
        if (keep_bars(r, &o) != MD_OK) {
            rc = MD_E_NOMEM;
            goto out;
        }
    } while (rc == MD_E_FULL);
    rc = MD_OK;
    /* one bar per bucket: the last emitted (a revision, or the flush) */
    for (i = 0; i < r->n_bars; i++) {
        r->bars[i].trades = i; /* emission order, for the stable choice */
    }
    qsort(r->bars, r->n_bars, sizeof *r->bars, bar_cmp);
    for (i = 0, k = 0; i < r->n_bars; i++) {
        if (k > 0 && bar_cmp(&r->bars[k - 1], &r->bars[i]) == 0) {
            if (r->bars[i].trades > r->bars[k - 1].trades) {
                r->bars[k - 1] = r->bars[i];
            }
            continue;
        }
        r->bars[k++] = r->bars[i];
    }
    r->n_bars = k;
    r->cache_t = t;
    r->cached = true;
out:
    free(mem);
    free(f);
    return rc;
}

/* The bars of one series, sorted by start; n in *n. */
static const struct bar *series(const struct srest *r, int source,
                                const char *market, const char *base,
                                const char *quote, int64_t interval_s,
                                size_t *n)
{
    size_t i, first = SIZE_MAX, count = 0;

    for (i = 0; i < r->n_bars; i++) {
        const struct bar *b = &r->bars[i];
        if (b->source == source && b->interval_s == interval_s &&
            strcmp(b->market, market) == 0 && strcmp(b->base, base) == 0 &&
            strcmp(b->quote, quote) == 0) {
            if (first == SIZE_MAX) {
                first = i;
            }
            count++;
        } else if (first != SIZE_MAX) {
            break;
        }
    }
    *n = count;
    return first == SIZE_MAX ? NULL : &r->bars[first];
}

/* ---- what the source has -------------------------------------------------- */

static bool has_symbol(const struct src *s, const char *sym, bool as_quote)
{
    size_t i;

    for (i = 0; i < s->n_subs; i++) {
        if (strcmp(as_quote ? s->subs[i].quote : s->subs[i].base, sym) == 0) {
            return true;
        }
    }
    return false;
}

/* The canonical name of a trade market of the source ("coinbase" ->
 * "Coinbase"), or NULL. */
static const char *trade_market(const struct src *s, const char *m)
{
    size_t i;

    for (i = 0; i < s->n_subs; i++) {
        if (s->subs[i].type == 0 && strcasecmp(s->subs[i].market, m) == 0) {
            return s->subs[i].market;
        }
    }
    return NULL;
}

static long sub_for(const struct src *s, int type, const char *market,
                    const char *base, const char *quote)
{
    size_t i;

    for (i = 0; i < s->n_subs; i++) {
        const struct src_sub *u = &s->subs[i];
        if (u->type == type && strcasecmp(u->market, market) == 0 &&
            strcmp(u->base, base) == 0 && strcmp(u->quote, quote) == 0) {
            return (long)i;
        }
    }
    return -1;
}

/* ---- histo ---------------------------------------------------------------- */

static void bar_json(struct jb *b, int64_t time_s, const struct bar *x)
{
    char t[64];

    jb_s(b, "{\"time\":");
    jb_i64(b, time_s);
    if (x == NULL) {
        jb_s(b, ",\"high\":0,\"low\":0,\"open\":0,\"volumefrom\":0,"
                "\"volumeto\":0,\"close\":0,\"conversionType\":\"direct\","
                "\"conversionSymbol\":\"\"}");
        return;
    }
    jb_s(b, ",\"high\":");
    jb_dbl(b, x->high);
    jb_s(b, ",\"low\":");
    jb_dbl(b, x->low);
    jb_s(b, ",\"open\":");
    jb_dbl(b, x->open);
    jb_s(b, ",\"volumefrom\":");
    if (bar_scaled_to_text(x->volume, BAR_VOL_DIGITS, t, sizeof t) > 0) {
        jb_dbl(b, strtod(t, NULL));
    } else {
        jb_s(b, "0");
    }
    jb_s(b, ",\"volumeto\":");
    if (bar_scaled_to_text(x->quote_volume, BAR_NOTIONAL_DIGITS, t,
                           sizeof t) > 0) {
        jb_dbl(b, strtod(t, NULL));
    } else {
        jb_s(b, "0");
    }
    jb_s(b, ",\"close\":");
    jb_dbl(b, x->close);
    jb_s(b, ",\"conversionType\":\"direct\",\"conversionSymbol\":\"\"}");
}

static int histo(struct srest *r, const struct srest_req *q, bool v2,
                 int64_t interval_s, struct srest_resp *out)
{
    const struct src *s = r->s;
    char fsym[32], tsym[32], e[64], msg[200];
    int64_t limit = interval_s == 60 ? 1440 : 168, to_ts, aggregate = 1;
    int64_t now_s = q->src_now_ns / NS, bucket, last, first, shift = q->shift_s;
    const char *market = "CCCAGG";
    int source = BAR_SRC_CCCAGG, rc;
    const struct bar *ser;
    size_t n, i, j;
    struct jb b = {0};
    double prev_close = 0;
    bool have_prev = false;

    if (!qget(q->query, "fsym", fsym, sizeof fsym) || fsym[0] == '\0') {
        return answer_error(r, "fsym param seems to be missing.", 2, "fsym",
                            out);
    }
    if (!qget(q->query, "tsym", tsym, sizeof tsym) || tsym[0] == '\0') {
        return answer_error(r, "tsym param seems to be missing.", 2, "tsym",
                            out);
    }
    if ((rc = qint(q->query, "limit", &limit)) < 0 || limit < 1) {
        if (rc != 0) {
            return answer_error(r, "limit param is not a valid number "
                                   "between 1 and 2000.",
                                2, "limit", out);
        }
    }
    if (qint(q->query, "aggregate", &aggregate) < 0 || aggregate < 1 ||
        aggregate > 30 * 24) {
        return answer_error(r, "aggregate param is not a valid number.", 2,
                            "aggregate", out);
    }
    if (limit > LIMIT_MAX) {
        limit = LIMIT_MAX;
    }
    if (limit * aggregate > LIMIT_MAX) {
        limit = LIMIT_MAX / aggregate;
    }
    if (!has_symbol(s, fsym, false)) {
        snprintf(msg, sizeof msg, "There is no data for the symbol %s .",
                 fsym);
        return answer_error(r, msg, 2, "fsym", out);
    }
    if (!has_symbol(s, tsym, true)) {
        snprintf(msg, sizeof msg, "There is no data for the toSymbol %s .",
                 tsym);
        return answer_error(r, msg, 2, "tsym", out);
    }
    if (qget(q->query, "e", e, sizeof e) && e[0] != '\0' &&
        strcasecmp(e, "CCCAGG") != 0) {
        const char *m = trade_market(s, e);
        if (m == NULL || sub_for(s, 0, m, fsym, tsym) < 0) {
            size_t k;
            for (k = 0; e[k] != '\0'; k++) {
                e[k] = (char)tolower((unsigned char)e[k]);
            }
            snprintf(msg, sizeof msg, "%s market does not exist for this "
                     "coin pair (%s-%s)", e, fsym, tsym);
            return answer_error(r, msg, 2, "e", out);
        }
        market = m;
        source = BAR_SRC_TRADES;
    } else if (sub_for(s, 5, "CCCAGG", fsym, tsym) < 0) {
        snprintf(msg, sizeof msg, "CCCAGG market does not exist for this "
                 "coin pair (%s-%s)", fsym, tsym);
        return answer_error(r, msg, 2, "e", out);
    }
    to_ts = now_s;
    if ((rc = qint(q->query, "toTs", &to_ts)) < 0 ||
        (rc > 0 && (to_ts < 0 || to_ts > INT64_C(100000000000)))) {
        return answer_error(r, "toTs param is not a valid timestamp.", 2,
                            "toTs", out);
    }
    if (rc > 0) {
        to_ts -= shift; /* served time to source time */
    }
    if (to_ts > now_s) {
        to_ts = now_s;
    }
    if (interval_s == 60 && to_ts < now_s - MINUTE_DEPTH_S) {
        return answer_error(r, "Minute data is only available for the last "
                               "7 days.",
                            2, "toTs", out);
    }
    if ((rc = compute_bars(r, q->src_now_ns)) != MD_OK) {
        return rc;
    }
    ser = series(r, source, market, fsym, tsym, interval_s, &n);
    bucket = interval_s * aggregate;
    last = (to_ts >= 0 ? to_ts / bucket : (to_ts - bucket + 1) / bucket) *
           bucket;
    first = last - limit * bucket;
    /* the close before the first bucket, for flat bars over a gap */
    if (v2) {
        jb_s(&b, "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":"
                 "false,\"Type\":100,\"RateLimit\":{},\"Data\":{"
                 "\"Aggregated\":");
        jb_s(&b, aggregate > 1 ? "true" : "false");
        jb_s(&b, ",\"TimeFrom\":");
        jb_i64(&b, first + shift);
        jb_s(&b, ",\"TimeTo\":");
        jb_i64(&b, last + shift);
        jb_s(&b, ",\"Data\":[");
    } else {
        jb_s(&b, "{\"Response\":\"Success\",\"Type\":100,\"Aggregated\":");
        jb_s(&b, aggregate > 1 ? "true" : "false");
        jb_s(&b, ",\"TimeTo\":");
        jb_i64(&b, last + shift);
        jb_s(&b, ",\"TimeFrom\":");
        jb_i64(&b, first + shift);
        jb_s(&b, ",\"FirstValueInArray\":true,\"ConversionType\":{\"type\":"
                 "\"direct\",\"conversionSymbol\":\"\"},\"Data\":[");
    }
    j = 0;
    for (i = 0; i < n && ser[i].start_ms / 1000 < first; i++) {
        prev_close = ser[i].close;
        have_prev = true;
    }
    j = i;
    for (int64_t t0 = first; t0 <= last; t0 += bucket) {
        struct bar agg;
        bool any = false;
        memset(&agg, 0, sizeof agg);
        /* the base bars of [t0, t0 + bucket) */
        while (j < n && ser[j].start_ms / 1000 < t0 + bucket) {
            const struct bar *x = &ser[j++];
            if (!any) {
                agg = *x;
                any = true;
            } else {
                if (x->high > agg.high) {
                    agg.high = x->high;
                }
                if (x->low < agg.low) {
                    agg.low = x->low;
                }
                agg.close = x->close;
                agg.volume += x->volume;
                agg.quote_volume += x->quote_volume;
            }
        }
        if (t0 > first) {
            jb_s(&b, ",");
        }
        if (any) {
            bar_json(&b, t0 + shift, &agg);
            prev_close = agg.close;
            have_prev = true;
        } else if (have_prev) {
            /* no trade in the bucket: flat at the last close */
            memset(&agg, 0, sizeof agg);
            agg.open = agg.high = agg.low = agg.close = prev_close;
            bar_json(&b, t0 + shift, &agg);
        } else {
            bar_json(&b, t0 + shift, NULL); /* before the pair existed */
        }
    }
    if (v2) {
        jb_s(&b, "]}}");
    } else {
        jb_s(&b, "],\"RateLimit\":{},\"HasWarning\":false}");
    }
    r->st.synthesised++;
    return finish(r, &b, 200, true, out);
}

/* ---- prices --------------------------------------------------------------- */

/* The price of fsym in tsym at t: the CCCAGG PRICE, or with a market the
 * last trade's P. 1 and *txt (the number as recorded) if known. */
static int price_of(const struct src *s, const char *market, const char *fsym,
                    const char *tsym, int64_t t, char *txt, size_t cap)
{
    struct src_member m[SRC_MERGE_MAX];
    const struct src_member *p;
    long sub;
    size_t n;

    if (market != NULL) {
        size_t i, end = src_frame_after(s, t);
        sub = sub_for(s, 0, market, fsym, tsym);
        if (sub < 0) {
            return 0;
        }
        for (i = end; i > 0; i--) {
            const struct src_frame *f = &s->frames[i - 1];
            if (f->sub == (uint32_t)sub) {
                struct cc_msg msg;
                if (cc_ws_decode(src_payload(s, f), f->len, &msg, NULL) ==
                        MD_OK &&
                    (msg.u.trade.has & CC_TR_P)) {
                    bar_fmt_double(msg.u.trade.p.d, txt);
                    return 1;
                }
            }
        }
        return 0;
    }
    sub = sub_for(s, 5, "CCCAGG", fsym, tsym);
    if (sub < 0) {
        return 0;
    }
    n = src_merged(s, sub, t, m);
    p = src_member_of(m, n, "PRICE");
    if (p == NULL || p->vn + 1 > cap) {
        return 0;
    }
    memcpy(txt, p->v, p->vn);
    txt[p->vn] = '\0';
    return 1;
}

/* Split a comma list into up to max items (in place). */
static size_t split(char *list, char **items, size_t max)
{
    size_t n = 0;
    char *p = list;

    while (*p != '\0' && n < max) {
        char *c = strchr(p, ',');
        if (c != NULL) {
            *c = '\0';
        }
        if (*p != '\0') {
            items[n++] = p;
        }
        if (c == NULL) {
            break;
        }
        p = c + 1;
    }
    return n;
}

static int prices(struct srest *r, const struct srest_req *q, int kind,
                  struct srest_resp *out)
{
    /* kind 0 price, 1 pricemulti, 2 pricemultifull */
    const struct src *s = r->s;
    char fl[512], tl[512], e[64], *fs[64], *ts[64], txt[64], msg[700];
    const char *market = NULL;
    size_t nf, nt, i, k, found = 0;
    struct jb b = {0};

    if (!qget(q->query, kind == 0 ? "fsym" : "fsyms", fl, sizeof fl) ||
        fl[0] == '\0') {
        snprintf(msg, sizeof msg, "%s param seems to be missing.",
                 kind == 0 ? "fsym" : "fsyms");
        return answer_error(r, msg, 2, kind == 0 ? "fsym" : "fsyms", out);
    }
    if (!qget(q->query, "tsyms", tl, sizeof tl) || tl[0] == '\0') {
        return answer_error(r, "tsyms param seems to be missing.", 2,
                            "tsyms", out);
    }
    if (qget(q->query, "e", e, sizeof e) && e[0] != '\0' &&
        strcasecmp(e, "CCCAGG") != 0) {
        market = trade_market(s, e);
        if (market == NULL) {
            snprintf(msg, sizeof msg, "%.60s market does not exist for "
                     "this coin pair (%.60s-%.60s)", e, fl, tl);
            return answer_error(r, msg, 2, "e", out);
        }
    }
    nf = split(fl, fs, 64);
    nt = split(tl, ts, 64);
    if (kind == 0) {
        if (!has_symbol(s, fs[0], false)) {
            snprintf(msg, sizeof msg, "There is no data for the symbol %s .",
                     fs[0]);
            return answer_error(r, msg, 2, "fsym", out);
        }
        jb_s(&b, "{");
        for (k = 0; k < nt; k++) {
            if (price_of(s, market, fs[0], ts[k], q->src_now_ns, txt,
                         sizeof txt)) {
                jb_s(&b, found++ ? "," : "");
                jb_str(&b, ts[k], strlen(ts[k]));
                jb_s(&b, ":");
                jb_s(&b, txt);
            }
        }
        jb_s(&b, "}");
    } else if (kind == 1) {
        jb_s(&b, "{");
        for (i = 0; i < nf; i++) {
            size_t got = 0;
            for (k = 0; k < nt; k++) {
                if (price_of(s, market, fs[i], ts[k], q->src_now_ns, txt,
                             sizeof txt)) {
                    if (got++ == 0) {
                        jb_s(&b, found++ ? "," : "");
                        jb_str(&b, fs[i], strlen(fs[i]));
                        jb_s(&b, ":{");
                    } else {
                        jb_s(&b, ",");
                    }
                    jb_str(&b, ts[k], strlen(ts[k]));
                    jb_s(&b, ":");
                    jb_s(&b, txt);
                }
            }
            if (got > 0) {
                jb_s(&b, "}");
            }
        }
        jb_s(&b, "}");
    } else {
        jb_s(&b, "{\"RAW\":{");
        for (i = 0; i < nf; i++) {
            size_t got = 0;
            for (k = 0; k < nt; k++) {
                struct src_member m[SRC_MERGE_MAX];
                long sub = sub_for(s, 5, "CCCAGG", fs[i], ts[k]);
                size_t nm, x;
                if (sub < 0 ||
                    (nm = src_merged(s, sub, q->src_now_ns, m)) == 0) {
                    continue;
                }
                if (got++ == 0) {
                    jb_s(&b, found++ ? "," : "");
                    jb_str(&b, fs[i], strlen(fs[i]));
                    jb_s(&b, ":{");
                } else {
                    jb_s(&b, ",");
                }
                jb_str(&b, ts[k], strlen(ts[k]));
                jb_s(&b, ":{");
                for (x = 0; x < nm; x++) {
                    jb_s(&b, x ? ",\"" : "\"");
                    jb_put(&b, m[x].k, m[x].kn);
                    jb_s(&b, "\":");
                    if (m[x].kn == 5 && memcmp(m[x].k, "FLAGS", 5) == 0 &&
                        m[x].v[0] != '"') {
                        /* REST spells FLAGS as a string */
                        jb_s(&b, "\"");
                        jb_put(&b, m[x].v, m[x].vn);
                        jb_s(&b, "\"");
                    } else if (m[x].kn == 10 &&
                               memcmp(m[x].k, "LASTUPDATE", 10) == 0 &&
                               m[x].v[0] >= '0' && m[x].v[0] <= '9') {
                        jb_i64(&b, strtoll(m[x].v, NULL, 10) + q->shift_s);
                    } else {
                        jb_put(&b, m[x].v, m[x].vn);
                    }
                }
                jb_s(&b, "}");
            }
            if (got > 0) {
                jb_s(&b, "}");
            }
        }
        jb_s(&b, "}}");
    }
    if (found == 0) {
        jb_free(&b);
        if (kind != 0) {
            snprintf(msg, sizeof msg, "There is no data for any of the "
                     "fromSymbols %.300s .", fl);
            return answer_error(r, msg, 2, "fsyms", out);
        }
        snprintf(msg, sizeof msg, "There is no data for any of the "
                 "toSymbols %.300s .", tl);
        envelope_error(&b, msg, 2, "tsyms", msg);
        return finish(r, &b, 200, false, out);
    }
    r->st.synthesised++;
    return finish(r, &b, 200, true, out);
}

/* ---- recorded answers ------------------------------------------------------- */

/* body with every "time", "TimeFrom", "TimeTo", "LASTUPDATE" integer
 * shifted by shift seconds. */
static int shifted_body(const char *body, size_t len, int64_t shift,
                        struct jb *b)
{
    static const char *const keys[] = {"\"time\":", "\"TimeFrom\":",
                                       "\"TimeTo\":", "\"LASTUPDATE\":"};
    size_t i = 0, at = 0;

    while (i < len) {
        size_t k, matched = 0;
        if (body[i] != '"') {
            i++;
            continue;
        }
        for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            size_t kl = strlen(keys[k]);
            if (len - i >= kl && memcmp(body + i, keys[k], kl) == 0) {
                matched = kl;
                break;
            }
        }
        if (matched == 0) {
            i++;
            continue;
        }
        i += matched;
        {
            size_t d = i;
            while (d < len && body[d] >= '0' && body[d] <= '9') {
                d++;
            }
            if (d > i && d - i < 19 && shift != 0) {
                jb_put(b, body + at, i - at);
                jb_i64(b, strtoll(body + i, NULL, 10) + shift);
                at = d;
            }
            i = d;
        }
    }
    jb_put(b, body + at, len - at);
    return jb_ok(b);
}

static int recorded(struct srest *r, const struct srest_req *q,
                    struct srest_resp *out, bool *done)
{
    char url[8192];
    char *key;
    const struct src_rest *rec;
    struct jb b = {0};
    int64_t to;
    int rc;

    *done = false;
    if (r->cfg.no_recorded || r->s->n_rest == 0) {
        return MD_OK;
    }
    /* the query with toTs back in source time */
    {
        const char *p = q->query;
        size_t n = (size_t)snprintf(url, sizeof url, "%s?", q->path);
        while (p != NULL && *p != '\0' && n < sizeof url) {
            const char *end = strchr(p, '&');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len > 5 && strncmp(p, "toTs=", 5) == 0 &&
                qint(q->query, "toTs", &to) > 0) {
                n += (size_t)snprintf(url + n, sizeof url - n, "%stoTs=%"
                                      PRId64, url[n - 1] == '?' ? "" : "&",
                                      to - q->shift_s);
            } else {
                n += (size_t)snprintf(url + n, sizeof url - n, "%s%.*s",
                                      url[n - 1] == '?' ? "" : "&", (int)len,
                                      p);
            }
            p = end ? end + 1 : NULL;
        }
        if (n >= sizeof url) {
            return MD_OK;
        }
        if (url[n - 1] == '?') {
            url[n - 1] = '\0';
        }
    }
    key = request_key(q->method, url);
    if (key == NULL) {
        return MD_E_NOMEM;
    }
    rec = src_rest_find(r->s, key, q->src_now_ns);
    free(key);
    if (rec == NULL) {
        return MD_OK;
    }
    if ((rc = shifted_body(rec->body, rec->len, q->shift_s, &b)) != MD_OK) {
        return rc;
    }
    out->status = rec->status;
    out->body = b.p;
    out->len = b.len;
    out->recorded = true;
    headers(out, rec->status == 200 && strstr(b.p, "\"Error\"") == NULL);
    r->st.recorded++;
    *done = true;
    return MD_OK;
}

/* ---- the entry point ---------------------------------------------------- */

int srest_answer(struct srest *r, const struct srest_req *q,
                 struct srest_resp *out)
{
    struct key_calls *k;
    struct jb b = {0};
    bool done;
    int rc;

    memset(out, 0, sizeof *out);
    r->st.requests++;
    if (q->key == NULL && r->cfg.auth_mode == 2026) {
        static const char body[] =
            "{\"Data\":{},\"Err\":{\"type\":2,\"message\":\"API key "
            "required, please refer to the documentation at "
            "https://developers.coindesk.com/\",\"http_status_code\":401,"
            "\"frontend\":{\"type\":2,\"message\":\"API key required, "
            "please refer to the documentation at "
            "https://developers.coindesk.com/\"}}}";
        jb_put(&b, body, sizeof body - 1);
        return finish(r, &b, 401, false, out);
    }
    k = calls_of(r, q->key != NULL ? q->key : "");
    if (k == NULL) {
        return MD_E_NOMEM;
    }
    if (count_call(r, k, q->wall_ns)) {
        r->st.rate_limited++;
        jb_s(&b, "{\"Response\":\"Error\",\"Message\":\"You are over your "
                 "rate limit please upgrade your account!\",\"HasWarning\":"
                 "false,\"Type\":99,\"RateLimit\":{\"calls_made\":");
        calls_json(&b, k, &r->cfg, false, true);
        jb_s(&b, ",\"max_calls\":");
        max_json(&b, &r->cfg);
        jb_s(&b, "},\"Data\":{}}");
        return finish(r, &b, 200, false, out);
    }
    if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "POST") != 0) {
        return answer_error(r, "Path does not exist", 1, NULL, out);
    }
    if (strcmp(q->path, "/stats/rate/limit") == 0) {
        if (q->key == NULL) {
            return answer_error(r, "You need a valid auth key or api key to "
                                   "access this endpoint",
                                1, NULL, out);
        }
        jb_s(&b, "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":"
                 "false,\"Type\":100,\"RateLimit\":{},\"Data\":{"
                 "\"calls_made\":");
        calls_json(&b, k, &r->cfg, false, false);
        jb_s(&b, ",\"calls_left\":");
        calls_json(&b, k, &r->cfg, true, false);
        jb_s(&b, "}}");
        return finish(r, &b, 200, true, out);
    }
    if ((rc = recorded(r, q, out, &done)) != MD_OK || done) {
        return rc;
    }
    if (strcmp(q->path, "/data/v2/histominute") == 0) {
        return histo(r, q, true, 60, out);
    }
    if (strcmp(q->path, "/data/histominute") == 0) {
        return histo(r, q, false, 60, out);
    }
    if (strcmp(q->path, "/data/v2/histohour") == 0) {
        return histo(r, q, true, 3600, out);
    }
    if (strcmp(q->path, "/data/histohour") == 0) {
        return histo(r, q, false, 3600, out);
    }
    if (strcmp(q->path, "/data/price") == 0) {
        return prices(r, q, 0, out);
    }
    if (strcmp(q->path, "/data/pricemulti") == 0) {
        return prices(r, q, 1, out);
    }
    if (strcmp(q->path, "/data/pricemultifull") == 0) {
        return prices(r, q, 2, out);
    }
    return answer_error(r, "Path does not exist", 1, NULL, out);
}
