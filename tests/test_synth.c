/* test_synth.c: `ccstream synth` (synth/synth.h): determinism through the
 * capture store, realism checks that a wrong generator fails, every
 * scenario and its fault, the number formatting, the options and the CLI.
 *
 * The checker below reads a session as the core would: every inbound text
 * frame through cc_ws_decode, every REST body through cc_rest_histo and
 * rp_histo_to_bars, every request path against rp_req_path. Temp files
 * live under mkdtemp and are removed. */
#include "cmocka_inc.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cc_decode.h"
#include "cli.h"
#include "md_err.h"
#include "md_fnv.h"
#include "md_prng.h"
#include "rest_policy.h"
#include "store.h"
#include "synth.h"
#include "synth_int.h"

#define NS INT64_C(1000000000)
#define MS INT64_C(1000000)

/* ---------------------------------------------------------------------
 * Temp directory
 * ------------------------------------------------------------------- */

static char tmpdir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_synth.XXXXXX");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static void rm_capture(const char *path)
{
    char side[256];
    (void)unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    (void)unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    (void)unlink(side);
    snprintf(side, sizeof side, "%s-journal", path);
    (void)unlink(side);
}

static int teardown_dir(void **state)
{
    static const char *const names[] = {"a.db", "b.db", "c.db", "cli.db",
                                        "d.db"};
    char p[256];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        rm_capture(p);
    }
    return rmdir(tmpdir);
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
}

/* ---------------------------------------------------------------------
 * The checker
 * ------------------------------------------------------------------- */

#define CK_PAIRS 64
#define CK_MIN 1200 /* minutes tracked per pair, from base_min */
#define CK_CONNS 32
#define CK_BARS 2100

struct ck_pair {
    char sym[16];
    bool in_replay;
    uint64_t max_id, replay_prev;
    int64_t ccseq_off;
    bool have_off;
    uint64_t live, replayed, overlap, dup, id_bad, ccseq_bad;
    uint64_t ooo, late, too_late, rts_bad, ns_bad, total_bad, px_bad;
    int64_t last_ts;
    unsigned replays;          /* replay blocks seen */
    uint64_t overlap_last;     /* overlap of the newest replay block */
    unsigned reconnect_overlaps; /* blocks after the first with overlap */
    /* CCCAGG */
    bool snap_next;
    uint64_t agg, flags4, flags4_price, vd_decrease, vd_resets, snaps;
    uint64_t snap_missing;
    double vd_last;
    int64_t vd_day;
    double last_px[CK_MIN], vd_at[CK_MIN];
    int64_t vd_day_at[CK_MIN];
    bool has_px[CK_MIN], has_vd[CK_MIN];
    bool gap[CK_MIN]; /* a minute a disconnect touched */
    double rest_close[CK_MIN], rest_vol[CK_MIN];
    bool has_rest[CK_MIN];
    bool bf_agg[CK_MIN], bf_ex[CK_MIN]; /* covered by a backfill answer */
};

struct ck_conn {
    bool ws, handshake, got_first, closed;
    int first_type;
    int64_t last_hb_ms;
    int64_t last_in_wall;
    char socket_id[32];
    int64_t client_id;
};

struct ck {
    int64_t base_min;
    unsigned n_pairs;
    struct ck_pair p[CK_PAIRS];
    struct ck_conn c[CK_CONNS];
    uint64_t events, frames_in, frames_out;
    int64_t last_mono, last_wall, mono_minus_wall;
    bool have_clock;
    uint64_t clock_bad;
    uint64_t decode_fail, decode_trunc, decode_proto;
    uint64_t hb, hb_bad, welcomes, loads, subs_ok, invalid_sub;
    uint64_t already_active, force, unauth, too_many, socket_dup;
    uint64_t welcome_time_bad, welcome_first_bad;
    uint64_t ws_connects, ws_errors, refused, closed_1006, closed_1000;
    uint64_t closed_1001, close_in_1001, close_in_1000, close_out;
    uint64_t key_seen;
    int64_t first_connect_wall, last_401_wall, connect_after_401;
    int64_t last_429_wall, connect_after_429_wall;
    int64_t longest_silence; /* between inbound frames on one socket */
    bool close_after_silence;
    /* gaps: [drop, LOADCOMPLETE] on the wall clock */
    int64_t drop_wall;
    bool dropped;
    int64_t gaps[8][2];
    unsigned n_gaps;
    /* REST */
    int64_t rest_conn;
    char req_path[512];
    struct rp_req req;
    bool req_ok, req_has_to, req_agg;
    int64_t req_wall;
    uint64_t req_lim10; /* preflight-shaped: toTs and limit=10 */
    uint64_t n_req, req_path_bad, req_pre, req_bf, req_post, resp_ok;
    uint64_t resp_bad, resp_rate, resp_auth, resp_conv_bad, resp_shape_bad;
    char rate_path[512];
    int64_t rate_wall, retry_wall;
    int64_t post_wall;
};

static struct ck ck;
static struct cc_bar ck_bars[CK_BARS];
static struct bar ck_conv[CK_BARS];

static void ck_init(struct ck *k, const struct synth_opts *o)
{
    const char *p = o->symbols;
    unsigned i;

    memset(k, 0, sizeof *k);
    k->base_min = o->start_s / 60 - 40;
    k->n_pairs = o->n_symbols;
    assert_true(o->n_symbols <= CK_PAIRS);
    for (i = 0; i < o->n_symbols; i++) {
        size_t len = strcspn(p, ",");
        snprintf(k->p[i].sym, sizeof k->p[i].sym, "%.*s", (int)len, p);
        p += len + (p[len] == ',');
    }
    k->last_401_wall = -1;
    k->last_429_wall = -1;
}

static struct ck_pair *ck_pair(struct ck *k, const struct cc_str *s)
{
    unsigned i;
    for (i = 0; i < k->n_pairs; i++) {
        if (strlen(k->p[i].sym) == s->len &&
            memcmp(k->p[i].sym, s->p, s->len) == 0) {
            return &k->p[i];
        }
    }
    return NULL;
}

static int64_t ck_min(const struct ck *k, int64_t unix_s)
{
    int64_t m = unix_s / 60 - k->base_min;
    return m < 0 ? -1 : m >= CK_MIN ? -1 : m;
}

static uint64_t str_u64(const struct cc_str *s)
{
    uint64_t v = 0;
    size_t i;
    for (i = 0; i < s->len; i++) {
        v = v * 10 + (uint64_t)(s->p[i] - '0');
    }
    return v;
}

