/* core_bars.c: the core's bar store (core_int.h): closed bars held by id
 * until delivered or discarded, the queue of bars waiting to be produced,
 * and the publisher's bar actions (produce, discard, requeue) turned into
 * ids. Every change of a bar's state goes through the step's undo log.
 * Pure: no I/O, no allocation, no clock. */
#include "core_int.h"
#include "md_err.h"

/* ---- the bar store ----------------------------------------------------- */

struct md_bar *bars_at(struct core *c, uint64_t id)
{
    return &c->bar[id & (c->bar_cap - 1)];
}

void bars_set_state(struct core *c, uint64_t id, uint8_t st)
{
    uint8_t *p = &c->bar_state[id & (c->bar_cap - 1)];

    c->stg.undo[c->stg.n_undo].id = id;
    c->stg.undo[c->stg.n_undo].st = *p;
    c->stg.n_undo++;
    if (*p == CORE_BAR_QUEUED) {
        c->s.n_queued--;
    } else if (*p == CORE_BAR_INFLIGHT) {
        c->s.n_inflight--;
    } else if (*p == CORE_BAR_PARKED) {
        c->s.n_parked--;
    }
    *p = st;
    if (st == CORE_BAR_QUEUED) {
        c->s.n_queued++;
    } else if (st == CORE_BAR_INFLIGHT) {
        c->s.n_inflight++;
    } else if (st == CORE_BAR_PARKED) {
        c->s.n_parked++;
    }
}

/* Room for new bars: released ids at the low end are reclaimed first. */
uint64_t bars_room(struct core *c)
{
    while (c->s.lo < c->s.next_id &&
           c->bar_state[c->s.lo & (c->bar_cap - 1)] == CORE_BAR_FREE) {
        c->s.lo++;
    }
    return c->bar_cap - (c->s.next_id - c->s.lo);
}

/* Bars released this step keep their slots until the step is over, so
 * the payloads of earlier actions stay valid: a step takes only the room
 * there was when it began. */
uint64_t bars_free(const struct core *c)
{
    return c->bar_cap - (c->s.next_id - c->stg.s.lo);
}

int bars_ref_room(const struct core *c, size_t n)
{
    return c->stg.n_ref + n <= 3 * c->bar_cap &&
           c->stg.n_undo + n <= 3 * c->bar_cap;
}

/* Store a new closed bar, queued, or parked while its topic does not
 * exist (counted in stg.parked); returns it (NULL: no room, in the store
 * or the topic table). */
const struct md_bar *bars_new(struct core *c, const struct bar *b)
{
    struct md_bar *m;
    uint64_t id = c->s.next_id;
    bool ready = false;

    if (bars_free(c) == 0 || !bars_ref_room(c, 1)) {
        return NULL;
    }
    m = bars_at(c, id);
    m->id = id;
    m->bar = *b;
    m->emit_ms = c->feed.agg.watermark_ns / 1000000;
    if (topics_of_bar(c, m, &ready) != MD_OK) {
        return NULL;
    }
    /* REST values as received that are no valid OHLC record: counted
     * (the flag itself is in memory only) */
    c->st.bars_ohlc_outside += (b->flags & BAR_F_OHLC_OUTSIDE) != 0;
    c->s.next_id++;
    if (!ready) {
        bars_set_state(c, id, CORE_BAR_PARKED);
        c->stg.parked++;
        c->stg.ref[c->stg.n_ref++] = m;
        return m;
    }
    bars_set_state(c, id, CORE_BAR_QUEUED);
    c->queue[(c->s.q_head + c->s.q_n) % (2 * c->bar_cap)] = id;
    c->s.q_n++;
    c->stg.ref[c->stg.n_ref++] = m;
    return m;
}

/* ---- the publisher's bars ------------------------------------------------ */

/* PRODUCE(n): the first n queued bars go in flight, named in the action. */
int bars_produce(struct core *c, struct md_action *a)
{
    size_t first = c->stg.n_ref;
    uint64_t k;

    if (a->arg > c->s.q_n || !bars_ref_room(c, (size_t)a->arg)) {
        return MD_E_STATE;
    }
    for (k = 0; k < a->arg; k++) {
        uint64_t id = c->queue[c->s.q_head];
        c->s.q_head = (c->s.q_head + 1) % (2 * c->bar_cap);
        c->s.q_n--;
        bars_set_state(c, id, CORE_BAR_INFLIGHT);
        c->stg.ref[c->stg.n_ref++] = bars_at(c, id);
    }
    a->n = (size_t)a->arg;
    a->p.bars = &c->stg.ref[first];
    return MD_OK;
}

