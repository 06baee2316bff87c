/* report.c: the session report page: its frame, the summary, the
 * capture's metadata, the tables, and the series sections. See report.h
 * and docs/report.md. */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bar_codec.h"
#include "core.h"
#include "md_err.h"
#include "report_int.h"
#include "store.h"

#define CALL_ROWS 300 /* REST calls listed; the rest counted */

/* The length of the valid UTF-8 character XML allows at s (n bytes
 * left), or 0. */
static size_t xml_char(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;

    if (len == 0 || len > n || !store_utf8_valid(s, len)) {
        return 0;
    }
    if (len == 1 && s[0] < 0x20 && s[0] != '\t' && s[0] != '\n' &&
        s[0] != '\r') {
        return 0; /* a control character: not in XML */
    }
    if (len == 3 && s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe) {
        return 0; /* U+FFFE, U+FFFF */
    }
    return len;
}

void rp_esc(FILE *f, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, from = 0;

    while (i < n) {
        const char *e = NULL;
        size_t len = xml_char(u + i, n - i);
        switch (len == 1 ? s[i] : 0) {
        case '&':
            e = "&amp;";
            break;
        case '<':
            e = "&lt;";
            break;
        case '>':
            e = "&gt;";
            break;
        case '"':
            e = "&quot;";
            break;
        default:
            if (len == 0) {
                e = "\xef\xbf\xbd"; /* U+FFFD for what XML cannot hold */
                len = 1;
            }
        }
        if (e != NULL) {
            fwrite(s + from, 1, i - from, f);
            fputs(e, f);
            from = i + len;
        }
        i += len;
    }
    fwrite(s + from, 1, n - from, f);
}

void rp_utc(char *buf, size_t cap, int64_t ms)
{
    time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
}

void rp_rel(char *buf, size_t cap, int64_t ns)
{
    int64_t ds = ns / 100000000, s = ds / 10;

    if (s >= 3600) {
        snprintf(buf, cap, "+%" PRId64 ":%02d:%02d.%d", s / 3600,
                 (int)(s / 60 % 60), (int)(s % 60), (int)(ds % 10));
    } else {
        snprintf(buf, cap, "+%d:%02d.%d", (int)(s / 60), (int)(s % 60),
                 (int)(ds % 10));
    }
}

/* ---- redaction ----------------------------------------------------- */

/* Whether the name p[0..n) holds a word that names a credential. */
static bool secret_name(const char *p, size_t n)
{
    static const char *const words[] = {"key", "token", "secret", "passw",
                                        "pwd", "auth", "signature",
                                        "credential"};
    size_t w, i, k;

    for (w = 0; w < sizeof words / sizeof words[0]; w++) {
        size_t wl = strlen(words[w]);
        for (i = 0; i + wl <= n; i++) {
            for (k = 0; k < wl && tolower((unsigned char)p[i + k]) ==
                                      words[w][k];
                 k++) {
            }
            if (k == wl) {
                return true;
            }
        }
    }
    return false;
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' ||
           c == '%';
}

static bool quote_or_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '"' ||
           c == '\'' || c == '\\';
}

/* The end of the value that starts at v, opened by quote q (0 none, '"',
 * '\'', or 'e' for an escaped quote \" in JSON held in a string): a string
 * to its closing quote, a bracketed value whole (its strings skipped),
 * else up to a delimiter. */
static size_t value_end(const char *t, size_t n, size_t v, char q)
{
    if (q == '"' || q == '\'') {
        for (; v < n && t[v] != q; v++) {
            v += q == '"' && t[v] == '\\';
        }
        return v < n ? v : n;
    }
    if (q == 'e') {
        for (; v + 1 < n && !(t[v] == '\\' && t[v + 1] == '"'); v++) {
            v += t[v] == '\\' && t[v + 1] == '\\';
        }
        return v + 1 < n ? v : n;
    }
    if (t[v] == '{' || t[v] == '[') {
        size_t depth = 0;
        bool str = false;
        for (; v < n; v++) {
            if (str) {
                if (t[v] == '\\') {
                    v++;
                } else if (t[v] == '"') {
                    str = false;
                }
            } else if (t[v] == '"') {
                str = true;
            } else if (t[v] == '{' || t[v] == '[') {
                depth++;
            } else if ((t[v] == '}' || t[v] == ']') && --depth == 0) {
                return v + 1;
            }
        }
        return n;
    }
    while (v < n && !strchr("\"'\\&,;}] \t\r\n#<", t[v])) {
        v++;
    }
    return v;
}

