/* cmd_report.c: ccstream report CAPTURE.db [--out FILE] [--series TEXT]
 * [--inject SPEC] [--intervals LIST]: the capture replayed (as `replay`
 * does, in memory, observed step by step) and one self-contained HTML page
 * of it (report/report.h). */
#define _GNU_SOURCE /* open_memstream */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "collect.h"
#include "md_err.h"
#include "outfile.h"
#include "replay.h"
#include "report.h"
#include "store.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ccstream report CAPTURE.db [--out FILE] [--series TEXT]\n"
        "                       [--max-series N] [--inject SPEC]...\n"
        "                       [--intervals LIST]\n"
        "\n"
        "Replay the capture (as `ccstream replay` does) and write one HTML\n"
        "page of it: the summary and the capture's metadata (redacted);\n"
        "over session time each Mealy machine's state with the inputs that\n"
        "changed it, the connections and their close codes, frames per\n"
        "second by TYPE, silences and heartbeat gaps against the stale\n"
        "threshold, REST calls with outcome and latency, the rate-limit\n"
        "budget; per series a candlestick chart of the bars (revisions,\n"
        "late-trade revisions, backfills and gaps marked; each candle's\n"
        "record in its tooltip). Inline SVG and CSS: nothing is fetched\n"
        "when the page is opened. docs/report.md.\n"
        "\n"
        "  --out FILE        the page (default report.html; '-' standard\n"
        "                    output)\n"
        "  --series TEXT     only series whose key (MARKET:BASE-QUOTE:IV:SRC)\n"
        "                    contains TEXT\n"
        "  --max-series N    series drawn (default 50; the rest in the index)\n"
        "  --inject KIND@T   a fault, as `ccstream replay --inject` (see its\n"
        "                    --help); drawn on the charts; up to 16\n"
        "  --intervals LIST  bar intervals, as `ccstream replay --intervals`\n"
        "\n"
        "Exit status: 0 ok, 1 error, 2 usage.\n");
}

/* The capture's metadata as name/value rows, each value redacted. */
#define META_MAX 64
struct meta {
    char *kv[META_MAX][2];
    size_t n;
};

static void meta_free(struct meta *m)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        free(m->kv[i][0]);
        free(m->kv[i][1]);
    }
    m->n = 0;
}

