/* collect.c: the report's observer of a replay. See collect.h. */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "cc_decode.h"
#include "collect.h"
#include "core.h"
#include "md_err.h"

static const char *const type_names[RC_T__COUNT] = {
    "0 trade", "2 ticker", "3 loadcomplete", "5 cccagg", "16-18 sub",
    "20 welcome", "24 ohlc", "401/429/500 error", "999 heartbeat", "other",
};

const char *rc_type_name(int t)
{
    return t >= 0 && t < RC_T__COUNT ? type_names[t] : "?";
}

void rc_init(struct rc_session *s)
{
    memset(s, 0, sizeof *s);
    s->width = INT64_C(1000000000);
}

void rc_free(struct rc_session *s)
{
    free(s->conn);
    free(s->call);
    free(s->chg);
    free(s->bud);
    free(s->mark);
    free(s->gap);
    free(s->sil);
    memset(s, 0, sizeof *s);
}

/* Room for one more entry of a list; NULL when it is full (counted) or
 * out of memory (s->rc). */
static void *more(struct rc_session *s, void **v, size_t *n, size_t *cap,
                  size_t size)
{
    if (*n >= RC_LIST_MAX) {
        s->lost++;
        return NULL;
    }
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        void *nv = realloc(*v, c * size);
        if (nv == NULL) {
            s->rc = MD_E_NOMEM;
            return NULL;
        }
        *v = nv;
        *cap = c;
    }
    return (char *)*v + (*n)++ * size;
}

#define MORE(s, f) more((s), (void **)&(s)->f, &(s)->n_##f, &(s)->cap_##f, \
                        sizeof *(s)->f)

/* Halve the resolution: bucket pairs merge (counts add, longest wins). */
static void coarsen(struct rc_session *s)
{
    unsigned i, t;

    for (i = 0; i < RC_BUCKETS / 2; i++) {
        for (t = 0; t < RC_T__COUNT; t++) {
            s->frames[t][i] = s->frames[t][2 * i] + s->frames[t][2 * i + 1];
        }
        s->silence[i] = s->silence[2 * i] > s->silence[2 * i + 1]
                            ? s->silence[2 * i] : s->silence[2 * i + 1];
        s->hb_gap[i] = s->hb_gap[2 * i] > s->hb_gap[2 * i + 1]
                           ? s->hb_gap[2 * i] : s->hb_gap[2 * i + 1];
        s->rest_sent[i] = s->rest_sent[2 * i] + s->rest_sent[2 * i + 1];
        s->lag_max[i] = s->lag_n[2 * i + 1] == 0 ? s->lag_max[2 * i]
                        : s->lag_n[2 * i] == 0 ? s->lag_max[2 * i + 1]
                        : s->lag_max[2 * i] > s->lag_max[2 * i + 1]
                            ? s->lag_max[2 * i] : s->lag_max[2 * i + 1];
        s->lag_sum_ms[i] = s->lag_sum_ms[2 * i] + s->lag_sum_ms[2 * i + 1];
        s->lag_n[i] = s->lag_n[2 * i] + s->lag_n[2 * i + 1];
    }
    for (t = 0; t < RC_T__COUNT; t++) {
        memset(&s->frames[t][RC_BUCKETS / 2], 0,
               RC_BUCKETS / 2 * sizeof s->frames[t][0]);
    }
    memset(&s->silence[RC_BUCKETS / 2], 0,
           RC_BUCKETS / 2 * sizeof s->silence[0]);
    memset(&s->hb_gap[RC_BUCKETS / 2], 0,
           RC_BUCKETS / 2 * sizeof s->hb_gap[0]);
    memset(&s->rest_sent[RC_BUCKETS / 2], 0,
           RC_BUCKETS / 2 * sizeof s->rest_sent[0]);
    memset(&s->lag_max[RC_BUCKETS / 2], 0,
           RC_BUCKETS / 2 * sizeof s->lag_max[0]);
    memset(&s->lag_sum_ms[RC_BUCKETS / 2], 0,
           RC_BUCKETS / 2 * sizeof s->lag_sum_ms[0]);
    memset(&s->lag_n[RC_BUCKETS / 2], 0, RC_BUCKETS / 2 * sizeof s->lag_n[0]);
    s->width *= 2;
    s->nb = (s->nb + 1) / 2;
}

unsigned rc_bucket(const struct rc_session *s, int64_t t)
{
    int64_t b = t > 0 ? t / s->width : 0;
    return b < RC_BUCKETS ? (unsigned)b : RC_BUCKETS - 1;
}

