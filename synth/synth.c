/* synth.c: the session generator behind `ccstream synth`.
 *
 * One discrete-event simulation on the server's clock: a market (per
 * symbol a latent price, Coinbase-like trades, CCCAGG index updates and
 * the minute bars both imply), a WebSocket client and server (connect,
 * welcome, SubAdd, snapshots and replays, heartbeats, faults, back-off),
 * and a REST client and server (preflight, backfill and postflight
 * planned by the core's REST policy, answers rendered from the same
 * market). The market runs whether or not a socket is live, so a gap
 * loses what it would lose live, and the REST bars agree with the stream.
 *
 * Must not: read a clock or the environment, use any randomness but
 * md_prng, allocate per frame (two buffers are allocated per run), or
 * write a key anywhere. docs/synth.md describes the output. What a
 * session is asked for (scenarios, options, the recorded configuration)
 * is synth_opts.c; the server's number formatting synth_fmt.c.
 *
 * One file, long: the simulation is one event loop over one state (market,
 * client, server, scenario script); its parts read and write each other's
 * state at every event, so a split would move that state into a shared
 * header without making any part readable alone. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cc_decode.h"
#include "md_err.h"
#include "md_fnv.h"
#include "md_prng.h"
#include "rest_policy.h"
#include "store.h"
#include "synth.h"
#include "synth_int.h"
#include "version.h"

#define NS MD_NS_PER_S
#define MS MD_NS_PER_MS
#define US INT64_C(1000)
#define MINUTE_NS (60 * NS)

#define CLIENT_ID 2561280

#define TRADE_RING 32   /* trades kept per pair for the replay */
#define REPLAY_N 20     /* trades replayed on subscribe (reference 3.2) */
#define BAR_RING 16384  /* minutes of bars kept per series (> 7 days) */
#define HISTORY_MIN 30  /* minutes simulated before T0 */
#define DEPTH_BARS 10080 /* minute history the server keeps (7 days) */
#define FRAME_CAP 8192 /* plus FRAME_PER_SYM a symbol (the SubAdd) */
#define FRAME_PER_SYM 96
#define BODY_BARS 2001
#define BODY_CAP ((size_t)BODY_BARS * 240 + 4096)
#define META_CAP 2048
#define REST_Q_MIN 256 /* plus REST_Q_PER_SERIES a series */
#define REST_Q_PER_SERIES 8
#define FAULTS_MAX 4
#define QUIET_MAX 4

/* The core's connection defaults (fsm_conn.h) that the emulated client
 * follows, so a replay of the capture sees the client the core would be. */
#define STALE_NS (75 * NS)
#define BACKOFF_MIN_NS (5 * NS)
#define BACKOFF_MAX_NS (60 * NS)
#define BACKOFF_LONG_NS (300 * NS)

/* ---------------------------------------------------------------------
 * Random numbers (md_prng only)
 * ------------------------------------------------------------------- */

/* Uniform in [0, 1). */
static double u01(struct md_prng *r)
{
    return (double)(md_prng_next(r) >> 11) * 0x1p-53;
}

/* Uniform integer in [lo, hi]. */
static int64_t urange(struct md_prng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)md_prng_below(r, (uint64_t)(hi - lo) + 1);
}

/* A stream of normals: Marsaglia's polar method, two per logarithm. */
struct sy_gauss {
    struct md_prng *r;
    double spare;
    bool has_spare;
};

static double gauss(struct sy_gauss *g)
{
    double u, v, q;

    if (g->has_spare) {
        g->has_spare = false;
        return g->spare;
    }
    do {
        u = 2.0 * u01(g->r) - 1.0;
        v = 2.0 * u01(g->r) - 1.0;
        q = u * u + v * v;
    } while (q >= 1.0 || q == 0.0);
    q = sqrt(-2.0 * log(q) / q);
    g->spare = v * q;
    g->has_spare = true;
    return u * q;
}

/* Exponential with the given mean. */
static double expo(struct md_prng *r, double mean)
{
    return -log(1.0 - u01(r)) * mean;
}

static uint64_t fnv1a(const char *s)
{
    return md_fnv1a64(MD_FNV1A64_BASIS, s, strlen(s));
}

/* ---------------------------------------------------------------------
 * The market
 * ------------------------------------------------------------------- */

/* Per-symbol magnitudes and rates (reference 9.2 and 9.3). */
struct sym_prm {
    double price;      /* start price, USD */
    double sigma_min;  /* sd of one minute's log return */
    double trade_rate; /* trades/s in the normal regime */
    double q_median;   /* trade size, base units */
    double q_sigma;    /* of log size */
    double q_max;
    double agg_rate;   /* CCCAGG updates/s */
    double vol_min;    /* CCCAGG base volume per minute */
    double supply, max_supply; /* max -1: unlimited */
    uint64_t id0, ccseq0, aggid0;
    double late_every_s; /* mean time between late trades */
};

static const struct {
    const char *name;
    struct sym_prm p;
} known_syms[] = {
    {"BTC",
     {119283.1, 0.0006, 5.4, 0.005, 1.5, 5.0, 1.6, 25.0, 19903000.0,
      20999999.9769, 852793745, 852777369, 217093517, 240.0}},
    {"ETH",
     {3712.45, 0.0009, 3.8, 0.1, 1.4, 150.0, 1.2, 280.0, 120712030.48, -1.0,
      512004400, 511990001, 34667055, 300.0}},
    {"LTC",
     {96.18, 0.0012, 0.38, 3.0, 1.2, 800.0, 0.45, 150.0, 75913214.87,
      84000000.0, 93500212, 93480001, 5230871, 900.0}},
};

static void sym_params(const char *name, struct sym_prm *p)
{
    uint64_t h = fnv1a(name);
    size_t i;

    for (i = 0; i < sizeof known_syms / sizeof known_syms[0]; i++) {
        if (strcmp(name, known_syms[i].name) == 0) {
            *p = known_syms[i].p;
            return;
        }
    }
    /* Anything else: a mid-cap coin whose numbers come from its name. */
    p->price = pow(10.0, (double)(h % 4000) / 1000.0 - 1.0); /* 0.1..1000 */
    p->sigma_min = 0.0015;
    p->trade_rate = 0.8;
    p->q_median = 300.0 / p->price;
    p->q_sigma = 1.3;
    p->q_max = 200000.0 / p->price;
    p->agg_rate = 0.5;
    p->vol_min = 40000.0 / p->price;
    p->supply = 1e9;
    p->max_supply = -1.0;
    p->id0 = 10000000 + (h >> 40) % 90000000;
    p->ccseq0 = p->id0 - 10000 - (h >> 20) % 5000;
    p->aggid0 = 1000000 + (h >> 8) % 9000000;
    p->late_every_s = 600.0;
}

struct trade_rec {
    int64_t te;  /* exchange time (TS, TSNS), whole ms */
    int64_t rts; /* CryptoCompare receive time, whole ms */
    uint64_t id, ccseq;
    int64_t q; /* 1e-8 base units */
    int64_t p; /* price ticks of 10^-pdec */
    uint8_t f; /* 1 sell, 2 buy */
};

/* One minute of one series. Closes and opens are rendered later: open is
 * always the previous bar's close (the REST convention). */
struct mbar {
    int64_t minute; /* unix minute this slot holds; -1 empty */
    uint32_t np;    /* prices seen */
    double h, l, c;
    int64_t c_te;   /* exchange time of the close (trades) */
    int64_t vol;    /* 1e-8 base */
    bar_i128 volto; /* CCCAGG: 1e-6 quote; trades: 10^-(8+pdec) quote */
};

enum { REG_NORMAL, REG_QUIET, REG_BURST };
enum { K_AGG = 0, K_EX = 1 };

struct sym {
    char name[RP_SYM_MAX + 1];
    struct sym_prm prm;
    struct md_prng rng;
    struct sy_gauss gs; /* normals from rng */
    int pdec;        /* price decimals of the exchange */
    int64_t pscale;  /* 10^pdec */
    double px;       /* latent price */
    double start_px; /* at the market start */
    int64_t px_t;
    /* trades */
    int regime;
    int64_t regime_until;
    int64_t te_last;  /* newest exchange time of a regular trade */
    int64_t trade_t;  /* send time of the next regular trade */
    int64_t next_te;  /* its exchange time */
    int64_t next_rts;
    bool next_ooo;
    int64_t late_t;   /* send time of the next late trade */
    uint64_t id, ccseq;
    struct trade_rec ring[TRADE_RING];
    unsigned ring_n, ring_head; /* ring_head: next slot to write */
    /* CCCAGG */
    int64_t agg_t;
    double price, median;
    unsigned flags;
    int64_t lastupdate;
    int64_t lastvol; /* 1e-8 */
    double lastvolto;
    uint64_t lasttradeid;
    int64_t vday, vhour, v24;       /* 1e-8 base */
    int64_t vdayto, vhourto, v24to; /* 1e-6 quote */
    int64_t v_t;                    /* last 24 h decay */
    double openday, highday, lowday, open24, high24, low24;
    double openhour, highhour, lowhour;
    int64_t day, hour;
    bool day_new, hour_new;
    /* delivery on the current socket */
    bool trade_live, agg_live;
    /* bars */
    struct mbar *bars[2];
    int64_t last_mm[2];
    /* postflight revisions: minute and factors */
    int64_t pert_mm[2][2];
    double pert_px[2][2], pert_vol[2][2];
};

/* ---------------------------------------------------------------------
 * The generator
 * ------------------------------------------------------------------- */

enum ws_phase {
    WS_NONE,       /* no socket, nothing scheduled */
    WS_CONNECTING, /* WS_CONNECT sent */
    WS_OPEN,       /* handshake done, greeting due */
    WS_SUBSCRIBING,
    WS_LIVE,       /* LOADCOMPLETE seen */
    WS_CLOSING,    /* client asked to close */
    WS_BACKOFF,    /* waiting to reconnect */
    WS_FAILED,     /* 401: stays down */
    WS_ENDED       /* closed at the end of the session */
};

enum ctl_step {
    CT_NONE,
    CT_CONNECT,
    CT_REFUSED,
    CT_HANDSHAKE,
    CT_GREET,
    CT_SUBADD,
    CT_BURST,
    CT_STALE,
    CT_CLOSED,
    CT_END
};

enum fault_kind {
    FT_ABRUPT,
    FT_ABRUPT_ERR,
    FT_CLOSE_1001,
    FT_CLOSE_1000,
    FT_FORCE,
    FT_STALL
};

enum greet { GR_OK, GR_REFUSED, GR_401, GR_429 };
enum after_close { AC_RECONNECT, AC_FAIL, AC_END };
enum rest_kind { RQ_PRE, RQ_BACKFILL, RQ_POST };
enum corrupt { CO_NONE, CO_COMMA, CO_NAN, CO_TRUNC };

enum timer {
    TM_CTL,      /* the socket's next step */
    TM_FAULT,    /* the next scripted fault */
    TM_HB,       /* the next heartbeat */
    TM_REST,     /* the REST client's next step */
    TM_BACKFILL, /* re-plan pending backfill */
    TM_POST,     /* postflight */
    TM_END,      /* close the socket and stop */
    TM_CORRUPT,  /* arm the next corrupted frame */
    TM_TOOLATE,  /* the one trade beyond the lateness horizon */
    TM_PRE,      /* the REST preflight, 5 s before the connect */
    TM__COUNT
};

struct rest_item {
    struct rp_fetch f;
    uint8_t kind; /* enum rest_kind */
};

