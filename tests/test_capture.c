/* test_capture.c: `ccstream capture` against `ccstream serve` on
 * 127.0.0.1, both the real binary as processes: the bars and trace the
 * capture wrote live equal, byte for byte, those of `ccstream replay` in
 * strict mode on the file it made; a dropped socket is reconnected and
 * still replays the same; the API key reaches no file in any form; a
 * signal stops it cleanly; TLS with the server's CA and without it; bad
 * flags are clear errors. Every wait is bounded. Run from the repository
 * root (tests/run-tests.sh does); $BUILD names the build directory. */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmocka_inc.h"
#include "support/proc.h"

#define KEY "ccs-test-key-0123456789abcdef"

static char g_dir[256], g_bin[512];

static int group_setup(void **state)
{
    (void)state;
    if (tbuild_path(g_bin, sizeof g_bin, "ccstream") != 0) {
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/test_capture.XXXXXX");
    setenv("CRYPTOCOMPARE_API_KEY", KEY, 1);
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    return tsh("rm -rf '%s'", g_dir) == 0 ? 0 : -1;
}

/* capture NAME from the server for DUR with EXTRA flags; its status. */
static int capture(const struct tserve *s, const char *name, const char *dur,
                   const char *extra)
{
    return tsh("cd '%s' && rm -f %s.db && timeout 60 '%s' capture --out "
               "%s.db --ws-url ws://127.0.0.1:%d/v2 --rest-url "
               "http://127.0.0.1:%d --symbols BTC --duration %s --bars-out "
               "%s.bars --trace %s.trace %s 2>%s.err",
               g_dir, name, g_bin, name, s->port, s->port, dur, name, name,
               extra ? extra : "", name);
}

/* Strict replay of NAME.db equals what the capture wrote live. */
static void replays_the_same(const char *name)
{
    if (tsh("cd '%s' && '%s' replay %s.db --strict --bars-out %s.rb "
            "--trace %s.rt 2>%s.rerr && cmp -s %s.bars %s.rb && "
            "cmp -s %s.trace %s.rt",
            g_dir, g_bin, name, name, name, name, name, name, name,
            name) != 0) {
        fail_msg("%s: strict replay differs from the live run (see %s/%s.*)",
                 name, g_dir, name);
    }
}

static long lines(const char *name, const char *ext)
{
    char path[512];
    size_t n, i;
    long l = 0;
    char *b;

    snprintf(path, sizeof path, "%s/%s.%s", g_dir, name, ext);
    b = tslurp(path, &n);
    for (i = 0; i < n; i++) {
        l += b[i] == '\n';
    }
    free(b);
    return l;
}

/* The live run and its strict replay, the same bytes: bars and the trace
 * of every transition. */
static void test_live_equals_strict_replay(void **state)
{
    struct tserve s;

    (void)state;
    tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed", "max",
                 "--max-time", "60s", NULL);
    assert_int_equal(capture(&s, "plain", "3s", NULL), 0);
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
    assert_true(lines("plain", "bars") >= 5);
    assert_true(lines("plain", "trace") > 1000);
    replays_the_same("plain");
    /* strict replay still catches a change in an input whose own actions
     * were left out as equal to the last (a trade's price: the bar it
     * lands in closes differently) */
    {
        char sql[512];
        FILE *f;
        snprintf(sql, sizeof sql, "%s/alt.sql", g_dir);
        f = fopen(sql, "w");
        assert_non_null(f);
        fputs("UPDATE events SET payload = CAST(replace(CAST(payload AS "
              "TEXT), '\"P\":', '\"P\":1') AS BLOB) WHERE seq = (SELECT seq "
              "FROM events WHERE kind = 3 AND dir = 0 AND CAST(payload AS "
              "TEXT) LIKE '{\"TYPE\":\"0\"%' ORDER BY seq LIMIT 1 OFFSET "
              "100);\n", f);
        fclose(f);
    }
    assert_int_equal(tsh("cd '%s' && cp plain.db alt.db && sqlite3 alt.db "
                         "<alt.sql && '%s' replay alt.db --strict "
                         "2>alt.err; test $? = 1 && grep -q DIVERGENCE "
                         "alt.err",
                         g_dir, g_bin),
                     0);
    /* the capture says what it is and holds the core's actions */
    assert_int_equal(tsh("cd '%s' && '%s' export plain.db | head -2 | grep -q "
                         "'\"kind\":\"capture\".*\"core_version\"'",
                         g_dir, g_bin),
                     0);
}

