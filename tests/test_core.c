/* test_core.c: the composition end to end on real-shaped bytes: a REST
 * preflight body seeds the CCCAGG open and gives the first bars, frames
 * drive the connection machine and the aggregator, the bar timer closes
 * bars into the bar store and the publisher produces them by id, a reconnect gap is
 * backfilled from a REST body as revisions, a Type 99 body waits for the
 * rate-limit window, a 401 Err envelope fails the fetch, STOP flushes. */
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
#include "support/core_out.h"
#include "core.h"
#include "md_err.h"

#define S INT64_C(1000000000)
#define T0 INT64_C(1753190400) /* server time of local 0 + START */
#define L0 (1000 * S)          /* local monotonic time at START */

static struct core C;
static struct md_out O;
static struct core_config CFG;
static struct rp_series SERIES[4];
static void *MEM; /* C's tables */
static bool MANUAL_TOPICS; /* answer_topics off */
/* Every bar produced, in order, by any step (the test's and the broker's
 * topic results): what produced() hands out. */
static uint64_t PROD[4096];
static size_t NPROD;
/* The topics the last step asked for, not answered yet. */
static char ASKED[16][CORE_TOPIC_MAX];
static size_t NASKED;
static void produced(uint64_t *ids, size_t *n, size_t cap);


/* core_init with memory of core_mem_size, the last one freed. */
static int core_init_mem(struct core *c, const struct core_config *cfg)
{
    size_t n = core_mem_size(cfg);

    libc_free(MEM);
    MEM = n != SIZE_MAX ? libc_malloc(n) : NULL;
    assert_non_null(MEM);
    return core_init(c, cfg, MEM, n);
}

