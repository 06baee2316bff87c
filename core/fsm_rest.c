/* fsm_rest.c: the REST machine's table and effects. Pure. */
#include <string.h>

#include "fsm_int.h"
#include "fsm_rest.h"
#include "md_err.h"

static const char *const state_names[REST_S__COUNT] = {
    [REST_S_INVALID] = "INVALID",
    [REST_S_IDLE] = "IDLE",
    [REST_S_REQUESTING] = "REQUESTING",
    [REST_S_WAITING] = "WAITING",
    [REST_S_STOPPED] = "STOPPED",
};

static const char *const input_names[REST_I__COUNT] = {
    [REST_I_INVALID] = "INVALID",
    [REST_I_FETCH] = "FETCH",
    [REST_I_RESP_OK] = "RESP_OK",
    [REST_I_RESP_PARAM_ERROR] = "RESP_PARAM_ERROR",
    [REST_I_RESP_RATE_LIMIT] = "RESP_RATE_LIMIT",
    [REST_I_RESP_AUTH] = "RESP_AUTH",
    [REST_I_RESP_FAIL] = "RESP_FAIL",
    [REST_I_T_TIMEOUT] = "T_TIMEOUT",
    [REST_I_T_RETRY] = "T_RETRY",
    [REST_I_STOP] = "STOP",
};

static const char *const guard_names[REST_G__COUNT] = {
    [REST_G_ALWAYS] = "-",
    [REST_G_RETRY] = "retry",
    [REST_G_MORE] = "more",
};

static const char *const output_names[REST_O__COUNT] = {
    [REST_O_INVALID] = "INVALID",
    [REST_O_NONE] = "-",
    [REST_O_SEND] = "SEND",
    [REST_O_ENQUEUE] = "ENQUEUE",
    [REST_O_DELIVER_NEXT] = "DELIVER_NEXT",
    [REST_O_DELIVER_LAST] = "DELIVER_LAST",
    [REST_O_FAIL_NEXT] = "FAIL_NEXT",
    [REST_O_FAIL_LAST] = "FAIL_LAST",
    [REST_O_GIVE_UP_NEXT] = "GIVE_UP_NEXT",
    [REST_O_GIVE_UP_LAST] = "GIVE_UP_LAST",
    [REST_O_WAIT] = "WAIT",
    [REST_O_WAIT_RATE] = "WAIT_RATE",
    [REST_O_RESEND] = "RESEND",
    [REST_O_FAIL_ALL] = "FAIL_ALL",
    [REST_O_ABORT] = "ABORT",
    [REST_O_ABORT_REQUEST] = "ABORT_REQUEST",
};

#define R FSM_R
#define U FSM_U
#define C1 FSM_C1
#define C2 FSM_C2
#define C3 FSM_C3
#define S(x) REST_S_##x
#define O(x) REST_O_##x
#define RETRY REST_G_RETRY
#define MORE REST_G_MORE

/* A failure that may be retried: wait if attempts are left, else give the
 * head up and go on with the queue. */
#define RETRYABLE(wait)                                                   \
    C3(R, RETRY, S(WAITING), O(wait), MORE, S(REQUESTING),                \
       O(GIVE_UP_NEXT), S(IDLE), O(GIVE_UP_LAST))

