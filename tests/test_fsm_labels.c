/* test_fsm_labels.c: the reachable/unreachable labels of docs/mealy.md,
 * checked both ways by exploring each machine together with a model of its
 * environment, and the state invariants of each machine's header comment,
 * asserted after every step of the exploration.
 *
 * The environment model knows only what the shells promise
 * (docs/replay-contract.md): a socket delivers frames only while open and
 * ends with exactly one WS_CLOSED; a timer fires only while armed, in
 * deadline order, stamped with its deadline; a REST response answers only an
 * outstanding request; a delivery report answers only a produced bar; an
 * Admin result answers only a CreateTopics; operator inputs may come at any
 * time. It learns what is outstanding from the actions the machine emits,
 * never from the machine's state. A cell is reachable iff some explored
 * configuration in that state can receive that input.
 *
 * After every step the machine's own invariants are checked (conn_check,
 * rest_check, pub_check: the same checks each *_step makes in debug
 * builds), then what only the environment can tell: the timers the
 * machine believes armed are the ones the world has armed, a socket is
 * open while subscribed, a request is outstanding while requesting, the
 * publisher's counts are the bars the world holds. No step may take a
 * cell labelled unreachable (no MD_N_UNREACHABLE note, nothing counted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmocka_inc.h"
#include "core.h"
#include "md_err.h"

enum sock { SOCK_NONE, SOCK_CONNECTING, SOCK_OPEN, SOCK_CLOSING };

struct world {
    mono_ns now;
    uint8_t armed[MD_T__COUNT];
    mono_ns deadline[MD_T__COUNT];
    uint8_t sock;        /* conn */
    uint8_t ping_out;    /* conn: a ping sent on the open socket, its
                            pong not yet delivered */
    uint8_t req;         /* rest: a request outstanding */
    uint8_t stopped;     /* STOP was given */
    uint8_t fetch_out;   /* pub: fetches outstanding */
    uint8_t admin;       /* pub: CreateTopics outstanding */
    uint64_t inflight;   /* pub: bars produced, report pending */
    uint64_t fifo;       /* pub: bars the shell holds, not produced */
    uint64_t failed;     /* pub: reported failed, not yet requeued or
                            discarded by the machine */
    uint64_t abandoned;  /* pub: in flight, given up by the machine */
    uint8_t finished;    /* pub: the publisher ended (its flush timer
                            cancelled or fired): the core holds no
                            parked bar any more */
    uint64_t refusable;  /* pub: bars of the produce just made that the
                            producer may still refuse at once (only in
                            the steps right after it) */
};

struct node {
    struct world w;
    union {
        struct conn conn;
        struct rest rest;
        struct pub pub;
    } m;
};

/* One possible input and what it does to the world. */
struct move {
    uint8_t input;
    uint8_t timer; /* fires this timer (its deadline becomes now) */
    uint64_t n;
    int (*world_fx)(struct world *w);
};

/* --- visited set of canonical keys ---------------------------------- */
#define KEY_LEN 48
struct seen {
    unsigned char (*keys)[KEY_LEN];
    size_t n, cap;
};

static int seen_add(struct seen *s, const unsigned char *key)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        if (memcmp(s->keys[i], key, KEY_LEN) == 0) {
            return 0;
        }
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->keys = realloc(s->keys, s->cap * KEY_LEN);
        assert_non_null(s->keys);
    }
    memcpy(s->keys[s->n++], key, KEY_LEN);
    return 1;
}

