/* loop.h: the executor shared by every shell: replay today, capture and
 * live later. It steps the core, keeps the timer table and its ordering
 * rule (docs/replay-contract.md), dispatches every action through the
 * operation table of the side that carries it out (WebSocket, HTTP,
 * Kafka, the bar and log sink), writes the action text a recording holds
 * and compares it in strict replay. What the world is (real sockets, a
 * virtual world played from a capture, fault injection wrapping either)
 * lives behind the operation tables; what time is, behind the driver.
 *
 * The executor decides nothing: the core does. Shell code: may allocate. */
#ifndef LOOP_H
#define LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* ---- the driver: time and waiting ------------------------------------- */

/* A live driver (libuv, a later issue) reads CLOCK_MONOTONIC, watches the
 * shells' file descriptors (lws, curl, the librdkafka queue's event fd)
 * and wakes the loop; the virtual driver of replay keeps a clock that the
 * capture's events move. */
struct loop_driver {
    void *ctx;
    /* the clock read once per loop pass: the t_ns of its inputs */
    mono_ns (*now)(void *ctx);
    /* watch fd for readability (events & 1) / writability (events & 2);
     * cb runs on the loop's thread. MD_OK or an MD_E_*. May be NULL for
     * a driver without descriptors (virtual). */
    int (*watch)(void *ctx, int fd, int events,
                 void (*cb)(void *arg, int fd, int events), void *arg);
    /* wake the loop from another thread (a callback queued work) */
    void (*wake)(void *ctx);
};

/* The virtual driver: time is what the replay sets. */
struct loop_vclock {
    mono_ns now;
};
void loop_driver_virtual(struct loop_driver *d, struct loop_vclock *vc);

/* ---- the operation tables ------------------------------------------------ */

/* Each side gets the actions it carries out, in order, with everything
 * they say (md_types.h); pointers are valid during the call only. A NULL
 * table or entry: that side does nothing (e.g. strict replay plays no
 * world). */
struct loop_ws_ops {
    void (*open)(void *ctx, mono_ns t, uint64_t sock);
    void (*subscribe)(void *ctx, mono_ns t, uint64_t sock,
                      const char *const *subs, size_t n);
    void (*close)(void *ctx, mono_ns t, uint64_t sock);
    void (*ping)(void *ctx, mono_ns t, uint64_t sock);
};

struct loop_http_ops {
    void (*send)(void *ctx, mono_ns t, uint64_t id,
                 const struct md_request *req);
    void (*cancel)(void *ctx, mono_ns t, uint64_t id);
};

struct loop_kafka_ops {
    void (*topic_create)(void *ctx, mono_ns t, const char *const *topics,
                         size_t n);
    void (*produce)(void *ctx, mono_ns t, const struct md_bar *const *bars,
                    size_t n);
    void (*discard)(void *ctx, mono_ns t, const struct md_bar *const *bars,
                    size_t n);
    void (*flush)(void *ctx, mono_ns t, uint64_t inflight);
    /* bars the broker refused for good: keep them aside, never again */
    void (*dead_letter)(void *ctx, mono_ns t,
                        const struct md_bar *const *bars, size_t n);
    /* the producer failed fatally: make a new one (the next produce) */
    void (*producer_reset)(void *ctx, mono_ns t);
};

/* Bars out, notes and transitions: logs, metrics, the bar file. */
struct loop_sink_ops {
    void (*bars)(void *ctx, mono_ns t, const struct md_bar *const *bars,
                 size_t n);
    void (*note)(void *ctx, mono_ns t, int note, uint64_t arg);
    void (*trace)(void *ctx, mono_ns t, const struct md_trace *tr);
};

/* The recorder: every input before it is stepped (the shell maps it to
 * capture events), and the action text after. NULL: not recording. */
struct loop_recorder {
    void *ctx;
    void (*actions)(void *ctx, mono_ns t, const char *text, size_t len);
};

/* An observer of every step (the session report, metrics): called after
 * the step's actions were carried out, with the input; the step's actions
 * are l->out, the core l->core (read only). NULL: none. */
struct loop;
struct loop_observer {
    void *ctx;
    void (*step)(void *ctx, const struct loop *l, const struct core_in *in);
};

/* ---- the executor ------------------------------------------------------ */

struct loop_timers {
    bool armed[MD_T__COUNT];
    mono_ns deadline[MD_T__COUNT];
    mono_ns first; /* no armed deadline is earlier (INT64_MAX: none) */
};

struct loop {
    struct core *core;
    struct loop_driver drv;
    const struct loop_ws_ops *ws;
    void *ws_ctx;
    const struct loop_http_ops *http;
    void *http_ctx;
    const struct loop_kafka_ops *kafka;
    void *kafka_ctx;
    const struct loop_sink_ops *sink;
    void *sink_ctx;
    struct loop_recorder rec;
    const struct loop_observer *obs;
    bool want_text;       /* keep the action text (recording, strict) */
    struct loop_timers tt;
    mono_ns now;          /* time of the last input stepped */
    mono_ns t0;           /* origin of the times in the action text */
    struct md_out out;
    char *text;           /* the last step's action text */
    size_t len, cap;
    int rc;               /* first error of a callback (MD_E_NOMEM) */
    /* encode a bar as JSON for the action text (the shell's codec) */
    int (*bar_json)(const struct bar *b, char *buf, size_t cap, size_t *n);
};

/* Set up an executor for core c (initialised by the caller). Tables are
 * set by assigning the fields afterwards. t0: origin of the action text's
 * times (a recording's first event). */
void loop_init(struct loop *l, struct core *c, const struct loop_driver *drv,
               mono_ns t0);
void loop_free(struct loop *l);

/* Step the core with in and carry out its actions. MD_OK; the core's error
 * (nothing changed); MD_E_NOMEM. */
int loop_step(struct loop *l, const struct core_in *in);

/* The earliest armed deadline, INT64_MAX if none. */
mono_ns loop_next_deadline(const struct loop *l);

/* Fire every timer due at or before t, earliest deadline first, ties by
 * timer id, each stamped with its deadline (never before the last input's
 * time). before(ctx, in) runs first for each (the shell records it); MD_OK
 * or the first error. */
int loop_fire_due(struct loop *l, mono_ns t,
                  void (*before)(void *ctx, const struct core_in *in),
                  void *ctx);

/* Strict comparison: the first line where got and want differ, as
 * "first divergence after input seq S, action line L: recorded ... /
 * replayed ...", into buf. Returns 1 if they differ, 0 if equal. */
int loop_compare(const char *got, size_t gn, const char *want, size_t wn,
                 int64_t seq, char *buf, size_t cap);

#endif /* LOOP_H */
