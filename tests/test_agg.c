/* test_agg.c: the OHLCV aggregator on real-shaped frames decoded by the
 * core's decoder: bucket boundaries to the nanosecond, order and chunking
 * invariance, late trades and revisions, duplicates after a resubscribe,
 * CCCAGG conventions (open = previous close, VOLUMEDAY differences and the
 * 00:00 UTC reset, FLAGS 4 without PRICE), empty intervals, gaps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libc's malloc and free, defined before cmocka's leak-checking macros:
 * the tables below outlive a test case (the next one frees them). */
static void *libc_malloc(size_t n)
{
    return malloc(n);
}

static void libc_free(void *p)
{
    free(p);
}

#include "agg.h"
#include "bar_num.h"
#include "cc_decode.h"
#include "cmocka_inc.h"
#include "md_err.h"
#include "md_prng.h"

#define S INT64_C(1000000000)
/* 2025-07-22 13:20:00 UTC, a minute boundary */
#define T0 INT64_C(1753190400)

static struct agg A;
static struct bar BARS[512];
static struct agg_out OUT;
static void *MEM; /* A's tables, sized for its configuration */

/* agg_init with memory of agg_mem_size(cfg), the last one freed. */
static int agg_init_mem(struct agg *a, const struct agg_config *cfg)
{
    size_t n = agg_mem_size(cfg);

    libc_free(MEM);
    MEM = n != SIZE_MAX ? libc_malloc(n) : NULL;
    assert_non_null(MEM);
    return agg_init(a, cfg, MEM, n);
}

static void setup_agg(const struct agg_config *cfg)
{
    struct agg_config def;

    if (cfg == NULL) {
        agg_config_default(&def);
        cfg = &def;
    }
    assert_int_equal(agg_init_mem(&A, cfg), MD_OK);
    OUT.bars = BARS;
    OUT.cap = sizeof BARS / sizeof BARS[0];
    OUT.n = 0;
}

struct tr {
    const char *id;
    int64_t ts, tsns;
    const char *p, *q;
    int f;
    int64_t ccseq; /* 0: absent */
};

/* Decode and aggregate one trade frame, the way the wire has it. */
static void trade(const struct tr *t, int64_t now_ns)
{
    char buf[512];
    struct cc_msg msg;
    int n;

    if (t->ccseq) {
        n = snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\","
                     "\"TSYM\":\"USD\",\"F\":\"%d\",\"ID\":\"%s\",\"TS\":%lld,"
                     "\"Q\":%s,\"P\":%s,\"RTS\":%lld,\"CCSEQ\":%lld,"
                     "\"TSNS\":%lld}",
                     t->f, t->id, (long long)t->ts, t->q, t->p,
                     (long long)t->ts, (long long)t->ccseq,
                     (long long)t->tsns);
    } else {
        n = snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\","
                     "\"TSYM\":\"USD\",\"F\":\"%d\",\"ID\":\"%s\",\"TS\":%lld,"
                     "\"Q\":%s,\"P\":%s,\"TSNS\":%lld}",
                     t->f, t->id, (long long)t->ts, t->q, t->p,
                     (long long)t->tsns);
    }
    assert_true(n > 0 && (size_t)n < sizeof buf);
    assert_int_equal(cc_ws_decode(buf, (size_t)n, &msg, NULL), MD_OK);
    assert_int_equal(msg.type, CC_T_TRADE);
    assert_int_equal(agg_trade(&A, &msg.u.trade, now_ns), MD_OK);
}

/* Every bar the aggregator emits, in every test here: a valid OHLC
 * record. */
static void check_ohlc(void)
{
    size_t i;

    for (i = 0; i < OUT.n; i++) {
        const struct bar *b = &OUT.bars[i];
        if ((b->has & BAR_HAS_OHLC) &&
            !(b->low <= b->open && b->open <= b->high && b->low <= b->close &&
              b->close <= b->high)) {
            fail_msg("bar %zu: open %g high %g low %g close %g", i, b->open,
                     b->high, b->low, b->close);
        }
    }
}

static void advance(int64_t now_ns)
{
    assert_int_equal(agg_advance(&A, now_ns, &OUT), MD_OK);
    check_ohlc();
}