/* --- world bookkeeping from actions ---------------------------------- */
static void apply_actions(struct world *w, const struct md_out *out)
{
    size_t i;

    for (i = 0; i < out->n; i++) {
        const struct md_action *a = &out->a[i];
        switch (a->kind) {
        case MD_A_ARM_TIMER:
            assert_true(a->deadline_ns >= w->now);
            w->armed[a->timer] = 1;
            w->deadline[a->timer] = a->deadline_ns;
            break;
        case MD_A_CANCEL_TIMER:
            w->armed[a->timer] = 0;
            w->finished |= a->timer == MD_T_PUB_FLUSH;
            break;
        case MD_A_WS_OPEN:
            w->sock = SOCK_CONNECTING; /* a new socket replaces the old */
            w->ping_out = 0;
            break;
        case MD_A_WS_PING:
            assert_int_equal(w->sock, SOCK_OPEN);
            w->ping_out = 1;
            break;
        case MD_A_WS_CLOSE:
            if (w->sock == SOCK_CONNECTING || w->sock == SOCK_OPEN) {
                w->sock = SOCK_CLOSING;
            }
            break;
        case MD_A_REST_SEND:
            assert_int_equal(w->req, 0);
            w->req = 1;
            break;
        case MD_A_REST_CANCEL:
            w->req = 0;
            break;
        case MD_A_PRODUCE:
            assert_true(w->fifo >= a->arg);
            w->fifo -= a->arg;
            w->inflight += a->arg;
            w->refusable = a->arg;
            break;
        case MD_A_REQUEUE_ALL:
        case MD_A_DEAD_LETTER:
            /* decided: back to the queue, or given up for good */
            assert_true(w->failed >= a->arg);
            w->failed -= a->arg;
            if (a->kind == MD_A_REQUEUE_ALL) {
                w->fifo += a->arg;
            }
            break;
        case MD_A_REQUEUE:
            /* a failed bar goes back to the queue */
            assert_true(w->failed >= a->arg);
            w->failed -= a->arg;
            w->fifo += a->arg;
            break;
        case MD_A_DISCARD: {
            /* given up: failed bars first, then queued, then in flight
             * (whose reports may still come; the machine ignores them) */
            uint64_t k = a->arg, take;
            assert_true(k <= w->failed + w->fifo + w->inflight);
            take = k < w->failed ? k : w->failed;
            w->failed -= take;
            k -= take;
            take = k < w->fifo ? k : w->fifo;
            w->fifo -= take;
            k -= take;
            w->inflight -= k;
            w->abandoned += k;
            break;
        }
        case MD_A_NOTE:
            if (a->note == MD_N_UNREACHABLE) {
                fail_msg("a cell labelled unreachable was taken: arg 0x%llx",
                         (unsigned long long)a->arg);
            }
            break;
        case MD_A_FETCH:
            w->fetch_out++;
            break;
        case MD_A_TOPIC_CREATE:
            w->admin = 1;
            break;
        default:
            break;
        }
    }
}

/* Earliest armed deadline, or INT64_MAX. */
static mono_ns earliest(const struct world *w)
{
    mono_ns e = INT64_MAX;
    int t;

    for (t = 1; t < MD_T__COUNT; t++) {
        if (w->armed[t] && w->deadline[t] < e) {
            e = w->deadline[t];
        }
    }
    return e;
}

static unsigned armed_bits(const struct world *w)
{
    unsigned b = 0;
    int t;

    for (t = 1; t < MD_T__COUNT; t++) {
        b |= (unsigned)w->armed[t] << t;
    }
    return b;
}

/* --- world effects of inputs --------------------------------------- */
static int fx_none(struct world *w)
{
    (void)w;
    return 1;
}
static int fx_stop(struct world *w)
{
    w->stopped = 1;
    w->fetch_out = 0; /* the composition stops rest with pub */
    return 1;
}
static int fx_ws_open(struct world *w)
{
    if (w->sock != SOCK_CONNECTING) {
        return 0;
    }
    w->sock = SOCK_OPEN;
    return 1;
}
static int fx_ws_closed(struct world *w)
{
    if (w->sock == SOCK_NONE) {
        return 0;
    }
    w->sock = SOCK_NONE;
    return 1;
}
/* The end of a socket whose upgrade the server refused: only a socket
 * still connecting that the core has not asked to close. */
