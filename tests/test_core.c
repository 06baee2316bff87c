/* test_core.c: the composition end to end on real-shaped bytes: a REST
 * preflight body seeds the CCCAGG open and gives the first bars, frames
 * drive the connection machine and the aggregator, the bar timer closes
 * bars into the bar store and the publisher produces them by id, a reconnect gap is
 * backfilled from a REST body as revisions, a Type 99 body waits for the
 * rate-limit window, a 401 Err envelope fails the fetch, STOP flushes. */
#include <stdio.h>
#include <string.h>

#include "cmocka_inc.h"
#include "core.h"
#include "md_err.h"

#define S INT64_C(1000000000)
#define T0 INT64_C(1753190400) /* server time of local 0 + START */
#define L0 (1000 * S)          /* local monotonic time at START */

static struct core C;
static struct md_out O;
static struct core_config CFG;

static void init(void)
{
    core_config_default(&CFG);
    CFG.seed = 7;
    assert_int_equal(core_config_add_series(&CFG, "CCCAGG", "BTC", "USD", 60),
                     MD_OK);
    assert_int_equal(core_init(&C, &CFG), MD_OK);
}

/* The k-th bar the last step announced (its BARS actions in order). */
static const struct bar *bar_at(size_t k)
{
    size_t i;

    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_BARS) {
            if (k < O.a[i].n) {
                return &O.a[i].p.bars[k]->bar;
            }
            k -= O.a[i].n;
        }
    }
    fail_msg("no bar %zu announced", k);
    return NULL;
}

static size_t bars_announced(void)
{
    size_t i, n = 0;

    for (i = 0; i < O.n; i++) {
        n += O.a[i].kind == MD_A_BARS ? O.a[i].n : 0;
    }
    return n;
}

/* The request the last step sent, or NULL. */
static const struct md_request *sent(void)
{
    size_t i;

    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_REST_SEND) {
            return O.a[i].p.req;
        }
    }
    return NULL;
}

static int go(struct core_in *in)
{
    int rc;

    md_out_reset(&O);
    rc = core_step(&C, in, &O);
    assert_int_equal(core_check(&C), MD_OK);
    return rc;
}

static void start(mono_ns t, int64_t wall_ms)
{
    struct core_in in = {0};

    in.kind = CORE_IN_START;
    in.t_ns = t;
    in.server_ms = wall_ms;
    assert_int_equal(go(&in), MD_OK);
}

static void http(mono_ns t, int status, const char *body)
{
    struct core_in in = {0};

    in.kind = CORE_IN_HTTP;
    in.t_ns = t;
    in.http_status = status;
    in.data = body;
    in.len = strlen(body);
    assert_int_equal(go(&in), MD_OK);
}

static void conn(mono_ns t, uint8_t input)
{
    struct core_in in = {0};

    in.kind = CORE_IN_CONN;
    in.input = input;
    in.t_ns = t;
    in.conn_id = C.conn.conn_id;
    assert_int_equal(go(&in), MD_OK);
}

static void frame(mono_ns t, const char *json)
{
    struct core_in in = {0};

    in.kind = CORE_IN_FRAME;
    in.t_ns = t;
    in.conn_id = C.conn.conn_id;
    in.data = json;
    in.len = strlen(json);
    assert_int_equal(go(&in), MD_OK);
}

static void fire(enum md_timer timer, mono_ns deadline)
{
    struct core_in in = {0};

    in.kind = CORE_IN_TIMER;
    in.timer = (uint8_t)timer;
    in.t_ns = deadline;
    assert_int_equal(go(&in), MD_OK);
}

static mono_ns armed(enum md_timer timer)
{
    size_t i;
    mono_ns d = -1;

    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_ARM_TIMER && O.a[i].timer == timer) {
            d = O.a[i].deadline_ns;
        }
    }
    return d;
}

static uint64_t sum(enum md_act_kind k)
{
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < O.n; i++) {
        n += O.a[i].kind == k ? (O.a[i].arg ? O.a[i].arg : 1) : 0;
    }
    return n;
}

/* A histominute body: limit+1 bars ending with the current, partial one;
 * open = previous close. */
static const char *PREFLIGHT =
    "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":false,"
    "\"Type\":100,\"RateLimit\":{},\"Data\":{\"Aggregated\":false,"
    "\"TimeFrom\":1753190220,\"TimeTo\":1753190400,\"Data\":["
    "{\"time\":1753190220,\"high\":119300.1,\"low\":119250.2,"
    "\"open\":119260,\"volumefrom\":21.5,\"volumeto\":2564210.35,"
    "\"close\":119280.5,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"},"
    "{\"time\":1753190280,\"high\":119290.7,\"low\":119240.1,"
    "\"open\":119280.5,\"volumefrom\":18.25,\"volumeto\":2176812.1,"
    "\"close\":119255.25,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"},"
    "{\"time\":1753190340,\"high\":119270,\"low\":119230.5,"
    "\"open\":119255.25,\"volumefrom\":9.5,\"volumeto\":1132840.7,"
    "\"close\":119262.75,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"},"
    "{\"time\":1753190400,\"high\":119262.75,\"low\":119262.75,"
    "\"open\":119262.75,\"volumefrom\":0.5,\"volumeto\":59631.375,"
    "\"close\":119262.75,\"conversionType\":\"direct\","
    "\"conversionSymbol\":\"\"}]}}";

