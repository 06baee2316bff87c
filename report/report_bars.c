/* report_bars.c: a series' candlesticks and its small multiple in the
 * index. Every bar of the replay is drawn or marked: never thinned. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bar_codec.h"
#include "bar_num.h"
#include "report_int.h"

#define PRICE_H 220
#define VOL_H 50
#define AXIS_H 18
#define TOP 26 /* room for revision dots above the highest wick */

/* "13:24:00.107" (UTC) of unix ns; nanoseconds when not whole ms. */
static void clock_ns(char *buf, size_t cap, int64_t ns)
{
    time_t t = (time_t)(ns / 1000000000);
    int64_t frac = ns % 1000000000;
    struct tm tm;
    size_t n;

    if (frac < 0) {
        frac += 1000000000;
        t--;
    }
    gmtime_r(&t, &tm);
    n = strftime(buf, cap, "%H:%M:%S", &tm);
    if (frac % 1000000 == 0) {
        snprintf(buf + n, cap - n, ".%03d", (int)(frac / 1000000));
    } else {
        snprintf(buf + n, cap - n, ".%09" PRId64, frac);
    }
}

/* The bar's record as lines a person reads: every field but the series'
 * identity (the section's heading). */
static void record_text(FILE *f, const struct bar *b)
{
    char a[48], z[48], x[32];
    unsigned k;
    static const char *const flag[] = {"partial_start", "spans_disconnect",
                                       "synthetic", "backfilled",
                                       "ohlc_outside"};

    rp_utc(a, sizeof a, b->start_ms);
    rp_utc(z, sizeof z, b->end_ms);
    fprintf(f, "%s to %s UTC\nrevision %" PRIu32 ", closed by %s, source %s",
            a, z + 11, b->revision, bar_close_name(b->close_reason),
            bar_source_name(b->source));
    fputs(", flags", f);
    if (b->flags == 0) {
        fputs(" none", f);
    }
    for (k = 0; k < sizeof flag / sizeof flag[0]; k++) {
        if (b->flags & (1u << k)) {
            fprintf(f, " %s", flag[k]);
        }
    }
    if (b->has & BAR_HAS_OHLC) {
        bar_fmt_double(b->open, x);
        fprintf(f, "\nopen %s", x);
        bar_fmt_double(b->high, x);
        fprintf(f, " high %s", x);
        bar_fmt_double(b->low, x);
        fprintf(f, " low %s", x);
        bar_fmt_double(b->close, x);
        fprintf(f, " close %s", x);
    } else {
        fputs("\nno trade", f);
    }
    if (b->has & BAR_HAS_VOLUME) {
        char v[64];
        bar_scaled_to_text(b->volume, BAR_VOL_DIGITS, v, sizeof v);
        fprintf(f, "\nvolume %s", v);
        bar_scaled_to_text(b->quote_volume, BAR_NOTIONAL_DIGITS, v, sizeof v);
        fprintf(f, " quote volume %s", v);
    }
    if (b->has & BAR_HAS_BUYSELL) {
        char v[64];
        bar_scaled_to_text(b->buy_volume, BAR_VOL_DIGITS, v, sizeof v);
        fprintf(f, "\nbuy %s", v);
        bar_scaled_to_text(b->sell_volume, BAR_VOL_DIGITS, v, sizeof v);
        fprintf(f, " sell %s", v);
    }
    if (b->has & BAR_HAS_TRADES) {
        fprintf(f, "\ntrades %" PRIu64, b->trades);
    }
    if (b->has & BAR_HAS_VWAP) {
        bar_fmt_double(b->vwap, x);
        fprintf(f, " vwap %s", x);
    }
    if (b->has & BAR_HAS_FIRSTLAST) {
        clock_ns(a, sizeof a, b->first_ns);
        clock_ns(z, sizeof z, b->last_ns);
        fputs("\nfirst ", f);
        rp_escs(f, b->first_id);
        fprintf(f, " at %s, last ", a);
        rp_escs(f, b->last_id);
        fprintf(f, " at %s", z);
    }
}

