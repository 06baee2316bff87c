/* test_rest_policy.c: the REST policy (core/rest_policy.h): request paths
 * for every endpoint (exact strings, sorted keys, no key), limit bounds,
 * preflight and backfill plans (paging, the 2-minute rule at its exact
 * boundary, retry of unsettled bars), the rate budget at every window and
 * calendar rollover, and real-shaped histo bodies decoded and converted. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmocka_inc.h"

#include "bar_num.h"
#include "cc_decode.h"
#include "md_err.h"
#include "rest_policy.h"

#define assert_rc(expr, want)                                               \
    do {                                                                    \
        int rc_ = (expr);                                                   \
        int want_ = (want);                                                 \
        if (rc_ != want_) {                                                 \
            fail_msg("%s: got %s, want %s", #expr, md_errname(rc_),          \
                     md_errname(want_));                                    \
        }                                                                   \
    } while (0)

#define S(lit) lit, sizeof(lit) - 1
#define NS(s) ((int64_t)(s) * MD_NS_PER_S)
#define MS(ms) ((int64_t)(ms) * MD_NS_PER_MS)

/* 2025-07-22 13:20:00 UTC, a minute (not an hour) boundary. */
#define T1320 INT64_C(1753190400)
/* 2025-02-01 00:00:00 UTC */
#define T20250201 INT64_C(1738368000)

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

/* Every key of the query in strictly increasing byte order, none of them
 * an API key, and no "api_key=" / "apiKey=" anywhere. */
static void check_query(const char *path)
{
    const char *q = strchr(path, '?');
    char prev[64] = "";

    assert_null(strstr(path, "api_key="));
    assert_null(strstr(path, "apiKey="));
    if (q == NULL) {
        return;
    }
    q++;
    while (*q != '\0') {
        char key[64];
        size_t n = strcspn(q, "=&");
        assert_true(n > 0 && n < sizeof key);
        memcpy(key, q, n);
        key[n] = '\0';
        assert_true(strcmp(prev, key) < 0);
        assert_true(strcmp(key, "api_key") != 0);
        assert_true(strcmp(key, "apiKey") != 0);
        memcpy(prev, key, n + 1);
        q += n;
        assert_int_equal(*q, '=');
        q += strcspn(q, "&");
        if (*q == '&') {
            q++;
        }
    }
}

static void assert_path(const struct rp_req *r, const char *want)
{
    char buf[512];
    size_t len = 0;

    assert_rc(rp_req_path(r, buf, sizeof buf, &len), MD_OK);
    assert_string_equal(buf, want);
    assert_int_equal(len, strlen(want));
    check_query(buf);
}

static void histo(struct rp_req *r, enum rp_endpoint ep, const char *e,
                  const char *fsym, const char *tsym, uint32_t limit,
                  int64_t to_ts)
{
    rp_req_init(r, ep);
    assert_rc(rp_req_add_fsym(r, fsym), MD_OK);
    assert_rc(rp_req_add_tsym(r, tsym), MD_OK);
    assert_rc(rp_req_set_market(r, e), MD_OK);
    r->limit = limit;
    r->to_ts = to_ts;
}

static struct rp_series series(const char *market, const char *base,
                               const char *quote, int64_t iv, uint8_t src)
{
    struct rp_series s;
    memset(&s, 0, sizeof s);
    snprintf(s.market, sizeof s.market, "%s", market);
    snprintf(s.base, sizeof s.base, "%s", base);
    snprintf(s.quote, sizeof s.quote, "%s", quote);
    s.interval_s = iv;
    s.source = src;
    return s;
}

static void fetch_path(const struct rp_fetch *f, char *buf, size_t cap)
{
    assert_rc(rp_req_path(&f->req, buf, cap, NULL), MD_OK);
    check_query(buf);
}

static void assert_scaled(bar_i128 v, unsigned digits, const char *want)
{
    char buf[64];
    assert_true(bar_scaled_to_text(v, digits, buf, sizeof buf) > 0);
    assert_string_equal(buf, want);
}

/* ---------------------------------------------------------------------
 * Request paths
 * ------------------------------------------------------------------- */

static void test_rest_policy_path_every_endpoint(void **state)
{
    struct rp_req r;
    (void)state;

    /* the brief's example, exactly */
    histo(&r, RP_EP_HISTOMINUTE, "Coinbase", "BTC", "USD", 2000, 1753190400);
    assert_path(&r, "/data/v2/histominute?e=Coinbase&fsym=BTC&limit=2000"
                    "&toTs=1753190400&tsym=USD");
    histo(&r, RP_EP_HISTOHOUR, NULL, "ETH", "USD", 168, 1753189200);
    assert_path(&r, "/data/v2/histohour?fsym=ETH&limit=168&toTs=1753189200"
                    "&tsym=USD");
    histo(&r, RP_EP_HISTODAY, "", "BTC", "EUR", 30, 0);
    assert_path(&r, "/data/v2/histoday?fsym=BTC&limit=30&tsym=EUR");
    histo(&r, RP_EP_HISTOMINUTE_V1, "Kraken", "LTC", "USD", 10, 1605571200);
    assert_path(&r, "/data/histominute?e=Kraken&fsym=LTC&limit=10"
                    "&toTs=1605571200&tsym=USD");
    /* aggregate sorts first */
    histo(&r, RP_EP_HISTOMINUTE, "CCCAGG", "BTC", "USD", 400, 1753190100);
    r.aggregate = 5;
    assert_path(&r, "/data/v2/histominute?aggregate=5&fsym=BTC&limit=400"
                    "&toTs=1753190100&tsym=USD");
    /* aggregate 1 is the default: not sent */
    r.aggregate = 1;
    assert_path(&r, "/data/v2/histominute?fsym=BTC&limit=400"
                    "&toTs=1753190100&tsym=USD");

    rp_req_init(&r, RP_EP_PRICE);
    assert_rc(rp_req_add_fsym(&r, "BTC"), MD_OK);
    assert_rc(rp_req_add_tsym(&r, "USD"), MD_OK);
    assert_rc(rp_req_add_tsym(&r, "EUR"), MD_OK);
    assert_path(&r, "/data/price?fsym=BTC&tsyms=USD,EUR");
    assert_rc(rp_req_set_market(&r, "Coinbase"), MD_OK);
    assert_path(&r, "/data/price?e=Coinbase&fsym=BTC&tsyms=USD,EUR");

    rp_req_init(&r, RP_EP_PRICEMULTI);
    assert_rc(rp_req_add_fsym(&r, "BTC"), MD_OK);
    assert_rc(rp_req_add_fsym(&r, "ETH"), MD_OK);
    assert_rc(rp_req_add_tsym(&r, "USD"), MD_OK);
    assert_path(&r, "/data/pricemulti?fsyms=BTC,ETH&tsyms=USD");

    rp_req_init(&r, RP_EP_PRICEMULTIFULL);
    assert_rc(rp_req_add_fsym(&r, "BTC"), MD_OK);
    assert_rc(rp_req_add_fsym(&r, "ETH"), MD_OK);
    assert_rc(rp_req_add_fsym(&r, "LTC"), MD_OK);
    assert_rc(rp_req_add_tsym(&r, "USD"), MD_OK);
    assert_path(&r, "/data/pricemultifull?fsyms=BTC,ETH,LTC&tsyms=USD");

    assert_string_equal(rp_endpoint_path(RP_EP_HISTOHOUR),
                        "/data/v2/histohour");
    assert_string_equal(rp_endpoint_path(RP_EP_INVALID), "");
    assert_string_equal(rp_endpoint_path(RP_EP__COUNT), "");
    assert_string_equal(rp_endpoint_path(-1), "");
}

static void test_rest_policy_path_index_and_encoding(void **state)
{
    struct rp_req r;
    (void)state;

    /* the index, however spelled, is the default: no e= */
    histo(&r, RP_EP_HISTOMINUTE, "CCCAGG", "BTC", "USD", 2, 1753190220);
    assert_path(&r, "/data/v2/histominute?fsym=BTC&limit=2&toTs=1753190220"
                    "&tsym=USD");
    histo(&r, RP_EP_HISTOMINUTE, "cccagg", "BTC", "USD", 2, 1753190220);
    assert_path(&r, "/data/v2/histominute?fsym=BTC&limit=2&toTs=1753190220"
                    "&tsym=USD");
    /* reserved bytes are encoded, unreserved ones kept */
    histo(&r, RP_EP_HISTOMINUTE, "Bit Stamp/x", "BTC.d", "US_D~-", 1, 0);
    assert_path(&r, "/data/v2/histominute?e=Bit%20Stamp%2Fx&fsym=BTC.d"
                    "&limit=1&tsym=US_D~-");
    /* UTF-8 bytes */
    histo(&r, RP_EP_HISTOMINUTE, "B\xc3\xb6rse", "BTC", "USD", 1, 0);
    assert_path(&r, "/data/v2/histominute?e=B%C3%B6rse&fsym=BTC&limit=1"
                    "&tsym=USD");
    /* a symbol cannot smuggle in a parameter: & = , are encoded */
    histo(&r, RP_EP_HISTOMINUTE, "x&api_key=SECRET", "A,B", "U=D", 1, 0);
    assert_path(&r, "/data/v2/histominute?e=x%26api_key%3DSECRET"
                    "&fsym=A%2CB&limit=1&tsym=U%3DD");
}

/* The request struct has no key field, and no path of any endpoint or
 * plan contains one (check_query runs on every path in this file). */