static bool str_has(const void *p, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;
    const char *s = p;
    for (i = 0; i + n <= len; i++) {
        if (memcmp(s + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

static void ck_trade(struct ck *k, const struct cc_trade *t, int64_t wall)
{
    struct ck_pair *p = ck_pair(k, &t->fsym);
    uint64_t id;
    int64_t te, rts, arrive_lag;

    if (p == NULL) {
        return;
    }
    id = str_u64(&t->id);
    te = t->ts * NS + t->tsns;
    rts = t->rts * NS + t->rtsns;
    if (t->tsns % MS != 0 || t->rtsns % MS != 0) {
        p->ns_bad++;
    }
    if (t->total.d != t->q.d * t->p.d || t->q.d <= 0 || t->p.d <= 0) {
        p->total_bad++;
    }
    if (!p->have_off) {
        p->ccseq_off = (int64_t)id - t->ccseq;
        p->have_off = true;
    } else if ((int64_t)id - t->ccseq != p->ccseq_off) {
        p->ccseq_bad++;
    }
    arrive_lag = wall - te; /* local clock: within +-0.1 s of server */
    if (p->in_replay) {
        p->replayed++;
        if (p->replay_prev != 0 && id <= p->replay_prev) {
            p->id_bad++;
        }
        p->replay_prev = id;
        if (id <= p->max_id) {
            p->overlap++;
            p->overlap_last++;
        }
    } else {
        p->live++;
        if (id <= p->max_id) {
            p->dup++;
        }
        if (arrive_lag > 3 * NS) {
            p->late++;
            if (arrive_lag > 120 * NS) {
                p->too_late++;
            }
        } else {
            if (te < p->last_ts) {
                p->ooo++;
            }
            if (rts - te < 20 * MS || rts - te > 3100 * MS) {
                p->rts_bad++;
            }
            if (te > p->last_ts) {
                p->last_ts = te;
            }
        }
    }
    if (id > p->max_id) {
        p->max_id = id;
    }
}

static void ck_ticker(struct ck *k, const struct cc_ticker *t)
{
    struct ck_pair *p = ck_pair(k, &t->fsym);
    double vd;
    int64_t day, m;

    if (p == NULL) {
        return;
    }
    p->agg++;
    if (p->snap_next) {
        /* the snapshot: every field a full TYPE 5 carries */
        uint64_t want = CC_TKM(CC_TK_PRICE) | CC_TKM(CC_TK_OPENDAY) |
                        CC_TKM(CC_TK_HIGH24HOUR) |
                        CC_TKM(CC_TK_CURRENTSUPPLY) |
                        CC_TKM(CC_TK_TOPTIERVOLUME24HOUR) |
                        CC_TKM(CC_TK_VOLUMEDAY) | CC_TKM(CC_TK_MEDIAN);
        p->snap_next = false;
        p->snaps++;
        if ((t->has & want) != want) {
            p->snap_missing++;
        }
    } else if (t->flags & CC_FL_PRICEUNCHANGED) {
        p->flags4++;
        if (t->has & CC_TKM(CC_TK_PRICE)) {
            p->flags4_price++;
        }
    }
    day = t->lastupdate / 86400;
    m = ck_min(k, t->lastupdate);
    if (t->has & CC_TKM(CC_TK_VOLUMEDAY)) {
        vd = t->num[CC_TK_VOLUMEDAY].d;
        if (p->vd_day == day && vd < p->vd_last) {
            p->vd_decrease++;
        }
        if (p->vd_day != 0 && day != p->vd_day && vd < p->vd_last) {
            p->vd_resets++;
        }
        p->vd_day = day;
        p->vd_last = vd;
        if (m >= 0) {
            p->vd_at[m] = vd;
            p->vd_day_at[m] = day;
            p->has_vd[m] = true;
        }
    }
    if ((t->has & CC_TKM(CC_TK_PRICE)) && m >= 0) {
        p->last_px[m] = t->num[CC_TK_PRICE].d;
        p->has_px[m] = true;
    }
}

static void ck_mark_gap(struct ck *k, int64_t from_wall, int64_t to_wall)
{
    int64_t a = ck_min(k, from_wall / NS - 1), b = ck_min(k, to_wall / NS + 1);
    unsigned i;
    int64_t m;

    if (k->n_gaps < 8) {
        k->gaps[k->n_gaps][0] = from_wall;
        k->gaps[k->n_gaps][1] = to_wall;
        k->n_gaps++;
    }
    if (a < 0 || b < 0) {
        return;
    }
    for (i = 0; i < k->n_pairs; i++) {
        for (m = a; m <= b; m++) {
            k->p[i].gap[m] = true;
        }
    }
}

static void ck_frame_in(struct ck *k, struct ck_conn *c,
                        const struct store_event *ev)
{
    struct cc_msg msg;
    struct cc_err err;
    int rc;
    unsigned i;

    k->frames_in++;
    if (c->last_in_wall != 0 && ev->wall_ns - c->last_in_wall >
                                    k->longest_silence) {
        k->longest_silence = ev->wall_ns - c->last_in_wall;
    }
    c->last_in_wall = ev->wall_ns;
    rc = cc_ws_decode(ev->payload, ev->payload_len, &msg, &err);
    if (rc != MD_OK) {
        k->decode_fail++;
        if (rc == MD_E_TRUNC) {
            k->decode_trunc++;
        } else {
            k->decode_proto++;
        }
        return;
    }
    if (!c->got_first) {
        c->got_first = true;
        c->first_type = msg.type;
    }
    switch (msg.type) {
    case CC_T_WELCOME:
        k->welcomes++;
        if (llabs(msg.u.welcome.server_time_ms * MS - ev->wall_ns) >
            100 * MS) {
            k->welcome_time_bad++;
        }
        snprintf(c->socket_id, sizeof c->socket_id, "%.*s",
                 (int)msg.u.welcome.socket_id.len,
                 msg.u.welcome.socket_id.p);
        c->client_id = msg.u.welcome.client_id;
        for (i = 0; i < CK_CONNS; i++) {
            if (&k->c[i] != c && k->c[i].socket_id[0] != '\0' &&
                strcmp(k->c[i].socket_id, c->socket_id) == 0) {
                k->socket_dup++;
            }
        }
        break;
    case CC_T_TRADE:
        ck_trade(k, &msg.u.trade, ev->wall_ns);
        break;
    case CC_T_CCCAGG:
        ck_ticker(k, &msg.u.ticker);
        break;
    case CC_T_HEARTBEAT:
        k->hb++;
        if (c->last_hb_ms != 0) {
            int64_t d = msg.u.ctl.timems - c->last_hb_ms;
            if (d < 29500 || d > 30500) {
                k->hb_bad++;
            }
        }
        c->last_hb_ms = msg.u.ctl.timems;
        break;
    case CC_T_SUB_COMPLETE: {
        struct cc_str s = msg.u.ctl.sub;
        k->subs_ok++;
        if (s.len > 2 && s.p[0] == '0' && s.p[1] == '~') {
            /* "0~EX~SYM~USD": the replay of SYM is over */
            const char *a = memchr(s.p + 2, '~', s.len - 2);
            if (a != NULL) {
                struct cc_str sym = {a + 1, 0, false};
                size_t rest = s.len - (size_t)(a + 1 - s.p);
                const char *b = memchr(a + 1, '~', rest);
                struct ck_pair *p;
                sym.len = b != NULL ? (size_t)(b - (a + 1)) : 0;
                p = ck_pair(k, &sym);
                if (p != NULL) {
                    p->in_replay = false;
                    p->replays++;
                    if (p->replays > 1 && p->overlap_last > 0) {
                        p->reconnect_overlaps++;
                    }
                }
            }
        }
        break;
    }
    case CC_T_LOAD_COMPLETE:
        k->loads++;
        if (k->dropped) {
            ck_mark_gap(k, k->drop_wall, ev->wall_ns);
            k->dropped = false;
        }
        break;
    case CC_T_ERROR:
        if (msg.u.ctl.code == CC_C_INVALID_SUB) {
            k->invalid_sub++;
        } else if (msg.u.ctl.code == CC_C_SUBSCRIPTION_ALREADY_ACTIVE) {
            k->already_active++;
        } else if (msg.u.ctl.code == CC_C_FORCE_DISCONNECT) {
            k->force++;
        }
        break;
    case CC_T_UNAUTHORIZED:
        k->unauth++;
        k->last_401_wall = ev->wall_ns;
        break;
    case CC_T_RATE_LIMIT:
        if (msg.u.ctl.code == CC_C_TOO_MANY_SOCKETS) {
            k->too_many++;
            k->last_429_wall = ev->wall_ns;
        }
        break;
    default:
        break;
    }
}

/* Parse "path?k=v&..." into an rp_req and check rp_req_path spells it
 * the same. */
static bool ck_parse_req(struct ck *k, const char *path)
{
    char buf[512], again[512], *q, *tok, *save = NULL;
    size_t len;
    struct rp_req *r = &k->req;

    k->req_has_to = false;
    k->req_agg = true;
    if (strncmp(path, "/data/v2/histominute?", 21) != 0) {
        return false;
    }
    rp_req_init(r, RP_EP_HISTOMINUTE);
    snprintf(buf, sizeof buf, "%s", path + 21);
    for (tok = strtok_r(buf, "&", &save); tok != NULL;
         tok = strtok_r(NULL, "&", &save)) {
        q = strchr(tok, '=');
        if (q == NULL) {
            return false;
        }
        *q++ = '\0';
        if (strcmp(tok, "fsym") == 0) {
            rp_req_add_fsym(r, q);
        } else if (strcmp(tok, "tsym") == 0) {
            rp_req_add_tsym(r, q);
        } else if (strcmp(tok, "e") == 0) {
            rp_req_set_market(r, q);
            k->req_agg = false;
        } else if (strcmp(tok, "limit") == 0) {
            r->limit = (uint32_t)strtoul(q, NULL, 10);
        } else if (strcmp(tok, "toTs") == 0) {
            r->to_ts = strtoll(q, NULL, 10);
            k->req_has_to = true;
        } else {
            return false;
        }
    }
    if (rp_req_path(r, again, sizeof again, &len) != MD_OK) {
        return false;
    }
    return strcmp(again, path) == 0;
}

static void ck_request(struct ck *k, const struct store_event *ev)
{
    const char *m = ev->meta, *p;
    size_t n = 0;

    k->n_req++;
    k->req_wall = ev->wall_ns;
    if (m == NULL || str_has(m, strlen(m), "api_key") ||
        str_has(m, strlen(m), "apiKey") || str_has(m, strlen(m), "Apikey")) {
        k->key_seen++;
    }
    k->req_path[0] = '\0';
    p = m != NULL ? strstr(m, "\"url\":\"https://min-api.cryptocompare.com")
                  : NULL;
    if (p != NULL) {
        p += 40;
        while (p[n] != '"' && p[n] != '\0' && n + 1 < sizeof k->req_path) {
            n++;
        }
        memcpy(k->req_path, p, n);
        k->req_path[n] = '\0';
    }
    if (m == NULL || strstr(m, "\"method\":\"GET\"") == NULL ||
        strstr(m, "\"url\":\"https://min-api.cryptocompare.com/data/") ==
            NULL) {
        k->req_path_bad++;
    }
    k->req_ok = ck_parse_req(k, k->req_path);
    if (!k->req_ok) {
        k->req_path_bad++;
        return;
    }
    if (k->req_has_to && k->req.limit == 10) {
        k->req_lim10++;
    }
    if (!k->req_has_to) {
        k->req_post++;
    } else if (k->first_connect_wall == 0) {
        k->req_pre++;
    } else {
        k->req_bf++;
    }
    if (k->rate_wall != 0 && k->retry_wall == 0 &&
        strcmp(k->req_path, k->rate_path) == 0) {
        k->retry_wall = ev->wall_ns;
    }
}

static void ck_response(struct ck *k, const struct store_event *ev)
{
    struct cc_histo h;
    struct cc_err err;
    struct rp_fetch f;
    struct rp_conv_stats cs;
    struct ck_pair *p;
    size_t i, nconv = 0;
    int64_t last, now_min;
    int rc;

    if (!k->req_ok) {
        return;
    }
    rc = cc_rest_histo(ev->payload, ev->payload_len, (int)ev->status, &h,
                       ck_bars, CK_BARS, &err);
    if (rc != MD_OK) {
        k->resp_bad++;
        return;
    }
    if (h.st.kind == CC_R_RATE_LIMIT) {
        k->resp_rate++;
        if (k->rate_wall == 0) {
            k->rate_wall = ev->wall_ns;
            snprintf(k->rate_path, sizeof k->rate_path, "%s", k->req_path);
        }
        return;
    }
    if (h.st.kind == CC_R_AUTH) {
        if (ev->status == 401 && (h.st.has & CC_RS_ERR)) {
            k->resp_auth++;
        }
        return;
    }
    if (h.st.kind != CC_R_OK || ev->status != 200) {
        k->resp_bad++;
        return;
    }
    k->resp_ok++;
    /* limit+1 bars, aligned, consecutive, open = previous close */
    if (h.n_bars != (size_t)k->req.limit + 1 ||
        h.time_from != ck_bars[0].time ||
        h.time_to != ck_bars[h.n_bars - 1].time) {
        k->resp_shape_bad++;
        return;
    }
    for (i = 0; i < h.n_bars; i++) {
        if (ck_bars[i].time != ck_bars[0].time + 60 * (int64_t)i ||
            ck_bars[i].time % 60 != 0 ||
            (i > 0 && ck_bars[i].open.d != ck_bars[i - 1].close.d) ||
            ck_bars[i].low.d > ck_bars[i].open.d ||
            ck_bars[i].low.d > ck_bars[i].close.d ||
            ck_bars[i].high.d < ck_bars[i].open.d ||
            ck_bars[i].high.d < ck_bars[i].close.d) {
            k->resp_shape_bad++;
            return;
        }
    }
    last = ck_bars[h.n_bars - 1].time;
    now_min = (ev->wall_ns / NS) / 60 * 60;
    if (k->req_has_to ? last != k->req.to_ts
                      : (last < now_min - 60 || last > now_min)) {
        k->resp_shape_bad++;
    }
    /* the core's converter takes it */
    memset(&f, 0, sizeof f);
    f.req = k->req;
    snprintf(f.series.market, sizeof f.series.market, "%s",
             k->req_agg ? "CCCAGG" : k->req.e);
    snprintf(f.series.base, sizeof f.series.base, "%s", k->req.fsyms[0]);
    snprintf(f.series.quote, sizeof f.series.quote, "USD");
    f.series.interval_s = 60;
    f.series.source = k->req_agg ? BAR_SRC_CCCAGG : BAR_SRC_TRADES;
    f.purpose = RP_P_BACKFILL;
    f.last_s = last;
    f.first_s = last - 60 * ((int64_t)k->req.limit - 1);
    if (rp_histo_to_bars(NULL, &f, &h, ck_bars, h.n_bars, ev->wall_ns,
                         ck_conv, CK_BARS, &nconv, &cs) != MD_OK) {
        k->resp_conv_bad++;
    }
    p = NULL;
    for (i = 0; i < k->n_pairs; i++) {
        if (strcmp(k->p[i].sym, k->req.fsyms[0]) == 0) {
            p = &k->p[i];
        }
    }
    if (p == NULL) {
        k->resp_bad++;
        return;
    }
    for (i = 0; i < h.n_bars; i++) {
        int64_t m = ck_min(k, ck_bars[i].time);
        if (m < 0) {
            continue;
        }
        if (!k->req_has_to && k->req_agg) {
            p->rest_close[m] = ck_bars[i].close.d;
            p->rest_vol[m] = ck_bars[i].volumefrom.d;
            p->has_rest[m] = true;
            k->post_wall = ev->wall_ns;
        }
        if (k->req_has_to && k->first_connect_wall != 0) {
            if (k->req_agg) {
                p->bf_agg[m] = true;
            } else {
                p->bf_ex[m] = true;
            }
        }
    }
}

static void ck_event(struct ck *k, const struct store_event *ev)
{
    struct ck_conn *c = NULL;
    unsigned i;

    k->events++;
    if (k->have_clock) {
        if (ev->wall_ns < k->last_wall || ev->mono_ns < k->last_mono ||
            ev->mono_ns - ev->wall_ns != k->mono_minus_wall) {
            k->clock_bad++;
        }
    } else {
        k->have_clock = true;
        k->mono_minus_wall = ev->mono_ns - ev->wall_ns;
    }
    k->last_wall = ev->wall_ns;
    k->last_mono = ev->mono_ns;
    if (ev->conn_id > 0 && ev->conn_id < CK_CONNS) {
        c = &k->c[ev->conn_id];
    }
    /* a key would be a value: "api_key=..." or "api_key":"..." (the 401
     * frame's INFO text mentions a "valid api_key", which is fine) */
    if (ev->payload_len > 0 &&
        (str_has(ev->payload, ev->payload_len, "api_key=") ||
         str_has(ev->payload, ev->payload_len, "\"api_key\"") ||
         str_has(ev->payload, ev->payload_len, "apiKey"))) {
        k->key_seen++;
    }
    switch (ev->kind) {
    case STORE_K_WS_CONNECT:
        k->ws_connects++;
        if (k->first_connect_wall == 0) {
            k->first_connect_wall = ev->wall_ns;
        }
        if (k->last_401_wall >= 0) {
            k->connect_after_401++;
        }
        if (k->last_429_wall >= 0 && k->connect_after_429_wall == 0) {
            k->connect_after_429_wall = ev->wall_ns;
        }
        if (c != NULL) {
            c->ws = true;
        }
        break;
    case STORE_K_WS_HANDSHAKE:
        if (c != NULL) {
            c->handshake = ev->status == 101;
        }
        break;
    case STORE_K_WS_TEXT:
        if (ev->dir == STORE_D_OUT) {
            k->frames_out++;
            if (str_has(ev->payload, ev->payload_len, "\"SubAdd\"")) {
                for (i = 0; i < k->n_pairs; i++) {
                    k->p[i].in_replay = true;
                    k->p[i].replay_prev = 0;
                    k->p[i].overlap_last = 0;
                    k->p[i].snap_next = true;
                }
            }
        } else if (c != NULL) {
            ck_frame_in(k, c, ev);
        }
        break;
    case STORE_K_WS_ERROR:
        k->ws_errors++;
        if (str_has(ev->payload, ev->payload_len, "refused")) {
            k->refused++;
        }
        break;
    case STORE_K_WS_CLOSE:
        if (ev->dir == STORE_D_OUT) {
            k->close_out++;
            if (c != NULL && c->last_in_wall != 0) {
                int64_t quiet = ev->wall_ns - c->last_in_wall;
                if (quiet > k->longest_silence) {
                    k->longest_silence = quiet;
                }
                if (quiet >= 75 * NS) {
                    k->close_after_silence = true;
                }
            }
        } else if (ev->status == 1001) {
            k->close_in_1001++;
        } else if (ev->status == 1000) {
            k->close_in_1000++;
        }
        break;
    case STORE_K_WS_CLOSED:
        if (ev->status == 1006) {
            k->closed_1006++;
        } else if (ev->status == 1000) {
            k->closed_1000++;
        } else if (ev->status == 1001) {
            k->closed_1001++;
        }
        if (c != NULL) {
            c->closed = true;
            if (c->handshake && !k->dropped) {
                k->dropped = true;
                k->drop_wall = c->last_in_wall != 0 ? c->last_in_wall
                                                    : ev->wall_ns;
            }
        }
        break;
    case STORE_K_HTTP_REQUEST:
        ck_request(k, ev);
        break;
    case STORE_K_HTTP_RESPONSE:
        ck_response(k, ev);
        break;
    default:
        break;
    }
}

/* Postflight CCCAGG closes against the last PRICE of each minute, and
 * volumes against the VOLUMEDAY differences (reference 6.7 tolerances),
 * for closed minutes older than 2 minutes that no disconnect touched.
 * Returns how many bars were compared; counts the misses. */
static unsigned ck_reconcile(struct ck *k, struct ck_pair *p,
                             unsigned *px_miss, unsigned *vol_miss,
                             unsigned *vol_n)
{
    int64_t post_m = ck_min(k, k->post_wall / NS);
    unsigned n = 0;
    int64_t m;

    *px_miss = *vol_miss = *vol_n = 0;
    for (m = 1; m < CK_MIN && m < post_m - 2; m++) {
        double d;
        if (!p->has_rest[m] || !p->has_px[m] || p->gap[m]) {
            continue;
        }
        n++;
        d = fabs(p->rest_close[m] - p->last_px[m]) / p->last_px[m];
        if (d > 0.0005) {
            (*px_miss)++;
        }
        if (p->has_vd[m] && p->has_vd[m - 1] && !p->gap[m - 1] &&
            p->vd_day_at[m] == p->vd_day_at[m - 1]) {
            double sv = p->vd_at[m] - p->vd_at[m - 1];
            (*vol_n)++;
            if (fabs(p->rest_vol[m] - sv) > 0.10 * sv) {
                (*vol_miss)++;
                if (getenv("CK_DEBUG") != NULL) {
                    print_message("%s m=%lld rest %.8f stream %.8f\n",
                                  p->sym, (long long)m, p->rest_vol[m], sv);
                }
            }
        }
    }
    return n;
}

/* --- sinks ---------------------------------------------------------- */

struct mem_sink {
    int64_t next_id;
    struct ck *k;
    uint64_t hash; /* FNV over every event field */
};

static void hash_bytes(uint64_t *h, const void *p, size_t n)
{
    *h = md_fnv1a64(*h, p, n);
}

static void hash_event(uint64_t *h, const struct store_event *ev)
{
    int64_t f[6] = {ev->conn_id, ev->kind, ev->dir, ev->mono_ns, ev->wall_ns,
                    ev->status};
    hash_bytes(h, f, sizeof f);
    if (ev->meta != NULL) {
        hash_bytes(h, ev->meta, strlen(ev->meta) + 1);
    }
    hash_bytes(h, &ev->payload_len, sizeof ev->payload_len);
    if (ev->payload_len > 0) {
        hash_bytes(h, ev->payload, ev->payload_len);
    }
}

static int mem_conn_open(void *ctx, const struct store_conn *c, int64_t *id)
{
    struct mem_sink *m = ctx;
    (void)c;
    *id = ++m->next_id;
    return MD_OK;
}

static int mem_conn_close(void *ctx, int64_t id, int64_t mono, int64_t wall,
                          int64_t code, const char *reason)
{
    (void)ctx;
    (void)id;
    (void)mono;
    (void)wall;
    (void)code;
    (void)reason;
    return MD_OK;
}

static int mem_event(void *ctx, const struct store_event *ev)
{
    struct mem_sink *m = ctx;
    hash_event(&m->hash, ev);
    if (m->k != NULL) {
        ck_event(m->k, ev);
    }
    return MD_OK;
}

/* Generate o into the checker (no file). */
static void gen_mem(const struct synth_opts *o, struct synth_stats *st,
                    uint64_t *hash)
{
    struct mem_sink m = {0, &ck, MD_FNV1A64_BASIS};
    struct synth_sink s = {&m, mem_conn_open, mem_conn_close, mem_event};
    char err[256];

    ck_init(&ck, o);
    assert_int_equal(synth_generate(o, &s, st, err, sizeof err), MD_OK);
    if (hash != NULL) {
        *hash = m.hash;
    }
}

/* Read a capture back through store_reader into the checker. */
static uint64_t read_back(const char *path, const struct synth_opts *o)
{
    struct store_reader *r = NULL;
    struct store_event ev;
    char err[256];
    uint64_t h = MD_FNV1A64_BASIS;
    int rc;

    ck_init(&ck, o);
    assert_int_equal(store_reader_open(path, &r, err, sizeof err), MD_OK);
    while ((rc = store_next(r, &ev)) == MD_OK) {
        hash_event(&h, &ev);
        ck_event(&ck, &ev);
    }
    assert_int_equal(rc, MD_E_NOTFOUND);
    store_reader_close(r);
    return h;
}

/* Checks every session must pass. */
static void ck_general(const struct ck *k, bool corrupt_ok, bool dups_ok)
{
    unsigned i;

    assert_int_equal(k->clock_bad, 0);
    assert_int_equal(k->key_seen, 0);
    assert_true(k->frames_in > 1000);
    if (!corrupt_ok) {
        assert_int_equal(k->decode_fail, 0);
    }
    assert_int_equal(k->welcome_time_bad, 0);
    assert_int_equal(k->socket_dup, 0);
    assert_int_equal(k->hb_bad, 0);
    assert_int_equal(k->req_path_bad, 0);
    assert_int_equal(k->resp_bad, 0);
    assert_int_equal(k->resp_shape_bad, 0);
    assert_int_equal(k->resp_conv_bad, 0);
    for (i = 1; i < CK_CONNS; i++) {
        /* the first frame of a socket is the welcome (or the refusal) */
        if (k->c[i].ws && k->c[i].got_first) {
            assert_true(k->c[i].first_type == CC_T_WELCOME ||
                        k->c[i].first_type == CC_T_UNAUTHORIZED ||
                        k->c[i].first_type == CC_T_RATE_LIMIT);
        }
    }
    for (i = 0; i < k->n_pairs; i++) {
        const struct ck_pair *p = &k->p[i];
        assert_int_equal(p->id_bad, 0);
        assert_int_equal(p->ccseq_bad, 0);
        assert_int_equal(p->ns_bad, 0);
        assert_int_equal(p->total_bad, 0);
        assert_int_equal(p->rts_bad, 0);
        assert_int_equal(p->vd_decrease, 0);
        assert_int_equal(p->flags4_price, 0);
        assert_int_equal(p->snap_missing, 0);
        if (!dups_ok) {
            assert_int_equal(p->dup, 0);
        }
    }
}

/* ---------------------------------------------------------------------
 * Number formatting and small helpers
 * ------------------------------------------------------------------- */

/* The reference: the fewest %.*e digits that read back, zero-trimmed. */
static void ref_digits(double x, char *dig, int *k, int *e)
{
    char tmp[40];
    int p, n = 0, i = 0, ex = 0, neg = 0;

    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
        if (strtod(tmp, NULL) == x) {
            break;
        }
    }
    for (; tmp[i] != 'e'; i++) {
        if (tmp[i] != '.') {
            dig[n++] = tmp[i];
        }
    }
    i++;
    if (tmp[i] == '-' || tmp[i] == '+') {
        neg = tmp[i] == '-';
        i++;
    }
    for (; tmp[i] != '\0'; i++) {
        ex = ex * 10 + (tmp[i] - '0');
    }
    while (n > 1 && dig[n - 1] == '0') {
        n--;
    }
    dig[n] = '\0';
    *k = n;
    *e = (neg ? -ex : ex) + 1;
}

/* The significant digits and decimal exponent of a formatted number. */
static void got_digits(const char *s, char *dig, int *k, int *e)
{
    int n = 0, point = -1, lead = 0, exp10 = 0;
    const char *c;
    bool started = false;

    for (c = s; *c != '\0' && *c != 'e'; c++) {
        if (*c == '.') {
            point = n + lead;
            continue;
        }
        if (*c == '0' && !started) {
            lead++;
            continue;
        }
        started = true;
        dig[n++] = *c;
    }
    if (*c == 'e') {
        exp10 = (int)strtol(c + 1, NULL, 10);
    }
    if (point < 0) {
        point = n + lead;
    }
    /* value = 0.d1d2.. x 10^(point - lead) */
    *e = point - lead + exp10;
    while (n > 1 && dig[n - 1] == '0') {
        n--;
    }
    dig[n] = '\0';
    *k = n;
}

static void test_synth_fmt_double(void **state)
{
    struct md_prng r;
    char out[40], d1[40], d2[40];
    int i, k1, e1, k2, e2;
    (void)state;

    md_prng_seed(&r, 42);
    for (i = 0; i < 300000; i++) {
        double x;
        uint64_t bits = md_prng_next(&r);
        switch (i % 4) {
        case 0:
            memcpy(&x, &bits, sizeof x);
            x = fabs(x);
            if (!(x == x) || x - x != 0 || x == 0) {
                continue;
            }
            break;
        case 1: /* Q * P like a trade's TOTAL */
            x = (double)(bits % 1000000000) / 1e8 *
                ((double)(md_prng_next(&r) % 20000000) / 100.0);
            break;
        case 2: /* decimals with few digits */
            x = (double)(bits % 10000000000ull) /
                pow(10, (double)(md_prng_next(&r) % 12));
            break;
        default: /* an index path */
            x = 119283.1 * exp(((double)(bits % 1000000) - 500000) / 1e7);
            break;
        }
        if (x == 0) {
            continue;
        }
        sy_fmt_double(x, out);
        assert_true(strtod(out, NULL) == x);
        ref_digits(x, d1, &k1, &e1);
        got_digits(out, d2, &k2, &e2);
        if (strcmp(d1, d2) != 0 || e1 != e2) {
            fail_msg("%.17g: got %s (%s e%d), want %s e%d", x, out, d2, e2,
                     d1, e1);
        }
    }
    /* scaled integers print as the double nearest to them would */
    for (i = 0; i < 100000; i++) {
        static const double p10[13] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5, 1e6,
                                       1e7, 1e8, 1e9, 1e10, 1e11, 1e12};
        struct sy_buf sb;
        int64_t v = (int64_t)(md_prng_next(&r) >> (11 + i % 40));
        unsigned dec = (unsigned)(i % 13);
        sy_buf_init(&sb, d1, sizeof d1);
        sy_scaled(&sb, v, dec);
        sy_fmt_double((double)v / p10[dec], out);
        assert_string_equal(d1, out);
    }
    /* JavaScript's layout */
    sy_fmt_double(119283.1, out);
    assert_string_equal(out, "119283.1");
    sy_fmt_double(0.34637342 * 119283.1, out);
    assert_string_equal(out, "41316.495295202");
    sy_fmt_double(0.000001, out);
    assert_string_equal(out, "0.000001");
    sy_fmt_double(1e-7, out);
    assert_string_equal(out, "1e-7");
    sy_fmt_double(1e21, out);
    assert_string_equal(out, "1e+21");
    sy_fmt_double(123456789012345680000.0, out);
    assert_string_equal(out, "123456789012345680000");
    sy_fmt_double(20000000, out);
    assert_string_equal(out, "20000000");
    sy_fmt_double(-2.5, out);
    assert_string_equal(out, "-2.5");
    sy_fmt_double(0.1 + 0.2, out);
    assert_string_equal(out, "0.30000000000000004");
}

static void test_synth_fmt_misc(void **state)
{
    char b[64], t[40];
    struct sy_buf sb;
    int64_t s = 0;
    (void)state;

    sy_buf_init(&sb, b, sizeof b);
    sy_fixed(&sb, 1549402153829, 8);
    assert_string_equal(b, "15494.02153829");
    sy_buf_reset(&sb);
    sy_fixed(&sb, -100, 8);
    assert_string_equal(b, "-0.000001");
    sy_buf_reset(&sb);
    sy_fixed(&sb, 4200, 2);
    assert_string_equal(b, "42");
    sy_buf_reset(&sb);
    sy_qstr(&sb, "a\"b\\\n");
    assert_string_equal(b, "\"a\\\"b\\\\\\u000a\"");
    /* the buffer never overflows: it says so */
    sy_buf_init(&sb, b, 8);
    SY_LIT(&sb, "12345678");
    assert_true(sb.full);
    assert_int_equal(sb.len, 0);
    sy_iso8601(1753190395, t, sizeof t);
    assert_string_equal(t, "2025-07-22T13:19:55Z");
    sy_http_date(1753190395, t, sizeof t);
    assert_string_equal(t, "Tue, 22 Jul 2025 13:19:55 GMT");
    sy_http_date(951782400, t, sizeof t); /* a leap day */
    assert_string_equal(t, "Tue, 29 Feb 2000 00:00:00 GMT");
    assert_int_equal(synth_parse_start("2025-07-22T13:19:55Z", &s), MD_OK);
    assert_int_equal(s, 1753190395);
    assert_int_equal(synth_parse_start("1753190395", &s), MD_OK);
    assert_int_equal(s, 1753190395);
    assert_int_equal(synth_parse_start("2025-02-30T00:00:00Z", &s),
                     MD_E_USAGE);
    assert_int_equal(synth_parse_start("2025-07-22 13:19:55", &s),
                     MD_E_USAGE);
    assert_int_equal(synth_parse_start("12", &s), MD_E_USAGE);
}

static void test_synth_options(void **state)
{
    struct synth_opts o;
    char err[256], cfg[4096];
    int sc, n;
    (void)state;

    synth_opts_default(&o);
    assert_int_equal(synth_opts_check(&o, err, sizeof err), MD_OK);
    assert_int_equal(synth_set_symbols(&o, "BTC,ETH", err, sizeof err),
                     MD_OK);
    assert_int_equal(o.n_symbols, 2);
    assert_string_equal(o.symbols, "BTC,ETH");
    assert_int_equal(synth_set_symbols(&o, "", err, sizeof err), MD_E_USAGE);
    assert_int_equal(synth_set_symbols(&o, "BTC,", err, sizeof err),
                     MD_E_USAGE);
    assert_int_equal(synth_set_symbols(&o, "btc", err, sizeof err),
                     MD_E_USAGE);
    assert_int_equal(synth_set_symbols(&o, "BTC,BTC", err, sizeof err),
                     MD_E_USAGE);
    assert_non_null(strstr(err, "duplicate"));
    assert_int_equal(synth_set_symbols(&o, "USD", err, sizeof err),
                     MD_E_USAGE);
    assert_int_equal(synth_set_symbols(&o, "A,B,C,D,E,F,G,H,A", err,
                                       sizeof err),
                     MD_E_USAGE); /* the ninth repeats the first */
    assert_int_equal(synth_set_symbols(&o, "ABCDEFGHIJKLMNOP", err,
                                       sizeof err),
                     MD_E_USAGE);
    assert_int_equal(o.n_symbols, 2); /* unchanged by the failures */
    assert_int_equal(synth_set_exchange(&o, "Kraken", err, sizeof err),
                     MD_OK);
    assert_int_equal(synth_set_exchange(&o, "cccagg", err, sizeof err),
                     MD_E_USAGE);
    assert_int_equal(synth_set_exchange(&o, "a&b", err, sizeof err),
                     MD_E_USAGE);
    assert_string_equal(o.exchange, "Kraken");
    for (sc = SYNTH_SC_INVALID + 1; sc < SYNTH_SC__COUNT; sc++) {
        assert_non_null(synth_scenario_name(sc));
        assert_int_equal(synth_scenario_from_name(synth_scenario_name(sc)),
                         sc);
        assert_true(strlen(synth_scenario_what(sc)) > 10);
    }
    assert_int_equal(synth_scenario_from_name("nope"), SYNTH_SC_INVALID);
    assert_null(synth_scenario_name(SYNTH_SC__COUNT));
    o.minutes = 0;
    assert_int_equal(synth_opts_check(&o, err, sizeof err), MD_E_USAGE);
    o.minutes = 10;
    o.scenario = 99;
    assert_int_equal(synth_opts_check(&o, err, sizeof err), MD_E_USAGE);
    o.scenario = SYNTH_SC_DEFAULT;
    n = synth_config_json(&o, cfg, sizeof cfg);
    assert_true(n > 0);
    assert_non_null(strstr(cfg, "\"exchange\":\"Kraken\""));
    assert_non_null(strstr(cfg, "\"preflight_bars\":10"));
    assert_int_equal(synth_config_json(&o, cfg, 16), -1);
}

/* ---------------------------------------------------------------------
 * Determinism and read-back
 * ------------------------------------------------------------------- */

static void test_synth_determinism(void **state)
{
    struct synth_opts o;
    struct synth_stats st1, st2;
    struct store_reader *ra = NULL, *rb = NULL, *rc_ = NULL;
    struct store_event ea, eb;
    struct store_session sa, sb;
    char a[256], b[256], c[256], err[256];
    uint64_t h_mem = 0, h_file, n = 0, differ = 0;
    int ka, kb;
    (void)state;

    path_of(a, sizeof a, "a.db");
    path_of(b, sizeof b, "b.db");
    path_of(c, sizeof c, "c.db");
    synth_opts_default(&o);
    o.minutes = 4;
    o.seed = 20250722;
    assert_int_equal(synth_write(&o, a, &st1, err, sizeof err), MD_OK);
    assert_int_equal(synth_write(&o, b, &st2, err, sizeof err), MD_OK);
    assert_int_equal(st1.events, st2.events);
    /* the file must not be overwritten */
    assert_int_not_equal(synth_write(&o, a, NULL, err, sizeof err), MD_OK);

    assert_int_equal(store_reader_open(a, &ra, err, sizeof err), MD_OK);
    assert_int_equal(store_reader_open(b, &rb, err, sizeof err), MD_OK);
    assert_int_equal(store_reader_session(ra, 0, &sa), MD_OK);
    assert_int_equal(store_reader_session(rb, 0, &sb), MD_OK);
    assert_string_equal(sa.kind, "synth");
    assert_int_equal(sa.prng_seed, 20250722);
    assert_string_equal(sa.config, sb.config);
    assert_int_equal(sa.started_wall_ns, sb.started_wall_ns);
    assert_int_equal(sa.started_mono_ns, sb.started_mono_ns);
    assert_int_equal(store_event_count(ra), (int64_t)st1.events);
    for (;;) {
        ka = store_next(ra, &ea);
        kb = store_next(rb, &eb);
        assert_int_equal(ka, kb);
        if (ka != MD_OK) {
            break;
        }
        n++;
        assert_int_equal(ea.seq, eb.seq);
        assert_int_equal(ea.conn_id, eb.conn_id);
        assert_int_equal(ea.kind, eb.kind);
        assert_int_equal(ea.dir, eb.dir);
        assert_int_equal(ea.mono_ns, eb.mono_ns);
        assert_int_equal(ea.wall_ns, eb.wall_ns);
        assert_int_equal(ea.status, eb.status);
        assert_int_equal(ea.meta == NULL, eb.meta == NULL);
        if (ea.meta != NULL) {
            assert_string_equal(ea.meta, eb.meta);
        }
        assert_int_equal(ea.payload_len, eb.payload_len);
        assert_memory_equal(ea.payload, eb.payload, ea.payload_len);
    }
    assert_int_equal(ka, MD_E_NOTFOUND);
    assert_int_equal(n, st1.events);
    store_reader_close(ra);
    store_reader_close(rb);

    /* what the store gives back is what the generator made */
    gen_mem(&o, NULL, &h_mem);
    h_file = read_back(a, &o);
    assert_true(h_mem == h_file);

    /* another seed, another session */
    o.seed = 20250723;
    assert_int_equal(synth_write(&o, c, NULL, err, sizeof err), MD_OK);
    assert_int_equal(store_reader_open(a, &ra, err, sizeof err), MD_OK);
    assert_int_equal(store_reader_open(c, &rc_, err, sizeof err), MD_OK);
    for (;;) {
        ka = store_next(ra, &ea);
        kb = store_next(rc_, &eb);
        if (ka != MD_OK || kb != MD_OK) {
            break;
        }
        if (ea.payload_len != eb.payload_len ||
            (ea.payload_len > 0 &&
             memcmp(ea.payload, eb.payload, ea.payload_len) != 0) ||
            ea.wall_ns != eb.wall_ns) {
            differ++;
        }
    }
    store_reader_close(ra);
    store_reader_close(rc_);
    assert_true(differ > 1000);
    rm_capture(a);
    rm_capture(b);
    rm_capture(c);
}

/* ---------------------------------------------------------------------
 * Realism of the default session, read back from the file
 * ------------------------------------------------------------------- */

/* What a default 10-minute BTC ETH LTC session must show. */
static void check_default(void)
{
    unsigned i, compared = 0;
    uint64_t live = 0, ooo = 0, late = 0, flags4 = 0, agg = 0;

    ck_general(&ck, false, false);

    /* section 9.1: preflight (limit 10 per series), two sockets, one
     * abrupt drop, postflight over the session, backfill of the gap */
    assert_int_equal(ck.req_pre, 6);
    assert_int_equal(ck.req_post, 6);
    assert_true(ck.req_bf >= 6);
    assert_int_equal(ck.ws_connects, 2);
    assert_int_equal(ck.welcomes, 2);
    assert_int_equal(ck.loads, 2);
    assert_int_equal(ck.invalid_sub, 2);
    assert_int_equal(ck.subs_ok, 12);
    assert_int_equal(ck.closed_1006, 1);
    assert_int_equal(ck.closed_1000, 1);
    assert_true(ck.hb >= 18 && ck.hb <= 24);
    assert_true(ck.c[2].client_id == 2561280 &&
                ck.c[3].client_id == 2561280);
    for (i = 0; i < ck.n_pairs; i++) {
        struct ck_pair *p = &ck.p[i];
        unsigned pm, vm, vn, n;
        /* 20 trades replayed per subscribe, overlapping after the drop */
        assert_int_equal(p->replays, 2);
        assert_int_equal(p->replayed, 40);
        assert_int_equal(p->reconnect_overlaps, 1);
        assert_int_equal(p->snaps, 2);
        live += p->live;
        ooo += p->ooo;
        late += p->late;
        flags4 += p->flags4;
        agg += p->agg;
        n = ck_reconcile(&ck, p, &pm, &vm, &vn);
        compared += n;
        assert_true(n >= 5);
        assert_int_equal(pm, 0);
        assert_true(vn >= 3);
        assert_int_equal(vm, 0);
    }
    /* rates and magnitudes (reference 9.2, 9.3) */
    assert_true(ck.p[0].live >= 1200 && ck.p[0].live <= 5000); /* BTC */
    assert_true(ck.p[1].live >= 700 && ck.p[1].live <= 3500);  /* ETH */
    assert_true(ck.p[2].live >= 30 && ck.p[2].live <= 400);    /* LTC */
    assert_true(ck.p[0].agg >= 500 && ck.p[0].agg <= 1900);
    assert_true(ooo * 1000 >= live * 3 && ooo * 100 <= live * 4);
    assert_true(late >= 1 && late <= 30);
    assert_true(flags4 * 100 >= agg * 8 && flags4 * 100 <= agg * 25);
    assert_true(compared >= 15);
}

static void test_synth_default_realism(void **state)
{
    struct synth_opts o;
    struct synth_stats st;
    char a[256], err[256];
    (void)state;

    path_of(a, sizeof a, "d.db");
    synth_opts_default(&o);
    assert_int_equal(synth_write(&o, a, &st, err, sizeof err), MD_OK);
    assert_true(st.frames > 4000); /* thousands in ten minutes */
    (void)read_back(a, &o);
    check_default();
    rm_capture(a);
}

/* ---------------------------------------------------------------------
 * Every scenario contains its fault
 * ------------------------------------------------------------------- */

static uint64_t scenario_seed = 7;

static void run_scenario(int sc, unsigned minutes)
{
    struct synth_opts o;
    struct synth_stats st;

    synth_opts_default(&o);
    o.scenario = sc;
    o.minutes = minutes;
    o.seed = scenario_seed;
    gen_mem(&o, &st, NULL);
    ck_general(&ck, sc == SYNTH_SC_MALFORMED_FRAME ||
                        sc == SYNTH_SC_TRUNCATED_FRAME,
               sc == SYNTH_SC_DUPLICATE_TRADES);
}

static uint64_t sum_pairs(size_t off)
{
    uint64_t s = 0;
    unsigned i;
    for (i = 0; i < ck.n_pairs; i++) {
        s += *(const uint64_t *)(const void *)((const char *)&ck.p[i] + off);
    }
    return s;
}

static void test_synth_scenario_default(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_DEFAULT, 10);
    check_default();
    assert_int_equal(ck.closed_1006, 1);
    assert_int_equal(ck.ws_errors, 0);
    assert_int_equal(ck.resp_rate + ck.resp_auth, 0);
}

static void test_synth_scenario_abrupt(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_ABRUPT_DISCONNECT, 10);
    assert_int_equal(ck.ws_connects, 3);
    assert_int_equal(ck.ws_errors, 2); /* reset, then refused */
    assert_int_equal(ck.refused, 1);
    assert_int_equal(ck.closed_1006, 2);
    assert_int_equal(ck.close_in_1000 + ck.close_in_1001, 1); /* the end */
    assert_int_equal(ck.welcomes, 2);
}