/* The bucket of t, the resolution halved until it fits. */
static unsigned at(struct rc_session *s, int64_t t)
{
    unsigned b;

    while (t > 0 && t / s->width >= RC_BUCKETS) {
        coarsen(s);
    }
    b = rc_bucket(s, t);
    if (b + 1 > s->nb) {
        s->nb = b + 1;
    }
    return b;
}

static int frame_type(const char *d, size_t n)
{
    static const char key[] = "\"TYPE\":\"";
    const char *p = d != NULL ? memmem(d, n, key, sizeof key - 1) : NULL;
    const char *end = d + n;
    long v = 0;
    int digits = 0;

    if (p == NULL) {
        return RC_T_OTHER;
    }
    /* the digits, within the frame (it has no NUL) */
    for (p += sizeof key - 1; p < end && *p >= '0' && *p <= '9' &&
                              digits < 6;
         p++, digits++) {
        v = v * 10 + (*p - '0');
    }
    if (digits == 0 || p >= end || *p != '"') {
        return RC_T_OTHER;
    }
    switch (v) {
    case 0:
        return RC_T_TRADE;
    case 2:
        return RC_T_TICKER;
    case 3:
        return RC_T_LOAD;
    case 5:
        return RC_T_AGG;
    case 16:
    case 17:
    case 18:
        return RC_T_SUB;
    case 20:
        return RC_T_WELCOME;
    case 24:
        return RC_T_OHLC;
    case 401:
    case 429:
    case 500:
        return RC_T_ERROR;
    case 999:
        return RC_T_HEARTBEAT;
    default:
        return RC_T_OTHER;
    }
}

/* A trade's lag: the session's wall clock at receipt minus its time. */
static void lag(struct rc_session *s, unsigned b, int64_t t, const char *d,
                size_t n)
{
    int64_t ts = cc_peek_int(d, n, "\"TS\":", 5);
    int64_t tsns = cc_peek_int(d, n, "\"TSNS\":", 7);
    int64_t l;

    if (s->wall0_ns == 0 || ts < 0 || ts > INT64_C(4102444800)) {
        return; /* no clock, or no time in it (before 2100) */
    }
    l = s->wall0_ns + t - (ts * 1000000000 + (tsns >= 0 && tsns < 1000000000
                                                  ? tsns : 0));
    if (s->lag_n[b] == 0 || l > s->lag_max[b]) {
        s->lag_max[b] = l;
    }
    s->lag_sum_ms[b] += l / 1000000;
    s->lag_n[b]++;
}

static struct rc_conn *conn_of(struct rc_session *s, uint64_t sock)
{
    size_t i = s->n_conn;

    while (i-- > 0) {
        if (s->conn[i].sock == sock) {
            return &s->conn[i];
        }
    }
    return NULL;
}

/* The connection still open (the latest), or NULL. */
static struct rc_conn *open_conn(struct rc_session *s)
{
    return s->n_conn > 0 && s->conn[s->n_conn - 1].t_end < 0
               ? &s->conn[s->n_conn - 1]
               : NULL;
}

static struct rc_call *open_call(struct rc_session *s)
{
    return s->n_call > 0 && s->call[s->n_call - 1].t_done < 0
               ? &s->call[s->n_call - 1]
               : NULL;
}

static void mark(struct rc_session *s, int64_t t, int note, uint64_t arg)
{
    struct rc_mark *m = MORE(s, mark);

    if (m != NULL) {
        m->t = t;
        m->note = note;
        m->arg = arg;
    }
}

static void why(struct rc_session *s, const char *w)
{
    struct rc_conn *c = open_conn(s);

    if (c != NULL && c->why == NULL) {
        c->why = w;
    }
}

/* A silence on the socket from `from` to t: its longest per bucket, and
 * the long ones whole. */
static void silence(struct rc_session *s, int64_t from, int64_t t)
{
    unsigned b = at(s, t);

    if (t - from > s->silence[b]) {
        s->silence[b] = t - from;
    }
    if (t - from >= RC_SILENCE_NS) {
        struct rc_gap *g = MORE(s, sil);
        if (g != NULL) {
            g->from = from;
            g->to = t;
        }
    }
}

