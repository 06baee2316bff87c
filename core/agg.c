/* agg.c: the OHLCV bar aggregator (agg.h). Pure: no I/O, no allocation,
 * no clock. Sums are exact integers, so the bar of a set of events does
 * not depend on their order; open and close are chosen by an explicit
 * ordering key, never by arrival alone.
 *
 * One file, long: trades, CCCAGG updates, TYPE 24 candles and REST bars all
 * land in the same slots of the same ring, under one watermark; their
 * handlers share the slot, revision and closing code below. */
#include <string.h>

#include "agg.h"
#include "bar_num.h"
#include "md_err.h"

#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
#define DAY_NS (86400 * NS_PER_S)

/* The layout agg.h describes: a slot is four cache lines, a series'
 * index three, so every slot starts on a line. */
_Static_assert(sizeof(struct agg_ord) == 64, "agg_ord: one cache line");
_Static_assert(sizeof(struct agg_slot) == 256, "agg_slot: four lines");
_Static_assert(offsetof(struct agg_series, slot) == 192,
               "agg_series: the index is three lines");

void agg_config_default(struct agg_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->intervals_s[0] = 60;
    cfg->n_intervals = 1;
    cfg->grace_ns = 2 * NS_PER_S;
    cfg->lateness_ns = 120 * NS_PER_S;
    cfg->emit_empty = false;
    cfg->max_streams = AGG_STREAMS_DEFAULT;
    cfg->dedupe_cap = AGG_DEDUPE_DEFAULT;
}

/* The smallest power of two >= n (n <= 2^31). */
static size_t pow2_at_least(size_t n)
{
    size_t p = 1;

    while (p < n) {
        p <<= 1;
    }
    return p;
}

/* Slots of one id set: at most half full. */
static size_t ids_slots_of(const struct agg_config *cfg)
{
    return pow2_at_least((size_t)cfg->dedupe_cap * 2);
}

static size_t index_slots_of(const struct agg_config *cfg)
{
    return pow2_at_least((size_t)cfg->max_streams * 2);
}

size_t agg_mem_size(const struct agg_config *cfg)
{
    size_t ns = cfg->max_streams, size = MD_MEM_ALIGN;

    if (cfg->max_streams > AGG_STREAMS_LIMIT ||
        cfg->dedupe_cap > AGG_DEDUPE_LIMIT ||
        cfg->n_intervals > AGG_MAX_INTERVALS) {
        return SIZE_MAX;
    }
    size = md_mem_add(size, md_mem_round(ns * sizeof(struct agg_stream)));
    size = md_mem_add(size, md_mem_round(ns * sizeof(uint64_t)));
    size = md_mem_add(size,
                      md_mem_round(index_slots_of(cfg) * sizeof(uint32_t)));
    size = md_mem_add(size, md_mem_round(md_mem_mul(
                                ns * cfg->n_intervals,
                                sizeof(struct agg_series))));
    size = md_mem_add(size, md_mem_round(md_mem_mul(
                                ns * 2 * ids_slots_of(cfg),
                                sizeof(uint64_t))));
    size = md_mem_add(size, md_mem_round(((ns + 63) / 64) *
                                         sizeof(uint64_t)));
    return size;
}

int agg_init(struct agg *a, const struct agg_config *cfg, void *mem,
             size_t size)
{
    unsigned i;
    int64_t smallest = INT64_MAX;
    struct md_arena ar;
    size_t ns = cfg->max_streams, nidx;

    if (cfg->n_intervals == 0 || cfg->n_intervals > AGG_MAX_INTERVALS ||
        cfg->grace_ns < 0 || cfg->lateness_ns < cfg->grace_ns ||
        cfg->max_streams == 0 || cfg->max_streams > AGG_STREAMS_LIMIT ||
        cfg->dedupe_cap == 0 || cfg->dedupe_cap > AGG_DEDUPE_LIMIT ||
        size < agg_mem_size(cfg)) {
        return MD_E_INVAL;
    }
    for (i = 0; i < cfg->n_intervals; i++) {
        int64_t s = cfg->intervals_s[i];
        if (s <= 0 || s > 7 * 86400) {
            return MD_E_INVAL;
        }
        smallest = s < smallest ? s : smallest;
    }
    /* The slots must hold every bucket still revisable plus the open ones:
     * lateness/interval + 2 for the open window + 1 of margin. */
    if (cfg->lateness_ns / (smallest * NS_PER_S) + 3 > AGG_SLOTS) {
        return MD_E_INVAL;
    }
    memset(a, 0, sizeof *a);
    a->cfg = *cfg;
    nidx = index_slots_of(cfg);
    a->ids_slots = ids_slots_of(cfg);
    md_arena_init(&ar, mem, size);
    a->stream = md_arena_take(&ar, ns * sizeof *a->stream);
    a->tag = md_arena_take(&ar, ns * sizeof *a->tag);
    a->index = md_arena_take(&ar, nidx * sizeof *a->index);
    a->series_mem = md_arena_take(&ar, ns * cfg->n_intervals *
                                           sizeof *a->series_mem);
    a->ids_mem = md_arena_take(&ar, ns * 2 * a->ids_slots *
                                        sizeof *a->ids_mem);
    a->changed = md_arena_take(&ar, ((ns + 63) / 64) * sizeof *a->changed);
    if (a->stream == NULL || a->tag == NULL || a->index == NULL ||
        a->series_mem == NULL || a->ids_mem == NULL || a->changed == NULL) {
        memset(a, 0, sizeof *a);
        return MD_E_INVAL; /* cannot happen: size was checked */
    }
    a->index_mask = nidx - 1;
    memset(a->index, 0, nidx * sizeof *a->index);
    memset(a->changed, 0, ((ns + 63) / 64) * sizeof *a->changed);
    return MD_OK;
}

/* ---- small helpers ------------------------------------------------- */

/* Copy a borrowed wire string (unescaped) into a fixed buffer. Returns
 * false if it does not fit or is malformed. */
static bool copy_str(const struct cc_str *s, char *dst, size_t cap)
{
    size_t n = 0;

    if (!s->esc) {
        /* The common case: no escapes, a plain copy. */
        if (s->len >= cap) {
            return false;
        }
        memcpy(dst, s->p, s->len);
        dst[s->len] = '\0';
        return true;
    }
    if (cc_str_unescape(s, dst, cap - 1, &n) != MD_OK) {
        return false;
    }
    dst[n] = '\0';
    return true;
}