static void test_synth_scenario_clean_close(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_CLEAN_CLOSE, 10);
    assert_int_equal(ck.close_in_1001, 1);
    assert_int_equal(ck.closed_1001, 1);
    assert_true(ck.close_in_1000 >= 2); /* server 1000, and the end */
    assert_int_equal(ck.closed_1006, 0);
    assert_int_equal(ck.welcomes, 3);
}

static void test_synth_scenario_force(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_FORCE_DISCONNECT, 10);
    assert_int_equal(ck.force, 1);
    assert_int_equal(ck.close_out, 2); /* after it, and at the end */
    assert_int_equal(ck.welcomes, 2);
}

static void test_synth_scenario_stall(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_HEARTBEAT_STALL, 10);
    assert_true(ck.longest_silence >= 75 * NS);
    assert_true(ck.close_after_silence);
    assert_int_equal(ck.closed_1006, 1);
    assert_int_equal(ck.welcomes, 2);
}

static void test_synth_scenario_unauthorized(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_UNAUTHORIZED, 10);
    assert_int_equal(ck.unauth, 1);
    assert_int_equal(ck.connect_after_401, 0); /* the core stays FAILED */
    assert_int_equal(ck.welcomes, 1);
    assert_true(ck.close_out >= 1);
}

static void test_synth_scenario_too_many(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_TOO_MANY_SOCKETS, 10);
    assert_int_equal(ck.too_many, 1);
    assert_true(ck.connect_after_429_wall - ck.last_429_wall >= 299 * NS);
    assert_int_equal(ck.welcomes, 2);
}

