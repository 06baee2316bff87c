/* test_store.c: the capture store (capture/store.c): writer and reader
 * round trip, batching and flush, the bounded queue, sticky writer errors,
 * crash safety under SIGKILL, refusal of corrupt, truncated, foreign and
 * newer files, and redaction of the API key in every form we know.
 * Files live in a mkdtemp directory removed at the end; bounded in time. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cmocka_inc.h"
#include "md_err.h"
#include "store.h"

static char g_dir[256];
static int g_nfile;

#define assert_rc(expr, want)                                              \
    do {                                                                   \
        int rc_ = (expr);                                                  \
        if (rc_ != (want)) {                                               \
            fail_msg("%s: got %s, want %s", #expr, md_errname(rc_),        \
                     md_errname(want));                                    \
        }                                                                  \
    } while (0)

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/test_store.XXXXXX");
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A fresh path in the temp directory. */
static void tmp_path(char *buf, size_t cap, const char *what)
{
    snprintf(buf, cap, "%s/%02d-%s", g_dir, ++g_nfile, what);
}

static void sess_init(struct store_session *s)
{
    memset(s, 0, sizeof *s);
    s->started_mono_ns = 1000;
    s->started_wall_ns = INT64_C(1714564800000000000);
    s->tool = "ccstream 0.1.0";
    s->kind = "capture";
    s->config = "{\"symbols\":[\"BTC-USD\"],\"intervals\":[60]}";
    s->prng_seed = UINT64_C(0xfedcba9876543210);
    s->notes = "test";
}

static struct store_writer *open_w(const char *path,
                                   const struct store_writer_opts *o,
                                   const char *secret)
{
    struct store_session s;
    struct store_writer *w = NULL;
    char err[512];
    int rc;

    sess_init(&s);
    rc = store_writer_open(path, &s, secret, o, &w, err, sizeof err);
    if (rc != MD_OK) {
        fail_msg("store_writer_open(%s): %s: %s", path, md_errname(rc), err);
    }
    return w;
}

static void close_w(struct store_writer *w)
{
    char err[512];
    int rc = store_writer_close(w, err, sizeof err);

    if (rc != MD_OK) {
        fail_msg("store_writer_close: %s: %s", md_errname(rc), err);
    }
}

static struct store_reader *open_r(const char *path)
{
    struct store_reader *r = NULL;
    char err[512];
    int rc = store_reader_open(path, &r, err, sizeof err);

    if (rc != MD_OK) {
        fail_msg("store_reader_open(%s): %s: %s", path, md_errname(rc), err);
    }
    return r;
}

static void ev_set(struct store_event *e, int64_t conn, int kind, int dir,
                   int64_t t, const char *meta, const void *p, size_t n)
{
    memset(e, 0, sizeof *e);
    e->conn_id = conn;
    e->kind = kind;
    e->dir = dir;
    e->mono_ns = t;
    e->wall_ns = INT64_C(1714564800000000000) + t;
    e->meta = meta;
    e->payload = p;
    e->payload_len = n;
}

/* A realistic inbound frame for event i (about 200 bytes). */
static size_t frame(char *b, size_t cap, long i)
{
    return (size_t)snprintf(
        b, cap,
        "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\",\"TSYM\":"
        "\"USD\",\"F\":\"1\",\"ID\":\"%ld\",\"TS\":%ld,\"Q\":0.0%05ld,"
        "\"P\":6%04ld.12,\"TOTAL\":%ld.5,\"RTS\":%ld,\"CCSEQ\":%ld,"
        "\"TSNS\":%ld,\"RTSNS\":%ld}",
        600000000 + i, 1714564800 + i / 100, i % 99991, i % 9973, i % 1000,
        1714564800 + i / 100, 9000000 + i, (i * 7919) % 1000000000,
        (i * 104729) % 1000000000);
}

/* ------------------------------------------------------------------- */

static void test_store_names(void **state)
{
    int k, n = 0;

    (void)state;
    for (k = 0; k < 64; k++) {
        const char *name = store_kind_name(k);
        if (strcmp(name, "?") != 0) {
            assert_int_equal(store_kind_from_name(name), k);
            n++;
        }
    }
    assert_int_equal(n, 18); /* core_out included */
    assert_string_equal(store_kind_name(STORE_K_WS_TEXT), "ws_text");
    assert_string_equal(store_kind_name(STORE_K_INVALID), "?");
    assert_int_equal(store_kind_from_name("nope"), STORE_K_INVALID);
    assert_int_equal(store_kind_from_name(NULL), STORE_K_INVALID);
    assert_string_equal(store_dir_name(STORE_D_IN), "in");
    assert_string_equal(store_dir_name(STORE_D_OUT), "out");
    assert_string_equal(store_dir_name(STORE_D_LOCAL), "local");
    assert_string_equal(store_dir_name(3), "?");
}

/* Everything written comes back, in order, byte for byte; the file has
 * the documented tables, view and meta rows. */
