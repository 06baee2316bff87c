/* test_cc_decode.c: the CryptoCompare decoder (core/cc_decode.h) and its
 * scanner (core/cc_json.h) on real-shaped frames and bodies from
 * the protocol reference (docs/decoder.md): every message kind, plus every kind
 * of malformed input. Truncations run with each input placed right before
 * a PROT_NONE page (tests/support/guard.c), so an overread faults. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cc_decode.h"
#include "md_err.h"
#include "md_prng.h"
#include "support/guard.h"

/* assert_rc: compare rc codes and print both names on failure. */
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

static bool str_is(const struct cc_str *s, const char *want)
{
    char tmp[512];
    size_t n;
    if (cc_str_unescape(s, tmp, sizeof tmp, &n) != MD_OK) {
        return false;
    }
    return n == strlen(want) && memcmp(tmp, want, n) == 0;
}

#define assert_str(s, want)                                                 \
    do {                                                                    \
        if (!str_is(&(s), (want))) {                                        \
            fail_msg("%s is \"%.*s\", want \"%s\"", #s, (int)(s).len,        \
                     (s).p ? (s).p : "", (want));                           \
        }                                                                   \
    } while (0)

#define assert_dec(num, m, e)                                               \
    do {                                                                    \
        assert_true((num).dec.exact);                                       \
        assert_int_equal((num).dec.mant, (m));                              \
        assert_int_equal((num).dec.exp10, (e));                             \
    } while (0)

/* The double must be exactly strtod's (correct rounding). */
#define assert_dbl(num, text) assert_true((num).d == strtod((text), NULL))

/* ---------------------------------------------------------------------
 * Fixtures: real payloads from the reference (marked "real") and
 * realistic ones written from the documented shapes.
 * ------------------------------------------------------------------- */

/* 3.2 real 2025-07 Coinbase trade */
static const char trade_2025[] =
    "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\",\"TSYM\":\"USD\","
    "\"F\":\"1\",\"ID\":\"852793745\",\"TS\":1753190418,\"Q\":0.34637342,"
    "\"P\":119283.1,\"TOTAL\":41316.495295202,\"RTS\":1753190418,"
    "\"CCSEQ\":852777369,\"TSNS\":654000000,\"RTSNS\":708000000}";

/* 3.2 real 2020-10 Coinbase trade, no CCSEQ */
static const char trade_2020[] =
    "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\",\"TSYM\":\"USD\","
    "\"F\":\"2\",\"ID\":\"107381694\",\"TS\":1604182041,\"Q\":0.00691275,"
    "\"P\":13841.32,\"TOTAL\":95.68158483,\"RTS\":1604182044,"
    "\"TSNS\":487000000,\"RTSNS\":199000000}";

/* realistic: a market with no CCSEQ/TSNS/RTSNS/RTS at all */
static const char trade_min[] =
    "{\"TYPE\":\"0\",\"M\":\"Kraken\",\"FSYM\":\"LTC\",\"TSYM\":\"USD\","
    "\"F\":\"4\",\"ID\":\"1754049581123\",\"TS\":1754049581,\"Q\":5.1,"
    "\"P\":96.42,\"TOTAL\":491.742}";

/* 3.3 real 2024-02 TYPE 5 update */
static const char agg_2024[] =
    "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
    "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"MEDIAN\":49735.6637659428,"
    "\"LASTTRADEID\":\"217093517\",\"PRICE\":49735.6637659428,"
    "\"LASTUPDATE\":1707832427,\"LASTVOLUME\":0.02800179,"
    "\"LASTVOLUMETO\":1392.2750404647,\"VOLUMEHOUR\":2593.3459684,"
    "\"VOLUMEHOURTO\":128681184.345007,\"VOLUMEDAY\":15494.02153829,"
    "\"VOLUMEDAYTO\":773812157.387051,\"VOLUME24HOUR\":49236.99141083,"
    "\"VOLUME24HOURTO\":2449291847.091117,"
    "\"CURRENTSUPPLYMKTCAP\":976108705309.5936,"
    "\"CIRCULATINGSUPPLYMKTCAP\":976108705309.5936,"
    "\"MAXSUPPLYMKTCAP\":1044448937935.905}";

/* 3.3 real 2020-09 TYPE 5 update */
static const char agg_2020[] =
    "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
    "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"PRICE\":10948.7,"
    "\"LASTUPDATE\":1600440262,\"LASTVOLUME\":0.0267,"
    "\"LASTVOLUMETO\":292.301187,\"LASTTRADEID\":\"2280148\","
    "\"VOLUMEDAY\":12466.79,\"VOLUMEDAYTO\":136555634.83,"
    "\"VOLUME24HOUR\":22470.52,\"VOLUME24HOURTO\":245527738.85,"
    "\"LASTMARKET\":\"OKCoin\",\"VOLUMEHOUR\":1292.13,"
    "\"VOLUMEHOURTO\":14136185.37,\"TOPTIERVOLUME24HOUR\":21456.93,"
    "\"TOPTIERVOLUME24HOURTO\":234433124.73}";

/* 9.5 realistic partial update with FLAGS 4: no PRICE */
static const char agg_flags4[] =
    "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
    "\"TOSYMBOL\":\"USD\",\"FLAGS\":4,\"LASTUPDATE\":1754049601,"
    "\"LASTVOLUME\":0.0011,\"LASTVOLUMETO\":130.24,"
    "\"LASTTRADEID\":\"861204437\",\"VOLUMEDAY\":9123.4,"
    "\"VOLUMEDAYTO\":1080212233.9,\"VOLUME24HOUR\":28140.2,"
    "\"VOLUME24HOURTO\":3331901122.5,\"VOLUMEHOUR\":612.5,"
    "\"VOLUMEHOURTO\":72531210.4}";

/* realistic full snapshot: every streamer field, TYPE 5 */
static const char agg_snapshot[] =
    "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
    "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":118412.5571062231,"
    "\"LASTUPDATE\":1754049600,\"MEDIAN\":118410.2,\"LASTVOLUME\":0.0042,"
    "\"LASTVOLUMETO\":497.301882,\"LASTTRADEID\":\"861204411\","
    "\"VOLUMEDAY\":9120.1,\"VOLUMEDAYTO\":1079821233.9,"
    "\"VOLUME24HOUR\":28137.5,\"VOLUME24HOURTO\":3331581122.5,"
    "\"OPENDAY\":117900.01,\"HIGHDAY\":118650.5,\"LOWDAY\":117750.25,"
    "\"OPEN24HOUR\":117420.8,\"HIGH24HOUR\":118700,\"LOW24HOUR\":117100.5,"
    "\"LASTMARKET\":\"CCCAGG\",\"VOLUMEHOUR\":610.2,"
    "\"VOLUMEHOURTO\":72258210.4,\"OPENHOUR\":118300.12,"
    "\"HIGHHOUR\":118455,\"LOWHOUR\":118290.33,"
    "\"TOPTIERVOLUME24HOUR\":28137.5,"
    "\"TOPTIERVOLUME24HOURTO\":3331581122.5,\"CURRENTSUPPLY\":19905000,"
    "\"CIRCULATINGSUPPLY\":19905000,\"MAXSUPPLY\":20999999.9769,"
    "\"MKTCAPPENALTY\":0,\"CURRENTSUPPLYMKTCAP\":2357002149479.3,"
    "\"CIRCULATINGSUPPLYMKTCAP\":2357002149479.3,"
    "\"MAXSUPPLYMKTCAP\":2486663697380.8}";

/* realistic TYPE 2 per-exchange ticker with BID/ASK */
static const char ticker2[] =
    "{\"TYPE\":\"2\",\"MARKET\":\"Binance\",\"FROMSYMBOL\":\"BTC\","
    "\"TOSYMBOL\":\"USDT\",\"FLAGS\":1,\"PRICE\":118420.01,"
    "\"BID\":118420,\"ASK\":118420.01,\"LASTUPDATE\":1754049601,"
    "\"LASTVOLUME\":0.00123,\"LASTVOLUMETO\":145.6566123,"
    "\"LASTTRADEID\":\"4929182211\",\"VOLUME24HOUR\":15234.5}";

/* realistic TYPE 24 candle */
static const char ohlc[] =
    "{\"TYPE\":\"24\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
    "\"TOSYMBOL\":\"USD\",\"TS\":1754049600,\"UNIT\":\"m\","
    "\"ACTION\":\"U\",\"OPEN\":118405.21,\"HIGH\":118460.5,"
    "\"LOW\":118398.04,\"CLOSE\":118412.55,\"VOLUMEFROM\":21.3401,"
    "\"VOLUMETO\":2526912.77,\"TOTALTRADES\":412,\"FIRSTTS\":1754049600,"
    "\"LASTTS\":1754049659,\"FIRSTPRICE\":118405.3,\"MAXPRICE\":118460.5,"
    "\"MINPRICE\":118398.04,\"LASTPRICE\":118412.55}";

/* 3.1 real 2025-07 welcome */
static const char welcome[] =
    "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
    "\"SERVER_UPTIME_SECONDS\":1262462,\"SERVER_NAME\":\"08\","
    "\"SERVER_TIME_MS\":1753184197855,\"CLIENT_ID\":2561280,"
    "\"DATA_FORMAT\":\"JSON\",\"SOCKET_ID\":\"7zUlXfWU+zH7uX7ViDS2\","
    "\"SOCKETS_ACTIVE\":1,\"SOCKETS_REMAINING\":0,"
    "\"RATELIMIT_MAX_SECOND\":30,\"RATELIMIT_MAX_MINUTE\":60,"
    "\"RATELIMIT_MAX_HOUR\":1200,\"RATELIMIT_MAX_DAY\":10000,"
    "\"RATELIMIT_MAX_MONTH\":20000,\"RATELIMIT_REMAINING_SECOND\":29,"
    "\"RATELIMIT_REMAINING_MINUTE\":59,\"RATELIMIT_REMAINING_HOUR\":1199,"
    "\"RATELIMIT_REMAINING_DAY\":9999,\"RATELIMIT_REMAINING_MONTH\":19867}";

/* 3.1 control frames (real where the reference has them) */
static const char sub16[] =
    "{\"TYPE\":\"16\",\"MESSAGE\":\"SUBSCRIBECOMPLETE\","
    "\"SUB\":\"0~Coinbase~ETH~BTC\"}";
static const char unsub17[] =
    "{\"TYPE\":\"17\",\"MESSAGE\":\"UNSUBSCRIBECOMPLETE\","
    "\"SUB\":\"0~Coinbase~ETH~BTC\"}";
static const char unsub18[] =
    "{\"TYPE\":\"18\",\"MESSAGE\":\"UNSUBSCRIBEALLCOMPLETE\","
    "\"INFO\":\"Removed 1 subs.\",\"INFO_OBJ\":{\"valid\":1,\"invalid\":0}}";
static const char load3[] =
    "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\","
    "\"INFO\":\"All your valid subs have been loaded.\"}";
static const char hb999[] =
    "{\"TYPE\":\"999\",\"MESSAGE\":\"HEARTBEAT\",\"TIMEMS\":1582817678330}";
static const char unauth401[] =
    "{\"TYPE\":\"401\",\"MESSAGE\":\"UNAUTHORIZED\",\"PARAMETER\":\"format\","
    "\"INFO\":\"We only support JSON format with a valid api_key.\"}";
static const char rl429_sockets[] =
    "{\"TYPE\":\"429\",\"MESSAGE\":\"TOO_MANY_SOCKETS_MAX_1_PER_CLIENT\","
    "\"INFO\":\"You have reached your maximum sockets open for your "
    "subscription\"}";
static const char rl429_subs[] =
    "{\"TYPE\":\"429\","
    "\"MESSAGE\":\"TOO_MANY_SUBSCRIPTIONS_MAX_600_PER_SOCKET\","
    "\"INFO\":\"You have reached your maximum subscriptions per socket\"}";
static const char rl429_fast[] =
    "{\"TYPE\":\"429\",\"MESSAGE\":\"RATE_LIMIT_OPENING_SOCKETS_TOO_FAST\","
    "\"INFO\":\"Month: 20000 Day: 10000 Hour: 1200 Minute: 60 Second: 30\"}";
static const char err500_sub[] =
    "{\"TYPE\":\"500\",\"MESSAGE\":\"INVALID_SUB\","
    "\"PARAMETER\":\"5~CCCAGG~FOO~USD\",\"INFO\":\"We have not integrated "
    "any of the exchanges FOO trades on or we have not currently mapped "
    "it.\"}";
static const char err500_json[] =
    "{\"TYPE\":\"500\",\"MESSAGE\":\"INVALID_JSON\","
    "\"INFO\":\"Invalid JSON\"}";
static const char err500_param[] =
    "{\"TYPE\":\"500\",\"MESSAGE\":\"INVALID_PARAMETER\","
    "\"PARAMETER\":\"action\",\"INFO\":\"Invalid action\"}";