static void test_synth_scenario_invalid_sub(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_INVALID_SUB, 6);
    assert_int_equal(ck.invalid_sub, 3 * ck.loads);
    assert_int_equal(ck.already_active, ck.loads);
    assert_int_equal(ck.subs_ok, 6 * ck.loads);
}

static void test_synth_scenario_rest_rate_limit(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_REST_RATE_LIMIT, 6);
    assert_int_equal(ck.resp_rate, 1);
    /* the same request again once the minute window has reset */
    assert_true(ck.retry_wall > ck.rate_wall);
    /* (the local clock may run up to 30 ms behind the server's) */
    assert_true((ck.retry_wall + 100 * MS) / (60 * NS) >
                ck.rate_wall / (60 * NS));
    /* the preflight: six requests and the retry (after the connect) */
    assert_int_equal(ck.req_lim10, 7);
}

static void test_synth_scenario_rest_unauthorized(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_REST_UNAUTHORIZED, 6);
    assert_true(ck.resp_auth >= 2); /* preflight, postflight, backfill */
    assert_int_equal(ck.resp_ok, 0);
    assert_int_equal(ck.n_req, ck.resp_auth); /* queues dropped */
}

static void test_synth_scenario_malformed(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_MALFORMED_FRAME, 8);
    assert_int_equal(ck.decode_proto, 2);
    assert_int_equal(ck.decode_trunc, 0);
}

