/* test_fsm_scenarios.c: the seed's scenarios through the projection pi
 * (docs/mealy.md), the seed defects ccstream fixes, the composition of the
 * machines in core_step, timers and jitter, and the trace line format. */
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
#include "core.h"
#include "md_err.h"
#include "mealy_fmt.h"

/* pi: publisher states to the seed's states (docs/mealy.md). */
static const char *pi_state(unsigned s)
{
    switch (s) {
    case PUB_S_IDLE:
    case PUB_S_STOPPED:
        return "Idle";
    case PUB_S_FETCHING:
        return "FetchingData";
    case PUB_S_PUBLISHING:
    case PUB_S_DRAINING:
        return "Publishing";
    case PUB_S_ERROR:
        return "Error";
    case PUB_S_CREATING_TOPIC:
        return "CreatingTopic";
    default:
        return "?";
    }
}

/* pi on outputs: the seed's actions keep their names, the rest is "-". */
static const char *pi_out(unsigned o)
{
    switch (o) {
    case PUB_O_START_FETCH:
        return "START_FETCH";
    case PUB_O_START_PUBLISH:
        return "START_PUBLISH";
    case PUB_O_HANDLE_ERROR:
        return "HANDLE_ERROR";
    case PUB_O_RESET_ERROR:
        return "RESET_ERROR";
    case PUB_O_CREATE_NEW_TOPIC:
        return "CREATE_NEW_TOPIC";
    default:
        return "-";
    }
}

struct pubrun {
    struct md_prng rng;
    struct pub m;
    struct md_out out;
    mono_ns t;
    char log[1024];
};

static void pubrun_init(struct pubrun *r)
{
    struct pub_config cfg;

    memset(r, 0, sizeof *r);
    md_prng_seed(&r->rng, 7);
    pub_config_default(&cfg);
    pub_init(&r->m, &cfg, &r->rng);
    r->m.trace = 1;
    r->t = 1000;
}

/* Step and append "Seed --INPUT/ACTION--> Seed " as seen through pi. */
static void feed(struct pubrun *r, enum pub_input input, uint64_t n)
{
    struct pub_in in = {(uint8_t)input, r->t++, n};
    size_t len = strlen(r->log);

    md_out_reset(&r->out);
    assert_int_equal(pub_step(&r->m, &in, &r->out), MD_OK);
    assert_int_equal(r->out.a[0].kind, MD_A_TRACE);
    snprintf(r->log + len, sizeof r->log - len, "%s --%s/%s--> %s\n",
             pi_state(r->out.a[0].tr.from), pub_def.input_names[input],
             pi_out(r->out.a[0].tr.output), pi_state(r->out.a[0].tr.to));
}

static size_t count_kind(const struct md_out *out, enum md_act_kind k,
                         uint64_t *arg_sum)
{
    size_t i, n = 0;
    uint64_t s = 0;

    for (i = 0; i < out->n; i++) {
        if (out->a[i].kind == k) {
            n++;
            s += out->a[i].arg;
        }
    }
    if (arg_sum != NULL) {
        *arg_sum = s;
    }
    return n;
}

static void test_seed_fetch_publish_idle(void **state)
{
    struct pubrun r;

    (void)state;
    pubrun_init(&r);
    feed(&r, PUB_I_FETCH_DATA, 0);
    feed(&r, PUB_I_DATA_READY, 1);
    feed(&r, PUB_I_PUBLISH_SUCCESS, 0);
    assert_string_equal(
        r.log, "Idle --FETCH_DATA/START_FETCH--> FetchingData\n"
               "FetchingData --DATA_READY/START_PUBLISH--> Publishing\n"
               "Publishing --PUBLISH_SUCCESS/---> Idle\n");
}

/* Seed: Publishing -PUBLISH_FAILURE/HANDLE_ERROR-> Error -RESET/RESET_ERROR->
 * Idle. ccstream keeps the failed bar, so RESET republishes it and the run
 * ends in Idle once it is delivered. */