static void init(void)
{
    MANUAL_TOPICS = false;
    NPROD = NASKED = 0;
    core_config_default(&CFG);
    CFG.series = SERIES;
    CFG.cap_series = 4;
    CFG.seed = 7;
    assert_int_equal(core_config_add_series(&CFG, "CCCAGG", "BTC", "USD", 60),
                     MD_OK);
    assert_int_equal(core_init_mem(&C, &CFG), MD_OK);
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


static void log_step(const struct md_out *o)
{
    size_t i, k;

    for (i = 0; i < o->n; i++) {
        if (o->a[i].kind == MD_A_PRODUCE) {
            for (k = 0; k < o->a[i].n; k++) {
                assert_true(NPROD < sizeof PROD / sizeof PROD[0]);
                PROD[NPROD++] = o->a[i].p.bars[k]->id;
            }
        }
        if (o->a[i].kind == MD_A_TOPIC_CREATE) {
            for (k = 0; k < o->a[i].n && NASKED < 16; k++) {
                snprintf(ASKED[NASKED++], CORE_TOPIC_MAX, "%s",
                         o->a[i].p.topics[k]);
            }
        }
    }
}

/* Unless a test says otherwise (MANUAL_TOPICS), the broker creates every
 * topic asked for before the next input arrives. */
static void answer_topics(mono_ns t)
{
    static struct md_out extra;
    size_t k, n = NASKED;

    NASKED = 0;
    for (k = 0; k < n; k++) {
        struct core_in in = {0};
        in.kind = CORE_IN_PUB;
        in.input = PUB_I_TOPIC_CREATED;
        in.t_ns = t;
        in.data = ASKED[k];
        in.len = strlen(ASKED[k]);
        md_out_reset(&extra);
        assert_int_equal(core_step(&C, &in, &extra), MD_OK);
        assert_int_equal(core_check(&C), MD_OK);
        log_step(&extra);
    }
}

static int go(struct core_in *in)
{
    int rc;

    if (!MANUAL_TOPICS) {
        answer_topics(in->t_ns);
    }
    md_out_reset(&O);
    rc = core_step(&C, in, &O);
    assert_int_equal(core_check(&C), MD_OK);
    if (rc == MD_OK) {
        log_step(&O);
    }
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
    return out_armed(&O, timer);
}

static uint64_t sum(enum md_act_kind k)
{
    return out_sum(&O, k);
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
    /* the preflight answer: its bar waits for its topic, asked for by
     * name (the broker of these tests creates it before the next input) */
    http(L0 + 50000000, 200, PREFLIGHT);
    {
        size_t i;
        int asked = 0;
        for (i = 0; i < O.n; i++) {
            if (O.a[i].kind == MD_A_TOPIC_CREATE) {
                assert_int_equal(O.a[i].n, 1);
                assert_string_equal(O.a[i].p.topics[0], "ohlcv.CCCAGG.1m");
                asked++;
            }
        }
        assert_int_equal(asked, 1);
    }
    /* one settled bar (13:17 ends 2 min before now), announced and
     * parked; 13:18 and 13:19 may still be revised by the server */
    assert_int_equal(sum(MD_A_BARS), 1);
    assert_int_equal(sum(MD_A_PRODUCE), 0);
    assert_int_equal((*bar_at(0)).source, BAR_SRC_REST);
    assert_int_equal(C.pub.state, PUB_S_CREATING_TOPIC);
    assert_int_equal(C.rest.state, REST_S_IDLE);
    assert_int_equal(C.s.n_parked, 1);

    /* the topic exists: the bar is produced */
    conn(L0 + S, CONN_I_WS_OPEN);
    {
        uint64_t ids[4];
        size_t n = 0;
        produced(ids, &n, 4);
        assert_int_equal(n, 1);
    }
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
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

/* The longest names a series may have (a 31-character market, 15-character
 * symbols) make whole subscriptions, one per stream, each distinct: none
 * runs into the next. */
static void test_core_subscriptions_of_longest_names(void **state)
{
    char market[BAR_MARKET_MAX + 1], base[2][BAR_SYM_MAX + 1];
    char want[2][128];
    const struct md_action *a = NULL;
    size_t i;

    (void)state;
    memset(market, 'M', BAR_MARKET_MAX);
    market[BAR_MARKET_MAX] = '\0';
    for (i = 0; i < 2; i++) {
        memset(base[i], (int)('A' + i), BAR_SYM_MAX);
        base[i][BAR_SYM_MAX] = '\0';
    }
    core_config_default(&CFG);
    CFG.series = SERIES;
    CFG.cap_series = 4;
    for (i = 0; i < 2; i++) {
        assert_int_equal(core_config_add_series(&CFG, market, base[i],
                                                "QQQQQQQQQQQQQQQ", 60),
                         MD_OK);
        assert_int_equal(core_config_add_series(&CFG, market, base[i],
                                                "QQQQQQQQQQQQQQQ", 300),
                         MD_OK);
        snprintf(want[i], sizeof want[i], "0~%s~%s~QQQQQQQQQQQQQQQ",
                 market, base[i]);
    }
    assert_int_equal(core_init_mem(&C, &CFG), MD_OK);
    start(L0, T0 * 1000);
    conn(L0 + S, CONN_I_WS_OPEN);
    frame(L0 + S, "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\"}");
    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_WS_SUBSCRIBE) {
            a = &O.a[i];
        }
    }
    assert_non_null(a);
    assert_int_equal(a->n, 2);
    assert_string_equal(a->p.subs[0], want[0]);
    assert_string_equal(a->p.subs[1], want[1]);
}

/* Ids the last step produced, appended to ids[*n]. */
/* The bars produced since the last call, appended to ids. */
static void produced(uint64_t *ids, size_t *n, size_t cap)
{
    size_t i;

    for (i = 0; i < NPROD; i++) {
        assert_true(*n < cap);
        ids[(*n)++] = PROD[i];
    }
    NPROD = 0;
}

static bool noted(enum md_note n)
{
    size_t i;

    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_NOTE && O.a[i].note == n) {
            return true;
        }
    }
    return false;
}

/* A broker that never reports: the bar store fills (8,192 bars), closing
 * then waits (the bar timer is not re-armed, a note says why) instead of
 * dropping; once the reports come, the timer comes back and every minute
 * closes, none lost. */