static void meta_add(struct meta *m, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void meta_add(struct meta *m, const char *name, const char *fmt, ...)
{
    va_list ap;
    char *raw = NULL;

    if (m->n == META_MAX) {
        return;
    }
    va_start(ap, fmt);
    if (vasprintf(&raw, fmt, ap) < 0) {
        raw = NULL;
    }
    va_end(ap);
    m->kv[m->n][0] = strdup(name);
    m->kv[m->n][1] = raw != NULL ? report_redact(raw) : NULL;
    free(raw);
    if (m->kv[m->n][0] == NULL || m->kv[m->n][1] == NULL) {
        free(m->kv[m->n][0]);
        free(m->kv[m->n][1]);
        return; /* out of memory: a row fewer, never a wrong one */
    }
    m->n++;
}

static int read_meta(struct meta *m, const char *path, int64_t *wall0,
                     char *err, size_t errlen)
{
    struct store_reader *r;
    struct store_session s;
    int rc = store_reader_open(path, &r, err, errlen), i;

    if (rc != MD_OK) {
        return rc;
    }
    meta_add(m, "file", "%s", path);
    meta_add(m, "state", "%s, schema %d", store_state_name(
                 store_reader_state(r)), store_reader_schema(r));
    if (store_reader_warning(r) != NULL) {
        meta_add(m, "warning", "%s", store_reader_warning(r));
    }
    meta_add(m, "events", "%" PRId64, store_event_count(r));
    meta_add(m, "connections", "%" PRId64, store_conn_count(r));
    for (i = 0; store_reader_session(r, i, &s) == MD_OK; i++) {
        char when[32] = "?";
        time_t t = (time_t)(s.started_wall_ns / 1000000000);
        struct tm tm;
        char name[32];
        if (gmtime_r(&t, &tm) != NULL) {
            strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
        }
        if (i == 0) {
            *wall0 = s.started_wall_ns;
        }
        snprintf(name, sizeof name, "session %d", i + 1);
        meta_add(m, name, "%s by %s, started %s, PRNG seed %" PRIu64
                 "%s", s.kind != NULL ? s.kind : "?",
                 s.tool != NULL ? s.tool : "?", when, s.prng_seed,
                 s.core_version > 0 ? ", holds the core's actions" : "");
        meta_add(m, "configuration", "%s", s.config != NULL ? s.config : "");
        if (s.notes != NULL && s.notes[0] != '\0') {
            meta_add(m, "notes", "%s", s.notes);
        }
    }
    store_reader_close(r);
    return MD_OK;
}

int cmd_report(int argc, char **argv)
{
    enum { O_OUT = 256, O_SERIES, O_MAX, O_INJECT, O_INTERVALS };
    static const struct option lo[] = {
        {"out", required_argument, NULL, O_OUT},
        {"series", required_argument, NULL, O_SERIES},
        {"max-series", required_argument, NULL, O_MAX},
        {"inject", required_argument, NULL, O_INJECT},
        {"intervals", required_argument, NULL, O_INTERVALS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct rpl_opts o;
    static struct rc_session ses;
    struct loop_observer obs;
    struct rpl_summary sum;
    struct report_input in;
    struct outfile out;
    struct meta meta;
    const char *outname = "report.html";
    char err[1024] = "", *bars = NULL, *capname = NULL;
    size_t nb = 0;
    FILE *fb;
    int c, rc;

    memset(&in, 0, sizeof in);
    in.max_series = 50;
    rpl_opts_default(&o);
    cli_opt_begin();
    while ((c = cli_opt_next("report", argc, argv, ":h", lo)) != -1) {
        switch (c) {
        case O_OUT:
            outname = optarg;
            break;
        case O_SERIES:
            in.series = optarg;
            break;
        case O_MAX: {
            char *e;
            unsigned long n = strtoul(optarg, &e, 10);
            if (*e != '\0' || n == 0 || n > 100000) {
                fprintf(stderr, "ccstream report: --max-series takes a "
                                "number from 1 to 100000\n");
                return 2;
            }
            in.max_series = (unsigned)n;
            break;
        }
        case O_INJECT:
            if (o.n_inject == RPL_MAX_INJECT ||
                rpl_add_inject(&o, optarg) != MD_OK) {
                fprintf(stderr, "ccstream report: bad --inject '%.80s' "
                        "(KIND@T as for ccstream replay --inject; at most "
                        "%d)\n", optarg, RPL_MAX_INJECT);
                return 2;
            }
            break;
        case O_INTERVALS:
            o.intervals = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "ccstream report: %s\n",
                optind == argc ? "which capture?" : "one capture only");
        usage(stderr);
        return 2;
    }
    o.capture = argv[optind];
    memset(&meta, 0, sizeof meta);
    if (read_meta(&meta, o.capture, &in.wall0_ns, err, sizeof err) !=
        MD_OK) {
        fprintf(stderr, "ccstream report: %s\n", err);
        meta_free(&meta);
        return 1;
    }
    fb = open_memstream(&bars, &nb);
    if (fb == NULL) {
        fprintf(stderr, "ccstream report: out of memory\n");
        meta_free(&meta);
        return 1;
    }
    rc_init(&ses);
    ses.wall0_ns = in.wall0_ns;
    o.bars = fb;
    o.observer = rc_observer(&ses, &obs);
    rc = rpl_run(&o, &sum, err, sizeof err);
    /* the in-memory bars whole, or no page */
    if (fclose(fb) != 0 && rc == MD_OK) {
        rc = MD_E_NOMEM;
        snprintf(err, sizeof err, "out of memory keeping the replay's bars");
    }
    if (rc == MD_OK && ses.rc != MD_OK) {
        rc = ses.rc;
        snprintf(err, sizeof err, "out of memory keeping the session");
    }
    if (rc != MD_OK && !(rc == MD_E_STATE && sum.divergences > 0)) {
        fprintf(stderr, "ccstream report: %s\n",
                err[0] ? err : md_strerror(rc));
        free(bars);
        rc_free(&ses);
        meta_free(&meta);
        return 1;
    }
    if (outfile_open(&out, outname, "w", NULL, 0, err, sizeof err) !=
        MD_OK) {
        fprintf(stderr, "ccstream report: %s\n", err);
        free(bars);
        rc_free(&ses);
        meta_free(&meta);
        return 1;
    }
    /* its name as given, redacted like the metadata (a path may hold
     * anything) */
    capname = report_redact(o.capture);
    in.capture = capname != NULL ? capname : "capture";
    in.bars = bars;
    in.bars_len = nb;
    in.sum = &sum;
    in.ses = &ses;
    in.opts = &o;
    in.meta = (const char *const(*)[2])meta.kv;
    in.n_meta = meta.n;
    rc = report_write(out.f, &in);
    free(capname);
    free(bars);
    rc_free(&ses);
    meta_free(&meta);
    if (rc != MD_OK) {
        outfile_abort(&out);
        fprintf(stderr, "ccstream report: %s: %s\n", outname,
                rc == MD_E_CORRUPT ? "a bar of the replay could not be read "
                                     "back (a defect: please report it)"
                                   : md_strerror(rc));
        return 1;
    }
    if (outfile_commit(&out, err, sizeof err) != MD_OK) {
        fprintf(stderr, "ccstream report: %s\n", err);
        return 1;
    }
    return 0;
}
