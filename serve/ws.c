/* ws.c: the streamer v2 sockets of `ccstream serve`: the welcome, SubAdd
 * and SubRemove with the real replies, each subscription's snapshot or
 * 20-trade replay then TYPE 16, one TYPE 3 per batch, heartbeats, the
 * source's frames at their time (or as fast as the client reads) and the
 * faults that touch a socket. Reference: cryptocompare-protocol.md,
 * sections 2, 3, 6 and 7; what is emulated: docs/serve.md. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "cc_json.h"
#include "jbuf.h"
#include "md_err.h"
#include "md_fnv.h"
#include "serve_int.h"

#define NOT_SUBBED INT64_MIN
#define QUEUE_PAUSE (8u << 20)  /* stop reading the client above this */
#define QUEUE_RESUME (1u << 20)
#define FRAMES_PER_WRITE 64
#define SCAN_PER_WRITE 65536
#define REPLAY_TRADES 20
#define RX_MAX (1u << 20)
#define SLOW_GAP_NS (200 * INT64_C(1000000))

/* ---- the queue ------------------------------------------------------- */

static int q_push(struct client *c, const char *s, size_t n, bool close_after,
                  uint16_t code)
{
    struct qmsg *m = malloc(sizeof *m + LWS_PRE + n + 1);

    if (m == NULL) {
        return MD_E_NOMEM;
    }
    m->next = NULL;
    m->len = n;
    m->close_after = close_after;
    m->close_code = code;
    memcpy(m->buf + LWS_PRE, s, n);
    if (c->qtail != NULL) {
        c->qtail->next = m;
    } else {
        c->qhead = m;
    }
    c->qtail = m;
    c->qbytes += n;
    if (!c->rx_paused && c->qbytes > QUEUE_PAUSE) {
        /* back-pressure: read no more requests until the replies drain */
        lws_rx_flow_control(c->wsi, 0);
        c->rx_paused = true;
    }
    return MD_OK;
}

static int q_json(struct client *c, struct jb *b, bool close_after,
                  uint16_t code)
{
    int rc;

    if (b->oom) {
        free(b->p);
        return MD_E_NOMEM;
    }
    rc = q_push(c, b->p, b->len, close_after, code);
    free(b->p);
    memset(b, 0, sizeof *b);
    return rc;
}

static void q_free(struct client *c)
{
    while (c->qhead != NULL) {
        struct qmsg *m = c->qhead;
        c->qhead = m->next;
        free(m);
    }
    c->qtail = NULL;
    c->qbytes = 0;
}

/* ---- clocks ------------------------------------------------------------- */

static bool timed(const struct srv *sv)
{
    return sv->o->speed > 0;
}

/* A frame's unwrapped time in loop k. */
static int64_t unwrapped(const struct srv *sv, const struct src_frame *f,
                         int64_t k)
{
    return f->t_ns + k * sv->loop_ns;
}

/* The client's clock now: the server's (timed), else the time of what it
 * was last sent (as fast as it reads), running in real time past the
 * source's end. */
static int64_t client_now(const struct client *c, int64_t last)
{
    const struct srv *sv = c->sv;

    if (timed(sv)) {
        return srv_clock(sv);
    }
    if (c->real_idle != 0) {
        return last + (srv_real_ns() - c->real_idle);
    }
    return last;
}

static int64_t shift_of(const struct srv *sv, int64_t k)
{
    return sv->shift_s + k * sv->loop_s;
}

/* The loop and source time of an unwrapped time. */
static int64_t wrap(const struct srv *sv, int64_t t, int64_t *k)
{
    *k = 0;
    if (sv->o->loop && sv->loop_ns > 0 && t >= sv->src.first_ns) {
        *k = (t - sv->src.first_ns) / sv->loop_ns;
    }
    return t - *k * sv->loop_ns;
}

/* ---- control messages ---------------------------------------------- */

