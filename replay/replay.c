/* replay.c: the replay driver (replay.h): configures the core from the
 * capture's session (config.c), reads the capture in order (prefetch.c) and runs it
 * in strict mode (re-feeds recorded inputs, compares the action text) or
 * what-if mode (the world of world.c plays the capture), through the
 * executor (loop/). All decisions are the core's. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bar_codec.h"
#include "md_err.h"
#include "md_parse.h"
#include "prefetch.h"
#include "outbox.h"
#include "replay_int.h"

/* rpl_interrupt: set from a signal handler, read between events */
static volatile sig_atomic_t g_interrupt;
#include "version.h"

/* ---- the configured pairs ----------------------------------------------- */

static void pair_key(struct pairkey *k, const char *market, const char *base,
                     const char *quote)
{
    snprintf(k->k, sizeof k->k, "%s %s %s", market, base, quote);
}

static int pair_cmp(const void *a, const void *b)
{
    return strcmp(((const struct pairkey *)a)->k,
                  ((const struct pairkey *)b)->k);
}

/* r->pairs from the core's series, sorted, each once. */
static int build_pairs(struct run *r)
{
    const struct core_config *c = &r->core->cfg;
    size_t i, n = 0;

    r->pairs = calloc(c->n_series > 0 ? c->n_series : 1, sizeof *r->pairs);
    r->seen = calloc(c->n_series > 0 ? c->n_series : 1, sizeof *r->seen);
    if (r->pairs == NULL || r->seen == NULL) {
        return MD_E_NOMEM;
    }
    for (i = 0; i < c->n_series; i++) {
        pair_key(&r->pairs[i], c->series[i].market, c->series[i].base,
                 c->series[i].quote);
    }
    qsort(r->pairs, c->n_series, sizeof *r->pairs, pair_cmp);
    for (i = 0; i < c->n_series; i++) {
        if (n == 0 || strcmp(r->pairs[n - 1].k, r->pairs[i].k) != 0) {
            r->pairs[n++] = r->pairs[i];
        }
    }
    r->n_pairs = n;
    return MD_OK;
}

long configured_pair(const struct run *r, const struct bar *b)
{
    struct pairkey k;
    const struct pairkey *hit;

    pair_key(&k, b->market, b->base, b->quote);
    hit = bsearch(&k, r->pairs, r->n_pairs, sizeof *r->pairs, pair_cmp);
    return hit != NULL ? (long)(hit - r->pairs) : -1;
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
        if (ev->status != 101 && ev->status != 0) {
            /* the upgrade refused: the socket's end, with the status */
            in->input = CONN_I_WS_CLOSED;
            in->http_status = (int)ev->status;
        }
        return 1;
    case STORE_K_WS_PONG:
        in->kind = CORE_IN_CONN;
        in->input = CONN_I_PONG;
        return 1;
    case STORE_K_WS_CLOSED:
    case STORE_K_WS_ERROR:
        in->kind = CORE_IN_CONN;
        in->input = CONN_I_WS_CLOSED;
        in->close_code = ev->kind == STORE_K_WS_CLOSED ? (int)ev->status
                                                        : 1006;
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
    case STORE_K_DELIVERY: {
        int64_t id = 0;
        char *cls = meta_str(ev->meta, "class");
        in->kind = CORE_IN_PUB;
        in->input = ev->status == 0 ? PUB_I_PUBLISH_SUCCESS
                                    : PUB_I_PUBLISH_FAILURE;
        if (cls != NULL) {
            in->input = strcmp(cls, "permanent") == 0
                            ? PUB_I_PUBLISH_REJECTED
                        : strcmp(cls, "queue_full") == 0 ? PUB_I_QUEUE_FULL
                        : strcmp(cls, "fatal") == 0 ? PUB_I_PRODUCER_FATAL
                        : strcmp(cls, "timed_out") == 0
                            ? PUB_I_PUBLISH_FAILURE
                            : PUB_I_INVALID;
            free(cls);
            if (in->input == PUB_I_INVALID || ev->status == 0) {
                return -1; /* an unknown class of failure */
            }
            if (in->input == PUB_I_PRODUCER_FATAL) {
                return 1; /* the producer's, no bar's */
            }
        }
        if (ev->meta == NULL || !meta_i64(ev->meta, NULL, "bar", &id) ||
            id <= 0) {
            return -1; /* a delivery report must name its bar */
        }
        in->bar_id = (uint64_t)id;
        return 1;
    }
    case STORE_K_ADMIN: {
        char *name = meta_str(ev->meta, "topic");
        size_t len = name != NULL ? strlen(name) : 0;
        in->kind = CORE_IN_PUB;
        in->input = ev->status == 0 ? PUB_I_TOPIC_CREATED : PUB_I_TOPIC_FAILED;
        if (len == 0 || len >= sizeof r->topic) {
            free(name);
            return -1; /* an Admin result must name its topic */
        }
        memcpy(r->topic, name, len + 1);
        free(name);
        in->data = r->topic;
        in->len = len;
        return 1;
    }
    default:
        return 0;
    }
}

