/* bench_publish.c: publishing bars into the real broker: the publisher
 * shell (publish/kafka.h) beside `kcat -P` producing the same keys and
 * values and the same eight header names (fixed values, as -H gives them)
 * into the same broker in the same run, and the latency from a burst of
 * bars closing (N at each minute boundary: 100 and 1,000) to their
 * delivery reports, p50 and p99.
 *
 *   bench_publish [BARS [-X KEY=VALUE]...]  (default 200000 bars for the
 *                  throughput runs; -X: a librdkafka property for both
 *                  producers, e.g. -X linger.ms=5 -X compression.type=lz4)
 *
 * The broker: $KAFKA_BROKERS, else one started with tests/kafka/broker.sh
 * (make test fetches its jars) and stopped at the end. The broker's CPU
 * per record is printed for each producer when its PID is known
 * ($KAFKA_BROKER_PID, or the broker started here). Values are JSON
 * (kcat -P reads one record per line from its standard input; keys
 * contain ":" so the key
 * delimiter is a tab); both producers idempotent with acks=all, zstd and
 * linger 1 ms (the shell's defaults).
 * Each round also runs a plain librdkafka producer (same settings)
 * sending the shell's own records, encoded beforehand: librdkafka's cost
 * for exactly these records, without the shell's encoding and
 * bookkeeping.
 * ROUNDS rounds, taking turns. The ratio is the median of the rounds'
 * ratios (each round's pair runs back to back, so the machine's noise
 * moves both); best against best is printed beside it (it favours the
 * producer whose rounds vary more). Each round also prints the share of
 * the machine left idle while each producer ran: a producer waiting on
 * itself shows there, not in its CPU. Unpinned: the broker, librdkafka's
 * threads and kcat share the machine's 2 cores. */
#define _DEFAULT_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bar_codec.h"
#include "bench_bars.h"
#include "bench_proc.h"
#include "core.h"
#include "fsm_pub.h"
#include "kafka.h"
#include "md_err.h"
#include "record.h"

#include <librdkafka/rdkafka.h>

/* Seconds on the monotonic clock. */
static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static char g_brokers[256];
/* the broker's PID when known ($KAFKA_BROKER_PID, or the one started
 * here): its CPU per record is printed for each producer */
static int g_broker_pid;

/* CPU seconds of process pid (utime + stime), 0 when unknown */
static double pid_cpu_s(int pid)
{
    return (double)bench_proc_cpu_ticks(pid) / (double)sysconf(_SC_CLK_TCK);
}
/* -X KEY=VALUE after BARS: given to both producers, after their defaults
 * (how linger and compression were chosen: docs/performance.md) */
static char *g_props[16][2];
static unsigned g_n_props;
static char g_kcat_props[1024];
static int g_started;

static struct pub_kafka *publisher(void)
{
    struct pub_kafka_opts o;
    struct pub_kafka *k;
    char err[512];

