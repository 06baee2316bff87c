/* store_read.c: the capture store's streaming reader: checks a capture
 * before trusting it (its header, application id, schema, sessions and
 * connections, times), works on a copy when the file is still being
 * written, and streams events in order with filters. Format and
 * rationale: docs/capture-format.md. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "md_err.h"
#include "store.h"
#include "store_int.h"

struct store_reader {
    sqlite3 *db;
    sqlite3_stmt *st_ev, *st_conn;
    sqlite3_stmt *st_at; /* store_event_at, prepared on first use */
    char *path;
    struct store_session *sess;
    int schema;  /* the file's schema_version */
    char **strs; /* owned copies behind sess[] */
    int nsess, nstrs;
    int64_t expect_seq;
    int64_t last_mono; /* the last event's mono_ns (the session's start
                          before the first) */
    int state;         /* enum store_state: meta 'state' */
    char warning[640]; /* store_reader_warning, or "" */
    char copy_dir[4096]; /* a private copy's file (store__open_copy) */
    int filtered; /* store_reader_only: seq may skip */
    char err[768];
};

static int store__rfail(struct store_reader *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int store__open_copy(struct store_reader *r, const char *path);
static void store__drop_copy(struct store_reader *r);

static int store__rfail(struct store_reader *r, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return rc;
}

/* Map a SQLite failure to an MD_E_* code. */
static int store__sqlite_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
        return MD_E_CORRUPT;
    case SQLITE_NOMEM:
        return MD_E_NOMEM;
    default:
        return MD_E_IO;
    }
}

static uint32_t store__be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

/* Checks that need no SQL: the file is there, not empty, an SQLite file,
 * and (with no WAL beside it) as long as its header says. */
static int store__precheck(struct store_reader *r, const char *path)
{
    unsigned char h[100];
    struct stat sb, wb;
    char wal[4096];
    uint32_t psize, npages, change, valid_for;
    ssize_t got;
    int fd;

    if (stat(path, &sb) != 0) {
        return store__rfail(r, errno == ENOENT ? MD_E_NOTFOUND : MD_E_IO,
                            "%s: cannot open: %s", path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode)) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: not a regular file, not a ccstream capture",
                            path);
    }
    if (sb.st_size == 0) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: empty file (0 bytes), not a ccstream "
                            "capture",
                            path);
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return store__rfail(r, MD_E_IO, "%s: cannot open: %s", path,
                            strerror(errno));
    }
    got = read(fd, h, sizeof h);
    close(fd);
    if (got < 0) {
        return store__rfail(r, MD_E_IO, "%s: cannot read: %s", path,
                            strerror(errno));
    }
    if (got < 16 || memcmp(h, "SQLite format 3", 16) != 0) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: not an SQLite database, so not a ccstream "
                            "capture (it does not start with \"SQLite "
                            "format 3\")",
                            path);
    }
    if (got < 100) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: truncated: %zd bytes, shorter than the "
                            "100-byte SQLite header",
                            path, got);
    }
    psize = (uint32_t)h[16] << 8 | h[17];
    if (psize == 1) {
        psize = 65536;
    }
    if (psize < 512 || (psize & (psize - 1)) != 0) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: damaged SQLite header (page size %u)", path,
                            psize);
    }
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (stat(wal, &wb) == 0 && wb.st_size > 0) {
        return MD_OK; /* the WAL may hold the newest pages: let SQLite see */
    }
    if ((uint64_t)sb.st_size % psize != 0) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: truncated: %lld bytes is not a whole number "
                            "of %u-byte pages",
                            path, (long long)sb.st_size, psize);
    }
    npages = store__be32(h + 28);
    change = store__be32(h + 24);
    valid_for = store__be32(h + 92);
    if (npages > 0 && change == valid_for &&
        (uint64_t)sb.st_size < (uint64_t)npages * psize) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: truncated: the header says %u pages "
                            "(%llu bytes) but the file has %lld bytes",
                            path, npages,
                            (unsigned long long)npages * psize,
                            (long long)sb.st_size);
    }
    return MD_OK;
}

