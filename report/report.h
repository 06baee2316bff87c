/* report.h: one self-contained HTML page of a replayed session (ccstream
 * report): per series a candlestick chart of the bars (revisions,
 * backfills and partial bars marked, each candle's full record in its
 * tooltip), a timeline of each Mealy machine's state from the trace, and
 * the replay's summary. Inline SVG and CSS only: nothing is fetched when
 * the page is opened. Shell code (writes a FILE). */
#ifndef REPORT_REPORT_H
#define REPORT_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "replay.h"

struct report_input {
    const char *capture;     /* its name, for the title */
    const char *bars;        /* the replay's bars, JSON lines */
    size_t bars_len;
    const char *trace;       /* its trace lines */
    size_t trace_len;
    const struct rpl_summary *sum;
    const char *series;      /* a filter: only series whose key contains
                                it (NULL: all) */
    unsigned max_series;     /* sections drawn (the rest listed) */
};

/* Write the page to out. MD_OK; MD_E_NOMEM; MD_E_IO (a write failed);
 * MD_E_CORRUPT (a line of bars that is not a bar: nothing written). */
int report_write(FILE *out, const struct report_input *in);

#endif /* REPORT_REPORT_H */