    pub_kafka_opts_default(&o);
    o.brokers = g_brokers;
    o.format = PUB_FMT_JSON;
    o.partitions = 6;
    for (; o.n_props < g_n_props; o.n_props++) {
        o.props[o.n_props][0] = g_props[o.n_props][0];
        o.props[o.n_props][1] = g_props[o.n_props][1];
    }
    if (pub_kafka_new(&o, &k, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_publish: %s\n", err);
        exit(1);
    }
    return k;
}

static void create_topic(struct pub_kafka *k, const char *topic)
{
    const char *t[1] = {topic};
    struct pub_kafka_event ev;
    double end = now_s() + 30;

    pub_kafka_ops.topic_create(k, 0, t, 1);
    while (now_s() < end) {
        if (pub_kafka_next(k, 100, &ev) == 1 && ev.kind == PKE_TOPIC) {
            if (ev.input != PUB_I_TOPIC_CREATED) {
                fprintf(stderr, "bench_publish: topic %s: %s\n", topic,
                        ev.reason);
                exit(1);
            }
            return;
        }
    }
    fprintf(stderr, "bench_publish: no answer creating %s\n", topic);
    exit(1);
}

/* msgs/s of the shell producing bars[0..n) into topic (made beforehand),
 * all delivered; the producer's start and end are timed, as kcat's
 * process is. The
 * bars are made before the clock starts, as kcat's input file is. */
static double shell_rate(const char *topic, struct md_bar *bars, size_t n)
{
    const struct md_bar *ptr[1000];
    struct pub_kafka_event ev;
    size_t sent = 0, done = 0, i;
    double t0;
    struct pub_kafka *k;

    for (i = 0; i < n; i++) {
        bars[i].topic = topic;
    }
    t0 = now_s();
    k = publisher();
    while (done < n) {
        if (sent < n && sent - done < 50000) {
            size_t m = n - sent < 1000 ? n - sent : 1000;
            for (i = 0; i < m; i++) {
                ptr[i] = &bars[sent + i];
            }
            pub_kafka_ops.produce(k, 0, ptr, m);
            sent += m;
        }
        /* wait (not spin) while the window is full: the broker and
         * librdkafka's threads share the 2 cores with this loop; never
         * once the last report is in (that wait would be timed) */
        while (done < n &&
               pub_kafka_next(k, sent < n && sent - done < 50000 ? 0 : 100,
                              &ev) == 1) {
            if (ev.kind == PKE_DELIVERY) {
                if (ev.input != PUB_I_PUBLISH_SUCCESS) {
                    fprintf(stderr, "bench_publish: bar %" PRIu64 ": %s\n",
                            ev.bar_id, ev.reason);
                    exit(1);
                }
                done++;
            }
        }
    }
    /* the producer's end is timed too, as kcat's exit is */
    pub_kafka_free(k, 10000);
    t0 = now_s() - t0;
    return (double)n / t0;
}

/* The records the shell makes of bars[0..n) (key, value, headers,
 * timestamp), made before the clock starts: what a plain producer sends. */
struct plain_rec {
    struct pub_record r;
    unsigned char *value;
};

static struct plain_rec *plain_records(const struct md_bar *bars, size_t n)
{
    struct plain_rec *p = calloc(n, sizeof *p);
    unsigned char buf[4096];
    size_t i;

    if (p == NULL) {
        fprintf(stderr, "bench_publish: out of memory\n");
        exit(1);
    }
    for (i = 0; i < n; i++) {
        if (pub_record_make(&bars[i].bar, bars[i].emit_ms, PUB_FMT_JSON, buf,
                            sizeof buf, &p[i].r) != MD_OK ||
            (p[i].value = malloc(p[i].r.value_len)) == NULL) {
            fprintf(stderr, "bench_publish: bar %zu not made\n", i);
            exit(1);
        }
        memcpy(p[i].value, buf, p[i].r.value_len);
    }
    return p;
}

static size_t g_plain_done;

static void plain_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *o)
{
    (void)rk;
    (void)o;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "bench_publish: plain producer: %s\n",
                rd_kafka_err2str(m->err));
        exit(1);
    }
    g_plain_done++;
}

/* msgs/s of a plain librdkafka producer sending the shell's records,
 * encoded beforehand, with the shell's settings (and -X), through a topic
 * handle, polling after each record as kcat does: librdkafka's own cost
 * for these records, without the shell's encoding and bookkeeping. */
static double plain_rate(const char *topic, const struct plain_rec *p,
                         size_t n)
{
    static const char *const conf[][2] = {
        {"enable.idempotence", "true"}, {"acks", "all"},
        {"enable.gapless.guarantee", "true"}, {"message.timeout.ms", "0"},
        {"linger.ms", "1"}, {"compression.type", "zstd"}};
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_topic_t *rkt;
    rd_kafka_t *rk;
    char err[512];
    double t0;
    size_t i, j;

    rd_kafka_conf_set(c, "bootstrap.servers", g_brokers, err, sizeof err);
    for (i = 0; i < sizeof conf / sizeof conf[0]; i++) {
        rd_kafka_conf_set(c, conf[i][0], conf[i][1], err, sizeof err);
    }
    for (i = 0; i < g_n_props; i++) {
        rd_kafka_conf_set(c, g_props[i][0], g_props[i][1], err, sizeof err);
    }
    rd_kafka_conf_set_dr_msg_cb(c, plain_dr);
    g_plain_done = 0;
    t0 = now_s();
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (rk == NULL) {
        fprintf(stderr, "bench_publish: plain producer: %s\n", err);
        exit(1);
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    for (i = 0; i < n; i++) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(p[i].r.n_hdr);
        rd_kafka_resp_err_t e;
        for (j = 0; j < p[i].r.n_hdr; j++) {
            rd_kafka_header_add(h, p[i].r.hdr[j].name, -1,
                                p[i].r.hdr[j].value,
                                (ssize_t)p[i].r.hdr[j].len);
        }
        while ((e = rd_kafka_producev(
                    rk, RD_KAFKA_V_RKT(rkt),
                    RD_KAFKA_V_KEY(p[i].r.key, p[i].r.key_len),
                    RD_KAFKA_V_VALUE(p[i].value, p[i].r.value_len),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_TIMESTAMP(p[i].r.timestamp_ms),
                    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 5);
        }
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "bench_publish: plain producer: %s\n",
                    rd_kafka_err2str(e));
            exit(1);
        }
        rd_kafka_poll(rk, 0);
    }
    while (g_plain_done < n) {
        rd_kafka_poll(rk, 50);
    }
    t0 = now_s() - t0;
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return (double)n / t0;
}