static const char err500_unrec[] =
    "{\"TYPE\":\"500\",\"MESSAGE\":\"SUBSCRIPTION_UNRECOGNIZED\","
    "\"PARAMETER\":\"0~Coinbase~LTC~USD\"}";
static const char err500_active[] =
    "{\"TYPE\":\"500\",\"MESSAGE\":\"SUBSCRIPTION_ALREADY_ACTIVE\","
    "\"PARAMETER\":\"5~CCCAGG~BTC~USD\"}";
static const char err500_force[] =
    "{\"TYPE\":\"500\",\"MESSAGE\":\"FORCE_DISCONNECT\"}";
static const char unknown_1101[] =
    "{\"TYPE\":\"1101\",\"INSTRUMENT\":\"BTC-USD\",\"CCSEQ\":20735164,"
    "\"MARKET\":\"cadli\",\"VALUE\":62549.6479118955,"
    "\"NESTED\":{\"a\":[1,2,{\"b\":null}],\"c\":true}}";

/* 1.3 real 2022 histoday v2 (trimmed in the reference; the second bar
 * keeps its "...":"..." placeholder, an unknown key) */
static const char histo_v2[] =
    "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":false,"
    "\"Type\":100,\"RateLimit\":{},"
    "\"Data\":{\"Aggregated\":false,\"TimeFrom\":1652140800,"
    "\"TimeTo\":1654732800,\"Data\":["
    "{\"time\":1652140800,\"high\":32625.41,\"low\":29836.19,"
    "\"open\":30076.9,\"volumefrom\":103840.6,\"volumeto\":3244062170.09,"
    "\"close\":31013.12,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"},"
    "{\"time\":1652227200,\"high\":32136.04,\"low\":28087.41,"
    "\"open\":31013.12,\"...\":\"...\"}]}}";

/* 1.4 real 2020 histominute v1 */
static const char histo_v1[] =
    "{\"Response\":\"Success\",\"Type\":100,\"Aggregated\":false,"
    "\"TimeTo\":1605571200,\"TimeFrom\":1602979200,"
    "\"FirstValueInArray\":true,"
    "\"ConversionType\":{\"type\":\"direct\",\"conversionSymbol\":\"\"},"
    "\"Data\":[{\"time\":1602979200,\"high\":11513.68,\"low\":11357.25,"
    "\"open\":11367.65,\"volumefrom\":11528.41,\"volumeto\":131886570.58,"
    "\"close\":11513.33,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"}],\"RateLimit\":{},\"HasWarning\":false}";

/* realistic histohour, 3 bars, old key order, one "invert" bar */
static const char histo_hour[] =
    "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":false,"
    "\"Type\":100,\"RateLimit\":{},\"Data\":{\"Aggregated\":false,"
    "\"TimeFrom\":1754042400,\"TimeTo\":1754049600,\"Data\":["
    "{\"time\":1754042400,\"close\":118210.5,\"high\":118300,"
    "\"low\":118001.25,\"open\":118100,\"volumefrom\":1205.3,"
    "\"volumeto\":142384511.21},"
    "{\"time\":1754046000,\"high\":118500.75,\"low\":118150.5,"
    "\"open\":118210.5,\"volumefrom\":980.41,\"volumeto\":116004722.8,"
    "\"close\":118401.2,\"conversionType\":\"invert\","
    "\"conversionSymbol\":\"BTC\"},"
    "{\"time\":1754049600,\"high\":118460.5,\"low\":118398.04,"
    "\"open\":118401.2,\"volumefrom\":21.34,\"volumeto\":2526912.77,"
    "\"close\":118412.55,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"}]}}";

/* 1.5 */
static const char price_body[] = "{\"USD\":4069.35,\"EUR\":3581.02}";
static const char pricemulti_body[] =
    "{\"BTC\":{\"USD\":30231.69},\"ETH\":{\"USD\":1796.09}}";

/* 1.6 real 2022 pricemultifull (RAW abridged as in the reference) */
static const char pmf_body[] =
    "{\"RAW\":{\"ETH\":{\"USD\":{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\","
    "\"FROMSYMBOL\":\"ETH\",\"TOSYMBOL\":\"USD\",\"FLAGS\":\"2052\","
    "\"PRICE\":1276.75,\"LASTUPDATE\":1666357726,\"MEDIAN\":1276.59,"
    "\"LASTVOLUME\":0.6333,\"LASTVOLUMETO\":808.876092,"
    "\"LASTTRADEID\":\"34667055\",\"VOLUMEDAY\":287782.61,"
    "\"VOLUMEDAYTO\":367505833.0,\"VOLUME24HOUR\":573086.15,"
    "\"VOLUME24HOURTO\":735584356.05,\"OPENDAY\":1282.68,"
    "\"HIGHDAY\":1292.33,\"LOWDAY\":1254.6,\"OPEN24HOUR\":1298.03,"
    "\"HIGH24HOUR\":1311.05,\"LOW24HOUR\":1253.35,"
    "\"LASTMARKET\":\"binanceusa\",\"VOLUMEHOUR\":22103.92,"
    "\"VOLUMEHOURTO\":28158189.56,\"OPENHOUR\":1269.67,"
    "\"HIGHHOUR\":1277.56,\"LOWHOUR\":1268.24,"
    "\"TOPTIERVOLUME24HOUR\":573086.15,"
    "\"TOPTIERVOLUME24HOURTO\":735584356.05,\"CHANGE24HOUR\":-21.28,"
    "\"CHANGEPCT24HOUR\":-1.64,\"CHANGEDAY\":-5.93,\"CHANGEPCTDAY\":-0.46,"
    "\"CHANGEHOUR\":7.08,\"CHANGEPCTHOUR\":0.56,"
    "\"CONVERSIONTYPE\":\"direct\",\"CONVERSIONSYMBOL\":\"\","
    "\"SUPPLY\":122373863.499,\"MKTCAP\":156240830222.35,"
    "\"MKTCAPPENALTY\":0,\"CIRCULATINGSUPPLY\":122373863.499,"
    "\"CIRCULATINGSUPPLYMKTCAP\":156240830222.35,"
    "\"TOTALVOLUME24H\":2594280.30,\"TOTALVOLUME24HTO\":3316143982.41,"
    "\"TOTALTOPTIERVOLUME24H\":2584883.40,"
    "\"TOTALTOPTIERVOLUME24HTO\":3304146490.58,"
    "\"IMAGEURL\":\"/media/37746238/eth.png\"}}},"
    "\"DISPLAY\":{\"ETH\":{\"USD\":{\"FROMSYMBOL\":\"\\u039e\","
    "\"TOSYMBOL\":\"$\",\"PRICE\":\"$ 1,276.75\","
    "\"LASTUPDATE\":\"Just now\",\"VOLUME24HOURTO\":\"$ 735.58 M\"}}}}";

/* 1.5 / 1.7 error envelopes */
static const char err_param[] =
    "{\"Response\":\"Error\",\"Message\":\"There is no data for the symbol "
    "BTC999 .\",\"HasWarning\":false,\"Type\":2,\"RateLimit\":{},"
    "\"Data\":{},\"ParamWithError\":\"fsym\"}";
static const char err_rate[] =
    "{\"Response\":\"Error\",\"Message\":\"You are over your rate limit "
    "please upgrade your account!\",\"HasWarning\":false,\"Type\":99,"
    "\"RateLimit\":{\"calls_made\":{\"second\":1,\"minute\":301,"
    "\"hour\":1102,\"day\":7501,\"month\":30211,\"total_calls\":30211},"
    "\"max_calls\":{\"second\":20,\"minute\":300,\"hour\":3000,"
    "\"day\":7500,\"month\":50000}},\"Data\":{}}";
static const char err_key[] =
    "{\"Response\":\"Error\",\"Message\":\"You need a valid auth key or api "
    "key to access this endpoint\",\"HasWarning\":false,\"Type\":1,"
    "\"RateLimit\":{},\"Data\":{}}";
static const char err_2026[] =
    "{\"Data\":{},\"Err\":{\"type\":2,\"message\":\"API key required, "
    "please refer to the documentation at "
    "https://developers.coindesk.com/\",\"http_status_code\":401,"
    "\"frontend\":{\"type\":2,\"message\":\"API key required, please refer "
    "to the documentation at https://developers.coindesk.com/\"}}}";
static const char err_dataapi[] =
    "{\"Data\":{},\"Err\":{\"type\":1,\"message\":\"Not found: market "
    "parameter. Value foo not integrated yet.\",\"other_info\":"
    "{\"param\":\"market\",\"values\":[\"foo\"]}}}";
static const char err_tots[] =
    "{\"Response\":\"Error\",\"Message\":\"toTs param is beyond the 7 days "
    "of minute data.\",\"HasWarning\":false,\"Type\":2,\"RateLimit\":{},"
    "\"Data\":{},\"ParamWithError\":\"toTs\"}";

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

static int ws(const char *s, size_t n, struct cc_msg *m, struct cc_err *e)
{
    return cc_ws_decode(s, n, m, e);
}

static void decode_ok(const char *s, size_t n, struct cc_msg *m)
{
    struct cc_err e;
    int rc = ws(s, n, m, &e);
    if (rc != MD_OK) {
        fail_msg("decode: %s at %zu (%s)", md_errname(rc), e.off,
                 e.what ? e.what : "?");
    }
    assert_int_equal(e.rc, MD_OK);
}

static void expect_err(const char *s, size_t n, int rc, size_t off)
{
    struct cc_msg m;
    struct cc_err e;
    int got = ws(s, n, &m, &e);
    if (got != rc || e.rc != rc || e.off != off) {
        fail_msg("\"%.*s\": got %s/%s at %zu (%s), want %s at %zu", (int)n,
                 s, md_errname(got), md_errname(e.rc), e.off,
                 e.what ? e.what : "-", md_errname(rc), off);
    }
    assert_non_null(e.what);
}

/* ---------------------------------------------------------------------
 * Trades
 * ------------------------------------------------------------------- */

static void test_cc_decode_trade_2025(void **state)
{
    struct cc_msg m;
    const struct cc_trade *t = &m.u.trade;
    (void)state;

    decode_ok(S(trade_2025), &m);
    assert_int_equal(m.type, CC_T_TRADE);
    assert_int_equal(m.type_num, 0);
    assert_str(m.type_text, "0");
    assert_int_equal(t->has, CC_TR_M | CC_TR_FSYM | CC_TR_TSYM | CC_TR_F |
                                 CC_TR_ID | CC_TR_TS | CC_TR_Q | CC_TR_P |
                                 CC_TR_TOTAL | CC_TR_RTS | CC_TR_CCSEQ |
                                 CC_TR_TSNS | CC_TR_RTSNS);
    assert_str(t->market, "Coinbase");
    assert_str(t->fsym, "BTC");
    assert_str(t->tsym, "USD");
    assert_str(t->id, "852793745");
    assert_false(t->id.esc);
    assert_int_equal(t->flags, CC_F_SELL);
    assert_int_equal(t->ts, 1753190418);
    assert_int_equal(t->rts, 1753190418);
    assert_int_equal(t->ccseq, 852777369);
    assert_int_equal(t->tsns, 654000000);
    assert_int_equal(t->rtsns, 708000000);
    assert_dec(t->q, 34637342, -8);
    assert_dbl(t->q, "0.34637342");
    assert_dec(t->p, 1192831, -1);
    assert_dbl(t->p, "119283.1");
    assert_dec(t->total, 41316495295202, -9);
    assert_dbl(t->total, "41316.495295202");
    /* TOTAL is Q*P exactly in the decimal domain too */
    assert_int_equal(t->q.dec.mant * t->p.dec.mant, 41316495295202);
}

static void test_cc_decode_trade_without_optional(void **state)
{
    struct cc_msg m;
    const struct cc_trade *t = &m.u.trade;
    (void)state;

    decode_ok(S(trade_2020), &m);
    assert_int_equal(m.type, CC_T_TRADE);
    assert_false(t->has & CC_TR_CCSEQ);
    assert_int_equal(t->ccseq, 0);
    assert_true(t->has & CC_TR_TSNS);
    assert_int_equal(t->flags, CC_F_BUY);
    assert_int_equal(t->rts - t->ts, 3);
    assert_dec(t->q, 691275, -8);
    assert_dec(t->p, 1384132, -2);
    assert_dec(t->total, 9568158483, -8);

    decode_ok(S(trade_min), &m);
    assert_int_equal(t->has, CC_TR_M | CC_TR_FSYM | CC_TR_TSYM | CC_TR_F |
                                 CC_TR_ID | CC_TR_TS | CC_TR_Q | CC_TR_P |
                                 CC_TR_TOTAL);
    assert_int_equal(t->flags, CC_F_UNKNOWN);
    assert_str(t->market, "Kraken");
    assert_dec(t->q, 51, -1);
    assert_dec(t->total, 491742, -3);
}

