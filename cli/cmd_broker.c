/* cmd_broker.c: `ccstream broker`: librdkafka's mock cluster on loopback,
 * its bootstrap address printed, until SIGINT/SIGTERM: a Kafka for trying
 * ccstream without one (`make run`), not for keeping data (in memory,
 * idempotence yes, transactions no: feasibility.md, section 1). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "cli.h"
#include "md_err.h"
#include "md_parse.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

int cmd_broker(int argc, char **argv)
{
    enum { O_BROKERS = 256, O_MAX_TIME };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"brokers", required_argument, NULL, O_BROKERS},
        {"max-time", required_argument, NULL, O_MAX_TIME},
        {NULL, 0, NULL, 0},
    };
    uint64_t n = 1;
    int64_t max_ns = 0;
    int c;
    rd_kafka_conf_t *conf;
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    char err[512];
    struct timespec t0, now, tick = {0, 100000000};

    cli_opt_begin();
    while ((c = cli_opt_next("broker", argc, argv, ":h", longopts)) != -1) {
        switch (c) {
        case 'h':
            printf("usage: ccstream broker [--brokers N] [--max-time DUR]\n"
                   "\n"
                   "Run librdkafka's mock cluster (N brokers, default 1) on\n"
                   "127.0.0.1 and print its bootstrap address on the first\n"
                   "line; stop at SIGINT/SIGTERM or after DUR. In memory:\n"
                   "for trying ccstream without a Kafka, not for keeping\n"
                   "data. Topics are made on demand by the producer.\n");
            return 0;
        case O_BROKERS:
            if (md_parse_u64(optarg, strlen(optarg), 16, &n) != MD_OK ||
                n == 0) {
                fprintf(stderr, "ccstream broker: --brokers takes 1 to "
                                "16\n");
                return 2;
            }
            break;
        case O_MAX_TIME:
            if (md_parse_duration(optarg, strlen(optarg), 1000000000,
                                  INT64_C(86400) * 366 * 1000000000,
                                  &max_ns) != MD_OK ||
                max_ns <= 0) {
                fprintf(stderr, "ccstream broker: --max-time takes a "
                                "positive duration\n");
                return 2;
            }
            break;
        default:
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "ccstream broker: no operands\n");
        return 2;
    }
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", NULL, 0);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) {
        fprintf(stderr, "ccstream broker: %s\n", err);
        return 1;
    }
    mc = rd_kafka_mock_cluster_new(rk, (int)n);
    if (mc == NULL) {
        fprintf(stderr, "ccstream broker: the mock cluster could not "
                        "start\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!g_stop) {
        nanosleep(&tick, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (max_ns > 0 && (now.tv_sec - t0.tv_sec) * 1000000000LL +
                                  (now.tv_nsec - t0.tv_nsec) >=
                              max_ns) {
            break;
        }
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
