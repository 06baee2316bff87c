/* test_core_rest.c: REST jobs through the whole core on real HTTP bodies.
 * A backfill job of several requests keeps the REST machine and the
 * publisher fetching until its last response; a failed request of a job
 * has one effect wherever it falls in the job; a failed backfill is
 * planned again after a back-off that grows, never sooner than the rate
 * budget allows, until the server answers or its minutes fall out of the
 * REST history (docs/mealy.md, "Composition"; docs/rest-policy.md). */
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
#define T0 INT64_C(1753190400) /* server time at L0 */
#define L0 (1000 * S)          /* local monotonic time at START */

static struct core C;
static struct md_out O;
static struct core_config CFG;
static struct rp_series SERIES[4];
static void *MEM;

static const char *const SYMS[] = {"BTC", "ETH", "LTC"};

/* n CCCAGG series of 1m bars; rest attempts per request as given. */
static void init(unsigned n, unsigned attempts, int64_t depth_s)
{
    unsigned k;
    size_t need;

    core_config_default(&CFG);
    CFG.series = SERIES;
    CFG.cap_series = 4;
    CFG.seed = 11;
    CFG.rest.max_attempts = attempts;
    CFG.rp.minute_depth_s = depth_s;
    for (k = 0; k < n; k++) {
        assert_int_equal(core_config_add_series(&CFG, "CCCAGG", SYMS[k],
                                                "USD", 60),
                         MD_OK);
    }
    need = core_mem_size(&CFG);
    libc_free(MEM);
    MEM = libc_malloc(need);
    assert_non_null(MEM);
    assert_int_equal(core_init(&C, &CFG, MEM, need), MD_OK);
}

static void go(struct core_in *in)
{
    md_out_reset(&O);
    assert_int_equal(core_step(&C, in, &O), MD_OK);
    assert_int_equal(core_check(&C), MD_OK);
}

static void http(mono_ns t, int status, const char *body)
{
    struct core_in in = {0};

    in.kind = CORE_IN_HTTP;
    in.t_ns = t;
    in.http_status = status;
    in.data = body;
    in.len = strlen(body);
    go(&in);
}

static void conn(mono_ns t, uint8_t input)
{
    struct core_in in = {0};

    in.kind = CORE_IN_CONN;
    in.input = input;
    in.t_ns = t;
    in.conn_id = C.conn.conn_id;
    go(&in);
}

static void frame(mono_ns t, const char *json)
{
    struct core_in in = {0};

    in.kind = CORE_IN_FRAME;
    in.t_ns = t;
    in.conn_id = C.conn.conn_id;
    in.data = json;
    in.len = strlen(json);
    go(&in);
}

static void fire(enum md_timer timer, mono_ns deadline)
{
    struct core_in in = {0};

    in.kind = CORE_IN_TIMER;
    in.timer = (uint8_t)timer;
    in.t_ns = deadline;
    go(&in);
}

static mono_ns armed(enum md_timer timer)
{
    return out_armed(&O, timer);
}

static uint64_t sum(enum md_act_kind k)
{
    return out_sum(&O, k);
}

static unsigned noted(enum md_note note)
{
    unsigned n = 0;
    size_t i;

    for (i = 0; i < O.n; i++) {
        n += O.a[i].kind == MD_A_NOTE && O.a[i].note == note;
    }
    return n;
}

/* The target of the request the last step sent, or "". */
static const char *sent(void)
{
    size_t i;

    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_REST_SEND) {
            return O.a[i].p.req->target;
        }
    }
    return "";
}

/* A histominute answer with bars from first_s to last_s (unix s). */
static const char *histo(int64_t first_s, int64_t last_s)
{
    static char body[8192];
    size_t n;
    int64_t m;

    n = (size_t)snprintf(body, sizeof body,
                         "{\"Response\":\"Success\",\"Message\":\"\","
                         "\"HasWarning\":false,\"Type\":100,"
                         "\"RateLimit\":{},\"Data\":{\"Aggregated\":false,"
                         "\"TimeFrom\":%lld,\"TimeTo\":%lld,\"Data\":[",
                         (long long)first_s, (long long)last_s);
    for (m = first_s; m <= last_s; m += 60) {
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "%s{\"time\":%lld,\"high\":101,\"low\":99,"
                              "\"open\":100,\"volumefrom\":1.5,"
                              "\"volumeto\":150,\"close\":100.5,"
                              "\"conversionType\":\"direct\","
                              "\"conversionSymbol\":\"\"}",
                              m > first_s ? "," : "", (long long)m);
    }
    (void)snprintf(body + n, sizeof body - n, "]}}");
    return body;
}

