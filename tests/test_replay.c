/* test_replay.c: replay of synth captures through the core: byte-identical
 * bars and trace on every run and at any speed; a recording replays in
 * strict mode without divergence, and altering one recorded input is
 * caught and reported with both sides; a delivery failure injected at T
 * drives the publisher through its error path and back; unmatched REST
 * requests take the fetch-failure path; bad captures get clear errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

/* libc's free, defined before cmocka's leak-checking macros: for the
 * buffers open_memstream allocates. */
static void libc_free(void *p)
{
    free(p);
}

#include "cmocka_inc.h"
#include "md_err.h"
#include "replay.h"
#include "synth.h"

static char dir[64];
static char capture[128];

static int setup(void **state)
{
    struct synth_opts so;
    char err[256];

    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ccstream-replay-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(capture, sizeof capture, "%s/s.db", dir);
    synth_opts_default(&so);
    so.minutes = 6;
    so.seed = 11;
    if (synth_write(&so, capture, NULL, err, sizeof err) != MD_OK) {
        fprintf(stderr, "synth: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Read a whole file into a static buffer; returns its length. */
static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    assert_true(n < cap);
    return n;
}

/* One replay into files in dir; the summary in *sum. */
static int replay(const char *cap, const char *tag, double speed,
                  const char *inject, const char *record,
                  enum rpl_mode mode, struct rpl_summary *sum)
{
    static struct rpl_opts o;
    char bars[128], trace[128], err[1024] = "";
    int rc;

    rpl_opts_default(&o);
    o.capture = cap;
    o.mode = mode;
    o.speed = speed;
    o.record = record;
    if (inject != NULL) {
        /* several specs separated by ';' */
        char specs[256], *p = specs, *semi;
        snprintf(specs, sizeof specs, "%s", inject);
        do {
            semi = strchr(p, ';');
            if (semi != NULL) {
                *semi = '\0';
            }
            assert_int_equal(rpl_add_inject(&o, p), MD_OK);
            p = semi + 1;
        } while (semi != NULL);
    }
    snprintf(bars, sizeof bars, "%s/%s.bars", dir, tag);
    snprintf(trace, sizeof trace, "%s/%s.trace", dir, tag);
    o.bars = fopen(bars, "wb");
    o.trace = fopen(trace, "w");
    assert_non_null(o.bars);
    assert_non_null(o.trace);
    rc = rpl_run(&o, sum, err, sizeof err);
    fclose(o.bars);
    fclose(o.trace);
    if (rc != MD_OK && sum->divergences == 0) {
        fprintf(stderr, "replay %s: %s\n", tag, err);
    }
    return rc;
}

static char A[4 << 20], B[4 << 20];

static void same_files(const char *t1, const char *t2, const char *ext)
{
    char p1[128], p2[128];
    size_t n1, n2;

    snprintf(p1, sizeof p1, "%s/%s.%s", dir, t1, ext);
    snprintf(p2, sizeof p2, "%s/%s.%s", dir, t2, ext);
    n1 = slurp(p1, A, sizeof A);
    n2 = slurp(p2, B, sizeof B);
    assert_true(n1 > 1000);
    assert_int_equal(n1, n2);
    assert_memory_equal(A, B, n1);
}

static void test_replay_deterministic_at_any_speed(void **state)
{
    struct rpl_summary s1, s2, s3;

    (void)state;
    assert_int_equal(replay(capture, "a", 0, NULL, NULL, RPL_AUTO, &s1), MD_OK);
    assert_int_equal(s1.mode, RPL_WHATIF);
    assert_true(s1.bars > 50);
    assert_true(s1.rest_matched >= 6); /* the preflight answered from it */
    assert_int_equal(s1.rest_misses, 0);
    assert_true(s1.duplicates > 0);    /* the reconnect's replay */
    assert_int_equal(replay(capture, "b", 0, NULL, NULL, RPL_AUTO, &s2), MD_OK);
    /* 6 minutes at x5000: about 70 ms of sleeping */
    assert_int_equal(replay(capture, "c", 5000, NULL, NULL, RPL_AUTO, &s3),
                     MD_OK);
    same_files("a", "b", "bars");
    same_files("a", "b", "trace");
    same_files("a", "c", "bars");
    same_files("a", "c", "trace");
    printf("  %llu bars, %llu transitions, byte-identical three times\n",
           (unsigned long long)s1.bars, (unsigned long long)s1.transitions);
}

static void test_replay_strict_catches_an_altered_input(void **state)
{
    struct rpl_summary s;
    char rec[128];
    sqlite3 *db;
    char *msg = NULL;

    (void)state;
    snprintf(rec, sizeof rec, "%s/rec.db", dir);
    assert_int_equal(replay(capture, "w", 0, NULL, rec, RPL_AUTO, &s), MD_OK);
    /* the recording replays in strict mode (the default for it) */
    assert_int_equal(replay(rec, "s", 0, NULL, NULL, RPL_AUTO, &s), MD_OK);
    assert_int_equal(s.mode, RPL_STRICT);
    assert_int_equal(s.divergences, 0);
    same_files("w", "s", "bars");
    same_files("w", "s", "trace");
    /* alter one recorded trade's price */
    assert_int_equal(sqlite3_open(rec, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "UPDATE events SET payload = CAST(replace("
                     "CAST(payload AS TEXT), '\"P\":', '\"P\":1') AS BLOB) "
                     "WHERE seq = (SELECT seq FROM events WHERE kind = 3 AND "
                     "dir = 0 AND CAST(payload AS TEXT) LIKE "
                     "'{\"TYPE\":\"0\"%' ORDER BY seq LIMIT 1 OFFSET 400)",
                     NULL, NULL, &msg),
        SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
    assert_int_equal(replay(rec, "x", 0, NULL, NULL, RPL_STRICT, &s),
                     MD_E_STATE);
    assert_int_equal(s.divergences, 1);
    assert_non_null(strstr(s.divergence, "recorded:"));
    assert_non_null(strstr(s.divergence, "replayed:"));
    assert_non_null(strstr(s.divergence, "first divergence after input seq"));
    printf("  %s\n", s.divergence);
}

/* A recording made with other options (intervals, grace, lateness,
 * empty bars, a topic template) carries them in its session: its strict
 * replay, given no option, configures itself the same and agrees (before,
 * only the source's configuration was kept, and the strict replay of a
 * --intervals 1m,5m recording diverged at its first REST answer). */
static void test_replay_strict_recording_keeps_its_options(void **state)
{
    static struct rpl_opts o;
    struct rpl_summary s;
    char rec[128], bars[128], err[1024] = "";
    int rc;

    (void)state;
    snprintf(rec, sizeof rec, "%s/opts.db", dir);
    snprintf(bars, sizeof bars, "%s/opts-w.bars", dir);
    rpl_opts_default(&o);
    o.capture = capture;
    o.record = rec;
    o.intervals = "1m,5m";
    o.grace = "3s";
    o.lateness = "5m";
    o.emit_empty = true;
    o.topic = "bars.{base}.{interval}";
    o.bars = fopen(bars, "wb");
    assert_non_null(o.bars);
    rc = rpl_run(&o, &s, err, sizeof err);
    fclose(o.bars);
    assert_int_equal(rc, MD_OK);
    assert_true(s.bars > 50);
    assert_int_equal(replay(rec, "opts-s", 0, NULL, NULL, RPL_STRICT, &s),
                     MD_OK);
    assert_int_equal(s.divergences, 0);
    same_files("opts-w", "opts-s", "bars");
}

/* A recording names the core that made it; strict replay refuses another
 * core's recording (its actions mean other things) and says what to do,
 * and what-if still plays it. */
static void test_replay_strict_refuses_another_core(void **state)
{
    static struct rpl_opts o;
    struct rpl_summary s;
    struct store_reader *rd;
    struct store_session sess;
    char rec[128], err[1024] = "", sql[128];
    sqlite3 *db;

    (void)state;
    snprintf(rec, sizeof rec, "%s/rec-version.db", dir);
    assert_int_equal(replay(capture, "v", 0, NULL, rec, RPL_AUTO, &s), MD_OK);
    assert_int_equal(store_reader_open(rec, &rd, err, sizeof err), MD_OK);
    assert_int_equal(store_reader_session(rd, 0, &sess), MD_OK);
    assert_int_equal(sess.core_version, CORE_VERSION);
    store_reader_close(rd);
    assert_int_equal(sqlite3_open(rec, &db), SQLITE_OK);
    snprintf(sql, sizeof sql, "UPDATE sessions SET core_version = %d",
             CORE_VERSION - 1);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    rpl_opts_default(&o);
    o.capture = rec;
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_E_VERSION);
    assert_non_null(strstr(err, "core version"));
    assert_non_null(strstr(err, "--what-if"));
    /* no version at all (a schema 1 recording) is refused the same way */
    assert_int_equal(sqlite3_open(rec, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE sessions SET core_version = "
                                      "NULL", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    err[0] = '\0';
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_E_VERSION);
    assert_non_null(strstr(err, "--what-if"));
    o.mode = RPL_WHATIF;
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_OK);
    assert_true(s.bars > 50);
}

/* Events larger than a read-ahead batch (1 MiB) and REST bodies read back
 * from the capture on use: a 3 MB member padded into a trade frame and
 * into the first REST answer changes nothing in the bars. */
static void test_replay_outsized_events(void **state)
{
    struct rpl_summary s0, s1;
    char big[128], cmd[320];
    sqlite3 *db;
    char *msg = NULL;

    (void)state;
    snprintf(big, sizeof big, "%s/big.db", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", capture, big);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(sqlite3_open(big, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "UPDATE events SET payload = CAST('{\"PAD\":\"' || "
                     "hex(zeroblob(1500000)) || '\",' || "
                     "substr(CAST(payload AS TEXT), 2) AS BLOB) WHERE seq IN "
                     "((SELECT seq FROM events WHERE kind = 3 AND dir = 0 AND "
                     "CAST(payload AS TEXT) LIKE '{\"TYPE\":\"0\"%' ORDER BY "
                     "seq LIMIT 1 OFFSET 100), (SELECT seq FROM events WHERE "
                     "kind = 21 ORDER BY seq LIMIT 1))",
                     NULL, NULL, &msg),
        SQLITE_OK);
    assert_int_equal(sqlite3_changes(db), 2);
    sqlite3_close(db);
    assert_int_equal(replay(capture, "o0", 0, NULL, NULL, RPL_WHATIF, &s0),
                     MD_OK);
    assert_int_equal(replay(big, "o1", 0, NULL, NULL, RPL_WHATIF, &s1),
                     MD_OK);
    assert_true(s1.rest_matched > 0);
    assert_int_equal(s1.rest_matched, s0.rest_matched);
    assert_int_equal(s1.rest_misses, s0.rest_misses);
    assert_int_equal(s1.malformed, 0);
    assert_int_equal(s1.events, s0.events);
    same_files("o0", "o1", "bars");
}

static void test_replay_publish_failure_path(void **state)
{
    struct rpl_summary s;
    char path[128];
    size_t n;

    (void)state;
    assert_int_equal(replay(capture, "f", 0, "publish-fail@90s", NULL,
                            RPL_AUTO, &s),
                     MD_OK);
    assert_int_equal(s.mode, RPL_WHATIF);
    assert_int_equal(s.deliveries_failed, 1);
    snprintf(path, sizeof path, "%s/f.trace", dir);
    n = slurp(path, A, sizeof A);
    A[n] = '\0';
    assert_non_null(strstr(A, "pub PUBLISHING --PUBLISH_FAILURE/"
                              "HANDLE_ERROR_PUBLISH--> ERROR"));
    /* the publisher's own retry timer brings it back */
    assert_non_null(strstr(A, "pub ERROR --RESET[busy]/RESET_ERROR--> "
                              "PUBLISHING"));
    /* no bar is lost: the same bars as without the failure, in the same
     * order except for the failed one's later delivery */
    {
        struct rpl_summary s0;
        assert_int_equal(replay(capture, "g", 0, NULL, NULL, RPL_AUTO, &s0),
                         MD_OK);
        assert_int_equal(s.bars, s0.bars);
    }
}

/* The three classes of final delivery failure and the producer's refusal
 * at once, in one what-if run: each is counted in the summary, recorded
 * with its class in the capture's delivery events, and the recording
 * replays in strict mode to the same bars and trace. */
static void test_replay_kafka_failure_classes(void **state)
{
    struct rpl_summary s, s0;
    char rec[128], path[128];
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t n;
    int perm = -1, fatal = -1, full = -1;

    (void)state;
    snprintf(rec, sizeof rec, "%s/kf.db", dir);
    assert_int_equal(replay(capture, "kf", 0,
                            "queue-full@100s;publish-reject@130s;"
                            "kafka-fatal@190s;queue-full@250s",
                            rec, RPL_AUTO, &s),
                     MD_OK);
    assert_int_equal(s.dead_lettered, 1);
    assert_int_equal(s.producer_fatal, 1);
    assert_true(s.queue_full >= 2);
    assert_int_equal(s.deliveries_failed, 0);
    snprintf(path, sizeof path, "%s/kf.trace", dir);
    n = slurp(path, A, sizeof A);
    A[n] = '\0';
    assert_non_null(strstr(A, "--QUEUE_FULL/BACKPRESSURE--> ERROR"));
    assert_non_null(strstr(A, "/DEAD_LETTER--> "));
    assert_non_null(strstr(A, "--PRODUCER_FATAL/HANDLE_ERROR_FATAL--> "));
    /* every bar but the dead-lettered one is delivered */
    assert_int_equal(replay(capture, "kf0", 0, NULL, NULL, RPL_AUTO, &s0),
                     MD_OK);
    assert_int_equal(s.bars, s0.bars);
    assert_int_equal(s.bars_lost, 0);
    /* the recording names each failure's class */
    assert_int_equal(sqlite3_open(rec, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT sum(meta LIKE '%\"class\":\"permanent\"%'),"
                           " sum(meta LIKE '%\"class\":\"fatal\"%'),"
                           " sum(meta LIKE '%\"class\":\"queue_full\"%')"
                           " FROM events WHERE kind = 31",
                           -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    perm = sqlite3_column_int(st, 0);
    fatal = sqlite3_column_int(st, 1);
    full = sqlite3_column_int(st, 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(perm, 1);
    assert_int_equal(fatal, 1);
    assert_int_equal((uint64_t)full, s.queue_full);
    /* strict replay of the recording: the same, no divergence */
    assert_int_equal(replay(rec, "kfs", 0, NULL, NULL, RPL_AUTO, &s0),
                     MD_OK);
    assert_int_equal(s0.mode, RPL_STRICT);
    assert_int_equal(s0.divergences, 0);
    assert_int_equal(s0.dead_lettered, 1);
    assert_int_equal(s0.producer_fatal, 1);
    same_files("kf", "kfs", "bars");
    same_files("kf", "kfs", "trace");
}

/* The connection's own liveness in a what-if run: a server that stalls
 * still answers pings (the recording keeps the pongs and strict replay
 * feeds them back: the same trace), and stays connected until the stale
 * timeout; a socket that dies without a close (half-open) is dropped
 * 40 s after its last word, by the unanswered ping. */
static void test_replay_ping_pong(void **state)
{
    struct rpl_summary s, s2;
    char rec[128], path[128];
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t n;
    int pongs;

    (void)state;
    snprintf(rec, sizeof rec, "%s/pp.db", dir);
    assert_int_equal(replay(capture, "pp", 0, "stall@100s", rec, RPL_AUTO,
                            &s),
                     MD_OK);
    snprintf(path, sizeof path, "%s/pp.trace", dir);
    n = slurp(path, A, sizeof A);
    A[n] = '\0';
    assert_non_null(strstr(A, "--T_STALE[idle]/PROBE--> STREAMING"));
    assert_non_null(strstr(A, "--PONG/PONG--> STREAMING"));
    assert_non_null(strstr(A, "--T_STALE[quiet]/DROP--> BACKOFF"));
    assert_null(strstr(A, "DROP_NO_PONG"));
    assert_int_equal(sqlite3_open(rec, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM events "
                                            "WHERE kind = 6 AND dir = 0",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    pongs = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_true(pongs >= 1);
    assert_int_equal(replay(rec, "pps", 0, NULL, NULL, RPL_AUTO, &s2),
                     MD_OK);
    assert_int_equal(s2.mode, RPL_STRICT);
    assert_int_equal(s2.divergences, 0);
    same_files("pp", "pps", "trace");
    same_files("pp", "pps", "bars");

    assert_int_equal(replay(capture, "ho", 0, "half-open@100s", NULL,
                            RPL_AUTO, &s),
                     MD_OK);
    snprintf(path, sizeof path, "%s/ho.trace", dir);
    n = slurp(path, A, sizeof A);
    A[n] = '\0';
    assert_non_null(strstr(A, "--T_STALE[unanswered]/DROP_NO_PONG--> "
                              "BACKOFF"));
    printf("  stall: %d pongs recorded, strict replay the same; half-open: "
           "dropped by the unanswered ping\n", pongs);
}

/* Bars still in flight when the flush deadline passes are given up; the
 * broker's late reports for them name no bar in flight: the summary says
 * how many bars were lost and how many reports were stale. */
static void test_replay_abandoned_bars_reported(void **state)
{
    static struct rpl_opts o;
    struct rpl_summary s;
    char err[1024] = "", path[128];
    FILE *f;
    size_t n;

    (void)state;
    rpl_opts_default(&o);
    o.capture = capture;
    assert_int_equal(rpl_add_inject(&o, "kafka-slow@100s"), MD_OK);
    assert_int_equal(rpl_add_inject(&o, "stop@125s"), MD_OK);
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_OK);
    assert_true(s.stale_reports > 0);
    snprintf(path, sizeof path, "%s/abandon.summary", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    rpl_print_summary(f, &s);
    assert_int_equal(fclose(f), 0);
    n = slurp(path, A, sizeof A);
    A[n] = '\0';
    assert_non_null(strstr(A, "stale delivery reports"));
    assert_true(s.bars_given_up > 0);
    assert_non_null(strstr(A, " bars given up while stopping"));
    /* without the faults there is no such line */
    rpl_opts_default(&o);
    o.capture = capture;
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_OK);
    assert_int_equal(s.stale_reports + s.bars_lost + s.bars_given_up, 0);
}

static void test_replay_rest_miss_takes_fetch_failure(void **state)
{
    static struct rpl_opts o;
    struct rpl_summary s;
    char err[512];

    (void)state;
    rpl_opts_default(&o);
    o.capture = capture;
    o.symbols = "BTC,DOGE"; /* DOGE was never asked for in the capture */
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_OK);
    assert_true(s.rest_misses > 0);
    assert_true(s.rest_matched > 0);
}

/* The lines of a bar file that did not come from a REST backfill, in
 * buf; returns their length. */
static size_t live_bars(const char *tag, char *buf, size_t cap)
{
    char path[128], line[4096];
    size_t n = 0, len;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s.bars", dir, tag);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strstr(line, "\"close_reason\":\"backfill\"") != NULL) {
            continue;
        }
        len = strlen(line);
        assert_true(n + len < cap);
        memcpy(buf + n, line, len);
        n += len;
    }
    fclose(f);
    return n;
}

/* Forty symbols (80 series an interval, 160 with two): more than any
 * fixed table the core once had (32 series). The capture holds three of
 * them; the others' REST requests miss (so the reconnect's backfill job
 * fails as a whole). Every other bar is exactly one of the three-symbol
 * replay, and nothing is reported full. */
static void test_replay_forty_symbols(void **state)
{
    static struct rpl_opts o;
    struct rpl_summary s3, s40;
    char list[512] = "BTC,ETH,LTC", err[512] = "", *sumtext = NULL;
    size_t n, sumlen = 0;
    FILE *mf;
    int i;

    (void)state;
    for (i = 0; i < 37; i++) {
        n = strlen(list);
        snprintf(list + n, sizeof list - n, ",X%02d", i);
    }
    assert_int_equal(replay(capture, "s3", 0, NULL, NULL, RPL_WHATIF, &s3),
                     MD_OK);
    rpl_opts_default(&o);
    o.capture = capture;
    o.mode = RPL_WHATIF;
    o.symbols = list;
    o.intervals = "1m,5m";
    assert_int_equal(rpl_run(&o, &s40, err, sizeof err), MD_OK);
    assert_true(s40.rest_misses > 0);
    assert_int_equal(s40.streams_full, 0);
    assert_int_equal(s40.tickers_full, 0);
    assert_true(s40.max_streams >= 80); /* 40 CCCAGG + 40 trade streams */
    /* bars: the 1m ones of the three-symbol replay, plus 5m ones */
    o.intervals = NULL;
    snprintf(err, sizeof err, "%s/s40.bars", dir);
    o.bars = fopen(err, "wb");
    assert_non_null(o.bars);
    assert_int_equal(rpl_run(&o, &s40, err, sizeof err), MD_OK);
    fclose(o.bars);
    n = live_bars("s3", A, sizeof A);
    assert_true(n > 1000);
    assert_int_equal(live_bars("s40", B, sizeof B), n);
    assert_memory_equal(A, B, n);
    /* the summary has no line of losses */
    mf = open_memstream(&sumtext, &sumlen);
    assert_non_null(mf);
    rpl_print_summary(mf, &s40);
    fclose(mf);
    assert_null(strstr(sumtext, "core:"));
    libc_free(sumtext);
}

/* A table that fills is reported: a replay whose core holds fewer
 * streams than the capture has says how many events it could not
 * aggregate, in the summary. */
static void test_replay_full_tables_reported(void **state)
{
    struct rpl_summary s;
    char *text = NULL;
    size_t len = 0;
    FILE *mf;

    (void)state;
    memset(&s, 0, sizeof s);
    s.streams_full = 12;
    s.max_streams = 4;
    s.tickers_full = 3;
    s.max_tickers = 2;
    s.bars_waits = 5;
    mf = open_memstream(&text, &len);
    assert_non_null(mf);
    rpl_print_summary(mf, &s);
    fclose(mf);
    assert_non_null(strstr(text, "12 frames of streams beyond the 4 held"));
    assert_non_null(strstr(text, "3 of tickers beyond the 2 held"));
    assert_non_null(strstr(text, "5 waits for a full bar store"));
    libc_free(text);
}

static void test_replay_bad_inputs(void **state)
{
    static struct rpl_opts o;
    struct rpl_summary s;
    char err[512] = "", path[128];
    FILE *f;

    (void)state;
    rpl_opts_default(&o);
    o.capture = "/nonexistent/none.db";
    assert_true(rpl_run(&o, &s, err, sizeof err) != MD_OK);
    assert_non_null(strstr(err, "none.db"));
    snprintf(path, sizeof path, "%s/text.db", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("this is not a capture\n", f);
    fclose(f);
    o.capture = path;
    err[0] = '\0';
    assert_true(rpl_run(&o, &s, err, sizeof err) != MD_OK);
    assert_true(strlen(err) > 0);
    /* strict mode on a synth capture: nothing recorded to compare with */
    o.capture = capture;
    o.mode = RPL_STRICT;
    err[0] = '\0';
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_E_INVAL);
    assert_non_null(strstr(err, "recording"));
    rpl_opts_default(&o);
    assert_int_equal(rpl_add_inject(&o, "publish-fail@2m"), MD_OK);
    assert_int_equal(o.inject[0].at_ns, INT64_C(120000000000));
    assert_int_equal(rpl_add_inject(&o, "explode@1s"), MD_E_INVAL);
    assert_int_equal(rpl_add_inject(&o, "drop@soon"), MD_E_INVAL);
    assert_int_equal(rpl_add_inject(&o, "drop"), MD_E_INVAL);
}

/* A configuration that names pairs the capture lacks, or leaves out pairs
 * it has: only the configured pairs' bars are written; the others are
 * counted, and the pairs without a bar named, in the summary. */
static void test_replay_configured_pairs_only(void **state)
{
    static struct rpl_opts o;
    struct rpl_summary s;
    char err[512] = "", path[256], *text = NULL;
    size_t len = 0, n;
    FILE *mf;

    (void)state;
    rpl_opts_default(&o);
    o.capture = capture;
    o.mode = RPL_WHATIF;
    o.symbols = "XYZ";
    snprintf(path, sizeof path, "%s/xyz.bars", dir);
    o.bars = fopen(path, "wb");
    assert_non_null(o.bars);
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_OK);
    fclose(o.bars);
    n = live_bars("xyz", A, sizeof A);
    assert_int_equal(n, 0);
    assert_int_equal(s.bars, 0);
    printf("  %llu bars of other pairs\n",
           (unsigned long long)s.bars_unconfigured);
    assert_true(s.bars_unconfigured > 10);
    mf = open_memstream(&text, &len);
    assert_non_null(mf);
    rpl_print_summary(mf, &s);
    fclose(mf);
    assert_non_null(strstr(text, "bars of pairs outside the configuration"));
    assert_non_null(strstr(text, "no bars for CCCAGG XYZ USD, Coinbase XYZ "
                                 "USD"));
    libc_free(text);
    /* one of the three: its bars only */
    o.symbols = "ETH";
    o.bars = NULL;
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_OK);
    assert_true(s.bars > 0);
    assert_true(s.bars_unconfigured > 0); /* BTC and LTC */
    assert_int_equal(s.unseen[0], '\0');
}

