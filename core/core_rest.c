/* core_rest.c: the REST side of the composition: the queue of planned
 * requests, backfill planning (which series, from where, when again after
 * a failure), and a histo answer turned into the REST machine's input and
 * into bars (preflight seeds and first bars, backfill revisions and
 * fills). Called by core.c within a step; every change goes through its
 * staging (stage_save_bf, stage_save_budget) so a failed step undoes it.
 * Pure: no I/O, no allocation, no clock. */
#include <string.h>

#include "core_int.h"
#include "md_err.h"

/* The planned requests live in a ring twice the queue's capacity, so a
 * step that pops and then pushes never writes over a popped entry:
 * restoring head and count restores the queue. */
#define FETCH_RING(c) (2 * (c)->fetch_cap)

const struct rp_fetch *fetch_head(const struct core *c)
{
    return c->s.fetch_n > 0 ? &c->fetch[c->s.fetch_head] : NULL;
}

void fetch_pop(struct core *c, uint64_t k)
{
    while (k-- > 0 && c->s.fetch_n > 0) {
        c->s.fetch_head = (c->s.fetch_head + 1) % FETCH_RING(c);
        c->s.fetch_n--;
    }
}

static bool fetch_push(struct core *c, const struct rp_fetch *f)
{
    if (c->s.fetch_n >= c->cfg.rest.queue_cap) {
        c->st.fetch_overflow++;
        return false;
    }
    c->fetch[(c->s.fetch_head + c->s.fetch_n) % FETCH_RING(c)] = *f;
    c->s.fetch_n++;
    c->st.fetch_planned++;
    return true;
}

/* Keep the backfill timer on the earliest series still pending (server
 * time due_ns, converted to local time). A timer with nothing pending is
 * left to fire: it finds nothing due. */
int backfill_arm(struct core *c, mono_ns t)
{
    int64_t due = INT64_MAX;
    struct md_action *a;
    mono_ns d;
    unsigned i;

    for (i = 0; i < c->cfg.n_series; i++) {
        if (c->bf[i].pending && c->bf[i].due_ns < due) {
            due = c->bf[i].due_ns;
        }
    }
    if (due == INT64_MAX) {
        return MD_OK;
    }
    d = feed_local_ns(&c->feed, due);
    if (d < t) {
        d = t; /* due already (the clock offset moved): now, never in
                  the past, as the bar timer */
    }
    if (c->s.backfill_armed && c->s.backfill_deadline == d) {
        return MD_OK;
    }
    if (md_out_room(&c->stg.out) == 0) {
        return MD_E_FULL;
    }
    a = md_out_push(&c->stg.out, MD_A_ARM_TIMER, t);
    a->timer = MD_T_BACKFILL;
    a->deadline_ns = d;
    c->s.backfill_armed = true;
    c->s.backfill_deadline = d;
    return MD_OK;
}

/* Plan the requests of a job; returns how many were queued. A backfill
 * plans each series that wants one from its own resume point and arms the
 * backfill timer once, for the earliest series still pending. */