static void test_seed_publish_failure_reset(void **state)
{
    struct pubrun r;
    uint64_t produced;

    (void)state;
    pubrun_init(&r);
    feed(&r, PUB_I_DATA_READY, 1);
    feed(&r, PUB_I_PUBLISH_FAILURE, 0);
    /* HANDLE_ERROR armed the core's own retry timer: no outside RESET. */
    assert_int_equal(count_kind(&r.out, MD_A_ARM_TIMER, NULL), 1);
    feed(&r, PUB_I_RESET, 0);
    assert_int_equal(count_kind(&r.out, MD_A_PRODUCE, &produced), 1);
    assert_int_equal(produced, 1);
    feed(&r, PUB_I_PUBLISH_SUCCESS, 0);
    assert_string_equal(
        r.log, "Idle --DATA_READY/START_PUBLISH--> Publishing\n"
               "Publishing --PUBLISH_FAILURE/HANDLE_ERROR--> Error\n"
               "Error --RESET/RESET_ERROR--> Publishing\n"
               "Publishing --PUBLISH_SUCCESS/---> Idle\n");
    assert_int_equal(r.m.st.delivered, 1);
    assert_int_equal(r.m.st.failed, 1);
}

/* Seed: FetchingData -FETCH_FAILURE/HANDLE_ERROR-> Error -RESET/RESET_ERROR->
 * Idle, exactly; and the failure is a fetch failure, not PUBLISH_FAILURE. */
static void test_seed_fetch_failure(void **state)
{
    struct pubrun r;

    (void)state;
    pubrun_init(&r);
    feed(&r, PUB_I_FETCH_DATA, 0);
    feed(&r, PUB_I_FETCH_FAILURE, 1);
    feed(&r, PUB_I_RESET, 0);
    assert_string_equal(
        r.log, "Idle --FETCH_DATA/START_FETCH--> FetchingData\n"
               "FetchingData --FETCH_FAILURE/HANDLE_ERROR--> Error\n"
               "Error --RESET/RESET_ERROR--> Idle\n");
    assert_int_equal(r.m.st.fetch_failures, 1);
    assert_int_equal(r.m.st.failed, 0);
}

static void test_seed_dynamic_topic(void **state)
{
    struct pubrun r;

    (void)state;
    pubrun_init(&r);
    feed(&r, PUB_I_CREATE_DYNAMIC_TOPIC, 0);
    assert_int_equal(count_kind(&r.out, MD_A_TOPIC_CREATE, NULL), 1);
    feed(&r, PUB_I_TOPIC_CREATED, 0);
    /* and its failure: back-off, then the creation is tried again */
    feed(&r, PUB_I_CREATE_DYNAMIC_TOPIC, 0);
    feed(&r, PUB_I_TOPIC_FAILED, 0);
    feed(&r, PUB_I_DATA_READY, 2); /* bars keep coming: queued */
    feed(&r, PUB_I_RESET, 0);
    assert_int_equal(count_kind(&r.out, MD_A_TOPIC_CREATE, NULL), 1);
    feed(&r, PUB_I_TOPIC_CREATED, 0);
    assert_string_equal(
        r.log,
        "Idle --CREATE_DYNAMIC_TOPIC/CREATE_NEW_TOPIC--> CreatingTopic\n"
        "CreatingTopic --TOPIC_CREATED/---> Idle\n"
        "Idle --CREATE_DYNAMIC_TOPIC/CREATE_NEW_TOPIC--> CreatingTopic\n"
        "CreatingTopic --TOPIC_FAILED/HANDLE_ERROR--> Error\n"
        "Error --DATA_READY/---> Error\n"
        "Error --RESET/CREATE_NEW_TOPIC--> CreatingTopic\n"
        "CreatingTopic --TOPIC_CREATED/START_PUBLISH--> Publishing\n");
    assert_int_equal(r.m.inflight, 2);
    assert_int_equal(r.m.st.topics_created, 2);
}

/* Seed defects: DATA_READY in Idle is not dropped; several bars in flight;
 * Error keeps queueing and does not swallow reports. */