static void test_core_full_store_waits(void **state)
{
    static uint64_t ids[2 * CORE_BAR_MIN];
    size_t n_ids = 0, acked = 0, closed = 0;
    char buf[256];
    mono_ns t = L0 + S;
    int64_t minute = 0;
    bool waited = false;
    struct core_in in = {0};

    (void)state;
    init();
    start(L0, T0 * 1000);
    conn(t, CONN_I_WS_OPEN);
    snprintf(buf, sizeof buf,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld}", (long long)(T0 * 1000 + 1000));
    frame(t, buf);
    while (minute < CORE_BAR_MIN + 100 && !waited) {
        snprintf(buf, sizeof buf,
                 "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":"
                 "\"BTC\",\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":%lld,"
                 "\"LASTUPDATE\":%lld}", (long long)(100000 + minute),
                 (long long)(T0 + 60 * minute + 1));
        frame(L0 + (60 * minute + 1) * S, buf);
        closed += bars_announced();
        produced(ids, &n_ids, sizeof ids / sizeof ids[0]);
        while (C.s.bar_armed && C.s.bar_deadline <= L0 + (60 * minute + 61) *
                                                          S) {
            fire(MD_T_BAR, C.s.bar_deadline);
            closed += bars_announced();
            produced(ids, &n_ids, sizeof ids / sizeof ids[0]);
            waited = noted(MD_N_BARS_WAIT);
        }
        minute++;
    }
    /* full: the store holds its capacity, nothing dropped, the timer off */
    assert_true(waited);
    assert_true(C.st.bars_wait > 0);
    assert_int_equal(closed, C.bar_cap);
    assert_int_equal(C.s.next_id - C.s.lo, C.bar_cap);
    assert_false(C.s.bar_armed);
    assert_int_equal(C.st.bars_unpublished + C.st.bars_rolled_back, 0);
    /* the reports come: each frees a slot; the timer is back */
    t = L0 + (60 * minute + 30) * S;
    while (acked < n_ids) {
        memset(&in, 0, sizeof in);
        in.kind = CORE_IN_PUB;
        in.input = PUB_I_PUBLISH_SUCCESS;
        in.t_ns = t;
        in.bar_id = ids[acked++];
        assert_int_equal(go(&in), MD_OK);
        produced(ids, &n_ids, sizeof ids / sizeof ids[0]);
    }
    assert_true(C.s.bar_armed);
    fire(MD_T_BAR, C.s.bar_deadline > t ? C.s.bar_deadline : t);
    closed += bars_announced();
    /* every minute that ended has its bar: none lost while full */
    assert_true(closed >= (size_t)minute);
    assert_int_equal(C.st.bars_unpublished + C.st.bars_rolled_back, 0);
    assert_int_equal(C.st.stale_reports, 0);
}

/* A full socket's worth: 300 pairs, trades and CCCAGG, 4 intervals each:
 * 2,400 series. The core's own struct stays small and its memory is sized
 * from the configuration; the preflight plans every series (the REST
 * queue is sized from them); one trade and one CCCAGG update per pair
 * make 600 streams, 300 merge states, and at the first minute's close 600
 * bars, one per stream, none lost. */
