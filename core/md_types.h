/* md_types.h: the core's shared vocabulary: time types, timer ids, the
 * actions a step may emit, and the fixed-capacity output buffer.
 *
 * Pure: no I/O, no allocation. The shell owns every clock and socket; the
 * core only ever sees times as fields of its inputs and asks for timers by
 * emitting MD_A_ARM_TIMER actions. */
#ifndef MD_TYPES_H
#define MD_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* Local monotonic time of the loop pass that delivered an input, in ns.
 * Replay substitutes virtual time; the core cannot tell the difference. */
typedef int64_t mono_ns;
/* Server (CryptoCompare) or exchange wall time, unix epoch, in ns. */
typedef int64_t ts_ns;

/* a[0..n) == b[0..n), for the short names and symbols of frames (a few
 * bytes), where a call to memcmp costs more than the comparison. */
static inline int md_bytes_eq(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    size_t i;

    for (i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return 0;
        }
    }
    return 1;
}

#define MD_NS_PER_MS INT64_C(1000000)
#define MD_NS_PER_S INT64_C(1000000000)

/* Timers the core may arm. At most one instance of each id is armed at a
 * time: arming an armed id moves its deadline. The shell delivers a firing
 * as an input stamped with the deadline, never with "now". */
enum md_timer {
    MD_T_INVALID = 0,
    MD_T_CONN_HANDSHAKE, /* connect + welcome must complete by then */
    MD_T_CONN_STALE,     /* no heartbeat or data for stale_timeout */
    MD_T_CONN_BACKOFF,   /* reconnect after back-off */
    MD_T_CONN_CLOSE,     /* a requested close must have completed */
    MD_T_REST_TIMEOUT,   /* the outstanding REST request is overdue */
    MD_T_REST_RETRY,     /* retry after a rate limit or transport error */
    MD_T_PUB_RETRY,      /* the publisher's RESET after an error */
    MD_T_PUB_FLUSH,      /* shutdown flush deadline */
    MD_T_BAR,            /* the next bar close or revision is due */
    MD_T_BACKFILL,       /* bars of a reconnect gap have settled */
    MD_T_CONN_SUBSCRIBE, /* the subscriptions must have completed */
    MD_T__COUNT
};

/* The machines of the producer (docs/mealy.md). */
enum md_machine {
    MD_M_INVALID = 0,
    MD_M_CONN, /* WebSocket connection machine */
    MD_M_REST, /* REST machine: preflight, backfill, rate limits */
    MD_M_PUB,  /* publisher machine: topics, publishing, errors */
    MD_M__COUNT
};

/* Effects a step asks the shell to carry out, in order. */
enum md_act_kind {
    MD_A_INVALID = 0,
    MD_A_TRACE,         /* one transition; see struct md_trace */
    MD_A_ARM_TIMER,     /* timer, deadline */
    MD_A_CANCEL_TIMER,  /* timer */
    MD_A_WS_OPEN,       /* open the WebSocket (socket id = arg) */
    MD_A_WS_SUBSCRIBE,  /* send SubAdd with subs[0..n) (socket id = arg) */
    MD_A_WS_CLOSE,      /* close socket arg with code 1000 */
    MD_A_REST_SEND,     /* send req (request id = arg) */
    MD_A_REST_CANCEL,   /* abandon the outstanding request (id = arg) */
    MD_A_TOPIC_CREATE,  /* Admin CreateTopics for topics[0..n), by name;
                           each result comes back as TOPIC_CREATED or
                           TOPIC_FAILED naming its topic */
    MD_A_PRODUCE,       /* produce bars[0..n), each under its id */
    MD_A_DISCARD,       /* bars[0..n) are given up (lost): forget them */
    MD_A_FLUSH,         /* flush the producer, bounded by the flush timer */
    MD_A_BARS,          /* bars[0..n) closed: new bars, each with its id */
    MD_A_NOTE,          /* a counted event for logs and metrics: note */
    MD_A_DEAD_LETTER,   /* bars[0..n) failed for good (refused by the
                           broker for what they are: too large, not
                           authorised): write them to the dead-letter
                           record, never produce them again */
    MD_A_PRODUCER_RESET, /* the producer failed fatally: destroy it and
                            create a new one before the next produce */
    MD_A_WS_PING,       /* send a WebSocket ping on socket arg; its pong
                           comes back as CONN_I_PONG */
    /* Internal: machine outputs the composition (core.c) routes to other
     * machines within the step. They never reach the caller's out. */
    MD_A_FETCH,         /* pub -> rest: start a fetch job (arg = job kind) */
    MD_A_FETCH_DONE,    /* rest -> pub: a job finished, arg = bars ready */
    MD_A_FETCH_FAILED,  /* rest -> pub: arg = requests that failed */
    MD_A_REQUEUE,       /* pub: the reported bar goes back to the queue */
    MD_A_REQUEUE_ALL,   /* pub: every bar in flight goes back to it */
    MD_A_GAP_OPEN,      /* conn: live data stopped at local time arg */
    MD_A_GAP_CLOSED,    /* conn: live again after a gap */
    MD_A__COUNT
};

