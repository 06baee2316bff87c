/* fsm_conn.c: the connection machine: its table (const data) and the
 * effects of its outputs. conn_step is the only way its state changes.
 * Pure: no I/O, no allocation, no clock. */
#include <string.h>

#include "fsm_conn.h"
#include "fsm_int.h"
#include "md_err.h"

static const char *const state_names[CONN_S__COUNT] = {
    [CONN_S_INVALID] = "INVALID",
    [CONN_S_IDLE] = "IDLE",
    [CONN_S_CONNECTING] = "CONNECTING",
    [CONN_S_WAIT_WELCOME] = "WAIT_WELCOME",
    [CONN_S_SUBSCRIBING] = "SUBSCRIBING",
    [CONN_S_STREAMING] = "STREAMING",
    [CONN_S_BACKOFF] = "BACKOFF",
    [CONN_S_CLOSING] = "CLOSING",
    [CONN_S_STOPPED] = "STOPPED",
    [CONN_S_FAILED] = "FAILED",
};

static const char *const input_names[CONN_I__COUNT] = {
    [CONN_I_INVALID] = "INVALID",
    [CONN_I_START] = "START",
    [CONN_I_STOP] = "STOP",
    [CONN_I_RESET] = "RESET",
    [CONN_I_WS_OPEN] = "WS_OPEN",
    [CONN_I_WS_CLOSED] = "WS_CLOSED",
    [CONN_I_WELCOME] = "WELCOME",
    [CONN_I_SUB_OK] = "SUB_OK",
    [CONN_I_LOAD_COMPLETE] = "LOAD_COMPLETE",
    [CONN_I_DATA] = "DATA",
    [CONN_I_HEARTBEAT] = "HEARTBEAT",
    [CONN_I_SUB_REJECTED] = "SUB_REJECTED",
    [CONN_I_UNAUTHORIZED] = "UNAUTHORIZED",
    [CONN_I_TOO_MANY_SOCKETS] = "TOO_MANY_SOCKETS",
    [CONN_I_FORCE_DISCONNECT] = "FORCE_DISCONNECT",
    [CONN_I_MALFORMED] = "MALFORMED",
    [CONN_I_OTHER] = "OTHER",
    [CONN_I_T_HANDSHAKE] = "T_HANDSHAKE",
    [CONN_I_T_STALE] = "T_STALE",
    [CONN_I_T_BACKOFF] = "T_BACKOFF",
    [CONN_I_T_CLOSE] = "T_CLOSE",
    [CONN_I_WS_REFUSED_AUTH] = "WS_REFUSED_AUTH",
    [CONN_I_WS_REFUSED_RATE] = "WS_REFUSED_RATE",
    [CONN_I_T_SUBSCRIBE] = "T_SUBSCRIBE",
    [CONN_I_PONG] = "PONG",
};

static const char *const guard_names[CONN_G__COUNT] = {
    [CONN_G_ALWAYS] = "-",
    [CONN_G_QUIET] = "quiet",
    [CONN_G_UNANSWERED] = "unanswered",
    [CONN_G_IDLE] = "idle",
};

static const char *const output_names[CONN_O__COUNT] = {
    [CONN_O_INVALID] = "INVALID",
    [CONN_O_NONE] = "-",
    [CONN_O_OPEN] = "OPEN",
    [CONN_O_SUBSCRIBE] = "SUBSCRIBE",
    [CONN_O_SUB_ACK] = "SUB_ACK",
    [CONN_O_LIVE] = "LIVE",
    [CONN_O_FEED] = "FEED",
    [CONN_O_BEAT] = "BEAT",
    [CONN_O_NOTE_SUB] = "NOTE_SUB",
    [CONN_O_NOTE_MALFORMED] = "NOTE_MALFORMED",
    [CONN_O_NOTE_OTHER] = "NOTE_OTHER",
    [CONN_O_REARM_STALE] = "REARM_STALE",
    [CONN_O_DROP] = "DROP",
    [CONN_O_DROP_CLOSED] = "DROP_CLOSED",
    [CONN_O_DROP_FORCED] = "DROP_FORCED",
    [CONN_O_DROP_LONG] = "DROP_LONG",
    [CONN_O_FAIL_AUTH] = "FAIL_AUTH",
    [CONN_O_CLOSE] = "CLOSE",
    [CONN_O_CLOSED] = "CLOSED",
    [CONN_O_ABORT] = "ABORT",
    [CONN_O_CANCEL] = "CANCEL",
    [CONN_O_REFUSED_AUTH] = "REFUSED_AUTH",
    [CONN_O_REFUSED_RATE] = "REFUSED_RATE",
    [CONN_O_DROP_SUB_TIMEOUT] = "DROP_SUB_TIMEOUT",
    [CONN_O_SUB_PROGRESS] = "SUB_PROGRESS",
    [CONN_O_PROBE] = "PROBE",
    [CONN_O_DROP_NO_PONG] = "DROP_NO_PONG",
    [CONN_O_PONG] = "PONG",
    [CONN_O_REARM_PROBE] = "REARM_PROBE",
};

/* Short names for the table only. */
#define R FSM_R
#define U FSM_U
#define C1 FSM_C1
#define C2 FSM_C2
#define C4 FSM_C4
#define S(x) CONN_S_##x
#define O(x) CONN_O_##x
#define QUIET CONN_G_QUIET
#define UNANSWERED CONN_G_UNANSWERED
#define IDLE_ CONN_G_IDLE