static void test_seed_defects_fixed(void **state)
{
    struct pubrun r;
    uint64_t produced;

    (void)state;
    pubrun_init(&r);
    feed(&r, PUB_I_DATA_READY, 3);
    assert_int_equal(r.m.state, PUB_S_PUBLISHING);
    feed(&r, PUB_I_DATA_READY, 2);
    assert_int_equal(r.m.inflight, 5);
    feed(&r, PUB_I_PUBLISH_FAILURE, 0);
    assert_int_equal(r.m.state, PUB_S_ERROR);
    feed(&r, PUB_I_PUBLISH_SUCCESS, 0); /* still counted in Error */
    feed(&r, PUB_I_DATA_READY, 4);      /* still aggregated, queued */
    assert_int_equal(r.m.queued, 5);    /* 4 new + 1 failed */
    assert_int_equal(r.m.inflight, 3);
    feed(&r, PUB_I_RESET, 0);
    assert_int_equal(count_kind(&r.out, MD_A_PRODUCE, &produced), 1);
    assert_int_equal(produced, 5);
    assert_int_equal(r.m.state, PUB_S_PUBLISHING);
    assert_int_equal(r.m.inflight, 8);
}

static void test_pub_stop_drains_then_abandons(void **state)
{
    struct pubrun r;

    (void)state;
    pubrun_init(&r);
    feed(&r, PUB_I_DATA_READY, 2);
    feed(&r, PUB_I_STOP, 0);
    assert_int_equal(r.m.state, PUB_S_DRAINING);
    assert_int_equal(count_kind(&r.out, MD_A_FLUSH, NULL), 1);
    feed(&r, PUB_I_PUBLISH_SUCCESS, 0);
    feed(&r, PUB_I_T_FLUSH, 0);
    assert_int_equal(r.m.state, PUB_S_STOPPED);
    assert_int_equal(r.m.st.lost, 1);
    assert_int_equal(r.m.st.delivered, 1);
}

/* ---- the composition ---------------------------------------------- */

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
    cfg.trace = 1;
    assert_int_equal(core_config_add_series(&cfg, "CCCAGG", "BTC", "USD", 60),
                     MD_OK);
    need = core_mem_size(&cfg);
    libc_free(mem);
    mem = libc_malloc(need);
    assert_non_null(mem);
    assert_int_equal(core_init(&C, &cfg, mem, need), MD_OK);
}

static int step(uint8_t kind, uint8_t input, mono_ns t, uint64_t n)
{
    struct core_in in;

    memset(&in, 0, sizeof in);
    in.kind = kind;
    in.input = input;
    in.t_ns = t;
    in.n = n;
    in.conn_id = C.conn.conn_id;
    if (kind == CORE_IN_START) {
        in.server_ms = INT64_C(1753190400000); /* the wall clock */
    }
    md_out_reset(&O);
    return core_step(&C, &in, &O);
}

static int fire(enum md_timer timer, mono_ns deadline)
{
    struct core_in in;

    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_TIMER;
    in.timer = (uint8_t)timer;
    in.t_ns = deadline;
    md_out_reset(&O);
    return core_step(&C, &in, &O);
}

static mono_ns armed(enum md_timer timer)
{
    size_t i;

    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_ARM_TIMER && O.a[i].timer == timer) {
            return O.a[i].deadline_ns;
        }
    }
    return -1;
}

