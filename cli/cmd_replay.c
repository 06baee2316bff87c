/* cmd_replay.c: `ccstream replay`: drive the core from a capture under a
 * virtual clock (replay/replay.h) and write bars, the trace, a recording,
 * the transition coverage and a summary. */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_kafka.h"
#include "core.h"
#include "md_err.h"
#include "md_parse.h"
#include "outfile.h"
#include "replay.h"
#include "store.h"

static void on_interrupt(int sig)
{
    static const char msg[] = "\nccstream replay: interrupted: no more "
                              "input, flushing to the broker (again to "
                              "abandon)\n";

    (void)sig;
    if (write(2, msg, sizeof msg - 1) < 0) {
        /* nothing to do in a signal handler */
    }
    rpl_interrupt();
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ccstream replay CAPTURE.db [options]\n"
        "\n"
        "Feed a capture through the same core as live, under a virtual clock:\n"
        "every timer due at or before an input's time fires first, stamped\n"
        "with its deadline. The same capture gives byte-identical bars and\n"
        "trace at any speed.\n"
        "\n"
        "Mode (default: strict for recordings, what-if for everything else):\n"
        "  --strict           re-feed the recorded core inputs and compare every\n"
        "                     action with the recording; stop at the first\n"
        "                     divergence (exit 1), showing both sides\n"
        "  --what-if          frames at their recorded times; REST requests\n"
        "                     answered from the capture (method, path, sorted\n"
        "                     query); a virtual Kafka acknowledges each bar 1 ms\n"
        "                     after it is produced\n"
        "\n"
        "Output:\n"
        "  --bars-out FILE    bars to FILE ('-' = stdout); default: none\n"
        "  --bars-format F    json (JSON lines, default), msgpack (each record\n"
        "                     a 4-byte big-endian length, then msgpack), table\n"
        "  --trace FILE       one line per transition:\n"
        "                     t_ns machine state --input[guard]/output--> next\n"
        "                     ([guard]: the guard that chose the arm, when\n"
        "                     the cell has several; [else] the fallback)\n"
        "  --trace-quiet      leave the hot path's self-loops out of the trace\n"
        "                     (outputs -, FEED, BEAT, SUB_ACK, SUB_PROGRESS,\n"
        "                     ACK)\n"
        "  --record OUT.db    a new capture of every input this run fed the\n"
        "                     core, with its actions: replay it with --strict\n"
        "  --api-key-file F   the API key to scrub from the recording, on\n"
        "                     F's first line (default: $CCSTREAM_API_KEY)\n"
        "  --coverage FILE    the (machine, state, input) pairs exercised\n"
        "  --quiet            no summary (on stderr: events, frames, bars,\n"
        "                     late and duplicate trades, REST answers and\n"
        "                     misses, virtual and wall time, each thread's\n"
        "                     CPU time; a \"core:\" line when bars were lost,\n"
        "                     the bar store filled, or frames of streams or\n"
        "                     tickers beyond the tables were dropped)\n"
        "\n"
        "Speed:\n"
        "  --speed K          real time x K, 0.001 to 1000000 (default: as\n"
        "                     fast as possible)\n"
        "  --step             show each input and wait for Enter (a terminal)\n"
        "\n");
    fprintf(f,
        "Faults (what-if; T in s, or with a unit: 250ms, 2m; from the first\n"
        "event):\n"
        "  --inject publish-fail@T   the first delivery report at or after T\n"
        "                            fails\n"
        "  --inject topic-fail@T     the first topic creation after T fails\n"
        "  --inject drop@T           the WebSocket drops at T (code 1006)\n"
        "  --inject rest-fail@T      the first REST answer after T is a\n"
        "                            transport error\n"
        "  --inject stop@T, reset@T, start@T   the operator's commands\n"
        "  --inject frame@T:TEXT     the server sends TEXT on the open socket\n"
        "  --inject slow-close@T     closes from T on take 10 s\n"
        "  --inject rest-param@T     the first REST answer after T is a\n"
        "                            Type 2 parameter error\n"
        "  --inject kafka-slow@T     delivery reports and topic creations\n"
        "                            asked for from T on take 15 s\n"
        "  --inject stall@T          the server sends no frame for 100 s\n"
        "  --inject refuse-auth@T    the first connection attempt from T on\n"
        "                            is refused at the handshake (HTTP 401)\n"
        "  --inject refuse-rate@T    ... with HTTP 429\n"
        "  --inject publish-reject@T the first delivery report at or after T\n"
        "                            refuses its bar for good (dead letter);\n"
        "                            with --brokers embedded: the broker\n"
        "                            refuses the first Produce request from\n"
        "                            T on (INVALID_RECORD)\n"
        "  --inject kafka-fatal@T    the producer fails fatally at its first\n"
        "                            delivery report at or after T; with\n"
        "                            --brokers: before its first produce\n"
        "                            from T on (librdkafka's fatal error)\n"
        "  (with --brokers, the other Kafka faults are refused: they act on\n"
        "  the virtual broker)\n"
        "  --inject queue-full@T     the first produce from T on is refused\n"
        "                            at once (the producer's queue is full)\n"
        "  --inject half-open@T      the socket dies without a close for\n"
        "                            100 s: no frame, no pong to a ping\n"
        "  --inject rest-hang@T      the first REST request from T on is\n"
        "                            never answered (it times out)\n"
        "  (stop@0 and reset@0 come before the start; at most 16; T is a\n"
        "  duration from the first event: DIGITS[.DIGITS][ns|us|ms|s|m|h|d],\n"
        "  seconds without a unit; needs --what-if)\n"
        "\n"
        "Configuration (default: the capture's session, else BTC,ETH,LTC on\n"
        "Coinbase and CCCAGG against USD, 1m bars):\n"
        "  --symbols LIST  --exchange LIST --quote SYM  --intervals LIST\n"
        "  --ohlc          also the server's minute candles (TYPE 24) per\n"
        "                  symbol, their own series (source ohlc)\n"
        "                  (intervals: distinct whole-second durations up to\n"
        "                  7d, e.g. 1m,5m,1h; symbols: no empty entry);\n"
        "                  --bars-out writes the configured pairs' bars\n"
        "                  only, the summary counts the others and names\n"
        "                  configured pairs that made none\n"
        "  --topic T       the topic of each bar (default\n"
        "                  ohlcv.{market}.{interval}; also {base}, {quote},\n"
        "                  {source}): a topic is asked for by name when the\n"
        "                  first bar bound for it closes\n"
        "  --emit-empty    a flat synthetic bar for empty intervals\n"
        "\n");
    fprintf(f,
        "Kafka (what-if; default: a virtual broker acknowledging in 1 ms):\n"
        "  --brokers LIST  publish the bars through the real producer to\n"
        "                  host:port,... or 'embedded' (librdkafka's mock\n"
        "                  cluster in this process); virtual time waits for\n"
        "                  every report before the next input or timer\n"
        "  --kafka-format F  record values: msgpack (default) or json\n"
        "  --no-create-topics  the topics exist or the broker makes them on\n"
        "                  first use (ccstream broker): no Admin request\n"
        "  --topic-partitions N, --topic-replication N, --topic-retention T\n"
        "                  of the topics it creates (default 6, the\n"
        "                  broker's, the broker's); an existing topic with\n"
        "                  other partitions, or another replication or\n"
        "                  retention than given, is reported and not used;\n"
        "                  T may be 'forever' (a record's time is its\n"
        "                  bar's: history older than the retention is\n"
        "                  deleted at the broker's next check)\n"
        "  -X KEY=VALUE    a librdkafka property, as kcat takes it;\n"
        "  -X @FILE        KEY=VALUE lines from FILE ('#' comments), for\n"
        "                  secrets: values are never printed\n"
        "  --grace T       close a bar at its end + T (default 2s; T a\n"
        "                  duration as above, at most 7d)\n"
        "  --lateness T    revise a bar for late trades up to its end + T\n"
        "                  (default 120s; beyond: counted, in no bar)\n"
        "\n"
        "State (what-if; docs/delivery.md):\n"
        "  --state FILE    keep the core's checkpoint in FILE (a SQLite file,\n"
        "                  created if missing): written at the end, where\n"
        "                  the open bars stay open instead of being flushed,\n"
        "                  and every --checkpoint-every T of virtual time\n"
        "  --resume FILE   restore the checkpoint in FILE and continue the\n"
        "                  capture after the event it covers; the connection\n"
        "                  open then is gone with the process that had it: a\n"
        "                  gap opens from its last activity and is\n"
        "                  backfilled; checkpoints go on into FILE (or\n"
        "                  --state)\n"
        "  --until T       stop the input at T from the first event, as at\n"
        "                  the end of the capture\n"
        "  --stop-flush    flush the open bars at the end all the same\n"
        "                  (close reason flush): a resumed run revises them\n"
        "                  (revision + 1) instead of continuing them\n"
        "  with --brokers, the state file is also the outbox: every bar the\n"
        "  core closes is kept in it, committed with the checkpoint, until\n"
        "  the broker acknowledges it; bars left by a run before go first\n"
        "  --outbox-max N  bars not acknowledged at most (default 1000000)\n"
        "  --outbox-full P past it: wait (default: replay waits for the\n"
        "                  broker) or drop (each bar closing is dropped,\n"
        "                  counted and said, as a producer that must keep\n"
        "                  reading would; exit 1)\n"
        "  --exactly-once  a transactional producer: each transaction of\n"
        "                  bars also writes the last bar it holds to the\n"
        "                  compacted topic ccstream.progress; a\n"
        "                  read_committed consumer sees each bar once,\n"
        "                  through crashes (a real broker: not embedded)\n"
        "  --instance NAME its transactional.id is ccstream-NAME (default:\n"
        "                  the state file's own id); one producer per name\n"
        "\n"
        "Outputs (--bars-out, --trace, --coverage) are written to a\n"
        "temporary file beside their name and renamed into place when the\n"
        "run succeeds (a strict-mode divergence included); a failed run\n"
        "leaves none. An output may not name the capture or another output.\n"
        "\n"
        "Exit status: 0 ok, 1 error or strict-mode divergence (with --brokers:\n"
        "or a bar not delivered), 2 usage.\n");
}