static const char ERR_PARAM[] =
    "{\"Response\":\"Error\",\"Message\":\"There is no data for the symbol "
    "BTC999 .\",\"HasWarning\":false,\"Type\":2,\"RateLimit\":{},"
    "\"Data\":{},\"ParamWithError\":\"fsym\"}";

/* The day's calls are spent: the budget waits for 00:00 UTC. */
static const char ERR_RATE_DAY[] =
    "{\"Response\":\"Error\",\"Message\":\"You are over your rate limit "
    "please upgrade your account!\",\"HasWarning\":false,\"Type\":99,"
    "\"RateLimit\":{\"calls_made\":{\"second\":1,\"minute\":3,"
    "\"hour\":102,\"day\":7500,\"month\":30211,\"total_calls\":30211},"
    "\"max_calls\":{\"second\":20,\"minute\":300,\"hour\":3000,"
    "\"day\":7500,\"month\":50000}},\"Data\":{}}";

/* Start, the topic, every preflight answered with no bar, live, a drop
 * at +80 s and back at +95 s: the gap's minutes wait to settle. Returns
 * the backfill timer's deadline. */
static mono_ns reconnect_gap(void)
{
    char welcome[256];
    struct core_in in = {0};
    mono_ns d;

    in.kind = CORE_IN_START;
    in.t_ns = L0;
    in.server_ms = T0 * 1000;
    go(&in);
    /* the bars' topic exists (as the Kafka shell learns from the
     * broker's metadata): no Admin request in these tests */
    {
        struct core_in t = {0};
        t.kind = CORE_IN_PUB;
        t.input = PUB_I_TOPIC_CREATED;
        t.t_ns = L0;
        t.data = "ohlcv.CCCAGG.1m";
        t.len = strlen(t.data);
        go(&t);
        assert_int_equal(C.st.topic_results_stale, 0);
    }
    while (C.rest.state == REST_S_REQUESTING) {
        http(L0 + S / 10, 200,
             "{\"Response\":\"Success\",\"Message\":\"\","
             "\"HasWarning\":false,\"Type\":100,\"RateLimit\":{},"
             "\"Data\":{\"Aggregated\":false,\"TimeFrom\":1753190280,"
             "\"TimeTo\":1753190280,\"Data\":[]}}");
    }
    assert_int_equal(C.rest.state, REST_S_IDLE);
    assert_int_equal(C.pub.state, PUB_S_IDLE);
    conn(L0 + S, CONN_I_WS_OPEN);
    snprintf(welcome, sizeof welcome,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld}",
             (long long)(T0 * 1000 + 1000));
    frame(L0 + S, welcome);
    frame(L0 + S, "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\"}");
    conn(L0 + 80 * S, CONN_I_WS_CLOSED);
    fire(MD_T_CONN_BACKOFF, armed(MD_T_CONN_BACKOFF));
    conn(L0 + 95 * S, CONN_I_WS_OPEN);
    snprintf(welcome, sizeof welcome,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld}",
             (long long)(T0 * 1000 + 95000));
    frame(L0 + 95 * S, welcome);
    frame(L0 + 95 * S, "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\"}");
    d = armed(MD_T_BACKFILL);
    assert_true(d > L0 + 95 * S);
    return d;
}

/* The target of the request the last step sent, or "". */
static void sent_target(char *buf, size_t cap)
{
    size_t i;

    buf[0] = '\0';
    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_REST_SEND) {
            size_t n = O.a[i].p.req->target_len;
            n = n < cap - 1 ? n : cap - 1;
            memcpy(buf, O.a[i].p.req->target, n);
            buf[n] = '\0';
        }
    }
}

/* After an outage of three hours, when the gap's 1h, 5m and 1m bars are
 * all settled at once, the backfill asks for the shortest interval
 * first, whatever the configuration's order (1h, 5m, 1m here): with a
 * tight budget the bars most consumers read are revised first. */
