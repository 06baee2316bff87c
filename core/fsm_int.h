/* fsm_int.h: helpers shared by the machine modules of core/ (fsm_*.c) to
 * write their tables compactly. Not for use outside core/fsm_*.c. */
#ifndef FSM_INT_H
#define FSM_INT_H

#include "fsm.h"
#include "md_types.h"

#define FSM_R FSM_R_REACHABLE
#define FSM_U FSM_R_UNREACHABLE

/* One cell: label, then arms. The last arm is unconditional. */
#define FSM_C1(r, n, o)                                                   \
    {                                                                     \
        (r), 1, { { 0, (n), (o) } }                                       \
    }
#define FSM_C2(r, g1, n1, o1, n2, o2)                                     \
    {                                                                     \
        (r), 2, { { (g1), (n1), (o1) }, { 0, (n2), (o2) } }               \
    }
#define FSM_C3(r, g1, n1, o1, g2, n2, o2, n3, o3)                          \
    {                                                                     \
        (r), 3,                                                           \
        {                                                                 \
            { (g1), (n1), (o1) }, { (g2), (n2), (o2) }, { 0, (n3), (o3) } \
        }                                                                 \
    }

/* Select the arm for (state, input, guards) of machine d, check room for
 * max_actions, emit the trace action if trace is set. On success *arm and
 * MD_OK; the caller then applies the arm's effects and sets the state. */
int fsm__begin(const struct fsm_def *d, unsigned state, unsigned input,
               uint32_t guards, int trace, mono_ns t_ns, size_t max_actions,
               struct md_out *out, const struct fsm_arm **arm);

/* Emit timer actions. */
void fsm__arm(struct md_out *out, mono_ns t_ns, enum md_timer timer,
              mono_ns deadline);
void fsm__cancel(struct md_out *out, mono_ns t_ns, enum md_timer timer);
void fsm__note(struct md_out *out, mono_ns t_ns, enum md_note note,
               uint64_t arg);
void fsm__act(struct md_out *out, mono_ns t_ns, enum md_act_kind kind,
              uint64_t arg);

#endif /* FSM_INT_H */