/* serve -> capture gives the trade bars replay makes from the served
 * source itself, once serve's whole-day re-basing is undone (printed in
 * its banner): tests/capture_vs_source.py. */
static void test_served_source_bars(void **state)
{
    struct tserve s;
    char src[512], cmd[1024];
    long shift;
    char *err;

    (void)state;
    assert_int_equal(tsh("cd '%s' && rm -f src.db && '%s' synth --out src.db "
                         "--minutes 10 --seed 7 --symbols BTC,ETH >/dev/null "
                         "&& '%s' replay src.db --bars-out src.bars --quiet",
                         g_dir, g_bin, g_bin),
                     0);
    snprintf(src, sizeof src, "%s/src.db", g_dir);
    tserve_start(&s, g_bin, g_dir, src, "--speed", "max", "--max-time", "60s",
                 NULL);
    assert_int_equal(
        tsh("cd '%s' && rm -f served.db && timeout 60 '%s' capture --out "
            "served.db --ws-url ws://127.0.0.1:%d/v2 --rest-url "
            "http://127.0.0.1:%d --symbols BTC,ETH --duration 3s --bars-out "
            "served.bars --quiet",
            g_dir, g_bin, s.port, s.port),
        0);
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
    /* the shift serve applied, from its banner */
    err = tslurp(s.banner_file, NULL);
    {
        const char *p = strstr(err, "times shifted by ");
        assert_non_null(p);
        shift = strtol(p + strlen("times shifted by "), NULL, 10);
    }
    free(err);
    assert_true(shift > 0 && shift % 86400 == 0);
    snprintf(cmd, sizeof cmd, "cd '%s' && /usr/bin/python3 "
             "\"$OLDPWD/tests/capture_vs_source.py\" src.bars served.bars %ld",
             g_dir, shift);
    assert_int_equal(tsh("%s", cmd), 0);
}

/* Trades of several exchanges: each subscribed (serve knows Coinbase
 * only and refuses the other), the core's series for each, the same
 * strict replay. */
static void test_several_exchanges(void **state)
{
    struct tserve s;

    (void)state;
    tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed", "max",
                 "--max-time", "60s", NULL);
    assert_int_equal(capture(&s, "exch", "3s", "--exchange Coinbase,Kraken"),
                     0);
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
    assert_int_equal(tsh("cd '%s' && '%s' export exch.db | grep "
                         "'\"dir\":\"out\",\"kind\":\"ws_text\"' | grep -q "
                         "'0~Coinbase~BTC~USD.*0~Kraken~BTC~USD' && grep -q "
                         "'SUB_REJECTED' exch.trace && grep -q "
                         "'\"market\":\"Coinbase\"' exch.bars",
                         g_dir, g_bin),
                     0);
    replays_the_same("exch");
}

/* --ohlc: the server's minute candles (TYPE 24) as their own series:
 * subscribed as 24~CCCAGG~BTC~USD~m, a candle becomes a bar of source
 * ohlc with its values, no REST request is added for it, and the choice
 * travels in the session (strict replay of a recording and of a capture
 * needs no flag). */