/* An input recorded without its own core_out did what the input before
 * it did (the writer leaves out a core_out equal to the last one): its
 * actions compared with that; none before it is a recording cut short. */
static int same_as_before(struct run *r, const char *prev, size_t prevn,
                          int64_t seq)
{
    if (prev == NULL) {
        r->sum->divergences = 1;
        snprintf(r->sum->divergence, sizeof r->sum->divergence,
                 "input seq %" PRId64 " has no recorded actions", seq);
        return MD_E_STATE;
    }
    if (loop_compare(r->loop.text, r->loop.len, prev, prevn, seq,
                     r->sum->divergence, sizeof r->sum->divergence)) {
        r->sum->divergences = 1;
        return MD_E_STATE;
    }
    return MD_OK;
}

static int run_strict(struct run *r, struct prefetch *rd)
{
    struct store_event ev;
    struct core_in in;
    int64_t last_seq = 0;
    bool awaiting = false;
    char *prev = NULL;       /* the last recorded core_out */
    size_t prevn = 0, prevcap = 0;
    int rc;

    while ((rc = pf_next(rd, &ev)) == MD_OK) {
        r->sum->events++;
        if (ev.kind == STORE_K_CORE_OUT) {
            if (!awaiting) {
                continue;
            }
            awaiting = false;
            if (loop_compare(r->loop.text, r->loop.len, ev.payload,
                             ev.payload_len, last_seq, r->sum->divergence,
                             sizeof r->sum->divergence)) {
                r->sum->divergences = 1;
                free(prev);
                return MD_E_STATE;
            }
            if (ev.payload_len + 1 > prevcap) {
                /* grown only: no allocation per input on this path */
                char *np = realloc(prev, ev.payload_len + 1);
                if (np == NULL) {
                    free(prev);
                    snprintf(r->err, r->errlen, "out of memory");
                    return MD_E_NOMEM;
                }
                prev = np;
                prevcap = ev.payload_len + 1;
            }
            if (ev.payload_len > 0) {
                memcpy(prev, ev.payload, ev.payload_len);
            }
            prevn = ev.payload_len;
            continue;
        }
        /* what the shells sent between an input and its actions (a
         * frame, a request, a connection attempt) is not an input */
        rc = strict_input(r, &ev, &in);
        if (rc < 0) {
            snprintf(r->err, r->errlen, "%s: event seq %" PRId64 " (%s): "
                     "%s; recorded by another core version?",
                     r->o->capture, ev.seq, store_kind_name(ev.kind),
                     ev.kind == STORE_K_ADMIN
                         ? "an Admin result without its topic (meta "
                           "{\"topic\":NAME})"
                         : "a delivery report without its bar id or with "
                           "an unknown class (meta {\"bar\":N})");
            free(prev);
            return MD_E_CORRUPT;
        }
        if (rc == 0) {
            continue;
        }
        if (awaiting && (rc = same_as_before(r, prev, prevn, last_seq)) !=
                            MD_OK) {
            free(prev);
            return rc;
        }
        if (r->t0 == INT64_MIN) {
            r->t0 = ev.mono_ns;
        }
        rc = step(r, &in);
        if (rc != MD_OK) {
            free(prev);
            return rc;
        }
        last_seq = ev.seq;
        awaiting = true;
    }
    if (rc == MD_E_NOTFOUND && awaiting) {
        rc = same_as_before(r, prev, prevn, last_seq);
        rc = rc == MD_OK ? MD_E_NOTFOUND : rc;
    }
    free(prev);
    if (rc != MD_E_NOTFOUND) {
        return rc;
    }
    r->sum->span_ns = r->loop.now - r->t0;
    return MD_OK;
}

