/* fsm_pub.h: the publisher machine: the seed's Producer Actor, fixed.
 *
 * Keeps the seed's vocabulary (docs/mealy.md, projection pi): inputs
 * FETCH_DATA, DATA_READY, PUBLISH_SUCCESS, PUBLISH_FAILURE, RESET,
 * FETCH_FAILURE, CREATE_DYNAMIC_TOPIC; actions START_FETCH, START_PUBLISH,
 * HANDLE_ERROR, RESET_ERROR, CREATE_NEW_TOPIC. Unlike the seed it keeps many
 * bars in flight, queues bars while in ERROR, keeps publishing while topics
 * are created, and leaves ERROR on its own back-off timer (MD_T_PUB_RETRY
 * delivers RESET). Topics are the core's: a bar whose topic does not
 * exist yet waits in the core (parked) and asks for it
 * (CREATE_DYNAMIC_TOPIC); the machine sees only bars for topics that
 * exist, and one result per Admin request.
 *
 * Bars are counted, not stored: the core keeps them in its bar store, the
 * queue in the order they were made (bar ids), and MD_A_PRODUCE(n) means
 * "produce the next n from its head". librdkafka retries inside itself,
 * so a failed delivery report is final, and says which of three kinds of
 * failure it was:
 *   PUBLISH_FAILURE   timed out: the bar goes back to the queue, in its
 *                     place (MD_A_REQUEUE), to be produced again;
 *   PUBLISH_REJECTED  refused for what the bar is (too large, not
 *                     authorised): dead-lettered (MD_A_DEAD_LETTER),
 *                     never produced again, and publishing goes on;
 *   PRODUCER_FATAL    the producer is dead (rd_kafka_fatal_error, e.g. a
 *                     gapless-guarantee breach or fencing): every bar in
 *                     flight goes back to the queue in order
 *                     (MD_A_REQUEUE_ALL) and the next produce first makes
 *                     a new producer (MD_A_PRODUCER_RESET).
 * QUEUE_FULL is the producer refusing a bar at once (its local queue is
 * full): back-pressure, not an error; the bar goes back to the queue and
 * is produced again after a short wait. While draining, a failed bar is
 * given up (MD_A_DISCARD(1)); ABANDON, at the flush deadline, emits
 * MD_A_DISCARD(queued + inflight): everything still outstanding is given
 * up (reports of bars in flight may still arrive and are ignored). The
 * queue is always in bar order, a bar that comes back returns to its
 * place; with librdkafka's idempotence, gapless guarantee and no message
 * timeout (docs/bars.md), the only failure with later bars in flight is
 * a fatal one, which gives them all back, so a series' bars also arrive
 * in order. Pure: no I/O. */
#ifndef FSM_PUB_H
#define FSM_PUB_H

#include "fsm.h"
#include "md_prng.h"
#include "md_types.h"

/* States (pi maps each to a seed state, docs/mealy.md). Invariants
 * (checked by pub_check after every step):
 *   IDLE            nothing queued, nothing in flight, no topic pending,
 *                   no timer armed; q0.
 *   FETCHING        a fetch whose bars will be published is running;
 *                   nothing queued or in flight, no topic pending, no timer.
 *   PUBLISHING      bars in flight (>= 1), none queued, no topic pending,
 *                   no timer.
 *   ERROR           a delivery, topic or fetch failed; exactly the retry
 *                   timer armed; new bars are queued, in-flight reports
 *                   still counted.
 *   CREATING_TOPIC  an Admin CreateTopics is outstanding; bars for topics
 *                   that exist keep being produced (bars for the topics
 *                   asked for wait in the core, parked, until their
 *                   result); a failed bar waits for the result; no timer
 *                   armed.
 *   DRAINING        shutting down: bars in flight or queued (>= 1), or
 *                   an Admin result due (topic_wait); the flush timer
 *                   armed, and the retry timer exactly while bars are
 *                   queued (waiting for room in the producer's queue).
 *   STOPPED         final; nothing queued or in flight, no timer.
 * DRAINING and STOPPED have no topic pending: stopping asks for no new
 * topic (the bars waiting for one are the core's, given up when the
 * publisher stops). */
enum pub_state {
    PUB_S_INVALID = 0,
    PUB_S_IDLE,
    PUB_S_FETCHING,
    PUB_S_PUBLISHING,
    PUB_S_ERROR,
    PUB_S_CREATING_TOPIC,
    PUB_S_DRAINING,
    PUB_S_STOPPED,
    PUB_S__COUNT
};