/* Compare two decoded trades by content (their buffers differ). */
static void assert_same_trade(const struct cc_trade *a,
                              const struct cc_trade *b)
{
    assert_int_equal(a->has, b->has);
    assert_true(a->market.len == b->market.len &&
                memcmp(a->market.p, b->market.p, a->market.len) == 0);
    assert_true(a->id.len == b->id.len &&
                memcmp(a->id.p, b->id.p, a->id.len) == 0);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->ts, b->ts);
    assert_int_equal(a->ccseq, b->ccseq);
    assert_int_equal(a->tsns, b->tsns);
    assert_int_equal(a->rtsns, b->rtsns);
    assert_true(a->p.d == b->p.d && a->q.d == b->q.d &&
                a->total.d == b->total.d);
    assert_int_equal(a->p.dec.mant, b->p.dec.mant);
    assert_int_equal(a->total.dec.exp10, b->total.dec.exp10);
}

static void test_cc_decode_key_order(void **state)
{
    /* The 2025 trade's members in rotated and reversed orders (TYPE
     * moves from first to middle to last: fast and slow path). */
    static const char *const members[] = {
        "\"TYPE\":\"0\"", "\"M\":\"Coinbase\"", "\"FSYM\":\"BTC\"",
        "\"TSYM\":\"USD\"", "\"F\":\"1\"", "\"ID\":\"852793745\"",
        "\"TS\":1753190418", "\"Q\":0.34637342", "\"P\":119283.1",
        "\"TOTAL\":41316.495295202", "\"RTS\":1753190418",
        "\"CCSEQ\":852777369", "\"TSNS\":654000000", "\"RTSNS\":708000000",
    };
    const size_t nm = sizeof members / sizeof members[0];
    struct cc_msg ref;
    size_t rot;
    (void)state;

    decode_ok(S(trade_2025), &ref);
    for (rot = 0; rot < 2 * nm; rot++) {
        char buf[512];
        size_t len = 0;
        size_t k;
        struct cc_msg m;
        buf[len++] = '{';
        for (k = 0; k < nm; k++) {
            size_t idx = rot < nm ? (k + rot) % nm : (nm - 1 - k + rot) % nm;
            size_t l = strlen(members[idx]);
            if (k > 0) {
                buf[len++] = ',';
            }
            memcpy(buf + len, members[idx], l);
            len += l;
        }
        buf[len++] = '}';
        decode_ok(buf, len, &m);
        assert_int_equal(m.type, CC_T_TRADE);
        assert_same_trade(&m.u.trade, &ref.u.trade);
    }
}

static void test_cc_decode_whitespace(void **state)
{
    static const char s[] =
        " \r\n\t{ \"TSYM\" : \"USD\" ,\n \"TYPE\"\t:\t0 , \"M\":\"X\","
        "\"FSYM\" :\"Y\" , \"P\" : -1.5e3 , \"TS\" : 1e3 } \n ";
    struct cc_msg m;
    (void)state;

    decode_ok(S(s), &m);
    assert_int_equal(m.type, CC_T_TRADE);
    assert_str(m.type_text, "0"); /* bare number TYPE */
    assert_dec(m.u.trade.p, -15, 2);
    assert_true(m.u.trade.p.d == -1500.0);
    assert_int_equal(m.u.trade.ts, 1000);
}

static void test_cc_decode_trade_flags_forms(void **state)
{
    struct cc_msg m;
    (void)state;

    decode_ok(S("{\"TYPE\":\"0\",\"M\":\"Uniswap\",\"FSYM\":\"ETH\","
                "\"TSYM\":\"USDC\",\"F\":9}"),
              &m);
    assert_int_equal(m.u.trade.flags, CC_F_SELL | CC_F_REVERSED);
    decode_ok(S("{\"TYPE\":\"0\",\"M\":\"Uniswap\",\"FSYM\":\"ETH\","
                "\"TSYM\":\"USDC\",\"F\":\"10\"}"),
              &m);
    assert_int_equal(m.u.trade.flags, CC_F_BUY | CC_F_REVERSED);
    /* null is absent */
    decode_ok(S("{\"TYPE\":\"0\",\"M\":\"A\",\"FSYM\":\"B\",\"TSYM\":\"C\","
                "\"F\":null,\"CCSEQ\":null}"),
              &m);
    assert_false(m.u.trade.has & (CC_TR_F | CC_TR_CCSEQ));
}

/* ---------------------------------------------------------------------
 * Tickers
 * ------------------------------------------------------------------- */

static void test_cc_decode_cccagg_2024(void **state)
{
    struct cc_msg m;
    const struct cc_ticker *t = &m.u.ticker;
    (void)state;

    decode_ok(S(agg_2024), &m);
    assert_int_equal(m.type, CC_T_CCCAGG);
    assert_int_equal(t->type_num, 5);
    assert_int_equal(t->has,
                     CC_TKM(CC_TK_MARKET) | CC_TKM(CC_TK_FROMSYMBOL) |
                         CC_TKM(CC_TK_TOSYMBOL) | CC_TKM(CC_TK_FLAGS) |
                         CC_TKM(CC_TK_MEDIAN) | CC_TKM(CC_TK_LASTTRADEID) |
                         CC_TKM(CC_TK_PRICE) | CC_TKM(CC_TK_LASTUPDATE) |
                         CC_TKM(CC_TK_LASTVOLUME) |
                         CC_TKM(CC_TK_LASTVOLUMETO) |
                         CC_TKM(CC_TK_VOLUMEHOUR) |
                         CC_TKM(CC_TK_VOLUMEHOURTO) |
                         CC_TKM(CC_TK_VOLUMEDAY) | CC_TKM(CC_TK_VOLUMEDAYTO) |
                         CC_TKM(CC_TK_VOLUME24HOUR) |
                         CC_TKM(CC_TK_VOLUME24HOURTO) |
                         CC_TKM(CC_TK_CURRENTSUPPLYMKTCAP) |
                         CC_TKM(CC_TK_CIRCULATINGSUPPLYMKTCAP) |
                         CC_TKM(CC_TK_MAXSUPPLYMKTCAP));
    assert_str(t->market, "CCCAGG");
    assert_str(t->fsym, "BTC");
    assert_str(t->tsym, "USD");
    assert_int_equal(t->flags, CC_FL_PRICEDOWN);
    assert_str(t->lasttradeid, "217093517");
    assert_int_equal(t->lastupdate, 1707832427);
    assert_dec(t->num[CC_TK_PRICE], 497356637659428, -10);
    assert_dbl(t->num[CC_TK_PRICE], "49735.6637659428");
    assert_dec(t->num[CC_TK_VOLUME24HOURTO], 2449291847091117, -6);
    assert_dbl(t->num[CC_TK_VOLUME24HOURTO], "2449291847.091117");
    /* mantissa above 2^53: the strtod path, still exact in decimal */
    assert_dec(t->num[CC_TK_CURRENTSUPPLYMKTCAP], 9761087053095936, -4);
    assert_dbl(t->num[CC_TK_CURRENTSUPPLYMKTCAP], "976108705309.5936");
    assert_false(t->has & CC_TKM(CC_TK_LASTMARKET));
    assert_int_equal(t->lastmarket.len, 0);
}

static void test_cc_decode_cccagg_2020(void **state)
{
    struct cc_msg m;
    const struct cc_ticker *t = &m.u.ticker;
    (void)state;

    decode_ok(S(agg_2020), &m);
    assert_int_equal(m.type, CC_T_CCCAGG);
    assert_str(t->lastmarket, "OKCoin");
    assert_true(t->has & CC_TKM(CC_TK_TOPTIERVOLUME24HOURTO));
    assert_dec(t->num[CC_TK_TOPTIERVOLUME24HOURTO], 23443312473, -2);
    assert_dec(t->num[CC_TK_LASTVOLUME], 267, -4);
    assert_dbl(t->num[CC_TK_PRICE], "10948.7");
    assert_false(t->has & CC_TKM(CC_TK_MEDIAN));
}

static void test_cc_decode_ticker_bits(void **state)
{
    struct cc_msg m;
    (void)state;

    /* the documented packed-mask bit values (section 3.3) */
    assert_int_equal(CC_TKM(CC_TK_PRICE), 0x1);
    assert_int_equal(CC_TKM(CC_TK_ASK), 0x4);
    assert_int_equal(CC_TKM(CC_TK_LASTTRADEID), 0x80);
    assert_int_equal(CC_TKM(CC_TK_VOLUMEDAY), 0x100);
    assert_int_equal(CC_TKM(CC_TK_LASTMARKET), 0x40000);
    assert_int_equal(CC_TKM(CC_TK_LOWHOUR), 0x800000);
    assert_int_equal(CC_TKM(CC_TK_TOPTIERVOLUME24HOURTO), 0x2000000);
    assert_int_equal(CC_TK_STREAMER_MASK, 0x3ffffff);

    /* a full snapshot carries every streamer field but BID/ASK */
    decode_ok(S(agg_snapshot), &m);
    assert_int_equal(m.u.ticker.has & CC_TK_STREAMER_MASK,
                     CC_TK_STREAMER_MASK & ~(CC_TKM(CC_TK_BID) |
                                             CC_TKM(CC_TK_ASK)));
    assert_true(m.u.ticker.has & CC_TKM(CC_TK_MAXSUPPLY));
    assert_dec(m.u.ticker.num[CC_TK_MAXSUPPLY], 209999999769, -4);
    assert_dec(m.u.ticker.num[CC_TK_HIGH24HOUR], 1187, 2);
    assert_dec(m.u.ticker.num[CC_TK_MKTCAPPENALTY], 0, 0);

    decode_ok(S(ticker2), &m);
    assert_int_equal(m.type, CC_T_TICKER);
    assert_int_equal(m.u.ticker.type_num, 2);
    assert_str(m.u.ticker.market, "Binance");
    assert_dec(m.u.ticker.num[CC_TK_BID], 11842, 1);
    assert_dec(m.u.ticker.num[CC_TK_ASK], 11842001, -2);

    /* legacy names OFFER and AVG land on ASK and MEDIAN */
    decode_ok(S("{\"TYPE\":\"2\",\"MARKET\":\"Kraken\",\"FROMSYMBOL\":\"B\","
                "\"TOSYMBOL\":\"U\",\"FLAGS\":\"1\",\"OFFER\":2.5,"
                "\"AVG\":2.25}"),
              &m);
    assert_true(m.u.ticker.has & CC_TKM(CC_TK_ASK));
    assert_true(m.u.ticker.has & CC_TKM(CC_TK_MEDIAN));
    assert_dec(m.u.ticker.num[CC_TK_ASK], 25, -1);
    assert_int_equal(m.u.ticker.flags, 1); /* FLAGS as a string */
}

static void test_cc_decode_flags4_without_price(void **state)
{
    struct cc_msg m;
    (void)state;

    decode_ok(S(agg_flags4), &m);
    assert_int_equal(m.type, CC_T_CCCAGG);
    assert_int_equal(m.u.ticker.flags, CC_FL_PRICEUNCHANGED);
    assert_false(m.u.ticker.has & CC_TKM(CC_TK_PRICE));
    assert_true(m.u.ticker.num[CC_TK_PRICE].d == 0.0);
    assert_dec(m.u.ticker.num[CC_TK_VOLUMEDAYTO], 10802122339, -1);
}

static void test_cc_decode_flags_string_vs_number(void **state)
{
    struct cc_msg a;
    struct cc_msg b;
    (void)state;

    decode_ok(S("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"B\","
                "\"TOSYMBOL\":\"U\",\"FLAGS\":2052}"),
              &a);
    decode_ok(S("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"B\","
                "\"TOSYMBOL\":\"U\",\"FLAGS\":\"2052\"}"),
              &b);
    assert_int_equal(a.u.ticker.flags, 2052);
    assert_int_equal(b.u.ticker.flags, 2052);
    assert_true(b.u.ticker.flags & CC_FL_PRICEUNCHANGED);
    assert_true(b.u.ticker.flags & CC_FL_MEDIANUNCHANGED);
    expect_err(S("{\"TYPE\":\"5\",\"MARKET\":\"C\",\"FROMSYMBOL\":\"B\","
                 "\"TOSYMBOL\":\"U\",\"FLAGS\":\"20x\"}"),
               MD_E_PROTO, 65);
    expect_err(S("{\"TYPE\":\"5\",\"MARKET\":\"C\",\"FROMSYMBOL\":\"B\","
                 "\"TOSYMBOL\":\"U\",\"FLAGS\":-1}"),
               MD_E_RANGE, 65);
    expect_err(S("{\"TYPE\":\"5\",\"MARKET\":\"C\",\"FROMSYMBOL\":\"B\","
                 "\"TOSYMBOL\":\"U\",\"FLAGS\":4294967296}"),
               MD_E_RANGE, 65);
}

