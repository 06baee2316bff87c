/* cmd_synth.c: `ccstream synth`: write a deterministic, realistic
 * CryptoCompare session (synth/synth.h) into a new capture file.
 * The generator reads no clock; this front end reads one only to report
 * progress and the elapsed time. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "md_err.h"
#include "outfile.h"
#include "store.h"
#include "synth.h"

static void usage(FILE *f)
{
    int sc;

    fprintf(f,
            "usage: ccstream synth --out FILE [--minutes N] [--seed S]\n"
            "                      [--symbols LIST] [--exchange NAME]\n"
            "                      [--scenario NAME] [--start TIME]\n"
            "                      [--frames N] [--force]\n"
            "       ccstream synth --list-scenarios\n"
            "\n"
            "Generate a realistic CryptoCompare session (REST preflight,\n"
            "streamer v2 WebSocket, REST backfill and postflight) into a new\n"
            "capture. Same options and seed, same bytes. docs/synth.md.\n"
            "\n"
            "  --out FILE        the capture to create (must not exist)\n"
            "  --minutes N       streaming minutes, 1..%u (default %u)\n"
            "  --seed S          PRNG seed, 0..2^64-1 (default %u)\n"
            "  --symbols LIST    base symbols vs USD, any number (default %s)\n"
            "  --exchange NAME   the trade market (default %s)\n"
            "  --scenario NAME   a fault variant (default: default)\n"
            "  --start TIME      the connect time, unix s or\n"
            "                    YYYY-MM-DDTHH:MM:SSZ (default "
            "2025-07-22T13:19:55Z)\n"
            "  --frames N        end once N WebSocket frames are written\n"
            "                    (for benchmarks; the postflight follows)\n"
            "  --force           replace FILE if it exists\n"
            "  --list-scenarios  the scenarios, one per line\n"
            "  -h, --help        this text\n"
            "\n"
            "Scenarios:\n",
            SYNTH_MINUTES_MAX, SYNTH_MINUTES_DEFAULT, SYNTH_SEED_DEFAULT,
            SYNTH_SYMBOLS_DEFAULT, SYNTH_EXCHANGE_DEFAULT);
    for (sc = SYNTH_SC_INVALID + 1; sc < SYNTH_SC__COUNT; sc++) {
        fprintf(f, "  %-18s %s\n", synth_scenario_name(sc),
                synth_scenario_what(sc));
    }
    fprintf(f, "\nThe capture is written beside FILE under a temporary name and\n"
               "put in place when complete (an interrupted run leaves none).\n"
               "\nExit status: 0 ok, 1 error, 2 usage.\n");
}

static void list_scenarios(FILE *f)
{
    int sc;
    for (sc = SYNTH_SC_INVALID + 1; sc < SYNTH_SC__COUNT; sc++) {
        fprintf(f, "%s\t%s\n", synth_scenario_name(sc),
                synth_scenario_what(sc));
    }
}

/* A decimal unsigned integer, all of text. */
static int parse_u64(const char *text, uint64_t max, uint64_t *v)
{
    char *end;
    unsigned long long x;

    if (text == NULL || *text < '0' || *text > '9') {
        return MD_E_USAGE;
    }
    errno = 0;
    x = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || x > max) {
        return MD_E_USAGE;
    }
    *v = x;
    return MD_OK;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct progress {
    double t_start, t_last;
    int shown;
};

static void on_progress(void *ctx, const struct synth_stats *st, double done)
{
    struct progress *p = ctx;
    double t = mono_s();

    /* only for a long run, at most twice a second */
    if (t - p->t_start < 1.0 || t - p->t_last < 0.5) {
        return;
    }
    p->t_last = t;
    p->shown = 1;
    fprintf(stderr, "\rccstream synth: %3.0f%%  %" PRIu64 " frames  %.0f s ",
            done * 100.0, st->frames, t - p->t_start);
    fflush(stderr);
}

/* Remove path and SQLite's side files. */
static int missing_value(const char *opt)
{
    fprintf(stderr, "ccstream synth: %s needs a value\n", opt);
    return 2;
}

