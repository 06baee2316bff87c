/* test_fsm_pi.c: the projection pi onto the original design, as a census.
 *
 * Every reachable arm of the publisher machine is projected onto the
 * seed's machine (pi on states and outputs, docs/mealy.md "Projection pi
 * onto the seed") and classified:
 *
 *   seed      a transition of the seed's table (its delta and lambda);
 *   stay      the seed has no transition for (pi(state), input): it
 *             ignores the input and stays, and so does the arm, with no
 *             seed action (pi(output) = "-");
 *   departure anything else: it must be listed, with its reason, in
 *             docs/mealy.md between the markers of "Deliberate departures
 *             from the seed", one table row per (state, input, guard).
 *
 * The list in the document and the census must be the same set: a
 * departure not documented fails, and so does a documented one the
 * tables no longer have. The golden traces are checked the same way: every
 * pub transition a fixture's trace holds is a seed transition, a stay or
 * a listed departure. */
#include <stdio.h>
#include <string.h>

#include "cmocka_inc.h"
#include "fsm.h"
#include "fsm_pub.h"
#include "support/seed_pi.h"

#define DOC "docs/mealy.md"
#define BEGIN "<!-- BEGIN departures -->"
#define END "<!-- END departures -->"

/* The seed's transition table (shared/seed, "Transition Table"): from,
 * input, next, action. Error ignores any other input (its last row). */
static const struct {
    const char *from, *input, *next, *action;
} seed[] = {
    {"Idle", "FETCH_DATA", "FetchingData", "START_FETCH"},
    {"Idle", "CREATE_DYNAMIC_TOPIC", "CreatingTopic", "CREATE_NEW_TOPIC"},
    {"FetchingData", "DATA_READY", "Publishing", "START_PUBLISH"},
    {"FetchingData", "FETCH_FAILURE", "Error", "HANDLE_ERROR"},
    {"Publishing", "PUBLISH_SUCCESS", "Idle", "-"},
    {"Publishing", "PUBLISH_FAILURE", "Error", "HANDLE_ERROR"},
    {"Error", "RESET", "Idle", "RESET_ERROR"},
};

enum verdict { V_SEED, V_STAY, V_DEPART };

static enum verdict classify(unsigned from, unsigned input, unsigned next,
                             unsigned out)
{
    const char *pf = pi_state(from), *pn = pi_state(next), *po = pi_out(out);
    const char *in = pi_input(input);
    size_t k;

    for (k = 0; k < sizeof seed / sizeof seed[0]; k++) {
        if (strcmp(seed[k].from, pf) == 0 && strcmp(seed[k].input, in) == 0) {
            return strcmp(seed[k].next, pn) == 0 &&
                           strcmp(seed[k].action, po) == 0
                       ? V_SEED
                       : V_DEPART;
        }
    }
    /* no seed transition: the seed stays and does nothing */
    return strcmp(pf, pn) == 0 && strcmp(po, "-") == 0 ? V_STAY : V_DEPART;
}

/* The documented departures: "| STATE | INPUT | GUARD | reason |" rows
 * between the markers. */
struct dep {
    char state[32], input[32], guard[16];
    int seen;
};

static size_t read_departures(struct dep *d, size_t cap)
{
    static char text[1 << 20];
    FILE *f = fopen(DOC, "rb");
    size_t n, count = 0;
    char *p, *end;

    assert_non_null(f);
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    p = strstr(text, BEGIN);
    end = strstr(text, END);
    if (p == NULL || end == NULL || end < p) {
        fail_msg("%s: no %s ... %s section", DOC, BEGIN, END);
    }
    while ((p = strstr(p, "\n| `")) != NULL && p < end) {
        assert_true(count < cap);
        if (sscanf(p, "\n| `%31[^`]` | `%31[^`]` | %15s |", d[count].state,
                   d[count].input, d[count].guard) != 3) {
            fail_msg("%s: a departure row that does not parse: %.60s", DOC,
                     p + 1);
        }
        d[count].seen = 0;
        count++;
        p++;
    }
    return count;
}

static struct dep *find_dep(struct dep *d, size_t n, const char *state,
                            const char *input, const char *guard)
{
    size_t k;

    for (k = 0; k < n; k++) {
        if (strcmp(d[k].state, state) == 0 &&
            strcmp(d[k].input, input) == 0 && strcmp(d[k].guard, guard) == 0) {
            return &d[k];
        }
    }
    return NULL;
}

static const char *guard_name(const struct fsm_cell *c, unsigned a)
{
    if (c->narms < 2) {
        return "-";
    }
    return c->arm[a].guard == FSM_G_ALWAYS
               ? "else"
               : pub_def.guard_names[c->arm[a].guard];
}

