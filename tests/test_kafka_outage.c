/* test_kafka_outage.c: the publisher shell (publish/kafka.h) through
 * broker outages, against a real broker of its own (tests/kafka/broker.sh
 * in a private directory, so the other tests' broker is never touched):
 * bars produced every 100 ms while the broker hangs (SIGSTOP, longer than
 * the request timeout) and while it is killed and restarted on its data
 * directory. Every bar is reported delivered once, and a consumer (kcat)
 * reads every bar exactly once, each series in order. Every wait is
 * bounded. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bar_codec.h"
#include "core.h"
#include "fsm_pub.h"
#include "kafka.h"
#include "md_err.h"
#include "record.h"

#include "cmocka_inc.h"

#ifdef free
#undef free
#endif
#ifdef malloc
#undef malloc
#endif
#ifdef calloc
#undef calloc
#endif

#define SERIES 10
#define ROUNDS 40
#define WAIT_MS 90000

static char g_run[64], g_brokers[64];

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* broker.sh CMD in the private directory: its exit status. */
static int broker(const char *cmd, char *out, size_t cap)
{
    char line[512];
    FILE *p;
    int st;

    snprintf(line, sizeof line, "KAFKA_RUN_DIR='%s' tests/kafka/broker.sh %s",
             g_run, cmd);
    p = popen(line, "r");
    if (p == NULL) {
        return -1;
    }
    if (out != NULL) {
        if (fgets(out, (int)cap, p) == NULL) {
            out[0] = '\0';
        }
        out[strcspn(out, "\n")] = '\0';
    }
    while (fgets(line, sizeof line, p) != NULL) {
    }
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_run, sizeof g_run, "/tmp/ccs-outage.XXXXXX");
    if (mkdtemp(g_run) == NULL) {
        return -1;
    }
    if (broker("start", g_brokers, sizeof g_brokers) != 0 ||
        g_brokers[0] == '\0') {
        fprintf(stderr, "test_kafka_outage: the broker did not start\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[256];

    (void)state;
    broker("stop", NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.lock'", g_run, g_run);
    return system(cmd) == 0 ? 0 : -1;
}

static struct pub_kafka *publisher(void)
{
    struct pub_kafka_opts o;
    struct pub_kafka *k;
    char err[512];

    pub_kafka_opts_default(&o);
    o.brokers = g_brokers;
    o.format = PUB_FMT_JSON;
    o.partitions = 3;
    /* requests time out (and are retried) well inside the outages */
    o.props[o.n_props][0] = "request.timeout.ms";
    o.props[o.n_props++][1] = "2000";
    o.props[o.n_props][0] = "socket.timeout.ms";
    o.props[o.n_props++][1] = "2000";
    if (pub_kafka_new(&o, &k, err, sizeof err) != MD_OK) {
        fail_msg("pub_kafka_new: %s", err);
    }
    return k;
}

static void mkbar(struct md_bar *m, uint64_t id, const char *topic)
{
    static const char *const base[SERIES] = {"BTC", "ETH", "LTC", "SOL",
                                             "XRP", "ADA", "DOT", "AVAX",
                                             "LINK", "ATOM"};
    unsigned s = (unsigned)((id - 1) % SERIES);

    memset(m, 0, sizeof *m);
    m->id = id;
    m->topic = topic;
    snprintf(m->bar.market, sizeof m->bar.market, "Coinbase");
    snprintf(m->bar.base, sizeof m->bar.base, "%s", base[s]);
    snprintf(m->bar.quote, sizeof m->bar.quote, "USD");
    m->bar.interval_s = 60;
    m->bar.source = BAR_SRC_TRADES;
    m->bar.start_ms = 1753190400000 + (int64_t)((id - 1) / SERIES) * 60000;
    m->bar.end_ms = m->bar.start_ms + 60000;
    m->bar.close_reason = BAR_CLOSE_TIMER;
    m->bar.has = BAR_HAS_OHLC | BAR_HAS_TRADES;
    m->bar.open = m->bar.high = m->bar.low = m->bar.close = 100 + (double)s;
    m->bar.trades = id;
}

/* Serve the publisher until no bar is outstanding or deadline: counts
 * successes into *ok, fails the test on any other report. */
static void serve(struct pub_kafka *k, size_t *ok, int64_t deadline,
                  bool until_done)
{
    struct pub_kafka_event ev;

    do {
        int got = pub_kafka_next(k, 20, &ev);
        assert_true(got >= 0);
        if (got == 1 && ev.kind == PKE_DELIVERY) {
            if (ev.input != PUB_I_PUBLISH_SUCCESS) {
                fail_msg("bar %llu: input %d: %s",
                         (unsigned long long)ev.bar_id, ev.input, ev.reason);
            }
            (*ok)++;
        }
    } while (now_ms() < deadline &&
             (until_done ? pub_kafka_outstanding(k) > 0 : true));
}

/* kcat reads the topic: every bar exactly once, each series in order. */
static void check_topic(const char *topic, size_t nbars)
{
    char cmd[512], key[128], line[512];
    bool *seen = calloc(nbars + 1, sizeof *seen);
    long long last[SERIES];
    size_t n = 0, i;
    FILE *p;

    assert_non_null(seen);
    for (i = 0; i < SERIES; i++) {
        last[i] = 0;
    }
    snprintf(cmd, sizeof cmd,
             "timeout 60 kcat -C -b '%s' -t '%s' -o beginning -e -q "
             "-f '%%k %%s\\n'", g_brokers, topic);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof line, p) != NULL) {
        const char *t = strstr(line, "\"trades\":");
        const char *st = strstr(line, "\"start_ms\":");
        unsigned long long id;
        long long start;
        assert_non_null(t);
        assert_non_null(st);
        assert_int_equal(sscanf(line, "%127s", key), 1);
        id = strtoull(t + 9, NULL, 10);
        start = strtoll(st + 11, NULL, 10);
        assert_true(id >= 1 && id <= nbars);
        if (seen[id]) {
            fail_msg("bar %llu read twice (%s)", id, key);
        }
        seen[id] = true;
        /* the series' bars in order of their start */
        if (start <= last[(id - 1) % SERIES]) {
            fail_msg("bar %llu of %s out of order", id, key);
        }
        last[(id - 1) % SERIES] = start;
        n++;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(n, nbars);
    free(seen);
}

static void create(struct pub_kafka *k, const char *topic)
{
    struct pub_kafka_event ev;
    const char *t[1] = {topic};
    int64_t end = now_ms() + WAIT_MS;

    pub_kafka_ops.topic_create(k, 0, t, 1);
    while (now_ms() < end) {
        if (pub_kafka_next(k, 100, &ev) == 1 && ev.kind == PKE_TOPIC) {
            assert_int_equal(ev.input, PUB_I_TOPIC_CREATED);
            return;
        }
    }
    fail_msg("no answer creating %s", topic);
}

/* ROUNDS rounds of SERIES bars, one every 100 ms; at round 5 outage(1),
 * at round 35 outage(0); then every report awaited. */
static void run(const char *topic, void (*outage)(int begin))
{
    struct pub_kafka *k = publisher();
    static struct md_bar bars[ROUNDS * SERIES];
    const struct md_bar *ptr[SERIES];
    size_t ok = 0, r, i;

    create(k, topic);
    for (r = 0; r < ROUNDS; r++) {
        if (r == 5 || r == 35) {
            outage(r == 5);
        }
        for (i = 0; i < SERIES; i++) {
            mkbar(&bars[r * SERIES + i], r * SERIES + i + 1, topic);
            ptr[i] = &bars[r * SERIES + i];
        }
        pub_kafka_ops.produce(k, 0, ptr, SERIES);
        serve(k, &ok, now_ms() + 100, false);
    }
    serve(k, &ok, now_ms() + WAIT_MS, true);
    assert_int_equal(ok, ROUNDS * SERIES);
    assert_int_equal(pub_kafka_free(k, 5000), 0);
    check_topic(topic, ROUNDS * SERIES);
}

static void hang(int begin)
{
    assert_int_equal(broker(begin ? "pause" : "resume", NULL, 0), 0);
}

static void crash(int begin)
{
    char addr[64];

    if (begin) {
        assert_int_equal(broker("crash", NULL, 0), 0);
    } else {
        assert_int_equal(broker("restart", addr, sizeof addr), 0);
        assert_string_equal(addr, g_brokers);
    }
}

/* SIGSTOP for 3 s (30 rounds), with 2 s request timeouts: requests in
 * flight time out and are sent again; the broker must not keep a bar
 * twice. */
static void test_broker_hangs(void **state)
{
    char topic[96];

    (void)state;
    snprintf(topic, sizeof topic, "ccs-outage-hang-%d", (int)getpid());
    run(topic, hang);
}

/* SIGKILL, bars produced while it is down, then a restart on its data
 * directory (which blocks this loop while the broker recovers). */
static void test_broker_killed_and_restarted(void **state)
{
    char topic[96];

    (void)state;
    snprintf(topic, sizeof topic, "ccs-outage-crash-%d", (int)getpid());
    run(topic, crash);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broker_hangs),
        cmocka_unit_test(test_broker_killed_and_restarted),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