/* A socket event in a state with no socket: cannot happen (U), no-op. */
#define NOSOCK(s) C1(U, S(s), O(NONE))

/* A pong with no ping out: pings are sent only while streaming, and a
 * socket the core asked to close delivers nothing more (U), no-op. */
#define NOPING(s) C1(U, S(s), O(NONE))

/* A refused upgrade outside CONNECTING: the shell reports a handshake's
 * status only for a socket still connecting that the core has not asked
 * to close (docs/replay-contract.md), so it cannot happen (U), no-op. */
#define REFUSED(s) C1(U, S(s), O(NONE))

/* delta/lambda. Read a row as: in state s, input i -> (guard) next/output.
 * Frames on an open socket can be anything the server sends, so every
 * frame input is reachable wherever a socket is open. */
static const struct fsm_cell conn_cells[CONN_S__COUNT][CONN_I__COUNT] = {
    [CONN_S_IDLE] = {
        [CONN_I_START] = C1(R, S(CONNECTING), O(OPEN)),
        [CONN_I_STOP] = C1(R, S(STOPPED), O(CANCEL)),
        [CONN_I_RESET] = C1(R, S(IDLE), O(NONE)),
        [CONN_I_WS_OPEN] = NOSOCK(IDLE),
        [CONN_I_WS_CLOSED] = NOSOCK(IDLE),
        [CONN_I_WELCOME] = NOSOCK(IDLE),
        [CONN_I_SUB_OK] = NOSOCK(IDLE),
        [CONN_I_LOAD_COMPLETE] = NOSOCK(IDLE),
        [CONN_I_DATA] = NOSOCK(IDLE),
        [CONN_I_HEARTBEAT] = NOSOCK(IDLE),
        [CONN_I_SUB_REJECTED] = NOSOCK(IDLE),
        [CONN_I_UNAUTHORIZED] = NOSOCK(IDLE),
        [CONN_I_TOO_MANY_SOCKETS] = NOSOCK(IDLE),
        [CONN_I_FORCE_DISCONNECT] = NOSOCK(IDLE),
        [CONN_I_MALFORMED] = NOSOCK(IDLE),
        [CONN_I_OTHER] = NOSOCK(IDLE),
        [CONN_I_T_HANDSHAKE] = C1(U, S(IDLE), O(NONE)),
        [CONN_I_T_STALE] = C1(U, S(IDLE), O(NONE)),
        [CONN_I_T_BACKOFF] = C1(U, S(IDLE), O(NONE)),
        [CONN_I_T_CLOSE] = C1(U, S(IDLE), O(NONE)),
        [CONN_I_WS_REFUSED_AUTH] = REFUSED(IDLE),
        [CONN_I_WS_REFUSED_RATE] = REFUSED(IDLE),
        [CONN_I_T_SUBSCRIBE] = C1(U, S(IDLE), O(NONE)),
        [CONN_I_PONG] = NOSOCK(IDLE),
    },
    [CONN_S_CONNECTING] = {
        [CONN_I_START] = C1(R, S(CONNECTING), O(NONE)),
        [CONN_I_STOP] = C1(R, S(CLOSING), O(CLOSE)),
        [CONN_I_RESET] = C1(R, S(CONNECTING), O(NONE)),
        [CONN_I_WS_OPEN] = C1(R, S(WAIT_WELCOME), O(NONE)),
        [CONN_I_WS_CLOSED] = C1(R, S(BACKOFF), O(DROP_CLOSED)),
        [CONN_I_WELCOME] = NOSOCK(CONNECTING),
        [CONN_I_SUB_OK] = NOSOCK(CONNECTING),
        [CONN_I_LOAD_COMPLETE] = NOSOCK(CONNECTING),
        [CONN_I_DATA] = NOSOCK(CONNECTING),
        [CONN_I_HEARTBEAT] = NOSOCK(CONNECTING),
        [CONN_I_SUB_REJECTED] = NOSOCK(CONNECTING),
        [CONN_I_UNAUTHORIZED] = NOSOCK(CONNECTING),
        [CONN_I_TOO_MANY_SOCKETS] = NOSOCK(CONNECTING),
        [CONN_I_FORCE_DISCONNECT] = NOSOCK(CONNECTING),
        [CONN_I_MALFORMED] = NOSOCK(CONNECTING),
        [CONN_I_OTHER] = NOSOCK(CONNECTING),
        [CONN_I_T_HANDSHAKE] = C1(R, S(BACKOFF), O(DROP)),
        [CONN_I_T_STALE] = C1(U, S(CONNECTING), O(NONE)),
        [CONN_I_T_BACKOFF] = C1(U, S(CONNECTING), O(NONE)),
        [CONN_I_T_CLOSE] = C1(U, S(CONNECTING), O(NONE)),
        [CONN_I_WS_REFUSED_AUTH] = C1(R, S(FAILED), O(REFUSED_AUTH)),
        [CONN_I_WS_REFUSED_RATE] = C1(R, S(BACKOFF), O(REFUSED_RATE)),
        [CONN_I_T_SUBSCRIBE] = C1(U, S(CONNECTING), O(NONE)),
        [CONN_I_PONG] = NOSOCK(CONNECTING),
    },
    [CONN_S_WAIT_WELCOME] = {
        [CONN_I_START] = C1(R, S(WAIT_WELCOME), O(NONE)),
        [CONN_I_STOP] = C1(R, S(CLOSING), O(CLOSE)),
        [CONN_I_RESET] = C1(R, S(WAIT_WELCOME), O(NONE)),
        [CONN_I_WS_OPEN] = C1(U, S(WAIT_WELCOME), O(NONE)),
        [CONN_I_WS_CLOSED] = C1(R, S(BACKOFF), O(DROP_CLOSED)),
        [CONN_I_WELCOME] = C1(R, S(SUBSCRIBING), O(SUBSCRIBE)),
        [CONN_I_SUB_OK] = C1(R, S(WAIT_WELCOME), O(NOTE_OTHER)),
        [CONN_I_LOAD_COMPLETE] = C1(R, S(WAIT_WELCOME), O(NOTE_OTHER)),
        [CONN_I_DATA] = C1(R, S(WAIT_WELCOME), O(NOTE_OTHER)),
        [CONN_I_HEARTBEAT] = C1(R, S(WAIT_WELCOME), O(BEAT)),
        [CONN_I_SUB_REJECTED] = C1(R, S(WAIT_WELCOME), O(NOTE_OTHER)),
        [CONN_I_UNAUTHORIZED] = C1(R, S(FAILED), O(FAIL_AUTH)),
        [CONN_I_TOO_MANY_SOCKETS] = C1(R, S(BACKOFF), O(DROP_LONG)),
        [CONN_I_FORCE_DISCONNECT] = C1(R, S(BACKOFF), O(DROP_FORCED)),
        [CONN_I_MALFORMED] = C1(R, S(WAIT_WELCOME), O(NOTE_MALFORMED)),
        [CONN_I_OTHER] = C1(R, S(WAIT_WELCOME), O(NOTE_OTHER)),
        [CONN_I_T_HANDSHAKE] = C1(R, S(BACKOFF), O(DROP)),
        [CONN_I_T_STALE] = C1(U, S(WAIT_WELCOME), O(NONE)),
        [CONN_I_T_BACKOFF] = C1(U, S(WAIT_WELCOME), O(NONE)),
        [CONN_I_T_CLOSE] = C1(U, S(WAIT_WELCOME), O(NONE)),
        [CONN_I_WS_REFUSED_AUTH] = REFUSED(WAIT_WELCOME),
        [CONN_I_WS_REFUSED_RATE] = REFUSED(WAIT_WELCOME),
        [CONN_I_T_SUBSCRIBE] = C1(U, S(WAIT_WELCOME), O(NONE)),
        [CONN_I_PONG] = NOPING(WAIT_WELCOME),
    },
    [CONN_S_SUBSCRIBING] = {
        [CONN_I_START] = C1(R, S(SUBSCRIBING), O(NONE)),
        [CONN_I_STOP] = C1(R, S(CLOSING), O(CLOSE)),
        [CONN_I_RESET] = C1(R, S(SUBSCRIBING), O(NONE)),
        [CONN_I_WS_OPEN] = C1(U, S(SUBSCRIBING), O(NONE)),
        [CONN_I_WS_CLOSED] = C1(R, S(BACKOFF), O(DROP_CLOSED)),
        [CONN_I_WELCOME] = C1(R, S(SUBSCRIBING), O(NOTE_OTHER)),
        [CONN_I_SUB_OK] = C1(R, S(SUBSCRIBING), O(SUB_PROGRESS)),
        [CONN_I_LOAD_COMPLETE] = C1(R, S(STREAMING), O(LIVE)),
        [CONN_I_DATA] = C1(R, S(SUBSCRIBING), O(FEED)),
        [CONN_I_HEARTBEAT] = C1(R, S(SUBSCRIBING), O(BEAT)),
        [CONN_I_SUB_REJECTED] = C1(R, S(SUBSCRIBING), O(NOTE_SUB)),
        [CONN_I_UNAUTHORIZED] = C1(R, S(FAILED), O(FAIL_AUTH)),
        [CONN_I_TOO_MANY_SOCKETS] = C1(R, S(BACKOFF), O(DROP_LONG)),
        [CONN_I_FORCE_DISCONNECT] = C1(R, S(BACKOFF), O(DROP_FORCED)),
        [CONN_I_MALFORMED] = C1(R, S(SUBSCRIBING), O(NOTE_MALFORMED)),
        [CONN_I_OTHER] = C1(R, S(SUBSCRIBING), O(NOTE_OTHER)),
        [CONN_I_T_HANDSHAKE] = C1(U, S(SUBSCRIBING), O(NONE)),
        /* the subscribe timeout (30 s) ends SUBSCRIBING before the
         * stale timer (75 s) can fire; the arms stay, for a
         * configuration that gives subscribing longer */
        [CONN_I_T_STALE] = C2(U, QUIET, S(BACKOFF), O(DROP),
                              S(SUBSCRIBING), O(REARM_STALE)),
        [CONN_I_T_BACKOFF] = C1(U, S(SUBSCRIBING), O(NONE)),
        [CONN_I_T_CLOSE] = C1(U, S(SUBSCRIBING), O(NONE)),
        [CONN_I_WS_REFUSED_AUTH] = REFUSED(SUBSCRIBING),
        [CONN_I_WS_REFUSED_RATE] = REFUSED(SUBSCRIBING),
        [CONN_I_T_SUBSCRIBE] = C1(R, S(BACKOFF), O(DROP_SUB_TIMEOUT)),
        [CONN_I_PONG] = NOPING(SUBSCRIBING),
    },
    [CONN_S_STREAMING] = {
        [CONN_I_START] = C1(R, S(STREAMING), O(NONE)),
        [CONN_I_STOP] = C1(R, S(CLOSING), O(CLOSE)),
        [CONN_I_RESET] = C1(R, S(STREAMING), O(NONE)),
        [CONN_I_WS_OPEN] = C1(U, S(STREAMING), O(NONE)),
        [CONN_I_WS_CLOSED] = C1(R, S(BACKOFF), O(DROP_CLOSED)),
        [CONN_I_WELCOME] = C1(R, S(STREAMING), O(NOTE_OTHER)),
        [CONN_I_SUB_OK] = C1(R, S(STREAMING), O(SUB_ACK)),
        [CONN_I_LOAD_COMPLETE] = C1(R, S(STREAMING), O(NOTE_OTHER)),
        [CONN_I_DATA] = C1(R, S(STREAMING), O(FEED)),
        [CONN_I_HEARTBEAT] = C1(R, S(STREAMING), O(BEAT)),
        [CONN_I_SUB_REJECTED] = C1(R, S(STREAMING), O(NOTE_SUB)),
        [CONN_I_UNAUTHORIZED] = C1(R, S(FAILED), O(FAIL_AUTH)),
        [CONN_I_TOO_MANY_SOCKETS] = C1(R, S(BACKOFF), O(DROP_LONG)),
        [CONN_I_FORCE_DISCONNECT] = C1(R, S(BACKOFF), O(DROP_FORCED)),
        [CONN_I_MALFORMED] = C1(R, S(STREAMING), O(NOTE_MALFORMED)),
        [CONN_I_OTHER] = C1(R, S(STREAMING), O(NOTE_OTHER)),
        [CONN_I_T_HANDSHAKE] = C1(U, S(STREAMING), O(NONE)),
        /* liveness: the server silent too long (data and heartbeats),
         * or the socket dead (a ping unanswered); asked when idle */
        [CONN_I_T_STALE] = C4(R, QUIET, S(BACKOFF), O(DROP), UNANSWERED,
                              S(BACKOFF), O(DROP_NO_PONG), IDLE_,
                              S(STREAMING), O(PROBE), S(STREAMING),
                              O(REARM_PROBE)),
        [CONN_I_T_BACKOFF] = C1(U, S(STREAMING), O(NONE)),
        [CONN_I_T_CLOSE] = C1(U, S(STREAMING), O(NONE)),
        [CONN_I_WS_REFUSED_AUTH] = REFUSED(STREAMING),
        [CONN_I_WS_REFUSED_RATE] = REFUSED(STREAMING),
        [CONN_I_T_SUBSCRIBE] = C1(U, S(STREAMING), O(NONE)),
        [CONN_I_PONG] = C1(R, S(STREAMING), O(PONG)),
    },
    [CONN_S_BACKOFF] = {
        [CONN_I_START] = C1(R, S(BACKOFF), O(NONE)),
        [CONN_I_STOP] = C1(R, S(STOPPED), O(CANCEL)),
        [CONN_I_RESET] = C1(R, S(CONNECTING), O(OPEN)),
        [CONN_I_WS_OPEN] = C1(U, S(BACKOFF), O(NONE)),
        /* the end of the socket DROP closed: expected, nothing to do */
        [CONN_I_WS_CLOSED] = C1(R, S(BACKOFF), O(NONE)),
        [CONN_I_WELCOME] = NOSOCK(BACKOFF),
        [CONN_I_SUB_OK] = NOSOCK(BACKOFF),
        [CONN_I_LOAD_COMPLETE] = NOSOCK(BACKOFF),
        [CONN_I_DATA] = NOSOCK(BACKOFF),
        [CONN_I_HEARTBEAT] = NOSOCK(BACKOFF),
        [CONN_I_SUB_REJECTED] = NOSOCK(BACKOFF),
        [CONN_I_UNAUTHORIZED] = NOSOCK(BACKOFF),
        [CONN_I_TOO_MANY_SOCKETS] = NOSOCK(BACKOFF),
        [CONN_I_FORCE_DISCONNECT] = NOSOCK(BACKOFF),
        [CONN_I_MALFORMED] = NOSOCK(BACKOFF),
        [CONN_I_OTHER] = NOSOCK(BACKOFF),
        [CONN_I_T_HANDSHAKE] = C1(U, S(BACKOFF), O(NONE)),
        [CONN_I_T_STALE] = C1(U, S(BACKOFF), O(NONE)),
        [CONN_I_T_BACKOFF] = C1(R, S(CONNECTING), O(OPEN)),
        [CONN_I_T_CLOSE] = C1(U, S(BACKOFF), O(NONE)),
        [CONN_I_WS_REFUSED_AUTH] = REFUSED(BACKOFF),
        [CONN_I_WS_REFUSED_RATE] = REFUSED(BACKOFF),
        [CONN_I_T_SUBSCRIBE] = C1(U, S(BACKOFF), O(NONE)),
        [CONN_I_PONG] = NOSOCK(BACKOFF),
    },
    [CONN_S_CLOSING] = {
        [CONN_I_START] = C1(R, S(CLOSING), O(NONE)),
        [CONN_I_STOP] = C1(R, S(CLOSING), O(NONE)),
        [CONN_I_RESET] = C1(R, S(CLOSING), O(NONE)),
        [CONN_I_WS_OPEN] = C1(U, S(CLOSING), O(NONE)),
        [CONN_I_WS_CLOSED] = C1(R, S(STOPPED), O(CLOSED)),
        [CONN_I_WELCOME] = NOSOCK(CLOSING),
        [CONN_I_SUB_OK] = NOSOCK(CLOSING),
        [CONN_I_LOAD_COMPLETE] = NOSOCK(CLOSING),
        [CONN_I_DATA] = NOSOCK(CLOSING),
        [CONN_I_HEARTBEAT] = NOSOCK(CLOSING),
        [CONN_I_SUB_REJECTED] = NOSOCK(CLOSING),
        [CONN_I_UNAUTHORIZED] = NOSOCK(CLOSING),
        [CONN_I_TOO_MANY_SOCKETS] = NOSOCK(CLOSING),
        [CONN_I_FORCE_DISCONNECT] = NOSOCK(CLOSING),
        [CONN_I_MALFORMED] = NOSOCK(CLOSING),
        [CONN_I_OTHER] = NOSOCK(CLOSING),
        [CONN_I_T_HANDSHAKE] = C1(U, S(CLOSING), O(NONE)),
        [CONN_I_T_STALE] = C1(U, S(CLOSING), O(NONE)),
        [CONN_I_T_BACKOFF] = C1(U, S(CLOSING), O(NONE)),
        [CONN_I_T_CLOSE] = C1(R, S(STOPPED), O(ABORT)),
        [CONN_I_WS_REFUSED_AUTH] = REFUSED(CLOSING),
        [CONN_I_WS_REFUSED_RATE] = REFUSED(CLOSING),
        [CONN_I_T_SUBSCRIBE] = C1(U, S(CLOSING), O(NONE)),
        [CONN_I_PONG] = NOPING(CLOSING),
    },
    [CONN_S_STOPPED] = {
        [CONN_I_START] = C1(R, S(STOPPED), O(NONE)),
        [CONN_I_STOP] = C1(R, S(STOPPED), O(NONE)),
        [CONN_I_RESET] = C1(R, S(STOPPED), O(NONE)),
        [CONN_I_WS_OPEN] = C1(U, S(STOPPED), O(NONE)),
        /* the end of a socket ABORT gave up on: nothing to do */
        [CONN_I_WS_CLOSED] = C1(R, S(STOPPED), O(NONE)),
        [CONN_I_WELCOME] = NOSOCK(STOPPED),
        [CONN_I_SUB_OK] = NOSOCK(STOPPED),
        [CONN_I_LOAD_COMPLETE] = NOSOCK(STOPPED),
        [CONN_I_DATA] = NOSOCK(STOPPED),
        [CONN_I_HEARTBEAT] = NOSOCK(STOPPED),
        [CONN_I_SUB_REJECTED] = NOSOCK(STOPPED),
        [CONN_I_UNAUTHORIZED] = NOSOCK(STOPPED),
        [CONN_I_TOO_MANY_SOCKETS] = NOSOCK(STOPPED),
        [CONN_I_FORCE_DISCONNECT] = NOSOCK(STOPPED),
        [CONN_I_MALFORMED] = NOSOCK(STOPPED),
        [CONN_I_OTHER] = NOSOCK(STOPPED),
        [CONN_I_T_HANDSHAKE] = C1(U, S(STOPPED), O(NONE)),
        [CONN_I_T_STALE] = C1(U, S(STOPPED), O(NONE)),
        [CONN_I_T_BACKOFF] = C1(U, S(STOPPED), O(NONE)),
        [CONN_I_T_CLOSE] = C1(U, S(STOPPED), O(NONE)),
        [CONN_I_WS_REFUSED_AUTH] = REFUSED(STOPPED),
        [CONN_I_WS_REFUSED_RATE] = REFUSED(STOPPED),
        [CONN_I_T_SUBSCRIBE] = C1(U, S(STOPPED), O(NONE)),
        [CONN_I_PONG] = NOSOCK(STOPPED),
    },
    [CONN_S_FAILED] = {
        [CONN_I_START] = C1(R, S(FAILED), O(NONE)),
        [CONN_I_STOP] = C1(R, S(STOPPED), O(CANCEL)),
        [CONN_I_RESET] = C1(R, S(CONNECTING), O(OPEN)),
        [CONN_I_WS_OPEN] = C1(U, S(FAILED), O(NONE)),
        [CONN_I_WS_CLOSED] = C1(R, S(FAILED), O(NONE)),
        [CONN_I_WELCOME] = NOSOCK(FAILED),
        [CONN_I_SUB_OK] = NOSOCK(FAILED),
        [CONN_I_LOAD_COMPLETE] = NOSOCK(FAILED),
        [CONN_I_DATA] = NOSOCK(FAILED),
        [CONN_I_HEARTBEAT] = NOSOCK(FAILED),
        [CONN_I_SUB_REJECTED] = NOSOCK(FAILED),
        [CONN_I_UNAUTHORIZED] = NOSOCK(FAILED),
        [CONN_I_TOO_MANY_SOCKETS] = NOSOCK(FAILED),
        [CONN_I_FORCE_DISCONNECT] = NOSOCK(FAILED),
        [CONN_I_MALFORMED] = NOSOCK(FAILED),
        [CONN_I_OTHER] = NOSOCK(FAILED),
        [CONN_I_T_HANDSHAKE] = C1(U, S(FAILED), O(NONE)),
        [CONN_I_T_STALE] = C1(U, S(FAILED), O(NONE)),
        [CONN_I_T_BACKOFF] = C1(U, S(FAILED), O(NONE)),
        [CONN_I_T_CLOSE] = C1(U, S(FAILED), O(NONE)),
        [CONN_I_WS_REFUSED_AUTH] = REFUSED(FAILED),
        [CONN_I_WS_REFUSED_RATE] = REFUSED(FAILED),
        [CONN_I_T_SUBSCRIBE] = C1(U, S(FAILED), O(NONE)),
        [CONN_I_PONG] = NOSOCK(FAILED),
    },
};