static const char *vol(bar_i128 v, unsigned digits)
{
    static char buf[4][80];
    static int k;

    k = (k + 1) % 4;
    assert_true(bar_scaled_to_text(v, digits, buf[k], sizeof buf[k]) > 0);
    return buf[k];
}

static void test_agg_bucket_boundaries(void **state)
{
    static const struct tr t[] = {
        {"1001", T0, 0, "100.5", "0.25", 2, 0},
        {"1002", T0 + 59, 999999999, "101", "0.75", 1, 0},
        {"1003", T0 + 60, 0, "102", "1", 2, 0},
    };
    (void)state;
    setup_agg(NULL);
    trade(&t[0], (T0 + 1) * S);
    trade(&t[1], (T0 + 60) * S);
    trade(&t[2], (T0 + 60) * S);
    advance((T0 + 61) * S); /* end + grace - 1 s: nothing yet */
    assert_int_equal(OUT.n, 0);
    advance((T0 + 62) * S); /* end + grace: the first bar closes */
    assert_int_equal(OUT.n, 1);
    assert_int_equal(BARS[0].start_ms, T0 * 1000);
    assert_int_equal(BARS[0].end_ms, (T0 + 60) * 1000);
    assert_int_equal(BARS[0].trades, 2);
    assert_true(BARS[0].open == 100.5 && BARS[0].close == 101);
    assert_true(BARS[0].high == 101 && BARS[0].low == 100.5);
    assert_string_equal(vol(BARS[0].volume, BAR_VOL_DIGITS), "1");
    assert_string_equal(vol(BARS[0].quote_volume, BAR_NOTIONAL_DIGITS),
                        "100.875");
    assert_string_equal(vol(BARS[0].buy_volume, BAR_VOL_DIGITS), "0.25");
    assert_string_equal(vol(BARS[0].sell_volume, BAR_VOL_DIGITS), "0.75");
    assert_true(BARS[0].vwap == 100.875);
    assert_string_equal(BARS[0].first_id, "1001");
    assert_string_equal(BARS[0].last_id, "1002");
    assert_int_equal(BARS[0].last_ns, (T0 + 59) * S + 999999999);
    assert_int_equal(BARS[0].close_reason, BAR_CLOSE_TIMER);
    assert_int_equal(BARS[0].source, BAR_SRC_TRADES);
    assert_int_equal(BARS[0].has & BAR_HAS_VWAP, BAR_HAS_VWAP);
    /* :00.000000000 belongs to the next bar, which is still open */
    assert_int_equal(agg_next_deadline(&A), (T0 + 122) * S);
    assert_int_equal(agg_flush(&A, &OUT), MD_OK);
    check_ohlc();
    assert_int_equal(OUT.n, 2);
    assert_int_equal(BARS[1].start_ms, (T0 + 60) * 1000);
    assert_int_equal(BARS[1].close_reason, BAR_CLOSE_FLUSH);
    assert_int_equal(BARS[1].trades, 1);
}

/* Ten trades of one bar, with ties in event time broken by id. */
static const struct tr PERM[] = {
    {"2001", T0 + 3, 0, "50000.1", "0.00000001", 2, 0},
    {"2002", T0 + 3, 0, "50000.2", "1.5", 1, 0},
    {"2003", T0 + 7, 500, "49999.99", "0.12345678", 2, 0},
    {"2004", T0 + 10, 0, "50010", "2", 4, 0},
    {"2005", T0 + 12, 1, "49990.5", "0.3", 1, 0},
    {"2006", T0 + 20, 0, "50005.25", "0.7", 2, 0},
    {"2007", T0 + 30, 0, "50001", "0.0001", 1, 0},
    {"2008", T0 + 45, 0, "50002", "3.14159265", 2, 0},
    {"2009", T0 + 59, 999999999, "50003", "0.5", 1, 0},
    {"2010", T0 + 59, 999999999, "50004", "0.25", 2, 0},
};
#define NPERM (sizeof PERM / sizeof PERM[0])

static void run_order(const unsigned *order, int advance_each,
                      struct bar *got)
{
    unsigned i;