static void test_store_roundtrip(void **state)
{
    static const unsigned char bin[] = {0x00, 0xff, 0x80, 0x00, 0x7f, 0xc3};
    char path[300];
    struct store_writer *w;
    struct store_reader *r;
    struct store_conn c;
    struct store_event e;
    struct store_session s;
    struct store_writer_stats st;
    int64_t ws, rest, cm, code;
    const char *reason;
    sqlite3 *db;
    sqlite3_stmt *q;

    (void)state;
    tmp_path(path, sizeof path, "roundtrip.db");
    w = open_w(path, NULL, NULL);
    memset(&c, 0, sizeof c);
    c.kind = "ws";
    c.url = "wss://streamer.cryptocompare.com/v2";
    c.opened_mono_ns = 10;
    c.opened_wall_ns = 20;
    assert_rc(store_conn_open(w, &c, &ws), MD_OK);
    c.kind = "rest";
    c.url = "https://min-api.cryptocompare.com";
    assert_rc(store_conn_open(w, &c, &rest), MD_OK);
    assert_int_equal(ws, 1);
    assert_int_equal(rest, 2);

    ev_set(&e, ws, STORE_K_WS_CONNECT, STORE_D_OUT, 100, "{\"url\":\"x\"}",
           NULL, 0);
    assert_rc(store_append(w, &e), MD_OK);
    ev_set(&e, ws, STORE_K_WS_TEXT, STORE_D_IN, 200, NULL,
           "{\"TYPE\":\"999\"}", 14);
    assert_rc(store_append(w, &e), MD_OK);
    ev_set(&e, rest, STORE_K_HTTP_RESPONSE, STORE_D_IN, 300,
           "{ \"headers\" : {\"a\":\"b\"} }", bin, sizeof bin);
    e.status = 200;
    assert_rc(store_append(w, &e), MD_OK);
    ev_set(&e, 0, STORE_K_TIMER, STORE_D_LOCAL, 400,
           "{\"timer\":\"bar\",\"deadline\":400}", "", 0);
    assert_rc(store_append(w, &e), MD_OK);
    ev_set(&e, ws, STORE_K_WS_CLOSED, STORE_D_IN, 500, NULL, "gone", 4);
    e.status = 1006;
    assert_rc(store_append(w, &e), MD_OK);
    assert_rc(store_conn_close(w, ws, 500, 600, 1006, NULL), MD_OK);
    assert_rc(store_conn_close(w, ws, 500, 600, 1006, NULL), MD_E_INVAL);
    assert_rc(store_flush(w), MD_OK);
    store_writer_stats(w, &st);
    assert_int_equal(st.events, 5);
    assert_true(st.commits >= 1);
    close_w(w);

    /* closed cleanly: no WAL left behind */
    {
        char wal[320];
        snprintf(wal, sizeof wal, "%s-wal", path);
        assert_int_equal(access(wal, F_OK), -1);
    }

    r = open_r(path);
    assert_rc(store_reader_session(r, 0, &s), MD_OK);
    assert_string_equal(s.tool, "ccstream 0.1.0");
    assert_string_equal(s.kind, "capture");
    assert_string_equal(s.notes, "test");
    assert_string_equal(s.config,
                        "{\"symbols\":[\"BTC-USD\"],\"intervals\":[60]}");
    assert_true(s.prng_seed == UINT64_C(0xfedcba9876543210));
    assert_rc(store_reader_session(r, 1, &s), MD_E_NOTFOUND);
    assert_int_equal(store_conn_count(r), 2);
    assert_int_equal(store_event_count(r), 5);
    assert_rc(store_reader_conn(r, 1, &c, &cm, &code, &reason), MD_OK);
    assert_string_equal(c.kind, "ws");
    assert_int_equal(c.opened_mono_ns, 10);
    assert_int_equal(c.opened_wall_ns, 20);
    assert_int_equal(cm, 500);
    assert_int_equal(code, 1006);
    assert_null(reason);
    assert_true(c.closed);
    assert_int_equal(c.closed_wall_ns, 600);
    assert_rc(store_reader_conn(r, 2, &c, &cm, &code, &reason), MD_OK);
    assert_false(c.closed);
    assert_int_equal(code, -1);
    assert_rc(store_reader_conn(r, 3, &c, NULL, NULL, NULL), MD_E_NOTFOUND);

    assert_rc(store_next(r, &e), MD_OK);
    assert_int_equal(e.seq, 1);
    assert_int_equal(e.conn_seq, 1);
    assert_int_equal(e.kind, STORE_K_WS_CONNECT);
    assert_int_equal(e.dir, STORE_D_OUT);
    assert_string_equal(e.meta, "{\"url\":\"x\"}");
    assert_int_equal(e.payload_len, 0);
    assert_non_null(e.payload);
    assert_rc(store_next(r, &e), MD_OK);
    assert_int_equal(e.seq, 2);
    assert_int_equal(e.conn_seq, 2);
    assert_null(e.meta);
    assert_int_equal(e.payload_len, 14);
    assert_memory_equal(e.payload, "{\"TYPE\":\"999\"}", 14);
    assert_int_equal(e.mono_ns, 200);
    assert_int_equal(e.wall_ns, INT64_C(1714564800000000200));
    assert_rc(store_next(r, &e), MD_OK);
    assert_int_equal(e.conn_id, 2);
    assert_int_equal(e.conn_seq, 1);
    assert_int_equal(e.status, 200);
    assert_int_equal(e.payload_len, sizeof bin);
    assert_memory_equal(e.payload, bin, sizeof bin);
    assert_string_equal(e.meta, "{ \"headers\" : {\"a\":\"b\"} }");
    assert_rc(store_next(r, &e), MD_OK);
    assert_int_equal(e.conn_id, 0);
    assert_int_equal(e.conn_seq, 1);
    assert_int_equal(e.dir, STORE_D_LOCAL);
    assert_rc(store_next(r, &e), MD_OK);
    assert_int_equal(e.seq, 5);
    assert_int_equal(e.conn_seq, 3);
    assert_int_equal(e.status, 1006);
    assert_rc(store_next(r, &e), MD_E_NOTFOUND);
    assert_rc(store_rewind(r), MD_OK);
    assert_rc(store_next(r, &e), MD_OK);
    assert_int_equal(e.seq, 1);
    assert_rc(store_reader_check(r, 1), MD_OK);
    store_reader_close(r);
    store_reader_close(NULL);
    /* a finished capture is one file, and reading it leaves no other */
    {
        char side[320];
        snprintf(side, sizeof side, "%s-wal", path);
        assert_int_equal(access(side, F_OK), -1);
        snprintf(side, sizeof side, "%s-shm", path);
        assert_int_equal(access(side, F_OK), -1);
    }

    /* The file itself, through plain SQL as a person would read it. */
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT (SELECT value FROM meta WHERE"
                                        " key='format'), (SELECT value FROM "
                                        "meta WHERE key='schema_version'),"
                                        " (SELECT count(*) FROM kinds),"
                                        " (SELECT kind FROM events_named "
                                        "WHERE seq=2),"
                                        " (SELECT json_extract(payload,"
                                        " '$.TYPE') FROM events WHERE seq=2)",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0),
                        "ccstream-capture");
    assert_int_equal(strtol((const char *)sqlite3_column_text(q, 1), NULL,
                            10),
                     STORE_SCHEMA_VERSION);
    assert_int_equal(sqlite3_column_int(q, 2), 18);
    assert_string_equal((const char *)sqlite3_column_text(q, 3), "ws_text");
    assert_string_equal((const char *)sqlite3_column_text(q, 4), "999");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