static int store__rd_str(struct store_reader *r, sqlite3_stmt *st, int col,
                         const char **out)
{
    const unsigned char *t;
    char *c, **s;

    *out = NULL;
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        return MD_OK;
    }
    t = sqlite3_column_text(st, col);
    if (t == NULL) {
        return MD_E_NOMEM;
    }
    c = strdup((const char *)t);
    s = realloc(r->strs, (size_t)(r->nstrs + 1) * sizeof *s);
    if (c == NULL || s == NULL) {
        free(c);
        if (s != NULL) {
            r->strs = s;
        }
        return MD_E_NOMEM;
    }
    r->strs = s;
    r->strs[r->nstrs++] = c;
    *out = c;
    return MD_OK;
}

static int store__load_sessions(struct store_reader *r)
{
    sqlite3_stmt *st = NULL;
    int rc, n = 0;

    /* schema 1 has no core_version: its recordings name no core */
    rc = sqlite3_prepare_v2(r->db,
                            r->schema >= 2
                                ? "SELECT started_mono_ns, started_wall_ns,"
                                  " tool, kind, config, prng_seed, notes,"
                                  " core_version FROM sessions ORDER BY id"
                                : "SELECT started_mono_ns, started_wall_ns,"
                                  " tool, kind, config, prng_seed, notes,"
                                  " NULL FROM sessions ORDER BY id",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: not a ccstream capture or damaged (sessions:"
                            " %s)",
                            r->path, sqlite3_errmsg(r->db));
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct store_session *s, *ns;
        const char *seed = NULL;
        char *end;
        int mrc;

        ns = realloc(r->sess, (size_t)(n + 1) * sizeof *ns);
        if (ns == NULL) {
            sqlite3_finalize(st);
            return store__rfail(r, MD_E_NOMEM, "%s: out of memory", r->path);
        }
        r->sess = ns;
        s = &r->sess[n];
        memset(s, 0, sizeof *s);
        s->started_mono_ns = sqlite3_column_int64(st, 0);
        s->started_wall_ns = sqlite3_column_int64(st, 1);
        if (sqlite3_column_type(st, 7) == SQLITE_INTEGER) {
            int64_t cv = sqlite3_column_int64(st, 7);
            s->core_version = cv > 0 && cv < INT32_MAX ? (int)cv : -1;
        }
        mrc = store__rd_str(r, st, 2, &s->tool);
        if (mrc == MD_OK) {
            mrc = store__rd_str(r, st, 3, &s->kind);
        }
        if (mrc == MD_OK) {
            mrc = store__rd_str(r, st, 4, &s->config);
        }
        if (mrc == MD_OK) {
            mrc = store__rd_str(r, st, 5, &seed);
        }
        if (mrc == MD_OK) {
            mrc = store__rd_str(r, st, 6, &s->notes);
        }
        if (mrc != MD_OK) {
            sqlite3_finalize(st);
            return store__rfail(r, mrc, "%s: out of memory", r->path);
        }
        errno = 0;
        if (s->tool == NULL || s->kind == NULL || s->config == NULL ||
            seed == NULL || seed[0] < '0' || seed[0] > '9') {
            sqlite3_finalize(st);
            return store__rfail(r, MD_E_CORRUPT,
                                "%s: damaged session row %d", r->path,
                                n + 1);
        }
        s->prng_seed = strtoull(seed, &end, 10);
        if (*end != '\0' || errno != 0) {
            sqlite3_finalize(st);
            return store__rfail(r, MD_E_CORRUPT,
                                "%s: damaged session row %d (prng_seed "
                                "'%s')",
                                r->path, n + 1, seed);
        }
        n++;
        r->nsess = n;
    }
    if (rc != SQLITE_DONE) {
        rc = store__sqlite_rc(rc);
        sqlite3_finalize(st);
        return store__rfail(r, rc, "%s: damaged (sessions): %s", r->path,
                            sqlite3_errmsg(r->db));
    }
    sqlite3_finalize(st);
    if (n == 0) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: damaged capture: no session row", r->path);
    }
    return MD_OK;
}