static void test_synth_scenario_truncated(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_TRUNCATED_FRAME, 8);
    assert_int_equal(ck.decode_trunc, 2);
    assert_int_equal(ck.decode_proto, 0);
}

static void test_synth_scenario_duplicates(void **state)
{
    unsigned i;
    (void)state;
    run_scenario(SYNTH_SC_DUPLICATE_TRADES, 10);
    assert_int_equal(ck.welcomes, 3);
    assert_true(sum_pairs(offsetof(struct ck_pair, dup)) >= 5);
    for (i = 0; i < ck.n_pairs; i++) {
        assert_int_equal(ck.p[i].reconnect_overlaps, 2);
    }
}

static void test_synth_scenario_late(void **state)
{
    (void)state;
    run_scenario(SYNTH_SC_LATE_TRADES, 10);
    assert_true(sum_pairs(offsetof(struct ck_pair, late)) >= 8);
    assert_int_equal(sum_pairs(offsetof(struct ck_pair, too_late)), 1);
}

static void test_synth_scenario_out_of_order(void **state)
{
    uint64_t ooo, live;
    (void)state;
    run_scenario(SYNTH_SC_OUT_OF_ORDER, 8);
    ooo = sum_pairs(offsetof(struct ck_pair, ooo));
    live = sum_pairs(offsetof(struct ck_pair, live));
    assert_true(ooo * 100 >= live * 5);
}