static const struct fsm_cell rest_cells[REST_S__COUNT][REST_I__COUNT] = {
    [REST_S_IDLE] = {
        [REST_I_FETCH] = C1(R, S(REQUESTING), O(SEND)),
        [REST_I_RESP_OK] = C1(U, S(IDLE), O(NONE)),
        [REST_I_RESP_PARAM_ERROR] = C1(U, S(IDLE), O(NONE)),
        [REST_I_RESP_RATE_LIMIT] = C1(U, S(IDLE), O(NONE)),
        [REST_I_RESP_AUTH] = C1(U, S(IDLE), O(NONE)),
        [REST_I_RESP_FAIL] = C1(U, S(IDLE), O(NONE)),
        [REST_I_T_TIMEOUT] = C1(U, S(IDLE), O(NONE)),
        [REST_I_T_RETRY] = C1(U, S(IDLE), O(NONE)),
        [REST_I_STOP] = C1(R, S(STOPPED), O(ABORT)),
    },
    [REST_S_REQUESTING] = {
        [REST_I_FETCH] = C1(R, S(REQUESTING), O(ENQUEUE)),
        [REST_I_RESP_OK] = C2(R, MORE, S(REQUESTING), O(DELIVER_NEXT),
                              S(IDLE), O(DELIVER_LAST)),
        [REST_I_RESP_PARAM_ERROR] = C2(R, MORE, S(REQUESTING), O(FAIL_NEXT),
                                       S(IDLE), O(FAIL_LAST)),
        [REST_I_RESP_RATE_LIMIT] = RETRYABLE(WAIT_RATE),
        [REST_I_RESP_AUTH] = C1(R, S(IDLE), O(FAIL_ALL)),
        [REST_I_RESP_FAIL] = RETRYABLE(WAIT),
        [REST_I_T_TIMEOUT] = RETRYABLE(WAIT),
        [REST_I_T_RETRY] = C1(U, S(REQUESTING), O(NONE)),
        [REST_I_STOP] = C1(R, S(STOPPED), O(ABORT_REQUEST)),
    },
    [REST_S_WAITING] = {
        [REST_I_FETCH] = C1(R, S(WAITING), O(ENQUEUE)),
        [REST_I_RESP_OK] = C1(U, S(WAITING), O(NONE)),
        [REST_I_RESP_PARAM_ERROR] = C1(U, S(WAITING), O(NONE)),
        [REST_I_RESP_RATE_LIMIT] = C1(U, S(WAITING), O(NONE)),
        [REST_I_RESP_AUTH] = C1(U, S(WAITING), O(NONE)),
        [REST_I_RESP_FAIL] = C1(U, S(WAITING), O(NONE)),
        [REST_I_T_TIMEOUT] = C1(U, S(WAITING), O(NONE)),
        [REST_I_T_RETRY] = C1(R, S(REQUESTING), O(RESEND)),
        [REST_I_STOP] = C1(R, S(STOPPED), O(ABORT)),
    },
    [REST_S_STOPPED] = {
        [REST_I_FETCH] = C1(U, S(STOPPED), O(NONE)),
        [REST_I_RESP_OK] = C1(U, S(STOPPED), O(NONE)),
        [REST_I_RESP_PARAM_ERROR] = C1(U, S(STOPPED), O(NONE)),
        [REST_I_RESP_RATE_LIMIT] = C1(U, S(STOPPED), O(NONE)),
        [REST_I_RESP_AUTH] = C1(U, S(STOPPED), O(NONE)),
        [REST_I_RESP_FAIL] = C1(U, S(STOPPED), O(NONE)),
        [REST_I_T_TIMEOUT] = C1(U, S(STOPPED), O(NONE)),
        [REST_I_T_RETRY] = C1(U, S(STOPPED), O(NONE)),
        [REST_I_STOP] = C1(R, S(STOPPED), O(NONE)),
    },
};

const struct fsm_def rest_def = {
    .name = "rest",
    .machine = MD_M_REST,
    .nstates = REST_S__COUNT,
    .ninputs = REST_I__COUNT,
    .nguards = REST_G__COUNT,
    .noutputs = REST_O__COUNT,
    .state_names = state_names,
    .input_names = input_names,
    .guard_names = guard_names,
    .output_names = output_names,
    .cells = &rest_cells[0][0],
    .q0 = REST_S_IDLE,
    .final_mask = (1u << REST_S_IDLE) | (1u << REST_S_STOPPED),
};

void rest_config_default(struct rest_config *cfg)
{
    cfg->timeout_ns = 10 * MD_NS_PER_S;
    cfg->backoff_min_ns = 1 * MD_NS_PER_S;
    cfg->backoff_max_ns = 60 * MD_NS_PER_S;
    cfg->max_attempts = 4;
    cfg->queue_cap = 256;
}

void rest_init(struct rest *m, const struct rest_config *cfg,
               struct md_prng *rng)
{
    memset(m, 0, sizeof *m);
    m->def = &rest_def;
    m->state = REST_S_IDLE;
    m->cfg = *cfg;
    m->rng = rng;
}

