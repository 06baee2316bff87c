/* live.h: the live driver of the shared executor (loop.h): one libuv loop
 * on one thread, the real monotonic clock, the shells' sockets, and the
 * passes that feed the core. Callbacks of the shells (libwebsockets,
 * libcurl, the publisher) only queue core inputs (live_push); after each
 * poll of the loop, one pass reads the clock once, fires every timer due
 * (stamped with its deadline), then steps the core with each queued
 * input, stamped with the pass's time, in the order they came. A
 * recording (capture/store.h) gets every input before it is stepped and
 * the core's actions after, as replay --record writes them, so that
 * `ccstream replay` of it in strict mode does exactly what the live run
 * did (docs/replay-contract.md). Shell code. */
#ifndef LIVE_H
#define LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "core.h"
#include "loop.h"
#include "store.h"

struct live;
struct live_ws;   /* ws.c */
struct watch;     /* live.c: the driver's watched descriptors */
struct live_http; /* http.c */

struct live_q {
    mono_ns got;      /* when the shell queued it (receipt) */
    bool dropped;     /* withdrawn before its step (its request cancelled,
                         its socket closed by the core): never recorded */
    struct core_in in;
    char *data;       /* owned copy of in.data */
    char *meta;       /* what the recording says besides (owned), or NULL */
};

/* The publisher live runs with (live/pub.c: the outbox and the broker);
 * without one, capture's: every bar acknowledged and every topic made at
 * the next pass. */
struct live_publisher {
    void *ctx;
    const struct loop_kafka_ops *kafka; /* the core's publisher actions */
    /* bars the core closed in a step (the sink), before its produce */
    void (*closed)(void *ctx, mono_ns t, const struct md_bar *const *bars,
                   size_t n);
    /* after each pass's steps: commit, answer the core, send */
    void (*pass_end)(void *ctx, mono_ns t);
};

struct live_opts {
    const char *ws_url;    /* wss://streamer.cryptocompare.com/v2 */
    const char *rest_url;  /* https://min-api.cryptocompare.com */
    const char *api_key;   /* sent in headers only; NULL: none */
    const char *ca_file;   /* extra CA bundle, or NULL (system store) */
    bool insecure;         /* TLS without verification (said loudly) */
    size_t max_message;    /* cap on one WebSocket message (bytes) */
    int64_t duration_ns;   /* stop after this long (0: at a signal) */
    bool status;           /* a one-line status on stderr */
    FILE *bars;            /* bars as JSON lines, or NULL */
    FILE *trace;           /* the trace, or NULL */
    const char *name;      /* the command, for the status line */
    /* the status line: called instead of the default every second
     * (status on) */
    void (*status_fn)(void *ctx, struct live *lv);
    void *status_ctx;
    int64_t status_every_ms; /* 0: 1000 */
};

struct live {
    uv_loop_t uv;
    uv_check_t pass;       /* a pass after each poll */
    uv_idle_t kick;        /* active while inputs wait: no blocking poll */
    uv_async_t wake;       /* the driver's wake, from any thread */
    struct watch *watches; /* descriptors other shells asked to watch */
    uv_timer_t timer;      /* the core's next deadline */
    uv_timer_t stop_timer; /* --duration */
    uv_timer_t status_timer;
    uv_signal_t sig[2];
    struct core *core;
    struct loop loop;
    struct loop_driver drv;
    struct live_opts o;
    struct live_ws *ws;
    struct live_http *http;
    const struct live_publisher *pub;
    struct live_q *q;
    size_t nq, capq;
    size_t q_from;           /* the pass's next entry: withdrawals reach
                                from here */
    struct store_writer *rec;
    char *last_out;          /* the last core_out written */
    size_t last_outn, last_outcap;
    int64_t wall_minus_mono; /* wall clock - monotonic, at start */
    mono_ns t0;              /* the START input's time */
    bool started, stopping, done;
    bool signalled;          /* a signal came (a second one stops now) */
    bool closing;            /* live_free: inputs are no longer taken */
    bool refused;            /* stopped because the key was refused */
    int stop_signal;
    /* counters for the status line and the summary */
    uint64_t inputs, frames, bars, revisions, http_calls;
    uint64_t by_reason[8];   /* bars by close reason (enum bar_close) */
    uint64_t backfilled;     /* bars flagged BAR_F_BACKFILLED */
    uint64_t status_frames;  /* frames at the last status line */
    /* what never reached the core, said in the summary: inputs withdrawn
     * (their request cancelled, their socket closed by the core), frames
     * of a socket the core had closed or past --max-message, binary
     * frames */
    uint64_t withdrawn, late_frames, binary_frames;
    /* receipt to step of queued inputs: a histogram of 2^k ns buckets */
    uint64_t lat[40];
    int rc;
    char err[1024];
};

/* Set up the loop, its handles and the shells around core c (initialised
 * by the caller, with cfg.trace on). rec: the recording, or NULL.
 * MD_OK, or an error with lv->err. */
int live_init(struct live *lv, struct core *c, const struct live_opts *o,
              struct store_writer *rec);

/* START, then run until the core has stopped after STOP (a signal, the
 * duration) or a fatal error. MD_OK or the first error (lv->err). */
int live_run(struct live *lv);

/* The WebSocket and REST URLs of o: parsed, and without an API key
 * parameter (a URL is shown in messages). MD_OK, or MD_E_USAGE with err.
 * live_init checks them too; this is for checking a configuration
 * without connecting. */
int live_check_urls(const struct live_opts *o, char *err, size_t errlen);

/* Publish through p (before live_run; p outlives the run). */
void live_set_publisher(struct live *lv, const struct live_publisher *p);

/* Watch fd for readability (events 1) and writability (2) on the loop:
 * cb runs on the loop's thread. MD_OK; MD_E_NOMEM; MD_E_IO. */
int live_watch(struct live *lv, int fd, int events,
               void (*cb)(void *arg, int fd, int events), void *arg);

/* Stop as at a signal (STOP to the core; the run ends once it has
 * drained). */
void live_stop(struct live *lv);

/* Close the shells and the loop. */
void live_free(struct live *lv);

/* Queue one input (its data copied; meta: the recording's, copied, or
 * NULL). Called by the shells, on the loop's thread. */
void live_push(struct live *lv, const struct core_in *in, const char *meta);

/* Withdraw the queued inputs the core must not see: HTTP answers
 * (http: a cancelled request's) or the events of socket sock except its
 * WS_CLOSED (the core closed it: nothing more of it arrives, as in
 * replay's world). */
void live_withdraw_http(struct live *lv);
void live_withdraw_socket(struct live *lv, uint32_t sock);

/* Receipt-to-step latency quantile q (0..1) of the queued inputs, ns (the
 * upper bound of its power-of-two bucket); 0 if none. */
mono_ns live_latency(const struct live *lv, double q);

/* The monotonic clock, ns. */
mono_ns live_now(void);

/* Record an event that is not a core input (a frame sent, a connection
 * opened): recorded when recording, else nothing. */
void live_record(struct live *lv, int kind, int dir, int64_t conn_id,
                 mono_ns t, int64_t status, const char *meta,
                 const void *data, size_t len);

void live_fail(struct live *lv, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* LIVE_H */
