/* test_kafka_publish.c: the publisher shell (publish/kafka.h) against the
 * real broker tests/run-tests.sh starts (or KAFKA_BROKERS): topics created
 * through the Admin API (and again: it exists), bars produced as records
 * and reported delivered by their ids, read back by kcat with their keys,
 * headers, timestamps and values, per-series order; refused and
 * back-pressured bars classified at once; an injected fatal error reported
 * once, a new producer after the reset; the wake-up descriptor; a bad
 * property refused by name.
 * Every wait is bounded. */
#include <poll.h>
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

/* libc's allocator throughout: the library's and popen's memory too */
#ifdef free
#undef free
#endif
#ifdef malloc
#undef malloc
#endif

#define WAIT_MS 30000
#define SETS(dst, s) snprintf((dst), sizeof(dst), "%s", (s))

static char g_topic[2][128];

static const char *brokers(void)
{
    const char *b = getenv("KAFKA_BROKERS");

    if (b == NULL || b[0] == '\0') {
        fail_msg("KAFKA_BROKERS is not set: run through tests/run-tests.sh");
    }
    return b;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct pub_kafka *publisher(int format, const char *prop,
                                   const char *value)
{
    struct pub_kafka_opts o;
    struct pub_kafka *k;
    char err[512];

    pub_kafka_opts_default(&o);
    o.brokers = brokers();
    o.format = format;
    o.partitions = 3;
    o.props[o.n_props][0] = "socket.timeout.ms";
    o.props[o.n_props++][1] = "10000";
    if (prop != NULL) {
        o.props[o.n_props][0] = prop;
        o.props[o.n_props++][1] = value;
    }
    if (pub_kafka_new(&o, &k, err, sizeof err) != MD_OK) {
        fail_msg("pub_kafka_new: %s", err);
    }
    return k;
}

/* Events until want of kind have come (or WAIT_MS): how many came. */
static size_t collect(struct pub_kafka *k, int kind, size_t want,
                      struct pub_kafka_event *out, size_t cap)
{
    size_t n = 0;
    int64_t end = now_ms() + WAIT_MS;
    struct pub_kafka_event ev;

    while (n < want && now_ms() < end) {
        if (pub_kafka_next(k, 100, &ev) == 1 && ev.kind == kind) {
            if (n < cap) {
                out[n] = ev;
            }
            n++;
        }
    }
    return n;
}

static struct md_bar mkbar(uint64_t id, const char *topic, const char *base,
                           int minute, uint32_t revision)
{
    struct md_bar m;

    memset(&m, 0, sizeof m);
    m.id = id;
    m.topic = topic;
    SETS(m.bar.market, "Coinbase");
    SETS(m.bar.base, base);
    SETS(m.bar.quote, "USD");
    m.bar.interval_s = 60;
    m.bar.source = BAR_SRC_TRADES;
    m.bar.start_ms = 1753190400000 + (int64_t)minute * 60000;
    m.bar.end_ms = m.bar.start_ms + 60000;
    m.bar.revision = revision;
    m.bar.close_reason = revision ? BAR_CLOSE_REVISION : BAR_CLOSE_TIMER;
    m.bar.has = BAR_HAS_OHLC | BAR_HAS_VOLUME | BAR_HAS_TRADES;
    m.bar.open = 100 + minute;
    m.bar.high = 110 + minute;
    m.bar.low = 90 + minute;
    m.bar.close = 105 + minute;
    m.bar.volume = (bar_i128)(minute + 1) * 1000000000000;
    m.bar.quote_volume = (bar_i128)(minute + 1) * 100 *
                         (bar_i128)100000000000000000000.0;
    m.bar.trades = (uint64_t)minute + 1;
    m.emit_ms = m.bar.end_ms + 2000;
    return m;
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_topic[0], sizeof g_topic[0], "ccs-test-publish-%d-%lld-a",
             (int)getpid(), (long long)time(NULL));
    snprintf(g_topic[1], sizeof g_topic[1], "ccs-test-publish-%d-%lld-b",
             (int)getpid(), (long long)time(NULL));
    return 0;
}

