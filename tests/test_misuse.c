#define _GNU_SOURCE /* memmem */
/* test_misuse.c: the misuse suite. ccstream run as a careless or hostile
 * user would: outputs that name an input, outputs on a full device, two
 * outputs on one file. Each case runs the real binary ($BUILD/ccstream)
 * in a fresh directory holding a small synth capture a.db (and a link to
 * it, l.db) and asserts the exit status, that the message names what and
 * why, that no input changed (bytes compared before and after) and that
 * no output debris (a half-written file, a temporary) is left. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmocka_inc.h"

static char g_dir[128], g_bin[512], g_seed_db[160];

/* A case: the arguments (after "ccstream"), where stdout goes (NULL: a
 * file in the case's directory), the exit status, the words the message
 * must hold, and the files that must not exist afterwards. */
struct misuse {
    const char *name;
    const char *argv[24];
    const char *stdout_to;
    int status;
    const char *says[3];
    const char *absent[3];
    const char *sql; /* run on d.db, a copy of a.db, before the command */
};

static const struct misuse cases[] = {
    {"export over its capture",
     {"export", "a.db", "--out", "a.db"}, NULL, 2,
     {"a.db", "input", "refusing"}, {NULL}, NULL},
    {"export over its capture through a link",
     {"export", "a.db", "--out", "l.db"}, NULL, 2,
     {"l.db", "input a.db"}, {NULL}, NULL},
    {"replay bars over its capture",
     {"replay", "a.db", "--quiet", "--bars-out", "a.db"}, NULL, 2,
     {"--bars-out", "a.db", "input"}, {NULL}, NULL},
    {"replay bars over its capture through a link",
     {"replay", "a.db", "--quiet", "--bars-out", "l.db"}, NULL, 2,
     {"--bars-out", "l.db", "input a.db"}, {NULL}, NULL},
    {"replay trace over its capture",
     {"replay", "a.db", "--quiet", "--trace", "./a.db"}, NULL, 2,
     {"--trace", "./a.db", "input"}, {NULL}, NULL},
    {"replay coverage over its capture",
     {"replay", "a.db", "--quiet", "--coverage", "a.db"}, NULL, 2,
     {"--coverage", "a.db"}, {NULL}, NULL},
    {"replay recording over its capture",
     {"replay", "a.db", "--quiet", "--record", "l.db"}, NULL, 2,
     {"--record", "l.db"}, {NULL}, NULL},
    {"replay bars and trace on one file",
     {"replay", "a.db", "--quiet", "--bars-out", "o.txt", "--trace",
      "./o.txt"}, NULL, 2,
     {"--bars-out and --trace", "o.txt"}, {"o.txt"}, NULL},
    {"replay bars on a full device",
     {"replay", "a.db", "--quiet", "--bars-out", "/dev/full"}, NULL, 1,
     {"/dev/full", "No space left"}, {NULL}, NULL},
    {"replay msgpack bars on a full device",
     {"replay", "a.db", "--quiet", "--bars-format", "msgpack",
      "--bars-out", "/dev/full"}, NULL, 1,
     {"/dev/full", "No space left"}, {NULL}, NULL},
    {"replay table bars to a full stdout",
     {"replay", "a.db", "--quiet", "--bars-format", "table", "--bars-out",
      "-"}, "/dev/full", 1,
     {"standard output", "No space left"}, {NULL}, NULL},
    {"replay trace on a full device",
     {"replay", "a.db", "--quiet", "--trace", "/dev/full"}, NULL, 1,
     {"/dev/full", "No space left"}, {NULL}, NULL},
    {"replay coverage on a full device",
     {"replay", "a.db", "--quiet", "--coverage", "/dev/full"}, NULL, 1,
     {"/dev/full", "No space left"}, {NULL}, NULL},
    {"replay of a missing capture leaves no bars file",
     {"replay", "none.db", "--quiet", "--bars-out", "b.json"}, NULL, 1,
     {"none.db"}, {"b.json"}, NULL},
    {"export to a full device",
     {"export", "a.db", "--out", "/dev/full"}, NULL, 1,
     {"/dev/full", "No space left"}, {NULL}, NULL},
    {"export to a full stdout",
     {"export", "a.db"}, "/dev/full", 1,
     {"standard output", "No space left"}, {NULL}, NULL},
    {"duplicate intervals",
     {"replay", "a.db", "--quiet", "--intervals", "60s,1m"}, NULL, 2,
     {"interval list", "60s twice"}, {NULL}, NULL},
    {"an interval that overflows",
     {"replay", "a.db", "--quiet", "--intervals", "9999999999h"}, NULL, 2,
     {"bad interval list", "9999999999h"}, {NULL}, NULL},
    {"a grace that overflows",
     {"replay", "a.db", "--quiet", "--grace", "9999999999"}, NULL, 2,
     {"bad --grace", "9999999999"}, {NULL}, NULL},
    {"a grace that would wrap",
     {"replay", "a.db", "--quiet", "--grace", "18446744074"}, NULL, 2,
     {"bad --grace"}, {NULL}, NULL},
    {"a lateness with a sign",
     {"replay", "a.db", "--quiet", "--lateness", "+5m"}, NULL, 2,
     {"bad --lateness"}, {NULL}, NULL},
    {"speed nan", {"replay", "a.db", "--quiet", "--speed", "nan"}, NULL, 2,
     {"bad --speed", "nan"}, {NULL}, NULL},
    {"speed inf", {"replay", "a.db", "--quiet", "--speed", "inf"}, NULL, 2,
     {"bad --speed"}, {NULL}, NULL},
    {"speed 1e300", {"replay", "a.db", "--quiet", "--speed", "1e300"}, NULL,
     2, {"bad --speed"}, {NULL}, NULL},
    {"inject at nan", {"replay", "a.db", "--quiet", "--inject", "drop@nan"},
     NULL, 2, {"bad --inject", "drop@nan"}, {NULL}, NULL},
    {"inject at inf", {"replay", "a.db", "--quiet", "--inject", "drop@inf"},
     NULL, 2, {"bad --inject"}, {NULL}, NULL},
    {"inject at hex", {"replay", "a.db", "--quiet", "--inject", "drop@0x10"},
     NULL, 2, {"bad --inject"}, {NULL}, NULL},
    {"inject at a signed time",
     {"replay", "a.db", "--quiet", "--inject", "drop@+5"}, NULL, 2,
     {"bad --inject"}, {NULL}, NULL},
    {"the seventeenth inject",
     {"replay", "a.db", "--quiet", "--inject=drop@1", "--inject=drop@2",
      "--inject=drop@3", "--inject=drop@4", "--inject=drop@5",
      "--inject=drop@6", "--inject=drop@7", "--inject=drop@8",
      "--inject=drop@9", "--inject=drop@10", "--inject=drop@11",
      "--inject=drop@12", "--inject=drop@13", "--inject=drop@14",
      "--inject=drop@15", "--inject=drop@16", "--inject=drop@17"}, NULL, 2,
     {"at most 16 --inject"}, {NULL}, NULL},
    {"strict and what-if",
     {"replay", "a.db", "--quiet", "--strict", "--what-if"}, NULL, 2,
     {"--strict and --what-if"}, {NULL}, NULL},
    {"strict with an injection",
     {"replay", "a.db", "--quiet", "--strict", "--inject", "drop@5"}, NULL,
     2, {"--inject needs --what-if"}, {NULL}, NULL},
    {"an empty symbol list", {"replay", "a.db", "--quiet", "--symbols="},
     NULL, 2, {"--symbols", "empty symbol"}, {NULL}, NULL},
    {"a list of empty symbols",
     {"replay", "a.db", "--quiet", "--symbols", "BTC,,ETH"}, NULL, 2,
     {"--symbols", "empty symbol"}, {NULL}, NULL},
    {"an empty exchange", {"replay", "a.db", "--quiet", "--exchange="},
     NULL, 2, {"--exchange", "1 to 31 bytes"}, {NULL}, NULL},
    {"a capture whose first seq is 0",
     {"replay", "d.db", "--quiet"}, NULL, 1,
     {"d.db", "event seq 0", "starts at 1"}, {NULL},
     "UPDATE events SET seq=0 WHERE seq=1"},
    {"a capture with a NULL payload",
     {"export", "d.db"}, NULL, 1, {"d.db", "payload is NULL"}, {NULL},
     "PRAGMA writable_schema=1; UPDATE sqlite_schema SET sql=replace(sql,"
     "'payload  BLOB NOT NULL','payload  BLOB') WHERE name='events';;"
     "UPDATE events SET payload=NULL WHERE seq=3"},
    {"a file that is not a capture: no summary, the reason",
     {"replay", "/etc/hostname"}, NULL, 1,
     {"/etc/hostname", "not an SQLite database"}, {NULL}, NULL},
    {"a session that would run past 2099",
     {"synth", "--out", "s.db", "--start", "2099-12-31T23:59:59Z"}, NULL, 2,
     {"--start", "before 2100-01-01", "at the latest"}, {"s.db"}, NULL},
    {"a huge argument is not echoed whole",
     {"replay", "a.db", "--inject", "drop@123456789012345678901234567890"
      "12345678901234567890123456789012345678901234567890123456789012345678"
      "90123456789012345678901234567890123456789012345678901234567890"},
     NULL, 2, {"bad --inject"}, {NULL}, NULL},
    {"mealy to a full stdout",
     {"mealy"}, "/dev/full", 1,
     {"standard output", "No space left"}, {NULL}, NULL},
    {"inspect to a full stdout",
     {"inspect", "a.db"}, "/dev/full", 1,
     {"standard output", "No space left"}, {NULL}, NULL},
};

