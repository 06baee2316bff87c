/* world.c: the virtual world of a what-if replay, played from the
 * capture as the executor's operation tables (the WebSocket server, the
 * REST server answering from the book, the Kafka broker), its pending
 * events in time order, and the stepping of the core through the executor
 * with recording. Faults are faults.c's: a wrapper and a filter around
 * this world. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bar_codec.h"
#include "bar_num.h"
#include "md_err.h"
#include "replay_int.h"

static int heap_less(const struct pend *a, const struct pend *b)
{
    /* at the same instant, the answer of a call (a refusal at once)
     * before anything else, then in the order they were made */
    return a->t < b->t ||
           (a->t == b->t && (a->urgent > b->urgent ||
                             (a->urgent == b->urgent && a->seq < b->seq)));
}

int heap_push(struct heap *h, struct pend p)
{
    size_t i;

    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 256;
        struct pend *v = realloc(h->v, cap * sizeof *v);
        if (v == NULL) {
            return MD_E_NOMEM;
        }
        h->v = v;
        h->cap = cap;
    }
    p.seq = h->seq++;
    i = h->n++;
    while (i > 0 && heap_less(&p, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = p;
    return MD_OK;
}

struct pend heap_pop(struct heap *h)
{
    struct pend top = h->v[0], last = h->v[--h->n];
    size_t i = 0;

    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct pend *cand = &last;
        if (l < h->n && heap_less(&h->v[l], cand)) {
            m = l;
            cand = &h->v[l];
        }
        if (r < h->n && heap_less(&h->v[r], cand)) {
            m = r;
        }
        if (m == i) {
            break;
        }
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n > 0) {
        h->v[i] = last;
    }
    return top;
}

/* A write to an output failed (a full disk, a closed pipe): the run
 * stops, naming the output and the reason; nothing is dropped quietly. */
static void output_failed(struct run *r, const char *name, const char *what)
{
    char msg[512];
    int e = errno != 0 ? errno : EIO;

    snprintf(msg, sizeof msg, "cannot write %s: %s",
             name != NULL ? name : what, strerror(e));
    world_fail(r, MD_E_IO, msg);
}