static int fx_ws_refused(struct world *w)
{
    if (w->sock != SOCK_CONNECTING) {
        return 0;
    }
    w->sock = SOCK_NONE;
    return 1;
}
static int fx_frame(struct world *w)
{
    return w->sock == SOCK_OPEN;
}
/* A pong answers a ping, on the socket it was sent on, while open. */
static int fx_pong(struct world *w)
{
    if (w->sock != SOCK_OPEN || !w->ping_out) {
        return 0;
    }
    w->ping_out = 0;
    return 1;
}
static int fx_resp(struct world *w)
{
    if (!w->req) {
        return 0;
    }
    w->req = 0;
    return 1;
}
static int fx_fetch_req(struct world *w)
{
    return !w->stopped;
}
static int fx_fetch_done(struct world *w)
{
    if (w->fetch_out == 0) {
        return 0;
    }
    w->fetch_out--;
    return 1;
}
static int fx_pub_fetch(struct world *w)
{
    return !w->stopped && w->fetch_out < 2;
}
static int fx_live_bar(struct world *w)
{
    if (w->stopped || w->inflight + w->fifo >= 3) {
        return 0;
    }
    w->fifo++;
    return 1;
}
static int fx_fetch_bar(struct world *w)
{
    if (w->inflight + w->fifo >= 3 || !fx_fetch_done(w)) {
        return 0;
    }
    w->fifo++;
    return 1;
}
/* Reports name a bar in flight: the composition counts a report for a
 * bar it gave up on (abandoned) as stale and never passes it on. */
static int fx_report_ok(struct world *w)
{
    if (w->inflight == 0) {
        return 0;
    }
    w->inflight--;
    return 1;
}
static int fx_report_fail(struct world *w)
{
    if (w->inflight == 0) {
        return 0;
    }
    w->inflight--;
    w->failed++; /* the machine decides: requeue or discard */
    return 1;
}
/* Bars the core parked for a topic being created, released by a result
 * for that topic before the request's last one: only while an Admin
 * request is outstanding. */
static int fx_released(struct world *w)
{
    if (!w->admin || w->finished || w->inflight + w->fifo >= 3) {
        return 0;
    }
    w->fifo++;
    return 1;
}
/* A failure that names one bar in flight, decided in the same step. */
static int fx_report_reject(struct world *w)
{
    return fx_report_fail(w);
}
/* The producer refuses a bar at once: only one of the produce just
 * made, in the steps right after it. */
static int fx_queue_full(struct world *w)
{
    if (w->refusable == 0 || w->inflight == 0) {
        return 0;
    }
    w->refusable--;
    w->inflight--;
    w->failed++;
    return 1;
}
/* The producer dies: a fatal error comes with bars in flight (the
 * composition counts one without as stale); all of them are decided. */
static int fx_fatal(struct world *w)
{
    if (w->inflight == 0) {
        return 0;
    }
    w->failed += w->inflight;
    w->inflight = 0;
    return 1;
}
static int fx_admin(struct world *w)
{
    if (!w->admin) {
        return 0;
    }
    w->admin = 0;
    return 1;
}

/* --- per-machine adapters ------------------------------------------ */
struct explorer {
    const struct fsm_def *def;
    const struct move *moves;
    size_t nmoves;
    int (*step)(struct node *nd, const struct move *mv, mono_ns t,
                struct md_out *out);
    void (*key)(const struct node *nd, unsigned char *key);
    void (*check)(const struct node *nd);
    unsigned state_of_node_offset;
    uint8_t (*state)(const struct node *nd);
};

