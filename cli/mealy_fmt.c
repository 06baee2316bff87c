/* mealy_fmt.c: printing the machines' tables in three forms and the trace
 * line. The text is generated from the const tables in core/, so docs and
 * diagrams cannot drift from the code unnoticed (tests/test_mealy_docs.c). */
#include <inttypes.h>
#include <string.h>

#include "core.h"
#include "mealy_fmt.h"

static const char *label(const struct fsm_cell *c)
{
    return c->reach == FSM_R_REACHABLE ? "reachable" : "unreachable";
}

void mealy_print_table(FILE *f, const struct fsm_def *d, int header)
{
    unsigned s, i, k;

    if (header) {
        fprintf(f, "#machine\tstate\tinput\tguard\tnext\toutput\tlabel\n");
    }
    for (s = 1; s < d->nstates; s++) {
        for (i = 1; i < d->ninputs; i++) {
            const struct fsm_cell *c = fsm_cell_at(d, s, i);
            for (k = 0; k < c->narms; k++) {
                const struct fsm_arm *a = &c->arm[k];
                fprintf(f, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d->name,
                        d->state_names[s], d->input_names[i],
                        d->guard_names[a->guard], d->state_names[a->next],
                        d->output_names[a->out], label(c));
            }
        }
    }
}

static void print_set(FILE *f, const char *const *names, unsigned from,
                      unsigned n)
{
    unsigned i;

    for (i = from; i < n; i++) {
        fprintf(f, "%s`%s`", i == from ? "" : ", ", names[i]);
    }
}

void mealy_print_markdown(FILE *f, const struct fsm_def *d)
{
    unsigned s, i, k, nf = 0;

    fprintf(f, "- Q = {");
    print_set(f, d->state_names, 1, d->nstates);
    fprintf(f, "}\n- Σ = {");
    print_set(f, d->input_names, 1, d->ninputs);
    fprintf(f, "}\n- Λ = {");
    print_set(f, d->output_names, 1, d->noutputs);
    fprintf(f, "}\n- Γ (guards) = {");
    print_set(f, d->guard_names, 1, d->nguards);
    fprintf(f, "}\n- q0 = `%s`\n- F = {", d->state_names[d->q0]);
    for (s = 1; s < d->nstates; s++) {
        if ((d->final_mask >> s) & 1u) {
            fprintf(f, "%s`%s`", nf++ ? ", " : "", d->state_names[s]);
        }
    }
    fprintf(f, "}\n\n");
    fprintf(f, "| state | input | guard | next | output | label |\n");
    fprintf(f, "|---|---|---|---|---|---|\n");
    for (s = 1; s < d->nstates; s++) {
        for (i = 1; i < d->ninputs; i++) {
            const struct fsm_cell *c = fsm_cell_at(d, s, i);
            for (k = 0; k < c->narms; k++) {
                const struct fsm_arm *a = &c->arm[k];
                fprintf(f, "| %s | %s | %s | %s | %s | %s |\n",
                        d->state_names[s], d->input_names[i],
                        d->guard_names[a->guard], d->state_names[a->next],
                        d->output_names[a->out], label(c));
            }
        }
    }
}

/* The guard of arm k of c as a diagram shows it: "" for a cell of one
 * arm, "[name]" for a guarded arm, "[else]" for the fallback. */
static const char *dot_guard(const struct fsm_def *d,
                             const struct fsm_cell *c, unsigned k,
                             char *buf, size_t cap)
{
    if (c->narms < 2) {
        return "";
    }
    snprintf(buf, cap, "[%s]", c->arm[k].guard == FSM_G_ALWAYS
                                   ? "else"
                                   : d->guard_names[c->arm[k].guard]);
    return buf;
}

/* Graphviz, readable on a laptop screen: each edge is labelled with the
 * short ids of the transitions that take it (t1, t2, ...), and a legend
 * beside the graph lists them: "t1  INPUT[guard] / OUTPUT". Self-loops
 * that do nothing are left out. */