static void write_coverage(FILE *f, const struct rpl_opts *o)
{
    unsigned m, s, i;

    for (m = 1; m < MD_M__COUNT; m++) {
        const struct fsm_def *d = core_defs[m];
        for (s = 1; s < d->nstates && s < 32; s++) {
            for (i = 1; i < d->ninputs && i < 64; i++) {
                if ((o->coverage[m][s] >> i) & 1u) {
                    fprintf(f, "%s\t%s\t%s\n", d->name, d->state_names[s],
                            d->input_names[i]);
                }
            }
        }
    }
}

/* The long options; values above any character. */
enum {
    OPT_STRICT = 256,
    OPT_WHATIF,
    OPT_QUIET,
    OPT_TRACE_QUIET,
    OPT_EMIT_EMPTY,
    OPT_STEP,
    OPT_BARS_OUT,
    OPT_BARS_FORMAT,
    OPT_TRACE,
    OPT_RECORD,
    OPT_COVERAGE,
    OPT_SPEED,
    OPT_INJECT,
    OPT_SYMBOLS,
    OPT_EXCHANGE,
    OPT_QUOTE,
    OPT_INTERVALS,
    OPT_OHLC,
    OPT_TOPIC,
    OPT_GRACE,
    OPT_LATENESS,
    OPT_API_KEY_FILE,
    OPT_BROKERS,
    OPT_KAFKA_FORMAT,
    OPT_NO_CREATE,
    OPT_TOPIC_PARTITIONS,
    OPT_TOPIC_REPLICATION,
    OPT_TOPIC_RETENTION,
    OPT_STATE,
    OPT_RESUME,
    OPT_UNTIL,
    OPT_CHECKPOINT_EVERY,
    OPT_OUTBOX_MAX,
    OPT_EXACTLY_ONCE,
    OPT_INSTANCE,
    OPT_OUTBOX_FULL,
    OPT_STOP_FLUSH
};