static void write_bar(struct run *r, const struct md_bar *mb)
{
    const struct bar *b = &mb->bar;
    char js[BAR_JSON_MAX];
    unsigned char mp[BAR_MSGPACK_MAX];
    size_t n = 0;
    char start[32], iv[16];
    time_t secs;
    struct tm tm;

    {
        /* the configuration's pairs only: bars of other pairs in the
         * capture are counted, not written */
        long k = configured_pair(r, b);
        if (k < 0) {
            r->sum->bars_unconfigured++;
            return;
        }
        r->seen[k] = true;
    }
    r->sum->bars++;
    r->sum->revisions += b->revision > 0;
    if (b->source == BAR_SRC_REST) {
        r->sum->rest_bars++;
    }
    /* JSON only when something reads it (the executor writes the action
     * text's own) */
    if (r->o->bars == NULL) {
        return;
    }
    if (r->o->bars_fmt == RPL_BARS_JSON &&
        bar_to_json(b, js, sizeof js, &n) != MD_OK) {
        char msg[128];
        snprintf(msg, sizeof msg, "bar %" PRIu64 " cannot be encoded as "
                 "JSON", mb->id);
        world_fail(r, MD_E_STATE, msg);
        return;
    }
    errno = 0;
    switch (r->o->bars_fmt) {
    case RPL_BARS_JSON:
        fwrite(js, 1, n, r->o->bars);
        fputc('\n', r->o->bars);
        break;
    case RPL_BARS_MSGPACK:
        if (bar_to_msgpack(b, mp, sizeof mp, &n) == MD_OK) {
            unsigned char len4[4] = {(unsigned char)(n >> 24),
                                     (unsigned char)(n >> 16),
                                     (unsigned char)(n >> 8),
                                     (unsigned char)n};
            fwrite(len4, 1, 4, r->o->bars);
            fwrite(mp, 1, n, r->o->bars);
        } else {
            char msg[128];
            snprintf(msg, sizeof msg, "bar %" PRIu64 " cannot be encoded "
                     "as msgpack", mb->id);
            world_fail(r, MD_E_STATE, msg);
            return;
        }
        break;
    case RPL_BARS_TABLE:
        secs = (time_t)(b->start_ms / 1000);
        gmtime_r(&secs, &tm);
        strftime(start, sizeof start, "%Y-%m-%d %H:%M", &tm);
        bar_interval_name(b->interval_s, iv, sizeof iv);
        fprintf(r->o->bars, "%s  %-8s %3s/%-4s %-3s %-6s", start, b->market,
                b->base, b->quote, iv, bar_source_name(b->source));
        if (b->has & BAR_HAS_OHLC) {
            fprintf(r->o->bars, " %12.2f %12.2f %12.2f %12.2f", b->open,
                    b->high, b->low, b->close);
        } else {
            fprintf(r->o->bars, " %51s", "-");
        }
        if (b->has & BAR_HAS_VOLUME) {
            char v[64];
            bar_scaled_to_text(b->volume, BAR_VOL_DIGITS, v, sizeof v);
            fprintf(r->o->bars, " %14s", v);
        } else {
            fprintf(r->o->bars, " %14s", "-");
        }
        if (b->has & BAR_HAS_TRADES) {
            fprintf(r->o->bars, " %6" PRIu64, b->trades);
        } else {
            fprintf(r->o->bars, " %6s", "-");
        }
        fprintf(r->o->bars, " r%-2u %-8s%s%s%s%s%s\n", b->revision,
                bar_close_name(b->close_reason),
                (b->flags & BAR_F_PARTIAL_START) ? " partial" : "",
                (b->flags & BAR_F_SPANS_DISCONNECT) ? " gap" : "",
                (b->flags & BAR_F_SYNTHETIC) ? " synthetic" : "",
                (b->flags & BAR_F_BACKFILLED) ? " backfilled" : "",
                (b->flags & BAR_F_OHLC_OUTSIDE) ? " ohlc-outside" : "");
        break;
    }
    if (ferror(r->o->bars)) {
        output_failed(r, r->o->bars_name, "the bars");
    }
}

/* Outputs of the hot path that --trace-quiet leaves out of self-loops. */
static bool quiet_output(const struct fsm_def *d, unsigned out)
{
    const char *n = d->output_names[out];

    return strcmp(n, "-") == 0 || strcmp(n, "FEED") == 0 ||
           strcmp(n, "BEAT") == 0 || strcmp(n, "SUB_ACK") == 0 ||
           strcmp(n, "SUB_PROGRESS") == 0 || strcmp(n, "PONG") == 0 ||
           strcmp(n, "REARM_PROBE") == 0 ||
           strcmp(n, "ACK") == 0;
}

void world_fail(struct run *r, int rc, const char *msg)
{
    if (r->rc == MD_OK) {
        r->rc = rc;
        snprintf(r->err, r->errlen, "%s", msg);
    }
}

void world_reply(struct run *r, int64_t sent, struct pend p)
{
    p.sent = sent;
    if (r->faulty) {
        fault_reply(r, &p);
    }
    if (heap_push(&r->heap, p) != MD_OK) {
        free(p.data);
        world_fail(r, MD_E_NOMEM, "out of memory");
    }
}

/* ---- the virtual world: the operation tables of the executor ---------- */

