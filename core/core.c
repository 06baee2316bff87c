/* core.c: the composition of the producer's machines with the market-data
 * path and the REST policy. Routes inputs, feeds internal outputs from one
 * part to another within one step, stages every change and commits it
 * only when the whole step succeeded. Pure: no I/O, no allocation, no
 * clock.
 *
 * The staging and routing of one step stay in one file (the bar store is
 * core_bars.c, the configuration and memory layout core_config.c, topics
 * core_topic.c, the REST requests and backfill planning core_rest.c): what
 * a step changes and how it rolls back are read together. */
#include <string.h>

#include "core_int.h"
#include "md_err.h"

const struct fsm_def *const core_defs[MD_M__COUNT] = {
    [MD_M_INVALID] = NULL,
    [MD_M_CONN] = &conn_def,
    [MD_M_REST] = &rest_def,
    [MD_M_PUB] = &pub_def,
};

int core_timer_target(enum md_timer timer, enum md_machine *machine,
                      uint8_t *input)
{
    switch (timer) {
    case MD_T_CONN_HANDSHAKE:
        *machine = MD_M_CONN;
        *input = CONN_I_T_HANDSHAKE;
        return 1;
    case MD_T_CONN_STALE:
        *machine = MD_M_CONN;
        *input = CONN_I_T_STALE;
        return 1;
    case MD_T_CONN_BACKOFF:
        *machine = MD_M_CONN;
        *input = CONN_I_T_BACKOFF;
        return 1;
    case MD_T_CONN_CLOSE:
        *machine = MD_M_CONN;
        *input = CONN_I_T_CLOSE;
        return 1;
    case MD_T_CONN_SUBSCRIBE:
        *machine = MD_M_CONN;
        *input = CONN_I_T_SUBSCRIBE;
        return 1;
    case MD_T_REST_TIMEOUT:
        *machine = MD_M_REST;
        *input = REST_I_T_TIMEOUT;
        return 1;
    case MD_T_REST_RETRY:
        *machine = MD_M_REST;
        *input = REST_I_T_RETRY;
        return 1;
    case MD_T_PUB_RETRY:
        *machine = MD_M_PUB;
        *input = PUB_I_RESET;
        return 1;
    case MD_T_PUB_FLUSH:
        *machine = MD_M_PUB;
        *input = PUB_I_T_FLUSH;
        return 1;
    case MD_T_BAR:
    case MD_T_BACKFILL:
    case MD_T_INVALID:
    case MD_T__COUNT:
        break;
    }
    return 0;
}

/* ---- staging ----------------------------------------------------------

 * A step works on the live structures, after saving what it may change:
 * the composition's small state always, each machine and the rate budget
 * and backfill table before their first change, each bar's state in an
 * undo log. Effects on the aggregator and the feed (a frame's data, gap
 * marks, a preflight seed, backfill marks) wait in stg and are applied by
 * commit. rollback puts everything saved back. */

#define SAVED_BUDGET 0x10u
#define SAVED_BF 0x20u

static void stage_begin(struct core *c)
{
    c->stg.s = c->s;
    c->stg.have_offset = c->feed.have_offset;
    c->stg.offset_ns = c->feed.offset_ns;
    c->stg.saved = 0;
    c->stg.out.n = 0;
    c->stg.n_ref = 0;
    c->stg.n_undo = 0;
    c->stg.report_id = 0;
    c->stg.rest_first = c->stg.rest_n = 0;
    c->stg.frame = false;
    c->stg.fed = false;
    c->stg.gap_open = c->stg.gap_close = false;
    c->stg.resubscribed = c->stg.wait = false;
    c->stg.seed = false;
    c->stg.unannounced = 0;
    c->stg.dropped_new = 0;
    c->stg.topics_saved = false;
    c->stg.topic_wanted = false;
    c->stg.parked = 0;
    c->stg.rest_parked = 0;
}

static void save_machine(struct core *c, enum md_machine m)
{
    uint8_t bit = (uint8_t)(1u << m);

    if (c->stg.saved & bit) {
        return;
    }
    c->stg.saved |= bit;
    switch (m) {
    case MD_M_CONN:
        c->stg.conn = c->conn;
        break;
    case MD_M_REST:
        c->stg.rest = c->rest;
        break;
    case MD_M_PUB:
        c->stg.pub = c->pub;
        break;
    case MD_M_INVALID:
    case MD_M__COUNT:
        break;
    }
}

void stage_save_budget(struct core *c)
{
    if (!(c->stg.saved & SAVED_BUDGET)) {
        c->stg.saved |= SAVED_BUDGET;
        c->stg.budget = c->budget;
    }
}