#define PAIRS 300
static void test_core_2400_series(void **state)
{
    static const int64_t iv[4] = {60, 300, 900, 3600};
    struct rp_series *series = libc_malloc(PAIRS * 8 * sizeof *series);
    char base[16], buf[512], welcome[256];
    size_t need, need_half;
    unsigned i, k, m;
    uint64_t per_stream[2] = {0, 0};

    (void)state;
    assert_non_null(series);
    core_config_default(&CFG);
    CFG.series = series;
    CFG.cap_series = PAIRS * 8;
    CFG.agg.n_intervals = 4;
    memcpy(CFG.agg.intervals_s, iv, sizeof iv);
    for (i = 0; i < PAIRS; i++) {
        snprintf(base, sizeof base, "P%03u", i);
        for (k = 0; k < 4; k++) {
            assert_int_equal(core_config_add_series(&CFG, "CCCAGG", base,
                                                    "USD", iv[k]), MD_OK);
            assert_int_equal(core_config_add_series(&CFG, "Coinbase", base,
                                                    "USD", iv[k]), MD_OK);
        }
        if (i + 1 == PAIRS / 2) {
            need_half = core_mem_size(&CFG);
        }
    }
    assert_int_equal(CFG.n_series, 2400);
    need = core_mem_size(&CFG);
    printf("  sizeof(struct core) %zu B; core_mem_size %zu B for 2,400 "
           "series (%zu B for 1,200)\n", sizeof(struct core), need,
           need_half);
    assert_true(sizeof(struct core) < 32 * 1024);
    /* linear in the series: twice the series, at most twice the memory
     * (the REST body scratch is fixed) */
    assert_true(need < 2 * need_half);
    assert_true(need > need_half);
    assert_int_equal(core_init_mem(&C, &CFG), MD_OK);
    assert_int_equal(C.cfg.agg.max_streams, 600 + AGG_STREAMS_DEFAULT);
    assert_true(C.cfg.series != series); /* the core's copy */
    libc_free(series);
    start(L0, T0 * 1000);
    assert_int_equal(C.st.fetch_overflow, 0);
    assert_int_equal(C.st.fetch_planned, 2400);
    conn(L0 + S, CONN_I_WS_OPEN);
    snprintf(welcome, sizeof welcome,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld,\"SOCKETS_ACTIVE\":1}",
             (long long)(T0 * 1000 + 1000));
    frame(L0 + S, welcome);
    for (i = 0; i < PAIRS; i++) {
        mono_ns t = L0 + 2 * S + (mono_ns)i * 1000000;
        snprintf(buf, sizeof buf,
                 "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"P%03u\","
                 "\"TSYM\":\"USD\",\"F\":\"1\",\"ID\":\"%u\","
                 "\"TS\":%lld,\"Q\":0.5,\"P\":%u.25}", i, 1000 + i,
                 (long long)(T0 + 2), 100 + i);
        frame(t, buf);
        snprintf(buf, sizeof buf,
                 "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":"
                 "\"P%03u\",\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":%u.5,"
                 "\"LASTUPDATE\":%lld,\"VOLUMEDAY\":10,"
                 "\"VOLUMEDAYTO\":1000}", i, 100 + i, (long long)(T0 + 2));
        frame(t + 500000, buf);
    }
    assert_int_equal(C.feed.agg.n_streams, 600);
    assert_int_equal(C.feed.n_tickers, PAIRS);
    assert_int_equal(C.feed.agg.st.streams_full, 0);
    assert_int_equal(C.feed.st.ticker_overflow, 0);
    assert_int_equal(C.feed.agg.st.trades, PAIRS);
    /* the first minute closes at its end + grace: one 1m bar a stream */
    assert_true(C.s.bar_armed);
    assert_int_equal(C.s.bar_deadline, L0 + 62 * S);
    fire(MD_T_BAR, C.s.bar_deadline);
    assert_int_equal(bars_announced(), 600);
    assert_int_equal(C.st.bars_wait, 0);
    assert_int_equal(C.st.streams_full + C.st.tickers_full, 0);
    for (m = 0; m < 600; m++) {
        const struct bar *b = bar_at(m);
        unsigned pair = (unsigned)strtoul(b->base + 1, NULL, 10);
        assert_int_equal(b->interval_s, 60);
        assert_int_equal(b->start_ms, T0 * 1000);
        assert_true(pair < PAIRS);
        /* each pair's own price: bars went to their own streams */
        if (b->source == BAR_SRC_TRADES) {
            assert_true(b->close == 100 + pair + 0.25);
            per_stream[0]++;
        } else {
            assert_int_equal(b->source, BAR_SRC_CCCAGG);
            assert_true(b->close == 100 + pair + 0.5);
            per_stream[1]++;
        }
    }
    assert_int_equal(per_stream[0], PAIRS);
    assert_int_equal(per_stream[1], PAIRS);
}

/* A REST bar kept as received whose open lies outside its high and low
 * is flagged in memory and counted; the valid ones are not. */
