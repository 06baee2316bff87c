/* live.c: the live driver (live.h): passes, the recording of inputs, the
 * bar and trace outputs, and the publisher of `capture` (no broker: each
 * bar acknowledged and each topic made at the next pass, both recorded as
 * the inputs they are). */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bar_codec.h"
#include "fsm.h"
#include "live.h"
#include "live_int.h"
#include "log.h"
#include "md_err.h"

mono_ns live_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (mono_ns)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

bool live_url_has_key(const char *url)
{
    const char *p;

    for (p = url; *p != '\0'; p++) {
        if (strncasecmp(p, "api_key", 7) == 0 ||
            strncasecmp(p, "apikey", 6) == 0) {
            return true;
        }
    }
    return false;
}

int live_check_urls(const struct live_opts *o, char *err, size_t errlen)
{
    struct live_url u;

    if (live_url_has_key(o->ws_url) || live_url_has_key(o->rest_url)) {
        snprintf(err, errlen, "the %s URL holds an API key parameter: keys "
                 "go in --api-key-file or $CRYPTOCOMPARE_API_KEY (a URL is "
                 "logged and shown)",
                 live_url_has_key(o->ws_url) ? "WebSocket" : "REST");
        return MD_E_USAGE;
    }
    if (live_url_parse(o->ws_url, "ws", "wss", &u) != MD_OK) {
        snprintf(err, errlen, "bad WebSocket URL '%.200s' (ws://HOST[:PORT]"
                 "/PATH or wss://..., no credentials)", o->ws_url);
        return MD_E_USAGE;
    }
    if (live_url_parse(o->rest_url, "http", "https", &u) != MD_OK) {
        snprintf(err, errlen, "bad REST URL '%.200s' (http://HOST[:PORT] or "
                 "https://..., no credentials)", o->rest_url);
        return MD_E_USAGE;
    }
    return MD_OK;
}