void stage_save_bf(struct core *c)
{
    if (!(c->stg.saved & SAVED_BF)) {
        c->stg.saved |= SAVED_BF;
        if (c->cfg.n_series > 0) {
            memcpy(c->stg.bf, c->bf, sizeof c->bf[0] * c->cfg.n_series);
        }
    }
}

/* A note of the composition's own, in the step's output. */
int stage_note(struct core *c, mono_ns t, enum md_note n, uint64_t arg)
{
    struct md_action *a;

    if (md_out_room(&c->stg.out) == 0) {
        return MD_E_FULL;
    }
    a = md_out_push(&c->stg.out, MD_A_NOTE, t);
    a->note = (uint8_t)n;
    a->arg = arg;
    return MD_OK;
}

static void rollback(struct core *c)
{
    size_t k = c->stg.n_undo;
    uint64_t closed;

    while (k-- > 0) {
        c->bar_state[c->stg.undo[k].id & (c->bar_cap - 1)] = c->stg.undo[k].st;
    }
    closed = c->s.next_id - c->stg.s.next_id; /* made in the step: lost */
    c->st.bars_rolled_back += closed;
    c->lost_unnoted += closed;
    c->s = c->stg.s;
    bars_queue_rebuild(c); /* the ring's content is not in the undo log */
    c->feed.have_offset = c->stg.have_offset;
    c->feed.offset_ns = c->stg.offset_ns;
    if (c->stg.saved & (1u << MD_M_CONN)) {
        c->conn = c->stg.conn;
    }
    if (c->stg.saved & (1u << MD_M_REST)) {
        c->rest = c->stg.rest;
    }
    if (c->stg.saved & (1u << MD_M_PUB)) {
        c->pub = c->stg.pub;
    }
    if (c->stg.saved & SAVED_BUDGET) {
        c->budget = c->stg.budget;
    }
    if ((c->stg.saved & SAVED_BF) && c->cfg.n_series > 0) {
        memcpy(c->bf, c->stg.bf, sizeof c->bf[0] * c->cfg.n_series);
    }
    topics_restore(c);
    c->st.rollbacks++;
}

/* ---- the event queue of one step ----------------------------------- */

struct ev *evq_push(struct evq *q, enum md_machine m, uint8_t input,
                    uint64_t n)
{
    struct ev *e;

    if (q->n == EVQ_CAP) {
        return NULL;
    }
    e = &q->e[(q->head + q->n) % EVQ_CAP];
    memset(e, 0, sizeof *e);
    e->machine = (uint8_t)m;
    e->input = input;
    e->n = n;
    q->n++;
    return e;
}

/* ---- bars ---------------------------------------------------------- */

/* Append a BARS action for ref[first..first+n): announce them. */
static int announce(struct core *c, size_t first, size_t n, mono_ns t)
{
    struct md_action *a;

    if (n == 0) {
        return MD_OK;
    }
    if (md_out_room(&c->stg.out) == 0) {
        return MD_E_FULL;
    }
    a = md_out_push(&c->stg.out, MD_A_BARS, t);
    a->arg = n;
    a->n = n;
    a->p.bars = &c->stg.ref[first];
    c->st.bars_emitted += n;
    return MD_OK;
}

/* The bar store is full while bars are due: closing waits for a delivery
 * or discard. Counted and noted once per wait, not every step of it. */
static void store_wait(struct core *c)
{
    if (!c->s.bars_waiting) {
        c->s.bars_waiting = true;
        c->st.bars_wait++;
        c->stg.wait = true;
    }
}

/* Close what is due at server time now (or everything, flush) into the
 * store, as much as it has room for; announce the bars and hand them to
 * the publisher. The rest stays due: the bar timer comes back for it. */
static int bars_close(struct core *c, int64_t now, bool flush, mono_ns t,
                      struct evq *q)
{
    size_t first = c->stg.n_ref, n = 0, k;
    uint64_t parked0 = c->stg.parked, ready;
    int rc;

    do {
        uint64_t room = bars_free(c);
        struct agg_out ao = {c->closing, CORE_CLOSING, 0};
        if (room == 0) {
            store_wait(c);
            break;
        }
        if (ao.cap > room) {
            ao.cap = (size_t)room;
        }
        rc = flush ? agg_flush(&c->feed.agg, &ao)
                   : agg_advance(&c->feed.agg, now, &ao);
        for (k = 0; k < ao.n; k++) {
            if (bars_new(c, &c->closing[k]) == NULL) {
                return MD_E_STATE; /* room was checked */
            }
            n++;
        }
    } while (rc == MD_E_FULL);
    if (n == 0) {
        return MD_OK;
    }
    rc = announce(c, first, n, t);
    /* bars whose topic does not exist yet wait for it, parked */
    ready = n - (c->stg.parked - parked0);
    if (rc == MD_OK && ready + c->s.held > 0) {
        /* bars a running fetch held go with them (they are ahead of them
         * in the queue) */
        PUSH(q, MD_M_PUB, PUB_I_DATA_READY, ready + c->s.held);
        c->s.held = 0;
    }
    return rc;
}

