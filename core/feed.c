/* feed.c: decode, classify, merge, aggregate (feed.h). Pure. */
#include <string.h>

#include "feed.h"
#include "fsm_conn.h"
#include "md_err.h"

static size_t index_slots(unsigned max_tickers)
{
    size_t p = 1;

    while (p < (size_t)max_tickers * 2) {
        p <<= 1;
    }
    return p;
}

size_t feed_mem_size(const struct agg_config *cfg, unsigned max_tickers)
{
    size_t n = max_tickers != 0 ? max_tickers : FEED_TICKERS_DEFAULT;
    size_t size = md_mem_add(MD_MEM_ALIGN, md_mem_round(agg_mem_size(cfg)));

    if (n > FEED_TICKERS_LIMIT) {
        return SIZE_MAX;
    }
    size = md_mem_add(size, md_mem_round(n * sizeof(struct cc_ticker_state)));
    size = md_mem_add(size, md_mem_round(n * sizeof(bool)));
    size = md_mem_add(size, md_mem_round(n * sizeof(struct feed_key)));
    size = md_mem_add(size, md_mem_round(index_slots((unsigned)n) *
                                         sizeof(uint32_t)));
    return size;
}

int feed_init(struct feed *f, const struct agg_config *cfg,
              unsigned max_tickers, void *mem, size_t size)
{
    size_t need = feed_mem_size(cfg, max_tickers), asize, nidx;
    struct md_arena ar;
    void *amem;
    int rc;

    memset(f, 0, sizeof *f);
    if (size < need || need == SIZE_MAX) {
        return MD_E_INVAL;
    }
    f->max_tickers = max_tickers != 0 ? max_tickers : FEED_TICKERS_DEFAULT;
    f->want.trade = AGG_TRADE_FIELDS;
    f->want.ticker = AGG_TICKER_FIELDS;
    nidx = index_slots(f->max_tickers);
    asize = agg_mem_size(cfg);
    md_arena_init(&ar, mem, size);
    amem = md_arena_take(&ar, asize);
    f->tk = md_arena_take(&ar, f->max_tickers * sizeof *f->tk);
    f->fresh = md_arena_take(&ar, f->max_tickers * sizeof *f->fresh);
    f->key = md_arena_take(&ar, f->max_tickers * sizeof *f->key);
    f->index = md_arena_take(&ar, nidx * sizeof *f->index);
    if (amem == NULL || f->tk == NULL || f->fresh == NULL ||
        f->key == NULL || f->index == NULL) {
        memset(f, 0, sizeof *f);
        return MD_E_INVAL; /* cannot happen: size was checked */
    }
    rc = agg_init(&f->agg, cfg, amem, asize);
    if (rc != MD_OK) {
        return rc;
    }
    f->index_mask = nidx - 1;
    memset(f->index, 0, nidx * sizeof *f->index);
    return MD_OK;
}

void feed_set_clock_estimate(struct feed *f, int64_t server_ms,
                             mono_ns t_ns)
{
    if (!f->have_offset && server_ms > 0 &&
        server_ms < INT64_MAX / MD_NS_PER_MS) {
        f->offset_ns = server_ms * MD_NS_PER_MS - t_ns;
        f->have_offset = true;
    }
}

int64_t feed_server_ns(const struct feed *f, mono_ns t_ns)
{
    return f->have_offset ? t_ns + f->offset_ns : t_ns;
}

mono_ns feed_local_ns(const struct feed *f, int64_t server_ns)
{
    return f->have_offset ? server_ns - f->offset_ns : server_ns;
}

void feed_resubscribed(struct feed *f)
{
    unsigned i;

    for (i = 0; i < f->n_tickers; i++) {
        f->fresh[i] = true;
    }
}