static void test_core_start_and_stream(void **state)
{
    const mono_ns s = MD_NS_PER_S;

    (void)state;
    core_start(42);
    assert_int_equal(step(CORE_IN_START, 0, 10 * s, 0), MD_OK);
    assert_int_equal(count_kind(&O, MD_A_TOPIC_CREATE, NULL), 1);
    assert_int_equal(count_kind(&O, MD_A_WS_OPEN, NULL), 1);
    assert_int_equal(count_kind(&O, MD_A_FETCH, NULL), 1);
    /* pub's START_FETCH reached rest within the same step: preflight */
    assert_int_equal(count_kind(&O, MD_A_REST_SEND, NULL), 1);
    assert_int_equal(armed(MD_T_CONN_HANDSHAKE), 25 * s);
    assert_int_equal(C.pub.state, PUB_S_CREATING_TOPIC);
    assert_int_equal(C.rest.state, REST_S_REQUESTING);

    assert_int_equal(step(CORE_IN_CONN, CONN_I_WS_OPEN, 11 * s, 0), MD_OK);
    assert_int_equal(step(CORE_IN_CONN, CONN_I_WELCOME, 11 * s, 0), MD_OK);
    assert_int_equal(count_kind(&O, MD_A_WS_SUBSCRIBE, NULL), 1);
    assert_int_equal(armed(MD_T_CONN_STALE), 86 * s);
    assert_int_equal(step(CORE_IN_CONN, CONN_I_DATA, 12 * s, 0), MD_OK);
    assert_int_equal(step(CORE_IN_CONN, CONN_I_LOAD_COMPLETE, 12 * s, 0),
                     MD_OK);
    assert_int_equal(C.conn.state, CONN_S_STREAMING);

    /* preflight answered with 3 bars; the topic is still being created */
    assert_int_equal(step(CORE_IN_REST, REST_I_RESP_OK, 13 * s, 3), MD_OK);
    assert_int_equal(C.pub.queued, 3);
    assert_int_equal(step(CORE_IN_PUB, PUB_I_TOPIC_CREATED, 14 * s, 0),
                     MD_OK);
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
    assert_int_equal(C.pub.inflight, 3);

    /* the stale timer fires after data: re-armed from the last activity */
    assert_int_equal(fire(MD_T_CONN_STALE, 86 * s), MD_OK);
    assert_int_equal(armed(MD_T_CONN_STALE), 87 * s);
    assert_int_equal(C.conn.state, CONN_S_STREAMING);
    /* and with no activity since: the connection is dropped */
    assert_int_equal(fire(MD_T_CONN_STALE, 87 * s), MD_OK);
    assert_int_equal(C.conn.state, CONN_S_BACKOFF);
    assert_true(armed(MD_T_CONN_BACKOFF) >= 92 * s);
}

static void test_core_reconnect_backfills_gap(void **state)
{
    const mono_ns s = MD_NS_PER_S;
    mono_ns t, due;
    uint32_t old_id;

    (void)state;
    core_start(1);
    step(CORE_IN_START, 0, s, 0);
    step(CORE_IN_PUB, PUB_I_TOPIC_CREATED, s, 0);
    step(CORE_IN_REST, REST_I_RESP_OK, s, 0); /* empty preflight */
    assert_int_equal(C.pub.state, PUB_S_IDLE);
    step(CORE_IN_CONN, CONN_I_WS_OPEN, 2 * s, 0);
    step(CORE_IN_CONN, CONN_I_WELCOME, 2 * s, 0);
    step(CORE_IN_CONN, CONN_I_LOAD_COMPLETE, 3 * s, 0);
    step(CORE_IN_CONN, CONN_I_DATA, 4 * s, 0);
    old_id = C.conn.conn_id;
    assert_int_equal(step(CORE_IN_CONN, CONN_I_WS_CLOSED, 5 * s, 0), MD_OK);
    assert_int_equal(count_kind(&O, MD_A_NOTE, NULL), 2); /* lost, gap */
    due = armed(MD_T_CONN_BACKOFF);
    assert_true(due >= 10 * s && due <= 15 * s); /* 5 s minimum, jitter */
    assert_int_equal(fire(MD_T_CONN_BACKOFF, due), MD_OK);
    assert_int_equal(C.conn.conn_id, old_id + 1);
    t = due + s;
    /* an event of the replaced socket is not an input of the machine */
    {
        struct core_in in;
        memset(&in, 0, sizeof in);
        in.kind = CORE_IN_CONN;
        in.input = CONN_I_WS_CLOSED;
        in.conn_id = old_id;
        in.t_ns = t;
        md_out_reset(&O);
        assert_int_equal(core_step(&C, &in, &O), MD_OK);
        assert_int_equal(O.n, 0);
        assert_int_equal(C.st.stale_socket_events, 1);
    }
    step(CORE_IN_CONN, CONN_I_WS_OPEN, t, 0);
    step(CORE_IN_CONN, CONN_I_WELCOME, t, 0);
    assert_int_equal(step(CORE_IN_CONN, CONN_I_LOAD_COMPLETE, t, 0), MD_OK);
    /* live again: the gap closes and the publisher fetches a backfill;
     * its minutes have not settled yet (REST bars are fetched 2 min after
     * they end), so nothing is sent now and a backfill timer is armed */
    assert_int_equal(count_kind(&O, MD_A_FETCH, NULL), 1);
    assert_int_equal(count_kind(&O, MD_A_REST_SEND, NULL), 0);
    assert_int_equal(C.pub.state, PUB_S_IDLE);
    assert_int_equal(C.conn.attempt, 0);
    due = armed(MD_T_BACKFILL);
    assert_true(due >= t + 120 * s && due <= t + 240 * s);
    assert_int_equal(fire(MD_T_BACKFILL, due), MD_OK);
    assert_int_equal(count_kind(&O, MD_A_REST_SEND, NULL), 1);
    assert_int_equal(C.pub.state, PUB_S_FETCHING);
    {
        /* the request covers the gap's minute, in server time */
        const struct rp_fetch *f = core_rest_head(&C);
        assert_non_null(f);
        assert_int_equal(f->purpose, RP_P_BACKFILL);
        assert_true(f->first_s <= INT64_C(1753190400) + 4 &&
                    f->last_s + 60 > INT64_C(1753190400) + 4);
    }
}

