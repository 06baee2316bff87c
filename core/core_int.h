/* core_int.h: what core.c, core_bars.c and core_config.c share. Not for
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