static void test_store_invalid_args(void **state)
{
    char path[300], err[512];
    struct store_writer *w;
    struct store_session s;
    struct store_event e;
    struct store_conn c;
    int64_t id;

    (void)state;
    tmp_path(path, sizeof path, "invalid.db");
    w = open_w(path, NULL, NULL);
    ev_set(&e, 0, 99, STORE_D_IN, 1, NULL, "x", 1);
    assert_rc(store_append(w, &e), MD_E_INVAL);
    ev_set(&e, 0, STORE_K_WS_TEXT, 7, 1, NULL, "x", 1);
    assert_rc(store_append(w, &e), MD_E_INVAL);
    ev_set(&e, 3, STORE_K_WS_TEXT, STORE_D_IN, 1, NULL, "x", 1);
    assert_rc(store_append(w, &e), MD_E_INVAL);
    ev_set(&e, 0, STORE_K_WS_TEXT, STORE_D_IN, 1, "[1]", "x", 1);
    assert_rc(store_append(w, &e), MD_E_INVAL);
    ev_set(&e, 0, STORE_K_WS_TEXT, STORE_D_IN, 1, "{\"a\":", "x", 1);
    assert_rc(store_append(w, &e), MD_E_INVAL);
    ev_set(&e, 0, STORE_K_WS_TEXT, STORE_D_IN, 1, "{\"a\":\"\xff\"}", "x",
           1);
    assert_rc(store_append(w, &e), MD_E_INVAL);
    ev_set(&e, 0, STORE_K_WS_TEXT, STORE_D_IN, 1, NULL, NULL, 3);
    assert_rc(store_append(w, &e), MD_E_INVAL);
    assert_rc(store_conn_close(w, 1, 0, 0, 0, NULL), MD_E_INVAL);
    memset(&c, 0, sizeof c);
    c.kind = "ws";
    assert_rc(store_conn_open(w, &c, &id), MD_E_INVAL); /* url NULL */
    /* text columns are kept valid UTF-8: bad bytes become '?' */
    c.kind = "ws";
    c.url = "wss://x/\xff" "a\xc3" "b\xe2\x82\xac";
    assert_rc(store_conn_open(w, &c, &id), MD_OK);
    assert_rc(store_conn_close(w, id, 1, 2, 1002, "bad \xc3"), MD_OK);
    /* a valid one still works and gets seq 1 */
    ev_set(&e, 0, STORE_K_SIGNAL, STORE_D_LOCAL, 1, NULL, NULL, 0);
    e.status = 15;
    assert_rc(store_append(w, &e), MD_OK);
    close_w(w);
    {
        struct store_reader *r = open_r(path);
        struct store_conn cn;
        assert_rc(store_reader_conn(r, 1, &cn, NULL, NULL, NULL), MD_OK);
        assert_string_equal(cn.url, "wss://x/?a?b\xe2\x82\xac");
        assert_string_equal(cn.close_reason, "bad ?");
        assert_rc(store_next(r, &e), MD_OK);
        assert_int_equal(e.seq, 1);
        assert_int_equal(e.status, 15);
        assert_rc(store_next(r, &e), MD_E_NOTFOUND);
        store_reader_close(r);
    }

    /* never clobbers an existing file */
    sess_init(&s);
    assert_rc(store_writer_open(path, &s, NULL, NULL, &w, err, sizeof err),
              MD_E_INVAL);
    assert_null(w);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "exists"));
    /* a session without a tool, or config that is not JSON */
    tmp_path(path, sizeof path, "invalid2.db");
    s.tool = NULL;
    assert_rc(store_writer_open(path, &s, NULL, NULL, &w, err, sizeof err),
              MD_E_INVAL);
    sess_init(&s);
    s.config = "{not json";
    assert_rc(store_writer_open(path, &s, NULL, NULL, &w, err, sizeof err),
              MD_E_INVAL);
    assert_non_null(strstr(err, "config"));
    assert_int_equal(access(path, F_OK), -1); /* removed again */
    sess_init(&s);
    assert_rc(store_writer_open(path, &s, "short", NULL, &w, err, sizeof err),
              MD_E_INVAL);
    assert_non_null(strstr(err, "secret"));
    assert_int_equal(access(path, F_OK), -1);
    assert_rc(store_writer_close(NULL, err, sizeof err), MD_OK);
}

/* ---- batching ---- */

static pthread_mutex_t g_cmu = PTHREAD_MUTEX_INITIALIZER;
static int64_t g_commits[64];
static int g_ncommits;

static void on_commit(void *arg, int64_t last_seq)
{
    (void)arg;
    pthread_mutex_lock(&g_cmu);
    if (g_ncommits < 64) {
        g_commits[g_ncommits] = last_seq;
    }
    g_ncommits++;
    pthread_mutex_unlock(&g_cmu);
}

static int ncommits(void)
{
    int n;

    pthread_mutex_lock(&g_cmu);
    n = g_ncommits;
    pthread_mutex_unlock(&g_cmu);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Wait (bounded) until at least n commits were reported. */
static int wait_commits(int n, long max_ms)
{
    long t;

    for (t = 0; t < max_ms && ncommits() < n; t += 2) {
        sleep_ms(2);
    }
    return ncommits();
}

static int64_t rows_now(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    int64_t n = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &q, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW) {
            n = sqlite3_column_int64(q, 0);
        }
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return n;
}

/* Commits come every batch_events rows, each row's seq reported, and a
 * flush commits the remainder; committed rows are visible to a reader
 * on the side while the writer runs. */
static void test_store_batch_by_count(void **state)
{
    struct store_writer_opts o;
    struct store_writer *w;
    struct store_event e;
    char path[300], buf[256];
    int i;

    (void)state;
    g_ncommits = 0;
    tmp_path(path, sizeof path, "batch.db");
    store_writer_opts_default(&o);
    o.batch_events = 10;
    o.batch_ms = 60000;
    o.on_commit = on_commit;
    w = open_w(path, &o, NULL);
    for (i = 0; i < 35; i++) {
        size_t n = frame(buf, sizeof buf, i);
        ev_set(&e, 0, STORE_K_WS_TEXT, STORE_D_IN, i, NULL, buf, n);
        assert_rc(store_append(w, &e), MD_OK);
    }
    assert_int_equal(wait_commits(3, 3000), 3);
    sleep_ms(20);
    assert_int_equal(ncommits(), 3); /* the 5 left wait for time or flush */
    assert_int_equal(g_commits[0], 10);
    assert_int_equal(g_commits[1], 20);
    assert_int_equal(g_commits[2], 30);
    assert_int_equal(rows_now(path), 30);
    assert_rc(store_flush(w), MD_OK);
    assert_int_equal(ncommits(), 4);
    assert_int_equal(g_commits[3], 35);
    assert_int_equal(rows_now(path), 35);
    assert_rc(store_flush(w), MD_OK); /* nothing new: no commit */
    assert_int_equal(ncommits(), 4);
    close_w(w);
}

