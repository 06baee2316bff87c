/* test_fsm_conn.c: the connection machine as libwebsockets will drive it:
 * jitter on every back-off, the data path gated by its output, handshake
 * refusals, a 401 while streaming, the subscription timeout and its own
 * liveness (ping/pong). Alone (conn_step) and composed (core_step). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libc's malloc and free, defined before cmocka's leak-checking macros:
 * the core's memory outlives a test case (the next one frees it). */
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

#define SEC MD_NS_PER_S
#define SEEDS 2000

/* ---- the machine alone ------------------------------------------------- */

struct run {
    struct md_prng rng;
    struct conn m;
    struct md_out out;
};

static void run_init(struct run *r, uint64_t seed)
{
    struct conn_config cfg;

    memset(r, 0, sizeof *r);
    md_prng_seed(&r->rng, seed);
    conn_config_default(&cfg);
    conn_init(&r->m, &cfg, &r->rng);
}

static void put(struct run *r, enum conn_input input, mono_ns t)
{
    struct conn_in in;

    memset(&in, 0, sizeof in);
    in.input = (uint8_t)input;
    in.t_ns = t;
    md_out_reset(&r->out);
    assert_int_equal(conn_step(&r->m, &in, &r->out), MD_OK);
}

static size_t count_kind(const struct md_out *out, enum md_act_kind k)
{
    size_t i, n = 0;

    for (i = 0; i < out->n; i++) {
        n += out->a[i].kind == k;
    }
    return n;
}

static size_t count_note(const struct md_out *out, enum md_note note)
{
    size_t i, n = 0;

    for (i = 0; i < out->n; i++) {
        n += out->a[i].kind == MD_A_NOTE && out->a[i].note == note;
    }
    return n;
}

/* Distinct values among v[0..n) (n small enough for a quadratic count). */
static unsigned distinct(const mono_ns *v, unsigned n)
{
    unsigned i, j, d = 0;

    for (i = 0; i < n; i++) {
        for (j = 0; j < i && v[j] != v[i]; j++) {
        }
        d += j == i;
    }
    return d;
}

/* A fleet restarting together must not reconnect in lock-step: the first
 * back-off after a failed handshake, the long one after a 429 and the
 * publisher's first retry all differ between seeds, within their bounds. */
static void test_backoff_jitter_every_attempt(void **state)
{
    static mono_ns first[SEEDS], lng[SEEDS], retry[SEEDS];
    const mono_ns t0 = 100 * SEC;
    unsigned k;

    (void)state;
    for (k = 0; k < SEEDS; k++) {
        struct run r;
        struct pub_config pc;
        struct pub p;
        struct pub_in pin;

        run_init(&r, k);
        put(&r, CONN_I_START, 0);
        put(&r, CONN_I_T_HANDSHAKE, t0);
        assert_int_equal(r.m.state, CONN_S_BACKOFF);
        first[k] = out_armed(&r.out, MD_T_CONN_BACKOFF) - t0;
        assert_true(first[k] >= 5 * SEC && first[k] <= 15 * SEC / 2);

        run_init(&r, k);
        put(&r, CONN_I_START, 0);
        put(&r, CONN_I_WS_OPEN, 1);
        put(&r, CONN_I_TOO_MANY_SOCKETS, t0);
        lng[k] = out_armed(&r.out, MD_T_CONN_BACKOFF) - t0;
        assert_true(lng[k] >= 300 * SEC && lng[k] <= 450 * SEC);

        md_prng_seed(&r.rng, k);
        pub_config_default(&pc);
        pub_init(&p, &pc, &r.rng);
        memset(&pin, 0, sizeof pin);
        pin.input = PUB_I_DATA_READY;
        pin.n = 1;
        md_out_reset(&r.out);
        assert_int_equal(pub_step(&p, &pin, &r.out), MD_OK);
        pin.input = PUB_I_PUBLISH_FAILURE;
        pin.t_ns = t0;
        md_out_reset(&r.out);
        assert_int_equal(pub_step(&p, &pin, &r.out), MD_OK);
        assert_int_equal(p.state, PUB_S_ERROR);
        retry[k] = out_armed(&r.out, MD_T_PUB_RETRY) - t0;
        assert_true(retry[k] >= SEC && retry[k] <= 3 * SEC / 2);
    }
    printf("  distinct delays over %u seeds: first %u, long %u, pub %u\n",
           SEEDS, distinct(first, SEEDS), distinct(lng, SEEDS),
           distinct(retry, SEEDS));
    assert_true(distinct(first, SEEDS) > SEEDS * 9 / 10);
    assert_true(distinct(lng, SEEDS) > SEEDS * 9 / 10);
    assert_true(distinct(retry, SEEDS) > SEEDS * 9 / 10);
}