static int run_cmd(const char *cmd)
{
    int st = system(cmd);

    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int group_setup(void **state)
{
    const char *build = getenv("BUILD");
    char cmd[1024], cwd[200];

    (void)state;
    if (build == NULL) {
        build = "build";
    }
    if (build[0] == '/') {
        snprintf(g_bin, sizeof g_bin, "%.200s/ccstream", build);
    } else if (getcwd(cwd, sizeof cwd) != NULL) {
        snprintf(g_bin, sizeof g_bin, "%s/%.200s/ccstream", cwd, build);
    } else {
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/test_misuse.XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        return -1;
    }
    snprintf(g_seed_db, sizeof g_seed_db, "%s/seed.db", g_dir);
    snprintf(cmd, sizeof cmd, "'%s' synth --out '%s' --minutes 3 --seed 5 "
             ">/dev/null 2>&1", g_bin, g_seed_db);
    return run_cmd(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return run_cmd(cmd) == 0 ? 0 : -1;
}

/* The whole of a file (free with free()), or NULL. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    long len;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)len + 1)) != NULL) {
        *n = fread(b, 1, (size_t)len, f);
        b[*n] = '\0';
    }
    fclose(f);
    return b;
}

/* Run argv in dir with stdout to out (a path) and stderr to err. */
static int spawn(const char *dir, const char *const *argv, const char *out,
                 const char *err)
{
    static char pool[26][256];
    char *av[26];
    size_t k, n = 0;
    pid_t pid;
    int st;

    av[n++] = g_bin;
    for (k = 0; k < 24 && argv[k] != NULL && n < 25; k++) {
        /* exec's argv is not const */
        snprintf(pool[n], sizeof pool[n], "%s", argv[k]);
        av[n] = pool[n];
        n++;
    }
    av[n] = NULL;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || chdir(dir) != 0 || dup2(fo, 1) < 0 ||
            dup2(fe, 2) < 0) {
            _exit(127);
        }
        execv(g_bin, av);
        _exit(127);
    }
    assert_true(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void one_case(const struct misuse *c, int k)
{
    char dir[160], path[200], out[200], err[200], cmd[1024];
    char *before, *after, *msg;
    size_t nb = 0, na = 0, nm = 0, i;
    struct dirent *de;
    DIR *d;
    int st;

    snprintf(dir, sizeof dir, "%s/case%02d", g_dir, k);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && cp '%s' '%s/a.db' && "
             "ln -s a.db '%s/l.db'", dir, g_seed_db, dir, dir);
    assert_int_equal(run_cmd(cmd), 0);
    if (c->sql != NULL) {
        /* each part (";;" apart) in its own sqlite3 run: a schema change
         * is seen by the next */
        const char *p = c->sql, *e;
        snprintf(cmd, sizeof cmd, "cp '%s/a.db' '%s/d.db'", dir, dir);
        assert_int_equal(run_cmd(cmd), 0);
        for (; p != NULL; p = e != NULL ? e + 2 : NULL) {
            e = strstr(p, ";;");
            snprintf(cmd, sizeof cmd, "sqlite3 '%s/d.db' \"%.*s\"", dir,
                     (int)(e != NULL ? (size_t)(e - p) : strlen(p)), p);
            assert_int_equal(run_cmd(cmd), 0);
        }
    }
    snprintf(path, sizeof path, "%s/a.db", dir);
    before = slurp(path, &nb);
    assert_non_null(before);
    snprintf(out, sizeof out, "%s/%s", g_dir, "stdout");
    snprintf(err, sizeof err, "%s/%s", g_dir, "stderr");
    st = spawn(dir, c->argv, c->stdout_to != NULL ? c->stdout_to : out, err);
    msg = slurp(err, &nm);
    assert_non_null(msg);
    if (st != c->status) {
        fail_msg("%s: exit %d, want %d; stderr: %s", c->name, st, c->status,
                 msg);
    }
    for (i = 0; i < 3 && c->says[i] != NULL; i++) {
        if (strstr(msg, c->says[i]) == NULL) {
            fail_msg("%s: stderr lacks \"%s\": %s", c->name, c->says[i],
                     msg);
        }
    }
    /* the message says who speaks, briefly */
    if (c->status != 0 && nm > 400) {
        fail_msg("%s: a message of %zu bytes", c->name, nm);
    }
    if (strncmp(msg, "ccstream ", 9) != 0) {
        fail_msg("%s: stderr does not start with the command: %s", c->name,
                 msg);
    }
    after = slurp(path, &na);
    assert_non_null(after);
    if (na != nb || memcmp(before, after, nb) != 0) {
        fail_msg("%s: the input a.db changed (%zu -> %zu bytes)", c->name,
                 nb, na);
    }
    for (i = 0; i < 3 && c->absent[i] != NULL; i++) {
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, c->absent[i]);
        if (stat(path, &sb) == 0) {
            fail_msg("%s: %s exists after a failed run", c->name,
                     c->absent[i]);
        }
    }
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".tmp-") != NULL) {
            fail_msg("%s: debris %s left", c->name, de->d_name);
        }
    }
    closedir(d);
    free(before);
    free(after);
    free(msg);
}