const struct fsm_def conn_def = {
    .name = "conn",
    .machine = MD_M_CONN,
    .nstates = CONN_S__COUNT,
    .ninputs = CONN_I__COUNT,
    .nguards = CONN_G__COUNT,
    .noutputs = CONN_O__COUNT,
    .state_names = state_names,
    .input_names = input_names,
    .guard_names = guard_names,
    .output_names = output_names,
    .cells = &conn_cells[0][0],
    .q0 = CONN_S_IDLE,
    .final_mask = (1u << CONN_S_STOPPED) | (1u << CONN_S_FAILED),
};

void conn_config_default(struct conn_config *cfg)
{
    cfg->handshake_timeout_ns = 15 * MD_NS_PER_S;
    cfg->stale_timeout_ns = 75 * MD_NS_PER_S;
    cfg->backoff_min_ns = 5 * MD_NS_PER_S;
    cfg->backoff_max_ns = 60 * MD_NS_PER_S;
    cfg->backoff_long_ns = 300 * MD_NS_PER_S;
    cfg->close_timeout_ns = 5 * MD_NS_PER_S;
    cfg->subscribe_timeout_ns = 30 * MD_NS_PER_S;
    cfg->probe_after_ns = 30 * MD_NS_PER_S;
    cfg->pong_timeout_ns = 10 * MD_NS_PER_S;
}