/* The meta table: format and schema_version. */
static int store__check_meta(struct store_reader *r)
{
    sqlite3_stmt *st = NULL;
    char fmt[64] = "", ver[64] = "";
    int rc, saw = 0;
    long long v;
    char *end;

    rc = sqlite3_prepare_v2(r->db,
                            "SELECT key, value FROM meta WHERE key IN "
                            "('format','schema_version','state')",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        int mrc = store__sqlite_rc(sqlite3_extended_errcode(r->db));
        if (strstr(sqlite3_errmsg(r->db), "no such table") != NULL) {
            return store__rfail(r, MD_E_CORRUPT,
                                "%s: an SQLite database but not a ccstream "
                                "capture (no meta table)",
                                r->path);
        }
        if (mrc == MD_E_CORRUPT) {
            return store__rfail(r, MD_E_CORRUPT, "%s: damaged: %s", r->path,
                                sqlite3_errmsg(r->db));
        }
        if ((sqlite3_extended_errcode(r->db) & 0xff) == SQLITE_ERROR) {
            /* the schema is not ours: a wrong column, say */
            return store__rfail(r, MD_E_CORRUPT,
                                "%s: damaged or not a ccstream capture: %s",
                                r->path, sqlite3_errmsg(r->db));
        }
        return store__rfail(r, mrc, "%s: cannot read the capture: %s",
                            r->path, sqlite3_errmsg(r->db));
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *val = (const char *)sqlite3_column_text(st, 1);
        if (k == NULL || val == NULL) {
            continue;
        }
        if (strcmp(k, "format") == 0) {
            snprintf(fmt, sizeof fmt, "%s", val);
            saw |= 1;
        } else if (strcmp(k, "state") == 0) {
            r->state = strcmp(val, "complete") == 0 ? STORE_STATE_COMPLETE
                       : strcmp(val, "interrupted") == 0
                           ? STORE_STATE_INTERRUPTED
                           : STORE_STATE_WRITING;
        } else {
            snprintf(ver, sizeof ver, "%s", val);
            saw |= 2;
        }
    }
    if (rc != SQLITE_DONE) {
        rc = store__sqlite_rc(rc);
        sqlite3_finalize(st);
        return store__rfail(r, rc, "%s: damaged (meta): %s", r->path,
                            sqlite3_errmsg(r->db));
    }
    sqlite3_finalize(st);
    if (!(saw & 1) || strcmp(fmt, STORE_FORMAT) != 0) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: an SQLite database but not a ccstream "
                            "capture (meta format is '%s', expected '%s')",
                            r->path, fmt, STORE_FORMAT);
    }
    errno = 0;
    v = strtoll(ver, &end, 10);
    if (!(saw & 2) || ver[0] == '\0' || *end != '\0' || errno != 0 || v < 1) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: damaged capture: schema_version '%s'",
                            r->path, ver);
    }
    if (v > STORE_SCHEMA_VERSION) {
        return store__rfail(r, MD_E_VERSION,
                            "%s: written by a newer ccstream (schema_version "
                            "%lld; this one reads up to %d): upgrade ccstream",
                            r->path, v, STORE_SCHEMA_VERSION);
    }
    r->schema = (int)v;
    return MD_OK;
}