static int conn_do(struct node *nd, const struct move *mv, mono_ns t,
                   struct md_out *out)
{
    struct conn_in in = {mv->input, t, 0};
    if (mv->input == CONN_I_WELCOME || mv->input == CONN_I_HEARTBEAT) {
        in.server_ms = 1700000000000;
    }
    return conn_step(&nd->m.conn, &in, out);
}
static void conn_key(const struct node *nd, unsigned char *k)
{
    const struct conn *m = &nd->m.conn;
    const struct world *w = &nd->w;
    int fresh = w->armed[MD_T_CONN_STALE] &&
                m->last_activity >
                    w->deadline[MD_T_CONN_STALE] - m->cfg.stale_timeout_ns;
    memset(k, 0, KEY_LEN);
    k[0] = m->state;
    k[1] = m->was_live;
    k[2] = m->gap_open;
    k[3] = w->sock;
    k[4] = (unsigned char)fresh;
    k[5] = w->ping_out;
    if (w->armed[MD_T_CONN_STALE]) {
        /* which liveness arm the stale timer will take */
        struct conn_in at = {CONN_I_T_STALE, w->deadline[MD_T_CONN_STALE],
                             0};
        k[6] = (unsigned char)conn_guards(m, &at);
    }
    memcpy(k + 16, &(unsigned){armed_bits(w)}, sizeof(unsigned));
}
static uint8_t conn_state_of(const struct node *nd)
{
    return nd->m.conn.state;
}
/* The machine's timers are the world's, restricted to [first, last]
 * and extra (0: none). */
static void same_timers(const char *name, uint32_t mine,
                        const struct world *w, int first, int last,
                        int extra)
{
    unsigned world = 0;
    int t;

    for (t = first; t <= last; t++) {
        world |= (unsigned)w->armed[t] << t;
    }
    if (extra != 0) {
        world |= (unsigned)w->armed[extra] << extra;
    }
    if (mine != world) {
        fail_msg("%s: machine has timers 0x%x armed, the world 0x%x", name,
                 (unsigned)mine, world);
    }
}

static void conn_world_check(const struct node *nd)
{
    const struct conn *m = &nd->m.conn;
    char why[128];

    if (conn_check(m, why, sizeof why) != MD_OK) {
        fail_msg("%s", why);
    }
    assert_int_equal(m->st.unreachable, 0);
    same_timers("conn", m->timers, &nd->w, MD_T_CONN_HANDSHAKE,
                MD_T_CONN_CLOSE, MD_T_CONN_SUBSCRIBE);
    if (m->state == CONN_S_SUBSCRIBING || m->state == CONN_S_STREAMING) {
        assert_int_equal(nd->w.sock, SOCK_OPEN);
    }
}

static int rest_do(struct node *nd, const struct move *mv, mono_ns t,
                   struct md_out *out)
{
    struct rest_in in = {mv->input, t, 0, 1};
    return rest_step(&nd->m.rest, &in, out);
}
static void rest_key(const struct node *nd, unsigned char *k)
{
    const struct rest *m = &nd->m.rest;
    memset(k, 0, KEY_LEN);
    k[0] = m->state;
    k[1] = (unsigned char)(m->queued > 3 ? 3 : m->queued);
    k[2] = (unsigned char)m->attempt;
    k[3] = nd->w.req;
    k[4] = nd->w.stopped;
    memcpy(k + 16, &(unsigned){armed_bits(&nd->w)}, sizeof(unsigned));
}
static uint8_t rest_state_of(const struct node *nd)
{
    return nd->m.rest.state;
}
static void rest_world_check(const struct node *nd)
{
    const struct rest *m = &nd->m.rest;
    char why[128];

    if (rest_check(m, why, sizeof why) != MD_OK) {
        fail_msg("%s", why);
    }
    assert_int_equal(m->st.unreachable, 0);
    same_timers("rest", m->timers, &nd->w, MD_T_REST_TIMEOUT,
                MD_T_REST_RETRY, 0);
    /* a request is outstanding exactly while requesting */
    assert_int_equal(nd->w.req, m->state == REST_S_REQUESTING);
}

