/* store_write.c: the capture store's writer: events, connections and
 * sessions queued (bounded, redacted before queueing, store_redact.c) and
 * written by a background thread in batched transactions (WAL). That
 * thread is the only one that touches its sqlite3 handle after
 * store_writer_open. Format and rationale: docs/capture-format.md. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "md_err.h"
#include "store.h"
#include "store_int.h"

/* Largest payload or meta of one event: SQLite's default length limit
 * (SQLITE_MAX_LENGTH) less room for the redaction marker growing it. */
#define STORE_MAX_BYTES ((size_t)900000000)

static int64_t store__now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

enum {
    STORE_REC_EVENT = 1,
    STORE_REC_CONN_OPEN,
    STORE_REC_CONN_CLOSE,
    STORE_REC_SESSION
};

/* One queued item. Event: a = meta (a_null when none), b = payload.
 * Connection open: a = kind, b = url, t1/t2 = opened times.
 * Session: a = tool NUL kind NUL notes (b_null: no notes), b = config,
 * conn_id = its id, t1/t2 = started times, seq = the PRNG seed's bits,
 * kind = core version (0: none).
 * Connection close: b = reason (b_null when none), t1/t2 = closed times,
 * status = close code. Both strings are stored NUL-terminated. */
struct store_rec {
    struct store_rec *next;
    size_t cost;
    int type, kind, dir, a_null, b_null;
    int64_t seq, conn_id, conn_seq, t1, t2, status;
    size_t a_len, b_len;
    unsigned char data[]; /* a, NUL, b, NUL */
};

/* State shared between the caller and the writer thread; every field is
 * guarded by mu. */
struct store_q {
    pthread_mutex_t mu;
    pthread_cond_t can_take; /* the writer waits for work */
    pthread_cond_t can_put;  /* appenders wait for room */
    pthread_cond_t done;     /* flushers wait for commits */
    struct store_rec *head, *tail;
    size_t bytes, cap, nrec, wake_recs;
    uint64_t enq_n, done_n, commits;
    int waiting; /* writer: 0 busy, 1 idle, 2 batch timer running */
    int flush_req, stop;
    int err;
    char errmsg[512];
};

struct store_writer {
    struct store_q *q;
    sqlite3 *db;
    int end_state; /* what a clean close marks (enum store_state) */
    sqlite3_stmt *st_ins, *st_conn, *st_close, *st_begin, *st_commit;
    pthread_t thr;
    int thr_started;
    struct store_writer_opts o;
    char *path;
    struct store_red red;
    /* caller-thread state */
    int64_t next_seq, nconns;
    int64_t nsess;          /* sessions written (the first at open) */
    int64_t *conn_seq;      /* [0 .. nconns] */
    unsigned char *closed;  /* [0 .. nconns] */
    size_t conn_cap;
    uint64_t events, bytes, stalls;
    struct store_buf ra, rb, rc2, rd2, t1, t2;
};

void store_writer_opts_default(struct store_writer_opts *o)
{
    memset(o, 0, sizeof *o);
    o->batch_events = 10000;
    o->batch_ms = 100;
    o->queue_bytes = (size_t)64 << 20;
}

