/* fsm_pub.c: the publisher machine's table and effects. Pure. */
#include <string.h>

#include "fsm_int.h"
#include "fsm_pub.h"
#include "md_err.h"

static const char *const state_names[PUB_S__COUNT] = {
    [PUB_S_INVALID] = "INVALID",
    [PUB_S_IDLE] = "IDLE",
    [PUB_S_FETCHING] = "FETCHING",
    [PUB_S_PUBLISHING] = "PUBLISHING",
    [PUB_S_ERROR] = "ERROR",
    [PUB_S_CREATING_TOPIC] = "CREATING_TOPIC",
    [PUB_S_DRAINING] = "DRAINING",
    [PUB_S_STOPPED] = "STOPPED",
};

static const char *const input_names[PUB_I__COUNT] = {
    [PUB_I_INVALID] = "INVALID",
    [PUB_I_FETCH_DATA] = "FETCH_DATA",
    [PUB_I_DATA_READY] = "DATA_READY",
    [PUB_I_PUBLISH_SUCCESS] = "PUBLISH_SUCCESS",
    [PUB_I_PUBLISH_FAILURE] = "PUBLISH_FAILURE",
    [PUB_I_RESET] = "RESET",
    [PUB_I_FETCH_FAILURE] = "FETCH_FAILURE",
    [PUB_I_CREATE_DYNAMIC_TOPIC] = "CREATE_DYNAMIC_TOPIC",
    [PUB_I_TOPIC_CREATED] = "TOPIC_CREATED",
    [PUB_I_TOPIC_FAILED] = "TOPIC_FAILED",
    [PUB_I_STOP] = "STOP",
    [PUB_I_T_FLUSH] = "T_FLUSH",
    [PUB_I_PUBLISH_REJECTED] = "PUBLISH_REJECTED",
    [PUB_I_QUEUE_FULL] = "QUEUE_FULL",
    [PUB_I_PRODUCER_FATAL] = "PRODUCER_FATAL",
};

static const char *const guard_names[PUB_G__COUNT] = {
    [PUB_G_ALWAYS] = "-",
    [PUB_G_EMPTY] = "empty",
    [PUB_G_LAST] = "last",
    [PUB_G_BUSY] = "busy",
    [PUB_G_TOPIC] = "topic",
    [PUB_G_HELD] = "held",
    [PUB_G_TOPIC_WAIT] = "topic_wait",
    [PUB_G_WAIT_ONLY] = "wait_only",
};

static const char *const output_names[PUB_O__COUNT] = {
    [PUB_O_INVALID] = "INVALID",
    [PUB_O_NONE] = "-",
    [PUB_O_START_FETCH] = "START_FETCH",
    [PUB_O_START_PUBLISH] = "START_PUBLISH",
    [PUB_O_START_PUBLISH_QUEUED] = "START_PUBLISH_QUEUED",
    [PUB_O_HANDLE_ERROR_PUBLISH] = "HANDLE_ERROR_PUBLISH",
    [PUB_O_HANDLE_ERROR_FETCH] = "HANDLE_ERROR_FETCH",
    [PUB_O_HANDLE_ERROR_TOPIC] = "HANDLE_ERROR_TOPIC",
    [PUB_O_RESET_ERROR] = "RESET_ERROR",
    [PUB_O_CREATE_NEW_TOPIC] = "CREATE_NEW_TOPIC",
    [PUB_O_CREATE_NEW_TOPIC_NEXT] = "CREATE_NEW_TOPIC_NEXT",
    [PUB_O_QUEUE] = "QUEUE",
    [PUB_O_ACK] = "ACK",
    [PUB_O_REQUEUE] = "REQUEUE",
    [PUB_O_LOSE] = "LOSE",
    [PUB_O_REPORT_FETCH_ERROR] = "REPORT_FETCH_ERROR",
    [PUB_O_NOTE_TOPIC] = "NOTE_TOPIC",
    [PUB_O_TOPIC_READY] = "TOPIC_READY",
    [PUB_O_FLUSH] = "FLUSH",
    [PUB_O_FINISH] = "FINISH",
    [PUB_O_FINISH_ACK] = "FINISH_ACK",
    [PUB_O_FINISH_LOSE] = "FINISH_LOSE",
    [PUB_O_ABANDON] = "ABANDON",
    [PUB_O_DEAD_LETTER] = "DEAD_LETTER",
    [PUB_O_FINISH_DEAD_LETTER] = "FINISH_DEAD_LETTER",
    [PUB_O_HANDLE_ERROR_FATAL] = "HANDLE_ERROR_FATAL",
    [PUB_O_REQUEUE_ALL] = "REQUEUE_ALL",
    [PUB_O_REPRODUCE] = "REPRODUCE",
    [PUB_O_BACKPRESSURE] = "BACKPRESSURE",
    [PUB_O_GIVE_BACK] = "GIVE_BACK",
    [PUB_O_GIVE_BACK_WAIT] = "GIVE_BACK_WAIT",
    [PUB_O_RESUME] = "RESUME",
    [PUB_O_FLUSH_TOPIC] = "FLUSH_TOPIC",
    [PUB_O_TOPIC_DONE] = "TOPIC_DONE",
    [PUB_O_FINISH_TOPIC_DONE] = "FINISH_TOPIC_DONE",
    [PUB_O_TOPIC_LOST] = "TOPIC_LOST",
    [PUB_O_FINISH_TOPIC_LOST] = "FINISH_TOPIC_LOST",
};