static void test_synth_scenario_gap_backfill(void **state)
{
    unsigned i;
    int64_t m, a, b;
    (void)state;
    run_scenario(SYNTH_SC_GAP_BACKFILL, 12);
    assert_true(ck.refused >= 4);
    assert_true(ck.n_gaps >= 1);
    assert_true(ck.gaps[0][1] - ck.gaps[0][0] >= 120 * NS);
    assert_true(ck.req_bf >= 12); /* two rounds for six series */
    /* the REST answers hold every minute of the gap, both series */
    a = ck_min(&ck, ck.gaps[0][0] / NS);
    b = ck_min(&ck, ck.gaps[0][1] / NS);
    assert_true(a > 0 && b > a + 1);
    for (i = 0; i < ck.n_pairs; i++) {
        for (m = a; m <= b; m++) {
            assert_true(ck.p[i].bf_agg[m]);
            assert_true(ck.p[i].bf_ex[m]);
        }
    }
}

/* MD_TEST_SLOW=1: every scenario's checks hold for other seeds too. */
static void test_synth_scenarios_many_seeds(void **state)
{
    static void (*const each[])(void **) = {
        test_synth_scenario_default,      test_synth_scenario_abrupt,
        test_synth_scenario_clean_close,  test_synth_scenario_force,
        test_synth_scenario_stall,        test_synth_scenario_unauthorized,
        test_synth_scenario_too_many,     test_synth_scenario_invalid_sub,
        test_synth_scenario_rest_rate_limit,
        test_synth_scenario_rest_unauthorized,
        test_synth_scenario_malformed,    test_synth_scenario_truncated,
        test_synth_scenario_duplicates,   test_synth_scenario_late,
        test_synth_scenario_out_of_order, test_synth_scenario_gap_backfill,
    };
    uint64_t seed;
    size_t i;

    for (seed = 100; seed < 110; seed++) {
        scenario_seed = seed;
        if (getenv("CK_DEBUG") != NULL) {
            print_message("seed %llu\n", (unsigned long long)seed);
        }
        for (i = 0; i < sizeof each / sizeof each[0]; i++) {
            each[i](state);
        }
    }
    scenario_seed = 7;
}