static void w_trace(void *ctx, mono_ns t, const struct md_trace *tr)
{
    struct run *r = ctx;
    const struct fsm_def *d = core_defs[tr->machine];

    r->sum->transitions++;
    if (tr->from < 32 && tr->input < 64) {
        r->o->coverage[tr->machine][tr->from] |= UINT64_C(1) << tr->input;
    }
    if (r->o->trace != NULL &&
        !(r->o->trace_quiet && tr->from == tr->to &&
          quiet_output(d, tr->output))) {
        const char *g = fsm_guard_label(d, tr);
        fprintf(r->o->trace, "%" PRId64 " %s %s --%s%s%s%s/%s--> %s\n",
                t - r->t0, d->name, d->state_names[tr->from],
                d->input_names[tr->input], g != NULL ? "[" : "",
                g != NULL ? g : "", g != NULL ? "]" : "",
                d->output_names[tr->output], d->state_names[tr->to]);
        if (ferror(r->o->trace)) {
            output_failed(r, r->o->trace_name, "the trace");
        }
    }
}

static void w_bars(void *ctx, mono_ns t, const struct md_bar *const *bars,
                   size_t n)
{
    struct run *r = ctx;
    size_t k;

    (void)t;
    if (r->pump != NULL && rpl_outbox_closed(r, bars, n) != MD_OK) {
        return;
    }
    for (k = 0; k < n; k++) {
        write_bar(r, bars[k]);
    }
}

static void w_ws_open(void *ctx, mono_ns t, uint64_t sock)
{
    struct run *r = ctx;
    int refused = !r->strict && r->faulty ? fault_refused(r, t) : 0;

    r->core_connecting = refused == 0;
    r->want_id = (uint32_t)sock;
    r->cur_sock = (uint32_t)sock;
    r->want_t = t;
    if (refused != 0) {
        /* the server refuses the upgrade 1 ms later; a recorded
         * connection waits for the next attempt */
        struct pend p;
        memset(&p, 0, sizeof p);
        p.t = t + NS_PER_MS;
        p.kind = PEND_WS_REFUSED;
        p.conn_id = (uint32_t)sock;
        p.status = refused;
        world_reply(r, t, p);
    } else if (!r->strict) {
        unpark(r, t);
    }
    if (r->rec != NULL) {
        /* recording: socket k of the core is connection k */
        struct store_conn sc;
        int64_t id = 0;
        memset(&sc, 0, sizeof sc);
        sc.kind = "ws";
        sc.url = "wss://streamer.cryptocompare.com/v2";
        sc.opened_mono_ns = t;
        sc.opened_wall_ns = r->wall0 + (t - r->t0);
        if (store_conn_open(r->rec, &sc, &id) != MD_OK ||
            id != (int64_t)sock) {
            r->rc = MD_E_IO;
        }
    }
}

static void w_ws_close(void *ctx, mono_ns t, uint64_t sock)
{
    struct run *r = ctx;
    struct pend p;
    unsigned k;

    if (r->strict) {
        return;
    }
    /* the socket ends: exactly one WS_CLOSED, then nothing */
    for (k = 0; k < r->n_ws; k++) {
        if (r->ws[k].core_id == sock && !r->ws[k].closed_by_core) {
            r->ws[k].closed_by_core = true;
        }
    }
    if (r->core_connecting || sock != 0) {
        memset(&p, 0, sizeof p);
        p.t = t + NS_PER_MS;
        p.kind = PEND_WS_CLOSED;
        p.conn_id = (uint32_t)sock;
        world_reply(r, t, p);
    }
    r->core_connecting = false;
}

/* The virtual REST server answers from the capture's book after the
 * recorded latency; a miss is a transport error 1 ms later, never a
 * hang. */
static void w_rest_send(void *ctx, mono_ns t, uint64_t id,
                        const struct md_request *req)
{
    struct run *r = ctx;
    char path[1024], *key;
    struct answer *ans = NULL;
    struct pend p;

    (void)id;
    if (r->strict) {
        return;
    }
    snprintf(path, sizeof path, "%.*s", (int)req->target_len, req->target);
    key = request_key(req->method, path);
    if (key != NULL) {
        ans = book_find(&r->book, key);
    }
    free(key);
    memset(&p, 0, sizeof p);
    p.kind = PEND_HTTP;
    p.t = t + NS_PER_MS;
    if (ans != NULL) {
        int brc = book_body(&r->book, ans, &p.data, &p.len);
        ans->used = true;
        r->sum->rest_matched++;
        p.t = t + (ans->latency_ns > 0 ? ans->latency_ns : NS_PER_MS);
        p.status = ans->status;
        if (brc != MD_OK) {
            world_fail(r, brc, brc == MD_E_NOMEM
                                   ? "out of memory"
                                   : store_reader_errmsg(r->book.rd));
        }
    } else {
        r->sum->rest_misses++;
    }
    world_reply(r, t, p);
}