static void test_ohlc_channel(void **state)
{
    struct tserve s;
    static const char candle[] =
        "frame@30s:{\"TYPE\":\"24\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":"
        "\"BTC\",\"TOSYMBOL\":\"USD\",\"TS\":1753190400,\"UNIT\":\"MINUTE\","
        "\"ACTION\":\"A\",\"OPEN\":119400,\"HIGH\":119500,\"LOW\":119300,"
        "\"CLOSE\":119450,\"VOLUMEFROM\":12.5,\"VOLUMETO\":1492000}";
    char fix[600];
    const char *b = getenv("BUILD");

    (void)state;
    snprintf(fix, sizeof fix, "%s/fixtures/replay/0001-default.db",
             b && *b ? b : "build");
    assert_int_equal(
        tsh("'%s' replay '%s' 2>&1 >/dev/null | grep -o 'REST answered "
            "[0-9]*' "
            ">'%s/oh0.rest' ; '%s' replay '%s' --ohlc --inject '%s' "
            "--bars-out '%s/oh.bars' --record '%s/oh.db' 2>'%s/oh.err' && "
            "grep -q '\"source\":\"ohlc\",\"start_ms\":1753190400000,.*"
            "\"open\":119400,\"high\":119500,\"low\":119300,\"close\":119450,"
            "\"volume\":12.5,' '%s/oh.bars' && grep -o 'REST answered [0-9]*' "
            "'%s/oh.err' | cmp -s - '%s/oh0.rest' && '%s' export '%s/oh.db' | "
            "grep -q 'ws_subscribe 1 24~CCCAGG~BTC~USD~m,' && '%s' replay "
            "'%s/oh.db' --quiet",
            g_bin, fix, g_dir, g_bin, fix, candle, g_dir, g_dir, g_dir, g_dir,
            g_dir, g_dir, g_bin, g_dir, g_bin, g_dir),
        0);
    /* nor for the backfill of a reconnect gap */
    snprintf(fix, sizeof fix, "%s/fixtures/replay/0016-gap-backfill.db",
             b && *b ? b : "build");
    assert_int_equal(tsh("a=$('%s' replay '%s' 2>&1 >/dev/null | grep -o "
                         "'REST answered [0-9]*') && b=$('%s' replay '%s' "
                         "--ohlc 2>&1 >/dev/null | grep -o 'REST answered "
                         "[0-9]*') && test -n \"$a\" && test \"$a\" = \"$b\"",
                         g_bin, fix, g_bin, fix),
                     0);
    tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed", "max",
                 "--max-time", "60s", NULL);
    assert_int_equal(capture(&s, "ohlc", "3s", "--ohlc"), 0);
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
    assert_int_equal(tsh("cd '%s' && '%s' export ohlc.db | grep "
                         "'\"dir\":\"out\",\"kind\":\"ws_text\"' | grep -q "
                         "'SubAdd.*24~CCCAGG~BTC~USD~m'",
                         g_dir, g_bin),
                     0);
    replays_the_same("ohlc");
}

/* A 200 KB message (a padded CCCAGG update): libwebsockets hands it
 * over in 64 KB pieces, joined into one frame, recorded whole, the same
 * strict replay; with --max-message 100000 the socket is closed with 1009
 * and the core reconnects. */
static void test_big_message(void **state)
{
    struct tserve s;
    char src[512];

    (void)state;
    assert_int_equal(tsh("cd '%s' && rm -f big0.db bigsrc.db && '%s' synth "
                         "--out big0.db --minutes 3 --seed 7 --symbols BTC "
                         ">/dev/null && '%s' export big0.db | /usr/bin/python3 "
                         "\"$OLDPWD/tests/capture_bigframe.py\" >bigsrc.jsonl "
                         "&& '%s' import bigsrc.jsonl --out bigsrc.db",
                         g_dir, g_bin, g_bin, g_bin),
                     0);
    snprintf(src, sizeof src, "%s/bigsrc.db", g_dir);
    tserve_start(&s, g_bin, g_dir, src, "--speed", "max", "--max-time", "60s",
                 NULL);
    assert_int_equal(capture(&s, "bigmsg", "3s", NULL), 0);
    assert_int_equal(capture(&s, "toobig", "3s", "--max-message 100000"), 0);
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
    assert_int_equal(tsh("cd '%s' && test $(sqlite3 bigmsg.db 'SELECT "
                         "max(length(payload)) FROM events WHERE kind = 3 AND "
                         "dir = 0') -gt 200000 && test $(sqlite3 toobig.db "
                         "'SELECT count(*) FROM events WHERE kind = 8 AND "
                         "status = 1009') -ge 1 && test $(sqlite3 toobig.db "
                         "'SELECT max(length(payload)) FROM events WHERE kind "
                         "= 3 AND dir = 0') -lt 100000",
                         g_dir),
                     0);
    /* what did not reach the core is said */
    assert_int_equal(tsh("cd '%s' && grep -q 'frames after a close or past "
                         "--max-message' toobig.err && ! grep -q 'not given "
                         "to the core' bigmsg.err",
                         g_dir),
                     0);
    replays_the_same("bigmsg");
    replays_the_same("toobig");
}