void rp_candles(FILE *f, const struct rpt_series *s)
{
    double lo = 0, hi = 0, vmax = 0, px, cw;
    int64_t t0, t1, iv_ms;
    size_t i, slots;
    int w, last_label = -1000;
    bool any = false;

    if (s->n == 0) {
        return;
    }
    iv_ms = s->bars[0].interval_s * 1000;
    t0 = s->bars[0].start_ms;
    t1 = s->bars[s->n - 1].start_ms + iv_ms;
    for (i = 0; i < s->n; i++) {
        const struct bar *b = &s->bars[i];
        double v = bar_scaled_to_double(b->volume, BAR_VOL_DIGITS);
        if (!(b->has & BAR_HAS_OHLC)) {
            continue;
        }
        lo = !any || b->low < lo ? b->low : lo;
        hi = !any || b->high > hi ? b->high : hi;
        vmax = v > vmax ? v : vmax;
        any = true;
    }
    if (!any) {
        fputs("<p>no bar with trades</p>\n", f);
        return;
    }
    if (hi <= lo) {
        hi = lo + 1;
    }
    /* one slot per interval; at least 5 px each (the chart scrolls), at
     * most 40 */
    slots = (size_t)((t1 - t0) / (iv_ms > 0 ? iv_ms : 1));
    slots = slots ? slots : 1;
    px = (double)RP_PLOT_W / (double)slots;
    px = px < 5 ? 5 : px > 40 ? 40 : px;
    cw = px * 0.7;
    w = RP_PAD_L + (int)(px * (double)slots + 0.5) + RP_PAD_R;
    fprintf(f, "<div class=\"scroll\"><svg class=\"chart\" "
               "xmlns=\"http://www.w3.org/2000/svg\" data-key=\"");
    rp_escs(f, s->key);
    fprintf(f, "\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">\n", w,
            TOP + PRICE_H + VOL_H + AXIS_H, w, TOP + PRICE_H + VOL_H + AXIS_H);
    {
        fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"axis\" "
                   "text-anchor=\"end\">%.8g</text><text x=\"%d\" y=\"%d\" "
                   "class=\"axis\" text-anchor=\"end\">%.8g</text><text "
                   "x=\"%d\" y=\"%d\" class=\"axis\" text-anchor=\"end\">%.8g"
                   "</text><text x=\"%d\" y=\"%d\" class=\"axis\" "
                   "text-anchor=\"end\">volume</text>\n",
                RP_PAD_L - 4, TOP + 9, hi, RP_PAD_L - 4,
                TOP + PRICE_H / 2 + 4, (hi + lo) / 2, RP_PAD_L - 4,
                TOP + PRICE_H, lo,
                RP_PAD_L - 4, TOP + PRICE_H + VOL_H - 4);
    }
