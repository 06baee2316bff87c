/* test_feed.c: the market-data path: frames of a realistic session decoded,
 * classified into the connection machine's inputs, merged and aggregated in
 * server time; a local clock 5 s ahead closes no bar early; malformed and
 * truncated frames are counted outputs, never failures. */
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

#include "cmocka_inc.h"
#include "feed.h"
#include "fsm_conn.h"
#include "md_err.h"

#define S INT64_C(1000000000)
#define T0 INT64_C(1753190400) /* a minute boundary, server time */

static struct feed F;
static void *MEM; /* F's tables */

/* feed_init with memory of feed_mem_size, the last one freed. */
static int feed_init_mem(struct feed *f, const struct agg_config *cfg,
                         unsigned max_tickers)
{
    size_t n = feed_mem_size(cfg, max_tickers);

    libc_free(MEM);
    MEM = n != SIZE_MAX ? libc_malloc(n) : NULL;
    assert_non_null(MEM);
    return feed_init(f, cfg, max_tickers, MEM, n);
}
static struct bar BARS[64];

static struct feed_result frame(const char *json, mono_ns t)
{
    struct feed_result r;

    assert_int_equal(feed_frame(&F, json, strlen(json), t, &r), MD_OK);
    return r;
}

/* The session opens with the server clock at T0 - 5 s; local monotonic
 * time starts at `local0` (any value: the feed must not care). */
static void session(mono_ns local0)
{
    char welcome[512];
    struct agg_config cfg;
    struct feed_result r;

    agg_config_default(&cfg);
    assert_int_equal(feed_init_mem(&F, &cfg, 0), MD_OK);
    snprintf(welcome, sizeof welcome,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_UPTIME_SECONDS\":1262462,\"SERVER_NAME\":\"08\","
             "\"SERVER_TIME_MS\":%lld,\"CLIENT_ID\":2561280,"
             "\"DATA_FORMAT\":\"JSON\",\"SOCKET_ID\":\"7zUlXfWU+zH7uX7ViDS2\","
             "\"SOCKETS_ACTIVE\":1,\"SOCKETS_REMAINING\":0}",
             (long long)((T0 - 5) * 1000));
    r = frame(welcome, local0);
    assert_int_equal(r.conn_input, CONN_I_WELCOME);
    assert_int_equal(r.server_ms, (T0 - 5) * 1000);
    assert_int_equal(feed_server_ns(&F, local0), (T0 - 5) * S);
    r = frame("{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\","
              "\"TSYM\":\"USD\",\"F\":\"1\",\"ID\":\"852793745\","
              "\"TS\":1753190418,\"Q\":0.34637342,\"P\":119283.1,"
              "\"TOTAL\":41316.495295202,\"RTS\":1753190418,"
              "\"CCSEQ\":852777369,\"TSNS\":654000000,\"RTSNS\":708000000}",
              local0 + 23 * S);
    assert_int_equal(r.conn_input, CONN_I_DATA);
    r = frame("{\"TYPE\":\"16\",\"MESSAGE\":\"SUBSCRIBECOMPLETE\","
              "\"SUB\":\"0~Coinbase~BTC~USD\"}",
              local0 + 23 * S);
    assert_int_equal(r.conn_input, CONN_I_SUB_OK);
    r = frame("{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\","
              "\"INFO\":\"All your valid subs have been loaded.\"}",
              local0 + 23 * S);
    assert_int_equal(r.conn_input, CONN_I_LOAD_COMPLETE);
    r = frame("{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\","
              "\"TSYM\":\"USD\",\"F\":\"2\",\"ID\":\"852793746\","
              "\"TS\":1753190440,\"Q\":0.01,\"P\":119290,\"TOTAL\":1192.9,"
              "\"CCSEQ\":852777370,\"TSNS\":1000000}",
              local0 + 45 * S);
    assert_int_equal(r.conn_input, CONN_I_DATA);
    r = frame("{\"TYPE\":\"999\",\"MESSAGE\":\"HEARTBEAT\","
              "\"TIMEMS\":1753190450000}",
              local0 + 55 * S);
    assert_int_equal(r.conn_input, CONN_I_HEARTBEAT);
}

