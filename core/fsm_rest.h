/* fsm_rest.h: the REST machine: preflight and backfill requests, one at a
 * time, with rate-limit and transport back-off.
 *
 * It keeps a FIFO of pending requests (counts only; the request details are
 * built by the REST policy and held by the composition). Each request ends
 * exactly once: delivered (MD_A_FETCH_DONE) or failed (MD_A_FETCH_FAILED).
 * The table is docs/mealy.md section "rest". Pure: no I/O. */
#ifndef FSM_REST_H
#define FSM_REST_H

#include "fsm.h"
#include "md_prng.h"
#include "md_types.h"

/* States. Invariants (checked by rest_check after every step), "exactly"
 * meaning no other timer of the machine is armed:
 *   IDLE        no request queued, no attempt made; no timer armed; q0.
 *   REQUESTING  the head request is outstanding: 1 <= queued <= queue_cap,
 *               1 <= attempt <= max_attempts; exactly the timeout timer.
 *   WAITING     the head request will be retried: 1 <= queued <=
 *               queue_cap, 1 <= attempt < max_attempts; exactly the retry
 *               timer.
 *   STOPPED     final; queue dropped; no timer armed. */
enum rest_state {
    REST_S_INVALID = 0,
    REST_S_IDLE,
    REST_S_REQUESTING,
    REST_S_WAITING,
    REST_S_STOPPED,
    REST_S__COUNT
};

enum rest_input {
    REST_I_INVALID = 0,
    REST_I_FETCH,            /* a request was queued (from START_FETCH) */
    REST_I_RESP_OK,          /* body decoded as data */
    REST_I_RESP_PARAM_ERROR, /* Response:Error Type 1/2: will not succeed */
    REST_I_RESP_RATE_LIMIT,  /* Type 99 body or HTTP 429 */
    REST_I_RESP_AUTH,        /* 401 Err envelope: the key is refused */
    REST_I_RESP_FAIL,        /* transport error, 5xx, undecodable body */
    REST_I_T_TIMEOUT,        /* timer MD_T_REST_TIMEOUT */
    REST_I_T_RETRY,          /* timer MD_T_REST_RETRY */
    REST_I_STOP,
    REST_I__COUNT
};

enum rest_guard {
    REST_G_ALWAYS = FSM_G_ALWAYS,
    REST_G_RETRY, /* the head request has attempts left */
    REST_G_MORE,  /* requests remain queued behind the head */
    REST_G__COUNT
};

/* Outputs, one per distinct effect whatever the input. */
enum rest_output {
    REST_O_INVALID = 0,
    REST_O_NONE = FSM_O_NONE,
    REST_O_SEND,          /* rest_send head; arm timeout */
    REST_O_ENQUEUE,       /* queue behind the head */
    REST_O_DELIVER_NEXT,  /* fetch_done head; send the next */
    REST_O_DELIVER_LAST,  /* fetch_done head; queue empty */
    REST_O_FAIL_NEXT,     /* answered, will not succeed: note; fetch_failed
                             head; send the next */
    REST_O_FAIL_LAST,     /* as FAIL_NEXT; queue empty */
    REST_O_GIVE_UP_NEXT,  /* attempts spent: rest_cancel; note;
                             fetch_failed head; send the next */
    REST_O_GIVE_UP_LAST,  /* as GIVE_UP_NEXT; queue empty */
    REST_O_WAIT,          /* transport error or timeout: cancel request and
                             timeout; arm retry */
    REST_O_WAIT_RATE,     /* rate limited: count it; as WAIT */
    REST_O_RESEND,        /* rest_send head again; arm timeout */
    REST_O_FAIL_ALL,      /* note; fetch_failed for every queued request */
    REST_O_ABORT,         /* nothing outstanding: cancel timers; drop the
                             queue */
    REST_O_ABORT_REQUEST, /* rest_cancel the outstanding request; as ABORT */
    REST_O__COUNT
};

struct rest_config {
    mono_ns timeout_ns;       /* per request; default 10 s */
    mono_ns backoff_min_ns;   /* default 1 s */
    mono_ns backoff_max_ns;   /* default 60 s */
    unsigned max_attempts;    /* per request, first try included; 4 */
    unsigned queue_cap;       /* default 256 */
};

/* retry_after_ns: a wait the server asked for (rate-limit window), or 0.
 * bars: bars the REST policy made of a RESP_OK body; for FETCH, the number
 * of requests queued (0 counts as 1). */
struct rest_in {
    uint8_t input; /* enum rest_input */
    mono_ns t_ns;
    mono_ns retry_after_ns;
    uint32_t bars;
};

struct rest_stats {
    uint64_t sent, ok, failed, retried, rate_limited, overflow;
    uint64_t unreachable; /* cells labelled unreachable taken (note) */
};

struct rest {
    const struct fsm_def *def;
    uint8_t state;
    uint8_t trace;
    struct rest_config cfg;
    struct md_prng *rng; /* borrowed */
    unsigned queued;     /* requests including the head */
    unsigned attempt;    /* attempts of the head so far */
    uint64_t next_id;    /* id of the head request */
    uint32_t timers;     /* bit t: timer t armed (MD_T_REST_*) */
    struct rest_stats st;
};

#define REST_MAX_ACTIONS 8

extern const struct fsm_def rest_def;

void rest_config_default(struct rest_config *cfg);
void rest_init(struct rest *m, const struct rest_config *cfg,
               struct md_prng *rng);
uint32_t rest_guards(const struct rest *m, const struct rest_in *in);

/* As conn_step: MD_OK, MD_E_FULL (nothing changed), MD_E_INVAL,
 * MD_E_STATE (no arm; or, without NDEBUG, rest_check failed after it). */
int rest_step(struct rest *m, const struct rest_in *in, struct md_out *out);

/* The state invariants above. MD_OK, or MD_E_STATE with the first broken
 * one described in why (why_size 0: not described). No I/O. */
int rest_check(const struct rest *m, char *why, size_t why_size);

#endif /* FSM_REST_H */