/* Record the writer thread's first error (sticky) and wake everyone. */
static void store__q_fail(struct store_q *q, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void store__q_fail(struct store_q *q, int rc, const char *fmt, ...)
{
    va_list ap;

    pthread_mutex_lock(&q->mu);
    if (q->err == MD_OK) {
        q->err = rc;
        va_start(ap, fmt);
        vsnprintf(q->errmsg, sizeof q->errmsg, fmt, ap);
        va_end(ap);
    }
    pthread_cond_broadcast(&q->can_put);
    pthread_cond_broadcast(&q->done);
    pthread_mutex_unlock(&q->mu);
}

static int store__q_failed(struct store_q *q)
{
    int rc;

    pthread_mutex_lock(&q->mu);
    rc = q->err;
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static int store__step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int store__insert(struct store_writer *w, const struct store_rec *r)
{
    sqlite3_stmt *st;
    const char *a = (const char *)r->data;
    const char *b = (const char *)r->data + r->a_len + 1;

    switch (r->type) {
    case STORE_REC_EVENT:
        st = w->st_ins;
        sqlite3_bind_int64(st, 1, r->seq);
        sqlite3_bind_int64(st, 2, r->conn_id);
        sqlite3_bind_int64(st, 3, r->conn_seq);
        sqlite3_bind_int(st, 4, r->dir);
        sqlite3_bind_int(st, 5, r->kind);
        sqlite3_bind_int64(st, 6, r->t1);
        sqlite3_bind_int64(st, 7, r->t2);
        sqlite3_bind_int64(st, 8, r->status);
        if (r->a_null) {
            sqlite3_bind_null(st, 9);
        } else {
            sqlite3_bind_text(st, 9, a, (int)r->a_len, SQLITE_STATIC);
        }
        /* Non-NULL pointer even for 0 bytes: an empty blob, not NULL. */
        sqlite3_bind_blob(st, 10, b, (int)r->b_len, SQLITE_STATIC);
        break;
    case STORE_REC_CONN_OPEN:
        st = w->st_conn;
        sqlite3_bind_int64(st, 1, r->conn_id);
        sqlite3_bind_text(st, 2, a, (int)r->a_len, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, b, (int)r->b_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, r->t1);
        sqlite3_bind_int64(st, 5, r->t2);
        break;
    case STORE_REC_SESSION: {
        const char *kind = a + strlen(a) + 1;
        const char *notes = kind + strlen(kind) + 1;
        char seed[24];
        int rc;
        snprintf(seed, sizeof seed, "%" PRIu64, (uint64_t)r->seq);
        if (sqlite3_prepare_v2(w->db,
                               "INSERT INTO sessions "
                               "VALUES(?,?,?,?,?,?,?,?,?)",
                               -1, &st, NULL) != SQLITE_OK) {
            return SQLITE_ERROR;
        }
        sqlite3_bind_int64(st, 1, r->conn_id);
        sqlite3_bind_int64(st, 2, r->t1);
        sqlite3_bind_int64(st, 3, r->t2);
        sqlite3_bind_text(st, 4, a, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, b, (int)r->b_len, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, seed, -1, SQLITE_TRANSIENT);
        if (r->b_null) {
            sqlite3_bind_null(st, 8);
        } else {
            sqlite3_bind_text(st, 8, notes, -1, SQLITE_STATIC);
        }
        if (r->kind > 0) {
            sqlite3_bind_int(st, 9, r->kind);
        } else {
            sqlite3_bind_null(st, 9);
        }
        rc = store__step_done(st);
        sqlite3_finalize(st);
        return rc;
    }
    default:
        st = w->st_close;
        sqlite3_bind_int64(st, 1, r->t1);
        sqlite3_bind_int64(st, 2, r->t2);
        sqlite3_bind_int64(st, 3, r->status);
        if (r->b_null) {
            sqlite3_bind_null(st, 4);
        } else {
            sqlite3_bind_text(st, 4, b, (int)r->b_len, SQLITE_STATIC);
        }
        sqlite3_bind_int64(st, 5, r->conn_id);
        break;
    }
    return store__step_done(st);
}

/* The writer thread: take everything queued, insert it inside the open
 * transaction, commit every batch_events rows and at least every batch_ms
 * (and at once on flush or stop). Queue bytes are given back as records
 * are freed, so appenders blocked on a full queue resume early. */
/* Commit the open transaction; on success count it and tell on_commit. */
static int store__commit(struct store_writer *w, int64_t durable_seq)
{
    struct store_q *q = w->q;

    if (store__step_done(w->st_commit) != SQLITE_OK) {
        store__q_fail(q, MD_E_IO, "%s: commit failed: %s", w->path,
                      sqlite3_errmsg(w->db));
        sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
        return MD_E_IO;
    }
    pthread_mutex_lock(&q->mu);
    q->commits++;
    pthread_mutex_unlock(&q->mu);
    if (w->o.on_commit != NULL) {
        w->o.on_commit(w->o.on_commit_arg, durable_seq);
    }
    return MD_OK;
}

/* The writer thread: take everything queued, insert it inside the open
 * transaction, commit every batch_events rows and at least every batch_ms
 * (and at once on flush or stop). Queue bytes are given back as records
 * are freed, so appenders blocked on a full queue resume early. After a
 * failure (sticky) records are only freed, so appenders never hang. */
static void *store__thread(void *arg)
{
    struct store_writer *w = arg;
    struct store_q *q = w->q;
    int in_txn = 0, failed = 0;
    int64_t txn_start = 0, batch_ns = (int64_t)w->o.batch_ms * 1000000;
    uint64_t processed = 0, n_txn = 0;
    int64_t last_seq = 0;

    pthread_mutex_lock(&q->mu);
    for (;;) {
        struct store_rec *batch, *r;
        int flush, stop;
        size_t freed = 0, k = 0;

        while (q->head == NULL && !q->stop && !q->flush_req) {
            if (in_txn) {
                int64_t dl = txn_start + batch_ns;
                struct timespec ts;
                if (store__now_ns() >= dl) {
                    break;
                }
                ts.tv_sec = (time_t)(dl / 1000000000);
                ts.tv_nsec = (long)(dl % 1000000000);
                q->waiting = 2;
                if (pthread_cond_timedwait(&q->can_take, &q->mu, &ts) ==
                    ETIMEDOUT) {
                    q->waiting = 0;
                    break;
                }
                q->waiting = 0;
            } else {
                q->waiting = 1;
                pthread_cond_wait(&q->can_take, &q->mu);
                q->waiting = 0;
            }
        }
        batch = q->head;
        q->head = q->tail = NULL;
        q->nrec = 0;
        flush = q->flush_req;
        q->flush_req = 0;
        stop = q->stop;
        pthread_mutex_unlock(&q->mu);

        while (batch != NULL) {
            int rc = SQLITE_OK;
            r = batch;
            batch = r->next;
            if (!failed && !in_txn) {
                rc = store__step_done(w->st_begin);
                in_txn = rc == SQLITE_OK;
                txn_start = store__now_ns();
                n_txn = 0;
            }
            if (!failed && rc == SQLITE_OK) {
                rc = store__insert(w, r);
            }
            if (!failed && rc != SQLITE_OK) {
                store__q_fail(q, MD_E_IO, "%s: write failed: %s", w->path,
                              sqlite3_errmsg(w->db));
                failed = 1;
                if (in_txn) {
                    sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
                    in_txn = 0;
                }
            }
            if (r->type == STORE_REC_EVENT) {
                last_seq = r->seq;
            }
            processed++;
            n_txn++;
            freed += r->cost;
            free(r);
            k++;
            if (in_txn && (n_txn >= w->o.batch_events ||
                           (k % 256 == 0 &&
                            store__now_ns() - txn_start >= batch_ns))) {
                failed = store__commit(w, last_seq) != MD_OK;
                in_txn = 0;
            }
            if (k % 256 == 0) {
                pthread_mutex_lock(&q->mu);
                q->bytes -= freed;
                freed = 0;
                pthread_cond_broadcast(&q->can_put);
                pthread_mutex_unlock(&q->mu);
            }
        }
        if (in_txn &&
            (flush || stop || store__now_ns() - txn_start >= batch_ns)) {
            failed = store__commit(w, last_seq) != MD_OK;
            in_txn = 0;
        }
        pthread_mutex_lock(&q->mu);
        q->bytes -= freed;
        pthread_cond_broadcast(&q->can_put);
        if (!in_txn) {
            q->done_n = processed; /* everything taken is durable */
            pthread_cond_broadcast(&q->done);
        }
        if (stop && q->head == NULL && !in_txn) {
            break;
        }
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

_Static_assert(STORE_K_HTTP_REQUEST == 20 && STORE_K_HTTP_RESPONSE == 21 &&
                   STORE_K_HTTP_ERROR == 22,
               "events_http names the HTTP kinds by number");

static const char store_ddl[] =
    "CREATE TABLE meta(\n"
    "  key   TEXT PRIMARY KEY NOT NULL,\n"
    "  value TEXT NOT NULL\n"
    ") WITHOUT ROWID;\n"
    "CREATE TABLE kinds(kind INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);\n"
    "CREATE TABLE dirs(dir INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);\n"
    "CREATE TABLE sessions(\n"
    "  id              INTEGER PRIMARY KEY,\n"
    "  started_mono_ns INTEGER NOT NULL,\n"
    "  started_wall_ns INTEGER NOT NULL,\n"
    "  tool            TEXT NOT NULL,\n"
    "  kind            TEXT NOT NULL,\n"
    "  config          TEXT NOT NULL, -- JSON, secrets removed\n"
    "  prng_seed       TEXT NOT NULL, -- uint64 in decimal\n"
    "  notes           TEXT,\n"
    "  core_version    INTEGER -- a recording's core (CORE_VERSION); NULL\n"
    ");\n"
    "CREATE TABLE connections(\n"
    "  id             INTEGER PRIMARY KEY,\n"
    "  kind           TEXT NOT NULL,    -- ws, rest\n"
    "  url            TEXT NOT NULL,    -- API key redacted\n"
    "  opened_mono_ns INTEGER NOT NULL,\n"
    "  opened_wall_ns INTEGER NOT NULL,\n"
    "  closed_mono_ns INTEGER,          -- NULL: never closed\n"
    "  closed_wall_ns INTEGER,\n"
    "  close_code     INTEGER,\n"
    "  close_reason   TEXT\n"
    ");\n"
    "CREATE TABLE events(\n"
    "  seq      INTEGER PRIMARY KEY,    -- 1, 2, ...: the order of receipt\n"
    "  conn_id  INTEGER NOT NULL,       -- connections.id, 0 = none\n"
    "  conn_seq INTEGER NOT NULL,       -- 1, 2, ... within conn_id\n"
    "  dir      INTEGER NOT NULL,       -- dirs.dir\n"
    "  kind     INTEGER NOT NULL,       -- kinds.kind\n"
    "  mono_ns  INTEGER NOT NULL,       -- local monotonic\n"
    "  wall_ns  INTEGER NOT NULL,       -- unix ns\n"
    "  status   INTEGER NOT NULL,       -- HTTP status, close code, ...\n"
    "  meta     TEXT,                   -- JSON object or NULL\n"
    "  payload  BLOB NOT NULL           -- verbatim bytes\n"
    ");\n"
    "-- the REST exchanges, for replay's answer book: a few rows, kept\n"
    "-- as they are written, so finding them needs no scan of the frames\n"
    "CREATE INDEX events_http ON events(seq) WHERE kind BETWEEN 20 AND 22;\n"
    "CREATE VIEW events_named AS\n"
    "  SELECT e.seq, e.conn_id, e.conn_seq, d.name AS dir, k.name AS kind,\n"
    "         e.mono_ns, e.wall_ns,\n"
    "         strftime('%Y-%m-%dT%H:%M:%f', e.wall_ns / 1000000000.0,\n"
    "                  'unixepoch') || 'Z' AS wall_utc,\n"
    "         e.status, e.meta, length(e.payload) AS payload_len,\n"
    "         e.payload\n"
    "  FROM events e LEFT JOIN kinds k ON k.kind = e.kind\n"
    "                LEFT JOIN dirs d ON d.dir = e.dir;\n";

static int store__exec(sqlite3 *db, const char *sql, const char *path,
                       char *errbuf, size_t errlen)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

    if (rc != SQLITE_OK) {
        store__err(errbuf, errlen, MD_E_IO, "%s: %s", path,
                   msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return MD_E_IO;
    }
    return MD_OK;
}

static void store__unlink_all(const char *path)
{
    char p[4096];

    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-journal", path);
    unlink(p);
}

/* Create the schema and write the session, in one transaction. */
static int store__create(struct store_writer *w,
                         const struct store_session *sess, char *errbuf,
                         size_t errlen)
{
    sqlite3_stmt *st = NULL;
    char sql[256];
    size_t i;
    int rc;
    const unsigned char *cfg;
    size_t cfg_n;
    char seed[32];
    const char *config = sess->config ? sess->config : "{}";

    rc = store__exec(w->db, "PRAGMA journal_mode=WAL", w->path, errbuf,
                     errlen);
    if (rc == MD_OK) {
        snprintf(sql, sizeof sql,
                 "PRAGMA synchronous=%s; PRAGMA application_id=%d;",
                 w->o.synchronous_full ? "FULL" : "NORMAL", STORE_APP_ID);
        rc = store__exec(w->db, sql, w->path, errbuf, errlen);
    }
    if (rc == MD_OK) {
        rc = store__exec(w->db, "BEGIN", w->path, errbuf, errlen);
    }
    if (rc == MD_OK) {
        rc = store__exec(w->db, store_ddl, w->path, errbuf, errlen);
    }
    if (rc != MD_OK) {
        return rc;
    }
    /* meta */
    snprintf(sql, sizeof sql,
             "INSERT INTO meta VALUES('format','%s'),"
             "('schema_version','%d'),('state','writing')",
             STORE_FORMAT, STORE_SCHEMA_VERSION);
    rc = store__exec(w->db, sql, w->path, errbuf, errlen);
    for (i = 0; rc == MD_OK; i++) {
        int kind;
        const char *name;
        if (!store__kind_at(i, &kind, &name)) {
            break;
        }
        snprintf(sql, sizeof sql, "INSERT INTO kinds VALUES(%d,'%s')", kind,
                 name);
        rc = store__exec(w->db, sql, w->path, errbuf, errlen);
    }
    for (i = 0; i < 3 && rc == MD_OK; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO dirs VALUES(%zu,'%s')", i,
                 store_dir_name((int)i));
        rc = store__exec(w->db, sql, w->path, errbuf, errlen);
    }
    if (rc != MD_OK) {
        return rc;
    }
    /* session, redacted (config should hold no secret; make sure) */
    rc = store__clean_text(&w->red, sess->tool, &w->ra, &w->rb, &w->t1);
    if (rc == MD_OK) {
        rc = store__clean_text(&w->red, sess->kind, &w->ra, &w->rb, &w->t2);
    }
    if (rc == MD_OK && sess->notes != NULL) {
        rc = store__clean_text(&w->red, sess->notes, &w->ra, &w->rb,
                               &w->rc2);
    }
    if (rc == MD_OK) {
        rc = store__redact(&w->red, config, strlen(config), &w->ra, &w->rb,
                           &cfg, &cfg_n, 1);
    }
    if (rc != MD_OK) {
        return store__err(errbuf, errlen, rc, "%s: redacting the session: %s",
                          w->path, md_strerror(rc));
    }
    if (!store__json_value_ok((const char *)cfg, cfg_n)) {
        return store__err(errbuf, errlen, MD_E_INVAL,
                          "%s: the session config is not valid JSON in "
                          "UTF-8",
                          w->path);
    }
    snprintf(seed, sizeof seed, "%" PRIu64, sess->prng_seed);
    rc = sqlite3_prepare_v2(w->db,
                            "INSERT INTO sessions VALUES(1,?,?,?,?,?,?,?,?)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, sess->started_mono_ns);
        sqlite3_bind_int64(st, 2, sess->started_wall_ns);
        sqlite3_bind_text(st, 3, (const char *)w->t1.p, (int)w->t1.len,
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, (const char *)w->t2.p, (int)w->t2.len,
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, (const char *)cfg, (int)cfg_n,
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 6, seed, -1, SQLITE_TRANSIENT);
        if (sess->notes != NULL) {
            sqlite3_bind_text(st, 7, (const char *)w->rc2.p,
                              (int)w->rc2.len, SQLITE_TRANSIENT);
        } else {
            sqlite3_bind_null(st, 7);
        }
        if (sess->core_version > 0) {
            sqlite3_bind_int(st, 8, sess->core_version);
        } else {
            sqlite3_bind_null(st, 8);
        }
        rc = store__step_done(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        return store__err(errbuf, errlen, MD_E_IO,
                          "%s: writing the session: %s", w->path,
                          sqlite3_errmsg(w->db));
    }
    rc = store__exec(w->db, "COMMIT", w->path, errbuf, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    rc = sqlite3_prepare_v2(
        w->db, "INSERT INTO events VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)", -1,
        &w->st_ins, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(w->db,
                                "INSERT INTO connections(id,kind,url,"
                                "opened_mono_ns,opened_wall_ns) "
                                "VALUES(?,?,?,?,?)",
                                -1, &w->st_conn, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(w->db,
                                "UPDATE connections SET closed_mono_ns=?,"
                                "closed_wall_ns=?,close_code=?,"
                                "close_reason=? WHERE id=?",
                                -1, &w->st_close, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(w->db, "BEGIN", -1, &w->st_begin, NULL);
    }
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(w->db, "COMMIT", -1, &w->st_commit, NULL);
    }
    if (rc != SQLITE_OK) {
        return store__err(errbuf, errlen, MD_E_IO, "%s: prepare: %s",
                          w->path, sqlite3_errmsg(w->db));
    }
    return MD_OK;
}

static void store__writer_free(struct store_writer *w)
{
    struct store_rec *r;

    if (w == NULL) {
        return;
    }
    sqlite3_finalize(w->st_ins);
    sqlite3_finalize(w->st_conn);
    sqlite3_finalize(w->st_close);
    sqlite3_finalize(w->st_begin);
    sqlite3_finalize(w->st_commit);
    if (w->db != NULL) {
        sqlite3_close(w->db);
    }
    if (w->q != NULL) {
        while (w->q->head != NULL) {
            r = w->q->head;
            w->q->head = r->next;
            free(r);
        }
        pthread_mutex_destroy(&w->q->mu);
        pthread_cond_destroy(&w->q->can_take);
        pthread_cond_destroy(&w->q->can_put);
        pthread_cond_destroy(&w->q->done);
        free(w->q);
    }
    store__red_free(&w->red);
    free(w->ra.p);
    free(w->rb.p);
    free(w->rc2.p);
    free(w->rd2.p);
    free(w->t1.p);
    free(w->t2.p);
    free(w->conn_seq);
    free(w->closed);
    free(w->path);
    free(w);
}

static int store__q_init(struct store_q *q)
{
    pthread_condattr_t ca;
    int ok = 1;

    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        return MD_E_NOMEM;
    }
    pthread_condattr_init(&ca);
    /* The batch timer uses the monotonic clock: wall-clock steps must not
     * stretch or skip a commit. */
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    ok = pthread_cond_init(&q->can_take, &ca) == 0 &&
         pthread_cond_init(&q->can_put, NULL) == 0 &&
         pthread_cond_init(&q->done, NULL) == 0;
    pthread_condattr_destroy(&ca);
    return ok ? MD_OK : MD_E_NOMEM;
}

int store_writer_open(const char *path, const struct store_session *sess,
                      const char *secret,
                      const struct store_writer_opts *opts,
                      struct store_writer **wp, char *errbuf, size_t errlen)
{
    struct store_writer *w = NULL;
    int fd, rc, created = 0;

    if (wp != NULL) {
        *wp = NULL;
    }
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (path == NULL || sess == NULL || wp == NULL || sess->tool == NULL ||
        sess->kind == NULL) {
        return store__err(errbuf, errlen, MD_E_INVAL,
                          "store_writer_open: path, session, its tool and "
                          "kind are required");
    }
    if (secret != NULL && secret[0] != '\0' && strlen(secret) < 8) {
        /* A very short "secret" would shred ordinary text. */
        return store__err(errbuf, errlen, MD_E_INVAL,
                          "%s: the secret to redact is shorter than 8 "
                          "bytes",
                          path);
    }
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        return store__err(errbuf, errlen, MD_E_NOMEM, "%s: out of memory",
                          path);
    }
    if (opts != NULL) {
        w->o = *opts;
    } else {
        store_writer_opts_default(&w->o);
    }
    if (w->o.batch_events == 0) {
        w->o.batch_events = 10000;
    }
    if (w->o.batch_ms == 0) {
        w->o.batch_ms = 100;
    }
    if (w->o.queue_bytes == 0) {
        w->o.queue_bytes = (size_t)64 << 20;
    }
    w->path = strdup(path);
    w->end_state = STORE_STATE_COMPLETE;
    w->nsess = 1;
    w->q = calloc(1, sizeof *w->q);
    w->conn_cap = 16;
    w->conn_seq = calloc(w->conn_cap, sizeof *w->conn_seq);
    w->closed = calloc(w->conn_cap, 1);
    if (w->path == NULL || w->q == NULL || w->conn_seq == NULL ||
        w->closed == NULL) {
        free(w->q);
        w->q = NULL;
        rc = store__err(errbuf, errlen, MD_E_NOMEM, "%s: out of memory",
                        path);
        goto fail;
    }
    if (store__q_init(w->q) != MD_OK) {
        free(w->q);
        w->q = NULL;
        rc = store__err(errbuf, errlen, MD_E_NOMEM,
                        "%s: cannot create the writer's locks", path);
        goto fail;
    }
    w->q->cap = w->o.queue_bytes;
    w->q->wake_recs = w->o.batch_events < 1024 ? w->o.batch_events : 1024;
    rc = store__red_init(&w->red, secret);
    if (rc != MD_OK) {
        rc = store__err(errbuf, errlen, rc, "%s: preparing redaction: %s",
                        path, md_strerror(rc));
        goto fail;
    }
    /* O_EXCL: never append to or clobber an existing capture. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = store__err(errbuf, errlen,
                        errno == EEXIST ? MD_E_INVAL : MD_E_IO,
                        "%s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    close(fd);
    created = 1;
    rc = sqlite3_open_v2(path, &w->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = store__err(errbuf, errlen, MD_E_IO, "%s: cannot open: %s",
                        path, w->db ? sqlite3_errmsg(w->db)
                                    : sqlite3_errstr(rc));
        goto fail;
    }
    rc = store__create(w, sess, errbuf, errlen);
    if (rc != MD_OK) {
        goto fail;
    }
    if (pthread_create(&w->thr, NULL, store__thread, w) != 0) {
        rc = store__err(errbuf, errlen, MD_E_NOMEM,
                        "%s: cannot start the writer thread", path);
        goto fail;
    }
    w->thr_started = 1;
    *wp = w;
    return MD_OK;
fail:
    store__writer_free(w);
    if (created) {
        store__unlink_all(path);
    }
    return rc;
}

/* Queue r (taking ownership), blocking while the queue is full. */
static int store__enqueue(struct store_writer *w, struct store_rec *r)
{
    struct store_q *q = w->q;
    int rc;

    pthread_mutex_lock(&q->mu);
    if (q->err == MD_OK && q->bytes > 0 && q->bytes + r->cost > q->cap) {
        w->stalls++;
        while (q->err == MD_OK && q->bytes > 0 &&
               q->bytes + r->cost > q->cap) {
            pthread_cond_signal(&q->can_take);
            pthread_cond_wait(&q->can_put, &q->mu);
        }
    }
    rc = q->err;
    if (rc != MD_OK) {
        pthread_mutex_unlock(&q->mu);
        free(r);
        return rc;
    }
    r->next = NULL;
    if (q->tail != NULL) {
        q->tail->next = r;
    } else {
        q->head = r;
    }
    q->tail = r;
    q->bytes += r->cost;
    q->nrec++;
    q->enq_n++;
    /* Wake the writer when it is idle, or when enough has piled up while
     * its batch timer runs: one wake-up per chunk, not per event. */
    if (q->waiting == 1 ||
        (q->waiting == 2 &&
         (q->nrec >= q->wake_recs || q->bytes >= q->cap / 2))) {
        pthread_cond_signal(&q->can_take);
    }
    pthread_mutex_unlock(&q->mu);
    return MD_OK;
}

static struct store_rec *store__rec_new(const void *a, size_t a_len,
                                        const void *b, size_t b_len)
{
    size_t n = sizeof(struct store_rec) + a_len + b_len + 2;
    struct store_rec *r = malloc(n);

    if (r == NULL) {
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->cost = n;
    r->a_len = a_len;
    r->b_len = b_len;
    if (a_len > 0) {
        memcpy(r->data, a, a_len);
    }
    r->data[a_len] = 0;
    if (b_len > 0) {
        memcpy(r->data + a_len + 1, b, b_len);
    }
    r->data[a_len + 1 + b_len] = 0;
    return r;
}

static int store__conn_grow(struct store_writer *w, int64_t id)
{
    size_t cap = w->conn_cap;
    int64_t *s;
    unsigned char *c;

    if ((size_t)id < cap) {
        return MD_OK;
    }
    while ((size_t)id >= cap) {
        cap *= 2;
    }
    s = realloc(w->conn_seq, cap * sizeof *s);
    if (s == NULL) {
        return MD_E_NOMEM;
    }
    w->conn_seq = s;
    c = realloc(w->closed, cap);
    if (c == NULL) {
        return MD_E_NOMEM;
    }
    w->closed = c;
    memset(s + w->conn_cap, 0, (cap - w->conn_cap) * sizeof *s);
    memset(c + w->conn_cap, 0, cap - w->conn_cap);
    w->conn_cap = cap;
    return MD_OK;
}

int store_session_add(struct store_writer *w,
                      const struct store_session *sess)
{
    const unsigned char *cfg;
    size_t cfg_n, n;
    struct store_rec *r;
    int rc;

    if (w == NULL || sess == NULL || sess->tool == NULL ||
        sess->kind == NULL || sess->config == NULL) {
        return MD_E_INVAL;
    }
    rc = store__q_failed(w->q);
    if (rc != MD_OK) {
        return rc;
    }
    /* tool NUL kind NUL notes, each cleaned, into rd2 */
    w->rd2.len = 0;
    rc = store__clean_text(&w->red, sess->tool, &w->ra, &w->rb, &w->t1);
    if (rc == MD_OK) {
        rc = store__buf_put(&w->rd2, w->t1.p, w->t1.len + 1);
    }
    if (rc == MD_OK) {
        rc = store__clean_text(&w->red, sess->kind, &w->ra, &w->rb, &w->t1);
    }
    if (rc == MD_OK) {
        rc = store__buf_put(&w->rd2, w->t1.p, w->t1.len + 1);
    }
    if (rc == MD_OK) {
        rc = store__clean_text(&w->red, sess->notes != NULL ? sess->notes : "",
                               &w->ra, &w->rb, &w->t1);
    }
    if (rc == MD_OK) {
        rc = store__buf_put(&w->rd2, w->t1.p, w->t1.len);
    }
    if (rc == MD_OK) {
        rc = store__redact(&w->red, sess->config, strlen(sess->config),
                           &w->ra, &w->rb, &cfg, &cfg_n, 1);
    }
    if (rc != MD_OK) {
        return rc;
    }
    if (!store__json_value_ok((const char *)cfg, cfg_n)) {
        return MD_E_INVAL;
    }
    n = w->rd2.len;
    r = store__rec_new(w->rd2.p, n, cfg, cfg_n);
    if (r == NULL) {
        return MD_E_NOMEM;
    }
    r->type = STORE_REC_SESSION;
    r->conn_id = ++w->nsess;
    r->t1 = sess->started_mono_ns;
    r->t2 = sess->started_wall_ns;
    r->seq = (int64_t)sess->prng_seed;
    r->kind = sess->core_version;
    r->b_null = sess->notes == NULL;
    return store__enqueue(w, r);
}

int store_conn_open(struct store_writer *w, const struct store_conn *c,
                    int64_t *conn_id)
{
    struct store_rec *r;
    int rc;

    if (w == NULL || c == NULL || conn_id == NULL || c->kind == NULL ||
        c->url == NULL) {
        return MD_E_INVAL;
    }
    rc = store__q_failed(w->q);
    if (rc != MD_OK) {
        return rc;
    }
    rc = store__conn_grow(w, w->nconns + 1);
    if (rc != MD_OK) {
        return rc;
    }
    rc = store__clean_text(&w->red, c->kind, &w->ra, &w->rb, &w->t1);
    if (rc == MD_OK) {
        rc = store__clean_text(&w->red, c->url, &w->ra, &w->rb, &w->t2);
    }
    if (rc != MD_OK) {
        return rc;
    }
    r = store__rec_new(w->t1.p, w->t1.len, w->t2.p, w->t2.len);
    if (r == NULL) {
        return MD_E_NOMEM;
    }
    r->type = STORE_REC_CONN_OPEN;
    r->conn_id = ++w->nconns;
    r->t1 = c->opened_mono_ns;
    r->t2 = c->opened_wall_ns;
    *conn_id = r->conn_id;
    return store__enqueue(w, r);
}

int store_conn_close(struct store_writer *w, int64_t conn_id,
                     int64_t closed_mono_ns, int64_t closed_wall_ns,
                     int64_t close_code, const char *reason)
{
    const unsigned char *rs = NULL;
    size_t rs_n = 0;
    struct store_rec *r;
    int rc;

    if (w == NULL || conn_id < 1 || conn_id > w->nconns ||
        w->closed[conn_id]) {
        return MD_E_INVAL;
    }
    if (reason != NULL) {
        rc = store__clean_text(&w->red, reason, &w->ra, &w->rb, &w->t1);
        if (rc != MD_OK) {
            return rc;
        }
        rs = w->t1.p;
        rs_n = w->t1.len;
    }
    r = store__rec_new(NULL, 0, rs, rs_n);
    if (r == NULL) {
        return MD_E_NOMEM;
    }
    r->type = STORE_REC_CONN_CLOSE;
    r->b_null = reason == NULL;
    r->conn_id = conn_id;
    r->t1 = closed_mono_ns;
    r->t2 = closed_wall_ns;
    r->status = close_code;
    w->closed[conn_id] = 1;
    return store__enqueue(w, r);
}

int store_append(struct store_writer *w, const struct store_event *ev)
{
    const unsigned char *meta = NULL, *pl = NULL;
    size_t meta_n = 0, pl_n = 0;
    struct store_rec *r;
    int rc;

    if (w == NULL || ev == NULL || !store__kind_ok(ev->kind) ||
        ev->dir < STORE_D_IN || ev->dir > STORE_D_LOCAL ||
        ev->conn_id < 0 || ev->conn_id > w->nconns ||
        (ev->payload == NULL && ev->payload_len > 0)) {
        return MD_E_INVAL;
    }
    if (ev->payload_len > STORE_MAX_BYTES ||
        (ev->meta != NULL && strlen(ev->meta) > STORE_MAX_BYTES)) {
        return MD_E_RANGE;
    }
    if (ev->meta != NULL) {
        rc = store__redact(&w->red, ev->meta, strlen(ev->meta), &w->ra,
                           &w->rb, &meta, &meta_n, 1);
        if (rc != MD_OK) {
            return rc;
        }
        if (!store__json_object_ok((const char *)meta, meta_n)) {
            return MD_E_INVAL;
        }
        if (meta != (const unsigned char *)ev->meta) {
            /* keep it: the payload's redaction reuses ra/rb */
            w->rc2.len = 0;
            rc = store__buf_put(&w->rc2, meta, meta_n);
            if (rc != MD_OK) {
                return rc;
            }
            meta = w->rc2.p;
        }
    }
    if (ev->payload_len > 0) {
        rc = store__redact(&w->red, ev->payload, ev->payload_len, &w->ra,
                           &w->rb, &pl, &pl_n, 0);
        if (rc != MD_OK) {
            return rc;
        }
    }
    r = store__rec_new(meta, meta_n, pl, pl_n);
    if (r == NULL) {
        return MD_E_NOMEM;
    }
    r->type = STORE_REC_EVENT;
    r->a_null = ev->meta == NULL;
    r->kind = ev->kind;
    r->dir = ev->dir;
    r->seq = ++w->next_seq;
    r->conn_id = ev->conn_id;
    r->conn_seq = ++w->conn_seq[ev->conn_id];
    r->t1 = ev->mono_ns;
    r->t2 = ev->wall_ns;
    r->status = ev->status;
    w->events++;
    w->bytes += meta_n + pl_n;
    return store__enqueue(w, r);
}

int store_flush(struct store_writer *w)
{
    struct store_q *q;
    uint64_t target;
    int rc;

    if (w == NULL) {
        return MD_E_INVAL;
    }
    q = w->q;
    pthread_mutex_lock(&q->mu);
    target = q->enq_n;
    q->flush_req = 1;
    pthread_cond_signal(&q->can_take);
    while (q->err == MD_OK && q->done_n < target) {
        pthread_cond_wait(&q->done, &q->mu);
    }
    rc = q->err;
    pthread_mutex_unlock(&q->mu);
    return rc;
}

void store_writer_stats(const struct store_writer *w,
                        struct store_writer_stats *st)
{
    memset(st, 0, sizeof *st);
    if (w == NULL) {
        return;
    }
    st->events = w->events;
    st->bytes = w->bytes;
    st->stalls = w->stalls;
    pthread_mutex_lock(&w->q->mu);
    st->commits = w->q->commits;
    pthread_mutex_unlock(&w->q->mu);
}

const char *store_writer_errmsg(struct store_writer *w)
{
    if (w == NULL) {
        return "";
    }
    /* errmsg is written once, before err is set, under the lock. */
    return store__q_failed(w->q) != MD_OK ? w->q->errmsg : "";
}

int store_writer_close(struct store_writer *w, char *errbuf, size_t errlen)
{
    int rc, rc2;

    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (w == NULL) {
        return MD_OK;
    }
    if (w->thr_started) {
        pthread_mutex_lock(&w->q->mu);
        w->q->stop = 1;
        pthread_cond_signal(&w->q->can_take);
        pthread_mutex_unlock(&w->q->mu);
        pthread_join(w->thr, NULL);
        w->thr_started = 0;
    }
    rc = w->q->err;
    if (rc != MD_OK) {
        store__err(errbuf, errlen, rc, "%s", w->q->errmsg);
    } else {
        /* the mark of a clean close: until now the file says 'writing',
         * which readers report as incomplete */
        char sql[96];
        if (w->end_state == STORE_STATE_UNKNOWN) {
            snprintf(sql, sizeof sql, "DELETE FROM meta WHERE key='state'");
        } else {
            snprintf(sql, sizeof sql, "UPDATE meta SET value='%s' WHERE "
                     "key='state'", w->end_state == STORE_STATE_WRITING
                                        ? "writing"
                                    : w->end_state == STORE_STATE_INTERRUPTED
                                        ? "interrupted"
                                        : "complete");
        }
        rc = store__exec(w->db, sql, w->path, errbuf, errlen);
    }
    if (rc == MD_OK) {
        /* Fold the WAL into the file so it closes as one self-contained
         * file (sqlite3_close then removes the -wal and -shm). */
        rc2 = sqlite3_wal_checkpoint_v2(w->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                        NULL, NULL);
        if (rc2 != SQLITE_OK) {
            rc = store__err(errbuf, errlen, MD_E_IO, "%s: checkpoint: %s",
                            w->path, sqlite3_errmsg(w->db));
        } else {
            /* A finished capture leaves WAL mode: a read-only reader of a
             * WAL file creates -wal and -shm files it cannot remove. If a
             * reader has the file open this fails and the file stays in
             * WAL mode, which is fine. */
            sqlite3_exec(w->db, "PRAGMA journal_mode=DELETE", NULL, NULL,
                         NULL);
        }
    }
    sqlite3_finalize(w->st_ins);
    sqlite3_finalize(w->st_conn);
    sqlite3_finalize(w->st_close);
    sqlite3_finalize(w->st_begin);
    sqlite3_finalize(w->st_commit);
    w->st_ins = w->st_conn = w->st_close = w->st_begin = w->st_commit = NULL;
    if (sqlite3_close(w->db) != SQLITE_OK && rc == MD_OK) {
        rc = store__err(errbuf, errlen, MD_E_IO, "%s: close: %s", w->path,
                        sqlite3_errmsg(w->db));
    }
    w->db = NULL;
    store__writer_free(w);
    return rc;
}

void store_writer_set_end_state(struct store_writer *w, int state)
{
    if (w != NULL) {
        w->end_state = state;
    }
}