static int pub_do(struct node *nd, const struct move *mv, mono_ns t,
                  struct md_out *out)
{
    struct pub_in in = {mv->input, t, mv->n};
    if (mv->input != PUB_I_QUEUE_FULL) {
        nd->w.refusable = 0; /* a refusal comes right after its produce */
    }
    if (mv->timer == MD_T_PUB_FLUSH) {
        nd->w.finished = 1; /* ABANDON: the end */
    }
    return pub_step(&nd->m.pub, &in, out);
}
static void pub_key(const struct node *nd, unsigned char *k)
{
    const struct pub *m = &nd->m.pub;
    const struct world *w = &nd->w;
    memset(k, 0, KEY_LEN);
    k[0] = m->state;
    k[1] = (unsigned char)m->queued;
    k[2] = (unsigned char)m->inflight;
    k[3] = m->topic_pending;
    k[4] = (unsigned char)w->inflight;
    k[5] = w->fetch_out;
    k[6] = w->admin;
    k[7] = w->stopped;
    k[8] = (unsigned char)w->abandoned;
    k[9] = (unsigned char)w->refusable;
    k[10] = m->fatal;
    k[11] = m->topic_wait;
    k[13] = w->finished;
    k[12] = (unsigned char)w->fifo;
    memcpy(k + 16, &(unsigned){armed_bits(w)}, sizeof(unsigned));
}
static uint8_t pub_state_of(const struct node *nd)
{
    return nd->m.pub.state;
}
static void pub_world_check(const struct node *nd)
{
    const struct pub *m = &nd->m.pub;
    const struct world *w = &nd->w;
    char why[128];

    if (pub_check(m, why, sizeof why) != MD_OK) {
        fail_msg("%s", why);
    }
    assert_int_equal(m->st.unreachable, 0);
    same_timers("pub", m->timers, w, MD_T_PUB_RETRY, MD_T_PUB_FLUSH, 0);
    /* every failed report was decided in its step */
    assert_int_equal(w->failed, 0);
    if (m->state == PUB_S_CREATING_TOPIC) {
        assert_true(w->admin);
    }
    /* The core's counts of bars are the world's. */
    assert_int_equal(m->inflight, w->inflight);
    assert_int_equal(m->queued, w->fifo);
}

