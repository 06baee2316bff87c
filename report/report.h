/* report.h: one self-contained HTML page of a replayed session (ccstream
 * report): the summary and the capture's metadata; over session time,
 * each Mealy machine's state with the inputs that changed it, the
 * connections with how each ended, frames per second by TYPE, silences
 * and heartbeat gaps against the stale threshold, the REST calls with
 * outcome and latency and the rate-limit budget; per series a candlestick
 * chart of the bars (revisions, late-trade revisions, backfills and gaps
 * marked, each candle's full record in its tooltip), with an index of
 * small multiples. Inline SVG and CSS only: nothing is fetched when the
 * page is opened. Shell code (writes a FILE). docs/report.md. */
#ifndef REPORT_REPORT_H
#define REPORT_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collect.h"
#include "replay.h"

struct report_input {
    const char *capture;     /* its name, for the title */
    const char *bars;        /* the replay's bars, JSON lines */
    size_t bars_len;
    const struct rpl_summary *sum;
    const struct rc_session *ses; /* what the observer gathered */
    const struct rpl_opts *opts;  /* the run's options (its injections) */
    int64_t wall0_ns;        /* the session's start, unix ns (0 unknown) */
    const char *const (*meta)[2]; /* the capture's metadata, name/value,
                                     redacted by the caller */
    size_t n_meta;
    const char *series;      /* a filter: only series whose key contains
                                it (NULL: all) */
    unsigned max_series;     /* sections drawn (the rest listed) */
};

/* Write the page to out. MD_OK; MD_E_NOMEM; MD_E_IO (a write failed);
 * MD_E_CORRUPT (a line of bars that is not a bar: nothing written). */
int report_write(FILE *out, const struct report_input *in);

/* A copy of text with credentials blotted out: the values of JSON
 * members whose name holds "key", "token", "secret", "pass", "auth" or
 * "sign" (any case), and URL parameters of those names, become
 * "(redacted)". The last line of defence: captures are redacted when
 * written. NULL when out of memory; free() it. */
char *report_redact(const char *text);

#endif /* REPORT_REPORT_H */