uint32_t rest_guards(const struct rest *m, const struct rest_in *in)
{
    uint32_t g = 0;

    (void)in;
    if (m->attempt < m->cfg.max_attempts) {
        g |= 1u << REST_G_RETRY;
    }
    if (m->queued > 1) {
        g |= 1u << REST_G_MORE;
    }
    return g;
}

/* Timer inputs: the timer each one reports. */
static const uint8_t input_timer[REST_I__COUNT] = {
    [REST_I_T_TIMEOUT] = MD_T_REST_TIMEOUT,
    [REST_I_T_RETRY] = MD_T_REST_RETRY,
};

static void send_head(struct rest *m, mono_ns t, struct md_out *out)
{
    m->attempt++;
    m->st.sent++;
    fsm__act(out, t, MD_A_REST_SEND, m->next_id);
    fsm__arm(out, &m->timers, t, MD_T_REST_TIMEOUT, t + m->cfg.timeout_ns);
}

/* The head request ended (delivered or failed): stop its timer, pop it. */
static void pop_head(struct rest *m, mono_ns t, struct md_out *out)
{
    fsm__cancel(out, &m->timers, t, MD_T_REST_TIMEOUT);
    m->queued--;
    m->next_id++;
    m->attempt = 0;
}

/* The head request failed for good: note, fetch_failed, pop. */
static void fail_head(struct rest *m, mono_ns t, struct md_out *out)
{
    m->st.failed++;
    fsm__note(out, t, MD_N_REST_FAILED, m->next_id);
    fsm__act(out, t, MD_A_FETCH_FAILED, 1);
    pop_head(m, t, out);
}

/* Retry the head later: the request is over; back off (or the server's
 * wait, if longer). */
static void wait_retry(struct rest *m, const struct rest_in *in,
                       struct md_out *out)
{
    mono_ns t = in->t_ns, delay;

    m->st.retried++;
    fsm__cancel(out, &m->timers, t, MD_T_REST_TIMEOUT);
    fsm__act(out, t, MD_A_REST_CANCEL, m->next_id);
    delay = md_backoff_ns(m->rng, m->attempt - 1, m->cfg.backoff_min_ns,
                          m->cfg.backoff_max_ns);
    if (in->retry_after_ns > delay) {
        delay = in->retry_after_ns;
    }
    fsm__arm(out, &m->timers, t, MD_T_REST_RETRY, t + delay);
}

static void abort_all(struct rest *m, mono_ns t, struct md_out *out)
{
    fsm__cancel(out, &m->timers, t, MD_T_REST_TIMEOUT);
    fsm__cancel(out, &m->timers, t, MD_T_REST_RETRY);
    m->queued = 0;
}

/* The effects of output o. They depend on the output and the extended
 * state, never on which input selected the output. */
static void effect(struct rest *m, enum rest_output o, const struct rest_in *in,
                   struct md_out *out)
{
    mono_ns t = in->t_ns;

