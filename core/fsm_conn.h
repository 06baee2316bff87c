/* fsm_conn.h: the connection machine of the producer: connect, welcome,
 * subscribe, stream, heartbeat/staleness, back-off and reconnect, close.
 *
 * Its alphabet is events of the *current* WebSocket; the composition
 * (core.h) drops events tagged with an older connection id before they
 * reach this machine. The table is docs/mealy.md section "conn".
 * Pure: no I/O, no allocation, no clock; time arrives in every input. */
#ifndef FSM_CONN_H
#define FSM_CONN_H

#include "fsm.h"
#include "md_prng.h"
#include "md_types.h"

/* States. Invariants (checked by conn_check after every step), "exactly"
 * meaning no other timer of the machine is armed:
 *   IDLE          no socket, no timer armed, no socket ever opened
 *                 (conn_id 0, attempt 0); q0.
 *   CONNECTING    socket opening; exactly the handshake timer armed.
 *   WAIT_WELCOME  socket open, TYPE 20 not yet seen; exactly the handshake
 *                 timer armed.
 *   SUBSCRIBING   SubAdd sent, LOADCOMPLETE not yet seen; exactly the stale
 *                 timer armed.
 *   STREAMING     live (was_live, no gap open); exactly the stale timer,
 *                 at the next liveness deadline: the stale timeout (no
 *                 data or heartbeat), the pong timeout of a ping out, or
 *                 the next probe (nothing received for probe_after).
 *   BACKOFF       no usable socket (not live); exactly the back-off timer.
 *   CLOSING       close requested by STOP; exactly the close timer armed.
 *   STOPPED       final; no timer armed.
 *   FAILED        final until RESET: the server refused the API key; no
 *                 timer armed.
 * In every state: conn_id counts the sockets opened (st.connects), and is
 * at least 1 outside IDLE and STOPPED; a gap is never open while live. */
enum conn_state {
    CONN_S_INVALID = 0,
    CONN_S_IDLE,
    CONN_S_CONNECTING,
    CONN_S_WAIT_WELCOME,
    CONN_S_SUBSCRIBING,
    CONN_S_STREAMING,
    CONN_S_BACKOFF,
    CONN_S_CLOSING,
    CONN_S_STOPPED,
    CONN_S_FAILED,
    CONN_S__COUNT
};

/* Inputs. Frame inputs come from the decoder's classification of one
 * WebSocket text frame (TYPE, and MESSAGE for 429/500). */
enum conn_input {
    CONN_I_INVALID = 0,
    CONN_I_START,            /* operator: begin */
    CONN_I_STOP,             /* operator or signal: shut down */
    CONN_I_RESET,            /* operator: reconnect now / leave FAILED */
    CONN_I_WS_OPEN,          /* handshake completed */
    CONN_I_WS_CLOSED,        /* socket ended (any cause, exactly once) */
    CONN_I_WELCOME,          /* TYPE 20 STREAMERWELCOME */
    CONN_I_SUB_OK,           /* TYPE 16 SUBSCRIBECOMPLETE */
    CONN_I_LOAD_COMPLETE,    /* TYPE 3 LOADCOMPLETE */
    CONN_I_DATA,             /* TYPE 0, 2, 5, 24: market data */
    CONN_I_HEARTBEAT,        /* TYPE 999 */
    CONN_I_SUB_REJECTED,     /* 500 INVALID_SUB/PARAMETER/JSON/SUBSCRIPTION_*,
                                429 TOO_MANY_SUBSCRIPTIONS */
    CONN_I_UNAUTHORIZED,     /* TYPE 401 */
    CONN_I_TOO_MANY_SOCKETS, /* 429 TOO_MANY_SOCKETS, OPENING_SOCKETS_TOO_FAST */
    CONN_I_FORCE_DISCONNECT, /* 500 FORCE_DISCONNECT */
    CONN_I_MALFORMED,        /* a frame that did not decode */
    CONN_I_OTHER,            /* decoded but not for this machine: 17, 18,
                                unknown TYPEs, out-of-place control */
    CONN_I_T_HANDSHAKE,      /* timer MD_T_CONN_HANDSHAKE */
    CONN_I_T_STALE,          /* timer MD_T_CONN_STALE */
    CONN_I_T_BACKOFF,        /* timer MD_T_CONN_BACKOFF */
    CONN_I_T_CLOSE,          /* timer MD_T_CONN_CLOSE */
    /* The end of a socket whose upgrade the server refused (the
     * composition's reading of WS_CLOSED by its handshake HTTP status): */
    CONN_I_WS_REFUSED_AUTH,  /* 401 (or 403): the key was refused */
    CONN_I_WS_REFUSED_RATE,  /* 429: too many sockets or too fast */
    CONN_I_T_SUBSCRIBE,      /* timer MD_T_CONN_SUBSCRIBE */
    CONN_I_PONG,             /* the pong of the socket's last ping */
    CONN_I__COUNT
};