    setup_agg(NULL);
    for (i = 0; i < NPERM; i++) {
        trade(&PERM[order[i]], (T0 + 1) * S + i);
        if (advance_each) {
            advance((T0 + 1) * S + i);
        }
    }
    advance((T0 + 62) * S);
    assert_int_equal(OUT.n, 1);
    *got = BARS[0];
}

static void test_agg_order_and_chunking_invariance(void **state)
{
    unsigned order[NPERM], i, k;
    struct bar ref, got;
    struct md_prng r;

    (void)state;
    for (i = 0; i < NPERM; i++) {
        order[i] = i;
    }
    run_order(order, 0, &ref);
    assert_true(ref.open == 50000.1 && ref.close == 50004);
    assert_true(ref.high == 50010 && ref.low == 49990.5);
    assert_int_equal(ref.trades, 10);
    assert_string_equal(vol(ref.volume, BAR_VOL_DIGITS), "8.51514944");
    md_prng_seed(&r, 2024);
    for (k = 0; k < 60; k++) {
        for (i = NPERM - 1; i > 0; i--) {
            unsigned j = (unsigned)md_prng_below(&r, i + 1), tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        run_order(order, (int)(k % 2), &got);
        /* byte-identical (fill_bar zeroes the padding) */
        assert_memory_equal(&ref, &got, sizeof ref);
    }
}

static void test_agg_late_trades_revise(void **state)
{
    static const struct tr on_time = {"3001", T0 + 10, 0, "10", "1", 2, 0};
    static const struct tr late = {"3002", T0 + 5, 0, "9", "2", 1, 0};
    static const struct tr too_late = {"3003", T0 + 6, 0, "8", "1", 1, 0};
    (void)state;
    setup_agg(NULL);
    trade(&on_time, (T0 + 11) * S);
    advance((T0 + 62) * S);
    assert_int_equal(OUT.n, 1);
    assert_int_equal(BARS[0].revision, 0);
    /* 30 s after the close: within the 120 s horizon */
    trade(&late, (T0 + 92) * S);
    assert_int_equal(agg_next_deadline(&A), (T0 + 94) * S);
    advance((T0 + 94) * S);
    assert_int_equal(OUT.n, 2);
    assert_int_equal(BARS[1].start_ms, T0 * 1000);
    assert_int_equal(BARS[1].revision, 1);
    assert_int_equal(BARS[1].close_reason, BAR_CLOSE_REVISION);
    assert_true(BARS[1].open == 9 && BARS[1].close == 10);
    assert_true(BARS[1].low == 9);
    assert_int_equal(BARS[1].trades, 2);
    assert_int_equal(A.st.late_revisions, 1);
    /* beyond the horizon: counted, not merged anywhere */
    trade(&too_late, (T0 + 60 + 121) * S);
    advance((T0 + 200) * S);
    assert_int_equal(OUT.n, 2);
    assert_int_equal(A.st.late_dropped, 1);
}

static void test_agg_resubscribe_replay_not_counted_twice(void **state)
{
    struct tr t[25];
    char ids[25][16];
    unsigned i;

    (void)state;
    setup_agg(NULL);
    for (i = 0; i < 25; i++) {
        snprintf(ids[i], sizeof ids[i], "%u", 5000 + i);
        t[i] = (struct tr){ids[i], T0 + 2 * i, 0, "100", "1", 2,
                           7000 + (int64_t)i};
    }
    for (i = 0; i < 20; i++) {
        trade(&t[i], (T0 + 2 * i + 1) * S);
    }
    /* reconnect: the server replays the last 20 trades, then new ones */
    for (i = 0; i < 20; i++) {
        trade(&t[i], (T0 + 41) * S);
    }
    for (i = 20; i < 25; i++) {
        trade(&t[i], (T0 + 2 * i + 1) * S);
    }
    assert_int_equal(agg_flush(&A, &OUT), MD_OK);
    check_ohlc();
    assert_int_equal(OUT.n, 1);
    assert_int_equal(BARS[0].trades, 25);
    assert_string_equal(vol(BARS[0].volume, BAR_VOL_DIGITS), "25");
    assert_int_equal(A.st.duplicates, 20);
}

/* Decimal ids are kept by value, canonical ones only (so "0123" is not
 * "123"), others by a hash of their bytes; each is new once, and a repeat
 * of any of them is a duplicate. */
static void test_agg_trade_id_kinds(void **state)
{
    static const char *const ids[] = {
        "123", "0123", "00123", "0", "00", "a1", "1a", "-1", "1.0",
        "123456789012345678", "1234567890123456789", "9", "x",
        "abcdefghijklmnopqrstuvwxyz01234",
    };
    const size_t n = sizeof ids / sizeof ids[0];
    size_t i, round;

    (void)state;
    setup_agg(NULL);
    for (round = 0; round < 2; round++) {
        for (i = 0; i < n; i++) {
            struct tr t = {ids[i], T0 + 1, (int64_t)i, "100", "1", 1, 0};
            trade(&t, (T0 + 2) * S);
        }
        /* every id once new, then every one a duplicate */
        assert_int_equal(A.st.duplicates, round * n);
    }
    assert_int_equal(agg_flush(&A, &OUT), MD_OK);
    check_ohlc();
    assert_int_equal(OUT.n, 1);
    assert_int_equal(BARS[0].trades, n);
}

static void test_agg_out_of_order_open_close(void **state)
{
    static const struct tr t[] = {
        {"9", T0 + 50, 0, "3", "1", 2, 0},
        {"7", T0 + 10, 0, "1", "1", 2, 0},
        {"8", T0 + 30, 0, "2", "1", 2, 0},
        /* same second as "9", earlier nanoseconds */
        {"10", T0 + 50, 0, "4", "1", 2, 0},
    };
    unsigned i;

    (void)state;
    setup_agg(NULL);
    for (i = 0; i < 4; i++) {
        trade(&t[i], (T0 + 55) * S);
    }
    assert_int_equal(agg_flush(&A, &OUT), MD_OK);
    check_ohlc();
    assert_true(BARS[0].open == 1);
    /* tie at T0+50: numeric id 10 > 9, so "10" is the last trade */
    assert_true(BARS[0].close == 4);
    assert_string_equal(BARS[0].first_id, "7");
    assert_string_equal(BARS[0].last_id, "10");
}

static void test_agg_future_and_bad_trades_counted(void **state)
{
    static const struct tr far = {"1", T0 + 3600, 0, "1", "1", 2, 0};
    static const struct tr zero = {"2", T0, 0, "0", "1", 2, 0};
    (void)state;
    setup_agg(NULL);
    trade(&far, T0 * S);
    trade(&zero, T0 * S);
    /* 3600 s ahead still finds a free slot: it opens its own bucket */
    assert_int_equal(A.st.future_dropped, 0);
    assert_int_equal(A.st.bad_values, 1);
}

/* ---- CCCAGG ------------------------------------------------------------ */

static struct cc_ticker_state TK;

static void cccagg(const char *json, bool fresh, int64_t now_ns)
{
    struct cc_msg msg;
    uint64_t changed = 0;

    assert_int_equal(cc_ws_decode(json, strlen(json), &msg, NULL), MD_OK);
    assert_int_equal(msg.type, CC_T_CCCAGG);
    if (fresh) {
        cc_ticker_reset(&TK);
    }
    assert_int_equal(cc_ticker_merge(&TK, &msg.u.ticker, &changed), MD_OK);
    assert_int_equal(agg_cccagg(&A, &TK, changed, fresh, now_ns), MD_OK);
}

static void test_agg_cccagg_conventions(void **state)
{
    (void)state;
    setup_agg(NULL);
    /* the REST preflight says the bar ending at T0 closed at 49700 */
    assert_int_equal(agg_seed_close(&A, "BTC", "USD", 60, T0 * S, 49700),
                     MD_OK);
    cccagg("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
           "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"PRICE\":49735.66,"
           "\"LASTUPDATE\":1753190401,\"VOLUMEDAY\":15494.02153829,"
           "\"VOLUMEDAYTO\":773812157.387051}",
           true, (T0 + 1) * S);
    cccagg("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
           "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":49800,"
           "\"LASTUPDATE\":1753190420,\"VOLUMEDAY\":15495.52153829,"
           "\"VOLUMEDAYTO\":773886857.387051}",
           false, (T0 + 20) * S);
    /* FLAGS 4: price unchanged, no PRICE key; volume still moves */
    cccagg("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
           "\"TOSYMBOL\":\"USD\",\"FLAGS\":4,\"LASTUPDATE\":1753190450,"
           "\"VOLUMEDAY\":15496.02153829,\"VOLUMEDAYTO\":773911757.387051}",
           false, (T0 + 50) * S);
    cccagg("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
           "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"PRICE\":49650.5,"
           "\"LASTUPDATE\":1753190455}",
           false, (T0 + 55) * S);
    advance((T0 + 62) * S);
    assert_int_equal(OUT.n, 1);
    assert_int_equal(BARS[0].source, BAR_SRC_CCCAGG);
    assert_string_equal(BARS[0].market, "CCCAGG");
    assert_true(BARS[0].open == 49700); /* the previous close */
    assert_true(BARS[0].high == 49800);
    assert_true(BARS[0].low == 49650.5);
    assert_true(BARS[0].close == 49650.5);
    /* the first VOLUMEDAY is a baseline: 1.5 + 0.5 since */
    assert_string_equal(vol(BARS[0].volume, BAR_VOL_DIGITS), "2");
    assert_string_equal(vol(BARS[0].quote_volume, BAR_NOTIONAL_DIGITS),
                        "99600");
    assert_int_equal(BARS[0].has & (BAR_HAS_TRADES | BAR_HAS_VWAP |
                                    BAR_HAS_BUYSELL),
                     0);
    /* the next bar has no PRICE update: flat at the previous close */
    cccagg("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
           "\"TOSYMBOL\":\"USD\",\"FLAGS\":4,\"LASTUPDATE\":1753190470,"
           "\"VOLUMEDAY\":15496.12153829}",
           false, (T0 + 70) * S);
    advance((T0 + 122) * S);
    assert_int_equal(OUT.n, 2);
    assert_true(BARS[1].open == 49650.5 && BARS[1].close == 49650.5);
    assert_true(BARS[1].high == 49650.5 && BARS[1].low == 49650.5);
    assert_string_equal(vol(BARS[1].volume, BAR_VOL_DIGITS), "0.1");
}

/* Every bar is a valid OHLC record: low <= open <= high and low <= close
 * <= high. A CCCAGG bar opens at the previous close, which may lie
 * outside the interval's own PRICE updates: high and low widen to
 * include it (the price at the period's start). */
static void test_agg_cccagg_open_inside_high_low(void **state)
{
    (void)state;
    setup_agg(NULL);
    assert_int_equal(agg_seed_close(&A, "BTC", "USD", 60, T0 * S, 50000),
                     MD_OK);
    /* every update of the minute below the previous close */
    cccagg("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
           "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"PRICE\":49900,"
           "\"LASTUPDATE\":1753190410}",
           true, (T0 + 10) * S);
    cccagg("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
           "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"PRICE\":49850,"
           "\"LASTUPDATE\":1753190440}",
           false, (T0 + 40) * S);
    advance((T0 + 62) * S);
    assert_int_equal(OUT.n, 1);
    assert_true(BARS[0].open == 50000);
    assert_true(BARS[0].high == 50000); /* widened to the open */
    assert_true(BARS[0].low == 49850);
    assert_true(BARS[0].close == 49850);
    /* and above: the next minute's updates all above its open */
    cccagg("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
           "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":49990,"
           "\"LASTUPDATE\":1753190470}",
           false, (T0 + 70) * S);
    advance((T0 + 122) * S);
    assert_int_equal(OUT.n, 2);
    assert_true(BARS[1].open == 49850);
    assert_true(BARS[1].low == 49850); /* widened to the open */
    assert_true(BARS[1].high == 49990);
}

static void test_agg_volumeday_reset_at_midnight(void **state)
{
    /* 2025-07-22 23:59:30 and 2025-07-23 00:00:30 UTC */
    char a[400], b[400];
    (void)state;
    setup_agg(NULL);
    snprintf(a, sizeof a,
             "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"ETH\","
             "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":3000,"
             "\"LASTUPDATE\":%lld,\"VOLUMEDAY\":250000.5}",
             (long long)1753228770);
    cccagg(a, true, INT64_C(1753228770) * S);
    snprintf(a, sizeof a,
             "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"ETH\","
             "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":3001,"
             "\"LASTUPDATE\":%lld,\"VOLUMEDAY\":250010.5}",
             (long long)1753228790);
    cccagg(a, false, INT64_C(1753228790) * S);
    snprintf(b, sizeof b,
             "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"ETH\","
             "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"PRICE\":2999,"
             "\"LASTUPDATE\":%lld,\"VOLUMEDAY\":12.25}",
             (long long)1753228830);
    cccagg(b, false, INT64_C(1753228830) * S);
    assert_int_equal(agg_flush(&A, &OUT), MD_OK);
    check_ohlc();
    assert_int_equal(OUT.n, 2);
    assert_string_equal(vol(BARS[0].volume, BAR_VOL_DIGITS), "10");
    /* after 00:00 UTC VOLUMEDAY restarts: 12.25 is all new volume */
    assert_string_equal(vol(BARS[1].volume, BAR_VOL_DIGITS), "12.25");
    assert_int_equal(A.st.volume_resets, 1);
    assert_int_equal(A.st.volume_negative, 0);
}

static void test_agg_empty_intervals_synthetic(void **state)
{
    static const struct tr a = {"1", T0 + 1, 0, "10", "1", 2, 0};
    static const struct tr b = {"2", T0 + 181, 0, "12", "1", 2, 0};
    struct agg_config cfg;

    (void)state;
    agg_config_default(&cfg);
    cfg.emit_empty = true;
    setup_agg(&cfg);
    trade(&a, (T0 + 2) * S);
    advance((T0 + 62) * S);
    advance((T0 + 182) * S); /* two empty minutes */
    trade(&b, (T0 + 182) * S);
    advance((T0 + 242) * S);
    assert_int_equal(OUT.n, 4);
    assert_int_equal(BARS[1].flags & BAR_F_SYNTHETIC, BAR_F_SYNTHETIC);
    assert_int_equal(BARS[1].start_ms, (T0 + 60) * 1000);
    assert_true(BARS[1].open == 10 && BARS[1].close == 10);
    assert_int_equal(BARS[2].start_ms, (T0 + 120) * 1000);
    assert_int_equal(BARS[3].flags & BAR_F_SYNTHETIC, 0);
    assert_int_equal(A.st.synthetic, 2);
    /* default: nothing is emitted for an empty interval */
    setup_agg(NULL);
    trade(&a, (T0 + 2) * S);
    advance((T0 + 182) * S);
    trade(&b, (T0 + 182) * S);
    advance((T0 + 242) * S);
    assert_int_equal(OUT.n, 2);
}

static void test_agg_gap_flags_bars(void **state)
{
    static const struct tr a = {"1", T0 + 10, 0, "10", "1", 2, 0};
    static const struct tr b = {"2", T0 + 50, 0, "11", "1", 2, 0};
    static const struct tr c = {"3", T0 + 70, 0, "12", "1", 2, 0};
    (void)state;
    setup_agg(NULL);
    trade(&a, (T0 + 10) * S);
    agg_gap_open(&A, (T0 + 10) * S);
    agg_gap_close(&A, (T0 + 40) * S);
    trade(&b, (T0 + 50) * S);
    trade(&c, (T0 + 70) * S);
    assert_int_equal(agg_flush(&A, &OUT), MD_OK);
    check_ohlc();
    assert_int_equal(OUT.n, 2);
    assert_int_equal(BARS[0].flags & BAR_F_SPANS_DISCONNECT,
                     BAR_F_SPANS_DISCONNECT);
    assert_int_equal(BARS[1].flags & BAR_F_SPANS_DISCONNECT, 0);
}

static void test_agg_multiple_intervals_one_pass(void **state)
{
    struct agg_config cfg;
    struct tr t;
    char ids[10][8];
    unsigned i;

    (void)state;
    agg_config_default(&cfg);
    cfg.intervals_s[1] = 300;
    cfg.n_intervals = 2;
    setup_agg(&cfg);
    for (i = 0; i < 10; i++) {
        snprintf(ids[i], sizeof ids[i], "%u", i + 1);
        t = (struct tr){ids[i], T0 + 30 * i, 0, "100", "0.5", 2, 0};
        trade(&t, (T0 + 30 * i) * S);
    }
    advance((T0 + 302) * S);
    /* five 1m bars and one 5m bar, the 5m one after its 1m ones */
    assert_int_equal(OUT.n, 6);
    assert_int_equal(BARS[5].interval_s, 300);
    assert_int_equal(BARS[5].trades, 10);
    assert_string_equal(vol(BARS[5].volume, BAR_VOL_DIGITS), "5");
}

static void test_agg_config_checked(void **state)
{
    struct agg_config cfg;

    (void)state;
    agg_config_default(&cfg);
    cfg.n_intervals = 0;
    assert_int_equal(agg_init_mem(&A, &cfg), MD_E_INVAL);
    agg_config_default(&cfg);
    cfg.intervals_s[0] = 0;
    assert_int_equal(agg_init_mem(&A, &cfg), MD_E_INVAL);
    agg_config_default(&cfg);
    cfg.lateness_ns = 3600 * S; /* more than 16 slots of 1m */
    assert_int_equal(agg_init_mem(&A, &cfg), MD_E_INVAL);
}

/* One trade of pair base/USD on Coinbase, with id; the aggregator's rc. */
static int pair_trade(const char *base, unsigned id, int64_t ts)
{
    char buf[512];
    struct cc_msg msg;
    int n = snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"%s\","
                     "\"TSYM\":\"USD\",\"F\":\"1\",\"ID\":\"%u\","
                     "\"TS\":%lld,\"Q\":1,\"P\":10}",
                     base, id, (long long)ts);

    assert_true(n > 0 && (size_t)n < sizeof buf);
    assert_int_equal(cc_ws_decode(buf, (size_t)n, &msg, NULL), MD_OK);
    return agg_trade(&A, &msg.u.trade, ts * S);
}

