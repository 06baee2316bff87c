/* cmd_live.c: ccstream live --brokers LIST [options]: the producer. A
 * live CryptoCompare session (WebSocket and REST, as capture runs it)
 * into the core; every bar it closes through the outbox of the state
 * file to Kafka (live/pub.h); optionally recorded (--record) so that any
 * incident replays exactly; status, JSON logs and Prometheus metrics for
 * operations; --shard K/N to share the subscriptions among instances.
 * docs/operations.md. */
#define _GNU_SOURCE /* strcasestr */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "cli.h"
#include "cli_conf.h"
#include "cli_kafka.h"
#include "cli_net.h"
#include "core.h"
#include "live.h"
#include "live_cmd.h"
#include "log.h"
#include "md_err.h"
#include "md_parse.h"
#include "metrics.h"
#include "metrics_http.h"
#include "outbox.h"
#include "pub.h"
#include "replay.h"
#include "stats.h"
#include "store.h"
#include "version.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ccstream live --brokers LIST [--state FILE] [options]\n"
        "\n"
        "The producer: a live CryptoCompare session (WebSocket and REST)\n"
        "into the core; every bar it closes goes through the outbox of the\n"
        "state file to Kafka, at least once (default) or exactly once; a\n"
        "restart continues from the state file's checkpoint and backfills\n"
        "what it missed. docs/operations.md.\n"
        "\n"
        "Source:\n"
        "  --symbols LIST      base symbols (default BTC,ETH,LTC)\n"
        "  --exchange LIST     the trade markets (default Coinbase)\n"
        "  --quote SYM         the quote currency (default USD)\n"
        "  --intervals LIST    bar intervals (default 1m)\n"
        "  --ohlc              also the server's minute candles\n"
        CLI_NET_HELP
        "  --backfill-settle T REST bars are asked for once this old (default\n"
        "                      120s: CryptoCompare's minutes are final by\n"
        "                      then)\n"
        "  --rest-share N      instances sharing this API key: each keeps to\n"
        "                      1/N of its REST budget (default: N of\n"
        "                      --shard; 1 with a key of its own)\n"
        "  --shard K/N         this instance's share of the subscriptions:\n"
        "                      those whose stable hash modulo N is K\n"
        "                      (0 <= K < N); each shard needs its own\n"
        "                      --state (default ccstream-K-of-N.state)\n"
        "\n");
    fprintf(f,
        "Kafka:\n"
        "  --brokers LIST      host:port,... (default $CCSTREAM_BROKERS)\n"
        "  --topic T           each bar's topic (default\n"
        "                      ohlcv.{market}.{interval}; also {base},\n"
        "                      {quote}, {source})\n"
        "  --kafka-format F    record values: msgpack (default) or json\n"
        "  --no-create-topics  the topics exist or the broker makes them\n"
        "  --topic-partitions N, --topic-replication N (default 6, the\n"
        "                      broker's) of the topics it creates\n"
        "  -X KEY=VALUE, -X @FILE, --kafka-property KEY=VALUE\n"
        "                      a librdkafka property (security.protocol,\n"
        "                      sasl.*, ssl.*); values are never printed\n"
        "  --exactly-once      transactions (transactional.id\n"
        "                      ccstream-INSTANCE): a read_committed consumer\n"
        "                      sees each bar once\n"
        "  --instance NAME     the transactional.id's suffix (default: the\n"
        "                      state file's id)\n"
        "\n"
        "State and delivery (docs/delivery.md):\n"
        "  --state FILE        the outbox and checkpoint (default\n"
        "                      ccstream.state); resumed when it exists\n"
        "  --checkpoint-every T  a checkpoint at least this often (1s)\n"
        "  --outbox-max N      bars not acknowledged at most (1000000);\n"
        "                      past it the bars closing are dropped,\n"
        "                      counted and said (a producer cannot wait)\n"
        "  --drain-timeout T   at exit, wait this long for the broker\n"
        "                      (default 10s); the rest stays in the state\n"
        "  --stop-flush        at exit, publish the open bars (partial;\n"
        "                      the restart then revises them)\n"
        "  --record FILE.db    also record the session (a capture:\n"
        "                      `ccstream replay FILE.db` does exactly what\n"
        "                      this run did)\n"
        "\n");
    fprintf(f,
        "Operations:\n"
        "  --metrics-listen A  Prometheus metrics on http://A/metrics\n"
        "                      (A: 127.0.0.1:9464, [::1]:9464, 0.0.0.0:PORT)\n"
        "  --log-format F      text (default) or json: one object per line\n"
        "  --status-every T    a status line this often (default 30s; 0:\n"
        "                      none)\n"
        "  --max-clock-skew T  warn when the local clock is further than T\n"
        "                      from the server's (default 2s; 0: never)\n"
        "  --duration T        stop after T (default: at SIGINT/SIGTERM)\n"
        "  --config FILE       settings, one KEY = VALUE per line (KEY: a\n"
        "                      long option here); flags win\n"
        "  --check-config      validate and print the effective\n"
        "                      configuration, without connecting\n"
        "  --bars-out FILE     also the bars as JSON lines (as replay)\n"
        "  --trace FILE        every transition of the machines\n"
        "  --quiet             no start-up summary, status or summary\n"
        "\n"
        "Exit status: 0 stopped, every bar acknowledged; 1 error; 2 usage or\n"
        "configuration; 3 the API key refused; 4 stopped with bars left in\n"
        "the state file (sent by the next run); 5 bars dropped (the outbox\n"
        "was full).\n");
}