static void test_misuse_table(void **state)
{
    size_t k;

    (void)state;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        one_case(&cases[k], (int)k);
    }
}

/* A run that succeeds puts its outputs in place whole, and leaves no
 * temporary file beside them. */
static void test_outputs_in_place(void **state)
{
    static const char *const argv[] = {"replay", "a.db", "--quiet",
                                       "--bars-out", "b.json", "--trace",
                                       "t.txt", "--coverage", "c.txt",
                                       NULL};
    char dir[160], path[200], out[200], err[200], cmd[1024];
    const char *names[3] = {"b.json", "t.txt", "c.txt"};
    size_t k, n = 0;
    char *b;

    (void)state;
    snprintf(dir, sizeof dir, "%s/ok", g_dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && cp '%s' '%s/a.db'", dir,
             g_seed_db, dir);
    assert_int_equal(run_cmd(cmd), 0);
    snprintf(out, sizeof out, "%s/stdout", g_dir);
    snprintf(err, sizeof err, "%s/stderr", g_dir);
    assert_int_equal(spawn(dir, argv, out, err), 0);
    for (k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        b = slurp(path, &n);
        assert_non_null(b);
        assert_true(n > 0);
        assert_int_equal(b[n - 1], '\n');
        free(b);
    }
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q tmp-", dir);
    assert_int_not_equal(run_cmd(cmd), 0);
}

