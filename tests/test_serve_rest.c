/* test_serve_rest.c: serve's REST answers (serve/rest.h) on a synth
 * session, read back with the producer's own REST decoder
 * (cc_rest_histo, cc_rest_price): the histo shapes and their invariants,
 * the partial last bar, paging, aggregation, markets, re-basing, the
 * recorded answers, every error envelope, the 2026 401 and the per-key
 * rate limits. (The equality with replay's bars and the HTTP side through
 * curl are in test_serve.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_decode.h"
#include "cmocka_inc.h"
#include "md_err.h"

/* The answers are the library's allocations: freed with libc's free (the
 * sanitizer build checks for leaks), not cmocka's. */
#ifdef free
#undef free
#endif
#include "rest.h"
#include "source.h"

#define NS INT64_C(1000000000)

static struct src g_src;

static int group_setup(void **state)
{
    char err[512];

    (void)state;
    return src_load(&g_src, "synth:minutes=10,seed=3", NULL, err,
                    sizeof err) == MD_OK
               ? 0
               : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    src_free(&g_src);
    return 0;
}

static struct srest *new_rest(const struct srest_cfg *cfg)
{
    struct srest *r;
    struct srest_cfg c;
    char err[256];

    if (cfg == NULL) {
        srest_cfg_default(&c);
        c.no_recorded = true;
        cfg = &c;
    }
    assert_int_equal(srest_new(&g_src, cfg, &r, err, sizeof err), MD_OK);
    return r;
}

/* Ask path?query at source time now with shift; the answer. */
static struct srest_resp ask(struct srest *r, const char *path,
                             const char *query, const char *key, int64_t now,
                             int64_t shift, int64_t wall)
{
    struct srest_req q;
    struct srest_resp out;

    memset(&q, 0, sizeof q);
    q.method = "GET";
    q.path = path;
    q.query = query;
    q.key = key;
    q.src_now_ns = now;
    q.shift_s = shift;
    q.wall_ns = wall;
    assert_int_equal(srest_answer(r, &q, &out), MD_OK);
    return out;
}

struct histo {
    struct cc_histo h;
    struct cc_bar bars[2100];
    struct srest_resp resp;
};

static void histo_of(struct histo *x, struct srest *r, const char *path,
                     const char *query, int64_t now, int64_t shift)
{
    x->resp = ask(r, path, query, "k", now, shift, 0);
    assert_int_equal(x->resp.status, 200);
    assert_int_equal(cc_rest_histo(x->resp.body, x->resp.len, 200, &x->h,
                                   x->bars, 2100, NULL),
                     MD_OK);
}

static void test_histominute_v2_invariants(void **state)
{
    struct srest *r = new_rest(NULL);
    static struct histo x, later;
    int64_t now = g_src.first_ns + 300 * NS + 30 * NS; /* mid-minute */
    size_t i;

    (void)state;
    histo_of(&x, r, "/data/v2/histominute", "fsym=BTC&tsym=USD&limit=10",
             now, 0);
    assert_int_equal(x.h.st.kind, CC_R_OK);
    assert_int_equal(x.h.n_bars, 11); /* limit + 1 */
    assert_int_equal(x.h.time_from, x.bars[0].time);
    assert_int_equal(x.h.time_to, x.bars[10].time);
    assert_int_equal(x.bars[10].time, now / NS / 60 * 60); /* the current */
    for (i = 0; i < 11; i++) {
        assert_int_equal(x.bars[i].time % 60, 0);
        if (i > 0) {
            assert_int_equal(x.bars[i].time - x.bars[i - 1].time, 60);
        }
    }
    /* CCCAGG: open is the previous close (the series' minutes) */
    for (i = 6; i < 11; i++) {
        assert_true(x.bars[i].open.d == x.bars[i - 1].close.d);
        assert_true(x.bars[i].low.d <= x.bars[i].high.d);
        assert_true(x.bars[i].high.d > 0);
    }
    /* the last bar is partial: asked later, the same minute has grown */
    histo_of(&later, r, "/data/v2/histominute",
             "fsym=BTC&tsym=USD&limit=10", now + 25 * NS, 0);
    assert_int_equal(later.bars[10].time, x.bars[10].time);
    assert_true(later.bars[10].volumefrom.d > x.bars[10].volumefrom.d);
    /* the closed ones do not change */
    assert_true(later.bars[8].close.d == x.bars[8].close.d);
    free(x.resp.body);
    free(later.resp.body);
    srest_free(r);
}

