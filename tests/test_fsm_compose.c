/* test_fsm_compose.c: the three machines composed, explored together with
 * the bar and backfill timers through core_step, against a model of the
 * shells that keeps their promises (docs/replay-contract.md) and nothing
 * more: a socket delivers frames only while open and ends once; a pong
 * answers a ping; a REST response answers the request outstanding; a
 * delivery report names a bar in flight; a refusal at once comes right
 * after its produce; a fatal error comes with bars in flight; an Admin
 * result answers a CreateTopics; a timer fires only while armed, earliest
 * first, stamped with its deadline; the operator may act at any time.
 *
 * Seeded random walks (deterministic) pick among the moves the model
 * allows, with time advancing by steps from 1 ms to 20 s, never past the
 * next deadline. After every step: core_check holds, no cell labelled
 * unreachable is taken (the composition would note it), and at the end
 * every (machine, state, input) taken is labelled reachable. The per-
 * machine explorations (test_fsm_labels.c) show the unreachable labels
 * hold against an environment that over-approximates the other machines;
 * this shows they hold for the machines as they really drive each other,
 * and counts the reachable cells and arms the composition takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libc's malloc and free, before cmocka's leak-checking macros: the
 * core's memory is reused across the walks and freed at the end. */
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
#include "md_prng.h"

#define S INT64_C(1000000000)
#define MS INT64_C(1000000)
#define T0 INT64_C(1753190400) /* server time (s) at local L0 */
#define L0 (1000 * S)
#define WALKS 6000
#define STEPS 1500
#define MAX_INFLIGHT 64

enum sock { SOCK_NONE, SOCK_CONNECTING, SOCK_OPEN, SOCK_CLOSING };

struct world {
    mono_ns now;
    uint8_t armed[MD_T__COUNT];
    mono_ns deadline[MD_T__COUNT];
    uint32_t sock_id;
    uint8_t sock, ping_out, req, started;
    char asked[8][CORE_TOPIC_MAX]; /* topics whose result is due */
    size_t n_asked;
    uint64_t inflight[MAX_INFLIGHT];
    size_t n_inflight;
    uint64_t refusable[MAX_INFLIGHT];
    size_t n_refusable;
};

static struct core C;
static struct core_config CFG;
static struct rp_series SERIES[4];
static void *MEM;
static size_t MEM_N;
static struct md_out O;
static struct md_prng R;
static struct world W;
/* taken: cells and arms (guard, output) per machine */
static uint8_t cell_taken[MD_M__COUNT][16][40];
static uint8_t arm_taken[MD_M__COUNT][16][40][FSM_MAX_ARMS];

static void inflight_remove(uint64_t id)
{
    size_t k;

    for (k = 0; k < W.n_inflight; k++) {
        if (W.inflight[k] == id) {
            W.inflight[k] = W.inflight[--W.n_inflight];
            return;
        }
    }
}

/* Which arm of its cell a trace took: the first whose guard and output
 * match (a guard label names one arm). */
static void note_arm(const struct md_trace *tr)
{
    const struct fsm_cell *c =
        fsm_cell_at(core_defs[tr->machine], tr->from, tr->input);
    unsigned a;

    for (a = 0; c != NULL && a < c->narms; a++) {
        if (c->arm[a].guard == tr->guard && c->arm[a].out == tr->output &&
            c->arm[a].next == tr->to) {
            arm_taken[tr->machine][tr->from][tr->input][a] = 1;
            return;
        }
    }
    fail_msg("%s (%s, %s): a transition that is no arm of its cell",
             core_defs[tr->machine]->name,
             core_defs[tr->machine]->state_names[tr->from],
             core_defs[tr->machine]->input_names[tr->input]);
}