static void test_core_rest_bar_outside_counted(void **state)
{
    static const char body[] =
        "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":false,"
        "\"Type\":100,\"RateLimit\":{},\"Data\":{\"Aggregated\":false,"
        "\"TimeFrom\":1753190220,\"TimeTo\":1753190400,\"Data\":["
        "{\"time\":1753190220,\"high\":119300.1,\"low\":119250.2,"
        "\"open\":119400,\"volumefrom\":21.5,\"volumeto\":2564210.35,"
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
    size_t k, flagged = 0, n = 0;

    (void)state;
    init();
    start(L0, T0 * 1000);
    /* 13:17, the one settled bar, is the one whose open is above high */
    http(L0 + 50000000, 200, body);
    for (k = 0; k < O.n; k++) {
        size_t j;
        if (O.a[k].kind != MD_A_BARS) {
            continue;
        }
        for (j = 0; j < O.a[k].n; j++) {
            n++;
            flagged += (O.a[k].p.bars[j]->bar.flags & BAR_F_OHLC_OUTSIDE) != 0;
        }
    }
    assert_int_equal(n, 1);
    assert_int_equal(flagged, 1);
    assert_int_equal(C.st.bars_ohlc_outside, 1);
}

/* The publisher's report, naming bar id (0: none). */
static void report(mono_ns t, uint8_t input, uint64_t id)
{
    struct core_in in = {0};

    in.kind = CORE_IN_PUB;
    in.input = input;
    in.t_ns = t;
    in.bar_id = id;
    assert_int_equal(go(&in), MD_OK);
}

/* Index of the first action of kind in the last step, or -1. */
static int first_of(enum md_act_kind k)
{
    size_t i;

    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == k) {
            return (int)i;
        }
    }
    return -1;
}

/* One CCCAGG update in minute m (from T0) at local L0 + 60 m + 1 s; the
 * bar timer fired for every bar that ended; the ids produced. */
static void minute_bar(int64_t m, uint64_t *ids, size_t *n, size_t cap)
{
    char buf[256];

    snprintf(buf, sizeof buf,
             "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":"
             "\"BTC\",\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":%lld,"
             "\"LASTUPDATE\":%lld}", (long long)(100000 + m),
             (long long)(T0 + 60 * m + 1));
    frame(L0 + (60 * m + 1) * S, buf);
    produced(ids, n, cap);
    while (C.s.bar_armed && C.s.bar_deadline <= L0 + (60 * m + 59) * S) {
        fire(MD_T_BAR, C.s.bar_deadline);
        produced(ids, n, cap);
    }
}

/* A series' bars leave in the order they were made, whatever fails: a
 * timed-out bar goes back to its place, not to the tail; a dead producer
 * gives every bar in flight back and a new producer (producer_reset
 * first) produces them in order, before the bars made meanwhile; a bar
 * refused for good is dead-lettered, named, and never produced again; a
 * bar refused at once waits a short time, not a back-off. */
