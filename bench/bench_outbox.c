/* bench_outbox.c: publishing bars into the real broker with the outbox on
 * (publish/pump.h: every bar written to the state file, committed, sent,
 * acknowledged, deleted) beside the publisher shell alone (outbox off),
 * in the same broker, taking turns.
 *
 *   bench_outbox [BARS]     (default 200000)
 *
 * The bars are bench_publish's (30 series, JSON values). Outbox off: the
 * shell produces them in windows of 50,000, all delivered. Outbox on: in
 * batches of 1,000 (a minute's bursts of closing bars), each bar written
 * to the outbox and handed over as produced, the batch committed with a
 * core's checkpoint (SQLite, WAL, synchronous=FULL: an fsync per batch,
 * in a state file under $TMPDIR or /var/tmp), the pump run between
 * batches, then every row acknowledged and its deletion committed.
 * Exactly once: the same through a transactional pump (transactions of
 * up to 10,000 bars with their progress record; a fresh instance each
 * round). Best of 3 each, in turns; also the CPU per bar. The broker: $KAFKA_BROKERS, else
 * one started with tests/kafka/broker.sh and stopped at the end. */
#define _DEFAULT_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_bars.h"
#include "bench_proc.h"
#include "core.h"
#include "fsm_pub.h"
#include "kafka.h"
#include "md_err.h"
#include "outbox.h"
#include "pump.h"
#include "record.h"

#define BATCH 1000

static char g_brokers[256];
static int g_started;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void opts(struct pub_kafka_opts *o)
{
    pub_kafka_opts_default(o);
    o->brokers = g_brokers;
    o->format = PUB_FMT_JSON;
    o->partitions = 6;
}

