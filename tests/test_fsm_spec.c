/* test_fsm_spec.c: every (state, input, guards) case of every machine
 * against the independent specification in support/fsm_spec.c, table
 * validation, and the mutation test: each delta (next) and lambda
 * (output) entry, and each guard, changed in turn must be caught. */
#include <stdio.h>
#include <string.h>

#include "cmocka_inc.h"
#include "core.h"
#include "md_err.h"
#include "support/fsm_spec.h"

struct machine_case {
    const struct fsm_def *def;
    spec_fn spec;
};

static const struct machine_case cases[] = {
    {&conn_def, spec_conn},
    {&rest_def, spec_rest},
    {&pub_def, spec_pub},
};
#define NCASES (sizeof cases / sizeof cases[0])

static void test_fsm_tables_validate(void **state)
{
    unsigned k;
    char why[256];

    (void)state;
    for (k = 0; k < NCASES; k++) {
        int rc = fsm_validate(cases[k].def, why, sizeof why);
        if (rc != MD_OK) {
            fail_msg("%s", why);
        }
    }
}

static void test_fsm_tables_match_spec(void **state)
{
    unsigned k, checked, total = 0;
    char why[256];

    (void)state;
    for (k = 0; k < NCASES; k++) {
        unsigned bad =
            spec_check(cases[k].def, cases[k].spec, why, sizeof why, &checked);
        if (bad != 0) {
            fail_msg("%u disagreement(s); first: %s", bad, why);
        }
        total += checked;
    }
    printf("  exhaustive: %u (state, input, guards) cases agree with the "
           "spec\n",
           total);
}

/* A validator-detected empty cell must be an error, not a default. */
static void test_fsm_empty_cell_is_illegal(void **state)
{
    static struct fsm_cell cells[PUB_S__COUNT * PUB_I__COUNT];
    struct fsm_def d = pub_def;
    const struct fsm_arm *arm;
    char why[256];

    (void)state;
    memcpy(cells, pub_def.cells, sizeof cells);
    cells[PUB_S_ERROR * PUB_I__COUNT + PUB_I_RESET].narms = 0;
    d.cells = cells;
    assert_int_equal(fsm_validate(&d, why, sizeof why), MD_E_STATE);
    assert_non_null(strstr(why, "(ERROR, RESET)"));
    assert_int_equal(fsm_select(&d, PUB_S_ERROR, PUB_I_RESET, 0, &arm),
                     MD_E_STATE);
    assert_null(arm);
    assert_int_equal(fsm_select(&d, 0, PUB_I_RESET, 0, &arm), MD_E_INVAL);
    assert_int_equal(fsm_select(&d, PUB_S__COUNT, 1, 0, &arm), MD_E_INVAL);
}

/* Mutate one arm field of a copy of the table; 1 if the spec caught it. */
static int killed(const struct machine_case *mc, struct fsm_cell *cells,
                  size_t ncells)
{
    struct fsm_def d = *mc->def;
    char why[64];

    d.cells = cells;
    (void)ncells;
    return spec_check(&d, mc->spec, why, sizeof why, NULL) > 0;
}

static void test_fsm_mutation(void **state)
{
    static struct fsm_cell cells[32 * 32];
    unsigned k, total = 0, dead = 0;

    (void)state;
    for (k = 0; k < NCASES; k++) {
        const struct fsm_def *d = cases[k].def;
        size_t ncells = (size_t)d->nstates * d->ninputs, c;
        unsigned mutants = 0, kills = 0;

        assert_true(ncells <= sizeof cells / sizeof cells[0]);
        memcpy(cells, d->cells, ncells * sizeof cells[0]);
        for (c = 0; c < ncells; c++) {
            unsigned a;
            if (c / d->ninputs == 0 || c % d->ninputs == 0) {
                continue; /* row/column 0: INVALID, never used */
            }
            for (a = 0; a < cells[c].narms; a++) {
                struct fsm_arm keep = cells[c].arm[a];
                /* delta: every other next state */
                unsigned v;
                for (v = 1; v < d->nstates; v++) {
                    if (v == keep.next) {
                        continue;
                    }
                    cells[c].arm[a].next = (uint8_t)v;
                    mutants++;
                    kills += (unsigned)killed(&cases[k], cells, ncells);
                    cells[c].arm[a] = keep;
                }
                /* lambda: every other output */
                for (v = 1; v < d->noutputs; v++) {
                    if (v == keep.out) {
                        continue;
                    }
                    cells[c].arm[a].out = (uint8_t)v;
                    mutants++;
                    kills += (unsigned)killed(&cases[k], cells, ncells);
                    cells[c].arm[a] = keep;
                }
                /* guard column: every other guard on conditional arms */
                if (keep.guard != FSM_G_ALWAYS) {
                    for (v = 1; v < d->nguards; v++) {
                        if (v == keep.guard) {
                            continue;
                        }
                        cells[c].arm[a].guard = (uint8_t)v;
                        mutants++;
                        kills += (unsigned)killed(&cases[k], cells, ncells);
                        cells[c].arm[a] = keep;
                    }
                }
            }
        }
        printf("  mutation %s: %u of %u mutants killed\n", d->name, kills,
               mutants);
        total += mutants;
        dead += kills;
    }
    printf("  mutation: %u of %u mutants of delta, lambda and guards "
           "killed\n",
           dead, total);
    assert_int_equal(dead, total);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fsm_tables_validate),
        cmocka_unit_test(test_fsm_tables_match_spec),
        cmocka_unit_test(test_fsm_empty_cell_is_illegal),
        cmocka_unit_test(test_fsm_mutation),
    };
    return cmocka_run_group_tests_name("fsm_spec", tests, NULL, NULL);
}