int store_reader_open(const char *path, struct store_reader **rp,
                      char *errbuf, size_t errlen)
{
    struct store_reader *r;
    sqlite3_stmt *st = NULL;
    int rc;

    if (rp != NULL) {
        *rp = NULL;
    }
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (path == NULL || rp == NULL) {
        return store__err(errbuf, errlen, MD_E_INVAL,
                          "store_reader_open: no path");
    }
    r = calloc(1, sizeof *r);
    if (r == NULL) {
        return store__err(errbuf, errlen, MD_E_NOMEM, "%s: out of memory",
                          path);
    }
    r->path = strdup(path);
    if (r->path == NULL) {
        rc = store__rfail(r, MD_E_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    rc = store__precheck(r, path);
    if (rc != MD_OK) {
        goto fail;
    }
    /* A reader is used from one thread: no SQLite mutexes. */
    rc = sqlite3_open_v2(path, &r->db,
                         SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);

    if (rc != SQLITE_OK) {
        rc = store__rfail(r, store__sqlite_rc(rc), "%s: cannot open: %s",
                          path,
                          r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc));
        goto fail;
    }
    rc = sqlite3_prepare_v2(r->db, "PRAGMA application_id", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_ROW &&
        (sqlite3_extended_errcode(r->db) & 0xff) == SQLITE_CANTOPEN) {
        /* a WAL-mode file (its writer died) where a read-only reader may
         * not create the -shm: the main file alone, said so */
        sqlite3_finalize(st);
        st = NULL;
        if (store__open_copy(r, path) == MD_OK) {
            rc = sqlite3_prepare_v2(r->db, "PRAGMA application_id", -1, &st,
                                    NULL);
            if (rc == SQLITE_OK) {
                rc = sqlite3_step(st);
            }
        }
    }
    if (rc != SQLITE_ROW) {
        int erc = sqlite3_extended_errcode(r->db);
        rc = store__rfail(r, erc == SQLITE_CORRUPT || erc == SQLITE_NOTADB
                                 ? MD_E_CORRUPT
                                 : store__sqlite_rc(erc),
                          "%s: damaged or not a database: %s", path,
                          sqlite3_errmsg(r->db));
        sqlite3_finalize(st);
        goto fail;
    }
    if (sqlite3_column_int64(st, 0) != STORE_APP_ID) {
        long long id = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        rc = store__rfail(r, MD_E_CORRUPT,
                          "%s: an SQLite database but not a ccstream capture "
                          "(application_id %lld, expected %d)",
                          path, id, STORE_APP_ID);
        goto fail;
    }
    sqlite3_finalize(st);
    rc = store__check_meta(r);
    if (rc == MD_OK) {
        rc = store__load_sessions(r);
    }
    if (rc != MD_OK) {
        goto fail;
    }
    rc = sqlite3_prepare_v2(r->db,
                            "SELECT seq, conn_id, conn_seq, dir, kind,"
                            " mono_ns, wall_ns, status, meta, payload"
                            " FROM events ORDER BY seq",
                            -1, &r->st_ev, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_prepare_v2(r->db,
                                "SELECT kind, url, opened_mono_ns,"
                                " opened_wall_ns, closed_mono_ns,"
                                " closed_wall_ns, close_code, close_reason"
                                " FROM connections WHERE id = ?",
                                -1, &r->st_conn, NULL);
    }
    if (rc != SQLITE_OK) {
        rc = store__rfail(r, MD_E_CORRUPT,
                          "%s: damaged capture (its tables): %s", path,
                          sqlite3_errmsg(r->db));
        goto fail;
    }
    r->expect_seq = 1;
    r->last_mono = r->nsess > 0 ? r->sess[0].started_mono_ns : -1;
    *rp = r;
    return MD_OK;
fail:
    store__err(errbuf, errlen, rc, "%s", r->err);
    store_reader_close(r);
    return rc;
}

/* Copy the file from to the new file to; 0 or -1. */
static int store__copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC), out;
    ssize_t n;
    int rc = 0;

    if (in < 0) {
        return -1;
    }
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return -1;
    }
    while (rc == 0 && (n = read(in, buf, sizeof buf)) != 0) {
        ssize_t off = 0;
        if (n < 0) {
            rc = errno == EINTR ? 0 : -1;
            continue;
        }
        while (off < n) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR) {
                    continue;
                }
                rc = -1;
                break;
            }
            off += w;
        }
    }
    close(in);
    if (close(out) != 0) {
        rc = -1;
    }
    return rc;
}

/* A file its writer left in WAL mode, in a place this reader may not
 * write (SQLite cannot create the -shm it needs): the file and its -wal
 * are copied into a private directory under $TMPDIR (or /tmp) and read
 * there, so SQLite recovers the -wal in the copy and every committed
 * batch is read. The copy goes when the reader closes. */