/* With few events, the batch timer commits on its own. */
static void test_store_batch_by_time(void **state)
{
    struct store_writer_opts o;
    struct store_writer *w;
    struct store_event e;
    struct timespec t0, t1;
    char path[300];
    long ms;

    (void)state;
    g_ncommits = 0;
    tmp_path(path, sizeof path, "timer.db");
    store_writer_opts_default(&o);
    o.batch_events = 1000000;
    o.batch_ms = 30;
    o.on_commit = on_commit;
    w = open_w(path, &o, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ev_set(&e, 0, STORE_K_OPERATOR, STORE_D_LOCAL, 1, NULL, "start", 5);
    assert_rc(store_append(w, &e), MD_OK);
    assert_int_equal(wait_commits(1, 3000), 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    assert_true(ms >= 25);  /* not before the batch time */
    assert_true(ms < 2000); /* and not much after it */
    assert_int_equal(g_commits[0], 1);
    assert_int_equal(rows_now(path), 1);
    close_w(w);
}

/* A tiny queue: append blocks (counted as stalls) but loses nothing; an
 * event bigger than the whole queue still goes through. */
static void test_store_queue_bound(void **state)
{
    struct store_writer_opts o;
    struct store_writer *w;
    struct store_writer_stats st;
    struct store_reader *r;
    struct store_event e;
    char path[300], buf[256];
    char *big;
    int i;

    (void)state;
    tmp_path(path, sizeof path, "queue.db");
    store_writer_opts_default(&o);
    o.queue_bytes = 4096;
    o.batch_events = 100;
    w = open_w(path, &o, NULL);
    for (i = 0; i < 3000; i++) {
        size_t n = frame(buf, sizeof buf, i);
        ev_set(&e, 0, STORE_K_WS_TEXT, STORE_D_IN, i, NULL, buf, n);
        assert_rc(store_append(w, &e), MD_OK);
    }
    big = malloc(100000);
    assert_non_null(big);
    memset(big, 'x', 100000);
    ev_set(&e, 0, STORE_K_WS_TEXT, STORE_D_IN, i, NULL, big, 100000);
    assert_rc(store_append(w, &e), MD_OK);
    free(big);
    store_writer_stats(w, &st);
    assert_int_equal(st.events, 3001);
    assert_true(st.stalls > 0);
    close_w(w);
    r = open_r(path);
    assert_int_equal(store_event_count(r), 3001);
    for (i = 0; i < 3000; i++) {
        size_t n = frame(buf, sizeof buf, i);
        assert_rc(store_next(r, &e), MD_OK);
        assert_int_equal(e.seq, i + 1);
        assert_int_equal(e.payload_len, n);
        assert_memory_equal(e.payload, buf, n);
    }
    assert_rc(store_next(r, &e), MD_OK);
    assert_int_equal(e.payload_len, 100000);
    store_reader_close(r);
}

/* A failure on the writer's thread is sticky: append, flush and close all
 * report it, with a message naming the file. Another connection holding
 * SQLite's write lock makes the writer's INSERT fail with SQLITE_BUSY. */
static void test_store_sticky_error(void **state)
{
    struct store_writer *w;
    struct store_event e;
    sqlite3 *db;
    char path[300], err[512];
    int i, rc = MD_OK;

    (void)state;
    tmp_path(path, sizeof path, "sticky.db");
    w = open_w(path, NULL, NULL);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
    ev_set(&e, 0, STORE_K_OPERATOR, STORE_D_LOCAL, 1, NULL, "x", 1);
    assert_rc(store_append(w, &e), MD_OK);
    assert_rc(store_flush(w), MD_E_IO);
    assert_non_null(strstr(store_writer_errmsg(w), path));
    for (i = 0; i < 10 && rc == MD_OK; i++) {
        rc = store_append(w, &e);
    }
    assert_rc(rc, MD_E_IO);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_rc(store_writer_close(w, err, sizeof err), MD_E_IO);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "locked"));
}

/* ---- crash safety ---- */

static void report_commit(void *arg, int64_t last_seq)
{
    int fd = *(int *)arg;
    ssize_t n = write(fd, &last_seq, sizeof last_seq);

    (void)n;
}

/* The child: write events as fast as it can, report every commit. */
static void crash_child(const char *path, int fd)
{
    struct store_writer_opts o;
    struct store_session s;
    struct store_writer *w = NULL;
    struct store_event e;
    struct store_conn c;
    char buf[256], err[256];
    int64_t id;
    long i;

    store_writer_opts_default(&o);
    o.batch_events = 400;
    o.batch_ms = 5;
    o.on_commit = report_commit;
    o.on_commit_arg = &fd;
    sess_init(&s);
    if (store_writer_open(path, &s, NULL, &o, &w, err, sizeof err) != MD_OK) {
        _exit(3);
    }
    memset(&c, 0, sizeof c);
    c.kind = "ws";
    c.url = "wss://x";
    if (store_conn_open(w, &c, &id) != MD_OK) {
        _exit(4);
    }
    report_commit(&fd, 0); /* "open": the parent starts its clock */
    for (i = 1;; i++) {
        size_t n = frame(buf, sizeof buf, i);
        ev_set(&e, id, STORE_K_WS_TEXT, STORE_D_IN, i, NULL, buf, n);
        if (store_append(w, &e) != MD_OK) {
            _exit(5);
        }
    }
}

/* Read one report (bounded wait); 1, 0 at EOF/timeout. */
static int read_report(int fd, int64_t *v, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    size_t got = 0;

    while (got < sizeof *v) {
        ssize_t n;
        if (poll(&p, 1, timeout_ms) <= 0) {
            return 0;
        }
        n = read(fd, (char *)v + got, sizeof *v - got);
        if (n <= 0) {
            return 0;
        }
        got += (size_t)n;
    }
    return 1;
}

/* kill_after: SIGKILL after that many commit reports; or, when < 0, after
 * -kill_after milliseconds whatever was reported. */