    switch (o) {
    case REST_O_INVALID:
    case REST_O__COUNT:
    case REST_O_NONE:
        break;
    case REST_O_SEND:
        /* n requests were queued (at least one) */
        m->queued = in->bars > 0 ? in->bars : 1;
        if (m->queued > m->cfg.queue_cap) {
            m->st.overflow += m->queued - m->cfg.queue_cap;
            fsm__note(out, t, MD_N_QUEUE_OVERFLOW, m->queued);
            fsm__act(out, t, MD_A_FETCH_FAILED,
                     m->queued - m->cfg.queue_cap);
            m->queued = m->cfg.queue_cap;
        }
        send_head(m, t, out);
        break;
    case REST_O_ENQUEUE: {
        unsigned add = in->bars > 0 ? in->bars : 1;
        if (m->queued + add > m->cfg.queue_cap) {
            /* Bounded: what does not fit fails at once, loudly. */
            unsigned lost = m->queued + add - m->cfg.queue_cap;
            m->st.overflow += lost;
            fsm__note(out, t, MD_N_QUEUE_OVERFLOW, m->queued);
            fsm__act(out, t, MD_A_FETCH_FAILED, lost);
            add -= lost;
        }
        m->queued += add;
        break;
    }
    case REST_O_DELIVER_NEXT:
        m->st.ok++;
        fsm__act(out, t, MD_A_FETCH_DONE, in->bars);
        pop_head(m, t, out);
        send_head(m, t, out);
        break;
    case REST_O_DELIVER_LAST:
        m->st.ok++;
        fsm__act(out, t, MD_A_FETCH_DONE, in->bars);
        pop_head(m, t, out);
        break;
    case REST_O_FAIL_NEXT:
        fail_head(m, t, out);
        send_head(m, t, out);
        break;
    case REST_O_FAIL_LAST:
        fail_head(m, t, out);
        break;
    case REST_O_GIVE_UP_NEXT:
        fsm__act(out, t, MD_A_REST_CANCEL, m->next_id);
        fail_head(m, t, out);
        send_head(m, t, out);
        break;
    case REST_O_GIVE_UP_LAST:
        fsm__act(out, t, MD_A_REST_CANCEL, m->next_id);
        fail_head(m, t, out);
        break;
    case REST_O_WAIT:
        wait_retry(m, in, out);
        break;
    case REST_O_WAIT_RATE:
        m->st.rate_limited++;
        wait_retry(m, in, out);
        break;
    case REST_O_RESEND:
        send_head(m, t, out);
        break;
    case REST_O_FAIL_ALL:
        m->st.failed += m->queued;
        fsm__cancel(out, &m->timers, t, MD_T_REST_TIMEOUT);
        fsm__note(out, t, MD_N_AUTH_FAILED, m->next_id);
        /* One failure per queued request, as a count. */
        fsm__act(out, t, MD_A_FETCH_FAILED, m->queued);
        m->next_id += m->queued;
        m->queued = 0;
        m->attempt = 0;
        break;
    case REST_O_ABORT:
        abort_all(m, t, out);
        break;
    case REST_O_ABORT_REQUEST:
        fsm__act(out, t, MD_A_REST_CANCEL, m->next_id);
        abort_all(m, t, out);
        break;
    }
}

int rest_check(const struct rest *m, char *why, size_t why_size)
{
    const struct fsm_def *d = &rest_def;
    uint32_t want = 0;
    int head = 0;

    switch ((enum rest_state)m->state) {
    case REST_S_IDLE:
        if (m->queued != 0 || m->attempt != 0) {
            return fsm__broken(why, why_size, d, m->state,
                               "a request queued or attempted");
        }
        break;
    case REST_S_REQUESTING:
        want = 1u << MD_T_REST_TIMEOUT;
        head = 1;
        if (m->attempt > m->cfg.max_attempts) {
            return fsm__broken(why, why_size, d, m->state,
                               "more attempts than allowed");
        }
        break;
    case REST_S_WAITING:
        want = 1u << MD_T_REST_RETRY;
        head = 1;
        if (m->attempt >= m->cfg.max_attempts) {
            return fsm__broken(why, why_size, d, m->state,
                               "waiting with no attempt left");
        }
        break;
    case REST_S_STOPPED:
        if (m->queued != 0) {
            return fsm__broken(why, why_size, d, m->state,
                               "requests still queued");
        }
        break;
    case REST_S_INVALID:
    case REST_S__COUNT:
    default:
        return fsm__broken(why, why_size, d, m->state, "no such state");
    }
    if (m->timers != want) {
        return fsm__broken(why, why_size, d, m->state,
                           "armed timers differ from the state's");
    }
    if (head && (m->queued == 0 || m->queued > m->cfg.queue_cap ||
                 m->attempt == 0)) {
        return fsm__broken(why, why_size, d, m->state,
                           "no head request, or the queue over its cap");
    }
    if (why_size > 0) {
        why[0] = '\0';
    }
    return MD_OK;
}

int rest_step(struct rest *m, const struct rest_in *in, struct md_out *out)
{
    const struct fsm_arm *arm;
    int rc;

    rc = fsm__begin(m->def, m->state, in->input, rest_guards(m, in), m->trace,
                    in->t_ns, REST_MAX_ACTIONS, out, &m->st.unreachable,
                    &arm);
    if (rc != MD_OK) {
        return rc;
    }
    fsm__fired(&m->timers, (enum md_timer)input_timer[in->input]);
    effect(m, (enum rest_output)arm->out, in, out);
    m->state = arm->next;
    return FSM_CHECKED(rest_check(m, NULL, 0));
}