static void copy_fix(const struct cc_fixstr *s, char *dst, size_t cap)
{
    size_t n = s->len < cap - 1 ? s->len : cap - 1;

    memcpy(dst, s->s, n);
    dst[n] = '\0';
}

static int64_t floor_div(int64_t x, int64_t d)
{
    int64_t q = x / d;

    return (x % d != 0 && (x < 0) != (d < 0)) ? q - 1 : q;
}

/* The start of ev's bucket in series se, with the last one kept: events
 * mostly fall in the bucket of the one before, and then no division. */
static int64_t bucket_of(struct agg_series *se, int64_t ev)
{
    int64_t st = se->last_start_ns;

    /* ev - st in unsigned arithmetic: exact for ev >= st, never overflows */
    if (st != INT64_MIN && ev >= st &&
        (uint64_t)ev - (uint64_t)st < (uint64_t)se->interval_ns) {
        return st;
    }
    st = floor_div(ev, se->interval_ns) * se->interval_ns;
    se->last_start_ns = st;
    return st;
}

/* -1, 0, 1 as a orders before, with, after b. */
static int ord_cmp(const struct agg_ord *a, const struct agg_ord *b)
{
    int c;

    if (a->ev_ns != b->ev_ns) {
        return a->ev_ns < b->ev_ns ? -1 : 1;
    }
    if (a->has_seq && b->has_seq && a->seq != b->seq) {
        return a->seq < b->seq ? -1 : 1;
    }
    c = strcmp(a->id, b->id);
    if (c != 0) {
        return c < 0 ? -1 : 1;
    }
    if (a->arrival != b->arrival) {
        return a->arrival < b->arrival ? -1 : 1;
    }
    return 0;
}

/* ---- streams --------------------------------------------------------- */

/* Stream k changed: its checkpoint record is due (agg_changed). */
static inline void mark(struct agg *a, size_t k)
{
    a->changed[k / 64] |= UINT64_C(1) << (k % 64);
}

/* Forget every key: no slot in use. */
static void idset_clear(struct agg_idset *set)
{
    set->n = 0;
    set->lo = 1;
    set->hi = 0;
}

/* One name into a stream's key hash: 8 bytes at a time (the names are
 * short: one or two words), multiply-xorshift, its length folded in so
 * ("AB","C") and ("A","BC") differ. */
static inline uint64_t hash_name(uint64_t h, const char *p, size_t n)
{
    uint64_t w;

    h = (h ^ n) * UINT64_C(0xbf58476d1ce4e5b9);
    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * UINT64_C(0x94d049bb133111eb);
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, p, n);
        h = (h ^ w) * UINT64_C(0x94d049bb133111eb);
        h ^= h >> 31;
    }
    return h;
}

/* A stream's key hash: source and the three names' bytes. Equal keys
 * have equal hashes; unequal ones almost never do (names are compared
 * all the same). */
static inline uint64_t stream_tag(uint8_t source, const char *m, size_t ml,
                                  const char *b, size_t bl, const char *q,
                                  size_t ql)
{
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(source + 1);

    h = hash_name(h, m, ml);
    h = hash_name(h, b, bl);
    h = hash_name(h, q, ql);
    return h ^ h >> 29;
}

/* The index slot where the stream of key hash tag and the given names
 * is, or the empty slot where it goes. The index is never full (twice
 * max_streams), so the probe ends. */
static size_t stream_probe(const struct agg *a, uint64_t tag,
                           uint8_t source, const char *m, size_t ml,
                           const char *b, size_t bl, const char *q,
                           size_t ql)
{
    size_t i = (size_t)tag & a->index_mask;

    for (;;) {
        uint32_t k = a->index[i];
        const struct agg_stream *s;
        if (k == 0) {
            return i;
        }
        s = &a->stream[k - 1];
        if (a->tag[k - 1] == tag && s->source == source &&
            s->market_len == ml && s->base_len == bl &&
            s->quote_len == ql && md_bytes_eq(s->base, b, bl) &&
            md_bytes_eq(s->quote, q, ql) && md_bytes_eq(s->market, m, ml)) {
            return i;
        }
        i = (i + 1) & a->index_mask;
    }
}

/* The stream of (source, m, b, q), or NULL if there is none yet. */
static struct agg_stream *stream_find(const struct agg *a, uint8_t source,
                                      const char *m, size_t ml,
                                      const char *b, size_t bl,
                                      const char *q, size_t ql)
{
    uint64_t tag = stream_tag(source, m, ml, b, bl, q, ql);
    size_t i = stream_probe(a, tag, source, m, ml, b, bl, q, ql);

    return a->index[i] != 0 ? &a->stream[a->index[i] - 1] : NULL;
}

static struct agg_stream *stream_get(struct agg *a, uint8_t source,
                                     const char *m, const char *b,
                                     const char *q)
{
    size_t ml = strlen(m), bl = strlen(b), ql = strlen(q);
    uint64_t tag = stream_tag(source, m, ml, b, bl, q, ql);
    size_t at = stream_probe(a, tag, source, m, ml, b, bl, q, ql);
    struct agg_stream *s;
    unsigned i, k;

    if (a->index[at] != 0) {
        k = a->index[at] - 1;
        mark(a, k);
        return &a->stream[k];
    }
    if (a->n_streams == a->cfg.max_streams) {
        a->st.streams_full++;
        return NULL;
    }
    k = a->n_streams++;
    mark(a, k);
    a->tag[k] = tag;
    a->index[at] = k + 1;
    s = &a->stream[k];
    memset(s, 0, sizeof *s);
    s->source = source;
    s->market_len = (uint8_t)ml;
    s->base_len = (uint8_t)bl;
    s->quote_len = (uint8_t)ql;
    memcpy(s->market, m, ml + 1);
    memcpy(s->base, b, bl + 1);
    memcpy(s->quote, q, ql + 1);
    s->series = a->series_mem + (size_t)k * a->cfg.n_intervals;
    memset(s->series, 0, a->cfg.n_intervals * sizeof *s->series);
    for (i = 0; i < a->cfg.n_intervals; i++) {
        s->series[i].interval_ns = a->cfg.intervals_s[i] * NS_PER_S;
        s->series[i].last_start_ns = INT64_MIN;
    }
    s->ids[0].h = a->ids_mem + (size_t)k * 2 * a->ids_slots;
    s->ids[1].h = s->ids[0].h + a->ids_slots;
    idset_clear(&s->ids[0]);
    idset_clear(&s->ids[1]);
    s->gen_start_ns = a->watermark_ns;
    s->first_ns = a->watermark_ns;
    return s;
}