static const struct option longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"what-if", no_argument, NULL, OPT_WHATIF},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"trace-quiet", no_argument, NULL, OPT_TRACE_QUIET},
    {"emit-empty", no_argument, NULL, OPT_EMIT_EMPTY},
    {"step", no_argument, NULL, OPT_STEP},
    {"bars-out", required_argument, NULL, OPT_BARS_OUT},
    {"bars-format", required_argument, NULL, OPT_BARS_FORMAT},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"record", required_argument, NULL, OPT_RECORD},
    {"api-key-file", required_argument, NULL, OPT_API_KEY_FILE},
    {"coverage", required_argument, NULL, OPT_COVERAGE},
    {"speed", required_argument, NULL, OPT_SPEED},
    {"inject", required_argument, NULL, OPT_INJECT},
    {"symbols", required_argument, NULL, OPT_SYMBOLS},
    {"exchange", required_argument, NULL, OPT_EXCHANGE},
    {"quote", required_argument, NULL, OPT_QUOTE},
    {"intervals", required_argument, NULL, OPT_INTERVALS},
    {"ohlc", no_argument, NULL, OPT_OHLC},
    {"topic", required_argument, NULL, OPT_TOPIC},
    {"brokers", required_argument, NULL, OPT_BROKERS},
    {"kafka-format", required_argument, NULL, OPT_KAFKA_FORMAT},
    {"no-create-topics", no_argument, NULL, OPT_NO_CREATE},
    {"topic-partitions", required_argument, NULL, OPT_TOPIC_PARTITIONS},
    {"topic-replication", required_argument, NULL, OPT_TOPIC_REPLICATION},
    {"topic-retention", required_argument, NULL, OPT_TOPIC_RETENTION},
    {"grace", required_argument, NULL, OPT_GRACE},
    {"lateness", required_argument, NULL, OPT_LATENESS},
    {"state", required_argument, NULL, OPT_STATE},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"until", required_argument, NULL, OPT_UNTIL},
    {"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
    {"outbox-max", required_argument, NULL, OPT_OUTBOX_MAX},
    {"exactly-once", no_argument, NULL, OPT_EXACTLY_ONCE},
    {"outbox-full", required_argument, NULL, OPT_OUTBOX_FULL},
    {"stop-flush", no_argument, NULL, OPT_STOP_FLUSH},
    {"instance", required_argument, NULL, OPT_INSTANCE},
    {NULL, 0, NULL, 0},
};