#define R FSM_R
#define U FSM_U
#define C1 FSM_C1
#define C2 FSM_C2
#define C3 FSM_C3
#define S(x) PUB_S_##x
#define O(x) PUB_O_##x
#define EMPTY PUB_G_EMPTY
#define LAST PUB_G_LAST
#define BUSY PUB_G_BUSY
#define TOPIC PUB_G_TOPIC
#define HELD PUB_G_HELD
#define TOPIC_WAIT PUB_G_TOPIC_WAIT
#define WAIT_ONLY PUB_G_WAIT_ONLY

/* No bar in flight: a delivery report cannot arrive. */
#define NODR(s) C1(U, S(s), O(NONE))
/* No Admin request outstanding: no topic result can arrive. */
#define NOADMIN(s) C1(U, S(s), O(NONE))
/* The producer refuses bars at once only in the step after a produce
 * (PUBLISHING, DRAINING, or ERROR after the first refusal of a batch). */
#define NOQF(s) C1(U, S(s), O(NONE))
/* A fatal error is a producer's with bars in flight (an idempotent
 * producer fails fatally only on a delivery); the composition counts one
 * with none in flight as stale and never passes it on. */
#define NOFATAL(s) C1(U, S(s), O(NONE))
/* Stop with or without work left. */
#define STOP_BUSY C2(R, BUSY, S(DRAINING), O(FLUSH), S(STOPPED), O(FINISH))