char *report_redact(const char *text)
{
    static const char blot[] = "(redacted)";
    size_t n = strlen(text), i = 0, o = 0;
    /* each value becomes the blot: at most one per input byte */
    char *out = malloc(n * (sizeof blot) + 1);

    if (out == NULL) {
        return NULL;
    }
    while (i < n) {
        size_t j, k, v, e;
        if (!name_char(text[i]) || (i > 0 && name_char(text[i - 1]))) {
            out[o++] = text[i++];
            continue;
        }
        /* a name: a credential's if a colon or an equals sign follows
         * (quotes, escapes and spaces between), then its value goes */
        for (j = i; j < n && name_char(text[j]); j++) {
        }
        for (k = j; k < n && quote_or_space(text[k]); k++) {
        }
        if (k < n && (text[k] == ':' || text[k] == '=') &&
            secret_name(text + i, j - i)) {
            char q = 0;
            for (v = k + 1; v < n && strchr(" \t\r\n", text[v]) != NULL;
                 v++) {
            }
            if (v + 1 < n && text[v] == '\\' && text[v + 1] == '"') {
                q = 'e';
                v += 2;
            } else if (v < n && (text[v] == '"' || text[v] == '\'')) {
                q = text[v++];
            }
            e = v < n ? value_end(text, n, v, q) : v;
            if (e > v) {
                memcpy(out + o, text + i, v - i);
                o += v - i;
                memcpy(out + o, blot, sizeof blot - 1);
                o += sizeof blot - 1;
                i = e;
                continue;
            }
        }
        memcpy(out + o, text + i, j - i);
        o += j - i;
        i = j;
    }
    out[o] = '\0';
    return out;
}

/* ---- the series ---------------------------------------------------- */

static struct rpt_series *series_of(struct rpt_series **v, size_t *n,
                                   size_t *cap, const char *key)
{
    size_t i = *n;

    /* bars of one series mostly follow each other: look back first */
    while (i-- > 0) {
        if (strcmp((*v)[i].key, key) == 0) {
            return &(*v)[i];
        }
    }
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        struct rpt_series *nv = realloc(*v, c * sizeof *nv);
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

static int add_bar(struct rpt_series *s, const struct bar *b)
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

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct rpt_series *)a)->key,
                  ((const struct rpt_series *)b)->key);
}

static int by_start(const void *a, const void *b)
{
    const struct bar *x = a, *y = b;

    if (x->start_ms != y->start_ms) {
        return x->start_ms < y->start_ms ? -1 : 1;
    }
    return x->revision < y->revision ? -1 : x->revision > y->revision;
}

