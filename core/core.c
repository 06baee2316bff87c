/* core.c: the composition of the producer's machines with the market-data
 * path and the REST policy. Routes inputs, feeds internal outputs from one
 * part to another within one step. Pure: no I/O, no allocation, no clock. */
#include <string.h>

#include "core.h"
#include "md_err.h"

/* Jobs of pub FETCH_DATA, passed through MD_A_FETCH. */
enum job {
    JOB_PREFLIGHT = 0,
    JOB_BACKFILL = 1
};

const struct fsm_def *const core_defs[MD_M__COUNT] = {
    [MD_M_INVALID] = NULL,
    [MD_M_CONN] = &conn_def,
    [MD_M_REST] = &rest_def,
    [MD_M_PUB] = &pub_def,
};

void core_config_default(struct core_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    conn_config_default(&cfg->conn);
    rest_config_default(&cfg->rest);
    pub_config_default(&cfg->pub);
    agg_config_default(&cfg->agg);
    rp_config_default(&cfg->rp);
    cfg->agg.max_streams = 0; /* from the series (core_mem_size) */
    cfg->rest.queue_cap = 0;  /* from the series (fetch_cap_of) */
}

static bool copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n == 0 || n >= cap) {
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

int core_config_add_series(struct core_config *cfg, const char *market,
                           const char *base, const char *quote,
                           int64_t interval_s)
{
    struct rp_series *s;

    if (cfg->series == NULL || cfg->n_series >= cfg->cap_series) {
        return MD_E_FULL;
    }
    s = &cfg->series[cfg->n_series];
    memset(s, 0, sizeof *s);
    if (!copy_name(s->market, sizeof s->market, market) ||
        !copy_name(s->base, sizeof s->base, base) ||
        !copy_name(s->quote, sizeof s->quote, quote) || interval_s <= 0) {
        return MD_E_INVAL;
    }
    s->interval_s = interval_s;
    s->source = strcmp(market, RP_INDEX_MARKET) == 0 ? BAR_SRC_CCCAGG
                                                     : BAR_SRC_TRADES;
    cfg->n_series++;
    return MD_OK;
}

/* The distinct streams (source, market, base, quote) of the series.
 * Each series is looked for among the ones before it, nearest first (a
 * stream's series are usually added together, so a repeat is found in a
 * few steps; a new stream costs a scan of the ones before). */
static unsigned series_streams(const struct core_config *cfg)
{
    unsigned n = 0, i, j;

    for (i = 0; i < cfg->n_series; i++) {
        const struct rp_series *s = &cfg->series[i];
        bool seen = false;
        for (j = i; j-- > 0 && !seen;) {
            const struct rp_series *o = &cfg->series[j];
            seen = o->source == s->source &&
                   strcmp(o->base, s->base) == 0 &&
                   strcmp(o->quote, s->quote) == 0 &&
                   strcmp(o->market, s->market) == 0;
        }
        n += !seen;
    }
    return n;
}

/* cfg with the table sizes left 0 filled in from the series. */
static void sized(const struct core_config *in, struct core_config *cfg)
{
    *cfg = *in;
    if (cfg->agg.max_streams == 0) {
        cfg->agg.max_streams = series_streams(in) + AGG_STREAMS_DEFAULT;
    }
    if (cfg->max_tickers == 0) {
        cfg->max_tickers = cfg->agg.max_streams;
    }
    if (cfg->rest.queue_cap == 0) {
        /* every series' preflight pages fit: a plan larger than the
         * queue is refused whole (rp_plan_preflight: MD_E_FULL) */
        uint32_t lim = cfg->rp.page_limit > 0 ? cfg->rp.page_limit : 1;
        uint64_t pages = (cfg->rp.preflight_bars + lim - 1) / lim;
        uint64_t n = (uint64_t)cfg->n_series * (pages > 0 ? pages : 1);
        cfg->rest.queue_cap =
            n > CORE_FETCH_MIN ? (n < UINT32_MAX / 2 ? (unsigned)n
                                                     : UINT32_MAX / 2)
                               : CORE_FETCH_MIN;
    }
}

size_t core_mem_size(const struct core_config *in)
{
    struct core_config cfg;
    size_t size = MD_MEM_ALIGN;

    if (in->n_series > CORE_SERIES_LIMIT ||
        (in->n_series > 0 && in->series == NULL)) {
        return SIZE_MAX;
    }
    sized(in, &cfg);
    size = md_mem_add(size, md_mem_round(feed_mem_size(&cfg.agg,
                                                       cfg.max_tickers)));
    size = md_mem_add(size, md_mem_round(md_mem_mul(
                                cfg.n_series, sizeof(struct rp_series))));
    size = md_mem_add(size, md_mem_round(md_mem_mul(
                                cfg.rest.queue_cap, sizeof(struct rp_fetch))));
    size = md_mem_add(size, md_mem_round(md_mem_mul(
                                cfg.rest.queue_cap, sizeof(struct rp_fetch))));
    size = md_mem_add(size, md_mem_round(CORE_HISTO_CAP *
                                         sizeof(struct cc_bar)));
    size = md_mem_add(size, md_mem_round(CORE_HISTO_CAP *
                                         sizeof(struct bar)));
    return size;
}

int core_init(struct core *c, const struct core_config *cfg, void *mem,
              size_t size)
{
    size_t need = core_mem_size(cfg), fsize;
    struct md_arena ar;
    struct rp_series *series = NULL;
    void *fmem;
    int rc;

    memset(c, 0, sizeof *c);
    if (need == SIZE_MAX || size < need) {
        return MD_E_INVAL;
    }
    sized(cfg, &c->cfg);
    fsize = feed_mem_size(&c->cfg.agg, c->cfg.max_tickers);
    md_arena_init(&ar, mem, size);
    fmem = md_arena_take(&ar, fsize);
    if (c->cfg.n_series > 0) {
        series = md_arena_take(&ar, c->cfg.n_series * sizeof *series);
    }
    c->fetch_cap = c->cfg.rest.queue_cap;
    c->fetch = md_arena_take(&ar, c->fetch_cap * sizeof *c->fetch);
    c->plan_tmp = md_arena_take(&ar, c->fetch_cap * sizeof *c->plan_tmp);
    c->histo = md_arena_take(&ar, CORE_HISTO_CAP * sizeof *c->histo);
    c->conv = md_arena_take(&ar, CORE_HISTO_CAP * sizeof *c->conv);
    if (fmem == NULL || (c->cfg.n_series > 0 && series == NULL) ||
        c->fetch == NULL || c->plan_tmp == NULL || c->histo == NULL ||
        c->conv == NULL) {
        memset(c, 0, sizeof *c);
        return MD_E_INVAL; /* cannot happen: size was checked */
    }
    if (c->cfg.n_series > 0) {
        memcpy(series, cfg->series, c->cfg.n_series * sizeof *series);
    }
    c->cfg.series = series;
    c->cfg.cap_series = c->cfg.n_series;
    md_prng_seed(&c->rng, cfg->seed);
    conn_init(&c->conn, &cfg->conn, &c->rng);
    rest_init(&c->rest, &c->cfg.rest, &c->rng);
    pub_init(&c->pub, &cfg->pub, &c->rng);
    c->conn.trace = c->rest.trace = c->pub.trace = (uint8_t)(cfg->trace != 0);
    rc = feed_init(&c->feed, &c->cfg.agg, c->cfg.max_tickers, fmem, fsize);
    if (rc != MD_OK) {
        return rc;
    }
    rp_budget_init(&c->budget);
    return MD_OK;
}

void core_set_bar_sink(struct core *c, struct bar *bars, size_t cap)
{
    c->sink = bars;
    c->sink_cap = bars != NULL ? cap : 0;
    c->sink_n = 0;
}

const struct rp_fetch *core_rest_head(const struct core *c)
{
    return c->fetch_n > 0 ? &c->fetch[c->fetch_head] : NULL;
}

int core_timer_target(enum md_timer timer, enum md_machine *machine,
                      uint8_t *input)
{
    switch (timer) {
    case MD_T_CONN_HANDSHAKE:
        *machine = MD_M_CONN;
        *input = CONN_I_T_HANDSHAKE;
        return 1;
    case MD_T_CONN_STALE:
        *machine = MD_M_CONN;
        *input = CONN_I_T_STALE;
        return 1;
    case MD_T_CONN_BACKOFF:
        *machine = MD_M_CONN;
        *input = CONN_I_T_BACKOFF;
        return 1;
    case MD_T_CONN_CLOSE:
        *machine = MD_M_CONN;
        *input = CONN_I_T_CLOSE;
        return 1;
    case MD_T_REST_TIMEOUT:
        *machine = MD_M_REST;
        *input = REST_I_T_TIMEOUT;
        return 1;
    case MD_T_REST_RETRY:
        *machine = MD_M_REST;
        *input = REST_I_T_RETRY;
        return 1;
    case MD_T_PUB_RETRY:
        *machine = MD_M_PUB;
        *input = PUB_I_RESET;
        return 1;
    case MD_T_PUB_FLUSH:
        *machine = MD_M_PUB;
        *input = PUB_I_T_FLUSH;
        return 1;
    case MD_T_BAR:
    case MD_T_BACKFILL:
    case MD_T_INVALID:
    case MD_T__COUNT:
        break;
    }
    return 0;
}

/* ---- the event queue of one step ----------------------------------- */

struct ev {
    uint8_t machine;
    uint8_t input;
    uint64_t n;
    mono_ns retry_after_ns;
    int64_t server_ms;
};

#define EVQ_CAP 16
struct evq {
    unsigned head, n;
    struct ev e[EVQ_CAP];
};

static void evq_push(struct evq *q, enum md_machine m, uint8_t input,
                     uint64_t n)
{
    /* Capacity is a static property of the routing rules: an input starts
     * at most three events, and a machine step leads to at most two
     * more; EVQ_CAP leaves room. */
    if (q->n < EVQ_CAP) {
        struct ev *e = &q->e[(q->head + q->n) % EVQ_CAP];
        memset(e, 0, sizeof *e);
        e->machine = (uint8_t)m;
        e->input = input;
        e->n = n;
        q->n++;
    }
}

static struct ev *evq_last(struct evq *q)
{
    return q->n > 0 ? &q->e[(q->head + q->n - 1) % EVQ_CAP] : NULL;
}

/* ---- bars ---------------------------------------------------------- */

/* Bars written to the sink since mark: announce them (MD_A_BARS) and hand
 * them to the publisher. */
static void bars_out(struct core *c, size_t mark, mono_ns t,
                     struct md_out *out, struct evq *q)
{
    size_t n = c->sink_n - mark;

    if (n == 0) {
        return;
    }
    c->st.bars_emitted += n;
    if (md_out_room(out) > 0) {
        struct md_action *a = md_out_push(out, MD_A_BARS, t);
        a->arg = n;
    }
    evq_push(q, MD_M_PUB, PUB_I_DATA_READY, n);
}

/* Append one bar made outside the aggregator (REST) to the sink. */
static void sink_put(struct core *c, const struct bar *b)
{
    if (c->sink_n < c->sink_cap) {
        c->sink[c->sink_n++] = *b;
    } else {
        c->st.sink_full++;
    }
}

/* Close what is due at server time now into the sink. */
static void bars_advance(struct core *c, int64_t now, bool flush)
{
    struct agg_out ao = {c->sink + c->sink_n, c->sink_cap - c->sink_n, 0};
    int rc;

    if (c->sink == NULL) {
        /* No sink: count what closes, keep nothing. */
        do {
            ao.bars = c->scratch;
            ao.cap = sizeof c->scratch / sizeof c->scratch[0];
            ao.n = 0;
            rc = flush ? agg_flush(&c->feed.agg, &ao)
                       : agg_advance(&c->feed.agg, now, &ao);
            c->st.sink_full += ao.n;
        } while (rc == MD_E_FULL);
        return;
    }
    rc = flush ? agg_flush(&c->feed.agg, &ao)
               : agg_advance(&c->feed.agg, now, &ao);
    c->sink_n += ao.n;
    if (rc == MD_E_FULL) {
        c->st.sink_full++; /* the rest stays due: the timer fires again */
    }
}

/* Keep the bar timer on the aggregator's next deadline. */
static void bar_timer(struct core *c, mono_ns t, struct md_out *out)
{
    int64_t d = agg_next_deadline(&c->feed.agg);
    mono_ns local;
    struct md_action *a;

    if (md_out_room(out) == 0) {
        return;
    }
    if (d == INT64_MAX) {
        if (c->bar_armed) {
            a = md_out_push(out, MD_A_CANCEL_TIMER, t);
            a->timer = MD_T_BAR;
            c->bar_armed = false;
        }
        return;
    }
    local = feed_local_ns(&c->feed, d);
    if (local < t) {
        local = t;
    }
    if (c->sink != NULL && c->sink_n == c->sink_cap) {
        local = t; /* the sink filled up: continue at once */
    }
    if (!c->bar_armed || c->bar_deadline != local) {
        a = md_out_push(out, MD_A_ARM_TIMER, t);
        a->timer = MD_T_BAR;
        a->deadline_ns = local;
        c->bar_armed = true;
        c->bar_deadline = local;
    }
}

/* ---- REST ----------------------------------------------------------- */

static void fetch_pop(struct core *c, uint64_t k)
{
    while (k-- > 0 && c->fetch_n > 0) {
        c->fetch_head = (c->fetch_head + 1) % c->fetch_cap;
        c->fetch_n--;
    }
}

static bool fetch_push(struct core *c, const struct rp_fetch *f)
{
    if (c->fetch_n >= c->cfg.rest.queue_cap) {
        c->st.fetch_overflow++;
        return false;
    }
    c->fetch[(c->fetch_head + c->fetch_n) % c->fetch_cap] = *f;
    c->fetch_n++;
    c->st.fetch_planned++;
    return true;
}

/* Plan the requests of a job; returns how many were queued. */
static unsigned plan(struct core *c, enum job job, int64_t now,
                     struct md_out *out, mono_ns t)
{
    struct rp_fetch *tmp = c->plan_tmp;
    int64_t retry_at = 0;
    unsigned queued = 0, i;
    size_t n = 0, k;

    if (job == JOB_PREFLIGHT) {
        if (c->cfg.n_series > 0 &&
            rp_plan_preflight(&c->cfg.rp, c->cfg.series, c->cfg.n_series,
                              now, tmp, c->fetch_cap, &n) != MD_OK) {
            n = 0;
        }
        for (k = 0; k < n; k++) {
            queued += fetch_push(c, &tmp[k]);
        }
        return queued;
    }
    /* Backfill the gap, series by series; remember what has not settled.
     * The one backfill timer is armed once, after every series (the last
     * unsettled series' retry, as when each series moved it): one action
     * however many series. */
    c->backfill_pending = false;
    for (i = 0; i < c->cfg.n_series; i++) {
        struct rp_backfill res;
        if (rp_plan_backfill(&c->cfg.rp, &c->cfg.series[i], i,
                             c->gap_start_ns, c->gap_end_ns, now, tmp,
                             c->fetch_cap, &res) != MD_OK) {
            continue;
        }
        for (k = 0; k < res.n_fetch; k++) {
            queued += fetch_push(c, &tmp[k]);
        }
        if (res.retry_at_ns > 0) {
            c->backfill_pending = true;
            c->backfill_from_ns = res.resume_ns;
            retry_at = res.retry_at_ns;
        }
    }
    if (c->backfill_pending && md_out_room(out) > 0) {
        struct md_action *a = md_out_push(out, MD_A_ARM_TIMER, t);
        a->timer = MD_T_BACKFILL;
        a->deadline_ns = feed_local_ns(&c->feed, retry_at);
    }
    return queued;
}

/* The bars of a histo body: preflight seeds and first bars; backfill
 * revisions of the bars that spanned the gap. Returns bars written. */
static uint64_t rest_bars(struct core *c, const struct rp_fetch *f,
                          const struct cc_histo *h, int64_t now)
{
    struct rp_conv_stats cs;
    size_t n = 0, k;
    uint64_t wrote = 0;

    if (rp_histo_to_bars(&c->cfg.rp, f, h, c->histo, h->n_bars, now,
                         c->conv, CORE_HISTO_CAP, &n, &cs) != MD_OK) {
        return 0;
    }
    if (f->purpose == RP_P_PREFLIGHT) {
        /* The open of the first live CCCAGG bar is the close of the last
         * complete REST bar, settled or not (CryptoCompare's convention);
         * only settled bars are published. */
        int64_t iv = f->series.interval_s, best = INT64_MIN;
        double close = 0;
        for (k = 0; k < h->n_bars; k++) {
            const struct cc_bar *cb = &c->histo[k];
            if ((cb->has & CC_BAR_TIME) && (cb->has & CC_BAR_CLOSE) &&
                cb->time > best && cb->time <= INT64_MAX / MD_NS_PER_S - iv &&
                (cb->time + iv) * MD_NS_PER_S <= now && cb->close.d > 0) {
                best = cb->time;
                close = cb->close.d;
            }
        }
        if (f->series.source == BAR_SRC_CCCAGG && best != INT64_MIN) {
            (void)agg_seed_close(&c->feed.agg, f->series.base,
                                 f->series.quote, iv,
                                 (best + iv) * MD_NS_PER_S, close);
        }
        for (k = 0; k < n; k++) {
            sink_put(c, &c->conv[k]);
            wrote++;
            c->st.bars_rest++;
        }
        return wrote;
    }
    for (k = 0; k < n; k++) {
        struct bar id, live, rev;
        id = c->conv[k];
        memcpy(id.market, f->series.market, sizeof id.market);
        id.source = f->series.source;
        if (agg_emitted_bar(&c->feed.agg, &id, &live) == MD_OK) {
            if (rp_bar_revise(&c->conv[k], &live, &rev) == MD_OK) {
                (void)agg_note_backfill(&c->feed.agg, &id, rev.revision);
                sink_put(c, &rev);
                wrote++;
                c->st.backfill_revisions++;
            } else {
                c->st.backfill_refused++;
            }
        } else if (rp_bar_fill(&c->conv[k], &f->series, &rev) == MD_OK) {
            sink_put(c, &rev);
            wrote++;
            c->st.backfill_fills++;
        }
    }
    return wrote;
}

/* Classify a REST response into the REST machine's input. */
static void on_http(struct core *c, const struct core_in *in, struct evq *q,
                    int64_t now)
{
    const struct rp_fetch *f = core_rest_head(c);
    struct cc_histo h;
    struct cc_err err;
    struct ev *e;
    int rc;

    c->st.http_responses++;
    if (f == NULL || c->rest.state != REST_S_REQUESTING) {
        c->st.http_unexpected++; /* no request outstanding: not ours */
        return;
    }
    if (in->http_status == 0) {
        evq_push(q, MD_M_REST, REST_I_RESP_FAIL, 0);
        return;
    }
    rc = cc_rest_histo(in->data, in->len, in->http_status, &h, c->histo,
                       CORE_HISTO_CAP, &err);
    if (rc != MD_OK) {
        c->st.http_malformed++;
        evq_push(q, MD_M_REST, REST_I_RESP_FAIL, 0);
        return;
    }
    switch (h.st.kind) {
    case CC_R_OK:
        /* the bars wait in the sink; the REST machine's FETCH_DONE
         * announces them and hands them to the publisher */
        evq_push(q, MD_M_REST, REST_I_RESP_OK, rest_bars(c, f, &h, now));
        break;
    case CC_R_RATE_LIMIT:
        (void)rp_budget_learn(&c->budget, &h.st.rl, now);
        evq_push(q, MD_M_REST, REST_I_RESP_RATE_LIMIT, 0);
        e = evq_last(q);
        if (e != NULL) {
            e->retry_after_ns = rp_budget_wait_ns(&c->budget, now);
        }
        break;
    case CC_R_AUTH:
        evq_push(q, MD_M_REST, REST_I_RESP_AUTH, 0);
        break;
    case CC_R_PARAM:
        evq_push(q, MD_M_REST, REST_I_RESP_PARAM_ERROR, 0);
        break;
    case CC_R_ERROR:
    case CC_R_NONE:
        evq_push(q, MD_M_REST, REST_I_RESP_FAIL, 0);
        break;
    }
}

/* ---- routing --------------------------------------------------------- */

/* Turn the internal actions in out->a[from..] into events for others. */
static void route(struct core *c, struct evq *q, struct md_out *out,
                  size_t from, mono_ns t)
{
    size_t i, end = out->n;
    int64_t now = feed_server_ns(&c->feed, t);

    for (i = from; i < end; i++) {
        const struct md_action *a = &out->a[i];
        switch ((enum md_act_kind)a->kind) {
        case MD_A_FETCH: {
            unsigned k = plan(c, (enum job)a->arg, now, out, t);
            if (k > 0) {
                evq_push(q, MD_M_REST, REST_I_FETCH, k);
            } else {
                /* nothing to fetch (yet): the job is done, empty */
                evq_push(q, MD_M_PUB, PUB_I_DATA_READY, 0);
            }
            break;
        }
        case MD_A_FETCH_DONE:
            fetch_pop(c, 1);
            if (a->arg > 0 && md_out_room(out) > 0) {
                struct md_action *b = md_out_push(out, MD_A_BARS, t);
                b->arg = a->arg;
                c->st.bars_emitted += a->arg;
            }
            evq_push(q, MD_M_PUB, PUB_I_DATA_READY, a->arg);
            break;
        case MD_A_FETCH_FAILED:
            fetch_pop(c, a->arg);
            evq_push(q, MD_M_PUB, PUB_I_FETCH_FAILURE, a->arg);
            break;
        case MD_A_REST_SEND:
            rp_budget_count(&c->budget, now);
            break;
        case MD_A_WS_SUBSCRIBE:
            feed_resubscribed(&c->feed);
            break;
        case MD_A_NOTE:
            if (a->note == MD_N_GAP_OPEN) {
                c->gap_start_ns = feed_server_ns(&c->feed, (mono_ns)a->arg);
                agg_gap_open(&c->feed.agg, c->gap_start_ns);
            } else if (a->note == MD_N_GAP_CLOSED) {
                /* Live again after a gap: backfill it. */
                c->gap_end_ns = now;
                agg_gap_close(&c->feed.agg, now);
                evq_push(q, MD_M_PUB, PUB_I_FETCH_DATA, JOB_BACKFILL);
            }
            break;
        case MD_A_INVALID:
        case MD_A_TRACE:
        case MD_A_ARM_TIMER:
        case MD_A_CANCEL_TIMER:
        case MD_A_WS_OPEN:
        case MD_A_WS_CLOSE:
        case MD_A_REST_CANCEL:
        case MD_A_TOPIC_CREATE:
        case MD_A_PRODUCE:
        case MD_A_DISCARD:
        case MD_A_FLUSH:
        case MD_A_BARS:
        case MD_A__COUNT:
            break;
        }
    }
}

static int step_one(struct core *c, const struct ev *e,
                    const struct core_in *in, struct md_out *out)
{
    switch ((enum md_machine)e->machine) {
    case MD_M_CONN: {
        struct conn_in ci = {e->input, in->t_ns, e->server_ms};
        return conn_step(&c->conn, &ci, out);
    }
    case MD_M_REST: {
        struct rest_in ri = {e->input, in->t_ns, e->retry_after_ns,
                             (uint32_t)e->n};
        return rest_step(&c->rest, &ri, out);
    }
    case MD_M_PUB: {
        struct pub_in pi = {e->input, in->t_ns, e->n};
        return pub_step(&c->pub, &pi, out);
    }
    case MD_M_INVALID:
    case MD_M__COUNT:
        break;
    }
    return MD_E_INVAL;
}

static int valid_input(const struct core_in *in)
{
    switch ((enum core_in_kind)in->kind) {
    case CORE_IN_START:
    case CORE_IN_STOP:
    case CORE_IN_RESET:
        return 1;
    case CORE_IN_FRAME:
    case CORE_IN_HTTP:
        return in->data != NULL || in->len == 0;
    case CORE_IN_CONN:
        return in->input > 0 && in->input < CONN_I__COUNT;
    case CORE_IN_REST:
        return in->input > 0 && in->input < REST_I__COUNT;
    case CORE_IN_PUB:
        return in->input > 0 && in->input < PUB_I__COUNT;
    case CORE_IN_TIMER:
        return in->timer > 0 && in->timer < MD_T__COUNT;
    case CORE_IN_INVALID:
    case CORE_IN__COUNT:
        break;
    }
    return 0;
}

/* Socket events of a socket the machine has replaced are not its input. */
static int from_old_socket(const struct core *c, const struct core_in *in)
{
    return (in->kind == CORE_IN_FRAME ||
            (in->kind == CORE_IN_CONN && in->input >= CONN_I_WS_OPEN &&
             in->input <= CONN_I_OTHER)) &&
           in->conn_id != c->conn.conn_id;
}

int core_step(struct core *c, const struct core_in *in, struct md_out *out)
{
    struct evq q;
    enum md_machine tm;
    uint8_t ti;
    size_t mark;
    int rc = MD_OK;

    if (md_out_room(out) < CORE_MAX_ACTIONS) {
        return MD_E_FULL;
    }
    if (!valid_input(in)) {
        return MD_E_INVAL;
    }
    c->st.steps++;
    c->sink_n = 0;
    if (from_old_socket(c, in)) {
        c->st.stale_socket_events++;
        return MD_OK;
    }
    memset(&q, 0, sizeof q);
    switch ((enum core_in_kind)in->kind) {
    case CORE_IN_START:
        if (in->server_ms > 0 && !c->feed.have_offset) {
            /* The wall clock until the server tells its time. */
            c->feed.offset_ns = in->server_ms * MD_NS_PER_MS - in->t_ns;
            c->feed.have_offset = true;
        }
        if (c->stopping) {
            /* Once stopped the publisher takes no new work; the
             * connection machine ignores START by its table. */
            evq_push(&q, MD_M_CONN, CONN_I_START, 0);
            break;
        }
        evq_push(&q, MD_M_PUB, PUB_I_CREATE_DYNAMIC_TOPIC, 0);
        evq_push(&q, MD_M_CONN, CONN_I_START, 0);
        evq_push(&q, MD_M_PUB, PUB_I_FETCH_DATA, JOB_PREFLIGHT);
        break;
    case CORE_IN_STOP:
        c->stopping = true;
        /* Open bars go out (close reason flush) before the publisher
         * stops, so they are produced in its drain. */
        mark = c->sink_n;
        bars_advance(c, feed_server_ns(&c->feed, in->t_ns), true);
        bars_out(c, mark, in->t_ns, out, &q);
        evq_push(&q, MD_M_CONN, CONN_I_STOP, 0);
        evq_push(&q, MD_M_REST, REST_I_STOP, 0);
        evq_push(&q, MD_M_PUB, PUB_I_STOP, 0);
        break;
    case CORE_IN_RESET:
        evq_push(&q, MD_M_CONN, CONN_I_RESET, 0);
        evq_push(&q, MD_M_PUB, PUB_I_RESET, 0);
        break;
    case CORE_IN_FRAME: {
        struct feed_result res;
        (void)feed_frame(&c->feed, in->data, in->len, in->t_ns, &res);
        evq_push(&q, MD_M_CONN, res.conn_input, 0);
        evq_last(&q)->server_ms = res.server_ms;
        break;
    }
    case CORE_IN_CONN:
        evq_push(&q, MD_M_CONN, in->input, 0);
        evq_last(&q)->server_ms = in->server_ms;
        break;
    case CORE_IN_HTTP:
        on_http(c, in, &q, feed_server_ns(&c->feed, in->t_ns));
        break;
    case CORE_IN_REST:
        evq_push(&q, MD_M_REST, in->input, in->n);
        evq_last(&q)->retry_after_ns = in->retry_after_ns;
        break;
    case CORE_IN_PUB:
        evq_push(&q, MD_M_PUB, in->input, in->n);
        break;
    case CORE_IN_TIMER:
        if (in->timer == MD_T_BAR) {
            c->bar_armed = false;
            mark = c->sink_n;
            bars_advance(c, feed_server_ns(&c->feed, in->t_ns), false);
            bars_out(c, mark, in->t_ns, out, &q);
        } else if (in->timer == MD_T_BACKFILL) {
            if (c->backfill_pending) {
                c->gap_start_ns = c->backfill_from_ns;
                evq_push(&q, MD_M_PUB, PUB_I_FETCH_DATA, JOB_BACKFILL);
            }
        } else if (core_timer_target((enum md_timer)in->timer, &tm, &ti)) {
            evq_push(&q, tm, ti, 0);
        }
        break;
    case CORE_IN_INVALID:
    case CORE_IN__COUNT:
        return MD_E_INVAL;
    }
    while (q.n > 0 && rc == MD_OK) {
        struct ev e = q.e[q.head];
        size_t from = out->n;
        q.head = (q.head + 1) % EVQ_CAP;
        q.n--;
        rc = step_one(c, &e, in, out);
        if (rc == MD_OK) {
            route(c, &q, out, from, in->t_ns);
        }
    }
    bar_timer(c, in->t_ns, out);
    return rc;
}