static void test_feed_session_and_server_clock(void **state)
{
    struct agg_out out = {BARS, 64, 0};
    mono_ns local0 = 777 * S;

    (void)state;
    session(local0);
    /* the bar [T0, T0+60) closes at server T0+62 = local0 + 67 s */
    assert_int_equal(feed_local_ns(&F, agg_next_deadline(&F.agg)),
                     local0 + 67 * S);
    assert_int_equal(agg_advance(&F.agg, feed_server_ns(&F, local0 + 66 * S),
                                 &out),
                     MD_OK);
    assert_int_equal(out.n, 0);
    assert_int_equal(agg_advance(&F.agg, feed_server_ns(&F, local0 + 67 * S),
                                 &out),
                     MD_OK);
    assert_int_equal(out.n, 1);
    assert_int_equal(BARS[0].trades, 2);
    assert_true(BARS[0].open == 119283.1 && BARS[0].close == 119290);
    assert_int_equal(F.st.by_type[CC_T_TRADE], 2);
    assert_int_equal(F.st.frames, 6);
}

/* The same session with the local clock 5 s ahead of the server's: no bar
 * closes early, and the bars are byte-identical. */
static void test_feed_local_clock_ahead_closes_nothing_early(void **state)
{
    struct bar ref[4], got[4];
    struct agg_out out = {ref, 4, 0};
    mono_ns base = 1000 * S, skew = 5 * S;

    (void)state;
    session(base);
    assert_int_equal(agg_advance(&F.agg, feed_server_ns(&F, base + 67 * S),
                                 &out),
                     MD_OK);
    assert_int_equal(out.n, 1);
    session(base + skew);
    out.bars = got;
    out.n = 0;
    /* local time base+67 s is only server T0+57 s now: the bar stays open
     * where a wall-clock aggregator would have closed it */
    assert_int_equal(agg_advance(&F.agg, feed_server_ns(&F, base + 67 * S),
                                 &out),
                     MD_OK);
    assert_int_equal(out.n, 0);
    assert_int_equal(agg_advance(&F.agg,
                                 feed_server_ns(&F, base + skew + 67 * S),
                                 &out),
                     MD_OK);
    assert_int_equal(out.n, 1);
    assert_memory_equal(&ref[0], &got[0], sizeof ref[0]);
}

static void test_feed_classifies_control_frames(void **state)
{
    static const struct {
        const char *json;
        uint8_t input;
    } cases[] = {
        {"{\"TYPE\":\"401\",\"MESSAGE\":\"UNAUTHORIZED\",\"PARAMETER\":"
         "\"format\",\"INFO\":\"We only support JSON format with a valid "
         "api_key.\"}",
         CONN_I_UNAUTHORIZED},
        {"{\"TYPE\":\"429\",\"MESSAGE\":\"TOO_MANY_SOCKETS_MAX_1_PER_CLIENT\","
         "\"INFO\":\"You have reached your maximum sockets open for your "
         "subscription\"}",
         CONN_I_TOO_MANY_SOCKETS},
        {"{\"TYPE\":\"429\",\"MESSAGE\":\"RATE_LIMIT_OPENING_SOCKETS_TOO_FAST\"}",
         CONN_I_TOO_MANY_SOCKETS},
        {"{\"TYPE\":\"429\",\"MESSAGE\":"
         "\"TOO_MANY_SUBSCRIPTIONS_MAX_600_PER_SOCKET\"}",
         CONN_I_SUB_REJECTED},
        {"{\"TYPE\":\"500\",\"MESSAGE\":\"INVALID_SUB\",\"PARAMETER\":"
         "\"5~CCCAGG~FOO~USD\",\"INFO\":\"We have not integrated any of the "
         "exchanges FOO trades on or we have not currently mapped it.\"}",
         CONN_I_SUB_REJECTED},
        {"{\"TYPE\":\"500\",\"MESSAGE\":\"FORCE_DISCONNECT\"}",
         CONN_I_FORCE_DISCONNECT},
        {"{\"TYPE\":\"500\",\"MESSAGE\":\"SUBSCRIPTION_ALREADY_ACTIVE\","
         "\"PARAMETER\":\"0~Coinbase~BTC~USD\"}",
         CONN_I_SUB_REJECTED},
        {"{\"TYPE\":\"17\",\"MESSAGE\":\"UNSUBSCRIBECOMPLETE\",\"SUB\":"
         "\"0~Coinbase~ETH~BTC\"}",
         CONN_I_OTHER},
        {"{\"TYPE\":\"18\",\"MESSAGE\":\"UNSUBSCRIBEALLCOMPLETE\",\"INFO\":"
         "\"Removed 1 subs.\",\"INFO_OBJ\":{\"valid\":1,\"invalid\":0}}",
         CONN_I_OTHER},
        {"{\"TYPE\":\"11\",\"SYMBOL\":\"BTC\",\"FULLVOLUME\":\"512345.67\"}",
         CONN_I_OTHER},
        {"{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
         "\"TOSYMBOL\":\"USD\",\"FLAGS\":4}",
         CONN_I_DATA},
        {"{\"TYPE\":\"0\",\"M\":\"Coinbase\"", CONN_I_MALFORMED},
        {"{\"TYPE\":\"0\",\"M\":\"Coinbase\",,}", CONN_I_MALFORMED},
        {"", CONN_I_MALFORMED},
    };
    struct agg_config cfg;
    size_t i;

    (void)state;
    agg_config_default(&cfg);
    assert_int_equal(feed_init_mem(&F, &cfg, 0), MD_OK);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct feed_result r = frame(cases[i].json, (mono_ns)i);
        if (r.conn_input != cases[i].input) {
            fail_msg("case %zu: %s -> %u, want %u", i, cases[i].json,
                     r.conn_input, cases[i].input);
        }
    }
    assert_int_equal(F.st.unknown_type, 1);
    assert_int_equal(F.st.truncated + F.st.malformed, 3);
    assert_int_equal(F.last_rc == MD_E_TRUNC || F.last_rc == MD_E_PROTO, 1);
}