void conn_init(struct conn *m, const struct conn_config *cfg,
               struct md_prng *rng)
{
    memset(m, 0, sizeof *m);
    m->def = &conn_def;
    m->state = CONN_S_IDLE;
    m->cfg = *cfg;
    m->rng = rng;
}

mono_ns conn_alive(const struct conn *m)
{
    return m->last_pong > m->last_activity ? m->last_pong : m->last_activity;
}

/* A ping of this socket is out: sent, and nothing received since. */
static int ping_out(const struct conn *m)
{
    return m->ping_t != 0 && conn_alive(m) < m->ping_t;
}

/* The next liveness deadline while streaming: the stale timeout, and
 * the pong timeout of the ping out or else the next probe. */
static mono_ns next_liveness(const struct conn *m)
{
    mono_ns stale = m->last_activity + m->cfg.stale_timeout_ns;
    mono_ns probe = ping_out(m) ? m->ping_t + m->cfg.pong_timeout_ns
                                : conn_alive(m) + m->cfg.probe_after_ns;

    return probe < stale ? probe : stale;
}

uint32_t conn_guards(const struct conn *m, const struct conn_in *in)
{
    uint32_t g = 0;

    mono_ns alive = conn_alive(m);

    if (in->t_ns - m->last_activity >= m->cfg.stale_timeout_ns) {
        g |= 1u << CONN_G_QUIET;
    }
    if (ping_out(m)) {
        if (in->t_ns - m->ping_t >= m->cfg.pong_timeout_ns) {
            g |= 1u << CONN_G_UNANSWERED;
        }
    } else if (in->t_ns - alive >= m->cfg.probe_after_ns) {
        g |= 1u << CONN_G_IDLE;
    }
    return g;
}