void mealy_print_dot(FILE *f, const struct fsm_def *d)
{
    unsigned s, t, i, k, id = 0;
    char g[40];

    fprintf(f, "digraph %s {\n", d->name);
    fprintf(f, "  rankdir=LR;\n  node [shape=circle, fontname=\"Helvetica\"];\n");
    fprintf(f, "  edge [fontname=\"Helvetica\", fontsize=10];\n");
    fprintf(f, "  __start [shape=point];\n  __start -> %s;\n",
            d->state_names[d->q0]);
    for (s = 1; s < d->nstates; s++) {
        if ((d->final_mask >> s) & 1u) {
            fprintf(f, "  %s [shape=doublecircle];\n", d->state_names[s]);
        }
    }
    /* one edge per (from, to) pair, labelled with its transitions' ids */
    for (s = 1; s < d->nstates; s++) {
        for (t = 1; t < d->nstates; t++) {
            int first = 1;
            for (i = 1; i < d->ninputs; i++) {
                const struct fsm_cell *c = fsm_cell_at(d, s, i);
                if (c->reach != FSM_R_REACHABLE) {
                    continue;
                }
                for (k = 0; k < c->narms; k++) {
                    const struct fsm_arm *a = &c->arm[k];
                    if (a->next != t || (s == t && a->out == FSM_O_NONE)) {
                        continue;
                    }
                    if (first) {
                        fprintf(f, "  %s -> %s [label=\"t%u",
                                d->state_names[s], d->state_names[t], ++id);
                    } else {
                        fprintf(f, ",t%u", ++id);
                    }
                    first = 0;
                }
            }
            if (!first) {
                fprintf(f, "\"];\n");
            }
        }
    }
    /* the legend, in the same order */
    fprintf(f, "  legend [shape=plaintext, fontname=\"Helvetica\", "
               "fontsize=10, label=<<TABLE BORDER=\"0\" CELLBORDER=\"0\" "
               "CELLSPACING=\"0\">\n");
    id = 0;
    for (s = 1; s < d->nstates; s++) {
        for (t = 1; t < d->nstates; t++) {
            for (i = 1; i < d->ninputs; i++) {
                const struct fsm_cell *c = fsm_cell_at(d, s, i);
                if (c->reach != FSM_R_REACHABLE) {
                    continue;
                }
                for (k = 0; k < c->narms; k++) {
                    const struct fsm_arm *a = &c->arm[k];
                    if (a->next != t || (s == t && a->out == FSM_O_NONE)) {
                        continue;
                    }
                    fprintf(f, "    <TR><TD ALIGN=\"LEFT\">t%u</TD>"
                               "<TD ALIGN=\"LEFT\">%s %s%s / %s</TD></TR>\n",
                            ++id, d->state_names[s], d->input_names[i],
                            dot_guard(d, c, k, g, sizeof g),
                            d->output_names[a->out]);
                }
            }
        }
    }
    fprintf(f, "  </TABLE>>];\n}\n");
}

void mealy_print_trace(FILE *f, const struct md_action *a)
{
    const struct fsm_def *d =
        a->tr.machine < MD_M__COUNT ? core_defs[a->tr.machine] : NULL;

    if (d == NULL) {
        fprintf(f, "%" PRId64 " ? ? --?/?--> ?", a->t_ns);
        return;
    }
    {
        const char *g = fsm_guard_label(d, &a->tr);
        fprintf(f, "%" PRId64 " %s %s --%s%s%s%s/%s--> %s", a->t_ns, d->name,
                d->state_names[a->tr.from], d->input_names[a->tr.input],
                g != NULL ? "[" : "", g != NULL ? g : "", g != NULL ? "]" : "",
                d->output_names[a->tr.output], d->state_names[a->tr.to]);
    }
}

const struct fsm_def *mealy_find(const char *name)
{
    unsigned m;

    for (m = 1; m < MD_M__COUNT; m++) {
        if (strcmp(core_defs[m]->name, name) == 0) {
            return core_defs[m];
        }
    }
    return NULL;
}
