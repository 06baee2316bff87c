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
#include "support/core_out.h"
#include "core.h"
#include "md_err.h"
#include "mealy_fmt.h"
#include "support/seed_pi.h"

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

/* STOP while topics are created: the drain waits for their result (a
 * bar that settles meanwhile does not end it), produces the bars the
 * result releases, and ends with the last report; a drain past its
 * deadline gives up every bar still in flight, named by count. */
static void test_pub_drain_waits_for_topic(void **state)
{
    struct pubrun r;
    uint64_t n = 0;

    (void)state;
    pubrun_init(&r);
    feed(&r, PUB_I_DATA_READY, 1);
    feed(&r, PUB_I_CREATE_DYNAMIC_TOPIC, 0);
    assert_int_equal(r.m.state, PUB_S_CREATING_TOPIC);
    feed(&r, PUB_I_STOP, 0);
    assert_int_equal(r.m.state, PUB_S_DRAINING);
    assert_true(r.m.topic_wait);
    feed(&r, PUB_I_PUBLISH_SUCCESS, 0); /* the last bar in flight */
    assert_int_equal(r.m.state, PUB_S_DRAINING);
    feed(&r, PUB_I_DATA_READY, 2);      /* the topic's bars, released */
    assert_int_equal(count_kind(&r.out, MD_A_PRODUCE, &n), 1);
    assert_int_equal(n, 2);
    feed(&r, PUB_I_TOPIC_CREATED, 0);
    assert_int_equal(r.m.state, PUB_S_DRAINING);
    assert_false(r.m.topic_wait);
    assert_int_equal(r.m.st.topics_created, 1);
    feed(&r, PUB_I_PUBLISH_SUCCESS, 0);
    feed(&r, PUB_I_PUBLISH_SUCCESS, 0);
    assert_int_equal(r.m.state, PUB_S_STOPPED);
    /* past the deadline: both bars in flight given up */
    pubrun_init(&r);
    feed(&r, PUB_I_DATA_READY, 2);
    feed(&r, PUB_I_STOP, 0);
    feed(&r, PUB_I_T_FLUSH, 0);
    assert_int_equal(r.m.state, PUB_S_STOPPED);
    assert_int_equal(count_kind(&r.out, MD_A_DISCARD, &n), 1);
    assert_int_equal(n, 2);
    assert_int_equal(r.m.st.lost, 2);
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

/* ---- honest tables ------------------------------------------------ */

/* The output of (state, input) with the guards g. */
static unsigned out_of(const struct fsm_def *d, unsigned s, unsigned i,
                       uint32_t g)
{
    const struct fsm_arm *arm;

    assert_int_equal(fsm_select(d, s, i, g, &arm), MD_OK);
    return arm->out;
}

/* One output per distinct effect: the seed's HANDLE_ERROR and the old
 * FINISH did different things per input; now each effect has its output,
 * and pi still projects the error cells onto HANDLE_ERROR. */
static void test_one_output_per_effect(void **state)
{
    const uint32_t last = 1u << PUB_G_LAST;
    unsigned pub_err = out_of(&pub_def, PUB_S_PUBLISHING,
                              PUB_I_PUBLISH_FAILURE, 0);
    unsigned fetch_err = out_of(&pub_def, PUB_S_FETCHING,
                                PUB_I_FETCH_FAILURE, 0);
    unsigned topic_err = out_of(&pub_def, PUB_S_CREATING_TOPIC,
                                PUB_I_TOPIC_FAILED, 0);
    unsigned fin_stop = out_of(&pub_def, PUB_S_IDLE, PUB_I_STOP, 0);
    unsigned fin_ack = out_of(&pub_def, PUB_S_DRAINING,
                              PUB_I_PUBLISH_SUCCESS, last);
    unsigned fin_lose = out_of(&pub_def, PUB_S_DRAINING,
                               PUB_I_PUBLISH_FAILURE, last);

    (void)state;
    assert_int_not_equal(pub_err, fetch_err);
    assert_int_not_equal(pub_err, topic_err);
    assert_int_not_equal(fetch_err, topic_err);
    assert_string_equal(pi_out(pub_err), "HANDLE_ERROR");
    assert_string_equal(pi_out(fetch_err), "HANDLE_ERROR");
    assert_string_equal(pi_out(topic_err), "HANDLE_ERROR");
    assert_int_not_equal(fin_stop, fin_ack);
    assert_int_not_equal(fin_stop, fin_lose);
    assert_int_not_equal(fin_ack, fin_lose);
    /* conn: a socket that ended is not closed again; a forced disconnect
     * is noted; a timeout closes the socket */
    assert_int_not_equal(out_of(&conn_def, CONN_S_STREAMING,
                                CONN_I_WS_CLOSED, 0),
                         out_of(&conn_def, CONN_S_STREAMING,
                                CONN_I_FORCE_DISCONNECT, 0));
    assert_int_not_equal(out_of(&conn_def, CONN_S_STREAMING,
                                CONN_I_WS_CLOSED, 0),
                         out_of(&conn_def, CONN_S_STREAMING, CONN_I_T_STALE,
                                1u << CONN_G_QUIET));
    /* rest: spent retries cancel the request, a parameter error does not;
     * a rate limit is counted, a transport error is not */
    assert_int_not_equal(out_of(&rest_def, REST_S_REQUESTING,
                                REST_I_RESP_PARAM_ERROR, 0),
                         out_of(&rest_def, REST_S_REQUESTING,
                                REST_I_T_TIMEOUT, 0));
    assert_int_not_equal(out_of(&rest_def, REST_S_REQUESTING,
                                REST_I_RESP_RATE_LIMIT, 1u << REST_G_RETRY),
                         out_of(&rest_def, REST_S_REQUESTING,
                                REST_I_RESP_FAIL, 1u << REST_G_RETRY));
    assert_int_not_equal(out_of(&rest_def, REST_S_REQUESTING, REST_I_STOP, 0),
                         out_of(&rest_def, REST_S_WAITING, REST_I_STOP, 0));
}

/* A failed bar that goes back to the queue is an action the composition
 * sees (MD_A_REQUEUE); ABANDON gives up everything outstanding. */
static void test_pub_requeue_and_abandon_actions(void **state)
{
    struct pubrun r;
    uint64_t n;

    (void)state;
    pubrun_init(&r);
    feed(&r, PUB_I_DATA_READY, 3);
    feed(&r, PUB_I_PUBLISH_FAILURE, 0); /* PUBLISHING: HANDLE_ERROR_... */
    assert_int_equal(count_kind(&r.out, MD_A_REQUEUE, &n), 1);
    assert_int_equal(n, 1);
    feed(&r, PUB_I_PUBLISH_FAILURE, 0); /* ERROR: REQUEUE */
    assert_int_equal(count_kind(&r.out, MD_A_REQUEUE, &n), 1);
    assert_int_equal(n, 1);
    assert_int_equal(r.m.queued, 2);
    assert_int_equal(r.m.inflight, 1);
    feed(&r, PUB_I_STOP, 0); /* FLUSH produces the 2 queued */
    assert_int_equal(r.m.state, PUB_S_DRAINING);
    assert_int_equal(r.m.inflight, 3);
    feed(&r, PUB_I_PUBLISH_FAILURE, 0); /* draining: LOSE, no requeue */
    assert_int_equal(count_kind(&r.out, MD_A_REQUEUE, NULL), 0);
    assert_int_equal(count_kind(&r.out, MD_A_DISCARD, &n), 1);
    assert_int_equal(n, 1);
    feed(&r, PUB_I_T_FLUSH, 0);
    assert_int_equal(r.m.state, PUB_S_STOPPED);
    /* the two still in flight are discarded, not only the queued (0) */
    assert_int_equal(count_kind(&r.out, MD_A_DISCARD, &n), 1);
    assert_int_equal(n, 2);
    assert_int_equal(r.m.st.lost, 3);
    assert_int_equal(r.m.inflight + r.m.queued, 0);
}

/* Arg of the single MD_N_UNREACHABLE note in out, or -1. */
static int64_t unreachable_note(const struct md_out *out)
{
    size_t i;
    int64_t arg = -1;

    for (i = 0; i < out->n; i++) {
        if (out->a[i].kind == MD_A_NOTE &&
            out->a[i].note == MD_N_UNREACHABLE) {
            assert_int_equal(arg, -1);
            arg = (int64_t)out->a[i].arg;
        }
    }
    return arg;
}

/* A contract-breaking input (a cell labelled unreachable) is taken as the
 * table says (a no-op), and noted and counted. */
static void test_unreachable_cell_noted_and_counted(void **state)
{
    static struct md_prng rng;
    struct conn c;
    struct rest rs;
    struct pub p;
    struct conn_config cc;
    struct rest_config rc;
    struct pub_config pc;
    struct conn_in ci = {CONN_I_DATA, 5, 0};
    struct rest_in ri = {REST_I_RESP_OK, 5, 0, 1};
    struct pub_in pi = {PUB_I_PUBLISH_SUCCESS, 5, 0};
    struct md_out out;

    (void)state;
    md_prng_seed(&rng, 1);
    conn_config_default(&cc);
    conn_init(&c, &cc, &rng);
    md_out_reset(&out);
    assert_int_equal(conn_step(&c, &ci, &out), MD_OK); /* data, no socket */
    assert_int_equal(c.state, CONN_S_IDLE);
    assert_int_equal(c.st.unreachable, 1);
    assert_int_equal(unreachable_note(&out),
                     (MD_M_CONN << 16) | (CONN_S_IDLE << 8) | CONN_I_DATA);
    ci.input = CONN_I_START;
    md_out_reset(&out);
    assert_int_equal(conn_step(&c, &ci, &out), MD_OK); /* reachable */
    assert_int_equal(unreachable_note(&out), -1);
    assert_int_equal(c.st.unreachable, 1);

    rest_config_default(&rc);
    rest_init(&rs, &rc, &rng);
    md_out_reset(&out);
    assert_int_equal(rest_step(&rs, &ri, &out), MD_OK); /* no request */
    assert_int_equal(rs.st.unreachable, 1);
    assert_int_equal(unreachable_note(&out),
                     (MD_M_REST << 16) | (REST_S_IDLE << 8) | REST_I_RESP_OK);

    pub_config_default(&pc);
    pub_init(&p, &pc, &rng);
    md_out_reset(&out);
    assert_int_equal(pub_step(&p, &pi, &out), MD_OK); /* nothing produced */
    assert_int_equal(p.state, PUB_S_IDLE);
    assert_int_equal(p.st.unreachable, 1);
    assert_int_equal(p.st.delivered, 0);
    assert_int_equal(unreachable_note(&out),
                     (MD_M_PUB << 16) | (PUB_S_IDLE << 8) |
                         PUB_I_PUBLISH_SUCCESS);
}

/* The invariants of each header, as functions; a corrupted machine is
 * caught by its check and, in debug builds, by its next step. */
static void test_checks_catch_corrupted_state(void **state)
{
    static struct md_prng rng;
    struct conn c;
    struct rest rs;
    struct pub p;
    struct conn_config cc;
    struct rest_config rc;
    struct pub_config pc;
    struct conn_in ci = {CONN_I_RESET, 5, 0};
    struct rest_in ri = {REST_I_FETCH, 5, 0, 1};
    struct pub_in pi = {PUB_I_RESET, 5, 0};
    struct md_out out;
    char why[128];

    (void)state;
    md_prng_seed(&rng, 1);
    conn_config_default(&cc);
    conn_init(&c, &cc, &rng);
    assert_int_equal(conn_check(&c, why, sizeof why), MD_OK);
    c.state = CONN_S_STREAMING; /* no stale timer, never live */
    assert_int_equal(conn_check(&c, why, sizeof why), MD_E_STATE);
    assert_non_null(strstr(why, "conn STREAMING"));
    conn_init(&c, &cc, &rng);
    c.conn_id = 3; /* IDLE has opened no socket */
    assert_int_equal(conn_check(&c, why, sizeof why), MD_E_STATE);
#ifndef NDEBUG
    md_out_reset(&out);
    assert_int_equal(conn_step(&c, &ci, &out), MD_E_STATE);
#endif

    rest_config_default(&rc);
    rest_init(&rs, &rc, &rng);
    md_out_reset(&out);
    assert_int_equal(rest_step(&rs, &ri, &out), MD_OK);
    assert_int_equal(rest_check(&rs, why, sizeof why), MD_OK);
    rs.timers = 0; /* REQUESTING without its timeout */
    assert_int_equal(rest_check(&rs, why, sizeof why), MD_E_STATE);
    assert_non_null(strstr(why, "timers"));
#ifndef NDEBUG
    ri.input = REST_I_FETCH; /* ENQUEUE keeps REQUESTING */
    md_out_reset(&out);
    assert_int_equal(rest_step(&rs, &ri, &out), MD_E_STATE);
#endif

    pub_config_default(&pc);
    pub_init(&p, &pc, &rng);
    assert_int_equal(pub_check(&p, why, sizeof why), MD_OK);
    p.inflight = 1; /* IDLE with a bar in flight */
    assert_int_equal(pub_check(&p, why, sizeof why), MD_E_STATE);
    assert_non_null(strstr(why, "pub IDLE"));
#ifndef NDEBUG
    md_out_reset(&out);
    assert_int_equal(pub_step(&p, &pi, &out), MD_E_STATE);
#endif
    p.inflight = 0;
    p.state = PUB_S_PUBLISHING; /* publishing nothing */
    assert_int_equal(pub_check(&p, why, sizeof why), MD_E_STATE);
    (void)pi;
    (void)ci;
}

/* Whatever the shells do, contract or not, every step succeeds and the
 * invariants hold: a broken contract gets a no-op and a note, never an
 * error from the debug checks. Deterministic: a seeded PRNG. */
static void test_checks_hold_under_any_input(void **state)
{
    static struct md_prng rng, pick;
    struct conn c;
    struct rest rs;
    struct pub p;
    struct conn_config cc;
    struct rest_config rc;
    struct pub_config pc;
    struct md_out out;
    char why[128];
    mono_ns t = MD_NS_PER_S;
    unsigned k;

    (void)state;
    md_prng_seed(&rng, 11);
    md_prng_seed(&pick, 12);
    conn_config_default(&cc);
    rest_config_default(&rc);
    rc.queue_cap = 4;
    pub_config_default(&pc);
    conn_init(&c, &cc, &rng);
    rest_init(&rs, &rc, &rng);
    pub_init(&p, &pc, &rng);
    for (k = 0; k < 200000; k++) {
        unsigned m = (unsigned)md_prng_below(&pick, 3);
        int r;

        t += (mono_ns)md_prng_below(&pick, 40) * MD_NS_PER_S;
        md_out_reset(&out);
        if (m == 0) {
            struct conn_in in = {
                (uint8_t)(1 + md_prng_below(&pick, CONN_I__COUNT - 1)), t,
                0};
            r = conn_step(&c, &in, &out);
            if (r == MD_OK) {
                r = conn_check(&c, why, sizeof why);
            }
        } else if (m == 1) {
            struct rest_in in = {
                (uint8_t)(1 + md_prng_below(&pick, REST_I__COUNT - 1)), t,
                0, (uint32_t)md_prng_below(&pick, 6)};
            r = rest_step(&rs, &in, &out);
            if (r == MD_OK) {
                r = rest_check(&rs, why, sizeof why);
            }
        } else {
            struct pub_in in = {
                (uint8_t)(1 + md_prng_below(&pick, PUB_I__COUNT - 1)), t,
                md_prng_below(&pick, 3)};
            r = pub_step(&p, &in, &out);
            if (r == MD_OK) {
                r = pub_check(&p, why, sizeof why);
            }
        }
        if (r != MD_OK) {
            fail_msg("step %u (machine %u): %s: %s", k, m, md_errname(r),
                     why);
        }
        if (c.state == CONN_S_STOPPED && md_prng_below(&pick, 50) == 0) {
            conn_init(&c, &cc, &rng);
        }
        if (rs.state == REST_S_STOPPED && md_prng_below(&pick, 50) == 0) {
            rest_init(&rs, &rc, &rng);
        }
        if (p.state == PUB_S_STOPPED && md_prng_below(&pick, 50) == 0) {
            pub_init(&p, &pc, &rng);
        }
    }
    /* the contract was broken, and it shows */
    assert_true(c.st.unreachable + rs.st.unreachable + p.st.unreachable > 0);
}

/* The feed owns the server-time offset: an outside estimate (START's wall
 * clock) is taken only until the server has told its time. */
static void test_feed_clock_estimate(void **state)
{
    static struct feed f;
    static struct agg_config ac;
    const char welcome[] = "{\"TYPE\":\"20\",\"MESSAGE\":"
                           "\"STREAMERWELCOME\",\"SERVER_TIME_MS\":"
                           "2000000}";
    struct feed_result res;
    size_t need;
    void *mem;

    (void)state;
    agg_config_default(&ac);
    need = feed_mem_size(&ac, 0);
    mem = libc_malloc(need);
    assert_non_null(mem);
    assert_int_equal(feed_init(&f, &ac, 0, mem, need), MD_OK);
    feed_set_clock_estimate(&f, 0, 5); /* no estimate: ignored */
    assert_false(f.have_offset);
    feed_set_clock_estimate(&f, 1000, 7 * MD_NS_PER_MS);
    assert_int_equal(feed_server_ns(&f, 7 * MD_NS_PER_MS),
                     1000 * MD_NS_PER_MS);
    (void)feed_frame(&f, welcome, sizeof welcome - 1, 10 * MD_NS_PER_MS,
                     &res);
    assert_int_equal(res.server_ms, 2000000);
    assert_int_equal(feed_server_ns(&f, 10 * MD_NS_PER_MS),
                     2000000 * MD_NS_PER_MS);
    /* learned from the server: a later estimate changes nothing */
    feed_set_clock_estimate(&f, 1000, 10 * MD_NS_PER_MS);
    assert_int_equal(feed_server_ns(&f, 10 * MD_NS_PER_MS),
                     2000000 * MD_NS_PER_MS);
    libc_free(mem);
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
    cfg.rp.preflight_bars = 3;
    assert_int_equal(core_config_add_series(&cfg, "CCCAGG", "BTC", "USD", 60),
                     MD_OK);
    need = core_mem_size(&cfg);
    libc_free(mem);
    mem = libc_malloc(need);
    assert_non_null(mem);
    assert_int_equal(core_init(&C, &cfg, mem, need), MD_OK);
}

#define WALL0_S INT64_C(1753190400) /* the wall clock at START */

/* A real preflight answer at t (START was at t0): every minute of the
 * last half hour; the REST policy keeps the settled ones it asked for.
 * Returns the core's rc; the bars are in O's BARS actions. */
static int preflight(mono_ns t0, mono_ns t)
{
    static char body[16384];
    int64_t now_s = WALL0_S + (t - t0) / MD_NS_PER_S;
    int64_t first = (now_s / 60 - 30) * 60, m;
    size_t n;
    struct core_in in;

    n = (size_t)snprintf(body, sizeof body,
                         "{\"Response\":\"Success\",\"Message\":\"\","
                         "\"HasWarning\":false,\"Type\":100,"
                         "\"RateLimit\":{},\"Data\":{\"Aggregated\":false,"
                         "\"TimeFrom\":%lld,\"TimeTo\":%lld,\"Data\":[",
                         (long long)first, (long long)(first + 30 * 60));
    for (m = 0; m <= 30; m++) {
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "%s{\"time\":%lld,\"high\":101,\"low\":99,"
                              "\"open\":100,\"volumefrom\":1.5,"
                              "\"volumeto\":150,\"close\":100.5,"
                              "\"conversionType\":\"direct\","
                              "\"conversionSymbol\":\"\"}",
                              m ? "," : "", (long long)(first + 60 * m));
    }
    n += (size_t)snprintf(body + n, sizeof body - n, "]}}");
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_HTTP;
    in.t_ns = t;
    in.http_status = 200;
    in.data = body;
    in.len = n;
    md_out_reset(&O);
    return core_step(&C, &in, &O);
}