static void test_topics_created(void **state)
{
    struct pub_kafka *k = publisher(PUB_FMT_MSGPACK, NULL, NULL);
    const char *names[2] = {g_topic[0], g_topic[1]};
    struct pub_kafka_event ev[4];
    size_t n;

    (void)state;
    pub_kafka_ops.topic_create(k, 0, names, 2);
    n = collect(k, PKE_TOPIC, 2, ev, 4);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].input, PUB_I_TOPIC_CREATED);
    assert_int_equal(ev[1].input, PUB_I_TOPIC_CREATED);
    assert_true(strcmp(ev[0].topic, g_topic[0]) == 0 ||
                strcmp(ev[1].topic, g_topic[0]) == 0);
    /* again: it exists, which is what the machine wants to hear */
    pub_kafka_ops.topic_create(k, 0, names, 1);
    n = collect(k, PKE_TOPIC, 1, ev, 4);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].input, PUB_I_TOPIC_CREATED);
    assert_int_not_equal(ev[0].err, 0); /* TOPIC_ALREADY_EXISTS */
    /* again by a publisher configured otherwise: reported, not used */
    {
        struct pub_kafka_opts o;
        struct pub_kafka *k6;
        char err[512];
        pub_kafka_opts_default(&o);
        o.brokers = brokers();
        o.partitions = 6;
        assert_int_equal(pub_kafka_new(&o, &k6, err, sizeof err), MD_OK);
        pub_kafka_ops.topic_create(k6, 0, names, 1);
        n = collect(k6, PKE_TOPIC, 1, ev, 4);
        assert_int_equal(n, 1);
        assert_int_equal(ev[0].input, PUB_I_TOPIC_FAILED);
        if (strstr(ev[0].reason, "exists with 3 partitions, configured 6") ==
            NULL) {
            fail_msg("reason: %s", ev[0].reason);
        }
        pub_kafka_free(k6, 5000);
        /* the same partitions, another retention: reported; the broker's
         * own (forever: tests/kafka/broker.sh): used */
        o.partitions = 3;
        o.retention_ms = "3600000";
        assert_int_equal(pub_kafka_new(&o, &k6, err, sizeof err), MD_OK);
        pub_kafka_ops.topic_create(k6, 0, names, 1);
        n = collect(k6, PKE_TOPIC, 1, ev, 4);
        assert_int_equal(n, 1);
        assert_int_equal(ev[0].input, PUB_I_TOPIC_FAILED);
        if (strstr(ev[0].reason, "exists with retention.ms=-1, "
                                 "configured 3600000") == NULL) {
            fail_msg("reason: %s", ev[0].reason);
        }
        pub_kafka_free(k6, 5000);
        o.retention_ms = "-1";
        assert_int_equal(pub_kafka_new(&o, &k6, err, sizeof err), MD_OK);
        pub_kafka_ops.topic_create(k6, 0, names, 1);
        n = collect(k6, PKE_TOPIC, 1, ev, 4);
        assert_int_equal(n, 1);
        assert_int_equal(ev[0].input, PUB_I_TOPIC_CREATED);
        pub_kafka_free(k6, 5000);
    }
    /* a name the broker refuses */
    {
        const char *bad[1] = {"bad topic name!"};
        pub_kafka_ops.topic_create(k, 0, bad, 1);
        n = collect(k, PKE_TOPIC, 1, ev, 4);
        assert_int_equal(n, 1);
        assert_int_equal(ev[0].input, PUB_I_TOPIC_FAILED);
        assert_true(ev[0].reason[0] != '\0');
    }
    assert_int_equal(pub_kafka_free(k, 5000), 0);
}

/* kcat's lines for the topic (format fmt), NUL-separated count in *n. */
static char *kcat(const char *topic, const char *fmt, size_t want,
                  size_t *n)
{
    char cmd[1024], *buf = malloc(1 << 20);
    size_t used = 0;
    FILE *p;

    assert_non_null(buf);
    snprintf(cmd, sizeof cmd,
             "timeout 30 kcat -C -b '%s' -t '%s' -o beginning -c %zu -q "
             "-f '%s'",
             brokers(), topic, want, fmt);
    p = popen(cmd, "r");
    assert_non_null(p);
    used = fread(buf, 1, (1 << 20) - 1, p);
    assert_int_equal(pclose(p), 0);
    buf[used] = '\0';
    *n = 0;
    {
        char *s;
        for (s = buf; *s != '\0'; s++) {
            *n += *s == '\n';
        }
    }
    return buf;
}