static void test_paging_aggregate_markets_shift(void **state)
{
    struct srest *r = new_rest(NULL);
    static struct histo a, b, agg, ex, sh;
    int64_t now = g_src.last_ns;
    char q[200];
    const int64_t shift = 86400 * 100;

    (void)state;
    histo_of(&a, r, "/data/v2/histominute", "fsym=ETH&tsym=USD&limit=4", now,
             0);
    /* the page before: toTs = the first bar's time - 1 */
    snprintf(q, sizeof q, "fsym=ETH&tsym=USD&limit=4&toTs=%lld",
             (long long)(a.bars[0].time - 1));
    histo_of(&b, r, "/data/v2/histominute", q, now, 0);
    assert_int_equal(b.bars[4].time, a.bars[0].time - 60);
    /* five-minute bars, aligned, Aggregated */
    histo_of(&agg, r, "/data/v2/histominute",
             "fsym=ETH&tsym=USD&limit=1&aggregate=5", now, 0);
    assert_int_equal(agg.h.n_bars, 2);
    assert_int_equal(agg.bars[0].time % 300, 0);
    assert_true(agg.h.has & CC_HI_AGGREGATED);
    /* Coinbase's trades are another series than CCCAGG's index */
    histo_of(&ex, r, "/data/v2/histominute",
             "fsym=ETH&tsym=USD&limit=4&e=coinbase", now, 0);
    assert_true(ex.bars[3].close.d != a.bars[3].close.d ||
                ex.bars[3].volumefrom.d != a.bars[3].volumefrom.d);
    /* re-based: the same bars, every time shifted */
    snprintf(q, sizeof q, "fsym=ETH&tsym=USD&limit=4");
    histo_of(&sh, r, "/data/v2/histominute", q, now, shift);
    assert_int_equal(sh.bars[0].time, a.bars[0].time + shift);
    assert_int_equal(sh.h.time_to, a.h.time_to + shift);
    assert_true(sh.bars[2].close.d == a.bars[2].close.d);
    assert_true(sh.bars[2].volumeto.d == a.bars[2].volumeto.d);
    /* toTs is read in served time */
    snprintf(q, sizeof q, "fsym=ETH&tsym=USD&limit=4&toTs=%lld",
             (long long)(a.bars[0].time - 1 + shift));
    free(sh.resp.body);
    histo_of(&sh, r, "/data/v2/histominute", q, now, shift);
    assert_int_equal(sh.bars[4].time - shift, b.bars[4].time);
    free(a.resp.body);
    free(b.resp.body);
    free(agg.resp.body);
    free(ex.resp.body);
    free(sh.resp.body);
    srest_free(r);
}

static void test_v1_and_hour_shapes(void **state)
{
    struct srest *r = new_rest(NULL);
    static struct histo v1, hr;

    (void)state;
    histo_of(&v1, r, "/data/histominute", "fsym=LTC&tsym=USD&limit=3",
             g_src.last_ns, 0);
    assert_true(v1.h.has & CC_HI_V1);
    assert_true(v1.h.has & CC_HI_FIRSTVALUE);
    assert_int_equal(v1.h.n_bars, 4);
    histo_of(&hr, r, "/data/v2/histohour", "fsym=LTC&tsym=USD&limit=2",
             g_src.last_ns, 0);
    assert_int_equal(hr.h.n_bars, 3);
    assert_int_equal(hr.bars[2].time % 3600, 0);
    /* before the source: all zeros */
    assert_true(hr.bars[0].close.d == 0 && hr.bars[0].volumefrom.d == 0);
    free(v1.resp.body);
    free(hr.resp.body);
    srest_free(r);
}