int cmd_replay(int argc, char **argv)
{
    static struct rpl_opts o;
    struct rpl_summary sum;
    const char *bars = NULL, *trace = NULL, *cov = NULL, *fmt = "json";
    struct outfile bars_out, trace_out, cov_out;
    const char *record = NULL, *keyfile = NULL;
    char err[1024] = "", rec_tmp[4096], key[512];
    int c, rc, quiet = 0, status = 0;
    bool mode_given = false;

    rpl_opts_default(&o);
    memset(&bars_out, 0, sizeof bars_out);
    memset(&trace_out, 0, sizeof trace_out);
    memset(&cov_out, 0, sizeof cov_out);
    cli_opt_begin();
    while ((c = cli_opt_next("replay", argc, argv, ":hX:", longopts)) != -1) {
        const char *v = optarg;

        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case OPT_STRICT:
        case OPT_WHATIF:
            if (mode_given && o.mode != (c == OPT_STRICT ? RPL_STRICT
                                                         : RPL_WHATIF)) {
                fprintf(stderr, "ccstream replay: --strict and --what-if "
                        "exclude each other\n");
                return 2;
            }
            mode_given = true;
            o.mode = c == OPT_STRICT ? RPL_STRICT : RPL_WHATIF;
            break;
        case OPT_QUIET:
            quiet = 1;
            break;
        case OPT_TRACE_QUIET:
            o.trace_quiet = true;
            break;
        case OPT_EMIT_EMPTY:
            o.emit_empty = true;
            break;
        case OPT_STEP:
            o.step = true;
            break;
        case OPT_BARS_OUT:
            bars = v;
            break;
        case OPT_BARS_FORMAT:
            fmt = v;
            break;
        case OPT_TRACE:
            trace = v;
            break;
        case OPT_RECORD:
            o.record = record = v;
            break;
        case OPT_COVERAGE:
            cov = v;
            o.coverage_wanted = true;
            break;
        case OPT_SPEED:
            if (md_parse_real(v, strlen(v), 0.001, 1e6, &o.speed) !=
                MD_OK) {
                fprintf(stderr, "ccstream replay: bad --speed '%.64s' (a "
                        "number from 0.001 to 1000000)\n", v);
                return 2;
            }
            break;
        case OPT_INJECT:
            if (o.n_inject == RPL_MAX_INJECT) {
                fprintf(stderr, "ccstream replay: at most %d --inject\n",
                        RPL_MAX_INJECT);
                return 2;
            }
            if (rpl_add_inject(&o, v) != MD_OK) {
                fprintf(stderr, "ccstream replay: bad --inject '%.80s' "
                        "(publish-fail@T, topic-fail@T, drop@T, "
                        "rest-fail@T, stop@T, reset@T, start@T, "
                        "frame@T:TEXT, slow-close@T, rest-param@T, "
                        "kafka-slow@T, stall@T, refuse-auth@T, "
                        "refuse-rate@T, publish-reject@T, kafka-fatal@T, "
                        "queue-full@T, half-open@T, rest-hang@T; at most "
                        "%d)\n", v,
                        RPL_MAX_INJECT);
                return 2;
            }
            break;
        case OPT_SYMBOLS:
            o.symbols = v;
            break;
        case OPT_EXCHANGE:
            o.exchange = v;
            break;
        case OPT_QUOTE:
            o.quote = v;
            break;
        case OPT_OHLC:
            o.ohlc = true;
            break;
        case OPT_INTERVALS:
            o.intervals = v;
            break;
        case OPT_TOPIC:
            o.topic = v;
            break;
        case OPT_BROKERS:
            o.brokers = v;
            break;
        case OPT_NO_CREATE:
            o.kafka_no_create = true;
            break;
        case OPT_TOPIC_PARTITIONS:
        case OPT_TOPIC_REPLICATION: {
            uint64_t u;
            if (md_parse_u64(v, strlen(v), 10000, &u) != MD_OK || u == 0) {
                fprintf(stderr, "ccstream replay: %s takes 1 to 10000\n",
                        c == OPT_TOPIC_PARTITIONS ? "--topic-partitions"
                                                  : "--topic-replication");
                return 2;
            }
            if (c == OPT_TOPIC_PARTITIONS) {
                o.topic_partitions = (int)u;
            } else {
                o.topic_replication = (int)u;
            }
            break;
        }
        case OPT_STATE:
            o.state = v;
            break;
        case OPT_EXACTLY_ONCE:
            o.exactly_once = true;
            break;
        case OPT_STOP_FLUSH:
            o.stop_flush = true;
            break;
        case OPT_OUTBOX_FULL:
            if (strcmp(v, "wait") != 0 && strcmp(v, "drop") != 0) {
                fprintf(stderr, "ccstream replay: --outbox-full takes wait "
                        "or drop, not '%.64s'\n", v);
                return 2;
            }
            o.outbox_drop = strcmp(v, "drop") == 0;
            break;
        case OPT_INSTANCE: {
            size_t i, n = strlen(v);
            for (i = 0; i < n && (isalnum((unsigned char)v[i]) ||
                                  strchr("._-", v[i]) != NULL);
                 i++) {
            }
            if (n == 0 || n > 100 || i < n) {
                fprintf(stderr, "ccstream replay: --instance takes a name "
                        "of 1 to 100 characters [A-Za-z0-9._-], not "
                        "'%.64s'\n", v);
                return 2;
            }
            o.instance = v;
            break;
        }
        case OPT_OUTBOX_MAX: {
            char *end;
            unsigned long long n = strtoull(v, &end, 10);
            if (*v < '0' || *v > '9' || *end != '\0' || n == 0 ||
                n > 1000000000ULL) {
                fprintf(stderr, "ccstream replay: --outbox-max takes a "
                        "number of bars, 1 to 1000000000, not '%.64s'\n",
                        v);
                return 2;
            }
            o.outbox_max = n;
            break;
        }
        case OPT_RESUME:
            o.resume = v;
            break;
        case OPT_UNTIL:
        case OPT_CHECKPOINT_EVERY: {
            int64_t ns;
            if (md_parse_duration(v, strlen(v), 1000000000,
                                  INT64_C(3650) * 86400 * 1000000000,
                                  &ns) != MD_OK ||
                ns <= 0) {
                fprintf(stderr, "ccstream replay: %s takes a duration (90s, "
                        "2m, 1h), not '%.64s'\n",
                        c == OPT_UNTIL ? "--until" : "--checkpoint-every", v);
                return 2;
            }
            if (c == OPT_UNTIL) {
                o.until_ns = ns;
            } else {
                o.checkpoint_every_ns = ns;
            }
            break;
        }
        case OPT_TOPIC_RETENTION: {
            static char ms[32];
            int64_t ns;
            if (strcmp(v, "forever") == 0) {
                o.topic_retention_ms = "-1";
                break;
            }
            if (md_parse_duration(v, strlen(v), 1000000000,
                                  INT64_C(3650) * 86400 * 1000000000,
                                  &ns) != MD_OK ||
                ns < 1000000) {
                fprintf(stderr, "ccstream replay: --topic-retention takes a "
                                "duration (7d, 12h) or forever\n");
                return 2;
            }
            snprintf(ms, sizeof ms, "%lld", (long long)(ns / 1000000));
            o.topic_retention_ms = ms;
            break;
        }
        case OPT_KAFKA_FORMAT:
            if (strcmp(v, "msgpack") == 0) {
                o.kafka_format = 0;
            } else if (strcmp(v, "json") == 0) {
                o.kafka_format = 1;
            } else {
                fprintf(stderr, "ccstream replay: --kafka-format takes "
                                "msgpack or json\n");
                return 2;
            }
            break;
        case 'X': {
            int xrc = cli_kafka_prop("replay", optarg, o.kafka_props,
                                     &o.n_kafka_props, 64);
            if (xrc != 0) {
                return xrc;
            }
            break;
        }
        case OPT_GRACE:
            o.grace = v;
            break;
        case OPT_LATENESS:
            o.lateness = v;
            break;
        case OPT_API_KEY_FILE:
            keyfile = v;
            break;
        case ':':
            return 2;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        o.capture = argv[optind];
    }
    if (optind + 1 < argc) {
        fprintf(stderr, "ccstream replay: one capture only ('%.80s')\n",
                argv[optind + 1]);
        return 2;
    }
    if (o.mode == RPL_STRICT && o.n_inject > 0) {
        fprintf(stderr, "ccstream replay: --inject needs --what-if (strict "
                "replay feeds the recording's own inputs)\n");
        return 2;
    }
    if (o.capture == NULL) {
        fprintf(stderr, "ccstream replay: no capture given\n");
        usage(stderr);
        return 2;
    }
    if (strcmp(fmt, "json") == 0) {
        o.bars_fmt = RPL_BARS_JSON;
    } else if (strcmp(fmt, "msgpack") == 0) {
        o.bars_fmt = RPL_BARS_MSGPACK;
    } else if (strcmp(fmt, "table") == 0) {
        o.bars_fmt = RPL_BARS_TABLE;
    } else {
        fprintf(stderr, "ccstream replay: bad --bars-format '%.80s' (json, "
                "msgpack, table)\n", fmt);
        return 2;
    }
    {
        /* no output may name the capture, nor two outputs one file */
        static const char *const opt[4] = {"--bars-out", "--trace",
                                           "--coverage", "--record"};
        const char *outs[4] = {bars, trace, cov, o.record};
        size_t k, j;
        for (k = 0; k < 4; k++) {
            if (outfile_check(outs[k], &o.capture, 1, err, sizeof err) !=
                MD_OK) {
                fprintf(stderr, "ccstream replay: %s %s\n", opt[k], err);
                return 2;
            }
            for (j = 0; j < k; j++) {
                if (outs[k] != NULL && outs[j] != NULL &&
                    strcmp(outs[k], "-") != 0 &&
                    outfile_check(outs[k], &outs[j], 1, err, sizeof err) !=
                        MD_OK) {
                    fprintf(stderr, "ccstream replay: %s and %s name one "
                            "file (%s)\n", opt[j], opt[k], outs[k]);
                    return 2;
                }
            }
        }
    }
    if (record != NULL) {
        /* a new capture, written under a temporary name and put in place
         * when the run succeeds; the key scrubbed from what it copies */
        if (cli_api_key(keyfile, key, sizeof key, err, sizeof err) !=
            MD_OK) {
            fprintf(stderr, "ccstream replay: %s\n", err);
            return 2;
        }
        o.record_secret = key[0] != '\0' ? key : NULL;
        if (access(record, F_OK) == 0) {
            fprintf(stderr, "ccstream replay: --record %s: already exists "
                    "(a recording is a new capture)\n", record);
            return 1;
        }
        if (outfile_db_begin(record, rec_tmp, sizeof rec_tmp, err,
                             sizeof err) != MD_OK) {
            fprintf(stderr, "ccstream replay: %s\n", err);
            return 1;
        }
        outfile_on_signal(rec_tmp);
        o.record = rec_tmp;
    }
    if (bars != NULL) {
        if (outfile_open(&bars_out, bars, "wb", NULL, 0, err, sizeof err) !=
            MD_OK) {
            fprintf(stderr, "ccstream replay: %s\n", err);
            return 1;
        }
        o.bars = bars_out.f;
        o.bars_name = strcmp(bars, "-") == 0 ? "standard output" : bars;
    }
    if (trace != NULL) {
        if (outfile_open(&trace_out, trace, "w", NULL, 0, err, sizeof err) !=
            MD_OK) {
            fprintf(stderr, "ccstream replay: %s\n", err);
            outfile_abort(&bars_out);
            return 1;
        }
        o.trace = trace_out.f;
        o.trace_name = strcmp(trace, "-") == 0 ? "standard output" : trace;
    }
    o.progress = isatty(2) && !quiet;
    if (o.brokers != NULL) {
        /* bars may be on their way to a broker: the first Ctrl-C stops
         * the input and flushes, the second abandons */
        outfile_on_first_signal(on_interrupt);
    }
    rc = rpl_run(&o, &sum, err, sizeof err);
    /* the outputs are kept whole or not at all */
    if (rc == MD_OK || (rc == MD_E_STATE && sum.divergences > 0)) {
        char werr[1024] = "";
        int wrc = outfile_commit(&bars_out, werr, sizeof werr);
        if (wrc == MD_OK) {
            wrc = outfile_commit(&trace_out, werr, sizeof werr);
        }
        if (wrc == MD_OK && cov != NULL) {
            wrc = outfile_open(&cov_out, cov, "w", NULL, 0, werr,
                               sizeof werr);
            if (wrc == MD_OK) {
                write_coverage(cov_out.f, &o);
                wrc = outfile_commit(&cov_out, werr, sizeof werr);
            }
        }
        if (wrc == MD_OK && record != NULL) {
            wrc = outfile_db_commit(rec_tmp, record, false, werr,
                                    sizeof werr);
            outfile_forget(rec_tmp);
            record = NULL;
        }
        if (wrc != MD_OK) {
            outfile_abort(&bars_out);
            outfile_abort(&trace_out);
            if (record != NULL) {
                outfile_db_remove(rec_tmp);
                outfile_forget(rec_tmp);
            }
            fprintf(stderr, "ccstream replay: %s\n", werr);
            return 1;
        }
    } else {
        outfile_abort(&bars_out);
        outfile_abort(&trace_out);
        if (record != NULL) {
            outfile_db_remove(rec_tmp);
            outfile_forget(rec_tmp);
            outfile_msg_names(err, sizeof err, rec_tmp, record);
        }
    }
    if (sum.capture_warning[0] != '\0') {
        fprintf(stderr, "ccstream replay: warning: %s\n",
                sum.capture_warning);
    }
    if (sum.capture_state == STORE_STATE_WRITING) {
        fprintf(stderr, "ccstream replay: warning: %s is incomplete (its "
                "writer never closed it): replayed what it holds\n",
                o.capture);
    }
    if (!quiet && (rc == MD_OK || sum.events > 0)) {
        /* a run that never started has nothing to sum up */
        rpl_print_summary(stderr, &sum);
    }
    if (rc == MD_E_STATE && sum.divergences > 0) {
        status = 1;
    } else if (rc == MD_OK && o.brokers != NULL) {
        /* published for real (interrupted or not): a failure if a bar
         * did not arrive */
        uint64_t lost = sum.kafka_undelivered + sum.bars_given_up +
                        sum.bars_topic_lost + sum.bars_lost +
                        sum.dead_lettered + sum.outbox_dead;
        if (lost > 0) {
            fprintf(stderr, "ccstream replay: %s%" PRIu64 " bars not "
                    "delivered to %s (see above)\n",
                    sum.interrupted ? "interrupted: " : "", lost,
                    o.brokers);
            status = 1;
        }
    } else if (rc != MD_OK) {
        fprintf(stderr, "ccstream replay: %s\n", err[0] ? err : md_strerror(rc));
        status = rc == MD_E_USAGE ? 2 : 1;
    }
    return status;
}
