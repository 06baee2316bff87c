/* replay.c: the replay driver (replay.h): reads a capture in order, keeps
 * the virtual clock and the timer table, plays the outside world (the
 * WebSocket server, the REST server, the Kafka broker) from the capture in
 * what-if mode or re-feeds recorded inputs in strict mode, and writes bars,
 * the trace and, on request, a recording. All decisions are the core's. */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bar_codec.h"
#include "bar_num.h"
#include "cc_json.h"
#include "md_err.h"
#include "mealy_fmt.h"
#include "replay.h"
#include "rest_policy.h"
#include "store.h"
#include "version.h"

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)
#define SINK_MIN 4096 /* bars a step may close, at least */
#define ACK_DELAY_NS NS_PER_MS
#define STOP_GRACE_NS (30 * NS_PER_S)

/* ---- small growable arrays (shell code may allocate) ---------------- */

/* A pending event of the virtual world, ordered by (t, seq). */
enum pend_kind {
    PEND_HTTP = 1,   /* answer to the head REST request */
    PEND_DELIVERY,   /* one delivery report */
    PEND_ADMIN,      /* topic created/failed */
    PEND_WS,         /* a recorded WebSocket event of a shifted connection */
    PEND_WS_CLOSED   /* the end of a socket the core closed */
};

struct pend {
    int64_t t;
    uint64_t seq;
    int kind;
    int ok;
    uint32_t conn_id; /* core socket id */
    int store_kind;   /* PEND_WS: the recorded kind */
    int64_t status;
    char *data;       /* owned */
    size_t len;
};

struct heap {
    struct pend *v;
    size_t n, cap;
    uint64_t seq;
};

static int heap_less(const struct pend *a, const struct pend *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int heap_push(struct heap *h, struct pend p)
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

static struct pend heap_pop(struct heap *h)
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

/* ---- REST answers recorded in the capture ---------------------------- */

/* The bodies stay in the capture (a long session holds many megabytes of
 * them) and are read by seq when an answer is used, so memory does not
 * grow with the capture. */
struct answer {
    char *key;      /* "GET /path?sorted&query" */
    int status;
    int64_t seq;    /* of the response event: its body */
    int64_t latency_ns;
    bool used;
};

struct book {
    struct answer *v;
    size_t n, cap;
    struct store_reader *rd; /* the capture, for the bodies */
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "GET" + path with the query sorted and any api_key dropped. */
static char *request_key(const char *method, const char *url)
{
    const char *path = url, *q;
    char *buf, *params[64], *tmp, *tok, *save = NULL, *out;
    size_t n = 0, i, len;

    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0) {
        path = strchr(strchr(path, ':') + 3, '/');
        if (path == NULL) {
            path = "/";
        }
    }
    q = strchr(path, '?');
    len = strlen(method) + strlen(path) + 4;
    out = malloc(len);
    if (out == NULL) {
        return NULL;
    }
    if (q == NULL) {
        snprintf(out, len, "%s %s", method, path);
        return out;
    }
    tmp = strdup(q + 1);
    if (tmp == NULL) {
        free(out);
        return NULL;
    }
    for (tok = strtok_r(tmp, "&", &save); tok != NULL && n < 64;
         tok = strtok_r(NULL, "&", &save)) {
        if (strncmp(tok, "api_key=", 8) != 0 && *tok != '\0') {
            params[n++] = tok;
        }
    }
    qsort(params, n, sizeof params[0], cmp_str);
    buf = out;
    snprintf(buf, len, "%s %.*s", method, (int)(q - path), path);
    for (i = 0; i < n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%c%s", i == 0 ? '?' : '&',
                 params[i]);
    }
    free(tmp);
    return out;
}

/* A string member of a small JSON object (meta), copied; an array of
 * strings comes back joined with commas; NULL if absent. */
static char *meta_str(const char *meta, const char *name)
{
    struct cc_json j;
    struct cc_str k, v;
    char *out = NULL;
    size_t used = 0, cap = 0, n;
    int rc;

    if (meta == NULL) {
        return NULL;
    }
    cc_json_init(&j, meta, strlen(meta), NULL);
    if (cc_json_obj_begin(&j) != MD_OK) {
        return NULL;
    }
    while ((rc = cc_json_obj_next(&j, &k)) == 1) {
        int c = cc_json_peek(&j);
        if (!cc_str_eq(&k, name, strlen(name)) || (c != '"' && c != '[')) {
            if (cc_json_skip(&j) != MD_OK) {
                return NULL;
            }
            continue;
        }
        if (c == '[' && cc_json_arr_begin(&j) != MD_OK) {
            return NULL;
        }
        while (c == '"' || cc_json_arr_next(&j) == 1) {
            char *grown;
            if (cc_json_peek(&j) != '"' || cc_json_str(&j, &v) != MD_OK) {
                free(out);
                return NULL;
            }
            if (used + v.len + 2 > cap) {
                cap = (used + v.len + 2) * 2;
                grown = realloc(out, cap);
                if (grown == NULL) {
                    free(out);
                    return NULL;
                }
                out = grown;
            }
            if (used > 0) {
                out[used++] = ',';
            }
            n = 0;
            if (cc_str_unescape(&v, out + used, cap - used - 1, &n) !=
                MD_OK) {
                free(out);
                return NULL;
            }
            used += n;
            out[used] = '\0';
            if (c == '"') {
                break;
            }
        }
        return out;
    }
    return NULL;
}

/* An integer member of the object member `outer` (or of the top level
 * when outer is NULL). 1 and *out when found, else 0. */
static int meta_i64(const char *json, const char *outer, const char *name,
                    int64_t *out)
{
    struct cc_json j;
    struct cc_str k;
    struct cc_num n;
    int depth_ok = outer == NULL;

    if (json == NULL) {
        return 0;
    }
    cc_json_init(&j, json, strlen(json), NULL);
    if (cc_json_obj_begin(&j) != MD_OK) {
        return 0;
    }
    while (cc_json_obj_next(&j, &k) == 1) {
        if (!depth_ok && cc_str_eq(&k, outer, strlen(outer)) &&
            cc_json_peek(&j) == '{') {
            if (cc_json_obj_begin(&j) != MD_OK) {
                return 0;
            }
            depth_ok = 1;
            continue;
        }
        if (depth_ok && cc_str_eq(&k, name, strlen(name)) &&
            cc_json_num(&j, &n) == MD_OK) {
            return cc_dec_to_i64(&n.dec, out) == MD_OK;
        }
        if (cc_json_skip(&j) != MD_OK) {
            return 0;
        }
    }
    return 0;
}

static int book_load(struct book *b, const char *path, char *err,
                     size_t errlen)
{
    struct store_reader *r;
    struct store_event ev;
    char *pending_key = NULL;
    int64_t pending_t = 0;
    int rc;

    static const int http[] = {STORE_K_HTTP_REQUEST, STORE_K_HTTP_RESPONSE,
                               STORE_K_HTTP_ERROR};

    rc = store_reader_open(path, &r, err, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    rc = store_reader_only(r, http, 3);
    while (rc == MD_OK && (rc = store_next(r, &ev)) == MD_OK) {
        if (ev.kind == STORE_K_HTTP_REQUEST) {
            char *m = meta_str(ev.meta, "method"), *u = meta_str(ev.meta, "path");
            if (u == NULL) {
                u = meta_str(ev.meta, "url");
            }
            free(pending_key);
            pending_key = u != NULL ? request_key(m ? m : "GET", u) : NULL;
            pending_t = ev.mono_ns;
            free(m);
            free(u);
        } else if ((ev.kind == STORE_K_HTTP_RESPONSE ||
                    ev.kind == STORE_K_HTTP_ERROR) &&
                   pending_key != NULL) {
            struct answer *a;
            if (b->n == b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 64;
                struct answer *v = realloc(b->v, cap * sizeof *v);
                if (v == NULL) {
                    rc = MD_E_NOMEM;
                    break;
                }
                b->v = v;
                b->cap = cap;
            }
            a = &b->v[b->n++];
            memset(a, 0, sizeof *a);
            a->key = pending_key;
            pending_key = NULL;
            a->status = ev.kind == STORE_K_HTTP_ERROR ? 0 : (int)ev.status;
            a->seq = ev.seq;
            a->latency_ns = ev.mono_ns - pending_t;
        }
    }
    free(pending_key);
    b->rd = r;
    return rc == MD_E_NOTFOUND ? MD_OK : rc;
}

/* The body of answer a into a new NUL-terminated buffer (*len bytes). */
static int book_body(struct book *b, const struct answer *a, char **out,
                     size_t *len)
{
    struct store_event ev;
    int rc = store_event_at(b->rd, a->seq, &ev);

    *out = NULL;
    *len = 0;
    if (rc != MD_OK) {
        return rc == MD_E_NOTFOUND ? MD_E_CORRUPT : rc;
    }
    *out = malloc(ev.payload_len + 1);
    if (*out == NULL) {
        return MD_E_NOMEM;
    }
    memcpy(*out, ev.payload, ev.payload_len);
    (*out)[ev.payload_len] = '\0';
    *len = ev.payload_len;
    return MD_OK;
}

static struct answer *book_find(struct book *b, const char *key)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        if (!b->v[i].used && strcmp(b->v[i].key, key) == 0) {
            return &b->v[i];
        }
    }
    return NULL;
}

