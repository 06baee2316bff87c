/* mealy_fmt.h: text forms of the machines' tables: tab-separated lines,
 * Markdown tables (docs/mealy.md) and Graphviz. Shell code: writes FILEs. */
#ifndef MEALY_FMT_H
#define MEALY_FMT_H

#include <stdio.h>

#include "fsm.h"
#include "md_types.h"

/* One line per (state, input, arm):
 *   machine state input guard next output label
 * tab-separated; the first line is a '#' header. */
void mealy_print_table(FILE *f, const struct fsm_def *d, int header);

/* The 8-tuple summary and the full table of one machine in Markdown, as
 * docs/mealy.md holds it between its generated-section markers. */
void mealy_print_markdown(FILE *f, const struct fsm_def *d);

/* A Graphviz digraph of the reachable transitions of one machine. */
void mealy_print_dot(FILE *f, const struct fsm_def *d);

/* The trace line of one transition (no newline):
 *   t_ns machine state --input/output--> next */
void mealy_print_trace(FILE *f, const struct md_action *a);

/* The machine with this name ("conn", "rest", "pub"), or NULL. */
const struct fsm_def *mealy_find(const char *name);

#endif /* MEALY_FMT_H */