/* Remove id from the queue (it is being discarded while queued). */
void bars_queue_remove(struct core *c, uint64_t id)
{
    uint64_t k, w = 0;
    const uint64_t ring = 2 * c->bar_cap;

    for (k = 0; k < c->s.q_n; k++) {
        uint64_t v = c->queue[(c->s.q_head + k) % ring];
        if (v != id) {
            c->queue[(c->s.q_head + w) % ring] = v;
            w++;
        }
    }
    c->s.q_n = w;
}

/* DISCARD: during a delivery report, the reported bar (lost); otherwise
 * a->arg bars, the queued ones first, then those in flight: all of them
 * when the flush deadline passed, the queued ones when the topic they
 * waited for failed. */
int bars_discard(struct core *c, struct md_action *a)
{
    size_t first = c->stg.n_ref;
    uint64_t id;

    if (c->stg.report_id != 0) {
        if (!bars_ref_room(c, 1)) {
            return MD_E_STATE;
        }
        bars_set_state(c, c->stg.report_id, CORE_BAR_FREE);
        c->stg.ref[c->stg.n_ref++] = bars_at(c, c->stg.report_id);
    } else {
        if (!bars_ref_room(c, (size_t)(c->s.next_id - c->s.lo))) {
            return MD_E_STATE;
        }
        uint64_t want = a->arg;
        int pass;
        for (pass = 0; pass < 2; pass++) {
            uint8_t which = pass == 0 ? CORE_BAR_QUEUED : CORE_BAR_INFLIGHT;
            for (id = c->s.lo; id < c->s.next_id && c->stg.n_ref - first <
                                                        want; id++) {
                if (c->bar_state[id & (c->bar_cap - 1)] == which) {
                    bars_set_state(c, id, CORE_BAR_FREE);
                    c->stg.ref[c->stg.n_ref++] = bars_at(c, id);
                }
            }
        }
        bars_queue_rebuild(c);
    }
    a->n = c->stg.n_ref - first;
    a->arg = a->n;
    a->p.bars = &c->stg.ref[first];
    return MD_OK;
}

void bars_queue_rebuild(struct core *c)
{
    const uint64_t ring = 2 * c->bar_cap;
    uint64_t id, n = 0;

    for (id = c->s.lo; id < c->s.next_id; id++) {
        if (c->bar_state[id & (c->bar_cap - 1)] == CORE_BAR_QUEUED) {
            c->queue[(c->s.q_head + n) % ring] = id;
            n++;
        }
    }
    c->s.q_n = n;
}

/* REQUEUE: the reported bar goes back to the queue, in its place (a
 * failure is rare: the queue is rebuilt, not searched). */
int bars_requeue(struct core *c)
{
    uint64_t id = c->stg.report_id;

    if (id == 0 || !bars_ref_room(c, 1)) {
        return MD_E_STATE;
    }
    bars_set_state(c, id, CORE_BAR_QUEUED);
    bars_queue_rebuild(c);
    return MD_OK;
}

int bars_requeue_all(struct core *c)
{
    uint64_t id;

    if (!bars_ref_room(c, (size_t)c->s.n_inflight)) {
        return MD_E_STATE;
    }
    for (id = c->s.lo; id < c->s.next_id; id++) {
        if (c->bar_state[id & (c->bar_cap - 1)] == CORE_BAR_INFLIGHT) {
            bars_set_state(c, id, CORE_BAR_QUEUED);
        }
    }
    bars_queue_rebuild(c);
    return MD_OK;
}

int bars_dead_letter(struct core *c, struct md_action *a)
{
    uint64_t id = c->stg.report_id;

    if (id == 0 || !bars_ref_room(c, 1)) {
        return MD_E_STATE;
    }
    bars_set_state(c, id, CORE_BAR_FREE);
    c->stg.ref[c->stg.n_ref] = bars_at(c, id);
    a->n = 1;
    a->arg = 1;
    a->p.bars = &c->stg.ref[c->stg.n_ref++];
    return MD_OK;
}