/* The names in dir that are not a.db, l.db, a.jsonl or the file wanted:
 * debris. */
static int debris(const char *dir, const char *keep, char *what, size_t cap)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "a.db") == 0 ||
            strcmp(de->d_name, "l.db") == 0 ||
            strcmp(de->d_name, "a.jsonl") == 0 ||
            strcmp(de->d_name, keep) == 0) {
            continue;
        }
        snprintf(what, cap, "%s", de->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* Interrupted writers: synth, import and replay --record stopped by
 * SIGINT, SIGTERM or SIGKILL at chosen moments. The final name holds a
 * complete capture (inspect and its integrity check pass) or nothing;
 * after SIGINT and SIGTERM nothing else is left either (after SIGKILL a
 * NAME.tmp-* file may stay: never the final name). 12 interruptions here,
 * 36 with MD_TEST_SLOW. */
static void test_interrupted_writers(void **state)
{
    static const int sigs[3] = {SIGINT, SIGTERM, SIGKILL};
    const char *slow = getenv("MD_TEST_SLOW");
    int rounds = slow != NULL && slow[0] == '1' ? 12 : 4, k, cut = 0;
    char dir[160], cmd[2048], out[200], err[200], what[256], path[200];

    (void)state;
    snprintf(dir, sizeof dir, "%s/intr", g_dir);
    /* inputs large enough to interrupt: a 300-minute session */
    snprintf(cmd, sizeof cmd, "mkdir '%s' && '%s' synth --out '%s/a.db' "
             "--minutes 300 >/dev/null && '%s' export '%s/a.db' --out "
             "'%s/a.jsonl'", dir, g_bin, dir, g_bin, dir, dir);
    assert_int_equal(run_cmd(cmd), 0);
    snprintf(out, sizeof out, "%s/stdout", g_dir);
    snprintf(err, sizeof err, "%s/stderr", g_dir);
    for (k = 0; k < 3 * rounds; k++) {
        static const char *const synth[] = {"synth", "--out", "o.db",
                                            "--minutes", "400", NULL};
        static const char *const import[] = {"import", "a.jsonl", "--out",
                                             "o.db", NULL};
        static const char *const record[] = {"replay", "a.db", "--what-if",
                                             "--quiet", "--record", "o.db",
                                             NULL};
        const char *const *argv = k % 3 == 0 ? synth
                                  : k % 3 == 1 ? import : record;
        int sig = sigs[(k / 3) % 3], st, n;
        /* spread over the run: 0 to ~100 ms */
        long delay_us = (long)((k * 7919) % 100) * 1000;
        struct stat sb;
        pid_t pid;

        snprintf(path, sizeof path, "%s/o.db", dir);
        (void)unlink(path);
        snprintf(cmd, sizeof cmd, "rm -f '%s'/o.db.tmp-*", dir);
        (void)run_cmd(cmd);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            static char pool[8][64];
            char *av[9];
            size_t i;
            int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            av[0] = g_bin;
            for (i = 0; argv[i] != NULL; i++) {
                snprintf(pool[i], sizeof pool[i], "%s", argv[i]);
                av[i + 1] = pool[i];
            }
            av[i + 1] = NULL;
            if (fo < 0 || fe < 0 || chdir(dir) != 0 || dup2(fo, 1) < 0 ||
                dup2(fe, 2) < 0) {
                _exit(127);
            }
            execv(g_bin, av);
            _exit(127);
        }
        {
            struct timespec ts = {0, delay_us * 1000};
            nanosleep(&ts, NULL);
        }
        kill(pid, sig);
        assert_true(waitpid(pid, &st, 0) == pid);
        cut += stat(path, &sb) != 0;
        if (stat(path, &sb) == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fail_msg("%s stopped by signal %d at %ld us left o.db",
                     argv[0], sig, delay_us);
        }
        if (stat(path, &sb) == 0) {
            /* it finished first: a whole capture */
            snprintf(cmd, sizeof cmd, "'%s' inspect '%s' >/dev/null 2>&1 && "
                     "sqlite3 '%s' 'PRAGMA integrity_check' | grep -qx ok",
                     g_bin, path, path);
            if (run_cmd(cmd) != 0) {
                fail_msg("%s after signal %d at %ld us: o.db is not a whole "
                         "capture", argv[0], sig, delay_us);
            }
        }
        n = debris(dir, "o.db", what, sizeof what);
        if (sig != SIGKILL && n > 0) {
            fail_msg("%s after signal %d at %ld us: %s left", argv[0], sig,
                     delay_us, what);
        }
        if (sig == SIGKILL && n > 0 && strstr(what, "o.db.tmp-") == NULL) {
            fail_msg("%s after SIGKILL: unexpected %s", argv[0], what);
        }
    }
    /* most runs were cut short: the case was exercised */
    printf("  %d of %d writers interrupted before they finished\n", cut,
           3 * rounds);
    assert_true(cut >= 3 * rounds / 2);
}