/* Notes: things worth a log line and a counter, never a state. */
enum md_note {
    MD_N_INVALID = 0,
    MD_N_MALFORMED_FRAME,
    MD_N_OTHER_FRAME,
    MD_N_SUB_REJECTED,
    MD_N_AUTH_FAILED,
    MD_N_TOO_MANY_SOCKETS,
    MD_N_FORCE_DISCONNECT,
    MD_N_CONN_LOST,
    MD_N_GAP_OPEN,
    MD_N_GAP_CLOSED,
    MD_N_FETCH_FAILED,
    MD_N_REST_FAILED,
    MD_N_PUBLISH_FAILED,
    MD_N_TOPIC_FAILED,
    MD_N_QUEUE_OVERFLOW,
    MD_N_BARS_LOST,
    MD_N_STALE_REPORT,   /* a delivery report for no bar in flight */
    MD_N_STREAMS_FULL,   /* data of a stream beyond the configured ones */
    MD_N_TICKERS_FULL,   /* TYPE 2/5 keys beyond the merge table */
    MD_N_BARS_WAIT,      /* the bar store is full: closing waits */
    MD_N_UNREACHABLE, /* a cell labelled unreachable was taken: the shell
                         broke its contract; arg = machine << 16 |
                         state << 8 | input */
    MD_N_SUBSCRIBE_TIMEOUT, /* no LOADCOMPLETE in time: reconnecting */
    MD_N_BACKFILL_RETRY,   /* backfill requests failed: their minutes are
                              planned again after a back-off; arg = the
                              requests */
    MD_N_BACKFILL_DROPPED, /* gap bars older than the REST history: never
                              fetched; arg = bars */
    MD_N_DEAD_LETTER,      /* a bar the broker refused for good */
    MD_N_PRODUCER_FATAL,   /* the producer failed fatally; arg = bars in
                              flight, to be produced again */
    MD_N_BACKPRESSURE,     /* the producer's queue was full; arg = bars
                              in flight */
    MD_N_PING_TIMEOUT,     /* a ping unanswered, nothing received since:
                              the socket is dead; arg = socket id */
    MD_N__COUNT
};

/* One transition, for the trace line
 *   t_ns machine state --input/output--> next
 * Names come from the machine's fsm_def (see fsm.h). */
struct md_trace {
    uint8_t machine; /* enum md_machine */
    uint8_t from, input, guard, output, to;
};

/* A closed bar the core holds until it is delivered or discarded. The id
 * is stable (1, 2, 3, ... in the order bars close) and is what delivery
 * reports name (core_in.bar_id). Defined in core.h. */
struct md_bar;

/* A REST request, complete: what the REST shell sends. */
struct md_request {
    const char *method; /* "GET" */
    const char *target; /* path and query, no host, never a key */
    size_t target_len;
    int purpose;        /* enum rp_purpose, for logs */
};

/* One effect. Every action carries what the shell needs to carry it out;
 * pointers in it stay valid until the next core_step on the same core.
 * The shell never calls back into the core to interpret an action. */
