/* cmd_tail.c: `ccstream tail`: read bars back from Kafka (msgpack or JSON
 * values, told apart by the content-type header, else by their first
 * byte) and print them as a table or as JSON lines, for people and for
 * tests. A revision that supersedes one already printed is marked. */
#include <getopt.h>
#include <regex.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "bar_codec.h"
#include "bar_num.h"
#include "kafka.h"
#include "cli.h"
#include "md_fnv.h"
#include "cli_kafka.h"
#include "md_err.h"
#include "md_parse.h"

static volatile sig_atomic_t g_stop;

/* A connection setting no retry can fix (a wrong CA, a refused
 * password), as librdkafka reported it: tail stops on it instead of
 * waiting for bars that cannot come. */
struct tail_err {
    int err;
    char why[512];
    const char *(*props)[2];
    unsigned n_props;
};

static struct tail_err *g_te; /* for assign_now's wait */

static void on_error(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque)
{
    struct tail_err *te = opaque;

    (void)rk;
    if (te->err == 0 && pub_kafka_error_is_setup(err)) {
        te->err = err;
        snprintf(te->why, sizeof te->why, "%s%s", reason,
                 pub_kafka_sasl_hint(err, te->props, te->n_props));
    }
}

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ccstream tail --brokers LIST [options]\n"
        "\n"
        "Print the bars in Kafka topics: one line per record, as a table\n"
        "(the default) or as the bars' JSON lines.\n"
        "\n"
        "  --brokers LIST     host:port,... (bootstrap servers)\n"
        "  --topic PATTERN    a topic, or a regular expression starting\n"
        "                     with ^ (default ^ohlcv\\..*)\n"
        "  --from-beginning   every record kept (default: new ones only)\n"
        "  --exit-at-end      stop once every partition is read to its end\n"
        "  --count N          stop after N bars\n"
        "  --timeout DUR      stop after DUR without a record (default:\n"
        "                     never; with --exit-at-end: 30s)\n"
        "  --format F         table (default) or json\n"
        "  -X KEY=VALUE       a librdkafka consumer property; -X @FILE:\n"
        "                     KEY=VALUE lines from FILE (values never\n"
        "                     printed)\n"
        "  -h, --help         this text\n"
        "\n"
        "A revision that supersedes a bar printed before is marked '^' in\n"
        "the table (a consumer keeps the highest revision of each bar).\n"
        "Exit status: 0 ok, 1 error (a record that is not a bar is reported\n"
        "and counted, and makes the status 1), 2 usage.\n");
}

/* Revisions seen per bar identity: a small open-addressing table. */
struct seen {
    uint64_t *h;
    uint32_t *rev;
    size_t mask, n;
};

static uint64_t ident_hash(const struct bar *b)
{
    uint64_t h = MD_FNV1A64_BASIS;
    const char *parts[3] = {b->market, b->base, b->quote};
    int i;

    for (i = 0; i < 3; i++) {
        h = md_fnv1a64(h, parts[i], strlen(parts[i]));
        h = md_fnv1a64(h, "\xff", 1); /* no byte of a name */
    }
    h ^= (uint64_t)b->interval_s * 0x9E3779B97F4A7C15u;
    h ^= (uint64_t)b->start_ms * 0xBF58476D1CE4E5B9u;
    h ^= (uint64_t)b->source;
    return h ? h : 1;
}

/* 1 if b supersedes a revision seen before (and remember it). */
static int supersedes(struct seen *s, const struct bar *b)
{
    uint64_t h = ident_hash(b);
    size_t i;

    if ((s->n + 1) * 2 > s->mask) {
        size_t cap = s->mask ? (s->mask + 1) * 2 : 1024, k;
        uint64_t *nh = calloc(cap, sizeof *nh);
        uint32_t *nr = calloc(cap, sizeof *nr);
        if (nh == NULL || nr == NULL) {
            free(nh);
            free(nr);
            return 0;
        }
        for (k = 0; s->h != NULL && k <= s->mask; k++) {
            if (s->h[k] != 0) {
                size_t j = (size_t)s->h[k] & (cap - 1);
                while (nh[j] != 0) {
                    j = (j + 1) & (cap - 1);
                }
                nh[j] = s->h[k];
                nr[j] = s->rev[k];
            }
        }
        free(s->h);
        free(s->rev);
        s->h = nh;
        s->rev = nr;
        s->mask = cap - 1;
    }
    for (i = (size_t)h & s->mask; s->h[i] != 0; i = (i + 1) & s->mask) {
        if (s->h[i] == h) {
            int sup = b->revision > s->rev[i];
            if (sup) {
                s->rev[i] = b->revision;
            }
            return sup;
        }
    }
    s->h[i] = h;
    s->rev[i] = b->revision;
    s->n++;
    return 0;
}

