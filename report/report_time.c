/* report_time.c: the charts over session time, one shared x axis: the
 * machines' states with the inputs that changed them, the connections,
 * the notes; frames per second by TYPE; silences and heartbeat gaps
 * against the stale threshold; REST latency and the rate-limit budget.
 * Reconnect gaps are shaded and injected faults drawn as dashed lines on
 * each. Thinned for display: the collector's buckets, state stretches
 * under a pixel merged, at most one note mark per pixel and kind. */
#include <inttypes.h>
#include <string.h>

#include "core.h"
#include "report_int.h"

#define LANE_H 18

struct axis {
    int64_t span; /* ns */
};

static double xs(const struct axis *a, int64_t t)
{
    return RP_PAD_L + (double)RP_PLOT_W * (double)t / (double)a->span;
}

static void svg_open(FILE *f, const char *cls, int h)
{
    fprintf(f, "<svg class=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" "
               "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">\n",
            cls, RP_W, h, RP_W, h);
}

/* Tick labels under a chart at y: a round step giving at most 8. */
static void ticks(FILE *f, const struct axis *a, int y)
{
    static const int64_t steps_s[] = {1,    2,    5,    10,    15,   30,
                                      60,   120,  300,  600,   900,  1800,
                                      3600, 7200, 10800, 21600, 43200,
                                      86400, 172800, 604800};
    int64_t step = steps_s[sizeof steps_s / sizeof steps_s[0] - 1];
    int64_t t;
    size_t i;

    for (i = 0; i < sizeof steps_s / sizeof steps_s[0]; i++) {
        if (a->span / (steps_s[i] * INT64_C(1000000000)) <= 8) {
            step = steps_s[i];
            break;
        }
    }
    for (t = 0; t <= a->span && t <= INT64_MAX - step * INT64_C(1000000000);
         t += step * INT64_C(1000000000)) {
        char r[32];
        rp_rel(r, sizeof r, t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" "
                   "class=\"grid\"/><text x=\"%.1f\" y=\"%d\" class=\"axis\" "
                   "text-anchor=\"middle\">%s</text>\n",
                xs(a, t), xs(a, t), y - 10, xs(a, t), y, r);
    }
}

/* Reconnect gaps shaded, injected faults dashed, from y0 to y1. */
static void overlays(FILE *f, const struct report_input *in,
                     const struct axis *a, int y0, int y1)
{
    const struct rc_session *s = in->ses;
    size_t i;

    for (i = 0; i < s->n_gap; i++) {
        int64_t to = s->gap[i].to >= 0 ? s->gap[i].to : s->t_end;
        char r0[32], r1[32];
        rp_rel(r0, sizeof r0, s->gap[i].from);
        rp_rel(r1, sizeof r1, to);
        fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                   "class=\"gapband\"><title>no live data from %s to %s%s"
                   "</title></rect>\n",
                xs(a, s->gap[i].from), y0,
                xs(a, to) - xs(a, s->gap[i].from) + 0.5, y1 - y0, r0, r1,
                s->gap[i].to >= 0 ? "" : " (the end)");
    }
    for (i = 0; in->opts != NULL && i < in->opts->n_inject; i++) {
        const struct rpl_inject *j = &in->opts->inject[i];
        char r[32];
        rp_rel(r, sizeof r, j->at_ns);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                   "class=\"inj\"><title>injected: %s at %s</title></line>\n",
                xs(a, j->at_ns), y0, xs(a, j->at_ns), y1,
                rpl_inject_name(j->kind), r);
    }
}

/* One machine's lane: its state over time, stretches narrower than a
 * pixel merged into one "busy" stretch. */