/* The ids of the bars the last step produced, into ids[0..cap). */
static size_t produced(uint64_t *ids, size_t cap)
{
    size_t i, k, n = 0;

    for (i = 0; i < O.n; i++) {
        if (O.a[i].kind == MD_A_PRODUCE) {
            for (k = 0; k < O.a[i].n && n < cap; k++) {
                ids[n++] = O.a[i].p.bars[k]->id;
            }
        }
    }
    return n;
}

static int report(mono_ns t, uint64_t id, int ok)
{
    struct core_in in;

    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_PUB;
    in.input = ok ? PUB_I_PUBLISH_SUCCESS : PUB_I_PUBLISH_FAILURE;
    in.t_ns = t;
    in.bar_id = id;
    md_out_reset(&O);
    return core_step(&C, &in, &O);
}

static const char TOPIC[] = "ohlcv.CCCAGG.1m";

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
    if (kind == CORE_IN_PUB && (input == PUB_I_TOPIC_CREATED ||
                                input == PUB_I_TOPIC_FAILED)) {
        /* the result names its topic: the series' (or, not asked for,
         * a topic the shell knows exists) */
        in.data = TOPIC;
        in.len = sizeof TOPIC - 1;
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
    return out_armed(&O, timer);
}

static void test_core_start_and_stream(void **state)
{
    const mono_ns s = MD_NS_PER_S;

    (void)state;
    core_start(42);
    assert_int_equal(step(CORE_IN_START, 0, 10 * s, 0), MD_OK);
    /* topics on demand: none asked for before a bar is bound for one */
    assert_int_equal(count_kind(&O, MD_A_TOPIC_CREATE, NULL), 0);
    assert_int_equal(count_kind(&O, MD_A_WS_OPEN, NULL), 1);
    assert_int_equal(count_kind(&O, MD_A_FETCH, NULL), 0); /* internal */
    /* pub's START_FETCH reached rest within the same step: preflight */
    assert_int_equal(count_kind(&O, MD_A_REST_SEND, NULL), 1);
    assert_int_equal(armed(MD_T_CONN_HANDSHAKE), 25 * s);
    assert_int_equal(C.pub.state, PUB_S_FETCHING);
    assert_int_equal(C.rest.state, REST_S_REQUESTING);

    assert_int_equal(step(CORE_IN_CONN, CONN_I_WS_OPEN, 11 * s, 0), MD_OK);
    assert_int_equal(step(CORE_IN_CONN, CONN_I_WELCOME, 11 * s, 0), MD_OK);
    assert_int_equal(count_kind(&O, MD_A_WS_SUBSCRIBE, NULL), 1);
    assert_int_equal(armed(MD_T_CONN_STALE), 86 * s);
    assert_int_equal(step(CORE_IN_CONN, CONN_I_DATA, 12 * s, 0), MD_OK);
    assert_int_equal(step(CORE_IN_CONN, CONN_I_LOAD_COMPLETE, 12 * s, 0),
                     MD_OK);
    assert_int_equal(C.conn.state, CONN_S_STREAMING);

    /* preflight answered with 3 bars: they wait for their topic, asked
     * for by name */
    assert_int_equal(preflight(10 * s, 13 * s), MD_OK);
    assert_int_equal(count_kind(&O, MD_A_TOPIC_CREATE, NULL), 1);
    assert_int_equal(C.pub.state, PUB_S_CREATING_TOPIC);
    assert_int_equal(C.s.n_parked, 3);
    assert_int_equal(C.pub.queued, 0);
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
    assert_int_equal(C.rest.state, REST_S_IDLE);
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
    assert_int_equal(count_kind(&O, MD_A_FETCH, NULL), 0); /* internal */
    assert_int_equal(count_kind(&O, MD_A_REST_SEND, NULL), 0);
    assert_int_equal(C.pub.state, PUB_S_IDLE);
    assert_int_equal(C.conn.attempt, 0);
    due = armed(MD_T_BACKFILL);
    assert_true(due >= t + 120 * s && due <= t + 240 * s);
    assert_int_equal(fire(MD_T_BACKFILL, due), MD_OK);
    assert_int_equal(count_kind(&O, MD_A_REST_SEND, NULL), 1);
    assert_int_equal(C.pub.state, PUB_S_FETCHING);
    {
        /* the request covers the gap's minute, in server time: the
         * action names it (toTs = the last bar's start) */
        const struct md_request *rq = NULL;
        const char *ts;
        long long to;
        size_t i;
        for (i = 0; i < O.n; i++) {
            if (O.a[i].kind == MD_A_REST_SEND) {
                rq = O.a[i].p.req;
            }
        }
        assert_non_null(rq);
        assert_int_equal(rq->purpose, RP_P_BACKFILL);
        ts = strstr(rq->target, "toTs=");
        assert_non_null(ts);
        to = strtoll(ts + 5, NULL, 10);
        assert_true(to + 60 > INT64_C(1753190400) + 4);
        assert_true(to <= INT64_C(1753190400) + 4 + 60);
    }
}