static void crash_once(int kill_after)
{
    struct store_reader *r;
    struct store_event e;
    char path[300], buf[256];
    int fds[2], status, n = 0;
    int64_t v, last = 0, i;
    pid_t pid;

    tmp_path(path, sizeof path, "crash.db");
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        crash_child(path, fds[1]);
        _exit(6);
    }
    close(fds[1]);
    if (!read_report(fds[0], &v, 5000) || v != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        close(fds[0]);
        fail_msg("the child did not open its writer");
    }
    if (kill_after < 0) {
        sleep_ms(-kill_after);
    } else {
        while (n < kill_after && read_report(fds[0], &v, 5000)) {
            last = v;
            n++;
        }
    }
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    if (kill_after >= 0 && n < kill_after) {
        close(fds[0]);
        fail_msg("the writer reported %d commits before the timeout", n);
    }
    /* Reports already in the pipe are commits too. */
    while (read_report(fds[0], &v, 0)) {
        last = v > last ? v : last;
    }
    close(fds[0]);

    r = open_r(path); /* recovers the WAL the dead writer left */
    /* never closed: marked as still being written, so incomplete */
    assert_int_equal(store_reader_state(r), STORE_STATE_WRITING);
    assert_string_equal(store_state_name(store_reader_state(r)),
                        "incomplete");
    assert_rc(store_reader_check(r, 1), MD_OK);
    assert_true(store_event_count(r) >= last);
    for (i = 1; i <= last; i++) {
        size_t len = frame(buf, sizeof buf, (long)i);
        int rc = store_next(r, &e);
        if (rc != MD_OK || e.seq != i || e.conn_seq != i ||
            e.payload_len != len || memcmp(e.payload, buf, len) != 0) {
            fail_msg("kill after %d: event %" PRId64 " of %" PRId64
                     " committed is missing or wrong (%s)",
                     kill_after, i, last, md_errname(rc));
        }
    }
    /* whatever else survived is whole and in order too */
    while (store_next(r, &e) == MD_OK) {
        size_t len = frame(buf, sizeof buf, (long)e.seq);
        assert_int_equal(e.payload_len, len);
        assert_memory_equal(e.payload, buf, len);
    }
    print_message("kill %s %d%s: %" PRId64 " events reported committed, "
                  "%" PRId64 " on file\n",
                  kill_after < 0 ? "at" : "after",
                  kill_after < 0 ? -kill_after : kill_after,
                  kill_after < 0 ? " ms" : " commits", last,
                  store_event_count(r));
    store_reader_close(r);
}

static void test_store_sigkill(void **state)
{
    (void)state;
    crash_once(1);
    crash_once(4);
    crash_once(15);
    crash_once(40);
    crash_once(-3);  /* likely before the first commit */
    crash_once(-77); /* at an arbitrary point */
}

/* ---- corrupt and foreign files ---- */

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static void make_capture(const char *path, int nev)
{
    struct store_writer *w = open_w(path, NULL, NULL);
    struct store_event e;
    char buf[256];
    int i;

    for (i = 0; i < nev; i++) {
        size_t n = frame(buf, sizeof buf, i);
        ev_set(&e, 0, STORE_K_WS_TEXT, STORE_D_IN, i, NULL, buf, n);
        assert_rc(store_append(w, &e), MD_OK);
    }
    close_w(w);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[700];

    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

/* Run sql on the SQLite file at path (creating it if need be). */
static void run_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    char *msg = NULL;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fail_msg("%s: %s: %s", path, sql, msg != NULL ? msg : "?");
    }
    sqlite3_close(db);
}

/* store_reader_open refuses path with want and a message containing
 * both the path and `words`. */
static void expect_refused(const char *path, int want, const char *words)
{
    struct store_reader *r = (struct store_reader *)1;
    char err[512] = "";
    int rc = store_reader_open(path, &r, err, sizeof err);

    if (rc != want) {
        fail_msg("%s: got %s (%s), want %s", path, md_errname(rc), err,
                 md_errname(want));
    }
    assert_null(r);
    if (strstr(err, path) == NULL || strstr(err, words) == NULL) {
        fail_msg("message \"%s\" lacks \"%s\" or the path", err, words);
    }
}

/* Open succeeds or fails with MD_E_CORRUPT; if it succeeds, reading it all
 * (or the integrity check) must report MD_E_CORRUPT naming the file. */
static void expect_damage_found(const char *path)
{
    struct store_reader *r = NULL;
    struct store_event e;
    char err[512];
    int rc = store_reader_open(path, &r, err, sizeof err);

    if (rc != MD_OK) {
        assert_rc(rc, MD_E_CORRUPT);
        assert_non_null(strstr(err, path));
        return;
    }
    while ((rc = store_next(r, &e)) == MD_OK) {
    }
    if (rc == MD_E_NOTFOUND) {
        rc = store_reader_check(r, 1);
    }
    assert_rc(rc, MD_E_CORRUPT);
    assert_non_null(strstr(store_reader_errmsg(r), path));
    store_reader_close(r);
}

static void overwrite(const char *path, long off, size_t n, int byte)
{
    unsigned char junk[8192];
    int fd = open(path, O_WRONLY);

    assert_true(fd >= 0 && n <= sizeof junk);
    memset(junk, byte, n);
    assert_int_equal(pwrite(fd, junk, n, off), (ssize_t)n);
    close(fd);
}

/* store_reader_only: the kinds asked for, in seq order, whatever the order
 * or form of the list; a contiguous range (the HTTP kinds) is read through
 * the events_http index, and a capture without that index (written before
 * it existed) gives the same answer by a scan. */
static const int only_kinds[] = {
    STORE_K_WS_TEXT,  STORE_K_HTTP_REQUEST, STORE_K_WS_TEXT,
    STORE_K_HTTP_RESPONSE, STORE_K_WS_TEXT, STORE_K_TIMER,
    STORE_K_HTTP_REQUEST, STORE_K_HTTP_ERROR, STORE_K_WS_TEXT,
    STORE_K_WS_CLOSED, STORE_K_HTTP_REQUEST, STORE_K_HTTP_RESPONSE,
};
#define N_ONLY (sizeof only_kinds / sizeof only_kinds[0])

static void expect_only(const char *path, const int *want, size_t n)
{
    struct store_reader *r = open_r(path);
    struct store_event ev;
    size_t i, got = 0;
    int rc;

    assert_rc(store_reader_only(r, want, n), MD_OK);
    for (i = 0; i < N_ONLY; i++) {
        size_t k;
        int hit = 0;
        for (k = 0; k < n; k++) {
            hit |= only_kinds[i] == want[k];
        }
        if (!hit) {
            continue;
        }
        assert_rc(store_next(r, &ev), MD_OK);
        assert_int_equal(ev.seq, (int64_t)i + 1);
        assert_int_equal(ev.kind, only_kinds[i]);
        assert_int_equal(ev.mono_ns, 1000 * (int64_t)(i + 1));
        got++;
    }
    rc = store_next(r, &ev);
    if (rc != MD_E_NOTFOUND) {
        fail_msg("%zu events of the %zu kinds, then %s (seq %" PRId64 ")",
                 got, n, md_errname(rc), ev.seq);
    }
    store_reader_close(r);
}