static void test_rest_policy_path_never_has_key(void **state)
{
    struct rp_series s[2];
    struct rp_fetch f[8];
    struct rp_backfill res;
    size_t n, i;
    char buf[256];
    (void)state;

    s[0] = series("CCCAGG", "BTC", "USD", 60, BAR_SRC_CCCAGG);
    s[1] = series("Coinbase", "ETH", "USD", 3600, BAR_SRC_TRADES);
    assert_rc(rp_plan_preflight(NULL, s, 2, NS(T1320), f, 8, &n), MD_OK);
    for (i = 0; i < n; i++) {
        fetch_path(&f[i], buf, sizeof buf);
        assert_null(strstr(buf, "api_key"));
        assert_null(strstr(buf, "apiKey"));
    }
    /* every endpoint */
    for (i = RP_EP_INVALID + 1; i < RP_EP__COUNT; i++) {
        struct rp_req r;
        rp_req_init(&r, (enum rp_endpoint)i);
        assert_rc(rp_req_add_fsym(&r, "BTC"), MD_OK);
        assert_rc(rp_req_add_tsym(&r, "USD"), MD_OK);
        assert_rc(rp_req_set_market(&r, "Coinbase"), MD_OK);
        if (i <= RP_EP_HISTOMINUTE_V1) {
            r.limit = 10;
            r.to_ts = T1320;
        }
        assert_rc(rp_req_path(&r, buf, sizeof buf, NULL), MD_OK);
        check_query(buf);
        assert_null(strstr(buf, "api_key"));
        assert_null(strstr(buf, "apiKey"));
        assert_null(strstr(buf, "Apikey"));
    }
    assert_rc(rp_plan_backfill(NULL, &s[1], 1, NS(T1320 - 86400),
                               NS(T1320 - 3600), NS(T1320), f, 8, &res),
              MD_OK);
    for (i = 0; i < res.n_fetch; i++) {
        fetch_path(&f[i], buf, sizeof buf);
        assert_null(strstr(buf, "api_key"));
        assert_null(strstr(buf, "apiKey"));
    }
}