/* Timer inputs: the timer each one reports. */
static const uint8_t input_timer[CONN_I__COUNT] = {
    [CONN_I_T_HANDSHAKE] = MD_T_CONN_HANDSHAKE,
    [CONN_I_T_STALE] = MD_T_CONN_STALE,
    [CONN_I_T_BACKOFF] = MD_T_CONN_BACKOFF,
    [CONN_I_T_CLOSE] = MD_T_CONN_CLOSE,
    [CONN_I_T_SUBSCRIBE] = MD_T_CONN_SUBSCRIBE,
};

/* The live connection is lost: a gap opens from the last activity (once:
 * a gap already open stays open from its start). */
static void lose_live(struct conn *m, mono_ns t, struct md_out *o)
{
    if (m->was_live && !m->gap_open) {
        m->gap_open = 1;
        m->gap_start = m->last_activity;
        fsm__note(o, t, MD_N_GAP_OPEN, (uint64_t)m->gap_start);
        fsm__act(o, t, MD_A_GAP_OPEN, (uint64_t)m->gap_start);
    }
    m->was_live = 0;
}

/* Leave a connection: timers off, socket closed (unless it already ended:
 * close_socket 0), a gap opened if it had been live, and the back-off
 * armed. */
static void drop(struct conn *m, mono_ns t, struct md_out *o,
                 int close_socket, int long_backoff)
{
    mono_ns delay;

    fsm__cancel(o, &m->timers, t, MD_T_CONN_HANDSHAKE);
    fsm__cancel(o, &m->timers, t, MD_T_CONN_STALE);
    fsm__cancel(o, &m->timers, t, MD_T_CONN_SUBSCRIBE);
    if (close_socket) {
        fsm__act(o, t, MD_A_WS_CLOSE, m->conn_id); /* code 1000 */
    }
    fsm__note(o, t, MD_N_CONN_LOST, m->conn_id);
    lose_live(m, t, o);
    if (long_backoff) {
        /* [long, 1.5 long]: jittered like every other back-off */
        delay = md_backoff_ns(m->rng, 0, m->cfg.backoff_long_ns,
                              m->cfg.backoff_long_ns);
    } else {
        delay = md_backoff_ns(m->rng, m->attempt, m->cfg.backoff_min_ns,
                              m->cfg.backoff_max_ns);
    }
    m->attempt++;
    m->st.drops++;
    fsm__arm(o, &m->timers, t, MD_T_CONN_BACKOFF, t + delay);
}