static int plan_uses(const char *path, const char *sql, const char *index)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char q[512];
    int found = 0;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        found |= d != NULL && strstr(d, index) != NULL;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}

static void test_store_reader_only(void **state)
{
    static const int http[] = {STORE_K_HTTP_REQUEST, STORE_K_HTTP_RESPONSE,
                               STORE_K_HTTP_ERROR};
    static const int http_shuffled[] = {STORE_K_HTTP_ERROR,
                                        STORE_K_HTTP_REQUEST,
                                        STORE_K_HTTP_RESPONSE};
    static const int mixed[] = {STORE_K_WS_CLOSED, STORE_K_HTTP_RESPONSE};
    static const int dup[] = {STORE_K_HTTP_REQUEST, STORE_K_HTTP_REQUEST,
                              STORE_K_HTTP_ERROR};
    static const int one[] = {STORE_K_TIMER};
    char path[300], old[300];
    struct store_writer *w;
    struct store_event e;
    size_t i;

    (void)state;
    tmp_path(path, sizeof path, "only.db");
    w = open_w(path, NULL, NULL);
    for (i = 0; i < N_ONLY; i++) {
        char body[64];
        int n = snprintf(body, sizeof body, "event %zu", i + 1);
        ev_set(&e, 0, only_kinds[i], STORE_D_IN, 1000 * (int64_t)(i + 1),
               NULL, body, (size_t)n);
        assert_rc(store_append(w, &e), MD_OK);
    }
    close_w(w);

    assert_true(plan_uses(path,
                          "SELECT seq FROM events WHERE kind BETWEEN 20 AND "
                          "22 ORDER BY seq",
                          "events_http"));
    expect_only(path, http, 3);
    expect_only(path, http_shuffled, 3);
    expect_only(path, mixed, 2);
    expect_only(path, dup, 3);
    expect_only(path, one, 1);

    /* a capture from before the index: same answers */
    tmp_path(old, sizeof old, "only-old.db");
    copy_file(path, old);
    run_sql(old, "DROP INDEX events_http");
    assert_false(plan_uses(old,
                           "SELECT seq FROM events WHERE kind BETWEEN 20 AND "
                           "22 ORDER BY seq",
                           "events_http"));
    expect_only(old, http, 3);
    expect_only(old, http_shuffled, 3);
    expect_only(old, mixed, 2);
}

static void test_store_refuses_bad_files(void **state)
{
    char good[300], p[300], cmd[800];
    struct stat sb;

    (void)state;
    tmp_path(good, sizeof good, "good.db");
    make_capture(good, 3000);
    assert_int_equal(stat(good, &sb), 0);
    assert_true(sb.st_size > 100 * 4096);

    tmp_path(p, sizeof p, "missing.db");
    expect_refused(p, MD_E_NOTFOUND, "No such file");

    tmp_path(p, sizeof p, "empty.db");
    write_file(p, "", 0);
    expect_refused(p, MD_E_CORRUPT, "empty");

    tmp_path(p, sizeof p, "text.db");
    write_file(p, "hello, I am a text file\n", 24);
    expect_refused(p, MD_E_CORRUPT, "not an SQLite database");

    tmp_path(p, sizeof p, "dir.db");
    assert_int_equal(mkdir(p, 0755), 0);
    expect_refused(p, MD_E_CORRUPT, "not a regular file");

    tmp_path(p, sizeof p, "plain-sqlite.db");
    run_sql(p, "CREATE TABLE t(x); INSERT INTO t VALUES(1)");
    expect_refused(p, MD_E_CORRUPT, "not a ccstream capture");

    /* our application_id but no meta table */
    tmp_path(p, sizeof p, "appid-only.db");
    run_sql(p, "PRAGMA application_id=1667462004;CREATE TABLE t(x)");
    expect_refused(p, MD_E_CORRUPT, "not a ccstream capture");

    /* a capture with another format name */
    tmp_path(p, sizeof p, "other-format.db");
    copy_file(good, p);
    run_sql(p, "UPDATE meta SET value='x' WHERE key='format'");
    expect_refused(p, MD_E_CORRUPT, "not a ccstream capture");

    tmp_path(p, sizeof p, "newer.db");
    copy_file(good, p);
    run_sql(p, "UPDATE meta SET value='3' WHERE key='schema_version'");
    expect_refused(p, MD_E_VERSION, "newer");

    /* schema 1 (no sessions.core_version) still reads: no core named */
    tmp_path(p, sizeof p, "schema1.db");
    copy_file(good, p);
    run_sql(p, "ALTER TABLE sessions DROP COLUMN core_version; "
               "UPDATE meta SET value='1' WHERE key='schema_version'");
    {
        struct store_reader *rd = NULL;
        struct store_session ss;
        char e[512];
        assert_int_equal(store_reader_open(p, &rd, e, sizeof e), MD_OK);
        assert_int_equal(store_reader_session(rd, 0, &ss), MD_OK);
        assert_int_equal(ss.core_version, 0);
        assert_int_equal(store_reader_schema(rd), 1); /* the file's */
        store_reader_close(rd);
    }

    tmp_path(p, sizeof p, "version-junk.db");
    copy_file(good, p);
    run_sql(p, "UPDATE meta SET value='one' WHERE key='schema_version'");
    expect_refused(p, MD_E_CORRUPT, "schema_version");

    tmp_path(p, sizeof p, "half.db");
    copy_file(good, p);
    assert_int_equal(truncate(p, sb.st_size / 2 / 4096 * 4096), 0);
    expect_refused(p, MD_E_CORRUPT, "truncated");

    tmp_path(p, sizeof p, "ragged.db");
    copy_file(good, p);
    assert_int_equal(truncate(p, sb.st_size - 1000), 0);
    expect_refused(p, MD_E_CORRUPT, "truncated");

    tmp_path(p, sizeof p, "stub.db");
    copy_file(good, p);
    assert_int_equal(truncate(p, 50), 0);
    expect_refused(p, MD_E_CORRUPT, "truncated");

    /* the schema (rest of page 1) overwritten */
    tmp_path(p, sizeof p, "page1.db");
    copy_file(good, p);
    overwrite(p, 100, 3996, 0xa5);
    expect_refused(p, MD_E_CORRUPT, "damaged");

    /* the page size field */
    tmp_path(p, sizeof p, "pagesize.db");
    copy_file(good, p);
    overwrite(p, 16, 2, 0x03);
    expect_refused(p, MD_E_CORRUPT, "damaged");

    /* pages in the middle of the events table */
    tmp_path(p, sizeof p, "middle.db");
    copy_file(good, p);
    overwrite(p, (long)(sb.st_size / 2 / 4096 * 4096), 8192, 0xa5);
    expect_damage_found(p);

    tmp_path(p, sizeof p, "zeroed.db");
    copy_file(good, p);
    overwrite(p, (long)(sb.st_size / 3 / 4096 * 4096), 4096, 0x00);
    expect_damage_found(p);

    /* the last page (the right edge the reader reads first) */
    tmp_path(p, sizeof p, "lastpage.db");
    copy_file(good, p);
    overwrite(p, (long)(sb.st_size - 4096), 4096, 0x5a);
    expect_damage_found(p);

    /* a row deleted by hand: the gap in seq is reported */
    tmp_path(p, sizeof p, "gap.db");
    copy_file(good, p);
    run_sql(p, "DELETE FROM events WHERE seq=100");
    expect_damage_found(p);

    /* and the original is still fine */
    {
        struct store_reader *r = open_r(good);
        struct store_event e;
        int n = 0;
        while (store_next(r, &e) == MD_OK) {
            n++;
        }
        assert_int_equal(n, 3000);
        assert_rc(store_reader_check(r, 0), MD_OK);
        store_reader_close(r);
    }
    (void)cmd;
}