static void book_free(struct book *b)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        free(b->v[i].key);
    }
    free(b->v);
    store_reader_close(b->rd);
}

/* ---- the run ---------------------------------------------------------- */

struct timer_tab {
    bool armed[MD_T__COUNT];
    int64_t deadline[MD_T__COUNT];
    int64_t first; /* no armed deadline is earlier (INT64_MAX: none) */
};

/* The earliest armed deadline, found again after one was disarmed or
 * moved. */
static void tt_refresh(struct timer_tab *tt)
{
    int k;

    tt->first = INT64_MAX;
    for (k = 1; k < MD_T__COUNT; k++) {
        if (tt->armed[k] && tt->deadline[k] < tt->first) {
            tt->first = tt->deadline[k];
        }
    }
}

/* Arm id (an armed id moves: its old deadline may have been the first). */
static void tt_arm(struct timer_tab *tt, int id, int64_t deadline)
{
    bool moved = tt->armed[id];

    tt->armed[id] = true;
    tt->deadline[id] = deadline;
    if (moved) {
        tt_refresh(tt);
    } else if (deadline < tt->first) {
        tt->first = deadline;
    }
}


/* A recorded WebSocket connection as the virtual world plays it. */
struct wsmap {
    int64_t store_id;
    uint32_t core_id;  /* 0: not adopted (yet) */
    int64_t shift_ns;  /* its events are played this much later */
    bool closed_by_core;
    bool deferred;     /* accepted while the core was not connecting: its
                          events wait (parked) for the core's next attempt */
    struct pend *parked;
    size_t nparked, capparked;
};

struct run {
    struct rpl_opts *o;
    struct rpl_summary *sum;
    struct core *core;
    void *core_mem;        /* the core's tables (core_mem_size) */
    struct core_config cfg; /* its series array is ours (configure) */
    struct md_out out;
    struct bar *sink;      /* the core's bar sink: SINK_MIN, or a bar a
                              series if more (all close at once) */
    struct timer_tab tt;
    struct heap heap;
    struct book book;
    struct wsmap ws[64];
    unsigned n_ws;
    bool core_connecting;  /* the core asked for a socket not yet opened */
    uint32_t want_id;      /* its id */
    int64_t want_t;
    int64_t t0;            /* virtual time origin: the first event */
    int64_t wall0;
    int64_t now;
    bool strict;
    struct store_writer *rec;
    char *outbuf;          /* the core's actions as text (record/strict) */
    size_t outlen, outcap;
    int rc;
    char *err;
    size_t errlen;
    FILE *tty; /* --step */
};

static void out_text(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void unpark(struct run *r, int64_t t);

static void out_text(struct run *r, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (r->rec == NULL && !r->strict) {
        return;
    }
    for (;;) {
        size_t room = r->outcap - r->outlen;
        va_start(ap, fmt);
        n = vsnprintf(r->outbuf ? r->outbuf + r->outlen : NULL,
                      r->outbuf ? room : 0, fmt, ap);
        va_end(ap);
        if (n >= 0 && r->outbuf != NULL && (size_t)n < room) {
            r->outlen += (size_t)n;
            return;
        }
        {
            size_t cap = r->outcap ? r->outcap * 2 : 4096;
            char *b;
            while (cap < r->outlen + (size_t)n + 1) {
                cap *= 2;
            }
            b = realloc(r->outbuf, cap);
            if (b == NULL) {
                r->rc = MD_E_NOMEM;
                return;
            }
            r->outbuf = b;
            r->outcap = cap;
        }
    }
}

static void write_bar(struct run *r, const struct bar *b)
{
    char js[BAR_JSON_MAX];
    unsigned char mp[BAR_MSGPACK_MAX];
    size_t n = 0;
    char start[32], iv[16];
    time_t secs;
    struct tm tm;

    r->sum->bars++;
    r->sum->revisions += b->revision > 0;
    if (b->source == BAR_SRC_REST) {
        r->sum->rest_bars++;
    }
    /* JSON only when something reads it: the action text of a recording
     * or of strict mode, or JSON lines out */
    if ((r->rec != NULL || r->strict ||
         (r->o->bars != NULL && r->o->bars_fmt == RPL_BARS_JSON)) &&
        bar_to_json(b, js, sizeof js, &n) == MD_OK) {
        out_text(r, "bar %s\n", js);
    } else {
        n = 0;
    }
    if (r->o->bars == NULL) {
        return;
    }
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
        fprintf(r->o->bars, " r%-2u %-8s%s%s%s%s\n", b->revision,
                bar_close_name(b->close_reason),
                (b->flags & BAR_F_PARTIAL_START) ? " partial" : "",
                (b->flags & BAR_F_SPANS_DISCONNECT) ? " gap" : "",
                (b->flags & BAR_F_SYNTHETIC) ? " synthetic" : "",
                (b->flags & BAR_F_BACKFILLED) ? " backfilled" : "");
        break;
    }
}

/* Outputs of the hot path that --trace-quiet leaves out of self-loops. */
static bool quiet_output(const struct fsm_def *d, unsigned out)
{
    const char *n = d->output_names[out];

    return strcmp(n, "-") == 0 || strcmp(n, "FEED") == 0 ||
           strcmp(n, "BEAT") == 0 || strcmp(n, "SUB_ACK") == 0 ||
           strcmp(n, "ACK") == 0;
}

/* True when an injection of kind is in force at t (the first such one at
 * or before t; these stay in force, they are not used up). */
static bool in_force(const struct run *r, int kind, int64_t t)
{
    unsigned k;

    for (k = 0; k < r->o->n_inject; k++) {
        if (r->o->inject[k].kind == kind &&
            t - r->t0 >= r->o->inject[k].at_ns) {
            return true;
        }
    }
    return false;
}

/* stall@T: the server sends no frame in [T, T + 100 s). */
static bool stalled(const struct run *r, int64_t t)
{
    unsigned k;

    for (k = 0; k < r->o->n_inject; k++) {
        const struct rpl_inject *in = &r->o->inject[k];
        if (in->kind == RPL_INJ_STALL && t - r->t0 >= in->at_ns &&
            t - r->t0 < in->at_ns + 100 * NS_PER_S) {
            return true;
        }
    }
    return false;
}