static int store__open_copy(struct store_reader *r, const char *path)
{
    const char *tmp = getenv("TMPDIR");
    char wal[4096], cwal[4200];
    size_t n;

    snprintf(r->copy_dir, sizeof r->copy_dir, "%s/ccstream-read.XXXXXX",
             tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(r->copy_dir) == NULL) {
        r->copy_dir[0] = '\0';
        return MD_E_IO;
    }
    n = strlen(r->copy_dir);
    snprintf(r->copy_dir + n, sizeof r->copy_dir - n, "/c.db");
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(cwal, sizeof cwal, "%s-wal", r->copy_dir);
    if (store__copy_file(path, r->copy_dir) != 0 ||
        (access(wal, F_OK) == 0 && store__copy_file(wal, cwal) != 0)) {
        store__drop_copy(r);
        return MD_E_IO;
    }
    sqlite3_close(r->db);
    r->db = NULL;
    if (sqlite3_open_v2(r->copy_dir, &r->db,
                        SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        return MD_E_IO;
    }
    snprintf(r->warning, sizeof r->warning,
             "%s: its writer died and left it in WAL mode, and this reader "
             "may not write beside it: read through a private copy under "
             "%s (every committed batch; open it once with write access to "
             "fold the -wal in)",
             path, tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    return MD_OK;
}

/* Remove the private copy, if any (store__open_copy). */
static void store__drop_copy(struct store_reader *r)
{
    static const char *const sides[] = {"", "-wal", "-shm", "-journal"};
    char f[4200];
    char *slash;
    size_t i;

    if (r->copy_dir[0] == '\0') {
        return;
    }
    slash = strrchr(r->copy_dir, '/');
    if (slash != NULL && strcmp(slash, "/c.db") == 0) {
        for (i = 0; i < sizeof sides / sizeof sides[0]; i++) {
            snprintf(f, sizeof f, "%s%s", r->copy_dir, sides[i]);
            (void)unlink(f);
        }
        *slash = '\0';
    }
    (void)rmdir(r->copy_dir);
    r->copy_dir[0] = '\0';
}

int store_reader_schema(const struct store_reader *r)
{
    return r != NULL ? r->schema : 0;
}

const char *store_reader_warning(const struct store_reader *r)
{
    return r != NULL && r->warning[0] != '\0' ? r->warning : NULL;
}

int store_reader_state(const struct store_reader *r)
{
    return r != NULL ? r->state : STORE_STATE_UNKNOWN;
}

const char *store_reader_errmsg(const struct store_reader *r)
{
    return r != NULL ? r->err : "";
}

int store_reader_check(struct store_reader *r, int full)
{
    sqlite3_stmt *st = NULL;
    int rc;
    const char *msg;

    if (r == NULL) {
        return MD_E_INVAL;
    }
    rc = sqlite3_prepare_v2(r->db,
                            full ? "PRAGMA integrity_check(1)"
                                 : "PRAGMA quick_check(1)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_ROW) {
        int erc = sqlite3_extended_errcode(r->db);
        rc = store__rfail(r, store__sqlite_rc(erc),
                          "%s: integrity check failed: %s", r->path,
                          sqlite3_errmsg(r->db));
        sqlite3_finalize(st);
        return rc;
    }
    msg = (const char *)sqlite3_column_text(st, 0);
    if (msg == NULL || strcmp(msg, "ok") != 0) {
        rc = store__rfail(r, MD_E_CORRUPT, "%s: damaged: %s", r->path,
                          msg ? msg : "?");
    } else {
        rc = MD_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int store_reader_session(struct store_reader *r, int index,
                         struct store_session *s)
{
    if (r == NULL || s == NULL || index < 0) {
        return MD_E_INVAL;
    }
    if (index >= r->nsess) {
        return MD_E_NOTFOUND;
    }
    *s = r->sess[index];
    return MD_OK;
}

int store_reader_conn(struct store_reader *r, int64_t conn_id,
                      struct store_conn *c, int64_t *closed_mono_ns,
                      int64_t *close_code, const char **reason)
{
    sqlite3_stmt *st;
    int rc;

    if (r == NULL || c == NULL) {
        return MD_E_INVAL;
    }
    st = r->st_conn;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, conn_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        return MD_E_NOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        return store__rfail(r, store__sqlite_rc(rc),
                            "%s: reading connection %lld: %s", r->path,
                            (long long)conn_id, sqlite3_errmsg(r->db));
    }
    memset(c, 0, sizeof *c);
    c->kind = (const char *)sqlite3_column_text(st, 0);
    c->url = (const char *)sqlite3_column_text(st, 1);
    if (c->kind == NULL || c->url == NULL ||
        sqlite3_column_type(st, 2) != SQLITE_INTEGER ||
        sqlite3_column_type(st, 3) != SQLITE_INTEGER) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: damaged connection row %lld", r->path,
                            (long long)conn_id);
    }
    c->id = conn_id;
    c->opened_mono_ns = sqlite3_column_int64(st, 2);
    c->opened_wall_ns = sqlite3_column_int64(st, 3);
    c->closed = sqlite3_column_type(st, 4) != SQLITE_NULL;
    if (c->closed) {
        c->closed_mono_ns = sqlite3_column_int64(st, 4);
        c->closed_wall_ns = sqlite3_column_int64(st, 5);
        c->close_code = sqlite3_column_int64(st, 6);
        c->close_reason = (const char *)sqlite3_column_text(st, 7);
    }
    if (closed_mono_ns != NULL) {
        *closed_mono_ns = c->closed ? c->closed_mono_ns : 0;
    }
    if (close_code != NULL) {
        *close_code = c->closed ? c->close_code : -1;
    }
    if (reason != NULL) {
        *reason = c->close_reason;
    }
    return MD_OK;
}

static int64_t store__max(struct store_reader *r, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    int rc;

    rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    } else {
        store__rfail(r, store__sqlite_rc(sqlite3_extended_errcode(r->db)),
                     "%s: %s", r->path, sqlite3_errmsg(r->db));
        n = store__sqlite_rc(sqlite3_extended_errcode(r->db));
    }
    sqlite3_finalize(st);
    return n;
}