static void test_prices(void **state)
{
    struct srest *r = new_rest(NULL);
    struct srest_resp a;
    struct cc_rest_status st;
    struct cc_price pr[8];
    static struct cc_ticker tk[4];
    size_t n = 0;

    (void)state;
    a = ask(r, "/data/price", "fsym=BTC&tsyms=USD", "k", g_src.last_ns, 0, 0);
    assert_int_equal(a.status, 200);
    assert_int_equal(cc_rest_price(a.body, a.len, 200, &st, pr, 8, &n, NULL,
                                   NULL),
                     MD_OK);
    assert_int_equal(st.kind, CC_R_OK);
    assert_int_equal(n, 1);
    assert_true(pr[0].px.d > 10000);
    free(a.body);
    a = ask(r, "/data/pricemulti", "fsyms=BTC,ETH&tsyms=USD", "k",
            g_src.last_ns, 0, 0);
    assert_int_equal(cc_rest_price(a.body, a.len, 200, &st, pr, 8, &n, NULL,
                                   NULL),
                     MD_OK);
    assert_int_equal(n, 2);
    free(a.body);
    a = ask(r, "/data/pricemultifull", "fsyms=BTC&tsyms=USD", "k",
            g_src.last_ns, 86400, 0);
    assert_int_equal(cc_rest_pricemultifull(a.body, a.len, 200, &st, tk, 4,
                                            &n, NULL, NULL),
                     MD_OK);
    assert_int_equal(n, 1);
    assert_true(tk[0].has & CC_TKM(CC_TK_PRICE));
    assert_non_null(strstr(a.body, "\"TYPE\":\"5\""));
    assert_non_null(strstr(a.body, "\"FLAGS\":\""));
    free(a.body);
    srest_free(r);
}

static void expect_error(struct srest *r, const char *path,
                         const char *query, const char *msg,
                         const char *param)
{
    struct srest_resp a = ask(r, path, query, "k", g_src.last_ns, 0, 0);

    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"Response\":\"Error\""));
    if (strstr(a.body, msg) == NULL) {
        fail_msg("%s?%s: %s", path, query, a.body);
    }
    if (param != NULL) {
        char want[64];
        snprintf(want, sizeof want, "\"ParamWithError\":\"%s\"", param);
        assert_non_null(strstr(a.body, want));
    }
    free(a.body);
}

static void test_error_envelopes(void **state)
{
    struct srest *r = new_rest(NULL);
    char q[200];

    (void)state;
    expect_error(r, "/data/v2/histominute", "tsym=USD",
                 "fsym param seems to be missing.", "fsym");
    expect_error(r, "/data/v2/histominute", "fsym=BTC",
                 "tsym param seems to be missing.", "tsym");
    expect_error(r, "/data/v2/histominute", "fsym=BTC999&tsym=USD",
                 "There is no data for the symbol BTC999 .", "fsym");
    expect_error(r, "/data/v2/histominute", "fsym=BTC&tsym=BLABLA",
                 "There is no data for the toSymbol BLABLA .", "tsym");
    expect_error(r, "/data/v2/histominute", "fsym=BTC&tsym=USD&e=Kraken",
                 "kraken market does not exist for this coin pair (BTC-USD)",
                 "e");
    expect_error(r, "/data/v2/histominute", "fsym=BTC&tsym=USD&limit=x",
                 "limit", "limit");
    snprintf(q, sizeof q, "fsym=BTC&tsym=USD&toTs=%lld",
             (long long)(g_src.last_ns / NS - 8 * 86400));
    expect_error(r, "/data/v2/histominute", q, "7 days", "toTs");
    expect_error(r, "/data/v2/histominute",
                 "fsym=BTC&tsym=USD&toTs=-9223372036854775808",
                 "toTs param is not a valid timestamp.", "toTs");
    expect_error(r, "/data/v2/histominute",
                 "fsym=BTC&tsym=USD&toTs=99999999999999999999",
                 "toTs param is not a valid timestamp.", "toTs");
    expect_error(r, "/data/price", "fsym=BTC&tsyms=EUR",
                 "There is no data for any of the toSymbols EUR .", "tsyms");
    expect_error(r, "/data/price", "tsyms=USD",
                 "fsym param seems to be missing.", "fsym");
    expect_error(r, "/data/nothing", "", "Path does not exist", NULL);
    srest_free(r);
}

