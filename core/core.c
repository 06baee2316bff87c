/* core.c: the composition of the producer's machines. Routes inputs,
 * feeds internal outputs from one machine to another within one step.
 * Pure: no I/O, no allocation, no clock. */
#include <string.h>

#include "core.h"
#include "md_err.h"

const struct fsm_def *const core_defs[MD_M__COUNT] = {
    [MD_M_INVALID] = NULL,
    [MD_M_CONN] = &conn_def,
    [MD_M_REST] = &rest_def,
    [MD_M_PUB] = &pub_def,
};

void core_config_default(struct core_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    conn_config_default(&cfg->conn);
    rest_config_default(&cfg->rest);
    pub_config_default(&cfg->pub);
}

void core_init(struct core *c, const struct core_config *cfg)
{
    memset(c, 0, sizeof *c);
    md_prng_seed(&c->rng, cfg->seed);
    conn_init(&c->conn, &cfg->conn, &c->rng);
    rest_init(&c->rest, &cfg->rest, &c->rng);
    pub_init(&c->pub, &cfg->pub, &c->rng);
    c->conn.trace = c->rest.trace = c->pub.trace = (uint8_t)(cfg->trace != 0);
}

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
    case MD_T_INVALID:
    case MD_T__COUNT:
        break;
    }
    return 0;
}

/* An event for one machine, queued within a step. */
struct ev {
    uint8_t machine;
    uint8_t input;
    uint64_t n;
};

#define EVQ_CAP 8
struct evq {
    unsigned head, n;
    struct ev e[EVQ_CAP];
};

static void evq_push(struct evq *q, enum md_machine m, uint8_t input,
                     uint64_t n)
{
    /* Capacity is a static property of the routing rules: at most one
     * follow-up per internal action, and a machine step emits at most two
     * internal actions; EVQ_CAP leaves room. */
    if (q->n < EVQ_CAP) {
        struct ev *e = &q->e[(q->head + q->n) % EVQ_CAP];
        e->machine = (uint8_t)m;
        e->input = input;
        e->n = n;
        q->n++;
    }
}

/* Turn the internal actions in out->a[from..] into events for others. */
static void route(struct evq *q, const struct md_out *out, size_t from)
{
    size_t i;

    for (i = from; i < out->n; i++) {
        const struct md_action *a = &out->a[i];
        switch ((enum md_act_kind)a->kind) {
        case MD_A_FETCH:
            evq_push(q, MD_M_REST, REST_I_FETCH, 0);
            break;
        case MD_A_FETCH_DONE:
            evq_push(q, MD_M_PUB, PUB_I_DATA_READY, a->arg);
            break;
        case MD_A_FETCH_FAILED:
            evq_push(q, MD_M_PUB, PUB_I_FETCH_FAILURE, a->arg);
            break;
        case MD_A_NOTE:
            if (a->note == MD_N_GAP_CLOSED) {
                /* Live again after a gap: backfill it. */
                evq_push(q, MD_M_PUB, PUB_I_FETCH_DATA, 0);
            }
            break;
        case MD_A_INVALID:
        case MD_A_TRACE:
        case MD_A_ARM_TIMER:
        case MD_A_CANCEL_TIMER:
        case MD_A_WS_OPEN:
        case MD_A_WS_SUBSCRIBE:
        case MD_A_WS_CLOSE:
        case MD_A_REST_SEND:
        case MD_A_REST_CANCEL:
        case MD_A_TOPIC_CREATE:
        case MD_A_PRODUCE:
        case MD_A_DISCARD:
        case MD_A_FLUSH:
        case MD_A__COUNT:
            break;
        }
    }
}

static int step_one(struct core *c, const struct ev *e,
                    const struct core_in *in, struct md_out *out)
{
    switch ((enum md_machine)e->machine) {
    case MD_M_CONN: {
        struct conn_in ci = {e->input, in->t_ns, in->server_ms};
        return conn_step(&c->conn, &ci, out);
    }
    case MD_M_REST: {
        struct rest_in ri = {e->input, in->t_ns, in->retry_after_ns,
                             (uint32_t)e->n};
        return rest_step(&c->rest, &ri, out);
    }
    case MD_M_PUB: {
        struct pub_in pi = {e->input, in->t_ns, e->n};
        return pub_step(&c->pub, &pi, out);
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
    case CORE_IN_CONN:
        return in->input > 0 && in->input < CONN_I__COUNT;
    case CORE_IN_REST:
        return in->input > 0 && in->input < REST_I__COUNT;
    case CORE_IN_PUB:
        return in->input > 0 && in->input < PUB_I__COUNT;
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
    return in->kind == CORE_IN_CONN && in->input >= CONN_I_WS_OPEN &&
           in->input <= CONN_I_OTHER && in->conn_id != c->conn.conn_id;
}

int core_step(struct core *c, const struct core_in *in, struct md_out *out)
{
    struct evq q;
    enum md_machine tm;
    uint8_t ti;
    int rc = MD_OK;

    if (md_out_room(out) < CORE_MAX_ACTIONS) {
        return MD_E_FULL;
    }
    if (!valid_input(in)) {
        return MD_E_INVAL;
    }
    c->steps++;
    if (from_old_socket(c, in)) {
        c->stale_socket_events++;
        return MD_OK;
    }
    memset(&q, 0, sizeof q);
    switch ((enum core_in_kind)in->kind) {
    case CORE_IN_START:
        evq_push(&q, MD_M_PUB, PUB_I_CREATE_DYNAMIC_TOPIC, 0);
        evq_push(&q, MD_M_CONN, CONN_I_START, 0);
        evq_push(&q, MD_M_PUB, PUB_I_FETCH_DATA, 0); /* preflight */
        break;
    case CORE_IN_STOP:
        evq_push(&q, MD_M_CONN, CONN_I_STOP, 0);
        evq_push(&q, MD_M_REST, REST_I_STOP, 0);
        evq_push(&q, MD_M_PUB, PUB_I_STOP, 0);
        break;
    case CORE_IN_RESET:
        evq_push(&q, MD_M_CONN, CONN_I_RESET, 0);
        evq_push(&q, MD_M_PUB, PUB_I_RESET, 0);
        break;
    case CORE_IN_CONN:
        evq_push(&q, MD_M_CONN, in->input, 0);
        break;
    case CORE_IN_REST:
        evq_push(&q, MD_M_REST, in->input, in->n);
        break;
    case CORE_IN_PUB:
        evq_push(&q, MD_M_PUB, in->input, in->n);
        break;
    case CORE_IN_TIMER:
        if (core_timer_target((enum md_timer)in->timer, &tm, &ti)) {
            evq_push(&q, tm, ti, 0);
        }
        break;
    case CORE_IN_INVALID:
    case CORE_IN__COUNT:
        return MD_E_INVAL;
    }
    while (q.n > 0 && rc == MD_OK) {
        struct ev e = q.e[q.head];
        size_t mark = out->n;
        q.head = (q.head + 1) % EVQ_CAP;
        q.n--;
        rc = step_one(c, &e, in, out);
        if (rc == MD_OK) {
            route(&q, out, mark);
        }
    }
    return rc;
}