/* Two writers of one new capture at once: one wins with a whole capture,
 * the other fails and says why; with --force both succeed and the file
 * is one of theirs, whole. */
static void test_concurrent_writers(void **state)
{
    char dir[160], cmd[2048], path[200];
    int force;

    (void)state;
    snprintf(dir, sizeof dir, "%s/conc", g_dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s'", dir);
    assert_int_equal(run_cmd(cmd), 0);
    snprintf(path, sizeof path, "%s/c.db", dir);
    for (force = 0; force < 2; force++) {
        int st[2], k, ok = 0;
        pid_t pid[2];
        (void)unlink(path);
        for (k = 0; k < 2; k++) {
            pid[k] = fork();
            assert_true(pid[k] >= 0);
            if (pid[k] == 0) {
                char err[220];
                snprintf(err, sizeof err, "%s/err%d", dir, k);
                int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                int fo = open("/dev/null", O_WRONLY);
                if (fe < 0 || fo < 0 || dup2(fe, 2) < 0 || dup2(fo, 1) < 0) {
                    _exit(127);
                }
                execl(g_bin, g_bin, "synth", "--out", path, "--minutes",
                      "200", "--seed", k == 0 ? "1" : "2",
                      force ? "--force" : NULL, (char *)NULL);
                _exit(127);
            }
        }
        for (k = 0; k < 2; k++) {
            assert_true(waitpid(pid[k], &st[k], 0) == pid[k]);
            ok += WIFEXITED(st[k]) && WEXITSTATUS(st[k]) == 0;
        }
        assert_int_equal(ok, force ? 2 : 1);
        if (!force) {
            char err[220], *msg;
            size_t n;
            k = WIFEXITED(st[0]) && WEXITSTATUS(st[0]) == 0 ? 1 : 0;
            snprintf(err, sizeof err, "%s/err%d", dir, k);
            msg = slurp(err, &n);
            assert_non_null(msg);
            if (strstr(msg, "c.db") == NULL ||
                (strstr(msg, "appeared") == NULL &&
                 strstr(msg, "exists") == NULL)) {
                fail_msg("the loser says: %s", msg);
            }
            free(msg);
        }
        snprintf(cmd, sizeof cmd, "'%s' inspect '%s' >/dev/null 2>&1 && "
                 "sqlite3 '%s' 'PRAGMA integrity_check' | grep -qx ok && "
                 "! ls '%s' | grep -q tmp-", g_bin, path, path, dir);
        assert_int_equal(run_cmd(cmd), 0);
    }
}

/* base64 of s[0..n) into out (NUL-terminated). */
static void b64(const char *s, size_t n, char *out)
{
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)s;
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        out[o++] = t[p[i] >> 2];
        out[o++] = t[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        out[o++] = t[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
        out[o++] = t[p[i + 2] & 63];
    }
    if (n - i == 1) {
        out[o++] = t[p[i] >> 2];
        out[o++] = t[(p[i] & 3) << 4];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        out[o++] = t[p[i] >> 2];
        out[o++] = t[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
        out[o++] = t[(p[i + 1] & 15) << 2];
        out[o++] = '=';
    }
    out[o] = '\0';
}

/* Every file in dir holds none of the needles (plain bytes compared). */
static void expect_clean(const char *dir, const char *const *needles,
                         size_t n_needles, const char *why)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    struct stat sb;
    size_t k;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        char path[400];
        size_t n = 0;
        char *b;
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            continue;
        }
        b = slurp(path, &n);
        assert_non_null(b);
        for (k = 0; k < n_needles; k++) {
            if (memmem(b, n, needles[k], strlen(needles[k])) != NULL) {
                free(b);
                closedir(d);
                fail_msg("%s: %s holds \"%s\"", why, de->d_name, needles[k]);
            }
        }
        free(b);
    }
    closedir(d);
}