static void print_table(const struct bar *b, const char *topic, int sup)
{
    char start[32], iv[16], v[64] = "-";
    time_t secs = (time_t)(b->start_ms / 1000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    strftime(start, sizeof start, "%Y-%m-%d %H:%M", &tm);
    bar_interval_name(b->interval_s, iv, sizeof iv);
    if (b->has & BAR_HAS_VOLUME) {
        bar_scaled_to_text(b->volume, BAR_VOL_DIGITS, v, sizeof v);
    }
    printf("%-16s  %-8s %3s/%-4s %-3s %-6s", start, b->market, b->base,
           b->quote, iv, bar_source_name(b->source));
    if (b->has & BAR_HAS_OHLC) {
        printf(" %12.2f %12.2f %12.2f %12.2f", b->open, b->high, b->low,
               b->close);
    } else {
        printf(" %51s", "-");
    }
    printf(" %14s r%-2u%s %-8s %s\n", v, b->revision, sup ? "^" : " ",
           bar_close_name(b->close_reason), topic);
}

/* --exit-at-end: assign every partition of the topics matching pattern
 * (a regular expression when it starts with '^', as in a subscription,
 * else one name), from the beginning or the end. 0, or the exit status
 * after an error on stderr. */
static int assign_now(rd_kafka_t *rk, const char *pattern, bool begin,
                      const char *brokers)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *asg;
    bool is_re = pattern[0] == '^';
    regex_t re;
    int t, p, rc = 0;

    if (is_re && regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        fprintf(stderr, "ccstream tail: --topic %s: not a regular "
                "expression\n", pattern);
        return 2;
    }
    /* a second at a time, serving librdkafka's error events between: a
     * refused TLS handshake or password ends the wait (on_error) */
    for (t = 0; t < 10; t++) {
        if (rd_kafka_metadata(rk, 1, NULL, &md, 1000) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            break;
        }
        md = NULL;
        rd_kafka_poll(rk, 0);
        if (g_te != NULL && g_te->err != 0) {
            break;
        }
    }
    if (md == NULL) {
        if (g_te == NULL || g_te->err == 0) {
            fprintf(stderr, "ccstream tail: no metadata from %s in 10 s\n",
                    brokers);
        }
        if (is_re) {
            regfree(&re);
        }
        return 1;
    }
    asg = rd_kafka_topic_partition_list_new(8);
    for (t = 0; t < md->topic_cnt; t++) {
        const struct rd_kafka_metadata_topic *mt = &md->topics[t];
        if (mt->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
            strncmp(mt->topic, "__", 2) == 0 ||
            (is_re ? regexec(&re, mt->topic, 0, NULL, 0) != 0
                   : strcmp(mt->topic, pattern) != 0)) {
            continue;
        }
        for (p = 0; p < mt->partition_cnt; p++) {
            rd_kafka_topic_partition_list_add(asg, mt->topic,
                                              mt->partitions[p].id)
                ->offset = begin ? RD_KAFKA_OFFSET_BEGINNING
                                 : RD_KAFKA_OFFSET_END;
        }
    }
    if (asg->cnt == 0) {
        fprintf(stderr, "ccstream tail: no topic matches %s at %s\n",
                pattern, brokers);
        rc = 1;
    } else if (rd_kafka_assign(rk, asg) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "ccstream tail: cannot read %s\n", pattern);
        rc = 1;
    }
    rd_kafka_topic_partition_list_destroy(asg);
    rd_kafka_metadata_destroy(md);
    if (is_re) {
        regfree(&re);
    }
    return rc;
}