static void test_core_preflight_stream_close_publish_stop(void **state)
{
    mono_ns d;
    char welcome[256];

    (void)state;
    init();
    start(L0, T0 * 1000);
    assert_int_equal(C.rest.state, REST_S_REQUESTING);
    /* the action names the whole request: no call back into the core */
    assert_non_null(sent());
    assert_string_equal(sent()->method, "GET");
    assert_true(strncmp(sent()->target, "/data/v2/histominute?",
                        21) == 0);
    assert_int_equal(strlen(sent()->target), sent()->target_len);
    /* the topic exists; then the preflight answer */
    {
        struct core_in in = {0};
        in.kind = CORE_IN_PUB;
        in.input = PUB_I_TOPIC_CREATED;
        in.t_ns = L0 + 10000000;
        assert_int_equal(go(&in), MD_OK);
    }
    http(L0 + 50000000, 200, PREFLIGHT);
    /* one settled bar (13:17 ends 2 min before now), announced and
     * produced; 13:18 and 13:19 may still be revised by the server */
    assert_int_equal(sum(MD_A_BARS), 1);
    assert_int_equal(sum(MD_A_PRODUCE), 1);
    assert_int_equal((*bar_at(0)).source, BAR_SRC_REST);
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
    assert_int_equal(C.rest.state, REST_S_IDLE);

    conn(L0 + S, CONN_I_WS_OPEN);
    snprintf(welcome, sizeof welcome,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld,\"SOCKETS_ACTIVE\":1}",
             (long long)(T0 * 1000 + 1000));
    frame(L0 + S, welcome);
    assert_int_equal(sum(MD_A_WS_SUBSCRIBE), 1);
    frame(L0 + S + 1000,
          "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
          "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":119300,"
          "\"LASTUPDATE\":1753190401,\"VOLUMEDAY\":100,"
          "\"VOLUMEDAYTO\":11930000}");
    frame(L0 + S + 2000, "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\"}");
    assert_int_equal(C.conn.state, CONN_S_STREAMING);
    frame(L0 + 30 * S,
          "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
          "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"PRICE\":119250,"
          "\"LASTUPDATE\":1753190430,\"VOLUMEDAY\":102.5,"
          "\"VOLUMEDAYTO\":12228125}");
    /* the bar timer is armed for end + grace of the open bar, in local
     * time: server T0+62 s = local L0+62 s */
    assert_true(C.s.bar_armed);
    d = armed(MD_T_BAR) >= 0 ? armed(MD_T_BAR) : C.s.bar_deadline;
    assert_int_equal(d, L0 + 62 * S);
    fire(MD_T_BAR, d);
    assert_int_equal(sum(MD_A_BARS), 1);
    assert_int_equal((*bar_at(0)).source, BAR_SRC_CCCAGG);
    /* the previous close: 13:19's, complete though not yet settled */
    assert_true((*bar_at(0)).open == 119262.75);
    assert_true((*bar_at(0)).close == 119250);
    assert_int_equal((*bar_at(0)).start_ms, T0 * 1000);
    /* the bar went to the publisher */
    assert_int_equal(sum(MD_A_PRODUCE), 1);
    /* an open bar at STOP is flushed and produced in the drain */
    frame(L0 + 70 * S,
          "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
          "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":119260,"
          "\"LASTUPDATE\":1753190470}");
    {
        struct core_in in = {0};
        in.kind = CORE_IN_STOP;
        in.t_ns = L0 + 75 * S;
        assert_int_equal(go(&in), MD_OK);
    }
    assert_int_equal(sum(MD_A_BARS), 1);
    assert_int_equal((*bar_at(0)).close_reason, BAR_CLOSE_FLUSH);
    assert_int_equal(sum(MD_A_FLUSH) > 0, 1);
    assert_int_equal(C.conn.state, CONN_S_CLOSING);
}

