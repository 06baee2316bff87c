/* test_kafka_outbox.c: the outbox's guarantees (docs/delivery.md) under faults,
 * on real brokers: `ccstream replay --brokers --state` as the producer,
 * as fast as it goes, with thousands of bars in the air when the fault
 * hits; tests/outbox_faults.py makes the faults and reads the topics back
 * with python3-confluent-kafka.
 *
 *   producer crashes   kill -9 at each crash point (a bar handed to the
 *                      producer, an acknowledgement taken before the
 *                      outbox knows it, inside the commit's transaction,
 *                      just after it) and at random moments, then
 *                      `--resume`: every bar arrives, duplicates are
 *                      exact, nothing differs from one uninterrupted
 *                      replay but what the restart itself changed;
 *   broker faults      a private broker (tests/kafka/broker.sh) stopped
 *                      with SIGSTOP and killed and restarted mid-stream:
 *                      the records are exactly one uninterrupted
 *                      replay's bars.
 *
 *   exactly once       the same with --exactly-once (a transactional
 *                      producer, a progress topic): a read_committed
 *                      consumer sees every bar once, as raw records.
 *
 * make test: three crash points and a random kill at least once, two
 * crash points and a random kill exactly once, a 5 s hang and a restart
 * (about 80 s); MD_TEST_SLOW=1 (make check): the other crash points,
 * twenty-two and twenty random kills, a 30 s hang. The random moments
 * come from a seed printed with them. */
#define _DEFAULT_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "md_err.h"
#include "synth.h"

#include "cmocka_inc.h"

#ifdef free
#undef free
#endif
#ifdef malloc
#undef malloc
#endif

static char g_dir[64], g_run[96], g_bin[512], g_capture[128];

static int sh(const char *cmd)
{
    int st = system(cmd);

    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *brokers(void)
{
    const char *b = getenv("KAFKA_BROKERS");

    if (b == NULL || b[0] == '\0') {
        fail_msg("KAFKA_BROKERS is not set: run through tests/run-tests.sh");
    }
    return b;
}

static int group_setup(void **state)
{
    const char *b = getenv("BUILD");
    const char *dir = b && *b ? b : "build";
    char cwd[256], list[300 * 6], err[256];
    struct synth_opts so;
    size_t n = 0;
    unsigned i;

    (void)state;
    if (dir[0] == '/') {
        snprintf(g_bin, sizeof g_bin, "%s/ccstream", dir);
    } else if (getcwd(cwd, sizeof cwd) != NULL) {
        snprintf(g_bin, sizeof g_bin, "%s/%s/ccstream", cwd, dir);
    } else {
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/test_kafka_outbox.XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        return -1;
    }
    /* 300 pairs for 12 minutes: about 16,800 bars, most of a minute's
     * closing in one burst */
    for (i = 0; i < 300; i++) {
        n += (size_t)snprintf(list + n, sizeof list - n, "%sS%03u",
                              i > 0 ? "," : "", i);
    }
    synth_opts_default(&so);
    so.minutes = 12;
    so.seed = 5;
    snprintf(g_capture, sizeof g_capture, "%s/s.db", g_dir);
    if (synth_set_symbols(&so, list, err, sizeof err) != MD_OK ||
        synth_write(&so, g_capture, NULL, err, sizeof err) != MD_OK) {
        fprintf(stderr, "test_kafka_outbox: synth: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[512];

    (void)state;
    if (g_run[0] != '\0') {
        snprintf(cmd, sizeof cmd,
                 "KAFKA_RUN_DIR='%s' tests/kafka/broker.sh stop "
                 ">/dev/null 2>&1; rm -rf '%s' '%s.lock'",
                 g_run, g_run, g_run);
        sh(cmd);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return sh(cmd) == 0 ? 0 : -1;
}

static void run_cases(const char *brokers_arg, const char *extra,
                      const char *cases)
{
    char cmd[4096];

    snprintf(cmd, sizeof cmd,
             "timeout 900 /usr/bin/python3 tests/outbox_faults.py '%s' '%s' "
             "'%s/work' '%s' %s %s",
             g_bin, brokers_arg, g_dir, g_capture, extra, cases);
    assert_int_equal(sh(cmd), 0);
}

/* Crash points, then kills at moments drawn in [lo, lo + span) ms. */
static void crashes(const char *extra, const char *points,
                    const char *slow_points, unsigned kills,
                    unsigned slow_kills, int lo, int span)
{
    char cases[2048];
    unsigned seed = (unsigned)time(NULL), i;
    bool slow = getenv("MD_TEST_SLOW") != NULL;
    size_t n;

    n = (size_t)snprintf(cases, sizeof cases, "%s%s%s", points,
                         slow ? " " : "", slow ? slow_points : "");
    srand(seed);
    print_message("  (random kills from seed %u)\n", seed);
    for (i = 0; i < (slow ? slow_kills : kills); i++) {
        n += (size_t)snprintf(cases + n, sizeof cases - n, " kill:%d",
                              lo + rand() % span);
    }
    run_cases(brokers(), extra, cases);
}

/* At least once: the replay makes its bars in about a second. */
static void test_producer_crashes(void **state)
{
    (void)state;
    crashes("", "crash:produce:6000 crash:ack:8000 crash:commit-before:700",
            "crash:commit-after:800", 1, 22, 150, 800);
}

/* Exactly once: transactions of up to 10,000 bars, one every 100 ms at
 * least; the run takes about six seconds, the first two to fence and
 * read the progress topic. */
static void test_exactly_once(void **state)
{
    (void)state;
    crashes("--exactly-once", "crash:txn-commit:5 crash:ack:5",
            "crash:produce:6000 crash:commit-before:300 crash:commit-after:"
            "400",
            1, 20, 2500, 2500);
}

static void test_broker_faults(void **state)
{
    char cmd[512], extra[160];

    (void)state;
    snprintf(g_run, sizeof g_run, "%s/broker", g_dir);
    snprintf(cmd, sizeof cmd,
             "KAFKA_RUN_DIR='%s' tests/kafka/broker.sh start >/dev/null",
             g_run);
    assert_int_equal(sh(cmd), 0);
    snprintf(extra, sizeof extra, "--broker-dir '%s'", g_run);
    run_cases("-", extra,
              getenv("MD_TEST_SLOW") ? "hang:30 restart drop:3"
                                     : "hang:5 restart drop:3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_producer_crashes),
        cmocka_unit_test(test_exactly_once),
        cmocka_unit_test(test_broker_faults),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