/* An API key planted where keys travel: a URL's api_key=, an
 * Authorization header (Apikey and Basic), the session's config and
 * notes, a close reason, an outbound frame. Imported with the key known
 * (CCSTREAM_API_KEY), then exported, inspected, replayed with bars, trace
 * and --record: no file written holds the key, plain, URL-encoded or in
 * base64. Imported without the key, the credentials in known places (the
 * URL parameter, the Authorization tokens) are gone all the same. */
static void test_api_key_scrubbed(void **state)
{
    static const char key[] = "k3y+Secr3t/ABCdef0123456789=xyz";
    static const char key_url[] = "k3y%2BSecr3t%2FABCdef0123456789%3Dxyz";
    char basic[128], up[96], dir[160], cmd[4096], jl[200], b64k[64];
    const char *needles[4];
    FILE *f;

    (void)state;
    snprintf(up, sizeof up, "user:%s", key);
    b64(up, strlen(up), basic);
    b64(key, strlen(key), b64k);
    needles[0] = key;
    needles[1] = key_url;
    needles[2] = basic;
    needles[3] = b64k;
    snprintf(dir, sizeof dir, "%s/key", g_dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s' '%s/nokey'", dir, dir);
    assert_int_equal(run_cmd(cmd), 0);
    snprintf(jl, sizeof jl, "%s/../planted.jsonl", dir);
    f = fopen(jl, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"rec\":\"capture\",\"format\":\"ccstream-capture\","
            "\"schema_version\":1}\n"
            "{\"rec\":\"session\",\"id\":1,\"started_mono_ns\":0,"
            "\"started_wall_ns\":1700000000000000000,\"tool\":\"t\","
            "\"kind\":\"capture\",\"prng_seed\":1,"
            "\"config\":{\"api_key\":\"%s\"},\"notes\":\"key %s\"}\n"
            "{\"rec\":\"conn\",\"id\":1,\"kind\":\"ws\",\"url\":"
            "\"wss://streamer.cryptocompare.com/v2?api_key=%s\","
            "\"opened_mono_ns\":0,\"opened_wall_ns\":1700000000000000000,"
            "\"closed_mono_ns\":3000000000,"
            "\"closed_wall_ns\":1700000003000000000,\"close_code\":1000,"
            "\"close_reason\":\"bye %s\"}\n"
            "{\"rec\":\"event\",\"conn\":1,\"dir\":\"in\",\"kind\":"
            "\"ws_handshake\",\"mono_ns\":1000000,\"wall_ns\":"
            "1700000000001000000,\"status\":101,\"meta\":{\"headers\":"
            "{\"Authorization\":\"Apikey %s\",\"X-Other\":\"Basic %s\"}},"
            "\"payload\":\"\"}\n"
            "{\"rec\":\"event\",\"conn\":1,\"dir\":\"out\",\"kind\":"
            "\"ws_text\",\"mono_ns\":2000000,\"wall_ns\":"
            "1700000000002000000,\"status\":0,\"meta\":null,\"payload\":"
            "\"{\\\"action\\\":\\\"SubAdd\\\",\\\"api_key\\\":\\\"%s\\\"}\"}\n",
            key, key, key_url, key, key, basic, key);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && export CCSTREAM_API_KEY='%s' && "
             "'%s' import '%s' --out k.db 2>err.txt && "
             "'%s' export k.db --out k.jsonl && '%s' inspect k.db > i.txt && "
             "'%s' replay k.db --what-if --quiet --bars-out b.json "
             "--trace t.txt --record r.db && '%s' export r.db > r.jsonl",
             dir, key, g_bin, jl, g_bin, g_bin, g_bin, g_bin);
    if (run_cmd(cmd) != 0) {
        fail_msg("the commands failed: %s", cmd);
    }
    expect_clean(dir, needles, 4, "key known");
    /* unknown key: the credentials in known places only */
    snprintf(cmd, sizeof cmd,
             "cd '%s/nokey' && unset CCSTREAM_API_KEY && "
             "'%s' import '%s' --out k.db && '%s' export k.db --out k.jsonl",
             dir, g_bin, jl, g_bin);
    assert_int_equal(run_cmd(cmd), 0);
    {
        char u[160], a[160], bb[160];
        const char *known[3] = {u, a, bb};
        snprintf(u, sizeof u, "api_key=%s", key_url);
        snprintf(a, sizeof a, "Apikey %s", key);
        snprintf(bb, sizeof bb, "Basic %s", basic);
        snprintf(cmd, sizeof cmd, "%s/nokey", dir);
        expect_clean(cmd, known, 3, "key unknown");
    }
}