unsigned fetch_plan(struct core *c, enum job job, int64_t now, mono_ns t)
{
    struct rp_fetch *tmp = c->plan_tmp;
    unsigned queued = 0, i;
    size_t n = 0, k;
    uint64_t too_old = 0;

    if (job == JOB_PREFLIGHT) {
        /* a restored core knows its previous closes and has published
         * its history: its gap is backfilled instead (ckpt.h) */
        if (c->s.restored) {
            return 0;
        }
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
    stage_save_bf(c);
    /* shortest intervals first: when the rate budget is tight, the bars
     * most consumers read are revised first (a gap of an hour is sixty
     * 1m bars but one 1h bar); in configuration order within one */
    for (;;) {
        int64_t iv = INT64_MAX;
        for (i = 0; i < c->cfg.n_series; i++) {
            if (c->bf[i].want && c->cfg.series[i].interval_s < iv) {
                iv = c->cfg.series[i].interval_s;
            }
        }
        if (iv == INT64_MAX) {
            break;
        }
        for (i = 0; i < c->cfg.n_series; i++) {
            struct core_backfill *b = &c->bf[i];
            struct rp_backfill res;
            if (!b->want || c->cfg.series[i].interval_s != iv) {
                continue;
            }
            b->want = false;
            b->pending = false;
            if (rp_plan_backfill(&c->cfg.rp, &c->cfg.series[i], i,
                                 b->from_ns, b->to_ns, now, tmp,
                                 c->fetch_cap, &res) != MD_OK) {
                continue;
            }
            for (k = 0; k < res.n_fetch; k++) {
                queued += fetch_push(c, &tmp[k]);
            }
            too_old += res.too_old;
            if (res.retry_at_ns > 0) {
                b->pending = true;
                b->from_ns = res.resume_ns;
                b->due_ns = res.retry_at_ns;
            } else if (res.n_fetch == 0) {
                b->fails = 0; /* nothing left to fetch */
            }
        }
    }
    if (too_old > 0) {
        /* beyond the REST history: these minutes will never be fetched */
        c->st.backfill_dropped += too_old;
        (void)stage_note(c, t, MD_N_BACKFILL_DROPPED, too_old);
    }
    (void)backfill_arm(c, t); /* room: caught by the caller's check */
    return queued;
}

/* A gap closed at server time now: every series wants it backfilled,
 * from the earlier of the gap's start and what it still had pending. */
void backfill_gap(struct core *c, int64_t now)
{
    unsigned i;

    stage_save_bf(c);
    for (i = 0; i < c->cfg.n_series; i++) {
        struct core_backfill *b = &c->bf[i];
        if (!(b->want || b->pending) || c->s.gap_start_ns < b->from_ns) {
            b->from_ns = c->s.gap_start_ns;
        }
        b->to_ns = now;
        b->want = true;
    }
}

/* The backfill timer fired at server time now: the series pending and
 * due are planned again. */
bool backfill_due(struct core *c, int64_t now)
{
    unsigned i;
    bool any = false;

    stage_save_bf(c);
    for (i = 0; i < c->cfg.n_series; i++) {
        if (c->bf[i].pending && c->bf[i].due_ns <= now) {
            c->bf[i].want = true;
            any = true;
        }
    }
    return any;
}

/* The first k planned requests failed for good: the minutes of each
 * backfill among them are planned again after a back-off (per series:
 * the union with what it still has to plan), noted and counted. */
int backfill_failed(struct core *c, uint64_t k, int64_t now, mono_ns t)
{
    uint64_t j, n = 0;

    stage_save_bf(c);
    for (j = 0; j < k && j < c->s.fetch_n; j++) {
        const struct rp_fetch *f =
            &c->fetch[(c->s.fetch_head + j) % FETCH_RING(c)];
        struct core_backfill *b;
        int64_t from, to, due;
        bool had;
        if (f->purpose != RP_P_BACKFILL ||
            f->series_idx >= c->cfg.n_series) {
            continue;
        }
        b = &c->bf[f->series_idx];
        had = b->want || b->pending;
        /* the gap whose bars are exactly first_s..last_s (rp_gap_bars) */
        from = f->first_s * MD_NS_PER_S;
        to = f->last_s * MD_NS_PER_S + 1;
        if (!had || from < b->from_ns) {
            b->from_ns = from;
        }
        if (!had || to > b->to_ns) {
            b->to_ns = to;
        }
        if (b->fails < UINT32_MAX) {
            b->fails++;
        }
        due = rp_backfill_retry_ns(&c->cfg.rp, &c->budget, b->fails, now);
        if (!b->pending || due > b->due_ns) {
            b->due_ns = due;
        }
        b->pending = true;
        n++;
    }
    if (n == 0) {
        return MD_OK;
    }
    c->st.backfill_failed += n;
    if (stage_note(c, t, MD_N_BACKFILL_RETRY, n) != MD_OK) {
        return MD_E_FULL;
    }
    return backfill_arm(c, t);
}

/* A request of the running fetch ended with bars (delivered) or failed.
 * While the publisher is FETCHING and requests remain, what they gave is
 * held; when the last one ends (or the publisher is not FETCHING) it
 * hears once: FETCH_FAILURE(requests failed) if any did, then
 * DATA_READY(bars) if there are bars or nothing failed. */
int fetch_ended(struct core *c, struct evq *q, uint64_t bars,
                uint64_t failed)
{
    c->s.held += bars;
    c->s.fetch_failed += failed;
    if (c->rest.queued > 0 && c->pub.state == PUB_S_FETCHING) {
        return MD_OK;
    }
    if (c->s.fetch_failed > 0) {
        PUSH(q, MD_M_PUB, PUB_I_FETCH_FAILURE, c->s.fetch_failed);
    }
    if (c->s.held > 0 || c->s.fetch_failed == 0) {
        PUSH(q, MD_M_PUB, PUB_I_DATA_READY, c->s.held);
    }
    c->s.held = 0;
    c->s.fetch_failed = 0;
    return MD_OK;
}

/* The bars of a histo body, into the store (announced when the REST
 * machine says the fetch is done): preflight seeds and first bars;
 * backfill revisions of the bars that spanned the gap. The aggregator's
 * part (seed, backfill marks) waits for the commit. Returns bars made. */
static uint64_t rest_bars(struct core *c, const struct rp_fetch *f,
                          const struct cc_histo *h, int64_t now)
{
    struct rp_conv_stats cs;
    size_t n = 0, k;
    uint64_t wrote = 0;

    c->stg.rest_first = c->stg.n_ref;
    c->stg.rest_parked = c->stg.parked;
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
            c->stg.seed = true;
            c->stg.seed_series = f->series;
            c->stg.seed_end_ns = (best + iv) * MD_NS_PER_S;
            c->stg.seed_close = close;
        }
        for (k = 0; k < n; k++) {
            if (bars_new(c, &c->conv[k]) == NULL) {
                c->stg.dropped_new++;
                continue;
            }
            wrote++;
            c->st.bars_rest++;
        }
        c->stg.rest_n = wrote;
        c->stg.rest_parked = c->stg.parked - c->stg.rest_parked;
        return wrote;
    }
    for (k = 0; k < n; k++) {
        struct bar id, live, rev;
        id = c->conv[k];
        memcpy(id.market, f->series.market, sizeof id.market);
        id.source = f->series.source;
        if (agg_emitted_bar(&c->feed.agg, &id, &live) == MD_OK) {
            if (rp_bar_revise(&c->conv[k], &live, &rev) == MD_OK) {
                if (bars_new(c, &rev) == NULL) {
                    c->stg.dropped_new++;
                    continue;
                }
                wrote++;
                c->st.backfill_revisions++;
            } else {
                c->st.backfill_refused++;
            }
        } else if (rp_bar_fill(&c->conv[k], &f->series, &rev) == MD_OK) {
            if (bars_new(c, &rev) == NULL) {
                c->stg.dropped_new++;
                continue;
            }
            wrote++;
            c->st.backfill_fills++;
        }
    }
    c->stg.rest_n = wrote;
    c->stg.rest_parked = c->stg.parked - c->stg.rest_parked;
    return wrote;
}

