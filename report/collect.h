/* collect.h: what the session report needs from a replay, gathered by an
 * observer of every core step (loop.h): frames per TYPE over time,
 * silences and heartbeat gaps, the connections and how each ended, the
 * REST calls with outcome and latency, the rate-limit budget the server
 * told, every change of a machine's state with its input, the notes, and
 * the reconnect gaps. Time is the session's: ns since the capture's first
 * event. Charts over time keep RC_BUCKETS buckets whose width doubles as
 * the session grows (thinned for display: a week-long capture costs what
 * a minute does); the lists (connections, calls, changes) are kept whole
 * up to RC_LIST_MAX entries each and counted beyond. Shell code. */
#ifndef REPORT_COLLECT_H
#define REPORT_COLLECT_H

#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

#define RC_BUCKETS 600
#define RC_LIST_MAX 100000
#define RC_SILENCE_NS INT64_C(5000000000) /* a silence drawn whole */

/* The frame TYPEs charted one by one (docs/report.md); the rest count as
 * "other". */
enum rc_type {
    RC_T_TRADE = 0, /* 0 */
    RC_T_TICKER,    /* 2 */
    RC_T_LOAD,      /* 3 LOADCOMPLETE */
    RC_T_AGG,       /* 5 CCCAGG */
    RC_T_SUB,       /* 16, 17, 18: subscription replies */
    RC_T_WELCOME,   /* 20 */
    RC_T_OHLC,      /* 24 */
    RC_T_ERROR,     /* 401, 429, 500 */
    RC_T_HEARTBEAT, /* 999 */
    RC_T_OTHER,     /* anything else, undecodable included */
    RC_T__COUNT
};

const char *rc_type_name(int t);

struct rc_conn {
    uint64_t sock;
    int64_t t_open;   /* the core asked for it */
    int64_t t_up;     /* the handshake completed; -1: never */
    int64_t t_end;    /* closed or refused; -1: still open at the end */
    int close_code;   /* 1000, 1006, ...; 0 none */
    int http_status;  /* the refused handshake's status, else 0 */
    uint64_t frames;
    const char *why;  /* what ended it, as the core saw it (a note or a
                         timer), or NULL */
};

struct rc_call {
    uint64_t id;
    int64_t t_send, t_done; /* t_done -1: never answered */
    int status;             /* HTTP status; 0 transport error */
    int purpose;            /* enum rp_purpose */
    uint64_t bytes;
    const char *outcome;    /* the REST machine's input: RESP_OK, ...;
                               "cancelled", "timeout", NULL (open) */
    char target[160];       /* path and query, cut */
};

struct rc_change {
    int64_t t;
    uint8_t machine, from, to, input;
};

struct rc_budget_pt {
    int64_t t;
    uint8_t window;  /* CC_P_* */
    int64_t left, max;
};

#define RC_M_STALE 200 /* a mark: the stale timer fired */

struct rc_mark {
    int64_t t;
    int note;        /* enum md_note, or RC_M_STALE */
    uint64_t arg;
};

struct rc_gap {
    int64_t from, to; /* to -1: open at the end */
};

struct rc_session {
    int64_t t_end;                /* the last input's time */
    int64_t width;                /* of one bucket, ns */
    unsigned nb;                  /* buckets in use */
    uint64_t frames[RC_T__COUNT][RC_BUCKETS];
    uint64_t type_total[RC_T__COUNT];
    int64_t silence[RC_BUCKETS];  /* longest time without a frame on the
                                     socket, ending in the bucket */
    int64_t hb_gap[RC_BUCKETS];   /* longest time between heartbeats */
    uint64_t rest_sent[RC_BUCKETS];
    /* lag of trades: receipt (the session's wall clock) minus the trade's
     * own time (TS, TSNS), per bucket */
    int64_t lag_max[RC_BUCKETS];
    int64_t lag_sum_ms[RC_BUCKETS];
    uint64_t lag_n[RC_BUCKETS];
    int64_t wall0_ns;             /* the session's start, unix ns: set by
                                     the caller (0: no lag measured) */
    int64_t stale_ns, probe_ns;   /* the thresholds configured */
    /* lists */
    struct rc_conn *conn;
    size_t n_conn, cap_conn;
    struct rc_call *call;
    size_t n_call, cap_call;
    struct rc_change *chg;
    size_t n_chg, cap_chg;
    struct rc_budget_pt *bud;
    size_t n_bud, cap_bud;
    struct rc_mark *mark;
    size_t n_mark, cap_mark;
    struct rc_gap *gap;
    size_t n_gap, cap_gap;
    struct rc_gap *sil;           /* silences of RC_SILENCE_NS or more */
    size_t n_sil, cap_sil;
    uint64_t lost;                /* entries beyond RC_LIST_MAX */
    uint64_t notes[64];           /* by enum md_note */
    uint64_t stale;               /* stale detections (the liveness
                                     timer closing a connection) */
    bool budget_known;            /* the server told a limit */
    int64_t budget_last[5];       /* last left per window, for changes */
    unsigned budget_seen;         /* bit p: window p sampled */
    /* the socket being read */
    uint64_t cur_sock;
    int64_t last_frame, last_hb;
    bool have_sock;
    int rc;                       /* MD_E_NOMEM if a list could not grow */
};

/* The observer for rpl_opts.observer; s zeroed by rc_init. */
void rc_init(struct rc_session *s);
void rc_free(struct rc_session *s);
/* Fill o to observe into s; returns o. */
const struct loop_observer *rc_observer(struct rc_session *s,
                                        struct loop_observer *o);

/* The bucket of session time t; its start is b * s->width. */
unsigned rc_bucket(const struct rc_session *s, int64_t t);

#endif /* REPORT_COLLECT_H */