static void w_rest_cancel(void *ctx, mono_ns t, uint64_t id)
{
    struct run *r = ctx;
    size_t k;

    (void)t;
    (void)id;
    /* a cancelled request delivers nothing */
    for (k = 0; k < r->heap.n; k++) {
        if (r->heap.v[k].kind == PEND_HTTP) {
            r->heap.v[k].kind = 0;
        }
    }
}

/* The virtual broker creates each topic asked for 1 ms later, one
 * result per topic, in the order asked. */
static void w_topic_create(void *ctx, mono_ns t, const char *const *topics,
                           size_t n)
{
    struct run *r = ctx;
    struct pend p;
    size_t k;

    if (r->strict) {
        return;
    }
    for (k = 0; k < n; k++) {
        size_t len = strlen(topics[k]);
        memset(&p, 0, sizeof p);
        p.t = t + NS_PER_MS;
        p.kind = PEND_ADMIN;
        p.ok = 1;
        p.data = malloc(len + 1);
        if (p.data == NULL) {
            world_fail(r, MD_E_NOMEM, "out of memory");
            return;
        }
        memcpy(p.data, topics[k], len + 1);
        p.len = len;
        world_reply(r, t, p);
    }
}

/* The virtual broker acknowledges each bar 1 ms after it was produced,
 * in order. */
static void w_produce(void *ctx, mono_ns t, const struct md_bar *const *bars,
                      size_t n)
{
    struct run *r = ctx;
    struct pend p;
    size_t k;

    bool full;

    if (r->strict) {
        return;
    }
    /* queue-full: every bar of this produce refused at once */
    full = r->faulty && fault_queue_full(r, t);
    for (k = 0; k < n; k++) {
        memset(&p, 0, sizeof p);
        p.bar_id = bars[k]->id;
        p.t = full ? t : t + ACK_DELAY_NS;
        p.kind = PEND_DELIVERY;
        p.input = full ? PUB_I_QUEUE_FULL : PUB_I_PUBLISH_SUCCESS;
        p.urgent = full;
        p.gen = r->producer_gen;
        p.ok = 1;
        world_reply(r, t, p);
    }
}

/* The virtual server answers a ping 1 ms later on the same socket (a
 * dead one, half-open@T, does not). A recording keeps the pong (the
 * ping is in the core's actions), so strict replay feeds the same. */
static void w_ws_ping(void *ctx, mono_ns t, uint64_t sock)
{
    struct run *r = ctx;
    struct pend p;

    if (r->strict || (r->faulty && fault_half_open(r, t))) {
        return;
    }
    memset(&p, 0, sizeof p);
    p.t = t + NS_PER_MS;
    p.kind = PEND_WS_PONG;
    p.conn_id = (uint32_t)sock;
    world_reply(r, t, p);
}

const struct loop_ws_ops world_ws = {w_ws_open, NULL, w_ws_close,
                                     w_ws_ping};
const struct loop_http_ops world_http = {w_rest_send, w_rest_cancel};
const struct loop_kafka_ops world_kafka = {w_topic_create, w_produce,
                                           NULL, NULL, NULL, NULL};
const struct loop_sink_ops world_sink = {w_bars, NULL, w_trace};