static void on_frame(struct rc_session *s, int64_t t, const struct core_in *in)
{
    int ty = frame_type(in->data, in->len);
    unsigned b = at(s, t);
    struct rc_conn *c;

    s->frames[ty][b]++;
    s->type_total[ty]++;
    if (ty == RC_T_TRADE && in->data != NULL) {
        lag(s, b, t, in->data, in->len);
    }
    if (s->have_sock && in->conn_id == s->cur_sock) {
        int64_t gap;
        silence(s, s->last_frame, t);
        s->last_frame = t;
        if (ty == RC_T_HEARTBEAT) {
            gap = t - s->last_hb;
            if (gap > s->hb_gap[b]) {
                s->hb_gap[b] = gap;
            }
            s->last_hb = t;
        }
    }
    c = conn_of(s, in->conn_id);
    if (c != NULL) {
        c->frames++;
    }
}

static void on_conn(struct rc_session *s, int64_t t, const struct core_in *in)
{
    struct rc_conn *c = conn_of(s, in->conn_id);

    switch (in->input) {
    case CONN_I_WS_OPEN:
        if (c != NULL) {
            c->t_up = t;
        }
        s->cur_sock = in->conn_id;
        s->have_sock = true;
        s->last_frame = s->last_hb = t;
        break;
    case CONN_I_WS_CLOSED:
    case CONN_I_WS_REFUSED_AUTH:
    case CONN_I_WS_REFUSED_RATE:
        if (c != NULL && c->t_end < 0) {
            c->t_end = t;
            c->close_code = in->close_code;
            c->http_status = in->http_status;
            if (in->input == CONN_I_WS_REFUSED_AUTH) {
                c->why = "refused: the key (401)";
            } else if (in->input == CONN_I_WS_REFUSED_RATE) {
                c->why = "refused: too many sockets (429)";
            }
        }
        if (s->have_sock && in->conn_id == s->cur_sock) {
            silence(s, s->last_frame, t);
            s->have_sock = false;
        }
        break;
    default:
        break;
    }
}

static void on_timer(struct rc_session *s, int64_t t, const struct core_in *in)
{
    switch (in->timer) {
    case MD_T_CONN_HANDSHAKE:
        why(s, "handshake timeout");
        break;
    case MD_T_REST_TIMEOUT: {
        struct rc_call *k = open_call(s);
        if (k != NULL) {
            k->t_done = t;
            k->outcome = "timeout";
        }
        break;
    }
    default:
        break;
    }
}

static void on_note(struct rc_session *s, int64_t t, const struct md_action *a,
                    const struct core_in *in)
{
    /* what ended a connection: notes of the socket's own steps (a REST
     * answer's AUTH_FAILED is not the socket's) */
    bool sock = in->kind == CORE_IN_FRAME || in->kind == CORE_IN_CONN ||
                in->kind == CORE_IN_TIMER;

    if (a->note < sizeof s->notes / sizeof s->notes[0]) {
        s->notes[a->note]++;
    }
    switch (a->note) {
    case MD_N_GAP_OPEN: {
        struct rc_gap *g = MORE(s, gap);
        if (g != NULL) {
            g->from = t;
            g->to = -1;
        }
        break;
    }
    case MD_N_GAP_CLOSED:
        if (s->n_gap > 0 && s->gap[s->n_gap - 1].to < 0) {
            s->gap[s->n_gap - 1].to = t;
        }
        break;
    case MD_N_FORCE_DISCONNECT:
        if (sock) {
            why(s, "FORCE_DISCONNECT from the server");
        }
        break;
    case MD_N_PING_TIMEOUT:
        if (sock) {
            why(s, "ping unanswered");
        }
        break;
    case MD_N_SUBSCRIBE_TIMEOUT:
        if (sock) {
            why(s, "subscriptions not complete in time");
        }
        break;
    case MD_N_AUTH_FAILED:
        if (sock) {
            why(s, "the key refused (TYPE 401)");
        }
        break;
    case MD_N_TOO_MANY_SOCKETS:
        if (sock) {
            why(s, "TOO_MANY_SOCKETS");
        }
        break;
    default:
        break;
    }
    switch (a->note) {
    case MD_N_MALFORMED_FRAME:
    case MD_N_OTHER_FRAME:
    case MD_N_BARS_WAIT:
    case MD_N_STALE_REPORT:
        break; /* counted only: they can come by the thousand */
    default:
        mark(s, t, a->note, a->arg);
    }
}