/* ---- the page ------------------------------------------------------ */

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#222;"
    "max-width:1000px}"
    "h1{font-size:20px;margin-bottom:4px}h2{font-size:16px;margin:28px 0 6px}"
    "table{border-collapse:collapse;margin:4px 0}td,th{padding:1px 8px;"
    "text-align:right;border-bottom:1px solid #e4e4e4;vertical-align:top}"
    "th{text-align:left;font-weight:600}td.l{text-align:left}"
    ".meta td{text-align:left;font-family:monospace;font-size:12px;"
    "word-break:break-all}.cols{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}"
    "nav a{margin-right:10px}"
    ".scroll{overflow-x:auto;max-width:100%}"
    ".axis{font:10px sans-serif;fill:#666}.lane{font:11px sans-serif;"
    "fill:#333}.code{font:9px sans-serif;fill:#b71c1c}"
    ".grid{stroke:#eee}"
    ".up{fill:#2a9d4b;stroke:#2a9d4b}.down{fill:#d64541;stroke:#d64541}"
    ".vol{fill:#9ab}.rev{fill:#f0a020;stroke:#fff;stroke-width:.5}"
    ".rev.late{fill:#e0457b}.bf{fill:#6a5acd}.disc{fill:#555}"
    ".nobar{fill:#f2f2f2}"
    ".st{fill:#ddd}.st-STREAMING,.st-PUBLISHING,.st-REQUESTING"
    "{fill:#7bc67b}.st-CONNECTING,.st-WAIT_WELCOME,.st-SUBSCRIBING,"
    ".st-FETCHING,.st-CREATING_TOPIC,.st-WAITING{fill:#f3c969}"
    ".st-BACKOFF,.st-ERROR{fill:#e57373}.st-FAILED{fill:#b71c1c}"
    ".st-CLOSING,.st-DRAINING{fill:#9fa8da}.st-STOPPED{fill:#999}"
    ".st-many{fill:#ff9800}"
    ".c-open{fill:#f3c969}.c-up{fill:#7bc67b}"
    ".mk{stroke:#555;stroke-width:1.5}.mk-GAP_OPEN,.mk-CONN_LOST,"
    ".mk-STALE,.mk-FORCE_DISCONNECT,.mk-PING_TIMEOUT{stroke:#d32f2f}"
    ".mk-GAP_CLOSED{stroke:#2e7d32}.mk-FETCH_FAILED,.mk-REST_FAILED,"
    ".mk-PUBLISH_FAILED,.mk-DEAD_LETTER,.mk-PRODUCER_FATAL{stroke:#6a1b9a}"
    ".gapband{fill:#ffcdd2;opacity:.6}.inj{stroke:#6a1b9a;"
    "stroke-dasharray:4 3;stroke-width:1.5}"
    ".rate{fill:none;stroke-width:1.3}"
    ".ty0{stroke:#1f77b4;background:#1f77b4}"
    ".ty1{stroke:#17becf;background:#17becf}"
    ".ty2{stroke:#8c564b;background:#8c564b}"
    ".ty3{stroke:#2ca02c;background:#2ca02c}"
    ".ty4{stroke:#bcbd22;background:#bcbd22}"
    ".ty5{stroke:#9467bd;background:#9467bd}"
    ".ty6{stroke:#7f7f7f;background:#7f7f7f}"
    ".ty7{stroke:#d62728;background:#d62728}"
    ".ty8{stroke:#ff7f0e;background:#ff7f0e}"
    ".ty9{stroke:#e377c2;background:#e377c2}"
    ".sil{fill:#b0bec5}.hb{fill:#1f77b4}"
    ".stale{stroke:#d32f2f;stroke-dasharray:6 3}.probe{stroke:#f0a020;"
    "stroke-dasharray:3 3}.stalemark{fill:#d32f2f}"
    ".lagline{fill:none;stroke:#1f77b4;stroke-width:1.3}"
    ".lagmax{fill:#d62728}.k.lagk{background:#1f77b4}"
    ".k.lagmk{background:#d62728}"
    ".call{stroke:#fff;stroke-width:.5}.o-ok{fill:#2a9d4b;background:#2a9d4b}"
    ".o-rate{fill:#f0a020;background:#f0a020}"
    ".o-fail{fill:#d32f2f;background:#d32f2f}"
    ".o-open{fill:#777;background:#777}"
    ".budget{fill:none;stroke-width:1.5}.w0{stroke:#999;background:#999}"
    ".w1{stroke:#1f77b4;background:#1f77b4}"
    ".w2{stroke:#2ca02c;background:#2ca02c}"
    ".w3{stroke:#9467bd;background:#9467bd}"
    ".w4{stroke:#8c564b;background:#8c564b}"
    ".legend .k{display:inline-block;padding:0 6px;margin:0 4px 2px 0;"
    "font-size:12px;color:#fff;border-radius:2px}"
    ".legend .st-IDLE,.legend .st-many{color:#222}"
    ".k.st-STREAMING{background:#7bc67b}.k.st-CONNECTING{background:#f3c969;"
    "color:#222}.k.st-BACKOFF{background:#e57373}.k.st-FAILED{background:"
    "#b71c1c}.k.st-CLOSING{background:#9fa8da}.k.st-IDLE{background:#ddd}"
    ".k.st-STOPPED{background:#999}.k.st-many{background:#ff9800}"
    ".k.gapk{background:#ffcdd2;color:#222}.k.injk{background:#6a1b9a}"
    ".k.silk{background:#b0bec5;color:#222}.k.hbk{background:#1f77b4}"
    ".k.stalek{background:#d32f2f}.k.probek{background:#f0a020}"
    ".k.revk{background:#f0a020}.k.latek{background:#e0457b}"
    ".k.bfk{background:#6a5acd}.k.disck{background:#555}"
    ".k.nobark{background:#f2f2f2;color:#222}"
    ".spark{display:inline-block;margin:0 8px 8px 0;font-size:11px}"
    ".spark svg{border:1px solid #eee;display:block}"
    ".sparkline{fill:none;stroke:#1f77b4}.n{color:#777}"
    "@media print{body{max-width:none}.scroll{overflow:visible}"
    "svg{max-width:100%;height:auto}h2{break-after:avoid}}";

static void row(FILE *f, const char *name, uint64_t v)
{
    fprintf(f, "<tr><th>%s</th><td>%" PRIu64 "</td></tr>", name, v);
}