/* Classify a REST response into the REST machine's input. */
int fetch_on_http(struct core *c, const struct core_in *in, struct evq *q,
                  int64_t now)
{
    const struct rp_fetch *f = fetch_head(c);
    struct cc_histo h;
    struct cc_err err;
    struct ev *e;
    int rc;

    c->st.http_responses++;
    if (f == NULL || c->rest.state != REST_S_REQUESTING) {
        c->st.http_unexpected++; /* no request outstanding: not ours */
        return MD_OK;
    }
    if (in->http_status == 0) {
        PUSH(q, MD_M_REST, REST_I_RESP_FAIL, 0);
        return MD_OK;
    }
    rc = cc_rest_histo(in->data, in->len, in->http_status, &h, c->histo,
                       CORE_HISTO_CAP, &err);
    if (rc != MD_OK) {
        c->st.http_malformed++;
        PUSH(q, MD_M_REST, REST_I_RESP_FAIL, 0);
        return MD_OK;
    }
    switch (h.st.kind) {
    case CC_R_OK:
        /* the bars wait in the store; the REST machine's FETCH_DONE
         * announces them and hands them to the publisher */
        PUSH(q, MD_M_REST, REST_I_RESP_OK, rest_bars(c, f, &h, now));
        c->stg.unannounced = c->stg.rest_n;
        break;
    case CC_R_RATE_LIMIT:
        stage_save_budget(c);
        (void)rp_budget_learn(&c->budget, &h.st.rl, now);
        e = evq_push(q, MD_M_REST, REST_I_RESP_RATE_LIMIT, 0);
        if (e == NULL) {
            return MD_E_STATE;
        }
        e->retry_after_ns = rp_budget_wait_ns(&c->budget, now);
        break;
    case CC_R_AUTH:
        PUSH(q, MD_M_REST, REST_I_RESP_AUTH, 0);
        break;
    case CC_R_PARAM:
        PUSH(q, MD_M_REST, REST_I_RESP_PARAM_ERROR, 0);
        break;
    case CC_R_ERROR:
    case CC_R_NONE:
        PUSH(q, MD_M_REST, REST_I_RESP_FAIL, 0);
        break;
    }
    return MD_OK;
}