/* A trade id's key in the dedupe sets; never 0 (the sets' empty mark).
 * A canonical decimal id (exchanges' ids mostly are) is its value + 1:
 * exact, and ids that follow each other fill neighbouring slots, so the
 * sets are read and written almost in order. Any other id is hashed (the
 * NUL-padded buffer 8 bytes at a time, multiply-xorshift) with the top
 * bit set, so the two kinds never meet. */
static uint64_t id_key(const char id[BAR_ID_MAX + 1])
{
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15), v = 0;
    size_t n = strlen(id), k;

    if (n > 0 && n <= 18 && (id[0] != '0' || n == 1)) {
        for (k = 0; k < n && id[k] >= '0' && id[k] <= '9'; k++) {
            v = v * 10 + (uint64_t)(id[k] - '0');
        }
        if (k == n) {
            return v + 1;
        }
    }
    for (k = 0; k <= n; k += 8) { /* the word holding the NUL too */
        uint64_t w;
        memcpy(&w, id + k, 8);
        h = (h ^ w) * UINT64_C(0xbf58476d1ce4e5b9);
        h ^= h >> 31;
    }
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 29;
    return h | UINT64_C(1) << 63;
}

_Static_assert((BAR_ID_MAX + 1) % 8 == 0, "id_key reads whole words");

/* ---- trade-id dedupe: two generations, each covering at least the
 * lateness horizon, so an id is remembered for at least that long. ---- */

/* Slot i holds a key (else it is empty): in use and not 0. */
static inline bool idset_full_at(const struct agg_idset *set, size_t i)
{
    return i >= set->lo && i <= set->hi && set->h[i] != 0;
}

static bool idset_has(const struct agg_idset *set, size_t mask, uint64_t h)
{
    size_t i = (size_t)h & mask;

    while (idset_full_at(set, i)) {
        if (set->h[i] == h) {
            return true;
        }
        i = (i + 1) & mask;
    }
    return false;
}

static void idset_add(struct agg_idset *set, size_t mask, uint64_t h)
{
    size_t i = (size_t)h & mask;

    while (idset_full_at(set, i)) {
        i = (i + 1) & mask;
    }
    /* i is empty; outside lo..hi, the slots in use grow to take it in,
     * the ones between zeroed (never read before) */
    if (set->lo > set->hi) {
        set->lo = set->hi = (uint32_t)i;
    } else if (i > set->hi) {
        memset(set->h + set->hi + 1, 0,
               (i - set->hi - 1) * sizeof *set->h);
        set->hi = (uint32_t)i;
    } else if (i < set->lo) {
        memset(set->h + i + 1, 0, (set->lo - i - 1) * sizeof *set->h);
        set->lo = (uint32_t)i;
    }
    set->h[i] = h;
    set->n++;
}


/* Start a new generation; the one before the previous is forgotten.
 * early: forced by a full set before the window elapsed. */
static void ids_rotate(struct agg *a, struct agg_stream *s, bool early)
{
    struct agg_idset *old = &s->ids[s->cur ^ 1u];

    if (early) {
        a->st.dedupe_early += old->n;
    } else {
        a->st.dedupe_expired += old->n;
    }
    idset_clear(old);
    s->cur ^= 1u;
    s->gen_start_ns = a->watermark_ns;
}

static void ids_prefetch(const struct agg *a, const struct agg_stream *s,
                         uint64_t h)
{
#if defined(__GNUC__)
    size_t i = (size_t)h & (a->ids_slots - 1);
    __builtin_prefetch(&s->ids[0].h[i]);
    __builtin_prefetch(&s->ids[1].h[i]);
#else
    (void)a;
    (void)s;
    (void)h;
#endif
}

/* True if h was seen; otherwise remembers it. */
static bool ids_seen(struct agg *a, struct agg_stream *s, uint64_t h)
{
    int64_t window = a->cfg.lateness_ns + a->cfg.grace_ns;
    size_t mask = a->ids_slots - 1;

    if (idset_has(&s->ids[0], mask, h) || idset_has(&s->ids[1], mask, h)) {
        return true;
    }
    if (a->watermark_ns - s->gen_start_ns >= window) {
        ids_rotate(a, s, false);
    } else if (s->ids[s->cur].n >= a->cfg.dedupe_cap) {
        ids_rotate(a, s, true);
    }
    idset_add(&s->ids[s->cur], mask, h);
    return false;
}

/* ---- buckets ---------------------------------------------------------- */

static void gap_flags(const struct agg *a, int64_t start, int64_t end,
                      uint32_t *flags)
{
    unsigned i;

    for (i = 0; i < a->n_gaps && i < AGG_MAX_GAPS; i++) {
        int64_t gs = a->gap_start[i], ge = a->gap_end[i];
        if (gs < end && (ge == 0 || ge > start)) {
            *flags |= BAR_F_SPANS_DISCONNECT;
        }
    }
}

enum slot_verdict {
    SV_OK,
    SV_LATE_DROP,
    SV_FUTURE_DROP
};

/* The slot for the bucket starting at start, created if needed. Decides
 * lateness against the watermark. */
static struct agg_slot *slot_for(struct agg *a, struct agg_stream *s,
                                 struct agg_series *se, int64_t start,
                                 enum slot_verdict *v)
{
    int64_t end = start + se->interval_ns;
    unsigned i, found = AGG_SLOTS, free_ix = AGG_SLOTS, oldest = AGG_SLOTS;
    struct agg_slot *sl;

