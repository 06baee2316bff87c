/* fsm.c: lookup and validation of table-driven Mealy machines. Pure: the
 * only state that changes is the caller's, through the machines' step
 * functions. */
#include <stdio.h>

#include "fsm.h"
#include "md_err.h"
#include "md_types.h"

const struct fsm_cell *fsm_cell_at(const struct fsm_def *d, unsigned state,
                                   unsigned input)
{
    if (state == 0 || state >= d->nstates || input == 0 ||
        input >= d->ninputs) {
        return NULL;
    }
    return &d->cells[(size_t)state * d->ninputs + input];
}

const char *fsm_guard_label(const struct fsm_def *d,
                            const struct md_trace *tr)
{
    const struct fsm_cell *c = fsm_cell_at(d, tr->from, tr->input);

    if (c == NULL || c->narms < 2) {
        return NULL;
    }
    return tr->guard == FSM_G_ALWAYS ? "else" : d->guard_names[tr->guard];
}

int fsm_select(const struct fsm_def *d, unsigned state, unsigned input,
               uint32_t guards, const struct fsm_arm **arm)
{
    const struct fsm_cell *c = fsm_cell_at(d, state, input);
    unsigned i;

    *arm = NULL;
    if (c == NULL) {
        return MD_E_INVAL;
    }
    for (i = 0; i < c->narms && i < FSM_MAX_ARMS; i++) {
        const struct fsm_arm *a = &c->arm[i];
        if (a->guard == FSM_G_ALWAYS || (guards >> a->guard) & 1u) {
            if (a->next == 0) {
                return MD_E_STATE;
            }
            *arm = a;
            return MD_OK;
        }
    }
    return MD_E_STATE;
}

/* snprintf into a caller buffer is formatting, not I/O. */
#define WHY(...)                                                          \
    do {                                                                  \
        if (why_size > 0) {                                               \
            (void)snprintf(why, why_size, __VA_ARGS__);                   \
        }                                                                 \
        return MD_E_STATE;                                                \
    } while (0)

int fsm_validate(const struct fsm_def *d, char *why, size_t why_size)
{
    unsigned s, i, k;

    if (d->q0 == 0 || d->q0 >= d->nstates) {
        WHY("%s: q0 %u out of range", d->name, (unsigned)d->q0);
    }
    if (d->nguards > 32 || d->nstates > 32) {
        WHY("%s: too many guards or states for the masks", d->name);
    }
    for (s = 1; s < d->nstates; s++) {
        if (d->state_names[s] == NULL) {
            WHY("%s: state %u has no name", d->name, s);
        }
    }
    for (i = 1; i < d->ninputs; i++) {
        if (d->input_names[i] == NULL) {
            WHY("%s: input %u has no name", d->name, i);
        }
    }
    for (s = 1; s < d->nstates; s++) {
        for (i = 1; i < d->ninputs; i++) {
            const struct fsm_cell *c = fsm_cell_at(d, s, i);
            if (c->narms == 0 || c->narms > FSM_MAX_ARMS) {
                WHY("%s: cell (%s, %s) is not filled", d->name,
                    d->state_names[s], d->input_names[i]);
            }
            if (c->reach != FSM_R_REACHABLE &&
                c->reach != FSM_R_UNREACHABLE) {
                WHY("%s: cell (%s, %s) has no reachability label", d->name,
                    d->state_names[s], d->input_names[i]);
            }
            for (k = 0; k < c->narms; k++) {
                const struct fsm_arm *a = &c->arm[k];
                int last = k + 1 == c->narms;
                if (a->next == 0 || a->next >= d->nstates) {
                    WHY("%s: cell (%s, %s) arm %u: bad next state", d->name,
                        d->state_names[s], d->input_names[i], k);
                }
                if (a->out == 0 || a->out >= d->noutputs) {
                    WHY("%s: cell (%s, %s) arm %u: bad output", d->name,
                        d->state_names[s], d->input_names[i], k);
                }
                if (a->guard >= d->nguards) {
                    WHY("%s: cell (%s, %s) arm %u: bad guard", d->name,
                        d->state_names[s], d->input_names[i], k);
                }
                if (last != (a->guard == FSM_G_ALWAYS)) {
                    WHY("%s: cell (%s, %s): only the last arm, and always "
                        "the last arm, is unconditional",
                        d->name, d->state_names[s], d->input_names[i]);
                }
            }
        }
    }
    if (why_size > 0) {
        why[0] = '\0';
    }
    return MD_OK;
}

/* ---- helpers for the machine modules (fsm_int.h) ---- */
#include "fsm_int.h"

int fsm__begin(const struct fsm_def *d, unsigned state, unsigned input,
               uint32_t guards, int trace, mono_ns t_ns, size_t max_actions,
               struct md_out *out, uint64_t *unreachable,
               const struct fsm_arm **arm)
{
    int rc;

    *arm = NULL;
    if (md_out_room(out) < max_actions) {
        return MD_E_FULL;
    }
    rc = fsm_select(d, state, input, guards, arm);
    if (rc != MD_OK) {
        return rc;
    }
    if (trace) {
        struct md_action *a = md_out_push(out, MD_A_TRACE, t_ns);
        a->tr.machine = d->machine;
        a->tr.from = (uint8_t)state;
        a->tr.input = (uint8_t)input;
        a->tr.guard = (*arm)->guard;
        a->tr.output = (*arm)->out;
        a->tr.to = (*arm)->next;
    }
    if (fsm_cell_at(d, state, input)->reach == FSM_R_UNREACHABLE) {
        (*unreachable)++;
        fsm__note(out, t_ns, MD_N_UNREACHABLE,
                  FSM_UNREACHABLE_ARG(d->machine, state, input));
    }
    return MD_OK;
}

void fsm__arm(struct md_out *out, uint32_t *timers, mono_ns t_ns,
              enum md_timer timer, mono_ns deadline)
{
    struct md_action *a = md_out_push(out, MD_A_ARM_TIMER, t_ns);
    a->timer = (uint8_t)timer;
    a->deadline_ns = deadline;
    *timers |= 1u << (unsigned)timer;
}

void fsm__cancel(struct md_out *out, uint32_t *timers, mono_ns t_ns,
                 enum md_timer timer)
{
    struct md_action *a = md_out_push(out, MD_A_CANCEL_TIMER, t_ns);
    a->timer = (uint8_t)timer;
    *timers &= ~(1u << (unsigned)timer);
}

void fsm__fired(uint32_t *timers, enum md_timer timer)
{
    *timers &= ~(1u << (unsigned)timer);
}

void fsm__note(struct md_out *out, mono_ns t_ns, enum md_note note,
               uint64_t arg)
{
    struct md_action *a = md_out_push(out, MD_A_NOTE, t_ns);
    a->note = (uint8_t)note;
    a->arg = arg;
}

void fsm__act(struct md_out *out, mono_ns t_ns, enum md_act_kind kind,
              uint64_t arg)
{
    struct md_action *a = md_out_push(out, kind, t_ns);
    a->arg = arg;
}

int fsm__broken(char *why, size_t why_size, const struct fsm_def *d,
                unsigned state, const char *what)
{
    if (why_size > 0) {
        (void)snprintf(why, why_size, "%s %s: %s", d->name,
                       state > 0 && state < d->nstates
                           ? d->state_names[state]
                           : "?",
                       what);
    }
    return MD_E_STATE;
}
