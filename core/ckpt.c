/* ckpt.c: the core's checkpoint (ckpt.h). Pure. */
#include <math.h>
#include <string.h>

#include "ckpt.h"
#include "md_err.h"

#define TAG_HEAD 0x4b504843u   /* "CHPK" */
#define TAG_STREAM 0x4b505453u /* "STPK" */

_Static_assert(sizeof(struct agg_stats) % 8 == 0, "agg_stats: u64 only");
_Static_assert(sizeof(struct pub_stats) % 8 == 0, "pub_stats: u64 only");

/* ---- bytes out ------------------------------------------------------- */

struct wr {
    uint8_t *p;
    size_t cap, n;
    bool full;
};

static void put(struct wr *w, const void *src, size_t n)
{
    if (w->full || w->cap - w->n < n) {
        w->full = true;
        return;
    }
    memcpy(w->p + w->n, src, n);
    w->n += n;
}

static void put_u64(struct wr *w, uint64_t v)
{
    uint8_t b[8];
    unsigned i;

    for (i = 0; i < 8; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    put(w, b, 8);
}

static void put_u32(struct wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    put(w, b, 4);
}

static void put_u8(struct wr *w, unsigned v)
{
    uint8_t b = (uint8_t)v;
    put(w, &b, 1);
}

static void put_i64(struct wr *w, int64_t v) { put_u64(w, (uint64_t)v); }

static void put_f64(struct wr *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    put_u64(w, v);
}

static void put_i128(struct wr *w, bar_i128 v)
{
    put_u64(w, (uint64_t)v);
    put_u64(w, (uint64_t)((bar_u128)v >> 64));
}

static void put_str(struct wr *w, const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    put_u8(w, (unsigned)n);
    put(w, s, n);
}

static void put_varint(struct wr *w, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;

    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    put(w, b, n);
}

/* ---- bytes in: every read checked; a short or bad record sets bad ---- */

struct rd {
    const uint8_t *p;
    size_t len, at;
    bool bad;
};

static bool get(struct rd *r, void *dst, size_t n)
{
    if (r->bad || r->len - r->at < n) {
        r->bad = true;
        memset(dst, 0, n);
        return false;
    }
    memcpy(dst, r->p + r->at, n);
    r->at += n;
    return true;
}

static uint64_t get_u64(struct rd *r)
{
    uint8_t b[8];
    uint64_t v = 0;
    unsigned i;

    get(r, b, 8);
    for (i = 0; i < 8; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

static uint32_t get_u32(struct rd *r)
{
    uint8_t b[4];

    get(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

static unsigned get_u8(struct rd *r)
{
    uint8_t b;
    get(r, &b, 1);
    return b;
}

static int64_t get_i64(struct rd *r) { return (int64_t)get_u64(r); }

static double get_f64(struct rd *r)
{
    uint64_t v = get_u64(r);
    double d;

    memcpy(&d, &v, 8);
    if (!isfinite(d)) {
        r->bad = true;
        return 0;
    }
    return d;
}

static bar_i128 get_i128(struct rd *r)
{
    uint64_t lo = get_u64(r), hi = get_u64(r);
    return (bar_i128)((bar_u128)hi << 64 | lo);
}

static bool get_bool(struct rd *r)
{
    unsigned v = get_u8(r);
    if (v > 1) {
        r->bad = true;
    }
    return v == 1;
}

/* A name of at most max bytes, none of them NUL, into dst[max + 1]. */
static void get_str(struct rd *r, char *dst, size_t max)
{
    unsigned n = get_u8(r);

    if (n > max || !get(r, dst, n) || memchr(dst, '\0', n) != NULL) {
        r->bad = true;
        n = 0;
    }
    dst[n] = '\0';
}

static uint64_t get_varint(struct rd *r)
{
    uint64_t v = 0;
    unsigned shift;

    for (shift = 0; shift < 64; shift += 7) {
        unsigned b = get_u8(r);
        if (r->bad) {
            return 0;
        }
        if (shift == 63 && b > 1) {
            break;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift > 0) {
                break; /* not the shortest form: one value, one spelling */
            }
            return v;
        }
    }
    r->bad = true;
    return 0;
}

/* A time the aggregator can add intervals and lateness to without
 * overflow: unix ns, 0 to 2^62 (the year 2116). */
static bool time_ok(int64_t t)
{
    return t >= 0 && t <= (INT64_C(1) << 62);
}

/* ---- what a checkpoint may be restored into ------------------------- */

/* The configuration a stream record's layout depends on: the intervals
 * and the size of the dedupe sets. FNV-1a's constants over whole words,
 * not md_fnv1a64 over bytes: the value is stored in every checkpoint, so
 * it stays as it is. */
static uint64_t fingerprint(const struct agg *a)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    unsigned i;

    for (i = 0; i < a->cfg.n_intervals; i++) {
        h = (h ^ (uint64_t)a->cfg.intervals_s[i]) * UINT64_C(0x100000001b3);
    }
    h = (h ^ a->cfg.n_intervals) * UINT64_C(0x100000001b3);
    h = (h ^ a->ids_slots) * UINT64_C(0x100000001b3);
    h = (h ^ a->cfg.dedupe_cap) * UINT64_C(0x100000001b3);
    return h;
}

/* The server time a restored core opens its gap from: where the gap the
 * connection has open began, else its last activity while live; 0 if it
 * was never live (nothing to backfill). */
static int64_t resume_ns(const struct core *c)
{
    if (c->conn.gap_open) {
        return c->s.gap_start_ns;
    }
    if (c->conn.was_live) {
        return feed_server_ns(&c->feed, c->conn.last_activity);
    }
    return c->s.restored_gap_ns; /* restored, not live again yet */
}

size_t core_ckpt_bound(const struct core *c)
{
    size_t ids = 2 * (12 + c->feed.agg.ids_slots * 10);
    size_t ord = 8 + 8 + 1 + 8 + 1 + BAR_ID_MAX;
    size_t slot = 2 + 8 + 3 + 8 + 8 * 4 + 8 + 16 * 4 + 2 * ord + 2;
    size_t series = 8 * 4 + 2 + AGG_SLOTS * slot;
    size_t stream = 64 + 3 * 32 + c->feed.agg.cfg.n_intervals * series + ids;
    size_t bf = (size_t)c->cfg.n_series *
                (1 + 3 * 32 + 8 + 2 + 4 * 8 + 4);
    size_t head = 256 + sizeof(struct agg_stats) + sizeof(struct pub_stats) +
                  AGG_MAX_GAPS * 16 + bf;
    return head > stream ? head : stream;
}

/* ---- the head --------------------------------------------------------- */

static void put_stats(struct wr *w, const void *st, size_t size)
{
    const uint64_t *v = st;
    size_t i;

    put_u8(w, (unsigned)(size / 8));
    for (i = 0; i < size / 8; i++) {
        put_u64(w, v[i]);
    }
}

/* Counters of a format that had fewer are kept at 0; more are refused. */
static void get_stats(struct rd *r, void *st, size_t size)
{
    uint64_t *v = st;
    unsigned n = get_u8(r), i;

    if (n > size / 8) {
        r->bad = true;
        return;
    }
    for (i = 0; i < n; i++) {
        v[i] = get_u64(r);
    }
}

int core_ckpt_head(const struct core *c, uint8_t *buf, size_t cap,
                   size_t *len)
{
    const struct agg *a = &c->feed.agg;
    struct wr w = {buf, cap, 0, false};
    unsigned i, n = 0;

    put_u32(&w, TAG_HEAD);
    put_u32(&w, CKPT_FORMAT);
    put_u64(&w, fingerprint(a));
    put_i64(&w, resume_ns(c));
    put_u64(&w, c->rng.s);
    put_i64(&w, a->watermark_ns);
    put_u8(&w, a->started);
    put_u64(&w, a->arrival);
    put_u32(&w, a->n_streams);
    put_u8(&w, a->n_gaps);
    put_u8(&w, a->gap_next);
    for (i = 0; i < a->n_gaps; i++) {
        put_i64(&w, a->gap_start[i]);
        put_i64(&w, a->gap_end[i]);
    }
    put_stats(&w, &a->st, sizeof a->st);
    put_stats(&w, &c->pub.st, sizeof c->pub.st);
    /* the backfill each series still owes, named by the series (the
     * configuration may have gained or lost some) */
    for (i = 0; i < c->cfg.n_series; i++) {
        n += c->bf[i].want || c->bf[i].pending;
    }
    put_u32(&w, n);
    for (i = 0; i < c->cfg.n_series; i++) {
        const struct core_backfill *b = &c->bf[i];
        const struct rp_series *s = &c->cfg.series[i];
        if (!(b->want || b->pending)) {
            continue;
        }
        put_u8(&w, s->source);
        put_str(&w, s->market, BAR_MARKET_MAX);
        put_str(&w, s->base, BAR_SYM_MAX);
        put_str(&w, s->quote, BAR_SYM_MAX);
        put_i64(&w, s->interval_s);
        put_u8(&w, b->want);
        put_u8(&w, b->pending);
        put_i64(&w, b->from_ns);
        put_i64(&w, b->to_ns);
        put_i64(&w, b->due_ns);
        put_u32(&w, b->fails);
    }
    if (w.full) {
        return MD_E_FULL;
    }
    *len = w.n;
    return MD_OK;
}

/* Another format's record: MD_E_VERSION; not a record of this kind:
 * MD_E_CORRUPT. */
static int check_tag(struct rd *r, uint32_t tag)
{
    uint32_t t = get_u32(r), f = get_u32(r);

    if (r->bad || t != tag) {
        return MD_E_CORRUPT;
    }
    return f == CKPT_FORMAT ? MD_OK : MD_E_VERSION;
}

int core_restore_head(struct core *c, const uint8_t *buf, size_t len)
{
    struct agg *a = &c->feed.agg;
    struct rd r = {buf, len, 0, false};
    struct agg_stats ast;
    struct pub_stats pst;
    int64_t gap_start[AGG_MAX_GAPS], gap_end[AGG_MAX_GAPS], resume;
    uint64_t rng, arrival;
    int64_t wm;
    bool started;
    unsigned n_streams, n_gaps, gap_next, i, n_bf;
    int rc;

    if (c->st.steps != 0 || c->rst.head) {
        return MD_E_STATE;
    }
    if ((rc = check_tag(&r, TAG_HEAD)) != MD_OK) {
        return rc;
    }
    if (get_u64(&r) != fingerprint(a)) {
        return r.bad ? MD_E_CORRUPT : MD_E_INVAL;
    }
    resume = get_i64(&r);
    rng = get_u64(&r);
    wm = get_i64(&r);
    started = get_bool(&r);
    arrival = get_u64(&r);
    n_streams = get_u32(&r);
    n_gaps = get_u8(&r);
    gap_next = get_u8(&r);
    /* the ring fills in order: until full, the next slot is the count */
    if (n_gaps > AGG_MAX_GAPS || gap_next >= AGG_MAX_GAPS || resume < 0 ||
        (n_gaps < AGG_MAX_GAPS && gap_next != n_gaps) ||
        !time_ok(resume) || !time_ok(wm)) {
        return MD_E_CORRUPT;
    }
    for (i = 0; i < n_gaps; i++) {
        gap_start[i] = get_i64(&r);
        gap_end[i] = get_i64(&r);
        if (!time_ok(gap_start[i]) || !time_ok(gap_end[i])) {
            return MD_E_CORRUPT;
        }
    }
    memset(&ast, 0, sizeof ast);
    memset(&pst, 0, sizeof pst);
    get_stats(&r, &ast, sizeof ast);
    get_stats(&r, &pst, sizeof pst);
    n_bf = get_u32(&r);
    if (r.bad) {
        return MD_E_CORRUPT;
    }
    if (n_streams > a->cfg.max_streams) {
        return MD_E_INVAL;
    }
    /* the backfill owed: to the series of the same name; one the
     * configuration no longer has is forgotten */
    for (i = 0; i < n_bf; i++) {
        struct rp_series s;
        struct core_backfill b;
        unsigned k;
        memset(&s, 0, sizeof s);
        memset(&b, 0, sizeof b);
        s.source = (uint8_t)get_u8(&r);
        get_str(&r, s.market, BAR_MARKET_MAX);
        get_str(&r, s.base, BAR_SYM_MAX);
        get_str(&r, s.quote, BAR_SYM_MAX);
        s.interval_s = get_i64(&r);
        b.want = get_bool(&r);
        b.pending = get_bool(&r);
        b.from_ns = get_i64(&r);
        b.to_ns = get_i64(&r);
        b.due_ns = get_i64(&r);
        b.fails = get_u32(&r);
        if (r.bad) {
            return MD_E_CORRUPT;
        }
        for (k = 0; k < c->cfg.n_series; k++) {
            const struct rp_series *t = &c->cfg.series[k];
            if (t->source == s.source && t->interval_s == s.interval_s &&
                strcmp(t->market, s.market) == 0 &&
                strcmp(t->base, s.base) == 0 &&
                strcmp(t->quote, s.quote) == 0) {
                c->bf[k] = b;
                break;
            }
        }
    }
    if (r.at != r.len) {
        return MD_E_CORRUPT;
    }
    c->rng.s = rng;
    a->watermark_ns = wm;
    a->started = started;
    a->arrival = arrival;
    a->n_gaps = n_gaps;
    a->gap_next = gap_next;
    memcpy(a->gap_start, gap_start, n_gaps * sizeof *gap_start);
    memcpy(a->gap_end, gap_end, n_gaps * sizeof *gap_end);
    a->st = ast;
    c->pub.st = pst;
    c->s.restored_gap_ns = resume;
    c->rst.head = true;
    c->rst.n = n_streams;
    c->rst.next = 0;
    return MD_OK;
}

/* ---- streams ---------------------------------------------------------- */

static void put_ord(struct wr *w, const struct agg_ord *o)
{
    put_i64(w, o->ev_ns);
    put_i64(w, o->seq);
    put_u8(w, o->has_seq);
    put_u64(w, o->arrival);
    put_str(w, o->id, BAR_ID_MAX);
}

static void get_ord(struct rd *r, struct agg_ord *o)
{
    memset(o, 0, sizeof *o);
    o->ev_ns = get_i64(r);
    o->seq = get_i64(r);
    o->has_seq = get_bool(r);
    o->arrival = get_u64(r);
    get_str(r, o->id, BAR_ID_MAX);
}

static void put_slot(struct wr *w, const struct agg_slot *sl)
{
    put_u8(w, sl->has_px);
    put_u8(w, sl->open_fixed);
    put_u8(w, sl->has_volume);
    put_u32(w, sl->revision);
    put_u32(w, sl->flags);
    put_f64(w, sl->open);
    put_f64(w, sl->high);
    put_f64(w, sl->low);
    put_f64(w, sl->close);
    put_u64(w, sl->trades);
    put_i128(w, sl->volume);
    put_i128(w, sl->notional);
    put_i128(w, sl->buy);
    put_i128(w, sl->sell);
    put_ord(w, &sl->last);
    put_ord(w, &sl->first);
}

static void get_slot(struct rd *r, struct agg_slot *sl)
{
    memset(sl, 0, sizeof *sl);
    sl->has_px = get_bool(r);
    sl->open_fixed = get_bool(r);
    sl->has_volume = get_bool(r);
    sl->revision = get_u32(r);
    sl->flags = get_u32(r);
    sl->open = get_f64(r);
    sl->high = get_f64(r);
    sl->low = get_f64(r);
    sl->close = get_f64(r);
    sl->trades = get_u64(r);
    sl->volume = get_i128(r);
    sl->notional = get_i128(r);
    sl->buy = get_i128(r);
    sl->sell = get_i128(r);
    get_ord(r, &sl->last);
    get_ord(r, &sl->first);
}

/* A dedupe set: its bounds, then each slot lo..hi as the zigzag of its
 * key minus the previous key (0: an empty slot; keys are distinct, so a
 * key's delta is never 0). Ids that follow each other take a byte. */
static void put_ids(struct wr *w, const struct agg_idset *set)
{
    uint64_t prev = 0;
    size_t i;

    put_u32(w, set->n);
    put_u32(w, set->lo);
    put_u32(w, set->hi);
    if (set->lo > set->hi) {
        return;
    }
    for (i = set->lo; i <= set->hi; i++) {
        uint64_t k = set->h[i], d;
        if (k == 0) {
            put_u8(w, 0);
            continue;
        }
        d = k - prev;
        put_varint(w, (d << 1) ^ (uint64_t)-(int64_t)(d >> 63));
        prev = k;
    }
}

static void get_ids(struct rd *r, const struct agg *a, struct agg_idset *set)
{
    uint64_t prev = 0;
    uint32_t n = get_u32(r), lo = get_u32(r), hi = get_u32(r), seen = 0;
    size_t i;

    set->n = n;
    set->lo = lo;
    set->hi = hi;
    if (r->bad) {
        return;
    }
    /* at most dedupe_cap keys (ids_seen rotates before more), so a probe
     * always meets an empty slot and ends */
    if (n > a->cfg.dedupe_cap) {
        r->bad = true;
        return;
    }
    if (lo > hi) {
        /* empty: written as idset_clear leaves it */
        r->bad |= n != 0 || lo != 1 || hi != 0;
        return;
    }
    if (hi >= a->ids_slots) {
        r->bad = true;
        return;
    }
    for (i = lo; i <= hi && !r->bad; i++) {
        uint64_t z = get_varint(r), d;
        if (z == 0) {
            set->h[i] = 0;
            continue;
        }
        d = (z >> 1) ^ (uint64_t)-(int64_t)(z & 1);
        prev += d;
        set->h[i] = prev;
        seen++;
        r->bad |= prev == 0;
    }
    r->bad |= seen != n;
}

unsigned core_ckpt_streams(const struct core *c)
{
    return c->feed.agg.n_streams;
}

int core_ckpt_stream(const struct core *c, unsigned k, uint8_t *buf,
                     size_t cap, size_t *len)
{
    const struct agg *a = &c->feed.agg;
    const struct agg_stream *s;
    struct wr w = {buf, cap, 0, false};
    unsigned i, j, used;

    if (k >= a->n_streams) {
        return MD_E_RANGE;
    }
    s = &a->stream[k];
    put_u32(&w, TAG_STREAM);
    put_u32(&w, CKPT_FORMAT);
    put_u32(&w, k);
    put_u8(&w, s->source);
    put_str(&w, s->market, BAR_MARKET_MAX);
    put_str(&w, s->base, BAR_SYM_MAX);
    put_str(&w, s->quote, BAR_SYM_MAX);
    put_u8(&w, s->cur);
    put_i64(&w, s->gen_start_ns);
    put_i64(&w, s->first_ns);
    put_u8(&w, s->has_vd);
    put_u8(&w, s->has_vdto);
    put_i128(&w, s->vd);
    put_i128(&w, s->vdto);
    put_i64(&w, s->vd_day);
    put_i64(&w, s->vdto_day);
    for (i = 0; i < a->cfg.n_intervals; i++) {
        const struct agg_series *se = &s->series[i];
        put_i64(&w, se->last_start_ns);
        put_i64(&w, se->emitted_until_ns);
        put_f64(&w, se->last_close);
        put_u8(&w, se->last_slot);
        put_u8(&w, se->has_last_close);
        for (j = 0, used = 0; j < AGG_SLOTS; j++) {
            used += se->state[j] != AGG_SLOT_EMPTY;
        }
        put_u8(&w, used);
        for (j = 0; j < AGG_SLOTS; j++) {
            if (se->state[j] == AGG_SLOT_EMPTY) {
                continue;
            }
            put_u8(&w, j);
            put_u8(&w, se->state[j]);
            put_i64(&w, se->start_ns[j]);
            put_slot(&w, &se->slot[j]);
        }
    }
    put_ids(&w, &s->ids[0]);
    put_ids(&w, &s->ids[1]);
    if (w.full) {
        return MD_E_FULL;
    }
    *len = w.n;
    return MD_OK;
}

/* One series of a stream record into se (already made by stream_get). */
static void get_series(struct rd *r, struct agg_series *se)
{
    unsigned used, j, prev = 0;

    se->last_start_ns = get_i64(r);
    se->emitted_until_ns = get_i64(r);
    if ((se->last_start_ns != INT64_MIN && !time_ok(se->last_start_ns)) ||
        !time_ok(se->emitted_until_ns)) {
        r->bad = true;
        return;
    }
    se->last_close = get_f64(r);
    se->last_slot = get_u8(r);
    se->has_last_close = get_bool(r);
    used = get_u8(r);
    if (se->last_slot >= AGG_SLOTS || used > AGG_SLOTS) {
        r->bad = true;
        return;
    }
    memset(se->state, 0, sizeof se->state);
    for (j = 0; j < used && !r->bad; j++) {
        unsigned ix = get_u8(r), st = get_u8(r);
        if (ix >= AGG_SLOTS || (j > 0 && ix <= prev) ||
            st == AGG_SLOT_EMPTY || st > AGG_SLOT_DIRTY) {
            r->bad = true;
            return;
        }
        prev = ix;
        se->state[ix] = (uint8_t)st;
        se->start_ns[ix] = get_i64(r);
        get_slot(r, &se->slot[ix]);
        /* a bucket's start is a multiple of its interval, in range; a
         * revision about to wrap is only the mark of a first emission */
        if (!time_ok(se->start_ns[ix]) ||
            se->start_ns[ix] % se->interval_ns != 0 ||
            (se->slot[ix].revision == UINT32_MAX &&
             st != AGG_SLOT_DIRTY)) {
            r->bad = true;
        }
    }
}

int core_restore_stream(struct core *c, unsigned k, const uint8_t *buf,
                        size_t len)
{
    struct agg *a = &c->feed.agg;
    struct rd r = {buf, len, 0, false};
    char m[BAR_MARKET_MAX + 1], b[BAR_SYM_MAX + 1], q[BAR_SYM_MAX + 1];
    unsigned source, i;
    struct agg_stream *s;
    int rc;

    if (!c->rst.head || c->st.steps != 0) {
        return MD_E_STATE;
    }
    if ((rc = check_tag(&r, TAG_STREAM)) != MD_OK) {
        return rc;
    }
    if (get_u32(&r) != k || k != c->rst.next || k >= c->rst.n) {
        return MD_E_CORRUPT;
    }
    source = get_u8(&r);
    get_str(&r, m, BAR_MARKET_MAX);
    get_str(&r, b, BAR_SYM_MAX);
    get_str(&r, q, BAR_SYM_MAX);
    if (r.bad || source == BAR_SRC_INVALID || source >= BAR_SRC__COUNT) {
        return MD_E_CORRUPT;
    }
    s = agg_stream_get(a, (uint8_t)source, m, b, q);
    if (s == NULL || s != &a->stream[k] || a->n_streams != k + 1) {
        return MD_E_CORRUPT; /* a key twice, or no room */
    }
    s->cur = get_u8(&r);
    s->gen_start_ns = get_i64(&r);
    s->first_ns = get_i64(&r);
    s->has_vd = get_bool(&r);
    s->has_vdto = get_bool(&r);
    s->vd = get_i128(&r);
    s->vdto = get_i128(&r);
    s->vd_day = get_i64(&r);
    s->vdto_day = get_i64(&r);
    if (s->cur > 1 || !time_ok(s->gen_start_ns) || !time_ok(s->first_ns)) {
        r.bad = true;
    }
    for (i = 0; i < a->cfg.n_intervals && !r.bad; i++) {
        get_series(&r, &s->series[i]);
    }
    get_ids(&r, a, &s->ids[0]);
    get_ids(&r, a, &s->ids[1]);
    if (r.bad || r.at != r.len) {
        return MD_E_CORRUPT;
    }
    a->dl_valid = false;
    c->rst.next = k + 1;
    return MD_OK;
}

bool core_ckpt_changed(const struct core *c, unsigned k)
{
    return agg_changed(&c->feed.agg, k);
}

void core_ckpt_written(struct core *c)
{
    agg_changed_clear(&c->feed.agg);
}

int core_restore_done(struct core *c)
{
    struct agg *a = &c->feed.agg;
    unsigned i;
    bool open = false;

    if (!c->rst.head || c->st.steps != 0 || c->rst.next != c->rst.n) {
        return MD_E_CORRUPT;
    }
    a->dl_valid = false;
    c->s.restored = true;
    if (c->s.restored_gap_ns > 0) {
        /* Minutes were lost while no process listened: a gap from the
         * last time the connection was live, closed (and backfilled) when
         * it is live again. One the aggregator still has open stays. */
        for (i = 0; i < a->n_gaps; i++) {
            open |= a->gap_end[i] == 0;
        }
        if (!open) {
            agg_gap_open(a, c->s.restored_gap_ns);
        }
        c->s.gap_start_ns = c->s.restored_gap_ns;
        c->conn.gap_open = 1;
    }
    c->rst.head = false;
    agg_changed_clear(a); /* the store holds these records already */
    return MD_OK;
}