/* Play the world's side of the core's actions; write outputs. */
static void execute(struct run *r, int64_t t)
{
    size_t i, bar_pos = 0;

    for (i = 0; i < r->out.n; i++) {
        const struct md_action *a = &r->out.a[i];
        struct pend p;

        switch ((enum md_act_kind)a->kind) {
        case MD_A_TRACE: {
            const struct fsm_def *d = core_defs[a->tr.machine];
            r->sum->transitions++;
            if (a->tr.from < 32 && a->tr.input < 64) {
                r->o->coverage[a->tr.machine][a->tr.from] |=
                    UINT64_C(1) << a->tr.input;
            }
            if (r->o->trace != NULL &&
                !(r->o->trace_quiet && a->tr.from == a->tr.to &&
                  quiet_output(d, a->tr.output))) {
                fprintf(r->o->trace, "%" PRId64 " %s %s --%s/%s--> %s\n",
                        a->t_ns - r->t0, d->name,
                        d->state_names[a->tr.from],
                        d->input_names[a->tr.input],
                        d->output_names[a->tr.output],
                        d->state_names[a->tr.to]);
            }
            out_text(r, "trace %s %s %s %s %s\n", d->name,
                     d->state_names[a->tr.from], d->input_names[a->tr.input],
                     d->output_names[a->tr.output], d->state_names[a->tr.to]);
            break;
        }
        case MD_A_ARM_TIMER:
            tt_arm(&r->tt, a->timer, a->deadline_ns);
            out_text(r, "arm %s %" PRId64 "\n", md_timer_name(a->timer),
                     a->deadline_ns - r->t0);
            break;
        case MD_A_CANCEL_TIMER:
            r->tt.armed[a->timer] = false;
            tt_refresh(&r->tt);
            out_text(r, "cancel %s\n", md_timer_name(a->timer));
            break;
        case MD_A_WS_OPEN:
            r->core_connecting = true;
            r->want_id = (uint32_t)a->arg;
            r->want_t = t;
            if (!r->strict) {
                unpark(r, t);
            }
            out_text(r, "ws_open %" PRIu64 "\n", a->arg);
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
                    id != (int64_t)a->arg) {
                    r->rc = MD_E_IO;
                }
            }
            break;
        case MD_A_WS_CLOSE: {
            unsigned k;
            out_text(r, "ws_close %" PRIu64 "\n", a->arg);
            if (r->strict) {
                break;
            }
            /* the socket ends: exactly one WS_CLOSED, then nothing */
            for (k = 0; k < r->n_ws; k++) {
                if (r->ws[k].core_id == r->core->conn.conn_id &&
                    !r->ws[k].closed_by_core) {
                    r->ws[k].closed_by_core = true;
                }
            }
            if (r->core_connecting ||
                r->core->conn.conn_id != 0) {
                memset(&p, 0, sizeof p);
                p.t = t + (in_force(r, RPL_INJ_SLOW_CLOSE, t)
                               ? 10 * NS_PER_S
                               : NS_PER_MS);
                p.kind = PEND_WS_CLOSED;
                p.conn_id = r->core->conn.conn_id;
                (void)heap_push(&r->heap, p);
            }
            r->core_connecting = false;
            break;
        }
        case MD_A_WS_SUBSCRIBE:
            out_text(r, "ws_subscribe %" PRIu64 "\n", a->arg);
            break;
        case MD_A_REST_SEND: {
            const struct rp_fetch *f = core_rest_head(r->core);
            char path[1024], *key;
            size_t len;
            struct answer *ans = NULL;
            unsigned k;
            if (f == NULL || rp_req_path(&f->req, path, sizeof path, &len) !=
                                 MD_OK) {
                path[0] = '\0';
            }
            out_text(r, "rest_send %s\n", path);
            if (r->strict) {
                break;
            }
            key = request_key("GET", path);
            if (key != NULL) {
                ans = book_find(&r->book, key);
            }
            memset(&p, 0, sizeof p);
            p.kind = PEND_HTTP;
            for (k = 0; k < r->o->n_inject; k++) {
                struct rpl_inject *in = &r->o->inject[k];
                if (in->kind == RPL_INJ_REST_FAIL && !in->used &&
                    t - r->t0 >= in->at_ns) {
                    in->used = true;
                    ans = NULL;
                    break;
                }
            }
            for (k = 0; k < r->o->n_inject; k++) {
                struct rpl_inject *in = &r->o->inject[k];
                static const char param[] =
                    "{\"Response\":\"Error\",\"Message\":\"fsym param "
                    "seems to be missing.\",\"HasWarning\":false,\"Type\":2,"
                    "\"RateLimit\":{},\"Data\":{},\"ParamWithError\":"
                    "\"fsym\"}";
                if (in->kind == RPL_INJ_REST_PARAM && !in->used &&
                    t - r->t0 >= in->at_ns) {
                    in->used = true;
                    p.t = t + NS_PER_MS;
                    p.status = 200;
                    p.data = malloc(sizeof param);
                    if (p.data != NULL) {
                        memcpy(p.data, param, sizeof param);
                        p.len = sizeof param - 1;
                    }
                    ans = NULL;
                    goto queued;
                }
            }
            if (ans != NULL) {
                ans->used = true;
                r->sum->rest_matched++;
                p.t = t + (ans->latency_ns > 0 ? ans->latency_ns : NS_PER_MS);
                p.status = ans->status;
                int brc = book_body(&r->book, ans, &p.data, &p.len);
                if (brc != MD_OK && r->rc == MD_OK) {
                    r->rc = brc;
                    snprintf(r->err, r->errlen, "%s",
                             brc == MD_E_NOMEM
                                 ? "out of memory"
                                 : store_reader_errmsg(r->book.rd));
                }
            } else {
                /* a miss: the world fails the request, never hangs */
                r->sum->rest_misses++;
                p.t = t + NS_PER_MS;
                p.status = 0;
            }
        queued:
            free(key);
            (void)heap_push(&r->heap, p);
            break;
        }
        case MD_A_REST_CANCEL: {
            size_t k;
            out_text(r, "rest_cancel %" PRIu64 "\n", a->arg);
            /* a cancelled request delivers nothing */
            for (k = 0; k < r->heap.n; k++) {
                if (r->heap.v[k].kind == PEND_HTTP) {
                    r->heap.v[k].kind = 0;
                }
            }
            break;
        }
        case MD_A_TOPIC_CREATE: {
            unsigned k;
            out_text(r, "topic_create\n");
            if (r->strict) {
                break;
            }
            memset(&p, 0, sizeof p);
            p.t = t + (in_force(r, RPL_INJ_KAFKA_SLOW, t) ? 15 * NS_PER_S
                                                           : NS_PER_MS);
            p.kind = PEND_ADMIN;
            p.ok = 1;
            for (k = 0; k < r->o->n_inject; k++) {
                struct rpl_inject *in = &r->o->inject[k];
                if (in->kind == RPL_INJ_TOPIC_FAIL && !in->used &&
                    p.t - r->t0 >= in->at_ns) {
                    in->used = true;
                    p.ok = 0;
                    break;
                }
            }
            (void)heap_push(&r->heap, p);
            break;
        }
        case MD_A_PRODUCE: {
            uint64_t k;
            out_text(r, "produce %" PRIu64 "\n", a->arg);
            if (r->strict) {
                break;
            }
            for (k = 0; k < a->arg; k++) {
                unsigned j;
                memset(&p, 0, sizeof p);
                p.t = t + (in_force(r, RPL_INJ_KAFKA_SLOW, t)
                               ? 15 * NS_PER_S
                               : ACK_DELAY_NS);
                p.kind = PEND_DELIVERY;
                p.ok = 1;
                for (j = 0; j < r->o->n_inject; j++) {
                    struct rpl_inject *in = &r->o->inject[j];
                    if (in->kind == RPL_INJ_PUBLISH_FAIL && !in->used &&
                        p.t - r->t0 >= in->at_ns) {
                        in->used = true; /* one injection, one report */
                        p.ok = 0;
                        break;
                    }
                }
                (void)heap_push(&r->heap, p);
            }
            break;
        }
        case MD_A_BARS: {
            uint64_t k;
            out_text(r, "bars %" PRIu64 "\n", a->arg);
            for (k = 0; k < a->arg && bar_pos < r->core->sink_n; k++) {
                write_bar(r, &r->sink[bar_pos++]);
            }
            break;
        }
        case MD_A_NOTE:
            out_text(r, "note %s %" PRIu64 "\n", md_note_name(a->note),
                     a->arg);
            break;
        case MD_A_DISCARD:
        case MD_A_FLUSH:
        case MD_A_FETCH:
        case MD_A_FETCH_DONE:
        case MD_A_FETCH_FAILED:
            out_text(r, "%s %" PRIu64 "\n", md_act_name(a->kind), a->arg);
            break;
        case MD_A_INVALID:
        case MD_A__COUNT:
            break;
        }
    }
}

