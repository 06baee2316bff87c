/* pump_core.c: the bars between the core's publisher and the pump. See
 * pump_core.h. */
#include <stdlib.h>
#include <string.h>

#include "fsm_pub.h"
#include "md_err.h"
#include "pump_core.h"

static int grow(uint64_t **v, size_t *cap, size_t need)
{
    if (need > *cap) {
        size_t c = need * 2 + 64;
        uint64_t *nv = realloc(*v, c * sizeof *nv);
        if (nv == NULL) {
            return MD_E_NOMEM;
        }
        *v = nv;
        *cap = c;
    }
    return MD_OK;
}

/* Bar id was dropped at its closing: true once (then forgotten). */
static bool drop_take(struct pump_core *pc, uint64_t id)
{
    size_t lo = 0, hi = pc->n_drop;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pc->drop[mid] < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == pc->n_drop || pc->drop[lo] != id) {
        return false;
    }
    memmove(pc->drop + lo, pc->drop + lo + 1,
            (pc->n_drop - lo - 1) * sizeof *pc->drop);
    pc->n_drop--;
    return true;
}

int pump_core_closed(struct pump_core *pc, struct pump *p, uint64_t max,
                     bool drop, const struct md_bar *const *bars, size_t n,
                     bool *say_full, char *errbuf, size_t errlen)
{
    size_t i;

    *say_full = false;
    for (i = 0; i < n; i++) {
        int rc;
        if (drop && pump_pending(p) >= max) {
            /* ids close in ascending order: the list stays sorted */
            if (grow(&pc->drop, &pc->cap_drop, pc->n_drop + 1) != MD_OK) {
                return MD_E_NOMEM;
            }
            if (pc->dropped == pc->dropped_said) {
                *say_full = true;
            }
            pc->drop[pc->n_drop++] = bars[i]->id;
            pc->dropped++;
            continue;
        }
        pc->dropped_said = pc->dropped;
        rc = pump_closed(p, bars[i], errbuf, errlen);
        if (rc != MD_OK) {
            return rc;
        }
    }
    return MD_OK;
}

int pump_core_produce(struct pump_core *pc, struct pump *p,
                      const struct md_bar *const *bars, size_t n,
                      pump_core_answer *answer, void *ctx, uint64_t *bad_id)
{
    size_t i;

    if (grow(&pc->acc, &pc->cap_acc, pc->n_acc + n) != MD_OK) {
        return MD_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        if (drop_take(pc, bars[i]->id)) {
            /* dropped at its closing (the outbox was full): refused */
            answer(ctx, bars[i]->id, PUB_I_PUBLISH_REJECTED);
            continue;
        }
        if (pump_produced(p, bars[i]->id) != MD_OK) {
            *bad_id = bars[i]->id;
            return MD_E_STATE;
        }
        pc->acc[pc->n_acc++] = bars[i]->id;
    }
    return MD_OK;
}

void pump_core_committed(struct pump_core *pc, pump_core_answer *answer,
                         void *ctx)
{
    size_t i;

    for (i = 0; i < pc->n_acc; i++) {
        answer(ctx, pc->acc[i], PUB_I_PUBLISH_SUCCESS);
    }
    pc->n_acc = 0;
}

void pump_core_free(struct pump_core *pc)
{
    free(pc->acc);
    free(pc->drop);
    pc->acc = NULL;
    pc->drop = NULL;
    pc->n_acc = pc->cap_acc = 0;
    pc->n_drop = pc->cap_drop = 0;
}
