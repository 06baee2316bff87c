/* test_topic_cache.c: a producer's topic handles by name
 * (publish/topic_cache.h): one handle per name, the same one each time,
 * through the table's growth; cleared before the client goes, and usable
 * again. No broker: librdkafka makes handles without connecting. */
#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "cmocka_inc.h"
#include "topic_cache.h"

static rd_kafka_t *client(void)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char err[256];
    rd_kafka_t *rk;

    assert_int_equal(rd_kafka_conf_set(c, "bootstrap.servers", "127.0.0.1:9",
                                       err, sizeof err),
                     RD_KAFKA_CONF_OK);
    assert_int_equal(rd_kafka_conf_set(c, "log_level", "0", err, sizeof err),
                     RD_KAFKA_CONF_OK);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    assert_non_null(rk);
    return rk;
}

static void test_one_handle_per_name(void **state)
{
    struct topic_cache tc;
    rd_kafka_topic_t *first[300];
    rd_kafka_t *rk = client();
    char name[64];
    int i, j;

    (void)state;
    memset(&tc, 0, sizeof tc);
    /* 300 names: the table grows from 16 slots five times */
    for (i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "ohlcv.Market%d.1m", i);
        first[i] = topic_cache_get(&tc, rk, name);
        assert_non_null(first[i]);
        assert_string_equal(rd_kafka_topic_name(first[i]), name);
    }
    assert_int_equal(tc.n, 300);
    assert_true(tc.n * 2 <= tc.cap);
    for (i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "ohlcv.Market%d.1m", i);
        assert_ptr_equal(topic_cache_get(&tc, rk, name), first[i]);
        for (j = i + 1; j < 300 && j < i + 3; j++) {
            assert_ptr_not_equal(first[i], first[j]);
        }
    }
    assert_int_equal(tc.n, 300);
    topic_cache_clear(&tc);
    assert_int_equal(tc.n, 0);
    assert_null(tc.slot);
    /* usable again, as for the next producer */
    assert_non_null(topic_cache_get(&tc, rk, "ohlcv.CCCAGG.1m"));
    assert_int_equal(tc.n, 1);
    topic_cache_clear(&tc);
    rd_kafka_destroy(rk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_handle_per_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