static void test_backfill_shortest_interval_first(void **state)
{
    static const int64_t ivs[3] = {3600, 300, 60};
    char welcome[256], got[3][256];
    struct core_in in = {0};
    size_t need;
    unsigned k, n = 0;
    mono_ns back = L0 + 3 * 3600 * S;

    (void)state;
    core_config_default(&CFG);
    CFG.series = SERIES;
    CFG.cap_series = 4;
    CFG.seed = 11;
    for (k = 0; k < 3; k++) {
        assert_int_equal(core_config_add_series(&CFG, "CCCAGG", "BTC", "USD",
                                                ivs[k]),
                         MD_OK);
    }
    need = core_mem_size(&CFG);
    libc_free(MEM);
    MEM = libc_malloc(need);
    assert_non_null(MEM);
    assert_int_equal(core_init(&C, &CFG, MEM, need), MD_OK);
    in.kind = CORE_IN_START;
    in.t_ns = L0;
    in.server_ms = T0 * 1000;
    go(&in);
    while (C.rest.state == REST_S_REQUESTING) {
        http(L0 + S / 10, 200,
             "{\"Response\":\"Success\",\"Message\":\"\","
             "\"HasWarning\":false,\"Type\":100,\"RateLimit\":{},"
             "\"Data\":{\"Aggregated\":false,\"TimeFrom\":1753190280,"
             "\"TimeTo\":1753190280,\"Data\":[]}}");
    }
    conn(L0 + S, CONN_I_WS_OPEN);
    snprintf(welcome, sizeof welcome,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld}", (long long)(T0 * 1000 + 1000));
    frame(L0 + S, welcome);
    frame(L0 + S, "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\"}");
    conn(L0 + 80 * S, CONN_I_WS_CLOSED);
    fire(MD_T_CONN_BACKOFF, armed(MD_T_CONN_BACKOFF));
    conn(back, CONN_I_WS_OPEN);
    snprintf(welcome, sizeof welcome,
             "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_TIME_MS\":%lld}",
             (long long)(T0 * 1000 + 3 * 3600 * 1000));
    frame(back, welcome);
    /* live again: the gap's bars are long settled, the job starts */
    frame(back, "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\"}");
    sent_target(got[n], sizeof got[n]);
    assert_int_equal(C.rest.state, REST_S_REQUESTING);
    while (got[n][0] != '\0' && n < 2) {
        n++;
        http(back + (mono_ns)(n + 1) * S, 200,
             "{\"Response\":\"Success\",\"Message\":\"\","
             "\"HasWarning\":false,\"Type\":100,\"RateLimit\":{},"
             "\"Data\":{\"Aggregated\":false,\"TimeFrom\":1753190280,"
             "\"TimeTo\":1753190280,\"Data\":[]}}");
        sent_target(got[n], sizeof got[n]);
    }
    assert_int_equal(n, 2);
    assert_non_null(strstr(got[0], "/data/v2/histominute?"));
    assert_null(strstr(got[0], "aggregate="));
    assert_non_null(strstr(got[1], "/data/v2/histominute?aggregate=5"));
    assert_non_null(strstr(got[2], "/data/v2/histohour?"));
}

/* (a) Three series, one backfill job of three requests: the REST machine
 * and the publisher stay fetching until the third answer; the bars of
 * the first two wait for it and go to the publisher together. */
static void test_multi_request_job_fetches_until_last(void **state)
{
    mono_ns d;
    uint64_t bars = 0;
    unsigned k;

    (void)state;
    init(3, 4, 0);
    d = reconnect_gap();
    fire(MD_T_BACKFILL, d);
    assert_int_equal(C.rest.state, REST_S_REQUESTING);
    assert_int_equal(C.rest.queued, 3);
    assert_int_equal(C.pub.state, PUB_S_FETCHING);
    for (k = 0; k < 3; k++) {
        http(d + (k + 1) * S, 200, histo(T0 - 120, T0 + 60));
        bars += sum(MD_A_BARS);
        assert_true(sum(MD_A_BARS) >= 1); /* the gap's minutes, filled */
        if (k < 2) {
            assert_int_equal(C.rest.state, REST_S_REQUESTING);
            assert_int_equal(C.pub.state, PUB_S_FETCHING);
            assert_int_equal(sum(MD_A_PRODUCE), 0);
            assert_int_equal(C.pub.queued + C.pub.inflight, 0);
        }
    }
    assert_int_equal(C.rest.state, REST_S_IDLE);
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
    /* every bar of the job, produced once the job is over */
    assert_int_equal(sum(MD_A_PRODUCE), bars);
    assert_int_equal(C.pub.inflight, bars);
    assert_int_equal(C.st.backfill_fills, bars);
}

