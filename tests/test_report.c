/* test_report.c: `ccstream report` on every replay fixture, its injected
 * faults included (tests/report_fixtures.sh): the page is well-formed
 * (python's html parser, each SVG by an XML parser), holds one candle per
 * bar the same replay writes with --bars-out, with its record in the
 * tooltip, and one marker per revision, fetches nothing and carries no API
 * key (tests/report_check.py); each fault fixture's fault is on the page;
 * credentials in a capture's metadata are blotted out; --inject and
 * --intervals change the run; a large capture stays under 5 MB; a wrong
 * flag and a missing capture are usage and input errors that leave no
 * page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmocka_inc.h"
#include "report.h"
#include "support/proc.h"

#undef free

static char g_dir[256], g_bin[512], g_fix[512];

static int sh(const char *cmd)
{
    int st = system(cmd);

    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int group_setup(void **state)
{
    (void)state;
    if (tbuild_path(g_bin, sizeof g_bin, "ccstream") != 0 ||
        tbuild_path(g_fix, sizeof g_fix, "fixtures/replay") != 0) {
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/test_report.XXXXXX");
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return sh(cmd) == 0 ? 0 : -1;
}

static void test_every_fixture(void **state)
{
    char cmd[8192];

    (void)state;
    snprintf(cmd, sizeof cmd, "tests/report_fixtures.sh '%s' '%s' '%s'",
             g_bin, g_fix, g_dir);
    assert_int_equal(sh(cmd), 0);
}

/* Each fault fixture's fault, as the page shows it. */
static void test_fault_at_a_glance(void **state)
{
    static const struct {
        const char *fixture, *inject, *want;
    } cases[] = {
        {"0002-abrupt-disconnect", "", "code 1006, 577 frames"},
        {"0002-abrupt-disconnect", "", "class=\"gapband\""},
        {"0003-clean-close", "", "code 1001"},
        {"0004-force-disconnect", "", "FORCE_DISCONNECT from the server"},
        {"0005-heartbeat-stall", "", "class=\"stalemark\""},
        {"0005-heartbeat-stall", "", "stale: no data and no heartbeat"},
        {"0006-unauthorized", "", "class=\"st st-FAILED\""},
        {"0006-unauthorized", "", "the key refused (TYPE 401)"},
        {"0007-too-many-sockets", "", "; TOO_MANY_SOCKETS</title>"},
        {"0008-invalid-sub", "", "<th>sub_rejected</th><td>8</td>"},
        {"0009-rest-rate-limit", "", "RESP_RATE_LIMIT</td>"},
        {"0009-rest-rate-limit", "", "class=\"budget w1\" points=\"1"},
        {"0010-rest-unauthorized", "", "RESP_AUTH</td>"},
        {"0011-malformed-frame", "", "<th>malformed_frame</th><td>2</td>"},
        {"0013-duplicate-trades", "", "<th>duplicate trades</th><td>47</td>"},
        {"0014-late-trades", "", "class=\"rev late\""},
        {"0016-gap-backfill", "", "class=\"bf\""},
        {"0016-gap-backfill", "", "never up, closed"},
        {"0017-publish-failure", "--inject publish-fail@100s",
         "pub ERROR from +2:11.2"},
        {"0001-default", "--inject half-open@150s", "ping unanswered"},
        {"0001-default", "--inject stall@5130ms", "; handshake timeout"},
        {"0016-gap-backfill", "--inject stall@470s --inject stop@567200ms",
         "</td><td class=\"l\">cancelled</td>"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "'%s' report '%s/%s.db' %s --out '%s/g.html' && "
                 "grep -qF '%s' '%s/g.html'",
                 g_bin, g_fix, cases[i].fixture, cases[i].inject, g_dir,
                 cases[i].want, g_dir);
        if (sh(cmd) != 0) {
            fail_msg("%s %s: no '%s' on the page", cases[i].fixture,
                     cases[i].inject, cases[i].want);
        }
    }
}

/* A credential in the capture's metadata (where no writer should have let
 * it) is blotted out on the page, in a JSON member and a URL. */