enum pub_input {
    PUB_I_INVALID = 0,
    PUB_I_FETCH_DATA,           /* seed: start a fetch (preflight/backfill) */
    PUB_I_DATA_READY,           /* seed: n >= 0 bars ready (n = 0: a fetch
                                   finished with nothing to publish) */
    PUB_I_PUBLISH_SUCCESS,      /* seed: one delivery report, ok */
    PUB_I_PUBLISH_FAILURE,      /* seed: one delivery report, failed */
    PUB_I_RESET,                /* seed: retry timer fired, or operator */
    PUB_I_FETCH_FAILURE,        /* seed (missing from its Sigma) */
    PUB_I_CREATE_DYNAMIC_TOPIC, /* seed (missing from its Sigma) */
    PUB_I_TOPIC_CREATED,        /* new: Admin result ok (or already exists) */
    PUB_I_TOPIC_FAILED,         /* new: Admin result failed */
    PUB_I_STOP,                 /* new: shut down */
    PUB_I_T_FLUSH,              /* new: timer MD_T_PUB_FLUSH */
    PUB_I_PUBLISH_REJECTED,     /* new: one delivery report, failed for
                                   good (that bar only) */
    PUB_I_QUEUE_FULL,           /* new: the producer refused one bar at
                                   once: its queue is full */
    PUB_I_PRODUCER_FATAL,       /* new: the producer failed fatally */
    PUB_I__COUNT
};

enum pub_guard {
    PUB_G_ALWAYS = FSM_G_ALWAYS,
    PUB_G_EMPTY, /* the DATA_READY carries no bars */
    PUB_G_LAST,  /* this report settles the last bar: in flight 1, queued 0 */
    PUB_G_BUSY,  /* bars queued or in flight */
    PUB_G_TOPIC, /* a topic still has to be created */
    PUB_G_HELD,  /* bars queued */
    PUB_G_TOPIC_WAIT, /* draining: an Admin request's result is due */
    PUB_G_WAIT_ONLY,  /* ... and no bar is queued or in flight */
    PUB_G__COUNT
};

/* Outputs: one per distinct effect, whatever the input. The seed's
 * actions keep their names; where one seed action covered several
 * effects, each effect is a suffixed variant that pi maps back to it
 * (docs/mealy.md, "Projection pi onto the seed"). */
enum pub_output {
    PUB_O_INVALID = 0,
    PUB_O_NONE = FSM_O_NONE,
    PUB_O_START_FETCH,          /* seed: fetch (pub -> rest) */
    PUB_O_START_PUBLISH,        /* seed: queue the new bars, produce all */
    PUB_O_START_PUBLISH_QUEUED, /* pi START_PUBLISH: a topic was created
                                   (counted); produce what queued */
    PUB_O_HANDLE_ERROR_PUBLISH, /* pi HANDLE_ERROR: a delivery failed:
                                   requeue its bar; arm retry */
    PUB_O_HANDLE_ERROR_FETCH,   /* pi HANDLE_ERROR: the fetch failed:
                                   count, note; arm retry */
    PUB_O_HANDLE_ERROR_TOPIC,   /* pi HANDLE_ERROR: the topic failed:
                                   count, note, remember; arm retry */
    PUB_O_RESET_ERROR,          /* seed: cancel retry; produce what queued */
    PUB_O_CREATE_NEW_TOPIC,     /* seed: cancel retry; topic_create */
    PUB_O_CREATE_NEW_TOPIC_NEXT, /* pi CREATE_NEW_TOPIC: a topic was
                                    created (counted); create the next */
    PUB_O_QUEUE,                /* hold the new bars */
    PUB_O_ACK,                  /* one bar delivered */
    PUB_O_REQUEUE,              /* one bar failed: back to the queue */
    PUB_O_LOSE,                 /* one bar failed while draining: lost */
    PUB_O_REPORT_FETCH_ERROR,   /* note a failed fetch; publishing goes on */
    PUB_O_NOTE_TOPIC,           /* remember a topic to create */
    PUB_O_TOPIC_READY,          /* a topic was created (counted); idle */
    PUB_O_FLUSH,                /* produce what queued; flush; arm flush */
    PUB_O_FINISH,               /* stop with nothing outstanding: cancel
                                   the retry and flush timers */
    PUB_O_FINISH_ACK,           /* the last bar delivered while draining:
                                   account it; cancel the flush timer */
    PUB_O_FINISH_LOSE,          /* the last bar failed while draining:
                                   lost (discard, note); cancel flush */
    PUB_O_ABANDON,              /* flush overdue: discard all that is
                                   outstanding, queued and in flight */
    PUB_O_DEAD_LETTER,          /* one bar refused for good: dead-letter */
    PUB_O_FINISH_DEAD_LETTER,   /* the last bar refused while draining:
                                   dead-letter; cancel flush */
    PUB_O_HANDLE_ERROR_FATAL,   /* pi HANDLE_ERROR: the producer died:
                                   requeue all in flight; arm retry */
    PUB_O_REQUEUE_ALL,          /* the producer died: requeue all in
                                   flight (a new one produces them) */
    PUB_O_REPRODUCE,            /* the producer died while draining:
                                   requeue all in flight, produce again */
    PUB_O_BACKPRESSURE,         /* a bar refused at once: requeue it; arm
                                   the retry timer (short wait) */
    PUB_O_GIVE_BACK,            /* a bar refused at once: requeue it */
    PUB_O_GIVE_BACK_WAIT,       /* ... while draining: requeue it; arm the
                                   retry timer if not armed */
    PUB_O_RESUME,               /* draining: cancel retry; produce what
                                   queued */
    PUB_O_FLUSH_TOPIC,          /* stop while topics are created: as
                                   FLUSH, and the drain waits for their
                                   result too (topic_wait) */
    PUB_O_TOPIC_DONE,           /* draining, the topics exist (their bars
                                   came as DATA_READY): count it */
    PUB_O_FINISH_TOPIC_DONE,    /* ... and nothing else is outstanding:
                                   cancel flush */
    PUB_O_TOPIC_LOST,           /* draining, a topic failed: note (its
                                   bars are the core's, given up when the
                                   publisher stops) */
    PUB_O_FINISH_TOPIC_LOST,    /* ... and nothing else is outstanding:
                                   cancel flush */
    PUB_O__COUNT
};