/* ---------------------------------------------------------------------
 * Calendar edges, long sessions, the frame limit
 * ------------------------------------------------------------------- */

static void test_synth_day_roll(void **state)
{
    struct synth_opts o;
    struct synth_stats st;
    unsigned i;
    (void)state;

    synth_opts_default(&o);
    o.minutes = 8;
    assert_int_equal(synth_parse_start("2025-07-22T23:56:30Z", &o.start_s),
                     MD_OK);
    gen_mem(&o, &st, NULL);
    ck_general(&ck, false, false);
    for (i = 0; i < ck.n_pairs; i++) {
        assert_int_equal(ck.p[i].vd_resets, 1); /* at 00:00 UTC, once */
    }
}

static void test_synth_long_session(void **state)
{
    struct synth_opts o;
    struct synth_stats st;
    (void)state;

    synth_opts_default(&o);
    o.minutes = 1000; /* 13:20 to 06:00 the next day */
    o.seed = 99;
    gen_mem(&o, &st, NULL);
    ck_general(&ck, false, false);
    assert_true(st.frames > 500000);
    assert_int_equal(ck.p[0].vd_resets, 1);
    assert_int_equal(ck.req_post, 6);
}

static void test_synth_frame_limit(void **state)
{
    struct synth_opts o;
    struct synth_stats st;
    (void)state;

    synth_opts_default(&o);
    o.minutes = 100000;
    o.max_frames = 3000;
    gen_mem(&o, &st, NULL);
    assert_true(st.frames >= 3000 && st.frames < 4500);
    assert_int_equal(ck.req_post, 6);
    assert_int_equal(ck.resp_shape_bad, 0);
}

/* Every scenario at the longest session (a year), cut at a few thousand
 * frames: its script's times are computed from the whole length (a drop
 * at 61.7 % of it overflowed int64 before; UBSan in make check). */
static void test_synth_year_long_scripts(void **state)
{
    struct synth_opts o;
    struct synth_stats st;
    int sc;
    (void)state;

    for (sc = SYNTH_SC_DEFAULT; sc < SYNTH_SC__COUNT; sc++) {
        synth_opts_default(&o);
        o.minutes = SYNTH_MINUTES_MAX;
        o.max_frames = 3000;
        o.scenario = sc;
        gen_mem(&o, &st, NULL);
        assert_true(st.frames >= 3000);
        assert_int_equal(ck.resp_shape_bad, 0);
    }
}