static void test_core_publish_error_recovers_by_timer(void **state)
{
    const mono_ns s = MD_NS_PER_S;
    mono_ns due;
    uint64_t n;

    (void)state;
    core_start(5);
    step(CORE_IN_START, 0, s, 0);
    step(CORE_IN_PUB, PUB_I_TOPIC_CREATED, s, 0);
    step(CORE_IN_REST, REST_I_RESP_OK, s, 2);
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
    assert_int_equal(step(CORE_IN_PUB, PUB_I_PUBLISH_FAILURE, 2 * s, 0),
                     MD_OK);
    due = armed(MD_T_PUB_RETRY);
    assert_true(due >= 3 * s);
    assert_int_equal(step(CORE_IN_PUB, PUB_I_DATA_READY, 3 * s, 1), MD_OK);
    assert_int_equal(C.pub.state, PUB_S_ERROR);
    assert_int_equal(fire(MD_T_PUB_RETRY, due), MD_OK);
    assert_int_equal(count_kind(&O, MD_A_PRODUCE, &n), 1);
    assert_int_equal(n, 2);
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
}

static void test_core_rest_rate_limit_and_failure(void **state)
{
    const mono_ns s = MD_NS_PER_S;
    struct core_in in;
    unsigned k;

    (void)state;
    core_start(9);
    step(CORE_IN_START, 0, s, 0);
    step(CORE_IN_PUB, PUB_I_TOPIC_CREATED, s, 0);
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_REST;
    in.input = REST_I_RESP_RATE_LIMIT;
    in.t_ns = 2 * s;
    in.retry_after_ns = 30 * s;
    md_out_reset(&O);
    assert_int_equal(core_step(&C, &in, &O), MD_OK);
    assert_int_equal(armed(MD_T_REST_RETRY), 32 * s); /* the server's wait */
    for (k = 0; k < 3; k++) {
        assert_int_equal(fire(MD_T_REST_RETRY, (40 + 100 * k) * s), MD_OK);
        step(CORE_IN_REST, REST_I_RESP_FAIL, (41 + 100 * k) * s, 0);
    }
    /* 4 attempts spent: the fetch fails and the publisher says so; the
     * preflight was asked for while the topic was being created, so the
     * publisher is not FETCHING and the failure does not stop it. */
    assert_int_equal(C.rest.state, REST_S_IDLE);
    assert_int_equal(C.rest.st.sent, 4);
    assert_int_equal(C.pub.state, PUB_S_IDLE);
    assert_int_equal(C.pub.st.fetch_failures, 1);
}