int cmd_synth(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"list-scenarios", no_argument, NULL, 'L'},
        {"force", no_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"minutes", required_argument, NULL, 'm'},
        {"seed", required_argument, NULL, 's'},
        {"frames", required_argument, NULL, 'F'},
        {"symbols", required_argument, NULL, 'y'},
        {"exchange", required_argument, NULL, 'x'},
        {"start", required_argument, NULL, 'S'},
        {"scenario", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    struct synth_opts o;
    struct synth_stats st;
    struct progress prog;
    struct stat sb;
    const char *out = NULL;
    char err[512], tmp[4096];
    int c, rc, force = 0;
    uint64_t v;
    double secs;

    synth_opts_default(&o);
    cli_opt_begin();
    while ((c = cli_opt_next("synth", argc, argv, ":ho:", longopts)) != -1) {
        const char *val = optarg;

        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case 'L':
            list_scenarios(stdout);
            return 0;
        case 'f':
            force = 1;
            break;
        case 'o':
            if (*val == '\0') {
                return missing_value("--out");
            }
            out = val;
            break;
        case 'm':
            if (parse_u64(val, SYNTH_MINUTES_MAX, &v) != MD_OK || v == 0) {
                fprintf(stderr,
                        "ccstream synth: --minutes '%.80s': a whole number "
                        "1..%u\n",
                        val, SYNTH_MINUTES_MAX);
                return 2;
            }
            o.minutes = (uint32_t)v;
            break;
        case 's':
            if (parse_u64(val, UINT64_MAX, &v) != MD_OK) {
                fprintf(stderr,
                        "ccstream synth: --seed '%.80s': a whole number "
                        "0..18446744073709551615\n",
                        val);
                return 2;
            }
            o.seed = v;
            break;
        case 'F':
            if (parse_u64(val, UINT64_MAX, &v) != MD_OK || v == 0) {
                fprintf(stderr,
                        "ccstream synth: --frames '%.80s': a whole number "
                        ">= 1\n",
                        val);
                return 2;
            }
            o.max_frames = v;
            break;
        case 'y':
            if (synth_set_symbols(&o, val, err, sizeof err) != MD_OK) {
                fprintf(stderr, "ccstream synth: --symbols: %s\n", err);
                return 2;
            }
            break;
        case 'x':
            if (synth_set_exchange(&o, val, err, sizeof err) != MD_OK) {
                fprintf(stderr, "ccstream synth: --exchange: %s\n", err);
                return 2;
            }
            break;
        case 'S':
            if (synth_parse_start(val, &o.start_s) != MD_OK) {
                fprintf(stderr,
                        "ccstream synth: --start '%.80s': unix seconds or "
                        "YYYY-MM-DDTHH:MM:SSZ, 2000..2099 (the session ends "
                        "before 2100)\n",
                        val);
                return 2;
            }
            break;
        case 'c':
            o.scenario = synth_scenario_from_name(val);
            if (o.scenario == SYNTH_SC_INVALID) {
                int sc;
                fprintf(stderr,
                        "ccstream synth: unknown scenario '%.80s'; one of:",
                        val);
                for (sc = SYNTH_SC_INVALID + 1; sc < SYNTH_SC__COUNT; sc++) {
                    fprintf(stderr, " %s", synth_scenario_name(sc));
                }
                fputc('\n', stderr);
                return 2;
            }
            break;
        case ':':
            return 2;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ccstream synth: unexpected argument '%.80s'\n",
                argv[optind]);
        usage(stderr);
        return 2;
    }
    if (out == NULL) {
        fprintf(stderr, "ccstream synth: --out FILE is required\n");
        usage(stderr);
        return 2;
    }
    {
        /* the whole session (and an hour of slack for its REST history)
         * before 2100-01-01, the latest time ccstream handles */
        const int64_t end_max = INT64_C(4102444800);
        int64_t latest = end_max - (int64_t)o.minutes * 60 - 3600 - 1;
        if (o.start_s > latest) {
            char t[40];
            fprintf(stderr, "ccstream synth: --start: a %u-minute session "
                    "must end before 2100-01-01T00:00:00Z; start at %s at "
                    "the latest\n", o.minutes,
                    store_fmt_utc(latest * INT64_C(1000000000), 0, t,
                                  sizeof t));
            return 2;
        }
    }
    if (stat(out, &sb) == 0) {
        if (!force) {
            fprintf(stderr,
                    "ccstream synth: %s exists; not overwriting it "
                    "(--force replaces it)\n",
                    out);
            return 1;
        }
        if (!S_ISREG(sb.st_mode)) {
            fprintf(stderr, "ccstream synth: cannot replace %s: not a "
                    "regular file\n", out);
            return 1;
        }
    }
    /* written under a temporary name, put in place when complete: an
     * interrupted or failed run leaves nothing under the name */
    if (outfile_db_begin(out, tmp, sizeof tmp, err, sizeof err) != MD_OK) {
        fprintf(stderr, "ccstream synth: %s\n", err);
        return 1;
    }
    outfile_on_signal(tmp);
    memset(&prog, 0, sizeof prog);
    prog.t_start = prog.t_last = mono_s();
    if (isatty(STDERR_FILENO)) {
        o.progress = on_progress;
        o.progress_ctx = &prog;
    }
    err[0] = '\0';
    rc = synth_write(&o, tmp, &st, err, sizeof err);
    secs = mono_s() - prog.t_start;
    if (prog.shown) {
        fputc('\n', stderr);
    }
    if (rc != MD_OK) {
        outfile_db_remove(tmp);
        outfile_forget(tmp);
        /* the messages name the temporary file: say the real one */
        outfile_msg_names(err, sizeof err, tmp, out);
    } else {
        rc = outfile_db_commit(tmp, out, force, err, sizeof err);
        outfile_forget(tmp);
        if (rc != MD_OK) {
            fprintf(stderr, "ccstream synth: %s\n", err);
            return 1;
        }
    }
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream synth: %s: %s\n", out,
                err[0] != '\0' ? err : md_strerror(rc));
        return rc == MD_E_USAGE ? 2 : 1;
    }
    if (stat(out, &sb) != 0) {
        sb.st_size = 0;
    }
    printf("ccstream synth: %s: scenario %s, seed %" PRIu64 ", %" PRIu64
           " frames (%" PRIu64 " in, %" PRIu64 " out), %" PRIu64
           " connections (%" PRIu64 " ws, %s), %" PRIu64
           " REST requests, %" PRIu64 " events, %.1f MB payload, "
           "%.1f MB file, %.1f min of session, %.2f s\n",
           out, synth_scenario_name(o.scenario), o.seed, st.frames,
           st.frames_in, st.frames_out,
           st.ws_connections + (st.rest_requests > 0 ? 1 : 0),
           st.ws_connections, st.rest_requests > 0 ? "1 rest" : "no rest",
           st.rest_requests, st.events, (double)st.payload_bytes / 1e6,
           (double)sb.st_size / 1e6, (double)st.span_ns / 60e9, secs);
    return 0;
}