struct md_action {
    uint8_t kind; /* enum md_act_kind */
    uint8_t timer; /* enum md_timer, for ARM/CANCEL */
    uint8_t note; /* enum md_note, for NOTE */
    mono_ns t_ns;  /* time of the input that caused it */
    mono_ns deadline_ns; /* ARM_TIMER */
    uint64_t arg;        /* kind-specific */
    struct md_trace tr;  /* TRACE */
    size_t n;            /* entries of the list below (SUBSCRIBE, bars) */
    union {
        const char *const *subs;          /* WS_SUBSCRIBE: "0~Coinbase~BTC~USD" */
        const struct md_request *req;     /* REST_SEND */
        const struct md_bar *const *bars; /* BARS, PRODUCE, DISCARD */
        const char *const *topics;        /* TOPIC_CREATE: names */
    } p;
};

/* Caller-provided, fixed-capacity output. A step that would not fit
 * returns MD_E_FULL and changes nothing. */
#define MD_OUT_CAP 128
struct md_out {
    size_t n;
    struct md_action a[MD_OUT_CAP];
};

/* Empty the buffer. Cannot fail. */
void md_out_reset(struct md_out *out);

/* Room left in out. */
size_t md_out_room(const struct md_out *out);

/* Append one action; the caller checked the room first (asserted). */
struct md_action *md_out_push(struct md_out *out, enum md_act_kind kind,
                              mono_ns t_ns);

/* Names for logs, traces and docs. Static strings, never NULL. */
const char *md_timer_name(int timer);
const char *md_act_name(int kind);
const char *md_note_name(int note);
const char *md_machine_name(int machine);

/* ---- caller-provided memory -------------------------------------------
 * The core allocates nothing: tables sized from the configuration (the
 * aggregator's streams, the feed's tickers, the core's series and REST
 * queue) live in one block the caller allocates. Each module has
 * x_mem_size(cfg), the bytes it needs, and x_init(x, cfg, mem, size),
 * which carves its tables from mem with md_arena_take. mem need not be
 * zeroed or aligned; the caller owns it, keeps it as long as x is used
 * and frees it afterwards (x holds pointers into it). */

#define MD_MEM_ALIGN 64 /* each table starts on its own cache line */

/* Bytes a table of n bytes takes from an arena, alignment included;
 * SIZE_MAX if that overflows. */
static inline size_t md_mem_round(size_t n)
{
    return n > SIZE_MAX - 2 * MD_MEM_ALIGN
               ? SIZE_MAX
               : (n + MD_MEM_ALIGN - 1) / MD_MEM_ALIGN * MD_MEM_ALIGN;
}

/* a + b, SIZE_MAX if that overflows (sizes add up saturating, so an
 * impossible configuration asks for SIZE_MAX, which no caller has). */
static inline size_t md_mem_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* n * size, SIZE_MAX if that overflows. */
static inline size_t md_mem_mul(size_t n, size_t size)
{
    return size != 0 && n > SIZE_MAX / size ? SIZE_MAX : n * size;
}

/* The block being carved: the next free byte and what is left. */
struct md_arena {
    unsigned char *p;
    size_t left;
};

/* Start carving mem[0..size): one MD_MEM_ALIGN of every block goes to
 * aligning its start (the x_mem_size functions count it). */
static inline void md_arena_init(struct md_arena *a, void *mem, size_t size)
{
    a->p = mem;
    a->left = mem != NULL ? size : 0;
}

/* The next n bytes (rounded up, aligned to MD_MEM_ALIGN), or NULL when
 * the block is too small. Not zeroed. */
static inline void *md_arena_take(struct md_arena *a, size_t n)
{
    size_t pad = (MD_MEM_ALIGN - (size_t)((uintptr_t)a->p % MD_MEM_ALIGN)) %
                 MD_MEM_ALIGN;
    size_t need = md_mem_round(n);
    void *r;

    if (need == SIZE_MAX || pad > a->left || need > a->left - pad) {
        return NULL;
    }
    r = a->p + pad;
    a->p += pad + need;
    a->left -= pad + need;
    return r;
}

#endif /* MD_TYPES_H */