    *v = SV_OK;
    /* most events fall in the bucket of the one before: its slot first,
     * then the others (the index only, not the bodies) */
    i = se->last_slot;
    if (se->state[i] != AGG_SLOT_EMPTY && se->start_ns[i] == start) {
        found = i;
    } else {
        for (i = 0; i < AGG_SLOTS; i++) {
            if (se->state[i] != AGG_SLOT_EMPTY && se->start_ns[i] == start) {
                found = i;
                se->last_slot = i;
                break;
            }
        }
    }
    if (found < AGG_SLOTS) {
        if (se->state[found] != AGG_SLOT_OPEN &&
            a->watermark_ns - end > a->cfg.lateness_ns) {
            *v = SV_LATE_DROP;
            return NULL;
        }
        return &se->slot[found];
    }
    if (a->watermark_ns - end > a->cfg.lateness_ns) {
        *v = SV_LATE_DROP;
        return NULL;
    }
    /* Not seen before. Reuse an empty slot, or the oldest emitted one
     * that is past the lateness horizon. */
    for (i = 0; i < AGG_SLOTS; i++) {
        if (se->state[i] == AGG_SLOT_EMPTY) {
            free_ix = i;
            break;
        }
        if (se->state[i] == AGG_SLOT_CLOSED &&
            (oldest == AGG_SLOTS || se->start_ns[i] < se->start_ns[oldest])) {
            oldest = i;
        }
    }
    if (free_ix == AGG_SLOTS) {
        if (oldest == AGG_SLOTS ||
            a->watermark_ns - (se->start_ns[oldest] + se->interval_ns) <=
                a->cfg.lateness_ns) {
            /* Every slot is open or still revisable: the event is far in
             * the future (a skewed exchange clock). */
            *v = SV_FUTURE_DROP;
            return NULL;
        }
        free_ix = oldest;
    }
    sl = &se->slot[free_ix];
    memset(sl, 0, sizeof *sl);
    se->last_slot = free_ix;
    se->state[free_ix] = AGG_SLOT_OPEN;
    se->start_ns[free_ix] = start;
    if (start < s->first_ns) {
        sl->flags |= BAR_F_PARTIAL_START;
    }
    if (end + a->cfg.grace_ns <= a->watermark_ns) {
        /* Its close time has passed: it is emitted at the next advance,
         * as revision 0 with close_reason timer. */
        se->state[free_ix] = AGG_SLOT_DIRTY;
        sl->revision = UINT32_MAX; /* +1 wraps to 0 at emit */
    }
    /* A new open or dirty slot only brings agg_next_deadline's answer
     * forward: kept up to date here, not recomputed over every series
     * (which, with a slot opening per series and interval, would make
     * the cost per bar quadratic in the series). */
    if (a->dl_valid) {
        if (se->state[free_ix] == AGG_SLOT_OPEN) {
            int64_t d = end + a->cfg.grace_ns;
            a->dl_open = d < a->dl_open ? d : a->dl_open;
        } else {
            a->dl_dirty = true;
        }
    }
    return sl;
}

/* A closed slot changed: a revision is due. */
static void touch(struct agg *a, struct agg_series *se,
                  const struct agg_slot *sl)
{
    size_t i = (size_t)(sl - se->slot);

    if (se->state[i] == AGG_SLOT_CLOSED) {
        se->state[i] = AGG_SLOT_DIRTY;
        a->dl_dirty = true; /* as agg_next_deadline would find */
        a->st.late_revisions++;
    }
}

/* first <= last always (arrival makes every order key distinct), so an
 * event after the newest is not before the oldest: the oldest is read
 * only for an event out of order. */
static void add_px(struct agg_slot *sl, const struct agg_ord *o, double px)
{
    if (!sl->has_px) {
        sl->has_px = true;
        sl->first = *o;
        sl->last = *o;
        sl->open = sl->high = sl->low = sl->close = px;
        return;
    }
    if (px > sl->high) {
        sl->high = px;
    }
    if (px < sl->low) {
        sl->low = px;
    }
    if (ord_cmp(o, &sl->last) > 0) {
        sl->last = *o;
        sl->close = px;
    } else if (ord_cmp(o, &sl->first) < 0) {
        sl->first = *o;
        if (!sl->open_fixed) {
            sl->open = px;
        }
    }
}

/* ---- trades ------------------------------------------------------------ */

static void note_verdict(struct agg *a, enum slot_verdict v)
{
    if (v == SV_LATE_DROP) {
        a->st.late_dropped++;
    } else if (v == SV_FUTURE_DROP) {
        a->st.future_dropped++;
    }
}