static const struct fsm_cell pub_cells[PUB_S__COUNT][PUB_I__COUNT] = {
    [PUB_S_IDLE] = {
        [PUB_I_FETCH_DATA] = C1(R, S(FETCHING), O(START_FETCH)),
        [PUB_I_DATA_READY] = C2(R, EMPTY, S(IDLE), O(NONE),
                                S(PUBLISHING), O(START_PUBLISH)),
        [PUB_I_PUBLISH_SUCCESS] = NODR(IDLE),
        [PUB_I_PUBLISH_FAILURE] = NODR(IDLE),
        [PUB_I_RESET] = C1(R, S(IDLE), O(NONE)),
        [PUB_I_FETCH_FAILURE] = C1(R, S(IDLE), O(REPORT_FETCH_ERROR)),
        [PUB_I_CREATE_DYNAMIC_TOPIC] =
            C1(R, S(CREATING_TOPIC), O(CREATE_NEW_TOPIC)),
        [PUB_I_TOPIC_CREATED] = NOADMIN(IDLE),
        [PUB_I_TOPIC_FAILED] = NOADMIN(IDLE),
        [PUB_I_STOP] = C1(R, S(STOPPED), O(FINISH)),
        [PUB_I_T_FLUSH] = C1(U, S(IDLE), O(NONE)),
        [PUB_I_PUBLISH_REJECTED] = NODR(IDLE),
        [PUB_I_QUEUE_FULL] = NOQF(IDLE),
        [PUB_I_PRODUCER_FATAL] = NOFATAL(IDLE),
    },
    [PUB_S_FETCHING] = {
        [PUB_I_FETCH_DATA] = C1(R, S(FETCHING), O(START_FETCH)),
        [PUB_I_DATA_READY] = C2(R, EMPTY, S(IDLE), O(NONE),
                                S(PUBLISHING), O(START_PUBLISH)),
        [PUB_I_PUBLISH_SUCCESS] = NODR(FETCHING),
        [PUB_I_PUBLISH_FAILURE] = NODR(FETCHING),
        [PUB_I_RESET] = C1(R, S(FETCHING), O(NONE)),
        [PUB_I_FETCH_FAILURE] = C1(R, S(ERROR), O(HANDLE_ERROR_FETCH)),
        [PUB_I_CREATE_DYNAMIC_TOPIC] =
            C1(R, S(CREATING_TOPIC), O(CREATE_NEW_TOPIC)),
        [PUB_I_TOPIC_CREATED] = NOADMIN(FETCHING),
        [PUB_I_TOPIC_FAILED] = NOADMIN(FETCHING),
        [PUB_I_STOP] = C1(R, S(STOPPED), O(FINISH)),
        [PUB_I_T_FLUSH] = C1(U, S(FETCHING), O(NONE)),
        [PUB_I_PUBLISH_REJECTED] = NODR(FETCHING),
        [PUB_I_QUEUE_FULL] = NOQF(FETCHING),
        [PUB_I_PRODUCER_FATAL] = NOFATAL(FETCHING),
    },
    [PUB_S_PUBLISHING] = {
        [PUB_I_FETCH_DATA] = C1(R, S(PUBLISHING), O(START_FETCH)),
        [PUB_I_DATA_READY] = C2(R, EMPTY, S(PUBLISHING), O(NONE),
                                S(PUBLISHING), O(START_PUBLISH)),
        [PUB_I_PUBLISH_SUCCESS] = C2(R, LAST, S(IDLE), O(ACK),
                                     S(PUBLISHING), O(ACK)),
        [PUB_I_PUBLISH_FAILURE] = C1(R, S(ERROR), O(HANDLE_ERROR_PUBLISH)),
        [PUB_I_RESET] = C1(R, S(PUBLISHING), O(NONE)),
        [PUB_I_FETCH_FAILURE] = C1(R, S(PUBLISHING), O(REPORT_FETCH_ERROR)),
        [PUB_I_CREATE_DYNAMIC_TOPIC] =
            C1(R, S(CREATING_TOPIC), O(CREATE_NEW_TOPIC)),
        [PUB_I_TOPIC_CREATED] = NOADMIN(PUBLISHING),
        [PUB_I_TOPIC_FAILED] = NOADMIN(PUBLISHING),
        [PUB_I_STOP] = C1(R, S(DRAINING), O(FLUSH)),
        [PUB_I_T_FLUSH] = C1(U, S(PUBLISHING), O(NONE)),
        [PUB_I_PUBLISH_REJECTED] = C2(R, LAST, S(IDLE), O(DEAD_LETTER),
                                      S(PUBLISHING), O(DEAD_LETTER)),
        [PUB_I_QUEUE_FULL] = C1(R, S(ERROR), O(BACKPRESSURE)),
        [PUB_I_PRODUCER_FATAL] = C1(R, S(ERROR), O(HANDLE_ERROR_FATAL)),
    },
    [PUB_S_ERROR] = {
        [PUB_I_FETCH_DATA] = C1(R, S(ERROR), O(START_FETCH)),
        [PUB_I_DATA_READY] = C1(R, S(ERROR), O(QUEUE)),
        [PUB_I_PUBLISH_SUCCESS] = C1(R, S(ERROR), O(ACK)),
        [PUB_I_PUBLISH_FAILURE] = C1(R, S(ERROR), O(REQUEUE)),
        [PUB_I_RESET] = C3(R, TOPIC, S(CREATING_TOPIC), O(CREATE_NEW_TOPIC),
                           BUSY, S(PUBLISHING), O(RESET_ERROR), S(IDLE),
                           O(RESET_ERROR)),
        [PUB_I_FETCH_FAILURE] = C1(R, S(ERROR), O(REPORT_FETCH_ERROR)),
        [PUB_I_CREATE_DYNAMIC_TOPIC] = C1(R, S(ERROR), O(NOTE_TOPIC)),
        [PUB_I_TOPIC_CREATED] = NOADMIN(ERROR),
        [PUB_I_TOPIC_FAILED] = NOADMIN(ERROR),
        [PUB_I_STOP] = STOP_BUSY,
        [PUB_I_T_FLUSH] = C1(U, S(ERROR), O(NONE)),
        [PUB_I_PUBLISH_REJECTED] = C1(R, S(ERROR), O(DEAD_LETTER)),
        [PUB_I_QUEUE_FULL] = C1(R, S(ERROR), O(GIVE_BACK)),
        [PUB_I_PRODUCER_FATAL] = C1(R, S(ERROR), O(REQUEUE_ALL)),
    },
    [PUB_S_CREATING_TOPIC] = {
        [PUB_I_FETCH_DATA] = C1(R, S(CREATING_TOPIC), O(START_FETCH)),
        /* bars for topics that exist keep flowing meanwhile (those for
         * the topics asked for wait in the core, parked) */
        [PUB_I_DATA_READY] = C1(R, S(CREATING_TOPIC), O(START_PUBLISH)),
        [PUB_I_PUBLISH_SUCCESS] = C1(R, S(CREATING_TOPIC), O(ACK)),
        [PUB_I_PUBLISH_FAILURE] = C1(R, S(CREATING_TOPIC), O(REQUEUE)),
        [PUB_I_RESET] = C1(R, S(CREATING_TOPIC), O(NONE)),
        [PUB_I_FETCH_FAILURE] =
            C1(R, S(CREATING_TOPIC), O(REPORT_FETCH_ERROR)),
        [PUB_I_CREATE_DYNAMIC_TOPIC] =
            C1(R, S(CREATING_TOPIC), O(NOTE_TOPIC)),
        [PUB_I_TOPIC_CREATED] =
            C3(R, TOPIC, S(CREATING_TOPIC), O(CREATE_NEW_TOPIC_NEXT), BUSY,
               S(PUBLISHING), O(START_PUBLISH_QUEUED), S(IDLE),
               O(TOPIC_READY)),
        [PUB_I_TOPIC_FAILED] = C1(R, S(ERROR), O(HANDLE_ERROR_TOPIC)),
        /* the drain waits for the topics' result too: their bars, parked
         * in the core, may still go */
        [PUB_I_STOP] = C1(R, S(DRAINING), O(FLUSH_TOPIC)),
        [PUB_I_T_FLUSH] = C1(U, S(CREATING_TOPIC), O(NONE)),
        [PUB_I_PUBLISH_REJECTED] = C1(R, S(CREATING_TOPIC), O(DEAD_LETTER)),
        [PUB_I_QUEUE_FULL] = C1(R, S(CREATING_TOPIC), O(GIVE_BACK)),
        [PUB_I_PRODUCER_FATAL] = C1(R, S(CREATING_TOPIC), O(REQUEUE_ALL)),
    },
    [PUB_S_DRAINING] = {
        [PUB_I_FETCH_DATA] = C1(U, S(DRAINING), O(NONE)),
        /* the bars of a topic created while draining */
        [PUB_I_DATA_READY] = C1(R, S(DRAINING), O(START_PUBLISH)),
        [PUB_I_PUBLISH_SUCCESS] = C2(R, LAST, S(STOPPED), O(FINISH_ACK),
                                     S(DRAINING), O(ACK)),
        [PUB_I_PUBLISH_FAILURE] = C2(R, LAST, S(STOPPED), O(FINISH_LOSE),
                                     S(DRAINING), O(LOSE)),
        [PUB_I_RESET] = C2(R, HELD, S(DRAINING), O(RESUME), S(DRAINING),
                           O(NONE)),
        [PUB_I_FETCH_FAILURE] = C1(U, S(DRAINING), O(NONE)),
        [PUB_I_CREATE_DYNAMIC_TOPIC] = C1(U, S(DRAINING), O(NONE)),
        [PUB_I_TOPIC_CREATED] = C3(R, WAIT_ONLY, S(STOPPED),
                                   O(FINISH_TOPIC_DONE), TOPIC_WAIT,
                                   S(DRAINING), O(TOPIC_DONE), S(DRAINING),
                                   O(NONE)),
        [PUB_I_TOPIC_FAILED] = C3(R, WAIT_ONLY, S(STOPPED),
                                  O(FINISH_TOPIC_LOST), TOPIC_WAIT,
                                  S(DRAINING), O(TOPIC_LOST), S(DRAINING),
                                  O(NONE)),
        [PUB_I_STOP] = C1(R, S(DRAINING), O(NONE)),
        [PUB_I_T_FLUSH] = C1(R, S(STOPPED), O(ABANDON)),
        [PUB_I_PUBLISH_REJECTED] = C2(R, LAST, S(STOPPED), O(FINISH_DEAD_LETTER),
                                      S(DRAINING), O(DEAD_LETTER)),
        [PUB_I_QUEUE_FULL] = C1(R, S(DRAINING), O(GIVE_BACK_WAIT)),
        [PUB_I_PRODUCER_FATAL] = C1(R, S(DRAINING), O(REPRODUCE)),
    },
    [PUB_S_STOPPED] = {
        [PUB_I_FETCH_DATA] = C1(U, S(STOPPED), O(NONE)),
        [PUB_I_DATA_READY] = C1(U, S(STOPPED), O(NONE)),
        /* reports of bars ABANDON gave up on name no bar in flight: the
         * composition counts them as stale and never passes them on */
        [PUB_I_PUBLISH_SUCCESS] = C1(U, S(STOPPED), O(NONE)),
        [PUB_I_PUBLISH_FAILURE] = C1(U, S(STOPPED), O(NONE)),
        [PUB_I_RESET] = C1(R, S(STOPPED), O(NONE)),
        [PUB_I_FETCH_FAILURE] = C1(U, S(STOPPED), O(NONE)),
        [PUB_I_CREATE_DYNAMIC_TOPIC] = C1(U, S(STOPPED), O(NONE)),
        [PUB_I_TOPIC_CREATED] = C1(R, S(STOPPED), O(NONE)),
        [PUB_I_TOPIC_FAILED] = C1(R, S(STOPPED), O(NONE)),
        [PUB_I_STOP] = C1(R, S(STOPPED), O(NONE)),
        [PUB_I_T_FLUSH] = C1(U, S(STOPPED), O(NONE)),
        [PUB_I_PUBLISH_REJECTED] = NODR(STOPPED),
        [PUB_I_QUEUE_FULL] = NOQF(STOPPED),
        [PUB_I_PRODUCER_FATAL] = NOFATAL(STOPPED),
    },
};