static void lane(FILE *f, const struct rc_session *s, const struct axis *a,
                 int m, int y)
{
    const struct fsm_def *d = core_defs[m];
    int64_t from = 0, busy_from = -1, last;
    uint8_t st = d->q0, in = 0;
    unsigned busy = 0;
    size_t i;

    fprintf(f, "<text x=\"4\" y=\"%d\" class=\"lane\">%s machine</text>\n",
            y + 13, d->name);
    /* a list cut at RC_LIST_MAX: the lanes end with its last change (what
     * came after is counted on the page, not drawn) */
    last = s->n_chg >= RC_LIST_MAX ? s->chg[s->n_chg - 1].t : s->t_end;
    for (i = 0;; i++) {
        bool end = i == s->n_chg;
        int64_t t;
        if (!end && s->chg[i].machine != m) {
            continue;
        }
        t = end ? last : s->chg[i].t;
        if (xs(a, t) - xs(a, from) < 1 && !end) {
            if (busy++ == 0) {
                busy_from = from;
            }
        } else {
            char r0[32], r1[32];
            if (busy > 0) {
                rp_rel(r0, sizeof r0, busy_from);
                rp_rel(r1, sizeof r1, from);
                fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                           "height=\"%d\" class=\"st st-many\"><title>%s: "
                           "%u changes from %s to %s</title></rect>\n",
                        xs(a, busy_from), y + 2,
                        xs(a, from) - xs(a, busy_from) + 0.5, LANE_H - 4,
                        d->name, busy, r0, r1);
                busy = 0;
            }
            rp_rel(r0, sizeof r0, from);
            rp_rel(r1, sizeof r1, t);
            fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                       "height=\"%d\" class=\"st st-%s\"><title>%s %s from "
                       "%s to %s%s%s</title></rect>\n",
                    xs(a, from), y + 2, xs(a, t) - xs(a, from) + 0.2,
                    LANE_H - 4, d->state_names[st], d->name,
                    d->state_names[st], r0, r1, from > 0 ? ", entered on " : "",
                    from > 0 ? d->input_names[in] : "");
        }
        if (end) {
            break;
        }
        st = s->chg[i].to;
        in = s->chg[i].input;
        from = t;
    }
}

static void connections(FILE *f, const struct rc_session *s,
                        const struct axis *a, int y)
{
    size_t i;

    fprintf(f, "<text x=\"4\" y=\"%d\" class=\"lane\">connections</text>\n",
            y + 13);
    for (i = 0; i < s->n_conn; i++) {
        const struct rc_conn *c = &s->conn[i];
        int64_t end = c->t_end >= 0 ? c->t_end : s->t_end;
        int64_t up = c->t_up >= 0 ? c->t_up : end;
        char r0[32], r1[32], r2[32];
        rp_rel(r0, sizeof r0, c->t_open);
        rp_rel(r1, sizeof r1, up);
        rp_rel(r2, sizeof r2, end);
        fprintf(f, "<g class=\"conn\"><title>socket %" PRIu64 ": asked at %s, "
                   "%s%s, ",
                c->sock, r0, c->t_up >= 0 ? "up at " : "never up",
                c->t_up >= 0 ? r1 : "");
        if (c->t_end < 0) {
            fputs("open at the end", f);
        } else if (c->http_status != 0) {
            fprintf(f, "refused at %s with HTTP %d", r2, c->http_status);
        } else {
            fprintf(f, "closed at %s, code %d", r2, c->close_code);
        }
        fprintf(f, ", %" PRIu64 " frames", c->frames);
        if (c->why != NULL) {
            fprintf(f, "; %s", c->why);
        }
        fprintf(f, "</title><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                   "height=\"%d\" class=\"c-open\"/>",
                xs(a, c->t_open), y + 2,
                xs(a, up) - xs(a, c->t_open) + 0.5, LANE_H - 4);
        if (c->t_up >= 0) {
            fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                       "height=\"%d\" class=\"c-up\"/>",
                    xs(a, up), y + 2, xs(a, end) - xs(a, up) + 0.5,
                    LANE_H - 4);
        }
        if (c->t_end >= 0) {
            bool right = xs(a, end) + 24 > RP_W;
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"code\"%s>%d"
                       "</text>",
                    xs(a, end) + (right ? -1 : 1), y + 12,
                    right ? " text-anchor=\"end\"" : "",
                    c->http_status != 0 ? c->http_status : c->close_code);
        }
        fputs("</g>\n", f);
    }
}

static const char *mark_name(int note)
{
    return note == RC_M_STALE ? "STALE (no data, no heartbeat)"
                              : md_note_name(note);
}