static int send_welcome(struct client *c, int64_t now)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    struct srv *sv = c->sv;
    struct jb b = {0};
    char sid[21];
    uint64_t x = c->id * UINT64_C(0x9E3779B97F4A7C15) + 0x1234567;
    unsigned i, active = 0;
    struct client *o;
    int64_t server_ms = now / 1000000 + shift_of(sv, 0) * 1000;

    for (i = 0; i < 20; i++) {
        x ^= x >> 29;
        x *= UINT64_C(0xBF58476D1CE4E5B9);
        sid[i] = b64[(x >> 33) & 63];
    }
    sid[20] = '\0';
    for (o = sv->clients; o != NULL; o = o->next) {
        if (o->has_key && c->has_key && strcmp(o->key, c->key) == 0) {
            active++;
        }
    }
    jb_s(&b, "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
             "\"SERVER_UPTIME_SECONDS\":");
    jb_i64(&b, (srv_real_ns() - sv->real0) / NS);
    jb_s(&b, ",\"SERVER_NAME\":\"ccstream-serve\",\"SERVER_TIME_MS\":");
    jb_i64(&b, server_ms);
    jb_s(&b, ",\"CLIENT_ID\":");
    {
        /* this start value (not FNV's basis) keeps the CLIENT_ID a key
         * has always been given */
        uint64_t h = md_fnv1a64(UINT64_C(1469598103934665603), c->key,
                                strlen(c->key));
        jb_i64(&b, (int64_t)(h % 9000000u) + 1000000);
    }
    jb_s(&b, ",\"DATA_FORMAT\":\"JSON\",\"SOCKET_ID\":\"");
    jb_s(&b, sid);
    jb_s(&b, "\",\"SOCKETS_ACTIVE\":");
    jb_i64(&b, active ? active : 1);
    jb_s(&b, ",\"SOCKETS_REMAINING\":");
    jb_i64(&b, sv->o->one_socket_per_key ? 0 : 4);
    jb_s(&b, ",\"RATELIMIT_MAX_SECOND\":30,\"RATELIMIT_MAX_MINUTE\":60,"
             "\"RATELIMIT_MAX_HOUR\":1200,\"RATELIMIT_MAX_DAY\":10000,"
             "\"RATELIMIT_MAX_MONTH\":20000,"
             "\"RATELIMIT_REMAINING_SECOND\":29,"
             "\"RATELIMIT_REMAINING_MINUTE\":59,"
             "\"RATELIMIT_REMAINING_HOUR\":1199,"
             "\"RATELIMIT_REMAINING_DAY\":9999,"
             "\"RATELIMIT_REMAINING_MONTH\":19999}");
    return q_json(c, &b, false, 0);
}

/* {"TYPE":"500","MESSAGE":msg,"PARAMETER":param,"INFO":info} */
static int send_error(struct client *c, const char *type, const char *msg,
                     const char *param, size_t plen, const char *info,
                     bool close_after, uint16_t code)
{
    struct jb b = {0};

    jb_s(&b, "{\"TYPE\":\"");
    jb_s(&b, type);
    jb_s(&b, "\",\"MESSAGE\":\"");
    jb_s(&b, msg);
    jb_s(&b, "\"");
    if (param != NULL) {
        jb_s(&b, ",\"PARAMETER\":");
        jb_str(&b, param, plen);
    }
    if (info != NULL) {
        jb_s(&b, ",\"INFO\":");
        jb_str(&b, info, strlen(info));
    }
    jb_s(&b, "}");
    c->sv->st.errors++;
    return q_json(c, &b, close_after, code);
}

/* ---- subscribe payloads ---------------------------------------------- */

/* Render frame f of loop k into the queue. */
static int q_frame(struct client *c, const struct src_frame *f, int64_t k)
{
    struct srv *sv = c->sv;
    size_t n = src_render(&sv->src, f, shift_of(sv, k),
                          k * sv->src.id_span, sv->wbuf + LWS_PRE,
                          sv->wcap);

    if (n == 0 && f->len > 0) {
        return MD_E_NOMEM;
    }
    return q_push(c, sv->wbuf + LWS_PRE, n, false, 0);
}

/* The merged state of a ticker subscription up to source time w, as one
 * full snapshot (src_merged), its LASTUPDATE and LASTTRADEID shifted for
 * loop k. Nothing if the source has nothing for it yet. */