static void test_core_order_through_failures(void **state)
{
    uint64_t ids[32], again[32];
    size_t n_ids = 0, n_again = 0, k;
    mono_ns t;
    int reset, prod;
    char buf[256];

    (void)state;
    init();
    start(L0, T0 * 1000);
    conn(L0 + S, CONN_I_WS_OPEN);
    snprintf(buf, sizeof buf,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld}", (long long)(T0 * 1000 + 1000));
    frame(L0 + S, buf);
    /* four minutes: four bars in flight, none reported */
    for (k = 0; k < 5; k++) {
        minute_bar((int64_t)k, ids, &n_ids, 32);
    }
    assert_int_equal(n_ids, 4);
    for (k = 1; k < n_ids; k++) {
        assert_true(ids[k] > ids[k - 1]);
    }
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);

    /* the producer dies: all four wait, a fifth bar is made meanwhile */
    t = L0 + 301 * S;
    report(t, PUB_I_PRODUCER_FATAL, 0);
    assert_int_equal(C.pub.state, PUB_S_ERROR);
    assert_true(noted(MD_N_PRODUCER_FATAL));
    assert_int_equal(C.pub.st.fatal_errors, 1);
    assert_int_equal(C.s.n_inflight, 0);
    minute_bar(5, ids, &n_ids, 32);
    assert_int_equal(n_ids, 4); /* queued, not produced, in ERROR */
    /* the back-off ends: a new producer first, then all five in order */
    fire(MD_T_PUB_RETRY, C.pub.timers ? armed(MD_T_PUB_RETRY) : t);
    reset = first_of(MD_A_PRODUCER_RESET);
    prod = first_of(MD_A_PRODUCE);
    assert_true(reset >= 0 && prod > reset);
    produced(again, &n_again, 32);
    assert_int_equal(n_again, 5);
    for (k = 0; k < 4; k++) {
        assert_int_equal(again[k], ids[k]);
    }
    assert_true(again[4] > ids[3]);

    /* the second is refused for good: dead-lettered by name, and the
     * third times out: it goes back before the fourth and fifth */
    t += 400 * S;
    report(t, PUB_I_PUBLISH_REJECTED, again[1]);
    assert_int_equal(first_of(MD_A_DEAD_LETTER) >= 0, 1);
    assert_int_equal(O.a[first_of(MD_A_DEAD_LETTER)].n, 1);
    assert_int_equal(O.a[first_of(MD_A_DEAD_LETTER)].p.bars[0]->id,
                     again[1]);
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
    assert_int_equal(C.pub.st.dead_lettered, 1);
    report(t, PUB_I_PUBLISH_FAILURE, again[2]);
    assert_int_equal(C.pub.state, PUB_S_ERROR);
    report(t, PUB_I_PUBLISH_FAILURE, again[4]);
    report(t, PUB_I_PUBLISH_FAILURE, again[3]);
    report(t, PUB_I_PUBLISH_SUCCESS, again[0]);
    /* a dead-lettered bar's late report is stale, not an input */
    report(t, PUB_I_PUBLISH_SUCCESS, again[1]);
    assert_int_equal(C.st.stale_reports, 1);
    fire(MD_T_PUB_RETRY, armed(MD_T_PUB_RETRY) > 0 ? armed(MD_T_PUB_RETRY)
                                                   : t + 30 * S);
    assert_int_equal(first_of(MD_A_PRODUCER_RESET), -1);
    n_again = 0;
    produced(again + 8, &n_again, 24);
    assert_int_equal(n_again, 3); /* 3rd, 4th, 5th in id order */
    assert_true(again[8] < again[9] && again[9] < again[10]);
    assert_int_equal(again[8], ids[2]);

    /* the producer's queue is full for the last two: they go back and
     * wait 100 ms (back-pressure, no back-off, not a failure) */
    report(t + 60 * S, PUB_I_QUEUE_FULL, again[10]);
    assert_int_equal(C.pub.state, PUB_S_ERROR);
    assert_int_equal(armed(MD_T_PUB_RETRY), t + 60 * S + S / 10);
    assert_true(noted(MD_N_BACKPRESSURE));
    report(t + 60 * S, PUB_I_QUEUE_FULL, again[9]);
    fire(MD_T_PUB_RETRY, t + 60 * S + S / 10);
    n_again = 0;
    produced(again + 16, &n_again, 16);
    assert_int_equal(n_again, 2);
    assert_int_equal(again[16], again[9]);
    assert_int_equal(again[17], again[10]);
    assert_int_equal(C.pub.st.backpressure, 2);
    /* the first of the three is still in flight; the other two now too */
    assert_int_equal(C.s.n_inflight, 3);
    assert_int_equal(C.st.bars_unpublished + C.st.bars_rolled_back, 0);
}

/* Topics on demand: the first bar bound for a topic that does not exist
 * yet waits for it, parked, and asks for it by name; bars for topics that
 * exist keep flowing meanwhile; each result names its topic. STOP while
 * the topic is being created: the drain waits for the result; the topic
 * fails: its bars, never produced into a topic that may not exist, are
 * given up (named, counted) when the publisher stops, after the bars in
 * flight settle. */