static void marks(FILE *f, const struct rc_session *s, const struct axis *a,
                  int y)
{
    double last[MD_N__COUNT + 1];
    size_t i;

    for (i = 0; i <= MD_N__COUNT; i++) {
        last[i] = -10;
    }
    fprintf(f, "<text x=\"4\" y=\"%d\" class=\"lane\">notes</text>\n",
            y + 13);
    for (i = 0; i < s->n_mark; i++) {
        const struct rc_mark *m = &s->mark[i];
        int k = m->note == RC_M_STALE ? MD_N__COUNT : m->note;
        double x = xs(a, m->t);
        char r[32];
        if (k < 0 || k > MD_N__COUNT || x - last[k] < 1) {
            continue; /* one per pixel and kind */
        }
        last[k] = x;
        rp_rel(r, sizeof r, m->t);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                   "class=\"mk mk-%s\"><title>%s at %s",
                x, y + 2, x, y + LANE_H - 2,
                m->note == RC_M_STALE ? "STALE" : md_note_name(m->note),
                mark_name(m->note), r);
        if (m->arg != 0) {
            fprintf(f, " (%" PRIu64 ")", m->arg);
        }
        fputs("</title></line>\n", f);
    }
}

static void machines(FILE *f, const struct report_input *in,
                     const struct axis *a)
{
    int h = LANE_H * 5 + 24, m, k = 0;

    fputs("<h2 id=\"machines\">Machines and connections</h2>\n", f);
    fputs("<p class=\"legend\"><span class=\"k st-STREAMING\">streaming, "
          "publishing, requesting</span><span class=\"k st-CONNECTING\">"
          "connecting, subscribing, fetching, waiting</span><span "
          "class=\"k st-BACKOFF\">backoff, error</span><span class=\"k "
          "st-FAILED\">failed</span><span class=\"k st-CLOSING\">closing, "
          "draining</span><span class=\"k st-IDLE\">idle</span><span "
          "class=\"k st-STOPPED\">stopped</span><span class=\"k st-many\">"
          "many changes</span><span class=\"k gapk\">no live data</span>"
          "<span class=\"k injk\">injected fault</span> Every stretch, "
          "connection and note has its times in a tooltip.</p>\n", f);
    svg_open(f, "timeline", h);
    overlays(f, in, a, 0, LANE_H * 5);
    for (m = 0; m < MD_M__COUNT; m++) {
        if (core_defs[m] != NULL) {
            lane(f, in->ses, a, m, LANE_H * k++);
        }
    }
    connections(f, in->ses, a, LANE_H * k);
    marks(f, in->ses, a, LANE_H * (k + 1));
    ticks(f, a, h - 4);
    fputs("</svg>\n", f);
}

static void frame_rates(FILE *f, const struct report_input *in,
                        const struct axis *a)
{
    const struct rc_session *s = in->ses;
    double max = 0, wsec = (double)s->width / 1e9;
    int h = 200, t;
    unsigned b;

    fprintf(f, "<h2 id=\"frames\">Frames per second by TYPE</h2>\n<p>Each "
               "point: the mean over %.0f s.</p>\n<p class=\"legend\">",
            wsec);
    for (t = 0; t < RC_T__COUNT; t++) {
        for (b = 0; b < s->nb; b++) {
            double r = (double)s->frames[t][b] / wsec;
            max = r > max ? r : max;
        }
        if (s->type_total[t] > 0) {
            fprintf(f, "<span class=\"k ty%d\">%s: %" PRIu64 "</span>", t,
                    rc_type_name(t), s->type_total[t]);
        }
    }
    fputs("</p>\n", f);
    svg_open(f, "rates", h);
    overlays(f, in, a, 0, h - 22);
    max = max > 0 ? max : 1;
    fprintf(f, "<text x=\"%d\" y=\"10\" class=\"axis\" text-anchor=\"end\">"
               "%.4g/s</text><text x=\"%d\" y=\"%d\" class=\"axis\" "
               "text-anchor=\"end\">0</text>\n",
            RP_PAD_L - 4, max, RP_PAD_L - 4, h - 22);
    for (t = 0; t < RC_T__COUNT; t++) {
        if (s->type_total[t] == 0) {
            continue;
        }
        fprintf(f, "<polyline class=\"rate ty%d\" points=\"", t);
        for (b = 0; b < s->nb; b++) {
            double r = (double)s->frames[t][b] / wsec;
            fprintf(f, "%.1f,%.1f ", xs(a, (int64_t)b * s->width),
                    (double)(h - 22) - r / max * (h - 32));
        }
        fprintf(f, "\"><title>TYPE %s</title></polyline>\n",
                rc_type_name(t));
    }
    ticks(f, a, h - 4);
    fputs("</svg>\n", f);
}

