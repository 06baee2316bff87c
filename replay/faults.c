/* faults.c: the fault injector of a what-if replay. It sits between the
 * executor and the virtual world the way librdkafka's sockem sits between
 * a client and its socket: an HTTP operation table that wraps the world's
 * (a failed request never reaches the REST server, so its recorded answer
 * stays for the retry), and a filter on everything the world answers (a
 * close that takes 10 s, a slow broker, an Admin or delivery failure) and
 * on the frames the server sends (a stall). The world itself knows
 * nothing of faults. Operator commands (stop@, reset@, start@) and the
 * server's own events (frame@, drop@) are inputs at a time, played by the
 * run (replay.c). */
#include <stdlib.h>
#include <string.h>

#include "md_err.h"
#include "replay_int.h"

/* True when an injection of kind is in force at t (the first such one at
 * or before t; these stay in force, they are not used up). */
static bool in_force(const struct run *r, int kind, int64_t t)
{
    unsigned k;

    for (k = 0; k < r->o->n_inject; k++) {
        if (r->o->inject[k].kind == kind &&
            t - r->t0 >= r->o->inject[k].at_ns) {
            return true;
        }
    }
    return false;
}

/* Use up the first unused injection of kind due at or before `at` (time
 * of the effect it changes); true if there was one. */
static bool take_inject(struct run *r, int kind, int64_t at)
{
    unsigned k;

    for (k = 0; k < r->o->n_inject; k++) {
        struct rpl_inject *in = &r->o->inject[k];
        if (in->kind == kind && !in->used && at - r->t0 >= in->at_ns) {
            in->used = true;
            return true;
        }
    }
    return false;
}

bool fault_stalled(const struct run *r, int64_t t)
{
    unsigned k;

    for (k = 0; k < r->o->n_inject; k++) {
        const struct rpl_inject *in = &r->o->inject[k];
        if (in->kind == RPL_INJ_STALL && t - r->t0 >= in->at_ns &&
            t - r->t0 < in->at_ns + 100 * NS_PER_S) {
            return true;
        }
    }
    return false;
}

bool fault_half_open(const struct run *r, int64_t t)
{
    unsigned k;

    for (k = 0; k < r->o->n_inject; k++) {
        const struct rpl_inject *in = &r->o->inject[k];
        if (in->kind == RPL_INJ_HALF_OPEN && t - r->t0 >= in->at_ns &&
            t - r->t0 < in->at_ns + 100 * NS_PER_S) {
            return true;
        }
    }
    return false;
}

int fault_refused(struct run *r, int64_t t)
{
    if (take_inject(r, RPL_INJ_REFUSE_AUTH, t)) {
        return 401;
    }
    if (take_inject(r, RPL_INJ_REFUSE_RATE, t)) {
        return 429;
    }
    return 0;
}

bool fault_take(struct run *r, int kind, int64_t at)
{
    return take_inject(r, kind, at);
}

bool fault_queue_full(struct run *r, int64_t t)
{
    return take_inject(r, RPL_INJ_QUEUE_FULL, t);
}

void fault_reply(struct run *r, struct pend *p)
{
    switch (p->kind) {
    case PEND_WS_CLOSED:
        if (in_force(r, RPL_INJ_SLOW_CLOSE, p->sent)) {
            p->t = p->sent + 10 * NS_PER_S;
        }
        break;
    case PEND_ADMIN:
    case PEND_DELIVERY:
        if (r->kafka != NULL) {
            break; /* a real broker's answers: injected there (broker.c) */
        }
        /* a refusal at once is the produce call's own answer: never late */
        if (p->input != PUB_I_QUEUE_FULL &&
            in_force(r, RPL_INJ_KAFKA_SLOW, p->sent)) {
            p->t = p->sent + 15 * NS_PER_S;
        }
        /* one injection, one result */
        if (p->kind == PEND_ADMIN) {
            if (p->ok && take_inject(r, RPL_INJ_TOPIC_FAIL, p->t)) {
                p->ok = 0;
            }
        } else if (p->input == PUB_I_PUBLISH_SUCCESS) {
            if (take_inject(r, RPL_INJ_PUBLISH_FAIL, p->t)) {
                p->input = PUB_I_PUBLISH_FAILURE;
            } else if (take_inject(r, RPL_INJ_PUBLISH_REJECT, p->t)) {
                p->input = PUB_I_PUBLISH_REJECTED;
            } else if (take_inject(r, RPL_INJ_KAFKA_FATAL, p->t)) {
                p->input = PUB_I_PRODUCER_FATAL;
            }
        }
        break;
    default:
        break;
    }
}

/* rest-fail: a transport error 1 ms later; rest-hang: no answer at all;
 * rest-param: the server's answer to a request missing a parameter.
 * Either way the world never sees the request. */
static void f_rest_send(void *ctx, mono_ns t, uint64_t id,
                        const struct md_request *req)
{
    static const char param[] =
        "{\"Response\":\"Error\",\"Message\":\"fsym param "
        "seems to be missing.\",\"HasWarning\":false,\"Type\":2,"
        "\"RateLimit\":{},\"Data\":{},\"ParamWithError\":"
        "\"fsym\"}";
    struct run *r = ctx;
    struct pend p;

    memset(&p, 0, sizeof p);
    p.kind = PEND_HTTP;
    p.t = t + NS_PER_MS;
    if (take_inject(r, RPL_INJ_REST_FAIL, t)) {
        r->sum->rest_misses++;
        world_reply(r, t, p);
        return;
    }
    if (take_inject(r, RPL_INJ_REST_HANG, t)) {
        return; /* no answer: the core's request timeout ends it */
    }
    if (take_inject(r, RPL_INJ_REST_PARAM, t)) {
        p.status = 200;
        p.data = malloc(sizeof param);
        if (p.data == NULL) {
            world_fail(r, MD_E_NOMEM, "out of memory");
            return;
        }
        memcpy(p.data, param, sizeof param);
        p.len = sizeof param - 1;
        world_reply(r, t, p);
        return;
    }
    world_http.send(ctx, t, id, req);
}

static void f_rest_cancel(void *ctx, mono_ns t, uint64_t id)
{
    world_http.cancel(ctx, t, id);
}

const struct loop_http_ops fault_http = {f_rest_send, f_rest_cancel};