static void summary(FILE *f, const struct report_input *in, size_t nseries)
{
    const struct rpl_summary *s = in->sum;
    const struct rc_session *c = in->ses;
    uint64_t ok = 0, rate = 0, failed = 0;
    size_t i;

    for (i = 0; i < c->n_call; i++) {
        const char *o = c->call[i].outcome;
        if (o != NULL && strcmp(o, "RESP_OK") == 0) {
            ok++;
        } else if (o != NULL && strcmp(o, "RESP_RATE_LIMIT") == 0) {
            rate++;
        } else {
            failed++;
        }
    }
    fputs("<h2 id=\"summary\">Summary</h2>\n<div class=\"cols\"><table>", f);
    row(f, "events", s->events);
    row(f, "frames", s->frames);
    row(f, "malformed frames", s->malformed);
    row(f, "core inputs", s->inputs);
    row(f, "timers fired", s->timers_fired);
    row(f, "series", nseries);
    row(f, "bars", s->bars);
    row(f, "revisions", s->revisions);
    row(f, "bars from REST", s->rest_bars);
    row(f, "duplicate trades", s->duplicates);
    row(f, "late trades: bars revised", s->late_revisions);
    row(f, "late trades: too late", s->late_dropped);
    fputs("</table><table>", f);
    row(f, "connections", c->n_conn);
    row(f, "reconnect gaps", c->n_gap);
    row(f, "stale detections", c->stale);
    row(f, "REST calls", c->n_call);
    row(f, "&nbsp; with data", ok);
    row(f, "&nbsp; rate limited", rate);
    row(f, "&nbsp; failed or unanswered", failed);
    row(f, "gap bars backfill could not reach", s->backfill_dropped);
    row(f, "deliveries failed", s->deliveries_failed);
    row(f, "dead-lettered", s->dead_lettered);
    row(f, "bars lost", s->bars_lost + s->bars_given_up + s->bars_topic_lost);
    row(f, "faults injected", in->opts != NULL ? in->opts->n_inject : 0);
    fprintf(f, "<tr><th>virtual time</th><td>%.1f s</td></tr>"
               "<tr><th>replay</th><td>%s</td></tr></table>",
            (double)s->span_ns / 1e9,
            s->mode == RPL_STRICT ? "strict" : "what-if");
    fputs("<table><tr><th>note</th><th>count</th></tr>", f);
    for (i = 1; i < MD_N__COUNT && i < sizeof c->notes / sizeof c->notes[0];
         i++) {
        if (c->notes[i] > 0) {
            row(f, md_note_name((int)i), c->notes[i]);
        }
    }
    fputs("</table></div>\n", f);
    if (s->divergences > 0) {
        fputs("<p><b>Strict replay diverged:</b> ", f);
        rp_escs(f, s->divergence);
        fputs("</p>\n", f);
    }
    if (in->opts != NULL && in->opts->n_inject > 0) {
        fputs("<p>Injected:", f);
        for (i = 0; i < in->opts->n_inject; i++) {
            const struct rpl_inject *j = &in->opts->inject[i];
            char r[32];
            rp_rel(r, sizeof r, j->at_ns);
            fprintf(f, " %s at %s%s%s", rpl_inject_name(j->kind), r,
                    j->used ? "" : " (never met its event)",
                    i + 1 < in->opts->n_inject ? "," : ".");
        }
        fputs("</p>\n", f);
    }
    if (c->lost > 0) {
        fprintf(f, "<p>%" PRIu64 " entries beyond %d per list (connections, "
                   "calls, state changes, notes) are counted but not drawn."
                   "</p>\n", c->lost, RC_LIST_MAX);
    }
}

static void metadata(FILE *f, const struct report_input *in)
{
    size_t i;

    fputs("<h2 id=\"capture\">The capture</h2>\n<table class=\"meta\">", f);
    for (i = 0; i < in->n_meta; i++) {
        fputs("<tr><th>", f);
        rp_escs(f, in->meta[i][0]);
        fputs("</th><td>", f);
        rp_escs(f, in->meta[i][1]);
        fputs("</td></tr>", f);
    }
    fputs("</table>\n", f);
}

