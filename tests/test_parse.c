/* test_parse.c: the strict parsers of user values (core/md_parse.h). */
#include "cmocka_inc.h"

#include "md_err.h"
#include "md_parse.h"

#define S INT64_C(1000000000)

static int dur(const char *s, int64_t max, int64_t *ns)
{
    return md_parse_duration(s, strlen(s), S, max, ns);
}

static void test_durations(void **state)
{
    static const struct {
        const char *text;
        int64_t ns;
    } ok[] = {
        {"0", 0},           {"5", 5 * S},          {"90s", 90 * S},
        {"1m", 60 * S},     {"1h", 3600 * S},      {"1d", 86400 * S},
        {"1.5s", S * 3 / 2}, {"0.25m", 15 * S},    {".5s", S / 2},
        {"250ms", S / 4},   {"7us", 7000},         {"3ns", 3},
        {"1.000000001s", S + 1},
    };
    static const char *const bad[] = {
        "", "s", "-1", "+5", " 5", "5 ", "0x10", "1e3", "nan", "inf", "1.",
        "1..5", "5x", "5mm", "1.0000000001s", "1,5",
    };
    int64_t v;
    size_t k;

    (void)state;
    for (k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        v = -1;
        if (dur(ok[k].text, INT64_MAX, &v) != MD_OK || v != ok[k].ns) {
            fail_msg("'%s' -> %lld", ok[k].text, (long long)v);
        }
    }
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        if (dur(bad[k], INT64_MAX, &v) != MD_E_INVAL) {
            fail_msg("'%s' accepted", bad[k]);
        }
    }
    /* range: no wrap, whatever the digits */
    assert_int_equal(dur("9999999999h", INT64_MAX, &v), MD_E_RANGE);
    assert_int_equal(dur("18446744074", INT64_MAX, &v), MD_E_RANGE);
    assert_int_equal(dur("99999999999999999999999", INT64_MAX, &v),
                     MD_E_RANGE);
    assert_int_equal(dur("8d", 7 * 86400 * S, &v), MD_E_RANGE);
    assert_int_equal(dur("7d", 7 * 86400 * S, &v), MD_OK);
    assert_int_equal(dur("7.5d", 7 * 86400 * S, &v), MD_E_RANGE);
    assert_int_equal(dur("9223372036.854775807", INT64_MAX, &v), MD_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(dur("9223372036.854775808", INT64_MAX, &v), MD_E_RANGE);
}

static void test_numbers(void **state)
{
    uint64_t u;
    double d;

    (void)state;
    assert_int_equal(md_parse_u64("18446744073709551615", 20, UINT64_MAX,
                                  &u), MD_OK);
    assert_true(u == UINT64_MAX);
    assert_int_equal(md_parse_u64("18446744073709551616", 20, UINT64_MAX,
                                  &u), MD_E_RANGE);
    assert_int_equal(md_parse_u64("12", 2, 11, &u), MD_E_RANGE);
    assert_int_equal(md_parse_u64("-1", 2, 11, &u), MD_E_INVAL);
    assert_int_equal(md_parse_u64("", 0, 11, &u), MD_E_INVAL);
    assert_int_equal(md_parse_real("2.5", 3, 0.001, 1e6, &d), MD_OK);
    assert_true(d == 2.5);
    assert_int_equal(md_parse_real(".5", 2, 0.001, 1e6, &d), MD_OK);
    assert_int_equal(md_parse_real("nan", 3, 0.001, 1e6, &d), MD_E_INVAL);
    assert_int_equal(md_parse_real("inf", 3, 0.001, 1e6, &d), MD_E_INVAL);
    assert_int_equal(md_parse_real("1e300", 5, 0.001, 1e6, &d), MD_E_INVAL);
    assert_int_equal(md_parse_real("0", 1, 0.001, 1e6, &d), MD_E_RANGE);
    assert_int_equal(md_parse_real("1000001", 7, 0.001, 1e6, &d),
                     MD_E_RANGE);
    assert_int_equal(md_parse_real("-1", 2, -5, 5, &d), MD_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