static void test_produce_and_read_back(void **state)
{
    struct pub_kafka *k = publisher(PUB_FMT_MSGPACK, NULL, NULL);
    static struct md_bar bars[30];
    const struct md_bar *ptr[30];
    struct pub_kafka_event ev[64];
    static const char *const base[3] = {"BTC", "ETH", "LTC"};
    bool seen[31] = {false};
    size_t i, n;
    char *out, *line, *save = NULL;
    int64_t last_start[3] = {0, 0, 0};

    (void)state;
    for (i = 0; i < 30; i++) {
        bars[i] = mkbar(i + 1, g_topic[0], base[i % 3], (int)(i / 3),
                        i == 29 ? 1 : 0);
        ptr[i] = &bars[i];
    }
    pub_kafka_ops.produce(k, 0, ptr, 30);
    n = collect(k, PKE_DELIVERY, 30, ev, 64);
    assert_int_equal(n, 30);
    for (i = 0; i < 30; i++) {
        assert_int_equal(ev[i].input, PUB_I_PUBLISH_SUCCESS);
        assert_true(ev[i].bar_id >= 1 && ev[i].bar_id <= 30);
        assert_false(seen[ev[i].bar_id]);
        seen[ev[i].bar_id] = true;
    }
    assert_int_equal(pub_kafka_outstanding(k), 0);
    assert_int_equal(pub_kafka_free(k, 5000), 0);
    /* kcat: key, headers, timestamp of each record; order per series */
    out = kcat(g_topic[0], "%k\\t%h\\t%T\\n", 30, &n);
    assert_int_equal(n, 30);
    for (line = strtok_r(out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char key[96], hdrs[512];
        long long ts, start;
        int s;
        const char *p;
        assert_int_equal(sscanf(line, "%95[^\t]\t%511[^\t]\t%lld", key, hdrs,
                                &ts),
                         3);
        for (s = 0; s < 3; s++) {
            char want[64];
            snprintf(want, sizeof want, "Coinbase:%s-USD:1m:trades",
                     base[s]);
            if (strcmp(key, want) == 0) {
                break;
            }
        }
        assert_true(s < 3);
        assert_non_null(strstr(hdrs, "ccs-schema=1"));
        assert_non_null(strstr(hdrs, "source=trades"));
        assert_non_null(strstr(hdrs, "content-type=application/msgpack"));
        p = strstr(hdrs, "start_ms=");
        assert_non_null(p);
        start = strtoll(p + 9, NULL, 10);
        assert_int_equal(ts, start + 60000); /* the bar's end */
        assert_true(start >= last_start[s]);   /* per-series order */
        last_start[s] = start;
        if (strstr(hdrs, "revision=1") != NULL) {
            assert_non_null(strstr(hdrs, "close_reason=revision"));
        }
    }
    free(out);
}

static void test_json_values(void **state)
{
    struct pub_kafka *k = publisher(PUB_FMT_JSON, NULL, NULL);
    static struct md_bar bars[3];
    const struct md_bar *ptr[3];
    struct pub_kafka_event ev[4];
    char *out, want[4096], line[4096];
    size_t i, n, len;

    (void)state;
    for (i = 0; i < 3; i++) {
        bars[i] = mkbar(100 + i, g_topic[1], "BTC", (int)i, 0);
        ptr[i] = &bars[i];
    }
    pub_kafka_ops.produce(k, 0, ptr, 3);
    assert_int_equal(collect(k, PKE_DELIVERY, 3, ev, 4), 3);
    assert_int_equal(pub_kafka_free(k, 5000), 0);
    out = kcat(g_topic[1], "%s\\n", 3, &n);
    assert_int_equal(n, 3);
    /* byte for byte the bar's JSON encoding */
    for (i = 0; i < 3; i++) {
        const char *nl = strchr(out, '\n');
        size_t ll;
        assert_int_equal(bar_to_json(&bars[i].bar, want, sizeof want, &len),
                         MD_OK);
        assert_non_null(nl);
        ll = (size_t)(nl - out);
        memcpy(line, out, ll);
        line[ll] = '\0';
        assert_int_equal(ll, len);
        assert_memory_equal(line, want, len);
        memmove(out, nl + 1, strlen(nl + 1) + 1);
    }
    free(out);
}

static void test_refused_at_once(void **state)
{
    struct pub_kafka *k;
    static struct md_bar bars[5];
    const struct md_bar *ptr[5];
    struct pub_kafka_event ev[8];
    size_t i, n, full = 0, ok = 0;

    (void)state;
    /* a bar no key can name: refused for good, that bar only */
    k = publisher(PUB_FMT_MSGPACK, NULL, NULL);
    bars[0] = mkbar(7, g_topic[0], "BTC", 40, 0);
    SETS(bars[0].bar.market, "bad:market");
    ptr[0] = &bars[0];
    pub_kafka_ops.produce(k, 0, ptr, 1);
    n = collect(k, PKE_DELIVERY, 1, ev, 8);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].input, PUB_I_PUBLISH_REJECTED);
    assert_int_equal(ev[0].bar_id, 7);
    /* a topic no handle can name (librdkafka refuses names over 512
     * bytes, so the topic cache keeps none and neither does a handle of
     * its own): refused for good, that bar only, the next one delivered */
    {
        static char longt[600];
        memset(longt, 't', sizeof longt - 1);
        bars[1] = mkbar(8, longt, "BTC", 41, 0);
        bars[2] = mkbar(9, g_topic[0], "BTC", 42, 0);
        ptr[0] = &bars[1];
        ptr[1] = &bars[2];
        pub_kafka_ops.produce(k, 0, ptr, 2);
        n = collect(k, PKE_DELIVERY, 2, ev, 8);
        assert_int_equal(n, 2);
        /* refused at once: its report comes before the broker's */
        assert_int_equal(ev[0].bar_id, 8);
        assert_int_equal(ev[0].input, PUB_I_PUBLISH_REJECTED);
        assert_int_equal(ev[1].bar_id, 9);
        assert_int_equal(ev[1].input, PUB_I_PUBLISH_SUCCESS);
    }
    pub_kafka_free(k, 5000);
    /* a queue of one message: the rest are back-pressure, not failures */
    k = publisher(PUB_FMT_MSGPACK, "queue.buffering.max.messages", "1");
    for (i = 0; i < 5; i++) {
        bars[i] = mkbar(200 + i, g_topic[0], "ETH", 50 + (int)i, 0);
        ptr[i] = &bars[i];
    }
    pub_kafka_ops.produce(k, 0, ptr, 5);
    n = collect(k, PKE_DELIVERY, 5, ev, 8);
    assert_int_equal(n, 5);
    for (i = 0; i < 5; i++) {
        full += ev[i].input == PUB_I_QUEUE_FULL;
        ok += ev[i].input == PUB_I_PUBLISH_SUCCESS;
    }
    assert_true(full >= 1 && ok >= 1 && full + ok == 5);
    pub_kafka_free(k, 5000);
}