/* The server drops the socket: the core backs off (at least 5 s) and
 * reconnects; both sockets are in the capture, which replays the same. */
static void test_drop_reconnects(void **state)
{
    struct tserve s;

    (void)state;
    tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed", "max",
                 "--fault", "drop@40s", "--max-time", "60s", NULL);
    assert_int_equal(capture(&s, "drop", "12s", NULL), 0);
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
    assert_int_equal(tsh("cd '%s' && test $('%s' export drop.db | grep -c "
                         "'\"rec\":\"conn\",.*\"kind\":\"ws\"') -ge 2 && "
                         "grep -q 'WS_CLOSED/DROP_CLOSED--> BACKOFF' drop.trace",
                         g_dir, g_bin),
                     0);
    replays_the_same("drop");
}

/* Each of serve's faults, through the real network stack: the capture
 * replays the same, byte for byte. Two in make test, all of them and a
 * run at real speed with MD_TEST_SLOW (make check). */
static void test_fault_matrix(void **state)
{
    static const char *const faults[] = {
        "force-disconnect@30s", "malformed@20s",   "close@30s:1001",
        "truncated@20s",        "gap@20s:30s",     "rest-error@0s:500",
        "rest-rate-limit@0s",   "rest-drop@0s",    "rest-delay@0s:3s",
        "slow@20s:2s",          "stall@20s:5s",    "heartbeat-stall@20s:5s",
        "too-many-sockets@10s",
    };
    size_t i, n = getenv("MD_TEST_SLOW") ? sizeof faults / sizeof faults[0]
                                         : 2;
    struct tserve s;

    (void)state;
    for (i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "fault%zu", i);
        tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed",
                     "max", "--fault", faults[i], "--max-time", "60s", NULL);
        if (capture(&s, name, "8s", NULL) != 0) {
            fail_msg("capture with serve --fault %s failed", faults[i]);
        }
        assert_int_equal(tserve_stop(&s, SIGTERM), 0);
        if (tsh("cd '%s' && '%s' replay %s.db --strict --bars-out %s.rb "
                "--trace %s.rt 2>/dev/null && cmp -s %s.bars %s.rb && "
                "cmp -s %s.trace %s.rt",
                g_dir, g_bin, name, name, name, name, name, name, name) != 0) {
            fail_msg("serve --fault %s: strict replay differs from the live "
                     "run", faults[i]);
        }
    }
    if (getenv("MD_TEST_SLOW") != NULL) {
        /* real speed: the source's own pace, timers firing on the clock */
        tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed",
                     "1", "--max-time", "60s", NULL);
        assert_int_equal(capture(&s, "real", "20s", NULL), 0);
        assert_int_equal(tserve_stop(&s, SIGTERM), 0);
        replays_the_same("real");
    }
}

/* The key goes in headers only: no file the run and its replay wrote
 * holds it, plain, URL-encoded or base64 (standard or URL-safe); it was
 * never an argument (the environment gives it). */
static void test_key_never_written(void **state)
{
    struct tserve s;

    (void)state;
    tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed", "max",
                 "--max-time", "60s", NULL);
    assert_int_equal(capture(&s, "key", "2s", NULL), 0);
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
    /* and what replay writes of it (bars, trace, messages) */
    replays_the_same("key");
    assert_int_equal(
        tsh("cd '%s' && ls key.* >/dev/null && /usr/bin/python3 -c '"
            "import base64,glob,sys,urllib.parse\n"
            "k=b\"" KEY "\"\n"
            "forms=[k,urllib.parse.quote(k).encode(),base64.b64encode(k),"
            "base64.urlsafe_b64encode(k)]\n"
            "bad=[f for f in glob.glob(\"key.*\") for x in forms "
            "if x in open(f,\"rb\").read()]\n"
            "sys.exit(1 if bad else 0)'",
            g_dir),
        0);
    /* and the server was asked with it (it serves nobody without one) */
    assert_true(lines("key", "bars") >= 1);
}

