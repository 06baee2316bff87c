/* outbox.c: the producer's durable state (outbox.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "ckpt.h"
#include "crash.h"
#include "md_err.h"
#include "outbox.h"

/* PRAGMA application_id of a state file: "ccss". */
#define OUTBOX_APP_ID 0x63637373

static const char ddl[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS ckpt_head(id INTEGER PRIMARY KEY "
    "CHECK(id = 0), seq INTEGER NOT NULL, server_ns INTEGER NOT NULL, "
    "written_ms INTEGER NOT NULL, data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS ckpt_stream(k INTEGER PRIMARY KEY, "
    "data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox(first INTEGER PRIMARY KEY, "
    "n INTEGER NOT NULL, data BLOB NOT NULL, added_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS dead_letter(id INTEGER PRIMARY KEY, "
    "topic TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, "
    "headers BLOB NOT NULL, ts_ms INTEGER NOT NULL, "
    "added_ms INTEGER NOT NULL, error TEXT NOT NULL);";


struct outbox {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *put_head, *put_stream, *del_streams;
    sqlite3_stmt *ins_batch, *del_batch, *ins_dead, *put_next;
    bool in_tx;            /* a transaction is open */
    int64_t next_id;       /* the next bar's id */
    uint8_t *buf;
    size_t cap;
    char file_id[17];
    struct outbox_stats st;
};

static int fail(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int exec(struct outbox *ob, const char *sql, char *errbuf,
                size_t errlen)
{
    char *msg = NULL;

    if (sqlite3_exec(ob->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int ext = sqlite3_extended_errcode(ob->db);
        fail(errbuf, errlen, 0, "%s: %s", ob->path,
             msg ? msg : sqlite3_errmsg(ob->db));
        sqlite3_free(msg);
        return ext == SQLITE_NOTADB || ext == SQLITE_CORRUPT
                   ? MD_E_CORRUPT
                   : MD_E_IO;
    }
    return MD_OK;
}

static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? MD_OK : MD_E_IO;
}

static int64_t query_int(sqlite3 *db, const char *sql, int64_t dflt)
{
    sqlite3_stmt *st;
    int64_t v = dflt;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        return dflt;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

void outbox_close(struct outbox *ob)
{
    if (ob == NULL) {
        return;
    }
    sqlite3_finalize(ob->put_head);
    sqlite3_finalize(ob->put_stream);
    sqlite3_finalize(ob->del_streams);
    sqlite3_finalize(ob->ins_batch);
    sqlite3_finalize(ob->del_batch);
    sqlite3_finalize(ob->ins_dead);
    sqlite3_finalize(ob->put_next);
    if (ob->in_tx) {
        sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_close(ob->db);

    free(ob->path);
    free(ob->buf);
    free(ob);
}

int outbox_open(struct outbox **obp, const char *path, char *errbuf,
                size_t errlen)
{
    struct outbox *ob = calloc(1, sizeof *ob);
    char sql[160];
    int64_t app, tables;
    int rc;

    *obp = NULL;
    if (ob == NULL || (ob->path = strdup(path)) == NULL) {
        free(ob);
        return fail(errbuf, errlen, MD_E_NOMEM, "%s: out of memory", path);
    }
    if (sqlite3_open_v2(path, &ob->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        rc = fail(errbuf, errlen, MD_E_IO, "%s: cannot open: %s", path,
                  ob->db ? sqlite3_errmsg(ob->db) : "out of memory");
        outbox_close(ob);
        return rc;
    }
    sqlite3_extended_result_codes(ob->db, 1);
    /* a file with tables and another application id is not ours */
    app = query_int(ob->db, "PRAGMA application_id", -1);
    tables = query_int(ob->db, "SELECT count(*) FROM sqlite_master", -1);
    if (app == -1 || tables == -1) {
        rc = fail(errbuf, errlen, MD_E_CORRUPT,
                  "%s: not a ccstream state file (SQLite cannot read it: "
                  "%s)", path, sqlite3_errmsg(ob->db));
        outbox_close(ob);
        return rc;
    }
    if (tables > 0 && app != OUTBOX_APP_ID) {
        rc = fail(errbuf, errlen, MD_E_CORRUPT,
                  "%s: not a ccstream state file (application_id %lld)",
                  path, (long long)app);
        outbox_close(ob);
        return rc;
    }
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
             "PRAGMA application_id=%d;",
             OUTBOX_APP_ID);
    rc = exec(ob, sql, errbuf, errlen);
    if (rc == MD_OK) {
        rc = exec(ob, ddl, errbuf, errlen);
    }
    if (rc == MD_OK) {
        rc = exec(ob,
                  "INSERT OR IGNORE INTO meta VALUES('format','"
                  OUTBOX_FORMAT "');",
                  errbuf, errlen);
    }
    if (rc == MD_OK) {
        /* a name of its own, made once */
        unsigned char rnd[8] = {0};
        char ins[96];
        FILE *u = fopen("/dev/urandom", "rb");
        if (u == NULL || fread(rnd, 1, sizeof rnd, u) != sizeof rnd) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            memcpy(rnd, &ts.tv_nsec, sizeof ts.tv_nsec < 8 ? sizeof
                   ts.tv_nsec : 8);
        }
        if (u != NULL) {
            fclose(u);
        }
        snprintf(ins, sizeof ins,
                 "INSERT OR IGNORE INTO meta VALUES('file_id','"
                 "%02x%02x%02x%02x%02x%02x%02x%02x');",
                 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
                 rnd[7]);
        rc = exec(ob, ins, errbuf, errlen);
    }
    if (rc == MD_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(ob->db,
                               "SELECT value FROM meta WHERE key='file_id'",
                               -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW) {
                snprintf(ob->file_id, sizeof ob->file_id, "%s",
                         (const char *)sqlite3_column_text(st, 0));
            }
            sqlite3_finalize(st);
        }
    }
    if (rc == MD_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(ob->db,
                               "SELECT value FROM meta WHERE key='format'",
                               -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step(st) == SQLITE_ROW &&
                strcmp((const char *)sqlite3_column_text(st, 0),
                       OUTBOX_FORMAT) != 0) {
                rc = fail(errbuf, errlen, MD_E_VERSION,
                          "%s: state format %s, this ccstream reads %s",
                          path, sqlite3_column_text(st, 0), OUTBOX_FORMAT);
            }
            sqlite3_finalize(st);
        }
    }
    if (rc == MD_OK &&
        (sqlite3_prepare_v2(ob->db,
                            "INSERT OR REPLACE INTO ckpt_head "
                            "VALUES(0, ?, ?, ?, ?)",
                            -1, &ob->put_head, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(ob->db,
                            "INSERT OR REPLACE INTO ckpt_stream "
                            "VALUES(?, ?)",
                            -1, &ob->put_stream, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(ob->db, "DELETE FROM ckpt_stream WHERE k >= ?",
                            -1, &ob->del_streams, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(ob->db,
                            "INSERT INTO outbox VALUES(?, ?, ?, ?)", -1,
                            &ob->ins_batch, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(ob->db, "DELETE FROM outbox WHERE first = ?",
                            -1, &ob->del_batch, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(ob->db,
                            "INSERT OR REPLACE INTO dead_letter "
                            "VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                            -1, &ob->ins_dead, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(ob->db,
                            "INSERT OR REPLACE INTO meta "
                            "VALUES('next_id', ?)",
                            -1, &ob->put_next, NULL) != SQLITE_OK)) {
        rc = fail(errbuf, errlen, MD_E_IO, "%s: %s", path,
                  sqlite3_errmsg(ob->db));
    }
    if (rc != MD_OK) {
        outbox_close(ob);
        return rc;
    }
    ob->st.depth = (uint64_t)query_int(
        ob->db, "SELECT coalesce(sum(n), 0) FROM outbox", 0);
    /* ids go on after any bar ever kept here: the high-water mark the
     * commits keep (an empty outbox says nothing), the rows there are */
    ob->next_id = 1 + query_int(ob->db,
                                "SELECT max(coalesce((SELECT max(first + n "
                                "- 1) FROM outbox), 0), coalesce((SELECT "
                                "max(id) FROM dead_letter), 0), "
                                "coalesce((SELECT CAST(value AS INTEGER) - 1 "
                                "FROM meta WHERE key = 'next_id'), 0))",
                                0);
    *obp = ob;
    return MD_OK;
}

static int64_t wall_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

size_t outbox_headers_pack(const struct pub_record *r, unsigned char *buf,
                           size_t cap)
{
    size_t n = 0;
    unsigned j;

    for (j = 0; j < r->n_hdr; j++) {
        size_t nl = strlen(r->hdr[j].name), vl = r->hdr[j].len;
        if (nl > 255 || vl > 65535 || cap - n < 3 + nl + vl) {
            return 0;
        }
        buf[n++] = (unsigned char)nl;
        memcpy(buf + n, r->hdr[j].name, nl);
        n += nl;
        buf[n++] = (unsigned char)vl;
        buf[n++] = (unsigned char)(vl >> 8);
        memcpy(buf + n, r->hdr[j].value, vl);
        n += vl;
    }
    return n;
}

static int begin(struct outbox *ob, char *errbuf, size_t errlen)
{
    int rc;

    if (ob->in_tx && !sqlite3_get_autocommit(ob->db)) {
        return MD_OK;
    }
    /* none open (or SQLite rolled it back after an error) */
    ob->in_tx = false;
    rc = exec(ob, "BEGIN IMMEDIATE", errbuf, errlen);
    ob->in_tx = rc == MD_OK;
    return rc;
}

static void put_le(unsigned char *p, uint64_t v, unsigned n)
{
    unsigned i;

    for (i = 0; i < n; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint64_t get_le(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    unsigned i;

    for (i = 0; i < n; i++) {
        v |= (uint64_t)p[i] << (8 * i);
    }
    return v;
}

size_t outbox_record_pack(const char *topic, const struct pub_record *r,
                          unsigned char *buf, size_t cap)
{
    size_t tl = strlen(topic), n = 0, hl;

    if (tl > 65535 || r->key_len > 65535 || r->value_len > UINT32_MAX ||
        cap < 2 + tl + 2 + r->key_len + 4 + r->value_len + 2 + 8) {
        return 0;
    }
    put_le(buf, tl, 2);
    memcpy(buf + 2, topic, tl);
    n = 2 + tl;
    put_le(buf + n, r->key_len, 2);
    memcpy(buf + n + 2, r->key, r->key_len);
    n += 2 + r->key_len;
    put_le(buf + n, r->value_len, 4);
    memcpy(buf + n + 4, r->value, r->value_len);
    n += 4 + r->value_len;
    hl = outbox_headers_pack(r, buf + n + 2, cap - n - 2 - 8);
    if (hl == 0 && r->n_hdr > 0) {
        return 0;
    }
    put_le(buf + n, hl, 2);
    n += 2 + hl;
    put_le(buf + n, (uint64_t)r->timestamp_ms, 8);
    return n + 8;
}

int outbox_record_parse(const unsigned char *p, size_t len, size_t *used,
                        struct outbox_row *row)
{
    size_t n = 0, l;

    memset(row, 0, sizeof *row);
    if (len < 2 || (l = get_le(p, 2)) > len - 2) {
        return MD_E_CORRUPT;
    }
    row->topic = (const char *)p + 2;
    row->topic_len = l;
    n = 2 + l;
    if (len - n < 2 || (l = get_le(p + n, 2)) > len - n - 2) {
        return MD_E_CORRUPT;
    }
    row->key = p + n + 2;
    row->key_len = l;
    n += 2 + l;
    if (len - n < 4 || (l = get_le(p + n, 4)) > len - n - 4) {
        return MD_E_CORRUPT;
    }
    row->value = p + n + 4;
    row->value_len = l;
    n += 4 + l;
    if (len - n < 2 || (l = get_le(p + n, 2)) > len - n - 2) {
        return MD_E_CORRUPT;
    }
    row->headers = p + n + 2;
    row->headers_len = l;
    n += 2 + l;
    if (len - n < 8) {
        return MD_E_CORRUPT;
    }
    row->ts_ms = (int64_t)get_le(p + n, 8);
    *used = n + 8;
    return MD_OK;
}

const char *outbox_file_id(const struct outbox *ob)
{
    return ob->file_id;
}

int64_t outbox_next_id(const struct outbox *ob)
{
    return ob->next_id;
}

void outbox_raise_next_id(struct outbox *ob, int64_t id)
{
    if (id > ob->next_id) {
        ob->next_id = id;
    }
}

int outbox_put(struct outbox *ob, int64_t first, uint32_t n,
               const void *data, size_t len, char *errbuf, size_t errlen)
{
    int rc = begin(ob, errbuf, errlen);

    if (rc != MD_OK) {
        return MD_E_IO;
    }
    sqlite3_bind_int64(ob->ins_batch, 1, first);
    sqlite3_bind_int64(ob->ins_batch, 2, n);
    sqlite3_bind_blob64(ob->ins_batch, 3, data, len, SQLITE_STATIC);
    sqlite3_bind_int64(ob->ins_batch, 4, wall_ms());
    if (step_done(ob->ins_batch) != MD_OK) {
        return fail(errbuf, errlen, MD_E_IO, "%s: %u bars not written to "
                    "the outbox: %s", ob->path, n, sqlite3_errmsg(ob->db));
    }
    if (first + n > ob->next_id) {
        ob->next_id = first + n;
    }
    /* the high-water mark, in the same transaction: ids are never used
     * twice, even after every batch was deleted */
    sqlite3_bind_int64(ob->put_next, 1, ob->next_id);
    if (step_done(ob->put_next) != MD_OK) {
        return fail(errbuf, errlen, MD_E_IO, "%s: %s", ob->path,
                    sqlite3_errmsg(ob->db));
    }
    ob->st.added += n;
    ob->st.depth += n;
    return MD_OK;
}

int outbox_done(struct outbox *ob, int64_t first, uint32_t n)
{
    if (begin(ob, NULL, 0) != MD_OK) {
        return MD_E_IO;
    }
    sqlite3_bind_int64(ob->del_batch, 1, first);
    if (step_done(ob->del_batch) != MD_OK) {
        return MD_E_IO;
    }
    ob->st.done += n;
    ob->st.depth -= n <= ob->st.depth ? n : ob->st.depth;
    return MD_OK;
}

int outbox_dead(struct outbox *ob, const struct outbox_row *row,
                const char *why)
{
    if (begin(ob, NULL, 0) != MD_OK) {
        return MD_E_IO;
    }
    sqlite3_bind_int64(ob->ins_dead, 1, row->id);
    sqlite3_bind_text(ob->ins_dead, 2, row->topic, (int)row->topic_len,
                      SQLITE_STATIC);
    sqlite3_bind_blob(ob->ins_dead, 3, row->key, (int)row->key_len,
                      SQLITE_STATIC);
    sqlite3_bind_blob(ob->ins_dead, 4, row->value, (int)row->value_len,
                      SQLITE_STATIC);
    sqlite3_bind_blob(ob->ins_dead, 5, row->headers, (int)row->headers_len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(ob->ins_dead, 6, row->ts_ms);
    sqlite3_bind_int64(ob->ins_dead, 7, wall_ms());
    sqlite3_bind_text(ob->ins_dead, 8, why, -1, SQLITE_STATIC);
    if (step_done(ob->ins_dead) != MD_OK) {
        return MD_E_IO;
    }
    ob->st.dead++;
    return MD_OK;
}

int outbox_batches(struct outbox *ob,
                   int (*fn)(void *ctx, int64_t first, uint32_t n,
                             const unsigned char *data, size_t len),
                   void *ctx)
{
    sqlite3_stmt *st;
    int rc, ret = MD_OK;

    if (sqlite3_prepare_v2(ob->db,
                           "SELECT first, n, data FROM outbox ORDER BY "
                           "first",
                           -1, &st, NULL) != SQLITE_OK) {
        return MD_E_IO;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(st, 1);
        if (n <= 0 || n > UINT32_MAX) {
            ret = MD_E_CORRUPT;
            break;
        }
        if ((ret = fn(ctx, sqlite3_column_int64(st, 0), (uint32_t)n,
                      sqlite3_column_blob(st, 2),
                      (size_t)sqlite3_column_bytes(st, 2))) != 0) {
            break;
        }
    }
    sqlite3_finalize(st);
    return ret != 0 ? ret : rc == SQLITE_DONE || rc == SQLITE_ROW
                                ? MD_OK
                                : MD_E_IO;
}

static int room(struct outbox *ob, const struct core *c)
{
    size_t need = core_ckpt_bound(c);

    if (need > ob->cap) {
        uint8_t *b = realloc(ob->buf, need);
        if (b == NULL) {
            return MD_E_NOMEM;
        }
        ob->buf = b;
        ob->cap = need;
    }
    return MD_OK;
}

int outbox_commit(struct outbox *ob, struct core *c, int64_t seq,
                  char *errbuf, size_t errlen)
{
    unsigned k, n = core_ckpt_streams(c);
    uint64_t streams = 0, bytes = 0;
    size_t len;
    int rc;

    if (room(ob, c) != MD_OK) {
        return fail(errbuf, errlen, MD_E_NOMEM, "%s: out of memory",
                    ob->path);
    }
    rc = begin(ob, errbuf, errlen);
    if (rc != MD_OK) {
        return MD_E_IO;
    }
    rc = core_ckpt_head(c, ob->buf, ob->cap, &len);
    if (rc == MD_OK) {
        sqlite3_bind_int64(ob->put_head, 1, seq);
        sqlite3_bind_int64(ob->put_head, 2, c->feed.agg.watermark_ns);
        sqlite3_bind_int64(ob->put_head, 3, wall_ms());
        sqlite3_bind_blob(ob->put_head, 4, ob->buf, (int)len,
                          SQLITE_STATIC);
        rc = step_done(ob->put_head);
        bytes += len;
    }
    for (k = 0; k < n && rc == MD_OK; k++) {
        if (!core_ckpt_changed(c, k)) {
            continue;
        }
        rc = core_ckpt_stream(c, k, ob->buf, ob->cap, &len);
        if (rc != MD_OK) {
            break;
        }
        sqlite3_bind_int64(ob->put_stream, 1, k);
        sqlite3_bind_blob(ob->put_stream, 2, ob->buf, (int)len,
                          SQLITE_STATIC);
        rc = step_done(ob->put_stream);
        streams++;
        bytes += len;
    }
    if (rc == MD_OK) {
        /* records of a larger table from before (a checkpoint of another
         * run in this file) go */
        sqlite3_bind_int64(ob->del_streams, 1, n);
        rc = step_done(ob->del_streams);
    }
    if (rc != MD_OK) {
        fail(errbuf, errlen, 0, "%s: not committed: %s", ob->path,
             rc == MD_E_IO ? sqlite3_errmsg(ob->db) : md_strerror(rc));
        sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
        ob->in_tx = false;
        return MD_E_IO;
    }
    crash_point(CRASH_COMMIT_BEFORE);
    rc = exec(ob, "COMMIT", errbuf, errlen);
    if (rc != MD_OK) {
        sqlite3_exec(ob->db, "ROLLBACK", NULL, NULL, NULL);
        ob->in_tx = false;
        return MD_E_IO;
    }
    ob->in_tx = false;
    core_ckpt_written(c);
    ob->st.checkpoints++;
    ob->st.streams_written += streams;
    ob->st.bytes_written += bytes;
    ob->st.last_streams = streams;
    ob->st.last_bytes = bytes;
    return MD_OK;
}

int outbox_checkpoint(struct outbox *ob, struct core *c, int64_t seq,
                      char *errbuf, size_t errlen)
{
    return outbox_commit(ob, c, seq, errbuf, errlen);
}

int outbox_restore(struct outbox *ob, struct core *c, int64_t *seq,
                   char *errbuf, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    unsigned k = 0;
    int rc;

    if (sqlite3_prepare_v2(ob->db, "SELECT seq, data FROM ckpt_head", -1,
                           &st, NULL) != SQLITE_OK) {
        return fail(errbuf, errlen, MD_E_IO, "%s: %s", ob->path,
                    sqlite3_errmsg(ob->db));
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return rc == SQLITE_DONE
                   ? fail(errbuf, errlen, MD_E_NOTFOUND,
                          "%s: no checkpoint in it", ob->path)
                   : fail(errbuf, errlen, MD_E_IO, "%s: %s", ob->path,
                          sqlite3_errmsg(ob->db));
    }
    *seq = sqlite3_column_int64(st, 0);
    rc = core_restore_head(c, sqlite3_column_blob(st, 1),
                           (size_t)sqlite3_column_bytes(st, 1));
    sqlite3_finalize(st);
    if (rc != MD_OK) {
        return fail(errbuf, errlen, rc,
                    "%s: the checkpoint's head cannot be restored: %s%s",
                    ob->path, md_strerror(rc),
                    rc == MD_E_INVAL ? " (it was written with other "
                                       "intervals or dedupe size, or more "
                                       "streams than this configuration "
                                       "holds)"
                                     : "");
    }
    if (sqlite3_prepare_v2(ob->db,
                           "SELECT k, data FROM ckpt_stream ORDER BY k", -1,
                           &st, NULL) != SQLITE_OK) {
        return fail(errbuf, errlen, MD_E_IO, "%s: %s", ob->path,
                    sqlite3_errmsg(ob->db));
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(st, 0);
        if (row != (int64_t)k) {
            sqlite3_finalize(st);
            return fail(errbuf, errlen, MD_E_CORRUPT,
                        "%s: checkpoint stream %u missing", ob->path, k);
        }
        rc = core_restore_stream(c, k, sqlite3_column_blob(st, 1),
                                 (size_t)sqlite3_column_bytes(st, 1));
        if (rc != MD_OK) {
            sqlite3_finalize(st);
            return fail(errbuf, errlen, rc,
                        "%s: checkpoint stream %u cannot be restored: %s",
                        ob->path, k, md_strerror(rc));
        }
        k++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return fail(errbuf, errlen, MD_E_IO, "%s: %s", ob->path,
                    sqlite3_errmsg(ob->db));
    }
    rc = core_restore_done(c);
    if (rc != MD_OK) {
        return fail(errbuf, errlen, rc,
                    "%s: the checkpoint has %u streams of the %u its head "
                    "counts",
                    ob->path, k, c->rst.n);
    }
    return MD_OK;
}

const struct outbox_stats *outbox_stats(const struct outbox *ob)
{
    return &ob->st;
}