/* Record one input (and later the core's actions) in the recording. */
static void record_input(struct run *r, int kind, int dir, int64_t conn_id,
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

/* One core step with its bookkeeping; returns the core's rc. */
static int step(struct run *r, struct core_in *in)
{
    int rc;

    if (r->o->step) {
        step_wait(r, in);
    }
    md_out_reset(&r->out);
    r->outlen = 0;
    rc = core_step(r->core, in, &r->out);
    if (rc != MD_OK) {
        snprintf(r->err, r->errlen, "core_step failed at virtual time "
                 "%" PRId64 " ns: %s", in->t_ns - r->t0, md_strerror(rc));
        return rc;
    }
    r->sum->inputs++;
    r->now = in->t_ns;
    execute(r, in->t_ns);
    if (r->rec != NULL) {
        record_input(r, STORE_K_CORE_OUT, STORE_D_LOCAL, 0, in->t_ns, 0,
                     NULL, r->outbuf, r->outlen);
    }
    return MD_OK;
}

/* Fire every timer due at or before t, earliest first (ties: timer id). */
static int fire_due(struct run *r, int64_t t)
{
    for (;;) {
        int best = -1, k, rc;
        struct core_in in;
        char meta[64];
        if (t < r->tt.first) {
            return MD_OK; /* nothing due: the common case, one comparison */
        }
        for (k = 1; k < MD_T__COUNT; k++) {
            if (r->tt.armed[k] && r->tt.deadline[k] <= t &&
                (best < 0 || r->tt.deadline[k] < r->tt.deadline[best])) {
                best = k;
            }
        }
        if (best < 0) {
            return MD_OK;
        }
        r->tt.armed[best] = false;
        tt_refresh(&r->tt);
        memset(&in, 0, sizeof in);
        in.kind = CORE_IN_TIMER;
        in.timer = (uint8_t)best;
        in.t_ns = r->tt.deadline[best] > r->now ? r->tt.deadline[best]
                                                : r->now;
        r->sum->timers_fired++;
        snprintf(meta, sizeof meta, "{\"timer\":\"%s\"}", md_timer_name(best));
        record_input(r, STORE_K_TIMER, STORE_D_LOCAL, 0, in.t_ns, best, meta,
                     NULL, 0);
        rc = step(r, &in);
        if (rc != MD_OK) {
            return rc;
        }
    }
}

static struct wsmap *ws_of(struct run *r, int64_t store_id)
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
static void unpark(struct run *r, int64_t t)
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

/* Feed one WebSocket event of the world to the core (what-if). */
static int feed_ws(struct run *r, struct wsmap *w, int kind, int64_t t,
                   int64_t status, const void *data, size_t len)
{
    struct core_in in;

    memset(&in, 0, sizeof in);
    in.t_ns = t;
    if (w->deferred) {
        return park(w, kind, t, status, data, len);
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
    if (kind == STORE_K_WS_TEXT && stalled(r, t)) {
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
        record_input(r, STORE_K_WS_CLOSED, STORE_D_IN, w->core_id, t,
                     status ? status : 1006, NULL, NULL, 0);
        return step(r, &in);
    }
    return MD_OK; /* pongs, close frames before the end, ... */
}

/* Deliver the world's pending events due at or before t (what-if). */
static int drain_pending(struct run *r, int64_t t)
{
    while (r->heap.n > 0 && r->heap.v[0].t <= t && r->rc == MD_OK) {
        struct pend p = heap_pop(&r->heap);
        struct core_in in;
        int rc = fire_due(r, p.t);
        if (rc != MD_OK) {
            free(p.data);
            return rc;
        }
        memset(&in, 0, sizeof in);
        in.t_ns = p.t > r->now ? p.t : r->now;
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
            in.kind = CORE_IN_PUB;
            in.input = p.ok ? PUB_I_PUBLISH_SUCCESS : PUB_I_PUBLISH_FAILURE;
            r->sum->deliveries_failed += !p.ok;
            record_input(r, STORE_K_DELIVERY, STORE_D_IN, 0, in.t_ns,
                         p.ok ? 0 : -1, NULL, NULL, 0);
            rc = step(r, &in);
            break;
        case PEND_ADMIN:
            in.kind = CORE_IN_PUB;
            in.input = p.ok ? PUB_I_TOPIC_CREATED : PUB_I_TOPIC_FAILED;
            record_input(r, STORE_K_ADMIN, STORE_D_IN, 0, in.t_ns,
                         p.ok ? 0 : -1, NULL, NULL, 0);
            rc = step(r, &in);
            break;
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
        case PEND_WS_CLOSED:
            in.kind = CORE_IN_CONN;
            in.input = CONN_I_WS_CLOSED;
            in.conn_id = p.conn_id;
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

/* ---- configuration from the capture's session -------------------------- */

static int64_t parse_interval(const char *s, size_t n)
{
    char buf[32];
    char *end;
    long long v;

    if (n == 0 || n >= sizeof buf) {
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    v = strtoll(buf, &end, 10);
    if (v <= 0) {
        return -1;
    }
    switch (*end) {
    case '\0':
    case 's':
        return v;
    case 'm':
        return v * 60;
    case 'h':
        return v * 3600;
    case 'd':
        return v * 86400;
    default:
        return -1;
    }
}

/* Fill r->cfg's series and intervals from the options and the session's
 * configuration JSON (keys "symbols", "exchange", "quote"). */
static int configure(struct run *r, const char *session_config)
{
    struct rpl_opts *o = r->o;
    char *syms = o->symbols ? strdup(o->symbols) : NULL;
    char *ex = o->exchange ? strdup(o->exchange) : NULL;
    char *quote = o->quote ? strdup(o->quote) : NULL;
    char *tok, *save = NULL;
    const char *ivs = o->intervals ? o->intervals : "1m";
    const char *p;
    int rc = MD_OK;

    if (syms == NULL && session_config != NULL) {
        syms = meta_str(session_config, "symbols");
    }
    if (ex == NULL && session_config != NULL) {
        ex = meta_str(session_config, "exchange");
    }
    if (quote == NULL && session_config != NULL) {
        quote = meta_str(session_config, "quote");
    }
    core_config_default(&r->cfg);
    /* the core's trace actions: for the trace, the coverage, and the
     * action text of recordings and strict comparison */
    r->cfg.trace = o->trace != NULL || o->coverage_wanted ||
                   o->record != NULL || r->strict;
    r->sum->traced = r->cfg.trace != 0;
    {
        /* the REST policy the capture was made for (synth records it) */
        int64_t v;
        if (meta_i64(session_config, "rest", "preflight_bars", &v) &&
            v >= 1 && v <= RP_LIMIT_MAX) {
            r->cfg.rp.preflight_bars = (uint32_t)v;
        }
        if (meta_i64(session_config, "rest", "settle_s", &v) && v >= 0 &&
            v <= 86400) {
            r->cfg.rp.settle_s = v;
        }
        if (meta_i64(session_config, "rest", "page_limit", &v) && v >= 1 &&
            v <= RP_LIMIT_MAX) {
            r->cfg.rp.page_limit = (uint32_t)v;
        }
    }
    r->cfg.agg.emit_empty = o->emit_empty;
    if (o->grace != NULL) {
        int64_t g = parse_interval(o->grace, strlen(o->grace));
        if (g < 0 || strcmp(o->grace, "0") == 0) {
            g = strcmp(o->grace, "0") == 0 || strcmp(o->grace, "0s") == 0
                    ? 0
                    : -1;
        }
        if (g < 0) {
            snprintf(r->err, r->errlen, "bad --grace '%s' (e.g. 2s)", o->grace);
            rc = MD_E_INVAL;
            goto out;
        }
        r->cfg.agg.grace_ns = g * NS_PER_S;
    }
    if (o->lateness != NULL) {
        int64_t l = parse_interval(o->lateness, strlen(o->lateness));
        if (l < 0) {
            snprintf(r->err, r->errlen, "bad --lateness '%s' (e.g. 120s, "
                     "5m)", o->lateness);
            rc = MD_E_INVAL;
            goto out;
        }
        r->cfg.agg.lateness_ns = l * NS_PER_S;
    }
    r->cfg.agg.n_intervals = 0;
    for (p = ivs; *p != '\0';) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int64_t iv = parse_interval(p, n);
        if (iv <= 0 || r->cfg.agg.n_intervals == AGG_MAX_INTERVALS) {
            snprintf(r->err, r->errlen, "bad interval list '%s' (e.g. 1m,5m,1h;"
                     " at most %d)", ivs, AGG_MAX_INTERVALS);
            rc = MD_E_INVAL;
            goto out;
        }
        r->cfg.agg.intervals_s[r->cfg.agg.n_intervals++] = iv;
        p = e ? e + 1 : p + n;
    }
    {
        /* the aggregator keeps AGG_SLOTS buckets per series: the horizon
         * must fit in them at the smallest interval */
        int64_t smallest = INT64_MAX;
        unsigned k;
        for (k = 0; k < r->cfg.agg.n_intervals; k++) {
            if (r->cfg.agg.intervals_s[k] < smallest) {
                smallest = r->cfg.agg.intervals_s[k];
            }
        }
        if (r->cfg.agg.lateness_ns / (smallest * NS_PER_S) + 3 > AGG_SLOTS) {
            snprintf(r->err, r->errlen,
                     "lateness %llds is too long for %llds bars: at most "
                     "%llds (the aggregator keeps %d buckets per series)",
                     (long long)(r->cfg.agg.lateness_ns / NS_PER_S),
                     (long long)smallest,
                     (long long)(smallest * (AGG_SLOTS - 3)), AGG_SLOTS);
            rc = MD_E_INVAL;
            goto out;
        }
        if (r->cfg.agg.grace_ns > r->cfg.agg.lateness_ns) {
            snprintf(r->err, r->errlen, "grace may not exceed lateness");
            rc = MD_E_INVAL;
            goto out;
        }
    }
    if (syms == NULL) {
        syms = strdup("BTC,ETH,LTC");
        if (syms == NULL) {
            snprintf(r->err, r->errlen, "out of memory");
            rc = MD_E_NOMEM;
            goto out;
        }
    }
    {
        /* two series (CCCAGG, the exchange) per symbol and interval, in
         * an array as long as the list needs */
        size_t n_syms = 1, cap;
        for (p = syms; *p != '\0'; p++) {
            n_syms += *p == ',';
        }
        cap = n_syms * 2 * r->cfg.agg.n_intervals;
        if (cap > CORE_SERIES_LIMIT) {
            snprintf(r->err, r->errlen, "too many series: %zu symbols x %u "
                     "intervals x 2 (at most %u series)", n_syms,
                     r->cfg.agg.n_intervals, CORE_SERIES_LIMIT);
            rc = MD_E_INVAL;
            goto out;
        }
        r->cfg.series = calloc(cap, sizeof *r->cfg.series);
        if (r->cfg.series == NULL) {
            snprintf(r->err, r->errlen, "out of memory");
            rc = MD_E_NOMEM;
            goto out;
        }
        r->cfg.cap_series = (unsigned)cap;
    }
    for (tok = strtok_r(syms, ",", &save); tok != NULL;
         tok = strtok_r(NULL, ",", &save)) {
        unsigned k;
        for (k = 0; k < r->cfg.agg.n_intervals; k++) {
            int64_t iv = r->cfg.agg.intervals_s[k];
            if (core_config_add_series(&r->cfg, "CCCAGG", tok,
                                       quote ? quote : "USD", iv) != MD_OK ||
                core_config_add_series(&r->cfg, ex ? ex : "Coinbase", tok,
                                       quote ? quote : "USD", iv) != MD_OK) {
                snprintf(r->err, r->errlen, "bad series for symbol '%s' "
                         "(1..%d characters)", tok, BAR_SYM_MAX);
                rc = MD_E_INVAL;
                goto out;
            }
        }
    }
out:
    free(syms);
    free(ex);
    free(quote);
    return rc;
}

/* ---- read-ahead: a thread reads the capture while the core runs ------

 * The store reader belongs to the read-ahead thread alone; events reach
 * the replay loop in seq order through a few batches, each holding copies
 * of up to PF_BATCH events and their bytes. The order, and so every output,
 * is the same as reading directly: only the waiting changes. */
#define PF_BATCHES 4
#define PF_BATCH 4096               /* events per batch, at most */
#define PF_BATCH_BYTES (1u << 20)   /* bytes per batch, unless one event
                                       alone is larger */

struct pf_batch {
    size_t n, used, cap; /* events; bytes used of buf */
    struct store_event ev[PF_BATCH];
    char *buf;
    int full;
};

struct prefetch {
    struct store_reader *rd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pf_batch b[PF_BATCHES];
    unsigned head;  /* the batch the consumer reads */
    size_t pos;     /* next event in it */
    int seen_full;  /* the consumer saw it full (consumer-only) */
    int end_rc;     /* the reader's final rc (MD_E_NOTFOUND at the end) */
    int done;       /* the thread has put its last batch ... */
    unsigned last;  /* ... this one */
    int stop;       /* the consumer gave up */
    double cpu;     /* the thread's CPU seconds, set as it ends */
};

static double thread_cpu(void)
{
    struct timespec t;

    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0) {
        return 0;
    }
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Copy one event's bytes into the batch; 0 if they do not fit. */
static int pf_put(struct pf_batch *b, const struct store_event *ev)
{
    size_t ml = ev->meta != NULL ? strlen(ev->meta) + 1 : 0;
    size_t need = ml + ev->payload_len;
    struct store_event *e;

    if (b->n == PF_BATCH) {
        return 0;
    }
    if (b->n == 0 && b->cap != PF_BATCH_BYTES &&
        need <= PF_BATCH_BYTES) {
        /* the usual size: first use, or back from an outsized event */
        char *nb = realloc(b->buf, PF_BATCH_BYTES);
        if (nb == NULL) {
            return -1;
        }
        b->buf = nb;
        b->cap = PF_BATCH_BYTES;
    }
    if (b->used + need > b->cap) {
        char *nb;
        if (b->n > 0) {
            return 0; /* next batch: pointers into buf must stay put */
        }
        nb = realloc(b->buf, need); /* one event larger than a batch */
        if (nb == NULL) {
            return -1;
        }
        b->buf = nb;
        b->cap = need;
    }
    e = &b->ev[b->n++];
    *e = *ev;
    if (ml > 0) {
        memcpy(b->buf + b->used, ev->meta, ml);
        e->meta = b->buf + b->used;
        b->used += ml;
    }
    if (ev->payload_len > 0) {
        memcpy(b->buf + b->used, ev->payload, ev->payload_len);
        e->payload = b->buf + b->used;
        b->used += ev->payload_len;
    } else {
        e->payload = NULL;
    }
    return 1;
}

static void *pf_main(void *arg)
{
    struct prefetch *pf = arg;
    struct store_event ev;
    unsigned w = 0;
    int rc = MD_OK, have = 0;

    for (;;) {
        struct pf_batch *b = &pf->b[w];
        pthread_mutex_lock(&pf->mu);
        while (b->full && !pf->stop) {
            pthread_cond_wait(&pf->cv, &pf->mu);
        }
        pthread_mutex_unlock(&pf->mu);
        if (pf->stop) {
            break;
        }
        b->n = 0;
        b->used = 0;
        for (;;) {
            int put;
            if (!have) {
                rc = store_next(pf->rd, &ev);
                if (rc != MD_OK) {
                    break;
                }
                have = 1;
            }
            put = pf_put(b, &ev);
            if (put < 0) {
                rc = MD_E_NOMEM;
                break;
            }
            if (put == 0) {
                break; /* batch full; ev goes into the next one */
            }
            have = 0;
        }
        pthread_mutex_lock(&pf->mu);
        b->full = 1;
        if (rc != MD_OK) {
            pf->end_rc = rc;
            pf->last = w;
            pf->done = 1;
        }
        pthread_cond_broadcast(&pf->cv);
        pthread_mutex_unlock(&pf->mu);
        if (rc != MD_OK) {
            break;
        }
        w = (w + 1) % PF_BATCHES;
    }
    pf->cpu = thread_cpu();
    return NULL;
}

static int pf_start(struct prefetch *pf, struct store_reader *rd)
{
    memset(pf, 0, sizeof *pf);
    pf->rd = rd;
    pthread_mutex_init(&pf->mu, NULL);
    pthread_cond_init(&pf->cv, NULL);
    if (pthread_create(&pf->thread, NULL, pf_main, pf) != 0) {
        return MD_E_NOMEM;
    }
    return MD_OK;
}

/* The next event, like store_next: pointers valid until the next call. */
static int pf_next(struct prefetch *pf, struct store_event *ev)
{
    for (;;) {
        struct pf_batch *b = &pf->b[pf->head];
        int rc;

        /* A batch seen full stays put until the consumer gives it back,
         * so reading it needs no lock. */
        if (pf->seen_full && pf->pos < b->n) {
            *ev = b->ev[pf->pos++];
            return MD_OK;
        }
        pthread_mutex_lock(&pf->mu);
        if (!pf->seen_full) {
            while (!b->full) {
                pthread_cond_wait(&pf->cv, &pf->mu);
            }
            pf->seen_full = 1;
            pthread_mutex_unlock(&pf->mu);
            continue;
        }
        if (pf->done && pf->head == pf->last) {
            /* the thread's last batch, used up: the end (or its error) */
            rc = pf->end_rc;
            pthread_mutex_unlock(&pf->mu);
            return rc;
        }
        /* this batch is used up: give it back to the thread */
        b->full = 0;
        pf->seen_full = 0;
        pf->pos = 0;
        pf->head = (pf->head + 1) % PF_BATCHES;
        pthread_cond_broadcast(&pf->cv);
        pthread_mutex_unlock(&pf->mu);
    }
}

static void pf_stop(struct prefetch *pf)
{
    unsigned k;

    pthread_mutex_lock(&pf->mu);
    pf->stop = 1;
    pthread_cond_broadcast(&pf->cv);
    pthread_mutex_unlock(&pf->mu);
    pthread_join(pf->thread, NULL);
    pthread_mutex_destroy(&pf->mu);
    pthread_cond_destroy(&pf->cv);
    for (k = 0; k < PF_BATCHES; k++) {
        free(pf->b[k].buf);
    }
}

/* ---- strict mode -------------------------------------------------------- */

static int strict_input(struct run *r, const struct store_event *ev,
                        struct core_in *in)
{
    memset(in, 0, sizeof *in);
    in->t_ns = ev->mono_ns;
    in->conn_id = (uint32_t)ev->conn_id;
    switch (ev->kind) {
    case STORE_K_OPERATOR:
        if (ev->payload_len >= 5 && memcmp(ev->payload, "START", 5) == 0) {
            in->kind = CORE_IN_START;
            in->server_ms = ev->status;
        } else if (ev->payload_len >= 4 &&
                   memcmp(ev->payload, "STOP", 4) == 0) {
            in->kind = CORE_IN_STOP;
        } else {
            in->kind = CORE_IN_RESET;
        }
        return 1;
    case STORE_K_SIGNAL:
        in->kind = CORE_IN_STOP;
        return 1;
    case STORE_K_WS_HANDSHAKE:
        in->kind = CORE_IN_CONN;
        in->input = CONN_I_WS_OPEN;
        return 1;
    case STORE_K_WS_CLOSED:
    case STORE_K_WS_ERROR:
        in->kind = CORE_IN_CONN;
        in->input = CONN_I_WS_CLOSED;
        return 1;
    case STORE_K_WS_TEXT:
        if (ev->dir != STORE_D_IN) {
            return 0;
        }
        in->kind = CORE_IN_FRAME;
        in->data = ev->payload;
        in->len = ev->payload_len;
        r->sum->frames++;
        return 1;
    case STORE_K_HTTP_RESPONSE:
    case STORE_K_HTTP_ERROR:
        in->kind = CORE_IN_HTTP;
        in->http_status = ev->kind == STORE_K_HTTP_ERROR ? 0 : (int)ev->status;
        in->data = ev->payload;
        in->len = ev->payload_len;
        return 1;
    case STORE_K_TIMER:
        in->kind = CORE_IN_TIMER;
        in->timer = (uint8_t)ev->status;
        r->sum->timers_fired++;
        return 1;
    case STORE_K_DELIVERY:
        in->kind = CORE_IN_PUB;
        in->input = ev->status == 0 ? PUB_I_PUBLISH_SUCCESS
                                    : PUB_I_PUBLISH_FAILURE;
        return 1;
    case STORE_K_ADMIN:
        in->kind = CORE_IN_PUB;
        in->input = ev->status == 0 ? PUB_I_TOPIC_CREATED : PUB_I_TOPIC_FAILED;
        return 1;
    default:
        return 0;
    }
}

/* First differing line of two action texts, for the report. */
static void describe_divergence(struct run *r, int64_t seq, const char *got,
                                size_t gn, const char *want, size_t wn)
{
    size_t i = 0, line = 1, ls = 0, ge, we;

    while (i < gn && i < wn && got[i] == want[i]) {
        if (got[i] == '\n') {
            line++;
            ls = i + 1;
        }
        i++;
    }
    for (ge = ls; ge < gn && got[ge] != '\n'; ge++) {
    }
    for (we = ls; we < wn && want[we] != '\n'; we++) {
    }
    snprintf(r->sum->divergence, sizeof r->sum->divergence,
             "first divergence after input seq %" PRId64 ", action line %zu:"
             "\n  recorded: %.*s\n  replayed: %.*s",
             seq, line, (int)(we - ls), ls < wn ? want + ls : "",
             (int)(ge - ls), ls < gn ? got + ls : "");
}

static int run_strict(struct run *r, struct prefetch *rd)
{
    struct store_event ev;
    struct core_in in;
    int64_t last_seq = 0;
    bool awaiting = false;
    int rc;

    while ((rc = pf_next(rd, &ev)) == MD_OK) {
        r->sum->events++;
        if (ev.kind == STORE_K_CORE_OUT) {
            if (!awaiting) {
                continue;
            }
            awaiting = false;
            if (ev.payload_len != r->outlen ||
                (r->outlen > 0 &&
                 memcmp(ev.payload, r->outbuf, r->outlen) != 0)) {
                r->sum->divergences = 1;
                describe_divergence(r, last_seq, r->outbuf, r->outlen,
                                    ev.payload, ev.payload_len);
                return MD_E_STATE;
            }
            continue;
        }
        if (awaiting) {
            r->sum->divergences = 1;
            snprintf(r->sum->divergence, sizeof r->sum->divergence,
                     "input seq %" PRId64 " has no recorded actions", last_seq);
            return MD_E_STATE;
        }
        if (!strict_input(r, &ev, &in)) {
            continue;
        }
        if (r->t0 == INT64_MIN) {
            r->t0 = ev.mono_ns;
        }
        rc = step(r, &in);
        if (rc != MD_OK) {
            return rc;
        }
        last_seq = ev.seq;
        awaiting = true;
    }
    if (rc != MD_E_NOTFOUND) {
        return rc;
    }
    r->sum->span_ns = r->now - r->t0;
    return MD_OK;
}

/* ---- what-if mode ----------------------------------------------------- */

static int run_whatif(struct run *r, struct prefetch *rd, int64_t wall0)
{
    struct store_event ev;
    struct core_in in;
    int64_t last_t = 0;
    bool started = false;
    int rc;
    char opmeta[64];

    while ((rc = pf_next(rd, &ev)) == MD_OK && r->rc == MD_OK) {
        int64_t t = ev.mono_ns;
        unsigned k;

        r->sum->events++;
        if (!started) {
            r->t0 = t;
            r->now = t;
            /* operator commands at 0 come before the start */
            for (k = 0; k < r->o->n_inject; k++) {
                struct rpl_inject *ij = &r->o->inject[k];
                if (ij->at_ns != 0 || ij->used ||
                    (ij->kind != RPL_INJ_STOP && ij->kind != RPL_INJ_RESET)) {
                    continue;
                }
                ij->used = true;
                memset(&in, 0, sizeof in);
                in.kind = ij->kind == RPL_INJ_STOP ? CORE_IN_STOP
                                                   : CORE_IN_RESET;
                in.t_ns = t;
                record_input(r, STORE_K_OPERATOR, STORE_D_LOCAL, 0, t, 0,
                             ij->kind == RPL_INJ_STOP
                                 ? "{\"command\":\"STOP\"}"
                                 : "{\"command\":\"RESET\"}",
                             ij->kind == RPL_INJ_STOP ? "STOP" : "RESET",
                             ij->kind == RPL_INJ_STOP ? 4 : 5);
                rc = step(r, &in);
                if (rc != MD_OK) {
                    return rc;
                }
            }
            memset(&in, 0, sizeof in);
            in.kind = CORE_IN_START;
            in.t_ns = t;
            in.server_ms = (wall0 > 0 ? wall0 : ev.wall_ns) / NS_PER_MS;
            snprintf(opmeta, sizeof opmeta, "{\"command\":\"START\"}");
            record_input(r, STORE_K_OPERATOR, STORE_D_LOCAL, 0, t,
                         in.server_ms, opmeta, "START", 5);
            rc = step(r, &in);
            if (rc != MD_OK) {
                return rc;
            }
            started = true;
        }
        /* injected operator commands */
        for (k = 0; k < r->o->n_inject; k++) {
            struct rpl_inject *ij = &r->o->inject[k];
            int64_t at = r->t0 + ij->at_ns;
            static const char *const cmd[] = {"STOP", "RESET", "START"};
            int which;
            if (ij->used || t - r->t0 < ij->at_ns ||
                (ij->kind != RPL_INJ_STOP && ij->kind != RPL_INJ_RESET &&
                 ij->kind != RPL_INJ_START)) {
                continue;
            }
            ij->used = true;
            rc = drain_pending(r, at);
            if (rc == MD_OK) {
                rc = fire_due(r, at);
            }
            if (rc != MD_OK) {
                return rc;
            }
            which = ij->kind == RPL_INJ_STOP ? 0 : ij->kind == RPL_INJ_RESET
                                                       ? 1
                                                       : 2;
            memset(&in, 0, sizeof in);
            in.kind = which == 0 ? CORE_IN_STOP
                                 : which == 1 ? CORE_IN_RESET : CORE_IN_START;
            in.t_ns = at > r->now ? at : r->now;
            in.server_ms = which == 2 ? (r->wall0 + (in.t_ns - r->t0)) /
                                            NS_PER_MS
                                      : 0;
            snprintf(opmeta, sizeof opmeta, "{\"command\":\"%s\"}",
                     cmd[which]);
            record_input(r, STORE_K_OPERATOR, STORE_D_LOCAL, 0, in.t_ns,
                         in.server_ms, opmeta, cmd[which],
                         strlen(cmd[which]));
            rc = step(r, &in);
            if (rc != MD_OK) {
                return rc;
            }
        }
        /* injected frames: on the open socket, if there is one */
        for (k = 0; k < r->o->n_inject; k++) {
            struct rpl_inject *ij = &r->o->inject[k];
            int64_t at = r->t0 + ij->at_ns;
            unsigned w;
            if (ij->kind != RPL_INJ_FRAME || ij->used ||
                t - r->t0 < ij->at_ns) {
                continue;
            }
            ij->used = true;
            rc = drain_pending(r, at);
            if (rc == MD_OK) {
                rc = fire_due(r, at);
            }
            for (w = 0; rc == MD_OK && w < r->n_ws; w++) {
                if (r->ws[w].core_id == r->core->conn.conn_id &&
                    r->ws[w].core_id != 0 && !r->ws[w].closed_by_core) {
                    rc = feed_ws(r, &r->ws[w], STORE_K_WS_TEXT,
                                 at > r->now ? at : r->now, 0, ij->text,
                                 strlen(ij->text));
                    break;
                }
            }
            if (rc != MD_OK) {
                return rc;
            }
        }
        /* injected drops */
        for (k = 0; k < r->o->n_inject; k++) {
            struct rpl_inject *ij = &r->o->inject[k];
            if (ij->kind == RPL_INJ_DROP && !ij->used &&
                t - r->t0 >= ij->at_ns) {
                unsigned w;
                ij->used = true;
                for (w = 0; w < r->n_ws; w++) {
                    if (r->ws[w].core_id == r->core->conn.conn_id &&
                        !r->ws[w].closed_by_core) {
                        int64_t at = r->t0 + ij->at_ns;
                        rc = drain_pending(r, at);
                        if (rc == MD_OK) {
                            rc = fire_due(r, at);
                        }
                        if (rc == MD_OK) {
                            rc = feed_ws(r, &r->ws[w], STORE_K_WS_CLOSED,
                                         at > r->now ? at : r->now, 1006,
                                         NULL, 0);
                        }
                        if (rc != MD_OK) {
                            return rc;
                        }
                    }
                }
            }
        }
        rc = drain_pending(r, t);
        if (rc == MD_OK) {
            rc = fire_due(r, t);
        }
        if (rc != MD_OK) {
            return rc;
        }
        if (t < r->now) {
            t = r->now; /* never backwards */
        }
        switch (ev.kind) {
        case STORE_K_WS_HANDSHAKE:
        case STORE_K_WS_TEXT:
        case STORE_K_WS_CLOSED:
        case STORE_K_WS_ERROR: {
            struct wsmap *w = ws_of(r, ev.conn_id);
            if (w == NULL || (ev.kind == STORE_K_WS_TEXT &&
                              ev.dir != STORE_D_IN)) {
                break;
            }
            if (w->shift_ns > 0 && !w->deferred) {
                /* a connection played later than recorded */
                struct pend p;
                memset(&p, 0, sizeof p);
                p.t = ev.mono_ns + w->shift_ns;
                p.kind = PEND_WS;
                p.store_kind = ev.kind;
                p.status = ev.status;
                p.conn_id = (uint32_t)(w - r->ws);
                if (ev.payload_len > 0) {
                    p.data = malloc(ev.payload_len);
                    if (p.data == NULL) {
                        rc = MD_E_NOMEM;
                        break;
                    }
                    memcpy(p.data, ev.payload, ev.payload_len);
                    p.len = ev.payload_len;
                }
                rc = heap_push(&r->heap, p);
                break;
            }
            rc = feed_ws(r, w, ev.kind, t, ev.status, ev.payload,
                         ev.payload_len);
            break;
        }
        default:
            break; /* REST exchanges are answered from the book */
        }
        if (rc != MD_OK) {
            return rc;
        }
        last_t = t;
        if (r->o->progress && (r->sum->events & 0xffff) == 0) {
            fprintf(stderr, "\rreplay: %" PRIu64 " events, %" PRIu64
                    " bars, virtual %.0f s   ", r->sum->events, r->sum->bars,
                    (double)(t - r->t0) / 1e9);
        }
        if (r->o->speed > 0 && r->now > r->t0) {
            /* real time x speed: sleep until this event's turn */
            static struct timespec start;
            struct timespec now_ts;
            double due, el;
            if (start.tv_sec == 0) {
                clock_gettime(CLOCK_MONOTONIC, &start);
            }
            due = (double)(t - r->t0) / 1e9 / r->o->speed;
            clock_gettime(CLOCK_MONOTONIC, &now_ts);
            el = (double)(now_ts.tv_sec - start.tv_sec) +
                 (double)(now_ts.tv_nsec - start.tv_nsec) / 1e9;
            if (due > el) {
                struct timespec d;
                d.tv_sec = (time_t)(due - el);
                d.tv_nsec = (long)((due - el - (double)d.tv_sec) * 1e9);
                nanosleep(&d, NULL);
            }
        }
    }
    if (rc != MD_E_NOTFOUND) {
        return rc != MD_OK ? rc : r->rc;
    }
    /* the end of the capture: deliver what is pending, stop, drain */
    rc = drain_pending(r, last_t + NS_PER_MS);
    if (rc == MD_OK) {
        rc = fire_due(r, last_t + NS_PER_MS);
    }
    if (rc != MD_OK) {
        return rc;
    }
    memset(&in, 0, sizeof in);
    in.kind = CORE_IN_STOP;
    in.t_ns = r->now > last_t + NS_PER_MS ? r->now : last_t + NS_PER_MS;
    record_input(r, STORE_K_OPERATOR, STORE_D_LOCAL, 0, in.t_ns, 0,
                 "{\"command\":\"STOP\"}", "STOP", 4);
    rc = step(r, &in);
    if (rc == MD_OK) {
        rc = drain_pending(r, in.t_ns + STOP_GRACE_NS);
    }
    if (rc == MD_OK) {
        rc = fire_due(r, in.t_ns + STOP_GRACE_NS);
    }
    if (rc == MD_OK) {
        rc = drain_pending(r, in.t_ns + STOP_GRACE_NS);
    }
    r->sum->span_ns = r->now - r->t0;
    return rc != MD_OK ? rc : r->rc;
}

/* ---- public -------------------------------------------------------------- */

void rpl_opts_default(struct rpl_opts *o)
{
    memset(o, 0, sizeof *o);
}

int rpl_add_inject(struct rpl_opts *o, const char *spec)
{
    static const struct {
        const char *name;
        uint8_t kind;
    } names[] = {
        {"publish-fail", RPL_INJ_PUBLISH_FAIL},
        {"topic-fail", RPL_INJ_TOPIC_FAIL},
        {"drop", RPL_INJ_DROP},
        {"rest-fail", RPL_INJ_REST_FAIL},
        {"stop", RPL_INJ_STOP},
        {"reset", RPL_INJ_RESET},
        {"start", RPL_INJ_START},
        {"frame", RPL_INJ_FRAME},
        {"slow-close", RPL_INJ_SLOW_CLOSE},
        {"rest-param", RPL_INJ_REST_PARAM},
        {"kafka-slow", RPL_INJ_KAFKA_SLOW},
        {"stall", RPL_INJ_STALL},
    };
    char tbuf[64];
    const char *colon, *tend;
    size_t tl;
    const char *at = strchr(spec, '@');
    char *end;
    double v;
    size_t i;

    if (at == NULL || o->n_inject == RPL_MAX_INJECT) {
        return MD_E_INVAL;
    }
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if ((size_t)(at - spec) == strlen(names[i].name) &&
            strncmp(spec, names[i].name, (size_t)(at - spec)) == 0) {
            break;
        }
    }
    if (i == sizeof names / sizeof names[0]) {
        return MD_E_INVAL;
    }
    /* frame@T:TEXT: the time ends at the first ':' */
    colon = names[i].kind == RPL_INJ_FRAME ? strchr(at + 1, ':') : NULL;
    if (names[i].kind == RPL_INJ_FRAME &&
        (colon == NULL || strlen(colon + 1) >= RPL_INJECT_TEXT_MAX)) {
        return MD_E_INVAL;
    }
    tend = colon != NULL ? colon : at + 1 + strlen(at + 1);
    tl = (size_t)(tend - (at + 1));
    if (tl == 0 || tl >= sizeof tbuf) {
        return MD_E_INVAL;
    }
    memcpy(tbuf, at + 1, tl);
    tbuf[tl] = '\0';
    errno = 0;
    v = strtod(tbuf, &end);
    if (errno != 0 || end == tbuf || v < 0) {
        return MD_E_INVAL;
    }
    if (strcmp(end, "ns") == 0) {
        v /= 1e9;
    } else if (strcmp(end, "us") == 0) {
        v /= 1e6;
    } else if (strcmp(end, "ms") == 0) {
        v /= 1e3;
    } else if (strcmp(end, "m") == 0) {
        v *= 60;
    } else if (strcmp(end, "h") == 0) {
        v *= 3600;
    } else if (strcmp(end, "s") != 0 && *end != '\0') {
        return MD_E_INVAL;
    }
    o->inject[o->n_inject].kind = names[i].kind;
    o->inject[o->n_inject].at_ns = (int64_t)(v * 1e9);
    o->inject[o->n_inject].used = false;
    o->inject[o->n_inject].text[0] = '\0';
    if (colon != NULL) {
        snprintf(o->inject[o->n_inject].text, RPL_INJECT_TEXT_MAX, "%s",
                 colon + 1);
    }
    o->n_inject++;
    return MD_OK;
}

int rpl_run(struct rpl_opts *o, struct rpl_summary *sum, char *errbuf,
            size_t errlen)
{
    struct run *r = calloc(1, sizeof *r);
    struct store_reader *rd = NULL;
    struct store_session sess;
    struct timespec a, b;
    int rc;
    bool recorded = false;

    memset(sum, 0, sizeof *sum);
    if (r == NULL || (r->core = calloc(1, sizeof *r->core)) == NULL) {
        free(r);
        snprintf(errbuf, errlen, "out of memory");
        return MD_E_NOMEM;
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    r->o = o;
    r->sum = sum;
    r->err = errbuf;
    r->errlen = errlen;
    r->t0 = INT64_MIN;
    r->tt.first = INT64_MAX;
    if (o->step) {
        r->tty = fopen("/dev/tty", "r");
        if (r->tty == NULL) {
            snprintf(errbuf, errlen, "--step needs a terminal (/dev/tty)");
            rc = MD_E_USAGE;
            goto out;
        }
    }
    rc = store_reader_open(o->capture, &rd, errbuf, errlen);
    if (rc != MD_OK) {
        goto out;
    }
    rc = store_reader_session(rd, 0, &sess);
    if (rc != MD_OK) {
        snprintf(errbuf, errlen, "%s: no session recorded", o->capture);
        rc = MD_E_CORRUPT;
        goto out;
    }
    recorded = sess.kind != NULL && strcmp(sess.kind, "synth") != 0 &&
               strcmp(sess.kind, "import") != 0;
    r->strict = o->mode == RPL_STRICT || (o->mode == RPL_AUTO && recorded &&
                                          o->n_inject == 0);
    if (r->strict && !recorded) {
        snprintf(errbuf, errlen, "%s: a '%s' capture holds no recorded core "
                 "inputs; strict replay needs a recording (--record)",
                 o->capture, sess.kind ? sess.kind : "?");
        rc = MD_E_INVAL;
        goto out;
    }
    sum->mode = r->strict ? RPL_STRICT : RPL_WHATIF;
    rc = configure(r, sess.config);
    if (rc != MD_OK) {
        goto out;
    }
    r->cfg.seed = sess.prng_seed;
    {
        /* the core's tables, sized from the configuration; malloc'd, not
         * zeroed: pages the core never touches are never resident */
        size_t need = core_mem_size(&r->cfg);
        r->core_mem = need != SIZE_MAX ? malloc(need) : NULL;
        rc = r->core_mem != NULL ? core_init(r->core, &r->cfg, r->core_mem,
                                             need)
                                 : MD_E_NOMEM;
    }
    if (rc != MD_OK) {
        snprintf(errbuf, errlen, "bad configuration: %s", md_strerror(rc));
        goto out;
    }
    {
        size_t cap = r->cfg.n_series > SINK_MIN ? r->cfg.n_series : SINK_MIN;
        r->sink = malloc(cap * sizeof *r->sink);
        if (r->sink == NULL) {
            snprintf(errbuf, errlen, "out of memory");
            rc = MD_E_NOMEM;
            goto out;
        }
        core_set_bar_sink(r->core, r->sink, cap);
    }
    r->wall0 = sess.started_wall_ns;
    if (!r->strict) {
        rc = book_load(&r->book, o->capture, errbuf, errlen);
        if (rc != MD_OK) {
            goto out;
        }
    }
    if (o->record != NULL) {
        struct store_session rs = sess;
        char cfgjson[512];
        snprintf(cfgjson, sizeof cfgjson,
                 "{\"symbols\":\"%s\",\"exchange\":\"%s\",\"quote\":\"%s\","
                 "\"intervals\":\"%s\",\"replayed\":\"%s\"}",
                 o->symbols ? o->symbols : "BTC,ETH,LTC",
                 o->exchange ? o->exchange : "Coinbase",
                 o->quote ? o->quote : "USD",
                 o->intervals ? o->intervals : "1m", "capture");
        rs.kind = "record";
        rs.tool = "ccstream " CCSTREAM_VERSION;
        rs.config = sess.config != NULL ? sess.config : cfgjson;
        rc = store_writer_open(o->record, &rs, NULL, NULL, &r->rec, errbuf,
                               errlen);
        if (rc != MD_OK) {
            goto out;
        }
    }
    if (o->bars != NULL && o->bars_fmt == RPL_BARS_TABLE) {
        fprintf(o->bars, "%-16s  %-8s %-8s %-3s %-6s %12s %12s %12s %12s "
                "%14s %6s %-3s %-8s\n", "bar start (UTC)", "market", "pair",
                "iv", "source", "open", "high", "low", "close", "volume",
                "trades", "rev", "reason");
    }
    {
        struct prefetch *pf = calloc(1, sizeof *pf);
        if (pf == NULL || pf_start(pf, rd) != MD_OK) {
            free(pf);
            snprintf(errbuf, errlen, "cannot start the read-ahead thread");
            rc = MD_E_NOMEM;
            goto out;
        }
        rc = r->strict ? run_strict(r, pf)
                       : run_whatif(r, pf, sess.started_wall_ns);
        pf_stop(pf);
        sum->cpu_read = pf->cpu;
        if (rc == MD_E_CORRUPT || rc == MD_E_IO) {
            snprintf(errbuf, errlen, "%s", store_reader_errmsg(rd));
        }
        free(pf);
    }
    if (o->progress) {
        fprintf(stderr, "\r%60s\r", "");
    }
out:
    {
        const struct agg_stats *as = &r->core->feed.agg.st;
        sum->duplicates = as->duplicates;
        sum->late_revisions = as->late_revisions;
        sum->late_dropped = as->late_dropped;
        sum->malformed = r->core->feed.st.malformed + r->core->feed.st.truncated;
        sum->streams_full = as->streams_full;
        sum->ticker_overflow = r->core->feed.st.ticker_overflow;
        sum->sink_full = r->core->st.sink_full;
        sum->max_streams = r->core->cfg.agg.max_streams;
        sum->max_tickers = r->core->feed.max_tickers;
    }
    if (r->rec != NULL) {
        char e2[256];
        int rc2 = store_writer_close(r->rec, e2, sizeof e2);
        if (rc2 != MD_OK && rc == MD_OK) {
            snprintf(errbuf, errlen, "%s", e2);
            rc = rc2;
        }
    }
    store_reader_close(rd);
    if (r->tty != NULL) {
        fclose(r->tty);
    }
    while (r->heap.n > 0) {
        struct pend p = heap_pop(&r->heap);
        free(p.data);
    }
    free(r->heap.v);
    {
        unsigned k;
        size_t i;
        for (k = 0; k < r->n_ws; k++) {
            for (i = 0; i < r->ws[k].nparked; i++) {
                free(r->ws[k].parked[i].data);
            }
            free(r->ws[k].parked);
        }
    }
    book_free(&r->book);
    free(r->outbuf);
    free(r->core);
    free(r->core_mem);
    free(r->sink);
    free(r->cfg.series);
    free(r);
    clock_gettime(CLOCK_MONOTONIC, &b);
    sum->cpu_core = thread_cpu();
    sum->seconds = (double)(b.tv_sec - a.tv_sec) +
                   (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    return rc;
}

void rpl_print_summary(FILE *f, const struct rpl_summary *s)
{
    char transitions[32];

    if (s->traced) {
        snprintf(transitions, sizeof transitions, "%" PRIu64, s->transitions);
    } else {
        snprintf(transitions, sizeof transitions, "not counted (no trace)");
    }
    fprintf(f,
            "replay (%s): %" PRIu64 " events, %" PRIu64 " frames, %" PRIu64
            " core inputs, %" PRIu64 " timers in %.1f s of virtual time "
            "(%.2f s wall; CPU %.2f s core, %.2f s read-ahead)\n"
            "  bars %" PRIu64 " (%" PRIu64 " revisions, %" PRIu64
            " from REST); trades: %" PRIu64 " duplicates, %" PRIu64
            " late revisions, %" PRIu64 " too late; %" PRIu64
            " malformed frames\n"
            "  transitions %s; REST answered %" PRIu64 ", missed %"
            PRIu64 "; deliveries failed %" PRIu64 "\n",
            s->mode == RPL_STRICT ? "strict" : "what-if", s->events, s->frames,
            s->inputs, s->timers_fired, (double)s->span_ns / 1e9, s->seconds,
            s->cpu_core, s->cpu_read,
            s->bars, s->revisions, s->rest_bars, s->duplicates,
            s->late_revisions, s->late_dropped, s->malformed, transitions,
            s->rest_matched, s->rest_misses, s->deliveries_failed);
    /* data the core's tables had no room for: never silent */
    if (s->streams_full > 0) {
        fprintf(f, "  streams full: %" PRIu64 " events of pairs beyond the "
                "%u streams held were not aggregated\n", s->streams_full,
                s->max_streams);
    }
    if (s->ticker_overflow > 0) {
        fprintf(f, "  tickers full: %" PRIu64 " TYPE 2/5 updates of pairs "
                "beyond the %u held were not merged\n", s->ticker_overflow,
                s->max_tickers);
    }
    if (s->sink_full > 0) {
        fprintf(f, "  bar sink full: %" PRIu64 " (closing bars waited for "
                "the next step; REST bars were lost)\n", s->sink_full);
    }
    if (s->divergences > 0) {
        fprintf(f, "  STRICT MODE DIVERGENCE: %s\n", s->divergence);
    }
}
