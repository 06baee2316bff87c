/* fsm_int.h: helpers shared by the machine modules of core/ (fsm_*.c) to
 * write their tables compactly. Not for use outside core/fsm_*.c. */
#ifndef FSM_INT_H
#define FSM_INT_H

#include "fsm.h"
#include "md_err.h"
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
#define FSM_C4(r, g1, n1, o1, g2, n2, o2, g3, n3, o3, n4, o4)             \
    {                                                                     \
        (r), 4,                                                           \
        {                                                                 \
            { (g1), (n1), (o1) }, { (g2), (n2), (o2) },                   \
                { (g3), (n3), (o3) }, { 0, (n4), (o4) }                   \
        }                                                                 \
    }

/* Select the arm for (state, input, guards) of machine d, check room for
 * max_actions, emit the trace action if trace is set. A cell labelled
 * unreachable is still taken (its arm is an explicit no-op), but the step
 * says so: note MD_N_UNREACHABLE (arg FSM_UNREACHABLE_ARG) and
 * (*unreachable)++, so a shell that breaks its contract is seen, counted
 * and never crashes the core. On success *arm and MD_OK; the caller then
 * applies the arm's effects and sets the state. */
int fsm__begin(const struct fsm_def *d, unsigned state, unsigned input,
               uint32_t guards, int trace, mono_ns t_ns, size_t max_actions,
               struct md_out *out, uint64_t *unreachable,
               const struct fsm_arm **arm);

/* The note argument of an unreachable cell: machine, state, input. */
#define FSM_UNREACHABLE_ARG(machine, state, input)                        \
    (((uint64_t)(machine) << 16) | ((uint64_t)(state) << 8) |             \
     (uint64_t)(input))

/* Emit timer actions, keeping *timers (bit t set: the machine has timer t
 * armed) in step with what the shell was asked to do; the machines'
 * *_check functions compare it with the timers their states imply. */
void fsm__arm(struct md_out *out, uint32_t *timers, mono_ns t_ns,
              enum md_timer timer, mono_ns deadline);
void fsm__cancel(struct md_out *out, uint32_t *timers, mono_ns t_ns,
                 enum md_timer timer);
/* A timer input arrived: that timer is no longer armed. */
void fsm__fired(uint32_t *timers, enum md_timer timer);
void fsm__note(struct md_out *out, mono_ns t_ns, enum md_note note,
               uint64_t arg);
void fsm__act(struct md_out *out, mono_ns t_ns, enum md_act_kind kind,
              uint64_t arg);

/* The last word of every *_step, as SQLite's assert_pager_state: in
 * builds without NDEBUG (tests and the default build) the machine's
 * invariants are checked after the step, and a broken one makes the step
 * return MD_E_STATE (a bug in the core: the step's effects stand, the
 * state is suspect). With NDEBUG the check is compiled out. No I/O. */
#ifndef NDEBUG
#define FSM_CHECKED(check_rc) ((check_rc) == MD_OK ? MD_OK : MD_E_STATE)
#else
#define FSM_CHECKED(check_rc) MD_OK
#endif

/* Report a broken invariant from a *_check function: describe it in the
 * caller's why buffer (if any) and return MD_E_STATE. */
int fsm__broken(char *why, size_t why_size, const struct fsm_def *d,
                unsigned state, const char *what);

#endif /* FSM_INT_H */
