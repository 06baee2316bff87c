/* test_serve.c: `ccstream serve` end to end on 127.0.0.1: servers started
 * as processes (the real binary, --port 0), checked by clients nobody
 * here wrote (tests/serve_check.py over python3-websockets; the curl
 * CLI), stopped by SIGTERM by their PID. Every wait is bounded.
 * Run from the repository root (tests/run-tests.sh does); $BUILD names the
 * build directory (default "build"). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmocka_inc.h"
#include "support/proc.h"

#define SYNTH "synth:minutes=10,seed=3"

static char g_dir[256];
static char g_bin[512];

/* the shared helpers (tests/support/proc.h) under this file's names */
#define server tserve
#define start(s, ...) tserve_start((s), g_bin, g_dir, __VA_ARGS__)
#define stop_sig tserve_stop
#define sh tsh
#define now_ms tnow_ms
#define slurp(path) tslurp((path), NULL)

static int group_setup(void **state)
{
    const char *b = getenv("BUILD");

    (void)state;
    snprintf(g_bin, sizeof g_bin, "%s/ccstream", b && *b ? b : "build");
    snprintf(g_dir, sizeof g_dir, "/tmp/test_serve.XXXXXX");
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void stop(struct server *s)
{
    assert_int_equal(stop_sig(s, SIGTERM), 0);
}

static void check_py(const char *scenario, int port, const char *extra)
{
    int64_t t0 = now_ms();
    int rc = sh("timeout 90 /usr/bin/python3 tests/serve_check.py %s %d %s",
                scenario, port, extra ? extra : "");

    fprintf(stderr, "  (%s %s: %.1f s)\n", scenario, extra ? extra : "",
            (double)(now_ms() - t0) / 1000.0);
    if (rc != 0) {
        fail_msg("serve_check.py %s failed (status %d)", scenario, rc);
    }
}

/* ---- the streamer ------------------------------------------------------ */

static void test_protocol_and_fanout(void **state)
{
    struct server s;
    char *err;

    (void)state;
    start(&s, SYNTH, "--heartbeat", "1s", NULL);
    check_py("protocol", s.port, NULL);
    check_py("fanout", s.port, NULL);
    stop(&s);
    /* the summary counts what happened */
    err = slurp(s.err);
    assert_non_null(strstr(err, "serve: "));
    assert_null(strstr(err, " 0 subscriptions"));
    free(err);
}

static void test_rebase_keeps_phase(void **state)
{
    struct server a, b;
    char port[16];

    (void)state;
    start(&a, SYNTH, "--speed", "max", "--no-rebase", NULL);
    start(&b, SYNTH, "--speed", "max", NULL);
    snprintf(port, sizeof port, "%d", b.port);
    check_py("rebase", a.port, port);
    stop(&a);
    stop(&b);
}

static void test_faults_seen_by_a_client(void **state)
{
    static const char *const kinds[][2] = {
        {"drop@2s", "drop"},
        {"close@2s:4001", "close"},
        {"force-disconnect@2s", "force-disconnect"},
        {"malformed@2s", "malformed"},
        {"truncated@2s", "truncated"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct server s;
        start(&s, SYNTH, "--speed", "max", "--fault", kinds[i][0], NULL);
        check_py("fault", s.port, kinds[i][1]);
        stop(&s);
    }
}

static void test_windows_seen_by_a_client(void **state)
{
    static const char *const kinds[][2] = {
        {"stall@5s:100s", "stall"},
        {"gap@5s:60s", "gap"},
        {"heartbeat-stall@5s:100s", "heartbeat-stall"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct server s;
        start(&s, SYNTH, "--speed", "max", "--heartbeat", "5s", "--fault",
              kinds[i][0], NULL);
        check_py("window", s.port, kinds[i][1]);
        stop(&s);
    }
}

static void test_slow_frames(void **state)
{
    struct server s;

    (void)state;
    start(&s, SYNTH, "--speed", "max", "--fault", "slow@5s:2s", NULL);
    check_py("slow", s.port, NULL);
    stop(&s);
}

static void test_loop(void **state)
{
    struct server s;

    (void)state;
    start(&s, "synth:minutes=1,seed=5", "--speed", "max", "--loop", NULL);
    check_py("loop", s.port, NULL);
    stop(&s);
}

static void test_backpressure(void **state)
{
    struct server s;
    char pid[16];

    (void)state;
    start(&s, "synth:minutes=60,seed=3", "--speed", "max", NULL);
    snprintf(pid, sizeof pid, "%d", (int)s.pid);
    check_py("backpressure", s.port, pid);
    stop(&s);
}

static void test_one_socket_per_key(void **state)
{
    struct server s;

    (void)state;
    start(&s, SYNTH, "--one-socket-per-key", NULL);
    check_py("sockets", s.port, NULL);
    stop(&s);
    start(&s, SYNTH, "--fault", "too-many-sockets@0s", NULL);
    check_py("refused", s.port, NULL);
    stop(&s);
}

/* ---- REST --------------------------------------------------------------- */

static void test_rest_through_curl(void **state)
{
    struct server s;

    (void)state;
    /* as fast as clients read, REST answers at the source's end: every
     * pair has its prices by then */
    start(&s, SYNTH, "--speed", "max", NULL);
    check_py("rest", s.port, NULL);
    stop(&s);
}

/* The bars serve answers with are the bars replay computes from the same
 * capture. */
static void test_rest_equals_replay(void **state)
{
    struct server s;
    char db[600], bars[600];

    (void)state;
    snprintf(db, sizeof db, "%s/s.db", g_dir);
    snprintf(bars, sizeof bars, "%s/s.bars", g_dir);
    assert_int_equal(sh("%s synth --out %s --minutes 10 --seed 3 >/dev/null",
                        g_bin, db),
                     0);
    assert_int_equal(sh("%s replay %s --bars-out %s --quiet", g_bin, db,
                        bars),
                     0);
    start(&s, db, "--speed", "max", "--no-rebase", "--no-recorded", NULL);
    check_py("rest-replay", s.port, bars);
    stop(&s);
}

static void test_rest_faults(void **state)
{
    struct server s;

    (void)state;
    start(&s, SYNTH, "--fault", "rest-error@0s:503", "--fault",
          "rest-delay@0s:2s", "--fault", "rest-rate-limit@0s", "--fault",
          "rest-drop@0s", NULL);
    check_py("rest-faults", s.port, NULL);
    stop(&s);
}

static void test_tls(void **state)
{
    struct server s;
    char ca[600], dir[600];
    struct stat st;

    (void)state;
    start(&s, SYNTH, "--tls", "--speed", "max", NULL);
    assert_true(s.ca[0] != '\0');
    assert_int_equal(stat(s.ca, &st), 0);
    snprintf(ca, sizeof ca, "%s", s.ca);
    check_py("tls", s.port, s.ca);
    check_py("rest", s.port, s.ca);
    stop(&s);
    /* its temporary directory is gone with it */
    assert_int_not_equal(stat(ca, &st), 0);
    /* --tls-dir keeps the files */
    snprintf(dir, sizeof dir, "%s/tls", g_dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    start(&s, SYNTH, "--tls-dir", dir, NULL);
    check_py("tls", s.port, s.ca);
    stop(&s);
    assert_int_equal(stat(s.ca, &st), 0);
}

/* ---- the process -------------------------------------------------------- */

static void test_signals_stop_cleanly(void **state)
{
    struct server s;

    (void)state;
    start(&s, SYNTH, "--quiet", NULL);
    assert_int_equal(stop_sig(&s, SIGINT), 0);
    start(&s, SYNTH, NULL);
    assert_int_equal(stop_sig(&s, SIGTERM), 0);
}

static void test_errors_are_clear(void **state)
{
    struct server s;
    char out[512], *e;

    (void)state;
    snprintf(out, sizeof out, "%s/err.txt", g_dir);
    /* the port is taken */
    start(&s, SYNTH, NULL);
    assert_int_equal(sh("%s serve %s --port %d --max-time 2 2>%s >/dev/null",
                        g_bin, SYNTH, s.port, out),
                     1);
    e = slurp(out);
    assert_non_null(strstr(e, "Address already in use"));
    free(e);
    stop(&s);
    /* no such source, a bad synth spec, bad flags, a bad fault */
    assert_int_equal(sh("%s serve %s/none.db 2>%s", g_bin, g_dir, out), 1);
    e = slurp(out);
    assert_non_null(strstr(e, "none.db"));
    free(e);
    assert_int_equal(sh("%s serve synth:minutes=0 2>%s", g_bin, out), 2);
    assert_int_equal(sh("%s serve %s --speed fast 2>%s", g_bin, SYNTH, out),
                     2);
    assert_int_equal(sh("%s serve %s --fault boom@1s 2>%s", g_bin, SYNTH,
                        out),
                     2);
    e = slurp(out);
    assert_non_null(strstr(e, "boom"));
    free(e);
    assert_int_equal(sh("%s serve %s --listen 192.0.2.1:0 2>%s", g_bin,
                        SYNTH, out),
                     1);
    /* a fault script names its line */
    {
        char script[512];
        FILE *f;
        snprintf(script, sizeof script, "%s/faults.txt", g_dir);
        f = fopen(script, "w");
        assert_non_null(f);
        fputs("# faults\ndrop@1m\n\ngap@2m:30s   # a gap\nstall@x\n", f);
        fclose(f);
        assert_int_equal(sh("%s serve %s --faults %s 2>%s", g_bin, SYNTH,
                            script, out),
                         2);
        e = slurp(out);
        assert_non_null(strstr(e, "faults.txt:5:"));
        free(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_and_fanout),
        cmocka_unit_test(test_rebase_keeps_phase),
        cmocka_unit_test(test_faults_seen_by_a_client),
        cmocka_unit_test(test_windows_seen_by_a_client),
        cmocka_unit_test(test_slow_frames),
        cmocka_unit_test(test_loop),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_one_socket_per_key),
        cmocka_unit_test(test_rest_through_curl),
        cmocka_unit_test(test_rest_equals_replay),
        cmocka_unit_test(test_rest_faults),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_signals_stop_cleanly),
        cmocka_unit_test(test_errors_are_clear),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