/* After a resubscribe the snapshot resets the merge state: a field the new
 * snapshot lacks is not carried over from before. */
static void test_feed_resubscribe_resets_snapshot(void **state)
{
    struct agg_config cfg;

    (void)state;
    agg_config_default(&cfg);
    assert_int_equal(feed_init_mem(&F, &cfg, 0), MD_OK);
    F.want.ticker = CC_ALL_FIELDS; /* the whole snapshot */
    frame("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
          "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"PRICE\":100,\"MEDIAN\":99,"
          "\"LASTUPDATE\":1753190401}",
          T0 * S);
    assert_int_equal(F.n_tickers, 1);
    assert_true(F.tk[0].has & CC_TKM(CC_TK_MEDIAN));
    feed_resubscribed(&F);
    frame("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
          "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":101,"
          "\"LASTUPDATE\":1753190402}",
          T0 * S + S);
    assert_false(F.tk[0].has & CC_TKM(CC_TK_MEDIAN));
    assert_true(F.tk[0].num[CC_TK_PRICE].d == 101);
    /* a partial update keeps what it does not carry */
    frame("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
          "\"TOSYMBOL\":\"USD\",\"FLAGS\":4,\"LASTUPDATE\":1753190403}",
          T0 * S + 2 * S);
    assert_true(F.tk[0].num[CC_TK_PRICE].d == 101);
}

/* By default only the fields the aggregator reads are converted and
 * merged; the others are still checked, so a frame that would not decode
 * in full is malformed all the same; and the bars are the ones a full
 * decode gives. */
