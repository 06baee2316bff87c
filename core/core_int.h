/* core_int.h: what core.c, core_bars.c, core_config.c, core_rest.c and
 * core_topic.c share. Not for
 * use outside them. Pure. */
#ifndef CORE_INT_H
#define CORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* The slot of bar id. */
struct md_bar *bars_at(struct core *c, uint64_t id);

/* Set bar id's state (enum core_bar_state), logged for a rollback and
 * counted in c->s.n_queued / n_inflight. */
void bars_set_state(struct core *c, uint64_t id, uint8_t st);

/* Room for new bars after reclaiming released ids at the low end: only
 * at the end of a step, when no payload of the step points at them. */
uint64_t bars_room(struct core *c);

/* Room for new bars this step: released ids keep their slots until the
 * step is over, so earlier payloads stay valid. */
uint64_t bars_free(const struct core *c);

/* The step's payload and undo arrays have room for n more. */
int bars_ref_room(const struct core *c, size_t n);

/* Store a new closed bar, queued, and append it to the step's payload
 * references; NULL when there is no room. */
const struct md_bar *bars_new(struct core *c, const struct bar *b);

/* Take id out of the queue (it is discarded while queued). */
void bars_queue_remove(struct core *c, uint64_t id);

/* The publisher's PRODUCE(n): the first n queued bars go in flight and
 * the action names them. MD_OK or MD_E_STATE (fewer queued: a bug). */
int bars_produce(struct core *c, struct md_action *a);

/* DISCARD: during a delivery report the reported bar, otherwise (the
 * flush deadline passed) every bar queued or in flight; named in a. */
int bars_discard(struct core *c, struct md_action *a);

/* REQUEUE: the reported bar goes back to the queue, in its place. */
int bars_requeue(struct core *c);

/* REQUEUE_ALL: every bar in flight goes back to the queue (the producer
 * died), each in its place. */
int bars_requeue_all(struct core *c);

/* DEAD_LETTER: the reported bar is given up for good; named in a. */
int bars_dead_letter(struct core *c, struct md_action *a);

/* The queue from the bars' states: the queued bars in id order, which is
 * the order they were made, so a series' bars go out in order whatever
 * failed and came back. */
void bars_queue_rebuild(struct core *c);

/* ---- the step (core.c) ---- */

/* Jobs of pub FETCH_DATA, passed through MD_A_FETCH. */
enum job {
    JOB_PREFLIGHT = 0,
    JOB_BACKFILL = 1
};

struct ev {
    uint8_t machine;
    uint8_t input;
    uint64_t n;
    mono_ns retry_after_ns;
    int64_t server_ms;
};

/* An input starts at most three events and a machine step leads to at
 * most two more; a step that would need more is a bug, reported as
 * MD_E_STATE (and rolled back), never a silent drop. */
#define EVQ_CAP 32
struct evq {
    unsigned head, n;
    struct ev e[EVQ_CAP];
};

/* The next event of q, zeroed but for machine, input and n; NULL when q
 * is full (PUSH returns MD_E_STATE then). */
struct ev *evq_push(struct evq *q, enum md_machine m, uint8_t input,
                    uint64_t n);

#define PUSH(q, m, i, n)                                                  \
    do {                                                                  \
        if (evq_push((q), (m), (i), (n)) == NULL) {                       \
            return MD_E_STATE;                                            \
        }                                                                 \
    } while (0)

/* Save the rate budget, the backfill table, before their first change in
 * a step (a rollback puts them back). */
void stage_save_budget(struct core *c);
void stage_save_bf(struct core *c);

/* A note of the composition's own, in the step's output; MD_E_FULL when
 * the output has no room. */
int stage_note(struct core *c, mono_ns t, enum md_note n, uint64_t arg);

/* ---- REST (core_rest.c) ---- */

/* The planned request at the head of the queue, NULL when none; pop k. */
const struct rp_fetch *fetch_head(const struct core *c);
void fetch_pop(struct core *c, uint64_t k);

/* Plan the requests of a job (enum job); how many were queued. A
 * backfill plans each series that wants one from its own resume point
 * and arms the backfill timer for the earliest series still pending. */
unsigned fetch_plan(struct core *c, enum job job, int64_t now, mono_ns t);

/* A request of the running fetch ended with bars or failed: the
 * publisher hears once, when the last one ends (FETCH_FAILURE, then
 * DATA_READY). */
int fetch_ended(struct core *c, struct evq *q, uint64_t bars,
                uint64_t failed);

/* A REST answer (in) as the REST machine's input, its bars stored. */
int fetch_on_http(struct core *c, const struct core_in *in, struct evq *q,
                  int64_t now);

/* The backfill timer on the earliest series still pending. */
int backfill_arm(struct core *c, mono_ns t);

/* A gap closed at server time now: every series wants it backfilled. */
void backfill_gap(struct core *c, int64_t now);

/* The backfill timer fired at server time now: true if any series is due
 * (and now wants planning). */
bool backfill_due(struct core *c, int64_t now);

/* The first k planned requests failed for good: their backfills are
 * planned again after a back-off, noted and counted. */
int backfill_failed(struct core *c, uint64_t k, int64_t now, mono_ns t);

/* ---- topics (core_topic.c) ---- */


/* The empty index (core_init). */
void topics_init(struct core *c);

/* Save the topics' states before the step's first change; restore them
 * when the step is undone. */
void topics_save(struct core *c);
void topics_restore(struct core *c);

/* Bar m's topic: m->topic set, *ready if the topic exists; a topic never
 * seen becomes wanted (stg.topic_wanted). MD_E_FULL: the table is full. */
int topics_of_bar(struct core *c, struct md_bar *m, bool *ready);

/* TOPIC_CREATE: every wanted topic is asked for, named in a; how many. */
size_t topics_ask(struct core *c, struct md_action *a);

/* One Admin result for the topic name[0..len): a topic created releases
 * its parked bars to the queue (*released); *last when it was the
 * request's last result. A topic reported to exist that was not asked
 * for (the shell read the broker's metadata) is ready at once, no
 * request's. MD_E_STATE: a failure for no topic asked for, or no topic
 * name (counted, not passed on); MD_E_FULL: no room in the undo log. */
int topics_result(struct core *c, const char *name, size_t len, bool ok,
                  uint64_t *released, bool *last);

#endif /* CORE_INT_H */