static void test_core_publish_error_recovers_by_timer(void **state)
{
    const mono_ns s = MD_NS_PER_S;
    mono_ns due;
    uint64_t n;

    (void)state;
    uint64_t ids[8], again[8];

    (void)state;
    core_start(5);
    step(CORE_IN_START, 0, s, 0);
    step(CORE_IN_PUB, PUB_I_TOPIC_CREATED, s, 0);
    assert_int_equal(preflight(s, s), MD_OK);
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
    assert_int_equal(produced(ids, 8), 3);
    /* delivery reports come back by id, in any order */
    assert_int_equal(report(2 * s, ids[2], 1), MD_OK);
    assert_int_equal(report(2 * s, ids[1], 0), MD_OK);
    assert_int_equal(C.pub.state, PUB_S_ERROR);
    due = armed(MD_T_PUB_RETRY);
    assert_true(due >= 3 * s);
    /* a report for a bar already delivered is not the publisher's */
    assert_int_equal(report(2 * s, ids[2], 1), MD_OK);
    assert_int_equal(C.st.stale_reports, 1);
    assert_int_equal(count_kind(&O, MD_A_NOTE, NULL), 1);
    assert_int_equal(fire(MD_T_PUB_RETRY, due), MD_OK);
    /* the failed bar, and only it, is produced again, same id */
    assert_int_equal(count_kind(&O, MD_A_PRODUCE, &n), 1);
    assert_int_equal(produced(again, 8), 1);
    assert_int_equal(again[0], ids[1]);
    assert_int_equal(C.pub.state, PUB_S_PUBLISHING);
    assert_int_equal(report(4 * s, ids[0], 1), MD_OK);
    assert_int_equal(report(4 * s, ids[1], 1), MD_OK);
    assert_int_equal(C.pub.state, PUB_S_IDLE);
    assert_int_equal(C.s.n_inflight + C.s.n_queued, 0);
    assert_int_equal(core_check(&C), MD_OK);
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
    /* 4 attempts spent: the fetch fails and the publisher, which was
     * waiting for it (FETCHING), takes the error path and its back-off */
    assert_int_equal(C.rest.state, REST_S_IDLE);
    assert_int_equal(C.rest.st.sent, 4);
    assert_int_equal(C.pub.state, PUB_S_ERROR);
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

/* A gap closes with 16 series whose minutes have not settled: each series
 * keeps its own resume point, and the backfill timer is armed once in the
 * step (at the earliest), not once per series. */
static void test_core_backfill_timer_armed_once(void **state)
{
    static const char *const syms[] = {"BTC", "ETH", "LTC", "XRP",
                                       "SOL", "ADA", "DOT", "BCH"};
    static struct core_config cfg;
    static struct rp_series series[16];
    static void *mem;
    const mono_ns s = MD_NS_PER_S;
    size_t i, arms = 0, need;
    unsigned k, pending = 0;

    (void)state;
    core_config_default(&cfg);
    cfg.series = series;
    cfg.cap_series = 16;
    cfg.seed = 4;
    for (k = 0; k < 8; k++) {
        assert_int_equal(core_config_add_series(&cfg, "CCCAGG", syms[k], "USD",
                                                60), MD_OK);
        assert_int_equal(core_config_add_series(&cfg, "Coinbase", syms[k],
                                                "USD", 60), MD_OK);
    }
    need = core_mem_size(&cfg);
    libc_free(mem);
    mem = libc_malloc(need);
    assert_non_null(mem);
    assert_int_equal(core_init(&C, &cfg, mem, need), MD_OK);
    step(CORE_IN_START, 0, s, 0);
    step(CORE_IN_PUB, PUB_I_TOPIC_CREATED, s, 0);
    step(CORE_IN_CONN, CONN_I_WS_OPEN, 2 * s, 0);
    step(CORE_IN_CONN, CONN_I_WELCOME, 2 * s, 0);
    step(CORE_IN_CONN, CONN_I_LOAD_COMPLETE, 3 * s, 0);
    step(CORE_IN_CONN, CONN_I_DATA, 4 * s, 0);
    step(CORE_IN_CONN, CONN_I_WS_CLOSED, 5 * s, 0);
    assert_int_equal(fire(MD_T_CONN_BACKOFF, armed(MD_T_CONN_BACKOFF)),
                     MD_OK);
    step(CORE_IN_CONN, CONN_I_WS_OPEN, 20 * s, 0);
    step(CORE_IN_CONN, CONN_I_WELCOME, 20 * s, 0);
    assert_int_equal(step(CORE_IN_CONN, CONN_I_LOAD_COMPLETE, 20 * s, 0),
                     MD_OK);
    for (i = 0; i < O.n; i++) {
        arms += O.a[i].kind == MD_A_ARM_TIMER &&
                O.a[i].timer == MD_T_BACKFILL;
    }
    for (k = 0; k < C.cfg.n_series; k++) {
        pending += C.bf[k].pending;
    }
    assert_int_equal(pending, 16);
    assert_int_equal(arms, 1);
}

/* A later machine step that fails leaves the core as it was: START steps
 * conn (open), then pub (fetch) and rest (send); with pub's cell emptied
 * in a copy of its table the step fails and nothing of conn's step
 * stays, nor any action. */
static void test_core_failing_later_step_changes_nothing(void **state)
{
    static struct fsm_cell cells[PUB_S__COUNT][PUB_I__COUNT];
    static struct fsm_def def;
    static struct core before;
    struct core_in in;

    (void)state;
    core_start(3);
    memcpy(cells, pub_def.cells, sizeof cells);
    cells[PUB_S_IDLE][PUB_I_FETCH_DATA].narms = 0;
    def = pub_def;
    def.cells = &cells[0][0];
    C.pub.def = &def;
    memcpy(&before, &C, sizeof before);
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_START;
    in.t_ns = MD_NS_PER_S;
    in.server_ms = INT64_C(1753190400000);
    md_out_reset(&O);
    assert_int_equal(core_step(&C, &in, &O), MD_E_STATE);
    assert_int_equal(O.n, 0);
    assert_int_equal(C.conn.state, CONN_S_IDLE);
    assert_int_equal(C.pub.state, PUB_S_IDLE);
    assert_memory_equal(&before.conn, &C.conn, sizeof C.conn);
    assert_memory_equal(&before.pub, &C.pub, sizeof C.pub);
    assert_memory_equal(&before.rest, &C.rest, sizeof C.rest);
    assert_memory_equal(&before.s, &C.s, sizeof C.s);
    assert_int_equal(C.feed.have_offset, before.feed.have_offset);
    assert_int_equal(C.st.rollbacks, 1);
    /* with the table whole again the same input goes through */
    C.pub.def = &pub_def;
    md_out_reset(&O);
    assert_int_equal(core_step(&C, &in, &O), MD_OK);
    assert_int_equal(C.conn.state, CONN_S_CONNECTING);
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
    assert_string_equal(buf, "1234 conn IDLE --START/OPEN--> CONNECTING");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_fetch_publish_idle),
        cmocka_unit_test(test_seed_publish_failure_reset),
        cmocka_unit_test(test_seed_fetch_failure),
        cmocka_unit_test(test_seed_dynamic_topic),
        cmocka_unit_test(test_pub_drain_waits_for_topic),
        cmocka_unit_test(test_seed_defects_fixed),
        cmocka_unit_test(test_pub_stop_drains_then_abandons),
        cmocka_unit_test(test_one_output_per_effect),
        cmocka_unit_test(test_pub_requeue_and_abandon_actions),
        cmocka_unit_test(test_unreachable_cell_noted_and_counted),
        cmocka_unit_test(test_checks_catch_corrupted_state),
        cmocka_unit_test(test_checks_hold_under_any_input),
        cmocka_unit_test(test_feed_clock_estimate),
        cmocka_unit_test(test_core_start_and_stream),
        cmocka_unit_test(test_core_reconnect_backfills_gap),
        cmocka_unit_test(test_core_publish_error_recovers_by_timer),
        cmocka_unit_test(test_core_rest_rate_limit_and_failure),
        cmocka_unit_test(test_core_full_output_changes_nothing),
        cmocka_unit_test(test_core_failing_later_step_changes_nothing),
        cmocka_unit_test(test_core_backfill_timer_armed_once),
        cmocka_unit_test(test_backoff_deterministic),
        cmocka_unit_test(test_trace_line_format),
    };
    return cmocka_run_group_tests_name("fsm_scenarios", tests, NULL, NULL);
}
