/* report.c: the session report page. See report.h and docs/report.md. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bar.h"
#include "bar_codec.h"
#include "bar_num.h"
#include "md_err.h"
#include "report.h"

#define CHART_W 960
#define CHART_H 220
#define VOL_H 50
#define PAD_L 70
#define PAD_R 10
#define LANE_H 18

struct series {
    char key[128];
    struct bar *bars;
    size_t n, cap;
};

/* Text for HTML and SVG: & < > " escaped. */
static void esc(FILE *f, const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(s[i], f);
        }
    }
}

static struct series *series_of(struct series **v, size_t *n, size_t *cap,
                                const char *key)
{
    size_t i;

    for (i = 0; i < *n; i++) {
        if (strcmp((*v)[i].key, key) == 0) {
            return &(*v)[i];
        }
    }
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        struct series *nv = realloc(*v, c * sizeof *nv);
        if (nv == NULL) {
            return NULL;
        }
        *v = nv;
        *cap = c;
    }
    memset(&(*v)[*n], 0, sizeof **v);
    snprintf((*v)[*n].key, sizeof (*v)[*n].key, "%s", key);
    return &(*v)[(*n)++];
}

static int add_bar(struct series *s, const struct bar *b)
{
    if (s->n == s->cap) {
        size_t c = s->cap ? s->cap * 2 : 64;
        struct bar *nb = realloc(s->bars, c * sizeof *nb);
        if (nb == NULL) {
            return MD_E_NOMEM;
        }
        s->bars = nb;
        s->cap = c;
    }
    s->bars[s->n++] = *b;
    return MD_OK;
}

static void utc(char *buf, size_t cap, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M", &tm);
}

/* One series: candles (the latest revision of each bar drawn, every
 * revision marked), volume below, the record in each candle's title. */
static void chart(FILE *f, const struct series *s)
{
    double lo = 0, hi = 0, vmax = 0;
    int64_t t0 = 0, t1 = 0, span;
    size_t i;
    bool any = false;
    double w;

    for (i = 0; i < s->n; i++) {
        const struct bar *b = &s->bars[i];
        double v = bar_scaled_to_double(b->volume, BAR_VOL_DIGITS);
        if (!(b->has & BAR_HAS_OHLC)) {
            continue;
        }
        if (!any || b->low < lo) {
            lo = b->low;
        }
        if (!any || b->high > hi) {
            hi = b->high;
        }
        if (!any || b->start_ms < t0) {
            t0 = b->start_ms;
        }
        if (!any || b->end_ms > t1) {
            t1 = b->end_ms;
        }
        vmax = v > vmax ? v : vmax;
        any = true;
    }
    if (!any) {
        fputs("<p>no bar with prices</p>\n", f);
        return;
    }
    if (hi <= lo) {
        hi = lo + 1;
    }
    span = t1 > t0 ? t1 - t0 : 1;
    w = (double)(CHART_W - PAD_L - PAD_R) * (double)s->bars[0].interval_s *
        1000.0 / (double)span * 0.7;
    if (w < 1) {
        w = 1;
    }
    fprintf(f, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
               "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">\n",
            CHART_W, CHART_H + VOL_H + 20, CHART_W, CHART_H + VOL_H + 20);
    fprintf(f, "<text x=\"2\" y=\"12\" class=\"axis\">%.6g</text>"
               "<text x=\"2\" y=\"%d\" class=\"axis\">%.6g</text>\n",
            hi, CHART_H, lo);
    {
        char a[32], b[32];
        utc(a, sizeof a, t0);
        utc(b, sizeof b, t1);
        fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"axis\">%s</text>"
                   "<text x=\"%d\" y=\"%d\" class=\"axis\" "
                   "text-anchor=\"end\">%s UTC</text>\n",
                PAD_L, CHART_H + VOL_H + 16, a, CHART_W - PAD_R,
                CHART_H + VOL_H + 16, b);
    }
    for (i = 0; i < s->n; i++) {
        const struct bar *b = &s->bars[i];
        double x, yo, yc, yh, yl, v, vh;
        char json[2048];
        size_t jl = 0;
        bool latest = true;
        size_t j;
        if (!(b->has & BAR_HAS_OHLC)) {
            continue;
        }
        for (j = i + 1; j < s->n; j++) {
            if (s->bars[j].start_ms == b->start_ms) {
                latest = false; /* a later revision is drawn instead */
                break;
            }
        }
        x = PAD_L + (double)(CHART_W - PAD_L - PAD_R) *
                        (double)(b->start_ms - t0) / (double)span;
        yh = (hi - b->high) / (hi - lo) * (CHART_H - 10) + 5;
        yl = (hi - b->low) / (hi - lo) * (CHART_H - 10) + 5;
        yo = (hi - b->open) / (hi - lo) * (CHART_H - 10) + 5;
        yc = (hi - b->close) / (hi - lo) * (CHART_H - 10) + 5;
        v = bar_scaled_to_double(b->volume, BAR_VOL_DIGITS);
        vh = vmax > 0 ? v / vmax * (VOL_H - 4) : 0;
        if (bar_to_json(b, json, sizeof json, &jl) != MD_OK) {
            jl = 0;
        }
        fprintf(f, "<g class=\"bar%s%s%s\" data-start=\"%" PRId64
                   "\" data-rev=\"%" PRIu32 "\"><title>",
                latest ? "" : " superseded",
                b->source == BAR_SRC_REST ? " rest" : "",
                (b->flags & BAR_F_BACKFILLED) ? " backfill" : "",
                b->start_ms, b->revision);
        esc(f, json, jl);
        fputs("</title>", f);
        if (latest) {
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                       "y2=\"%.1f\" class=\"wick\"/>"
                       "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                       "height=\"%.1f\" class=\"%s\"/>"
                       "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                       "height=\"%.1f\" class=\"vol\"/>",
                    x + w / 2, yh, x + w / 2, yl, x,
                    yo < yc ? yo : yc, w,
                    (yo < yc ? yc - yo : yo - yc) + 0.5,
                    b->close >= b->open ? "up" : "down", x,
                    CHART_H + VOL_H - vh, w, vh);
        }
        if (b->revision > 0) {
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                       "class=\"rev\"/>", x + w / 2, yh - 5);
        }
        if (b->flags & BAR_F_BACKFILLED) {
            fprintf(f, "<rect x=\"%.1f\" y=\"1\" width=\"%.1f\" "
                       "height=\"3\" class=\"bf\"/>", x, w);
        }
        fputs("</g>\n", f);
    }
    fputs("</svg>\n", f);
}

