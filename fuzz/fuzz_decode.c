/* fuzz_decode.c: libFuzzer target for every decoder entry point.
 *
 * The input goes, as is, to the streamer decoder and to each REST decoder;
 * the invariants below abort on violation (ASan/UBSan catch the rest). It
 * also differential-tests the number scanner against strtod. Not core: it
 * may abort and use libc freely. Build and run with `make fuzz`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "cc_decode.h"
#include "md_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *g_lo;
static const char *g_hi;

/* A borrowed string must lie inside the input (or be empty). */
static void check_str(const struct cc_str *s)
{
    if (s->len == 0) {
        return;
    }
    if (s->p < g_lo || s->p + s->len > g_hi) {
        fprintf(stderr, "string outside the input\n");
        abort();
    }
    {
        char out[1024];
        size_t n;
        int rc = cc_str_unescape(s, out, sizeof out, &n);
        if (rc != MD_OK && rc != MD_E_FULL && rc != MD_E_PROTO) {
            abort();
        }
        if (n > sizeof out || (!s->esc && rc == MD_OK && n != s->len)) {
            abort();
        }
    }
}

static void check_err(int rc, const struct cc_err *e, size_t size)
{
    if (rc != e->rc) {
        abort();
    }
    if (rc != MD_OK && (e->what == NULL || e->off > size)) {
        abort();
    }
    if (rc > 0 || rc < MD_E__LAST) {
        abort();
    }
}

static void check_num(const struct cc_num *n)
{
    /* doubles are always finite; an exact decimal agrees with them */
    if (!(n->d - n->d == 0.0)) {
        abort();
    }
}

static void check_ticker(const struct cc_ticker *t)
{
    size_t i;
    check_str(&t->market);
    check_str(&t->fsym);
    check_str(&t->tsym);
    check_str(&t->lasttradeid);
    check_str(&t->lastmarket);
    check_str(&t->conversiontype);
    check_str(&t->conversionsymbol);
    check_str(&t->imageurl);
    for (i = 0; i < CC_TK__NUM; i++) {
        check_num(&t->num[i]);
    }
}

static int same_num(const struct cc_num *a, const struct cc_num *b)
{
    return memcmp(&a->d, &b->d, sizeof a->d) == 0 &&
           a->dec.mant == b->dec.mant && a->dec.exp10 == b->dec.exp10 &&
           a->dec.exact == b->dec.exact;
}

static int same_str(const struct cc_str *a, const struct cc_str *b)
{
    return a->p == b->p && a->len == b->len && a->esc == b->esc;
}

/* cc_ws_decode_want with the feed's masks against the full decode: the
 * same verdict (unless the full decode failed with MD_E_RANGE, perhaps on
 * a number the partial one only checks, which may then succeed or fail
 * later), and where both decode, the same values for every wanted field
 * and the integers (always read), and no field the full decode lacks. */
static void ws_want(const char *p, size_t n, int full_rc,
                    const struct cc_msg *full)
{
    static const struct cc_want want = {AGG_TRADE_FIELDS, AGG_TICKER_FIELDS};
    const uint64_t tk_always = CC_TKM(CC_TK_MARKET) |
                               CC_TKM(CC_TK_FROMSYMBOL) |
                               CC_TKM(CC_TK_TOSYMBOL) | CC_TKM(CC_TK_FLAGS);
    struct cc_msg m;
    struct cc_err e;
    size_t i;
    int rc = cc_ws_decode_want(p, n, &m, &e, &want);

    check_err(rc, &e, n);
    if (rc != full_rc && full_rc != MD_E_RANGE) {
        fprintf(stderr, "want: rc %d, full decode %d\n", rc, full_rc);
        abort();
    }
    if (rc != MD_OK || full_rc != MD_OK) {
        return;
    }
    if (m.type != full->type) {
        abort();
    }
    if (m.type == CC_T_TRADE) {
        const struct cc_trade *a = &m.u.trade, *b = &full->u.trade;
        if ((a->has & want.trade) != (b->has & want.trade) ||
            (a->has & ~b->has) != 0 ||
            ((a->has & CC_TR_P) && !same_num(&a->p, &b->p)) ||
            ((a->has & CC_TR_Q) && !same_num(&a->q, &b->q)) ||
            !same_str(&a->market, &b->market) || !same_str(&a->id, &b->id) ||
            a->ts != b->ts || a->tsns != b->tsns || a->ccseq != b->ccseq ||
            a->flags != b->flags) {
            fprintf(stderr, "want: trade differs\n");
            abort();
        }
    } else if (m.type == CC_T_TICKER || m.type == CC_T_CCCAGG) {
        const struct cc_ticker *a = &m.u.ticker, *b = &full->u.ticker;
        if ((a->has & (want.ticker | tk_always)) !=
                (b->has & (want.ticker | tk_always)) ||
            (a->has & ~b->has) != 0 ||
            !same_str(&a->market, &b->market) ||
            a->lastupdate != b->lastupdate || a->flags != b->flags) {
            fprintf(stderr, "want: ticker differs\n");
            abort();
        }
        for (i = 0; i < CC_TK__NUM; i++) {
            if ((a->has & CC_TKM(i)) && !same_num(&a->num[i], &b->num[i])) {
                abort();
            }
        }
    }
}