static void test_rest_policy_path_limits(void **state)
{
    struct rp_req r;
    char buf[256];
    size_t len;
    (void)state;

    histo(&r, RP_EP_HISTOMINUTE, NULL, "BTC", "USD", 0, 0);
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_RANGE);
    assert_string_equal(buf, "");
    r.limit = 1;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_OK);
    r.limit = 2000;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_OK);
    r.limit = 2001;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_RANGE);
    r.limit = UINT32_MAX;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_RANGE);
    /* limit * aggregate <= 2000, or the server would cut the page */
    r.limit = 400;
    r.aggregate = 5;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_OK);
    r.limit = 401;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_RANGE);
    r.limit = 1;
    r.aggregate = 2001;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_RANGE);
    r.aggregate = 0;
    r.to_ts = -1;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_RANGE);

    /* shape errors */
    histo(&r, RP_EP_HISTOMINUTE, NULL, "BTC", "USD", 10, 0);
    assert_rc(rp_req_add_fsym(&r, "ETH"), MD_OK);
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_INVAL);
    rp_req_init(&r, RP_EP_HISTOMINUTE);
    assert_rc(rp_req_add_fsym(&r, "BTC"), MD_OK);
    r.limit = 10;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_INVAL);
    rp_req_init(&r, RP_EP_PRICE);
    assert_rc(rp_req_add_fsym(&r, "BTC"), MD_OK);
    assert_rc(rp_req_add_tsym(&r, "USD"), MD_OK);
    r.limit = 1;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_INVAL);
    r.limit = 0;
    r.to_ts = 5;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_INVAL);
    r.to_ts = 0;
    assert_rc(rp_req_add_fsym(&r, "ETH"), MD_OK); /* price: one fsym */
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_INVAL);
    rp_req_init(&r, RP_EP_INVALID);
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_INVAL);
    r.ep = RP_EP__COUNT;
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_INVAL);
    assert_rc(rp_req_path(NULL, buf, sizeof buf, &len), MD_E_INVAL);
    /* an unterminated symbol array */
    histo(&r, RP_EP_HISTOMINUTE, NULL, "BTC", "USD", 10, 0);
    memset(r.fsyms[0], 'A', sizeof r.fsyms[0]);
    assert_rc(rp_req_path(&r, buf, sizeof buf, &len), MD_E_INVAL);

    /* builders */
    rp_req_init(&r, RP_EP_PRICEMULTI);
    assert_rc(rp_req_add_fsym(&r, ""), MD_E_INVAL);
    assert_rc(rp_req_add_fsym(&r, NULL), MD_E_INVAL);
    assert_rc(rp_req_add_fsym(&r, "ABCDEFGHIJKLMNOP"), MD_E_RANGE); /* 16 */
    assert_rc(rp_req_add_fsym(&r, "ABCDEFGHIJKLMNO"), MD_OK);        /* 15 */
    for (int i = 1; i < RP_SYMS_MAX; i++) {
        assert_rc(rp_req_add_fsym(&r, "X"), MD_OK);
    }
    assert_rc(rp_req_add_fsym(&r, "Y"), MD_E_FULL);
    assert_int_equal(r.n_fsyms, RP_SYMS_MAX);
    assert_rc(rp_req_set_market(&r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"),
              MD_E_RANGE); /* 32 */
    assert_rc(rp_req_set_market(&r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234"),
              MD_OK); /* 31 */
}

static void test_rest_policy_path_buffer(void **state)
{
    const char *want = "/data/v2/histominute?e=Coinbase&fsym=BTC&limit=2000"
                       "&toTs=1753190400&tsym=USD";
    size_t wl = strlen(want), len = 0;
    struct rp_req r;
    char buf[256];
    (void)state;

    histo(&r, RP_EP_HISTOMINUTE, "Coinbase", "BTC", "USD", 2000, 1753190400);
    memset(buf, 'x', sizeof buf);
    assert_rc(rp_req_path(&r, buf, wl, &len), MD_E_FULL);
    assert_int_equal(len, wl);
    assert_string_equal(buf, "");
    assert_rc(rp_req_path(&r, buf, 0, &len), MD_E_FULL);
    assert_int_equal(len, wl);
    assert_rc(rp_req_path(&r, buf, wl + 1, &len), MD_OK);
    assert_string_equal(buf, want);
    assert_rc(rp_req_path(&r, buf, wl + 1, NULL), MD_OK);
}

/* ---------------------------------------------------------------------
 * Series, gap and the 2-minute rule
 * ------------------------------------------------------------------- */

static void test_rest_policy_series_endpoint(void **state)
{
    struct rp_series s = series("CCCAGG", "BTC", "USD", 60, BAR_SRC_CCCAGG);
    enum rp_endpoint ep;
    uint32_t agg;
    (void)state;

    assert_rc(rp_series_endpoint(&s, &ep, &agg), MD_OK);
    assert_int_equal(ep, RP_EP_HISTOMINUTE);
    assert_int_equal(agg, 1);
    s.interval_s = 300;
    assert_rc(rp_series_endpoint(&s, &ep, &agg), MD_OK);
    assert_int_equal(ep, RP_EP_HISTOMINUTE);
    assert_int_equal(agg, 5);
    s.interval_s = 3600;
    assert_rc(rp_series_endpoint(&s, &ep, &agg), MD_OK);
    assert_int_equal(ep, RP_EP_HISTOHOUR);
    assert_int_equal(agg, 1);
    s.interval_s = 4 * 3600;
    assert_rc(rp_series_endpoint(&s, &ep, &agg), MD_OK);
    assert_int_equal(ep, RP_EP_HISTOHOUR);
    assert_int_equal(agg, 4);
    s.interval_s = 86400;
    assert_rc(rp_series_endpoint(&s, &ep, &agg), MD_OK);
    assert_int_equal(ep, RP_EP_HISTODAY);
    assert_int_equal(agg, 1);
    s.interval_s = 90;
    assert_rc(rp_series_endpoint(&s, &ep, &agg), MD_E_UNSUPPORTED);
    s.interval_s = 0;
    assert_rc(rp_series_endpoint(&s, &ep, &agg), MD_E_RANGE);
    s.interval_s = 32 * 86400;
    assert_rc(rp_series_endpoint(&s, &ep, &agg), MD_E_RANGE);
    assert_rc(rp_series_endpoint(NULL, &ep, &agg), MD_E_INVAL);
}

static void test_rest_policy_gap_bars(void **state)
{
    int64_t a, b;
    (void)state;

    /* 13:05:42.318 .. 13:07:13.904 -> 13:05, 13:06, 13:07 */
    assert_rc(rp_gap_bars(60, NS(1753189542) + MS(318),
                          NS(1753189633) + MS(904), &a, &b),
              MD_OK);
    assert_int_equal(a, 1753189500);
    assert_int_equal(b, 1753189620);
    /* the aggregator's rule (agg.c gap_flags): a bar starting exactly at
     * gap_end holds only new data and is not part of the gap; a gap
     * starting exactly on a boundary does not touch the bar before it */
    assert_rc(rp_gap_bars(60, NS(1753189500), NS(1753189620), &a, &b),
              MD_OK);
    assert_int_equal(a, 1753189500);
    assert_int_equal(b, 1753189560);
    assert_rc(rp_gap_bars(60, NS(1753189500), NS(1753189620) + 1, &a, &b),
              MD_OK);
    assert_int_equal(b, 1753189620);
    /* a zero-length gap is 1 ns: the bar holding it, even on a boundary */
    assert_rc(rp_gap_bars(60, NS(1753189620), NS(1753189620), &a, &b),
              MD_OK);
    assert_int_equal(a, 1753189620);
    assert_int_equal(b, 1753189620);
    assert_rc(rp_gap_bars(60, NS(1753189620) - 1, NS(1753189620) - 1, &a, &b),
              MD_OK);
    assert_int_equal(a, 1753189560);
    assert_int_equal(b, 1753189560);
    /* hours */
    assert_rc(rp_gap_bars(3600, NS(1753189542), NS(1753196400), &a, &b),
              MD_OK);
    assert_int_equal(a, 1753189200);
    assert_int_equal(b, 1753192800);
    assert_rc(rp_gap_bars(3600, NS(1753189542), NS(1753196401), &a, &b),
              MD_OK);
    assert_int_equal(b, 1753196400);
    assert_rc(rp_gap_bars(60, NS(10), NS(9), &a, &b), MD_E_INVAL);
    assert_rc(rp_gap_bars(60, -1, NS(9), &a, &b), MD_E_RANGE);
    assert_rc(rp_gap_bars(0, NS(1), NS(9), &a, &b), MD_E_RANGE);
    assert_rc(rp_gap_bars(60, NS(1), NS(9), NULL, &b), MD_E_INVAL);
}

static void test_rest_policy_two_minute_rule(void **state)
{
    const int64_t s = 1753190220; /* 13:17, ends 13:18:00 */
    struct rp_config c;
    (void)state;

    /* ends exactly now - 120 s: fetchable; now - 119 s: not */
    assert_true(rp_bar_fetchable(NULL, 60, s, NS(s + 60 + 120)));
    assert_false(rp_bar_fetchable(NULL, 60, s, NS(s + 60 + 119)));
    assert_false(rp_bar_fetchable(NULL, 60, s, NS(s + 60 + 120) - 1));
    assert_true(rp_bar_fetchable(NULL, 60, s, NS(s + 60 + 121)));
    /* hours */
    assert_true(rp_bar_fetchable(NULL, 3600, 1753185600,
                                 NS(1753185600 + 3600 + 120)));
    assert_false(rp_bar_fetchable(NULL, 3600, 1753185600,
                                  NS(1753185600 + 3600 + 119)));
    /* configurable */
    rp_config_default(&c);
    assert_int_equal(c.settle_s, 120);
    assert_int_equal(c.page_limit, 2000);
    assert_int_equal(c.preflight_bars, 2);
    assert_int_equal(c.minute_depth_s, 7 * 86400);
    c.settle_s = 0;
    assert_true(rp_bar_fetchable(&c, 60, s, NS(s + 60)));
    assert_false(rp_bar_fetchable(&c, 60, s, NS(s + 60) - 1));
    c.settle_s = -1;
    assert_false(rp_bar_fetchable(&c, 60, s, NS(s + 600)));
    assert_false(rp_bar_fetchable(NULL, 0, s, NS(s + 600)));
}

/* ---------------------------------------------------------------------
 * Preflight
 * ------------------------------------------------------------------- */

static void test_rest_policy_preflight(void **state)
{
    struct rp_series s[3];
    struct rp_fetch f[8];
    char buf[256];
    size_t n = 99;
    (void)state;

    s[0] = series("CCCAGG", "BTC", "USD", 60, BAR_SRC_CCCAGG);
    s[1] = series("Coinbase", "BTC", "USD", 60, BAR_SRC_TRADES);
    s[2] = series("CCCAGG", "ETH", "USD", 3600, BAR_SRC_CCCAGG);
    /* now 13:20:25: the newest minute ending by 13:18:25 is 13:17; the
     * newest hour ending by then is 12:00 */
    assert_rc(rp_plan_preflight(NULL, s, 3, NS(T1320 + 25), f, 8, &n), MD_OK);
    assert_int_equal(n, 3);

    fetch_path(&f[0], buf, sizeof buf);
    assert_string_equal(buf, "/data/v2/histominute?fsym=BTC&limit=2"
                             "&toTs=1753190220&tsym=USD");
    assert_int_equal(f[0].first_s, 1753190160);
    assert_int_equal(f[0].last_s, 1753190220);
    assert_int_equal(f[0].purpose, RP_P_PREFLIGHT);
    assert_int_equal(f[0].series_idx, 0);
    assert_string_equal(f[0].series.market, "CCCAGG");

    fetch_path(&f[1], buf, sizeof buf);
    assert_string_equal(buf, "/data/v2/histominute?e=Coinbase&fsym=BTC"
                             "&limit=2&toTs=1753190220&tsym=USD");
    assert_int_equal(f[1].series_idx, 1);
    assert_int_equal(f[1].series.source, BAR_SRC_TRADES);

    fetch_path(&f[2], buf, sizeof buf);
    assert_string_equal(buf, "/data/v2/histohour?fsym=ETH&limit=2"
                             "&toTs=1753185600&tsym=USD");
    assert_int_equal(f[2].first_s, 1753185600 - 3600);
    assert_int_equal(f[2].last_s, 1753185600);
    assert_int_equal(f[2].series_idx, 2);

    /* 13:17 ends 13:18:00: settled from 13:20:00 on, not 1 ns before */
    assert_rc(rp_plan_preflight(NULL, s, 1, NS(T1320) - 1, f, 8, &n),
              MD_OK);
    assert_int_equal(f[0].last_s, 1753190160);
    assert_rc(rp_plan_preflight(NULL, s, 1, NS(T1320), f, 8, &n), MD_OK);
    assert_int_equal(f[0].last_s, 1753190220);

    /* too small an array: nothing written, the need reported */
    memset(f, 0, sizeof f);
    assert_rc(rp_plan_preflight(NULL, s, 3, NS(T1320), f, 2, &n), MD_E_FULL);
    assert_int_equal(n, 3);
    assert_int_equal(f[0].req.ep, RP_EP_INVALID);
    assert_rc(rp_plan_preflight(NULL, s, 0, NS(T1320), NULL, 0, &n), MD_OK);
    assert_int_equal(n, 0);
    assert_rc(rp_plan_preflight(NULL, NULL, 1, NS(T1320), f, 8, &n),
              MD_E_INVAL);
    assert_rc(rp_plan_preflight(NULL, s, 1, -1, f, 8, &n), MD_E_RANGE);
    s[1].interval_s = 90;
    assert_rc(rp_plan_preflight(NULL, s, 2, NS(T1320), f, 8, &n),
              MD_E_UNSUPPORTED);
    s[1].base[0] = '\0';
    assert_rc(rp_plan_preflight(NULL, s, 2, NS(T1320), f, 8, &n),
              MD_E_INVAL);
}

static void test_rest_policy_preflight_paged(void **state)
{
    struct rp_series s = series("CCCAGG", "BTC", "USD", 60, BAR_SRC_CCCAGG);
    struct rp_series s5 = series("CCCAGG", "BTC", "USD", 300, BAR_SRC_CCCAGG);
    struct rp_config c;
    struct rp_fetch f[8];
    char buf[256];
    size_t n;
    (void)state;

    rp_config_default(&c);
    c.preflight_bars = 2500;
    assert_rc(rp_plan_preflight(&c, &s, 1, NS(T1320 + 25), f, 4, &n), MD_OK);
    assert_int_equal(n, 2);
    /* newest page first, toTs stepping back */
    assert_int_equal(f[0].last_s, 1753190220);
    assert_int_equal(f[0].first_s, 1753190220 - 1999 * 60);
    assert_int_equal(f[0].req.limit, 2000);
    assert_int_equal(f[1].last_s, f[0].first_s - 60);
    assert_int_equal(f[1].first_s, 1753190220 - 2499 * 60);
    assert_int_equal(f[1].req.limit, 500);
    fetch_path(&f[1], buf, sizeof buf);
    assert_string_equal(buf, "/data/v2/histominute?fsym=BTC&limit=500"
                             "&toTs=1753070220&tsym=USD");
    /* 5-minute bars: aggregate 5, at most 400 per page */
    c.preflight_bars = 1000;
    assert_rc(rp_plan_preflight(&c, &s5, 1, NS(T1320 + 25), f, 4, &n),
              MD_OK);
    /* newest 5-minute bar ending by 13:18:25: 13:10-13:15 */
    assert_int_equal(f[0].last_s, 1753189800);
    assert_int_equal(n, 3); /* 1000 / 400 = 2.5 */
    assert_int_equal(f[0].req.limit, 400);
    assert_int_equal(f[0].req.aggregate, 5);
    assert_int_equal(f[2].req.limit, 200);
    assert_rc(rp_plan_preflight(&c, &s5, 1, NS(T1320 + 25), f, 2, &n),
              MD_E_FULL);
    assert_int_equal(n, 3);
    /* 2500 5-minute bars reach past the 7 days of minute history:
     * 2014 of them are left */
    c.preflight_bars = 2500;
    assert_rc(rp_plan_preflight(&c, &s5, 1, NS(T1320 + 25), f, 8, &n),
              MD_OK);
    assert_int_equal(n, 6);
    assert_int_equal(f[5].first_s, T1320 - 7 * 86400 + 300);
    c.preflight_bars = 3;
    assert_rc(rp_plan_preflight(&c, &s5, 1, NS(T1320 + 25), f, 4, &n),
              MD_OK);
    assert_int_equal(n, 1);
    fetch_path(&f[0], buf, sizeof buf);
    assert_string_equal(buf, "/data/v2/histominute?aggregate=5&fsym=BTC"
                             "&limit=3&toTs=1753189800&tsym=USD");
    /* a smaller page limit */
    c.preflight_bars = 5;
    c.page_limit = 2;
    assert_rc(rp_plan_preflight(&c, &s, 1, NS(T1320 + 25), f, 4, &n), MD_OK);
    assert_int_equal(n, 3);
    assert_int_equal(f[2].req.limit, 1);
    assert_int_equal(f[2].first_s, f[2].last_s);
    /* bad configs */
    c.page_limit = 0;
    assert_rc(rp_plan_preflight(&c, &s, 1, NS(T1320), f, 4, &n), MD_E_INVAL);
    c.page_limit = 2001;
    assert_rc(rp_plan_preflight(&c, &s, 1, NS(T1320), f, 4, &n), MD_E_INVAL);
    c.page_limit = 2000;
    c.preflight_bars = 0;
    assert_rc(rp_plan_preflight(&c, &s, 1, NS(T1320), f, 4, &n), MD_E_INVAL);
}

/* ---------------------------------------------------------------------
 * Backfill
 * ------------------------------------------------------------------- */

/* Mark every bar the fetches cover; fail on a bar covered twice. */
static void cover(const struct rp_fetch *f, size_t n, int64_t base_s,
                  int64_t iv, unsigned char *seen, size_t nseen)
{
    size_t i;
    for (i = 0; i < n; i++) {
        int64_t t;
        assert_true(f[i].req.limit >= 1 && f[i].req.limit <= 2000);
        assert_int_equal(f[i].req.to_ts, f[i].last_s);
        assert_int_equal((f[i].last_s - f[i].first_s) / iv + 1,
                         f[i].req.limit);
        assert_int_equal(f[i].purpose, RP_P_BACKFILL);
        for (t = f[i].first_s; t <= f[i].last_s; t += iv) {
            size_t k = (size_t)((t - base_s) / iv);
            assert_true(t >= base_s && k < nseen);
            assert_int_equal(seen[k], 0);
            seen[k] = 1;
        }
    }
}

static void test_rest_policy_backfill_three_days(void **state)
{
    /* 2025-07-19 00:00:10 .. 2025-07-21 23:59:30 at 1m: 4320 bars */
    const int64_t d0 = 1753142400 - 3 * 86400;
    struct rp_series s = series("Coinbase", "BTC", "USD", 60, BAR_SRC_TRADES);
    static unsigned char seen[4320];
    struct rp_fetch f[4];
    struct rp_backfill res;
    char buf[256];
    size_t i;
    (void)state;

    assert_rc(rp_plan_backfill(NULL, &s, 7, NS(d0 + 10),
                               NS(d0 + 3 * 86400 - 30),
                               NS(d0 + 3 * 86400 + 600), f, 4, &res),
              MD_OK);
    assert_int_equal(res.n_fetch, 3);
    assert_int_equal(res.first_s, d0);
    assert_int_equal(res.last_s, d0 + 3 * 86400 - 60);
    assert_int_equal(res.bars, 4320);
    assert_int_equal(res.pending, 0);
    assert_int_equal(res.too_old, 0);
    assert_int_equal(res.retry_at_ns, 0);
    assert_int_equal(res.resume_ns, 0);
    /* newest page first: 2000, 2000, 320 */
    assert_int_equal(f[0].req.limit, 2000);
    assert_int_equal(f[1].req.limit, 2000);
    assert_int_equal(f[2].req.limit, 320);
    assert_int_equal(f[0].last_s, res.last_s);
    assert_int_equal(f[2].first_s, res.first_s);
    fetch_path(&f[0], buf, sizeof buf);
    assert_string_equal(buf, "/data/v2/histominute?e=Coinbase&fsym=BTC"
                             "&limit=2000&toTs=1753142340&tsym=USD");
    fetch_path(&f[2], buf, sizeof buf);
    assert_string_equal(buf, "/data/v2/histominute?e=Coinbase&fsym=BTC"
                             "&limit=320&toTs=1752902340&tsym=USD");
    memset(seen, 0, sizeof seen);
    cover(f, res.n_fetch, d0, 60, seen, 4320);
    for (i = 0; i < 4320; i++) {
        assert_int_equal(seen[i], 1); /* none missing */
    }
    for (i = 0; i < res.n_fetch; i++) {
        assert_int_equal(f[i].series_idx, 7);
    }
    /* two slots are too few: nothing written, the need reported */
    memset(f, 0, sizeof f);
    assert_rc(rp_plan_backfill(NULL, &s, 7, NS(d0 + 10),
                               NS(d0 + 3 * 86400 - 30),
                               NS(d0 + 3 * 86400 + 600), f, 2, &res),
              MD_E_FULL);
    assert_int_equal(res.n_fetch, 3);
    assert_int_equal(res.bars, 4320);
    assert_int_equal(f[0].req.ep, RP_EP_INVALID);
}

static void test_rest_policy_backfill_pending_then_retry(void **state)
{
    struct rp_series s = series("CCCAGG", "BTC", "USD", 60, BAR_SRC_CCCAGG);
    /* gap 13:05:42.318 .. 13:19:13.904, planned at 13:20:05 */
    const ts_ns g0 = NS(1753189542) + MS(318);
    const ts_ns g1 = NS(1753190353) + MS(904);
    static unsigned char seen[15];
    struct rp_fetch f[4];
    struct rp_backfill res, res2;
    size_t i;
    (void)state;

    assert_rc(rp_plan_backfill(NULL, &s, 0, g0, g1, NS(T1320 + 5), f, 4,
                               &res),
              MD_OK);
    /* bars 13:05 .. 13:19 (15); fetchable: ending by 13:18:05 -> up to
     * 13:17 (13 bars); 13:18 and 13:19 pending until 13:22:00 */
    assert_int_equal(res.first_s, 1753189500);
    assert_int_equal(res.last_s, 1753190340);
    assert_int_equal(res.bars, 13);
    assert_int_equal(res.pending, 2);
    assert_int_equal(res.n_fetch, 1);
    assert_int_equal(f[0].first_s, 1753189500);
    assert_int_equal(f[0].last_s, 1753190220);
    assert_int_equal(res.retry_at_ns, NS(1753190340 + 60 + 120));
    assert_int_equal(res.resume_ns, NS(1753190280));
    memset(seen, 0, sizeof seen);
    cover(f, res.n_fetch, 1753189500, 60, seen, 15);

    /* 1 ns early: the last bar is still pending */
    assert_rc(rp_plan_backfill(NULL, &s, 0, res.resume_ns, g1,
                               res.retry_at_ns - 1, f, 4, &res2),
              MD_OK);
    assert_int_equal(res2.bars, 1);
    assert_int_equal(res2.pending, 1);
    /* at retry_at: exactly the rest */
    assert_rc(rp_plan_backfill(NULL, &s, 0, res.resume_ns, g1,
                               res.retry_at_ns, f, 4, &res2),
              MD_OK);
    assert_int_equal(res2.bars, 2);
    assert_int_equal(res2.pending, 0);
    assert_int_equal(res2.retry_at_ns, 0);
    assert_int_equal(res2.n_fetch, 1);
    cover(f, res2.n_fetch, 1753189500, 60, seen, 15);
    for (i = 0; i < 15; i++) {
        assert_int_equal(seen[i], 1);
    }
}

static void test_rest_policy_backfill_boundaries(void **state)
{
    struct rp_series s = series("CCCAGG", "BTC", "USD", 60, BAR_SRC_CCCAGG);
    struct rp_fetch f[2];
    struct rp_backfill res;
    char buf[256];
    (void)state;

    /* one bar, 13:17; it ends exactly 120 s before now */
    assert_rc(rp_plan_backfill(NULL, &s, 0, NS(1753190230), NS(1753190250),
                               NS(1753190280 + 120), f, 2, &res),
              MD_OK);
    assert_int_equal(res.bars, 1);
    assert_int_equal(res.pending, 0);
    assert_int_equal(res.n_fetch, 1);
    assert_int_equal(f[0].req.limit, 1);
    fetch_path(&f[0], buf, sizeof buf);
    assert_string_equal(buf, "/data/v2/histominute?fsym=BTC&limit=1"
                             "&toTs=1753190220&tsym=USD");
    /* ... 119 s before now: nothing to fetch yet */
    assert_rc(rp_plan_backfill(NULL, &s, 0, NS(1753190230), NS(1753190250),
                               NS(1753190280 + 119), f, 2, &res),
              MD_OK);
    assert_int_equal(res.bars, 0);
    assert_int_equal(res.n_fetch, 0);
    assert_int_equal(res.pending, 1);
    assert_int_equal(res.retry_at_ns, NS(1753190280 + 120));
    assert_int_equal(res.resume_ns, NS(1753190220));
    /* nothing fetchable needs no array */
    assert_rc(rp_plan_backfill(NULL, &s, 0, NS(1753190230), NS(1753190250),
                               NS(1753190280 + 119), NULL, 0, &res),
              MD_OK);
    /* errors */
    assert_rc(rp_plan_backfill(NULL, &s, 0, NS(20), NS(10), NS(T1320), f, 2,
                               &res),
              MD_E_INVAL);
    assert_rc(rp_plan_backfill(NULL, &s, 0, NS(10), NS(20), NS(T1320), NULL,
                               2, &res),
              MD_E_INVAL);
    assert_rc(rp_plan_backfill(NULL, NULL, 0, NS(10), NS(20), NS(T1320), f,
                               2, &res),
              MD_E_INVAL);
    assert_rc(rp_plan_backfill(NULL, &s, 0, -5, NS(20), NS(T1320), f, 2,
                               &res),
              MD_E_RANGE);
}

static void test_rest_policy_backfill_hours_and_depth(void **state)
{
    struct rp_series h = series("Coinbase", "ETH", "USD", 3600,
                                BAR_SRC_TRADES);
    struct rp_series m = series("Coinbase", "ETH", "USD", 60, BAR_SRC_TRADES);
    const int64_t now = 1753142400; /* 2025-07-22 00:00 */
    struct rp_fetch f[8];
    struct rp_backfill res;
    char buf[256];
    (void)state;

    /* hours: 2025-07-21 10:30 .. 23:10, planned at 00:00 of the 22nd:
     * 10:00 .. 22:00 fetchable (13 bars); 23:00 pending to 00:02 */
    assert_rc(rp_plan_backfill(NULL, &h, 3, NS(now - 13 * 3600 - 1800),
                               NS(now - 3000), NS(now), f, 8, &res),
              MD_OK);
    assert_int_equal(res.bars, 13);
    assert_int_equal(res.pending, 1);
    assert_int_equal(res.retry_at_ns, NS(now + 120));
    assert_int_equal(res.n_fetch, 1);
    fetch_path(&f[0], buf, sizeof buf);
    assert_string_equal(buf, "/data/v2/histohour?e=Coinbase&fsym=ETH"
                             "&limit=13&toTs=1753135200&tsym=USD");

    /* minutes: an 8-day gap reaches past the 7 days of minute history */
    assert_rc(rp_plan_backfill(NULL, &m, 0, NS(now - 8 * 86400),
                               NS(now - 600), NS(now), f, 8, &res),
              MD_OK);
    /* 23:50:00 is a boundary: the last bar is 23:49 */
    assert_int_equal(res.last_s, now - 660);
    assert_int_equal(res.too_old, 1440);
    assert_int_equal(res.bars, 7 * 1440 - 10);
    assert_int_equal(res.n_fetch, 6); /* 10070 / 2000 */
    assert_int_equal(f[5].first_s, now - 7 * 86400);
    /* no horizon when the depth is 0; hours never have one */
    {
        struct rp_config c;
        rp_config_default(&c);
        c.minute_depth_s = 0;
        assert_rc(rp_plan_backfill(&c, &m, 0, NS(now - 8 * 86400),
                                   NS(now - 600), NS(now), f, 8, &res),
                  MD_OK);
        assert_int_equal(res.too_old, 0);
        assert_int_equal(res.bars, 8 * 1440 - 10);
    }
    assert_rc(rp_plan_backfill(NULL, &h, 0, NS(now - 8 * 86400),
                               NS(now - 7200), NS(now), f, 8, &res),
              MD_OK);
    assert_int_equal(res.too_old, 0);
    assert_int_equal(res.bars, 8 * 24 - 2);
}

/* ---------------------------------------------------------------------
 * Rate budget
 * ------------------------------------------------------------------- */

/* A Type 99 body as in reference 1.7 / 1.8 (2024-07 free-tier limits). */
static const char type99[] =
    "{\"Response\":\"Error\",\"Message\":\"You are over your rate limit "
    "please upgrade your account!\",\"HasWarning\":false,\"Type\":99,"
    "\"RateLimit\":{\"calls_made\":{\"second\":1,\"minute\":301,"
    "\"hour\":1201,\"day\":7501,\"month\":20001,\"total_calls\":20001},"
    "\"max_calls\":{\"second\":20,\"minute\":300,\"hour\":3000,"
    "\"day\":7500,\"month\":50000}},\"Data\":{}}";

static struct cc_ratelimit rl_one(int p, int64_t made, int64_t max)
{
    struct cc_ratelimit rl;
    memset(&rl, 0, sizeof rl);
    rl.has_made = 1u << p;
    rl.has_max = 1u << p;
    rl.calls_made[p] = made;
    rl.max_calls[p] = max;
    return rl;
}

/* A failed backfill is planned again after 60 s doubling to 1 h (its
 * failures in a row), never before the rate budget allows a call. */
static void test_rest_policy_backfill_retry(void **state)
{
    const ts_ns now = NS(T1320 + 25) + MS(250);
    struct cc_rest_status st;
    struct rp_config c;
    struct rp_budget b;
    unsigned k;
    (void)state;

    assert_int_equal(rp_backfill_retry_ns(NULL, NULL, 1, now), now + NS(60));
    assert_int_equal(rp_backfill_retry_ns(NULL, NULL, 0, now), now + NS(60));
    assert_int_equal(rp_backfill_retry_ns(NULL, NULL, 2, now),
                     now + NS(120));
    assert_int_equal(rp_backfill_retry_ns(NULL, NULL, 6, now),
                     now + NS(1920));
    for (k = 7; k < 100; k += 31) {
        assert_int_equal(rp_backfill_retry_ns(NULL, NULL, k, now),
                         now + NS(3600));
    }
    assert_int_equal(rp_backfill_retry_ns(NULL, NULL, UINT32_MAX, now),
                     now + NS(3600));
    rp_config_default(&c);
    c.retry_min_s = 5;
    c.retry_max_s = 7;
    assert_int_equal(rp_backfill_retry_ns(&c, NULL, 1, now), now + NS(5));
    assert_int_equal(rp_backfill_retry_ns(&c, NULL, 2, now), now + NS(7));
    /* a bad config counts as the defaults */
    c.retry_max_s = 4;
    assert_int_equal(rp_backfill_retry_ns(&c, NULL, 1, now), now + NS(60));
    /* the budget: a spent day waits for 00:00 UTC */
    rp_budget_init(&b);
    assert_int_equal(rp_backfill_retry_ns(NULL, &b, 1, now), now + NS(60));
    assert_rc(cc_rest_status_decode(S(type99), 200, &st, NULL), MD_OK);
    assert_rc(rp_budget_learn(&b, &st.rl, now), MD_OK);
    assert_int_equal(rp_backfill_retry_ns(NULL, &b, 1, now),
                     NS(1753142400 + 86400));
    assert_int_equal(rp_backfill_retry_ns(NULL, &b, 30, now),
                     NS(1753142400 + 86400));
}

static void test_rest_policy_budget_type99(void **state)
{
    /* 2025-07-22 13:20:25.250: minute and day are exhausted */
    const ts_ns now = NS(T1320 + 25) + MS(250);
    struct cc_rest_status st;
    struct rp_budget b;
    (void)state;

    assert_rc(cc_rest_status_decode(S(type99), 200, &st, NULL), MD_OK);
    assert_int_equal(st.kind, CC_R_RATE_LIMIT);
    rp_budget_init(&b);
    assert_int_equal(rp_budget_wait_ns(&b, now), 0);
    assert_rc(rp_budget_learn(&b, &st.rl, now), MD_OK);
    /* the day wins: until 2025-07-23 00:00 */
    assert_int_equal(rp_budget_wait_ns(&b, now),
                     NS(1753142400 + 86400) - now);
    /* once the day is over only new counts matter */
    assert_int_equal(rp_budget_wait_ns(&b, NS(1753142400 + 86400)), 0);
}

static void test_rest_policy_budget_windows(void **state)
{
    struct rp_budget b;
    struct cc_ratelimit rl;
    ts_ns now;
    (void)state;

    /* second: X.250 -> 750 ms */
    now = NS(T1320 + 7) + MS(250);
    rp_budget_init(&b);
    rl = rl_one(CC_P_SECOND, 20, 20);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(rp_budget_wait_ns(&b, now), MS(750));
    assert_int_equal(rp_budget_wait_ns(&b, NS(T1320 + 8)), 0);

    /* minute: 13:20:30.5 -> 29.5 s */
    now = NS(T1320 + 30) + MS(500);
    rp_budget_init(&b);
    rl = rl_one(CC_P_MINUTE, 300, 300);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(rp_budget_wait_ns(&b, now), MS(29500));
    /* not exhausted: no wait */
    rl = rl_one(CC_P_MINUTE, 299, 300);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(rp_budget_wait_ns(&b, now), 0);
    /* counting our own call exhausts it */
    rp_budget_count(&b, now);
    assert_int_equal(rp_budget_wait_ns(&b, now), MS(29500));

    /* hour: 13:59:00 -> 60 s */
    now = NS(1753192740);
    rp_budget_init(&b);
    rl = rl_one(CC_P_HOUR, 3001, 3000);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(rp_budget_wait_ns(&b, now), NS(60));

    /* day: 2025-01-31 23:59:59.5 -> 0.5 s */
    now = NS(T20250201) - MS(500);
    rp_budget_init(&b);
    rl = rl_one(CC_P_DAY, 7500, 7500);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(rp_budget_wait_ns(&b, now), MS(500));
    assert_int_equal(rp_budget_wait_ns(&b, NS(T20250201)), 0);

    /* month, same instant: Feb 1 is 0.5 s away */
    rp_budget_init(&b);
    rl = rl_one(CC_P_MONTH, 50000, 50000);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(rp_budget_wait_ns(&b, now), MS(500));
    assert_int_equal(rp_budget_wait_ns(&b, NS(T20250201)), 0);

    /* the largest exhausted window wins: minute + month mid-month */
    now = NS(1739577600) + NS(3600) + MS(1); /* 2025-02-15 01:00:00.001 */
    rp_budget_init(&b);
    rl = rl_one(CC_P_MINUTE, 300, 300);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    rl = rl_one(CC_P_MONTH, 50000, 50000);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(rp_budget_wait_ns(&b, now), NS(1740787200) - now);
}

static void test_rest_policy_budget_calendar(void **state)
{
    (void)state;

    /* leap February: 2024-02-15 -> 2024-03-01 is 15 days */
    assert_int_equal(rp_window_reset_ns(CC_P_MONTH, NS(1707955200)),
                     NS(1709251200));
    assert_int_equal(NS(1709251200) - NS(1707955200), NS(15 * 86400));
    /* 2024-02-29 12:00 -> 12 h */
    assert_int_equal(rp_window_reset_ns(CC_P_MONTH, NS(1709208000)) -
                         NS(1709208000),
                     NS(12 * 3600));
    assert_int_equal(rp_window_start_ns(CC_P_MONTH, NS(1709208000)),
                     NS(1709251200 - 29 * 86400));
    /* common February: 2025-02-15 -> 2025-03-01 is 14 days */
    assert_int_equal(rp_window_reset_ns(CC_P_MONTH, NS(1739577600)) -
                         NS(1739577600),
                     NS(14 * 86400));
    /* year rollover: 2024-12-31 23:00 -> 2025-01-01 */
    assert_int_equal(rp_window_reset_ns(CC_P_MONTH, NS(1735689600 - 3600)),
                     NS(1735689600));
    assert_int_equal(rp_window_reset_ns(CC_P_DAY, NS(1735689600 - 3600)),
                     NS(1735689600));
    /* exactly at a boundary: the next one */
    assert_int_equal(rp_window_reset_ns(CC_P_MONTH, NS(1735689600)),
                     NS(1735689600 + 31 * 86400));
    assert_int_equal(rp_window_start_ns(CC_P_MONTH, NS(1735689600)),
                     NS(1735689600));
    assert_int_equal(rp_window_reset_ns(CC_P_SECOND, NS(5)), NS(6));
    assert_int_equal(rp_window_reset_ns(CC_P_MINUTE, NS(T1320)),
                     NS(T1320 + 60));
    assert_int_equal(rp_window_reset_ns(CC_P_HOUR, NS(T1320)),
                     NS(1753192800));
    /* epoch and before it */
    assert_int_equal(rp_window_reset_ns(CC_P_MONTH, 0), NS(31 * 86400));
    assert_int_equal(rp_window_start_ns(CC_P_MONTH, -1), -NS(31 * 86400));
    assert_int_equal(rp_window_reset_ns(CC_P_SECOND, -1), 0);
    assert_int_equal(rp_window_start_ns(CC_P_DAY, -1), -NS(86400));
    /* 2000-02-29 (a leap century) -> 2000-03-01 */
    assert_int_equal(rp_window_reset_ns(CC_P_MONTH, NS(951782400)),
                     NS(951868800));
    /* 2100 is not a leap year: Feb 28 -> Mar 1 is one day (clamped time
     * ends at 2100-01-01, so check 2099-02-28 instead) */
    assert_int_equal(rp_window_reset_ns(CC_P_MONTH, NS(4075920000)),
                     NS(4076006400));
    assert_int_equal(NS(4076006400) - NS(4075920000), NS(86400));
    assert_int_equal(rp_window_reset_ns(-1, 0), 0);
    assert_int_equal(rp_window_reset_ns(CC_P__COUNT, 0), 0);
}

static void test_rest_policy_budget_learn(void **state)
{
    struct rp_budget b;
    struct cc_ratelimit rl;
    const ts_ns now = NS(T1320 + 30);
    (void)state;

    /* calls_left with max known: made = max - left */
    rp_budget_init(&b);
    memset(&rl, 0, sizeof rl);
    rl.has_max = 1u << CC_P_MINUTE;
    rl.has_left = 1u << CC_P_MINUTE;
    rl.max_calls[CC_P_MINUTE] = 300;
    rl.calls_left[CC_P_MINUTE] = 0;
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(b.made[CC_P_MINUTE], 300);
    assert_int_equal(rp_budget_wait_ns(&b, now), NS(30));
    /* calls_left alone, max learned earlier */
    memset(&rl, 0, sizeof rl);
    rl.has_left = 1u << CC_P_MINUTE;
    rl.calls_left[CC_P_MINUTE] = 12;
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(b.made[CC_P_MINUTE], 288);
    assert_int_equal(rp_budget_wait_ns(&b, now), 0);
    /* a window the body omits is kept */
    rl = rl_one(CC_P_HOUR, 5, 3000);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(b.made[CC_P_MINUTE], 288);
    assert_int_equal(b.max[CC_P_MINUTE], 300);
    /* a count from the previous minute means nothing now */
    rp_budget_init(&b);
    rl = rl_one(CC_P_MINUTE, 300, 300);
    assert_rc(rp_budget_learn(&b, &rl, NS(T1320) - 1), MD_OK);
    assert_int_equal(rp_budget_wait_ns(&b, NS(T1320) - 1), 1);
    assert_int_equal(rp_budget_wait_ns(&b, NS(T1320)), 0);
    /* count restarts a rolled window */
    rp_budget_count(&b, NS(T1320) + 5);
    assert_int_equal(b.made[CC_P_MINUTE], 1);
    /* bad input leaves b unchanged */
    rl = rl_one(CC_P_DAY, -1, 100);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_E_RANGE);
    assert_false(b.has_max & (1u << CC_P_DAY));
    rl = rl_one(CC_P_DAY, 1, INT64_C(2000000000000000));
    assert_rc(rp_budget_learn(&b, &rl, now), MD_E_RANGE);
    assert_rc(rp_budget_learn(NULL, &rl, now), MD_E_INVAL);
    assert_rc(rp_budget_learn(&b, NULL, now), MD_E_INVAL);
    assert_int_equal(rp_budget_wait_ns(NULL, now), 0);
}

