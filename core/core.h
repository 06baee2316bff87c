/* core.h: the producer's core: the composition of the connection, REST and
 * publisher machines, driven one input at a time.
 *
 * core_step routes one input to the machine it belongs to and feeds the
 * machines' internal outputs to one another (pub START_FETCH -> rest FETCH;
 * rest FETCH_DONE/FETCH_FAILED -> pub DATA_READY/FETCH_FAILURE; a closed
 * reconnect gap -> pub FETCH_DATA for backfill), all within the same step.
 * Everything the shells must do comes out as actions in `out`, in order.
 * Pure: no I/O, no allocation, no clock. See docs/ARCHITECTURE.md. */
#ifndef CORE_H
#define CORE_H

#include "fsm_conn.h"
#include "fsm_pub.h"
#include "fsm_rest.h"
#include "md_prng.h"
#include "md_types.h"

struct core_config {
    uint64_t seed; /* PRNG seed for jitter; recorded in every capture */
    int trace;     /* emit MD_A_TRACE for every transition */
    struct conn_config conn;
    struct rest_config rest;
    struct pub_config pub;
};

/* What arrives from outside. */
enum core_in_kind {
    CORE_IN_INVALID = 0,
    CORE_IN_START,    /* operator: start everything */
    CORE_IN_STOP,     /* operator or signal: stop everything */
    CORE_IN_RESET,    /* operator: reconnect now / leave errors */
    CORE_IN_CONN,     /* a socket event or classified frame: conn input */
    CORE_IN_REST,     /* a REST outcome: rest input */
    CORE_IN_PUB,      /* a delivery report, Admin result, or bars: pub input */
    CORE_IN_TIMER,    /* timer firing, stamped with its deadline */
    CORE_IN__COUNT
};

struct core_in {
    uint8_t kind;   /* enum core_in_kind */
    uint8_t input;  /* machine input symbol for CONN/REST/PUB */
    uint8_t timer;  /* enum md_timer for TIMER */
    mono_ns t_ns;   /* when the shell received it (deadline for TIMER) */
    uint32_t conn_id;       /* CONN: the socket it came from */
    int64_t server_ms;      /* CONN: SERVER_TIME_MS / TIMEMS, or 0 */
    mono_ns retry_after_ns; /* REST: server-requested wait, or 0 */
    uint64_t n;             /* PUB: bars (DATA_READY); REST: bars made */
};

struct core {
    struct md_prng rng;
    struct conn conn;
    struct rest rest;
    struct pub pub;
    uint64_t stale_socket_events; /* events of a replaced socket, dropped */
    uint64_t steps;
};

/* Room a core_step needs in out; less gives MD_E_FULL. */
#define CORE_MAX_ACTIONS 48

/* The machines' tables, indexed by enum md_machine (index 0 is NULL). */
extern const struct fsm_def *const core_defs[MD_M__COUNT];

/* Defaults for every machine; seed 0. */
void core_config_default(struct core_config *cfg);

/* Every machine in q0. Cannot fail. */
void core_init(struct core *c, const struct core_config *cfg);

/* One input. MD_OK; MD_E_FULL if out has less than CORE_MAX_ACTIONS room
 * (nothing changed); MD_E_INVAL for a malformed input (nothing changed);
 * MD_E_STATE if a table lacks an arm (a bug: tables are validated). */
int core_step(struct core *c, const struct core_in *in, struct md_out *out);

/* Map a timer to the machine and input it fires; 0 if none. */
int core_timer_target(enum md_timer timer, enum md_machine *machine,
                      uint8_t *input);

#endif /* CORE_H */