static void silences(FILE *f, const struct report_input *in,
                     const struct axis *a)
{
    const struct rc_session *s = in->ses;
    double max = (double)s->stale_ns * 1.15;
    int h = 180, ph = h - 22;
    unsigned b;
    size_t i;

    for (b = 0; b < s->nb; b++) {
        max = (double)s->silence[b] > max ? (double)s->silence[b] : max;
        max = (double)s->hb_gap[b] > max ? (double)s->hb_gap[b] : max;
    }
    max = max > 0 ? max : 1;
    fprintf(f, "<h2 id=\"liveness\">Silences and heartbeat gaps</h2>\n"
               "<p class=\"legend\"><span class=\"k silk\">longest time "
               "without a frame</span><span class=\"k hbk\">longest gap "
               "between heartbeats (TYPE 999)</span><span class=\"k "
               "stalek\">stale threshold %.0f s: the connection is closed "
               "as stale past it</span><span class=\"k probek\">a ping "
               "after %.0f s of silence</span> (per %.0f s)</p>\n",
            (double)s->stale_ns / 1e9, (double)s->probe_ns / 1e9,
            (double)s->width / 1e9);
    svg_open(f, "liveness", h);
    overlays(f, in, a, 0, ph);
#define Y(v) ((double)ph - (double)(v) / max * (ph - 8))
    for (b = 0; b < s->nb; b++) {
        if (s->silence[b] > 0 && s->silence[b] < RC_SILENCE_NS) {
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                       "height=\"%.1f\" class=\"sil\"><title>%.3f s without "
                       "a frame</title></rect>",
                    xs(a, (int64_t)b * s->width), Y(s->silence[b]),
                    xs(a, s->width) - RP_PAD_L + 0.3,
                    (double)ph - Y(s->silence[b]),
                    (double)s->silence[b] / 1e9);
        }
    }
    /* a long silence whole: it grows from its last frame to the next
     * frame or the close */
    for (i = 0; i < s->n_sil; i++) {
        char r0[32], r1[32];
        rp_rel(r0, sizeof r0, s->sil[i].from);
        rp_rel(r1, sizeof r1, s->sil[i].to);
        fprintf(f, "<polygon class=\"sil\" points=\"%.1f,%d %.1f,%.1f "
                   "%.1f,%d\"><title>%.3f s without a frame, %s to %s"
                   "</title></polygon>\n",
                xs(a, s->sil[i].from), ph, xs(a, s->sil[i].to),
                Y(s->sil[i].to - s->sil[i].from), xs(a, s->sil[i].to), ph,
                (double)(s->sil[i].to - s->sil[i].from) / 1e9, r0, r1);
    }
    /* the heartbeat gaps: a dot per bucket that had one */
    for (b = 0; b < s->nb; b++) {
        if (s->hb_gap[b] > 0) {
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" "
                       "class=\"hb\"><title>%.3f s since the heartbeat "
                       "before</title></circle>",
                    xs(a, (int64_t)b * s->width + s->width / 2),
                    Y(s->hb_gap[b]), (double)s->hb_gap[b] / 1e9);
        }
    }
    fprintf(f, "\n<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
               "class=\"stale\"/><line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" "
               "y2=\"%.1f\" class=\"probe\"/><text x=\"%d\" y=\"%.1f\" "
               "class=\"axis\" text-anchor=\"end\">%.0f s</text><text "
               "x=\"%d\" y=\"%d\" class=\"axis\" text-anchor=\"end\">0 s"
               "</text>\n",
            RP_PAD_L, Y(s->stale_ns), RP_W - RP_PAD_R, Y(s->stale_ns),
            RP_PAD_L, Y(s->probe_ns), RP_W - RP_PAD_R, Y(s->probe_ns),
            RP_PAD_L - 4, Y(s->stale_ns) + 4, (double)s->stale_ns / 1e9,
            RP_PAD_L - 4, ph);
    for (i = 0; i < s->n_mark; i++) {
        if (s->mark[i].note == RC_M_STALE) {
            char r[32];
            rp_rel(r, sizeof r, s->mark[i].t);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
                       "class=\"stalemark\"><title>declared stale at %s"
                       "</title></circle>\n",
                    xs(a, s->mark[i].t), Y(s->stale_ns), r);
        }
    }