static void test_rest_policy_budget_pacing(void **state)
{
    struct rp_budget b;
    struct cc_ratelimit rl;
    const ts_ns now = NS(T1320);
    (void)state;

    rp_budget_init(&b);
    /* 290 of 300 this minute, learned at :00: 10 left, <= 10 %: spread
     * them over the 60 s left, 60 / 11 s apart */
    rl = rl_one(CC_P_MINUTE, 290, 300);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(rp_budget_wait_ns(&b, now), 0);
    assert_int_equal(rp_budget_pace_ns(&b, now, 10), NS(60) / 11);
    assert_int_equal(rp_budget_pace_ns(&b, now + NS(60) / 11, 10), 0);
    assert_int_equal(rp_budget_pace_ns(&b, now, 0), 0);
    /* 3 % reserve: 10 left is above it, no pacing */
    assert_int_equal(rp_budget_pace_ns(&b, now, 3), 0);
    /* plenty left: no pacing */
    rl = rl_one(CC_P_MINUTE, 100, 300);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(rp_budget_pace_ns(&b, now, 10), 0);
    /* exhausted: pacing is the wait */
    rl = rl_one(CC_P_MINUTE, 300, 300);
    assert_rc(rp_budget_learn(&b, &rl, now + NS(15)), MD_OK);
    assert_int_equal(rp_budget_pace_ns(&b, now + NS(15), 10), NS(45));
}