/* Keep the bar timer on the aggregator's next deadline (server time, so
 * it moves with the offset). A full store waits for a release instead of
 * firing in a loop. */
static int bar_timer(struct core *c, mono_ns t)
{
    int64_t d = agg_next_deadline(&c->feed.agg);
    mono_ns local;
    struct md_action *a;

    if (md_out_room(&c->stg.out) == 0) {
        return MD_E_FULL;
    }
    if (c->s.stopping && c->cfg.stop_keeps_open) {
        d = INT64_MAX; /* the open bars are the checkpoint's now */
    }
    if (bars_room(c) > 0) {
        c->s.bars_waiting = false;
    } else if (d != INT64_MAX) {
        store_wait(c);
        d = INT64_MAX; /* a delivery or discard will free room */
    }
    if (d == INT64_MAX) {
        if (c->s.bar_armed) {
            a = md_out_push(&c->stg.out, MD_A_CANCEL_TIMER, t);
            a->timer = MD_T_BAR;
            c->s.bar_armed = false;
        }
        return MD_OK;
    }
    local = feed_local_ns(&c->feed, d);
    if (local < t) {
        local = t;
    }
    if (!c->s.bar_armed || c->s.bar_deadline != local) {
        a = md_out_push(&c->stg.out, MD_A_ARM_TIMER, t);
        a->timer = MD_T_BAR;
        a->deadline_ns = local;
        c->s.bar_armed = true;
        c->s.bar_deadline = local;
    }
    return MD_OK;
}

/* ---- routing --------------------------------------------------------- */

/* Act on what a machine step wrote into stg.out[from..]: internal outputs
 * become events for other machines; the publisher's bar actions get their
 * bars. */
static int route(struct core *c, struct evq *q, size_t from, mono_ns t)
{
    size_t i, end = c->stg.out.n;
    int64_t now = feed_server_ns(&c->feed, t);
    int rc = MD_OK;

    for (i = from; i < end && rc == MD_OK; i++) {
        struct md_action *a = &c->stg.out.a[i];
        switch ((enum md_act_kind)a->kind) {
        case MD_A_FETCH: {
            unsigned k = fetch_plan(c, (enum job)a->arg, now, t);
            if (k > 0) {
                PUSH(q, MD_M_REST, REST_I_FETCH, k);
            } else if (c->rest.queued == 0) {
                /* nothing to fetch (yet) and no fetch running: the job
                 * is done, empty (a running fetch ends it later) */
                PUSH(q, MD_M_PUB, PUB_I_DATA_READY, 0);
            }
            break;
        }
        case MD_A_FETCH_DONE: {
            const struct rp_fetch *f = fetch_head(c);
            if (f != NULL && f->purpose == RP_P_BACKFILL &&
                f->series_idx < c->cfg.n_series) {
                stage_save_bf(c);
                c->bf[f->series_idx].fails = 0;
            }
            fetch_pop(c, 1);
            if (a->arg > 0) {
                rc = announce(c, c->stg.rest_first, (size_t)a->arg, t);
                c->stg.unannounced = 0;
            }
            if (rc == MD_OK) {
                /* the bars parked for their topic are not the
                 * publisher's yet */
                rc = fetch_ended(c, q, a->arg - c->stg.rest_parked, 0);
            }
            break;
        }
        case MD_A_FETCH_FAILED:
            rc = backfill_failed(c, a->arg, now, t);
            fetch_pop(c, a->arg);
            if (rc == MD_OK) {
                rc = fetch_ended(c, q, 0, a->arg);
            }
            break;
        case MD_A_REST_SEND:
            stage_save_budget(c);
            rp_budget_count(&c->budget, now);
            c->s.req_id++;
            break;
        case MD_A_WS_SUBSCRIBE:
            c->stg.resubscribed = true;
            a->n = c->n_subs;
            a->p.subs = c->subs;
            break;
        case MD_A_GAP_OPEN:
            c->s.gap_start_ns = feed_server_ns(&c->feed, (mono_ns)a->arg);
            c->stg.gap_open = true;
            c->stg.gap_open_at = c->s.gap_start_ns;
            break;
        case MD_A_GAP_CLOSED:
            /* Live again after a gap: backfill it. */
            c->s.gap_end_ns = now;
            c->stg.gap_close = true;
            c->stg.gap_close_at = now;
            backfill_gap(c, now);
            PUSH(q, MD_M_PUB, PUB_I_FETCH_DATA, JOB_BACKFILL);
            break;
        case MD_A_PRODUCE:
            rc = bars_produce(c, a);
            break;
        case MD_A_DISCARD:
            rc = bars_discard(c, a);
            break;
        case MD_A_REQUEUE:
            rc = bars_requeue(c);
            break;
        case MD_A_REQUEUE_ALL:
            rc = bars_requeue_all(c);
            break;
        case MD_A_DEAD_LETTER:
            rc = bars_dead_letter(c, a);
            break;
        case MD_A_TOPIC_CREATE:
            if (topics_ask(c, a) == 0) {
                /* nothing wanted any more: done at once */
                PUSH(q, MD_M_PUB, PUB_I_TOPIC_CREATED, 0);
            }
            break;
        case MD_A_PRODUCER_RESET:
        case MD_A_WS_PING:
        case MD_A_INVALID:
        case MD_A_TRACE:
        case MD_A_ARM_TIMER:
        case MD_A_CANCEL_TIMER:
        case MD_A_WS_OPEN:
        case MD_A_WS_CLOSE:
        case MD_A_REST_CANCEL:
        case MD_A_FLUSH:
        case MD_A_BARS:
        case MD_A_NOTE:
        case MD_A__COUNT:
            break;
        }
    }
    return rc;
}