/* ---------------------------------------------------------------------
 * Merge
 * ------------------------------------------------------------------- */

static void test_cc_decode_merge(void **state)
{
    struct cc_ticker_state st;
    struct cc_ticker_state before;
    struct cc_msg m;
    uint64_t changed;
    char buf[sizeof agg_flags4];
    (void)state;

    cc_ticker_reset(&st);
    assert_false(st.keyed);
    decode_ok(S(agg_snapshot), &m);
    assert_rc(cc_ticker_merge(&st, &m.u.ticker, &changed), MD_OK);
    assert_true(st.keyed);
    assert_int_equal(st.type_num, 5);
    assert_int_equal(st.fsym.len, 3);
    assert_memory_equal(st.fsym.s, "BTC", 3);
    assert_true(changed & CC_TKM(CC_TK_PRICE));
    assert_false(changed & CC_TKM(CC_TK_MARKET));
    assert_dec(st.num[CC_TK_PRICE], 1184125571062231, -10);
    assert_true(st.has & CC_TKM(CC_TK_OPENDAY));

    /* FLAGS 4 partial: PRICE kept, present fields overwritten, absent
     * ones (OPENDAY, HIGH24HOUR, MEDIAN...) untouched. The frame's buffer
     * is then scribbled over: the state owns its strings. */
    memcpy(buf, agg_flags4, sizeof buf);
    decode_ok(buf, sizeof buf - 1, &m);
    assert_rc(cc_ticker_merge(&st, &m.u.ticker, &changed), MD_OK);
    memset(buf, 'x', sizeof buf);
    assert_false(changed & CC_TKM(CC_TK_PRICE));
    assert_true(changed & CC_TKM(CC_TK_VOLUMEDAY));
    assert_int_equal(st.flags, CC_FL_PRICEUNCHANGED);
    assert_dec(st.num[CC_TK_PRICE], 1184125571062231, -10);
    assert_dec(st.num[CC_TK_VOLUMEDAY], 91234, -1);
    assert_dec(st.num[CC_TK_OPENDAY], 11790001, -2);
    assert_dec(st.num[CC_TK_MEDIAN], 1184102, -1);
    assert_int_equal(st.lastupdate, 1754049601);
    assert_int_equal(st.lasttradeid.len, 9);
    assert_memory_equal(st.lasttradeid.s, "861204437", 9);
    assert_memory_equal(st.lastmarket.s, "CCCAGG", 6);
    assert_int_equal(st.updates, 2);

    /* a different key is refused and changes nothing */
    before = st;
    decode_ok(S("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"ETH\","
                "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":3000}"),
              &m);
    assert_rc(cc_ticker_merge(&st, &m.u.ticker, &changed), MD_E_INVAL);
    assert_int_equal(changed, 0);
    assert_memory_equal(&st, &before, sizeof st);
    decode_ok(S("{\"TYPE\":\"2\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
                "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":3000}"),
              &m);
    assert_rc(cc_ticker_merge(&st, &m.u.ticker, NULL), MD_E_INVAL);

    /* a string too long for the state: MD_E_RANGE, nothing changed */
    decode_ok(S("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
                "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":1,"
                "\"LASTTRADEID\":\"0123456789012345678901234567890123456789"
                "0123456789012345678901234567890\"}"),
              &m);
    assert_rc(cc_ticker_merge(&st, &m.u.ticker, NULL), MD_E_RANGE);
    assert_memory_equal(&st, &before, sizeof st);

    /* PRICE present with FLAGS 4 (REST RAW "2052" does this) is taken */
    decode_ok(S("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
                "\"TOSYMBOL\":\"USD\",\"FLAGS\":\"2052\",\"PRICE\":118412.5}"),
              &m);
    assert_rc(cc_ticker_merge(&st, &m.u.ticker, NULL), MD_OK);
    assert_dec(st.num[CC_TK_PRICE], 1184125, -1);

    /* escaped strings are unescaped into the state */
    decode_ok(S("{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
                "\"TOSYMBOL\":\"USD\",\"LASTMARKET\":\"Bit\\u0053tamp\"}"),
              &m);
    assert_rc(cc_ticker_merge(&st, &m.u.ticker, NULL), MD_OK);
    assert_int_equal(st.lastmarket.len, 8);
    assert_memory_equal(st.lastmarket.s, "BitStamp", 8);

    /* reset: a new snapshot, possibly another key */
    cc_ticker_reset(&st);
    assert_false(st.keyed);
    assert_int_equal(st.has, 0);
    decode_ok(S(agg_flags4), &m);
    assert_rc(cc_ticker_merge(&st, &m.u.ticker, NULL), MD_OK);
    assert_false(st.has & CC_TKM(CC_TK_PRICE));
    assert_true(st.num[CC_TK_PRICE].d == 0.0);

    assert_rc(cc_ticker_merge(NULL, &m.u.ticker, NULL), MD_E_INVAL);
    assert_rc(cc_ticker_merge(&st, NULL, NULL), MD_E_INVAL);
    cc_ticker_reset(NULL);
}

/* ---------------------------------------------------------------------
 * OHLC, welcome, control frames, unknown
 * ------------------------------------------------------------------- */

static void test_cc_decode_ohlc(void **state)
{
    struct cc_msg m;
    const struct cc_ohlc *o = &m.u.ohlc;
    (void)state;

    decode_ok(S(ohlc), &m);
    assert_int_equal(m.type, CC_T_OHLC);
    assert_int_equal(o->has, (UINT64_C(1) << 19) - 1);
    assert_str(o->unit, "m");
    assert_str(o->action, "U");
    assert_int_equal(o->ts, 1754049600);
    assert_int_equal(o->totaltrades, 412);
    assert_int_equal(o->lastts - o->firstts, 59);
    assert_dec(o->open, 11840521, -2);
    assert_dec(o->volumefrom, 213401, -4);
    assert_dbl(o->lastprice, "118412.55");
    /* an empty point (start of a period): only the key and TS */
    decode_ok(S("{\"TYPE\":\"24\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"LTC\","
                "\"TOSYMBOL\":\"USD\",\"TS\":1754049660,\"UNIT\":\"m\","
                "\"ACTION\":\"A\"}"),
              &m);
    assert_int_equal(o->has, CC_OH_MARKET | CC_OH_FSYM | CC_OH_TSYM |
                                 CC_OH_TS | CC_OH_UNIT | CC_OH_ACTION);
    expect_err(S("{\"TYPE\":\"24\",\"MARKET\":\"CCCAGG\",\"TS\":1}"),
               MD_E_PROTO, 37);
}

static void test_cc_decode_welcome(void **state)
{
    struct cc_msg m;
    const struct cc_welcome *w = &m.u.welcome;
    int p;
    (void)state;

    decode_ok(S(welcome), &m);
    assert_int_equal(m.type, CC_T_WELCOME);
    assert_str(w->message, "STREAMERWELCOME");
    assert_str(w->server_name, "08");
    assert_str(w->socket_id, "7zUlXfWU+zH7uX7ViDS2");
    assert_str(w->data_format, "JSON");
    assert_int_equal(w->server_time_ms, 1753184197855);
    assert_int_equal(w->server_uptime_s, 1262462);
    assert_int_equal(w->client_id, 2561280);
    assert_int_equal(w->sockets_active, 1);
    assert_int_equal(w->sockets_remaining, 0);
    assert_true(w->has & CC_WL_SOCKETS_REMAIN);
    for (p = 0; p < CC_P__COUNT; p++) {
        assert_true(w->has & CC_WL_RL_MAX(p));
        assert_true(w->has & CC_WL_RL_REMAIN(p));
    }
    assert_int_equal(w->rl_max[CC_P_SECOND], 30);
    assert_int_equal(w->rl_max[CC_P_MONTH], 20000);
    assert_int_equal(w->rl_remain[CC_P_HOUR], 1199);
    assert_int_equal(w->rl_remain[CC_P_MONTH], 19867);
    /* CLIENT_ID as a string (the S4 schema says so) */
    decode_ok(S("{\"TYPE\":\"20\",\"CLIENT_ID\":\"2561280\"}"), &m);
    assert_int_equal(m.u.welcome.client_id, 2561280);
    assert_int_equal(m.u.welcome.has, CC_WL_CLIENT_ID);
}

struct ctl_case {
    const char *s;
    enum cc_type type;
    enum cc_code code;
};

static void test_cc_decode_control(void **state)
{
    static const struct ctl_case cases[] = {
        {sub16, CC_T_SUB_COMPLETE, CC_C_SUBSCRIBECOMPLETE},
        {unsub17, CC_T_UNSUB_COMPLETE, CC_C_UNSUBSCRIBECOMPLETE},
        {unsub18, CC_T_UNSUB_ALL, CC_C_UNSUBSCRIBEALLCOMPLETE},
        {load3, CC_T_LOAD_COMPLETE, CC_C_LOADCOMPLETE},
        {hb999, CC_T_HEARTBEAT, CC_C_HEARTBEAT},
        {unauth401, CC_T_UNAUTHORIZED, CC_C_UNAUTHORIZED},
        {rl429_sockets, CC_T_RATE_LIMIT, CC_C_TOO_MANY_SOCKETS},
        {rl429_subs, CC_T_RATE_LIMIT, CC_C_TOO_MANY_SUBSCRIPTIONS},
        {rl429_fast, CC_T_RATE_LIMIT,
         CC_C_RATE_LIMIT_OPENING_SOCKETS_TOO_FAST},
        {err500_sub, CC_T_ERROR, CC_C_INVALID_SUB},
        {err500_json, CC_T_ERROR, CC_C_INVALID_JSON},
        {err500_param, CC_T_ERROR, CC_C_INVALID_PARAMETER},
        {err500_unrec, CC_T_ERROR, CC_C_SUBSCRIPTION_UNRECOGNIZED},
        {err500_active, CC_T_ERROR, CC_C_SUBSCRIPTION_ALREADY_ACTIVE},
        {err500_force, CC_T_ERROR, CC_C_FORCE_DISCONNECT},
        {"{\"TYPE\":\"500\",\"MESSAGE\":\"SOMETHING_NEW\"}", CC_T_ERROR,
         CC_C_OTHER},
        {"{\"TYPE\":\"500\"}", CC_T_ERROR, CC_C_NONE},
        {"{\"TYPE\":\"500\",\"MESSAGE\":\"INVALID\\u005fSUB\"}", CC_T_ERROR,
         CC_C_INVALID_SUB},
        {"{\"TYPE\":429,\"MESSAGE\":\"TOO_MANY_SOCKETS_MAX_5_PER_CLIENT\"}",
         CC_T_RATE_LIMIT, CC_C_TOO_MANY_SOCKETS},
        {"{\"TYPE\":\"429\",\"MESSAGE\":\"TOO_MANY_SOCKETS_MAX__PER_CLIENT\"}",
         CC_T_RATE_LIMIT, CC_C_OTHER},
    };
    size_t i;
    struct cc_msg m;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        decode_ok(cases[i].s, strlen(cases[i].s), &m);
        if (m.type != cases[i].type || m.u.ctl.code != cases[i].code) {
            fail_msg("case %zu: %s/%s", i, cc_type_name(m.type),
                     cc_code_name(m.u.ctl.code));
        }
    }
    decode_ok(S(sub16), &m);
    assert_str(m.u.ctl.sub, "0~Coinbase~ETH~BTC");
    assert_int_equal(m.u.ctl.has, CC_CT_MESSAGE | CC_CT_SUB);
    decode_ok(S(unsub18), &m);
    assert_int_equal(m.u.ctl.valid, 1);
    assert_int_equal(m.u.ctl.invalid, 0);
    assert_true(m.u.ctl.has & CC_CT_INVALID);
    assert_str(m.u.ctl.info, "Removed 1 subs.");
    decode_ok(S(hb999), &m);
    assert_int_equal(m.u.ctl.timems, 1582817678330);
    decode_ok(S(rl429_sockets), &m);
    assert_int_equal(m.u.ctl.max_x, 1);
    assert_true(m.u.ctl.has & CC_CT_MAX_X);
    decode_ok(S(rl429_subs), &m);
    assert_int_equal(m.u.ctl.max_x, 600);
    decode_ok(S(err500_sub), &m);
    assert_str(m.u.ctl.parameter, "5~CCCAGG~FOO~USD");
    decode_ok(S(unauth401), &m);
    assert_str(m.u.ctl.parameter, "format");
    assert_string_equal(cc_code_name(CC_C_INVALID_SUB), "INVALID_SUB");
    assert_string_equal(cc_type_name(CC_T_HEARTBEAT), "CC_T_HEARTBEAT");
}