enum conn_guard {
    CONN_G_ALWAYS = FSM_G_ALWAYS,
    CONN_G_QUIET, /* now - last activity >= stale timeout */
    CONN_G_UNANSWERED, /* a ping is out, nothing received since it was
                          sent, and its pong timeout has passed */
    CONN_G_IDLE,  /* no ping out, nothing received (data, heartbeat or
                     pong) for probe_after: time to ask */
    CONN_G__COUNT
};

/* Outputs; each names a fixed list of actions (docs/mealy.md, "effects"),
 * the same whatever the input that selected it. */
enum conn_output {
    CONN_O_INVALID = 0,
    CONN_O_NONE = FSM_O_NONE,
    CONN_O_OPEN,           /* cancel back-off; ws_open; arm handshake */
    CONN_O_SUBSCRIBE,      /* cancel handshake; ws_subscribe; arm stale */
    CONN_O_SUB_ACK,        /* count the acknowledged subscription */
    CONN_O_LIVE,           /* attempts := 0; close an open gap (note) */
    CONN_O_FEED,           /* data: activity := now */
    CONN_O_BEAT,           /* heartbeat: activity := now */
    CONN_O_NOTE_SUB,       /* note sub_rejected */
    CONN_O_NOTE_MALFORMED, /* note malformed_frame */
    CONN_O_NOTE_OTHER,     /* note other_frame */
    CONN_O_REARM_STALE,    /* arm stale at last activity + timeout */
    CONN_O_DROP,           /* a timeout: cancel timers; ws_close; open a
                              gap; arm back-off (exponential, jittered) */
    CONN_O_DROP_CLOSED,    /* the socket ended: as DROP without ws_close */
    CONN_O_DROP_FORCED,    /* FORCE_DISCONNECT: note it; as DROP */
    CONN_O_DROP_LONG,      /* 429: note it; as DROP with the long back-off */
    CONN_O_FAIL_AUTH,      /* cancel timers; ws_close; note auth_failed;
                              open a gap if it was live */
    CONN_O_CLOSE,          /* cancel timers; ws_close 1000; arm close */
    CONN_O_CLOSED,         /* cancel close timer */
    CONN_O_ABORT,          /* close overdue: note; (socket already asked) */
    CONN_O_CANCEL,         /* cancel every timer */
    CONN_O_REFUSED_AUTH,   /* upgrade refused 401: as FAIL_AUTH without
                              ws_close (the socket is gone) */
    CONN_O_REFUSED_RATE,   /* upgrade refused 429: as DROP_LONG without
                              ws_close */
    CONN_O_DROP_SUB_TIMEOUT, /* no LOADCOMPLETE in time: note, then as DROP
                                (the subscriptions are sent again on the
                                next socket) */
    CONN_O_SUB_PROGRESS,   /* one subscription completed while subscribing:
                              as SUB_ACK, and the subscribe timer starts
                              again (it times silence, not the whole) */
    CONN_O_PROBE,          /* ws_ping; the stale timer at the pong
                              deadline */
    CONN_O_DROP_NO_PONG,   /* no pong and nothing else: note
                              ping_timeout; as DROP */
    CONN_O_PONG,           /* the pong: alive := now (the ping is
                              answered) */
    CONN_O_REARM_PROBE,    /* arm stale at the next liveness deadline:
                              the stale timeout, the pong timeout of a
                              ping out, or the next probe */
    CONN_O__COUNT
};