static int q_snapshot(struct client *c, long sub, int64_t w, int64_t k,
                      bool *sent)
{
    struct srv *sv = c->sv;
    const struct src *s = &sv->src;
    struct src_member m[SRC_MERGE_MAX];
    size_t nm = src_merged(s, sub, w, m), i;
    struct jb b = {0};

    *sent = false;
    if (nm == 0) {
        return MD_OK;
    }
    jb_s(&b, "{");
    for (i = 0; i < nm; i++) {
        if (i > 0) {
            jb_s(&b, ",");
        }
        jb_s(&b, "\"");
        jb_put(&b, m[i].k, m[i].kn);
        jb_s(&b, "\":");
        if (m[i].kn == 10 && memcmp(m[i].k, "LASTUPDATE", 10) == 0 &&
            m[i].vn > 0 && m[i].vn < 19 && m[i].v[0] >= '0' &&
            m[i].v[0] <= '9') {
            jb_i64(&b, strtoll(m[i].v, NULL, 10) + shift_of(sv, k));
        } else if (m[i].kn == 11 && memcmp(m[i].k, "LASTTRADEID", 11) == 0 &&
                   k > 0 && m[i].vn > 2 && m[i].vn < 20 &&
                   m[i].v[0] == '"' && m[i].v[1] >= '0' &&
                   m[i].v[1] <= '9') {
            jb_s(&b, "\"");
            jb_i64(&b, strtoll(m[i].v + 1, NULL, 10) + k * s->id_span);
            jb_s(&b, "\"");
        } else {
            jb_put(&b, m[i].v, m[i].vn);
        }
    }
    jb_s(&b, "}");
    *sent = true;
    return q_json(c, &b, false, 0);
}

/* The last REPLAY_TRADES trades (or the latest candle) of sub up to w. */
static int q_history(struct client *c, long sub, int64_t w, int64_t k,
                     size_t want)
{
    const struct src *s = &c->sv->src;
    size_t end = src_frame_after(s, w), i = end, got = 0, scanned = 0;
    size_t idx[REPLAY_TRADES];
    int rc;

    while (i > 0 && got < want && scanned < 2000000) {
        i--;
        scanned++;
        if (s->frames[i].sub == (uint32_t)sub) {
            idx[got++] = i;
        }
    }
    while (got > 0) {
        if ((rc = q_frame(c, &s->frames[idx[--got]], k)) != MD_OK) {
            return rc;
        }
    }
    return MD_OK;
}

static int subscribe_one(struct client *c, const char *name, size_t len,
                         int64_t now)
{
    struct srv *sv = c->sv;
    const struct src *s = &sv->src;
    long sub = src_find_sub(s, name, len);
    struct jb b = {0};
    int64_t k, w = wrap(sv, now, &k);
    bool snap = false;
    int rc;

    if (sub < 0) {
        return send_error(c, "500", "INVALID_SUB", name, len,
                          "We have not integrated any of the exchanges FOO "
                          "trades on or we have not currently mapped it.",
                          false, 0);
    }
    if (c->since[sub] != NOT_SUBBED) {
        return send_error(c, "500", "SUBSCRIPTION_ALREADY_ACTIVE", name, len,
                          "You are already subscribed to this channel.",
                          false, 0);
    }
    if (c->n_subbed >= sv->o->max_subs) {
        char msg[64];
        snprintf(msg, sizeof msg, "TOO_MANY_SUBSCRIPTIONS_MAX_%u_PER_SOCKET",
                 sv->o->max_subs);
        return send_error(c, "429", msg, name, len,
                          "You have reached your maximum subscriptions "
                          "for this socket.", false, 0);
    }
    switch (s->subs[sub].type) {
    case 0:
        rc = q_history(c, sub, w, k, REPLAY_TRADES);
        break;
    case 24:
        rc = q_history(c, sub, w, k, 1);
        break;
    default:
        rc = q_snapshot(c, sub, w, k, &snap);
        break;
    }
    if (rc != MD_OK) {
        return rc;
    }
    {
        /* the frames after now: the cursor may have passed them while
         * nothing wanted them */
        size_t at = src_frame_after(s, w);
        if (k < c->loop_k || (k == c->loop_k && at < c->cursor)) {
            c->loop_k = k;
            c->cursor = at;
        }
    }
    c->since[sub] = now;
    c->has_state[sub] = snap;
    c->n_subbed++;
    sv->st.subscribes++;
    jb_s(&b, "{\"TYPE\":\"16\",\"MESSAGE\":\"SUBSCRIBECOMPLETE\",\"SUB\":");
    jb_str(&b, s->subs[sub].name, strlen(s->subs[sub].name));
    jb_s(&b, "}");
    return q_json(c, &b, false, 0);
}