static void test_feed_ticker_fields(void **state)
{
    static const char *const frames[] = {
        "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
        "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"PRICE\":100.5,\"MEDIAN\":99,"
        "\"LASTUPDATE\":1753190401,\"LASTVOLUME\":0.25,"
        "\"LASTTRADEID\":\"217561864\",\"VOLUMEDAY\":1000.5,"
        "\"VOLUMEDAYTO\":100500.25,\"LASTMARKET\":\"Kraken\"}",
        "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
        "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"PRICE\":101.75,"
        "\"MEDIAN\":101.5,\"LASTUPDATE\":1753190420,\"VOLUMEDAY\":1001.5,"
        "\"VOLUMEDAYTO\":100601.5,\"CURRENTSUPPLYMKTCAP\":1.5e12}",
        "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
        "\"TOSYMBOL\":\"USD\",\"FLAGS\":4,\"LASTUPDATE\":1753190470,"
        "\"VOLUMEDAY\":1003,\"VOLUMEDAYTO\":100752.25}",
        "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\","
        "\"TSYM\":\"USD\",\"F\":\"1\",\"ID\":\"852793745\","
        "\"TS\":1753190418,\"Q\":0.34637342,\"P\":119283.1,"
        "\"TOTAL\":41316.495295202,\"RTS\":1753190418,"
        "\"CCSEQ\":852777369,\"TSNS\":654000000,\"RTSNS\":708000000}",
        "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\","
        "\"TSYM\":\"USD\",\"F\":\"2\",\"ID\":\"852793746\","
        "\"TS\":1753190440,\"Q\":0.01,\"P\":119290,"
        "\"TOTAL\":1192.9000000000001,\"CCSEQ\":852777370,"
        "\"TSNS\":1000000}",
    };
    static const char *const bad[] = {
        /* an unread number that is a string, an unread string that is a
         * number, a broken number: malformed with or without the mask */
        "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
        "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"MEDIAN\":\"99\"}",
        "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
        "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"LASTMARKET\":7}",
        "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
        "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"MEDIAN\":1.}",
        "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\","
        "\"TSYM\":\"USD\",\"F\":\"1\",\"ID\":\"852793747\","
        "\"TS\":1753190441,\"Q\":0.01,\"P\":119290,\"TOTAL\":\"1192.9\"}",
    };
    struct cc_msg msg;
    struct bar full[8], part[8];
    struct agg_out out;
    struct agg_config cfg;
    size_t i, k, n_full = 0;

    (void)state;
    agg_config_default(&cfg);
    for (k = 0; k < 2; k++) {
        assert_int_equal(feed_init_mem(&F, &cfg, 0), MD_OK);
        assert_true(F.want.ticker == AGG_TICKER_FIELDS);
        assert_true(F.want.trade == AGG_TRADE_FIELDS);
        if (k == 0) {
            F.want.ticker = CC_ALL_FIELDS;
            F.want.trade = CC_ALL_FIELDS;
        }
        for (i = 0; i < sizeof frames / sizeof frames[0]; i++) {
            assert_int_equal(frame(frames[i], (T0 + 1) * S + (int64_t)i * S)
                                 .conn_input,
                             CONN_I_DATA);
        }
        assert_true(F.tk[0].has & CC_TKM(CC_TK_PRICE));
        assert_true(F.tk[0].num[CC_TK_PRICE].d == 101.75);
        assert_int_equal(cc_ws_decode_want(frames[3], strlen(frames[3]), &msg,
                                           NULL, &F.want),
                         MD_OK);
        assert_true(msg.u.trade.has & CC_TR_P);
        assert_true(msg.u.trade.p.d == 119283.1);
        assert_int_equal((msg.u.trade.has & CC_TR_TOTAL) != 0, k == 0);
        if (k == 0) {
            assert_true(F.tk[0].has & CC_TKM(CC_TK_MEDIAN));
            assert_true(F.tk[0].has & CC_TKM(CC_TK_LASTMARKET));
        } else {
            assert_false(F.tk[0].has & CC_TKM(CC_TK_MEDIAN));
            assert_false(F.tk[0].has & CC_TKM(CC_TK_LASTVOLUME));
            assert_false(F.tk[0].has & CC_TKM(CC_TK_LASTMARKET));
        }
        out.bars = k == 0 ? full : part;
        out.cap = 8;
        out.n = 0;
        assert_int_equal(agg_advance(&F.agg, (T0 + 200) * S, &out), MD_OK);
        if (k == 0) {
            n_full = out.n;
            assert_true(n_full >= 1);
        } else {
            assert_int_equal(out.n, n_full);
            assert_memory_equal(full, part, n_full * sizeof full[0]);
        }
        for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            if (frame(bad[i], (T0 + 300) * S).conn_input != CONN_I_MALFORMED) {
                fail_msg("mask %zu: accepted %s", k, bad[i]);
            }
        }
    }
}

/* TYPE 2/5 merge states are sized from the configuration: updates of a
 * key beyond max_tickers are counted, not merged into another key's
 * state; a known key goes on being merged. */
static void test_feed_tickers_from_config(void **state)
{
    struct agg_config cfg;
    static const char *const pair[3] = {"BTC", "ETH", "BTC"};
    char buf[256];
    int i;

    (void)state;
    agg_config_default(&cfg);
    assert_int_equal(feed_init_mem(&F, &cfg, 1), MD_OK);
    assert_int_equal(F.max_tickers, 1);
    for (i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf,
                 "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":"
                 "\"%s\",\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":%d,"
                 "\"LASTUPDATE\":%lld}", pair[i], 100 + i,
                 (long long)(T0 + i));
        (void)frame(buf, (mono_ns)i * S);
    }
    assert_int_equal(F.n_tickers, 1);
    assert_int_equal(F.st.ticker_overflow, 1);
    assert_int_equal(F.tk[0].updates, 2);
    assert_int_equal(F.agg.st.cccagg_updates, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_session_and_server_clock),
        cmocka_unit_test(test_feed_local_clock_ahead_closes_nothing_early),
        cmocka_unit_test(test_feed_classifies_control_frames),
        cmocka_unit_test(test_feed_resubscribe_resets_snapshot),
        cmocka_unit_test(test_feed_ticker_fields),
        cmocka_unit_test(test_feed_tickers_from_config),
    };
    return cmocka_run_group_tests_name("feed", tests, NULL, NULL);
}