int agg_trade(struct agg *a, const struct cc_trade *t, int64_t now_ns)
{
    char m[BAR_MARKET_MAX + 1], b[BAR_SYM_MAX + 1], q[BAR_SYM_MAX + 1];
    struct agg_stream *s;
    struct agg_ord o;
    bar_i128 qty, notional;
    int64_t ev;
    unsigned i;
    uint64_t h;
    bool buy, sell;

    if (now_ns > a->watermark_ns) {
        a->watermark_ns = now_ns;
    }
    if (!a->started) {
        a->started = true;
    }
    a->st.trades++;
    if (!(t->has & CC_TR_TS) || !(t->has & CC_TR_P) ||
        !(t->has & CC_TR_Q) || !(t->has & CC_TR_ID) || t->ts < 0 ||
        t->ts > INT64_MAX / NS_PER_S - 1) {
        a->st.bad_values++;
        return MD_OK;
    }
    s = NULL;
    if (!t->market.esc && !t->fsym.esc && !t->tsym.esc) {
        /* Hot path: a known pair, found by its tag and compared on the
         * wire bytes, no copies (escaped names take the path below). */
        s = stream_find(a, BAR_SRC_TRADES, t->market.p, t->market.len,
                        t->fsym.p, t->fsym.len, t->tsym.p, t->tsym.len);
    }
    if (s == NULL && (!copy_str(&t->market, m, sizeof m) ||
                      !copy_str(&t->fsym, b, sizeof b) ||
                      !copy_str(&t->tsym, q, sizeof q))) {
        a->st.bad_values++;
        return MD_OK;
    }
    memset(&o, 0, sizeof o);
    if (!copy_str(&t->id, o.id, sizeof o.id)) {
        a->st.bad_values++;
        return MD_OK;
    }
    h = id_key(o.id);
    if (s != NULL) {
        /* the dedupe sets are large and read at random: start the loads
         * now, the decimal scaling below runs meanwhile */
        ids_prefetch(a, s, h);
    }
    if (bar_dec_scaled(&t->q.dec, BAR_VOL_DIGITS, &qty, NULL) != MD_OK ||
        bar_dec_product_scaled(&t->p.dec, &t->q.dec, BAR_NOTIONAL_DIGITS,
                               &notional, NULL) != MD_OK ||
        qty < 0 || !(t->p.d > 0)) {
        a->st.bad_values++;
        return MD_OK;
    }
    if (s == NULL) {
        s = stream_get(a, BAR_SRC_TRADES, m, b, q);
        if (s == NULL) {
            return MD_E_FULL;
        }
    } else {
        mark(a, (size_t)(s - a->stream));
    }
    if (ids_seen(a, s, h)) {
        a->st.duplicates++;
        return MD_OK;
    }
    ev = t->ts * NS_PER_S + ((t->has & CC_TR_TSNS) ? t->tsns : 0);
    o.ev_ns = ev;
    o.arrival = ++a->arrival;
    if (t->has & CC_TR_CCSEQ) {
        o.has_seq = 1;
        o.seq = t->ccseq;
    } else {
        /* A numeric id orders like a sequence; others by bytes. */
        int64_t v = 0;
        size_t k, n = strlen(o.id);
        bool digits = n > 0 && n <= 18;
        for (k = 0; k < n && digits; k++) {
            digits = o.id[k] >= '0' && o.id[k] <= '9';
            v = v * 10 + (o.id[k] - '0');
        }
        if (digits) {
            o.has_seq = 1;
            o.seq = v;
        }
    }
    /* Side from F; both bits set is contradictory: neither side. */
    buy = (t->has & CC_TR_F) && (t->flags & CC_F_BUY) &&
          !(t->flags & CC_F_SELL);
    sell = (t->has & CC_TR_F) && (t->flags & CC_F_SELL) &&
           !(t->flags & CC_F_BUY);
    for (i = 0; i < a->cfg.n_intervals; i++) {
        struct agg_series *se = &s->series[i];
        enum slot_verdict v;
        struct agg_slot *sl = slot_for(a, s, se, bucket_of(se, ev), &v);
        if (sl == NULL) {
            note_verdict(a, v);
            continue;
        }
        add_px(sl, &o, t->p.d);
        sl->volume += qty;
        sl->notional += notional;
        sl->has_volume = true;
        if (buy) {
            sl->buy += qty;
        }
        if (sell) {
            sl->sell += qty;
        }
        sl->trades++;
        touch(a, se, sl);
    }
    return MD_OK;
}

/* ---- CCCAGG ------------------------------------------------------------ */

/* The volume added since the last VOLUMEDAY(TO) of the same UTC day. */
static bool vol_delta(struct agg *a, bool *has, bar_i128 *last,
                      int64_t *last_day, const struct cc_num *n,
                      unsigned digits, int64_t day, bool fresh,
                      bar_i128 *delta)
{
    bar_i128 v;

    if (bar_dec_scaled(&n->dec, digits, &v, NULL) != MD_OK || v < 0) {
        a->st.bad_values++;
        return false;
    }
    *delta = 0;
    if (fresh || !*has) {
        /* A baseline: the difference across a reconnect is not known to
         * belong to any one bar. */
        *has = true;
    } else if (day != *last_day) {
        a->st.volume_resets++; /* 00:00 UTC: VOLUMEDAY restarts at 0 */
        *delta = v;
    } else if (v < *last) {
        a->st.volume_negative++;
    } else {
        *delta = v - *last;
    }
    *last = v;
    *last_day = day;
    return true;
}

int agg_cccagg(struct agg *a, const struct cc_ticker_state *st,
               uint64_t changed, bool fresh, int64_t now_ns)
{
    char m[BAR_MARKET_MAX + 1], b[BAR_SYM_MAX + 1], q[BAR_SYM_MAX + 1];
    struct agg_stream *s;
    struct agg_ord o;
    bar_i128 dv = 0, dq = 0;
    bool has_dv = false, has_dq = false, has_px;
    int64_t ev, day;
    unsigned i;

    if (now_ns > a->watermark_ns) {
        a->watermark_ns = now_ns;
    }
    a->started = true;
    a->st.cccagg_updates++;
    if (!st->keyed) {
        a->st.bad_values++;
        return MD_OK;
    }
    copy_fix(&st->market, m, sizeof m);
    copy_fix(&st->fsym, b, sizeof b);
    copy_fix(&st->tsym, q, sizeof q);
    s = stream_get(a, BAR_SRC_CCCAGG, m, b, q);
    if (s == NULL) {
        return MD_E_FULL;
    }
    /* Event time: LASTUPDATE when this update carried one, else the
     * receipt time in server time. */
    if ((changed & CC_TKM(CC_TK_LASTUPDATE)) && st->lastupdate > 0 &&
        st->lastupdate < INT64_MAX / NS_PER_S) {
        ev = st->lastupdate * NS_PER_S;
    } else {
        ev = now_ns;
    }
    day = floor_div(ev, DAY_NS);
    memset(&o, 0, sizeof o);
    o.ev_ns = ev;
    o.arrival = ++a->arrival;
    has_px = (changed & CC_TKM(CC_TK_PRICE)) != 0 &&
             st->num[CC_TK_PRICE].d > 0;
    if (changed & CC_TKM(CC_TK_VOLUMEDAY)) {
        has_dv = vol_delta(a, &s->has_vd, &s->vd, &s->vd_day,
                           &st->num[CC_TK_VOLUMEDAY], BAR_VOL_DIGITS, day,
                           fresh, &dv);
    }
    if (changed & CC_TKM(CC_TK_VOLUMEDAYTO)) {
        has_dq = vol_delta(a, &s->has_vdto, &s->vdto, &s->vdto_day,
                           &st->num[CC_TK_VOLUMEDAYTO], BAR_NOTIONAL_DIGITS,
                           day, fresh, &dq);
    }
    if (!has_px && !has_dv && !has_dq) {
        return MD_OK;
    }
    for (i = 0; i < a->cfg.n_intervals; i++) {
        struct agg_series *se = &s->series[i];
        enum slot_verdict v;
        struct agg_slot *sl = slot_for(a, s, se, bucket_of(se, ev), &v);
        if (sl == NULL) {
            note_verdict(a, v);
            continue;
        }
        if (has_px) {
            add_px(sl, &o, st->num[CC_TK_PRICE].d);
        }
        if (has_dv || has_dq) {
            sl->volume += dv;
            sl->notional += dq;
            sl->has_volume = true;
        }
        touch(a, se, sl);
    }
    return MD_OK;
}