static void test_metadata_redacted(void **state)
{
    char cmd[8192];

    (void)state;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && rm -f sec.db && '%s' export '%s/0001-default.db' | "
             "sed '2s/\"config\":{/\"config\":{\"api_key\":\"zz-secret-4242\","
             "\"auth\":{\"Token\" : \"zz-secret-4343\"},\"feed_url\":"
             "\"wss:\\/\\/x\\/v2?format=json\\&apiKey=zz-secret-4444\\&a=1\",/' "
             ">sec.jsonl && grep -q zz-secret-4444 sec.jsonl && "
             "'%s' import sec.jsonl --out sec.db 2>/dev/null && "
             "'%s' export sec.db | grep -q zz-secret-4242 && "
             "'%s' report sec.db --out sec.html && "
             "'%s' replay sec.db --quiet --bars-out sec.jsonl 2>/dev/null && "
             "cd - >/dev/null && /usr/bin/python3 tests/report_check.py "
             "'%s/sec.html' '%s/sec.jsonl' zz-secret-4242 zz-secret-4343 "
             "zz-secret-4444 >/dev/null && grep -q "
             "'api_key&quot;:&quot;(redacted)&quot;' '%s/sec.html' && grep -q "
             "'format=json&amp;apiKey=(redacted)&amp;a=1' '%s/sec.html'",
             g_dir, g_bin, g_fix, g_bin, g_bin, g_bin, g_bin, g_dir, g_dir,
             g_dir, g_dir);
    assert_int_equal(sh(cmd), 0);
}

static void test_redact(void **state)
{
    static const char *const cases[][2] = {
        {"{\"symbols\":\"BTC\",\"api_key\":\"abc\"}",
         "{\"symbols\":\"BTC\",\"api_key\":\"(redacted)\"}"},
        /* an escaped quote inside the value, spaces, a capital */
        {"{\"x\":{\"Secret\" :  \"a\\\"b\"},\"n\":1}",
         "{\"x\":{\"Secret\" :  \"(redacted)\"},\"n\":1}"},
        /* any value of a name holding a credential's word (keys too:
         * better too much than too little); plain words kept */
        {"{\"keys\":3,\"token\":null}",
         "{\"keys\":(redacted),\"token\":(redacted)}"},
        {"the key refused, the token expired",
         "the key refused, the token expired"},
        {"", ""},
        /* numbers, objects, arrays, newlines between name and value */
        {"{\"api_key\": 12345,\"n\":1}", "{\"api_key\": (redacted),\"n\":1}"},
        {"{\"auth\":{\"user\":\"u\",\"pwd\":\"p\"},\"n\":1}",
         "{\"auth\":(redacted),\"n\":1}"},
        {"{\"keys\":[\"k1\",\"k2\"]}", "{\"keys\":(redacted)}"},
        {"{\"token\"\n:\n\"t\"}", "{\"token\"\n:\n\"(redacted)\"}"},
        /* JSON held in a string */
        {"{\"cfg\":\"{\\\"api_key\\\":\\\"x1\\\"}\"}",
         "{\"cfg\":\"{\\\"api_key\\\":\\\"(redacted)\\\"}\"}"},
        /* URL parameters in every spelling */
        {"https://h/p?fsym=BTC&api_key=abc&tsym=USD",
         "https://h/p?fsym=BTC&api_key=(redacted)&tsym=USD"},
        {"u?auth_token=x y", "u?auth_token=(redacted) y"},
        {"u?api%5Fkey=x1&a=1", "u?api%5Fkey=(redacted)&a=1"},
        {"u;api_key=x1", "u;api_key=(redacted)"},
        {"u?a=1&amp;apiKey=x1", "u?a=1&amp;apiKey=(redacted)"},
        {"u?a=1\\u0026api_key=x1", "u?a=1\\u0026api_key=(redacted)"},
        /* a long name */
        {"{\"a_very_long_member_name_that_goes_on_and_on_past_sixty_four_"
         "bytes_api_key\":\"x1\"}",
         "{\"a_very_long_member_name_that_goes_on_and_on_past_sixty_four_"
         "bytes_api_key\":\"(redacted)\"}"},
        /* an unterminated value */
        {"\"password\":\"", "\"password\":\""},
        {"\"password\":\"abc", "\"password\":\"(redacted)"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *r = report_redact(cases[i][0]);
        assert_non_null(r);
        if (strcmp(r, cases[i][1]) != 0) {
            fail_msg("case %zu: %s -> %s, want %s", i, cases[i][0], r,
                     cases[i][1]);
        }
        free(r);
    }
}

/* A trade id with '<', '&', a quote and a control character (as the
 * streamer may send it, JSON-escaped): the page stays well-formed, the
 * character that XML cannot hold shown as U+FFFD. */
static void test_hostile_record(void **state)
{
    char cmd[8192];

    (void)state;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && rm -f h.db && '%s' export '%s/0001-default.db' | "
             "/usr/bin/python3 \"$OLDPWD/tests/report_hostile.py\" >h.jsonl "
             "&& '%s' import h.jsonl --out h.db && '%s' report h.db --out "
             "h.html && '%s' replay h.db --quiet --bars-out hb.jsonl "
             "2>/dev/null && grep -q '85<&' hb.jsonl && "
             "grep -q 'first 85&lt;&amp;&quot;\xef\xbf\xbdx at' h.html && "
             "/usr/bin/python3 \"$OLDPWD/tests/report_check.py\" h.html "
             "hb.jsonl >/dev/null",
             g_dir, g_bin, g_fix, g_bin, g_bin, g_bin);
    assert_int_equal(sh(cmd), 0);
}