const struct fsm_def pub_def = {
    .name = "pub",
    .machine = MD_M_PUB,
    .nstates = PUB_S__COUNT,
    .ninputs = PUB_I__COUNT,
    .nguards = PUB_G__COUNT,
    .noutputs = PUB_O__COUNT,
    .state_names = state_names,
    .input_names = input_names,
    .guard_names = guard_names,
    .output_names = output_names,
    .cells = &pub_cells[0][0],
    .q0 = PUB_S_IDLE,
    .final_mask = (1u << PUB_S_IDLE) | (1u << PUB_S_STOPPED),
};

void pub_config_default(struct pub_config *cfg)
{
    cfg->retry_min_ns = 1 * MD_NS_PER_S;
    cfg->retry_max_ns = 30 * MD_NS_PER_S;
    cfg->flush_timeout_ns = 10 * MD_NS_PER_S;
    cfg->backpressure_ns = 100 * MD_NS_PER_MS;
}

void pub_init(struct pub *m, const struct pub_config *cfg,
              struct md_prng *rng)
{
    memset(m, 0, sizeof *m);
    m->def = &pub_def;
    m->state = PUB_S_IDLE;
    m->cfg = *cfg;
    m->rng = rng;
}

uint32_t pub_guards(const struct pub *m, const struct pub_in *in)
{
    uint32_t g = 0;

    if (in->input == PUB_I_DATA_READY && in->n == 0) {
        g |= 1u << PUB_G_EMPTY;
    }
    if (m->inflight == 1 && m->queued == 0 && !m->topic_wait) {
        g |= 1u << PUB_G_LAST;
    }
    if (m->inflight > 0 || m->queued > 0) {
        g |= 1u << PUB_G_BUSY;
    }
    if (m->topic_pending) {
        g |= 1u << PUB_G_TOPIC;
    }
    if (m->queued > 0) {
        g |= 1u << PUB_G_HELD;
    }
    if (m->topic_wait) {
        g |= 1u << PUB_G_TOPIC_WAIT;
        if (m->inflight == 0 && m->queued == 0) {
            g |= 1u << PUB_G_WAIT_ONLY;
        }
    }
    return g;
}