/* A socket event's input: the end of a socket whose upgrade the server
 * refused is read by the handshake's HTTP status (401/403: the key; 429:
 * too many sockets); every other event as the shell named it. */
static uint8_t conn_socket_input(const struct core_in *in)
{
    if (in->input != CONN_I_WS_CLOSED) {
        return in->input;
    }
    if (in->http_status == 401 || in->http_status == 403) {
        return CONN_I_WS_REFUSED_AUTH;
    }
    if (in->http_status == 429) {
        return CONN_I_WS_REFUSED_RATE;
    }
    return in->input;
}

static int step_one(struct core *c, const struct ev *e,
                    const struct core_in *in)
{
    struct md_out *out = &c->stg.out;

    save_machine(c, (enum md_machine)e->machine);
    switch ((enum md_machine)e->machine) {
    case MD_M_CONN: {
        struct conn_in ci = {e->input, in->t_ns, e->server_ms};
        int rc = conn_step(&c->conn, &ci, out);
        if (rc == MD_OK && c->stg.frame) {
            /* a frame step's one conn event: lambda gates its data */
            c->stg.fed = c->conn.out == CONN_O_FEED;
        }
        return rc;
    }
    case MD_M_REST: {
        struct rest_in ri = {e->input, in->t_ns, e->retry_after_ns,
                             (uint32_t)e->n};
        return rest_step(&c->rest, &ri, out);
    }
    case MD_M_PUB: {
        struct pub_in pi = {e->input, in->t_ns, e->n};
        uint64_t before = c->pub.queued + c->pub.inflight;
        int rc = pub_step(&c->pub, &pi, out);
        if (rc == MD_OK && e->input == PUB_I_DATA_READY &&
            c->pub.queued + c->pub.inflight < before + e->n) {
            /* the publisher took none of them (stopped): the bars are
             * released at once, lost, and said so */
            uint64_t lost = before + e->n - c->pub.queued - c->pub.inflight;
            c->stg.dropped_new += lost;
            while (lost-- > 0 && c->s.q_n > 0) {
                uint64_t id = c->queue[(c->s.q_head + c->s.q_n - 1) %
                                       (2 * c->bar_cap)];
                c->s.q_n--;
                bars_set_state(c, id, CORE_BAR_FREE);
            }
        }
        if (rc == MD_OK && e->input == PUB_I_PUBLISH_SUCCESS &&
            c->stg.report_id != 0) {
            bars_set_state(c, c->stg.report_id, CORE_BAR_FREE);
        }
        return rc;
    }
    case MD_M_INVALID:
    case MD_M__COUNT:
        break;
    }
    return MD_E_INVAL;
}

static int valid_input(const struct core_in *in)
{
    switch ((enum core_in_kind)in->kind) {
    case CORE_IN_START:
    case CORE_IN_STOP:
    case CORE_IN_RESET:
        return 1;
    case CORE_IN_FRAME:
    case CORE_IN_HTTP:
        return in->data != NULL || in->len == 0;
    case CORE_IN_CONN:
        return in->input > 0 && in->input < CONN_I__COUNT;
    case CORE_IN_REST:
        /* bars come from REST bodies only (CORE_IN_HTTP) */
        return in->input > 0 && in->input < REST_I__COUNT && in->n == 0;
    case CORE_IN_PUB:
        /* what the Kafka shell reports; the rest is the core's own */
        return in->input == PUB_I_PUBLISH_SUCCESS ||
               in->input == PUB_I_PUBLISH_FAILURE ||
               in->input == PUB_I_PUBLISH_REJECTED ||
               in->input == PUB_I_QUEUE_FULL ||
               in->input == PUB_I_PRODUCER_FATAL ||
               in->input == PUB_I_TOPIC_CREATED ||
               in->input == PUB_I_TOPIC_FAILED;
    case CORE_IN_TIMER:
        return in->timer > 0 && in->timer < MD_T__COUNT;
    case CORE_IN_INVALID:
    case CORE_IN__COUNT:
        break;
    }
    return 0;
}

