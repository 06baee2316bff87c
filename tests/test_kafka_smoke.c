/* test_kafka_smoke.c: smoke test of the real Kafka broker that
 * tests/run-tests.sh starts (or the cluster in KAFKA_BROKERS): librdkafka
 * creates a topic, produces and consumes one message, sees that topics are
 * not auto-created, and kcat reads back what librdkafka wrote. */
/* libc and librdkafka first: with -DUNIT_TESTING cmocka.h redefines malloc,
 * calloc and free, which would break <stdlib.h> included after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* Every wait in this file is bounded by one of these (milliseconds). */
#define ADMIN_TIMEOUT_MS 20000
#define DELIVERY_TIMEOUT_MS 25000
#define CONSUME_TIMEOUT_MS 30000
#define KCAT_TIMEOUT_S 30

struct smoke {
    char topic[128];
    int created;
};

struct delivery {
    int done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *brokers(void)
{
    const char *b = getenv("KAFKA_BROKERS");

    if (b == NULL || b[0] == '\0')
        fail_msg("KAFKA_BROKERS is not set: run this through "
                 "tests/run-tests.sh (which starts a broker), or start one "
                 "with tests/kafka/broker.sh start and export "
                 "KAFKA_BROKERS=<its address>");
    return b;
}

static void conf_set(rd_kafka_conf_t *conf, const char *name,
                     const char *value)
{
    char errstr[512];

    if (rd_kafka_conf_set(conf, name, value, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK)
        fail_msg("rd_kafka_conf_set(%s=%s): %s", name, value, errstr);
}

static rd_kafka_conf_t *base_conf(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();

    conf_set(conf, "bootstrap.servers", brokers());
    conf_set(conf, "client.id", "ccstream-test-kafka-smoke");
    conf_set(conf, "socket.timeout.ms", "10000");
    return conf;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);

    if (rk == NULL)
        fail_msg("rd_kafka_new: %s", errstr);
    return rk;
}

static void unique_topic(char *buf, size_t len, const char *tag)
{
    static unsigned counter;
    struct timespec ts;
    int n;

    clock_gettime(CLOCK_REALTIME, &ts);
    n = snprintf(buf, len, "ccstream-test-%s-%ld-%lld%09ld-%u", tag,
                 (long)getpid(), (long long)ts.tv_sec, ts.tv_nsec,
                 counter++);
    assert_true(n > 0 && (size_t)n < len);
}

static int setup(void **state)
{
    struct smoke *s = calloc(1, sizeof *s);

    if (s == NULL)
        return -1;
    *state = s;
    return 0;
}

/* Creates the topic with 1 partition and replication factor 1, waiting for
 * the controller to report it created. */
static void create_topic(struct smoke *s)
{
    char errstr[512];
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, base_conf());
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_NewTopic_t *nt;
    rd_kafka_AdminOptions_t *opts;
    rd_kafka_event_t *ev;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **topics;
    size_t cnt = 0;

    nt = rd_kafka_NewTopic_new(s->topic, 1, 1, errstr, sizeof errstr);
    if (nt == NULL)
        fail_msg("rd_kafka_NewTopic_new(%s): %s", s->topic, errstr);
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    assert_non_null(opts);
    if (rd_kafka_AdminOptions_set_request_timeout(
            opts, ADMIN_TIMEOUT_MS, errstr, sizeof errstr) ||
        rd_kafka_AdminOptions_set_operation_timeout(
            opts, ADMIN_TIMEOUT_MS / 2, errstr, sizeof errstr))
        fail_msg("admin options: %s", errstr);

    rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
    ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS + 5000);
    if (ev == NULL)
        fail_msg("no CreateTopics result for %s within %d ms", s->topic,
                 ADMIN_TIMEOUT_MS + 5000);
    assert_int_equal(rd_kafka_event_type(ev),
                     RD_KAFKA_EVENT_CREATETOPICS_RESULT);
    if (rd_kafka_event_error(ev))
        fail_msg("CreateTopics(%s): %s", s->topic,
                 rd_kafka_event_error_string(ev));
    res = rd_kafka_event_CreateTopics_result(ev);
    assert_non_null(res);
    topics = rd_kafka_CreateTopics_result_topics(res, &cnt);
    assert_int_equal(cnt, 1);
    if (rd_kafka_topic_result_error(topics[0]))
        fail_msg("CreateTopics(%s): %s: %s", s->topic,
                 rd_kafka_err2name(rd_kafka_topic_result_error(topics[0])),
                 rd_kafka_topic_result_error_string(topics[0]));
    assert_string_equal(rd_kafka_topic_result_name(topics[0]), s->topic);
    s->created = 1;

    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