/* --inject drop@60s: one connection more than the recorded session, and
 * the fault on the timeline; --intervals 1m,5m: five-minute series. */
static void test_inject_and_intervals(void **state)
{
    char cmd[8192];

    (void)state;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' report '%s/0001-default.db' --out a.html && "
             "'%s' report '%s/0001-default.db' --inject drop@60s "
             "--intervals 1m,5m --out b.html && "
             "a=$(grep -c '<g class=\"conn\">' a.html) && "
             "b=$(grep -c '<g class=\"conn\">' b.html) && "
             "test $b -eq $((a + 1)) && "
             "grep -q 'injected: drop at +1:00.0' b.html && "
             "! grep -q 'data-key=\"[^\"]*:5m:' a.html && "
             "grep -q 'data-key=\"CCCAGG:BTC-USD:5m:cccagg\"' b.html",
             g_dir, g_bin, g_fix, g_bin, g_fix);
    assert_int_equal(sh(cmd), 0);
}

/* A capture of the demo's shape (synth's default scenario, three pairs):
 * the page holds every bar and stays under 5 MB. 200,000 frames here,
 * 1,000,000 with MD_TEST_SLOW (make check). */
static void test_large_capture(void **state)
{
    char cmd[8192];
    long frames = getenv("MD_TEST_SLOW") ? 1000000 : 200000;

    (void)state;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && rm -f big.db && '%s' synth --out big.db --minutes "
             "525600 --frames %ld >/dev/null && '%s' report big.db --out "
             "big.html && '%s' replay big.db --quiet --bars-out big.jsonl "
             "2>/dev/null && test $(stat -c %%s big.html) -lt 5000000 && "
             "cd - >/dev/null && /usr/bin/python3 tests/report_check.py "
             "'%s/big.html' '%s/big.jsonl' >/dev/null; rc=$?; "
             "rm -f '%s/big.db' '%s/big.html' '%s/big.jsonl'; exit $rc",
             g_dir, g_bin, frames, g_bin, g_bin, g_dir, g_dir, g_dir, g_dir,
             g_dir);
    assert_int_equal(sh(cmd), 0);
}

static void test_errors(void **state)
{
    char cmd[8192];

    (void)state;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' report --bogus x.db 2>e1; test $? = 2 && "
             "grep -q \"unknown option\" e1 && "
             "'%s' report nosuch.db --out p.html 2>e2; test $? = 1 && "
             "grep -q nosuch.db e2 && ! test -e p.html && "
             "'%s' report x.db --inject bogus@1s 2>e3; test $? = 2 && "
             "grep -q 'bad --inject' e3 && "
             "'%s' report '%s/0001-default.db' --intervals 7x --out p.html "
             "2>e4; test $? = 1 && grep -q 7x e4 && ! test -e p.html",
             g_dir, g_bin, g_bin, g_bin, g_bin, g_fix);
    assert_int_equal(sh(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture),
        cmocka_unit_test(test_fault_at_a_glance),
        cmocka_unit_test(test_metadata_redacted),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_hostile_record),
        cmocka_unit_test(test_inject_and_intervals),
        cmocka_unit_test(test_large_capture),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