/* Socket events of a socket the machine has replaced are not its input. */
static int from_old_socket(const struct core *c, const struct core_in *in)
{
    return (in->kind == CORE_IN_FRAME ||
            (in->kind == CORE_IN_CONN && in->input >= CONN_I_WS_OPEN &&
             in->input <= CONN_I_OTHER)) &&
           in->conn_id != c->conn.conn_id;
}

/* A delivery report (or a refusal at once) must name a bar in flight;
 * anything else (a report for a bar already given up, or no bar at all)
 * is not the publisher's input, nor a fatal error with no bar in flight
 * (an idempotent producer fails fatally only on a delivery). */
static int stale_report(struct core *c, const struct core_in *in)
{
    if (in->kind == CORE_IN_PUB && in->input == PUB_I_PRODUCER_FATAL) {
        return c->s.n_inflight == 0;
    }
    if (in->kind != CORE_IN_PUB || (in->input != PUB_I_PUBLISH_SUCCESS &&
                                    in->input != PUB_I_PUBLISH_FAILURE &&
                                    in->input != PUB_I_PUBLISH_REJECTED &&
                                    in->input != PUB_I_QUEUE_FULL)) {
        return 0;
    }
    if (in->bar_id == 0 || in->bar_id >= c->s.next_id ||
        in->bar_id < c->s.lo ||
        c->bar_state[in->bar_id & (c->bar_cap - 1)] != CORE_BAR_INFLIGHT) {
        return 1;
    }
    return 0;
}

/* Turn the input into the step's first events. */
/* One Admin result, naming its topic: the bars parked for a topic
 * created go to the publisher at once (DATA_READY), ahead of the
 * request's own end; the publisher hears TOPIC_CREATED, or TOPIC_FAILED
 * if any topic of the request failed, with its last result. A result for
 * no topic asked for is counted and goes no further. */
static int on_topic_result(struct core *c, const struct core_in *in,
                           struct evq *q)
{
    uint64_t released;
    bool last;
    int rc = topics_result(c, in->data, in->len,
                           in->input == PUB_I_TOPIC_CREATED, &released,
                           &last);

    if (rc == MD_E_STATE) {
        return MD_OK; /* stale: counted */
    }
    if (rc != MD_OK) {
        return rc;
    }
    if (released > 0) {
        /* bars a running fetch held go with them, as with live bars */
        PUSH(q, MD_M_PUB, PUB_I_DATA_READY, released + c->s.held);
        c->s.held = 0;
    }
    if (last) {
        PUSH(q, MD_M_PUB, c->s.admin_failed ? PUB_I_TOPIC_FAILED
                                            : PUB_I_TOPIC_CREATED,
             0);
    }
    return MD_OK;
}

/* The publisher has stopped: bars still parked for a topic that never
 * came are given up, named (discard), counted and noted. */
static int parked_lost(struct core *c, mono_ns t)
{
    size_t first = c->stg.n_ref;
    struct md_action *a;
    uint64_t id;

    if (md_out_room(&c->stg.out) < 2 ||
        !bars_ref_room(c, (size_t)c->s.n_parked)) {
        return MD_E_FULL;
    }
    for (id = c->s.lo; id < c->s.next_id; id++) {
        if (c->bar_state[id & (c->bar_cap - 1)] == CORE_BAR_PARKED) {
            bars_set_state(c, id, CORE_BAR_FREE);
            c->stg.ref[c->stg.n_ref++] = bars_at(c, id);
        }
    }
    a = md_out_push(&c->stg.out, MD_A_DISCARD, t);
    a->n = c->stg.n_ref - first;
    a->arg = a->n;
    a->p.bars = &c->stg.ref[first];
    c->st.bars_parked_lost += a->n;
    return stage_note(c, t, MD_N_BARS_LOST, a->n);
}