/* ---- redaction ---- */

/* Percent-encoding as a URL library would write it. */
static size_t t_pct(const char *k, char *out, int upper, int form)
{
    const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t o = 0;

    for (; *k; k++) {
        unsigned char c = (unsigned char)*k;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            out[o++] = (char)c;
        } else if (form && c == ' ') {
            out[o++] = '+';
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return o;
}

/* Independent base64 (standard or URL-safe alphabet, padded or not). */
static size_t t_b64(const unsigned char *s, size_t n, char *out, int url,
                    int pad)
{
    static const char std[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char urls[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *a = url ? urls : std;
    size_t i, o = 0;
    unsigned long acc = 0;
    int bits = 0;

    for (i = 0; i < n; i++) {
        acc = acc << 8 | s[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = a[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out[o++] = a[(acc << (6 - bits)) & 63];
    }
    while (pad && o % 4 != 0) {
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b;
    long len;

    *n = 0;
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)len + 1);
    assert_non_null(b);
    *n = fread(b, 1, (size_t)len, f);
    fclose(f);
    return b;
}

/* No form of the key anywhere in path (if it exists). Returns the number
 * of bytes scanned. */
static size_t scan_file(const char *path, char forms[][256], int nforms)
{
    size_t n, i;
    unsigned char *b = slurp(path, &n);
    int k;

    if (b == NULL) {
        return 0;
    }
    for (k = 0; k < nforms; k++) {
        size_t fl = strlen(forms[k]);
        for (i = 0; fl > 0 && i + fl <= n; i++) {
            if (b[i] == (unsigned char)forms[k][0] &&
                memcmp(b + i, forms[k], fl) == 0) {
                free(b);
                fail_msg("%s holds the key as \"%s\" at byte %zu", path,
                         forms[k], i);
            }
        }
    }
    free(b);
    return n;
}

static void redaction_case(const char *key)
{
    char forms[16][256];
    int nf = 0, shift;
    char path[300], wal[320];
    char url[512], meta[2048], pl[2048], tmp[512], b64[512], notes[512];
    unsigned char pre[300];
    struct store_writer_opts o;
    struct store_session s;
    struct store_writer *w = NULL;
    struct store_reader *r;
    struct store_event e;
    struct store_conn c;
    int64_t id;
    size_t kl = strlen(key), n;
    char err[256];

    snprintf(forms[nf++], 256, "%s", key);
    t_pct(key, forms[nf++], 1, 0);
    t_pct(key, forms[nf++], 0, 0);
    t_pct(key, forms[nf++], 1, 1);
    t_b64((const unsigned char *)key, kl, forms[nf++], 0, 1);
    t_b64((const unsigned char *)key, kl, forms[nf++], 1, 0);
    /* the key's base64 inside a longer encoded text, shifted by 1 and 2:
     * the characters that depend on the key alone */
    for (shift = 1; shift <= 2; shift++) {
        size_t first = (size_t)(8 * shift + 5) / 6;
        size_t last = (8 * (shift + kl) - 6) / 6 + 1;
        memset(pre, 'u', (size_t)shift);
        memcpy(pre + shift, key, kl);
        t_b64(pre, (size_t)shift + kl, tmp, 0, 0);
        snprintf(forms[nf++], 256, "%.*s", (int)(last - first), tmp + first);
    }

    tmp_path(path, sizeof path, "redact.db");
    snprintf(wal, sizeof wal, "%s-wal", path);
    store_writer_opts_default(&o);
    sess_init(&s);
    snprintf(tmp, sizeof tmp, "{\"api_key\":\"%s\",\"n\":1}", key);
    s.config = tmp;
    snprintf(notes, sizeof notes, "started with key %s", key);
    s.notes = notes;
    assert_rc(store_writer_open(path, &s, key, &o, &w, err, sizeof err),
              MD_OK);
    memset(&c, 0, sizeof c);
    c.kind = "ws";
    snprintf(url, sizeof url,
             "wss://streamer.cryptocompare.com/v2?api_key=%s&x=1",
             forms[1]);
    c.url = url;
    assert_rc(store_conn_open(w, &c, &id), MD_OK);

    /* meta: headers with the key plain, "Apikey KEY", Basic auth of
     * user:KEY (base64 at shift 2), a lower-case URL-encoded URL */
    pre[0] = 'u';
    memcpy(pre, "user:", 5);
    memcpy(pre + 5, key, kl);
    t_b64(pre, 5 + kl, b64, 0, 1);
    snprintf(meta, sizeof meta,
             "{\"method\":\"GET\",\"url\":\"https://min-api.cryptocompare"
             ".com/data/price?fsym=BTC&api_key=%s\",\"headers\":{"
             "\"authorization\":\"Apikey %s\",\"x-basic\":\"Basic %s\","
             "\"x-form\":\"%s\",\"x-b64\":\"%s\"}}",
             forms[2], key, b64, forms[3], forms[4]);
    ev_set(&e, id, STORE_K_HTTP_REQUEST, STORE_D_OUT, 1, meta, "", 0);
    assert_rc(store_append(w, &e), MD_OK);

    /* payload: plain, base64 at shift 1 inside other base64, URL-safe */
    pre[0] = 'Q';
    memcpy(pre + 1, key, kl);
    t_b64(pre, 1 + kl, b64, 0, 1);
    n = (size_t)snprintf(pl, sizeof pl, "key=%s;b64=%s;url=%s;end", key,
                         b64, forms[5]);
    ev_set(&e, id, STORE_K_WS_TEXT, STORE_D_OUT, 2, NULL, pl, n);
    assert_rc(store_append(w, &e), MD_OK);

    /* binary payload holding the key between NUL and 0xff bytes */
    memset(pl, 0, 16);
    memcpy(pl + 16, key, kl);
    memset(pl + 16 + kl, 0xff, 16);
    ev_set(&e, id, STORE_K_WS_BINARY, STORE_D_IN, 3, NULL, pl, kl + 32);
    assert_rc(store_append(w, &e), MD_OK);

    /* the key twice in a row, and a non-secret neighbour */
    n = (size_t)snprintf(pl, sizeof pl, "%s%s keep-me", key, key);
    ev_set(&e, id, STORE_K_WS_TEXT, STORE_D_IN, 4, NULL, pl, n);
    assert_rc(store_append(w, &e), MD_OK);
    snprintf(tmp, sizeof tmp, "closing %s", forms[1]);
    assert_rc(store_conn_close(w, id, 5, 5, 1000, tmp), MD_OK);
    assert_rc(store_flush(w), MD_OK);

    /* while open: the main file and its WAL */
    assert_true(scan_file(wal, forms, nf) > 0);
    scan_file(path, forms, nf);
    close_w(w);
    assert_true(scan_file(path, forms, nf) > 0);

    /* redacted, not dropped: the rest is still there */
    r = open_r(path);
    assert_rc(store_next(r, &e), MD_OK);
    assert_non_null(strstr(e.meta, "api_key=REDACTED"));
    assert_non_null(strstr(e.meta, "Apikey REDACTED"));
    assert_rc(store_next(r, &e), MD_OK);
    assert_rc(store_next(r, &e), MD_OK);
    assert_int_equal(e.payload_len, 16 + 8 + 16);
    assert_rc(store_next(r, &e), MD_OK);
    assert_int_equal(e.payload_len, strlen("REDACTEDREDACTED keep-me"));
    assert_memory_equal(e.payload, "REDACTEDREDACTED keep-me", e.payload_len);
    assert_rc(store_reader_conn(r, id, &c, NULL, NULL, NULL), MD_OK);
    assert_non_null(strstr(c.url, "api_key=REDACTED&x=1"));
    assert_string_equal(c.close_reason, "closing REDACTED");
    store_reader_close(r);
}

static void test_store_redaction(void **state)
{
    (void)state;
    /* a key with characters URL encoding changes */
    redaction_case("k3y+/Secret=Value&more 0123456789abcdef~Z");
    /* a realistic CryptoCompare key: 64 hex digits */
    redaction_case(
        "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0");
}

/* Event times far from the others (mono_ns = INT64_MAX, = the wall clock
 * by mistake, negative) are refused on read, naming the file and the
 * event's seq, before a replay could turn the jump into an unbounded run
 * of timers. Within 7 days of the event before they pass. */
static void test_store_times_checked(void **state)
{
    static const struct {
        int64_t mono;
        const char *words;
    } bad[] = {
        {INT64_MAX, "days after"},
        {INT64_C(1714564800000000000), "days after"},
        {INT64_MIN, "negative"},
        {-1, "negative"},
    };
    char path[512];
    size_t k;

    (void)state;
    for (k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        struct store_writer *w;
        struct store_reader *r;
        struct store_event e;
        int i, rc = MD_OK, n = 0;

        tmp_path(path, sizeof path, "times");
        w = open_w(path, NULL, NULL);
        for (i = 0; i < 5; i++) {
            ev_set(&e, 0, STORE_K_TIMER, STORE_D_LOCAL,
                   1000 + i * INT64_C(1000000000), NULL, NULL, 0);
            if (i == 3) {
                e.mono_ns = bad[k].mono; /* the wall clock stays sane */
            }
            assert_rc(store_append(w, &e), MD_OK);
        }
        close_w(w);
        r = open_r(path);
        while ((rc = store_next(r, &e)) == MD_OK) {
            n++;
        }
        assert_rc(rc, MD_E_CORRUPT);
        assert_int_equal(n, 3); /* the three before it */
        if (strstr(store_reader_errmsg(r), path) == NULL ||
            strstr(store_reader_errmsg(r), "seq 4") == NULL ||
            strstr(store_reader_errmsg(r), bad[k].words) == NULL) {
            fail_msg("message: %s", store_reader_errmsg(r));
        }
        store_reader_close(r);
    }
    /* six days apart, then back: fine */
    {
        struct store_writer *w;
        struct store_reader *r;
        struct store_event e;
        int rc, n = 0;
        tmp_path(path, sizeof path, "times-ok");
        w = open_w(path, NULL, NULL);
        ev_set(&e, 0, STORE_K_TIMER, STORE_D_LOCAL, 1000, NULL, NULL, 0);
        assert_rc(store_append(w, &e), MD_OK);
        ev_set(&e, 0, STORE_K_TIMER, STORE_D_LOCAL,
               1000 + 6 * 86400 * INT64_C(1000000000), NULL, NULL, 0);
        assert_rc(store_append(w, &e), MD_OK);
        ev_set(&e, 0, STORE_K_TIMER, STORE_D_LOCAL, 2000, NULL, NULL, 0);
        assert_rc(store_append(w, &e), MD_OK);
        close_w(w);
        r = open_r(path);
        assert_int_equal(store_reader_state(r), STORE_STATE_COMPLETE);
        while ((rc = store_next(r, &e)) == MD_OK) {
            n++;
        }
        assert_rc(rc, MD_E_NOTFOUND);
        assert_int_equal(n, 3);
        store_reader_close(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_names),
        cmocka_unit_test(test_store_roundtrip),
        cmocka_unit_test(test_store_times_checked),
        cmocka_unit_test(test_store_invalid_args),
        cmocka_unit_test(test_store_batch_by_count),
        cmocka_unit_test(test_store_batch_by_time),
        cmocka_unit_test(test_store_queue_bound),
        cmocka_unit_test(test_store_sticky_error),
        cmocka_unit_test(test_store_sigkill),
        cmocka_unit_test(test_store_reader_only),
        cmocka_unit_test(test_store_refuses_bad_files),
        cmocka_unit_test(test_store_redaction),
    };
    return cmocka_run_group_tests_name("store", tests, group_setup,
                                       group_teardown);
}