/* Bars a running fetch holds are not lost when the operator stops it:
 * they go to the publisher with STOP and are produced in its drain. */
static void test_held_bars_drained_at_stop(void **state)
{
    struct core_in in = {0};
    uint64_t held;
    mono_ns d;

    (void)state;
    init(3, 4, 0);
    d = reconnect_gap();
    fire(MD_T_BACKFILL, d);
    http(d + S, 200, histo(T0 - 120, T0 + 60));
    held = sum(MD_A_BARS);
    assert_true(held >= 1);
    assert_int_equal(C.s.held, held);
    assert_int_equal(C.pub.state, PUB_S_FETCHING);
    in.kind = CORE_IN_STOP;
    in.t_ns = d + 2 * S;
    go(&in);
    assert_int_equal(C.s.held, 0);
    assert_int_equal(C.pub.state, PUB_S_DRAINING);
    assert_int_equal(sum(MD_A_PRODUCE), held);
    assert_int_equal(C.rest.state, REST_S_STOPPED);
}

/* A live bar closing while a fetch holds bars takes the publisher out of
 * FETCHING: the held bars go with it, ahead of it, in the order they
 * were made. */
static void test_held_bars_go_with_live_bar(void **state)
{
    char buf[512];
    uint64_t held, ids[16];
    size_t i, k, n = 0;
    int64_t now_s;
    mono_ns d;

    (void)state;
    init(3, 4, 0);
    d = reconnect_gap();
    now_s = T0 + (d - L0) / S;
    snprintf(buf, sizeof buf,
             "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
             "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":119300,"
             "\"LASTUPDATE\":%lld,\"VOLUMEDAY\":100}",
             (long long)now_s);
    frame(d, buf);
    fire(MD_T_BACKFILL, d);
    assert_int_equal(C.pub.state, PUB_S_FETCHING);
    http(d + S, 200, histo(T0 - 120, T0 + 60));
    held = sum(MD_A_BARS);
    assert_true(held >= 1);
    assert_int_equal(C.pub.state, PUB_S_FETCHING);
    assert_true(C.s.bar_armed);
    fire(MD_T_BAR, C.s.bar_deadline);
    assert_int_equal(sum(MD_A_BARS), 1); /* the live bar */
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
    assert_int_equal(C.s.held, 0);
    assert_int_equal(sum(MD_A_PRODUCE), held + 1);
    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_PRODUCE) {
            for (k = 0; k < O.a[i].n && n < 16; k++) {
                ids[n++] = O.a[i].p.bars[k]->id;
            }
        }
    }
    assert_int_equal(n, held + 1);
    for (i = 1; i < n; i++) {
        assert_true(ids[i] > ids[i - 1]);
    }
    /* the fetch goes on; its end hands the rest over at once */
    assert_int_equal(C.rest.state, REST_S_REQUESTING);
    http(C.s.bar_deadline + S, 200, histo(T0 - 120, T0 + 60));
    assert_int_equal(sum(MD_A_PRODUCE), sum(MD_A_BARS));
}

/* (b) A job of three requests, one of which fails (a parameter error):
 * whichever it is, the publisher stays fetching to the end, then hears
 * once: the failure (FETCH_FAILURE, its HANDLE_ERROR) and the bars of
 * the two others, queued. The failed series is planned again. */