/* Timer inputs: the timer each one reports (RESET is also what the retry
 * timer delivers; an operator RESET finds it armed only in ERROR and in
 * DRAINING with bars held, whose every RESET arm cancels it). */
static const uint8_t input_timer[PUB_I__COUNT] = {
    [PUB_I_RESET] = MD_T_PUB_RETRY,
    [PUB_I_T_FLUSH] = MD_T_PUB_FLUSH,
};

static void produce_queued(struct pub *m, mono_ns t, struct md_out *out)
{
    if (m->queued > 0) {
        if (m->fatal) {
            /* the producer died: a new one produces */
            fsm__act(out, t, MD_A_PRODUCER_RESET, 0);
            m->fatal = 0;
        }
        fsm__act(out, t, MD_A_PRODUCE, m->queued);
        m->st.produced += m->queued;
        m->inflight += m->queued;
        m->queued = 0;
    }
}

/* A delivery report, ok: in flight goes down by one. */
static void settle_ok(struct pub *m)
{
    if (m->inflight > 0) {
        m->inflight--;
    }
    m->st.delivered++;
    m->attempt = 0;
}

/* A delivery report, failed: in flight goes down by one, noted. */
static void settle_failed(struct pub *m, mono_ns t, struct md_out *out)
{
    if (m->inflight > 0) {
        m->inflight--;
    }
    m->st.failed++;
    fsm__note(out, t, MD_N_PUBLISH_FAILED, m->inflight);
}