static void test_cc_decode_unknown_type(void **state)
{
    struct cc_msg m;
    (void)state;

    decode_ok(S(unknown_1101), &m);
    assert_int_equal(m.type, CC_T_UNKNOWN);
    assert_int_equal(m.type_num, 1101);
    assert_str(m.type_text, "1101");
    decode_ok(S("{\"TYPE\":\"11\",\"SYMBOL\":\"BTC\","
                "\"FULLVOLUME\":\"512345.67\"}"),
              &m);
    assert_int_equal(m.type, CC_T_UNKNOWN);
    assert_int_equal(m.type_num, 11);
    decode_ok(S("{\"X\":1,\"TYPE\":\"ABC\"}"), &m);
    assert_int_equal(m.type, CC_T_UNKNOWN);
    assert_int_equal(m.type_num, -1);
    assert_str(m.type_text, "ABC");
    decode_ok(S("{\"TYPE\":\"05\"}"), &m); /* not canonical: unknown */
    assert_int_equal(m.type, CC_T_UNKNOWN);
    assert_int_equal(m.type_num, -1);
    decode_ok(S("{\"TYPE\":\"1\"}"), &m);
    assert_int_equal(m.type_num, 1);
    assert_str(m.type_text, "1");
    decode_ok(S("{\"TYPE\":\"99\"}"), &m);
    assert_int_equal(m.type_num, 99);
    assert_str(m.type_text, "99");
    decode_ok(S("{\"TYPE\":\"5\\u0030\"}"), &m); /* "50", escaped */
    assert_int_equal(m.type, CC_T_UNKNOWN);
    assert_int_equal(m.type_num, -1);
    decode_ok(S(" {\"TYPE\":\"16\",\"MESSAGE\":\"SUBSCRIBECOMPLETE\"}"), &m);
    assert_int_equal(m.type, CC_T_SUB_COMPLETE);
    decode_ok(S("{\"TYPE\" :\"16\",\"MESSAGE\":\"SUBSCRIBECOMPLETE\"}"), &m);
    assert_int_equal(m.type, CC_T_SUB_COMPLETE);
    expect_err(S("{\"TYPE\":\"5\"\"MARKET\":1}"), MD_E_PROTO, 11);
    decode_ok(S("{\"TYPE\":5.5,\"MARKET\":1}"), &m);
    assert_int_equal(m.type, CC_T_UNKNOWN);
    assert_str(m.type_text, "5.5");
    /* an unknown TYPE is still validated */
    expect_err(S("{\"TYPE\":\"1101\",\"A\":[1,}"), MD_E_PROTO, 22);
    expect_err(S("{\"TYPE\":\"1101\",\"TYPE\":\"1101\"}"), MD_E_PROTO, 15);
}

/* ---------------------------------------------------------------------
 * Numbers, integers, strings
 * ------------------------------------------------------------------- */

struct num_case {
    const char *text;
    int64_t mant;
    int exp10;
    bool exact;
};

static void test_cc_decode_numbers(void **state)
{
    static const struct num_case cases[] = {
        {"0", 0, 0, true},
        {"-0", 0, 0, true},
        {"0.0", 0, 0, true},
        {"1", 1, 0, true},
        {"10", 1, 1, true},
        {"1.50", 15, -1, true},
        {"15e-1", 15, -1, true},
        {"0.1", 1, -1, true},
        {"123.4500", 12345, -2, true},
        {"1e-5", 1, -5, true},
        {"1E+5", 1, 5, true},
        {"-0.00691275", -691275, -8, true},
        {"367505833.0", 367505833, 0, true},
        {"0.000000000000000000001", 1, -21, true},
        {"9223372036854775807", INT64_MAX, 0, true},
        {"-9223372036854775808", INT64_MIN, 0, true},
        {"9223372036854775808", 92233720368547758, 2, false},
        {"12345678901234567890", 1234567890123456789, 1, true},
        {"12345678901234567891", 1234567890123456789, 1, false},
        {"100000000000000000000000", 1, 23, true},
        {"1.0000000000000000000000001", 1, 0, false},
        {"0.1000000000000000000000000", 1, -1, true},
        {"9007199254740993", 9007199254740993, 0, true},
        {"1e30000", 0, 0, false},
        {"1e-400", 1, -400, true}, /* the double underflows to 0 */
        {"1e-40000", 0, 0, false},
        {"2.2250738585072014e-308", 22250738585072014, -324, true},
        {"4.9406564584124654e-324", 49406564584124654, -340, true},
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cc_num n;
        const char *t = cases[i].text;
        int rc = cc_num_parse(t, strlen(t), &n);
        if (strcmp(t, "1e30000") == 0) {
            assert_rc(rc, MD_E_RANGE); /* the double overflows */
            continue;
        }
        assert_rc(rc, MD_OK);
        if (n.dec.exact != cases[i].exact ||
            (cases[i].exact && (n.dec.mant != cases[i].mant ||
                                n.dec.exp10 != cases[i].exp10))) {
            fail_msg("%s: {%lld, %d, %d}", t, (long long)n.dec.mant,
                     n.dec.exp10, n.dec.exact);
        }
        if (!cases[i].exact && n.dec.exp10 != 0) {
            /* truncated leading digits */
            assert_int_equal(n.dec.mant, cases[i].mant);
            assert_int_equal(n.dec.exp10, cases[i].exp10);
        }
        if (n.d != strtod(t, NULL)) {
            fail_msg("%s: %.17g != strtod %.17g", t, n.d, strtod(t, NULL));
        }
    }
}

static void test_cc_decode_num_parse_args(void **state)
{
    struct cc_num n;
    (void)state;
    assert_rc(cc_num_parse(S("1x"), &n), MD_E_PROTO);
    assert_rc(cc_num_parse(S(" 1"), &n), MD_E_PROTO);
    assert_rc(cc_num_parse(S("1 "), &n), MD_E_PROTO);
    assert_rc(cc_num_parse(S("--1"), &n), MD_E_PROTO);
    assert_rc(cc_num_parse(S("1e5x"), &n), MD_E_PROTO);
    assert_rc(cc_num_parse("", 0, &n), MD_E_INVAL);
    assert_rc(cc_num_parse(NULL, 1, &n), MD_E_INVAL);
    assert_rc(cc_num_parse(S("-12.5e-1"), &n), MD_OK);
    assert_dec(n, -125, -2);
}

/* The inline fast path and the reference path must agree bit for bit. */
static void test_cc_decode_numbers_fast_vs_slow(void **state)
{
    static const char *const texts[] = {
        "119283.1", "0.34637342", "41316.495295202", "49735.6637659428",
        "2449291847.091117", "976108705309.5936", "0.02800179",
        "1392.2750404647", "-21.28", "0.1", "0.3", "2.675", "1e23",
        "123456789012345678", "1234567890123456789", "0.000001",
        "999999999999999999", "9007199254740992", "9007199254740993",
        "-0.0", "5e-324", "1.7976931348623157e308",
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char doc[128];
        struct cc_json j;
        struct cc_num a;
        struct cc_num b;
        int len = snprintf(doc, sizeof doc, "%s", texts[i]);
        cc_json_init(&j, doc, (size_t)len, NULL);
        assert_rc(cc_json_num(&j, &a), MD_OK);
        assert_int_equal(j.pos, (size_t)len);
        assert_rc(cc_num_parse(doc, (size_t)len, &b), MD_OK);
        if (memcmp(&a.d, &b.d, sizeof a.d) != 0 ||
            a.dec.mant != b.dec.mant || a.dec.exp10 != b.dec.exp10 ||
            a.dec.exact != b.dec.exact) {
            fail_msg("%s: fast %.17g {%lld,%d} slow %.17g {%lld,%d}",
                     texts[i], a.d, (long long)a.dec.mant, a.dec.exp10, b.d,
                     (long long)b.dec.mant, b.dec.exp10);
        }
        assert_true(a.d == strtod(texts[i], NULL));
    }
}

/* m as a decimal with k fraction digits ("123", 2 -> "1.23"). */
static int dec_text(char out[48], uint64_t m, unsigned k, bool neg)
{
    char dg[32];
    int n = snprintf(dg, sizeof dg, "%0*llu", (int)k + 1,
                     (unsigned long long)m);
    int i;
    size_t o = 0;

    if (neg) {
        out[o++] = '-';
    }
    for (i = 0; i < n; i++) {
        if (k > 0 && i == n - (int)k) {
            out[o++] = '.';
        }
        out[o++] = dg[i];
    }
    out[o] = '\0';
    return (int)o;
}

/* Both paths (the inline scanner and cc_num_parse) give strtod's double,
 * bit for bit, on many mantissas of 16 to 20 digits: random ones, exact
 * halfway points between two doubles (ties to even) and their neighbours
 * one unit in the last digit away. MD_TEST_SLOW=1 runs 25 times more. */
static void test_cc_decode_numbers_vs_strtod(void **state)
{
    struct md_prng rng;
    long iters = getenv("MD_TEST_SLOW") ? 5000000 : 200000;
    long i, fast = 0;
    (void)state;
    md_prng_seed(&rng, 20251126);

    for (i = 0; i < iters; i++) {
        uint64_t r = md_prng_next(&rng);
        uint64_t m;
        unsigned k;
        char text[48];
        int len;
        struct cc_json j;
        struct cc_num a, b;
        double want;

        switch (i % 4) {
        case 0: /* random, 1..20 digits */
            m = r >> (r & 63);
            k = (unsigned)(md_prng_next(&rng) % 20);
            break;
        case 1: { /* a tie: (2q+1) * 2^(e-1) with 53-bit q, exactly */
            int e = (int)(md_prng_next(&rng) % 20) - 8; /* ulp 2^e */
            uint64_t q = (UINT64_C(1) << 52) | (r >> 12);
            if (e >= 1) {
                m = ((2 * q + 1) << (e - 1));
                k = 0;
                if (m >= UINT64_C(10000000000000000000) / 2) {
                    m = 2 * q + 1;
                }
            } else {
                /* (2q+1) / 2^(1-e) = (2q+1) * 5^(1-e) / 10^(1-e) */
                unsigned t;
                m = 2 * q + 1;
                k = (unsigned)(1 - e);
                for (t = 0; t < k && m <= UINT64_MAX / 5; t++) {
                    m *= 5;
                }
                if (t < k) {
                    m = 2 * q + 1; /* does not fit: an integer tie */
                    k = 0;
                }
            }
            break;
        }
        case 2: /* a neighbour of a tie */
            m = ((UINT64_C(1) << 53) | (r >> 11)) | 1u;
            m = (r & 1) ? m + 1 : m - 1;
            k = (unsigned)(md_prng_next(&rng) % 4);
            break;
        default: /* 17-19 significant digits, like TOTAL */
            m = UINT64_C(10000000000000000) +
                r % UINT64_C(9990000000000000000);
            k = (unsigned)(md_prng_next(&rng) % 20);
            break;
        }
        len = dec_text(text, m, k, (r >> 7) & 1);
        want = strtod(text, NULL);
        cc_json_init(&j, text, (size_t)len, NULL);
        assert_rc(cc_json_num(&j, &a), MD_OK);
        assert_rc(cc_num_parse(text, (size_t)len, &b), MD_OK);
        if (memcmp(&a.d, &want, sizeof want) != 0 ||
            memcmp(&b.d, &want, sizeof want) != 0) {
            fail_msg("%s: fast %.17g, reference %.17g, strtod %.17g", text,
                     a.d, b.d, want);
        }
        if (a.dec.mant != b.dec.mant || a.dec.exp10 != b.dec.exp10 ||
            a.dec.exact != b.dec.exact) {
            fail_msg("%s: decimal differs between the paths", text);
        }
        fast += m > (UINT64_C(1) << 53);
    }
    /* most cases are over 2^53, where the old paths called strtod */
    assert_true(fast > iters / 2);
}

static void test_cc_decode_int64_edges(void **state)
{
    struct cc_msg m;
    int64_t v;
    struct cc_dec d;
    (void)state;

    decode_ok(S("{\"TYPE\":\"0\",\"M\":\"A\",\"FSYM\":\"B\",\"TSYM\":\"C\","
                "\"TS\":9223372036854775807,"
                "\"CCSEQ\":-9223372036854775808,\"RTS\":0,\"TSNS\":999999999,"
                "\"RTSNS\":0}"),
              &m);
    assert_int_equal(m.u.trade.ts, INT64_MAX);
    assert_int_equal(m.u.trade.ccseq, INT64_MIN);
    assert_int_equal(m.u.trade.tsns, 999999999);
    /* integral decimal forms are integers */
    decode_ok(S("{\"TYPE\":\"0\",\"M\":\"A\",\"FSYM\":\"B\",\"TSYM\":\"C\","
                "\"TS\":1753190418.0,\"RTS\":17531904e2}"),
              &m);
    assert_int_equal(m.u.trade.ts, 1753190418);
    assert_int_equal(m.u.trade.rts, 1753190400);
    /* overflow and fractions */
    expect_err(S("{\"TYPE\":\"0\",\"TS\":9223372036854775808}"), MD_E_RANGE,
               17);
    expect_err(S("{\"TYPE\":\"0\",\"TS\":-9223372036854775809}"), MD_E_RANGE,
               17);
    expect_err(S("{\"TYPE\":\"0\",\"TS\":1e19}"), MD_E_RANGE, 17);
    expect_err(S("{\"TYPE\":\"0\",\"TS\":1.5}"), MD_E_PROTO, 17);
    expect_err(S("{\"TYPE\":\"0\",\"TSNS\":1000000000}"), MD_E_RANGE, 19);
    expect_err(S("{\"TYPE\":\"0\",\"RTSNS\":-1}"), MD_E_RANGE, 20);
    d.mant = 922337203685477580;
    d.exp10 = 1;
    d.exact = true;
    assert_rc(cc_dec_to_i64(&d, &v), MD_OK);
    assert_int_equal(v, 9223372036854775800);
    d.exp10 = 2;
    assert_rc(cc_dec_to_i64(&d, &v), MD_E_RANGE);
    d.exact = false;
    d.exp10 = 0;
    assert_rc(cc_dec_to_i64(&d, &v), MD_E_RANGE);
}