struct gen {
    struct synth_opts o;
    const struct synth_sink *sink;
    struct synth_stats st;
    struct md_prng ct; /* connections and script */
    struct md_prng rs; /* REST */
    struct md_prng jt; /* arrival jitter */
    int64_t t0;        /* server ns of the connect */
    int64_t t_market;  /* the market starts here */
    int64_t t_end;     /* streaming ends (postflight 30 s later) */
    int64_t now;       /* the event being handled, server ns */
    int64_t mono0;     /* local monotonic clock at local wall wall0 */
    int64_t wall0;
    int64_t skew;      /* local clock minus server clock */
    int64_t last_local;
    bool finished, ending;
    int64_t tm[TM__COUNT];
    uint64_t next_progress;
    /* buffers */
    char *frame_mem, *body_mem;
    struct sy_buf fb, bb, mb;
    char meta_mem[META_CAP];
    /* market */
    unsigned n;
    struct sym *sy; /* [n] */
    double p_ooo;
    int64_t quiet[QUIET_MAX][2];
    unsigned n_quiet;
    /* websocket */
    int phase;     /* enum ws_phase */
    int ctl;       /* enum ctl_step at tm[TM_CTL] */
    int64_t conn;  /* store id of the current socket, 0 none */
    int64_t lat;   /* one-way latency of the current socket */
    unsigned attempts;     /* sockets attempted */
    unsigned backoff_k;    /* failed attempts since LIVE */
    int greet_kind;
    int after_close;
    int64_t reconnect_at;
    unsigned burst_i;      /* next subscription of the burst */
    unsigned lives;        /* LOADCOMPLETEs so far */
    bool silent;
    bool sock_live;        /* the current socket reached LOADCOMPLETE */
    int64_t last_activity; /* server ns of the last frame delivered */
    int64_t last_in_local; /* local time it arrived */
    int64_t gap_start;     /* last activity before the drop */
    bool gap_open;         /* lost a live socket, not live again yet */
    int64_t close_code;
    char server_name[3];
    int64_t uptime0[25]; /* per server name: uptime at t0; 0 unknown */
    int64_t rl_start[CC_P__COUNT], rl_count[CC_P__COUNT];
    int64_t rl_prior_day, rl_prior_month;
    struct {
        int64_t t;
        int kind;
    } faults[FAULTS_MAX];
    unsigned n_faults, next_fault;
    int64_t refuse_until; /* gap-backfill: reconnects refused until */
    int corrupt_next; /* enum corrupt for the next market frame */
    unsigned corrupt_done;
    /* rest */
    struct rp_config rcfg;
    struct rp_series *series; /* [n_series]: two a symbol */
    unsigned n_series;
    struct rest_item *rq;     /* [rq_cap] */
    unsigned rq_head, rq_n, rq_cap;
    int64_t rest_conn;
    bool rest_waiting;
    int64_t rest_not_before;
    unsigned rest_sent;
    bool post_queued, post_done;
    struct bf_state {
        bool pending;
        int64_t resume, retry;
    } *bf; /* [n_series] */
    int64_t bf_gap_end;
};

/* The local monotonic clock at the session start: an arbitrary base (a
 * machine up for a few days), fixed by the seed. */
int64_t synth__mono_base(uint64_t seed)
{
    return INT64_C(3) * 86400 * NS +
           (int64_t)((seed * UINT64_C(0x9E3779B97F4A7C15)) >> 47) * MS;
}

/* Local time a frame the server sent at t arrives. */
static int64_t arrive(struct gen *g, int64_t t)
{
    return t + g->skew + g->lat + (int64_t)md_prng_below(&g->jt, 1500) * US;
}

/* The client acts at server time t: its local clock reads this. */
static int64_t local_of(const struct gen *g, int64_t t)
{
    return t + g->skew;
}

static int emit(struct gen *g, int64_t conn, int kind, int dir, int64_t local,
                int64_t status, const char *meta, const void *payload,
                size_t len)
{
    struct store_event ev;
    int rc;

    if (local < g->last_local) {
        local = g->last_local;
    }
    g->last_local = local;
    memset(&ev, 0, sizeof ev);
    ev.conn_id = conn;
    ev.kind = kind;
    ev.dir = dir;
    ev.wall_ns = local;
    ev.mono_ns = g->mono0 + (local - g->wall0);
    ev.status = status;
    ev.meta = meta;
    ev.payload = payload;
    ev.payload_len = len;
    rc = g->sink->event(g->sink->ctx, &ev);
    if (rc != MD_OK) {
        return rc;
    }
    g->st.events++;
    g->st.payload_bytes += len;
    g->st.span_ns = local - g->wall0;
    if (kind == STORE_K_WS_TEXT) {
        g->st.frames++;
        if (dir == STORE_D_IN) {
            g->st.frames_in++;
        } else {
            g->st.frames_out++;
        }
        if (g->o.max_frames > 0 && g->st.frames >= g->o.max_frames &&
            !g->ending) {
            g->ending = true;
            g->t_end = g->now;
            g->tm[TM_POST] = g->now + 30 * NS;
        }
    }
    if (g->st.events >= g->next_progress && g->o.progress != NULL) {
        double done;
        g->next_progress = g->st.events + 65536;
        if (g->o.max_frames > 0) {
            done = (double)g->st.frames / (double)g->o.max_frames;
        } else {
            done = (double)(g->now - g->t0) / (double)(g->t_end - g->t0);
        }
        g->o.progress(g->o.progress_ctx, &g->st,
                      done < 0 ? 0 : done > 1 ? 1 : done);
    }
    return MD_OK;
}

/* A text frame from the server, sent at server time t. */
static int frame_in(struct gen *g, int64_t t, const char *p, size_t len)
{
    int rc;

    g->last_activity = t;
    rc = emit(g, g->conn, STORE_K_WS_TEXT, STORE_D_IN, arrive(g, t), 0, NULL,
              p, len);
    g->last_in_local = g->last_local;
    return rc;
}

static int conn_open(struct gen *g, const char *kind, const char *url,
                     int64_t local, int64_t *id)
{
    struct store_conn c;

    if (local < g->last_local) {
        local = g->last_local;
    }
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.url = url;
    c.opened_wall_ns = local;
    c.opened_mono_ns = g->mono0 + (local - g->wall0);
    return g->sink->conn_open(g->sink->ctx, &c, id);
}

static int conn_close(struct gen *g, int64_t id, int64_t local, int64_t code,
                      const char *reason)
{
    if (local < g->last_local) {
        local = g->last_local;
    }
    return g->sink->conn_close(g->sink->ctx, id, g->mono0 + (local - g->wall0),
                               local, code, reason);
}

/* Is a subscription's data delivered now? From its TYPE 16 on (the other
 * subscriptions may still be loading) until the socket goes. */
static bool live_for(const struct gen *g, bool sub_live)
{
    return sub_live && !g->silent &&
           (g->phase == WS_LIVE || g->phase == WS_SUBSCRIBING);
}

/* --- latent price and regimes ------------------------------------- */

static void advance_px(struct sym *s, int64_t t)
{
    if (t > s->px_t) {
        double dt_min = (double)(t - s->px_t) / (double)MINUTE_NS;
        s->px *= exp(s->prm.sigma_min * sqrt(dt_min) * gauss(&s->gs));
        s->px_t = t;
    }
}

static bool in_quiet(const struct gen *g, int64_t t)
{
    unsigned i;
    for (i = 0; i < g->n_quiet; i++) {
        if (t >= g->quiet[i][0] && t <= g->quiet[i][1]) {
            return true;
        }
    }
    return false;
}

/* Rate multiplier at exchange time te: quiet spells, normal trading and
 * bursts of 20-50 trades/s (reference 9.2), switching at random. */
static double regime_mult(struct gen *g, struct sym *s, int64_t te)
{
    while (te >= s->regime_until) {
        double mean_s;
        if (s->regime == REG_NORMAL) {
            s->regime = u01(&s->rng) < 0.3 ? REG_BURST : REG_QUIET;
        } else {
            s->regime = REG_NORMAL;
        }
        mean_s = s->regime == REG_NORMAL  ? 60.0
                 : s->regime == REG_QUIET ? 20.0
                                          : 4.0;
        s->regime_until += (int64_t)(expo(&s->rng, mean_s) * (double)NS) + MS;
    }
    if (in_quiet(g, te)) {
        return 0.08;
    }
    return s->regime == REG_NORMAL ? 1.0 : s->regime == REG_QUIET ? 0.25 : 5.0;
}

/* --- bars ---------------------------------------------------------- */

static struct mbar *bar_slot(struct sym *s, int k, int64_t mm)
{
    return &s->bars[k][(uint64_t)mm & (BAR_RING - 1)];
}

/* The bar of minute mm, created (with the minutes before it) if new. */
static struct mbar *bar_touch(struct sym *s, int k, int64_t mm)
{
    struct mbar *b;

    if (mm > s->last_mm[k]) {
        int64_t m = s->last_mm[k] + 1;
        if (mm - m > BAR_RING) {
            m = mm - BAR_RING;
        }
        for (; m <= mm; m++) {
            b = bar_slot(s, k, m);
            memset(b, 0, sizeof *b);
            b->minute = m;
        }
        s->last_mm[k] = mm;
    }
    b = bar_slot(s, k, mm);
    return b->minute == mm ? b : NULL;
}

/* --- trades -------------------------------------------------------- */

static int64_t floor_to(int64_t t, int64_t unit)
{
    int64_t q = t / unit;
    if (t % unit != 0 && t < 0) {
        q--;
    }
    return q * unit;
}

/* Plan the next regular trade after exchange time from. */
static void plan_trade(struct gen *g, struct sym *s)
{
    int64_t te, lag, gap;
    double mult = regime_mult(g, s, s->te_last);

    gap = (int64_t)(expo(&s->rng, 1.0 / (s->prm.trade_rate * mult)) *
                    (double)NS);
    te = s->te_last + gap;
    te -= te % MS; /* Coinbase: whole milliseconds */
    if (te < s->te_last) {
        te = s->te_last;
    }
    lag = urange(&s->rng, 20, 300) * MS;
    if (u01(&s->rng) < 0.004) {
        lag = urange(&s->rng, 1000, 3000) * MS; /* rarely 1-3 s */
    }
    s->next_ooo = false;
    s->next_te = te;
    s->next_rts = te + lag;
    s->trade_t = s->next_rts + urange(&s->rng, 1, 8) * MS;
    if (u01(&s->rng) < g->p_ooo) {
        /* Out of order: reported now, but traded up to 1 s before the
         * newest trade already sent (its RTS - TS is large). */
        int64_t back = urange(&s->rng, 1, 1000) * MS;
        s->next_ooo = true;
        s->next_te = s->te_last - back;
        s->trade_t = s->te_last + urange(&s->rng, 30, 300) * MS;
        s->next_rts = s->trade_t - urange(&s->rng, 1, 8) * MS;
    }
}

static void render_trade(const struct gen *g, const struct sym *s,
                         const struct trade_rec *r, struct sy_buf *b)
{
    double q = (double)r->q / 1e8;
    double p = (double)r->p / (double)s->pscale;

    SY_LIT(b, "{\"TYPE\":\"0\",\"M\":");
    sy_qstr(b, g->o.exchange);
    SY_LIT(b, ",\"FSYM\":\"");
    sy_puts(b, s->name);
    SY_LIT(b, "\",\"TSYM\":\"USD\",\"F\":\"");
    sy_u64(b, r->f);
    SY_LIT(b, "\",\"ID\":\"");
    sy_u64(b, r->id);
    SY_LIT(b, "\",\"TS\":");
    sy_i64(b, r->te / NS);
    SY_LIT(b, ",\"Q\":");
    sy_scaled(b, r->q, 8);
    SY_LIT(b, ",\"P\":");
    sy_scaled(b, r->p, (unsigned)s->pdec);
    SY_LIT(b, ",\"TOTAL\":");
    sy_dbl(b, q * p); /* what JavaScript computes and prints */
    SY_LIT(b, ",\"RTS\":");
    sy_i64(b, r->rts / NS);
    SY_LIT(b, ",\"CCSEQ\":");
    sy_u64(b, r->ccseq);
    SY_LIT(b, ",\"TSNS\":");
    sy_i64(b, r->te % NS);
    SY_LIT(b, ",\"RTSNS\":");
    sy_i64(b, r->rts % NS);
    sy_putc(b, '}');
}

/* Spoil the frame in fb as the scenario asks (malformed or truncated). */
static void corrupt_frame(struct gen *g)
{
    struct sy_buf *b = &g->fb;
    char *p;

    switch (g->corrupt_next) {
    case CO_COMMA:
        /* a stray comma: {"TYPE":"0",,"M":... */
        p = strchr(b->p, ',');
        if (p != NULL && b->len + 1 < b->cap) {
            memmove(p + 1, p, b->len - (size_t)(p - b->p) + 1);
            b->len++;
        }
        break;
    case CO_NAN:
        /* a number JSON cannot hold */
        p = strstr(b->p, "\"LASTUPDATE\":");
        if (p != NULL) {
            char *v = p + 13, *e = v;
            while (*e >= '0' && *e <= '9') {
                e++;
            }
            if (e - v >= 3) {
                memcpy(v, "NaN", 3);
                memmove(v + 3, e, b->len - (size_t)(e - b->p) + 1);
                b->len -= (size_t)(e - v) - 3;
            }
        }
        break;
    case CO_TRUNC:
        b->len = b->len * 2 / 3;
        b->p[b->len] = '\0';
        break;
    default:
        break;
    }
    g->corrupt_next = CO_NONE;
    g->corrupt_done++;
}