/* A fatal error with no bar unsettled: the shell replaces the dead
 * producer itself (the core has nothing to put back) and the next bar is
 * delivered; a fatal error with a bar the producer never took: one
 * PRODUCER_FATAL, and after the core's reset the bar is delivered. */
static void test_fatal_and_reset(void **state)
{
    struct pub_kafka *k = publisher(PUB_FMT_MSGPACK, NULL, NULL);
    static struct md_bar b1, b2;
    const struct md_bar *ptr[1];
    struct pub_kafka_event ev[4];
    struct pub_kafka_stats st;
    int64_t end;

    (void)state;
    assert_int_equal(pub_kafka_test_fatal(k), MD_OK);
    end = now_ms() + 500;
    while (now_ms() < end) {
        if (pub_kafka_next(k, 50, &ev[0]) == 1) {
            fail_msg("an event (input %d) for a fatal error that touched no "
                     "bar", ev[0].input);
        }
    }
    pub_kafka_stats(k, &st);
    assert_int_equal(st.fatal, 1);
    assert_int_equal(st.resets, 1);
    b1 = mkbar(300, g_topic[0], "LTC", 60, 0);
    ptr[0] = &b1;
    pub_kafka_ops.produce(k, 0, ptr, 1);
    assert_int_equal(collect(k, PKE_DELIVERY, 1, ev, 4), 1);
    assert_int_equal(ev[0].input, PUB_I_PUBLISH_SUCCESS);
    assert_int_equal(ev[0].bar_id, 300);
    /* dead before it took the bar */
    assert_int_equal(pub_kafka_test_fatal(k), MD_OK);
    b2 = mkbar(301, g_topic[0], "LTC", 61, 0);
    ptr[0] = &b2;
    pub_kafka_ops.produce(k, 0, ptr, 1);
    assert_int_equal(collect(k, PKE_DELIVERY, 1, ev, 4), 1);
    assert_int_equal(ev[0].input, PUB_I_PRODUCER_FATAL);
    assert_int_equal(ev[0].bar_id, 0);
    assert_true(ev[0].reason[0] != '\0');
    /* the core resets the producer before its next produce */
    pub_kafka_ops.producer_reset(k, 0);
    pub_kafka_ops.produce(k, 0, ptr, 1);
    assert_int_equal(collect(k, PKE_DELIVERY, 1, ev, 4), 1);
    assert_int_equal(ev[0].input, PUB_I_PUBLISH_SUCCESS);
    assert_int_equal(ev[0].bar_id, 301);
    pub_kafka_stats(k, &st);
    assert_int_equal(st.fatal, 2);
    assert_int_equal(st.resets, 2);
    assert_int_equal(pub_kafka_free(k, 5000), 0);
}