static void test_cc_decode_strings(void **state)
{
    struct cc_msg m;
    char out[64];
    size_t n;
    struct cc_str s;
    (void)state;

    decode_ok(S("{\"TYPE\":\"0\",\"M\":\"Co\\\"in\\\\b\\/a\\u00e9\\ud83d"
                "\\ude00\\n\",\"FSYM\":\"B\",\"TSYM\":\"C\"}"),
              &m);
    assert_true(m.u.trade.market.esc);
    assert_false(m.u.trade.fsym.esc);
    assert_rc(cc_str_unescape(&m.u.trade.market, out, sizeof out, &n), MD_OK);
    assert_int_equal(n, 16);
    assert_memory_equal(out, "Co\"in\\b/a\xc3\xa9\xf0\x9f\x98\x80\n", 16);
    assert_rc(cc_str_unescape(&m.u.trade.market, out, 5, &n), MD_E_FULL);
    assert_int_equal(n, 5);
    /* escaped member names are matched after unescaping */
    decode_ok(S("{\"\\u0054YPE\":\"0\",\"M\":\"A\",\"FSYM\":\"B\","
                "\"TSYM\":\"C\",\"\\u0050\":1.5}"),
              &m);
    assert_int_equal(m.type, CC_T_TRADE);
    assert_true(m.u.trade.has & CC_TR_P);
    /* lone surrogates pass the scanner but not the unescaper */
    s.p = "\\ud83d";
    s.len = 6;
    s.esc = true;
    assert_rc(cc_str_unescape(&s, out, sizeof out, &n), MD_E_PROTO);
    s.p = "\\ude00x";
    s.len = 7;
    assert_rc(cc_str_unescape(&s, out, sizeof out, &n), MD_E_PROTO);
    s.p = "a\\";
    s.len = 2;
    assert_rc(cc_str_unescape(&s, out, sizeof out, &n), MD_E_PROTO);
    assert_true(cc_str_eq(&(struct cc_str){"A\\u0042", 7, true}, "AB", 2));
    assert_false(cc_str_eq(&(struct cc_str){"A\\u0042C", 8, true}, "AB", 2));
    /* non-ASCII bytes pass through unvalidated */
    decode_ok(S("{\"TYPE\":\"0\",\"M\":\"\xce\x9e\xff\",\"FSYM\":\"B\","
                "\"TSYM\":\"C\"}"),
              &m);
    assert_int_equal(m.u.trade.market.len, 3);
}

/* ---------------------------------------------------------------------
 * Malformed input
 * ------------------------------------------------------------------- */

struct bad_case {
    const char *s;
    size_t len; /* 0: strlen */
    int rc;
    size_t off;
};

static void test_cc_decode_malformed(void **state)
{
    static const struct bad_case cases[] = {
        {"", 0, MD_E_TRUNC, 0},
        {"   \n", 0, MD_E_TRUNC, 4},
        {"[]", 0, MD_E_PROTO, 0},
        {"null", 0, MD_E_PROTO, 0},
        {"\"TYPE\"", 0, MD_E_PROTO, 0},
        {"{}", 0, MD_E_PROTO, 1},
        {"{\"M\":\"A\"}", 0, MD_E_PROTO, 8},
        {"{\"TYPE\":\"999\"}x", 0, MD_E_PROTO, 14},
        {"{\"TYPE\":\"999\",\"TIMEMS\":1}{}", 0, MD_E_PROTO, 25},
        {"{\"TYPE\":\"0\",}", 0, MD_E_PROTO, 12},
        {"{\"TYPE\":\"0\" \"M\":\"A\"}", 0, MD_E_PROTO, 12},
        {"{\"TYPE\" \"0\"}", 0, MD_E_PROTO, 8},
        {"{'TYPE':'0'}", 0, MD_E_PROTO, 1},
        {"{TYPE:0}", 0, MD_E_PROTO, 1},
        {"{\"TYPE\":\"0\",\"M\":\"a\\x\"}", 0, MD_E_PROTO, 19},
        {"{\"TYPE\":\"0\",\"M\":\"a\\u12G4\"}", 0, MD_E_PROTO, 22},
        {"{\"TYPE\":\"0\",\"M\":\"a\tb\"}", 0, MD_E_PROTO, 18},
        {"{\"TYPE\":\"0\",\"M\":\"a\0b\"}", 23, MD_E_PROTO, 18},
        {"{\"TYPE\":\"0\",\"P\":01}", 0, MD_E_PROTO, 17},
        {"{\"TYPE\":\"0\",\"P\":1.}", 0, MD_E_PROTO, 18},
        {"{\"TYPE\":\"0\",\"P\":.5}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":\"0\",\"P\":+1}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":\"0\",\"P\":-}", 0, MD_E_PROTO, 17},
        {"{\"TYPE\":\"0\",\"P\":1e}", 0, MD_E_PROTO, 18},
        {"{\"TYPE\":\"0\",\"P\":1e+}", 0, MD_E_PROTO, 19},
        {"{\"TYPE\":\"0\",\"P\":0x10}", 0, MD_E_PROTO, 17},
        {"{\"TYPE\":\"0\",\"P\":NaN}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":\"0\",\"P\":Infinity}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":\"0\",\"P\":1e400}", 0, MD_E_RANGE, 16},
        {"{\"TYPE\":\"0\",\"P\":-1e400}", 0, MD_E_RANGE, 16},
        {"{\"TYPE\":\"0\",\"X\":tru}", 0, MD_E_PROTO, 19},
        {"{\"TYPE\":\"0\",\"X\":nul,\"M\":1}", 0, MD_E_PROTO, 19},
        /* wrong JSON types for known fields */
        {"{\"TYPE\":\"0\",\"P\":\"1.5\"}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":\"0\",\"M\":1}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":\"0\",\"M\":[\"A\"]}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":\"0\",\"TS\":\"1\"}", 0, MD_E_PROTO, 17},
        {"{\"TYPE\":\"0\",\"TS\":true}", 0, MD_E_PROTO, 17},
        {"{\"TYPE\":\"0\",\"Q\":{}}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":\"0\",\"F\":\"x\"}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":\"0\",\"F\":\"\\u0031\"}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":\"0\",\"F\":1.5}", 0, MD_E_PROTO, 16},
        {"{\"TYPE\":{}}", 0, MD_E_PROTO, 8},
        {"{\"TYPE\":null}", 0, MD_E_PROTO, 8},
        {"{\"TYPE\":true}", 0, MD_E_PROTO, 8},
        {"{\"TYPE\":\"18\",\"INFO_OBJ\":[1]}", 0, MD_E_PROTO, 24},
        {"{\"TYPE\":\"18\",\"INFO_OBJ\":{\"valid\":\"1\"}}", 0, MD_E_PROTO,
         33},
        /* duplicates */
        {"{\"TYPE\":\"0\",\"TYPE\":\"5\"}", 0, MD_E_PROTO, 12},
        {"{\"M\":\"A\",\"TYPE\":\"0\",\"TYPE\":\"0\"}", 0, MD_E_PROTO, 20},
        {"{\"TYPE\":\"0\",\"P\":1,\"P\":2}", 0, MD_E_PROTO, 18},
        {"{\"TYPE\":\"5\",\"ASK\":1,\"ASK\":2}", 0, MD_E_PROTO, 20},
        /* huge number token */
        {"{\"TYPE\":\"0\",\"P\":1"
         "000000000000000000000000000000000000000000000000000000000000000"
         "000000000000000000000000000000000000000000000000000000000000000"
         "00000}",
         0, MD_E_RANGE, 16},
        {"{\"TYPE\":\"0\",\"X\":1"
         "000000000000000000000000000000000000000000000000000000000000000"
         "000000000000000000000000000000000000000000000000000000000000000"
         "00000}",
         0, MD_E_RANGE, 16},
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].s);
        expect_err(cases[i].s, len, cases[i].rc, cases[i].off);
    }
    assert_rc(cc_ws_decode(NULL, 1, &(struct cc_msg){0}, NULL), MD_E_INVAL);
    assert_rc(cc_ws_decode("{}", 2, NULL, NULL), MD_E_INVAL);
    assert_rc(cc_ws_decode(NULL, 0, &(struct cc_msg){0}, NULL), MD_E_TRUNC);
}

static void test_cc_decode_deep_nesting(void **state)
{
    char buf[4096];
    size_t len = 0;
    size_t k;
    struct cc_msg m;
    (void)state;

    /* CC_JSON_MAX_DEPTH levels in total are fine... */
    len = (size_t)snprintf(buf, sizeof buf, "{\"TYPE\":\"7\",\"X\":");
    for (k = 0; k < CC_JSON_MAX_DEPTH - 1; k++) {
        buf[len++] = '[';
    }
    for (k = 0; k < CC_JSON_MAX_DEPTH - 1; k++) {
        buf[len++] = ']';
    }
    buf[len++] = '}';
    decode_ok(buf, len, &m);
    assert_int_equal(m.type, CC_T_UNKNOWN);
    /* ...one more is not; nor 2000 (no recursion blow-up) */
    len = (size_t)snprintf(buf, sizeof buf, "{\"TYPE\":\"7\",\"X\":");
    for (k = 0; k < CC_JSON_MAX_DEPTH; k++) {
        buf[len++] = k % 2 ? '[' : '{';
        if (k % 2 == 0) {
            memcpy(buf + len, "\"a\":", 4);
            len += 4;
        }
    }
    expect_err(buf, len, MD_E_PROTO, len - 1);
    len = (size_t)snprintf(buf, sizeof buf, "{\"TYPE\":\"0\",\"X\":");
    memset(buf + len, '[', 2000);
    len += 2000;
    expect_err(buf, len, MD_E_PROTO, 16 + CC_JSON_MAX_DEPTH - 1);
    /* a nested value where a known scalar belongs */
    expect_err(S("{\"TYPE\":\"0\",\"P\":[[[1]]]}"), MD_E_PROTO, 16);
}

/* Every strict prefix of a valid message is MD_E_TRUNC at its end, and
 * nothing is read past it (guard page). Also: the whole message, then
 * with a trailing byte. */
static void truncate_all(struct guard *g, const char *full, size_t len,
                         int (*dec)(const char *, size_t, struct cc_err *))
{
    size_t k;
    for (k = 0; k < len; k++) {
        struct cc_err e;
        const char *p = guard_put(g, full, k);
        int rc;
        assert_non_null(p);
        rc = dec(p, k, &e);
        if (rc != MD_E_TRUNC || e.rc != MD_E_TRUNC || e.off != k) {
            fail_msg("prefix %zu of \"%.40s...\": %s at %zu (%s)", k, full,
                     md_errname(rc), e.off, e.what ? e.what : "-");
        }
    }
    {
        struct cc_err e;
        const char *p = guard_put(g, full, len);
        int rc = dec(p, len, &e);
        if (rc != MD_OK && rc != MD_E_FULL) {
            fail_msg("full \"%.40s...\": %s at %zu", full, md_errname(rc),
                     e.off);
        }
    }
}

static int dec_ws(const char *p, size_t n, struct cc_err *e)
{
    struct cc_msg m;
    return cc_ws_decode(p, n, &m, e);
}

/* With a want mask of P and PRICE only: the other numbers are passed
 * over (cc_json_num_pass), not converted. */
static const struct cc_want want_price = {CC_TR_P, CC_TKM(CC_TK_PRICE)};

static int dec_ws_want(const char *p, size_t n, struct cc_err *e)
{
    struct cc_msg m;
    return cc_ws_decode_want(p, n, &m, e, &want_price);
}

static int dec_histo(const char *p, size_t n, struct cc_err *e)
{
    struct cc_histo h;
    struct cc_bar bars[2];
    return cc_rest_histo(p, n, 200, &h, bars, 2, e);
}

