/* loop.c: the executor (loop.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "md_err.h"

#define BAR_TEXT_MAX 2048

static mono_ns vclock_now(void *ctx)
{
    return ((struct loop_vclock *)ctx)->now;
}

void loop_driver_virtual(struct loop_driver *d, struct loop_vclock *vc)
{
    memset(d, 0, sizeof *d);
    d->ctx = vc;
    d->now = vclock_now;
}

void loop_init(struct loop *l, struct core *c, const struct loop_driver *drv,
               mono_ns t0)
{
    memset(l, 0, sizeof *l);
    l->core = c;
    if (drv != NULL) {
        l->drv = *drv;
    }
    l->t0 = t0;
    l->now = INT64_MIN;
    l->tt.first = INT64_MAX;
}

void loop_free(struct loop *l)
{
    free(l->text);
    l->text = NULL;
    l->len = l->cap = 0;
}

/* ---- the action text ---------------------------------------------------- */

static void text(struct loop *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void text(struct loop *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!l->want_text || l->rc != MD_OK) {
        return;
    }
    for (;;) {
        size_t room = l->cap - l->len;
        va_start(ap, fmt);
        n = vsnprintf(l->text != NULL ? l->text + l->len : NULL,
                      l->text != NULL ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            l->rc = MD_E_INVAL;
            return;
        }
        if (l->text != NULL && (size_t)n < room) {
            l->len += (size_t)n;
            return;
        }
        {
            size_t cap = l->cap ? l->cap * 2 : 4096;
            char *b;
            while (cap < l->len + (size_t)n + 1) {
                cap *= 2;
            }
            b = realloc(l->text, cap);
            if (b == NULL) {
                l->rc = MD_E_NOMEM;
                return;
            }
            l->text = b;
            l->cap = cap;
        }
    }
}

static void text_ids(struct loop *l, const char *what,
                     const struct md_bar *const *bars, size_t n)
{
    size_t k;

    text(l, "%s", what);
    for (k = 0; k < n; k++) {
        text(l, "%s%" PRIu64, k == 0 ? " " : ",", bars[k]->id);
    }
    text(l, "\n");
}

/* ---- timers -------------------------------------------------------------- */

static void tt_refresh(struct loop_timers *tt)
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
static void tt_arm(struct loop_timers *tt, int id, mono_ns deadline)
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

mono_ns loop_next_deadline(const struct loop *l)
{
    return l->tt.first;
}

/* ---- dispatch ------------------------------------------------------------ */

#define CALL(tab, ctx, fn, ...)                                           \
    do {                                                                  \
        if ((tab) != NULL && (tab)->fn != NULL) {                         \
            (tab)->fn((ctx), __VA_ARGS__);                                \
        }                                                                 \
    } while (0)