static int unsubscribe_one(struct client *c, const char *name, size_t len,
                           unsigned *valid)
{
    long sub = src_find_sub(&c->sv->src, name, len);
    struct jb b = {0};

    if (sub < 0 || c->since[sub] == NOT_SUBBED) {
        return send_error(c, "500", "SUBSCRIPTION_UNRECOGNIZED", name, len,
                          "You are not subscribed to this channel.", false,
                          0);
    }
    c->since[sub] = NOT_SUBBED;
    c->has_state[sub] = 0;
    c->n_subbed--;
    (*valid)++;
    jb_s(&b, "{\"TYPE\":\"17\",\"MESSAGE\":\"UNSUBSCRIBECOMPLETE\",\"SUB\":");
    jb_str(&b, c->sv->src.subs[sub].name,
           strlen(c->sv->src.subs[sub].name));
    jb_s(&b, "}");
    return q_json(c, &b, false, 0);
}

/* The client's current clock for a request. */
static int64_t request_now(struct client *c)
{
    return timed(c->sv) ? srv_clock(c->sv) : client_now(c, c->at);
}

static int handle_message(struct client *c, const char *in, size_t len)
{
    struct cc_json j, subs_at;
    struct cc_str key, v;
    struct cc_err err;
    int action = 0; /* 1 add, 2 remove */
    bool have_subs = false, bad_subs = false;
    const char *bad_param = NULL;
    int rc;

    cc_json_init(&j, in, len, &err);
    memset(&subs_at, 0, sizeof subs_at);
    if (cc_json_obj_begin(&j) != MD_OK) {
        return send_error(c, "500", "INVALID_JSON", NULL, 0,
                          "We only accept JSON objects.", false, 0);
    }
    while ((rc = cc_json_obj_next(&j, &key)) == 1) {
        int ch = cc_json_peek(&j);
        if (cc_str_eq(&key, "action", 6)) {
            if (ch != '"' || cc_json_str(&j, &v) != MD_OK) {
                action = -1;
                if (ch != '"' && cc_json_skip(&j) != MD_OK) {
                    break;
                }
                continue;
            }
            action = cc_str_eq(&v, "SubAdd", 6)      ? 1
                     : cc_str_eq(&v, "SubRemove", 9) ? 2
                                                     : -1;
        } else if (cc_str_eq(&key, "subs", 4)) {
            have_subs = true;
            subs_at = j;
            if (ch != '[') {
                bad_subs = true;
            }
            if (cc_json_skip(&j) != MD_OK) {
                break;
            }
        } else if (cc_json_skip(&j) != MD_OK) {
            break;
        }
    }
    if (rc < 0 || err.rc != MD_OK || cc_json_end(&j) != MD_OK) {
        return send_error(c, "500", "INVALID_JSON", NULL, 0,
                          "We only accept JSON objects.", false, 0);
    }
    if (action <= 0) {
        bad_param = "action";
    } else if (!have_subs || bad_subs) {
        bad_param = "subs";
    }
    if (bad_param == NULL) {
        /* every element a string */
        struct cc_json a = subs_at;
        cc_json_arr_begin(&a);
        while ((rc = cc_json_arr_next(&a)) == 1) {
            if (cc_json_peek(&a) != '"' || cc_json_str(&a, &v) != MD_OK) {
                bad_param = "subs";
                break;
            }
        }
    }
    if (bad_param != NULL) {
        return send_error(c, "500", "INVALID_PARAMETER", bad_param,
                          strlen(bad_param),
                          strcmp(bad_param, "action") == 0
                              ? "The action must be SubAdd or SubRemove."
                              : "The subs must be an array of strings.",
                          false, 0);
    }
    {
        struct cc_json a = subs_at;
        int64_t now = request_now(c);
        unsigned valid = 0, total = 0;
        struct jb b = {0};

        cc_json_arr_begin(&a);
        while (cc_json_arr_next(&a) == 1) {
            char name[SRC_SUB_MAX + 64];
            size_t n = 0;
            if (cc_json_str(&a, &v) != MD_OK) {
                break;
            }
            total++;
            if (v.len >= sizeof name ||
                cc_str_unescape(&v, name, sizeof name, &n) != MD_OK) {
                n = v.len < 64 ? v.len : 64;
                memcpy(name, v.p, n);
            }
            rc = action == 1 ? subscribe_one(c, name, n, now)
                             : unsubscribe_one(c, name, n, &valid);
            if (rc != MD_OK) {
                return rc;
            }
        }
        if (action == 1) {
            jb_s(&b, "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\","
                     "\"INFO\":\"All your valid subs have been loaded.\"}");
        } else {
            char info[64];
            snprintf(info, sizeof info, "Removed %u subs.", valid);
            jb_s(&b, "{\"TYPE\":\"18\",\"MESSAGE\":\"UNSUBSCRIBEALLCOMPLETE\","
                     "\"INFO\":");
            jb_str(&b, info, strlen(info));
            jb_s(&b, ",\"INFO_OBJ\":{\"valid\":");
            jb_i64(&b, valid);
            jb_s(&b, ",\"invalid\":");
            jb_i64(&b, (int64_t)(total - valid));
            jb_s(&b, "}}");
        }
        rc = q_json(c, &b, false, 0);
    }
    lws_callback_on_writable(c->wsi);
    return rc;
}