/* The tables come from the configuration, in memory the caller gives,
 * which need not be zeroed: a stream beyond max_streams is counted (and
 * its trade refused loudly), never put in another stream; trade ids are
 * remembered per stream up to dedupe_cap a generation; too little memory
 * is refused. Memory full of garbage gives the same results. */
static void test_agg_tables_from_config(void **state)
{
    struct agg_config cfg;
    size_t need;
    unsigned i;

    (void)state;
    agg_config_default(&cfg);
    cfg.max_streams = 2;
    cfg.dedupe_cap = 4;
    need = agg_mem_size(&cfg);
    libc_free(MEM);
    MEM = libc_malloc(need);
    assert_non_null(MEM);
    assert_int_equal(agg_init(&A, &cfg, MEM, need - 1), MD_E_INVAL);
    memset(MEM, 0xA5, need); /* not zeroed: garbage */
    assert_int_equal(agg_init(&A, &cfg, MEM, need), MD_OK);
    assert_int_equal(pair_trade("AAA", 1, T0), MD_OK);
    assert_int_equal(pair_trade("BBB", 1, T0), MD_OK);
    assert_int_equal(pair_trade("CCC", 1, T0), MD_E_FULL);
    assert_int_equal(A.n_streams, 2);
    assert_int_equal(A.st.streams_full, 1);
    /* the same id again, in its own stream: a duplicate; in the other
     * stream, the same id is another trade */
    assert_int_equal(pair_trade("AAA", 1, T0 + 1), MD_OK);
    assert_int_equal(A.st.duplicates, 1);
    /* four more ids fill AAA's generation (cap 4): the fifth starts a new
     * one early; the first generation is still remembered */
    for (i = 2; i <= 6; i++) {
        assert_int_equal(pair_trade("AAA", i, T0 + 2), MD_OK);
    }
    assert_int_equal(A.st.duplicates, 1);
    assert_int_equal(pair_trade("AAA", 5, T0 + 3), MD_OK);
    assert_int_equal(A.st.duplicates, 2);
    /* a second early rotation forgets ids 1-4, counted */
    for (i = 7; i <= 10; i++) {
        assert_int_equal(pair_trade("AAA", i, T0 + 4), MD_OK);
    }
    assert_true(A.st.dedupe_early >= 4);
    /* bars: AAA and BBB, each its own */
    OUT.bars = BARS;
    OUT.cap = sizeof BARS / sizeof BARS[0];
    OUT.n = 0;
    advance((T0 + 62) * S);
    assert_int_equal(OUT.n, 2);
    assert_string_equal(BARS[0].base, "AAA");
    assert_int_equal(BARS[0].trades, 10);
    assert_string_equal(BARS[1].base, "BBB");
    assert_int_equal(BARS[1].trades, 1);
}