uint8_t feed_classify(const struct cc_msg *msg)
{
    switch (msg->type) {
    case CC_T_TRADE:
    case CC_T_TICKER:
    case CC_T_CCCAGG:
    case CC_T_OHLC:
        return CONN_I_DATA;
    case CC_T_WELCOME:
        return CONN_I_WELCOME;
    case CC_T_SUB_COMPLETE:
        return CONN_I_SUB_OK;
    case CC_T_LOAD_COMPLETE:
        return CONN_I_LOAD_COMPLETE;
    case CC_T_HEARTBEAT:
        return CONN_I_HEARTBEAT;
    case CC_T_UNAUTHORIZED:
        return CONN_I_UNAUTHORIZED;
    case CC_T_RATE_LIMIT:
        /* Too many subscriptions is about one SubAdd; anything else
         * about sockets, where only a long back-off helps. */
        return msg->u.ctl.code == CC_C_TOO_MANY_SUBSCRIPTIONS
                   ? CONN_I_SUB_REJECTED
                   : CONN_I_TOO_MANY_SOCKETS;
    case CC_T_ERROR:
        switch (msg->u.ctl.code) {
        case CC_C_FORCE_DISCONNECT:
            return CONN_I_FORCE_DISCONNECT;
        case CC_C_INVALID_SUB:
        case CC_C_INVALID_JSON:
        case CC_C_INVALID_PARAMETER:
        case CC_C_SUBSCRIPTION_UNRECOGNIZED:
        case CC_C_SUBSCRIPTION_ALREADY_ACTIVE:
            return CONN_I_SUB_REJECTED;
        case CC_C_NONE:
        case CC_C_OTHER:
        case CC_C_STREAMERWELCOME:
        case CC_C_SUBSCRIBECOMPLETE:
        case CC_C_UNSUBSCRIBECOMPLETE:
        case CC_C_UNSUBSCRIBEALLCOMPLETE:
        case CC_C_LOADCOMPLETE:
        case CC_C_HEARTBEAT:
        case CC_C_UNAUTHORIZED:
        case CC_C_RATE_LIMIT_OPENING_SOCKETS_TOO_FAST:
        case CC_C_TOO_MANY_SOCKETS:
        case CC_C_TOO_MANY_SUBSCRIPTIONS:
        case CC_C__COUNT:
            break;
        }
        return CONN_I_OTHER;
    case CC_T_UNSUB_COMPLETE:
    case CC_T_UNSUB_ALL:
    case CC_T_UNKNOWN:
    case CC_T_NONE:
    case CC_T__COUNT:
        break;
    }
    return CONN_I_OTHER;
}

/* One name of a ticker's key, unescaped: the wire bytes themselves when
 * there is no escape, else a copy in buf. False if it cannot be a key
 * (longer than CC_STATE_STR_MAX, or a bad escape): then the merge would
 * fail too. */
static bool key_name(const struct cc_str *w, char *buf, const char **p,
                     size_t *n)
{
    if (!w->esc) {
        *p = w->p;
        *n = w->len;
        return w->len <= CC_STATE_STR_MAX;
    }
    if (cc_str_unescape(w, buf, CC_STATE_STR_MAX, n) != MD_OK) {
        return false;
    }
    *p = buf;
    return true;
}

static uint64_t hash_name(uint64_t h, const char *p, size_t n)
{
    uint64_t w;

    h = (h ^ n) * UINT64_C(0xbf58476d1ce4e5b9);
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0x94d049bb133111eb);
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, p, n);
        h = (h ^ w) * UINT64_C(0x94d049bb133111eb);
        h ^= h >> 31;
    }
    return h;
}

/* The merge state of a ticker's key, created if new; -1 when the key
 * cannot be one (counted as a merge error) or the table is full (counted
 * as ticker_overflow). */
static int ticker_slot(struct feed *f, const struct cc_ticker *t)
{
    char mb[CC_STATE_STR_MAX], fb[CC_STATE_STR_MAX], tb[CC_STATE_STR_MAX];
    const char *m, *fs, *ts;
    size_t ml, fl, tl, i;
    uint64_t tag;
    struct feed_key *k;

    if (!key_name(&t->market, mb, &m, &ml) ||
        !key_name(&t->fsym, fb, &fs, &fl) ||
        !key_name(&t->tsym, tb, &ts, &tl)) {
        f->st.merge_errors++;
        return -1;
    }
    tag = UINT64_C(0x9e3779b97f4a7c15) * ((uint64_t)(uint32_t)t->type_num + 1);
    tag = hash_name(hash_name(hash_name(tag, m, ml), fs, fl), ts, tl);
    tag ^= tag >> 29;
    for (i = (size_t)tag & f->index_mask; f->index[i] != 0;
         i = (i + 1) & f->index_mask) {
        k = &f->key[f->index[i] - 1];
        if (k->tag == tag && k->type_num == t->type_num &&
            k->market_len == ml && k->fsym_len == fl && k->tsym_len == tl &&
            md_bytes_eq(k->fsym, fs, fl) && md_bytes_eq(k->tsym, ts, tl) &&
            md_bytes_eq(k->market, m, ml)) {
            return (int)(f->index[i] - 1);
        }
    }
    if (f->n_tickers == f->max_tickers) {
        f->st.ticker_overflow++;
        return -1;
    }
    k = &f->key[f->n_tickers];
    k->tag = tag;
    k->type_num = t->type_num;
    k->market_len = (uint8_t)ml;
    k->fsym_len = (uint8_t)fl;
    k->tsym_len = (uint8_t)tl;
    memcpy(k->market, m, ml);
    memcpy(k->fsym, fs, fl);
    memcpy(k->tsym, ts, tl);
    f->index[i] = f->n_tickers + 1;
    cc_ticker_reset(&f->tk[f->n_tickers]);
    f->fresh[f->n_tickers] = true;
    return (int)f->n_tickers++;
}