/* ---- the socket's life -------------------------------------------------- */

static void wake(lws_sorted_usec_list_t *sul)
{
    struct client *c = lws_container_of(sul, struct client, sul);
    lws_callback_on_writable(c->wsi);
}

int ws_established(struct srv *sv, struct lws *wsi, struct pss *p)
{
    struct client *c = calloc(1, sizeof *c);
    size_t i;
    unsigned k;
    bool refuse_many = false;
    struct client *o;

    if (c == NULL) {
        return -1;
    }
    c->since = malloc((sv->src.n_subs + 1) * sizeof *c->since);
    c->has_state = calloc(sv->src.n_subs + 1, 1);
    if (c->since == NULL || c->has_state == NULL) {
        free(c->since);
        free(c->has_state);
        free(c);
        return -1;
    }
    for (i = 0; i < sv->src.n_subs; i++) {
        c->since[i] = NOT_SUBBED;
    }
    c->sv = sv;
    c->wsi = wsi;
    c->id = ++sv->next_client;
    c->has_key = srv_api_key(wsi, c->key, sizeof c->key);
    p->kind = 1;
    p->c = c;
    c->next = sv->clients;
    if (sv->clients != NULL) {
        sv->clients->prev = c;
    }
    sv->clients = c;
    sv->st.sockets++;
    sv->st.clients++;
    if (sv->st.clients > sv->st.max_clients) {
        sv->st.max_clients = sv->st.clients;
    }
    /* the clock */
    if (timed(sv)) {
        int64_t kk, w;
        c->clock0 = srv_clock(sv);
        w = wrap(sv, c->clock0, &kk);
        c->loop_k = kk;
        c->cursor = src_frame_after(&sv->src, w);
    } else {
        c->clock0 = sv->src.first_ns - 1;
        c->cursor = 0;
    }
    c->at = c->clock0;
    c->next_hb = c->clock0 + sv->o->heartbeat_ns;
    if (!c->has_key) {
        sv->st.sockets_refused++;
        return send_error(c, "401", "UNAUTHORIZED", "format", 6,
                          "We only support JSON format with a valid "
                          "api_key.", true, 1008) == MD_OK
                   ? (lws_callback_on_writable(wsi), 0)
                   : -1;
    }
    for (k = 0; k < sv->o->n_faults; k++) {
        const struct serve_fault *f = &sv->o->fault[k];
        if (f->kind == SF_TOO_MANY && !sv->rest_fault_done[k] &&
            request_now(c) >= sv->src.first_ns + f->at_ns) {
            sv->rest_fault_done[k] = true;
            sv->st.faults++;
            refuse_many = true;
            break;
        }
    }
    if (sv->o->one_socket_per_key) {
        for (o = sv->clients; o != NULL; o = o->next) {
            if (o != c && o->has_key && !o->closing &&
                strcmp(o->key, c->key) == 0) {
                refuse_many = true;
            }
        }
    }
    if (refuse_many) {
        sv->st.sockets_refused++;
        c->has_key = false; /* not counted as the key's socket */
        return send_error(c, "429", "TOO_MANY_SOCKETS_MAX_1_PER_CLIENT",
                          NULL, 0,
                          "You have reached your maximum sockets open for "
                          "your subscription",
                          true, 1008) == MD_OK
                   ? (lws_callback_on_writable(wsi), 0)
                   : -1;
    }
    if (send_welcome(c, c->clock0) != MD_OK) {
        return -1;
    }
    lws_callback_on_writable(wsi);
    return 0;
}