/* Many streams: each trade goes to its own pair's stream, found through
 * the index however many there are. */
static void test_agg_many_streams(void **state)
{
    struct agg_config cfg;
    char base[16];
    unsigned i;

    (void)state;
    agg_config_default(&cfg);
    cfg.max_streams = 3000;
    setup_agg(&cfg);
    for (i = 0; i < 3000; i++) {
        snprintf(base, sizeof base, "B%u", i);
        assert_int_equal(pair_trade(base, 7 + i % 3, T0 + (int64_t)(i % 50)),
                         MD_OK);
    }
    for (i = 0; i < 3000; i += 7) { /* again: duplicates, same streams */
        snprintf(base, sizeof base, "B%u", i);
        assert_int_equal(pair_trade(base, 7 + i % 3, T0 + 55), MD_OK);
    }
    assert_int_equal(A.n_streams, 3000);
    assert_int_equal(A.st.streams_full, 0);
    assert_int_equal(A.st.duplicates, (3000 + 6) / 7);
    {
        static struct bar many[3000];
        OUT.bars = many;
        OUT.cap = 3000;
        OUT.n = 0;
        advance((T0 + 62) * S);
        assert_int_equal(OUT.n, 3000);
        for (i = 0; i < 3000; i++) {
            snprintf(base, sizeof base, "B%u", i);
            assert_string_equal(many[i].base, base); /* creation order */
            assert_int_equal(many[i].trades, 1);
        }
    }
}

