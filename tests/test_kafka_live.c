/* test_kafka_live.c: `ccstream live` end to end, on loopback, with the
 * real broker of tests/run-tests.sh: tests/live_e2e.py drives `ccstream
 * serve` -> `ccstream live` -> the broker -> python3-confluent-kafka (a
 * consumer nobody here wrote), one case per test: what the consumer gets
 * equals the strict replay of live's recording, and the metrics scrape
 * passes promtool with every metric of the dashboard, the key nowhere
 * (basic); a reconnect's gap is backfilled and seen as revisions (gap);
 * kill -9 and restart lose and double nothing (kill; kill-eos, exactly
 * once, with MD_TEST_SLOW); three shards make exactly the unsharded run's
 * bars (shard). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmocka_inc.h"
#include "support/proc.h"

static char g_dir[256], g_bin[512];
static int g_failed; /* keep the files of a failed case */

static int group_setup(void **state)
{
    (void)state;
    if (tbuild_path(g_bin, sizeof g_bin, "ccstream") != 0) {
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/test_live_e2e.XXXXXX");
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g_failed) {
        fprintf(stderr, "test_kafka_live: files kept in %s\n", g_dir);
        return 0;
    }
    return tsh("rm -rf '%s'", g_dir) == 0 ? 0 : -1;
}

static void e2e(const char *name)
{
    const char *brokers = getenv("KAFKA_BROKERS");

    if (brokers == NULL || brokers[0] == '\0') {
        fail_msg("KAFKA_BROKERS is not set: run through tests/run-tests.sh");
    }
    if (tsh("mkdir -p '%s/%s' && /usr/bin/python3 tests/live_e2e.py '%s' "
            "'%s' '%s/%s' %s", g_dir, name, g_bin, brokers, g_dir, name,
            name) != 0) {
        g_failed = 1;
        fail_msg("live_e2e.py %s failed (files in %s/%s)", name, g_dir,
                 name);
    }
}

static void test_basic(void **state)
{
    (void)state;
    e2e("basic");
}

static void test_gap_backfilled(void **state)
{
    (void)state;
    e2e("gap");
}

static void test_kill_restart(void **state)
{
    (void)state;
    e2e("kill");
}

static void test_kill_restart_exactly_once(void **state)
{
    (void)state;
    if (getenv("MD_TEST_SLOW") == NULL) {
        skip(); /* make check: about 25 s more */
    }
    e2e("kill-eos");
}

static void test_shards(void **state)
{
    (void)state;
    e2e("shard");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_gap_backfilled),
        cmocka_unit_test(test_kill_restart),
        cmocka_unit_test(test_kill_restart_exactly_once),
        cmocka_unit_test(test_shards),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