/* SIGINT: the core's STOP (open bars flushed, the socket closed), a
 * valid file holding the signal, which replays the same; exit 0. */
static void test_signal_stops_cleanly(void **state)
{
    struct tserve s;
    char cmd[2048];
    pid_t pid;
    int st = 0;
    int64_t deadline;

    (void)state;
    tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed", "max",
                 "--max-time", "60s", NULL);
    snprintf(cmd, sizeof cmd, "ws://127.0.0.1:%d/v2", s.port);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char rest[128], out[512], bars[512], trace[512];
        snprintf(rest, sizeof rest, "http://127.0.0.1:%d", s.port);
        snprintf(out, sizeof out, "%s/sig.db", g_dir);
        snprintf(bars, sizeof bars, "%s/sig.bars", g_dir);
        snprintf(trace, sizeof trace, "%s/sig.trace", g_dir);
        execl(g_bin, g_bin, "capture", "--out", out, "--ws-url", cmd,
              "--rest-url", rest, "--symbols", "BTC", "--bars-out", bars,
              "--trace", trace, "--quiet", (char *)NULL);
        _exit(127);
    }
    nanosleep(&(struct timespec){2, 0}, NULL);
    kill(pid, SIGINT);
    deadline = tnow_ms() + 15000;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (tnow_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fail_msg("capture did not stop in 15 s after SIGINT");
        }
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
    assert_int_equal(tsh("cd '%s' && '%s' export sig.db | grep -q "
                         "'\"kind\":\"signal\",.*\"status\":2,' && grep -q "
                         "'conn STREAMING --STOP/CLOSE--> CLOSING' sig.trace",
                         g_dir, g_bin),
                     0);
    replays_the_same("sig");
}

/* wss:// with the CA serve printed: works; without it the handshake is
 * refused and stderr says why (certificate), and no frame is recorded. */
static void test_tls(void **state)
{
    struct tserve s;

    (void)state;
    tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed", "max",
                 "--tls", "--max-time", "60s", NULL);
    assert_true(s.ca[0] != '\0');
    assert_int_equal(
        tsh("cd '%s' && rm -f tls.db && timeout 60 '%s' capture --out tls.db "
            "--ws-url wss://127.0.0.1:%d/v2 --rest-url https://127.0.0.1:%d "
            "--symbols BTC --duration 2s --ca-file '%s' --bars-out tls.bars "
            "--trace tls.trace --quiet 2>tls.err",
            g_dir, g_bin, s.port, s.port, s.ca),
        0);
    assert_true(lines("tls", "bars") >= 1);
    replays_the_same("tls");
    assert_int_equal(
        tsh("cd '%s' && rm -f notls.db && timeout 60 '%s' capture --out "
            "notls.db --ws-url wss://127.0.0.1:%d/v2 --rest-url "
            "https://127.0.0.1:%d --symbols BTC --duration 2s --quiet "
            "2>notls.err; grep -qi 'certificate\\|verif' notls.err && "
            "! '%s' export notls.db | grep -q '\"kind\":\"ws_text\",.*\"dir\":"
            "\"in\"'",
            g_dir, g_bin, s.port, s.port, g_bin),
        0);
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
}

/* No key: the streamer answers TYPE 401 and the core fails; capture
 * stops at once with a clear message and exit 1, the file valid and
 * replaying the same. A second socket of one key: TOO_MANY_SOCKETS, and
 * the core backs off for minutes (its back-off timer armed 300 s or more
 * ahead), not in a storm. */
