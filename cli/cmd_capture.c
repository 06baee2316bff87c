/* cmd_capture.c: ccstream capture --out FILE.db [options]: a live session
 * against CryptoCompare (or `ccstream serve`) recorded into a new capture
 * while the core runs on it: every exchange, every core input and the
 * core's actions after it, so that `ccstream replay` of the file in strict
 * mode does exactly what this run did. docs/capture.md. */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli.h"
#include "cli_conf.h"
#include "cli_net.h"
#include "core.h"
#include "live.h"
#include "md_err.h"
#include "md_parse.h"
#include "replay.h"
#include "store.h"
#include "version.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ccstream capture --out FILE.db [--duration DUR]\n"
        "                        [--symbols LIST] [--exchange LIST]\n"
        "                        [--quote SYM] [--intervals LIST]\n"
        "                        [--ws-url URL] [--rest-url URL]\n"
        "                        [--api-key-file FILE] [--ca-file FILE]\n"
        "                        [--bars-out FILE] [--trace FILE]\n"
        "\n"
        "Record a live CryptoCompare session into a new capture while the\n"
        "core runs on it: every WebSocket frame and REST exchange with its\n"
        "connection events, and for each core input the core's actions, so\n"
        "that `ccstream replay FILE.db` (strict) does exactly what this run\n"
        "did. docs/capture.md.\n"
        "\n"
        "  --out FILE.db       the capture to create (must not exist)\n"
        "  --config FILE       settings, one KEY = VALUE per line (KEY: any\n"
        "                      long option here; '#' comments); flags win\n"
        "  --duration DUR      stop after DUR (e.g. 90s, 10m, 2h); default:\n"
        "                      at SIGINT or SIGTERM\n"
        "  --symbols LIST      base symbols (default BTC,ETH,LTC)\n"
        "  --exchange LIST     the trade markets (default Coinbase)\n"
        "  --quote SYM         the quote currency (default USD)\n"
        "  --intervals LIST    bar intervals (default 1m)\n"
        "  --ohlc              also subscribe the server's minute candles\n"
        "                      (24~CCCAGG~SYM~QUOTE~m), their own series\n"
        CLI_NET_HELP
        "  --bars-out FILE     the bars the core made, as JSON lines\n"
        "  --trace FILE        every transition of the machines\n"
        "  --quiet             no status line, no summary\n"
        "\n"
        "Exit status: 0 ok, 1 error, 2 usage.\n");
}

enum {
    O_OUT = 256, O_DURATION, O_SYMBOLS, O_EXCHANGE, O_QUOTE, O_INTERVALS,
    O_NET, O_NET_LAST = O_NET + CLI_NET__COUNT - 1,
    O_BARS, O_TRACE, O_QUIET, O_CONFIG, O_OHLC
};