static void create_topic(const char *topic)
{
    const char *t[1] = {topic};
    struct pub_kafka_opts o;
    struct pub_kafka_event ev;
    struct pub_kafka *k;
    double end = now_s() + 30;
    char err[512];

    opts(&o);
    if (pub_kafka_new(&o, &k, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_outbox: %s\n", err);
        exit(1);
    }
    pub_kafka_ops.topic_create(k, 0, t, 1);
    while (now_s() < end) {
        if (pub_kafka_next(k, 100, &ev) == 1 && ev.kind == PKE_TOPIC) {
            if (ev.input != PUB_I_TOPIC_CREATED) {
                fprintf(stderr, "bench_outbox: topic %s: %s\n", topic,
                        ev.reason);
                exit(1);
            }
            pub_kafka_free(k, 1000);
            return;
        }
    }
    fprintf(stderr, "bench_outbox: no answer creating %s\n", topic);
    exit(1);
}

/* Outbox off: bars/s of the shell alone, all delivered. */
static double off_rate(const char *topic, struct md_bar *bars, size_t n)
{
    const struct md_bar *ptr[BATCH];
    struct pub_kafka_opts o;
    struct pub_kafka_event ev;
    struct pub_kafka *k;
    size_t sent = 0, done = 0, i;
    char err[512];
    double t0 = now_s();

    for (i = 0; i < n; i++) {
        bars[i].topic = topic;
    }
    opts(&o);
    if (pub_kafka_new(&o, &k, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_outbox: %s\n", err);
        exit(1);
    }
    while (done < n) {
        if (sent < n && sent - done < 50000) {
            size_t m = n - sent < BATCH ? n - sent : BATCH;
            for (i = 0; i < m; i++) {
                ptr[i] = &bars[sent + i];
            }
            pub_kafka_ops.produce(k, 0, ptr, m);
            sent += m;
        }
        /* never once the last report is in: that wait would be timed */
        while (done < n &&
               pub_kafka_next(k, sent < n && sent - done < 50000 ? 0 : 100,
                              &ev) == 1) {
            if (ev.kind == PKE_DELIVERY) {
                if (ev.input != PUB_I_PUBLISH_SUCCESS) {
                    fprintf(stderr, "bench_outbox: %s\n", ev.reason);
                    exit(1);
                }
                done++;
            }
        }
    }
    t0 = now_s() - t0;
    pub_kafka_free(k, 10000);
    return (double)n / t0;
}

/* Outbox on: bars/s through the outbox and the pump, every row
 * acknowledged and its deletion committed. */
static double on_rate(const char *dir, const char *topic, struct core *c,
                      struct md_bar *bars, size_t n, const char *instance)
{
    struct pub_kafka_opts o;
    struct outbox *ob;
    struct pump *p;
    char path[400], err[512];
    size_t i;
    double t0;

    snprintf(path, sizeof path, "%.250s/%.120s.state", dir, topic);
    for (i = 0; i < n; i++) {
        bars[i].topic = topic;
    }
    t0 = now_s();
    opts(&o);
    if (outbox_open(&ob, path, err, sizeof err) != MD_OK ||
        pump_open(&p, ob, &o, PUB_FMT_JSON, instance, err, sizeof err) !=
            MD_OK) {
        fprintf(stderr, "bench_outbox: %s\n", err);
        exit(1);
    }
    /* the core asks for a bar's topic before its first bar closes */
    pump_warm(p, topic);
    for (i = 0; i < n; i++) {
        if (pump_closed(p, &bars[i], err, sizeof err) != MD_OK ||
            pump_produced(p, bars[i].id) != MD_OK) {
            fprintf(stderr, "bench_outbox: %s\n", err);
            exit(1);
        }
        if ((i + 1) % BATCH == 0 || i + 1 == n) {
            /* a commit per batch, as replay commits each produce */
            if (pump_commit(p, c, (int64_t)i, false, err, sizeof err) !=
                    MD_OK ||
                pump_run(p, 0) != MD_OK) {
                fprintf(stderr, "bench_outbox: %s\n", err);
                exit(1);
            }
        }
    }
    while (pump_pending(p) > 0) {
        if (pump_run(p, 50) != MD_OK ||
            (pump_commit_due(p) &&
             pump_commit(p, c, (int64_t)n, false, err, sizeof err) !=
                 MD_OK)) {
            fprintf(stderr, "bench_outbox: %s\n", err);
            exit(1);
        }
    }
    if (pump_commit(p, c, (int64_t)n, false, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_outbox: %s\n", err);
        exit(1);
    }
    t0 = now_s() - t0;
    pump_close(p, 1000);
    outbox_close(ob);
    unlink(path);
    snprintf(err, sizeof err, "%s-wal", path);
    unlink(err);
    snprintf(err, sizeof err, "%s-shm", path);
    unlink(err);
    return (double)n / t0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 200000, i;
    const char *env = getenv("KAFKA_BROKERS"), *tmp = getenv("TMPDIR");
    double best_off = 0, best_on = 0, cpu_off = 0, cpu_on = 0;
    double best_x = 0, cpu_x = 0;
    struct core_config cfg;
    struct core c;
    struct md_bar *all;
    void *mem;
    char dir[256], topic[128];
    int round;

    if (n == 0) {
        n = 200000;
    }
    if (env != NULL && *env != '\0') {
        snprintf(g_brokers, sizeof g_brokers, "%s", env);
    } else {
        FILE *pp = popen("tests/kafka/broker.sh start", "r");
        if (pp == NULL || fgets(g_brokers, sizeof g_brokers, pp) == NULL) {
            fprintf(stderr, "bench_outbox: no broker (run from the "
                            "repository root after make test fetched its "
                            "jars, or set KAFKA_BROKERS)\n");
            return 1;
        }
        pclose(pp);
        g_brokers[strcspn(g_brokers, "\n")] = '\0';
        g_started = 1;
    }
    snprintf(dir, sizeof dir, "%s/ccstream-bench-outbox-XXXXXX",
             tmp != NULL ? tmp : "/var/tmp");
    all = malloc(n * sizeof *all);
    core_config_default(&cfg);
    mem = malloc(core_mem_size(&cfg));
    if (all == NULL || mem == NULL || mkdtemp(dir) == NULL ||
        core_init(&c, &cfg, mem, core_mem_size(&cfg)) != MD_OK) {
        fprintf(stderr, "bench_outbox: cannot set up\n");
        return 1;
    }
    for (i = 0; i < n; i++) {
        bench_mkbar(&all[i], i + 1, "x");
    }
    printf("bench_outbox: %zu bars of %d series, JSON values, broker %s, "
           "best of 3\n", n, BENCH_SERIES, g_brokers);
    for (round = 0; round < 3; round++) {
        char t_off[128], t_on[128], t_x[128], inst[64];
        double r, c0;
        int k;
        snprintf(t_off, sizeof t_off, "bench-ob-%d-%d-off", (int)getpid(),
                 round);
        snprintf(t_on, sizeof t_on, "bench-ob-%d-%d-on", (int)getpid(),
                 round);
        snprintf(t_x, sizeof t_x, "bench-ob-%d-%d-x", (int)getpid(), round);
        snprintf(inst, sizeof inst, "bench-%d-%d", (int)getpid(), round);
        create_topic(t_off);
        create_topic(t_on);
        create_topic(t_x);
        sleep(2);
        /* turns about: each order of the three in some round */
        for (k = 0; k < 3; k++) {
            int which = (k + round) % 3;
            c0 = bench_cpu_s(RUSAGE_SELF);
            if (which == 0) {
                r = off_rate(t_off, all, n);
                cpu_off += bench_cpu_s(RUSAGE_SELF) - c0;
                best_off = r > best_off ? r : best_off;
            } else if (which == 1) {
                r = on_rate(dir, t_on, &c, all, n, NULL);
                cpu_on += bench_cpu_s(RUSAGE_SELF) - c0;
                best_on = r > best_on ? r : best_on;
            } else {
                r = on_rate(dir, t_x, &c, all, n, inst);
                cpu_x += bench_cpu_s(RUSAGE_SELF) - c0;
                best_x = r > best_x ? r : best_x;
            }
        }
    }
    (void)topic;
    printf("  throughput  outbox off %8.0f bars/s   outbox on %8.0f bars/s"
           " (ratio %.2f)   exactly once %8.0f bars/s (ratio %.2f)\n",
           best_off, best_on, best_on / best_off, best_x, best_x / best_off);
    printf("  CPU per bar (all threads)  off %.2f us   on %.2f us   exactly "
           "once %.2f us\n",
           cpu_off * 1e6 / (3.0 * (double)n), cpu_on * 1e6 / (3.0 * (double)n),
           cpu_x * 1e6 / (3.0 * (double)n));
    rmdir(dir);
    free(all);
    free(mem);
    if (g_started && system("tests/kafka/broker.sh stop >/dev/null") != 0) {
        fprintf(stderr, "bench_outbox: stopping the broker failed\n");
    }
    return 0;
}