/* A day bar flushed at a stop, hours before its end: stamped with the
 * server time it was made at, the broker takes it (its
 * log.message.timestamp.after.max.ms is 1 h); stamped with its end, as a
 * timer-closed bar is, the broker refuses it for good, and the shell
 * reports that bar rejected, by id. */
static void test_day_bar_flushed(void **state)
{
    struct pub_kafka *k = publisher(PUB_FMT_MSGPACK, NULL, NULL);
    static struct md_bar flushed, ahead;
    const struct md_bar *ptr[1];
    struct pub_kafka_event ev[8];
    char topic[160], *out, want[64];
    const char *t[1];
    struct timespec ts;
    int64_t wall, day = 86400000;
    size_t n;

    (void)state;
    snprintf(topic, sizeof topic, "%s-day", g_topic[0]);
    t[0] = topic;
    pub_kafka_ops.topic_create(k, 0, t, 1);
    assert_int_equal(collect(k, PKE_TOPIC, 1, ev, 8), 1);
    assert_int_equal(ev[0].input, PUB_I_TOPIC_CREATED);
    clock_gettime(CLOCK_REALTIME, &ts);
    wall = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    flushed = mkbar(500, topic, "BTC", 0, 0);
    flushed.bar.interval_s = 86400;
    flushed.bar.start_ms = wall / day * day;
    flushed.bar.end_ms = flushed.bar.start_ms + day;
    flushed.bar.close_reason = BAR_CLOSE_FLUSH;
    flushed.emit_ms = wall;
    ptr[0] = &flushed;
    pub_kafka_ops.produce(k, 0, ptr, 1);
    assert_int_equal(collect(k, PKE_DELIVERY, 1, ev, 8), 1);
    assert_int_equal(ev[0].bar_id, 500);
    assert_int_equal(ev[0].input, PUB_I_PUBLISH_SUCCESS);
    assert_int_equal(pub_kafka_free(k, 5000), 0);
    out = kcat(topic, "%T %k\\n", 1, &n);
    assert_int_equal(n, 1);
    snprintf(want, sizeof want, "%lld Coinbase:BTC-USD:1d:trades\n",
             (long long)wall);
    assert_string_equal(out, want);
    free(out);
    /* the control: a bar stamped a day ahead (its end): refused; under
     * the gapless guarantee that kills the producer, which the shell
     * replaces at once (the refused bar was the only one: nothing for the
     * core to put back) */
    k = publisher(PUB_FMT_MSGPACK, NULL, NULL);
    ahead = flushed;
    ahead.id = 501;
    ahead.bar.start_ms += day;
    ahead.bar.end_ms += day;
    ahead.bar.close_reason = BAR_CLOSE_TIMER;
    ptr[0] = &ahead;
    pub_kafka_ops.produce(k, 0, ptr, 1);
    assert_int_equal(collect(k, PKE_DELIVERY, 1, ev, 8), 1);
    assert_int_equal(ev[0].bar_id, 501);
    assert_int_equal(ev[0].input, PUB_I_PUBLISH_REJECTED);
    if (strstr(ev[0].reason, "imestamp") == NULL) {
        fail_msg("reason: %s", ev[0].reason);
    }
    {
        struct pub_kafka_stats st0;
        pub_kafka_stats(k, &st0);
        assert_int_equal(st0.fatal, 1);
        assert_int_equal(st0.resets, 1);
    }
    /* the core dead-letters it: the log names the bar */
    {
        char path[] = "/tmp/ccs-test-deadletter.XXXXXX", got[512];
        int fd = mkstemp(path), saved = dup(2);
        FILE *f;
        struct pub_kafka_stats st;
        assert_true(fd >= 0 && saved >= 0);
        fflush(stderr);
        dup2(fd, 2);
        pub_kafka_ops.dead_letter(k, 0, ptr, 1);
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        f = fdopen(fd, "r");
        rewind(f);
        got[fread(got, 1, sizeof got - 1, f)] = '\0';
        fclose(f);
        unlink(path);
        snprintf(want, sizeof want, "start_ms=%lld revision=0",
                 (long long)ahead.bar.start_ms);
        if (strstr(got, "dead letter: bar 501 Coinbase:BTC-USD:1d:trades")
                == NULL || strstr(got, want) == NULL) {
            fail_msg("log: %s", got);
        }
        pub_kafka_stats(k, &st);
        assert_int_equal(st.dead_letters, 1);
    }
    pub_kafka_free(k, 5000);
}