/* A capture whose writer died (still in WAL mode, its -wal beside it) in
 * a directory the reader may not write: opened as it is, with a warning
 * that names the file and what is not read, not "damaged". Run as an
 * unprivileged user (nobody, through su, when the tests run as root). */
static void test_read_only_dead_writer(void **state)
{
    char dir[160], cmd[2048], out[200], err[200];
    char *msg;
    size_t n;
    pid_t pid;
    int st;

    (void)state;
    snprintf(dir, sizeof dir, "%s/ro", g_dir);
    snprintf(out, sizeof out, "%s/ro.out", g_dir);
    snprintf(err, sizeof err, "%s/ro.err", g_dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && chmod 755 '%s' '%s'", dir,
             g_dir, dir);
    assert_int_equal(run_cmd(cmd), 0);
    /* a writer killed mid-run leaves NAME.tmp-* in WAL mode */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0 || chdir(dir) != 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
            _exit(127);
        }
        execl(g_bin, g_bin, "synth", "--out", "x.db", "--minutes", "3000",
              (char *)NULL);
        _exit(127);
    }
    /* killed once its WAL holds batches of events (a fixed wait was too
     * short for a sanitizer build on a busy machine), within 20 s */
    {
        struct timespec ts = {0, 50 * 1000000L};
        int tries, found = 0;
        for (tries = 0; tries < 400 && !found; tries++) {
            DIR *d = opendir(dir);
            struct dirent *e;
            nanosleep(&ts, NULL);
            while (d != NULL && (e = readdir(d)) != NULL) {
                size_t nl = strlen(e->d_name);
                char path[512];
                struct stat sb;
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
                if (strstr(e->d_name, "tmp-") != NULL && nl > 4 &&
                    strcmp(e->d_name + nl - 4, "-wal") == 0 &&
                    stat(path, &sb) == 0 && sb.st_size > 262144) {
                    found = 1;
                }
            }
            if (d != NULL) {
                closedir(d);
            }
        }
        assert_true(found);
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    assert_true(waitpid(pid, &st, 0) == pid);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && t=$(ls | grep -v -- '-wal$' | grep -v -- '-shm$' | "
             "grep tmp- | head -1) && test -s \"$t-wal\" && mv \"$t\" y.db && "
             "mv \"$t-wal\" y.db-wal && rm -f \"$t-shm\" && "
             "chmod 444 y.db y.db-wal && chmod 555 .", dir);
    assert_int_equal(run_cmd(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s'%s' inspect '%s/y.db'%s >'%s' 2>'%s'",
             geteuid() == 0 ? "su nobody -s /bin/sh -c \"" : "", g_bin, dir,
             geteuid() == 0 ? "\"" : "", out, err);
    st = run_cmd(cmd);
    snprintf(cmd, sizeof cmd, "chmod 755 '%s'", dir);
    (void)run_cmd(cmd);
    msg = slurp(err, &n);
    assert_non_null(msg);
    if (st != 0 || strstr(msg, "warning") == NULL ||
        strstr(msg, "y.db") == NULL || strstr(msg, "-wal") == NULL) {
        fail_msg("inspect exit %d: %s", st, msg);
    }
    free(msg);
    msg = slurp(out, &n);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "INCOMPLETE"));
    {
        /* every committed batch: as many events as a reader that may
         * write beside the file (and so recovers the -wal in place) */
        const char *ev = strstr(msg, " events");
        char *again;
        long a, b;
        assert_non_null(ev);
        while (ev > msg && ev[-1] >= '0' && ev[-1] <= '9') {
            ev--;
        }
        a = strtol(ev, NULL, 10);
        snprintf(cmd, sizeof cmd, "'%s' inspect '%s/y.db' >'%s' 2>/dev/null",
                 g_bin, dir, out);
        assert_int_equal(run_cmd(cmd), 0);
        again = slurp(out, &n);
        assert_non_null(again);
        ev = strstr(again, " events");
        assert_non_null(ev);
        while (ev > again && ev[-1] >= '0' && ev[-1] <= '9') {
            ev--;
        }
        b = strtol(ev, NULL, 10);
        free(again);
        assert_true(a > 0);
        assert_int_equal(a, b);
    }
    free(msg);
}