#define X(ms) (RP_PAD_L + px * (double)((ms) - t0) / (double)iv_ms)
#define Y(p) (TOP + (hi - (p)) / (hi - lo) * (PRICE_H - 10) + 5)
    for (i = 0; i < s->n; i++) {
        const struct bar *b = &s->bars[i];
        bool latest = i + 1 == s->n || s->bars[i + 1].start_ms != b->start_ms;
        bool late = b->revision > 0 && !(b->flags & BAR_F_BACKFILLED) &&
                    b->close_reason == BAR_CLOSE_REVISION;
        double x = X(b->start_ms), yh, yl, yo, yc, v, vh;
        int lx = (int)x;
        if (latest && i > 0 && s->bars[i - 1].start_ms + iv_ms <
                                   b->start_ms) {
            /* a stretch without a bar (no trade, or not yet backfilled) */
            int64_t from = s->bars[i - 1].start_ms + iv_ms;
            char a[32], z[32];
            rp_utc(a, sizeof a, from);
            rp_utc(z, sizeof z, b->start_ms);
            fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                       "height=\"%d\" class=\"nobar\"><title>no bar from %s "
                       "to %s</title></rect>\n",
                    X(from), TOP, x - X(from), PRICE_H, a, z + 11);
        }
        if (latest && lx - last_label >= 120) {
            char a[32];
            rp_utc(a, sizeof a, b->start_ms);
            fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"axis\">%s</text>",
                    lx, TOP + PRICE_H + VOL_H + 13,
                    last_label < 0 ? a : a + 11);
            last_label = lx;
        }
        fprintf(f, "<g class=\"bar%s%s%s%s\" data-start=\"%" PRId64
                   "\" data-rev=\"%" PRIu32 "\"><title>",
                latest ? "" : " superseded",
                b->source == BAR_SRC_REST ? " rest" : "",
                (b->flags & BAR_F_BACKFILLED) ? " backfill" : "",
                late ? " late" : "", b->start_ms, b->revision);
        record_text(f, b);
        fputs("</title>", f);
        if (!(b->has & BAR_HAS_OHLC)) {
            fputs("</g>\n", f);
            continue;
        }
        yh = Y(b->high);
        yl = Y(b->low);
        yo = Y(b->open);
        yc = Y(b->close);
        if (latest) {
            double top = yo < yc ? yo : yc, h = yo < yc ? yc - yo : yo - yc;
            v = bar_scaled_to_double(b->volume, BAR_VOL_DIGITS);
            vh = vmax > 0 ? v / vmax * (VOL_H - 6) : 0;
            fprintf(f, "<path class=\"%s\" d=\"M%.1f %.1fV%.1fM%.1f %.1f"
                       "h%.1fv%.1fh-%.1fz\"/><rect x=\"%.1f\" y=\"%.1f\" "
                       "width=\"%.1f\" height=\"%.1f\" class=\"vol\"/>",
                    b->close >= b->open ? "up" : "down", x + cw / 2, yh,
                    yl, x, top, cw, h + 0.5, cw, x,
                    (double)(TOP + PRICE_H + VOL_H) - vh, cw, vh);
            if (b->flags & BAR_F_BACKFILLED) {
                fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                           "height=\"4\" class=\"bf\"/>", x, TOP + PRICE_H - 4,
                        cw);
            }
            if (b->flags & BAR_F_SPANS_DISCONNECT) {
                fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                           "height=\"4\" class=\"disc\"/>", x,
                        TOP + PRICE_H, cw);
            }
        }
        if (b->revision > 0) {
            /* one dot per revision, stacked above the wick: a bar revised
             * three times has three */
            double ry = yh - 5 - 7.0 * (double)(b->revision - 1);
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
                       "class=\"rev%s\"/>", x + cw / 2,
                    ry < 3 ? 3 : ry, late ? " late" : "");
        }
        fputs("</g>\n", f);
    }
#undef X
#undef Y
    fputs("</svg></div>\n", f);
}

void rp_spark(FILE *f, const struct rpt_series *s, size_t idx, bool drawn)
{
    enum { SW = 180, SH = 40, PTS = 180 };
    double lo = 0, hi = 0;
    int64_t t0 = 0, t1 = 0;
    size_t i, step;
    bool any = false;

    for (i = 0; i < s->n; i++) {
        const struct bar *b = &s->bars[i];
        if (!(b->has & BAR_HAS_OHLC)) {
            continue;
        }
        lo = !any || b->close < lo ? b->close : lo;
        hi = !any || b->close > hi ? b->close : hi;
        t0 = !any || b->start_ms < t0 ? b->start_ms : t0;
        t1 = !any || b->start_ms > t1 ? b->start_ms : t1;
        any = true;
    }
    fprintf(f, "<figure class=\"spark\">%s", drawn ? "<a href=\"#s" : "");
    if (drawn) {
        fprintf(f, "%zu\">", idx);
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d "
               "%d\" width=\"%d\" height=\"%d\">", SW, SH, SW, SH);
    if (any) {
        /* the index only: at most PTS points (the series' own chart
         * draws every bar) */
        step = s->n / PTS + 1;
        fputs("<polyline class=\"sparkline\" points=\"", f);
        for (i = 0; i < s->n; i += step) {
            const struct bar *b = &s->bars[i];
            if (b->has & BAR_HAS_OHLC) {
                fprintf(f, "%.1f,%.1f ",
                        t1 > t0 ? (double)(b->start_ms - t0) /
                                      (double)(t1 - t0) * (SW - 2) + 1
                                : 1.0,
                        hi > lo ? (hi - b->close) / (hi - lo) * (SH - 4) + 2
                                : SH / 2.0);
            }
        }
        fputs("\"/>", f);
    }
    fputs("</svg>", f);
    fputs(drawn ? "</a>" : "", f);
    fputs("<figcaption>", f);
    rp_escs(f, s->key);
    fprintf(f, " <span class=\"n\">%zu bars</span></figcaption></figure>\n",
            s->n);
}