/* ---- what-if mode ----------------------------------------------------- */

static int checkpoint(struct run *r, int64_t seq);

static int run_whatif(struct run *r, struct prefetch *rd, int64_t wall0)
{
    struct store_event ev;
    struct core_in in;
    int64_t last_t = 0;
    bool started = false;
    int rc = MD_OK;
    char opmeta[64];

    while (!g_interrupt && (rc = pf_next(rd, &ev)) == MD_OK &&
           r->rc == MD_OK) {
        int64_t t = ev.mono_ns;
        unsigned k;

        if (r->t0 == INT64_MIN) {
            r->t0 = t; /* times of faults and --until count from here */
        }
        if (ev.seq <= r->resume_seq) {
            /* the checkpoint covers it; a connection of it is gone with
             * the process that had it (nothing more of it is played) */
            if (ev.kind == STORE_K_WS_HANDSHAKE) {
                struct wsmap *w = ws_of(r, ev.conn_id);
                if (w != NULL) {
                    w->closed_by_core = true;
                }
            }
            continue;
        }
        if (r->o->until_ns > 0 && t - r->t0 > r->o->until_ns) {
            rc = MD_E_NOTFOUND; /* the input ends here */
            break;
        }
        r->sum->events++;
        if (!started) {
            r->loop.now = t;
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
            /* the session's wall clock at this event (a resumed run
             * starts after the first) */
            in.server_ms = (wall0 > 0 ? wall0 + (t - r->t0) : ev.wall_ns) /
                           NS_PER_MS;
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
            in.t_ns = at > r->loop.now ? at : r->loop.now;
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
                if (r->ws[w].core_id == r->cur_sock &&
                    r->ws[w].core_id != 0 && !r->ws[w].closed_by_core) {
                    rc = feed_ws(r, &r->ws[w], STORE_K_WS_TEXT,
                                 at > r->loop.now ? at : r->loop.now, 0, ij->text,
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
                    if (r->ws[w].core_id == r->cur_sock &&
                        !r->ws[w].closed_by_core) {
                        int64_t at = r->t0 + ij->at_ns;
                        rc = drain_pending(r, at);
                        if (rc == MD_OK) {
                            rc = fire_due(r, at);
                        }
                        if (rc == MD_OK) {
                            rc = feed_ws(r, &r->ws[w], STORE_K_WS_CLOSED,
                                         at > r->loop.now ? at : r->loop.now, 1006,
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
        if (t < r->loop.now) {
            t = r->loop.now; /* never backwards */
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
        r->last_seq = ev.seq;
        if (r->ob != NULL && r->o->checkpoint_every_ns > 0 &&
            r->loop.now - r->ckpt_t >= r->o->checkpoint_every_ns) {
            rc = checkpoint(r, ev.seq);
            if (rc != MD_OK) {
                return rc;
            }
        }
        if (r->o->progress && (r->sum->events & 0xffff) == 0) {
            fprintf(stderr, "\rreplay: %" PRIu64 " events, %" PRIu64
                    " bars, virtual %.0f s   ", r->sum->events, r->sum->bars,
                    (double)(t - r->t0) / 1e9);
        }
        if (r->o->speed > 0 && r->loop.now > r->t0) {
            /* real time x speed: sleep until this event's turn */
            struct timespec now_ts, start;
            double due, el;
            if (r->speed0.tv_sec == 0 && r->speed0.tv_nsec == 0) {
                clock_gettime(CLOCK_MONOTONIC, &r->speed0);
            }
            start = r->speed0;
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
    if (g_interrupt && rc == MD_OK && r->rc == MD_OK) {
        r->sum->interrupted = true; /* stops here as at the end */
        rc = MD_E_NOTFOUND;
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
    in.t_ns = r->loop.now > last_t + NS_PER_MS ? r->loop.now : last_t + NS_PER_MS;
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
    if (rc == MD_OK && r->rc == MD_OK && r->ob != NULL) {
        /* what the run leaves: the open bars, the dedupe windows, the
         * backfill owed, covering the last event taken in */
        rc = checkpoint(r, r->last_seq > r->resume_seq ? r->last_seq
                                                       : r->resume_seq);
        if (rc == MD_OK) {
            rc = rpl_outbox_finish(r);
        }
    }
    r->sum->span_ns = r->loop.now - r->t0;
    return rc != MD_OK ? rc : r->rc;
}

/* ---- public -------------------------------------------------------------- */

void rpl_interrupt(void)
{
    g_interrupt = 1;
}

void rpl_opts_default(struct rpl_opts *o)
{
    memset(o, 0, sizeof *o);
}

/* --inject's kinds by name. */
static const struct {
    const char *name;
    uint8_t kind;
} inject_names[] = {
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
    {"refuse-auth", RPL_INJ_REFUSE_AUTH},
    {"refuse-rate", RPL_INJ_REFUSE_RATE},
    {"publish-reject", RPL_INJ_PUBLISH_REJECT},
    {"kafka-fatal", RPL_INJ_KAFKA_FATAL},
    {"queue-full", RPL_INJ_QUEUE_FULL},
    {"half-open", RPL_INJ_HALF_OPEN},
    {"rest-hang", RPL_INJ_REST_HANG},
};

const char *rpl_inject_name(int kind)
{
    size_t i;

    for (i = 0; i < sizeof inject_names / sizeof inject_names[0]; i++) {
        if (inject_names[i].kind == kind) {
            return inject_names[i].name;
        }
    }
    return "?";
}

int rpl_add_inject(struct rpl_opts *o, const char *spec)
{
    const char *colon, *tend;
    size_t tl;
    const char *at = strchr(spec, '@');
    int64_t at_ns;
    size_t i;

    if (at == NULL || o->n_inject == RPL_MAX_INJECT) {
        return MD_E_INVAL;
    }
    for (i = 0; i < sizeof inject_names / sizeof inject_names[0]; i++) {
        if ((size_t)(at - spec) == strlen(inject_names[i].name) &&
            strncmp(spec, inject_names[i].name, (size_t)(at - spec)) == 0) {
            break;
        }
    }
    if (i == sizeof inject_names / sizeof inject_names[0]) {
        return MD_E_INVAL;
    }
    /* frame@T:TEXT: the time ends at the first ':' */
    colon = inject_names[i].kind == RPL_INJ_FRAME ? strchr(at + 1, ':') : NULL;
    if (inject_names[i].kind == RPL_INJ_FRAME &&
        (colon == NULL || strlen(colon + 1) >= RPL_INJECT_TEXT_MAX)) {
        return MD_E_INVAL;
    }
    tend = colon != NULL ? colon : at + 1 + strlen(at + 1);
    tl = (size_t)(tend - (at + 1));
    if (md_parse_duration(at + 1, tl, NS_PER_S, RPL_INJECT_MAX_NS,
                          &at_ns) != MD_OK) {
        return MD_E_INVAL;
    }
    o->inject[o->n_inject].kind = inject_names[i].kind;
    o->inject[o->n_inject].at_ns = at_ns;
    o->inject[o->n_inject].used = false;
    o->inject[o->n_inject].text[0] = '\0';
    if (colon != NULL) {
        snprintf(o->inject[o->n_inject].text, RPL_INJECT_TEXT_MAX, "%s",
                 colon + 1);
    }
    o->n_inject++;
    return MD_OK;
}

/* --resume: restore the core from the checkpoint (its file must exist);
 * --state: the file checkpoints go to (the resumed one by default). */
static int open_state(struct run *r, char *errbuf, size_t errlen)
{
    const char *wr = r->o->state != NULL ? r->o->state : r->o->resume;
    int rc;

    if (r->o->resume != NULL) {
        struct outbox *ob;
        if (access(r->o->resume, F_OK) != 0) {
            snprintf(errbuf, errlen, "%s: %s (--resume takes a state file "
                     "a run with --state wrote)", r->o->resume,
                     strerror(errno));
            return MD_E_NOTFOUND;
        }
        rc = outbox_open(&ob, r->o->resume, errbuf, errlen);
        if (rc == MD_OK) {
            rc = outbox_restore(ob, r->core, &r->resume_seq, errbuf,
                                errlen);
            if (rc == MD_E_NOTFOUND) {
                /* made by a run that died before its first commit: it
                 * left nothing; this run starts from the beginning */
                r->sum->resumed_empty = true;
                r->resume_seq = 0;
                rc = MD_OK;
            }
            if (strcmp(wr, r->o->resume) == 0 && rc == MD_OK) {
                r->ob = ob;
                ob = NULL;
            }
            outbox_close(ob);
        }
        if (rc != MD_OK) {
            return rc;
        }
        r->sum->resumed_seq = r->resume_seq;
    }
    if (r->ob == NULL) {
        rc = outbox_open(&r->ob, wr, errbuf, errlen);
        if (rc != MD_OK) {
            return rc;
        }
    }
    return MD_OK;
}

/* A checkpoint covering capture seq, into the state file. */
static int checkpoint(struct run *r, int64_t seq)
{
    const struct outbox_stats *st;
    int rc = r->pump != NULL
                 ? rpl_outbox_commit(r, true)
                 : outbox_checkpoint(r->ob, r->core, seq, r->err, r->errlen);

    if (rc != MD_OK) {
        return rc;
    }
    st = outbox_stats(r->ob);
    r->sum->checkpoints = st->checkpoints;
    r->sum->ckpt_seq = seq;
    r->sum->ckpt_bytes = st->bytes_written;
    r->sum->ckpt_streams = st->streams_written;
    r->ckpt_t = r->loop.now;
    return MD_OK;
}

int rpl_run(struct rpl_opts *o, struct rpl_summary *sum, char *errbuf,
            size_t errlen)
{
    struct run *r = calloc(1, sizeof *r);
    struct store_reader *rd = NULL;
    struct store_session sess;
    struct timespec a, b;
    struct loop_driver drv;
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
    sum->capture_state = store_reader_state(rd);
    if (store_reader_warning(rd) != NULL) {
        snprintf(sum->capture_warning, sizeof sum->capture_warning, "%s",
                 store_reader_warning(rd));
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
    if (r->strict && sess.core_version != CORE_VERSION) {
        if (sess.core_version > 0) {
            snprintf(errbuf, errlen, "%s: recorded by core version %d; this "
                     "ccstream runs core version %d, whose actions differ: "
                     "strict replay cannot compare them; replay it with "
                     "--what-if", o->capture, sess.core_version,
                     CORE_VERSION);
        } else {
            snprintf(errbuf, errlen, "%s: the recording names no core version "
                     "(an older capture schema); this ccstream runs core "
                     "version %d: strict replay cannot compare its actions; "
                     "replay it with --what-if", o->capture, CORE_VERSION);
        }
        rc = MD_E_VERSION;
        goto out;
    }
    sum->mode = r->strict ? RPL_STRICT : RPL_WHATIF;
    rc = rpl_core_config(o, sess.config, &r->cfg, r->err, r->errlen);
    /* the core's trace actions: for the trace, the coverage, the
     * observer, and the action text of recordings and strict comparison */
    r->cfg.trace = o->trace != NULL || o->coverage_wanted ||
                   o->observer != NULL || o->record != NULL || r->strict;
    r->sum->traced = r->cfg.trace != 0;
    if (rc != MD_OK) {
        goto out;
    }
    r->cfg.seed = sess.prng_seed;
    if (o->exactly_once &&
        (o->brokers == NULL || (o->state == NULL && o->resume == NULL))) {
        snprintf(errbuf, errlen, "--exactly-once publishes through the "
                 "outbox: it needs --brokers and --state (or --resume)");
        rc = MD_E_USAGE;
        goto out;
    }
    if (o->brokers != NULL && o->resume != NULL && o->state != NULL &&
        strcmp(o->resume, o->state) != 0) {
        snprintf(errbuf, errlen, "with --brokers the state file is the "
                 "outbox too: --resume and --state must name the same file "
                 "(bars left in %s would not be sent)", o->resume);
        rc = MD_E_USAGE;
        goto out;
    }
    if (o->exactly_once && strcmp(o->brokers, "embedded") == 0) {
        snprintf(errbuf, errlen, "--exactly-once needs a real broker: the "
                 "embedded one (librdkafka's mock cluster) does not hide "
                 "aborted transactions from read_committed consumers");
        rc = MD_E_USAGE;
        goto out;
    }
    if (!r->strict) {
        /* a live run's recording keeps its open bars at the stop (for its
         * state file): its strict replay does; a what-if replay without
         * a state file flushes them */
        r->cfg.stop_keeps_open = false;
    }
    if (o->state != NULL || o->resume != NULL || o->until_ns > 0) {
        if (r->strict) {
            snprintf(errbuf, errlen, "--state, --resume and --until play "
                     "the capture as the world's script: add --what-if");
            rc = MD_E_USAGE;
            goto out;
        }
        /* the open bars at the end are the checkpoint's */
        r->cfg.stop_keeps_open =
            (o->state != NULL || o->resume != NULL) && !o->stop_flush;
    }
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
    rc = build_pairs(r);
    if (rc != MD_OK) {
        snprintf(errbuf, errlen, "out of memory");
        goto out;
    }
    if (o->resume != NULL || o->state != NULL) {
        rc = open_state(r, errbuf, errlen);
        if (rc != MD_OK) {
            goto out;
        }
    }
    loop_driver_virtual(&drv, &r->vclock);
    loop_init(&r->loop, r->core, &drv, 0);
    r->loop.sink = &world_sink;
    r->loop.sink_ctx = r;
    if (o->brokers != NULL &&
        (rc = rpl_kafka_check(o, errbuf, errlen)) != MD_OK) {
        goto out;
    }
    if (r->strict && o->brokers != NULL) {
        snprintf(errbuf, errlen, "--brokers publishes a what-if run (a "
                 "strict replay compares with the recording and plays no "
                 "world): add --what-if");
        rc = MD_E_USAGE;
        goto out;
    }
    if (!r->strict) {
        /* strict replay plays no world: the recording holds its answers */
        r->loop.ws = &world_ws;
        r->loop.ws_ctx = r;
        r->faulty = o->n_inject > 0;
        r->loop.http = r->faulty ? &fault_http : &world_http;
        r->loop.http_ctx = r;
        r->loop.kafka = &world_kafka;
        r->loop.kafka_ctx = r;
        if (o->brokers != NULL &&
            (rc = rpl_kafka_open(r, errbuf, errlen)) != MD_OK) {
            goto out;
        }
    }
    r->loop.want_text = o->record != NULL || r->strict;
    r->loop.bar_json = bar_to_json;
    r->loop.rec.ctx = r;
    r->loop.rec.actions = o->record != NULL ? rec_actions : NULL;
    r->loop.obs = o->observer;
    r->wall0 = sess.started_wall_ns;
    if (!r->strict) {
        rc = book_load(&r->book, o->capture, errbuf, errlen);
        if (rc != MD_OK) {
            goto out;
        }
    }
    if (o->record != NULL) {
        struct store_session rs = sess;
        char *cfgjson = NULL;
        rc = rpl_session_config(o, sess.config, &r->cfg, &cfgjson);
        if (rc != MD_OK) {
            snprintf(errbuf, errlen, "out of memory");
            goto out;
        }
        rs.kind = "record";
        rs.core_version = CORE_VERSION;
        rs.tool = "ccstream " CCSTREAM_VERSION;
        /* what the run was made with, the source's own configuration
         * inside: a strict replay configures itself from it */
        rs.config = cfgjson;
        rc = store_writer_open(o->record, &rs, o->record_secret, NULL,
                               &r->rec, errbuf, errlen);
        free(cfgjson);
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
        if ((rc == MD_E_CORRUPT || rc == MD_E_IO) && r->rc == MD_OK) {
            /* the capture's reader failed (the world's failures have
             * said why already) */
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
        const struct core_stats *cs = &r->core->st;
        sum->malformed = r->core->feed.st.malformed + r->core->feed.st.truncated;
        sum->bars_lost = cs->bars_unpublished + cs->bars_rolled_back;
        sum->bars_waits = cs->bars_wait;
        sum->stale_reports = cs->stale_reports;
        /* the publisher's own counts: the same in strict replay, where
         * the recording, not the injector, holds the reports */
        sum->deliveries_failed = r->core->pub.st.failed;
        sum->dead_lettered = r->core->pub.st.dead_lettered;
        sum->producer_fatal = r->core->pub.st.fatal_errors;
        sum->queue_full = r->core->pub.st.backpressure;
        sum->bars_given_up = r->core->pub.st.lost;
        sum->bars_topic_lost = cs->bars_parked_lost;
        sum->topics_created = cs->topics_created;
        sum->topics_failed = cs->topics_failed;
        sum->subs_rejected = r->core->conn.st.subs_rejected;
        sum->bars_ohlc_outside = cs->bars_ohlc_outside;
        sum->streams_full = cs->streams_full;
        sum->tickers_full = cs->tickers_full;
        sum->backfill_failed = cs->backfill_failed;
        sum->backfill_dropped = cs->backfill_dropped;
        sum->max_streams = r->core->cfg.agg.max_streams;
        sum->max_tickers = r->core->feed.max_tickers;
    }
    if (rc == MD_OK && r->seen != NULL) {
        /* configured pairs the run made no bar for */
        size_t k, n = 0;
        for (k = 0; k < r->n_pairs; k++) {
            if (!r->seen[k] && n + 1 < sizeof sum->unseen) {
                n += (size_t)snprintf(sum->unseen + n, sizeof sum->unseen - n,
                                      "%s%s", n > 0 ? ", " : "",
                                      r->pairs[k].k);
            }
        }
    }
    rpl_kafka_close(r);
    outbox_close(r->ob);
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
    loop_free(&r->loop);
    free(r->core);
    free(r->core_mem);
    free(r->cfg.series);
    free(r->pairs);
    free(r->seen);
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

    if (s->interrupted) {
        fprintf(f, "interrupted: no input after %.1f s of virtual time; "
                "stopped as at the end (open bars closed, the publisher "
                "flushed)\n", (double)s->span_ns / 1e9);
    }
    if (s->resumed_seq > 0) {
        fprintf(f, "resumed: from the checkpoint covering event %" PRId64
                "\n", s->resumed_seq);
    } else if (s->resumed_empty) {
        fprintf(f, "resumed: the state file held no checkpoint yet (its "
                "run ended before its first commit): from the start\n");
    }
    if (s->checkpoints > 0) {
        fprintf(f, "state: %" PRIu64 " checkpoint%s, the last covering "
                "event %" PRId64 "; %" PRIu64 " stream records, %" PRIu64
                " bytes written\n", s->checkpoints,
                s->checkpoints == 1 ? "" : "s", s->ckpt_seq, s->ckpt_streams,
                s->ckpt_bytes);
    }
    if (s->outbox) {
        fprintf(f, "outbox: %" PRIu64 " bars sent (%" PRIu64 " again after "
                "a producer reset or an aborted transaction), %" PRIu64
                " acknowledged, %" PRIu64 " dead-lettered; %" PRIu64
                " from a run before; %" PRIu64 " left unacknowledged%s\n",
                s->outbox_sent, s->outbox_resent, s->outbox_acked,
                s->outbox_dead, s->outbox_restored, s->outbox_left,
                s->outbox_left > 0 ? " (kept in the state file: the next "
                                     "run sends them first)"
                                   : "");
        if (s->outbox_dropped > 0) {
            fprintf(f, "outbox: %" PRIu64 " bars dropped at their closing: "
                    "the outbox held --outbox-max bars not acknowledged "
                    "(--outbox-full drop)\n", s->outbox_dropped);
        }
        if (s->outbox_txns > 0 || s->outbox_skipped > 0) {
            fprintf(f, "exactly once: %" PRIu64 " transactions committed, "
                    "%" PRIu64 " aborted; %" PRIu64 " bars from before "
                    "already committed, not sent again\n",
                    s->outbox_txns, s->outbox_aborts, s->outbox_skipped);
        }
    }
    if (s->kafka_produced > 0 || s->kafka_bootstrap[0] != '\0') {
        fprintf(f, "broker: %" PRIu64 " records produced, %" PRIu64
                " acknowledged, %" PRIu64 " undelivered%s%s\n",
                s->kafka_produced, s->kafka_acked, s->kafka_undelivered,
                s->kafka_bootstrap[0] ? "; embedded broker at " : "",
                s->kafka_bootstrap);
    }
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
    if (s->dead_lettered + s->producer_fatal + s->queue_full +
            s->bars_given_up + s->bars_topic_lost + s->topics_failed > 0) {
        fprintf(f, "  kafka: %" PRIu64 " bars given up while stopping (not "
                "delivered by the flush deadline, or failed), %" PRIu64
                " bars whose topic never came, %" PRIu64
                " bars dead-lettered, %" PRIu64 " fatal producer errors, %"
                PRIu64 " bars refused at once (queue full); topics: %"
                PRIu64 " created, %" PRIu64 " failed\n",
                s->bars_given_up, s->bars_topic_lost, s->dead_lettered,
                s->producer_fatal, s->queue_full, s->topics_created,
                s->topics_failed);
    }
    if (s->bars_lost + s->bars_waits + s->stale_reports + s->streams_full +
            s->tickers_full + s->backfill_failed + s->backfill_dropped > 0) {
        fprintf(f, "  core: %" PRIu64 " bars lost (closed, never produced), "
                "%" PRIu64 " waits for a full bar store, %" PRIu64
                " stale delivery reports, %" PRIu64 " frames of streams "
                "beyond the %u held and %" PRIu64 " of tickers beyond the %u "
                "held dropped; %" PRIu64 " backfill requests failed (planned "
                "again), %" PRIu64 " gap bars beyond the REST history never "
                "fetched\n", s->bars_lost, s->bars_waits,
                s->stale_reports, s->streams_full, s->max_streams,
                s->tickers_full, s->max_tickers, s->backfill_failed,
                s->backfill_dropped);
    }
    if (s->bars_ohlc_outside > 0) {
        fprintf(f, "  %" PRIu64 " REST bars kept as received have their "
                "open or close outside high and low\n", s->bars_ohlc_outside);
    }
    if (s->subs_rejected > 0) {
        fprintf(f, "  %" PRIu64 " subscriptions rejected by the server: "
                "their pairs have no live data\n", s->subs_rejected);
    }
    if (s->bars_unconfigured > 0) {
        fprintf(f, "  %" PRIu64 " bars of pairs outside the configuration "
                "(--symbols, --exchange, --quote) not written\n",
                s->bars_unconfigured);
    }
    if (s->unseen[0] != '\0') {
        fprintf(f, "  no bars for %s: the capture holds no data for them\n",
                s->unseen);
    }
    if (s->divergences > 0) {
        fprintf(f, "  STRICT MODE DIVERGENCE: %s\n", s->divergence);
    }
}