struct pub_config {
    mono_ns retry_min_ns;  /* default 1 s */
    mono_ns retry_max_ns;  /* default 30 s */
    mono_ns flush_timeout_ns; /* default 10 s */
    mono_ns backpressure_ns;  /* wait after QUEUE_FULL; default 100 ms */
};

/* n: bars in a DATA_READY; failed requests in a FETCH_FAILURE (>= 1);
 * the job in a FETCH_DATA (passed on in MD_A_FETCH); 0 otherwise. */
struct pub_in {
    uint8_t input; /* enum pub_input */
    mono_ns t_ns;
    uint64_t n;
};

struct pub_stats {
    uint64_t produced, delivered, failed, lost, fetches, fetch_failures;
    uint64_t topics_created, topic_failures, errors;
    uint64_t dead_lettered, fatal_errors, backpressure;
    uint64_t unreachable; /* cells labelled unreachable taken (note) */
};

struct pub {
    const struct fsm_def *def;
    uint8_t state;
    uint8_t trace;
    struct pub_config cfg;
    struct md_prng *rng; /* borrowed */
    uint64_t queued;     /* bars held back (shell FIFO) */
    uint64_t inflight;   /* bars produced, report pending */
    uint8_t topic_pending;
    uint8_t fatal;       /* the producer died: the next produce makes a
                            new one first (MD_A_PRODUCER_RESET) */
    uint8_t topic_wait;  /* draining only: an Admin request's result is
                            due (bars parked in the core for its topics
                            may still come) */
    unsigned attempt;    /* failures since the last delivery */
    uint32_t timers;     /* bit t: timer t armed (MD_T_PUB_*) */
    struct pub_stats st;
};

#define PUB_MAX_ACTIONS 8

extern const struct fsm_def pub_def;

void pub_config_default(struct pub_config *cfg);
void pub_init(struct pub *m, const struct pub_config *cfg,
              struct md_prng *rng);
uint32_t pub_guards(const struct pub *m, const struct pub_in *in);

/* As conn_step: MD_OK, MD_E_FULL (nothing changed), MD_E_INVAL,
 * MD_E_STATE (no arm; or, without NDEBUG, pub_check failed after it). */
int pub_step(struct pub *m, const struct pub_in *in, struct md_out *out);

/* The state invariants above. MD_OK, or MD_E_STATE with the first broken
 * one described in why (why_size 0: not described). No I/O. */
int pub_check(const struct pub *m, char *why, size_t why_size);

#endif /* FSM_PUB_H */