static int deliver_market(struct gen *g, int64_t t, bool is_trade)
{
    int rc;

    /* malformed: a trade gets the comma, an update the NaN; truncated:
     * first a trade, then an update */
    bool want_trade = g->corrupt_next == CO_COMMA ||
                      (g->corrupt_next == CO_TRUNC && g->corrupt_done == 0);

    if (g->corrupt_next != CO_NONE && want_trade == is_trade) {
        corrupt_frame(g);
    }
    rc = frame_in(g, t, g->fb.p, g->fb.len);
    return rc;
}

static void record_trade(struct sym *s, const struct trade_rec *r)
{
    struct mbar *b;
    int64_t mm = floor_to(r->te, MINUTE_NS) / MINUTE_NS;
    double p = (double)r->p / (double)s->pscale;

    s->ring[s->ring_head] = *r;
    s->ring_head = (s->ring_head + 1) % TRADE_RING;
    if (s->ring_n < TRADE_RING) {
        s->ring_n++;
    }
    b = bar_touch(s, K_EX, mm);
    if (b == NULL) {
        return;
    }
    if (b->np == 0) {
        b->h = b->l = b->c = p;
        b->c_te = r->te;
    } else {
        b->h = p > b->h ? p : b->h;
        b->l = p < b->l ? p : b->l;
        if (r->te >= b->c_te) {
            b->c = p;
            b->c_te = r->te;
        }
    }
    b->np++;
    b->vol += r->q;
    b->volto += (bar_i128)r->q * r->p;
}

/* A trade sent now: exchange time te, CryptoCompare receive time rts. */
static int make_trade(struct gen *g, struct sym *s, int64_t te, int64_t rts)
{
    struct trade_rec r;
    double q, px;

    advance_px(s, g->now);
    px = s->px * (1.0 + gauss(&s->gs) * 1e-4);
    q = s->prm.q_median * exp(s->prm.q_sigma * gauss(&s->gs));
    if (q > s->prm.q_max) {
        q = s->prm.q_max * (0.5 + 0.5 * u01(&s->rng));
    }
    memset(&r, 0, sizeof r);
    r.te = te;
    r.rts = rts;
    r.id = ++s->id;
    r.ccseq = ++s->ccseq;
    r.q = llround(q * 1e8);
    if (r.q < 100) {
        r.q = 100; /* 0.000001 */
    }
    r.p = llround(px * (double)s->pscale);
    if (r.p < 1) {
        r.p = 1;
    }
    r.f = (uint8_t)(u01(&s->rng) < 0.5 ? 1 : 2);
    record_trade(s, &r);
    if (live_for(g, s->trade_live)) {
        sy_buf_reset(&g->fb);
        render_trade(g, s, &r, &g->fb);
        g->st.trades++;
        return deliver_market(g, g->now, true);
    }
    return MD_OK;
}

static int on_trade(struct gen *g, struct sym *s)
{
    int rc = make_trade(g, s, s->next_te, s->next_rts);

    if (!s->next_ooo && s->next_te > s->te_last) {
        s->te_last = s->next_te;
    }
    plan_trade(g, s);
    return rc;
}

/* A late trade: sent 3-40 s after a minute closed, traded in that minute
 * (TS 0.5-20 s before its end); or, once, beyond the 120 s horizon. */
static void plan_late(struct gen *g, struct sym *s, int64_t after)
{
    double every = s->prm.late_every_s;
    int64_t t, boundary;

    if (g->o.scenario == SYNTH_SC_LATE_TRADES) {
        every = 40.0;
    }
    t = after + (int64_t)(expo(&s->rng, every) * (double)NS);
    boundary = floor_to(t, MINUTE_NS) + MINUTE_NS;
    s->late_t = boundary + urange(&s->rng, 3000, 40000) * MS;
}

static int on_late(struct gen *g, struct sym *s)
{
    int64_t boundary = floor_to(g->now, MINUTE_NS);
    int64_t te = boundary - urange(&s->rng, 500, 20000) * MS;
    int rc = make_trade(g, s, te, g->now - urange(&s->rng, 1, 8) * MS);

    plan_late(g, s, g->now);
    return rc;
}

static int on_too_late(struct gen *g)
{
    struct sym *s = &g->sy[0];
    int64_t te = g->now - urange(&s->rng, 130000, 170000) * MS;

    te -= te % MS;
    g->tm[TM_TOOLATE] = INT64_MAX;
    return make_trade(g, s, te, g->now - 3 * MS);
}

/* --- CCCAGG -------------------------------------------------------- */

