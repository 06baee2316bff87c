/* test_kafka_live_soak.c: `ccstream live` for ten minutes against `ccstream
 * serve --loop` at 50x real speed with a fault every minute
 * (tests/live_soak.py): its RSS at minute 9 within 5% of minute 2, every
 * reconnect recovered, every bar in the topics, no minute missing. Ten
 * minutes: run by `make check` (MD_TEST_SOAK=1, on the build without
 * sanitizers, whose allocator's quarantine would hide a leak's growth);
 * skipped otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cmocka_inc.h"
#include "support/proc.h"

static void test_soak(void **state)
{
    const char *brokers = getenv("KAFKA_BROKERS");
    const char *b = getenv("BUILD");
    char dir[64], cwd[256];

    (void)state;
    if (getenv("MD_TEST_SOAK") == NULL) {
        skip();
    }
    if (brokers == NULL || brokers[0] == '\0') {
        fail_msg("KAFKA_BROKERS is not set: run through tests/run-tests.sh");
    }
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(dir, sizeof dir, "/tmp/test_live_soak.XXXXXX");
    assert_non_null(mkdtemp(dir));
    if (tsh("/usr/bin/python3 tests/live_soak.py '%s%s%s/ccstream' '%s' '%s'",
            b != NULL && b[0] == '/' ? "" : cwd,
            b != NULL && b[0] == '/' ? "" : "/", b != NULL && *b ? b : "build",
            brokers, dir) != 0) {
        fail_msg("live_soak.py failed (files in %s)", dir);
    }
    assert_int_equal(tsh("rm -rf '%s'", dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soak),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