#undef Y
    ticks(f, a, h - 4);
    fputs("</svg>\n", f);
}

/* Trades' lag: receipt (the session's clock) minus the trade's own time,
 * the mean per bucket as a line, the largest as dots. */
static void lags(FILE *f, const struct report_input *in, const struct axis *a)
{
    const struct rc_session *s = in->ses;
    double lo = 0, hi = 0;
    int h = 150, ph = h - 22;
    unsigned b;
    bool any = false;

    for (b = 0; b < s->nb; b++) {
        double mean, mx;
        if (s->lag_n[b] == 0) {
            continue;
        }
        mean = (double)s->lag_sum_ms[b] / (double)s->lag_n[b];
        mx = (double)s->lag_max[b] / 1e6;
        lo = !any || mean < lo ? mean : lo;
        hi = !any || mx > hi ? mx : hi;
        any = true;
    }
    fputs("<h2 id=\"lag\">Lag to the exchange's timestamps</h2>\n", f);
    if (!any) {
        fputs("<p>No trade with a time (or no session clock).</p>\n", f);
        return;
    }
    lo = lo < 0 ? lo : 0;
    hi = hi > lo ? hi : lo + 1;
    fprintf(f, "<p class=\"legend\"><span class=\"k lagk\">mean</span>"
               "<span class=\"k lagmk\">largest</span> Each trade's receipt "
               "(the session's clock) minus its own time (TS, TSNS), per "
               "%.0f s: the feed's latency plus the clocks' skew.</p>\n",
            (double)s->width / 1e9);
    svg_open(f, "lag", h);
    overlays(f, in, a, 0, ph);
#define Y(v) ((double)ph - ((v) - lo) / (hi - lo) * (ph - 8))
    fprintf(f, "<text x=\"%d\" y=\"10\" class=\"axis\" text-anchor=\"end\">"
               "%.0f ms</text><text x=\"%d\" y=\"%d\" class=\"axis\" "
               "text-anchor=\"end\">%.0f ms</text>\n",
            RP_PAD_L - 4, hi, RP_PAD_L - 4, ph, lo);
    for (b = 0; b < s->nb; b++) {
        if (s->lag_n[b] > 0) {
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.5\" "
                       "class=\"lagmax\"/>",
                    xs(a, (int64_t)b * s->width + s->width / 2),
                    Y((double)s->lag_max[b] / 1e6));
        }
    }
    for (b = 0; b < s->nb; b++) {
        if (s->lag_n[b] == 0) {
            continue;
        }
        if (b == 0 || s->lag_n[b - 1] == 0) {
            fputs("\n<polyline class=\"lagline\" points=\"", f);
        }
        fprintf(f, "%.1f,%.1f ", xs(a, (int64_t)b * s->width + s->width / 2),
                Y((double)s->lag_sum_ms[b] / (double)s->lag_n[b]));
        if (b + 1 == s->nb || s->lag_n[b + 1] == 0) {
            fputs("\"/>", f);
        }
    }
#undef Y
    fputs("\n", f);
    ticks(f, a, h - 4);
    fputs("</svg>\n", f);
}

static const char *outcome_class(const char *o)
{
    if (o == NULL) {
        return "o-open";
    }
    if (strcmp(o, "RESP_OK") == 0) {
        return "o-ok";
    }
    if (strcmp(o, "RESP_RATE_LIMIT") == 0) {
        return "o-rate";
    }
    return "o-fail";
}