/* ---- TYPE 24 candles ---------------------------------------------------- */

int agg_ohlc(struct agg *a, const struct cc_ohlc *c, int64_t now_ns)
{
    char m[BAR_MARKET_MAX + 1], b[BAR_SYM_MAX + 1], q[BAR_SYM_MAX + 1];
    struct agg_stream *s;
    unsigned i;
    int64_t ev;

    if (now_ns > a->watermark_ns) {
        a->watermark_ns = now_ns;
    }
    a->started = true;
    a->st.ohlc_updates++;
    if (!(c->has & CC_OH_TS) || c->ts < 0 || c->ts > INT64_MAX / NS_PER_S ||
        !(c->has & CC_OH_CLOSE) ||
        ((c->has & CC_OH_HIGH) && (c->has & CC_OH_LOW) &&
         !(c->low.d <= c->high.d)) ||
        !copy_str(&c->market, m, sizeof m) ||
        !copy_str(&c->fsym, b, sizeof b) || !copy_str(&c->tsym, q, sizeof q)) {
        a->st.bad_values++;
        return MD_OK;
    }
    s = stream_get(a, BAR_SRC_OHLC, m, b, q);
    if (s == NULL) {
        return MD_E_FULL;
    }
    ev = c->ts * NS_PER_S;
    for (i = 0; i < a->cfg.n_intervals; i++) {
        struct agg_series *se = &s->series[i];
        enum slot_verdict v;
        struct agg_slot *sl;
        /* A candle is one bucket of its own period: only a series of
         * the same length takes it (1m candles feed the 1m series). */
        if (floor_div(ev, se->interval_ns) * se->interval_ns != ev) {
            continue;
        }
        sl = slot_for(a, s, se, ev, &v);
        if (sl == NULL) {
            note_verdict(a, v);
            continue;
        }
        sl->has_px = true;
        sl->close = c->close.d;
        sl->open = (c->has & CC_OH_OPEN) ? c->open.d : sl->close;
        sl->high = (c->has & CC_OH_HIGH) ? c->high.d : sl->close;
        sl->low = (c->has & CC_OH_LOW) ? c->low.d : sl->close;
        sl->volume = 0;
        sl->notional = 0;
        sl->has_volume = false;
        if ((c->has & CC_OH_VOLUMEFROM) && (c->has & CC_OH_VOLUMETO) &&
            bar_dec_scaled(&c->volumefrom.dec, BAR_VOL_DIGITS, &sl->volume,
                           NULL) == MD_OK &&
            bar_dec_scaled(&c->volumeto.dec, BAR_NOTIONAL_DIGITS,
                           &sl->notional, NULL) == MD_OK &&
            sl->volume >= 0 && sl->notional >= 0) {
            sl->has_volume = true;
        } else {
            sl->volume = sl->notional = 0;
        }
        sl->trades = (c->has & CC_OH_TOTALTRADES) && c->totaltrades >= 0
                         ? (uint64_t)c->totaltrades
                         : 0;
        touch(a, se, sl);
    }
    return MD_OK;
}

int agg_seed_close(struct agg *a, const char *base, const char *quote,
                   int64_t interval_s, int64_t bar_end_ns, double close)
{
    struct agg_stream *s;
    unsigned i;

    if (strlen(base) > BAR_SYM_MAX || strlen(quote) > BAR_SYM_MAX) {
        return MD_E_INVAL;
    }
    s = stream_get(a, BAR_SRC_CCCAGG, "CCCAGG", base, quote);
    if (s == NULL) {
        return MD_E_FULL;
    }
    for (i = 0; i < a->cfg.n_intervals; i++) {
        struct agg_series *se = &s->series[i];
        if (se->interval_ns == interval_s * NS_PER_S &&
            bar_end_ns >= se->emitted_until_ns) {
            se->has_last_close = true;
            se->last_close = close;
            se->emitted_until_ns = bar_end_ns;
            return MD_OK;
        }
    }
    return MD_E_NOTFOUND;
}

void agg_gap_open(struct agg *a, int64_t at_ns)
{
    unsigned k = a->gap_next;

    a->gap_next = (k + 1) % AGG_MAX_GAPS; /* the oldest goes */
    a->gap_start[k] = at_ns;
    a->gap_end[k] = 0;
    a->n_gaps = a->n_gaps < AGG_MAX_GAPS ? a->n_gaps + 1 : AGG_MAX_GAPS;
}

void agg_gap_close(struct agg *a, int64_t at_ns)
{
    unsigned i;

    for (i = 0; i < a->n_gaps; i++) {
        if (a->gap_end[i] == 0) {
            a->gap_end[i] = at_ns > a->gap_start[i] ? at_ns
                                                     : a->gap_start[i] + 1;
        }
    }
}

/* ---- emitting ----------------------------------------------------------- */

static void fill_bar(const struct agg *a, const struct agg_stream *s,
                     const struct agg_series *se, const struct agg_slot *sl,
                     int64_t start, uint8_t reason, struct bar *b)
{
    memset(b, 0, sizeof *b);
    memcpy(b->market, s->market, sizeof b->market);
    memcpy(b->base, s->base, sizeof b->base);
    memcpy(b->quote, s->quote, sizeof b->quote);
    b->interval_s = se->interval_ns / NS_PER_S;
    b->source = s->source;
    b->start_ms = start / NS_PER_MS;
    b->end_ms = (start + se->interval_ns) / NS_PER_MS;
    b->revision = sl->revision;
    b->close_reason = reason;
    b->flags = sl->flags;
    gap_flags(a, start, start + se->interval_ns, &b->flags);
    if (sl->has_px) {
        b->has |= BAR_HAS_OHLC;
        b->open = sl->open;
        b->close = sl->close;
        /* a valid OHLC record: the open (for CCCAGG the previous close,
         * the price at the period's start) lies inside high and low */
        b->high = sl->high > sl->open ? sl->high : sl->open;
        b->low = sl->low < sl->open ? sl->low : sl->open;
    }
    if (sl->has_volume) {
        b->has |= BAR_HAS_VOLUME;
        b->volume = sl->volume;
        b->quote_volume = sl->notional;
    }
    if (s->source == BAR_SRC_TRADES) {
        b->has |= BAR_HAS_TRADES | BAR_HAS_BUYSELL | BAR_HAS_FIRSTLAST;
        b->trades = sl->trades;
        b->buy_volume = sl->buy;
        b->sell_volume = sl->sell;
        memcpy(b->first_id, sl->first.id, sizeof b->first_id);
        memcpy(b->last_id, sl->last.id, sizeof b->last_id);
        b->first_ns = sl->first.ev_ns;
        b->last_ns = sl->last.ev_ns;
        if (sl->volume > 0) {
            b->has |= BAR_HAS_VWAP;
            b->vwap = bar_scaled_to_double(sl->notional,
                                           BAR_NOTIONAL_DIGITS) /
                      bar_scaled_to_double(sl->volume, BAR_VOL_DIGITS);
        }
    } else if (s->source == BAR_SRC_OHLC && sl->trades > 0) {
        b->has |= BAR_HAS_TRADES;
        b->trades = sl->trades;
    }
}