static void agg_key(struct sy_buf *b, const struct sym *s)
{
    SY_LIT(b, "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"");
    sy_puts(b, s->name);
    SY_LIT(b, "\",\"TOSYMBOL\":\"USD\",\"FLAGS\":");
    sy_u64(b, s->flags);
}

/* ,"KEY":number (keys are plain upper-case words) */
static void put_key(struct sy_buf *b, const char *key)
{
    SY_LIT(b, ",\"");
    sy_puts(b, key);
    SY_LIT(b, "\":");
}

static void put_num(struct sy_buf *b, const char *key, double v)
{
    put_key(b, key);
    sy_dbl(b, v);
}

/* a scaled integer: v / 10^dec */
static void put_sc(struct sy_buf *b, const char *key, int64_t v, unsigned dec)
{
    put_key(b, key);
    sy_scaled(b, v, dec);
}

static void put_mktcaps(struct sy_buf *b, const struct sym *s)
{
    put_num(b, "CURRENTSUPPLYMKTCAP", s->price * s->prm.supply);
    put_num(b, "CIRCULATINGSUPPLYMKTCAP", s->price * s->prm.supply);
    if (s->prm.max_supply > 0) {
        put_num(b, "MAXSUPPLYMKTCAP", s->price * s->prm.max_supply);
    }
}

/* The full TYPE 5 snapshot sent on subscribe, every field present. */
static void render_snapshot(const struct sym *s, struct sy_buf *b)
{
    agg_key(b, s);
    put_num(b, "PRICE", s->price);
    SY_LIT(b, ",\"LASTUPDATE\":");
    sy_i64(b, s->lastupdate);
    put_num(b, "MEDIAN", s->median);
    put_sc(b, "LASTVOLUME", s->lastvol, 8);
    put_num(b, "LASTVOLUMETO", s->lastvolto);
    SY_LIT(b, ",\"LASTTRADEID\":\"");
    sy_u64(b, s->lasttradeid);
    sy_putc(b, '"');
    put_sc(b, "VOLUMEDAY", s->vday, 8);
    put_sc(b, "VOLUMEDAYTO", s->vdayto, 6);
    put_sc(b, "VOLUME24HOUR", s->v24, 8);
    put_sc(b, "VOLUME24HOURTO", s->v24to, 6);
    put_num(b, "OPENDAY", s->openday);
    put_num(b, "HIGHDAY", s->highday);
    put_num(b, "LOWDAY", s->lowday);
    put_num(b, "OPEN24HOUR", s->open24);
    put_num(b, "HIGH24HOUR", s->high24);
    put_num(b, "LOW24HOUR", s->low24);
    SY_LIT(b, ",\"LASTMARKET\":\"CCCAGG\"");
    put_sc(b, "VOLUMEHOUR", s->vhour, 8);
    put_sc(b, "VOLUMEHOURTO", s->vhourto, 6);
    put_num(b, "OPENHOUR", s->openhour);
    put_num(b, "HIGHHOUR", s->highhour);
    put_num(b, "LOWHOUR", s->lowhour);
    put_sc(b, "TOPTIERVOLUME24HOUR", s->v24, 8);
    put_sc(b, "TOPTIERVOLUME24HOURTO", s->v24to, 6);
    put_num(b, "CIRCULATINGSUPPLY", s->prm.supply);
    put_num(b, "CIRCULATINGSUPPLYMKTCAP", s->price * s->prm.supply);
    put_num(b, "CURRENTSUPPLY", s->prm.supply);
    put_num(b, "CURRENTSUPPLYMKTCAP", s->price * s->prm.supply);
    put_num(b, "MAXSUPPLY", s->prm.max_supply);
    if (s->prm.max_supply > 0) {
        put_num(b, "MAXSUPPLYMKTCAP", s->price * s->prm.max_supply);
    }
    SY_LIT(b, ",\"MKTCAPPENALTY\":0}");
}

static int on_agg(struct gen *g, struct sym *s)
{
    int64_t t = g->now, day = t / (86400 * NS), hour = t / (3600 * NS);
    int64_t dv, dvto, decay, decayto, mm = t / MINUTE_NS;
    double mult, dt_s, lastpx, q;
    bool flat, hi_h = false, lo_h = false, hi_d = false, lo_d = false;
    bool hi_24 = false, lo_24 = false;
    struct mbar *b;
    struct sy_buf *fb = &g->fb;

    advance_px(s, t);
    mult = regime_mult(g, s, t);
    if (mult < 0.25) {
        mult = 0.25;
    }
    if (day != s->day) { /* 00:00 UTC: the day's numbers start again */
        s->day = day;
        s->vday = s->vdayto = 0;
        s->openday = s->highday = s->lowday = s->price;
        s->day_new = true;
    }
    if (hour != s->hour) {
        s->hour = hour;
        s->vhour = s->vhourto = 0;
        s->openhour = s->highhour = s->lowhour = s->price;
        s->hour_new = true;
    }
    flat = u01(&s->rng) < 0.15;
    if (!flat) {
        double np = s->px;
        s->flags = np > s->price ? 1u : np < s->price ? 2u : 4u;
        flat = s->flags == 4;
        if (!flat) {
            s->price = np;
            s->median = np * (1.0 + gauss(&s->gs) * 4e-5);
        }
    }
    if (flat) {
        s->flags = 4;
    }
    /* volume: mean vol_min per minute, coupled to the trading regime */
    dv = llround(expo(&s->rng, s->prm.vol_min / (s->prm.agg_rate * 60.0)) *
                 mult * 1e8);
    if (dv < 1) {
        dv = 1;
    }
    lastpx = s->price * (1.0 + (u01(&s->rng) - 0.5) * 8e-4);
    lastpx = (double)llround(lastpx * (double)s->pscale) / (double)s->pscale;
    dvto = llround((double)dv * lastpx / 100.0);
    s->vday += dv;
    s->vdayto += dvto;
    s->vhour += dv;
    s->vhourto += dvto;
    /* rolling 24 h: what is added now, less what leaves the window */
    dt_s = (double)(t - s->v_t) / (double)NS;
    decay = llround((double)s->v24 * dt_s / 86400.0);
    decayto = llround((double)s->v24to * dt_s / 86400.0);
    s->v24 += dv - decay;
    s->v24to += dvto - decayto;
    s->v_t = t;
    q = s->prm.q_median * exp(s->prm.q_sigma * gauss(&s->gs));
    s->lastvol = llround(q * 1e8) < 100 ? 100 : llround(q * 1e8);
    s->lastvolto = ((double)s->lastvol / 1e8) * lastpx;
    s->lasttradeid += (uint64_t)urange(&s->rng, 1, 40);
    s->lastupdate = t / NS;
    if (!flat) {
        if (s->price > s->highhour) {
            s->highhour = s->price;
            hi_h = true;
        }
        if (s->price < s->lowhour) {
            s->lowhour = s->price;
            lo_h = true;
        }
        if (s->price > s->highday) {
            s->highday = s->price;
            hi_d = true;
        }
        if (s->price < s->lowday) {
            s->lowday = s->price;
            lo_d = true;
        }
        if (s->price > s->high24) {
            s->high24 = s->price;
            hi_24 = true;
        }
        if (s->price < s->low24) {
            s->low24 = s->price;
            lo_24 = true;
        }
    }
    b = bar_touch(s, K_AGG, mm);
    if (b != NULL) {
        if (!flat) {
            if (b->np == 0) {
                b->h = b->l = s->price;
            }
            b->h = s->price > b->h ? s->price : b->h;
            b->l = s->price < b->l ? s->price : b->l;
            b->c = s->price;
            b->np++;
        }
        b->vol += dv;
        b->volto += dvto;
    }
    s->agg_t = t + (int64_t)(expo(&s->rng, 1.0 / s->prm.agg_rate) *
                             (double)NS) + US;
    if (!live_for(g, s->agg_live)) {
        return MD_OK;
    }
    /* A partial update: the key, FLAGS and what changed (reference 3.3
     * and 9.4), in the key order of real 2024 updates. */
    sy_buf_reset(fb);
    agg_key(fb, s);
    if (flat) {
        SY_LIT(fb, ",\"LASTUPDATE\":");
        sy_i64(fb, s->lastupdate);
        put_sc(fb, "LASTVOLUME", s->lastvol, 8);
        put_num(fb, "LASTVOLUMETO", s->lastvolto);
        SY_LIT(fb, ",\"LASTTRADEID\":\"");
        sy_u64(fb, s->lasttradeid);
        sy_putc(fb, '"');
        put_sc(fb, "VOLUMEDAY", s->vday, 8);
        put_sc(fb, "VOLUMEDAYTO", s->vdayto, 6);
        put_sc(fb, "VOLUME24HOUR", s->v24, 8);
        put_sc(fb, "VOLUME24HOURTO", s->v24to, 6);
        put_sc(fb, "VOLUMEHOUR", s->vhour, 8);
        put_sc(fb, "VOLUMEHOURTO", s->vhourto, 6);
    } else {
        put_num(fb, "MEDIAN", s->median);
        SY_LIT(fb, ",\"LASTTRADEID\":\"");
        sy_u64(fb, s->lasttradeid);
        sy_putc(fb, '"');
        put_num(fb, "PRICE", s->price);
        SY_LIT(fb, ",\"LASTUPDATE\":");
        sy_i64(fb, s->lastupdate);
        put_sc(fb, "LASTVOLUME", s->lastvol, 8);
        put_num(fb, "LASTVOLUMETO", s->lastvolto);
        put_sc(fb, "VOLUMEHOUR", s->vhour, 8);
        put_sc(fb, "VOLUMEHOURTO", s->vhourto, 6);
        put_sc(fb, "VOLUMEDAY", s->vday, 8);
        put_sc(fb, "VOLUMEDAYTO", s->vdayto, 6);
        put_sc(fb, "VOLUME24HOUR", s->v24, 8);
        put_sc(fb, "VOLUME24HOURTO", s->v24to, 6);
    }
    if (s->day_new) {
        put_num(fb, "OPENDAY", s->openday);
    }
    if (hi_d || s->day_new) {
        put_num(fb, "HIGHDAY", s->highday);
    }
    if (lo_d || s->day_new) {
        put_num(fb, "LOWDAY", s->lowday);
    }
    if (hi_24) {
        put_num(fb, "HIGH24HOUR", s->high24);
    }
    if (lo_24) {
        put_num(fb, "LOW24HOUR", s->low24);
    }
    if (s->hour_new) {
        put_num(fb, "OPENHOUR", s->openhour);
    }
    if (hi_h || s->hour_new) {
        put_num(fb, "HIGHHOUR", s->highhour);
    }
    if (lo_h || s->hour_new) {
        put_num(fb, "LOWHOUR", s->lowhour);
    }
    if (!flat) {
        put_sc(fb, "TOPTIERVOLUME24HOUR", s->v24, 8);
        put_sc(fb, "TOPTIERVOLUME24HOURTO", s->v24to, 6);
        put_mktcaps(fb, s);
    }
    sy_putc(fb, '}');
    s->day_new = s->hour_new = false;
    g->st.cccagg++;
    return deliver_market(g, t, false);
}

/* ---------------------------------------------------------------------
 * Setup
 * ------------------------------------------------------------------- */

static void sym_init(struct gen *g, struct sym *s, const char *name)
{
    struct sym_prm *p = &s->prm;
    double jit;

    memset(s->name, 0, sizeof s->name);
    memcpy(s->name, name, strlen(name));
    sym_params(name, p);
    /* each pair has its own stream: adding a symbol changes no other */
    md_prng_seed(&s->rng, g->o.seed * UINT64_C(0x9E3779B97F4A7C15) ^
                              fnv1a(name));
    s->gs.r = &s->rng;
    s->gs.has_spare = false;
    jit = 1.0 + (u01(&s->rng) - 0.5) * 0.04;
    s->px = p->price * jit;
    s->start_px = s->px;
    s->px_t = g->t_market;
    s->pdec = s->px >= 1.0 ? 2 : s->px >= 0.01 ? 5 : 8;
    s->pscale = s->pdec == 2 ? 100 : s->pdec == 5 ? 100000 : 100000000;
    s->id = p->id0 + (uint64_t)urange(&s->rng, 0, 999999);
    s->ccseq = p->ccseq0 + (s->id - p->id0);
    s->lasttradeid = p->aggid0 + (uint64_t)urange(&s->rng, 0, 999999);
    s->regime = REG_NORMAL;
    s->regime_until = g->t_market +
                      (int64_t)(expo(&s->rng, 60.0) * (double)NS);
    s->te_last = g->t_market;
    plan_trade(g, s);
    plan_late(g, s, g->t_market + 10 * MINUTE_NS);
    /* CCCAGG state as of the market start */
    s->price = s->median = s->px;
    s->flags = 1;
    s->day = g->t_market / (86400 * NS);
    s->hour = g->t_market / (3600 * NS);
    {
        double frac_day = (double)(g->t_market % (86400 * NS)) /
                          (double)(86400 * NS);
        double frac_hour = (double)(g->t_market % (3600 * NS)) /
                           (double)(3600 * NS);
        double v24 = p->vol_min * 1440.0 * (0.85 + 0.3 * u01(&s->rng));
        s->vday = llround(p->vol_min * 1440.0 * frac_day *
                          (0.8 + 0.3 * u01(&s->rng)) * 1e8);
        s->vdayto = llround((double)s->vday * s->px / 100.0);
        s->vhour = llround(p->vol_min * 60.0 * frac_hour *
                           (0.8 + 0.4 * u01(&s->rng)) * 1e8);
        s->vhourto = llround((double)s->vhour * s->px / 100.0);
        s->v24 = llround(v24 * 1e8);
        if (s->v24 < s->vday) {
            s->v24 = s->vday + llround(p->vol_min * 600.0 * 1e8);
        }
        s->v24to = llround((double)s->v24 * s->px * 1.002 / 100.0);
    }
    s->v_t = g->t_market;
    s->openday = s->px * (1.0 + (u01(&s->rng) - 0.5) * 0.02);
    s->highday = (s->openday > s->px ? s->openday : s->px) *
                 (1.0 + 0.001 + 0.008 * u01(&s->rng));
    s->lowday = (s->openday < s->px ? s->openday : s->px) *
                (1.0 - 0.001 - 0.008 * u01(&s->rng));
    s->open24 = s->px * (1.0 + (u01(&s->rng) - 0.5) * 0.03);
    s->high24 = (s->highday > s->open24 ? s->highday : s->open24) *
                (1.0 + 0.004 * u01(&s->rng));
    s->low24 = (s->lowday < s->open24 ? s->lowday : s->open24) *
               (1.0 - 0.004 * u01(&s->rng));
    s->openhour = s->px * (1.0 + (u01(&s->rng) - 0.5) * 0.004);
    s->highhour = (s->openhour > s->px ? s->openhour : s->px) *
                  (1.0 + 0.0015 * u01(&s->rng));
    s->lowhour = (s->openhour < s->px ? s->openhour : s->px) *
                 (1.0 - 0.0015 * u01(&s->rng));
    s->lastvol = llround(p->q_median * 1e8);
    s->lastvolto = ((double)s->lastvol / 1e8) * s->px;
    s->lastupdate = g->t_market / NS;
    s->agg_t = g->t_market + (int64_t)(expo(&s->rng, 1.0 / p->agg_rate) *
                                       (double)NS);
    s->last_mm[K_AGG] = s->last_mm[K_EX] = g->t_market / MINUTE_NS - 1;
    memset(s->pert_mm, 0xff, sizeof s->pert_mm); /* -1: none */
}

/* The faults and quiet spells of the scenario (docs/synth.md). */
static void script(struct gen *g)
{
    int64_t len = (int64_t)g->o.minutes * MINUTE_NS;
    int sc = g->o.scenario;
    int64_t f;
    unsigned i;

    /* default: reference 9.1's drop at T+6:10 of 10 minutes, 10 s into
     * a minute, i.e. in the middle of a bar */
    f = g->t0 + len / 1000 * 617 + len % 1000 * 617 / 1000; /* no overflow
                                                          at a year */
    if (sc == SYNTH_SC_TOO_MANY_SOCKETS || sc == SYNTH_SC_GAP_BACKFILL ||
        sc == SYNTH_SC_HEARTBEAT_STALL) {
        f = g->t0 + len * 3 / 10; /* room for the long wait after it */
    }
    f = floor_to(f, MINUTE_NS) +
        (sc == SYNTH_SC_ABRUPT_DISCONNECT ? 30 : 10) * NS +
        urange(&g->ct, 0, 999) * MS;
    if (f < g->t0 + 8 * NS) {
        f = g->t0 + 8 * NS + urange(&g->ct, 0, 999) * MS;
    }
    g->n_faults = 0;
    g->refuse_until = f + 240 * NS;
    switch (sc) {
    case SYNTH_SC_ABRUPT_DISCONNECT:
        g->faults[g->n_faults].t = f;
        g->faults[g->n_faults++].kind = FT_ABRUPT_ERR;
        break;
    case SYNTH_SC_CLEAN_CLOSE:
        g->faults[0].t = floor_to(g->t0 + len * 4 / 10, MINUTE_NS) +
                         urange(&g->ct, 5000, 50000) * MS;
        g->faults[0].kind = FT_CLOSE_1001;
        g->faults[1].t = floor_to(g->t0 + len * 8 / 10, MINUTE_NS) +
                         urange(&g->ct, 5000, 50000) * MS;
        g->faults[1].kind = FT_CLOSE_1000;
        g->n_faults = 2;
        break;
    case SYNTH_SC_FORCE_DISCONNECT:
        g->faults[g->n_faults].t = f;
        g->faults[g->n_faults++].kind = FT_FORCE;
        break;
    case SYNTH_SC_HEARTBEAT_STALL:
        g->faults[g->n_faults].t = f;
        g->faults[g->n_faults++].kind = FT_STALL;
        break;
    case SYNTH_SC_DUPLICATE_TRADES:
        g->faults[0].t = f;
        g->faults[0].kind = FT_ABRUPT;
        g->faults[1].t = f + urange(&g->ct, 40000, 50000) * MS;
        g->faults[1].kind = FT_ABRUPT;
        g->n_faults = 2;
        break;
    default:
        g->faults[g->n_faults].t = f;
        g->faults[g->n_faults++].kind = FT_ABRUPT;
        break;
    }
    /* Keep a short gap shorter than the replay: trading is quiet around
     * it, so the 20 replayed trades overlap what was seen before. */
    g->n_quiet = 0;
    if (sc != SYNTH_SC_HEARTBEAT_STALL && sc != SYNTH_SC_UNAUTHORIZED &&
        sc != SYNTH_SC_TOO_MANY_SOCKETS && sc != SYNTH_SC_GAP_BACKFILL) {
        for (i = 0; i < g->n_faults && i < QUIET_MAX; i++) {
            g->quiet[g->n_quiet][0] = g->faults[i].t - 2 * NS;
            g->quiet[g->n_quiet][1] = g->faults[i].t + 25 * NS;
            g->n_quiet++;
        }
    }
    g->p_ooo = sc == SYNTH_SC_OUT_OF_ORDER ? 0.10 : 0.015;
    if (sc == SYNTH_SC_MALFORMED_FRAME || sc == SYNTH_SC_TRUNCATED_FRAME) {
        g->tm[TM_CORRUPT] = g->t0 + len / 4 + urange(&g->ct, 0, 999) * MS;
    }
    if (sc == SYNTH_SC_LATE_TRADES) {
        g->tm[TM_TOOLATE] = floor_to(g->t0 + len / 2, MINUTE_NS) + 40 * NS;
    }
}

/* What the server answers the attempt-th socket (1-based). */
static int greet_for(const struct gen *g, unsigned attempt)
{
    switch (g->o.scenario) {
    case SYNTH_SC_ABRUPT_DISCONNECT:
        return attempt == 2 ? GR_REFUSED : GR_OK;
    case SYNTH_SC_UNAUTHORIZED:
        return attempt == 2 ? GR_401 : GR_OK;
    case SYNTH_SC_TOO_MANY_SOCKETS:
        return attempt == 2 ? GR_429 : GR_OK;
    case SYNTH_SC_GAP_BACKFILL:
        /* refused for four minutes: some gap bars settle by the reconnect
         * and some do not, so the backfill takes two rounds */
        return attempt >= 2 && g->now < g->refuse_until ? GR_REFUSED : GR_OK;
    default:
        return GR_OK;
    }
}

/* ---------------------------------------------------------------------
 * REST
 * ------------------------------------------------------------------- */

static void rq_push(struct gen *g, const struct rp_fetch *f, int kind)
{
    struct rest_item *it;

    if (g->rq_n == g->rq_cap) {
        /* cannot happen: the queue holds REST_Q_PER_SERIES requests a
         * series; never blocks */
        return;
    }
    it = &g->rq[(g->rq_head + g->rq_n) % g->rq_cap];
    it->f = *f;
    it->kind = (uint8_t)kind;
    g->rq_n++;
    if (!g->rest_waiting && g->tm[TM_REST] == INT64_MAX) {
        g->tm[TM_REST] = g->now > g->rest_not_before ? g->now
                                                     : g->rest_not_before;
    }
}

static struct sym *sym_by_name(struct gen *g, const char *name)
{
    unsigned i;
    for (i = 0; i < g->n; i++) {
        if (strcmp(g->sy[i].name, name) == 0) {
            return &g->sy[i];
        }
    }
    return NULL;
}

/* The close of the newest bar with a price before minute mm (the open of
 * mm); the start price if none is kept. */
static double close_before(struct sym *s, int k, int64_t mm)
{
    int64_t m;

    for (m = mm - 1; m > mm - BAR_RING; m--) {
        struct mbar *b = bar_slot(s, k, m);
        if (b->minute != m) {
            break;
        }
        if (b->np > 0) {
            return b->c;
        }
    }
    return s->start_px;
}

static double pert(const struct sym *s, int k, int64_t mm, bool vol)
{
    int i;
    for (i = 0; i < 2; i++) {
        if (s->pert_mm[k][i] == mm) {
            return vol ? s->pert_vol[k][i] : s->pert_px[k][i];
        }
    }
    return 1.0;
}

/* Volume in quote to cents, half-even. */
static int64_t cents_of(bar_i128 v, int64_t unit_per_cent)
{
    bar_i128 q = v / unit_per_cent, r = v % unit_per_cent;
    if (2 * r > unit_per_cent || (2 * r == unit_per_cent && (q & 1) != 0)) {
        q++;
    }
    return (int64_t)q;
}

/* A histominute v2 body for bars [first_mm, last_mm] of one series, as
 * the server would answer at server time now (reference 1.3): open is the
 * previous close, the bar holding now is partial, quiet minutes are flat
 * with no volume. */
static void render_histo(struct gen *g, struct sym *s, int k, int64_t first_mm,
                         int64_t last_mm, bool revise)
{
    struct sy_buf *b = &g->bb;
    double prev = close_before(s, k, first_mm);
    int64_t unit = k == K_AGG ? 10000 : s->pscale * 1000000;
    int64_t mm;

    sy_buf_reset(b);
    SY_LIT(b, "{\"Response\":\"Success\",\"Message\":\"\",\"HasWarning\":"
              "false,\"Type\":100,\"RateLimit\":{},\"Data\":{\"Aggregated\":"
              "false,\"TimeFrom\":");
    sy_i64(b, first_mm * 60);
    SY_LIT(b, ",\"TimeTo\":");
    sy_i64(b, last_mm * 60);
    SY_LIT(b, ",\"Data\":[");
    for (mm = first_mm; mm <= last_mm; mm++) {
        struct mbar *m = bar_slot(s, k, mm);
        double o = prev, h = prev, l = prev, c = prev;
        int64_t vol = 0, cents = 0;

        if (m->minute == mm && m->np > 0) {
            c = m->c;
            h = m->h > o ? m->h : o;
            l = m->l < o ? m->l : o;
        }
        if (m->minute == mm) {
            vol = m->vol;
            cents = cents_of(m->volto, unit);
        }
        if (revise) {
            double fp = pert(s, k, mm, false), fv = pert(s, k, mm, true);
            if (fp != 1.0) {
                c *= fp;
                h = c > h ? c : h;
                l = c < l ? c : l;
            }
            if (fv != 1.0) {
                vol = llround((double)vol * fv);
                cents = llround((double)cents * fv);
            }
        }
        if (mm > first_mm) {
            sy_putc(b, ',');
        }
        SY_LIT(b, "{\"time\":");
        sy_i64(b, mm * 60);
        SY_LIT(b, ",\"high\":");
        sy_dbl(b, h);
        SY_LIT(b, ",\"low\":");
        sy_dbl(b, l);
        SY_LIT(b, ",\"open\":");
        sy_dbl(b, o);
        SY_LIT(b, ",\"volumefrom\":");
        sy_scaled(b, vol, 8);
        SY_LIT(b, ",\"volumeto\":");
        sy_scaled(b, cents, 2);
        SY_LIT(b, ",\"close\":");
        sy_dbl(b, c);
        SY_LIT(b, ",\"conversionType\":\"direct\",\"conversionSymbol\":\"\"}");
        prev = c;
    }
    SY_LIT(b, "]}}");
}

static void rest_headers(struct gen *g, int64_t t, bool error)
{
    char date[40];
    struct sy_buf *m = &g->mb;

    sy_http_date(t / NS, date, sizeof date);
    sy_buf_reset(m);
    /* the header set of reference 1.8, names lower-case as the capture
     * shell records them (docs/capture-format.md) */
    SY_LIT(m, "{\"headers\":{\"server\":\"nginx\",\"date\":");
    sy_qstr(m, date);
    SY_LIT(m, ",\"content-type\":\"application/json; charset=UTF-8\","
              "\"transfer-encoding\":\"chunked\","
              "\"connection\":\"keep-alive\","
              "\"vary\":\"Accept-Encoding\","
              "\"content-security-policy\":\"frame-ancestors 'none'\","
              "\"access-control-allow-origin\":\"*\","
              "\"access-control-allow-methods\":\"GET, POST, OPTIONS\","
              "\"access-control-allow-headers\":\"Content-Type, Cookie, "
              "Set-Cookie, Authorization\","
              "\"access-control-allow-credentials\":\"true\","
              "\"cache-control\":");
    if (error) {
        SY_LIT(m, "\"no-cache, no-store\"");
    } else {
        SY_LIT(m, "\"public, max-age=10\"");
    }
    SY_LIT(m, ",\"x-cryptocompare-cache-hit\":\"false\","
              "\"x-cryptocompare-server-id\":\"ccc-api12\"}}");
}

static int rest_send(struct gen *g)
{
    struct rest_item *it = &g->rq[g->rq_head];
    char path[512];
    size_t len;
    int rc;

    rc = rp_req_path(&it->f.req, path, sizeof path, &len);
    if (rc != MD_OK) {
        return rc;
    }
    if (g->rest_conn == 0) {
        rc = conn_open(g, "rest", REST_URL, local_of(g, g->now),
                       &g->rest_conn);
        if (rc != MD_OK) {
            return rc;
        }
    }
    sy_buf_reset(&g->mb);
    SY_LIT(&g->mb, "{\"method\":\"GET\",\"url\":\"" REST_URL);
    sy_put(&g->mb, path, len);
    SY_LIT(&g->mb, "\",\"headers\":{\"accept\":\"application/json\","
                   "\"user-agent\":\"ccstream/" CCSTREAM_VERSION "\"}}");
    rc = emit(g, g->rest_conn, STORE_K_HTTP_REQUEST, STORE_D_OUT,
              local_of(g, g->now), 0, g->mb.p, NULL, 0);
    g->st.rest_requests++;
    g->rest_sent++;
    g->rest_waiting = true;
    g->tm[TM_REST] = g->now + urange(&g->rs, 60, 250) * MS;
    return rc;
}

static void rq_pop(struct gen *g)
{
    g->rq_head = (g->rq_head + 1) % g->rq_cap;
    g->rq_n--;
}

/* The answer to the head request arrives now. */
static int rest_answer(struct gen *g)
{
    struct rest_item *it = &g->rq[g->rq_head];
    const struct rp_req *req = &it->f.req;
    int64_t status = 200, local = local_of(g, g->now);
    bool error = false, rate = false, auth = false;
    int rc;

    g->rest_waiting = false;
    g->tm[TM_REST] = INT64_MAX;
    if (g->o.scenario == SYNTH_SC_REST_UNAUTHORIZED) {
        static const char body[] =
            "{\"Data\":{},\"Err\":{\"type\":2,\"message\":\"API key "
            "required, please refer to the documentation at "
            "https://developers.coindesk.com/\",\"http_status_code\":401,"
            "\"frontend\":{\"type\":2,\"message\":\"API key required, please "
            "refer to the documentation at "
            "https://developers.coindesk.com/\"}}}";
        sy_buf_reset(&g->bb);
        SY_LIT(&g->bb, body);
        status = 401;
        error = auth = true;
    } else if (g->o.scenario == SYNTH_SC_REST_RATE_LIMIT &&
               g->rest_sent == 2) {
        /* the key's minute is used up (free tier, reference 1.8) */
        sy_buf_reset(&g->bb);
        SY_LIT(&g->bb, "{\"Response\":\"Error\",\"Message\":\"You are over "
                       "your rate limit please upgrade your account!\","
                       "\"HasWarning\":false,\"Type\":99,\"RateLimit\":{"
                       "\"calls_made\":{\"second\":2,\"minute\":300,"
                       "\"hour\":1466,\"day\":5233,\"month\":31020,"
                       "\"total_calls\":31020},\"max_calls\":{\"second\":20,"
                       "\"minute\":300,\"hour\":3000,\"day\":7500,"
                       "\"month\":50000}},\"Data\":{}}");
        error = rate = true;
    } else {
        struct sym *s = sym_by_name(g, req->fsyms[0]);
        int k = req->e[0] == '\0' || strcasecmp(req->e, RP_INDEX_MARKET) == 0
                    ? K_AGG
                    : K_EX;
        int64_t last = req->to_ts != 0 ? floor_to(req->to_ts * NS, MINUTE_NS)
                                       : floor_to(g->now, MINUTE_NS);
        last /= MINUTE_NS;
        if (s == NULL) {
            return MD_E_INVAL;
        }
        render_histo(g, s, k, last - (int64_t)req->limit, last,
                     it->kind == RQ_POST);
    }
    if (g->bb.full) {
        return MD_E_FULL;
    }
    rest_headers(g, g->now, error);
    rc = emit(g, g->rest_conn, STORE_K_HTTP_RESPONSE, STORE_D_IN, local,
              status, g->mb.p, g->bb.p, g->bb.len);
    if (rc != MD_OK) {
        return rc;
    }
    if (rate) {
        /* wait as the core would: learn the budget from the body itself */
        struct cc_histo h;
        struct rp_budget bud;
        int64_t wait;
        rc = cc_rest_histo(g->bb.p, g->bb.len, 200, &h, NULL, 0, NULL);
        rp_budget_init(&bud);
        if (rc == MD_OK && h.st.kind == CC_R_RATE_LIMIT) {
            (void)rp_budget_learn(&bud, &h.st.rl, g->now);
        }
        wait = rp_budget_wait_ns(&bud, g->now);
        g->rest_not_before = g->now + (wait > NS ? wait : NS) +
                             urange(&g->rs, 10, 200) * MS;
    } else if (auth) {
        /* the key is refused: the REST machine drops its queue */
        g->rq_n = 0;
    } else {
        rq_pop(g);
    }
    if (g->rq_n > 0) {
        int64_t next = g->now + urange(&g->rs, 2, 30) * MS;
        g->tm[TM_REST] = next > g->rest_not_before ? next
                                                   : g->rest_not_before;
    } else if (g->post_queued && !g->post_done) {
        g->post_done = true;
        g->tm[TM_END] = g->now + urange(&g->rs, 300, 900) * MS;
    }
    return MD_OK;
}

static int on_rest(struct gen *g)
{
    if (g->rest_waiting) {
        return rest_answer(g);
    }
    g->tm[TM_REST] = INT64_MAX;
    if (g->rq_n == 0) {
        return MD_OK;
    }
    return rest_send(g);
}

static int plan_preflight(struct gen *g)
{
    struct rp_fetch *f;
    size_t n = 0, i;
    int rc;

    /* how many requests first (MD_E_FULL says), then the plan */
    rc = rp_plan_preflight(&g->rcfg, g->series, g->n_series, g->now, NULL,
                           0, &n);
    if (rc != MD_OK && rc != MD_E_FULL) {
        return rc;
    }
    f = calloc(n + 1, sizeof *f);
    if (f == NULL) {
        return MD_E_NOMEM;
    }
    rc = rp_plan_preflight(&g->rcfg, g->series, g->n_series, g->now, f, n,
                           &n);
    for (i = 0; rc == MD_OK && i < n; i++) {
        rq_push(g, &f[i], RQ_PRE);
    }
    free(f);
    return rc;
}

/* Reference 9.1 item 8: histominute over the whole session (at most the 7
 * days the server keeps), to_ts absent so the newest bar is the partial
 * current one; pages of 2000 newest first; 1-2 recent bars revised. */
static int plan_postflight(struct gen *g)
{
    int64_t want = (int64_t)g->o.minutes + 5;
    int64_t cur = g->now / MINUTE_NS;
    unsigned i, k;
    int rc;

    if (g->ending) {
        want = (g->t_end - g->t0) / MINUTE_NS + 6;
    }
    if (want > DEPTH_BARS) {
        want = DEPTH_BARS;
    }
    for (i = 0; i < g->n; i++) {
        struct sym *s = &g->sy[i];
        for (k = 0; k < 2; k++) {
            unsigned j, np = 1 + (unsigned)md_prng_below(&g->rs, 2);
            for (j = 0; j < 2; j++) {
                s->pert_mm[k][j] = j < np ? cur - 1 - (int64_t)md_prng_below(
                                                          &g->rs, 5)
                                          : -1;
                s->pert_px[k][j] = 1.0 + (u01(&g->rs) < 0.5 ? -1 : 1) *
                                             (5e-5 + 2.5e-4 * u01(&g->rs));
                s->pert_vol[k][j] = 1.0 + (u01(&g->rs) - 0.5) * 0.12;
            }
        }
    }
    for (i = 0; i < g->n_series; i++) {
        int64_t left = want, to = 0;
        while (left > 0) {
            struct rp_fetch f;
            int64_t limit = left > RP_LIMIT_MAX ? RP_LIMIT_MAX : left;
            memset(&f, 0, sizeof f);
            f.series = g->series[i];
            f.series_idx = i;
            rp_req_init(&f.req, RP_EP_HISTOMINUTE);
            rc = rp_req_add_fsym(&f.req, g->series[i].base);
            if (rc == MD_OK) {
                rc = rp_req_add_tsym(&f.req, "USD");
            }
            if (rc == MD_OK) {
                rc = rp_req_set_market(&f.req, g->series[i].market);
            }
            if (rc != MD_OK) {
                return rc;
            }
            f.req.limit = (uint32_t)limit;
            f.req.to_ts = to;
            f.last_s = to != 0 ? to : cur * 60;
            f.first_s = f.last_s - limit * 60;
            rq_push(g, &f, RQ_POST);
            left -= limit + 1;
            to = f.first_s - 60;
        }
    }
    g->post_queued = true;
    if (g->rq_n == 0) {
        g->post_done = true;
        g->tm[TM_END] = g->now + NS;
    }
    return MD_OK;
}

/* Backfill as the core plans it after every reconnect (core.c, REST
 * policy section 6): at LOADCOMPLETE the gap's bars that have settled,
 * and when the others have, a re-plan from the first pending bar. */
static int on_backfill(struct gen *g)
{
    struct rp_fetch f[8];
    unsigned i;
    size_t j;
    int64_t next = INT64_MAX;
    int rc;

    g->tm[TM_BACKFILL] = INT64_MAX;
    for (i = 0; i < g->n_series; i++) {
        struct rp_backfill res;
        int64_t from;
        if (g->gap_open) {
            from = g->gap_start;
        } else if (g->bf[i].pending && g->bf[i].retry <= g->now) {
            from = g->bf[i].resume;
        } else {
            if (g->bf[i].pending && g->bf[i].retry < next) {
                next = g->bf[i].retry;
            }
            continue;
        }
        rc = rp_plan_backfill(&g->rcfg, &g->series[i], i, from, g->bf_gap_end,
                              g->now, f, sizeof f / sizeof f[0], &res);
        if (rc != MD_OK) {
            return rc;
        }
        for (j = 0; j < res.n_fetch; j++) {
            rq_push(g, &f[j], RQ_BACKFILL);
        }
        g->bf[i].pending = res.pending > 0;
        g->bf[i].resume = res.resume_ns;
        g->bf[i].retry = res.retry_at_ns;
        if (g->bf[i].pending && res.retry_at_ns < next) {
            next = res.retry_at_ns;
        }
    }
    g->gap_open = false;
    g->tm[TM_BACKFILL] = next;
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * WebSocket
 * ------------------------------------------------------------------- */

static void set_ctl(struct gen *g, int step, int64_t t)
{
    g->ctl = step;
    g->tm[TM_CTL] = t;
}

static void all_live(struct gen *g, bool live)
{
    unsigned i;
    for (i = 0; i < g->n; i++) {
        g->sy[i].trade_live = g->sy[i].agg_live = live;
    }
}

/* The socket is gone (its WS_CLOSED is recorded by the caller). */
static void socket_gone(struct gen *g)
{
    if (g->sock_live && !g->gap_open) {
        /* the core's gap starts at the last heartbeat or data seen */
        g->gap_start = g->last_activity;
        g->gap_open = true;
    }
    g->sock_live = false;
    all_live(g, false);
    g->tm[TM_HB] = INT64_MAX;
    g->silent = false;
    g->conn = 0;
}

/* Back off as the core's connection machine does (md_backoff_ns): the
 * reconnect time, armed when the socket is given up. */
static void arm_backoff(struct gen *g, bool longwait)
{
    int64_t d = longwait ? md_backoff_ns(&g->ct, 0, BACKOFF_LONG_NS,
                                         BACKOFF_LONG_NS)
                         : md_backoff_ns(&g->ct, g->backoff_k, BACKOFF_MIN_NS,
                                         BACKOFF_MAX_NS);
    if (!longwait) {
        g->backoff_k++;
    }
    g->reconnect_at = g->now + d;
}

static void schedule_reconnect(struct gen *g, bool longwait)
{
    arm_backoff(g, longwait);
    g->phase = WS_BACKOFF;
    set_ctl(g, CT_CONNECT, g->reconnect_at);
}

static int ws_closed(struct gen *g, int64_t local, int64_t code,
                     const char *reason)
{
    int64_t id = g->conn;
    int rc = emit(g, id, STORE_K_WS_CLOSED, STORE_D_IN, local, code, NULL,
                  reason, strlen(reason));
    if (rc == MD_OK) {
        rc = conn_close(g, id, local, code, reason);
    }
    socket_gone(g);
    return rc;
}

static void random_token(struct md_prng *r, char *out, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "abcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    for (i = 0; i < n; i++) {
        out[i] = a[md_prng_below(r, 64)];
    }
    out[n] = '\0';
}

static int on_connect(struct gen *g)
{
    int rc;

    g->attempts++;
    g->st.ws_connections++;
    g->greet_kind = greet_for(g, g->attempts);
    g->lat = urange(&g->ct, 15, 40) * MS;
    rc = conn_open(g, "ws", WS_URL, local_of(g, g->now), &g->conn);
    if (rc != MD_OK) {
        return rc;
    }
    sy_buf_reset(&g->mb);
    SY_LIT(&g->mb, "{\"url\":\"" WS_URL "\"}");
    rc = emit(g, g->conn, STORE_K_WS_CONNECT, STORE_D_OUT,
              local_of(g, g->now), 0, g->mb.p, NULL, 0);
    g->phase = WS_CONNECTING;
    if (g->greet_kind == GR_REFUSED) {
        set_ctl(g, CT_REFUSED, g->now + urange(&g->ct, 20, 60) * MS);
    } else {
        /* TCP, TLS and the upgrade: about three round trips */
        set_ctl(g, CT_HANDSHAKE, g->now + 6 * g->lat +
                                     urange(&g->ct, 10, 50) * MS);
    }
    return rc;
}

static int on_refused(struct gen *g)
{
    static const char err[] = "connect failed: Connection refused";
    int64_t local = local_of(g, g->now);
    int rc = emit(g, g->conn, STORE_K_WS_ERROR, STORE_D_IN, local,
                  111 /* ECONNREFUSED */, NULL, err, sizeof err - 1);
    if (rc == MD_OK) {
        rc = ws_closed(g, local, 1006, "");
    }
    schedule_reconnect(g, false);
    return rc;
}

static int on_handshake(struct gen *g)
{
    char date[40], acc[29];
    int64_t local = local_of(g, g->now);
    int64_t p;

    /* socket openings count against the welcome's RATELIMIT_* windows */
    for (p = 0; p < CC_P__COUNT; p++) {
        int64_t w = rp_window_start_ns((int)p, g->now);
        if (w != g->rl_start[p]) {
            g->rl_start[p] = w;
            g->rl_count[p] = p == CC_P_DAY     ? g->rl_prior_day
                             : p == CC_P_MONTH ? g->rl_prior_month
                                               : 0;
        }
        g->rl_count[p]++;
    }
    sy_http_date(g->now / NS, date, sizeof date);
    random_token(&g->ct, acc, 27);
    acc[27] = '=';
    acc[28] = '\0';
    sy_buf_reset(&g->mb);
    SY_LIT(&g->mb, "{\"headers\":{\"date\":");
    sy_qstr(&g->mb, date);
    SY_LIT(&g->mb, ",\"connection\":\"upgrade\",\"upgrade\":\"websocket\","
                   "\"sec-websocket-accept\":");
    sy_qstr(&g->mb, acc);
    SY_LIT(&g->mb, "}}");
    g->phase = WS_OPEN;
    set_ctl(g, CT_GREET, g->now + urange(&g->ct, 2, 12) * MS);
    return emit(g, g->conn, STORE_K_WS_HANDSHAKE, STORE_D_IN, local, 101,
                g->mb.p, NULL, 0);
}

static void render_welcome(struct gen *g, struct sy_buf *b)
{
    static const int64_t maxes[CC_P__COUNT] = {30, 60, 1200, 10000, 20000};
    static const char *const names[CC_P__COUNT] = {"SECOND", "MINUTE", "HOUR",
                                                   "DAY", "MONTH"};
    char sock[21];
    unsigned name;
    int p;

    /* a fresh server for every socket: another name, its own uptime */
    do {
        name = 1 + (unsigned)md_prng_below(&g->ct, 24);
    } while (g->server_name[0] != '\0' &&
             name == (unsigned)((g->server_name[0] - '0') * 10 +
                                (g->server_name[1] - '0')));
    g->server_name[0] = (char)('0' + name / 10);
    g->server_name[1] = (char)('0' + name % 10);
    g->server_name[2] = '\0';
    if (g->uptime0[name] == 0) {
        g->uptime0[name] = urange(&g->ct, 3600, 2500000);
    }
    random_token(&g->ct, sock, 20);
    SY_LIT(b, "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
              "\"SERVER_UPTIME_SECONDS\":");
    sy_i64(b, g->uptime0[name] + (g->now - g->t0) / NS);
    SY_LIT(b, ",\"SERVER_NAME\":\"");
    sy_puts(b, g->server_name);
    SY_LIT(b, "\",\"SERVER_TIME_MS\":");
    sy_i64(b, g->now / MS);
    SY_LIT(b, ",\"CLIENT_ID\":");
    sy_i64(b, CLIENT_ID);
    SY_LIT(b, ",\"DATA_FORMAT\":\"JSON\",\"SOCKET_ID\":\"");
    sy_puts(b, sock);
    SY_LIT(b, "\",\"SOCKETS_ACTIVE\":1,\"SOCKETS_REMAINING\":0");
    for (p = 0; p < CC_P__COUNT; p++) {
        SY_LIT(b, ",\"RATELIMIT_MAX_");
        sy_puts(b, names[p]);
        SY_LIT(b, "\":");
        sy_i64(b, maxes[p]);
    }
    for (p = 0; p < CC_P__COUNT; p++) {
        int64_t left = maxes[p] - g->rl_count[p];
        SY_LIT(b, ",\"RATELIMIT_REMAINING_");
        sy_puts(b, names[p]);
        SY_LIT(b, "\":");
        sy_i64(b, left < 0 ? 0 : left);
    }
    sy_putc(b, '}');
}

/* The client closes (CONN_O_DROP / FAIL_AUTH / CLOSE: ws_close 1000). */
static int client_close(struct gen *g, int after)
{
    int rc;

    g->after_close = after;
    g->phase = WS_CLOSING;
    g->tm[TM_HB] = INT64_MAX;
    all_live(g, false);
    rc = emit(g, g->conn, STORE_K_WS_CLOSE, STORE_D_OUT, local_of(g, g->now),
              1000, NULL, NULL, 0);
    if (after == AC_RECONNECT) {
        arm_backoff(g, g->greet_kind == GR_429);
    }
    g->close_code = 1000;
    set_ctl(g, CT_CLOSED, g->now + 2 * g->lat + urange(&g->ct, 1, 5) * MS);
    return rc;
}

static int on_greet(struct gen *g)
{
    struct sy_buf *b = &g->fb;
    int rc;

    sy_buf_reset(b);
    if (g->greet_kind == GR_401) {
        SY_LIT(b, "{\"TYPE\":\"401\",\"MESSAGE\":\"UNAUTHORIZED\","
                  "\"PARAMETER\":\"format\",\"INFO\":\"We only support JSON "
                  "format with a valid api_key.\"}");
    } else if (g->greet_kind == GR_429) {
        SY_LIT(b, "{\"TYPE\":\"429\",\"MESSAGE\":"
                  "\"TOO_MANY_SOCKETS_MAX_1_PER_CLIENT\",\"INFO\":\"You have "
                  "reached your maximum sockets open for your "
                  "subscription\"}");
    } else {
        render_welcome(g, b);
    }
    rc = frame_in(g, g->now, b->p, b->len);
    if (rc != MD_OK) {
        return rc;
    }
    if (g->greet_kind == GR_401 || g->greet_kind == GR_429) {
        g->now += g->lat + urange(&g->ct, 1, 3) * MS; /* it arrives, then */
        return client_close(g, g->greet_kind == GR_401 ? AC_FAIL
                                                       : AC_RECONNECT);
    }
    /* the first heartbeat: the server's 30 s clock has its own phase */
    g->tm[TM_HB] = g->now + urange(&g->ct, 1000, 30000) * MS;
    /* the client answers the welcome as it arrives */
    set_ctl(g, CT_SUBADD,
            g->last_local - g->skew + urange(&g->ct, 100, 400) * US);
    return MD_OK;
}

/* A symbol the server does not know, for the INVALID_SUB path. */
static const char *bad_sym(const struct gen *g)
{
    unsigned i;
    for (i = 0; i < g->n; i++) {
        if (strcmp(g->sy[i].name, "FOO") == 0) {
            return "FOOX";
        }
    }
    return "FOO";
}

/* The subscriptions of the SubAdd, in order; k indexes them. */
static unsigned n_subs(const struct gen *g)
{
    return 2 * g->n;
}

static int on_subadd(struct gen *g)
{
    struct sy_buf *b = &g->fb;
    unsigned i;

    sy_buf_reset(b);
    SY_LIT(b, "{\"action\":\"SubAdd\",\"subs\":[");
    for (i = 0; i < g->n; i++) {
        SY_LIT(b, "\"5~CCCAGG~");
        sy_puts(b, g->sy[i].name);
        SY_LIT(b, "~USD\",");
    }
    for (i = 0; i < g->n; i++) {
        SY_LIT(b, "\"0~");
        sy_puts(b, g->o.exchange);
        sy_putc(b, '~');
        sy_puts(b, g->sy[i].name);
        SY_LIT(b, "~USD\",");
    }
    SY_LIT(b, "\"5~CCCAGG~");
    sy_puts(b, bad_sym(g));
    SY_LIT(b, "~USD\"");
    if (g->o.scenario == SYNTH_SC_INVALID_SUB) {
        SY_LIT(b, ",\"0~");
        sy_puts(b, g->o.exchange);
        sy_putc(b, '~');
        sy_puts(b, bad_sym(g));
        SY_LIT(b, "~USD\",\"5~CCCAGG~");
        sy_puts(b, g->sy[0].name);
        SY_LIT(b, "\",\"5~CCCAGG~");
        sy_puts(b, g->sy[0].name);
        SY_LIT(b, "~USD\"");
    }
    SY_LIT(b, "]}");
    g->phase = WS_SUBSCRIBING;
    g->burst_i = 0;
    /* the server starts answering after a round trip and some work */
    set_ctl(g, CT_BURST, g->now + 2 * g->lat + urange(&g->ct, 30, 120) * MS);
    return emit(g, g->conn, STORE_K_WS_TEXT, STORE_D_OUT, local_of(g, g->now),
                0, NULL, b->p, b->len);
}

static int sub_complete(struct gen *g, const char *sub_prefix,
                        const char *name)
{
    struct sy_buf *b = &g->fb;

    sy_buf_reset(b);
    SY_LIT(b, "{\"TYPE\":\"16\",\"MESSAGE\":\"SUBSCRIBECOMPLETE\",\"SUB\":\"");
    sy_puts(b, sub_prefix);
    sy_puts(b, name);
    SY_LIT(b, "~USD\"}");
    return frame_in(g, g->now, b->p, b->len);
}

static int reject(struct gen *g, const char *message, const char *sub,
                  const char *info)
{
    struct sy_buf *b = &g->fb;

    sy_buf_reset(b);
    SY_LIT(b, "{\"TYPE\":\"500\",\"MESSAGE\":");
    sy_qstr(b, message);
    SY_LIT(b, ",\"PARAMETER\":");
    sy_qstr(b, sub);
    SY_LIT(b, ",\"INFO\":");
    sy_qstr(b, info);
    sy_putc(b, '}');
    return frame_in(g, g->now, b->p, b->len);
}

/* Replay the newest n trades of s (oldest first), as on subscribe. */
static int replay(struct gen *g, struct sym *s, unsigned n)
{
    unsigned i, have = s->ring_n < n ? s->ring_n : n;
    int rc;

    for (i = 0; i < have; i++) {
        unsigned slot = (s->ring_head + TRADE_RING - have + i) % TRADE_RING;
        sy_buf_reset(&g->fb);
        render_trade(g, s, &s->ring[slot], &g->fb);
        g->st.trades++;
        g->st.replayed++;
        rc = frame_in(g, g->now, g->fb.p, g->fb.len);
        if (rc != MD_OK) {
            return rc;
        }
        g->now += urange(&g->ct, 20, 300) * US;
    }
    return MD_OK;
}

/* One subscription of the initial burst per call: its payload, then its
 * TYPE 16 (reference 3.6); after the last, the rejections and TYPE 3. */
static int on_burst(struct gen *g)
{
    unsigned k = g->burst_i++;
    char prefix[64];
    char bad[80];
    int rc;

    if (k < g->n) {
        struct sym *s = &g->sy[k];
        sy_buf_reset(&g->fb);
        render_snapshot(s, &g->fb);
        g->st.cccagg++;
        rc = frame_in(g, g->now, g->fb.p, g->fb.len);
        if (rc != MD_OK) {
            return rc;
        }
        g->now += urange(&g->ct, 50, 400) * US;
        rc = sub_complete(g, "5~CCCAGG~", s->name);
        s->agg_live = true;
    } else if (k < n_subs(g)) {
        struct sym *s = &g->sy[k - g->n];
        rc = replay(g, s, REPLAY_N);
        if (rc != MD_OK) {
            return rc;
        }
        (void)snprintf(prefix, sizeof prefix, "0~%s~", g->o.exchange);
        rc = sub_complete(g, prefix, s->name);
        s->trade_live = true;
    } else {
        static const char info[] =
            "We have not integrated any of the exchanges %s trades on or we "
            "have not currently mapped it.";
        char text[160];
        (void)snprintf(bad, sizeof bad, "5~CCCAGG~%s~USD", bad_sym(g));
        (void)snprintf(text, sizeof text, info, bad_sym(g));
        rc = reject(g, "INVALID_SUB", bad, text);
        if (rc == MD_OK && g->o.scenario == SYNTH_SC_INVALID_SUB) {
            (void)snprintf(bad, sizeof bad, "0~%s~%s~USD", g->o.exchange,
                           bad_sym(g));
            rc = reject(g, "INVALID_SUB", bad, text);
            if (rc == MD_OK) {
                (void)snprintf(bad, sizeof bad, "5~CCCAGG~%s",
                               g->sy[0].name);
                rc = reject(g, "INVALID_SUB", bad,
                            "Invalid subscription string format.");
            }
            if (rc == MD_OK) {
                (void)snprintf(bad, sizeof bad, "5~CCCAGG~%s~USD",
                               g->sy[0].name);
                rc = reject(g, "SUBSCRIPTION_ALREADY_ACTIVE", bad,
                            "This subscription is already active.");
            }
        }
        if (rc != MD_OK) {
            return rc;
        }
        sy_buf_reset(&g->fb);
        SY_LIT(&g->fb, "{\"TYPE\":\"3\",\"MESSAGE\":\"LOADCOMPLETE\","
                       "\"INFO\":\"All your valid subs have been loaded.\"}");
        rc = frame_in(g, g->now, g->fb.p, g->fb.len);
        if (rc != MD_OK) {
            return rc;
        }
        g->phase = WS_LIVE;
        g->sock_live = true;
        g->backoff_k = 0;
        g->lives++;
        if (g->gap_open) {
            /* live again: the core backfills [last activity, now] */
            g->bf_gap_end = g->now;
            g->tm[TM_BACKFILL] = g->now;
        }
        if (g->o.scenario == SYNTH_SC_DUPLICATE_TRADES && g->lives >= 2) {
            /* the server sends the newest trades of a pair once more */
            g->now += urange(&g->ct, 1, 20) * MS;
            rc = replay(g, &g->sy[0], 5);
        }
        set_ctl(g, CT_NONE, INT64_MAX);
        if (g->next_fault < g->n_faults) {
            int64_t ft = g->faults[g->next_fault].t;
            g->tm[TM_FAULT] = ft > g->now ? ft : g->now + NS;
        }
        return rc;
    }
    if (rc == MD_OK) {
        set_ctl(g, CT_BURST, g->now + urange(&g->ct, 40, 250) * MS);
    }
    return rc;
}

static int on_heartbeat(struct gen *g)
{
    struct sy_buf *b = &g->fb;

    g->tm[TM_HB] += 30 * NS + urange(&g->ct, -300, 300) * MS;
    if (g->silent || g->conn == 0) {
        return MD_OK;
    }
    sy_buf_reset(b);
    SY_LIT(b, "{\"TYPE\":\"999\",\"MESSAGE\":\"HEARTBEAT\",\"TIMEMS\":");
    sy_i64(b, g->now / MS);
    sy_putc(b, '}');
    g->st.heartbeats++;
    return frame_in(g, g->now, b->p, b->len);
}

static int on_fault(struct gen *g)
{
    int kind;
    int64_t local;
    int rc = MD_OK;

    g->tm[TM_FAULT] = INT64_MAX;
    if (g->next_fault >= g->n_faults) {
        return MD_OK;
    }
    if (g->phase != WS_LIVE) {
        g->tm[TM_FAULT] = g->now + NS; /* not now: mid-reconnect */
        return MD_OK;
    }
    kind = g->faults[g->next_fault++].kind;
    local = arrive(g, g->now);
    switch (kind) {
    case FT_ABRUPT_ERR: {
        static const char err[] = "read failed: Connection reset by peer";
        rc = emit(g, g->conn, STORE_K_WS_ERROR, STORE_D_IN, local,
                  104 /* ECONNRESET */, NULL, err, sizeof err - 1);
        if (rc != MD_OK) {
            return rc;
        }
    }
        /* fall through */
    case FT_ABRUPT:
        rc = ws_closed(g, local, 1006, "");
        schedule_reconnect(g, false);
        break;
    case FT_CLOSE_1001:
    case FT_CLOSE_1000: {
        int64_t code = kind == FT_CLOSE_1001 ? 1001 : 1000;
        const char *why = code == 1001 ? "Going Away" : "";
        rc = emit(g, g->conn, STORE_K_WS_CLOSE, STORE_D_IN, local, code, NULL,
                  why, strlen(why));
        if (rc == MD_OK) {
            rc = emit(g, g->conn, STORE_K_WS_CLOSE, STORE_D_OUT,
                      local + urange(&g->ct, 100, 900) * US, code, NULL, NULL,
                      0);
        }
        if (rc == MD_OK) {
            rc = ws_closed(g, local + g->lat * 2, code, why);
        }
        schedule_reconnect(g, false);
        break;
    }
    case FT_FORCE:
        sy_buf_reset(&g->fb);
        SY_LIT(&g->fb, "{\"TYPE\":\"500\",\"MESSAGE\":\"FORCE_DISCONNECT\"}");
        rc = frame_in(g, g->now, g->fb.p, g->fb.len);
        if (rc == MD_OK) {
            g->now += g->lat + urange(&g->ct, 1, 3) * MS;
            rc = client_close(g, AC_RECONNECT);
        }
        break;
    case FT_STALL:
        /* nothing more arrives; the client notices after stale_timeout */
        g->silent = true;
        set_ctl(g, CT_STALE, g->last_in_local - g->skew + STALE_NS);
        break;
    default:
        break;
    }
    return rc;
}

static int on_stale(struct gen *g)
{
    int rc = client_close(g, AC_RECONNECT);
    /* the peer is gone: no echo, the socket times out */
    g->close_code = 1006;
    return rc;
}

/* The socket the client closed has ended. */
static int on_closed(struct gen *g)
{
    int64_t local = local_of(g, g->now);
    int rc = MD_OK;

    if (g->close_code != 1006) {
        rc = emit(g, g->conn, STORE_K_WS_CLOSE, STORE_D_IN, local, 1000, NULL,
                  NULL, 0);
    }
    if (rc == MD_OK) {
        rc = ws_closed(g, local, g->close_code, "");
    }
    switch (g->after_close) {
    case AC_RECONNECT:
        g->phase = WS_BACKOFF;
        set_ctl(g, CT_CONNECT,
                g->reconnect_at > g->now ? g->reconnect_at : g->now);
        break;
    case AC_FAIL:
        g->phase = WS_FAILED;
        set_ctl(g, CT_NONE, INT64_MAX);
        break;
    default:
        g->phase = WS_ENDED;
        set_ctl(g, CT_NONE, INT64_MAX);
        g->finished = true;
        break;
    }
    return rc;
}

static int on_end(struct gen *g)
{
    g->tm[TM_END] = INT64_MAX;
    switch (g->phase) {
    case WS_LIVE:
    case WS_OPEN:
    case WS_SUBSCRIBING:
        return client_close(g, AC_END);
    case WS_CONNECTING:
    case WS_CLOSING:
        g->tm[TM_END] = g->now + NS; /* let it settle first */
        return MD_OK;
    default:
        set_ctl(g, CT_NONE, INT64_MAX);
        g->finished = true;
        return MD_OK;
    }
}

static int on_ctl(struct gen *g)
{
    int step = g->ctl;

    g->tm[TM_CTL] = INT64_MAX;
    g->ctl = CT_NONE;
    switch (step) {
    case CT_CONNECT:
        return on_connect(g);
    case CT_REFUSED:
        return on_refused(g);
    case CT_HANDSHAKE:
        return on_handshake(g);
    case CT_GREET:
        return on_greet(g);
    case CT_SUBADD:
        return on_subadd(g);
    case CT_BURST:
        return on_burst(g);
    case CT_STALE:
        return on_stale(g);
    case CT_CLOSED:
        return on_closed(g);
    default:
        return MD_OK;
    }
}

static int on_corrupt(struct gen *g)
{
    g->tm[TM_CORRUPT] = INT64_MAX;
    g->corrupt_next = g->o.scenario == SYNTH_SC_TRUNCATED_FRAME
                          ? CO_TRUNC
                          : (g->corrupt_done == 0 ? CO_COMMA : CO_NAN);
    if (g->corrupt_done == 0) {
        /* and a second one later */
        g->tm[TM_CORRUPT] = g->now + ((int64_t)g->o.minutes * MINUTE_NS) / 4 +
                            urange(&g->ct, 0, 999) * MS;
    }
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * The loop
 * ------------------------------------------------------------------- */

enum { EV_TIMER, EV_TRADE, EV_LATE, EV_AGG };

static int run(struct gen *g)
{
    int rc = MD_OK;

    while (!g->finished) {
        int64_t best = INT64_MAX;
        int what = -1, which = 0;
        unsigned i;

        for (i = 0; i < TM__COUNT; i++) {
            if (g->tm[i] < best) {
                best = g->tm[i];
                what = EV_TIMER;
                which = (int)i;
            }
        }
        for (i = 0; i < g->n; i++) {
            struct sym *s = &g->sy[i];
            if (s->trade_t < best) {
                best = s->trade_t;
                what = EV_TRADE;
                which = (int)i;
            }
            if (s->late_t < best) {
                best = s->late_t;
                what = EV_LATE;
                which = (int)i;
            }
            if (s->agg_t < best) {
                best = s->agg_t;
                what = EV_AGG;
                which = (int)i;
            }
        }
        if (what < 0 || best > g->t_end + 3600 * NS) {
            break; /* nothing left, or a run-away: stop */
        }
        if (best > g->now) {
            g->now = best;
        }
        switch (what) {
        case EV_TRADE:
            rc = on_trade(g, &g->sy[which]);
            break;
        case EV_LATE:
            rc = on_late(g, &g->sy[which]);
            break;
        case EV_AGG:
            rc = on_agg(g, &g->sy[which]);
            break;
        default:
            switch (which) {
            case TM_CTL:
                rc = on_ctl(g);
                break;
            case TM_FAULT:
                rc = on_fault(g);
                break;
            case TM_HB:
                rc = on_heartbeat(g);
                break;
            case TM_REST:
                rc = on_rest(g);
                break;
            case TM_BACKFILL:
                rc = on_backfill(g);
                break;
            case TM_POST:
                g->tm[TM_POST] = INT64_MAX;
                rc = plan_postflight(g);
                break;
            case TM_END:
                rc = on_end(g);
                break;
            case TM_CORRUPT:
                rc = on_corrupt(g);
                break;
            case TM_TOOLATE:
                rc = on_too_late(g);
                break;
            case TM_PRE:
                g->tm[TM_PRE] = INT64_MAX;
                rc = plan_preflight(g);
                break;
            default: /* every timer has its case */
                break;
            }
            break;
        }
        if (rc != MD_OK) {
            return rc;
        }
    }
    if (g->rest_conn != 0) {
        rc = conn_close(g, g->rest_conn, g->last_local, 0, "");
    }
    return rc;
}

int synth_generate(const struct synth_opts *o, const struct synth_sink *sink,
                   struct synth_stats *st, char *errbuf, size_t errlen)
{
    struct gen *g;
    char(*names)[RP_SYM_MAX + 1] = NULL;
    unsigned i;
    int rc;

    if (o == NULL || sink == NULL || sink->event == NULL ||
        sink->conn_open == NULL || sink->conn_close == NULL) {
        sy_errf(errbuf, errlen, "bad arguments%s", "");
        return MD_E_INVAL;
    }
    rc = synth_opts_check(o, errbuf, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    g = calloc(1, sizeof *g);
    if (g == NULL) {
        sy_errf(errbuf, errlen, "out of memory%s", "");
        return MD_E_NOMEM;
    }
    g->o = *o;
    g->sink = sink;
    g->n = o->n_symbols;
    g->n_series = 2 * g->n;
    g->rq_cap = REST_Q_MIN + REST_Q_PER_SERIES * g->n_series;
    g->frame_mem = malloc(FRAME_CAP + (size_t)FRAME_PER_SYM * g->n);
    g->body_mem = malloc(BODY_CAP);
    g->sy = calloc(g->n, sizeof *g->sy);
    g->series = calloc(g->n_series, sizeof *g->series);
    g->bf = calloc(g->n_series, sizeof *g->bf);
    g->rq = calloc(g->rq_cap, sizeof *g->rq);
    names = sy_symbol_names(o);
    if (g->sy == NULL || g->series == NULL || g->bf == NULL ||
        g->rq == NULL || names == NULL) {
        rc = MD_E_NOMEM;
    }
    for (i = 0; rc == MD_OK && i < g->n; i++) {
        g->sy[i].bars[K_AGG] = calloc(BAR_RING, sizeof(struct mbar));
        g->sy[i].bars[K_EX] = calloc(BAR_RING, sizeof(struct mbar));
        if (g->sy[i].bars[K_AGG] == NULL || g->sy[i].bars[K_EX] == NULL) {
            rc = MD_E_NOMEM;
        }
    }
    if (g->frame_mem == NULL || g->body_mem == NULL || rc != MD_OK) {
        sy_errf(errbuf, errlen, "out of memory%s", "");
        rc = MD_E_NOMEM;
        goto out;
    }
    sy_buf_init(&g->fb, g->frame_mem,
                FRAME_CAP + (size_t)FRAME_PER_SYM * g->n);
    sy_buf_init(&g->bb, g->body_mem, BODY_CAP);
    sy_buf_init(&g->mb, g->meta_mem, META_CAP);
    md_prng_seed(&g->ct, o->seed ^ UINT64_C(0x636f6e6e65637473));
    md_prng_seed(&g->rs, o->seed ^ UINT64_C(0x7265737472657374));
    md_prng_seed(&g->jt, o->seed ^ UINT64_C(0x6a69747465726a74));
    for (i = 0; i < TM__COUNT; i++) {
        g->tm[i] = INT64_MAX;
    }
    g->t0 = o->start_s * NS + urange(&g->ct, 0, 999) * MS;
    g->t_market = floor_to(g->t0, MINUTE_NS) - HISTORY_MIN * MINUTE_NS;
    g->t_end = g->t0 + (int64_t)o->minutes * MINUTE_NS;
    g->now = g->t_market;
    g->skew = urange(&g->ct, -30, 30) * MS;
    /* local clocks: wall = server + skew; monotonic counts from an
     * arbitrary base at the session start (the preflight) */
    g->wall0 = (o->start_s - 5) * NS;
    g->mono0 = synth__mono_base(o->seed);
    g->rl_prior_day = urange(&g->ct, 0, 150);
    g->rl_prior_month = g->rl_prior_day + urange(&g->ct, 50, 400);
    g->server_name[0] = '\0';
    g->next_progress = 65536;
    sy_rest_config(&g->rcfg);
    (void)sy_make_series(o, (const char(*)[RP_SYM_MAX + 1])names, g->series);
    for (i = 0; i < g->n; i++) {
        sym_init(g, &g->sy[i], names[i]);
    }
    script(g);
    set_ctl(g, CT_CONNECT, g->t0);
    g->tm[TM_PRE] = g->t0 - 5 * NS;
    g->tm[TM_POST] = g->t_end + 30 * NS;
    rc = run(g);
    if (rc != MD_OK) {
        sy_errf(errbuf, errlen, "generation stopped: %s", md_strerror(rc));
    }
out:
    if (st != NULL) {
        *st = g->st;
    }
    for (i = 0; g->sy != NULL && i < g->n; i++) {
        free(g->sy[i].bars[K_AGG]);
        free(g->sy[i].bars[K_EX]);
    }
    free(g->sy);
    free(g->series);
    free(g->bf);
    free(g->rq);
    free(names);
    free(g->frame_mem);
    free(g->body_mem);
    free(g);
    return rc;
}

/* ---------------------------------------------------------------------
 * Into a capture file
 * ------------------------------------------------------------------- */

static int st_conn_open(void *ctx, const struct store_conn *c, int64_t *id)
{
    return store_conn_open(ctx, c, id);
}

static int st_conn_close(void *ctx, int64_t id, int64_t mono, int64_t wall,
                         int64_t code, const char *reason)
{
    return store_conn_close(ctx, id, mono, wall, code, reason);
}

static int st_event(void *ctx, const struct store_event *ev)
{
    return store_append(ctx, ev);
}

int synth_write(const struct synth_opts *o, const char *path,
                struct synth_stats *st, char *errbuf, size_t errlen)
{
    struct store_session sess;
    struct store_writer *w = NULL;
    struct synth_sink sink;
    char *config, notes[512];
    /* the configuration JSON: its fixed part, then per symbol its name
     * and two series */
    size_t config_cap;
    int rc, rc2;

    rc = synth_opts_check(o, errbuf, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    config_cap = 4096 + (size_t)o->n_symbols * 320;
    config = malloc(config_cap);
    if (config == NULL) {
        sy_errf(errbuf, errlen, "out of memory%s", "");
        return MD_E_NOMEM;
    }
    if (synth_config_json(o, config, config_cap) < 0) {
        free(config);
        sy_errf(errbuf, errlen, "configuration too long%s", "");
        return MD_E_USAGE;
    }
    (void)snprintf(notes, sizeof notes, "synth scenario %s: %s",
                   synth_scenario_name(o->scenario),
                   synth_scenario_what(o->scenario));
    memset(&sess, 0, sizeof sess);
    /* the session starts with the preflight, 5 s before the connect; the
     * generator's clocks are fixed by the options, never read */
    sess.started_wall_ns = (o->start_s - 5) * NS;
    sess.started_mono_ns = synth__mono_base(o->seed);
    sess.tool = "ccstream " CCSTREAM_VERSION;
    sess.kind = "synth";
    sess.config = config;
    sess.prng_seed = o->seed;
    sess.notes = notes;
    rc = store_writer_open(path, &sess, NULL, NULL, &w, errbuf, errlen);
    if (rc != MD_OK) {
        free(config);
        return rc;
    }
    sink.ctx = w;
    sink.conn_open = st_conn_open;
    sink.conn_close = st_conn_close;
    sink.event = st_event;
    rc = synth_generate(o, &sink, st, errbuf, errlen);
    rc2 = store_writer_close(w, rc == MD_OK ? errbuf : NULL,
                             rc == MD_OK ? errlen : 0);
    if (rc == MD_OK) {
        rc = rc2;
    }
    if (rc != MD_OK) {
        char side[4096];
        (void)unlink(path);
        (void)snprintf(side, sizeof side, "%s-wal", path);
        (void)unlink(side);
        (void)snprintf(side, sizeof side, "%s-shm", path);
        (void)unlink(side);
    }
    free(config);
    return rc;
}