static int dispatch(struct core *c, const struct core_in *in, struct evq *q)
{
    enum md_machine tm;
    uint8_t ti;
    struct ev *e;

    switch ((enum core_in_kind)in->kind) {
    case CORE_IN_START:
        if (!c->feed.have_offset) {
            /* The wall clock until the server tells its time. */
            feed_set_clock(&c->feed, in->server_ms, in->t_ns);
        }
        if (c->s.stopping) {
            /* Once stopped the publisher takes no new work; the
             * connection machine ignores START by its table. */
            PUSH(q, MD_M_CONN, CONN_I_START, 0);
            break;
        }
        PUSH(q, MD_M_CONN, CONN_I_START, 0);
        PUSH(q, MD_M_PUB, PUB_I_FETCH_DATA, JOB_PREFLIGHT);
        break;
    case CORE_IN_STOP:
        c->s.stopping = true;
        /* Open bars go out (close reason flush) before the publisher
         * stops, so they are produced in its drain; the backfill timer
         * has nothing left to do. */
        if (c->s.backfill_armed) {
            struct md_action *a;
            if (md_out_room(&c->stg.out) == 0) {
                return MD_E_FULL;
            }
            a = md_out_push(&c->stg.out, MD_A_CANCEL_TIMER, in->t_ns);
            a->timer = MD_T_BACKFILL;
            c->s.backfill_armed = false;
        }
        {
            /* With a checkpoint to keep them (stop_keeps_open) open bars
             * stay open: the restarted process continues them, where an
             * early flush would publish a revision 0 it contradicts. */
            int rc = bars_close(c, feed_server_ns(&c->feed, in->t_ns),
                                !c->cfg.stop_keeps_open, in->t_ns, q);
            if (rc != MD_OK) {
                return rc;
            }
        }
        /* bars a running fetch held go out in the drain too; its failed
         * requests were noted by the REST machine */
        if (c->s.held > 0) {
            PUSH(q, MD_M_PUB, PUB_I_DATA_READY, c->s.held);
            c->s.held = 0;
        }
        c->s.fetch_failed = 0;
        /* a flushed bar bound for a topic never asked for asks before
         * the publisher stops, so the drain waits for it */
        if (c->stg.topic_wanted) {
            c->stg.topic_wanted = false;
            if (c->pub.state != PUB_S_STOPPED &&
                c->pub.state != PUB_S_DRAINING) {
                PUSH(q, MD_M_PUB, PUB_I_CREATE_DYNAMIC_TOPIC, 0);
            }
        }
        PUSH(q, MD_M_CONN, CONN_I_STOP, 0);
        PUSH(q, MD_M_REST, REST_I_STOP, 0);
        PUSH(q, MD_M_PUB, PUB_I_STOP, 0);
        break;
    case CORE_IN_RESET:
        PUSH(q, MD_M_CONN, CONN_I_RESET, 0);
        PUSH(q, MD_M_PUB, PUB_I_RESET, 0);
        break;
    case CORE_IN_FRAME:
        (void)feed_decode(&c->feed, in->data, in->len, &c->stg.msg,
                          &c->stg.res);
        c->stg.frame = true;
        e = evq_push(q, MD_M_CONN, c->stg.res.conn_input, 0);
        if (e == NULL) {
            return MD_E_STATE;
        }
        e->server_ms = c->stg.res.server_ms;
        break;
    case CORE_IN_CONN:
        e = evq_push(q, MD_M_CONN, conn_socket_input(in), 0);
        if (e == NULL) {
            return MD_E_STATE;
        }
        e->server_ms = in->server_ms;
        break;
    case CORE_IN_HTTP:
        return fetch_on_http(c, in, q, feed_server_ns(&c->feed, in->t_ns));
    case CORE_IN_REST:
        e = evq_push(q, MD_M_REST, in->input, in->n);
        if (e == NULL) {
            return MD_E_STATE;
        }
        e->retry_after_ns = in->retry_after_ns;
        break;
    case CORE_IN_PUB:
        if (in->input == PUB_I_TOPIC_CREATED ||
            in->input == PUB_I_TOPIC_FAILED) {
            return on_topic_result(c, in, q);
        }
        if (in->input == PUB_I_PUBLISH_SUCCESS ||
            in->input == PUB_I_PUBLISH_FAILURE ||
            in->input == PUB_I_PUBLISH_REJECTED ||
            in->input == PUB_I_QUEUE_FULL) {
            c->stg.report_id = in->bar_id;
        }
        PUSH(q, MD_M_PUB, in->input, in->n);
        break;
    case CORE_IN_TIMER:
        if (in->timer == MD_T_BAR) {
            c->s.bar_armed = false;
            if (c->s.stopping && c->cfg.stop_keeps_open) {
                return MD_OK;
            }
            return bars_close(c, feed_server_ns(&c->feed, in->t_ns), false,
                              in->t_ns, q);
        }
        if (in->timer == MD_T_BACKFILL) {
            c->s.backfill_armed = false;
            if (c->s.stopping) {
                return MD_OK;
            }
            if (backfill_due(c, feed_server_ns(&c->feed, in->t_ns))) {
                PUSH(q, MD_M_PUB, PUB_I_FETCH_DATA, JOB_BACKFILL);
            } else {
                /* early (the server clock moved): wait on */
                return backfill_arm(c, in->t_ns);
            }
        } else if (core_timer_target((enum md_timer)in->timer, &tm, &ti)) {
            PUSH(q, tm, ti, 0);
        }
        break;
    case CORE_IN_INVALID:
    case CORE_IN__COUNT:
        return MD_E_INVAL;
    }
    return MD_OK;
}