static void test_auth_2026_and_rate_limits(void **state)
{
    struct srest_cfg c;
    struct srest *r;
    struct srest_resp a;
    int i;
    struct srest_stats st;

    (void)state;
    srest_cfg_default(&c);
    c.auth_mode = 2026;
    r = new_rest(&c);
    a = ask(r, "/data/price", "fsym=BTC&tsyms=USD", NULL, g_src.last_ns, 0,
            0);
    assert_int_equal(a.status, 401);
    assert_non_null(strstr(a.body, "\"http_status_code\":401"));
    assert_non_null(strstr(a.body, "API key required"));
    free(a.body);
    a = ask(r, "/data/price", "fsym=BTC&tsyms=USD", "k", g_src.last_ns, 0, 0);
    assert_int_equal(a.status, 200);
    free(a.body);
    srest_free(r);
    /* legacy: no key is answered; 3 a second, per key */
    srest_cfg_default(&c);
    c.max_calls[SREST_W_SECOND] = 3;
    r = new_rest(&c);
    for (i = 0; i < 4; i++) {
        a = ask(r, "/data/price", "fsym=BTC&tsyms=USD", "key-a",
                g_src.last_ns, 0, 5 * NS + i);
        assert_int_equal(a.status, 200);
        if (i < 3) {
            assert_null(strstr(a.body, "\"Type\":99"));
        } else {
            assert_non_null(strstr(a.body, "\"Type\":99"));
            assert_non_null(strstr(a.body, "over your rate limit"));
            assert_non_null(strstr(a.body, "\"max_calls\":{\"second\":3"));
            assert_non_null(strstr(a.body, "\"calls_made\":{\"second\":4"));
        }
        free(a.body);
    }
    /* another key has its own counters; the next second starts again */
    a = ask(r, "/data/price", "fsym=BTC&tsyms=USD", "key-b", g_src.last_ns, 0,
            5 * NS + 10);
    assert_null(strstr(a.body, "\"Type\":99"));
    free(a.body);
    a = ask(r, "/data/price", "fsym=BTC&tsyms=USD", "key-a", g_src.last_ns, 0,
            6 * NS);
    assert_null(strstr(a.body, "\"Type\":99"));
    free(a.body);
    a = ask(r, "/data/price", "fsym=BTC&tsyms=USD", NULL, g_src.last_ns, 0,
            6 * NS);
    assert_int_equal(a.status, 200);
    assert_null(strstr(a.body, "Error"));
    free(a.body);
    a = ask(r, "/stats/rate/limit", "", "key-a", g_src.last_ns, 0, 6 * NS);
    assert_non_null(strstr(a.body, "\"calls_left\":{\"second\":1"));
    free(a.body);
    srest_stats(r, &st);
    assert_int_equal(st.rate_limited, 1);
    srest_free(r);
}

static void test_recorded_answers(void **state)
{
    struct srest_cfg c;
    struct srest *r;
    struct srest_resp a;
    const struct src_rest *rec = &g_src.rest[0];
    const char *qm = strchr(rec->key, '?');
    char path[256], expect[64];
    const int64_t shift = 86400 * 3;
    static struct cc_bar bars[64], orig[64];
    struct cc_histo h, ho;

    (void)state;
    assert_non_null(qm);
    snprintf(path, sizeof path, "%.*s", (int)(qm - rec->key - 4),
             rec->key + 4);
    srest_cfg_default(&c);
    r = new_rest(&c);
    /* the recorded request, its toTs in served time */
    {
        char q[512], *to = strstr(qm + 1, "toTs=");
        assert_non_null(to);
        snprintf(q, sizeof q, "%.*stoTs=%lld%s", (int)(to - (qm + 1)),
                 qm + 1, strtoll(to + 5, NULL, 10) + (long long)shift,
                 strchr(to, '&') ? strchr(to, '&') : "");
        a = ask(r, path, q, "k", g_src.first_ns, shift, 0);
    }
    assert_true(a.recorded);
    assert_int_equal(cc_rest_histo(a.body, a.len, 200, &h, bars, 64, NULL),
                     MD_OK);
    assert_int_equal(cc_rest_histo(rec->body, rec->len, 200, &ho, orig, 64,
                                   NULL),
                     MD_OK);
    assert_int_equal(h.n_bars, ho.n_bars);
    assert_int_equal(bars[0].time, orig[0].time + shift);
    assert_true(bars[0].close.d == orig[0].close.d);
    snprintf(expect, sizeof expect, "\"TimeTo\":%lld",
             (long long)(ho.time_to + shift));
    assert_non_null(strstr(a.body, expect));
    free(a.body);
    srest_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_histominute_v2_invariants),
        cmocka_unit_test(test_paging_aggregate_markets_shift),
        cmocka_unit_test(test_v1_and_hour_shapes),
        cmocka_unit_test(test_prices),
        cmocka_unit_test(test_error_envelopes),
        cmocka_unit_test(test_auth_2026_and_rate_limits),
        cmocka_unit_test(test_recorded_answers),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