/* More reconnect gaps than the aggregator keeps: the oldest goes, never
 * a recent one (the ring once overwrote its first slot every time, so
 * the gap before the newest was forgotten while its bars were open). */
static void test_agg_gap_ring_drops_oldest(void **state)
{
    struct agg_config cfg;
    unsigned g, i;

    (void)state;
    agg_config_default(&cfg);
    setup_agg(&cfg);
    for (g = 1; g <= AGG_MAX_GAPS + 2; g++) {
        agg_gap_open(&A, (int64_t)g * 1000 * S);
        agg_gap_close(&A, ((int64_t)g * 1000 + 10) * S);
    }
    assert_int_equal(A.n_gaps, AGG_MAX_GAPS);
    for (g = 1; g <= AGG_MAX_GAPS + 2; g++) {
        bool held = false;
        for (i = 0; i < A.n_gaps; i++) {
            held |= A.gap_start[i] == (int64_t)g * 1000 * S;
        }
        /* the two oldest are gone, the rest held */
        assert_int_equal(held, g > 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agg_bucket_boundaries),
        cmocka_unit_test(test_agg_order_and_chunking_invariance),
        cmocka_unit_test(test_agg_late_trades_revise),
        cmocka_unit_test(test_agg_resubscribe_replay_not_counted_twice),
        cmocka_unit_test(test_agg_trade_id_kinds),
        cmocka_unit_test(test_agg_out_of_order_open_close),
        cmocka_unit_test(test_agg_future_and_bad_trades_counted),
        cmocka_unit_test(test_agg_cccagg_conventions),
        cmocka_unit_test(test_agg_cccagg_open_inside_high_low),
        cmocka_unit_test(test_agg_volumeday_reset_at_midnight),
        cmocka_unit_test(test_agg_empty_intervals_synthetic),
        cmocka_unit_test(test_agg_gap_flags_bars),
        cmocka_unit_test(test_agg_multiple_intervals_one_pass),
        cmocka_unit_test(test_agg_config_checked),
        cmocka_unit_test(test_agg_tables_from_config),
        cmocka_unit_test(test_agg_many_streams),
        cmocka_unit_test(test_agg_gap_ring_drops_oldest),
    };
    return cmocka_run_group_tests_name("agg", tests, NULL, NULL);
}