/* The failed bar goes back to the queue; the shell is told which. */
static void requeue(struct pub *m, mono_ns t, struct md_out *out)
{
    m->queued++;
    fsm__act(out, t, MD_A_REQUEUE, 1);
}

/* The failed bar is given up: lost, loudly. */
static void lose(struct pub *m, mono_ns t, struct md_out *out)
{
    m->st.lost++;
    fsm__act(out, t, MD_A_DISCARD, 1);
    fsm__note(out, t, MD_N_BARS_LOST, 1);
}

/* Enter ERROR: count, arm the retry timer (jittered back-off). */
static void arm_retry(struct pub *m, mono_ns t, struct md_out *out)
{
    mono_ns delay = md_backoff_ns(m->rng, m->attempt, m->cfg.retry_min_ns,
                                  m->cfg.retry_max_ns);
    m->st.errors++;
    m->attempt++;
    fsm__arm(out, &m->timers, t, MD_T_PUB_RETRY, t + delay);
}

/* A bar refused for good: dead-lettered, never produced again. */
static void dead_letter(struct pub *m, mono_ns t, struct md_out *out)
{
    if (m->inflight > 0) {
        m->inflight--;
    }
    m->st.dead_lettered++;
    fsm__act(out, t, MD_A_DEAD_LETTER, 1);
    fsm__note(out, t, MD_N_DEAD_LETTER, 1);
}

/* The producer died: every bar in flight goes back to the queue, in
 * order; the next produce makes a new producer first. */
static void requeue_all(struct pub *m, mono_ns t, struct md_out *out)
{
    m->st.fatal_errors++;
    fsm__note(out, t, MD_N_PRODUCER_FATAL, m->inflight);
    if (m->inflight > 0) {
        fsm__act(out, t, MD_A_REQUEUE_ALL, m->inflight);
        m->queued += m->inflight;
        m->inflight = 0;
    }
    m->fatal = 1;
}

/* A bar the producer refused at once goes back to the queue: not a
 * failure (nothing counted as failed), a wait. */
static void give_back(struct pub *m, mono_ns t, struct md_out *out)
{
    if (m->inflight > 0) {
        m->inflight--;
    }
    m->st.backpressure++;
    m->st.produced--;
    m->queued++;
    fsm__act(out, t, MD_A_REQUEUE, 1);
}

/* The short wait after a refusal: the retry timer, not counted as an
 * error, no back-off. */
static void arm_wait(struct pub *m, mono_ns t, struct md_out *out)
{
    fsm__note(out, t, MD_N_BACKPRESSURE, m->inflight);
    fsm__arm(out, &m->timers, t, MD_T_PUB_RETRY, t + m->cfg.backpressure_ns);
}

/* Cancel the retry timer if it is armed (a wait for room may not be). */
static void cancel_wait(struct pub *m, mono_ns t, struct md_out *out)
{
    if (m->timers & (1u << MD_T_PUB_RETRY)) {
        fsm__cancel(out, &m->timers, t, MD_T_PUB_RETRY);
    }
}

static void create_topic(struct pub *m, mono_ns t, struct md_out *out)
{
    fsm__cancel(out, &m->timers, t, MD_T_PUB_RETRY);
    m->topic_pending = 0;
    fsm__act(out, t, MD_A_TOPIC_CREATE, 0);
    /* what waited is for topics that exist: it goes meanwhile */
    produce_queued(m, t, out);
}

/* The effects of output o. They depend on the output and the extended
 * state, never on which input selected the output. */
static void effect(struct pub *m, enum pub_output o, const struct pub_in *in,
                   struct md_out *out)
{
    mono_ns t = in->t_ns;