void live_json_str(char *out, size_t cap, const char *text)
{
    size_t o = 0;

    if (cap < 3) {
        return;
    }
    out[o++] = '"';
    for (; text != NULL && *text != '\0' && o + 8 < cap; text++) {
        unsigned char c = (unsigned char)*text;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x",
                                  c < 0x80 ? c : 0x3f);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

void live_fail(struct live *lv, int rc, const char *fmt, ...)
{
    va_list ap;

    if (lv->rc != MD_OK) {
        return; /* the first error is the one to tell */
    }
    lv->rc = rc;
    va_start(ap, fmt);
    vsnprintf(lv->err, sizeof lv->err, fmt, ap);
    va_end(ap);
    uv_stop(&lv->uv);
}

void live_record(struct live *lv, int kind, int dir, int64_t conn_id,
                 mono_ns t, int64_t status, const char *meta,
                 const void *data, size_t len)
{
    struct store_event ev;

    if (lv->rec == NULL) {
        return;
    }
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.dir = dir;
    ev.conn_id = conn_id;
    ev.mono_ns = t;
    ev.wall_ns = t + lv->wall_minus_mono;
    ev.status = status;
    ev.meta = meta;
    ev.payload = data;
    ev.payload_len = len;
    if (store_append(lv->rec, &ev) != MD_OK) {
        live_fail(lv, MD_E_IO, "the capture: cannot append a %s event: %s",
                  store_kind_name(kind), store_writer_errmsg(lv->rec));
    }
}

static void on_timer(uv_timer_t *h)
{
    (void)h; /* the pass after this iteration's poll does the work */
}

static void on_kick(uv_idle_t *h)
{
    (void)h; /* only there to make the poll return at once */
}

void live_push(struct live *lv, const struct core_in *in, const char *meta)
{
    struct live_q *e;

    if (lv->closing) {
        return; /* shutting down: the core takes nothing more */
    }
    if (lv->nq == lv->capq) {
        size_t c = lv->capq ? lv->capq * 2 : 64;
        struct live_q *nq = realloc(lv->q, c * sizeof *nq);
        if (nq == NULL) {
            live_fail(lv, MD_E_NOMEM, "out of memory queueing an input");
            return;
        }
        lv->q = nq;
        lv->capq = c;
    }
    e = &lv->q[lv->nq];
    e->got = live_now();
    e->dropped = false;
    e->in = *in;
    e->data = NULL;
    e->meta = NULL;
    if (in->data != NULL) {
        e->data = malloc(in->len + 1);
        if (e->data == NULL) {
            live_fail(lv, MD_E_NOMEM, "out of memory queueing an input");
            return;
        }
        memcpy(e->data, in->data, in->len);
        e->data[in->len] = '\0';
        e->in.data = e->data;
    }
    if (meta != NULL && (e->meta = strdup(meta)) == NULL) {
        free(e->data);
        live_fail(lv, MD_E_NOMEM, "out of memory queueing an input");
        return;
    }
    lv->nq++;
    /* the pass after the next poll takes it: while anything is queued,
     * the idle handle keeps that poll from blocking (a timer's callback
     * queues STOP, a pass queues acknowledgements) */
    uv_idle_start(&lv->kick, on_kick);
}

void live_withdraw_http(struct live *lv)
{
    size_t i;

    for (i = lv->q_from; i < lv->nq; i++) {
        if (lv->q[i].in.kind == CORE_IN_HTTP && !lv->q[i].dropped) {
            lv->q[i].dropped = true;
            lv->withdrawn++;
        }
    }
}

void live_withdraw_socket(struct live *lv, uint32_t sock)
{
    size_t i;

    for (i = lv->q_from; i < lv->nq; i++) {
        struct core_in *in = &lv->q[i].in;
        if ((in->kind == CORE_IN_FRAME || in->kind == CORE_IN_CONN) &&
            in->conn_id == sock &&
            !(in->kind == CORE_IN_CONN && in->input == CONN_I_WS_CLOSED) &&
            !lv->q[i].dropped) {
            lv->q[i].dropped = true;
            lv->withdrawn++;
        }
    }
}

/* The recording of one input, as strict replay reads it back
 * (replay.c strict_input): the inverse mapping. */
static void record_in(struct live *lv, const struct core_in *in,
                      const char *meta)
{
    char m[96];

    switch (in->kind) {
    case CORE_IN_START:
        live_record(lv, STORE_K_OPERATOR, STORE_D_LOCAL, 0, in->t_ns,
                    in->server_ms, NULL, "START", 5);
        break;
    case CORE_IN_STOP:
        if (lv->stop_signal != 0) {
            live_record(lv, STORE_K_SIGNAL, STORE_D_LOCAL, 0, in->t_ns,
                        lv->stop_signal, NULL, NULL, 0);
        } else {
            live_record(lv, STORE_K_OPERATOR, STORE_D_LOCAL, 0, in->t_ns, 0,
                        NULL, "STOP", 4);
        }
        break;
    case CORE_IN_RESET:
        live_record(lv, STORE_K_OPERATOR, STORE_D_LOCAL, 0, in->t_ns, 0,
                    NULL, "RESET", 5);
        break;
    case CORE_IN_CONN:
        if (in->input == CONN_I_WS_OPEN) {
            live_record(lv, STORE_K_WS_HANDSHAKE, STORE_D_IN, in->conn_id,
                        in->t_ns, 101, meta, NULL, 0);
        } else if (in->input == CONN_I_PONG) {
            live_record(lv, STORE_K_WS_PONG, STORE_D_IN, in->conn_id,
                        in->t_ns, 0, NULL, NULL, 0);
        } else if (in->http_status != 0) {
            /* the upgrade refused: the handshake with its status */
            live_record(lv, STORE_K_WS_HANDSHAKE, STORE_D_IN, in->conn_id,
                        in->t_ns, in->http_status, meta, NULL, 0);
        } else {
            live_record(lv, STORE_K_WS_CLOSED, STORE_D_IN, in->conn_id,
                        in->t_ns, in->close_code, meta, NULL, 0);
        }
        break;
    case CORE_IN_FRAME:
        live_record(lv, STORE_K_WS_TEXT, STORE_D_IN, in->conn_id, in->t_ns, 0,
                    NULL, in->data, in->len);
        break;
    case CORE_IN_HTTP:
        live_record(lv, in->http_status != 0 ? STORE_K_HTTP_RESPONSE
                                              : STORE_K_HTTP_ERROR,
                    STORE_D_IN, 0, in->t_ns, in->http_status, meta, in->data,
                    in->len);
        break;
    case CORE_IN_TIMER:
        snprintf(m, sizeof m, "{\"timer\":\"%s\"}", md_timer_name(in->timer));
        live_record(lv, STORE_K_TIMER, STORE_D_LOCAL, 0, in->t_ns, in->timer,
                    m, NULL, 0);
        break;
    case CORE_IN_PUB:
        if (in->input == PUB_I_TOPIC_CREATED ||
            in->input == PUB_I_TOPIC_FAILED) {
            /* a topic name needs no JSON escape: [a-zA-Z0-9._-] */
            char tm[CORE_TOPIC_MAX + 16];
            snprintf(tm, sizeof tm, "{\"topic\":\"%.*s\"}", (int)in->len,
                     in->data != NULL ? in->data : "");
            live_record(lv, STORE_K_ADMIN, STORE_D_IN, 0, in->t_ns,
                        in->input == PUB_I_TOPIC_CREATED ? 0 : -1, tm, NULL,
                        0);
        } else {
            snprintf(m, sizeof m, "{\"bar\":%" PRIu64 "}", in->bar_id);
            live_record(lv, STORE_K_DELIVERY, STORE_D_IN, 0, in->t_ns,
                        in->input == PUB_I_PUBLISH_SUCCESS ? 0 : -1, m, NULL,
                        0);
        }
        break;
    default:
        break;
    }
}

static void timer_before(void *ctx, const struct core_in *in)
{
    record_in(ctx, in, NULL);
}

/* The core's actions after an input, left out when they are the same
 * text as the last written (a frame on the hot path: one trace line);
 * strict replay reads an input without its own core_out as doing what
 * the one before did (docs/replay-contract.md). Half the events. */
static void rec_actions(void *ctx, mono_ns t, const char *text, size_t len)
{
    struct live *lv = ctx;

    if (lv->last_out != NULL && lv->last_outn == len &&
        memcmp(lv->last_out, text, len) == 0) {
        return;
    }
    if (len > lv->last_outcap) {
        char *nb = realloc(lv->last_out, len);
        if (nb == NULL) {
            live_fail(lv, MD_E_NOMEM, "out of memory recording");
            return;
        }
        lv->last_out = nb;
        lv->last_outcap = len;
    }
    if (len > 0) {
        memcpy(lv->last_out, text, len);
    } else if (lv->last_out == NULL && (lv->last_out = malloc(1)) == NULL) {
        live_fail(lv, MD_E_NOMEM, "out of memory recording");
        return;
    }
    lv->last_outn = len;
    live_record(lv, STORE_K_CORE_OUT, STORE_D_LOCAL, 0, t, 0, NULL, text,
                len);
}

/* ---- the sink: bars and trace, as replay writes them ------------------- */

static void sink_bars(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    struct live *lv = ctx;
    size_t k;

    if (lv->pub != NULL && lv->pub->closed != NULL) {
        lv->pub->closed(lv->pub->ctx, t, bars, n);
    }
    for (k = 0; k < n; k++) {
        char js[BAR_JSON_MAX];
        size_t len = 0;
        lv->bars++;
        lv->revisions += bars[k]->bar.revision > 0;
        lv->by_reason[bars[k]->bar.close_reason & 7]++;
        lv->backfilled += (bars[k]->bar.flags & BAR_F_BACKFILLED) != 0;
        if (lv->o.bars == NULL) {
            continue;
        }
        if (bar_to_json(&bars[k]->bar, js, sizeof js, &len) != MD_OK ||
            fwrite(js, 1, len, lv->o.bars) != len ||
            fputc('\n', lv->o.bars) == EOF) {
            live_fail(lv, MD_E_IO, "the bars: cannot write a bar");
        }
    }
}

static void sink_trace(void *ctx, mono_ns t, const struct md_trace *tr)
{
    struct live *lv = ctx;
    const struct fsm_def *d = core_defs[tr->machine];
    const char *g;

    if (lv->o.trace == NULL) {
        return;
    }
    g = fsm_guard_label(d, tr);
    if (fprintf(lv->o.trace, "%" PRId64 " %s %s --%s%s%s%s/%s--> %s\n",
                t - lv->t0, d->name, d->state_names[tr->from],
                d->input_names[tr->input], g != NULL ? "[" : "",
                g != NULL ? g : "", g != NULL ? "]" : "",
                d->output_names[tr->output], d->state_names[tr->to]) < 0) {
        live_fail(lv, MD_E_IO, "the trace: cannot write");
    }
}

static const struct loop_sink_ops live_sink = {sink_bars, NULL, sink_trace};

/* ---- the publisher of capture: no broker ------------------------------ */

static void k_topics(void *ctx, mono_ns t, const char *const *topics,
                     size_t n)
{
    struct live *lv = ctx;
    size_t k;

    (void)t;
    for (k = 0; k < n; k++) {
        struct core_in in;
        memset(&in, 0, sizeof in);
        in.kind = CORE_IN_PUB;
        in.input = PUB_I_TOPIC_CREATED;
        in.data = topics[k];
        in.len = strlen(topics[k]);
        live_push(lv, &in, NULL);
    }
}

static void k_produce(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    struct live *lv = ctx;
    size_t k;

    (void)t;
    for (k = 0; k < n; k++) {
        struct core_in in;
        memset(&in, 0, sizeof in);
        in.kind = CORE_IN_PUB;
        in.input = PUB_I_PUBLISH_SUCCESS;
        in.bar_id = bars[k]->id;
        live_push(lv, &in, NULL);
    }
}

static const struct loop_kafka_ops live_null_kafka = {
    k_topics, k_produce, NULL, NULL, NULL, NULL};

/* ---- passes -------------------------------------------------------------- */

mono_ns live_latency(const struct live *lv, double q)
{
    uint64_t n = 0, seen = 0;
    unsigned b;

    for (b = 0; b < 40; b++) {
        n += lv->lat[b];
    }
    for (b = 0; b < 40 && n > 0; b++) {
        seen += lv->lat[b];
        if ((double)seen >= q * (double)n) {
            return INT64_C(1) << b;
        }
    }
    return 0;
}

static bool core_done(const struct core *c)
{
    return c->conn.state == CONN_S_STOPPED && c->pub.state == PUB_S_STOPPED &&
           c->rest.state == REST_S_STOPPED;
}

static void step_one(struct live *lv, struct core_in *in, const char *meta)
{
    int rc;

    record_in(lv, in, meta);
    if (lv->rc != MD_OK) {
        return; /* not recorded: not stepped either */
    }
    rc = loop_step(&lv->loop, in);
    lv->inputs++;
    if (rc != MD_OK) {
        live_fail(lv, rc, "the core refused an input (%s): %s",
                  in->kind == CORE_IN_FRAME ? "a frame" : "an event",
                  md_strerror(rc));
    }
}

static void stop_now(struct live *lv, int signo)
{
    struct core_in in;

    if (lv->stopping) {
        return;
    }
    lv->stopping = true;
    lv->stop_signal = signo;
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_STOP;
    live_push(lv, &in, NULL);
}

static void pass(uv_check_t *h)
{
    struct live *lv = h->data;
    mono_ns t = live_now(), d;
    size_t i, n;

    if (lv->rc != MD_OK || lv->done) {
        return;
    }
    if (t < lv->loop.now) {
        t = lv->loop.now; /* never backwards */
    }
    if (loop_fire_due(&lv->loop, t, timer_before, lv) != MD_OK) {
        live_fail(lv, MD_E_STATE, "a timer's step failed");
        return;
    }
    /* inputs queued by this pass's steps (a bar acknowledged) wait for
     * the next pass: n is fixed here */
    for (i = 0, n = lv->nq; i < n; i++) {
        /* a copy: a step may queue more, moving the queue */
        struct live_q e = lv->q[i];
        mono_ns wait = live_now() - e.got;
        unsigned b = 0;
        lv->q_from = i + 1; /* what a withdrawal may still reach */
        if (!e.dropped && lv->rc == MD_OK) {
            while (b < 39 && (INT64_C(1) << b) < wait) {
                b++;
            }
            lv->lat[b]++;
            e.in.t_ns = t;
            if (e.in.kind == CORE_IN_FRAME) {
                lv->frames++;
            }
            step_one(lv, &e.in, e.meta);
        }
        free(e.data);
        free(e.meta);
    }
    lv->q_from = 0;
    if (n > 0) {
        memmove(lv->q, lv->q + n, (lv->nq - n) * sizeof *lv->q);
        lv->nq -= n;
    }
    if (lv->pub != NULL && lv->pub->pass_end != NULL && lv->rc == MD_OK) {
        lv->pub->pass_end(lv->pub->ctx, t);
    }
    if (lv->core->conn.state == CONN_S_FAILED && !lv->stopping) {
        /* the key was refused (TYPE 401, or HTTP 401/403 at the
         * upgrade): the core waits for an operator's RESET; a capture
         * has no operator, so it stops, saying why */
        lv->refused = true;
        stop_now(lv, 0);
    }
    if (lv->started && core_done(lv->core)) {
        lv->done = true;
        uv_stop(&lv->uv);
        return;
    }
    d = loop_next_deadline(&lv->loop);
    if (lv->nq == 0) {
        uv_idle_stop(&lv->kick);
    }
    if (d != INT64_MAX) {
        mono_ns wait = d - live_now();
        uint64_t ms = wait <= 0 ? 0 : (uint64_t)((wait + 999999) / 1000000);
        uv_timer_start(&lv->timer, on_timer, ms, 0);
    }
}

static void on_signal(uv_signal_t *h, int signo)
{
    struct live *lv = h->data;

    if (lv->signalled) {
        /* a second signal: stop waiting for the core's drain */
        live_fail(lv, MD_E_IO, "stopped by a second signal before the "
                  "core had finished");
        return;
    }
    lv->signalled = true;
    stop_now(lv, signo);
}

static void on_duration(uv_timer_t *h)
{
    stop_now(h->data, 0);
}

static void on_status(uv_timer_t *h)
{
    struct live *lv = h->data;
    uint64_t per_s;

    if (lv->o.status_fn != NULL) {
        lv->o.status_fn(lv->o.status_ctx, lv);
        return;
    }
    per_s = lv->frames - lv->status_frames;

    lv->status_frames = lv->frames;
    fprintf(stderr, "\rcapture: %" PRIu64 " frames/s, %" PRIu64 " frames, %"
                    PRIu64 " bars (%" PRIu64 " revisions), conn %s, rest %s   ",
            per_s, lv->frames, lv->bars, lv->revisions,
            core_defs[MD_M_CONN]->state_names[lv->core->conn.state],
            core_defs[MD_M_REST]->state_names[lv->core->rest.state]);
}

/* A descriptor the driver watches for another shell (the publisher's
 * queue event fd): its callback runs on the loop's thread, like every
 * other; what it queues is taken by the pass after the poll. */
struct watch {
    uv_poll_t poll;
    void (*cb)(void *arg, int fd, int events);
    void *arg;
    int fd;
    struct watch *next;
};

static void on_watch(uv_poll_t *h, int status, int events)
{
    struct watch *w = h->data;

    (void)status;
    w->cb(w->arg, w->fd, ((events & UV_READABLE) ? 1 : 0) |
                             ((events & UV_WRITABLE) ? 2 : 0));
}

int live_watch(struct live *lv, int fd, int events,
               void (*cb)(void *arg, int fd, int events), void *arg)
{
    struct watch *w = calloc(1, sizeof *w);
    int uve = ((events & 1) ? UV_READABLE : 0) |
              ((events & 2) ? UV_WRITABLE : 0);

    if (w == NULL) {
        return MD_E_NOMEM;
    }
    if (uv_poll_init(&lv->uv, &w->poll, fd) != 0) {
        free(w);
        return MD_E_IO;
    }
    w->poll.data = w;
    w->cb = cb;
    w->arg = arg;
    w->fd = fd;
    w->next = lv->watches;
    lv->watches = w;
    return uv_poll_start(&w->poll, uve, on_watch) == 0 ? MD_OK : MD_E_IO;
}

static int drv_watch(void *ctx, int fd, int events,
                     void (*cb)(void *arg, int fd, int events), void *arg)
{
    return live_watch(ctx, fd, events, cb, arg);
}

void live_set_publisher(struct live *lv, const struct live_publisher *p)
{
    lv->pub = p;
    lv->loop.kafka = p->kafka;
    lv->loop.kafka_ctx = p->ctx;
}

void live_stop(struct live *lv)
{
    stop_now(lv, 0);
}

static void drv_wake(void *ctx)
{
    struct live *lv = ctx;

    uv_async_send(&lv->wake); /* the one call safe from another thread */
}

static void on_wake(uv_async_t *h)
{
    (void)h; /* the pass after this poll does the work */
}

static mono_ns drv_now(void *ctx)
{
    (void)ctx;
    return live_now();
}

int live_init(struct live *lv, struct core *c, const struct live_opts *o,
              struct store_writer *rec)
{
    struct timespec wall;
    int k;

    memset(lv, 0, sizeof *lv);
    lv->core = c;
    lv->o = *o;
    lv->rec = rec;
    clock_gettime(CLOCK_REALTIME, &wall);
    lv->wall_minus_mono = (int64_t)wall.tv_sec * 1000000000 + wall.tv_nsec -
                          live_now();
    if (uv_loop_init(&lv->uv) != 0) {
        snprintf(lv->err, sizeof lv->err, "cannot start the event loop");
        return MD_E_IO;
    }
    uv_check_init(&lv->uv, &lv->pass);
    lv->pass.data = lv;
    uv_idle_init(&lv->uv, &lv->kick);
    lv->kick.data = lv;
    uv_timer_init(&lv->uv, &lv->timer);
    lv->timer.data = lv;
    uv_timer_init(&lv->uv, &lv->stop_timer);
    lv->stop_timer.data = lv;
    uv_timer_init(&lv->uv, &lv->status_timer);
    lv->status_timer.data = lv;
    for (k = 0; k < 2; k++) {
        uv_signal_init(&lv->uv, &lv->sig[k]);
        lv->sig[k].data = lv;
    }
    uv_async_init(&lv->uv, &lv->wake, on_wake);
    lv->wake.data = lv;
    lv->drv.ctx = lv;
    lv->drv.now = drv_now;
    lv->drv.watch = drv_watch;
    lv->drv.wake = drv_wake;
    loop_init(&lv->loop, c, &lv->drv, 0);
    lv->loop.sink = &live_sink;
    lv->loop.sink_ctx = lv;
    lv->loop.kafka = &live_null_kafka;
    lv->loop.kafka_ctx = lv;
    lv->loop.want_text = rec != NULL;
    lv->loop.bar_json = bar_to_json;
    lv->loop.rec.ctx = lv;
    lv->loop.rec.actions = rec != NULL ? rec_actions : NULL;
    if (live_ws_init(lv) != MD_OK || live_http_init(lv) != MD_OK) {
        return lv->rc != MD_OK ? lv->rc : MD_E_IO;
    }
    lv->loop.ws = &live_ws_ops;
    lv->loop.ws_ctx = lv;
    lv->loop.http = &live_http_ops;
    lv->loop.http_ctx = lv;
    return MD_OK;
}

int live_run(struct live *lv)
{
    struct core_in in;
    struct timespec wall;

    uv_check_start(&lv->pass, pass);
    uv_signal_start(&lv->sig[0], on_signal, SIGINT);
    uv_signal_start(&lv->sig[1], on_signal, SIGTERM);
    if (lv->o.duration_ns > 0) {
        uv_timer_start(&lv->stop_timer, on_duration,
                       (uint64_t)(lv->o.duration_ns / 1000000), 0);
    }
    if (lv->o.status) {
        uint64_t every = lv->o.status_every_ms > 0
                             ? (uint64_t)lv->o.status_every_ms
                             : 1000;
        uv_timer_start(&lv->status_timer, on_status, every, every);
    }
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_START;
    clock_gettime(CLOCK_REALTIME, &wall);
    in.server_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    in.t_ns = live_now();
    lv->t0 = in.t_ns;
    lv->loop.t0 = in.t_ns;
    lv->started = true;
    step_one(lv, &in, NULL);
    uv_idle_start(&lv->kick, on_kick);
    while (lv->rc == MD_OK && !lv->done) {
        uv_run(&lv->uv, UV_RUN_DEFAULT);
    }
    if (lv->o.status && lv->o.status_fn == NULL) {
        on_status(&lv->status_timer);
        fputc('\n', stderr);
    }
    return lv->rc;
}

static void close_own(uv_handle_t *h)
{
    if (h->loop != NULL && !uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

void live_free(struct live *lv)
{
    size_t i;

    /* our handles first, then the shells' (lws closes its own as its
     * context goes); the loop runs until every close has completed */
    lv->closing = true; /* what the shells report now goes nowhere */
    close_own((uv_handle_t *)&lv->pass);
    close_own((uv_handle_t *)&lv->kick);
    close_own((uv_handle_t *)&lv->timer);
    close_own((uv_handle_t *)&lv->stop_timer);
    close_own((uv_handle_t *)&lv->status_timer);
    close_own((uv_handle_t *)&lv->sig[0]);
    close_own((uv_handle_t *)&lv->sig[1]);
    close_own((uv_handle_t *)&lv->wake);
    {
        struct watch *w;
        for (w = lv->watches; w != NULL; w = w->next) {
            close_own((uv_handle_t *)&w->poll);
        }
    }
    live_http_close(lv);
    live_ws_close(lv);
    {
        /* a bounded wait for the closes: a library that leaves a handle
         * behind must not hang the exit (the capture is closed after) */
        mono_ns end = live_now() + INT64_C(2000000000);
        while (uv_run(&lv->uv, UV_RUN_NOWAIT) != 0 && live_now() < end) {
            uv_sleep(1);
        }
    }
    live_http_release(lv);
    live_ws_release(lv);
    if (uv_loop_close(&lv->uv) != 0) {
        /* left open: not ours to close; the process ends soon */
        md_log(MD_LOG_WARN, "handle_left", "ccstream: note: the network library left a handle "
                "open at exit\n");
    }
    for (i = 0; i < lv->nq; i++) {
        free(lv->q[i].data);
        free(lv->q[i].meta);
    }
    while (lv->watches != NULL) {
        struct watch *w = lv->watches;
        lv->watches = w->next;
        free(w); /* closed above, the loop ran its closes */
    }
    free(lv->q);
    free(lv->last_out);
    loop_free(&lv->loop);
}
