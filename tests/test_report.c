/* test_report.c: `ccstream report` on every replay fixture: the page is
 * well-formed (python's html parser, each SVG by an XML parser), holds
 * one candle per bar the same replay writes with --bars-out and one marker
 * per revision, fetches nothing and carries no API key
 * (tests/report_check.py); a wrong flag and a missing capture are usage
 * and input errors that leave no page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmocka_inc.h"

static char g_dir[256], g_bin[512], g_fix[512];

static int sh(const char *cmd)
{
    int st = system(cmd);

    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int group_setup(void **state)
{
    const char *b = getenv("BUILD");
    const char *dir = b && *b ? b : "build";
    char cwd[256];

    (void)state;
    if (getcwd(cwd, sizeof cwd) == NULL) {
        return -1;
    }
    snprintf(g_bin, sizeof g_bin, "%s%s%s/ccstream", dir[0] == '/' ? "" : cwd,
             dir[0] == '/' ? "" : "/", dir);
    snprintf(g_fix, sizeof g_fix, "%s%s%s/fixtures/replay",
             dir[0] == '/' ? "" : cwd, dir[0] == '/' ? "" : "/", dir);
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
    char cmd[4096];

    (void)state;
    snprintf(cmd, sizeof cmd,
             "n=0; for f in '%s'/*.db; do n=$((n + 1)); "
             "'%s' report \"$f\" --out '%s/r.html' 2>'%s/err' || "
             "{ echo \"report failed: $f\"; cat '%s/err'; exit 1; }; "
             "'%s' replay \"$f\" --quiet --bars-out '%s/b.jsonl' "
             "2>/dev/null; /usr/bin/python3 tests/report_check.py "
             "'%s/r.html' '%s/b.jsonl' >'%s/out' || "
             "{ echo \"$f\"; cat '%s/out'; exit 1; }; done; test $n -gt 10",
             g_fix, g_bin, g_dir, g_dir, g_dir, g_bin, g_dir, g_dir, g_dir,
             g_dir, g_dir);
    assert_int_equal(sh(cmd), 0);
}

static void test_errors(void **state)
{
    char cmd[2048];

    (void)state;
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' report --bogus x.db 2>e1; test $? = 2 && "
             "grep -q \"unknown option\" e1 && "
             "'%s' report nosuch.db --out p.html 2>e2; test $? = 1 && "
             "grep -q nosuch.db e2 && ! test -e p.html",
             g_dir, g_bin, g_bin);
    assert_int_equal(sh(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