    switch (o) {
    case PUB_O_INVALID:
    case PUB_O__COUNT:
    case PUB_O_NONE:
        break;
    case PUB_O_START_FETCH:
        m->st.fetches++;
        fsm__act(out, t, MD_A_FETCH, in->n); /* n: the job */
        break;
    case PUB_O_START_PUBLISH:
        m->queued += in->n;
        cancel_wait(m, t, out); /* all that waits is produced */
        produce_queued(m, t, out);
        break;
    case PUB_O_START_PUBLISH_QUEUED:
        m->st.topics_created++;
        produce_queued(m, t, out);
        break;
    case PUB_O_HANDLE_ERROR_PUBLISH:
        settle_failed(m, t, out);
        requeue(m, t, out);
        arm_retry(m, t, out);
        break;
    case PUB_O_HANDLE_ERROR_FETCH:
        m->st.fetch_failures += in->n;
        fsm__note(out, t, MD_N_FETCH_FAILED, in->n);
        arm_retry(m, t, out);
        break;
    case PUB_O_HANDLE_ERROR_TOPIC:
        m->st.topic_failures++;
        m->topic_pending = 1;
        fsm__note(out, t, MD_N_TOPIC_FAILED, 0);
        arm_retry(m, t, out);
        break;
    case PUB_O_RESET_ERROR:
        fsm__cancel(out, &m->timers, t, MD_T_PUB_RETRY);
        produce_queued(m, t, out);
        break;
    case PUB_O_CREATE_NEW_TOPIC:
        create_topic(m, t, out);
        break;
    case PUB_O_CREATE_NEW_TOPIC_NEXT:
        m->st.topics_created++;
        create_topic(m, t, out);
        break;
    case PUB_O_QUEUE:
        m->queued += in->n;
        break;
    case PUB_O_ACK:
        settle_ok(m);
        break;
    case PUB_O_REQUEUE:
        settle_failed(m, t, out);
        requeue(m, t, out);
        break;
    case PUB_O_LOSE:
        settle_failed(m, t, out);
        lose(m, t, out);
        break;
    case PUB_O_REPORT_FETCH_ERROR:
        m->st.fetch_failures += in->n;
        fsm__note(out, t, MD_N_FETCH_FAILED, in->n);
        break;
    case PUB_O_NOTE_TOPIC:
        m->topic_pending = 1;
        break;
    case PUB_O_TOPIC_READY:
        m->st.topics_created++;
        break;
    case PUB_O_FLUSH:
        fsm__cancel(out, &m->timers, t, MD_T_PUB_RETRY);
        produce_queued(m, t, out);
        fsm__act(out, t, MD_A_FLUSH, m->inflight);
        fsm__arm(out, &m->timers, t, MD_T_PUB_FLUSH,
                 t + m->cfg.flush_timeout_ns);
        break;
    case PUB_O_FINISH:
        fsm__cancel(out, &m->timers, t, MD_T_PUB_RETRY);
        fsm__cancel(out, &m->timers, t, MD_T_PUB_FLUSH);
        break;
    case PUB_O_FINISH_ACK:
        settle_ok(m);
        fsm__cancel(out, &m->timers, t, MD_T_PUB_FLUSH);
        break;
    case PUB_O_FINISH_LOSE:
        settle_failed(m, t, out);
        lose(m, t, out);
        fsm__cancel(out, &m->timers, t, MD_T_PUB_FLUSH);
        break;
    case PUB_O_DEAD_LETTER:
        dead_letter(m, t, out);
        break;
    case PUB_O_FINISH_DEAD_LETTER:
        dead_letter(m, t, out);
        fsm__cancel(out, &m->timers, t, MD_T_PUB_FLUSH);
        break;
    case PUB_O_HANDLE_ERROR_FATAL:
        requeue_all(m, t, out);
        arm_retry(m, t, out);
        break;
    case PUB_O_REQUEUE_ALL:
        requeue_all(m, t, out);
        break;
    case PUB_O_REPRODUCE:
        requeue_all(m, t, out);
        cancel_wait(m, t, out);
        produce_queued(m, t, out);
        break;
    case PUB_O_BACKPRESSURE:
        give_back(m, t, out);
        arm_wait(m, t, out);
        break;
    case PUB_O_GIVE_BACK:
        give_back(m, t, out);
        break;
    case PUB_O_GIVE_BACK_WAIT:
        give_back(m, t, out);
        if (!(m->timers & (1u << MD_T_PUB_RETRY))) {
            arm_wait(m, t, out);
        }
        break;
    case PUB_O_RESUME:
        /* as every RESET arm: the retry timer, fired or not, is over */
        fsm__cancel(out, &m->timers, t, MD_T_PUB_RETRY);
        produce_queued(m, t, out);
        break;
    case PUB_O_FLUSH_TOPIC:
        m->topic_wait = 1;
        fsm__cancel(out, &m->timers, t, MD_T_PUB_RETRY);
        produce_queued(m, t, out);
        fsm__act(out, t, MD_A_FLUSH, m->inflight);
        fsm__arm(out, &m->timers, t, MD_T_PUB_FLUSH,
                 t + m->cfg.flush_timeout_ns);
        break;
    case PUB_O_TOPIC_DONE:
    case PUB_O_FINISH_TOPIC_DONE:
        m->topic_wait = 0;
        m->st.topics_created++;
        if (o == PUB_O_FINISH_TOPIC_DONE) {
            fsm__cancel(out, &m->timers, t, MD_T_PUB_FLUSH);
        }
        break;
    case PUB_O_TOPIC_LOST:
    case PUB_O_FINISH_TOPIC_LOST:
        /* the bars of the topics that failed are the core's: given up
         * when the publisher stops */
        m->topic_wait = 0;
        m->st.topic_failures++;
        fsm__note(out, t, MD_N_TOPIC_FAILED, 0);
        if (o == PUB_O_FINISH_TOPIC_LOST) {
            fsm__cancel(out, &m->timers, t, MD_T_PUB_FLUSH);
        }
        break;
    case PUB_O_ABANDON: {
        uint64_t n = m->inflight + m->queued;
        cancel_wait(m, t, out);
        m->st.lost += n;
        if (n > 0) {
            fsm__act(out, t, MD_A_DISCARD, n);
        }
        fsm__note(out, t, MD_N_BARS_LOST, n);
        m->inflight = 0;
        m->queued = 0;
        break;
    }
    }
}