static const struct option lo[] = {
    {"out", required_argument, NULL, O_OUT},
    {"duration", required_argument, NULL, O_DURATION},
    {"symbols", required_argument, NULL, O_SYMBOLS},
    {"exchange", required_argument, NULL, O_EXCHANGE},
    {"quote", required_argument, NULL, O_QUOTE},
    {"intervals", required_argument, NULL, O_INTERVALS},
    CLI_NET_OPTIONS(O_NET),
    {"bars-out", required_argument, NULL, O_BARS},
    {"trace", required_argument, NULL, O_TRACE},
    {"quiet", no_argument, NULL, O_QUIET},
    {"config", required_argument, NULL, O_CONFIG},
    {"ohlc", no_argument, NULL, O_OHLC},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct cap_opts {
    struct rpl_opts *ro;
    struct live_opts *o;
    const char *out, *key_file, *bars_name, *trace_name;
    bool quiet;
};

/* One option's value (a flag's or a configuration file's). MD_OK, or
 * MD_E_USAGE with why. */
static int set_opt(struct cap_opts *c, int id, const char *v, char *why,
                   size_t n)
{
    if (id >= O_NET && id <= O_NET_LAST) {
        return cli_net_opt(c->o, &c->key_file, id - O_NET, v, why, n);
    }
    switch (id) {
    case O_OUT:
        c->out = v;
        break;
    case O_DURATION:
        if (md_parse_duration(v, strlen(v), MD_NS_PER_S,
                              INT64_C(366) * 86400 * MD_NS_PER_S,
                              &c->o->duration_ns) != MD_OK ||
            c->o->duration_ns <= 0) {
            snprintf(why, n, "bad duration '%.64s' (e.g. 90s, 10m, 2h; at "
                     "most 366d)", v);
            return MD_E_USAGE;
        }
        break;
    case O_SYMBOLS:
        c->ro->symbols = v;
        break;
    case O_EXCHANGE:
        c->ro->exchange = v;
        break;
    case O_QUOTE:
        c->ro->quote = v;
        break;
    case O_INTERVALS:
        c->ro->intervals = v;
        break;
    case O_BARS:
        c->bars_name = v;
        break;
    case O_TRACE:
        c->trace_name = v;
        break;
    case O_QUIET:
        c->quiet = true;
        break;
    case O_OHLC:
        c->ro->ohlc = true;
        break;
    default:
        snprintf(why, n, "not an option of capture");
        return MD_E_USAGE;
    }
    return MD_OK;
}

static int set_opt_cb(void *ctx, int id, const char *v, char *why,
                      size_t n)
{
    return set_opt(ctx, id, v, why, n);
}

int cmd_capture(int argc, char **argv)
{
    static struct rpl_opts ro;
    static struct live lv;
    static char *keep[65];
    struct cap_opts co;
    struct live_opts o;
    struct core_config cfg;
    struct core core;
    struct store_session sess;
    struct store_writer *w = NULL;
    const char *out = NULL, *key_file = NULL, *bars_name = NULL;
    const char *trace_name = NULL;
    char key[512] = "", err[1024] = "", *sess_cfg = NULL;
    void *mem = NULL;
    bool quiet = false;
    uint64_t seed = 0;
    int c, rc;

    memset(&o, 0, sizeof o);
    memset(&co, 0, sizeof co);
    memset(&cfg, 0, sizeof cfg);
    rpl_opts_default(&ro);
    o.ws_url = "wss://streamer.cryptocompare.com/v2";
    o.rest_url = "https://min-api.cryptocompare.com";
    o.max_message = 16u << 20;
    co.ro = &ro;
    co.o = &o;
    {
        /* the configuration file first: flags given win over it */
        static const int skip[] = {'h', O_CONFIG, 0};
        const char *cfile = cli_conf_file(argc, argv);
        if (cfile != NULL &&
            (rc = cli_conf_read(cfile, lo, skip, set_opt_cb, &co, keep, err,
                                sizeof err)) != MD_OK) {
            fprintf(stderr, "ccstream capture: %s\n", err);
            cli_conf_free(keep);
            return rc == MD_E_USAGE ? 2 : 1;
        }
    }
    cli_opt_begin();
    while ((c = cli_opt_next("capture", argc, argv, ":h", lo)) != -1) {
        char why[400];
        if (c == 'h') {
            usage(stdout);
            cli_conf_free(keep);
            return 0;
        }
        if (c == O_CONFIG) {
            continue; /* read above */
        }
        if (c == '?' || c == ':' ||
            set_opt(&co, c, optarg, why, sizeof why) != MD_OK) {
            if (c != '?' && c != ':') {
                fprintf(stderr, "ccstream capture: --%s: %s\n",
                        lo[c - O_OUT].name, why);
            } else {
                usage(stderr);
            }
            cli_conf_free(keep);
            return 2;
        }
    }
    out = co.out;
    key_file = co.key_file;
    bars_name = co.bars_name;
    trace_name = co.trace_name;
    quiet = co.quiet;
    if (optind != argc || out == NULL) {
        fprintf(stderr, "ccstream capture: %s\n",
                out == NULL ? "where to? (--out FILE.db)"
                            : "no operands (options only)");
        usage(stderr);
        return 2;
    }
    if (access(out, F_OK) == 0) {
        fprintf(stderr, "ccstream capture: %s exists: a capture is never "
                "overwritten\n", out);
        return 1;
    }
    if (cli_api_key_live(key_file, key, sizeof key, err, sizeof err) !=
        MD_OK) {
        fprintf(stderr, "ccstream capture: %s\n", err);
        return 2;
    }
    o.api_key = key;
    /* no core file of this process (it holds the key) */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (o.insecure) {
        fprintf(stderr, "ccstream capture: WARNING: --insecure: the "
                "server's certificate is not checked; anyone on the path "
                "can read and alter this session and see the API key\n");
    }
    /* the core's configuration, and the session's that gives it back */
    rc = rpl_core_config(&ro, NULL, &cfg, err, sizeof err);
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream capture: %s\n", err);
        free(cfg.series);
        return rc == MD_E_USAGE ? 2 : 1;
    }
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        seed = (uint64_t)live_now();
    }
    cfg.seed = seed;
    cfg.trace = 1;
    if (rpl_session_config(&ro, NULL, &cfg, &sess_cfg) != MD_OK) {
        fprintf(stderr, "ccstream capture: out of memory\n");
        free(cfg.series);
        return 1;
    }
    {
        size_t need = core_mem_size(&cfg);
        mem = need != SIZE_MAX ? malloc(need) : NULL;
        rc = mem != NULL ? core_init(&core, &cfg, mem, need) : MD_E_NOMEM;
    }
    free(cfg.series);
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream capture: bad configuration: %s\n",
                md_strerror(rc));
        free(mem);
        free(sess_cfg);
        return 1;
    }
    if (bars_name != NULL && (o.bars = fopen(bars_name, "w")) == NULL) {
        perror(bars_name);
        free(mem);
        free(sess_cfg);
        return 1;
    }
    if (trace_name != NULL && (o.trace = fopen(trace_name, "w")) == NULL) {
        perror(trace_name);
        rc = 1;
        goto done;
    }
    o.status = !quiet && isatty(2);
    memset(&sess, 0, sizeof sess);
    sess.started_mono_ns = live_now();
    {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        sess.started_wall_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    sess.tool = "ccstream " CCSTREAM_VERSION;
    sess.kind = "capture";
    sess.config = sess_cfg;
    sess.prng_seed = seed;
    sess.core_version = CORE_VERSION;
    rc = store_writer_open(out, &sess, key[0] ? key : NULL, NULL, &w, err,
                           sizeof err);
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream capture: %s\n", err);
        rc = 1;
        goto done;
    }
    rc = live_init(&lv, &core, &o, w);
    if (rc == MD_OK) {
        rc = live_run(&lv);
    }
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream capture: %s\n", lv.err);
    }
    {
        /* a signal during the shutdown must not kill the process before
         * the capture is closed: held until then */
        sigset_t hold, prev;
        int crc;
        sigemptyset(&hold);
        sigaddset(&hold, SIGINT);
        sigaddset(&hold, SIGTERM);
        sigprocmask(SIG_BLOCK, &hold, &prev);
        live_free(&lv);
        crc = store_writer_close(w, err, sizeof err);
        if (crc != MD_OK) {
            /* the writer's message names the file; said once (the run's
             * own error said it already when it stopped the run) */
            if (rc == MD_OK) {
                fprintf(stderr, "ccstream capture: %s\n", err);
            }
            rc = crc;
        }
        /* live_free gave the signals back to their default action: one
         * held now is dropped (the run is over; its files close below) */
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        sigprocmask(SIG_SETMASK, &prev, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }
    if (!quiet) {
        fprintf(stderr, "capture: %s: %" PRIu64 " core inputs, %" PRIu64
                " frames, %" PRIu64 " bars (%" PRIu64 " revisions), %"
                PRIu64 " REST answers; receipt to core step p50 <= %.0f us, "
                "p99 <= %.0f us%s\n", out, lv.inputs, lv.frames,
                lv.bars, lv.revisions, lv.http_calls,
                (double)live_latency(&lv, 0.5) / 1e3,
                (double)live_latency(&lv, 0.99) / 1e3,
                lv.stop_signal ? "; stopped by a signal" : "");
        if (lv.withdrawn + lv.late_frames + lv.binary_frames > 0) {
            fprintf(stderr, "capture: not given to the core: %" PRIu64
                    " inputs withdrawn (their request cancelled or socket "
                    "closed by the core), %" PRIu64 " frames after a close "
                    "or past --max-message, %" PRIu64 " binary frames\n",
                    lv.withdrawn, lv.late_frames, lv.binary_frames);
        }
    }
    if (rc == MD_OK && lv.refused) {
        fprintf(stderr, "ccstream capture: the server refused the API key "
                "(UNAUTHORIZED): give a valid one with --api-key-file or "
                "$CRYPTOCOMPARE_API_KEY; %s holds the session up to it\n",
                out);
        rc = MD_E_STATE;
    }
    rc = rc == MD_OK ? 0 : 1;
done:
    if (o.bars != NULL && fclose(o.bars) != 0 && rc == 0) {
        fprintf(stderr, "ccstream capture: %s: write failed\n", bars_name);
        rc = 1;
    }
    if (o.trace != NULL && fclose(o.trace) != 0 && rc == 0) {
        fprintf(stderr, "ccstream capture: %s: write failed\n", trace_name);
        rc = 1;
    }
    explicit_bzero(key, sizeof key);
    free(mem);
    free(sess_cfg);
    cli_conf_free(keep);
    return rc;
}