/* --- the inputs each environment can produce ------------------------ */
#define OP(i) {(i), 0, 0, fx_none}
static const struct move conn_moves[] = {
    OP(CONN_I_START), OP(CONN_I_RESET), {CONN_I_STOP, 0, 0, fx_none},
    {CONN_I_WS_OPEN, 0, 0, fx_ws_open},
    {CONN_I_WS_CLOSED, 0, 0, fx_ws_closed},
    {CONN_I_WELCOME, 0, 0, fx_frame},
    {CONN_I_SUB_OK, 0, 0, fx_frame},
    {CONN_I_LOAD_COMPLETE, 0, 0, fx_frame},
    {CONN_I_DATA, 0, 0, fx_frame},
    {CONN_I_HEARTBEAT, 0, 0, fx_frame},
    {CONN_I_SUB_REJECTED, 0, 0, fx_frame},
    {CONN_I_UNAUTHORIZED, 0, 0, fx_frame},
    {CONN_I_TOO_MANY_SOCKETS, 0, 0, fx_frame},
    {CONN_I_FORCE_DISCONNECT, 0, 0, fx_frame},
    {CONN_I_MALFORMED, 0, 0, fx_frame},
    {CONN_I_OTHER, 0, 0, fx_frame},
    {CONN_I_T_HANDSHAKE, MD_T_CONN_HANDSHAKE, 0, fx_none},
    {CONN_I_T_STALE, MD_T_CONN_STALE, 0, fx_none},
    {CONN_I_T_BACKOFF, MD_T_CONN_BACKOFF, 0, fx_none},
    {CONN_I_T_CLOSE, MD_T_CONN_CLOSE, 0, fx_none},
    {CONN_I_T_SUBSCRIBE, MD_T_CONN_SUBSCRIBE, 0, fx_none},
    {CONN_I_WS_REFUSED_AUTH, 0, 0, fx_ws_refused},
    {CONN_I_WS_REFUSED_RATE, 0, 0, fx_ws_refused},
    {CONN_I_PONG, 0, 0, fx_pong},
};
static const struct move rest_moves[] = {
    {REST_I_FETCH, 0, 0, fx_fetch_req},
    {REST_I_STOP, 0, 0, fx_stop},
    {REST_I_RESP_OK, 0, 0, fx_resp},
    {REST_I_RESP_PARAM_ERROR, 0, 0, fx_resp},
    {REST_I_RESP_RATE_LIMIT, 0, 0, fx_resp},
    {REST_I_RESP_AUTH, 0, 0, fx_resp},
    {REST_I_RESP_FAIL, 0, 0, fx_resp},
    {REST_I_T_TIMEOUT, MD_T_REST_TIMEOUT, 0, fx_none},
    {REST_I_T_RETRY, MD_T_REST_RETRY, 0, fx_none},
};
static const struct move pub_moves[] = {
    {PUB_I_FETCH_DATA, 0, 0, fx_pub_fetch},
    {PUB_I_DATA_READY, 0, 1, fx_live_bar},
    {PUB_I_DATA_READY, 0, 0, fx_fetch_done},
    {PUB_I_DATA_READY, 0, 1, fx_fetch_bar},
    {PUB_I_DATA_READY, 0, 1, fx_released},
    {PUB_I_FETCH_FAILURE, 0, 1, fx_fetch_done},
    {PUB_I_PUBLISH_SUCCESS, 0, 0, fx_report_ok},
    {PUB_I_PUBLISH_FAILURE, 0, 0, fx_report_fail},
    OP(PUB_I_RESET),
    {PUB_I_CREATE_DYNAMIC_TOPIC, 0, 0, fx_fetch_req},
    {PUB_I_TOPIC_CREATED, 0, 0, fx_admin},
    {PUB_I_TOPIC_FAILED, 0, 0, fx_admin},
    {PUB_I_STOP, 0, 0, fx_stop},
    {PUB_I_RESET, MD_T_PUB_RETRY, 0, fx_none},
    {PUB_I_T_FLUSH, MD_T_PUB_FLUSH, 0, fx_none},
    {PUB_I_PUBLISH_REJECTED, 0, 0, fx_report_reject},
    {PUB_I_QUEUE_FULL, 0, 0, fx_queue_full},
    {PUB_I_PRODUCER_FATAL, 0, 0, fx_fatal},
};

#define MAXN 200000
static void explore(const struct explorer *ex, const struct node *start,
                    uint8_t *reached)
{
    struct node *queue = calloc(MAXN, sizeof *queue);
    struct seen seen = {0};
    size_t head = 0, tail = 0, k;
    unsigned char key[KEY_LEN];

    assert_non_null(queue);
    queue[tail++] = *start;
    ex->key(start, key);
    seen_add(&seen, key);
    while (head < tail) {
        struct node cur = queue[head++];
        mono_ns due = earliest(&cur.w);
        for (k = 0; k < ex->nmoves; k++) {
            const struct move *mv = &ex->moves[k];
            struct node nx = cur;
            struct md_out out;
            mono_ns t;
            int rc;

            if (mv->timer) {
                /* Timers fire only when armed, earliest first. */
                if (!cur.w.armed[mv->timer] ||
                    cur.w.deadline[mv->timer] != due) {
                    continue;
                }
                t = due;
                nx.w.armed[mv->timer] = 0;
            } else {
                /* Anything else happens before the next deadline. */
                t = cur.w.now + 1;
                if (t >= due || !mv->world_fx(&nx.w)) {
                    continue;
                }
            }
            nx.w.now = t;
            reached[ex->state(&cur) * ex->def->ninputs + mv->input] = 1;
            md_out_reset(&out);
            rc = ex->step(&nx, mv, t, &out);
            if (rc != MD_OK) {
                fail_msg("%s (%s, %s): step failed: %s", ex->def->name,
                         ex->def->state_names[ex->state(&cur)],
                         ex->def->input_names[mv->input], md_errname(rc));
            }
            apply_actions(&nx.w, &out);
            ex->check(&nx);
            ex->key(&nx, key);
            if (seen_add(&seen, key)) {
                assert_true(tail < MAXN);
                queue[tail++] = nx;
            }
        }
    }
    printf("  %s: explored %zu configurations\n", ex->def->name, seen.n);
    free(seen.keys);
    free(queue);
}