/* Record one input (and later the core's actions) in the recording. */
void record_input(struct run *r, int kind, int dir, int64_t conn_id,
                         int64_t t, int64_t status, const char *meta,
                         const void *data, size_t len)
{
    struct store_event ev;

    if (r->rec == NULL) {
        return;
    }
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.dir = dir;
    ev.conn_id = conn_id;
    ev.mono_ns = t;
    ev.wall_ns = r->wall0 + (t - r->t0);
    ev.status = status;
    ev.meta = meta;
    ev.payload = data;
    ev.payload_len = len;
    if (store_append(r->rec, &ev) != MD_OK && r->rc == MD_OK) {
        r->rc = MD_E_IO;
        snprintf(r->err, r->errlen, "recording: cannot append a %s event: "
                 "%s", store_kind_name(kind), store_writer_errmsg(r->rec));
    }
}

/* The recorder: the action text of every step as a core_out event. */
void rec_actions(void *ctx, mono_ns t, const char *text, size_t len)
{
    record_input(ctx, STORE_K_CORE_OUT, STORE_D_LOCAL, 0, t, 0, NULL, text,
                 len);
}

/* Stepping: show the input, wait for Enter on the terminal. */
static void step_wait(struct run *r, const struct core_in *in)
{
    static const char *const kinds[] = {"?",     "START", "STOP", "RESET",
                                        "conn",  "frame", "http", "rest",
                                        "pub",   "timer"};
    char line[64];

    fprintf(stderr, "replay: %+.6f s %s", (double)(in->t_ns - r->t0) / 1e9,
            in->kind < sizeof kinds / sizeof kinds[0] ? kinds[in->kind]
                                                      : "?");
    if (in->kind == CORE_IN_FRAME || in->kind == CORE_IN_HTTP) {
        fprintf(stderr, " %.*s", (int)(in->len > 100 ? 100 : in->len),
                in->data != NULL ? in->data : "");
    } else if (in->kind == CORE_IN_TIMER) {
        fprintf(stderr, " %s", md_timer_name(in->timer));
    }
    fprintf(stderr, "  [Enter] ");
    if (r->tty == NULL || fgets(line, sizeof line, r->tty) == NULL) {
        r->o->step = false; /* end of input: run on */
    }
}

/* One core step through the executor; returns the core's rc. */
int step(struct run *r, struct core_in *in)
{
    int rc;

    if (r->kafka != NULL && rpl_kafka_drain(r, r->vclock.now) != MD_OK) {
        return r->rc;
    }
    if (r->o->step) {
        step_wait(r, in);
    }
    r->loop.t0 = r->t0;
    r->vclock.now = in->t_ns;
    rc = loop_step(&r->loop, in);
    if (rc != MD_OK) {
        if (r->rc == MD_OK) {
            snprintf(r->err, r->errlen, "core_step failed at virtual time "
                     "%" PRId64 " ns: %s", in->t_ns - r->t0,
                     md_strerror(rc));
        }
        return rc;
    }
    r->sum->inputs++;
    return r->rc;
}

/* Before a timer input: record it, wait for Enter when stepping. */
void timer_input(void *ctx, const struct core_in *in)
{
    struct run *r = ctx;
    char meta[64];

    r->sum->timers_fired++;
    r->sum->inputs++;
    snprintf(meta, sizeof meta, "{\"timer\":\"%s\"}",
             md_timer_name(in->timer));
    record_input(r, STORE_K_TIMER, STORE_D_LOCAL, 0, in->t_ns, in->timer, meta,
                 NULL, 0);
    if (r->o->step) {
        step_wait(r, in);
    }
}

/* Fire every timer due at or before t, and only timers. */
static int fire_timers(struct run *r, int64_t t)
{
    int rc;

    r->loop.t0 = r->t0;
    rc = loop_fire_due(&r->loop, t, timer_input, r);

    if (rc != MD_OK && r->rc == MD_OK && r->err[0] == '\0') {
        snprintf(r->err, r->errlen, "core_step failed at virtual time "
                 "%" PRId64 " ns: %s", t - r->t0, md_strerror(rc));
    }
    return rc != MD_OK ? rc : r->rc;
}

struct wsmap *ws_of(struct run *r, int64_t store_id)
{
    unsigned k;