/* ---------------------------------------------------------------------
 * Bars from REST
 * ------------------------------------------------------------------- */

/* A v2 histominute answer without toTs (limit=3, reference 1.3): 13:17,
 * 13:18, 13:19 closed, 13:20 still forming (TimeTo). Real-shaped: modern
 * key order, per-bar conversion fields, CCCAGG-like 2025 values. */
static const char histo_now[] =
    "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":false,"
    "\"Type\":100,\"RateLimit\":{},\"Data\":{\"Aggregated\":false,"
    "\"TimeFrom\":1753190220,\"TimeTo\":1753190400,\"Data\":["
    "{\"time\":1753190220,\"high\":119312.47,\"low\":119266.03,"
    "\"open\":119281.5,\"volumefrom\":23.81726354,"
    "\"volumeto\":2840912.7312345678,\"close\":119290.12,"
    "\"conversionType\":\"direct\",\"conversionSymbol\":\"\"},"
    "{\"time\":1753190280,\"high\":119305.88,\"low\":119251.4,"
    "\"open\":119290.12,\"volumefrom\":17.0455,\"volumeto\":2033015.25,"
    "\"close\":119262.77,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"},"
    "{\"time\":1753190340,\"high\":119270.01,\"low\":119198.64,"
    "\"open\":119262.77,\"volumefrom\":31.10200481,\"volumeto\":3708552.91,"
    "\"close\":119214.3,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"},"
    "{\"time\":1753190400,\"high\":119230.18,\"low\":119207.5,"
    "\"open\":119214.3,\"volumefrom\":4.2817,\"volumeto\":510498.13,"
    "\"close\":119221.06,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"}]}}";

