/* test_publish_record.c: a bar as a Kafka record (publish/record.h): the
 * key names the series, the headers say the identity exactly as
 * docs/bars.md writes them, the value decodes back to the bar in both
 * encodings, the same bar gives the same bytes, and the timestamp is the
 * bar's end unless the bar was flushed before it. */
#include <stdio.h>
#include <string.h>

#include "bar_codec.h"
#include "cmocka_inc.h"
#include "md_err.h"
#include "record.h"

#define SETS(dst, s) snprintf((dst), sizeof(dst), "%s", (s))

static struct bar sample(void)
{
    struct bar b;

    memset(&b, 0, sizeof b);
    SETS(b.market, "Coinbase");
    SETS(b.base, "BTC");
    SETS(b.quote, "USD");
    b.interval_s = 60;
    b.source = BAR_SRC_TRADES;
    b.start_ms = 1753190400000;
    b.end_ms = 1753190460000;
    b.revision = 2;
    b.close_reason = BAR_CLOSE_REVISION;
    b.flags = BAR_F_SPANS_DISCONNECT | BAR_F_BACKFILLED;
    b.has = BAR_HAS_OHLC | BAR_HAS_VOLUME | BAR_HAS_TRADES;
    b.open = 119283.1;
    b.high = 119290.55;
    b.low = 119270.01;
    b.close = 119288.42;
    b.volume = (bar_i128)1234637342 * 10000;
    b.quote_volume = (bar_i128)14727421234 * 1000000000;
    b.trades = 187;
    return b;
}

static const char *hdr(const struct pub_record *r, const char *name)
{
    unsigned i;

    for (i = 0; i < r->n_hdr; i++) {
        if (strcmp(r->hdr[i].name, name) == 0) {
            assert_int_equal(strlen(r->hdr[i].value), r->hdr[i].len);
            return r->hdr[i].value;
        }
    }
    fail_msg("no header %s", name);
    return NULL;
}

static void test_key_headers_value(void **state)
{
    struct bar b = sample(), back;
    struct pub_record r, j;
    unsigned char buf[2048], jbuf[2048];
    static const char *const order[] = {"ccs-schema", "start_ms", "end_ms",
                                        "revision", "source",
                                        "close_reason", "flags",
                                        "content-type"};
    unsigned i;

    (void)state;
    assert_int_equal(pub_record_make(&b, 0, PUB_FMT_MSGPACK, buf, sizeof buf,
                                     &r),
                     MD_OK);
    assert_string_equal(r.key, "Coinbase:BTC-USD:1m:trades");
    assert_int_equal(r.key_len, strlen(r.key));
    assert_int_equal(r.n_hdr, 8);
    for (i = 0; i < 8; i++) {
        assert_string_equal(r.hdr[i].name, order[i]);
    }
    assert_string_equal(hdr(&r, "ccs-schema"), "1");
    assert_string_equal(hdr(&r, "start_ms"), "1753190400000");
    assert_string_equal(hdr(&r, "end_ms"), "1753190460000");
    assert_string_equal(hdr(&r, "revision"), "2");
    assert_string_equal(hdr(&r, "source"), "trades");
    assert_string_equal(hdr(&r, "close_reason"), "revision");
    assert_string_equal(hdr(&r, "flags"), "spans_disconnect,backfilled");
    assert_string_equal(hdr(&r, "content-type"), "application/msgpack");
    assert_int_equal(bar_from_msgpack(r.value, r.value_len, &back, NULL),
                     MD_OK);
    assert_memory_equal(back.market, b.market, sizeof b.market);
    assert_true(back.close == b.close && back.volume == b.volume &&
                back.revision == b.revision);
    /* JSON on request */
    assert_int_equal(pub_record_make(&b, 0, PUB_FMT_JSON, jbuf, sizeof jbuf,
                                     &j),
                     MD_OK);
    assert_string_equal(hdr(&j, "content-type"), "application/json");
    assert_string_equal(j.key, r.key);
    assert_int_equal(bar_from_json((const char *)j.value, j.value_len, &back,
                                   NULL),
                     MD_OK);
    assert_true(back.high == b.high);
    /* no flags: an empty header */
    b.flags = 0;
    assert_int_equal(pub_record_make(&b, 0, PUB_FMT_MSGPACK, buf, sizeof buf,
                                     &r),
                     MD_OK);
    assert_string_equal(hdr(&r, "flags"), "");
    /* too small a buffer */
    assert_int_equal(pub_record_make(&b, 0, PUB_FMT_MSGPACK, buf, 10, &r),
                     MD_E_FULL);
}

/* A pure function: the same bar, the same bytes, whatever the emission. */
static void test_deterministic(void **state)
{
    struct bar b = sample();
    struct pub_record a, c;
    unsigned char b1[2048], b2[2048];
    unsigned i;

    (void)state;
    assert_int_equal(pub_record_make(&b, 1753190470000, PUB_FMT_MSGPACK, b1,
                                     sizeof b1, &a),
                     MD_OK);
    memset(b2, 0xaa, sizeof b2);
    assert_int_equal(pub_record_make(&b, 1753190999000, PUB_FMT_MSGPACK, b2,
                                     sizeof b2, &c),
                     MD_OK);
    assert_int_equal(a.value_len, c.value_len);
    assert_memory_equal(a.value, c.value, a.value_len);
    assert_int_equal(a.timestamp_ms, c.timestamp_ms);
    for (i = 0; i < a.n_hdr; i++) {
        assert_string_equal(a.hdr[i].value, c.hdr[i].value);
    }
}

static void test_timestamp(void **state)
{
    struct bar b = sample();
    struct pub_record r;
    unsigned char buf[2048];

    (void)state;
    /* timer, revision, backfill: the bar's end */
    b.close_reason = BAR_CLOSE_TIMER;
    assert_int_equal(pub_record_make(&b, 1753190462000, PUB_FMT_MSGPACK, buf,
                                     sizeof buf, &r),
                     MD_OK);
    assert_int_equal(r.timestamp_ms, b.end_ms);
    b.close_reason = BAR_CLOSE_BACKFILL;
    assert_int_equal(pub_record_make(&b, 1753199999000, PUB_FMT_MSGPACK, buf,
                                     sizeof buf, &r),
                     MD_OK);
    assert_int_equal(r.timestamp_ms, b.end_ms);
    /* a day bar flushed at a stop: the server's clock when it was made,
     * not its end a day ahead */
    b.interval_s = 86400;
    b.start_ms = 1753142400000;
    b.end_ms = 1753228800000;
    b.close_reason = BAR_CLOSE_FLUSH;
    assert_int_equal(pub_record_make(&b, 1753190461234, PUB_FMT_MSGPACK, buf,
                                     sizeof buf, &r),
                     MD_OK);
    assert_int_equal(r.timestamp_ms, 1753190461234);
    assert_string_equal(r.key, "Coinbase:BTC-USD:1d:trades");
    /* flushed after its end (a replay's last bars): its end */
    assert_int_equal(pub_record_make(&b, 1753300000000, PUB_FMT_MSGPACK, buf,
                                     sizeof buf, &r),
                     MD_OK);
    assert_int_equal(r.timestamp_ms, b.end_ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_headers_value),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_timestamp),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
