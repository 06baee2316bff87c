/* report_int.h: shared by the report's modules (report.c: the page and
 * its tables; report_time.c: charts over session time; report_bars.c:
 * the candlesticks). */
#ifndef REPORT_INT_H
#define REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bar.h"
#include "report.h"

#define RP_W 960      /* a chart's width on a laptop screen */
#define RP_PAD_L 110  /* room for a lane's name */
#define RP_PAD_R 10
#define RP_PLOT_W (RP_W - RP_PAD_L - RP_PAD_R)

struct rpt_series {
    char key[128];
    struct bar *bars;
    size_t n, cap;
};

/* Text for HTML and SVG: & < > " escaped. */
void rp_esc(FILE *f, const char *s, size_t n);
static inline void rp_escs(FILE *f, const char *s)
{
    rp_esc(f, s, s != NULL ? strlen(s) : 0);
}

/* Unix ms as "2025-07-22 13:19:55" (UTC). */
void rp_utc(char *buf, size_t cap, int64_t ms);
/* Session ns as "+1:02:03.4". */
void rp_rel(char *buf, size_t cap, int64_t ns);

/* Session time charts (report_time.c). */
void rp_session_charts(FILE *f, const struct report_input *in);

/* One series' candlesticks (report_bars.c); its bars sorted by start and
 * revision. */
void rp_candles(FILE *f, const struct rpt_series *s);
/* A series' closes as a small line, for the index. */
void rp_spark(FILE *f, const struct rpt_series *s, size_t idx, bool drawn);

#endif /* REPORT_INT_H */