static void test_refusals(void **state)
{
    struct tserve s;

    (void)state;
    tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed", "max",
                 "--one-socket-per-key", "--max-time", "60s", NULL);
    assert_int_equal(
        tsh("cd '%s' && rm -f nokey.db && CRYPTOCOMPARE_API_KEY= "
            "CCSTREAM_API_KEY= timeout 30 '%s' capture --out nokey.db "
            "--ws-url ws://127.0.0.1:%d/v2 --rest-url http://127.0.0.1:%d "
            "--symbols BTC --duration 20s --trace nokey.trace --bars-out "
            "nokey.bars --quiet 2>nokey.err; test $? = 1 && grep -q "
            "'refused the API key' nokey.err && grep -q 'UNAUTHORIZED' "
            "nokey.trace",
            g_dir, g_bin, s.port, s.port),
        0);
    replays_the_same("nokey");
    /* two captures with one key: the second is refused its socket */
    assert_int_equal(
        tsh("cd '%s' && rm -f one.db two.db && (timeout 30 '%s' capture "
            "--out one.db --ws-url ws://127.0.0.1:%d/v2 --rest-url "
            "http://127.0.0.1:%d --symbols BTC --duration 4s --quiet "
            "2>one.err &) && sleep 1 && timeout 30 '%s' capture --out two.db "
            "--ws-url ws://127.0.0.1:%d/v2 --rest-url http://127.0.0.1:%d "
            "--symbols BTC --duration 2s --trace two.trace --bars-out "
            "two.bars --quiet 2>two.err && sleep 4 && grep -q "
            "'TOO_MANY_SOCKETS' two.trace && b=$('%s' export two.db | grep "
            "-o 'DROP_LONG BACKOFF[^\"]*arm conn.backoff [0-9]*' | head -1 "
            "| awk '{print $NF}') && test \"${b:-0}\" -ge 300000000000",
            g_dir, g_bin, s.port, s.port, g_bin, s.port, s.port, g_bin),
        0);
    replays_the_same("two");
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
}

/* --config: KEY = VALUE lines; flags win over the file; a bad key or
 * value is an error naming the file, line and column. */
static void test_config(void **state)
{
    struct tserve s;

    (void)state;
    tserve_start(&s, g_bin, g_dir, "synth:minutes=3,seed=7", "--speed", "max",
                 "--max-time", "60s", NULL);
    assert_int_equal(
        tsh("cd '%s' && rm -f cfg.db && printf '# a capture\\n"
            "symbols = BTC,ETH\\n  ws-url=ws://127.0.0.1:%d/v2\\n"
            "rest-url = http://127.0.0.1:%d\\nduration = 30s\\n"
            "quiet = true\\n\\nbars-out = cfg.bars\\n' >cap.conf && "
            "timeout 60 '%s' capture --config cap.conf --out cfg.db "
            "--duration 2s --symbols BTC 2>cfg.err && test -s cfg.bars && "
            "! grep -q ETH cfg.bars && '%s' export cfg.db | sed -n 2p | "
            "grep -q '\"symbols\":\"BTC\"'",
            g_dir, s.port, s.port, g_bin, g_bin),
        0);
    assert_int_equal(tserve_stop(&s, SIGTERM), 0);
    assert_int_equal(
        tsh("cd '%s' && printf 'symbols = BTC\\n  symbol = ETH\\n' >bad1.conf"
            " && '%s' capture --config bad1.conf --out b1.db 2>b1.err; "
            "test $? = 2 && grep -q 'bad1.conf:2:3: unknown key .symbol.' "
            "b1.err && ! test -e b1.db",
            g_dir, g_bin),
        0);
    assert_int_equal(
        tsh("cd '%s' && printf '\\nduration =  5parsecs\\n' >bad2.conf && "
            "'%s' capture --config bad2.conf --out b2.db 2>b2.err; "
            "test $? = 2 && grep -q 'bad2.conf:2:13: duration: bad duration' "
            "b2.err",
            g_dir, g_bin),
        0);
    assert_int_equal(
        tsh("cd '%s' && printf 'api-key = secret123456\\n' >bad3.conf && "
            "'%s' capture --config bad3.conf --out b3.db 2>b3.err; "
            "test $? = 2 && grep -q 'api-key-file' b3.err && "
            "! grep -q secret123456 b3.err",
            g_dir, g_bin),
        0);
}

/* A full disk (an 8 MB tmpfs, mounted as root): the capture stops with
 * exit 1 and one clear message, and the file opens and replays what it
 * committed. Skipped, and said so, where tmpfs cannot be mounted. */