int64_t store_conn_count(struct store_reader *r)
{
    if (r == NULL) {
        return MD_E_INVAL;
    }
    return store__max(r, "SELECT coalesce(max(id), 0) FROM connections");
}

int64_t store_event_count(struct store_reader *r)
{
    if (r == NULL) {
        return MD_E_INVAL;
    }
    return store__max(r, "SELECT coalesce(max(seq), 0) FROM events");
}

/* Whether kinds[0..n) are exactly the integers lo..hi, each once. */
static int store__kind_range(const int *kinds, size_t n, int *lo, int *hi)
{
    size_t i, j;

    *lo = *hi = kinds[0];
    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            if (kinds[j] == kinds[i]) {
                return 0;
            }
        }
        *lo = kinds[i] < *lo ? kinds[i] : *lo;
        *hi = kinds[i] > *hi ? kinds[i] : *hi;
    }
    return (long long)*hi - *lo + 1 == (long long)n;
}

int store_reader_only(struct store_reader *r, const int *kinds, size_t n)
{
    char sql[512];
    size_t used, i;
    int lo, hi;
    sqlite3_stmt *st = NULL;

    if (r == NULL || kinds == NULL || n == 0 || n > 16) {
        return MD_E_INVAL;
    }
    used = (size_t)snprintf(sql, sizeof sql,
                            "SELECT seq, conn_id, conn_seq, dir, kind,"
                            " mono_ns, wall_ns, status, meta, payload"
                            " FROM events WHERE ");
    if (store__kind_range(kinds, n, &lo, &hi)) {
        /* the form of the events_http index's condition: for exactly
         * its range (the HTTP kinds) SQLite reads the index, not every
         * row; another range is a scan, as IN would be */
        snprintf(sql + used, sizeof sql - used,
                 "kind BETWEEN %d AND %d ORDER BY seq", lo, hi);
    } else {
        used += (size_t)snprintf(sql + used, sizeof sql - used, "kind IN (");
        for (i = 0; i < n; i++) {
            used += (size_t)snprintf(sql + used, sizeof sql - used, "%s%d",
                                     i ? "," : "", kinds[i]);
        }
        snprintf(sql + used, sizeof sql - used, ") ORDER BY seq");
    }
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        return store__rfail(r, MD_E_IO, "%s: %s", r->path,
                            sqlite3_errmsg(r->db));
    }
    sqlite3_finalize(r->st_ev);
    r->st_ev = st;
    r->filtered = 1;
    r->expect_seq = 1;
    return MD_OK;
}