/* The same keys and values through kcat -P, msgs/s (process included). */
static double kcat_rate(const char *topic, size_t n, const char *file)
{
    char cmd[2048];
    double t0;

    snprintf(cmd, sizeof cmd,
             "kcat -P -b '%s' -t '%s' -K '\t' -z zstd -X enable.idempotence="
             "true -X acks=all -X linger.ms=1 -H ccs-schema=1 "
             "-H start_ms=1753190400000 -H end_ms=1753190460000 "
             "-H revision=0 -H source=cccagg -H close_reason=timer -H flags= "
             "-H content-type=application/json%s <'%s'",
             g_brokers, topic, g_kcat_props, file);
    t0 = now_s();
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_publish: kcat failed\n");
        exit(1);
    }
    return (double)n / (now_s() - t0);
}

#define ROUNDS 10

/* share as a percentage into buf[8], "?" when unknown (below 0) */
static const char *pct(double share, char *buf)
{
    if (share < 0) {
        return "?";
    }
    snprintf(buf, 8, "%.0f%%", share * 100);
    return buf;
}

/* The machine's idle share between two bench_idle_ticks reads, or -1
 * when either failed or the counters went back (iowait may). */
static double idle_share(uint64_t i0, uint64_t a0, uint64_t i1, uint64_t a1)
{
    if (a0 == 0 || a1 <= a0 || i1 < i0 || i1 - i0 > a1 - a0) {
        return -1;
    }
    return (double)(i1 - i0) / (double)(a1 - a0);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define WARMUP_ROUNDS 25

/* Close-to-ack latency: bursts of burst bars, one every 200 ms, rounds
 * times after WARMUP_ROUNDS (5 s) not counted (a new topic's first
 * second has bursts of 30-1000 ms, and a freshly started broker JVM takes
 * a few seconds more to settle); p50 and p99 in ms, and the slowest
 * warm-up burst in *warm. */
static void latency(const char *topic, size_t burst, int rounds, double *p50,
                    double *p99, double *warm)
{
    struct pub_kafka *k = publisher();
    struct md_bar *bars = malloc(burst * sizeof *bars);
    const struct md_bar **ptr = malloc(burst * sizeof *ptr);
    double *lat = malloc(burst * (size_t)rounds * sizeof *lat), t0;
    size_t nl = 0, i;
    int r;
    uint64_t id = 1;

    create_topic(k, topic);
    *warm = 0;
    for (r = -WARMUP_ROUNDS; r < rounds; r++) {
        struct pub_kafka_event ev;
        size_t done = 0;
        for (i = 0; i < burst; i++) {
            bench_mkbar(&bars[i], id++, topic);
            ptr[i] = &bars[i];
        }
        t0 = now_s();
        pub_kafka_ops.produce(k, 0, ptr, burst);
        while (done < burst) {
            if (pub_kafka_next(k, 50, &ev) == 1 && ev.kind == PKE_DELIVERY) {
                if (r >= 0) {
                    lat[nl++] = (now_s() - t0) * 1e3;
                }
                done++;
            }
        }
        if (r < 0 && (now_s() - t0) * 1e3 > *warm) {
            *warm = (now_s() - t0) * 1e3;
        }
        while (now_s() - t0 < 0.2) {
            pub_kafka_next(k, 10, &ev);
        }
    }
    qsort(lat, nl, sizeof *lat, cmp_d);
    *p50 = lat[nl / 2];
    *p99 = lat[nl * 99 / 100];
    pub_kafka_free(k, 10000);
    free(bars);
    free(ptr);
    free(lat);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 200000, i;
    const char *env = getenv("KAFKA_BROKERS");
    char file[] = "/tmp/bench_publish.XXXXXX", topic[128];
    double best_s = 0, best_k = 0, best_p = 0, p50, p99, warm,
           cpu_shell = 0, cpu_kcat = 0, brk_shell = 0, brk_kcat = 0;
    struct md_bar *all;
    struct plain_rec *plain;
    FILE *f;
    int fd, round;
    double ratio[ROUNDS];

    if (n == 0) {
        n = 200000;
    }
    for (i = 2; i + 1 < (size_t)argc && strcmp(argv[i], "-X") == 0 &&
                g_n_props < 16;
         i += 2) {
        char *eq = strchr(argv[i + 1], '=');
        size_t used = strlen(g_kcat_props);
        if (eq == NULL || strchr(argv[i + 1], '\'') != NULL) {
            fprintf(stderr, "bench_publish: -X takes KEY=VALUE\n");
            return 2;
        }
        snprintf(g_kcat_props + used, sizeof g_kcat_props - used,
                 " -X '%s'", argv[i + 1]);
        *eq = '\0';
        g_props[g_n_props][0] = argv[i + 1];
        g_props[g_n_props++][1] = eq + 1;
    }
    if (env != NULL && *env != '\0') {
        snprintf(g_brokers, sizeof g_brokers, "%s", env);
    } else {
        FILE *p = popen("tests/kafka/broker.sh start", "r");
        if (p == NULL || fgets(g_brokers, sizeof g_brokers, p) == NULL) {
            fprintf(stderr, "bench_publish: no broker (run from the "
                            "repository root after make test fetched its "
                            "jars, or set KAFKA_BROKERS)\n");
            return 1;
        }
        pclose(p);
        g_brokers[strcspn(g_brokers, "\n")] = '\0';
        g_started = 1;
    }
    {
        /* the broker's PID: $KAFKA_BROKER_PID, or the pid file of the
         * broker started here ($KAFKA_RUN_DIR as broker.sh takes it) */
        const char *pid = getenv("KAFKA_BROKER_PID");
        const char *dir = getenv("KAFKA_RUN_DIR");
        char path[512];
        FILE *pf;
        if (pid != NULL && *pid != '\0') {
            g_broker_pid = (int)strtol(pid, NULL, 10);
        } else if (g_started) {
            snprintf(path, sizeof path, "%s/broker.pid",
                     dir != NULL && *dir != '\0' ? dir : "build/kafka/run");
            pf = fopen(path, "r");
            if (pf != NULL) {
                if (fscanf(pf, "%d", &g_broker_pid) != 1) {
                    g_broker_pid = 0;
                }
                fclose(pf);
            }
        }
    }
    all = malloc(n * sizeof *all);
    if (all == NULL) {
        fprintf(stderr, "bench_publish: out of memory\n");
        return 1;
    }
    for (i = 0; i < n; i++) {
        bench_mkbar(&all[i], i + 1, "x");
    }
    /* kcat's input: the same keys and JSON values, tab-separated */
    fd = mkstemp(file);
    f = fdopen(fd, "w");
    for (i = 0; i < n; i++) {
        struct md_bar m;
        struct pub_record r;
        unsigned char buf[4096];
        bench_mkbar(&m, i + 1, "x");
        pub_record_make(&m.bar, m.emit_ms, PUB_FMT_JSON, buf, sizeof buf, &r);
        fprintf(f, "%s\t%.*s\n", r.key, (int)r.value_len,
                (const char *)r.value);
    }
    fclose(f);
    plain = plain_records(all, n);
    printf("bench_publish: %zu bars of %d series, JSON values, broker %s, "
           "%d rounds%s%s\n", n, BENCH_SERIES, g_brokers, ROUNDS,
           g_n_props > 0 ? "; properties" : "", g_kcat_props);
    for (round = 0; round < ROUNDS; round++) {
        double s = 0, kr = 0, pr, idle_s = -1, idle_k = -1;
        char is[8], ik[8];
        char ktopic[128], ptopic[128];
        snprintf(topic, sizeof topic, "bench-pub-%d-%d-shell", (int)getpid(),
                 round);
        snprintf(ktopic, sizeof ktopic, "bench-pub-%d-%d-kcat", (int)getpid(),
                 round);
        snprintf(ptopic, sizeof ptopic, "bench-pub-%d-%d-plain",
                 (int)getpid(), round);
        {
            /* both topics made before either producer runs: the first
             * second of a new topic is not what is measured (kcat also
             * fails a topic its broker does not know yet) */
            struct pub_kafka *k = publisher();
            create_topic(k, topic);
            create_topic(k, ktopic);
            create_topic(k, ptopic);
            pub_kafka_free(k, 1000);
            sleep(2);
        }
        /* turns about: neither always meets the broker the other warmed */
        for (int turn = 0; turn < 2; turn++) {
            double c0 = bench_cpu_s(RUSAGE_SELF), k0 = bench_cpu_s(RUSAGE_CHILDREN),
                   b0 = pid_cpu_s(g_broker_pid);
            uint64_t all0, all1, idle0 = bench_idle_ticks(&all0), idle1;
            if ((turn == 0) == (round % 2 == 0)) {
                s = shell_rate(topic, all, n);
                cpu_shell += bench_cpu_s(RUSAGE_SELF) - c0;
                brk_shell += pid_cpu_s(g_broker_pid) - b0;
                best_s = s > best_s ? s : best_s;
                idle1 = bench_idle_ticks(&all1);
                idle_s = idle_share(idle0, all0, idle1, all1);
            } else {
                kr = kcat_rate(ktopic, n, file);
                cpu_kcat += bench_cpu_s(RUSAGE_CHILDREN) - k0;
                brk_kcat += pid_cpu_s(g_broker_pid) - b0;
                best_k = kr > best_k ? kr : best_k;
                idle1 = bench_idle_ticks(&all1);
                idle_k = idle_share(idle0, all0, idle1, all1);
            }
        }
        pr = plain_rate(ptopic, plain, n);
        best_p = pr > best_p ? pr : best_p;
        ratio[round] = s / kr;
        printf("  round %d: shell %6.0f k/s  kcat %6.0f k/s  plain %6.0f k/s"
               "  (machine idle: shell %s, kcat %s)\n", round + 1, s / 1e3,
               kr / 1e3, pr / 1e3, pct(idle_s, is), pct(idle_k, ik));
    }
    qsort(ratio, ROUNDS, sizeof ratio[0], cmp_d);
    printf("  throughput  shell %8.0f bars/s   kcat -P %8.0f msgs/s   "
           "(best of the rounds)\n", best_s, best_k);
    printf("  ratio to kcat -P  %.2f (median of the rounds; lowest %.2f, "
           "highest %.2f)   %.2f (best against best)\n",
           (ratio[(ROUNDS - 1) / 2] + ratio[ROUNDS / 2]) / 2, ratio[0],
           ratio[ROUNDS - 1], best_s / best_k);
    printf("  plain producer of the shell's records, encoded beforehand "
           "%8.0f msgs/s   ratio to kcat %.2f\n", best_p, best_p / best_k);
    printf("  CPU per record (all threads)  shell %.2f us   kcat -P %.2f us\n",
           cpu_shell * 1e6 / ((double)ROUNDS * (double)n),
           cpu_kcat * 1e6 / ((double)ROUNDS * (double)n));
    if (g_broker_pid > 0) {
        printf("  broker CPU per record         shell %.2f us   kcat -P %.2f us"
               "\n", brk_shell * 1e6 / ((double)ROUNDS * (double)n),
               brk_kcat * 1e6 / ((double)ROUNDS * (double)n));
    }
    snprintf(topic, sizeof topic, "bench-pub-%d-lat100", (int)getpid());
    latency(topic, 100, 50, &p50, &p99, &warm);
    printf("  close->ack  100 bars a minute:   p50 %6.2f ms  p99 %6.2f ms  "
           "(warm-up max %.0f ms)\n", p50, p99, warm);
    snprintf(topic, sizeof topic, "bench-pub-%d-lat1000", (int)getpid());
    latency(topic, 1000, 20, &p50, &p99, &warm);
    printf("  close->ack  1000 bars a minute:  p50 %6.2f ms  p99 %6.2f ms  "
           "(warm-up max %.0f ms)\n", p50, p99, warm);
    unlink(file);
    free(all);
    for (i = 0; i < n; i++) {
        free(plain[i].value);
    }
    free(plain);
    if (g_started && system("tests/kafka/broker.sh stop >/dev/null") != 0) {
        fprintf(stderr, "bench_publish: stopping the broker failed\n");
    }
    return 0;
}