/* Readable within WAIT_MS: 1, else 0. */
static int fd_ready(int fd, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};

    return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

/* The wake-up descriptor a live loop's driver waits on: readable when a
 * report is there, quiet once everything was taken, readable again for
 * the next one; the same descriptor across a producer reset. */
static void test_wake_fd(void **state)
{
    struct pub_kafka *k = publisher(PUB_FMT_MSGPACK, NULL, NULL);
    static struct md_bar b[3];
    const struct md_bar *ptr[1];
    struct pub_kafka_event ev;
    int fd = pub_kafka_fd(k), round;

    (void)state;
    assert_true(fd >= 0);
    for (round = 0; round < 3; round++) {
        if (round == 2) {
            pub_kafka_ops.producer_reset(k, 0);
            assert_int_equal(pub_kafka_fd(k), fd);
        }
        b[round] = mkbar(400 + (uint64_t)round, g_topic[0], "XRP",
                         70 + round, 0);
        ptr[0] = &b[round];
        pub_kafka_ops.produce(k, 0, ptr, 1);
        assert_true(fd_ready(fd, WAIT_MS));
        /* what woke it is there without waiting */
        while (pub_kafka_next(k, 0, &ev) == 1 && ev.kind != PKE_DELIVERY) {
        }
        assert_int_equal(ev.kind, PKE_DELIVERY);
        assert_int_equal(ev.input, PUB_I_PUBLISH_SUCCESS);
        assert_int_equal(ev.bar_id, 400 + (uint64_t)round);
        while (pub_kafka_next(k, 0, &ev) == 1) {
        }
        assert_false(fd_ready(fd, 0));
    }
    assert_int_equal(pub_kafka_free(k, 5000), 0);
}

static void test_bad_property(void **state)
{
    struct pub_kafka_opts o;
    struct pub_kafka *k;
    char err[512];

    (void)state;
    pub_kafka_opts_default(&o);
    o.brokers = brokers();
    o.props[0][0] = "no.such.property";
    o.props[0][1] = "1";
    o.n_props = 1;
    assert_int_equal(pub_kafka_new(&o, &k, err, sizeof err), MD_E_USAGE);
    assert_non_null(strstr(err, "no.such.property"));
    o.n_props = 0;
    o.brokers = "";
    assert_int_equal(pub_kafka_new(&o, &k, err, sizeof err), MD_E_USAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topics_created),
        cmocka_unit_test(test_produce_and_read_back),
        cmocka_unit_test(test_json_values),
        cmocka_unit_test(test_refused_at_once),
        cmocka_unit_test(test_fatal_and_reset),
        cmocka_unit_test(test_wake_fd),
        cmocka_unit_test(test_day_bar_flushed),
        cmocka_unit_test(test_bad_property),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