static void test_core_rest_errors(void **state)
{
    (void)state;
    init();
    start(L0, T0 * 1000);
    /* Type 99 at HTTP 200: wait until the exhausted window resets */
    http(L0 + S / 2,
         200,
         "{\"Response\":\"Error\",\"Message\":\"You are over your rate "
         "limit please upgrade your account!\",\"HasWarning\":false,"
         "\"Type\":99,\"RateLimit\":{\"calls_made\":{\"second\":3,"
         "\"minute\":301,\"hour\":1200,\"day\":1300,\"month\":9000,"
         "\"total_calls\":9000},\"max_calls\":{\"second\":20,\"minute\":300,"
         "\"hour\":3000,\"day\":7500,\"month\":50000}},\"Data\":{}}");
    assert_int_equal(C.rest.state, REST_S_WAITING);
    /* the minute window is exhausted: retry at the next whole minute */
    assert_true(armed(MD_T_REST_RETRY) >= L0 + 60 * S - S / 2);
    assert_true(armed(MD_T_REST_RETRY) <= L0 + 61 * S);
    fire(MD_T_REST_RETRY, armed(MD_T_REST_RETRY));
    assert_int_equal(C.rest.state, REST_S_REQUESTING);
    /* the 2026 envelope with HTTP 401: the key is refused */
    http(L0 + 61 * S, 401,
         "{\"Data\":{},\"Err\":{\"type\":2,\"message\":\"API key required, "
         "please refer to the documentation at "
         "https://developers.coindesk.com/\",\"http_status_code\":401}}");
    assert_int_equal(C.rest.state, REST_S_IDLE);
    assert_int_equal(C.pub.st.fetch_failures, 1);
    /* a body that is not JSON: a failure to retry, never a crash */
    init();
    start(L0, T0 * 1000);
    http(L0 + 63 * S, 502, "<html>Bad Gateway</html>");
    assert_int_equal(C.rest.state, REST_S_WAITING);
    assert_int_equal(C.st.http_malformed, 1);
}

static void test_core_backfill_revises_gap_bar(void **state)
{
    static const char *const btc5 =
        "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
        "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":%s,\"LASTUPDATE\":%lld,"
        "\"VOLUMEDAY\":%s}";
    char buf[512], welcome[256], body[2048];
    mono_ns d;
    size_t i;
    int found = 0;

    (void)state;
    init();
    start(L0, T0 * 1000);
    http(L0 + S / 10, 200, PREFLIGHT);
    conn(L0 + S, CONN_I_WS_OPEN);
    snprintf(welcome, sizeof welcome,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld}",
             (long long)(T0 * 1000 + 1000));
    frame(L0 + S, welcome);
    frame(L0 + S, "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\"}");
    snprintf(buf, sizeof buf, btc5, "119300", (long long)(T0 + 70), "100");
    frame(L0 + 70 * S, buf);
    /* abrupt drop at +80 s, back at +95 s: the bar [T0+60, T0+120) spans
     * the gap */
    conn(L0 + 80 * S, CONN_I_WS_CLOSED);
    fire(MD_T_CONN_BACKOFF, armed(MD_T_CONN_BACKOFF));
    conn(L0 + 95 * S, CONN_I_WS_OPEN);
    snprintf(welcome, sizeof welcome,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld}",
             (long long)(T0 * 1000 + 95000));
    frame(L0 + 95 * S, welcome);
    snprintf(buf, sizeof buf, btc5, "119310", (long long)(T0 + 95), "101");
    frame(L0 + 95 * S, buf);
    frame(L0 + 95 * S, "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\"}");
    d = armed(MD_T_BACKFILL);
    assert_true(d > 0);
    /* the live bar closes, flagged */
    fire(MD_T_BAR, L0 + 122 * S);
    for (i = 0; i < bars_announced(); i++) {
        if (bar_at(i)->start_ms == (T0 + 60) * 1000) {
            assert_true(bar_at(i)->flags & BAR_F_SPANS_DISCONNECT);
            found = 1;
        }
    }
    assert_true(found);
    /* when its minute has settled, the REST machine fetches it ... */
    fire(MD_T_BACKFILL, d);
    assert_int_equal(C.rest.state, REST_S_REQUESTING);
    assert_non_null(sent());
    assert_int_equal(sent()->purpose, RP_P_BACKFILL);
    /* ... and the answer revises it once, source still cccagg */
    snprintf(body, sizeof body,
             "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":false,"
             "\"Type\":100,\"RateLimit\":{},\"Data\":{\"Aggregated\":false,"
             "\"TimeFrom\":%lld,\"TimeTo\":%lld,\"Data\":["
             "{\"time\":%lld,\"high\":119320,\"low\":119290,\"open\":119262.75,"
             "\"volumefrom\":12.5,\"volumeto\":1491375,\"close\":119310,"
             "\"conversionType\":\"direct\",\"conversionSymbol\":\"\"}]}}",
             (long long)(T0 + 60), (long long)(T0 + 60), (long long)(T0 + 60));
    http(d + S / 10, 200, body);
    assert_int_equal(sum(MD_A_BARS), 1);
    assert_int_equal((*bar_at(0)).source, BAR_SRC_CCCAGG);
    assert_int_equal((*bar_at(0)).start_ms, (T0 + 60) * 1000);
    assert_int_equal((*bar_at(0)).revision, 1);
    assert_int_equal((*bar_at(0)).close_reason, BAR_CLOSE_BACKFILL);
    assert_true((*bar_at(0)).flags & BAR_F_BACKFILLED);
    assert_int_equal((*bar_at(0)).has & BAR_HAS_TRADES, 0);
    assert_int_equal(C.st.backfill_revisions, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_preflight_stream_close_publish_stop),
        cmocka_unit_test(test_core_rest_errors),
        cmocka_unit_test(test_core_backfill_revises_gap_bar),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