static void dispatch(struct loop *l, const struct md_action *a)
{
    mono_ns t = a->t_ns;
    size_t k;

    switch ((enum md_act_kind)a->kind) {
    case MD_A_TRACE: {
        const struct fsm_def *d = core_defs[a->tr.machine];
        const char *g = fsm_guard_label(d, &a->tr);
        text(l, "trace %s %s %s%s%s%s %s %s\n", d->name,
             d->state_names[a->tr.from], d->input_names[a->tr.input],
             g != NULL ? " [" : "", g != NULL ? g : "", g != NULL ? "]" : "",
             d->output_names[a->tr.output], d->state_names[a->tr.to]);
        CALL(l->sink, l->sink_ctx, trace, t, &a->tr);
        break;
    }
    case MD_A_ARM_TIMER:
        tt_arm(&l->tt, a->timer, a->deadline_ns);
        text(l, "arm %s %" PRId64 "\n", md_timer_name(a->timer),
             a->deadline_ns - l->t0);
        break;
    case MD_A_CANCEL_TIMER:
        l->tt.armed[a->timer] = false;
        tt_refresh(&l->tt);
        text(l, "cancel %s\n", md_timer_name(a->timer));
        break;
    case MD_A_WS_OPEN:
        text(l, "ws_open %" PRIu64 "\n", a->arg);
        CALL(l->ws, l->ws_ctx, open, t, a->arg);
        break;
    case MD_A_WS_SUBSCRIBE:
        text(l, "ws_subscribe %" PRIu64, a->arg);
        for (k = 0; k < a->n; k++) {
            text(l, "%s%s", k == 0 ? " " : ",", a->p.subs[k]);
        }
        text(l, "\n");
        CALL(l->ws, l->ws_ctx, subscribe, t, a->arg, a->p.subs, a->n);
        break;
    case MD_A_WS_CLOSE:
        text(l, "ws_close %" PRIu64 "\n", a->arg);
        CALL(l->ws, l->ws_ctx, close, t, a->arg);
        break;
    case MD_A_WS_PING:
        text(l, "ws_ping %" PRIu64 "\n", a->arg);
        CALL(l->ws, l->ws_ctx, ping, t, a->arg);
        break;
    case MD_A_REST_SEND:
        text(l, "rest_send %" PRIu64 " %s %.*s\n", a->arg, a->p.req->method,
             (int)a->p.req->target_len, a->p.req->target);
        CALL(l->http, l->http_ctx, send, t, a->arg, a->p.req);
        break;
    case MD_A_REST_CANCEL:
        text(l, "rest_cancel %" PRIu64 "\n", a->arg);
        CALL(l->http, l->http_ctx, cancel, t, a->arg);
        break;
    case MD_A_TOPIC_CREATE:
        text(l, "topic_create");
        for (k = 0; k < a->n; k++) {
            text(l, "%s%s", k == 0 ? " " : ",", a->p.topics[k]);
        }
        text(l, "\n");
        CALL(l->kafka, l->kafka_ctx, topic_create, t, a->p.topics, a->n);
        break;
    case MD_A_PRODUCE:
        text_ids(l, "produce", a->p.bars, a->n);
        CALL(l->kafka, l->kafka_ctx, produce, t, a->p.bars, a->n);
        break;
    case MD_A_DISCARD:
        text_ids(l, "discard", a->p.bars, a->n);
        CALL(l->kafka, l->kafka_ctx, discard, t, a->p.bars, a->n);
        break;
    case MD_A_DEAD_LETTER:
        text_ids(l, "dead_letter", a->p.bars, a->n);
        CALL(l->kafka, l->kafka_ctx, dead_letter, t, a->p.bars, a->n);
        break;
    case MD_A_PRODUCER_RESET:
        text(l, "producer_reset\n");
        CALL(l->kafka, l->kafka_ctx, producer_reset, t);
        break;
    case MD_A_FLUSH:
        text(l, "flush %" PRIu64 "\n", a->arg);
        CALL(l->kafka, l->kafka_ctx, flush, t, a->arg);
        break;
    case MD_A_BARS:
        text(l, "bars %zu\n", a->n);
        if (l->want_text && l->bar_json != NULL) {
            char js[BAR_TEXT_MAX];
            size_t n;
            for (k = 0; k < a->n; k++) {
                if (l->bar_json(&a->p.bars[k]->bar, js, sizeof js, &n) ==
                    MD_OK) {
                    text(l, "bar %" PRIu64 " %.*s\n", a->p.bars[k]->id,
                         (int)n, js);
                }
            }
        }
        CALL(l->sink, l->sink_ctx, bars, t, a->p.bars, a->n);
        break;
    case MD_A_NOTE:
        text(l, "note %s %" PRIu64 "\n", md_note_name(a->note), a->arg);
        CALL(l->sink, l->sink_ctx, note, t, a->note, a->arg);
        break;
    case MD_A_FETCH:
    case MD_A_FETCH_DONE:
    case MD_A_FETCH_FAILED:
    case MD_A_REQUEUE:
    case MD_A_REQUEUE_ALL:
    case MD_A_GAP_OPEN:
    case MD_A_GAP_CLOSED:
    case MD_A_INVALID:
    case MD_A__COUNT:
        break; /* internal: never in a step's out */
    }
}

int loop_step(struct loop *l, const struct core_in *in)
{
    size_t i;
    int rc;

    md_out_reset(&l->out);
    l->len = 0;
    rc = core_step(l->core, in, &l->out);
    if (rc != MD_OK) {
        return rc;
    }
    l->now = in->t_ns;
    for (i = 0; i < l->out.n; i++) {
        dispatch(l, &l->out.a[i]);
    }
    if (l->rec.actions != NULL && l->rc == MD_OK) {
        l->rec.actions(l->rec.ctx, in->t_ns, l->text, l->len);
    }
    if (l->obs != NULL && l->obs->step != NULL) {
        l->obs->step(l->obs->ctx, l, in);
    }
    return l->rc;
}

int loop_fire_due(struct loop *l, mono_ns t,
                  void (*before)(void *ctx, const struct core_in *in),
                  void *ctx)
{
    for (;;) {
        int best = -1, k, rc;
        struct core_in in;
        if (t < l->tt.first) {
            return MD_OK; /* nothing due: the common case, one comparison */
        }
        for (k = 1; k < MD_T__COUNT; k++) {
            if (l->tt.armed[k] && l->tt.deadline[k] <= t &&
                (best < 0 || l->tt.deadline[k] < l->tt.deadline[best])) {
                best = k;
            }
        }
        if (best < 0) {
            return MD_OK;
        }
        l->tt.armed[best] = false;
        tt_refresh(&l->tt);
        memset(&in, 0, sizeof in);
        in.kind = CORE_IN_TIMER;
        in.timer = (uint8_t)best;
        in.t_ns = l->tt.deadline[best] > l->now ? l->tt.deadline[best]
                                                : l->now;
        if (before != NULL) {
            before(ctx, &in);
        }
        rc = loop_step(l, &in);
        if (rc != MD_OK) {
            return rc;
        }
    }
}

int loop_compare(const char *got, size_t gn, const char *want, size_t wn,
                 int64_t seq, char *buf, size_t cap)
{
    size_t i = 0, line = 1, ls = 0, ge, we;

    if (gn == wn && (gn == 0 || memcmp(got, want, gn) == 0)) {
        return 0;
    }
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
    snprintf(buf, cap,
             "first divergence after input seq %" PRId64 ", action line %zu:"
             "\n  recorded: %.*s\n  replayed: %.*s",
             seq, line, (int)(we - ls), ls < wn ? want + ls : "",
             (int)(ge - ls), ls < gn ? got + ls : "");
    return 1;
}