/* The effects of output o. They depend on the output and the extended
 * state, never on which input selected the output. */
static void effect(struct conn *m, enum conn_output o, const struct conn_in *in,
                   struct md_out *out)
{
    mono_ns t = in->t_ns;

    switch (o) {
    case CONN_O_INVALID:
    case CONN_O__COUNT:
    case CONN_O_NONE:
        break;
    case CONN_O_OPEN:
        fsm__cancel(out, &m->timers, t, MD_T_CONN_BACKOFF);
        m->conn_id++;
        m->st.connects++;
        fsm__act(out, t, MD_A_WS_OPEN, m->conn_id);
        fsm__arm(out, &m->timers, t, MD_T_CONN_HANDSHAKE,
                 t + m->cfg.handshake_timeout_ns);
        break;
    case CONN_O_SUBSCRIBE:
        fsm__cancel(out, &m->timers, t, MD_T_CONN_HANDSHAKE);
        fsm__act(out, t, MD_A_WS_SUBSCRIBE, m->conn_id);
        m->last_activity = t; /* after any ping: none is out */
        fsm__arm(out, &m->timers, t, MD_T_CONN_STALE,
                 t + m->cfg.stale_timeout_ns);
        fsm__arm(out, &m->timers, t, MD_T_CONN_SUBSCRIBE,
                 t + m->cfg.subscribe_timeout_ns);
        break;
    case CONN_O_SUB_ACK:
        m->st.subs_ok++;
        m->last_activity = t;
        break;
    case CONN_O_LIVE:
        fsm__cancel(out, &m->timers, t, MD_T_CONN_SUBSCRIBE);
        m->attempt = 0;
        m->was_live = 1;
        m->last_activity = t;
        fsm__arm(out, &m->timers, t, MD_T_CONN_STALE, next_liveness(m));
        if (m->gap_open) {
            m->gap_open = 0;
            fsm__note(out, t, MD_N_GAP_CLOSED, (uint64_t)m->gap_start);
            fsm__act(out, t, MD_A_GAP_CLOSED, (uint64_t)m->gap_start);
        }
        break;
    case CONN_O_FEED:
        m->st.frames++;
        m->last_activity = t;
        break;
    case CONN_O_BEAT:
        m->last_activity = t;
        break;
    case CONN_O_NOTE_SUB:
        m->st.subs_rejected++;
        fsm__note(out, t, MD_N_SUB_REJECTED, m->conn_id);
        break;
    case CONN_O_NOTE_MALFORMED:
        m->st.malformed++;
        fsm__note(out, t, MD_N_MALFORMED_FRAME, m->conn_id);
        break;
    case CONN_O_NOTE_OTHER:
        m->st.other++;
        fsm__note(out, t, MD_N_OTHER_FRAME, m->conn_id);
        break;
    case CONN_O_PROBE:
        m->ping_t = t;
        m->st.pings++;
        fsm__act(out, t, MD_A_WS_PING, m->conn_id);
        fsm__arm(out, &m->timers, t, MD_T_CONN_STALE, next_liveness(m));
        break;
    case CONN_O_DROP_NO_PONG:
        m->st.ping_timeouts++;
        fsm__note(out, t, MD_N_PING_TIMEOUT, m->conn_id);
        drop(m, t, out, 1, 0);
        break;
    case CONN_O_PONG:
        m->st.pongs++;
        m->last_pong = t;
        break;
    case CONN_O_REARM_PROBE:
        fsm__arm(out, &m->timers, t, MD_T_CONN_STALE, next_liveness(m));
        break;
    case CONN_O_REARM_STALE:
        fsm__arm(out, &m->timers, t, MD_T_CONN_STALE,
                 m->last_activity + m->cfg.stale_timeout_ns);
        break;
    case CONN_O_DROP:
        drop(m, t, out, 1, 0);
        break;
    case CONN_O_DROP_CLOSED:
        drop(m, t, out, 0, 0);
        break;
    case CONN_O_DROP_FORCED:
        fsm__note(out, t, MD_N_FORCE_DISCONNECT, m->conn_id);
        drop(m, t, out, 1, 0);
        break;
    case CONN_O_DROP_LONG:
        fsm__note(out, t, MD_N_TOO_MANY_SOCKETS, m->conn_id);
        drop(m, t, out, 1, 1);
        break;
    case CONN_O_FAIL_AUTH:
        fsm__cancel(out, &m->timers, t, MD_T_CONN_HANDSHAKE);
        fsm__cancel(out, &m->timers, t, MD_T_CONN_STALE);
        fsm__cancel(out, &m->timers, t, MD_T_CONN_SUBSCRIBE);
        fsm__act(out, t, MD_A_WS_CLOSE, m->conn_id); /* code 1000 */
        fsm__note(out, t, MD_N_AUTH_FAILED, m->conn_id);
        lose_live(m, t, out);
        break;
    case CONN_O_CLOSE:
        fsm__cancel(out, &m->timers, t, MD_T_CONN_HANDSHAKE);
        fsm__cancel(out, &m->timers, t, MD_T_CONN_STALE);
        fsm__cancel(out, &m->timers, t, MD_T_CONN_SUBSCRIBE);
        fsm__act(out, t, MD_A_WS_CLOSE, m->conn_id); /* code 1000 */
        fsm__arm(out, &m->timers, t, MD_T_CONN_CLOSE,
                 t + m->cfg.close_timeout_ns);
        break;
    case CONN_O_CLOSED:
        fsm__cancel(out, &m->timers, t, MD_T_CONN_CLOSE);
        break;
    case CONN_O_ABORT:
        fsm__note(out, t, MD_N_CONN_LOST, m->conn_id);
        break;
    case CONN_O_CANCEL:
        fsm__cancel(out, &m->timers, t, MD_T_CONN_BACKOFF);
        break;
    case CONN_O_REFUSED_AUTH:
        fsm__cancel(out, &m->timers, t, MD_T_CONN_HANDSHAKE);
        fsm__note(out, t, MD_N_AUTH_FAILED, m->conn_id);
        break;
    case CONN_O_REFUSED_RATE:
        fsm__note(out, t, MD_N_TOO_MANY_SOCKETS, m->conn_id);
        drop(m, t, out, 0, 1);
        break;
    case CONN_O_DROP_SUB_TIMEOUT:
        fsm__note(out, t, MD_N_SUBSCRIBE_TIMEOUT, m->conn_id);
        drop(m, t, out, 1, 0);
        break;
    case CONN_O_SUB_PROGRESS:
        m->st.subs_ok++;
        m->last_activity = t;
        fsm__arm(out, &m->timers, t, MD_T_CONN_SUBSCRIBE,
                 t + m->cfg.subscribe_timeout_ns);
        break;
    }
}