    for (k = 0; k < r->n_ws; k++) {
        if (r->ws[k].store_id == store_id) {
            return &r->ws[k];
        }
    }
    if (r->n_ws == sizeof r->ws / sizeof r->ws[0]) {
        return NULL;
    }
    memset(&r->ws[r->n_ws], 0, sizeof r->ws[0]);
    r->ws[r->n_ws].store_id = store_id;
    return &r->ws[r->n_ws++];
}

/* Keep an event of a deferred connection until the core connects. */
static int park(struct wsmap *w, int kind, int64_t t, int64_t status,
                const void *data, size_t len)
{
    struct pend *p;

    if (w->nparked == w->capparked) {
        size_t cap = w->capparked ? w->capparked * 2 : 256;
        struct pend *v = realloc(w->parked, cap * sizeof *v);
        if (v == NULL) {
            return MD_E_NOMEM;
        }
        w->parked = v;
        w->capparked = cap;
    }
    p = &w->parked[w->nparked++];
    memset(p, 0, sizeof *p);
    p->t = t;
    p->kind = PEND_WS;
    p->store_kind = kind;
    p->status = status;
    if (len > 0) {
        p->data = malloc(len);
        if (p->data == NULL) {
            return MD_E_NOMEM;
        }
        memcpy(p->data, data, len);
        p->len = len;
    }
    return MD_OK;
}

/* The core asked for a socket at t: a deferred recorded connection is
 * played from now on, shifted so that its handshake comes 1 ms later. */
void unpark(struct run *r, int64_t t)
{
    unsigned k;
    size_t i;

    for (k = 0; k < r->n_ws; k++) {
        struct wsmap *w = &r->ws[k];
        if (!w->deferred || w->nparked == 0) {
            continue;
        }
        w->deferred = false;
        w->shift_ns = t + NS_PER_MS - w->parked[0].t;
        for (i = 0; i < w->nparked; i++) {
            struct pend p = w->parked[i];
            p.t += w->shift_ns;
            p.conn_id = k; /* index of the wsmap */
            if (heap_push(&r->heap, p) != MD_OK) {
                free(p.data);
            }
        }
        free(w->parked);
        w->parked = NULL;
        w->nparked = w->capparked = 0;
        return; /* one recorded connection per attempt */
    }
}

/* The end of socket conn_id, refused at the handshake with HTTP status:
 * one input, recorded as the handshake with that status. */
static int ws_refused(struct run *r, uint32_t conn_id, int64_t t,
                      int64_t status)
{
    struct core_in in;

    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_CONN;
    in.input = CONN_I_WS_CLOSED;
    in.t_ns = t;
    in.conn_id = conn_id;
    in.http_status = (int)status;
    in.close_code = 1006;
    record_input(r, STORE_K_WS_HANDSHAKE, STORE_D_IN, conn_id, t, status,
                 NULL, NULL, 0);
    return step(r, &in);
}