int cmd_tail(int argc, char **argv)
{
    enum { O_BROKERS = 256, O_TOPIC, O_BEGIN, O_END, O_COUNT, O_TIMEOUT,
           O_FORMAT };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"brokers", required_argument, NULL, O_BROKERS},
        {"topic", required_argument, NULL, O_TOPIC},
        {"from-beginning", no_argument, NULL, O_BEGIN},
        {"exit-at-end", no_argument, NULL, O_END},
        {"count", required_argument, NULL, O_COUNT},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"format", required_argument, NULL, O_FORMAT},
        {NULL, 0, NULL, 0},
    };
    const char *brokers = NULL, *topic = "^ohlcv\\..*";
    const char *props[64][2];
    struct tail_err te = {0, "", NULL, 0};
    unsigned n_props = 0, i;
    bool begin = false, at_end = false, json = false;
    uint64_t count = 0, printed = 0, bad = 0;
    int64_t timeout_ns = 0;
    int c, status = 0;
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *subs;
    char errstr[512], group[64];
    struct seen seen = {0};
    struct timespec last;
    size_t eofs = 0;

    cli_opt_begin();
    while ((c = cli_opt_next("tail", argc, argv, ":hX:", longopts)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case O_BROKERS:
            brokers = optarg;
            break;
        case O_TOPIC:
            topic = optarg;
            break;
        case O_BEGIN:
            begin = true;
            break;
        case O_END:
            at_end = true;
            break;
        case O_COUNT:
            if (md_parse_u64(optarg, strlen(optarg), UINT64_MAX, &count) !=
                    MD_OK ||
                count == 0) {
                fprintf(stderr, "ccstream tail: --count takes a positive "
                                "whole number\n");
                return 2;
            }
            break;
        case O_TIMEOUT:
            if (md_parse_duration(optarg, strlen(optarg), 1000000000,
                                  INT64_C(86400) * 1000000000,
                                  &timeout_ns) != MD_OK ||
                timeout_ns <= 0) {
                fprintf(stderr, "ccstream tail: --timeout takes a positive "
                                "duration (30s, 2m)\n");
                return 2;
            }
            break;
        case O_FORMAT:
            if (strcmp(optarg, "json") == 0) {
                json = true;
            } else if (strcmp(optarg, "table") != 0) {
                fprintf(stderr, "ccstream tail: --format takes table or "
                                "json\n");
                return 2;
            }
            break;
        case 'X': {
            int rc = cli_kafka_prop("tail", optarg, props, &n_props, 64);
            if (rc != 0) {
                return rc;
            }
            break;
        }
        default:
            usage(stderr);
            return 2;
        }
    }
    if (brokers == NULL || optind != argc) {
        fprintf(stderr, "ccstream tail: %s\n",
                brokers == NULL ? "--brokers is required" : "no operands");
        usage(stderr);
        return 2;
    }
    if (at_end && timeout_ns == 0) {
        timeout_ns = INT64_C(30) * 1000000000;
    }
    conf = rd_kafka_conf_new();
    snprintf(group, sizeof group, "ccstream-tail-%d-%lld", (int)getpid(),
             (long long)time(NULL));
    {
        const char *defaults[][2] = {
            {"bootstrap.servers", brokers},
            {"group.id", group},
            {"auto.offset.reset", begin ? "earliest" : "latest"},
            {"enable.auto.commit", "false"},
            {"enable.partition.eof", "true"},
            {"topic.metadata.refresh.interval.ms", "5000"},
            {"log_level", "3"},
        };
        for (i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
            if (rd_kafka_conf_set(conf, defaults[i][0], defaults[i][1],
                                  errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "ccstream tail: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return 1;
            }
        }
        for (i = 0; i < n_props; i++) {
            if (rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr,
                                  sizeof errstr) != RD_KAFKA_CONF_OK) {
                char msg[1024];
                pub_kafka_conf_error(msg, sizeof msg, props[i][0],
                                     props[i][1], errstr);
                fprintf(stderr, "ccstream tail: %s\n", msg);
                rd_kafka_conf_destroy(conf);
                return 2;
            }
        }
    }
    g_te = &te;
    te.props = props;
    te.n_props = n_props;
    rd_kafka_conf_set_opaque(conf, &te);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        fprintf(stderr, "ccstream tail: %s\n", errstr);
        return 1;
    }
    if (at_end) {
        /* what is there now: every partition of every matching topic,
         * assigned at once (a group subscription may assign the topics
         * one rebalance at a time, and the end of the first would look
         * like the end of all) */
        int rc = assign_now(rk, topic, begin, brokers);
        if (rc != 0) {
            if (te.err != 0) {
                fprintf(stderr, "ccstream tail: Kafka at %s: %s (check -X "
                        "security.protocol and the ssl.* or sasl.* "
                        "properties)\n", brokers, te.why);
            }
            rd_kafka_destroy(rk);
            return rc;
        }
    } else {
        subs = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(subs, topic, RD_KAFKA_PARTITION_UA);
        if (rd_kafka_subscribe(rk, subs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "ccstream tail: cannot subscribe to %s\n", topic);
            rd_kafka_topic_partition_list_destroy(subs);
            rd_kafka_destroy(rk);
            return 1;
        }
        rd_kafka_topic_partition_list_destroy(subs);
    }
    /* from here the main queue's events (errors) come through
     * rd_kafka_consumer_poll */
    rd_kafka_poll_set_consumer(rk);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!json) {
        printf("%-16s  %-8s %-8s %-3s %-6s %12s %12s %12s %12s %14s %-4s "
               "%-8s %s\n",
               "bar start (UTC)", "market", "pair", "iv", "source", "open",
               "high", "low", "close", "volume", "rev", "reason", "topic");
    }
    clock_gettime(CLOCK_MONOTONIC, &last);
    while (!g_stop && (count == 0 || printed < count)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        struct timespec now;
        if (te.err != 0) {
            fprintf(stderr, "ccstream tail: Kafka at %s: %s (check -X "
                    "security.protocol and the ssl.* or sasl.* "
                    "properties)\n", brokers, te.why);
            if (m != NULL) {
                rd_kafka_message_destroy(m);
            }
            status = 1;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (m == NULL) {
            int64_t idle = (now.tv_sec - last.tv_sec) * 1000000000LL +
                           (now.tv_nsec - last.tv_nsec);
            if (timeout_ns > 0 && idle > timeout_ns) {
                if (at_end && eofs == 0) {
                    fprintf(stderr, "ccstream tail: nothing from %s in %.0f "
                            "s\n", brokers, (double)timeout_ns / 1e9);
                    status = 1;
                }
                break;
            }
            continue;
        }
        last = now;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_topic_partition_list_t *asg = NULL;
            eofs++;
            if (at_end && rd_kafka_assignment(rk, &asg) == 0 && asg) {
                /* every assigned partition at its end? */
                int k, done = 1;
                for (k = 0; k < asg->cnt; k++) {
                    rd_kafka_topic_partition_t *tp = &asg->elems[k];
                    int64_t lo, hi, pos;
                    rd_kafka_topic_partition_list_t *one =
                        rd_kafka_topic_partition_list_new(1);
                    rd_kafka_topic_partition_list_add(one, tp->topic,
                                                      tp->partition);
                    rd_kafka_position(rk, one);
                    pos = one->elems[0].offset;
                    rd_kafka_topic_partition_list_destroy(one);
                    /* watermarks not known yet (no fetch answered for
                     * that partition): not at its end */
                    if (rd_kafka_get_watermark_offsets(rk, tp->topic,
                                                       tp->partition, &lo,
                                                       &hi) != 0 ||
                        lo < 0 || hi < 0 || (hi > lo && pos < hi)) {
                        done = 0;
                    }
                }
                rd_kafka_topic_partition_list_destroy(asg);
                if (done) {
                    rd_kafka_message_destroy(m);
                    break;
                }
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "ccstream tail: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        {
            struct bar b;
            const unsigned char *p = m->payload;
            int rc = MD_E_PROTO;
            if (m->len > 0 && p[0] == '{') {
                rc = bar_from_json((const char *)p, m->len, &b, NULL);
            } else if (m->len > 0) {
                rc = bar_from_msgpack(p, m->len, &b, NULL);
            }
            if (rc != MD_OK) {
                fprintf(stderr, "ccstream tail: %s [%d] offset %" PRId64
                        ": not a bar (%s)\n",
                        rd_kafka_topic_name(m->rkt), (int)m->partition,
                        (int64_t)m->offset, md_strerror(rc));
                bad++;
                status = 1;
            } else if (json) {
                char buf[4096];
                size_t n = 0;
                if (bar_to_json(&b, buf, sizeof buf, &n) == MD_OK) {
                    fwrite(buf, 1, n, stdout);
                    putchar('\n');
                }
                printed++;
            } else {
                print_table(&b, rd_kafka_topic_name(m->rkt),
                            supersedes(&seen, &b));
                printed++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    free(seen.h);
    free(seen.rev);
    fprintf(stderr, "tail: %" PRIu64 " bars%s%" PRIu64 " records not bars\n",
            printed, bad ? ", " : ", ", bad);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        return 1;
    }
    return status;
}