/* The answer to a backfill page of Coinbase LTC-USD (toTs=13:07,
 * limit=3): limit+1 bars, 13:04 before the range; 13:06 had no trade
 * (flat at the previous close, zero volume). */
static const char histo_page[] =
    "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":false,"
    "\"Type\":100,\"RateLimit\":{},\"Data\":{\"Aggregated\":false,"
    "\"TimeFrom\":1753189440,\"TimeTo\":1753189620,\"Data\":["
    "{\"time\":1753189440,\"high\":95.43,\"low\":95.38,\"open\":95.41,"
    "\"volumefrom\":12.5083,\"volumeto\":1193.56,\"close\":95.4,"
    "\"conversionType\":\"direct\",\"conversionSymbol\":\"\"},"
    "{\"time\":1753189500,\"high\":95.47,\"low\":95.39,\"open\":95.4,"
    "\"volumefrom\":41.20931842,\"volumeto\":3932.1488912345,"
    "\"close\":95.46,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"},"
    "{\"time\":1753189560,\"high\":95.46,\"low\":95.46,\"open\":95.46,"
    "\"volumefrom\":0,\"volumeto\":0,\"close\":95.46,"
    "\"conversionType\":\"direct\",\"conversionSymbol\":\"\"},"
    "{\"time\":1753189620,\"high\":95.52,\"low\":95.44,\"open\":95.46,"
    "\"volumefrom\":7.6,\"volumeto\":725.4108,\"close\":95.51,"
    "\"conversionType\":\"direct\",\"conversionSymbol\":\"\"}]}}";

static void assert_rest_only(const struct bar *b)
{
    /* REST knows OHLC and volumes, nothing else: absent, not 0 */
    assert_int_equal(b->has & ~(BAR_HAS_OHLC | BAR_HAS_VOLUME), 0);
    assert_false(b->has & BAR_HAS_TRADES);
    assert_false(b->has & BAR_HAS_VWAP);
    assert_false(b->has & BAR_HAS_BUYSELL);
    assert_false(b->has & BAR_HAS_FIRSTLAST);
    assert_int_equal(b->trades, 0);
    assert_true(b->buy_volume == 0 && b->sell_volume == 0);
    assert_string_equal(b->first_id, "");
    assert_string_equal(b->last_id, "");
}

static void test_rest_policy_convert_partial_last(void **state)
{
    struct rp_series s = series("CCCAGG", "BTC", "USD", 60, BAR_SRC_CCCAGG);
    struct rp_fetch f;
    struct cc_histo h;
    struct cc_bar cb[8];
    struct bar out[8];
    struct rp_conv_stats st;
    struct cc_err e;
    size_t n;
    (void)state;

    assert_rc(cc_rest_histo(S(histo_now), 200, &h, cb, 8, &e), MD_OK);
    assert_int_equal(h.n_bars, 4);
    assert_int_equal(h.time_to, 1753190400);
    /* a fetch asking for all four */
    memset(&f, 0, sizeof f);
    histo(&f.req, RP_EP_HISTOMINUTE, "CCCAGG", "BTC", "USD", 3, 0);
    f.series = s;
    f.purpose = RP_P_PREFLIGHT;
    f.first_s = 1753190220;
    f.last_s = 1753190400;
    /* the answer arrived at 13:20:25: only 13:17 ended 2 min before */
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars, NS(T1320 + 25),
                               out, 8, &n, &st),
              MD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(st.kept, 1);
    assert_int_equal(st.unsettled, 3);
    assert_int_equal(st.out_of_range, 0);
    assert_int_equal(st.synthetic, 0);
    assert_int_equal(st.converted, 0);

    assert_string_equal(out[0].market, "CCCAGG");
    assert_string_equal(out[0].base, "BTC");
    assert_string_equal(out[0].quote, "USD");
    assert_int_equal(out[0].interval_s, 60);
    assert_int_equal(out[0].source, BAR_SRC_REST);
    assert_int_equal(out[0].start_ms, INT64_C(1753190220000));
    assert_int_equal(out[0].end_ms, INT64_C(1753190280000));
    assert_int_equal(out[0].revision, 0);
    assert_int_equal(out[0].close_reason, BAR_CLOSE_TIMER);
    assert_int_equal(out[0].flags, 0);
    assert_int_equal(out[0].has, BAR_HAS_OHLC | BAR_HAS_VOLUME);
    assert_true(out[0].open == 119281.5);
    assert_true(out[0].high == 119312.47);
    assert_true(out[0].low == 119266.03);
    assert_true(out[0].close == 119290.12);
    /* exact: 23.81726354 base = 23817263540000 x 1e-12 */
    assert_true(out[0].volume == (bar_i128)INT64_C(23817263540000));
    assert_scaled(out[0].volume, BAR_VOL_DIGITS, "23.81726354");
    assert_scaled(out[0].quote_volume, BAR_NOTIONAL_DIGITS,
                  "2840912.7312345678");
    assert_true(out[0].quote_volume ==
                (bar_i128)INT64_C(28409127312345678) *
                    (bar_i128)INT64_C(10000000000));
    assert_rest_only(&out[0]);
    assert_true(out[0].vwap == 0);

    /* two minutes later the answer's 13:18 would be settled */
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars,
                               NS(1753190340 + 120), out, 8, &n, &st),
              MD_OK);
    assert_int_equal(n, 2);
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars,
                               NS(1753190340 + 120) - 1, out, 8, &n, NULL),
              MD_OK);
    assert_int_equal(n, 1);
}