static void calls(FILE *f, const struct rc_session *s)
{
    size_t i;

    if (s->n_call == 0) {
        return;
    }
    fputs("<table class=\"calls\"><tr><th>sent</th><th>purpose</th><th>"
          "request</th><th>status</th><th>outcome</th><th>latency</th><th>"
          "bytes</th></tr>\n", f);
    for (i = 0; i < s->n_call && i < CALL_ROWS; i++) {
        const struct rc_call *k = &s->call[i];
        char r[32];
        rp_rel(r, sizeof r, k->t_send);
        fprintf(f, "<tr><td>%s</td><td class=\"l\">%s</td><td class=\"l\">",
                r, k->purpose == RP_P_PREFLIGHT ? "preflight"
                   : k->purpose == RP_P_BACKFILL ? "backfill" : "other");
        rp_escs(f, k->target);
        if (k->t_done < 0) {
            fputs("</td><td></td><td class=\"l\">never answered</td><td>"
                  "</td><td></td></tr>\n", f);
            continue;
        }
        if (k->outcome != NULL && (strcmp(k->outcome, "timeout") == 0 ||
                                   strcmp(k->outcome, "cancelled") == 0)) {
            /* no answer: no status (0 would read as a transport error) */
            fprintf(f, "</td><td>-</td><td class=\"l\">%s</td><td>%.1f ms"
                       "</td><td>-</td></tr>\n",
                    k->outcome, (double)(k->t_done - k->t_send) / 1e6);
            continue;
        }
        fprintf(f, "</td><td>%d</td><td class=\"l\">%s</td><td>%.1f ms</td>"
                   "<td>%" PRIu64 "</td></tr>\n",
                k->status, k->outcome != NULL ? k->outcome : "",
                (double)(k->t_done - k->t_send) / 1e6, k->bytes);
    }
    fputs("</table>\n", f);
    if (s->n_call > CALL_ROWS) {
        fprintf(f, "<p>%zu more calls (in the chart above).</p>\n",
                s->n_call - CALL_ROWS);
    }
}

int report_write(FILE *f, const struct report_input *in)
{
    struct rpt_series *v = NULL;
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
            struct rpt_series *s = series_of(&v, &nv, &cap, key);
            rc = s == NULL ? MD_E_NOMEM : add_bar(s, &b);
        }
        p = nl ? nl + 1 : end;
    }
    if (rc == MD_OK) {
        char a[32] = "", z[32] = "";
        if (nv > 1) {
            qsort(v, nv, sizeof v[0], by_key);
        }
        for (i = 0; i < nv; i++) {
            qsort(v[i].bars, v[i].n, sizeof v[i].bars[0], by_start);
        }
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
              "charset=\"utf-8\"><meta name=\"viewport\" content=\"width="
              "device-width\"><title>ccstream report: ", f);
        rp_escs(f, in->capture);
        fprintf(f, "</title><style>%s</style></head><body>\n<h1>", css);
        rp_escs(f, in->capture);
        fputs("</h1>\n<p>", f);
        if (in->wall0_ns != 0) {
            int64_t w1 = in->sum->span_ns > 0 &&
                                 in->wall0_ns <= INT64_MAX - in->sum->span_ns
                             ? in->wall0_ns + in->sum->span_ns
                             : in->wall0_ns;
            rp_utc(a, sizeof a, in->wall0_ns / 1000000);
            rp_utc(z, sizeof z, w1 / 1000000);
            fprintf(f, "From %s to %s UTC; times on the charts below are "
                       "counted from the start (+m:ss). ", a, z);
        }
        fputs("Made by <code>ccstream report</code>: the capture replayed "
              "as <code>ccstream replay</code> does.</p>\n<nav><a href=\""
              "#summary\">summary</a><a href=\"#capture\">capture</a><a "
              "href=\"#machines\">machines</a><a href=\"#frames\">frames</a>"
              "<a href=\"#liveness\">silences</a><a href=\"#lag\">lag</a>"
              "<a href=\"#rest\">REST</a>"
              "<a href=\"#series\">series</a></nav>\n", f);
        summary(f, in, nv);
        metadata(f, in);
        rp_session_charts(f, in);
        calls(f, in->ses);
        fprintf(f, "<h2 id=\"series\">Series</h2>\n<p>%zu series; the first "
                   "%u drawn below (the others with --series).</p>\n<div>",
                nv, in->max_series);
        for (i = 0; i < nv; i++) {
            rp_spark(f, &v[i], i, in->max_series == 0 || i < in->max_series);
        }
        fputs("</div>\n<p class=\"legend\"><span class=\"k revk\">revision "
              "(one dot each)</span><span class=\"k latek\">late-trade "
              "revision</span><span class=\"k bfk\">backfilled from REST"
              "</span><span class=\"k disck\">spans a disconnect</span>"
              "<span class=\"k nobark\">no bar</span> Each candle's record "
              "in its tooltip.</p>\n", f);
        for (i = 0; i < nv; i++) {
            if (in->max_series > 0 && drawn == in->max_series) {
                fprintf(f, "<p>%zu more series not drawn: ask for one with "
                           "--series.</p>\n", nv - i);
                break;
            }
            fprintf(f, "<h2 id=\"s%zu\">", i);
            rp_escs(f, v[i].key);
            fprintf(f, " <span class=\"n\">%zu bars</span></h2>\n", v[i].n);
            rp_candles(f, &v[i]);
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