static int dec_price(const char *p, size_t n, struct cc_err *e)
{
    struct cc_rest_status st;
    struct cc_price px[4];
    size_t np;
    return cc_rest_price(p, n, 200, &st, px, 4, &np, NULL, e);
}

static int dec_pmf(const char *p, size_t n, struct cc_err *e)
{
    struct cc_rest_status st;
    struct cc_ticker t[1];
    size_t nt;
    return cc_rest_pricemultifull(p, n, 200, &st, t, 1, &nt, NULL, e);
}

static int dec_status(const char *p, size_t n, struct cc_err *e)
{
    struct cc_rest_status st;
    return cc_rest_status_decode(p, n, 401, &st, e);
}

static void test_cc_decode_truncation_guarded(void **state)
{
    static const char *const frames[] = {
        trade_2025,    trade_2020,    trade_min,    agg_2024,
        agg_2020,      agg_flags4,    agg_snapshot, ticker2,
        ohlc,          welcome,       sub16,        unsub17,
        unsub18,       load3,         hb999,        unauth401,
        rl429_sockets, rl429_subs,    rl429_fast,   err500_sub,
        err500_json,   err500_param,  err500_unrec, err500_active,
        err500_force,  unknown_1101,
        "{\"TYPE\":\"0\",\"M\":\"a\\u00e9\\\"\",\"FSYM\":\"B\","
        "\"TSYM\":\"C\",\"X\":[true,false,null,-1.5e-3]}",
    };
    static const char *const bodies[] = {
        histo_v2,  histo_v1, histo_hour,  err_param, err_rate, err_key,
        err_2026,  err_dataapi, err_tots,
    };
    struct guard g;
    size_t i;
    (void)state;

    assert_int_equal(guard_init(&g, 8192), 0);
    for (i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        truncate_all(&g, frames[i], strlen(frames[i]), dec_ws);
        truncate_all(&g, frames[i], strlen(frames[i]), dec_ws_want);
    }
    for (i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        truncate_all(&g, bodies[i], strlen(bodies[i]), dec_histo);
        truncate_all(&g, bodies[i], strlen(bodies[i]), dec_status);
    }
    truncate_all(&g, price_body, strlen(price_body), dec_price);
    truncate_all(&g, pricemulti_body, strlen(pricemulti_body), dec_price);
    truncate_all(&g, err_param, strlen(err_param), dec_price);
    truncate_all(&g, pmf_body, strlen(pmf_body), dec_pmf);
    truncate_all(&g, err_rate, strlen(err_rate), dec_pmf);
    guard_free(&g);
}

/* A number passed over (not in the want mask) is accepted or refused
 * exactly as the full decode accepts or refuses it, at the same offset
 * with the same phrase; only a token too large for a double (MD_E_RANGE
 * in the full decode) may pass. Each token is placed last and before
 * another member, in a trade (TOTAL) and a CCCAGG update (VOLUMEHOUR),
 * each input right before a PROT_NONE page. */
static void test_cc_decode_want_pass(void **state)
{
    static const char *const tokens[] = {
        "0", "-0", "1", "-1", "7", "0.5", "-0.5", "10.25", "1234567",
        "12345678", "123456789", "1234567.12345678", "0.000000001",
        "12345678901234567890123", "1.2345678901234567890123",
        "99999999999999999999.99999999999999999999", "1e400", "-1e400",
        "01", "-01", "00", "0.", "1.", "1.e5", ".5", "-", "--1", "-a",
        "1e5", "1E+5", "1e-5", "1e", "1e+", "1.5e-3", "0e0", "1.5.5", "1-",
        "+1", "1a", "0x10", " 1", "1 ", "\"1\"", "null", "true", "[1]",
        "{}", "1.2345678a", "12345678.9x", "-12345678", "0.12345678e1",
    };
    static const char *const shapes[][2] = {
        {"{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\","
         "\"TSYM\":\"USD\",\"F\":\"1\",\"TOTAL\":",
         "}"},
        {"{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\","
         "\"TSYM\":\"USD\",\"TOTAL\":",
         ",\"P\":1.5,\"F\":\"1\"}"},
        {"{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
         "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"VOLUMEHOUR\":",
         "}"},
        {"{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
         "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"VOLUMEHOUR\":",
         ",\"PRICE\":2.5}"},
    };
    char text[512], big[160];
    struct guard g;
    size_t i, k;
    (void)state;

    assert_int_equal(guard_init(&g, 8192), 0);
    for (i = 0; i <= sizeof tokens / sizeof tokens[0] + 1; i++) {
        const char *tok = i < sizeof tokens / sizeof tokens[0] ? tokens[i]
                                                                : big;
        if (i >= sizeof tokens / sizeof tokens[0]) {
            /* 128 digits (the longest token accepted), then 129 */
            size_t nd = i == sizeof tokens / sizeof tokens[0] ? 128 : 129;
            memset(big, '7', nd);
            big[nd] = '\0';
        }
        for (k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
            struct cc_msg full, part;
            struct cc_err ef, ep;
            const char *p;
            int n = snprintf(text, sizeof text, "%s%s%s", shapes[k][0], tok,
                             shapes[k][1]);
            int rf, rp;

            assert_true(n > 0 && (size_t)n < sizeof text);
            p = guard_put(&g, text, (size_t)n);
            assert_non_null(p);
            rf = cc_ws_decode(p, (size_t)n, &full, &ef);
            rp = cc_ws_decode_want(p, (size_t)n, &part, &ep, &want_price);
            if (rf == MD_E_RANGE && rp == MD_OK) {
                continue;
            }
            /* the phrase of MD_E_RANGE names the check: the conversion
             * ("number out of range") or the length ("number too long") */
            if (rf != rp || ef.rc != ep.rc || ef.off != ep.off ||
                (rf != MD_OK && rf != MD_E_RANGE &&
                 strcmp(ef.what, ep.what) != 0)) {
                fail_msg("%s: full %s at %zu (%s), want-mask %s at %zu (%s)",
                         text, md_errname(rf), ef.off,
                         ef.what ? ef.what : "-", md_errname(rp), ep.off,
                         ep.what ? ep.what : "-");
            }
            if (rf == MD_OK && full.type == CC_T_TRADE) {
                /* null is an absent field */
                assert_int_equal((full.u.trade.has & CC_TR_TOTAL) != 0,
                                 strcmp(tok, "null") != 0);
                assert_false(part.u.trade.has & CC_TR_TOTAL);
                assert_int_equal(full.u.trade.has & ~CC_TR_TOTAL,
                                 part.u.trade.has);
                assert_true(k != 1 || part.u.trade.p.d == 1.5);
            } else if (rf == MD_OK) {
                assert_int_equal(full.u.ticker.has &
                                     ~CC_TKM(CC_TK_VOLUMEHOUR),
                                 part.u.ticker.has);
                assert_true(k != 3 || part.u.ticker.num[CC_TK_PRICE].d == 2.5);
            }
        }
    }
    guard_free(&g);
}

/* ---------------------------------------------------------------------
 * REST
 * ------------------------------------------------------------------- */

static void test_cc_decode_histo_v2(void **state)
{
    struct cc_histo h;
    struct cc_bar bars[4];
    struct cc_err e;
    (void)state;

    assert_rc(cc_rest_histo(S(histo_v2), 200, &h, bars, 4, &e), MD_OK);
    assert_int_equal(h.st.kind, CC_R_OK);
    assert_str(h.st.response, "Success");
    assert_int_equal(h.st.type, 100);
    assert_false(h.has & CC_HI_V1);
    assert_true(h.has & CC_HI_AGGREGATED);
    assert_false(h.aggregated);
    assert_int_equal(h.time_from, 1652140800);
    assert_int_equal(h.time_to, 1654732800);
    assert_int_equal(h.n_bars, 2);
    assert_int_equal(h.n_total, 2);
    assert_int_equal(bars[0].has, (UINT64_C(1) << 9) - 1);
    assert_int_equal(bars[0].time, 1652140800);
    assert_dec(bars[0].high, 3262541, -2);
    assert_dec(bars[0].open, 300769, -1);
    assert_dec(bars[0].volumeto, 324406217009, -2);
    assert_dbl(bars[0].close, "31013.12");
    assert_str(bars[0].conversion_type, "direct");
    assert_str(bars[0].conversion_symbol, "");
    /* the trimmed second bar: no close/volumes, open == previous close */
    assert_int_equal(bars[1].has,
                     CC_BAR_TIME | CC_BAR_HIGH | CC_BAR_LOW | CC_BAR_OPEN);
    assert_int_equal(bars[1].open.dec.mant, bars[0].close.dec.mant);

    assert_rc(cc_rest_histo(S(histo_hour), 200, &h, bars, 4, &e), MD_OK);
    assert_int_equal(h.n_bars, 3);
    assert_int_equal((h.time_to - h.time_from) / 3600 + 1, 3);
    assert_int_equal(bars[0].has & (CC_BAR_CONV_TYPE | CC_BAR_CONV_SYMBOL),
                     0);
    assert_str(bars[1].conversion_type, "invert");
    assert_str(bars[1].conversion_symbol, "BTC");
    assert_dec(bars[0].high, 1183, 2);
}

static void test_cc_decode_histo_v1(void **state)
{
    struct cc_histo h;
    struct cc_bar bars[2];
    (void)state;

    assert_rc(cc_rest_histo(S(histo_v1), 0, &h, bars, 2, NULL), MD_OK);
    assert_int_equal(h.st.kind, CC_R_OK);
    assert_true(h.has & CC_HI_V1);
    assert_true(h.has & CC_HI_FIRSTVALUE);
    assert_true(h.first_value_in_array);
    assert_int_equal(h.time_from, 1602979200);
    assert_int_equal(h.time_to, 1605571200);
    assert_int_equal(h.n_bars, 1);
    assert_dec(bars[0].volumeto, 13188657058, -2);
    assert_dec(bars[0].close, 1151333, -2);
}

static void test_cc_decode_histo_full(void **state)
{
    struct cc_histo h;
    struct cc_bar bars[1];
    struct cc_err e;
    (void)state;

    assert_rc(cc_rest_histo(S(histo_hour), 200, &h, bars, 1, &e), MD_E_FULL);
    assert_int_equal(e.rc, MD_E_FULL);
    assert_int_equal(h.n_bars, 1);
    assert_int_equal(h.n_total, 3);
    assert_int_equal(bars[0].time, 1754042400);
    assert_int_equal(h.st.kind, CC_R_OK);
    /* capacity 0 counts only */
    assert_rc(cc_rest_histo(S(histo_hour), 200, &h, NULL, 0, &e), MD_E_FULL);
    assert_int_equal(h.n_total, 3);
    assert_rc(cc_rest_histo(S(histo_hour), 200, NULL, bars, 1, &e),
              MD_E_INVAL);
    assert_rc(cc_rest_histo(S(histo_hour), 200, &h, NULL, 1, &e), MD_E_INVAL);
    /* malformed bars */
    assert_rc(cc_rest_histo(S("{\"Data\":{\"Data\":[1]}}"), 200, &h, bars, 1,
                            &e),
              MD_E_PROTO);
    assert_int_equal(e.off, 17);
    assert_rc(cc_rest_histo(S("{\"Data\":[{\"time\":\"1\"}]}"), 200, &h, bars,
                            1, &e),
              MD_E_PROTO);
    assert_int_equal(e.off, 17);
    assert_rc(cc_rest_histo(S("{\"Data\":[],\"Data\":[]}"), 200, &h, bars, 1,
                            &e),
              MD_E_PROTO);
    assert_rc(cc_rest_histo(S("<html>502 Bad Gateway</html>"), 502, &h, bars,
                            1, &e),
              MD_E_PROTO);
    assert_int_equal(e.off, 0);
}

struct kind_case {
    const char *body;
    int http;
    enum cc_rest_kind kind;
};