static void test_rest_policy_convert_backfill_page(void **state)
{
    struct rp_series s = series("Coinbase", "LTC", "USD", 60, BAR_SRC_TRADES);
    const ts_ns g0 = NS(1753189542) + MS(318); /* 13:05:42.318 */
    const ts_ns g1 = NS(1753189633) + MS(904); /* 13:07:13.904 */
    const ts_ns now = NS(1753189830);          /* 13:10:30 */
    struct rp_fetch f[2];
    struct rp_backfill res;
    struct cc_histo h;
    struct cc_bar cb[8];
    struct bar out[8], live, rev, fill;
    struct rp_conv_stats st;
    char buf[256];
    size_t n;
    (void)state;

    assert_rc(rp_plan_backfill(NULL, &s, 2, g0, g1, now, f, 2, &res), MD_OK);
    assert_int_equal(res.n_fetch, 1);
    assert_int_equal(res.pending, 0);
    fetch_path(&f[0], buf, sizeof buf);
    assert_string_equal(buf, "/data/v2/histominute?e=Coinbase&fsym=LTC"
                             "&limit=3&toTs=1753189620&tsym=USD");

    assert_rc(cc_rest_histo(S(histo_page), 200, &h, cb, 8, NULL), MD_OK);
    assert_int_equal(h.n_bars, 4);
    assert_rc(rp_histo_to_bars(NULL, &f[0], &h, cb, h.n_bars, now, out, 8,
                               &n, &st),
              MD_OK);
    assert_int_equal(n, 3); /* 13:04 is the extra bar before the range */
    assert_int_equal(st.out_of_range, 1);
    assert_int_equal(st.unsettled, 0);
    assert_int_equal(st.synthetic, 1);
    assert_int_equal(out[0].start_ms, INT64_C(1753189500000));
    assert_int_equal(out[1].start_ms, INT64_C(1753189560000));
    assert_int_equal(out[2].start_ms, INT64_C(1753189620000));
    assert_string_equal(out[0].market, "Coinbase");
    assert_scaled(out[0].volume, BAR_VOL_DIGITS, "41.20931842");
    assert_scaled(out[0].quote_volume, BAR_NOTIONAL_DIGITS,
                  "3932.1488912345");
    assert_scaled(out[2].volume, BAR_VOL_DIGITS, "7.6");
    assert_true(out[2].volume == (bar_i128)INT64_C(7600000000000));
    /* the no-trade minute: still a bar, flat, synthetic, volume 0 */
    assert_int_equal(out[1].flags, BAR_F_SYNTHETIC);
    assert_int_equal(out[1].has, BAR_HAS_OHLC | BAR_HAS_VOLUME);
    assert_true(out[1].volume == 0 && out[1].quote_volume == 0);
    assert_true(out[1].open == 95.46 && out[1].close == 95.46);
    assert_rest_only(&out[1]);

    /* the live 13:05 bar closed flagged spans_disconnect: one revision */
    memset(&live, 0, sizeof live);
    snprintf(live.market, sizeof live.market, "Coinbase");
    snprintf(live.base, sizeof live.base, "LTC");
    snprintf(live.quote, sizeof live.quote, "USD");
    live.interval_s = 60;
    live.source = BAR_SRC_TRADES;
    live.start_ms = INT64_C(1753189500000);
    live.end_ms = INT64_C(1753189560000);
    live.revision = 0;
    live.close_reason = BAR_CLOSE_TIMER;
    live.flags = BAR_F_SPANS_DISCONNECT;
    live.has = BAR_HAS_OHLC | BAR_HAS_VOLUME | BAR_HAS_TRADES |
               BAR_HAS_VWAP | BAR_HAS_BUYSELL | BAR_HAS_FIRSTLAST;
    live.open = 95.4;
    live.high = 95.45;
    live.low = 95.39;
    live.close = 95.44;
    live.volume = (bar_i128)INT64_C(30100000000000);
    live.buy_volume = (bar_i128)INT64_C(20000000000000);
    live.sell_volume = (bar_i128)INT64_C(10100000000000);
    live.trades = 17;
    live.vwap = 95.42;
    snprintf(live.first_id, sizeof live.first_id, "4012377");
    snprintf(live.last_id, sizeof live.last_id, "4012393");
    live.first_ns = NS(1753189500) + MS(412);
    live.last_ns = NS(1753189542) + MS(318);

    assert_rc(rp_bar_revise(&out[0], &live, &rev), MD_OK);
    assert_string_equal(rev.market, "Coinbase");
    assert_int_equal(rev.source, BAR_SRC_TRADES);
    assert_int_equal(rev.start_ms, live.start_ms);
    assert_int_equal(rev.end_ms, live.end_ms);
    assert_int_equal(rev.interval_s, 60);
    assert_int_equal(rev.revision, 1);
    assert_int_equal(rev.close_reason, BAR_CLOSE_BACKFILL);
    assert_int_equal(rev.flags, BAR_F_BACKFILLED | BAR_F_SPANS_DISCONNECT);
    assert_int_equal(rev.has, BAR_HAS_OHLC | BAR_HAS_VOLUME);
    assert_true(rev.close == 95.46);
    assert_scaled(rev.volume, BAR_VOL_DIGITS, "41.20931842");
    assert_rest_only(&rev);
    assert_true(rev.vwap == 0);
    assert_int_equal(rev.first_ns, 0);
    assert_int_equal(rev.last_ns, 0);
    /* later revisions count on */
    live.revision = 2;
    live.close_reason = BAR_CLOSE_REVISION;
    assert_rc(rp_bar_revise(&out[0], &live, &rev), MD_OK);
    assert_int_equal(rev.revision, 3);
    /* one revision from REST only */
    assert_rc(rp_bar_revise(&out[0], &rev, &fill), MD_E_STATE);
    /* not flagged: not a gap bar */
    live.flags = 0;
    assert_rc(rp_bar_revise(&out[0], &live, &rev), MD_E_INVAL);
    live.flags = BAR_F_SPANS_DISCONNECT;
    /* another period, another pair, a REST "live" bar */
    assert_rc(rp_bar_revise(&out[1], &live, &rev), MD_E_INVAL);
    snprintf(live.base, sizeof live.base, "BTC");
    assert_rc(rp_bar_revise(&out[0], &live, &rev), MD_E_INVAL);
    snprintf(live.base, sizeof live.base, "ltc"); /* case does not matter */
    assert_rc(rp_bar_revise(&out[0], &live, &rev), MD_OK);
    live.source = BAR_SRC_REST;
    assert_rc(rp_bar_revise(&out[0], &live, &rev), MD_E_INVAL);
    live.source = BAR_SRC_TRADES;
    live.revision = UINT32_MAX;
    assert_rc(rp_bar_revise(&out[0], &live, &rev), MD_E_RANGE);
    /* in place */
    live.revision = 0;
    assert_rc(rp_bar_revise(&out[0], &live, &live), MD_OK);
    assert_int_equal(live.revision, 1);
    assert_int_equal(live.trades, 0);

    /* 13:06 had no live bar at all: a first emission from REST */
    assert_rc(rp_bar_fill(&out[1], &s, &fill), MD_OK);
    assert_int_equal(fill.source, BAR_SRC_TRADES);
    assert_int_equal(fill.revision, 0);
    assert_int_equal(fill.close_reason, BAR_CLOSE_BACKFILL);
    assert_int_equal(fill.flags, BAR_F_BACKFILLED | BAR_F_SPANS_DISCONNECT |
                                     BAR_F_SYNTHETIC);
    assert_int_equal(fill.start_ms, INT64_C(1753189560000));
    assert_rest_only(&fill);
    s.source = BAR_SRC_REST;
    assert_rc(rp_bar_fill(&out[1], &s, &fill), MD_E_INVAL);
    s.source = BAR_SRC_TRADES;
    s.interval_s = 300;
    assert_rc(rp_bar_fill(&out[1], &s, &fill), MD_E_INVAL);
}

static void test_rest_policy_convert_seed_close(void **state)
{
    struct rp_series s = series("CCCAGG", "LTC", "USD", 60, BAR_SRC_CCCAGG);
    struct rp_fetch f[2];
    struct cc_histo h;
    struct cc_bar cb[8];
    struct bar out[8];
    double close = 0;
    int64_t end = 0;
    size_t n;
    (void)state;

    /* preflight at 13:10:10: 13:06 and 13:07 (toTs 13:07, limit 2) */
    assert_rc(rp_plan_preflight(NULL, &s, 1, NS(1753189810), f, 2, &n),
              MD_OK);
    assert_int_equal(n, 1);
    assert_int_equal(f[0].last_s, 1753189620);
    assert_int_equal(f[0].req.limit, 2);
    assert_rc(cc_rest_histo(S(histo_page), 200, &h, cb, 8, NULL), MD_OK);
    assert_rc(rp_histo_to_bars(NULL, &f[0], &h, cb, h.n_bars, NS(1753189810),
                               out, 8, &n, NULL),
              MD_OK);
    assert_int_equal(n, 2);
    /* the live series starts with the 13:10 bar: open = the close of
     * 13:07, the newest settled bar */
    assert_rc(rp_prev_close(out, n, INT64_C(1753189800000), &close, &end),
              MD_OK);
    assert_true(close == 95.51);
    assert_int_equal(end, INT64_C(1753189680000));
    /* a live start inside the newest bar falls back to the one before */
    assert_rc(rp_prev_close(out, n, INT64_C(1753189650000), &close, NULL),
              MD_OK);
    assert_true(close == 95.46);
    assert_rc(rp_prev_close(out, n, INT64_C(1753189500000), &close, NULL),
              MD_E_NOTFOUND);
    assert_rc(rp_prev_close(NULL, 1, 0, &close, NULL), MD_E_INVAL);
}