/* The world learns what is outstanding from the core's actions only. */
static void apply(void)
{
    size_t i, k;

    for (i = 0; i < O.n; i++) {
        const struct md_action *a = &O.a[i];
        switch (a->kind) {
        case MD_A_TRACE:
            cell_taken[a->tr.machine][a->tr.from][a->tr.input] = 1;
            note_arm(&a->tr);
            break;
        case MD_A_ARM_TIMER:
            if (a->deadline_ns < W.now) {
                fail_msg("timer %s armed %lld ns in the past (conn %s, "
                         "rest %s, pub %s)", md_timer_name(a->timer),
                         (long long)(W.now - a->deadline_ns),
                         conn_def.state_names[C.conn.state],
                         rest_def.state_names[C.rest.state],
                         pub_def.state_names[C.pub.state]);
            }
            W.armed[a->timer] = 1;
            W.deadline[a->timer] = a->deadline_ns;
            break;
        case MD_A_CANCEL_TIMER:
            W.armed[a->timer] = 0;
            break;
        case MD_A_WS_OPEN:
            W.sock = SOCK_CONNECTING;
            W.sock_id = (uint32_t)a->arg;
            W.ping_out = 0;
            break;
        case MD_A_WS_CLOSE:
            if (a->arg == W.sock_id &&
                (W.sock == SOCK_CONNECTING || W.sock == SOCK_OPEN)) {
                W.sock = SOCK_CLOSING;
            }
            break;
        case MD_A_WS_PING:
            assert_int_equal(W.sock, SOCK_OPEN);
            W.ping_out = 1;
            break;
        case MD_A_REST_SEND:
            assert_int_equal(W.req, 0);
            W.req = 1;
            break;
        case MD_A_REST_CANCEL:
            W.req = 0;
            break;
        case MD_A_TOPIC_CREATE:
            for (k = 0; k < a->n; k++) {
                assert_true(W.n_asked < 8);
                snprintf(W.asked[W.n_asked++], CORE_TOPIC_MAX, "%s",
                         a->p.topics[k]);
            }
            break;
        case MD_A_PRODUCE:
            W.n_refusable = 0; /* only this produce may be refused */
            for (k = 0; k < a->n; k++) {
                assert_true(W.n_inflight < MAX_INFLIGHT);
                W.inflight[W.n_inflight++] = a->p.bars[k]->id;
                W.refusable[W.n_refusable++] = a->p.bars[k]->id;
            }
            break;
        case MD_A_DISCARD:
            /* given up: a late report would be stale; none is sent */
            for (k = 0; k < a->n; k++) {
                inflight_remove(a->p.bars[k]->id);
            }
            break;
        case MD_A_NOTE:
            if (a->note == MD_N_UNREACHABLE) {
                size_t j;
                for (j = 0; j < O.n; j++) {
                    if (O.a[j].kind == MD_A_TRACE) {
                        const struct fsm_def *d = core_defs[O.a[j].tr.machine];
                        printf("    step: %s %s --%s--> %s\n", d->name,
                               d->state_names[O.a[j].tr.from],
                               d->input_names[O.a[j].tr.input],
                               d->state_names[O.a[j].tr.to]);
                    }
                }
                fail_msg("a cell labelled unreachable was taken: 0x%llx",
                         (unsigned long long)a->arg);
            }
            break;
        default:
            break;
        }
    }
}

static void go(struct core_in *in)
{
    int rc;

    md_out_reset(&O);
    rc = core_step(&C, in, &O);
    if (rc != MD_OK) {
        fail_msg("core_step kind %u input %u at %lld: %s", in->kind,
                 in->input, (long long)in->t_ns, md_errname(rc));
    }
    if (core_check(&C) != MD_OK) {
        fail_msg("core_check failed after kind %u input %u", in->kind,
                 in->input);
    }
    apply();
}

static int64_t server_s(void)
{
    return T0 + (W.now - L0) / S;
}

static void frame(const char *text)
{
    struct core_in in = {0};

    in.kind = CORE_IN_FRAME;
    in.t_ns = W.now;
    in.conn_id = W.sock_id;
    in.data = text;
    in.len = strlen(text);
    go(&in);
}