/* A recording on a full filesystem (a 1 MiB tmpfs in a private mount
 * namespace: unshare, so nothing outlives the test): exit 1, the message
 * names the file and the cause, nothing left in the directory. */
static void test_record_on_full_disk(void **state)
{
    char mnt[160], cmd[4096], res[200], *msg;
    size_t n;

    (void)state;
    snprintf(mnt, sizeof mnt, "%s/full", g_dir);
    snprintf(res, sizeof res, "%s/full.res", g_dir);
    snprintf(cmd, sizeof cmd, "mkdir '%s' && unshare -r -m sh -c \"mount -t "
             "tmpfs -o size=1m tmpfs '%s' && '%s' replay '%s' --what-if "
             "--quiet --record '%s/r.db' 2>'%s.err'; echo rc=\\$? >'%s'; "
             "ls -A '%s' >>'%s'\"", mnt, mnt, g_bin, g_seed_db, mnt, res, res,
             mnt, res);
    assert_int_equal(run_cmd(cmd), 0);
    msg = slurp(res, &n);
    assert_non_null(msg);
    /* exit 1 and the directory empty */
    if (strncmp(msg, "rc=1\n", 5) != 0 || strstr(msg, "r.db") != NULL ||
        strstr(msg, "tmp-") != NULL) {
        fail_msg("result: %s", msg);
    }
    free(msg);
    snprintf(res, sizeof res, "%s/full.res.err", g_dir);
    msg = slurp(res, &n);
    assert_non_null(msg);
    if (strstr(msg, "r.db") == NULL ||
        (strstr(msg, "full") == NULL && strstr(msg, "No space") == NULL)) {
        fail_msg("message: %s", msg);
    }
    free(msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_misuse_table),
        cmocka_unit_test(test_outputs_in_place),
        cmocka_unit_test(test_interrupted_writers),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_api_key_scrubbed),
        cmocka_unit_test(test_read_only_dead_writer),
        cmocka_unit_test(test_record_on_full_disk),
    };
    return cmocka_run_group_tests_name("misuse", tests, group_setup,
                                       group_teardown);
}