static void test_full_disk(void **state)
{
    struct tserve s;
    char mnt[300];
    int rc;

    (void)state;
    snprintf(mnt, sizeof mnt, "%s/small", g_dir);
    if (tsh("mkdir -p '%s' && mount -t tmpfs -o size=8m tmpfs '%s' "
            "2>/dev/null", mnt, mnt) != 0) {
        printf("  (no tmpfs mount here: not root; the full-disk case not "
               "run)\n");
        skip();
    }
    tserve_start(&s, g_bin, g_dir, "synth:minutes=120,seed=7", "--speed",
                 "max", "--max-time", "60s", NULL);
    rc = tsh("cd '%s' && timeout 60 '%s' capture --out small/full.db "
             "--ws-url ws://127.0.0.1:%d/v2 --rest-url http://127.0.0.1:%d "
             "--duration 20s --quiet 2>full.err; test $? = 1 && "
             "grep -q 'disk is full' full.err && test $(wc -l <full.err) = 1 "
             "&& '%s' inspect small/full.db >full.inspect && grep -q "
             "'schema 2, [0-9][0-9][0-9][0-9]* events' full.inspect && "
             "'%s' replay "
             "small/full.db --strict --quiet 2>/dev/null",
             g_dir, g_bin, s.port, s.port, g_bin, g_bin);
    tserve_stop(&s, SIGTERM);
    tsh("umount '%s'", mnt);
    assert_int_equal(rc, 0);
}

static void test_errors(void **state)
{
    (void)state;
    assert_int_equal(tsh("cd '%s' && '%s' capture --out k.db --api-key x "
                         "2>e1; test $? = 2 && grep -q 'api-key-file' e1 && "
                         "! test -e k.db",
                         g_dir, g_bin),
                     0);
    assert_int_equal(tsh("cd '%s' && '%s' capture 2>e2; test $? = 2 && "
                         "grep -q -- '--out' e2",
                         g_dir, g_bin),
                     0);
    assert_int_equal(tsh("cd '%s' && touch there.db && '%s' capture --out "
                         "there.db 2>e3; test $? = 1 && grep -q 'exists' e3",
                         g_dir, g_bin),
                     0);
    assert_int_equal(tsh("cd '%s' && '%s' capture --out d.db --duration 5x "
                         "2>e4; test $? = 2 && grep -q duration e4 && "
                         "! test -e d.db",
                         g_dir, g_bin),
                     0);
    assert_int_equal(tsh("cd '%s' && '%s' capture --out u.db --ws-url "
                         "http://x/v2 --duration 1s 2>e5; test $? = 1 && "
                         "grep -q 'bad WebSocket URL' e5",
                         g_dir, g_bin),
                     0);
    /* a key in a URL: refused, and not echoed */
    assert_int_equal(tsh("cd '%s' && '%s' capture --out uk.db --ws-url "
                         "'ws://127.0.0.1:9/v2?api_key=SECRETX1' --duration "
                         "1s 2>e7; test $? = 1 && grep -q 'API key' e7 && "
                         "! grep -q SECRETX1 e7",
                         g_dir, g_bin),
                     0);
    /* nobody listening: the core backs off and tries again until the end;
     * a valid capture of the attempts */
    assert_int_equal(tsh("cd '%s' && '%s' capture --out none.db --ws-url "
                         "ws://127.0.0.1:9/v2 --rest-url http://127.0.0.1:9 "
                         "--duration 2s --quiet 2>e6; test $? = 0 && '%s' "
                         "replay none.db --strict --quiet",
                         g_dir, g_bin, g_bin),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_live_equals_strict_replay),
        cmocka_unit_test(test_served_source_bars),
        cmocka_unit_test(test_several_exchanges),
        cmocka_unit_test(test_ohlc_channel),
        cmocka_unit_test(test_big_message),
        cmocka_unit_test(test_drop_reconnects),
        cmocka_unit_test(test_fault_matrix),
        cmocka_unit_test(test_key_never_written),
        cmocka_unit_test(test_signal_stops_cleanly),
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_full_disk),
        cmocka_unit_test(test_errors),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