static void test_failed_request_one_effect(void **state)
{
    unsigned bad, k;
    uint64_t queued[3];

    (void)state;
    for (bad = 0; bad < 3; bad++) {
        mono_ns d, t, t_bad = 0;
        init(3, 4, 0);
        d = reconnect_gap();
        fire(MD_T_BACKFILL, d);
        assert_int_equal(C.pub.state, PUB_S_FETCHING);
        for (k = 0; k < 3; k++) {
            t = d + (k + 1) * S;
            if (k == bad) {
                t_bad = t;
                http(t, 200, ERR_PARAM);
            } else {
                http(t, 200, histo(T0 - 120, T0 + 60));
            }
            if (k < 2) {
                assert_int_equal(C.rest.state, REST_S_REQUESTING);
                assert_int_equal(C.pub.state, PUB_S_FETCHING);
                assert_int_equal(C.pub.st.fetch_failures, 0);
            }
        }
        assert_int_equal(C.rest.state, REST_S_IDLE);
        assert_int_equal(C.pub.state, PUB_S_ERROR);
        assert_int_equal(C.pub.st.fetch_failures, 1);
        assert_int_equal(noted(MD_N_FETCH_FAILED), 1);
        assert_int_equal(C.pub.inflight, 0);
        queued[bad] = C.pub.queued;
        assert_true(queued[bad] > 0);
        /* the failed series' backfill is planned again, after a back-off */
        assert_int_equal(C.st.backfill_failed, 1);
        assert_true(C.bf[bad].pending);
        for (k = 0; k < 3; k++) {
            if (k != bad) {
                assert_false(C.bf[k].pending);
            }
        }
        assert_true(C.s.backfill_armed);
        assert_int_equal(C.s.backfill_deadline, t_bad + 60 * S);
        /* the publisher's retry produces the bars of the two others */
        assert_true(armed(MD_T_PUB_RETRY) > t);
        fire(MD_T_PUB_RETRY, armed(MD_T_PUB_RETRY));
        assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
        assert_int_equal(sum(MD_A_PRODUCE), queued[bad]);
    }
    assert_int_equal(queued[0], queued[1]);
    assert_int_equal(queued[1], queued[2]);
}

/* After a failed fetch the publisher is in ERROR: its retry timer (armed
 * by the last step) takes it back. */
static void pub_recover(void)
{
    if (C.pub.state == PUB_S_ERROR) {
        mono_ns r = armed(MD_T_PUB_RETRY);
        assert_true(r > 0);
        fire(MD_T_PUB_RETRY, r);
        assert_int_equal(C.pub.state, PUB_S_IDLE);
    }
}

/* The toTs of a request target. */
static long long to_ts(const char *target)
{
    const char *p = strstr(target, "toTs=");

    assert_non_null(p);
    return strtoll(p + 5, NULL, 10);
}

/* (c) One series, one attempt per request. The server fails the backfill
 * three times: it is planned again after 60, 120, 240 s (and noted); the
 * fourth answer fills the gap and nothing is planned any more. */
static void test_failed_backfill_backs_off_then_fills(void **state)
{
    mono_ns d, t, prev = 0;
    long long first_to;
    unsigned k;

    (void)state;
    init(1, 1, 0);
    d = reconnect_gap();
    fire(MD_T_BACKFILL, d);
    first_to = to_ts(sent());
    t = d;
    for (k = 0; k < 3; k++) {
        mono_ns wait;
        t += S;
        http(t, 503, "<html>Service Unavailable</html>");
        assert_int_equal(C.rest.state, REST_S_IDLE);
        assert_int_equal(noted(MD_N_BACKFILL_RETRY), 1);
        assert_int_equal(C.st.backfill_failed, k + 1);
        wait = armed(MD_T_BACKFILL) - t;
        assert_int_equal(wait, (60 * S) << k); /* 60, 120, 240 s */
        assert_true(wait > prev);
        prev = wait;
        t = armed(MD_T_BACKFILL);
        pub_recover();
        fire(MD_T_BACKFILL, t);
        /* the same minutes asked for again */
        assert_int_equal(to_ts(sent()), first_to);
        assert_int_equal(C.rest.state, REST_S_REQUESTING);
    }
    http(t + S, 200, histo(T0 - 120, T0 + 60));
    assert_true(sum(MD_A_BARS) >= 1);
    assert_int_equal(C.st.backfill_fills, sum(MD_A_BARS));
    assert_false(C.bf[0].pending);
    assert_int_equal(C.bf[0].fails, 0);
    assert_int_equal(armed(MD_T_BACKFILL), -1);
    assert_int_equal(C.st.backfill_dropped, 0);
}

/* (c) The budget: a Type 99 answer says the day's calls are spent; the
 * failed backfill is not planned again before 00:00 UTC, however short
 * its back-off. */