static void sock_event(uint8_t input, int status, int code)
{
    struct core_in in = {0};

    in.kind = CORE_IN_CONN;
    in.input = input;
    in.t_ns = W.now;
    in.conn_id = W.sock_id;
    in.http_status = status;
    in.close_code = code;
    go(&in);
}

/* A histominute body ending at the current minute. */
static void http_ok(void)
{
    static char body[2048];
    struct core_in in = {0};
    int64_t m = server_s() / 60 * 60;
    size_t n = 0;
    int k;

    n += (size_t)snprintf(body + n, sizeof body - n,
                          "{\"Response\":\"Success\",\"Message\":\"\","
                          "\"HasWarning\":false,\"Type\":100,"
                          "\"RateLimit\":{},\"Data\":{\"Aggregated\":false,"
                          "\"TimeFrom\":%lld,\"TimeTo\":%lld,\"Data\":[",
                          (long long)(m - 180), (long long)m);
    for (k = 3; k >= 0; k--) {
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "%s{\"time\":%lld,\"high\":101,\"low\":99,"
                              "\"open\":100,\"volumefrom\":1,"
                              "\"volumeto\":100,\"close\":100.5,"
                              "\"conversionType\":\"direct\","
                              "\"conversionSymbol\":\"\"}",
                              k == 3 ? "" : ",", (long long)(m - 60 * k));
    }
    n += (size_t)snprintf(body + n, sizeof body - n, "]}}");
    in.kind = CORE_IN_HTTP;
    in.t_ns = W.now;
    in.http_status = 200;
    in.data = body;
    in.len = n;
    W.req = 0;
    go(&in);
}

static void http_other(int status, const char *body)
{
    struct core_in in = {0};

    in.kind = CORE_IN_HTTP;
    in.t_ns = W.now;
    in.http_status = status;
    in.data = body;
    in.len = strlen(body);
    W.req = 0;
    go(&in);
}

static void pub_in(uint8_t input, uint64_t id)
{
    struct core_in in = {0};

    in.kind = CORE_IN_PUB;
    in.input = input;
    in.t_ns = W.now;
    in.bar_id = id;
    go(&in);
}

static void operator_in(uint8_t kind)
{
    struct core_in in = {0};

    in.kind = kind;
    in.t_ns = W.now;
    in.server_ms = server_s() * 1000;
    go(&in);
}

/* Fire the earliest armed timer; 0 if none. */
static int fire_next(void)
{
    int t, best = -1;
    struct core_in in = {0};

    for (t = 1; t < MD_T__COUNT; t++) {
        if (W.armed[t] && (best < 0 || W.deadline[t] < W.deadline[best])) {
            best = t;
        }
    }
    if (best < 0) {
        return 0;
    }
    W.armed[best] = 0;
    if (W.deadline[best] > W.now) {
        W.now = W.deadline[best];
    }
    in.kind = CORE_IN_TIMER;
    in.timer = (uint8_t)best;
    in.t_ns = W.now;
    go(&in);
    return 1;
}

static mono_ns next_deadline(void)
{
    mono_ns e = INT64_MAX;
    int t;

    for (t = 1; t < MD_T__COUNT; t++) {
        if (W.armed[t] && W.deadline[t] < e) {
            e = W.deadline[t];
        }
    }
    return e;
}