static void rest(FILE *f, const struct report_input *in, const struct axis *a)
{
    const struct rc_session *s = in->ses;
    static const char *const wname[] = {"second", "minute", "hour", "day",
                                        "month"};
    int64_t lmax = 1;
    int h = 160, ph = h - 22, p;
    size_t i;
    double lastx = -10;

    fputs("<h2 id=\"rest\">REST calls and the rate-limit budget</h2>\n", f);
    if (s->n_call == 0) {
        fputs("<p>No REST call.</p>\n", f);
        return;
    }
    for (i = 0; i < s->n_call; i++) {
        int64_t l = s->call[i].t_done >= 0
                        ? s->call[i].t_done - s->call[i].t_send : 0;
        lmax = l > lmax ? l : lmax;
    }
    fputs("<p class=\"legend\"><span class=\"k o-ok\">answered with data"
          "</span><span class=\"k o-rate\">rate limited</span><span "
          "class=\"k o-fail\">failed, refused, timed out, cancelled</span>"
          "<span class=\"k o-open\">never answered</span> Latency of each "
          "call, at the time it was sent; the budget (calls left in each "
          "window the server told) below.</p>\n", f);
    svg_open(f, "rest", h);
    overlays(f, in, a, 0, ph);
    fprintf(f, "<text x=\"%d\" y=\"10\" class=\"axis\" text-anchor=\"end\">"
               "%.0f ms</text><text x=\"%d\" y=\"%d\" class=\"axis\" "
               "text-anchor=\"end\">0 ms</text>\n",
            RP_PAD_L - 4, (double)lmax / 1e6, RP_PAD_L - 4, ph);
    for (i = 0; i < s->n_call; i++) {
        const struct rc_call *k = &s->call[i];
        int64_t l = k->t_done >= 0 ? k->t_done - k->t_send : lmax;
        double x = xs(a, k->t_send);
        char r[32];
        if (x - lastx < 0.5 && i + 1 < s->n_call) {
            continue; /* thinned: one per half pixel */
        }
        lastx = x;
        rp_rel(r, sizeof r, k->t_send);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" class=\"call "
                   "%s\"><title>%s ",
                x, (double)ph - (double)l / (double)lmax * (ph - 8),
                outcome_class(k->outcome), r);
        rp_escs(f, k->target);
        fprintf(f, ": %s, %.1f ms</title></circle>\n",
                k->outcome != NULL ? k->outcome : "never answered",
                (double)l / 1e6);
    }
    ticks(f, a, h - 4);
    fputs("</svg>\n", f);
    if (!s->budget_known) {
        fputs("<p>The server told no rate limit in this session (it does in "
              "a rate-limit answer, Type 99); calls are paced by the "
              "configured policy only.</p>\n", f);
        return;
    }
    h = 130;
    ph = h - 22;
    fputs("<p class=\"legend\">", f);
    for (p = 0; p < 5; p++) {
        fprintf(f, "<span class=\"k w%d\">calls left per %s</span>", p,
                wname[p]);
    }
    fputs("</p>\n", f);
    svg_open(f, "budget", h);
    fprintf(f, "<text x=\"%d\" y=\"10\" class=\"axis\" text-anchor=\"end\">"
               "100%%</text><text x=\"%d\" y=\"%d\" class=\"axis\" "
               "text-anchor=\"end\">0%%</text>\n",
            RP_PAD_L - 4, RP_PAD_L - 4, ph);
    for (p = 0; p < 5; p++) {
        double py = -1;
        fprintf(f, "<polyline class=\"budget w%d\" points=\"", p);
        for (i = 0; i < s->n_bud; i++) {
            const struct rc_budget_pt *b = &s->bud[i];
            double y;
            if (b->window != p || b->max <= 0) {
                continue;
            }
            y = (double)ph - (double)b->left / (double)b->max * (ph - 8);
            if (py >= 0) {
                fprintf(f, "%.1f,%.1f ", xs(a, b->t), py);
            }
            fprintf(f, "%.1f,%.1f ", xs(a, b->t), y);
            py = y;
        }
        if (py >= 0) {
            fprintf(f, "%.1f,%.1f", xs(a, s->t_end), py);
        }
        fputs("\"/>\n", f);
    }
    ticks(f, a, h - 4);
    fputs("</svg>\n", f);
}

void rp_session_charts(FILE *f, const struct report_input *in)
{
    struct axis a;

    a.span = in->ses->t_end > 0 ? in->ses->t_end : 1;
    machines(f, in, &a);
    frame_rates(f, in, &a);
    silences(f, in, &a);
    lags(f, in, &a);
    rest(f, in, &a);
}