/* The window of every attempt: never below the minimum, growing to the
 * cap, jittered at the cap too. */
static void test_backoff_windows(void **state)
{
    struct md_prng r;
    unsigned k, i;

    (void)state;
    md_prng_seed(&r, 5);
    for (k = 0; k < 12; k++) {
        int64_t lo = INT64_MAX, hi = 0;
        for (i = 0; i < 400; i++) {
            int64_t d = md_backoff_ns(&r, k, 5 * SEC, 60 * SEC);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        assert_true(lo >= 5 * SEC);
        assert_true(hi <= 60 * SEC || (k == 0 && hi <= 15 * SEC / 2));
        assert_true(hi - lo > SEC); /* a window, not a point */
        if (k >= 4) {
            assert_true(lo >= 30 * SEC); /* at the cap: [max/2, max] */
        }
    }
}

/* ---- the composition --------------------------------------------------- */

static struct core C;
static struct md_out O;

static void core_start(uint64_t seed)
{
    static struct core_config cfg;
    static struct rp_series series[1];
    static void *mem;
    size_t need;

    core_config_default(&cfg);
    cfg.series = series;
    cfg.cap_series = 1;
    cfg.seed = seed;
    cfg.rp.preflight_bars = 3;
    assert_int_equal(core_config_add_series(&cfg, "CCCAGG", "BTC", "USD", 60),
                     MD_OK);
    need = core_mem_size(&cfg);
    libc_free(mem);
    mem = libc_malloc(need);
    assert_non_null(mem);
    assert_int_equal(core_init(&C, &cfg, mem, need), MD_OK);
}

static int cstep(uint8_t kind, uint8_t input, mono_ns t)
{
    struct core_in in;

    memset(&in, 0, sizeof in);
    in.kind = kind;
    in.input = input;
    in.t_ns = t;
    in.conn_id = C.conn.conn_id;
    if (kind == CORE_IN_START) {
        in.server_ms = INT64_C(1753190390000); /* the wall clock */
    }
    md_out_reset(&O);
    return core_step(&C, &in, &O);
}

static int cframe(mono_ns t, const char *text)
{
    struct core_in in;

    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_FRAME;
    in.t_ns = t;
    in.conn_id = C.conn.conn_id;
    in.data = text;
    in.len = strlen(text);
    md_out_reset(&O);
    return core_step(&C, &in, &O);
}

static const char trade[] =
    "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\",\"TSYM\":\"USD\","
    "\"F\":\"2\",\"ID\":\"853492214\",\"TS\":1753190393,\"Q\":0.00964787,"
    "\"P\":119429.7,\"TOTAL\":1152.242219739,\"RTS\":1753190393,"
    "\"CCSEQ\":853475838,\"TSNS\":505000000,\"RTSNS\":576000000}";
static const char welcome[] =
    "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
    "\"SERVER_TIME_MS\":1753190392000}";

/* lambda gates the data path: a trade before the welcome is noted as an
 * out-of-place frame and not aggregated; the same trade once subscribed
 * is. */
static void test_data_only_when_fed(void **state)
{
    (void)state;
    core_start(1);
    assert_int_equal(cstep(CORE_IN_START, 0, 0), MD_OK);
    assert_int_equal(cstep(CORE_IN_CONN, CONN_I_WS_OPEN, SEC), MD_OK);
    assert_int_equal(C.conn.state, CONN_S_WAIT_WELCOME);
    assert_int_equal(cframe(2 * SEC, trade), MD_OK);
    assert_int_equal(count_note(&O, MD_N_OTHER_FRAME), 1);
    assert_int_equal(C.conn.st.other, 1);
    assert_int_equal(C.feed.agg.st.trades, 0);

    assert_int_equal(cframe(3 * SEC, welcome), MD_OK);
    assert_int_equal(C.conn.state, CONN_S_SUBSCRIBING);
    assert_int_equal(cframe(4 * SEC, trade), MD_OK);
    assert_int_equal(C.conn.st.frames, 1);
    assert_int_equal(C.feed.agg.st.trades, 1);
}

/* Streaming, then the server's frame input at t: the machine's actions. */
static void stream_then(struct run *r, enum conn_input input, mono_ns t)
{
    run_init(r, 3);
    put(r, CONN_I_START, 0);
    put(r, CONN_I_WS_OPEN, SEC);
    put(r, CONN_I_WELCOME, 2 * SEC);
    put(r, CONN_I_LOAD_COMPLETE, 3 * SEC);
    assert_int_equal(r->m.state, CONN_S_STREAMING);
    put(r, CONN_I_DATA, 10 * SEC);
    put(r, input, t);
}

/* A 401 while streaming is an outage like any other: it opens a gap
 * (from the last activity), which the operator's RESET and the next LIVE
 * close, so the minutes are backfilled; as FORCE_DISCONNECT does. */
static void test_unauthorized_while_streaming_opens_gap(void **state)
{
    static const enum conn_input outage[] = {CONN_I_FORCE_DISCONNECT,
                                             CONN_I_UNAUTHORIZED};
    unsigned k;

    (void)state;
    for (k = 0; k < 2; k++) {
        struct run r;
        stream_then(&r, outage[k], 20 * SEC);
        assert_int_equal(count_kind(&r.out, MD_A_GAP_OPEN), 1);
        assert_true(r.m.gap_open);
        assert_int_equal(r.m.gap_start, 10 * SEC);
        if (outage[k] == CONN_I_UNAUTHORIZED) {
            assert_int_equal(r.m.state, CONN_S_FAILED);
            put(&r, CONN_I_RESET, 30 * SEC);
        } else {
            put(&r, CONN_I_T_BACKOFF, 30 * SEC);
        }
        assert_int_equal(r.m.state, CONN_S_CONNECTING);
        put(&r, CONN_I_WS_OPEN, 31 * SEC);
        put(&r, CONN_I_WELCOME, 32 * SEC);
        put(&r, CONN_I_LOAD_COMPLETE, 33 * SEC);
        assert_int_equal(count_kind(&r.out, MD_A_GAP_CLOSED), 1);
        assert_false(r.m.gap_open);
    }

    /* composed: the RESET's LIVE closes the gap, which plans a backfill */
    core_start(2);
    assert_int_equal(cstep(CORE_IN_START, 0, 0), MD_OK);
    assert_int_equal(cstep(CORE_IN_CONN, CONN_I_WS_OPEN, SEC), MD_OK);
    assert_int_equal(cstep(CORE_IN_CONN, CONN_I_WELCOME, 2 * SEC), MD_OK);
    assert_int_equal(cstep(CORE_IN_CONN, CONN_I_LOAD_COMPLETE, 3 * SEC),
                     MD_OK);
    assert_int_equal(cstep(CORE_IN_CONN, CONN_I_UNAUTHORIZED, 20 * SEC),
                     MD_OK);
    assert_int_equal(C.conn.state, CONN_S_FAILED);
    assert_true(C.s.gap_start_ns != 0);
    assert_int_equal(C.s.gap_end_ns, 0);
    assert_int_equal(cstep(CORE_IN_RESET, 0, 60 * SEC), MD_OK);
    assert_int_equal(cstep(CORE_IN_CONN, CONN_I_WS_OPEN, 61 * SEC), MD_OK);
    assert_int_equal(cstep(CORE_IN_CONN, CONN_I_WELCOME, 62 * SEC), MD_OK);
    assert_int_equal(cstep(CORE_IN_CONN, CONN_I_LOAD_COMPLETE, 63 * SEC),
                     MD_OK);
    assert_true(C.s.gap_end_ns > C.s.gap_start_ns);
}

/* The socket's end, as the shell reports it: close code, and the
 * handshake's HTTP status if the server refused the upgrade. */
static int cclosed(mono_ns t, int close_code, int http_status)
{
    struct core_in in;

    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_CONN;
    in.input = CONN_I_WS_CLOSED;
    in.t_ns = t;
    in.conn_id = C.conn.conn_id;
    in.close_code = close_code;
    in.http_status = http_status;
    md_out_reset(&O);
    return core_step(&C, &in, &O);
}

static mono_ns carmed(enum md_timer timer)
{
    return out_armed(&O, timer);
}

/* A handshake refused with 401 takes the unauthorized path (FAILED until
 * RESET, no retry); with 429 the long back-off; any other end of a
 * connecting socket is an ordinary drop. */
static void test_refused_handshake(void **state)
{
    (void)state;
    core_start(4);
    assert_int_equal(cstep(CORE_IN_START, 0, 0), MD_OK);
    assert_int_equal(cclosed(SEC, 1006, 401), MD_OK);
    assert_int_equal(C.conn.state, CONN_S_FAILED);
    assert_int_equal(count_note(&O, MD_N_AUTH_FAILED), 1);
    assert_int_equal(count_kind(&O, MD_A_WS_CLOSE), 0); /* already gone */
    assert_int_equal(cstep(CORE_IN_RESET, 0, 10 * SEC), MD_OK);
    assert_int_equal(C.conn.state, CONN_S_CONNECTING);

    assert_int_equal(cclosed(11 * SEC, 1006, 429), MD_OK);
    assert_int_equal(C.conn.state, CONN_S_BACKOFF);
    assert_int_equal(count_note(&O, MD_N_TOO_MANY_SOCKETS), 1);
    assert_int_equal(count_kind(&O, MD_A_WS_CLOSE), 0);
    assert_true(carmed(MD_T_CONN_BACKOFF) >= 311 * SEC);

    assert_int_equal(cstep(CORE_IN_RESET, 0, 20 * SEC), MD_OK);
    assert_int_equal(cclosed(21 * SEC, 1006, 0), MD_OK);
    assert_int_equal(C.conn.state, CONN_S_BACKOFF);
    assert_true(carmed(MD_T_CONN_BACKOFF) < 21 * SEC + 60 * SEC);
    assert_int_equal(count_note(&O, MD_N_TOO_MANY_SOCKETS), 0);
}

/* To STREAMING at t0 (welcome, LOADCOMPLETE on socket 1). */
static void to_streaming(struct run *r, mono_ns t0)
{
    put(r, CONN_I_START, t0 - 3 * SEC);
    put(r, CONN_I_WS_OPEN, t0 - 2 * SEC);
    put(r, CONN_I_WELCOME, t0 - SEC);
    put(r, CONN_I_LOAD_COMPLETE, t0);
    assert_int_equal(r->m.state, CONN_S_STREAMING);
}

/* The machine's own liveness: a socket that dies without a close (a
 * half-open TCP connection: no frame, no pong) is found by an unanswered
 * ping within probe_after + pong_timeout (40 s), not by the server's
 * silence (75 s); a socket that carries pongs while the server says
 * nothing still drops at the stale timeout; a busy socket is never
 * pinged. */
static void test_ping_pong_liveness(void **state)
{
    struct run r;
    mono_ns t0 = 100 * SEC, t, d;
    unsigned pings = 0;

    (void)state;
    /* dead socket: the ping at 30 s goes unanswered, the drop at 40 s */
    run_init(&r, 1);
    to_streaming(&r, t0);
    d = out_armed(&r.out, MD_T_CONN_STALE);
    assert_int_equal(d, t0 + 30 * SEC);
    put(&r, CONN_I_T_STALE, d);
    assert_int_equal(r.m.state, CONN_S_STREAMING);
    assert_int_equal(count_kind(&r.out, MD_A_WS_PING), 1);
    d = out_armed(&r.out, MD_T_CONN_STALE);
    assert_int_equal(d, t0 + 40 * SEC);
    put(&r, CONN_I_T_STALE, d);
    assert_int_equal(r.m.state, CONN_S_BACKOFF);
    assert_int_equal(count_note(&r.out, MD_N_PING_TIMEOUT), 1);
    assert_int_equal(count_kind(&r.out, MD_A_WS_CLOSE), 1);
    assert_int_equal(count_kind(&r.out, MD_A_GAP_OPEN), 1);
    assert_int_equal(r.m.st.ping_timeouts, 1);
    assert_int_equal(r.m.st.pings, 1);
    /* an ordinary drop: the first back-off, not the long one */
    d = out_armed(&r.out, MD_T_CONN_BACKOFF);
    assert_true(d >= t0 + 45 * SEC && d < t0 + 40 * SEC + 60 * SEC);

    /* the socket answers, the server is silent: pings and pongs until
     * the stale timeout, 75 s after the last word */
    run_init(&r, 2);
    to_streaming(&r, t0);
    d = out_armed(&r.out, MD_T_CONN_STALE);
    while (r.m.state == CONN_S_STREAMING) {
        assert_true(d > 0 && d <= t0 + 75 * SEC);
        put(&r, CONN_I_T_STALE, d);
        if (count_kind(&r.out, MD_A_WS_PING) == 1) {
            pings++;
            t = d + SEC / 10;
            d = out_armed(&r.out, MD_T_CONN_STALE);
            put(&r, CONN_I_PONG, t);
        } else {
            d = out_armed(&r.out, MD_T_CONN_STALE);
        }
    }
    assert_int_equal(count_note(&r.out, MD_N_PING_TIMEOUT), 0);
    assert_int_equal(r.m.st.drops, 1);
    assert_int_equal(pings, 2); /* at 30 s and at 60.1 s */
    assert_int_equal(r.m.st.pongs, 2);

    /* busy: data every 5 s for ten minutes, never a ping, never a drop */
    run_init(&r, 3);
    to_streaming(&r, t0);
    d = out_armed(&r.out, MD_T_CONN_STALE);
    for (t = t0 + 5 * SEC; t <= t0 + 600 * SEC; t += 5 * SEC) {
        while (d > 0 && d <= t) {
            put(&r, CONN_I_T_STALE, d);
            assert_int_equal(count_kind(&r.out, MD_A_WS_PING), 0);
            d = out_armed(&r.out, MD_T_CONN_STALE);
        }
        put(&r, CONN_I_DATA, t);
    }
    assert_int_equal(r.m.state, CONN_S_STREAMING);
    assert_int_equal(r.m.st.pings, 0);
}

/* The pong deadline counts from the ping, whenever it was sent: with a
 * ping 1 s into the clock, no pong by 11 s is a dead socket. */
static void test_pong_deadline_from_the_ping(void **state)
{
    struct run r;
    struct conn_config cfg;

    (void)state;
    run_init(&r, 4);
    conn_config_default(&cfg);
    cfg.probe_after_ns = SEC;
    conn_init(&r.m, &cfg, &r.rng);
    to_streaming(&r, 5 * SEC);
    put(&r, CONN_I_T_STALE, 6 * SEC);
    assert_int_equal(count_kind(&r.out, MD_A_WS_PING), 1);
    assert_int_equal(out_armed(&r.out, MD_T_CONN_STALE), 16 * SEC);
    put(&r, CONN_I_T_STALE, 16 * SEC);
    assert_int_equal(r.m.state, CONN_S_BACKOFF);
    assert_int_equal(count_note(&r.out, MD_N_PING_TIMEOUT), 1);
}

/* Everything the server says counts as activity while streaming: data,
 * a heartbeat, a late subscription's completion, a pong; 25 s after one
 * of them the stale timer (30 s after LIVE) only re-arms, 30 s after it. */
static void test_activity_defers_the_probe(void **state)
{
    static const enum conn_input said[] = {CONN_I_DATA, CONN_I_HEARTBEAT,
                                           CONN_I_SUB_OK};
    struct run r;
    mono_ns t0 = 100 * SEC;
    unsigned k;

    (void)state;
    for (k = 0; k < sizeof said / sizeof said[0]; k++) {
        run_init(&r, 5 + k);
        to_streaming(&r, t0);
        put(&r, said[k], t0 + 25 * SEC);
        put(&r, CONN_I_T_STALE, t0 + 30 * SEC);
        assert_int_equal(count_kind(&r.out, MD_A_WS_PING), 0);
        assert_int_equal(out_armed(&r.out, MD_T_CONN_STALE), t0 + 55 * SEC);
    }
    assert_int_equal(r.m.st.subs_ok, 1);
    /* a subscription refused is noted and counted */
    put(&r, CONN_I_SUB_REJECTED, t0 + 31 * SEC);
    assert_int_equal(count_note(&r.out, MD_N_SUB_REJECTED), 1);
    assert_int_equal(r.m.st.subs_rejected, 1);
}

/* Subscribing: each completion restarts the subscribe timer and counts;
 * with a subscribe timeout longer than the stale one, the stale timer
 * re-arms from the last completion; a subscription that stalls drops
 * with the ordinary back-off. */
static void test_subscribing_progress_and_stale(void **state)
{
    struct run r;
    struct conn_config cfg;
    mono_ns t0 = 100 * SEC, d;

    (void)state;
    run_init(&r, 9);
    conn_config_default(&cfg);
    cfg.subscribe_timeout_ns = 120 * SEC;
    conn_init(&r.m, &cfg, &r.rng);
    put(&r, CONN_I_START, t0 - 2 * SEC);
    put(&r, CONN_I_WS_OPEN, t0 - SEC);
    put(&r, CONN_I_WELCOME, t0);
    assert_int_equal(r.m.state, CONN_S_SUBSCRIBING);
    assert_int_equal(out_armed(&r.out, MD_T_CONN_STALE), t0 + 75 * SEC);
    put(&r, CONN_I_SUB_OK, t0 + 50 * SEC);
    assert_int_equal(r.m.st.subs_ok, 1);
    assert_int_equal(out_armed(&r.out, MD_T_CONN_SUBSCRIBE), t0 + 170 * SEC);
    put(&r, CONN_I_T_STALE, t0 + 75 * SEC);
    assert_int_equal(r.m.state, CONN_S_SUBSCRIBING);
    assert_int_equal(out_armed(&r.out, MD_T_CONN_STALE), t0 + 125 * SEC);
    /* defaults: no completion for 30 s drops, the first back-off */
    run_init(&r, 10);
    put(&r, CONN_I_START, t0 - 2 * SEC);
    put(&r, CONN_I_WS_OPEN, t0 - SEC);
    put(&r, CONN_I_WELCOME, t0);
    put(&r, CONN_I_T_SUBSCRIBE, t0 + 30 * SEC);
    assert_int_equal(r.m.state, CONN_S_BACKOFF);
    assert_int_equal(count_note(&r.out, MD_N_SUBSCRIBE_TIMEOUT), 1);
    d = out_armed(&r.out, MD_T_CONN_BACKOFF);
    assert_true(d >= t0 + 35 * SEC && d < t0 + 90 * SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_jitter_every_attempt),
        cmocka_unit_test(test_backoff_windows),
        cmocka_unit_test(test_data_only_when_fed),
        cmocka_unit_test(test_unauthorized_while_streaming_opens_gap),
        cmocka_unit_test(test_refused_handshake),
        cmocka_unit_test(test_ping_pong_liveness),
        cmocka_unit_test(test_activity_defers_the_probe),
        cmocka_unit_test(test_pong_deadline_from_the_ping),
        cmocka_unit_test(test_subscribing_progress_and_stale),
    };
    (void)count_kind;
    return cmocka_run_group_tests_name("fsm_conn", tests, NULL, NULL);
}