/* Best effort: a shared cluster given in KAFKA_BROKERS keeps no litter. */
static int teardown(void **state)
{
    struct smoke *s = *state;

    if (s != NULL && s->created) {
        rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, base_conf());
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(s->topic);
        rd_kafka_event_t *ev;

        rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
        ev = rd_kafka_queue_poll(q, ADMIN_TIMEOUT_MS);
        if (ev != NULL)
            rd_kafka_event_destroy(ev);
        rd_kafka_DeleteTopic_destroy(dt);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
    }
    free(s);
    return 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    struct delivery *d = m->_private;

    (void)rk;
    (void)opaque;
    d->done = 1;
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
}

/* Produces one message (acks=all, idempotent) and waits, bounded, for its
 * delivery report. propagation_ms is how long librdkafka waits for an
 * unknown topic to appear before failing the message. */
static struct delivery produce_one(const char *topic, char *key, char *value,
                                   const char *propagation_ms)
{
    struct delivery d = { 0, RD_KAFKA_RESP_ERR_NO_ERROR, -1, -1 };
    rd_kafka_conf_t *conf = base_conf();
    rd_kafka_t *rk;
    rd_kafka_vu_t vu[4];
    rd_kafka_error_t *error;

    conf_set(conf, "acks", "all");
    conf_set(conf, "enable.idempotence", "true");
    conf_set(conf, "message.timeout.ms", "20000");
    conf_set(conf, "topic.metadata.propagation.max.ms", propagation_ms);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rk = new_client(RD_KAFKA_PRODUCER, conf);

    memset(vu, 0, sizeof vu);
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic;
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem.ptr = key;
    vu[1].u.mem.size = strlen(key);
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem.ptr = value;
    vu[2].u.mem.size = strlen(value);
    vu[3].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[3].u.ptr = &d;
    error = rd_kafka_produceva(rk, vu, 4);
    if (error != NULL)
        fail_msg("produce to %s: %s", topic, rd_kafka_error_string(error));

    /* flush() serves the delivery callback; it returns when the queue is
     * empty or after DELIVERY_TIMEOUT_MS. */
    (void)rd_kafka_flush(rk, DELIVERY_TIMEOUT_MS);
    if (!d.done)
        fail_msg("no delivery report for %s within %d ms", topic,
                 DELIVERY_TIMEOUT_MS);
    rd_kafka_destroy(rk);
    return d;
}

/* Reads the first message of partition 0 of topic, bounded by
 * CONSUME_TIMEOUT_MS. Fails the test if none arrives. */
static void consume_first(const char *topic, char *key, size_t keylen,
                          char *value, size_t valuelen, int64_t *offset)
{
    rd_kafka_conf_t *conf = base_conf();
    rd_kafka_t *rk;
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_resp_err_t err, last_err = RD_KAFKA_RESP_ERR_NO_ERROR;
    int64_t deadline = now_ms() + CONSUME_TIMEOUT_MS;
    int got = 0;
    char group[192];

    /* librdkafka 2.0 refuses assign() without a group.id ("Unknown
     * group"); nothing is committed to it. */
    snprintf(group, sizeof group, "%s-reader", topic);
    conf_set(conf, "group.id", group);
    conf_set(conf, "enable.auto.commit", "false");
    conf_set(conf, "enable.auto.offset.store", "false");
    rk = new_client(RD_KAFKA_CONSUMER, conf);

    parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, topic, 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    err = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err)
        fail_msg("assign %s[0]: %s", topic, rd_kafka_err2str(err));

    while (!got && now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);

        if (m == NULL)
            continue;
        if (m->err) {
            last_err = m->err; /* transient until the deadline says not */
        } else {
            assert_true(m->key_len < keylen && m->len < valuelen);
            memcpy(key, m->key, m->key_len);
            key[m->key_len] = '\0';
            memcpy(value, m->payload, m->len);
            value[m->len] = '\0';
            *offset = m->offset;
            got = 1;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (!got)
        fail_msg("no message from %s[0] within %d ms (last error: %s)",
                 topic, CONSUME_TIMEOUT_MS, rd_kafka_err2name(last_err));
}