/* One move of the world, chosen among those its promises allow. */
static void move(void)
{
    static const mono_ns steps[] = {MS,     MS,     MS,     100 * MS,
                                    100 * MS, S,    S,      5 * S,
                                    20 * S, 60 * S};
    mono_ns t = W.now + steps[md_prng_below(&R, 10)];
    char buf[256];
    unsigned pick;
    size_t k, refusable = W.n_refusable;

    W.n_refusable = 0; /* a refusal comes right after its produce */
    if (t >= next_deadline() || md_prng_below(&R, 8) == 0) {
        if (fire_next()) {
            return;
        }
    }
    W.now = t;
    pick = (unsigned)md_prng_below(&R, 1000);
    if (pick < 4 || ((C.conn.state == CONN_S_CLOSING ||
                      C.pub.state == PUB_S_DRAINING) &&
                     pick < 100)) {
        /* the operator, at any time; likelier while shutting down */
        operator_in(md_prng_below(&R, 3) == 0 ? CORE_IN_STOP
                    : md_prng_below(&R, 2)    ? CORE_IN_RESET
                                              : CORE_IN_START);
        return;
    }
    pick /= 10;
    if (pick < 40 && W.sock != SOCK_NONE) {
        if (W.sock == SOCK_CONNECTING) {
            switch (md_prng_below(&R, 16)) {
            case 0:
                W.sock = SOCK_NONE;
                sock_event(CONN_I_WS_CLOSED, 401, 0);
                return;
            case 1:
                W.sock = SOCK_NONE;
                sock_event(CONN_I_WS_CLOSED, 429, 0);
                return;
            case 2:
                W.sock = SOCK_NONE;
                sock_event(CONN_I_WS_CLOSED, 0, 1006);
                return;
            default:
                W.sock = SOCK_OPEN;
                sock_event(CONN_I_WS_OPEN, 0, 0);
                return;
            }
        }
        if (W.sock == SOCK_CLOSING || md_prng_below(&R, 30) == 0) {
            int code = W.sock == SOCK_CLOSING ? 1000 : 1006;
            W.sock = SOCK_NONE;
            sock_event(CONN_I_WS_CLOSED, 0, code);
            return;
        }
        /* open: a frame, or the pong */
        if (W.ping_out && md_prng_below(&R, 2) == 0) {
            W.ping_out = 0;
            sock_event(CONN_I_PONG, 0, 0);
            return;
        }
        /* progress is likelier than anything else (a bias of the walk,
         * never a restriction: every frame stays possible) */
        k = (size_t)md_prng_below(&R, 24);
        if (md_prng_below(&R, 2) == 0) {
            k = C.conn.state == CONN_S_WAIT_WELCOME   ? 0
                : C.conn.state == CONN_S_SUBSCRIBING ? 3
                                                     : 12;
        }
        switch (k) {
        case 0:
        case 1:
            snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
                     "\"SERVER_TIME_MS\":%lld}",
                     (long long)(server_s() * 1000));
            break;
        case 2:
            snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"16\",\"MESSAGE\":\"SUBSCRIBECOMPLETE\","
                     "\"SUB\":\"5~CCCAGG~BTC~USD\"}");
            break;
        case 3:
        case 4:
            snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\"}");
            break;
        case 5:
            snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"999\",\"MESSAGE\":\"HEARTBEAT\","
                     "\"TIMEMS\":%lld}",
                     (long long)(server_s() * 1000));
            break;
        case 6:
            snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"401\",\"MESSAGE\":\"UNAUTHORIZED\"}");
            break;
        case 7:
            snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"429\",\"MESSAGE\":"
                     "\"TOO_MANY_SOCKETS_MAX_1_PER_CLIENT\"}");
            break;
        case 8:
            snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"500\",\"MESSAGE\":\"FORCE_DISCONNECT\"}");
            break;
        case 9:
            snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"500\",\"MESSAGE\":\"INVALID_SUB\"}");
            break;
        case 10:
            snprintf(buf, sizeof buf, "{\"TYPE\":");
            break;
        case 11:
            snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"17\",\"MESSAGE\":"
                     "\"UNSUBSCRIBECOMPLETE\"}");
            break;
        default:
            snprintf(buf, sizeof buf,
                     "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\","
                     "\"FROMSYMBOL\":\"%s\",\"TOSYMBOL\":\"USD\","
                     "\"FLAGS\":1,\"PRICE\":%u,\"LASTUPDATE\":%lld}",
                     md_prng_below(&R, 2) ? "BTC" : "ETH",
                     100 + (unsigned)md_prng_below(&R, 9),
                     (long long)server_s());
            break;
        }
        frame(buf);
        return;
    }
    if (pick < 55 && W.req) {
        switch (md_prng_below(&R, 6)) {
        case 0:
        case 1:
            http_ok();
            return;
        case 2:
            http_other(200, "{\"Response\":\"Error\",\"Message\":\"You are "
                            "over your rate limit please upgrade your "
                            "account!\",\"HasWarning\":false,\"Type\":99,"
                            "\"RateLimit\":{},\"Data\":{}}");
            return;
        case 3:
            http_other(401, "{\"Data\":{},\"Err\":{\"type\":2,\"message\":"
                            "\"API key required\",\"http_status_code\":"
                            "401}}");
            return;
        case 4:
            http_other(200, "{\"Response\":\"Error\",\"Message\":\"fsym "
                            "param seems to be missing.\",\"HasWarning\":"
                            "false,\"Type\":2,\"RateLimit\":{},\"Data\":{},"
                            "\"ParamWithError\":\"fsym\"}");
            return;
        default:
            http_other(md_prng_below(&R, 2) ? 502 : 0, "<html>Bad Gateway");
            return;
        }
    }
    if (pick < 70 && W.n_asked > 0) {
        /* one topic's result, any of those due */
        static char name[CORE_TOPIC_MAX];
        struct core_in in = {0};
        k = (size_t)md_prng_below(&R, W.n_asked);
        memcpy(name, W.asked[k], CORE_TOPIC_MAX);
        memmove(W.asked[k], W.asked[k + 1],
                (W.n_asked - k - 1) * sizeof W.asked[0]);
        W.n_asked--;
        in.kind = CORE_IN_PUB;
        in.input = md_prng_below(&R, 4) == 0 ? PUB_I_TOPIC_FAILED
                                             : PUB_I_TOPIC_CREATED;
        in.t_ns = W.now;
        in.data = name;
        in.len = strlen(name);
        go(&in);
        return;
    }
    if (pick < 95 && refusable > 0 && md_prng_below(&R, 2) == 0) {
        /* the producer refuses the last bar of the produce just made;
         * the others of it stay refusable in the next move */
        uint64_t id = W.refusable[refusable - 1];
        W.n_refusable = refusable - 1;
        inflight_remove(id);
        pub_in(PUB_I_QUEUE_FULL, id);
        return;
    }
    if (pick < 95 && W.n_inflight > 0) {
        unsigned r = (unsigned)md_prng_below(&R, 20);
        k = (size_t)md_prng_below(&R, W.n_inflight);
        if (r == 0) {
            W.n_inflight = 0; /* all of them back to the core */
            pub_in(PUB_I_PRODUCER_FATAL, 0);
            return;
        }
        {
            uint64_t id = W.inflight[k];
            inflight_remove(id);
            pub_in(r < 3   ? PUB_I_PUBLISH_FAILURE
                   : r < 5 ? PUB_I_PUBLISH_REJECTED
                           : PUB_I_PUBLISH_SUCCESS,
                   id);
        }
        return;
    }
    (void)fire_next();
}