/* Feed one WebSocket event of the world to the core (what-if). */
int feed_ws(struct run *r, struct wsmap *w, int kind, int64_t t,
                   int64_t status, const void *data, size_t len)
{
    struct core_in in;

    memset(&in, 0, sizeof in);
    in.t_ns = t;
    if (w->deferred) {
        return park(w, kind, t, status, data, len);
    }
    if (kind == STORE_K_WS_HANDSHAKE && status != 101 && status != 0) {
        /* the upgrade refused: the end of the core's current attempt,
         * with the handshake's HTTP status; nothing more of it */
        if (!r->core_connecting) {
            return MD_OK;
        }
        w->core_id = r->want_id;
        w->closed_by_core = true;
        r->core_connecting = false;
        return ws_refused(r, w->core_id, t, status);
    }
    if (kind == STORE_K_WS_HANDSHAKE) {
        if (!r->core_connecting) {
            /* the server accepted a connection the core is not making
             * right now: keep it for the core's next attempt */
            w->deferred = true;
            return park(w, kind, t, status, data, len);
        }
        w->core_id = r->want_id;
        r->core_connecting = false;
        in.kind = CORE_IN_CONN;
        in.input = CONN_I_WS_OPEN;
        in.conn_id = w->core_id;
        record_input(r, STORE_K_WS_HANDSHAKE, STORE_D_IN, w->core_id, t, 101,
                     NULL, NULL, 0);
        return step(r, &in);
    }
    if (w->core_id == 0 && r->core_connecting &&
        (kind == STORE_K_WS_CLOSED || kind == STORE_K_WS_ERROR)) {
        /* a refused attempt: it answers the core's current attempt */
        w->core_id = r->want_id;
        r->core_connecting = false;
    }
    if (w->core_id == 0 || w->closed_by_core) {
        return MD_OK;
    }
    in.conn_id = w->core_id;
    if (kind == STORE_K_WS_TEXT && r->faulty &&
        (fault_stalled(r, t) || fault_half_open(r, t))) {
        r->sum->stalled++;
        return MD_OK; /* the server says nothing for a while */
    }
    if (kind == STORE_K_WS_TEXT) {
        in.kind = CORE_IN_FRAME;
        in.data = data;
        in.len = len;
        r->sum->frames++;
        record_input(r, STORE_K_WS_TEXT, STORE_D_IN, w->core_id, t, 0, NULL,
                     data, len);
        return step(r, &in);
    }
    if (kind == STORE_K_WS_CLOSED || kind == STORE_K_WS_ERROR) {
        in.kind = CORE_IN_CONN;
        in.input = CONN_I_WS_CLOSED;
        w->closed_by_core = true; /* no more of it */
        in.close_code = kind == STORE_K_WS_CLOSED && status ? (int)status
                                                            : 1006;
        record_input(r, STORE_K_WS_CLOSED, STORE_D_IN, w->core_id, t,
                     in.close_code, NULL, NULL, 0);
        return step(r, &in);
    }
    return MD_OK; /* pongs, close frames before the end, ... */
}

/* Deliver the world's pending events due at or before t (what-if). */
/* One report of the virtual producer: recorded (its class in meta), then
 * stepped. A fatal error ends the producer: reports still due from it
 * never come; the core's next produce makes a new one. */
static int deliver(struct run *r, const struct pend *p, struct core_in *in)
{
    char meta[64];
    int64_t status = -1;

    in->kind = CORE_IN_PUB;
    in->input = (uint8_t)p->input;
    in->bar_id = p->bar_id;
    switch (p->input) {
    case PUB_I_PUBLISH_SUCCESS:
        status = 0;
        snprintf(meta, sizeof meta, "{\"bar\":%" PRIu64 "}", p->bar_id);
        break;
    case PUB_I_PUBLISH_FAILURE:
        snprintf(meta, sizeof meta, "{\"bar\":%" PRIu64 "}", p->bar_id);
        break;
    case PUB_I_PUBLISH_REJECTED:
        snprintf(meta, sizeof meta,
                 "{\"bar\":%" PRIu64 ",\"class\":\"permanent\"}", p->bar_id);
        break;
    case PUB_I_QUEUE_FULL:
        snprintf(meta, sizeof meta,
                 "{\"bar\":%" PRIu64 ",\"class\":\"queue_full\"}", p->bar_id);
        break;
    default: /* PUB_I_PRODUCER_FATAL */
        r->producer_gen++;
        in->bar_id = 0;
        snprintf(meta, sizeof meta, "{\"class\":\"fatal\"}");
        break;
    }
    record_input(r, STORE_K_DELIVERY, STORE_D_IN, 0, in->t_ns, status, meta,
                 NULL, 0);
    return step(r, in);
}

/* Everything due at or before t, in time order: the world's answers and
 * the core's timers, a timer first when both are due at the same time.
 * An answer a timer's step asks for (a pong 1 ms after a ping) comes
 * before a later timer, and before the capture's next event. */
int fire_due(struct run *r, int64_t t)
{
    return drain_pending(r, t);
}

