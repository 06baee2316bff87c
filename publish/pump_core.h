/* pump_core.h: between the core's publisher actions and the pump, for
 * live and replay alike. With the outbox the core's produce of a bar is
 * its row in the outbox: the bar is reported delivered once that row is
 * committed (pump_core_committed). A bar that closes while the outbox is
 * full (--outbox-max, when the policy is to drop) never gets a row: its
 * produce is refused, once. The shells answer the core their own way
 * (live through its queue, replay as a virtual reply): pump_core_answer.
 * docs/delivery.md. */
#ifndef PUMP_CORE_H
#define PUMP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "pump.h"

struct pump_core {
    uint64_t *acc;  /* produced into the outbox, answered at the commit */
    size_t n_acc, cap_acc;
    uint64_t *drop; /* dropped at their closing, ascending */
    size_t n_drop, cap_drop;
    uint64_t dropped;      /* bars dropped in all */
    uint64_t dropped_said; /* dropped when a stretch of drops was last said */
};

/* Answer the core for bar_id: input PUB_I_PUBLISH_SUCCESS or
 * PUB_I_PUBLISH_REJECTED. */
typedef void pump_core_answer(void *ctx, uint64_t bar_id, int input);

/* The core closed bars[0..n): each into the outbox (pump_closed), or, when
 * drop and the pump holds max bars or more, dropped (kept for its produce,
 * counted). *say_full is set when a drop starts a stretch of drops, for
 * the shell to say once. MD_OK; MD_E_NOMEM; pump_closed's error, with its
 * words in errbuf. */
int pump_core_closed(struct pump_core *pc, struct pump *p, uint64_t max,
                     bool drop, const struct md_bar *const *bars, size_t n,
                     bool *say_full, char *errbuf, size_t errlen);

/* The core's produce of bars[0..n): a bar dropped at its closing is
 * answered refused; every other one is marked produced in the pump and
 * kept for pump_core_committed. MD_OK; MD_E_NOMEM; MD_E_STATE for a bar
 * the outbox never had (*bad_id). */
int pump_core_produce(struct pump_core *pc, struct pump *p,
                      const struct md_bar *const *bars, size_t n,
                      pump_core_answer *answer, void *ctx, uint64_t *bad_id);

/* The outbox committed: every bar kept is answered delivered. */
void pump_core_committed(struct pump_core *pc, pump_core_answer *answer,
                         void *ctx);

/* Bars produced and not yet committed. */
static inline size_t pump_core_waiting(const struct pump_core *pc)
{
    return pc->n_acc;
}

/* Free the lists (the counts stay). */
void pump_core_free(struct pump_core *pc);

#endif /* PUMP_CORE_H */