int ws_receive(struct client *c, const char *in, size_t len, bool final)
{
    int rc;

    if (c->closing) {
        return 0;
    }
    if (!final || c->rxn > 0) {
        /* a message in several pieces: gather it */
        if (c->rxn + len > RX_MAX) {
            c->rxn = 0;
            c->rx_skip = !final;
            return send_error(c, "500", "INVALID_JSON", NULL, 0,
                              "The message is too large.", false, 0) ==
                           MD_OK
                       ? (lws_callback_on_writable(c->wsi), 0)
                       : -1;
        }
        if (c->rx_skip) {
            /* the rest of a message already refused */
            c->rx_skip = !final;
            return 0;
        }
        if (c->rxn + len > c->rxcap) {
            size_t cap = c->rxcap ? c->rxcap * 2 : 4096;
            char *p;
            while (cap < c->rxn + len) {
                cap *= 2;
            }
            p = realloc(c->rx, cap);
            if (p == NULL) {
                return -1;
            }
            c->rx = p;
            c->rxcap = cap;
        }
        memcpy(c->rx + c->rxn, in, len);
        c->rxn += len;
        if (!final) {
            return 0;
        }
        rc = handle_message(c, c->rx, c->rxn);
        c->rxn = 0;
    } else if (c->rx_skip) {
        c->rx_skip = false;
        return 0;
    } else {
        rc = handle_message(c, in, len);
    }
    return rc == MD_OK ? 0 : -1;
}

void ws_closed(struct client *c)
{
    struct srv *sv = c->sv;

    lws_sul_cancel(&c->sul);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        sv->clients = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    sv->st.clients--;
    q_free(c);
    free(c->rx);
    free(c->since);
    free(c->has_state);
    free(c);
}

/* Drop the socket without a close frame (the client sees 1006). */
static int drop(struct client *c)
{
    int fd = (int)lws_get_socket_fd(c->wsi);

    if (fd >= 0) {
        shutdown(fd, SHUT_RDWR);
    }
    return -1;
}

static void schedule(struct client *c, int64_t due_src, int64_t due_real)
{
    struct srv *sv = c->sv;
    int64_t real = due_real;

    if (real == 0) {
        real = sv->real0 +
               (int64_t)((double)(due_src - sv->src.first_ns) /
                         sv->o->speed);
    }
    real -= srv_real_ns();
    if (real < 1000) {
        real = 1000;
    }
    lws_sul_schedule(lws_get_context(c->wsi), 0, &c->sul, wake,
                     (lws_usec_t)(real / 1000));
}

/* Whether source time t (unwrapped) falls in a window fault of kind. */
static const struct serve_fault *in_window(const struct srv *sv, int kind,
                                           int64_t t)
{
    unsigned k;

    for (k = 0; k < sv->o->n_faults; k++) {
        const struct serve_fault *f = &sv->o->fault[k];
        int64_t a = sv->src.first_ns + f->at_ns;
        if (f->kind == kind && t >= a && t < a + f->arg) {
            return f;
        }
    }
    return NULL;
}