int drain_pending(struct run *r, int64_t t)
{
    for (;;) {
        int64_t nt, np;
        struct pend p;

        /* a real broker's answers first: no timer fires while Kafka owes
         * reports (broker.c) */
        if (r->kafka != NULL && rpl_kafka_drain(r, r->vclock.now) != MD_OK) {
            return r->rc;
        }
        nt = loop_next_deadline(&r->loop);
        np = r->heap.n > 0 ? r->heap.v[0].t : INT64_MAX;
        struct core_in in;
        int rc;

        if (r->rc != MD_OK) {
            return r->rc;
        }
        if (nt <= t && nt <= np) {
            rc = fire_timers(r, nt);
            if (rc != MD_OK) {
                return rc;
            }
            continue;
        }
        if (np > t) {
            return MD_OK;
        }
        p = heap_pop(&r->heap);
        memset(&in, 0, sizeof in);
        in.t_ns = p.t > r->loop.now ? p.t : r->loop.now;
        switch (p.kind) {
        case PEND_HTTP:
            in.kind = CORE_IN_HTTP;
            in.http_status = (int)p.status;
            in.data = p.data;
            in.len = p.len;
            record_input(r, p.status ? STORE_K_HTTP_RESPONSE
                                     : STORE_K_HTTP_ERROR,
                         STORE_D_IN, 0, in.t_ns, p.status, NULL, p.data,
                         p.len);
            rc = step(r, &in);
            break;
        case PEND_DELIVERY:
            if (p.gen != r->producer_gen) {
                rc = MD_OK; /* from a producer that died: never comes */
                break;
            }
            rc = deliver(r, &p, &in);
            break;
        case PEND_ADMIN: {
            char meta[CORE_TOPIC_MAX + 16];
            in.kind = CORE_IN_PUB;
            in.input = p.ok ? PUB_I_TOPIC_CREATED : PUB_I_TOPIC_FAILED;
            in.data = p.data;
            in.len = p.len;
            /* a topic name needs no JSON escape: [a-zA-Z0-9._-] */
            snprintf(meta, sizeof meta, "{\"topic\":\"%.*s\"}", (int)p.len,
                     p.data != NULL ? (const char *)p.data : "");
            record_input(r, STORE_K_ADMIN, STORE_D_IN, 0, in.t_ns,
                         p.ok ? 0 : -1, meta, NULL, 0);
            rc = step(r, &in);
            break;
        }
        case PEND_WS:
            if (p.conn_id < r->n_ws) {
                struct wsmap *w = &r->ws[p.conn_id];
                int64_t keep = w->shift_ns;
                w->shift_ns = 0; /* feed it now, not shifted again */
                rc = feed_ws(r, w, p.store_kind, in.t_ns, p.status, p.data,
                             p.len);
                w->shift_ns = keep;
            } else {
                rc = MD_OK;
            }
            break;
        case PEND_WS_REFUSED:
            rc = ws_refused(r, p.conn_id, in.t_ns, p.status);
            break;
        case PEND_WS_PONG:
            if (p.conn_id != r->cur_sock) {
                rc = MD_OK; /* a socket gone since: nothing arrives */
                break;
            }
            in.kind = CORE_IN_CONN;
            in.input = CONN_I_PONG;
            in.conn_id = p.conn_id;
            record_input(r, STORE_K_WS_PONG, STORE_D_IN, p.conn_id, in.t_ns,
                         0, NULL, NULL, 0);
            rc = step(r, &in);
            break;
        case PEND_WS_CLOSED:
            in.kind = CORE_IN_CONN;
            in.input = CONN_I_WS_CLOSED;
            in.conn_id = p.conn_id;
            in.close_code = 1000;
            record_input(r, STORE_K_WS_CLOSED, STORE_D_IN, p.conn_id, in.t_ns,
                         1000, NULL, NULL, 0);
            rc = step(r, &in);
            break;
        default:
            rc = MD_OK; /* cancelled */
            break;
        }
        free(p.data);
        if (rc != MD_OK) {
            return rc;
        }
    }
    return MD_OK;
}