/* ---- commit ------------------------------------------------------------ */

static bool internal(uint8_t kind)
{
    return kind == MD_A_FETCH || kind == MD_A_FETCH_DONE ||
           kind == MD_A_FETCH_FAILED || kind == MD_A_REQUEUE ||
           kind == MD_A_REQUEUE_ALL ||
           kind == MD_A_GAP_OPEN || kind == MD_A_GAP_CLOSED;
}

/* Bars of a REST body the REST machine did not announce (its fetch was
 * not done by this answer): released, lost, said so. */
static int release_unannounced(struct core *c)
{
    size_t i;

    for (i = c->stg.rest_first; i < c->stg.rest_first + c->stg.rest_n; i++) {
        uint64_t id = c->stg.ref[i]->id;
        bars_queue_remove(c, id);
        bars_set_state(c, id, CORE_BAR_FREE);
    }
    return MD_OK;
}

/* Actions the commit will give the shell (notes aside). */
static size_t shell_actions(const struct core *c)
{
    size_t i, n = 0;

    for (i = 0; i < c->stg.out.n; i++) {
        n += !internal(c->stg.out.a[i].kind);
    }
    return n;
}

static void note(struct md_out *out, mono_ns t, enum md_note n, uint64_t arg)
{
    struct md_action *a = md_out_push(out, MD_A_NOTE, t);
    a->note = (uint8_t)n;
    a->arg = arg;
}

/* Keep the step's changes: apply what waited for the commit to the feed
 * and the aggregator, and give the shell its actions, in order, without
 * the internal ones and with one arm or cancel per timer (the last). */
static void commit(struct core *c, const struct core_in *in,
                   struct md_out *out)
{
    size_t i, last[MD_T__COUNT];
    uint64_t sends_left = 0; /* REST sends after the action at hand */
    uint64_t full0 = c->feed.agg.st.streams_full;
    uint64_t tk0 = c->feed.st.ticker_overflow;
    mono_ns t = in->t_ns;

    if (c->stg.frame) {
        if (c->stg.fed || c->stg.res.conn_input != CONN_I_DATA) {
            (void)feed_apply(&c->feed, &c->stg.msg, &c->stg.res, t);
        } else {
            /* data the connection machine did not FEED (before the
             * welcome: noted other_frame): its clock only, no bar */
            feed_set_clock(&c->feed, c->stg.res.server_ms, t);
        }
    }
    if (c->stg.resubscribed) {
        feed_resubscribed(&c->feed);
    }
    if (c->stg.gap_open) {
        agg_gap_open(&c->feed.agg, c->stg.gap_open_at);
    }
    if (c->stg.gap_close) {
        agg_gap_close(&c->feed.agg, c->stg.gap_close_at);
    }
    if (c->stg.seed) {
        const struct rp_series *se = &c->stg.seed_series;
        (void)agg_seed_close(&c->feed.agg, se->base, se->quote,
                             se->interval_s, c->stg.seed_end_ns,
                             c->stg.seed_close);
    }
    for (i = c->stg.rest_first; i < c->stg.rest_first + c->stg.rest_n; i++) {
        const struct bar *b = &c->stg.ref[i]->bar;
        if (b->close_reason == BAR_CLOSE_BACKFILL && b->revision > 0) {
            (void)agg_note_backfill(&c->feed.agg, b, b->revision);
        }
    }
    for (i = 0; i < MD_T__COUNT; i++) {
        last[i] = SIZE_MAX;
    }
    for (i = 0; i < c->stg.out.n; i++) {
        const struct md_action *a = &c->stg.out.a[i];
        if (a->kind == MD_A_ARM_TIMER || a->kind == MD_A_CANCEL_TIMER) {
            last[a->timer] = i;
        }
    }
    for (i = 0; i < c->stg.out.n; i++) {
        sends_left += c->stg.out.a[i].kind == MD_A_REST_SEND;
    }
    for (i = 0; i < c->stg.out.n; i++) {
        const struct md_action *a = &c->stg.out.a[i];
        struct md_action *b;
        if (a->kind == MD_A_REST_SEND) {
            sends_left--;
        }
        if (internal(a->kind) ||
            ((a->kind == MD_A_ARM_TIMER || a->kind == MD_A_CANCEL_TIMER) &&
             last[a->timer] != i)) {
            continue;
        }
        b = md_out_push(out, (enum md_act_kind)a->kind, a->t_ns);
        *b = *a;
        if (a->kind == MD_A_REST_CANCEL) {
            /* the request in flight: named as its send named it (the
             * core's count of sends, less those later in this step) */
            b->arg = c->s.req_id - sends_left;
        }
        if (a->kind == MD_A_REST_SEND) {
            /* the request at the head once the step is over */
            const struct rp_fetch *f = fetch_head(c);
            size_t len = 0;
            if (f == NULL || rp_req_path(&f->req, c->target,
                                         sizeof c->target, &len) != MD_OK) {
                c->target[0] = '\0';
                len = 0;
            }
            c->req.target_len = len;
            c->req.purpose = f != NULL ? f->purpose : 0;
            b->arg = c->s.req_id;
            b->p.req = &c->req;
        }
    }
    if (c->feed.agg.st.streams_full > full0) {
        c->st.streams_full++;
        note(out, t, MD_N_STREAMS_FULL, c->feed.agg.st.streams_full);
    }
    if (c->feed.st.ticker_overflow > tk0) {
        c->st.tickers_full++;
        note(out, t, MD_N_TICKERS_FULL, c->feed.st.ticker_overflow);
    }
    if (c->stg.unannounced > 0 || c->stg.dropped_new > 0) {
        c->st.bars_unpublished += c->stg.unannounced + c->stg.dropped_new;
        note(out, t, MD_N_BARS_LOST,
             c->stg.unannounced + c->stg.dropped_new);
    }
    if (c->stg.wait) {
        note(out, t, MD_N_BARS_WAIT, c->st.bars_wait);
    }
    if (c->lost_unnoted > 0) {
        note(out, t, MD_N_BARS_LOST, c->lost_unnoted);
        c->lost_unnoted = 0;
    }
}