static int send_now(struct client *c, char *p, size_t n)
{
    int w = lws_write(c->wsi, (unsigned char *)p, n, LWS_WRITE_TEXT);

    if (w < (int)n) {
        return -1;
    }
    c->frames_sent++;
    c->bytes_sent += n;
    c->sv->st.frames++;
    c->sv->st.bytes += n;
    return 0;
}

/* One-shot faults due at or before now: 1 when the socket is to end (rc
 * in *ret), else 0. */
static int one_shots(struct client *c, int64_t now, int *ret,
                     int64_t *next_fault)
{
    struct srv *sv = c->sv;
    unsigned k;

    for (k = 0; k < sv->o->n_faults; k++) {
        const struct serve_fault *f = &sv->o->fault[k];
        int64_t a = sv->src.first_ns + f->at_ns;
        if (c->fault_done[k] || a <= c->clock0) {
            continue;
        }
        switch (f->kind) {
        case SF_DROP:
        case SF_CLOSE:
        case SF_FORCE:
        case SF_MALFORMED:
        case SF_TRUNCATED:
            break;
        default:
            continue;
        }
        if (a > now) {
            if (a < *next_fault) {
                *next_fault = a;
            }
            continue;
        }
        c->fault_done[k] = true;
        sv->st.faults++;
        switch (f->kind) {
        case SF_DROP:
            *ret = drop(c);
            return 1;
        case SF_CLOSE:
            /* at the next WRITEABLE: what was written goes out first */
            c->closing = true;
            c->close_code = (uint16_t)f->arg;
            lws_callback_on_writable(c->wsi);
            *ret = 0;
            return 1;
        case SF_FORCE: {
            static const char fd[] = "{\"TYPE\":\"500\",\"MESSAGE\":"
                                     "\"FORCE_DISCONNECT\"}";
            memcpy(sv->wbuf + LWS_PRE, fd, sizeof fd - 1);
            send_now(c, sv->wbuf + LWS_PRE, sizeof fd - 1);
            c->closing = true;
            c->close_code = 1000;
            lws_callback_on_writable(c->wsi);
            *ret = 0;
            return 1;
        }
        case SF_MALFORMED: {
            static const char bad[] = "{\"TYPE\":\"0\",\"M\":\"Coinbase\","
                                      "\"FSYM\":BTC,,}";
            memcpy(sv->wbuf + LWS_PRE, bad, sizeof bad - 1);
            if (send_now(c, sv->wbuf + LWS_PRE, sizeof bad - 1) != 0) {
                *ret = -1;
                return 1;
            }
            break;
        }
        case SF_TRUNCATED:
            c->truncate_next = true;
            break;
        default:
            break;
        }
    }
    return 0;
}

