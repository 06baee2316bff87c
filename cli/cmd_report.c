/* cmd_report.c: ccstream report CAPTURE.db [--out FILE] [--series TEXT]:
 * the capture replayed (as `replay` does, in memory) and one
 * self-contained HTML page of it (report/report.h). */
#define _GNU_SOURCE /* open_memstream */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "md_err.h"
#include "outfile.h"
#include "replay.h"
#include "report.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ccstream report CAPTURE.db [--out FILE] [--series TEXT]\n"
        "                       [--max-series N]\n"
        "\n"
        "Replay the capture (as `ccstream replay` does) and write one HTML\n"
        "page of it: per series a candlestick chart of the bars (revisions,\n"
        "backfills marked; each candle's record in its tooltip), the state\n"
        "of each Mealy machine over the session, and the summary. Inline\n"
        "SVG and CSS: nothing is fetched when the page is opened.\n"
        "\n"
        "  --out FILE      the page (default report.html; '-' standard\n"
        "                  output)\n"
        "  --series TEXT   only series whose key (MARKET:BASE-QUOTE:IV:SRC)\n"
        "                  contains TEXT\n"
        "  --max-series N  series drawn (default 50; the rest listed)\n"
        "\n"
        "Exit status: 0 ok, 1 error, 2 usage.\n");
}

int cmd_report(int argc, char **argv)
{
    enum { O_OUT = 256, O_SERIES, O_MAX };
    static const struct option lo[] = {
        {"out", required_argument, NULL, O_OUT},
        {"series", required_argument, NULL, O_SERIES},
        {"max-series", required_argument, NULL, O_MAX},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct rpl_opts o;
    struct rpl_summary sum;
    struct report_input in;
    struct outfile out;
    const char *outname = "report.html";
    char err[1024] = "", *bars = NULL, *trace = NULL;
    size_t nb = 0, nt = 0;
    FILE *fb, *ft;
    int c, rc;

    memset(&in, 0, sizeof in);
    in.max_series = 50;
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
    rpl_opts_default(&o);
    o.capture = argv[optind];
    fb = open_memstream(&bars, &nb);
    ft = open_memstream(&trace, &nt);
    if (fb == NULL || ft == NULL) {
        fprintf(stderr, "ccstream report: out of memory\n");
        return 1;
    }
    o.bars = fb;
    o.trace = ft;
    rc = rpl_run(&o, &sum, err, sizeof err);
    /* the in-memory bars and trace whole, or no page */
    if ((fclose(fb) != 0) | (fclose(ft) != 0) && rc == MD_OK) {
        rc = MD_E_NOMEM;
        snprintf(err, sizeof err, "out of memory keeping the replay's bars "
                 "and trace");
    }
    if (rc != MD_OK && !(rc == MD_E_STATE && sum.divergences > 0)) {
        fprintf(stderr, "ccstream report: %s\n",
                err[0] ? err : md_strerror(rc));
        free(bars);
        free(trace);
        return 1;
    }
    if (outfile_open(&out, outname, "w", NULL, 0, err, sizeof err) !=
        MD_OK) {
        fprintf(stderr, "ccstream report: %s\n", err);
        free(bars);
        free(trace);
        return 1;
    }
    in.capture = o.capture;
    in.bars = bars;
    in.bars_len = nb;
    in.trace = trace;
    in.trace_len = nt;
    in.sum = &sum;
    rc = report_write(out.f, &in);
    free(bars);
    free(trace);
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