static void walk(uint64_t seed)
{
    size_t n = core_mem_size(&CFG);
    unsigned k, after = 0;

    assert_true(n != SIZE_MAX);
    if (n > MEM_N) {
        libc_free(MEM);
        MEM = libc_malloc(n);
        assert_non_null(MEM);
        MEM_N = n;
    }
    assert_int_equal(core_init(&C, &CFG, MEM, n), MD_OK);
    memset(&W, 0, sizeof W);
    md_prng_seed(&R, seed);
    W.now = L0;
    if (seed % 16 == 0) {
        /* the operator before the start */
        operator_in(seed % 32 == 0 ? CORE_IN_STOP : CORE_IN_RESET);
    }
    operator_in(CORE_IN_START);
    for (k = 0; k < STEPS; k++) {
        move();
        if (C.conn.state == CONN_S_STOPPED &&
            C.pub.state == PUB_S_STOPPED && next_deadline() == INT64_MAX &&
            ++after == 40) {
            break; /* stopped: a few more moves (the operator's), then
                      nothing more can happen */
        }
    }
}

static void test_composition_explored(void **state)
{
    unsigned m, s, i, a, walks;
    unsigned cells_r = 0, cells_hit = 0, arms_r = 0, arms_hit = 0;
    uint64_t steps = 0;

    (void)state;
    core_config_default(&CFG);
    CFG.series = SERIES;
    CFG.cap_series = 4;
    CFG.seed = 5;
    CFG.trace = 1;
    assert_int_equal(core_config_add_series(&CFG, "CCCAGG", "BTC", "USD", 60),
                     MD_OK);
    assert_int_equal(core_config_add_series(&CFG, "CCCAGG", "BTC", "USD",
                                            300),
                     MD_OK);
    assert_int_equal(core_config_add_series(&CFG, "CCCAGG", "ETH", "USD", 60),
                     MD_OK);
    assert_int_equal(core_config_add_series(&CFG, "CCCAGG", "ETH", "USD",
                                            300),
                     MD_OK);
    /* bars close at 1 and 5 minutes, one topic per series: topics are
     * asked for while others publish */
    CFG.agg.intervals_s[1] = 300;
    CFG.agg.n_intervals = 2;
    snprintf(CFG.topic_template, sizeof CFG.topic_template, "%s",
             "ohlcv.{market}.{base}-{quote}.{interval}");
    for (walks = 0; walks < WALKS; walks++) {
        walk(1000 + walks);
        steps += C.st.steps;
    }
    for (m = 1; m < MD_M__COUNT; m++) {
        const struct fsm_def *d = core_defs[m];
        unsigned mr = 0, mh = 0;
        for (s = 1; s < d->nstates; s++) {
            for (i = 1; i < d->ninputs; i++) {
                const struct fsm_cell *c = fsm_cell_at(d, s, i);
                if (c->reach != FSM_R_REACHABLE) {
                    /* never taken (the step would have noted it) */
                    assert_int_equal(cell_taken[m][s][i], 0);
                    continue;
                }
                mr++;
                mh += cell_taken[m][s][i];
                if (!cell_taken[m][s][i] && getenv("COMPOSE_VERBOSE")) {
                    printf("    not taken: %s (%s, %s)\n", d->name,
                           d->state_names[s], d->input_names[i]);
                }
                for (a = 0; a < c->narms; a++) {
                    arms_r++;
                    arms_hit += arm_taken[m][s][i][a];
                    if (!arm_taken[m][s][i][a]) {
                        printf("    arm not taken: %s (%s, %s) [%s] -> %s/%s"
                               "\n", d->name, d->state_names[s],
                               d->input_names[i],
                               d->guard_names[c->arm[a].guard],
                               d->state_names[c->arm[a].next],
                               d->output_names[c->arm[a].out]);
                    }
                }
            }
        }
        printf("  %-4s %3u of %3u reachable cells taken by the composition\n",
               d->name, mh, mr);
        cells_r += mr;
        cells_hit += mh;
    }
    printf("  composition: %u walks of %u moves, %llu core steps: %u of %u "
           "reachable cells, %u of %u arms; no unreachable cell, every step "
           "checked\n", WALKS, STEPS, (unsigned long long)steps, cells_hit,
           cells_r, arms_hit, arms_r);
    libc_free(MEM);
    MEM = NULL;
    MEM_N = 0;
    /* every cell labelled reachable is reached by the machines as they
     * drive each other, not only by each against its environment */
    assert_int_equal(cells_hit, cells_r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_composition_explored),
    };
    return cmocka_run_group_tests_name("fsm_compose", tests, NULL, NULL);
}