int ws_writeable(struct client *c)
{
    struct srv *sv = c->sv;
    const struct src *s = &sv->src;
    unsigned budget = FRAMES_PER_WRITE, scanned = 0;

    while (budget > 0 && !lws_send_pipe_choked(c->wsi)) {
        const struct src_frame *f = NULL;
        int64_t tf = INT64_MAX, te, now, next_fault = INT64_MAX;
        int ret;
        bool hb;

        if (c->qhead != NULL) {
            struct qmsg *m = c->qhead;
            if (send_now(c, (char *)m->buf + LWS_PRE, m->len) != 0) {
                return -1;
            }
            c->qhead = m->next;
            if (c->qhead == NULL) {
                c->qtail = NULL;
            }
            c->qbytes -= m->len;
            if (c->rx_paused && c->qbytes < QUEUE_RESUME) {
                lws_rx_flow_control(c->wsi, 1);
                c->rx_paused = false;
            }
            if (m->close_after) {
                /* closed at the next WRITEABLE, once this went out */
                c->closing = true;
                c->close_code = m->close_code;
                q_free(c);
                free(m);
                lws_callback_on_writable(c->wsi);
                return 0;
            }
            free(m);
            budget--;
            continue;
        }
        if (c->closing) {
            lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
                             NULL, 0);
            return -1;
        }
        if (!c->has_key) {
            return 0; /* refused: waits for its close */
        }
        /* the next frame this client takes */
        while (c->n_subbed > 0 &&
               (c->cursor < s->n_frames || (sv->o->loop && s->n_frames > 0))) {
            const struct src_frame *g;
            int64_t t;
            if (c->cursor >= s->n_frames) {
                c->cursor = 0;
                c->loop_k++;
            }
            g = &s->frames[c->cursor];
            t = unwrapped(sv, g, c->loop_k);
            if (c->since[g->sub] != NOT_SUBBED && t > c->since[g->sub] &&
                (!(g->flags & SRC_F_SNAPSHOT) || !c->has_state[g->sub])) {
                f = g;
                tf = t;
                break;
            }
            c->cursor++;
            if (++scanned >= SCAN_PER_WRITE) {
                lws_callback_on_writable(c->wsi);
                return 0;
            }
        }
        if (!timed(sv)) {
            /* nothing to send: the client's clock runs in real time */
            if (f == NULL && c->real_idle == 0) {
                c->real_idle = srv_real_ns();
            } else if (f != NULL && c->real_idle != 0) {
                c->at += srv_real_ns() - c->real_idle;
                c->real_idle = 0;
            }
        }
        hb = c->next_hb <= tf;
        te = hb ? c->next_hb : tf;
        now = timed(sv) ? srv_clock(sv)
              : f == NULL ? client_now(c, c->at)
                          : te;
        if (one_shots(c, now < te ? now : te, &ret, &next_fault)) {
            return ret;
        }
        if (te > now || next_fault <= now) {
            int64_t due = te < next_fault ? te : next_fault;
            if (timed(sv)) {
                schedule(c, due, 0);
            } else {
                /* past the source's end: heartbeats in real time */
                schedule(c, 0, srv_real_ns() + (due - now));
            }
            return 0;
        }
        /* window faults */
        if (in_window(sv, SF_STALL, te) != NULL) {
            const struct serve_fault *w = in_window(sv, SF_STALL, te);
            if (hb) {
                c->next_hb = s->first_ns + w->at_ns + w->arg;
            } else {
                c->cursor++; /* lost in the stall */
            }
            continue;
        }
        if (hb) {
            const struct serve_fault *w = in_window(sv, SF_HB_STALL, te);
            char t[96];
            int n;
            if (w != NULL) {
                c->next_hb = s->first_ns + w->at_ns + w->arg;
                continue;
            }
            n = snprintf(t, sizeof t,
                         "{\"TYPE\":\"999\",\"MESSAGE\":\"HEARTBEAT\","
                         "\"TIMEMS\":%" PRId64 "}",
                         c->next_hb / 1000000 +
                             shift_of(sv, 0) * 1000);
            memcpy(sv->wbuf + LWS_PRE, t, (size_t)n);
            if (send_now(c, sv->wbuf + LWS_PRE, (size_t)n) != 0) {
                return -1;
            }
            if (!timed(sv) && c->next_hb > c->at) {
                c->at = c->next_hb;
            }
            c->next_hb += sv->o->heartbeat_ns;
            budget--;
            continue;
        }
        if (in_window(sv, SF_GAP, te) != NULL) {
            c->cursor++;
            continue;
        }
        if (in_window(sv, SF_SLOW, te) != NULL) {
            int64_t r = srv_real_ns();
            if (r < c->slow_until_real) {
                schedule(c, 0, c->slow_until_real);
                return 0;
            }
            c->slow_until_real = r + SLOW_GAP_NS;
            budget = 1;
        }
        {
            size_t n = src_render(s, f, shift_of(sv, c->loop_k),
                                  c->loop_k * s->id_span,
                                  sv->wbuf + LWS_PRE, sv->wcap);
            if (n == 0) {
                return -1;
            }
            if (c->truncate_next) {
                c->truncate_next = false;
                n /= 2;
            }
            if (send_now(c, sv->wbuf + LWS_PRE, n) != 0) {
                return -1;
            }
        }
        if (f->flags & SRC_F_SNAPSHOT) {
            c->has_state[f->sub] = 1;
        }
        if (!timed(sv)) {
            c->at = tf; /* the client's clock, as fast as it reads */
        }
        c->cursor++;
        budget--;
    }
    lws_callback_on_writable(c->wsi);
    return 0;
}
