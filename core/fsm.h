/* fsm.h: table-driven Mealy machines, the generic part.
 *
 * A machine is A = (Q, Sigma, Lambda, Gamma, delta, lambda, q0, F) given as
 * const data: one cell per (state, input), each holding one to FSM_MAX_ARMS
 * guarded arms (guard, next, output). The first arm whose guard holds is
 * taken; the last arm of a cell is unconditional (guard 0, "-"), so delta
 * and lambda are total. Guards are named predicates over the machine's
 * extended state (counts, flags), visible as a column of the table.
 *
 * Conventions: state, input and output 0 are *_INVALID, so an unfilled cell
 * is detectable (fsm_validate) rather than a silent default. Output 1 of
 * every machine is "-" (the explicit no-op). Guard 0 is "-" (always).
 * Pure: no I/O, no allocation, no clock. */
#ifndef FSM_H
#define FSM_H

#include <stddef.h>
#include <stdint.h>

#define FSM_MAX_ARMS 4
#define FSM_G_ALWAYS 0 /* guard 0: the arm always applies */
#define FSM_O_NONE 1   /* output 1 of every machine: no-op */

/* Reachability label of a cell, as documented in docs/mealy.md and checked
 * by tests/test_fsm_labels.c against an exploration of the environment. */
enum fsm_reach {
    FSM_R_INVALID = 0,
    FSM_R_REACHABLE,
    FSM_R_UNREACHABLE
};

struct fsm_arm {
    uint8_t guard; /* 0 = always, else a guard index of the machine */
    uint8_t next;  /* next state; 0 only in unfilled cells */
    uint8_t out;   /* output symbol; 1 = no-op */
};

struct fsm_cell {
    uint8_t reach; /* enum fsm_reach */
    uint8_t narms;
    struct fsm_arm arm[FSM_MAX_ARMS];
};

/* Description of one machine. All pointers refer to static const data in
 * the machine's module; tests may point `cells` at a mutated copy. */
struct fsm_def {
    const char *name;
    uint8_t machine; /* enum md_machine */
    unsigned nstates, ninputs, nguards, noutputs; /* counts incl. index 0 */
    const char *const *state_names;
    const char *const *input_names;
    const char *const *guard_names;
    const char *const *output_names;
    const struct fsm_cell *cells; /* nstates * ninputs, row-major by state */
    uint8_t q0;
    uint32_t final_mask; /* bit s set: state s is in F */
};

struct md_trace; /* md_types.h */

/* The guard that chose a traced arm, for a trace line: NULL when its
 * cell has one arm (nothing was chosen), the guard's name when the arm
 * is guarded, "else" for the fallback arm of a guarded cell. */
const char *fsm_guard_label(const struct fsm_def *d,
                            const struct md_trace *tr);

/* The cell for (state, input), or NULL if either is out of range. */
const struct fsm_cell *fsm_cell_at(const struct fsm_def *d, unsigned state,
                                   unsigned input);

/* delta and lambda: choose the arm of (state, input) given the set of guards
 * that hold (bit g of `guards` set: guard g holds; bit 0 is ignored).
 * Returns MD_OK and *arm, or MD_E_INVAL for an out-of-range state or input,
 * or MD_E_STATE for an unfilled cell or a cell without an arm that applies.
 * On error *arm is NULL. */
int fsm_select(const struct fsm_def *d, unsigned state, unsigned input,
               uint32_t guards, const struct fsm_arm **arm);

/* Check the table: every (state, input) of valid indices is filled, names
 * are present, each cell ends with an unconditional arm, guards, next
 * states and outputs are in range, labels are set, q0 is valid. Returns
 * MD_OK or MD_E_STATE with the first problem described in why. */
int fsm_validate(const struct fsm_def *d, char *why, size_t why_size);

#endif /* FSM_H */