static int on_ticker(struct feed *f, const struct cc_ticker *t, int64_t now)
{
    uint64_t changed = 0;
    bool fresh;
    int k = ticker_slot(f, t), rc;

    if (k < 0) {
        return MD_OK; /* counted */
    }
    fresh = f->fresh[k];
    if (fresh) {
        cc_ticker_reset(&f->tk[k]);
    }
    rc = cc_ticker_merge(&f->tk[k], t, &changed);
    if (rc != MD_OK) {
        f->st.merge_errors++;
        return MD_OK;
    }
    f->fresh[k] = false;
    /* TYPE 2 tickers are merged (the fields of want.ticker, kept for
     * consumers) but make no bars. */
    if (t->type_num != 5) {
        return MD_OK;
    }
    return agg_cccagg(&f->agg, &f->tk[k], changed, fresh, now);
}

int feed_decode(struct feed *f, const char *buf, size_t len,
                struct cc_msg *msg, struct feed_result *res)
{
    struct cc_err err;
    int rc;

    memset(res, 0, sizeof *res);
    f->st.frames++;
    rc = cc_ws_decode_want(buf, len, msg, &err, &f->want);
    if (rc != MD_OK) {
        if (rc == MD_E_TRUNC) {
            f->st.truncated++;
        } else {
            f->st.malformed++;
        }
        f->last_rc = rc;
        f->last_err = err;
        res->conn_input = CONN_I_MALFORMED;
        res->type = CC_T_NONE;
        return MD_OK;
    }
    res->type = msg->type;
    res->conn_input = feed_classify(msg);
    if ((unsigned)msg->type < CC_T__COUNT) {
        f->st.by_type[msg->type]++;
    }
    if (msg->type == CC_T_WELCOME &&
        (msg->u.welcome.has & CC_WL_SERVER_TIME_MS)) {
        res->server_ms = msg->u.welcome.server_time_ms;
    } else if (msg->type == CC_T_HEARTBEAT && (msg->u.ctl.has & CC_CT_TIMEMS)) {
        res->server_ms = msg->u.ctl.timems;
    }
    return MD_OK;
}

void feed_set_clock(struct feed *f, int64_t server_ms, mono_ns t_ns)
{
    if (server_ms > 0 && server_ms < INT64_MAX / MD_NS_PER_MS) {
        f->offset_ns = server_ms * MD_NS_PER_MS - t_ns;
        f->have_offset = true;
    }
}

int feed_apply(struct feed *f, const struct cc_msg *msg,
               const struct feed_result *res, mono_ns t_ns)
{
    int64_t now;

    if (res->type == CC_T_NONE) {
        return MD_OK; /* did not decode */
    }
    feed_set_clock(f, res->server_ms, t_ns);
    now = feed_server_ns(f, t_ns);
    switch (msg->type) {
    case CC_T_TRADE:
        return agg_trade(&f->agg, &msg->u.trade, now);
    case CC_T_TICKER:
    case CC_T_CCCAGG:
        return on_ticker(f, &msg->u.ticker, now);
    case CC_T_OHLC:
        return agg_ohlc(&f->agg, &msg->u.ohlc, now);
    case CC_T_UNKNOWN:
        f->st.unknown_type++;
        return MD_OK;
    case CC_T_NONE:
    case CC_T_WELCOME:
    case CC_T_SUB_COMPLETE:
    case CC_T_UNSUB_COMPLETE:
    case CC_T_UNSUB_ALL:
    case CC_T_LOAD_COMPLETE:
    case CC_T_HEARTBEAT:
    case CC_T_UNAUTHORIZED:
    case CC_T_RATE_LIMIT:
    case CC_T_ERROR:
    case CC_T__COUNT:
        break;
    }
    return MD_OK;
}

int feed_frame(struct feed *f, const char *buf, size_t len, mono_ns t_ns,
               struct feed_result *res)
{
    struct cc_msg msg;

    (void)feed_decode(f, buf, len, &msg, res);
    return feed_apply(f, &msg, res, t_ns);
}