static void test_core_topics_on_demand(void **state)
{
    uint64_t ids[16];
    size_t n_ids = 0, i, asked = 0;
    struct core_in in = {0};
    char buf[256];
    int d;

    (void)state;
    init();
    /* 1m and 5m: two topics, ohlcv.CCCAGG.1m and ohlcv.CCCAGG.5m */
    assert_int_equal(core_config_add_series(&CFG, "CCCAGG", "BTC", "USD",
                                            300),
                     MD_OK);
    CFG.agg.intervals_s[1] = 300;
    CFG.agg.n_intervals = 2;
    assert_int_equal(core_init_mem(&C, &CFG), MD_OK);
    start(L0, T0 * 1000);
    conn(L0 + S, CONN_I_WS_OPEN);
    snprintf(buf, sizeof buf,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld}", (long long)(T0 * 1000 + 1000));
    frame(L0 + S, buf);
    /* the first 1m bars: their topic is created at once (the default
     * broker of these tests); then the broker stops answering */
    for (i = 0; i < 3; i++) {
        minute_bar((int64_t)i, ids, &n_ids, 16);
    }
    assert_true(n_ids >= 2); /* in flight, unreported */
    MANUAL_TOPICS = true;
    /* minute 5: the first 5m bar asks for its topic by name, parked; the
     * 1m bar of the same close is produced at once */
    for (i = 3; i < 7 && asked == 0; i++) {
        size_t before = n_ids;
        minute_bar((int64_t)i, ids, &n_ids, 16);
        if (NASKED > 0) {
            assert_int_equal(NASKED, 1);
            assert_string_equal(ASKED[0], "ohlcv.CCCAGG.5m");
            asked++;
            assert_int_equal(n_ids, before + 1); /* the 1m bar flowed */
        }
    }
    assert_int_equal(asked, 1);
    assert_int_equal(C.pub.state, PUB_S_CREATING_TOPIC);
    assert_int_equal(C.s.n_parked, 1);
    /* STOP: the drain waits for the topic's result */
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_STOP;
    in.t_ns = L0 + 400 * S;
    assert_int_equal(go(&in), MD_OK);
    assert_int_equal(C.pub.state, PUB_S_DRAINING);
    assert_true(C.pub.topic_wait);
    produced(ids, &n_ids, 16); /* the open 1m bar, flushed */
    /* a failure for a topic nobody asked for is stale, counted */
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_PUB;
    in.input = PUB_I_TOPIC_FAILED;
    in.t_ns = L0 + 401 * S;
    in.data = "ohlcv.CCCAGG.1h";
    in.len = strlen(in.data);
    assert_int_equal(go(&in), MD_OK);
    assert_int_equal(C.st.topic_results_stale, 1);
    /* the topic failed: nothing produced into it; the drain goes on */
    in.input = PUB_I_TOPIC_FAILED;
    in.data = "ohlcv.CCCAGG.5m";
    in.len = strlen(in.data);
    assert_int_equal(go(&in), MD_OK);
    assert_int_equal(sum(MD_A_PRODUCE), 0);
    assert_int_equal(C.pub.state, PUB_S_DRAINING);
    /* the first 5m bar and the open one the stop flushed */
    assert_int_equal(C.s.n_parked, 2);
    /* the bars in flight settle; then the parked ones are given up */
    for (i = 0; i + 1 < n_ids; i++) {
        report(L0 + 402 * S, PUB_I_PUBLISH_SUCCESS, ids[i]);
    }
    report(L0 + 402 * S, PUB_I_PUBLISH_SUCCESS, ids[n_ids - 1]);
    assert_int_equal(C.pub.state, PUB_S_STOPPED);
    d = first_of(MD_A_DISCARD);
    assert_true(d >= 0);
    assert_int_equal(O.a[d].n, C.st.bars_parked_lost);
    assert_true(C.st.bars_parked_lost >= 1);
    for (i = 0; i < O.a[d].n; i++) {
        assert_string_equal(O.a[d].p.bars[i]->topic, "ohlcv.CCCAGG.5m");
    }
    assert_int_equal(C.s.n_parked, 0);
    assert_int_equal(C.st.stale_reports, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_preflight_stream_close_publish_stop),
        cmocka_unit_test(test_core_rest_errors),
        cmocka_unit_test(test_core_backfill_revises_gap_bar),
        cmocka_unit_test(test_core_2400_series),
        cmocka_unit_test(test_core_subscriptions_of_longest_names),
        cmocka_unit_test(test_core_full_store_waits),
        cmocka_unit_test(test_core_rest_bar_outside_counted),
        cmocka_unit_test(test_core_order_through_failures),
        cmocka_unit_test(test_core_topics_on_demand),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