int store_rewind(struct store_reader *r)
{
    if (r == NULL) {
        return MD_E_INVAL;
    }
    sqlite3_reset(r->st_ev);
    r->expect_seq = 1;
    r->last_mono = r->nsess > 0 ? r->sess[0].started_mono_ns : -1;
    return MD_OK;
}

/* The current row of st (the event columns in schema order) into *ev,
 * checked: integers where integers belong, dir and kind in range, meta
 * text or NULL, payload a blob. after names the seq before it, for the
 * message. MD_OK or MD_E_CORRUPT. */
static int store__row(struct store_reader *r, sqlite3_stmt *st,
                      struct store_event *ev, int64_t after)
{
    sqlite3_value *v[10];
    int64_t iv[8];
    int i, pt;

    /* The values through sqlite3_column_value: one call per column
     * instead of two (type, then value), measured 15-20% of a streaming
     * read. The values are unprotected, which only matters when another
     * thread uses the connection; a reader belongs to one thread. */
    memset(ev, 0, sizeof *ev);
    for (i = 0; i < 8; i++) {
        v[i] = sqlite3_column_value(st, i);
        if (sqlite3_value_type(v[i]) != SQLITE_INTEGER) {
            return store__rfail(r, MD_E_CORRUPT,
                                "%s: damaged event row after seq %lld "
                                "(column %s is not an integer)",
                                r->path, (long long)after,
                                sqlite3_column_name(st, i));
        }
        iv[i] = sqlite3_value_int64(v[i]);
    }
    ev->seq = iv[0];
    ev->conn_id = iv[1];
    ev->conn_seq = iv[2];
    ev->dir = (int)iv[3];
    ev->kind = (int)iv[4];
    ev->mono_ns = iv[5];
    ev->wall_ns = iv[6];
    ev->status = iv[7];
    if (iv[3] < STORE_D_IN || iv[3] > STORE_D_LOCAL) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: damaged event seq %lld (dir %lld)", r->path,
                            (long long)ev->seq, (long long)iv[3]);
    }
    if (iv[4] != ev->kind) {
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: damaged event seq %lld (kind)", r->path,
                            (long long)ev->seq);
    }
    v[8] = sqlite3_column_value(st, 8);
    switch (sqlite3_value_type(v[8])) {
    case SQLITE_NULL:
        ev->meta = NULL;
        break;
    case SQLITE_TEXT:
        ev->meta = (const char *)sqlite3_value_text(v[8]);
        break;
    default:
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: damaged event seq %lld (meta is not text)",
                            r->path, (long long)ev->seq);
    }
    v[9] = sqlite3_column_value(st, 9);
    pt = sqlite3_value_type(v[9]);
    if (pt == SQLITE_BLOB || pt == SQLITE_TEXT) {
        ev->payload = sqlite3_value_blob(v[9]);
        ev->payload_len = (size_t)sqlite3_value_bytes(v[9]);
    } else {
        /* the schema says NOT NULL: a NULL is a file made otherwise */
        return store__rfail(r, MD_E_CORRUPT,
                            "%s: damaged event seq %lld (payload is %s, not "
                            "a blob)",
                            r->path, (long long)ev->seq,
                            pt == SQLITE_NULL ? "NULL" : "a number");
    }
    if (ev->payload == NULL) {
        ev->payload = "";
        ev->payload_len = 0;
    }
    return MD_OK;
}