int conn_check(const struct conn *m, char *why, size_t why_size)
{
    const struct fsm_def *d = &conn_def;
    uint32_t want = 0;

    switch ((enum conn_state)m->state) {
    case CONN_S_IDLE:
        if (m->conn_id != 0 || m->attempt != 0) {
            return fsm__broken(why, why_size, d, m->state,
                               "a socket was opened");
        }
        break;
    case CONN_S_CONNECTING:
    case CONN_S_WAIT_WELCOME:
        want = 1u << MD_T_CONN_HANDSHAKE;
        break;
    case CONN_S_SUBSCRIBING:
        want = (1u << MD_T_CONN_STALE) | (1u << MD_T_CONN_SUBSCRIBE);
        break;
    case CONN_S_STREAMING:
        want = 1u << MD_T_CONN_STALE;
        if (!m->was_live) {
            return fsm__broken(why, why_size, d, m->state, "not live");
        }
        break;
    case CONN_S_BACKOFF:
        want = 1u << MD_T_CONN_BACKOFF;
        if (m->was_live) {
            return fsm__broken(why, why_size, d, m->state, "still live");
        }
        break;
    case CONN_S_CLOSING:
        want = 1u << MD_T_CONN_CLOSE;
        break;
    case CONN_S_STOPPED:
    case CONN_S_FAILED:
        break;
    case CONN_S_INVALID:
    case CONN_S__COUNT:
    default:
        return fsm__broken(why, why_size, d, m->state, "no such state");
    }
    if (m->timers != want) {
        return fsm__broken(why, why_size, d, m->state,
                           "armed timers differ from the state's");
    }
    if (m->conn_id != m->st.connects) {
        return fsm__broken(why, why_size, d, m->state,
                           "conn_id differs from the sockets opened");
    }
    if (m->conn_id == 0 && m->state != CONN_S_IDLE &&
        m->state != CONN_S_STOPPED) {
        return fsm__broken(why, why_size, d, m->state, "no socket opened");
    }
    if (m->gap_open && m->was_live) {
        return fsm__broken(why, why_size, d, m->state,
                           "a gap is open while live");
    }
    if (why_size > 0) {
        why[0] = '\0';
    }
    return MD_OK;
}

int conn_step(struct conn *m, const struct conn_in *in, struct md_out *out)
{
    const struct fsm_arm *arm;
    int rc;

    rc = fsm__begin(m->def, m->state, in->input, conn_guards(m, in), m->trace,
                    in->t_ns, CONN_MAX_ACTIONS, out, &m->st.unreachable,
                    &arm);
    if (rc != MD_OK) {
        return rc;
    }
    fsm__fired(&m->timers, (enum md_timer)input_timer[in->input]);
    effect(m, (enum conn_output)arm->out, in, out);
    m->out = arm->out;
    m->state = arm->next;
    return FSM_CHECKED(conn_check(m, NULL, 0));
}
