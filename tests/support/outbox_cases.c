/* outbox_cases.c: what the outbox's fault tests share (outbox_cases.h). */
#define _DEFAULT_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "md_err.h"
#include "outbox_cases.h"
#include "proc.h"
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

const char *outbox_brokers(void)
{
    const char *b = getenv("KAFKA_BROKERS");

    if (b == NULL || b[0] == '\0') {
        fail_msg("KAFKA_BROKERS is not set: run through tests/run-tests.sh");
    }
    return b;
}

int outbox_setup(void **state)
{
    char list[300 * 6], err[256];
    struct synth_opts so;
    size_t n = 0;
    unsigned i;

    (void)state;
    if (tbuild_path(g_bin, sizeof g_bin, "ccstream") != 0) {
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/test_outbox.XXXXXX");
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
        fprintf(stderr, "outbox tests: synth: %s\n", err);
        return -1;
    }
    return 0;
}

int outbox_teardown(void **state)
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

void outbox_run_cases(const char *brokers_arg, const char *extra,
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
void outbox_crashes(const char *extra, const char *points,
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
    outbox_run_cases(outbox_brokers(), extra, cases);
}


const char *outbox_private_broker(void)
{
    char cmd[512];

    snprintf(g_run, sizeof g_run, "%s/broker", g_dir);
    snprintf(cmd, sizeof cmd,
             "KAFKA_RUN_DIR='%s' tests/kafka/broker.sh start >/dev/null",
             g_run);
    assert_int_equal(sh(cmd), 0);
    return g_run;
}