/* Every bar a replay writes is a valid OHLC record (low <= open, close <=
 * high), CCCAGG bars included: their open, the previous close, used to
 * fall outside the minute's updates (synth --minutes 8 --seed 21 gave 5
 * of 133 such bars). */
static void test_replay_bars_valid_ohlc(void **state)
{
    static struct rpl_opts o;
    struct synth_opts so;
    struct rpl_summary s;
    char path[256], bars[256], err[512] = "", line[4096];
    unsigned n = 0, cccagg = 0;
    FILE *f;

    (void)state;
    snprintf(path, sizeof path, "%s/seed21.db", dir);
    synth_opts_default(&so);
    so.minutes = 8;
    so.seed = 21;
    assert_int_equal(synth_write(&so, path, NULL, err, sizeof err), MD_OK);
    rpl_opts_default(&o);
    o.capture = path;
    o.mode = RPL_WHATIF;
    snprintf(bars, sizeof bars, "%s/seed21.bars", dir);
    o.bars = fopen(bars, "wb");
    assert_non_null(o.bars);
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_OK);
    fclose(o.bars);
    f = fopen(bars, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f) != NULL) {
        const char *p;
        double v[4];
        static const char *const key[4] = {"\"open\":", "\"high\":",
                                           "\"low\":", "\"close\":"};
        unsigned k;
        if ((p = strstr(line, key[0])) == NULL) {
            continue; /* no prices */
        }
        for (k = 0; k < 4; k++) {
            p = strstr(line, key[k]);
            assert_non_null(p);
            v[k] = strtod(p + strlen(key[k]), NULL);
        }
        if (!(v[2] <= v[0] && v[0] <= v[1] && v[2] <= v[3] && v[3] <= v[1])) {
            fclose(f);
            fail_msg("not a valid OHLC record: %s", line);
        }
        n++;
        cccagg += strstr(line, "\"source\":\"cccagg\"") != NULL;
    }
    fclose(f);
    assert_true(n > 100);
    assert_true(cccagg > 30);
}