static int push(struct agg_out *out, struct bar **b)
{
    if (out->n >= out->cap) {
        return MD_E_FULL;
    }
    *b = &out->bars[out->n++];
    return MD_OK;
}

/* CCCAGG convention (so bars reconcile with REST histominute): open is
 * the previous bar's close; a bar without a PRICE update is flat at it. */
static void cccagg_open(struct agg_series *se, struct agg_slot *sl)
{
    if (se->has_last_close) {
        if (!sl->has_px) {
            sl->has_px = true;
            sl->high = sl->low = sl->close = se->last_close;
        }
        sl->open = se->last_close;
        sl->open_fixed = true;
    } else {
        sl->flags |= BAR_F_PARTIAL_START;
    }
}

/* Emit slot sl of series se: a first emission (timer/flush) or a
 * revision. */
static int emit(struct agg *a, struct agg_stream *s, struct agg_series *se,
                unsigned ix, uint8_t reason, struct agg_out *out)
{
    struct agg_slot *sl = &se->slot[ix];
    struct bar *b;
    int64_t end = se->start_ns[ix] + se->interval_ns;
    int rc = push(out, &b);

    if (rc != MD_OK) {
        return rc;
    }
    if (se->state[ix] == AGG_SLOT_DIRTY) {
        /* UINT32_MAX + 1 == 0: the first emission of a bucket that got
         * its first event after its close time: closed at once (timer). */
        sl->revision++;
        reason = sl->revision == 0 ? BAR_CLOSE_TIMER : BAR_CLOSE_REVISION;
        a->st.revisions += sl->revision > 0;
    }
    if (s->source == BAR_SRC_CCCAGG && sl->revision == 0 &&
        end >= se->emitted_until_ns) {
        cccagg_open(se, sl);
    }
    fill_bar(a, s, se, sl, se->start_ns[ix], reason, b);
    a->st.bars++;
    mark(a, (size_t)(s - a->stream));
    se->state[ix] = AGG_SLOT_CLOSED;
    a->dl_valid = false;
    if (end >= se->emitted_until_ns) {
        se->emitted_until_ns = end;
        if (sl->has_px) {
            se->has_last_close = true;
            se->last_close = sl->close;
        }
    }
    return MD_OK;
}

/* Flat synthetic bars for the empty buckets in [from, to). */
static int emit_empty(struct agg *a, struct agg_stream *s,
                      struct agg_series *se, int64_t from, int64_t to,
                      struct agg_out *out)
{
    int64_t t;
    int rc;

    if (!a->cfg.emit_empty || !se->has_last_close) {
        return MD_OK;
    }
    for (t = from; t + se->interval_ns <= to; t += se->interval_ns) {
        struct agg_slot tmp;
        struct bar *b;
        rc = push(out, &b);
        if (rc != MD_OK) {
            return rc;
        }
        memset(&tmp, 0, sizeof tmp);
        tmp.has_px = true;
        tmp.open = tmp.high = tmp.low = tmp.close = se->last_close;
        tmp.has_volume = true;
        tmp.flags = BAR_F_SYNTHETIC;
        fill_bar(a, s, se, &tmp, t, BAR_CLOSE_TIMER, b);
        b->has &= ~(uint32_t)(BAR_HAS_FIRSTLAST | BAR_HAS_VWAP);
        a->st.bars++;
        a->st.synthetic++;
        mark(a, (size_t)(s - a->stream));
        se->emitted_until_ns = t + se->interval_ns;
    }
    return MD_OK;
}

/* Emit what is due in one series, oldest bucket first. */
static int series_advance(struct agg *a, struct agg_stream *s,
                          struct agg_series *se, bool flush,
                          struct agg_out *out)
{
    for (;;) {
        unsigned i, next = AGG_SLOTS;
        int rc;

        for (i = 0; i < AGG_SLOTS; i++) {
            bool due;
            if (se->state[i] == AGG_SLOT_DIRTY) {
                due = true;
            } else if (se->state[i] == AGG_SLOT_OPEN) {
                due = flush || se->start_ns[i] + se->interval_ns +
                                       a->cfg.grace_ns <=
                                   a->watermark_ns;
            } else {
                due = false;
            }
            if (due && (next == AGG_SLOTS ||
                        se->start_ns[i] < se->start_ns[next])) {
                next = i;
            }
        }
        if (next == AGG_SLOTS) {
            return MD_OK;
        }
        if (se->state[next] == AGG_SLOT_OPEN && se->emitted_until_ns > 0 &&
            se->start_ns[next] > se->emitted_until_ns) {
            rc = emit_empty(a, s, se, se->emitted_until_ns,
                            se->start_ns[next], out);
            if (rc != MD_OK) {
                return rc;
            }
        }
        rc = emit(a, s, se, next,
                  flush && se->state[next] == AGG_SLOT_OPEN
                      ? BAR_CLOSE_FLUSH
                      : BAR_CLOSE_TIMER,
                  out);
        if (rc != MD_OK) {
            return rc;
        }
    }
}