static void test_failed_backfill_waits_for_budget(void **state)
{
    mono_ns d, t;
    int64_t now_s, reset_s;

    (void)state;
    init(1, 1, 0);
    d = reconnect_gap();
    fire(MD_T_BACKFILL, d);
    t = d + S;
    http(t, 200, ERR_RATE_DAY);
    assert_int_equal(C.rest.state, REST_S_IDLE);
    assert_int_equal(C.st.backfill_failed, 1);
    now_s = T0 + (t - L0) / S;
    reset_s = (now_s / 86400 + 1) * 86400;
    assert_true(reset_s - now_s > 3600); /* far beyond the back-off */
    assert_true(armed(MD_T_BACKFILL) >= L0 + (reset_s - T0) * S);
}

/* (c) History: minute history of 10 minutes. The server fails every
 * time; once the gap's minutes are older than the history the backfill is
 * dropped with a note and counted, and never planned again. */
static void test_failed_backfill_dropped_out_of_history(void **state)
{
    mono_ns d, t;
    unsigned sends = 1, k;

    (void)state;
    init(1, 1, 600);
    d = reconnect_gap();
    fire(MD_T_BACKFILL, d);
    t = d;
    for (k = 0; k < 10 && C.rest.state == REST_S_REQUESTING; k++) {
        t += S;
        http(t, 500, "");
        assert_int_equal(noted(MD_N_BACKFILL_RETRY), 1);
        t = armed(MD_T_BACKFILL);
        assert_true(t > 0);
        pub_recover();
        fire(MD_T_BACKFILL, t);
        sends += sent()[0] != '\0';
    }
    /* 60 + 120 + 240 s after the gap its minutes are older than 10 min */
    assert_int_equal(C.rest.state, REST_S_IDLE);
    assert_int_equal(noted(MD_N_BACKFILL_DROPPED), 1);
    assert_true(C.st.backfill_dropped >= 1);
    assert_false(C.bf[0].pending);
    assert_int_equal(armed(MD_T_BACKFILL), -1);
    assert_int_equal(sends, C.st.backfill_failed);
    assert_int_equal(sends, 3); /* at +0, +60 and +180 s */
}

/* A cancel names the request it abandons by the id its send had: the
 * REST shell cancels by that id (a cancel naming another id would leave
 * the request running). Three series: the preflight's third request is
 * in flight when STOP comes. */
static void test_cancel_names_the_request_sent(void **state)
{
    struct core_in in = {0};
    uint64_t id = 0, cancelled = 0;
    unsigned cancels = 0, k;
    size_t i;

    (void)state;
    init(3, 4, 0);
    in.kind = CORE_IN_START;
    in.t_ns = L0;
    in.server_ms = T0 * 1000;
    go(&in);
    for (k = 0; k < 3; k++) {
        assert_int_equal(C.rest.state, REST_S_REQUESTING);
        for (i = 0; i < O.n; i++) {
            if (O.a[i].kind == MD_A_REST_SEND) {
                id = O.a[i].arg;
            }
        }
        if (k < 2) {
            http(L0 + (k + 1) * S / 10, 200, histo(T0 - 600, T0 - 60));
        }
    }
    assert_int_equal(id, 3);
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_STOP;
    in.t_ns = L0 + S;
    go(&in);
    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_REST_CANCEL) {
            cancels++;
            cancelled = O.a[i].arg;
        }
    }
    assert_int_equal(cancels, 1);
    assert_int_equal(cancelled, id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backfill_shortest_interval_first),
        cmocka_unit_test(test_multi_request_job_fetches_until_last),
        cmocka_unit_test(test_held_bars_drained_at_stop),
        cmocka_unit_test(test_held_bars_go_with_live_bar),
        cmocka_unit_test(test_failed_request_one_effect),
        cmocka_unit_test(test_failed_backfill_backs_off_then_fills),
        cmocka_unit_test(test_failed_backfill_waits_for_budget),
        cmocka_unit_test(test_failed_backfill_dropped_out_of_history),
        cmocka_unit_test(test_cancel_names_the_request_sent),
    };
    int rc = cmocka_run_group_tests_name("core_rest", tests, NULL, NULL);

    libc_free(MEM);
    return rc;
}