static void ws(const char *p, size_t n)
{
    struct cc_msg m;
    struct cc_err e;
    int rc = cc_ws_decode(p, n, &m, &e);
    check_err(rc, &e, n);
    ws_want(p, n, rc, &m);
    if (rc != MD_OK) {
        return;
    }
    check_str(&m.type_text);
    switch (m.type) {
    case CC_T_TRADE:
        check_str(&m.u.trade.market);
        check_str(&m.u.trade.id);
        check_num(&m.u.trade.p);
        check_num(&m.u.trade.q);
        if ((m.u.trade.has & CC_TR_TSNS) &&
            (m.u.trade.tsns < 0 || m.u.trade.tsns > 999999999)) {
            abort();
        }
        if ((m.u.trade.has & (CC_TR_M | CC_TR_FSYM | CC_TR_TSYM)) !=
            (CC_TR_M | CC_TR_FSYM | CC_TR_TSYM)) {
            abort();
        }
        break;
    case CC_T_TICKER:
    case CC_T_CCCAGG: {
        struct cc_ticker_state st;
        check_ticker(&m.u.ticker);
        cc_ticker_reset(&st);
        rc = cc_ticker_merge(&st, &m.u.ticker, NULL);
        if (rc != MD_OK && rc != MD_E_RANGE && rc != MD_E_PROTO) {
            abort();
        }
        break;
    }
    case CC_T_OHLC:
        check_str(&m.u.ohlc.unit);
        check_num(&m.u.ohlc.close);
        break;
    case CC_T_WELCOME:
        check_str(&m.u.welcome.socket_id);
        break;
    case CC_T_SUB_COMPLETE:
    case CC_T_UNSUB_COMPLETE:
    case CC_T_UNSUB_ALL:
    case CC_T_LOAD_COMPLETE:
    case CC_T_HEARTBEAT:
    case CC_T_UNAUTHORIZED:
    case CC_T_RATE_LIMIT:
    case CC_T_ERROR:
        check_str(&m.u.ctl.message);
        check_str(&m.u.ctl.info);
        if (m.u.ctl.code >= CC_C__COUNT) {
            abort();
        }
        break;
    case CC_T_UNKNOWN:
        break;
    case CC_T_NONE:
    case CC_T__COUNT:
    default:
        abort();
    }
}

static void check_status(const struct cc_rest_status *st)
{
    check_str(&st->message);
    check_str(&st->err_message);
    if (st->kind == CC_R_NONE) {
        abort();
    }
}

static void rest(const char *p, size_t n)
{
    struct cc_histo h;
    struct cc_bar bars[3];
    struct cc_price px[3];
    struct cc_ticker tk[2];
    struct cc_rest_status st;
    struct cc_err e;
    size_t k;
    size_t total;
    size_t i;
    int rc;

    rc = cc_rest_histo(p, n, 200, &h, bars, 3, &e);
    check_err(rc, &e, n);
    if (rc == MD_OK || rc == MD_E_FULL) {
        check_status(&h.st);
        if (h.n_bars > 3 || h.n_total < h.n_bars ||
            (rc == MD_E_FULL) != (h.n_total > h.n_bars)) {
            abort();
        }
        for (i = 0; i < h.n_bars; i++) {
            check_str(&bars[i].conversion_type);
            check_num(&bars[i].close);
        }
    }
    rc = cc_rest_price(p, n, 401, &st, px, 3, &k, &total, &e);
    check_err(rc, &e, n);
    if (rc == MD_OK || rc == MD_E_FULL) {
        check_status(&st);
        if (k > 3 || total < k) {
            abort();
        }
        for (i = 0; i < k; i++) {
            check_str(&px[i].fsym);
            check_str(&px[i].tsym);
        }
    }
    rc = cc_rest_pricemultifull(p, n, 0, &st, tk, 2, &k, &total, &e);
    check_err(rc, &e, n);
    if (rc == MD_OK || rc == MD_E_FULL) {
        for (i = 0; i < k; i++) {
            check_ticker(&tk[i]);
        }
    }
    rc = cc_rest_status_decode(p, n, 429, &st, &e);
    check_err(rc, &e, n);
}

/* Differential: a whole-input number must match strtod bit for bit, and
 * the inline fast path must match the reference cc_num_parse. */
static void number(const char *p, size_t n)
{
    struct cc_json j;
    struct cc_num a;
    struct cc_num b;
    char tmp[CC_JSON_MAX_NUM + 1];

    if (cc_num_parse(p, n, &b) == MD_OK) {
        memcpy(tmp, p, n);
        tmp[n] = '\0';
        if (b.d != strtod(tmp, NULL)) {
            abort();
        }
    }
    if (n == 0 || n > CC_JSON_MAX_NUM) {
        return;
    }
    cc_json_init(&j, p, n, NULL);
    if (cc_json_peek(&j) != (unsigned char)p[0]) {
        return; /* leading whitespace: not a bare token */
    }
    if (cc_json_num(&j, &a) != MD_OK || j.pos != n) {
        return;
    }
    memcpy(tmp, p, n);
    tmp[n] = '\0';
    if (a.d != strtod(tmp, NULL) ||
        memcmp(&a.d, &(double){strtod(tmp, NULL)}, sizeof a.d) != 0) {
        fprintf(stderr, "%s: %.17g\n", tmp, a.d);
        abort();
    }
    if (cc_num_parse(p, n, &b) != MD_OK || a.dec.mant != b.dec.mant ||
        a.dec.exp10 != b.dec.exp10 || a.dec.exact != b.dec.exact) {
        abort();
    }
    if (a.dec.exact && a.dec.mant != 0 && a.dec.mant % 10 == 0) {
        abort(); /* not canonical */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    g_lo = p;
    g_hi = p + size;
    ws(p, size);
    rest(p, size);
    number(p, size);
    return 0;
}