static void test_cc_decode_rest_errors(void **state)
{
    static const struct kind_case cases[] = {
        {err_param, 200, CC_R_PARAM},
        {err_tots, 200, CC_R_PARAM},
        {err_rate, 200, CC_R_RATE_LIMIT},
        {err_key, 200, CC_R_AUTH},
        {err_2026, 401, CC_R_AUTH},
        {err_2026, 0, CC_R_AUTH},  /* the body says 401 */
        {err_dataapi, 404, CC_R_PARAM},
        {err_dataapi, 0, CC_R_PARAM}, /* other_info.param */
        {"{\"Data\":{},\"Err\":{\"type\":99,\"message\":\"You are over "
         "your rate limit\"}}",
         0, CC_R_RATE_LIMIT},
        {"{\"Data\":{},\"Err\":{\"type\":5,\"message\":\"x\"}}", 429,
         CC_R_RATE_LIMIT},
        {"{\"Data\":{},\"Err\":{\"type\":5,\"message\":\"x\"}}", 500,
         CC_R_ERROR},
        {"{\"Response\":\"Error\",\"Message\":\"Path does not exist\","
         "\"Type\":1}",
         200, CC_R_ERROR},
        {"{\"Response\":\"Error\",\"Message\":\"?\"}", 429, CC_R_RATE_LIMIT},
        {histo_v2, 401, CC_R_OK}, /* the body wins over the status */
        {"{\"Data\":[],\"Err\":{}}", 200, CC_R_OK},
        {"{}", 200, CC_R_OK},
        {"{}", 503, CC_R_ERROR},
        {"{}", 401, CC_R_AUTH},
        {"{\"USD\":4069.35}", 401, CC_R_OK}, /* payload wins */
    };
    size_t i;
    struct cc_rest_status st;
    struct cc_histo h;
    struct cc_bar bars[2];
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *b = cases[i].body;
        assert_rc(cc_rest_status_decode(b, strlen(b), cases[i].http, &st,
                                        NULL),
                  MD_OK);
        if (st.kind != cases[i].kind) {
            fail_msg("case %zu: %s, want %s", i, cc_rest_kind_name(st.kind),
                     cc_rest_kind_name(cases[i].kind));
        }
    }
    /* the same through the histo decoder: an error body has no bars */
    assert_rc(cc_rest_histo(S(err_tots), 200, &h, bars, 2, NULL), MD_OK);
    assert_int_equal(h.st.kind, CC_R_PARAM);
    assert_int_equal(h.n_bars, 0);
    assert_str(h.st.param_with_error, "toTs");
    assert_true(h.st.has & CC_RS_PARAMWITHERROR);

    assert_rc(cc_rest_histo(S(err_rate), 200, &h, bars, 2, NULL), MD_OK);
    assert_int_equal(h.st.kind, CC_R_RATE_LIMIT);
    assert_int_equal(h.st.type, 99);
    assert_true(h.st.has & CC_RS_RATELIMIT);
    assert_int_equal(h.st.rl.has_made, 0x1f);
    assert_int_equal(h.st.rl.has_max, 0x1f);
    assert_int_equal(h.st.rl.has_left, 0);
    assert_true(h.st.rl.has_total);
    assert_int_equal(h.st.rl.calls_made[CC_P_MINUTE], 301);
    assert_int_equal(h.st.rl.max_calls[CC_P_MINUTE], 300);
    assert_int_equal(h.st.rl.calls_made[CC_P_DAY], 7501);
    assert_int_equal(h.st.rl.max_calls[CC_P_MONTH], 50000);
    assert_int_equal(h.st.rl.total_calls, 30211);

    assert_rc(cc_rest_status_decode(S(err_2026), 401, &st, NULL), MD_OK);
    assert_int_equal(st.err_type, 2);
    assert_int_equal(st.err_http_status, 401);
    assert_true(st.has & CC_RS_ERR_MESSAGE);
    assert_int_equal(st.http_status, 401);
    assert_rc(cc_rest_status_decode(S(err_dataapi), 404, &st, NULL), MD_OK);
    assert_str(st.err_param, "market");
    assert_rc(cc_rest_status_decode(S(histo_v2), 200, &st, NULL), MD_OK);
    assert_false(st.has & CC_RS_RATELIMIT); /* "RateLimit":{} */
    assert_rc(cc_rest_status_decode(S(err_key), 200, NULL, NULL), MD_E_INVAL);
    /* envelope fields of the wrong type */
    assert_rc(cc_rest_status_decode(S("{\"Type\":\"99\"}"), 200, &st, NULL),
              MD_E_PROTO);
    assert_rc(cc_rest_status_decode(S("{\"HasWarning\":0}"), 200, &st, NULL),
              MD_E_PROTO);
    assert_rc(cc_rest_status_decode(S("{\"Type\":1,\"Type\":2}"), 200, &st,
                                    NULL),
              MD_E_PROTO);
}

static void test_cc_decode_price(void **state)
{
    struct cc_rest_status st;
    struct cc_price px[4];
    size_t n;
    size_t total;
    struct cc_err e;
    (void)state;

    assert_rc(cc_rest_price(S(price_body), 200, &st, px, 4, &n, &total, &e),
              MD_OK);
    assert_int_equal(st.kind, CC_R_OK);
    assert_int_equal(n, 2);
    assert_int_equal(px[0].fsym.len, 0);
    assert_str(px[0].tsym, "USD");
    assert_dec(px[0].px, 406935, -2);
    assert_str(px[1].tsym, "EUR");

    assert_rc(cc_rest_price(S(pricemulti_body), 200, &st, px, 4, &n, &total,
                            &e),
              MD_OK);
    assert_int_equal(n, 2);
    assert_str(px[1].fsym, "ETH");
    assert_str(px[1].tsym, "USD");
    assert_dec(px[1].px, 179609, -2);

    assert_rc(cc_rest_price(S(pricemulti_body), 200, &st, px, 1, &n, &total,
                            &e),
              MD_E_FULL);
    assert_int_equal(n, 1);
    assert_int_equal(total, 2);
    assert_str(px[0].fsym, "BTC");

    assert_rc(cc_rest_price(S(err_param), 200, &st, px, 4, &n, NULL, &e),
              MD_OK);
    assert_int_equal(st.kind, CC_R_PARAM);
    assert_int_equal(n, 0);
    assert_rc(cc_rest_price(S(err_2026), 401, &st, px, 4, &n, NULL, &e),
              MD_OK);
    assert_int_equal(st.kind, CC_R_AUTH);
    assert_int_equal(n, 0);

    assert_rc(cc_rest_price(S("{\"USD\":\"1\"}"), 200, &st, px, 4, &n, NULL,
                            &e),
              MD_E_PROTO);
    assert_int_equal(e.off, 7);
    assert_rc(cc_rest_price(S("{\"BTC\":{\"USD\":[1]}}"), 200, &st, px, 4, &n,
                            NULL, &e),
              MD_E_PROTO);
    assert_rc(cc_rest_price(S("{\"USD\":null,\"EUR\":1}"), 200, &st, px, 4,
                            &n, NULL, &e),
              MD_OK);
    assert_int_equal(n, 1);
    assert_rc(cc_rest_price(S(price_body), 200, NULL, px, 4, &n, NULL, &e),
              MD_E_INVAL);
}

static void test_cc_decode_pricemultifull(void **state)
{
    struct cc_rest_status st;
    struct cc_ticker t[2];
    struct cc_ticker_state ts;
    size_t n;
    size_t total;
    struct cc_err e;
    (void)state;

    assert_rc(cc_rest_pricemultifull(S(pmf_body), 200, &st, t, 2, &n, &total,
                                     &e),
              MD_OK);
    assert_int_equal(st.kind, CC_R_OK);
    assert_int_equal(n, 1);
    assert_int_equal(t[0].type_num, 5);
    assert_int_equal(t[0].flags, 2052); /* FLAGS as a string */
    assert_str(t[0].fsym, "ETH");
    assert_str(t[0].lastmarket, "binanceusa");
    assert_str(t[0].conversiontype, "direct");
    assert_str(t[0].imageurl, "/media/37746238/eth.png");
    assert_int_equal(t[0].lastupdate, 1666357726);
    assert_dec(t[0].num[CC_TK_PRICE], 127675, -2);
    assert_dec(t[0].num[CC_TK_VOLUMEDAYTO], 367505833, 0);
    assert_dec(t[0].num[CC_TK_CHANGE24HOUR], -2128, -2);
    assert_dec(t[0].num[CC_TK_TOTALVOLUME24H], 25942803, -1);
    assert_true(t[0].has & CC_TKM(CC_TK_SUPPLY));
    assert_int_equal(t[0].has & CC_TK_STREAMER_MASK,
                     CC_TK_STREAMER_MASK & ~(CC_TKM(CC_TK_BID) |
                                             CC_TKM(CC_TK_ASK)));
    /* RAW merges like a socket snapshot */
    cc_ticker_reset(&ts);
    assert_rc(cc_ticker_merge(&ts, &t[0], NULL), MD_OK);
    assert_int_equal(ts.flags, 2052);

    /* FROMSYMBOL/TOSYMBOL come from the keys when absent */
    assert_rc(cc_rest_pricemultifull(
                  S("{\"RAW\":{\"BTC\":{\"USD\":{\"PRICE\":1},"
                    "\"EUR\":{\"PRICE\":2}}}}"),
                  200, &st, t, 1, &n, &total, &e),
              MD_E_FULL);
    assert_int_equal(n, 1);
    assert_int_equal(total, 2);
    assert_str(t[0].fsym, "BTC");
    assert_str(t[0].tsym, "USD");
    assert_int_equal(t[0].type_num, -1);

    assert_rc(cc_rest_pricemultifull(S(err_rate), 200, &st, t, 2, &n, NULL,
                                     &e),
              MD_OK);
    assert_int_equal(st.kind, CC_R_RATE_LIMIT);
    assert_int_equal(n, 0);
    assert_rc(cc_rest_pricemultifull(S("{\"RAW\":{\"BTC\":[]}}"), 200, &st, t,
                                     2, &n, NULL, &e),
              MD_E_PROTO);
    assert_int_equal(e.off, 14);
}

/* cc_peek_int: the number after a key in a raw frame, or -1. */
static void test_cc_peek_int(void **state)
{
    static const char f[] =
        "{\"TYPE\":\"0\",\"TS\":1753190460,\"TSNS\":123000000,"
        "\"Q\":\"x\",\"BIG\":12345678901234567890,\"END\":7";
    size_t n = sizeof f - 1;
    (void)state;
    assert_int_equal(cc_peek_int(f, n, "\"TS\":", 5), 1753190460);
    assert_int_equal(cc_peek_int(f, n, "\"TSNS\":", 7), 123000000);
    assert_int_equal(cc_peek_int(f, n, "\"Q\":", 4), -1); /* not a number */
    assert_int_equal(cc_peek_int(f, n, "\"NONE\":", 7), -1);
    /* at most 18 digits are read */
    assert_int_equal(cc_peek_int(f, n, "\"BIG\":", 6),
                     INT64_C(123456789012345678));
    /* the last byte of the frame, and the frame ending right after the key */
    assert_int_equal(cc_peek_int(f, n, "\"END\":", 6), 7);
    assert_int_equal(cc_peek_int(f, n - 1, "\"END\":", 6), -1);
    /* the key's first byte repeated before it; a key longer than the frame */
    assert_int_equal(cc_peek_int("\"\"\"A\":5", 7, "\"A\":", 4), 5);
    assert_int_equal(cc_peek_int("\"A\"", 3, "\"A\":", 4), -1);
    assert_int_equal(cc_peek_int(f, n, "", 0), -1);
}

static void test_cc_decode_tables(void **state)
{
    (void)state;
    assert_true(cc_decode__tables_ok());
    assert_string_equal(cc_rest_kind_name(CC_R_AUTH), "CC_R_AUTH");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cc_decode_trade_2025),
        cmocka_unit_test(test_cc_decode_trade_without_optional),
        cmocka_unit_test(test_cc_decode_key_order),
        cmocka_unit_test(test_cc_decode_whitespace),
        cmocka_unit_test(test_cc_decode_trade_flags_forms),
        cmocka_unit_test(test_cc_decode_cccagg_2024),
        cmocka_unit_test(test_cc_decode_cccagg_2020),
        cmocka_unit_test(test_cc_decode_ticker_bits),
        cmocka_unit_test(test_cc_decode_flags4_without_price),
        cmocka_unit_test(test_cc_decode_flags_string_vs_number),
        cmocka_unit_test(test_cc_decode_merge),
        cmocka_unit_test(test_cc_decode_ohlc),
        cmocka_unit_test(test_cc_decode_welcome),
        cmocka_unit_test(test_cc_decode_control),
        cmocka_unit_test(test_cc_decode_unknown_type),
        cmocka_unit_test(test_cc_decode_numbers),
        cmocka_unit_test(test_cc_decode_num_parse_args),
        cmocka_unit_test(test_cc_decode_numbers_fast_vs_slow),
        cmocka_unit_test(test_cc_decode_numbers_vs_strtod),
        cmocka_unit_test(test_cc_decode_int64_edges),
        cmocka_unit_test(test_cc_decode_strings),
        cmocka_unit_test(test_cc_decode_malformed),
        cmocka_unit_test(test_cc_decode_deep_nesting),
        cmocka_unit_test(test_cc_decode_truncation_guarded),
        cmocka_unit_test(test_cc_decode_want_pass),
        cmocka_unit_test(test_cc_decode_histo_v2),
        cmocka_unit_test(test_cc_decode_histo_v1),
        cmocka_unit_test(test_cc_decode_histo_full),
        cmocka_unit_test(test_cc_decode_rest_errors),
        cmocka_unit_test(test_cc_decode_price),
        cmocka_unit_test(test_cc_decode_pricemultifull),
        cmocka_unit_test(test_cc_decode_tables),
        cmocka_unit_test(test_cc_peek_int),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