/* The machines' states over the session, from the trace lines
 * "T MACHINE FROM --INPUT[guard]/OUTPUT--> TO". */
static void timeline(FILE *f, const char *trace, size_t len)
{
    static const char *const machines[] = {"conn", "rest", "pub"};
    int64_t tmax = 1;
    const char *p, *end = trace + len;
    size_t m;

    for (p = trace; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        int64_t t = strtoll(p, NULL, 10);
        tmax = t > tmax ? t : tmax;
        p = nl ? nl + 1 : end;
    }
    fprintf(f, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" "
               "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">\n",
            CHART_W, LANE_H * 3 + 4, CHART_W, LANE_H * 3 + 4);
    for (m = 0; m < 3; m++) {
        int64_t from = 0;
        char state[40] = "IDLE";
        size_t ml = strlen(machines[m]);
        fprintf(f, "<text x=\"2\" y=\"%zu\" class=\"axis\">%s</text>\n",
                m * LANE_H + 13, machines[m]);
        for (p = trace;; ) {
            const char *nl = p < end ? memchr(p, '\n', (size_t)(end - p))
                                     : NULL;
            const char *le = nl ? nl : end;
            const char *sp = p < end ? memchr(p, ' ', (size_t)(le - p))
                                     : NULL;
            int64_t t = tmax;
            char to[40] = "";
            bool mine = false;
            if (p < end && sp != NULL &&
                (size_t)(le - sp - 1) > ml &&
                memcmp(sp + 1, machines[m], ml) == 0 && sp[1 + ml] == ' ') {
                const char *arrow = NULL, *q;
                for (q = sp; q + 3 < le; q++) {
                    if (q[0] == '-' && q[1] == '-' && q[2] == '>' &&
                        q[3] == ' ') {
                        arrow = q + 4;
                    }
                }
                if (arrow != NULL && (size_t)(le - arrow) < sizeof to) {
                    memcpy(to, arrow, (size_t)(le - arrow));
                    to[le - arrow] = '\0';
                    t = strtoll(p, NULL, 10);
                    mine = strcmp(to, state) != 0;
                }
            }
            if (mine || p >= end) {
                double x0 = PAD_L + (double)(CHART_W - PAD_L - PAD_R) *
                                        (double)from / (double)tmax;
                double x1 = PAD_L + (double)(CHART_W - PAD_L - PAD_R) *
                                        (double)t / (double)tmax;
                fprintf(f, "<rect x=\"%.1f\" y=\"%zu\" width=\"%.1f\" "
                           "height=\"%d\" class=\"st st-%s\"><title>%s "
                           "%s %.3f s to %.3f s</title></rect>\n",
                        x0, m * LANE_H + 2, x1 - x0 > 0.2 ? x1 - x0 : 0.2,
                        LANE_H - 4, state, machines[m], state,
                        (double)from / 1e9, (double)t / 1e9);
                if (p >= end) {
                    break;
                }
                snprintf(state, sizeof state, "%s", to);
                from = t;
            }
            p = nl ? nl + 1 : end;
        }
    }
    fputs("</svg>\n", f);
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#222}"
    "h1{font-size:20px}h2{font-size:16px;margin-top:24px}"
    "table{border-collapse:collapse}td,th{padding:2px 8px;text-align:right;"
    "border-bottom:1px solid #ddd}th{text-align:left}"
    ".axis{font:10px sans-serif;fill:#666}.wick{stroke:#555}"
    ".up{fill:#2a9d4b}.down{fill:#d64541}.vol{fill:#9ab}"
    ".rev{fill:#f0a020}.bf{fill:#6a5acd}.superseded{opacity:.9}"
    ".st{fill:#ddd}.st-STREAMING,.st-PUBLISHING,.st-REQUESTING"
    "{fill:#7bc67b}.st-CONNECTING,.st-WAIT_WELCOME,.st-SUBSCRIBING,"
    ".st-FETCHING,.st-CREATING_TOPIC,.st-WAITING{fill:#f3c969}"
    ".st-BACKOFF,.st-ERROR{fill:#e57373}.st-FAILED{fill:#b71c1c}"
    ".st-CLOSING,.st-DRAINING{fill:#9fa8da}.st-STOPPED{fill:#999}"
    ".legend span{display:inline-block;padding:0 6px;margin-right:4px;"
    "font-size:12px}"
    "@media print{svg{max-width:100%}}";

int report_write(FILE *f, const struct report_input *in)
{
    struct series *v = NULL;
    size_t nv = 0, cap = 0, i, drawn = 0;
    const char *p = in->bars, *end = in->bars + in->bars_len;
    int rc = MD_OK;

    while (p < end && rc == MD_OK) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct bar b;
        char key[128];
        size_t kl;
        if (l == 0) {
            /* the end */
        } else if (bar_from_json(p, l, &b, NULL) != MD_OK ||
                   bar_key(&b, key, sizeof key, &kl) != MD_OK) {
            rc = MD_E_CORRUPT; /* replay wrote it: never dropped quietly */
        } else if (in->series == NULL || strstr(key, in->series) != NULL) {
            struct series *s = series_of(&v, &nv, &cap, key);
            rc = s == NULL ? MD_E_NOMEM : add_bar(s, &b);
        }
        p = nl ? nl + 1 : end;
    }
    if (rc == MD_OK) {
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
              "charset=\"utf-8\"><title>ccstream report: ", f);
        esc(f, in->capture, strlen(in->capture));
        fprintf(f, "</title><style>%s</style></head><body>\n<h1>", css);
        esc(f, in->capture, strlen(in->capture));
        fprintf(f, "</h1>\n<table class=\"summary\">"
                   "<tr><th>events</th><td>%" PRIu64 "</td></tr>"
                   "<tr><th>frames</th><td>%" PRIu64 "</td></tr>"
                   "<tr><th>bars</th><td>%" PRIu64 "</td></tr>"
                   "<tr><th>revisions</th><td>%" PRIu64 "</td></tr>"
                   "<tr><th>bars from REST</th><td>%" PRIu64 "</td></tr>"
                   "<tr><th>duplicate trades</th><td>%" PRIu64 "</td></tr>"
                   "<tr><th>late trades (revised / too late)</th><td>%"
                   PRIu64 " / %" PRIu64 "</td></tr>"
                   "<tr><th>malformed frames</th><td>%" PRIu64 "</td></tr>"
                   "<tr><th>virtual time</th><td>%.1f s</td></tr>"
                   "</table>\n",
                in->sum->events, in->sum->frames, in->sum->bars,
                in->sum->revisions, in->sum->rest_bars, in->sum->duplicates,
                in->sum->late_revisions, in->sum->late_dropped,
                in->sum->malformed, (double)in->sum->span_ns / 1e9);
        fputs("<h2>Machines</h2>\n<p class=\"legend\">"
              "<span style=\"background:#7bc67b\">streaming, publishing, "
              "requesting</span><span style=\"background:#f3c969\">"
              "connecting, subscribing, fetching, waiting</span>"
              "<span style=\"background:#e57373\">backoff, error</span>"
              "<span style=\"background:#b71c1c;color:#fff\">failed</span>"
              "<span style=\"background:#9fa8da\">closing, draining</span>"
              "<span style=\"background:#ddd\">idle</span>"
              "<span style=\"background:#999\">stopped</span> (each "
              "stretch's state and times in its tooltip)</p>\n", f);
        timeline(f, in->trace, in->trace_len);
        fputs("<h2>Series</h2>\n<ul>", f);
        for (i = 0; i < nv; i++) {
            fprintf(f, "<li><a href=\"#s%zu\">", i);
            esc(f, v[i].key, strlen(v[i].key));
            fprintf(f, "</a> (%zu bars)</li>", v[i].n);
        }
        fputs("</ul>\n", f);
        for (i = 0; i < nv; i++) {
            if (in->max_series > 0 && drawn == in->max_series) {
                fprintf(f, "<p>%zu more series not drawn: ask for one with "
                           "--series.</p>\n", nv - i);
                break;
            }
            fprintf(f, "<h2 id=\"s%zu\">", i);
            esc(f, v[i].key, strlen(v[i].key));
            fputs("</h2>\n", f);
            chart(f, &v[i]);
            drawn++;
        }
        fputs("</body></html>\n", f);
        if (ferror(f)) {
            rc = MD_E_IO;
        }
    }
    for (i = 0; i < nv; i++) {
        free(v[i].bars);
    }
    free(v);
    return rc;
}