int core_step(struct core *c, const struct core_in *in, struct md_out *out)
{
    struct evq q;
    int rc;

    if (md_out_room(out) < CORE_MAX_ACTIONS) {
        return MD_E_FULL;
    }
    if (!valid_input(in)) {
        return MD_E_INVAL;
    }
    c->st.steps++;
    if (from_old_socket(c, in)) {
        c->st.stale_socket_events++;
        return MD_OK;
    }
    if (stale_report(c, in)) {
        c->st.stale_reports++;
        note(out, in->t_ns, MD_N_STALE_REPORT, in->bar_id);
        return MD_OK;
    }
    stage_begin(c);
    q.head = q.n = 0;
    rc = dispatch(c, in, &q);
    for (;;) {
        while (q.n > 0 && rc == MD_OK) {
            struct ev e = q.e[q.head];
            size_t from = c->stg.out.n;
            q.head = (q.head + 1) % EVQ_CAP;
            q.n--;
            rc = step_one(c, &e, in);
            if (rc == MD_OK) {
                rc = route(c, &q, from, in->t_ns);
            }
        }
        if (rc != MD_OK || !c->stg.topic_wanted) {
            break;
        }
        /* a bar is bound for a topic not asked for yet: ask (a publisher
         * draining or stopped asks for nothing new: such bars are given
         * up, counted, when it stops) */
        c->stg.topic_wanted = false;
        if (c->pub.state != PUB_S_STOPPED &&
            c->pub.state != PUB_S_DRAINING &&
            evq_push(&q, MD_M_PUB, PUB_I_CREATE_DYNAMIC_TOPIC, 0) == NULL) {
            rc = MD_E_STATE;
        }
    }
    if (rc == MD_OK && c->pub.state == PUB_S_STOPPED && c->s.n_parked > 0) {
        rc = parked_lost(c, in->t_ns);
    }
    if (rc == MD_OK && c->stg.unannounced > 0) {
        rc = release_unannounced(c);
    }
    if (rc == MD_OK) {
        rc = bar_timer(c, in->t_ns);
    }
    if (rc == MD_OK && shell_actions(c) + 5 > md_out_room(out)) {
        rc = MD_E_FULL;
    }
#ifndef NDEBUG
    if (rc == MD_OK) {
        rc = core_check(c);
    }
#endif
    if (rc != MD_OK) {
        rollback(c);
        return rc;
    }
    commit(c, in, out);
    return MD_OK;
}

int core_check(const struct core *c)
{
    /* bars a running fetch holds are queued, the last in the queue, and
     * only while the publisher has no bar of its own */
    if (c->s.held > 0 && c->pub.queued + c->pub.inflight > 0) {
        return MD_E_STATE;
    }
    if (c->s.n_queued != c->pub.queued + c->s.held ||
        c->s.n_inflight != c->pub.inflight ||
        c->s.q_n != c->s.n_queued || c->s.lo > c->s.next_id ||
        c->s.next_id - c->s.lo > c->bar_cap) {
        return MD_E_STATE;
    }
    if (c->s.fetch_n > c->cfg.rest.queue_cap) {
        return MD_E_STATE;
    }
    return MD_OK;
}