int store_next(struct store_reader *r, struct store_event *ev)
{
    sqlite3_stmt *st;
    int rc;

    if (r == NULL || ev == NULL) {
        return MD_E_INVAL;
    }
    st = r->st_ev;
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        return MD_E_NOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        int erc = sqlite3_extended_errcode(r->db);
        return store__rfail(r, store__sqlite_rc(erc),
                            "%s: damaged: reading the event after seq "
                            "%lld: %s",
                            r->path, (long long)(r->expect_seq - 1),
                            sqlite3_errmsg(r->db));
    }
    rc = store__row(r, st, ev, r->expect_seq - 1);
    if (rc != MD_OK) {
        return rc;
    }
    if (r->filtered && ev->seq >= r->expect_seq) {
        r->expect_seq = ev->seq; /* skipped rows were filtered out */
    }
    if (ev->seq != r->expect_seq) {
        return store__rfail(r, MD_E_CORRUPT,
                            ev->seq > r->expect_seq
                                ? "%s: damaged: event seq %lld follows %lld "
                                  "(rows missing)"
                            : ev->seq < 1
                                ? "%s: damaged: event seq %lld (seq starts at "
                                  "1), after %lld"
                                : "%s: damaged: event seq %lld repeats or goes "
                                  "back, after %lld",
                            r->path, (long long)ev->seq,
                            (long long)(r->expect_seq - 1));
    }
    {
        char why[160];
        /* a filtered read skips events: only the sign is checked */
        if (store_time_check(r->filtered ? -1 : r->last_mono, ev->mono_ns,
                             why, sizeof why) != MD_OK) {
            return store__rfail(r, MD_E_CORRUPT,
                                "%s: damaged: event seq %lld: %s", r->path,
                                (long long)ev->seq, why);
        }
        r->last_mono = ev->mono_ns;
    }
    r->expect_seq++;
    return MD_OK;
}

int store_time_check(int64_t prev_ns, int64_t t_ns, char *why,
                     size_t why_size)
{
    int64_t d;

    if (t_ns < 0) {
        snprintf(why, why_size, "mono_ns %lld is negative",
                 (long long)t_ns);
        return MD_E_CORRUPT;
    }
    /* both are >= 0 here (prev was checked): no overflow */
    d = t_ns >= prev_ns ? t_ns - prev_ns : prev_ns - t_ns;
    if (prev_ns >= 0 && d > STORE_MAX_JUMP_NS) {
        snprintf(why, why_size, "mono_ns %lld is %.0f days %s the event "
                 "before (at most 7 days between events)",
                 (long long)t_ns, (double)d / 86400e9,
                 t_ns >= prev_ns ? "after" : "before");
        return MD_E_CORRUPT;
    }
    return MD_OK;
}

int store_event_at(struct store_reader *r, int64_t seq,
                   struct store_event *ev)
{
    int rc;

    if (r == NULL || ev == NULL) {
        return MD_E_INVAL;
    }
    if (r->st_at == NULL &&
        sqlite3_prepare_v2(r->db,
                           "SELECT seq, conn_id, conn_seq, dir, kind,"
                           " mono_ns, wall_ns, status, meta, payload"
                           " FROM events WHERE seq = ?",
                           -1, &r->st_at, NULL) != SQLITE_OK) {
        return store__rfail(r, MD_E_IO, "%s: %s", r->path,
                            sqlite3_errmsg(r->db));
    }
    sqlite3_reset(r->st_at);
    sqlite3_bind_int64(r->st_at, 1, seq);
    rc = sqlite3_step(r->st_at);
    if (rc == SQLITE_DONE) {
        return MD_E_NOTFOUND;
    }
    if (rc != SQLITE_ROW) {
        return store__rfail(r, store__sqlite_rc(sqlite3_extended_errcode(r->db)),
                            "%s: damaged: reading event seq %lld: %s",
                            r->path, (long long)seq, sqlite3_errmsg(r->db));
    }
    rc = store__row(r, r->st_at, ev, seq - 1);
    if (rc == MD_OK && ev->seq != seq) {
        rc = store__rfail(r, MD_E_CORRUPT, "%s: damaged: seq %lld read as "
                          "%lld", r->path, (long long)seq,
                          (long long)ev->seq);
    }
    return rc;
}

void store_reader_close(struct store_reader *r)
{
    int i;

    if (r == NULL) {
        return;
    }
    sqlite3_finalize(r->st_ev);
    sqlite3_finalize(r->st_conn);
    sqlite3_finalize(r->st_at);
    if (r->db != NULL) {
        sqlite3_close(r->db);
    }
    store__drop_copy(r);
    for (i = 0; i < r->nstrs; i++) {
        free(r->strs[i]);
    }
    free(r->strs);
    free(r->sess);
    free(r->path);
    free(r);
}