struct conn_config {
    mono_ns handshake_timeout_ns; /* connect + welcome; default 15 s */
    mono_ns stale_timeout_ns;     /* no heartbeat or data; default 75 s */
    mono_ns backoff_min_ns;       /* default 5 s (CryptoCompare's minimum) */
    mono_ns backoff_max_ns;       /* default 60 s */
    mono_ns backoff_long_ns;      /* after 429 sockets; default 300 s,
                                     jittered up to 1.5 times that */
    mono_ns close_timeout_ns;     /* default 5 s */
    mono_ns subscribe_timeout_ns; /* SubAdd to LOADCOMPLETE; default 30 s */
    mono_ns probe_after_ns;   /* streaming, nothing received this long:
                                 ping; default 30 s (CryptoCompare asks
                                 for at most one ping every 30 s) */
    mono_ns pong_timeout_ns;  /* a ping unanswered this long, nothing
                                 else received: dead; default 10 s */
};

/* One input. server_ms is the server time of a WELCOME (SERVER_TIME_MS)
 * or HEARTBEAT (TIMEMS), or 0 if absent; the machine does not use it (the
 * feed owns the server-time offset, feed.h) and the field goes when the
 * composition stops passing it. */
struct conn_in {
    uint8_t input; /* enum conn_input */
    mono_ns t_ns;
    int64_t server_ms;
};

struct conn_stats {
    uint64_t frames, malformed, other, subs_ok, subs_rejected;
    uint64_t drops, connects;
    uint64_t pings, pongs, ping_timeouts;
    uint64_t unreachable; /* cells labelled unreachable taken (note) */
};

struct conn {
    const struct fsm_def *def; /* &conn_def; tests may substitute */
    uint8_t state;             /* enum conn_state; only conn_step sets it */
    uint8_t trace;             /* emit MD_A_TRACE for every step */
    uint8_t out;               /* enum conn_output: lambda of the last step
                                  (the composition feeds a frame's data on
                                  only when it is FEED) */
    struct conn_config cfg;
    struct md_prng *rng; /* borrowed from the composition */
    unsigned attempt;    /* failed attempts since the last LIVE */
    uint32_t conn_id;    /* id of the current socket (bumped by OPEN) */
    mono_ns last_activity; /* last data or heartbeat (the server speaks) */
    mono_ns last_pong;     /* last pong (the socket carries) */
    mono_ns ping_t;        /* when the last ping was sent; 0: none on
                              this socket */
    uint8_t was_live;    /* LOADCOMPLETE seen since the last drop */
    uint8_t gap_open;    /* lost a live connection, not yet live again */
    mono_ns gap_start;   /* last activity before the drop */
    uint32_t timers;     /* bit t: timer t armed (MD_T_CONN_*) */
    struct conn_stats st;
};

/* Upper bound of actions one step emits (trace included). */
#define CONN_MAX_ACTIONS 10

extern const struct fsm_def conn_def;

/* Default timeouts above. */
void conn_config_default(struct conn_config *cfg);

/* Initialise in q0 = IDLE. rng is borrowed and must outlive m. */
void conn_init(struct conn *m, const struct conn_config *cfg,
               struct md_prng *rng);

/* Guard mask for an input in the current extended state. */
uint32_t conn_guards(const struct conn *m, const struct conn_in *in);

/* The last time the socket showed it carries: data, a heartbeat or a
 * pong. */
mono_ns conn_alive(const struct conn *m);

/* The only way the machine changes: one input, its actions appended to
 * out. MD_OK; MD_E_FULL (room < CONN_MAX_ACTIONS: nothing changed);
 * MD_E_INVAL (bad input symbol); MD_E_STATE (table has no arm: nothing
 * changed; or, in builds without NDEBUG, conn_check failed after the step:
 * a bug in the core). A cell labelled unreachable is taken as its table
 * says, noted (MD_N_UNREACHABLE) and counted in st.unreachable. */
int conn_step(struct conn *m, const struct conn_in *in, struct md_out *out);

/* The state invariants above. MD_OK, or MD_E_STATE with the first broken
 * one described in why (why_size 0: not described). No I/O. */
int conn_check(const struct conn *m, char *why, size_t why_size);

#endif /* FSM_CONN_H */