/* Subscriptions the server refused are not only a note: the summary
 * counts them (the invalid-sub fixture's capture). */
static void test_replay_rejected_subscriptions_reported(void **state)
{
    static struct rpl_opts o;
    struct rpl_summary s;
    const char *build = getenv("BUILD");
    char path[256], err[512] = "", *text = NULL;
    size_t len = 0;
    FILE *mf;

    (void)state;
    snprintf(path, sizeof path, "%s/fixtures/replay/0008-invalid-sub.db",
             build != NULL ? build : "build");
    rpl_opts_default(&o);
    o.capture = path;
    o.mode = RPL_WHATIF;
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_OK);
    assert_true(s.subs_rejected > 0);
    mf = open_memstream(&text, &len);
    assert_non_null(mf);
    rpl_print_summary(mf, &s);
    fclose(mf);
    assert_non_null(strstr(text, "subscriptions rejected by the server"));
    libc_free(text);
}

/* A socket of many subscriptions takes longer than the subscribe timeout
 * (30 s) to LOADCOMPLETE: 120 pairs, 240 subscriptions completing over
 * about 34 s. The timeout times silence in the progress, so the
 * subscription completes and every frame of the capture is fed. */
static void test_replay_many_subscriptions_complete(void **state)
{
    static struct rpl_opts o;
    static char list[2048];
    struct synth_opts so;
    struct synth_stats st;
    struct rpl_summary s;
    char path[256], err[512] = "";
    size_t n = 0;
    int i;

    (void)state;
    for (i = 0; i < 120; i++) {
        n += (size_t)snprintf(list + n, sizeof list - n, "%sM%03d",
                              i > 0 ? "," : "", i);
    }
    snprintf(path, sizeof path, "%s/many.db", dir);
    synth_opts_default(&so);
    so.minutes = 3;
    assert_int_equal(synth_set_symbols(&so, list, err, sizeof err), MD_OK);
    assert_int_equal(synth_write(&so, path, &st, err, sizeof err), MD_OK);
    rpl_opts_default(&o);
    o.capture = path;
    o.mode = RPL_WHATIF;
    assert_int_equal(rpl_run(&o, &s, err, sizeof err), MD_OK);
    assert_int_equal(s.frames, st.frames_in);
    assert_true(s.bars > 240);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_deterministic_at_any_speed),
        cmocka_unit_test(test_replay_strict_catches_an_altered_input),
        cmocka_unit_test(test_replay_strict_recording_keeps_its_options),
        cmocka_unit_test(test_replay_strict_refuses_another_core),
        cmocka_unit_test(test_replay_abandoned_bars_reported),
        cmocka_unit_test(test_replay_outsized_events),
        cmocka_unit_test(test_replay_publish_failure_path),
        cmocka_unit_test(test_replay_kafka_failure_classes),
        cmocka_unit_test(test_replay_ping_pong),
        cmocka_unit_test(test_replay_rest_miss_takes_fetch_failure),
        cmocka_unit_test(test_replay_forty_symbols),
        cmocka_unit_test(test_replay_configured_pairs_only),
        cmocka_unit_test(test_replay_bars_valid_ohlc),
        cmocka_unit_test(test_replay_many_subscriptions_complete),
        cmocka_unit_test(test_replay_rejected_subscriptions_reported),
        cmocka_unit_test(test_replay_full_tables_reported),
        cmocka_unit_test(test_replay_bad_inputs),
    };
    return cmocka_run_group_tests_name("replay", tests, setup, teardown);
}