int pub_check(const struct pub *m, char *why, size_t why_size)
{
    const struct fsm_def *d = &pub_def;
    uint32_t want = 0;
    int counts_zero = 0, publishing = 0, no_topic = 0;

    switch ((enum pub_state)m->state) {
    case PUB_S_IDLE:
    case PUB_S_FETCHING:
        counts_zero = 1;
        no_topic = 1;
        break;
    case PUB_S_PUBLISHING:
        publishing = 1;
        no_topic = 1;
        break;
    case PUB_S_ERROR:
        want = 1u << MD_T_PUB_RETRY;
        break;
    case PUB_S_CREATING_TOPIC:
        break;
    case PUB_S_DRAINING:
        no_topic = 1;
        /* the retry timer exactly while bars wait for room */
        want = 1u << MD_T_PUB_FLUSH |
               (m->queued > 0 ? 1u << MD_T_PUB_RETRY : 0u);
        if (m->queued + m->inflight == 0 && !m->topic_wait) {
            return fsm__broken(why, why_size, d, m->state,
                               "draining with nothing outstanding");
        }
        break;
    case PUB_S_STOPPED:
        counts_zero = 1;
        no_topic = 1;
        break;
    case PUB_S_INVALID:
    case PUB_S__COUNT:
    default:
        return fsm__broken(why, why_size, d, m->state, "no such state");
    }
    if (m->timers != want) {
        return fsm__broken(why, why_size, d, m->state,
                           "armed timers differ from the state's");
    }
    if (counts_zero && (m->queued != 0 || m->inflight != 0)) {
        return fsm__broken(why, why_size, d, m->state,
                           "bars queued or in flight");
    }
    if (publishing && (m->queued != 0 || m->inflight == 0)) {
        return fsm__broken(why, why_size, d, m->state,
                           "wants bars in flight and none queued");
    }
    if (m->topic_wait && m->state != PUB_S_DRAINING) {
        return fsm__broken(why, why_size, d, m->state,
                           "waiting for a topic outside DRAINING");
    }
    if (no_topic && m->topic_pending) {
        return fsm__broken(why, why_size, d, m->state, "a topic is pending");
    }
    if (why_size > 0) {
        why[0] = '\0';
    }
    return MD_OK;
}

int pub_step(struct pub *m, const struct pub_in *in, struct md_out *out)
{
    const struct fsm_arm *arm;
    int rc;

    rc = fsm__begin(m->def, m->state, in->input, pub_guards(m, in), m->trace,
                    in->t_ns, PUB_MAX_ACTIONS, out, &m->st.unreachable, &arm);
    if (rc != MD_OK) {
        return rc;
    }
    fsm__fired(&m->timers, (enum md_timer)input_timer[in->input]);
    effect(m, (enum pub_output)arm->out, in, out);
    m->state = arm->next;
    if (m->state != PUB_S_DRAINING) {
        m->topic_wait = 0; /* the drain is over, and its wait */
    }
    if (m->state == PUB_S_DRAINING || m->state == PUB_S_STOPPED) {
        m->topic_pending = 0; /* stopping asks for no new topic */
    }
    return FSM_CHECKED(pub_check(m, NULL, 0));
}