enum {
    O_BROKERS = 256, O_DURATION, O_SYMBOLS, O_EXCHANGE, O_QUOTE,
    O_INTERVALS, O_OHLC, O_NET, O_NET_LAST = O_NET + CLI_NET__COUNT - 1,
    O_SHARD, O_TOPIC, O_FORMAT, O_NO_CREATE,
    O_PARTITIONS, O_REPLICATION, O_KPROP, O_EOS, O_INSTANCE, O_STATE,
    O_CKPT, O_OUTBOX_MAX, O_DRAIN, O_STOP_FLUSH, O_RECORD, O_METRICS,
    O_LOG_FORMAT, O_STATUS_EVERY, O_SKEW, O_CONFIG, O_CHECK, O_QUIET,
    O_BARS, O_TRACE, O_SETTLE, O_SHARE, O__END
};

static const struct option lo[] = {
    {"brokers", required_argument, NULL, O_BROKERS},
    {"duration", required_argument, NULL, O_DURATION},
    {"symbols", required_argument, NULL, O_SYMBOLS},
    {"exchange", required_argument, NULL, O_EXCHANGE},
    {"quote", required_argument, NULL, O_QUOTE},
    {"intervals", required_argument, NULL, O_INTERVALS},
    {"ohlc", no_argument, NULL, O_OHLC},
    CLI_NET_OPTIONS(O_NET),
    {"shard", required_argument, NULL, O_SHARD},
    {"topic", required_argument, NULL, O_TOPIC},
    {"kafka-format", required_argument, NULL, O_FORMAT},
    {"no-create-topics", no_argument, NULL, O_NO_CREATE},
    {"topic-partitions", required_argument, NULL, O_PARTITIONS},
    {"topic-replication", required_argument, NULL, O_REPLICATION},
    {"kafka-property", required_argument, NULL, O_KPROP},
    {"exactly-once", no_argument, NULL, O_EOS},
    {"instance", required_argument, NULL, O_INSTANCE},
    {"state", required_argument, NULL, O_STATE},
    {"checkpoint-every", required_argument, NULL, O_CKPT},
    {"outbox-max", required_argument, NULL, O_OUTBOX_MAX},
    {"drain-timeout", required_argument, NULL, O_DRAIN},
    {"stop-flush", no_argument, NULL, O_STOP_FLUSH},
    {"record", required_argument, NULL, O_RECORD},
    {"metrics-listen", required_argument, NULL, O_METRICS},
    {"log-format", required_argument, NULL, O_LOG_FORMAT},
    {"status-every", required_argument, NULL, O_STATUS_EVERY},
    {"max-clock-skew", required_argument, NULL, O_SKEW},
    {"config", required_argument, NULL, O_CONFIG},
    {"check-config", no_argument, NULL, O_CHECK},
    {"quiet", no_argument, NULL, O_QUIET},
    {"bars-out", required_argument, NULL, O_BARS},
    {"trace", required_argument, NULL, O_TRACE},
    {"backfill-settle", required_argument, NULL, O_SETTLE},
    {"rest-share", required_argument, NULL, O_SHARE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The value each option was given (for --check-config), by id. */
static const char *g_val[O__END - O_BROKERS];

static const char *opt_name(int id)
{
    const struct option *op;

    if (id == 'X') {
        return "kafka-property";
    }
    for (op = lo; op->name != NULL; op++) {
        if (op->val == id) {
            return op->name;
        }
    }
    return "?";
}

static int dur(const char *v, int64_t min_ns, int64_t *out)
{
    return md_parse_duration(v, strlen(v), MD_NS_PER_S,
                             INT64_C(366) * 86400 * MD_NS_PER_S, out) ==
                   MD_OK &&
                   *out >= min_ns
               ? MD_OK
               : MD_E_USAGE;
}

/* One option's value (a flag's or the configuration file's). */
static int set_opt(void *ctx, int id, const char *v, char *why, size_t n)
{
    struct live_cmd *c = ctx;
    uint64_t u;

    if (id >= O_BROKERS && id < O__END) {
        /* a flag given on the command line has no value: it is set */
        g_val[id - O_BROKERS] = v != NULL ? v : "true";
    }
    if (id >= O_NET && id <= O_NET_LAST) {
        return cli_net_opt(&c->lo, &c->key_file, id - O_NET, v, why, n);
    }
    switch (id) {
    case O_BROKERS:
        c->brokers = v;
        break;
    case O_DURATION:
        if (dur(v, 1, &c->lo.duration_ns) != MD_OK) {
            snprintf(why, n, "bad duration '%.64s' (e.g. 90s, 10m, 2h)", v);
            return MD_E_USAGE;
        }
        break;
    case O_SYMBOLS:
        c->ro.symbols = v;
        break;
    case O_EXCHANGE:
        c->ro.exchange = v;
        break;
    case O_QUOTE:
        c->ro.quote = v;
        break;
    case O_INTERVALS:
        c->ro.intervals = v;
        break;
    case O_OHLC:
        c->ro.ohlc = true;
        break;
    case O_SHARD: {
        char *e;
        unsigned long k = strtoul(v, &e, 10), m = 0;
        if (e != v && *e == '/') {
            const char *s = e + 1;
            m = strtoul(s, &e, 10);
            if (e == s) {
                m = 0;
            }
        }
        if (*e != '\0' || m == 0 || m > 65536 || k >= m) {
            snprintf(why, n, "takes K/N with 0 <= K < N <= 65536 (e.g. 0/3, "
                     "1/3, 2/3), not '%.32s'", v);
            return MD_E_USAGE;
        }
        c->ro.shard_k = (unsigned)k;
        c->ro.shard_n = (unsigned)m;
        break;
    }
    case O_TOPIC:
        c->ro.topic = v;
        break;
    case O_FORMAT:
        if (strcmp(v, "msgpack") == 0) {
            c->po.ko.format = 0;
        } else if (strcmp(v, "json") == 0) {
            c->po.ko.format = 1;
        } else {
            snprintf(why, n, "takes msgpack or json");
            return MD_E_USAGE;
        }
        break;
    case O_NO_CREATE:
        c->po.ko.no_create = 1;
        break;
    case O_PARTITIONS:
    case O_REPLICATION:
        if (md_parse_u64(v, strlen(v), 10000, &u) != MD_OK || u == 0) {
            snprintf(why, n, "takes 1 to 10000");
            return MD_E_USAGE;
        }
        if (id == O_PARTITIONS) {
            c->po.ko.partitions = (int)u;
        } else {
            c->po.ko.replication = (int)u;
        }
        break;
    case O_KPROP:
    case 'X': {
        char *copy;
        int rc;
        if (c->n_kept == LIVE_CMD_KEPT) {
            snprintf(why, n, "more than %d Kafka properties",
                     LIVE_CMD_KEPT);
            return MD_E_USAGE;
        }
        if ((copy = strdup(v)) == NULL) {
            snprintf(why, n, "out of memory");
            return MD_E_USAGE;
        }
        c->kept[c->n_kept++] = copy;
        rc = cli_kafka_prop("live", copy, c->po.ko.props, &c->po.ko.n_props,
                            PUB_KAFKA_MAX_PROPS);
        if (rc != 0) {
            snprintf(why, n, "see above");
            return MD_E_USAGE;
        }
        break;
    }
    case O_EOS:
        c->exactly_once = true;
        break;
    case O_INSTANCE:
        if (strlen(v) == 0 || strlen(v) > 100 ||
            strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789._-") != strlen(v)) {
            snprintf(why, n, "takes 1 to 100 of a-z A-Z 0-9 . _ -");
            return MD_E_USAGE;
        }
        c->instance = v;
        break;
    case O_STATE:
        c->state = v;
        break;
    case O_CKPT:
        if (dur(v, MD_NS_PER_S / 1000, &c->po.checkpoint_every_ns) !=
            MD_OK) {
            snprintf(why, n, "takes a duration (e.g. 1s, 500ms)");
            return MD_E_USAGE;
        }
        break;
    case O_OUTBOX_MAX:
        if (md_parse_u64(v, strlen(v), UINT64_C(1000000000), &u) != MD_OK ||
            u == 0) {
            snprintf(why, n, "takes 1 to 1000000000 bars");
            return MD_E_USAGE;
        }
        c->po.outbox_max = u;
        break;
    case O_DRAIN:
        if (dur(v, 0, &c->drain_ns) != MD_OK) {
            snprintf(why, n, "takes a duration (e.g. 10s)");
            return MD_E_USAGE;
        }
        break;
    case O_STOP_FLUSH:
        c->stop_flush = true;
        break;
    case O_RECORD:
        c->record = v;
        break;
    case O_METRICS:
        c->metrics = v;
        break;
    case O_LOG_FORMAT:
        if (strcmp(v, "json") != 0 && strcmp(v, "text") != 0) {
            snprintf(why, n, "takes text or json");
            return MD_E_USAGE;
        }
        md_log_json(strcmp(v, "json") == 0);
        break;
    case O_STATUS_EVERY:
        if (strcmp(v, "0") == 0) {
            c->status_every_ns = 0;
        } else if (dur(v, MD_NS_PER_S / 10, &c->status_every_ns) != MD_OK) {
            snprintf(why, n, "takes a duration (e.g. 30s) or 0");
            return MD_E_USAGE;
        }
        break;
    case O_SKEW:
        if (strcmp(v, "0") == 0) {
            c->skew_warn_ns = 0; /* never warn */
        } else if (dur(v, MD_NS_PER_S / 1000, &c->skew_warn_ns) != MD_OK) {
            snprintf(why, n, "takes a duration (e.g. 2s) or 0");
            return MD_E_USAGE;
        }
        break;
    case O_CHECK:
        c->check = true;
        break;
    case O_QUIET:
        c->quiet = true;
        break;
    case O_BARS:
        c->bars_name = v;
        break;
    case O_TRACE:
        c->trace_name = v;
        break;
    case O_SHARE:
        if (md_parse_u64(v, strlen(v), 65536, &u) != MD_OK || u == 0) {
            snprintf(why, n, "takes 1 to 65536 (the instances sharing the "
                     "API key)");
            return MD_E_USAGE;
        }
        c->rest_share = (unsigned)u;
        break;
    case O_SETTLE:
        if (dur(v, MD_NS_PER_S, &c->settle_ns) != MD_OK ||
            c->settle_ns > INT64_C(86400) * MD_NS_PER_S) {
            snprintf(why, n, "takes whole seconds up to 1d (e.g. 120s)");
            return MD_E_USAGE;
        }
        break;
    default:
        snprintf(why, n, "not an option of live");
        return MD_E_USAGE;
    }
    return MD_OK;
}

/* A property whose value may be a secret or hold one: never printed
 * (every sasl.* and ssl.* value, and any whose name says so). */
static bool secret_prop(const char *k)
{
    static const char *const words[] = {"password", "secret", "jaas",
                                        "key",      "token",  "credential",
                                        "oauth",    "url",    "auth"};
    size_t i;

    if (strncmp(k, "sasl.", 5) == 0 || strncmp(k, "ssl.", 4) == 0) {
        return true;
    }
    for (i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcasestr(k, words[i]) != NULL) {
            return true;
        }
    }
    return false;
}

/* --check-config: the effective configuration, as a configuration file
 * would say it, then what follows from it. */
static void print_config(struct live_cmd *c, FILE *f)
{
    const struct option *op;
    unsigned i;

    fprintf(f, "# ccstream live %s: the effective configuration\n",
            CCSTREAM_VERSION);
    for (op = lo; op->name != NULL; op++) {
        const char *v;
        if (op->val < O_BROKERS || op->val >= O__END ||
            op->val == O_NET + CLI_NET_KEY ||
            op->val == O_CONFIG || op->val == O_CHECK ||
            op->val == O_KPROP) {
            continue;
        }
        v = g_val[op->val - O_BROKERS];
        if (v == NULL) {
            continue;
        }
        fprintf(f, "%s = %s\n", op->name, op->has_arg == no_argument
                                              ? "true" : v);
    }
    for (i = 0; i < c->po.ko.n_props; i++) {
        const char *k = c->po.ko.props[i][0];
        fprintf(f, "kafka-property = %s=%s\n", k,
                secret_prop(k) ? "(hidden)" : c->po.ko.props[i][1]);
    }
    fprintf(f, "# brokers: %s\n", c->brokers);
    fprintf(f, "# API key: %s\n", c->key_source);
    fprintf(f, "# ws-url: %s\n# rest-url: %s\n", c->lo.ws_url,
            c->lo.rest_url);
    fprintf(f, "# state: %s (%s)\n", c->state,
            access(c->state, F_OK) == 0 ? "exists: resumed" : "new");
    fprintf(f, "# guarantee: %s\n", c->exactly_once ? "exactly once"
                                                     : "at least once");
    if (c->exactly_once) {
        fprintf(f, "# transactional.id: ccstream-%s\n",
                c->instance != NULL ? c->instance
                                    : "(the state file's id)");
    }
    if (c->ro.shard_n > 1) {
        fprintf(f, "# shard: %u of %u\n", c->ro.shard_k, c->ro.shard_n);
    }
    fprintf(f, "# series: %u; subscriptions: %u\n", c->n_series, c->n_subs);
    for (i = 0; i < c->n_subs; i++) {
        fprintf(f, "#   %s\n", c->subs[i]);
    }
}

int cmd_live(int argc, char **argv)
{
    static struct live_cmd c;
    int rc, ch;

    live_cmd_init(&c);
    {
        static const int skip[] = {'h', O_CONFIG, O_CHECK, 0};
        const char *cfile = cli_conf_file(argc, argv);
        if (cfile != NULL &&
            (rc = cli_conf_read(cfile, lo, skip, set_opt, &c, c.keep, c.err,
                                sizeof c.err)) != MD_OK) {
            fprintf(stderr, "ccstream live: %s\n", c.err);
            live_cmd_free(&c);
            return 2; /* the configuration file: unreadable or wrong */
        }
    }
    cli_opt_begin();
    while ((ch = cli_opt_next("live", argc, argv, ":hX:", lo)) != -1) {
        char why[400];
        if (ch == 'h') {
            usage(stdout);
            live_cmd_free(&c);
            return 0;
        }
        if (ch == O_CONFIG) {
            continue; /* read above */
        }
        if (ch == '?' || ch == ':') {
            usage(stderr);
            live_cmd_free(&c);
            return 2;
        }
        if (set_opt(&c, ch, optarg, why, sizeof why) != MD_OK) {
            fprintf(stderr, "ccstream live: --%s: %s\n", opt_name(ch), why);
            live_cmd_free(&c);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "ccstream live: no operands (options only)\n");
        usage(stderr);
        live_cmd_free(&c);
        return 2;
    }
    rc = live_cmd_prepare(&c);
    if (rc == MD_OK && c.check) {
        print_config(&c, stdout);
        live_cmd_free(&c);
        return 0;
    }
    if (rc == MD_OK) {
        rc = live_cmd_run(&c);
    } else {
        fprintf(stderr, "ccstream live: %s\n", c.err);
        rc = rc == MD_E_USAGE ? 2 : 1;
    }
    live_cmd_free(&c);
    return rc;
}