static void budget(struct rc_session *s, int64_t t, const struct core *c)
{
    int p;

    for (p = 0; p < CC_P__COUNT; p++) {
        struct rc_budget_pt *pt;
        int64_t left;
        if (!(c->budget.has_max & (1u << p))) {
            continue;
        }
        left = c->budget.max[p] - c->budget.made[p];
        if ((s->budget_seen & (1u << p)) && s->budget_last[p] == left) {
            continue;
        }
        s->budget_seen |= 1u << p;
        pt = MORE(s, bud);
        if (pt != NULL) {
            pt->t = t;
            pt->window = (uint8_t)p;
            pt->left = left;
            pt->max = c->budget.max[p];
        }
        s->budget_last[p] = left;
    }
    if (c->budget.has_max != 0) {
        s->budget_known = true;
    }
}

static void observe(void *ctx, const struct loop *l, const struct core_in *in)
{
    struct rc_session *s = ctx;
    int64_t t = in->t_ns - l->t0;
    bool ping_lost = false;
    size_t i;

    s->stale_ns = l->core->cfg.conn.stale_timeout_ns;
    s->probe_ns = l->core->cfg.conn.probe_after_ns;
    if (t > s->t_end) {
        s->t_end = t;
    }
    switch (in->kind) {
    case CORE_IN_FRAME:
        on_frame(s, t, in);
        break;
    case CORE_IN_CONN:
        on_conn(s, t, in);
        break;
    case CORE_IN_TIMER:
        on_timer(s, t, in);
        break;
    case CORE_IN_HTTP: {
        struct rc_call *k = open_call(s);
        if (k != NULL) {
            k->t_done = t;
            k->status = in->http_status;
            k->bytes = in->len;
            k->outcome = "answered";
        }
        break;
    }
    default:
        break;
    }
    /* the notes first: they say why a connection ends (a ping unanswered
     * rather than the liveness timer that noticed it) */
    for (i = 0; i < l->out.n; i++) {
        if (l->out.a[i].kind == MD_A_NOTE) {
            on_note(s, t, &l->out.a[i], in);
            ping_lost |= l->out.a[i].note == MD_N_PING_TIMEOUT;
        }
    }
    for (i = 0; i < l->out.n; i++) {
        const struct md_action *a = &l->out.a[i];
        switch (a->kind) {
        case MD_A_TRACE:
            if (a->tr.machine == MD_M_CONN && a->tr.input == CONN_I_T_STALE &&
                a->tr.from != a->tr.to && !ping_lost) {
                /* the liveness timer also asks for pings: only a change
                 * of state is a stale detection */
                why(s, "stale: no data and no heartbeat");
                s->stale++;
                mark(s, t, RC_M_STALE, 0);
            }
            if (a->tr.from != a->tr.to) {
                struct rc_change *g = MORE(s, chg);
                if (g != NULL) {
                    g->t = t;
                    g->machine = a->tr.machine;
                    g->from = a->tr.from;
                    g->to = a->tr.to;
                    g->input = a->tr.input;
                }
            }
            if (in->kind == CORE_IN_HTTP && a->tr.machine == MD_M_REST &&
                a->tr.input >= REST_I_RESP_OK &&
                a->tr.input <= REST_I_RESP_FAIL &&
                s->n_call > 0 && s->call[s->n_call - 1].t_done == t) {
                s->call[s->n_call - 1].outcome =
                    core_defs[MD_M_REST]->input_names[a->tr.input];
            }
            break;
        case MD_A_WS_OPEN: {
            struct rc_conn *c = MORE(s, conn);
            if (c != NULL) {
                memset(c, 0, sizeof *c);
                c->sock = a->arg;
                c->t_open = t;
                c->t_up = c->t_end = -1;
            }
            break;
        }
        case MD_A_REST_SEND: {
            struct rc_call *k = MORE(s, call);
            at(s, t);
            s->rest_sent[rc_bucket(s, t)]++;
            if (k != NULL) {
                size_t n = a->p.req->target_len;
                memset(k, 0, sizeof *k);
                k->id = a->arg;
                k->t_send = t;
                k->t_done = -1;
                k->purpose = a->p.req->purpose;
                n = n < sizeof k->target - 1 ? n : sizeof k->target - 1;
                memcpy(k->target, a->p.req->target, n);
            }
            break;
        }
        case MD_A_REST_CANCEL: {
            struct rc_call *k = open_call(s);
            if (k != NULL && k->id == a->arg) {
                k->t_done = t;
                k->outcome = "cancelled";
            }
            break;
        }
        default:
            break;
        }
    }
    if (in->kind == CORE_IN_HTTP) {
        budget(s, t, l->core);
    }
}

const struct loop_observer *rc_observer(struct rc_session *s,
                                        struct loop_observer *o)
{
    o->ctx = s;
    o->step = observe;
    return o;
}