static void test_pi_census_of_reachable_arms(void **state)
{
    static struct dep d[128];
    size_t nd = read_departures(d, 128), k;
    unsigned s, i, a, n_seed = 0, n_stay = 0, n_dep = 0, missing = 0;

    (void)state;
    for (s = 1; s < PUB_S__COUNT; s++) {
        for (i = 1; i < PUB_I__COUNT; i++) {
            const struct fsm_cell *c = fsm_cell_at(&pub_def, s, i);
            if (c->reach != FSM_R_REACHABLE) {
                continue;
            }
            for (a = 0; a < c->narms; a++) {
                const char *g = guard_name(c, a);
                struct dep *e;
                switch (classify(s, i, c->arm[a].next, c->arm[a].out)) {
                case V_SEED:
                    n_seed++;
                    break;
                case V_STAY:
                    n_stay++;
                    break;
                case V_DEPART:
                    n_dep++;
                    e = find_dep(d, nd, pub_def.state_names[s],
                                 pub_def.input_names[i], g);
                    if (e == NULL) {
                        /* all of them, as rows to document */
                        printf("  undocumented: | `%s` | `%s` | %s | -> "
                               "`%s`/`%s` (pi: %s --%s/%s--> %s) |\n",
                               pub_def.state_names[s],
                               pub_def.input_names[i], g,
                               pub_def.state_names[c->arm[a].next],
                               pub_def.output_names[c->arm[a].out],
                               pi_state(s), pi_input(i),
                               pi_out(c->arm[a].out),
                               pi_state(c->arm[a].next));
                        missing++;
                    } else {
                        e->seen = 1;
                    }
                    break;
                }
            }
        }
    }
    if (missing > 0) {
        fail_msg("%u departures from the seed are not in %s's list (above)",
                 missing, DOC);
    }
    for (k = 0; k < nd; k++) {
        if (!d[k].seen) {
            fail_msg("%s lists (%s, %s, %s) as a departure, but no reachable "
                     "arm departs there", DOC, d[k].state, d[k].input,
                     d[k].guard);
        }
    }
    printf("  pi census: %u reachable arms: %u seed transitions, %u stays, "
           "%u documented departures\n", n_seed + n_stay + n_dep, n_seed,
           n_stay, n_dep);
    assert_true(n_seed >= 7); /* every seed transition is still there */
}

/* Every pub transition of every golden trace projects to a seed
 * transition, a stay or a listed departure. */
static void test_pi_golden_traces(void **state)
{
    static struct dep d[128];
    size_t nd = read_departures(d, 128);
    unsigned lines = 0;
    FILE *ls;
    char path[512];

    (void)state;
    ls = popen("ls fixtures/replay/*/trace.txt", "r");
    assert_non_null(ls);
    while (fgets(path, sizeof path, ls) != NULL) {
        char line[512];
        FILE *f;
        path[strcspn(path, "\n")] = '\0';
        f = fopen(path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof line, f) != NULL) {
            char from[32], rest[128], to[32], in[128], g[32] = "-";
            char out[128];
            unsigned s, i, t, o;
            char *br, *slash;
            if (sscanf(line, "%*s pub %31s --%127s %31s", from, rest, to) !=
                3) {
                continue;
            }
            /* rest: INPUT[guard]/OUTPUT--> */
            slash = strchr(rest, '/');
            assert_non_null(slash);
            *slash = '\0';
            snprintf(out, sizeof out, "%s", slash + 1);
            out[strcspn(out, "-") == 0 ? 1 : strcspn(out, "-")] = '\0';
            if (strncmp(slash + 1, "---", 3) == 0) {
                snprintf(out, sizeof out, "-");
            }
            br = strchr(rest, '[');
            if (br != NULL) {
                *br = '\0';
                snprintf(g, sizeof g, "%.*s", (int)strcspn(br + 1, "]"),
                         br + 1);
            }
            snprintf(in, sizeof in, "%s", rest);
            for (s = 1; s < PUB_S__COUNT &&
                        strcmp(pub_def.state_names[s], from) != 0;
                 s++) {
            }
            for (t = 1; t < PUB_S__COUNT &&
                        strcmp(pub_def.state_names[t], to) != 0;
                 t++) {
            }
            for (i = 1; i < PUB_I__COUNT &&
                        strcmp(pub_def.input_names[i], in) != 0;
                 i++) {
            }
            for (o = 1; o < PUB_O__COUNT &&
                        strcmp(pub_def.output_names[o], out) != 0;
                 o++) {
            }
            if (s == PUB_S__COUNT || t == PUB_S__COUNT ||
                i == PUB_I__COUNT || o == PUB_O__COUNT) {
                fail_msg("%s: a pub line that names no symbol: %s", path,
                         line);
            }
            if (classify(s, i, t, o) == V_DEPART &&
                find_dep(d, nd, from, in, g) == NULL) {
                fail_msg("%s: %s departs from the seed and is not in %s's "
                         "list", path, line, DOC);
            }
            lines++;
        }
        fclose(f);
    }
    pclose(ls);
    printf("  pi over the golden traces: %u pub transitions checked\n",
           lines);
    assert_true(lines > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pi_census_of_reachable_arms),
        cmocka_unit_test(test_pi_golden_traces),
    };
    return cmocka_run_group_tests_name("fsm_pi", tests, NULL, NULL);
}