static void test_core_full_output_changes_nothing(void **state)
{
    static struct core before;
    struct core_in in;

    (void)state;
    core_start(3);
    memcpy(&before, &C, sizeof before);
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_START;
    md_out_reset(&O);
    O.n = MD_OUT_CAP - CORE_MAX_ACTIONS + 1;
    assert_int_equal(core_step(&C, &in, &O), MD_E_FULL);
    assert_memory_equal(&before, &C, sizeof before);
    in.kind = CORE_IN__COUNT;
    md_out_reset(&O);
    assert_int_equal(core_step(&C, &in, &O), MD_E_INVAL);
    in.kind = CORE_IN_CONN;
    in.input = CONN_I__COUNT;
    assert_int_equal(core_step(&C, &in, &O), MD_E_INVAL);
}

/* Same seed, same jitter; the back-off grows, is capped, never < 5 s. */
static void test_backoff_deterministic(void **state)
{
    struct md_prng a, b;
    int64_t prev_cap = 0;
    unsigned k, differ = 0;

    (void)state;
    md_prng_seed(&a, 99);
    md_prng_seed(&b, 99);
    for (k = 0; k < 20; k++) {
        int64_t x = md_backoff_ns(&a, k, 5 * MD_NS_PER_S, 60 * MD_NS_PER_S);
        int64_t y = md_backoff_ns(&b, k, 5 * MD_NS_PER_S, 60 * MD_NS_PER_S);
        assert_int_equal(x, y);
        assert_true(x >= 5 * MD_NS_PER_S && x <= 60 * MD_NS_PER_S);
        prev_cap = x > prev_cap ? x : prev_cap;
    }
    assert_true(prev_cap > 30 * MD_NS_PER_S);
    md_prng_seed(&b, 100);
    md_prng_seed(&a, 99);
    for (k = 0; k < 8; k++) {
        differ += md_backoff_ns(&a, 5, MD_NS_PER_S, 60 * MD_NS_PER_S) !=
                  md_backoff_ns(&b, 5, MD_NS_PER_S, 60 * MD_NS_PER_S);
    }
    assert_true(differ > 0);
    assert_int_equal(md_prng_below(&a, 0), 0);
}

static void test_trace_line_format(void **state)
{
    char buf[256];
    FILE *f;

    (void)state;
    core_start(1);
    step(CORE_IN_START, 0, 1234, 0);
    memset(buf, 0, sizeof buf);
    f = fmemopen(buf, sizeof buf - 1, "w");
    assert_non_null(f);
    assert_int_equal(O.a[0].kind, MD_A_TRACE);
    mealy_print_trace(f, &O.a[0]);
    fclose(f);
    assert_string_equal(buf,
                        "1234 pub IDLE --CREATE_DYNAMIC_TOPIC/"
                        "CREATE_NEW_TOPIC--> CREATING_TOPIC");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_fetch_publish_idle),
        cmocka_unit_test(test_seed_publish_failure_reset),
        cmocka_unit_test(test_seed_fetch_failure),
        cmocka_unit_test(test_seed_dynamic_topic),
        cmocka_unit_test(test_seed_defects_fixed),
        cmocka_unit_test(test_pub_stop_drains_then_abandons),
        cmocka_unit_test(test_core_start_and_stream),
        cmocka_unit_test(test_core_reconnect_backfills_gap),
        cmocka_unit_test(test_core_publish_error_recovers_by_timer),
        cmocka_unit_test(test_core_rest_rate_limit_and_failure),
        cmocka_unit_test(test_core_full_output_changes_nothing),
        cmocka_unit_test(test_backoff_deterministic),
        cmocka_unit_test(test_trace_line_format),
    };
    return cmocka_run_group_tests_name("fsm_scenarios", tests, NULL, NULL);
}
