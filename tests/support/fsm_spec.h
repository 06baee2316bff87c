/* fsm_spec.h: the machines' behaviour written a second time, as code and
 * independently of the const tables in core/, so that a test can compare
 * the two cell by cell (tests/test_fsm_spec.c) and every mutation of a
 * table entry is caught (the mutation test in the same file). */
#ifndef FSM_SPEC_H
#define FSM_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "fsm.h"

/* Expected (next, output) of a machine for (state, input) when exactly the
 * guards in `guards` hold. */
typedef void (*spec_fn)(unsigned state, unsigned input, uint32_t guards,
                        unsigned *next, unsigned *out);

void spec_conn(unsigned s, unsigned i, uint32_t g, unsigned *next,
               unsigned *out);
void spec_rest(unsigned s, unsigned i, uint32_t g, unsigned *next,
               unsigned *out);
void spec_pub(unsigned s, unsigned i, uint32_t g, unsigned *next,
              unsigned *out);

/* Compare table d with spec for every state, input and guard combination.
 * Returns the number of disagreements; the first is described in why.
 * *checked receives the number of (state, input, guards) cases compared. */
unsigned spec_check(const struct fsm_def *d, spec_fn spec, char *why,
                    size_t why_size, unsigned *checked);

#endif /* FSM_SPEC_H */