static void compare_labels(const struct fsm_def *d, const uint8_t *reached)
{
    unsigned s, i, r = 0, u = 0, bad = 0;

    for (s = 1; s < d->nstates; s++) {
        for (i = 1; i < d->ninputs; i++) {
            const struct fsm_cell *c = fsm_cell_at(d, s, i);
            int want = reached[s * d->ninputs + i];
            int label = c->reach == FSM_R_REACHABLE;
            if (want != label) {
                printf("  %s (%s, %s): labelled %s, exploration says %s\n",
                       d->name, d->state_names[s], d->input_names[i],
                       label ? "reachable" : "unreachable",
                       want ? "reachable" : "unreachable");
                bad++;
            }
            r += (unsigned)label;
            u += (unsigned)!label;
        }
    }
    printf("  %s: %u reachable and %u unreachable labels confirmed\n",
           d->name, r - (bad ? 0 : 0), u);
    assert_int_equal(bad, 0);
}

static struct md_prng rng;

static void test_fsm_labels_conn(void **state)
{
    static uint8_t reached[CONN_S__COUNT * CONN_I__COUNT];
    struct conn_config cfg;
    struct node start;
    struct explorer ex = {&conn_def, conn_moves,
                          sizeof conn_moves / sizeof conn_moves[0],
                          conn_do, conn_key, conn_world_check, 0,
                          conn_state_of};
    (void)state;
    memset(&start, 0, sizeof start);
    md_prng_seed(&rng, 1);
    conn_config_default(&cfg);
    conn_init(&start.m.conn, &cfg, &rng);
    start.w.now = 1000 * MD_NS_PER_S;
    explore(&ex, &start, reached);
    compare_labels(&conn_def, reached);
}

static void test_fsm_labels_rest(void **state)
{
    static uint8_t reached[REST_S__COUNT * REST_I__COUNT];
    struct rest_config cfg;
    struct node start;
    struct explorer ex = {&rest_def, rest_moves,
                          sizeof rest_moves / sizeof rest_moves[0],
                          rest_do, rest_key, rest_world_check, 0,
                          rest_state_of};
    (void)state;
    memset(&start, 0, sizeof start);
    md_prng_seed(&rng, 2);
    rest_config_default(&cfg);
    cfg.queue_cap = 3;
    rest_init(&start.m.rest, &cfg, &rng);
    explore(&ex, &start, reached);
    compare_labels(&rest_def, reached);
}

static void test_fsm_labels_pub(void **state)
{
    static uint8_t reached[PUB_S__COUNT * PUB_I__COUNT];
    struct pub_config cfg;
    struct node start;
    struct explorer ex = {&pub_def, pub_moves,
                          sizeof pub_moves / sizeof pub_moves[0],
                          pub_do, pub_key, pub_world_check, 0,
                          pub_state_of};
    (void)state;
    memset(&start, 0, sizeof start);
    md_prng_seed(&rng, 3);
    pub_config_default(&cfg);
    pub_init(&start.m.pub, &cfg, &rng);
    explore(&ex, &start, reached);
    compare_labels(&pub_def, reached);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fsm_labels_conn),
        cmocka_unit_test(test_fsm_labels_rest),
        cmocka_unit_test(test_fsm_labels_pub),
    };
    return cmocka_run_group_tests_name("fsm_labels", tests, NULL, NULL);
}