static void test_synth_symbols_exchange(void **state)
{
    struct synth_opts o;
    struct synth_stats st;
    char err[128];
    (void)state;

    synth_opts_default(&o);
    assert_int_equal(synth_set_symbols(&o, "SOL,BTC,DOGE,FOO", err,
                                       sizeof err),
                     MD_OK);
    assert_int_equal(synth_set_exchange(&o, "Kraken", err, sizeof err),
                     MD_OK);
    o.minutes = 5;
    gen_mem(&o, &st, NULL);
    ck_general(&ck, false, false);
    assert_int_equal(ck.req_pre, 8);
    assert_true(ck.p[2].live > 0 && ck.p[3].agg > 0);
}

/* Any number of symbols: fifty (more than any fixed table synth once
 * had, eight), each with its own trades and CCCAGG updates, a preflight
 * request for each of its two series, and the recorded configuration
 * naming every series. */
static void test_synth_fifty_symbols(void **state)
{
    static char list[50 * 5];
    static struct synth_opts o;
    struct synth_stats st;
    char err[256], *cfg;
    unsigned i;
    size_t n = 0;
    int len;

    (void)state;
    for (i = 0; i < 50; i++) {
        n += (size_t)snprintf(list + n, sizeof list - n, "%sZ%02u",
                              i > 0 ? "," : "", i);
    }
    synth_opts_default(&o);
    assert_int_equal(synth_set_symbols(&o, list, err, sizeof err), MD_OK);
    assert_int_equal(o.n_symbols, 50);
    o.minutes = 3;
    gen_mem(&o, &st, NULL);
    ck_general(&ck, false, false);
    /* a preflight request (limit 10) for each of the 100 series; a third
     * go before the socket opens, the rest while it streams */
    assert_true(ck.req_lim10 >= 100);
    assert_true(ck.req_pre > 0);
    for (i = 0; i < 50; i++) {
        if (ck.p[i].live == 0 || ck.p[i].agg == 0) {
            fail_msg("symbol %s: %llu trades, %llu CCCAGG updates",
                     ck.p[i].sym, (unsigned long long)ck.p[i].live,
                     (unsigned long long)ck.p[i].agg);
        }
    }
    cfg = test_malloc(4096 + 50 * 320);
    len = synth_config_json(&o, cfg, 4096 + 50 * 320);
    assert_true(len > 0);
    assert_non_null(strstr(cfg, "\"Z00\",\"Z01\""));
    assert_non_null(strstr(cfg, "{\"market\":\"Coinbase\",\"base\":\"Z49\""));
    test_free(cfg);
}

/* ---------------------------------------------------------------------
 * The command line
 * ------------------------------------------------------------------- */

static int run_cli(const char *a0, ...)
{
    char *argv[32];
    int argc = 0;
    const char *s;
    va_list ap;

    argv[argc++] = (char *)(uintptr_t) "synth";
    va_start(ap, a0);
    for (s = a0; s != NULL && argc < 31; s = va_arg(ap, const char *)) {
        argv[argc++] = (char *)(uintptr_t)s;
    }
    va_end(ap);
    argv[argc] = NULL;
    return cmd_synth(argc, argv);
}

static void test_synth_cli(void **state)
{
    char p[256];
    struct stat sb;
    (void)state;

    path_of(p, sizeof p, "cli.db");
    assert_int_equal(run_cli("--list-scenarios", NULL), 0);
    assert_int_equal(run_cli("--minutes", "2", NULL), 2); /* no --out */
    assert_int_equal(run_cli("--out", p, "--bogus", NULL), 2);
    assert_int_equal(run_cli("--out", p, "--minutes", "0", NULL), 2);
    assert_int_equal(run_cli("--out", p, "--minutes", "x", NULL), 2);
    assert_int_equal(run_cli("--out", p, "--seed", "-1", NULL), 2);
    assert_int_equal(run_cli("--out", p, "--symbols", "BTC,,ETH", NULL), 2);
    assert_int_equal(run_cli("--out", p, "--scenario", "nope", NULL), 2);
    assert_int_equal(run_cli("--out", p, "--start", "yesterday", NULL), 2);
    assert_int_equal(run_cli("--out", NULL), 2);
    assert_int_not_equal(stat(p, &sb), 0); /* nothing written */
    assert_int_equal(run_cli("--out", p, "--minutes", "2", "--scenario",
                             "late-trades", "--seed", "3", NULL),
                     0);
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(run_cli("--out", p, "--minutes", "2", NULL), 1);
    assert_int_equal(run_cli("--out", p, "--minutes", "2", "--force", NULL),
                     0);
    rm_capture(p);
}

/* Same seed, byte-identical `ccstream export` text of the two captures;
 * another seed, a different text. */
static void export_to(const char *db, const char *txt)
{
    struct store_reader *r = NULL;
    char err[256];
    FILE *f = fopen(txt, "w");

    assert_non_null(f);
    assert_int_equal(store_reader_open(db, &r, err, sizeof err), MD_OK);
    assert_int_equal(store_export(r, f, err, sizeof err), MD_OK);
    store_reader_close(r);
    fclose(f);
}

static size_t slurp_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    assert_true(n < cap);
    return n;
}

static void test_synth_export_identical(void **state)
{
    static char t1[4 << 20], t2[4 << 20];
    struct synth_opts o;
    char d1[256], d2[256], d3[256], x1[256], x2[256], x3[256], err[256];
    size_t n1, n2, n3;
    (void)state;

    path_of(d1, sizeof d1, "x1.db");
    path_of(d2, sizeof d2, "x2.db");
    path_of(d3, sizeof d3, "x3.db");
    path_of(x1, sizeof x1, "x1.jsonl");
    path_of(x2, sizeof x2, "x2.jsonl");
    path_of(x3, sizeof x3, "x3.jsonl");
    synth_opts_default(&o);
    o.minutes = 3;
    o.seed = 99;
    assert_int_equal(synth_write(&o, d1, NULL, err, sizeof err), MD_OK);
    assert_int_equal(synth_write(&o, d2, NULL, err, sizeof err), MD_OK);
    o.seed = 100;
    assert_int_equal(synth_write(&o, d3, NULL, err, sizeof err), MD_OK);
    export_to(d1, x1);
    export_to(d2, x2);
    export_to(d3, x3);
    n1 = slurp_file(x1, t1, sizeof t1);
    n2 = slurp_file(x2, t2, sizeof t2);
    assert_true(n1 > 100000);
    assert_int_equal(n1, n2);
    assert_memory_equal(t1, t2, n1);
    n3 = slurp_file(x3, t2, sizeof t2);
    assert_true(n3 != n1 || memcmp(t1, t2, n1) != 0);
    rm_capture(d1);
    rm_capture(d2);
    rm_capture(d3);
    unlink(x1);
    unlink(x2);
    unlink(x3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synth_fmt_double),
        cmocka_unit_test(test_synth_fmt_misc),
        cmocka_unit_test(test_synth_options),
        cmocka_unit_test(test_synth_fifty_symbols),
        cmocka_unit_test(test_synth_determinism),
        cmocka_unit_test(test_synth_export_identical),
        cmocka_unit_test(test_synth_default_realism),
        cmocka_unit_test(test_synth_scenario_default),
        cmocka_unit_test(test_synth_scenario_abrupt),
        cmocka_unit_test(test_synth_scenario_clean_close),
        cmocka_unit_test(test_synth_scenario_force),
        cmocka_unit_test(test_synth_scenario_stall),
        cmocka_unit_test(test_synth_scenario_unauthorized),
        cmocka_unit_test(test_synth_scenario_too_many),
        cmocka_unit_test(test_synth_scenario_invalid_sub),
        cmocka_unit_test(test_synth_scenario_rest_rate_limit),
        cmocka_unit_test(test_synth_scenario_rest_unauthorized),
        cmocka_unit_test(test_synth_scenario_malformed),
        cmocka_unit_test(test_synth_scenario_truncated),
        cmocka_unit_test(test_synth_scenario_duplicates),
        cmocka_unit_test(test_synth_scenario_late),
        cmocka_unit_test(test_synth_scenario_out_of_order),
        cmocka_unit_test(test_synth_scenario_gap_backfill),
        cmocka_unit_test(test_synth_day_roll),
        cmocka_unit_test(test_synth_long_session),
        cmocka_unit_test(test_synth_frame_limit),
        cmocka_unit_test(test_synth_year_long_scripts),
        cmocka_unit_test(test_synth_symbols_exchange),
        cmocka_unit_test(test_synth_cli),
    };
    /* The slow case runs only when asked for (make check sets
     * MD_TEST_SLOW=1), so a default run reports no skipped test. */
    const struct CMUnitTest slow[] = {
        cmocka_unit_test(test_synth_scenarios_many_seeds),
    };
    int rc = cmocka_run_group_tests(tests, setup_dir, teardown_dir);

    if (getenv("MD_TEST_SLOW") != NULL) {
        rc |= cmocka_run_group_tests(slow, setup_dir, teardown_dir);
    }
    return rc;
}