static void test_rest_policy_convert_errors(void **state)
{
    static const char v1_zero[] =
        "{\"Response\":\"Success\",\"Type\":100,\"Aggregated\":false,"
        "\"TimeTo\":1753189560,\"TimeFrom\":1753189500,"
        "\"FirstValueInArray\":true,\"ConversionType\":{\"type\":\"direct\","
        "\"conversionSymbol\":\"\"},\"Data\":["
        "{\"time\":1753189500,\"close\":0,\"high\":0,\"low\":0,\"open\":0,"
        "\"volumefrom\":0,\"volumeto\":0},"
        "{\"time\":1753189560,\"close\":0.0512,\"high\":0.0512,"
        "\"low\":0.0511,\"open\":0.0511,\"volumefrom\":1500.25,"
        "\"volumeto\":76.8128,\"conversionType\":\"multiply\","
        "\"conversionSymbol\":\"BTC\"}],\"RateLimit\":{},"
        "\"HasWarning\":false}";
    static const char misaligned[] =
        "{\"Data\":{\"Data\":[{\"time\":1753189501,\"high\":1,\"low\":1,"
        "\"open\":1,\"volumefrom\":1,\"volumeto\":1,\"close\":1}]}}";
    static const char missing[] =
        "{\"Data\":{\"Data\":[{\"time\":1753189500,\"high\":1,\"low\":1,"
        "\"open\":1,\"volumefrom\":1,\"close\":1}]}}";
    static const char backwards[] =
        "{\"Data\":{\"Data\":["
        "{\"time\":1753189560,\"high\":1,\"low\":1,\"open\":1,"
        "\"volumefrom\":1,\"volumeto\":1,\"close\":1},"
        "{\"time\":1753189500,\"high\":1,\"low\":1,\"open\":1,"
        "\"volumefrom\":1,\"volumeto\":1,\"close\":1}]}}";
    static const char negative[] =
        "{\"Data\":{\"Data\":[{\"time\":1753189500,\"high\":1,\"low\":1,"
        "\"open\":1,\"volumefrom\":-1,\"volumeto\":1,\"close\":1}]}}";
    static const char inexact[] =
        "{\"Data\":{\"Data\":[{\"time\":1753189500,\"high\":1,\"low\":1,"
        "\"open\":1,\"volumefrom\":123456789012345678901234567890,"
        "\"volumeto\":1,\"close\":1}]}}";
    static const char param_err[] =
        "{\"Response\":\"Error\",\"Message\":\"There is no data for the "
        "symbol BTC999 .\",\"HasWarning\":false,\"Type\":2,\"RateLimit\":{},"
        "\"Data\":{},\"ParamWithError\":\"fsym\"}";
    struct rp_series s = series("Binance", "DOGE", "ETH", 60, BAR_SRC_TRADES);
    const ts_ns now = NS(1753190000);
    struct rp_fetch f;
    struct cc_histo h;
    struct cc_bar cb[4];
    struct bar out[4];
    struct rp_conv_stats st;
    size_t n;
    (void)state;

    memset(&f, 0, sizeof f);
    histo(&f.req, RP_EP_HISTOMINUTE_V1, "Binance", "DOGE", "ETH", 2,
          1753189560);
    f.series = s;
    f.purpose = RP_P_BACKFILL;
    f.first_s = 1753189500;
    f.last_s = 1753189560;

    /* v1 shape; an all-zero bar (the pair did not trade yet): a bar,
     * synthetic, OHLC absent; a converted bar is counted */
    assert_rc(cc_rest_histo(S(v1_zero), 200, &h, cb, 4, NULL), MD_OK);
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars, now, out, 4, &n,
                               &st),
              MD_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].has, BAR_HAS_VOLUME);
    assert_int_equal(out[0].flags, BAR_F_SYNTHETIC);
    assert_int_equal(out[1].has, BAR_HAS_OHLC | BAR_HAS_VOLUME);
    assert_int_equal(out[1].flags, 0);
    assert_int_equal(st.synthetic, 1);
    assert_int_equal(st.converted, 1);
    assert_scaled(out[1].volume, BAR_VOL_DIGITS, "1500.25");
    /* too small an output */
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars, now, out, 1, &n,
                               NULL),
              MD_E_FULL);
    assert_int_equal(n, 2);

    assert_rc(cc_rest_histo(S(misaligned), 200, &h, cb, 4, NULL), MD_OK);
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars, now, out, 4, &n,
                               NULL),
              MD_E_PROTO);
    assert_rc(cc_rest_histo(S(missing), 200, &h, cb, 4, NULL), MD_OK);
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars, now, out, 4, &n,
                               NULL),
              MD_E_PROTO);
    assert_rc(cc_rest_histo(S(backwards), 200, &h, cb, 4, NULL), MD_OK);
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars, now, out, 4, &n,
                               NULL),
              MD_E_PROTO);
    assert_rc(cc_rest_histo(S(negative), 200, &h, cb, 4, NULL), MD_OK);
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars, now, out, 4, &n,
                               NULL),
              MD_E_PROTO);
    assert_rc(cc_rest_histo(S(inexact), 200, &h, cb, 4, NULL), MD_OK);
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars, now, out, 4, &n,
                               NULL),
              MD_E_RANGE);
    /* an error body is not data */
    assert_rc(cc_rest_histo(S(param_err), 200, &h, cb, 4, NULL), MD_OK);
    assert_int_equal(h.st.kind, CC_R_PARAM);
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, 0, now, out, 4, &n, NULL),
              MD_E_INVAL);
    /* a price fetch is not a histo fetch */
    h.st.kind = CC_R_OK;
    f.req.ep = RP_EP_PRICE;
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, 0, now, out, 4, &n, NULL),
              MD_E_INVAL);
    assert_rc(rp_histo_to_bars(NULL, NULL, &h, cb, 0, now, out, 4, &n, NULL),
              MD_E_INVAL);
}

/* A REST bar whose open or close lies outside its own high and low keeps
 * the values received and is flagged ohlc_outside; a valid one is not. */
static void test_rest_bar_outside_high_low_flagged(void **state)
{
    static const char body[] =
        "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":false,"
        "\"Type\":100,\"RateLimit\":{},\"Data\":{\"Aggregated\":false,"
        "\"TimeFrom\":1753190220,\"TimeTo\":1753190400,\"Data\":["
        "{\"time\":1753190220,\"high\":100,\"low\":90,\"open\":101,"
        "\"volumefrom\":1,\"volumeto\":100,\"close\":95,"
        "\"conversionType\":\"direct\",\"conversionSymbol\":\"\"},"
        "{\"time\":1753190280,\"high\":100,\"low\":90,\"open\":95,"
        "\"volumefrom\":1,\"volumeto\":100,\"close\":96,"
        "\"conversionType\":\"direct\",\"conversionSymbol\":\"\"}]}}";
    struct rp_series s = series("CCCAGG", "BTC", "USD", 60,
                                  BAR_SRC_CCCAGG);
    struct rp_fetch f;
    struct cc_histo h;
    struct cc_bar cb[8];
    struct bar out[8];
    struct rp_conv_stats st;
    struct cc_err e;
    size_t n;

    (void)state;
    assert_rc(cc_rest_histo(body, sizeof body - 1, 200, &h, cb, 8, &e),
              MD_OK);
    memset(&f, 0, sizeof f);
    histo(&f.req, RP_EP_HISTOMINUTE, "CCCAGG", "BTC", "USD", 1, 0);
    f.series = s;
    f.purpose = RP_P_PREFLIGHT;
    f.first_s = 1753190220;
    f.last_s = 1753190280;
    assert_rc(rp_histo_to_bars(NULL, &f, &h, cb, h.n_bars, NS(T1320 + 600),
                               out, 8, &n, &st),
              MD_OK);
    assert_int_equal(n, 2);
    assert_true(out[0].open == 101 && out[0].high == 100); /* as received */
    assert_int_equal(out[0].flags & BAR_F_OHLC_OUTSIDE, BAR_F_OHLC_OUTSIDE);
    assert_int_equal(out[1].flags & BAR_F_OHLC_OUTSIDE, 0);
}

/* Three shards sharing a key (share 3): each keeps to a third of every
 * window, the key's calls counted as spread evenly among them. */
static void test_rest_policy_budget_shared(void **state)
{
    struct rp_budget b;
    struct cc_ratelimit rl;
    ts_ns now = NS(T1320 + 30) + MS(500);
    int k;
    (void)state;

    rp_budget_init(&b);
    b.share = 3;
    /* 150 of 300 made by the key: 50 of this one's 100 */
    rl = rl_one(CC_P_MINUTE, 150, 300);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(b.max[CC_P_MINUTE], 100);
    assert_int_equal(b.made[CC_P_MINUTE], 50);
    assert_int_equal(rp_budget_wait_ns(&b, now), 0);
    for (k = 0; k < 49; k++) {
        rp_budget_count(&b, now);
    }
    assert_int_equal(rp_budget_wait_ns(&b, now), 0);
    /* its hundredth call of the minute: this shard waits for the next,
     * though the key has 100 calls left for the others */
    rp_budget_count(&b, now);
    assert_int_equal(rp_budget_wait_ns(&b, now), MS(29500));
    /* alone (share 1) the same answer leaves 150 */
    rp_budget_init(&b);
    rl = rl_one(CC_P_MINUTE, 150, 300);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(b.max[CC_P_MINUTE], 300);
    assert_int_equal(b.made[CC_P_MINUTE], 150);
    /* a key's max below the share: one call each, at least */
    rp_budget_init(&b);
    b.share = 8;
    rl = rl_one(CC_P_SECOND, 0, 5);
    assert_rc(rp_budget_learn(&b, &rl, now), MD_OK);
    assert_int_equal(b.max[CC_P_SECOND], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rest_policy_budget_shared),
        cmocka_unit_test(test_rest_bar_outside_high_low_flagged),
        cmocka_unit_test(test_rest_policy_path_every_endpoint),
        cmocka_unit_test(test_rest_policy_path_index_and_encoding),
        cmocka_unit_test(test_rest_policy_path_never_has_key),
        cmocka_unit_test(test_rest_policy_path_limits),
        cmocka_unit_test(test_rest_policy_path_buffer),
        cmocka_unit_test(test_rest_policy_series_endpoint),
        cmocka_unit_test(test_rest_policy_gap_bars),
        cmocka_unit_test(test_rest_policy_two_minute_rule),
        cmocka_unit_test(test_rest_policy_preflight),
        cmocka_unit_test(test_rest_policy_preflight_paged),
        cmocka_unit_test(test_rest_policy_backfill_three_days),
        cmocka_unit_test(test_rest_policy_backfill_pending_then_retry),
        cmocka_unit_test(test_rest_policy_backfill_boundaries),
        cmocka_unit_test(test_rest_policy_backfill_hours_and_depth),
        cmocka_unit_test(test_rest_policy_backfill_retry),
        cmocka_unit_test(test_rest_policy_budget_type99),
        cmocka_unit_test(test_rest_policy_budget_windows),
        cmocka_unit_test(test_rest_policy_budget_calendar),
        cmocka_unit_test(test_rest_policy_budget_learn),
        cmocka_unit_test(test_rest_policy_budget_pacing),
        cmocka_unit_test(test_rest_policy_convert_partial_last),
        cmocka_unit_test(test_rest_policy_convert_backfill_page),
        cmocka_unit_test(test_rest_policy_convert_seed_close),
        cmocka_unit_test(test_rest_policy_convert_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