static int advance_all(struct agg *a, bool flush, struct agg_out *out)
{
    unsigned k, i;
    int rc;

    for (k = 0; k < a->n_streams; k++) {
        struct agg_stream *s = &a->stream[k];
        for (i = 0; i < a->cfg.n_intervals; i++) {
            rc = series_advance(a, s, &s->series[i], flush, out);
            if (rc != MD_OK) {
                return rc;
            }
            if (!flush) {
                /* Empty buckets wholly before the watermark's closing
                 * point, after the last emitted one. */
                struct agg_series *se = &s->series[i];
                int64_t upto = floor_div(a->watermark_ns - a->cfg.grace_ns,
                                         se->interval_ns) *
                               se->interval_ns;
                if (se->emitted_until_ns > 0 && upto > se->emitted_until_ns) {
                    unsigned j;
                    bool pending = false;
                    for (j = 0; j < AGG_SLOTS; j++) {
                        pending |= se->state[j] == AGG_SLOT_OPEN &&
                                   se->start_ns[j] < upto;
                    }
                    if (!pending) {
                        rc = emit_empty(a, s, se, se->emitted_until_ns, upto,
                                        out);
                        if (rc != MD_OK) {
                            return rc;
                        }
                    }
                }
            }
        }
    }
    return MD_OK;
}

int agg_advance(struct agg *a, int64_t now_ns, struct agg_out *out)
{
    if (now_ns > a->watermark_ns) {
        a->watermark_ns = now_ns;
    }
    return advance_all(a, false, out);
}

int agg_flush(struct agg *a, struct agg_out *out)
{
    return advance_all(a, true, out);
}

int64_t agg_next_deadline(struct agg *a)
{
    int64_t best = INT64_MAX, dirty;
    unsigned k, i, j;

    if (!a->dl_valid) {
        /* Recomputed only after a slot changed state: the hot path (an
         * event into an open bucket) changes none. */
        a->dl_dirty = false;
        for (k = 0; k < a->n_streams; k++) {
            const struct agg_stream *s = &a->stream[k];
            for (i = 0; i < a->cfg.n_intervals; i++) {
                const struct agg_series *se = &s->series[i];
                for (j = 0; j < AGG_SLOTS; j++) {
                    if (se->state[j] == AGG_SLOT_OPEN) {
                        int64_t d = se->start_ns[j] + se->interval_ns +
                                    a->cfg.grace_ns;
                        best = d < best ? d : best;
                    } else if (se->state[j] == AGG_SLOT_DIRTY) {
                        a->dl_dirty = true;
                    }
                }
            }
        }
        a->dl_open = best;
        a->dl_valid = true;
    }
    best = a->dl_open;
    /* Revisions go out one grace period after the change, so a burst of
     * late trades makes one revision. */
    dirty = a->dl_dirty ? a->watermark_ns + a->cfg.grace_ns : INT64_MAX;
    return dirty < best ? dirty : best;
}

/* The emitted slot of a bar's identity, or NULL. */
static struct agg_slot *find_slot(const struct agg *a, const struct bar *id,
                                  const struct agg_stream **sp,
                                  const struct agg_series **sep)
{
    const struct agg_stream *s;
    unsigned i, j;

    if (memchr(id->market, '\0', sizeof id->market) == NULL ||
        memchr(id->base, '\0', sizeof id->base) == NULL ||
        memchr(id->quote, '\0', sizeof id->quote) == NULL) {
        return NULL;
    }
    s = stream_find(a, id->source, id->market, strlen(id->market), id->base,
                    strlen(id->base), id->quote, strlen(id->quote));
    if (s != NULL) {
        for (i = 0; i < a->cfg.n_intervals; i++) {
            const struct agg_series *se = &s->series[i];
            if (se->interval_ns != id->interval_s * NS_PER_S) {
                continue;
            }
            for (j = 0; j < AGG_SLOTS; j++) {
                const struct agg_slot *sl = &se->slot[j];
                if (se->state[j] != AGG_SLOT_EMPTY &&
                    se->state[j] != AGG_SLOT_OPEN &&
                    !(se->state[j] == AGG_SLOT_DIRTY &&
                      sl->revision == UINT32_MAX) &&
                    se->start_ns[j] == id->start_ms * NS_PER_MS) {
                    *sp = s;
                    *sep = se;
                    return (struct agg_slot *)(uintptr_t)sl;
                }
            }
        }
    }
    return NULL;
}

int agg_find_emitted(const struct agg *a, const struct bar *id,
                     uint32_t *revision)
{
    const struct agg_stream *s;
    const struct agg_series *se;
    const struct agg_slot *sl = find_slot(a, id, &s, &se);

    if (sl == NULL) {
        return MD_E_NOTFOUND;
    }
    *revision = sl->revision;
    return MD_OK;
}

int agg_emitted_bar(const struct agg *a, const struct bar *id,
                    struct bar *out)
{
    const struct agg_stream *s;
    const struct agg_series *se;
    const struct agg_slot *sl = find_slot(a, id, &s, &se);

    if (sl == NULL) {
        return MD_E_NOTFOUND;
    }
    fill_bar(a, s, se, sl, se->start_ns[sl - se->slot], BAR_CLOSE_TIMER,
             out);
    return MD_OK;
}

int agg_note_backfill(struct agg *a, const struct bar *id, uint32_t revision)
{
    const struct agg_stream *s;
    const struct agg_series *se;
    struct agg_slot *sl = find_slot(a, id, &s, &se);

    if (sl == NULL) {
        return MD_E_NOTFOUND;
    }
    sl->revision = revision;
    sl->flags |= BAR_F_BACKFILLED;
    mark(a, (size_t)(s - a->stream));
    return MD_OK;
}

struct agg_stream *agg_stream_get(struct agg *a, uint8_t source,
                                  const char *market, const char *base,
                                  const char *quote)
{
    if (strlen(market) > BAR_MARKET_MAX || strlen(base) > BAR_SYM_MAX ||
        strlen(quote) > BAR_SYM_MAX) {
        return NULL;
    }
    return stream_get(a, source, market, base, quote);
}

bool agg_changed(const struct agg *a, unsigned k)
{
    return k < a->n_streams &&
           (a->changed[k / 64] >> (k % 64) & 1u) != 0;
}

void agg_changed_clear(struct agg *a)
{
    memset(a->changed, 0,
           ((a->n_streams + 63) / 64) * sizeof *a->changed);
}