/* Create, produce one keyed message, consume it back from the beginning. */
static void test_produce_consume(void **state)
{
    struct smoke *s = *state;
    char key[] = "smoke-key";
    char value[160];
    char got_key[64], got_value[256];
    int64_t got_offset = -1;
    struct delivery d;

    unique_topic(s->topic, sizeof s->topic, "smoke");
    snprintf(value, sizeof value, "smoke-value for %s", s->topic);
    create_topic(s);

    d = produce_one(s->topic, key, value, "30000");
    if (d.err)
        fail_msg("delivery to %s failed: %s", s->topic,
                 rd_kafka_err2name(d.err));
    assert_int_equal(d.partition, 0);
    assert_int_equal(d.offset, 0);

    consume_first(s->topic, got_key, sizeof got_key, got_value,
                  sizeof got_value, &got_offset);
    assert_string_equal(got_key, key);
    assert_string_equal(got_value, value);
    assert_int_equal(got_offset, d.offset);
}

/* The broker runs with auto.create.topics.enable=false: producing to a
 * topic nobody created must fail with an unknown-topic delivery report,
 * and the topic must still not exist afterwards. */
static void test_no_auto_create(void **state)
{
    struct smoke *s = *state;
    char key[] = "k";
    char value[] = "must not be delivered";
    struct delivery d;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err;

    unique_topic(s->topic, sizeof s->topic, "absent");
    d = produce_one(s->topic, key, value, "2000");
    if (d.err == RD_KAFKA_RESP_ERR_NO_ERROR)
        fail_msg("a message to the never-created topic %s was delivered "
                 "(offset %lld): the broker auto-creates topics",
                 s->topic, (long long)d.offset);
    if (d.err != RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC &&
        d.err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        fail_msg("producing to absent topic %s: expected an unknown-topic "
                 "delivery error, got %s",
                 s->topic, rd_kafka_err2name(d.err));
    print_message("absent topic: delivery failed as expected with %s\n",
                  rd_kafka_err2name(d.err));

    /* Ask for the topic's metadata: it must be reported unknown. */
    rk = new_client(RD_KAFKA_PRODUCER, base_conf());
    rkt = rd_kafka_topic_new(rk, s->topic, NULL);
    assert_non_null(rkt);
    err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (err)
        fail_msg("metadata for %s: %s", s->topic, rd_kafka_err2name(err));
    assert_int_equal(md->topic_cnt, 1);
    assert_string_equal(md->topics[0].topic, s->topic);
    if (md->topics[0].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        fail_msg("topic %s exists after a produce (err %s): the broker "
                 "auto-creates topics",
                 s->topic, rd_kafka_err2name(md->topics[0].err));
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
}

/* A third-party client reads back what librdkafka wrote. */
static void test_kcat_reads_back(void **state)
{
    struct smoke *s = *state;
    const char *b = brokers();
    char key[] = "kcat-key";
    char value[160], expect[256], cmd[768], out[512];
    size_t n = 0, r;
    struct delivery d;
    FILE *p;
    int status;

    if (strchr(b, '\'') != NULL)
        fail_msg("KAFKA_BROKERS contains a quote: %s", b);
    unique_topic(s->topic, sizeof s->topic, "kcat");
    snprintf(value, sizeof value, "kcat-value for %s", s->topic);
    create_topic(s);
    d = produce_one(s->topic, key, value, "30000");
    if (d.err)
        fail_msg("delivery to %s failed: %s", s->topic,
                 rd_kafka_err2name(d.err));

    snprintf(cmd, sizeof cmd,
             "timeout %d kcat -q -b '%s' -C -t '%s' -o beginning -e "
             "-f '%%k=%%s'",
             KCAT_TIMEOUT_S, b, s->topic);
    p = popen(cmd, "r");
    if (p == NULL)
        fail_msg("popen(%s) failed", cmd);
    while (n < sizeof out - 1 &&
           (r = fread(out + n, 1, sizeof out - 1 - n, p)) > 0)
        n += r;
    out[n] = '\0';
    status = pclose(p);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("'%s' failed (status %d), output: %s", cmd, status, out);

    snprintf(expect, sizeof expect, "%s=%s", key, value);
    assert_string_equal(out, expect);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_produce_consume, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_auto_create, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_kcat_reads_back, setup,
                                        teardown),
    };

    return cmocka_run_group_tests_name("kafka_smoke", tests, NULL, NULL);
}
