/* store_jsonl.c: the text form of a capture (JSON lines): export streams a
 * capture out through the reader, import reads it back through the writer,
 * and export -> import -> export is byte-identical. Parsing uses the core's
 * bounded scanner (cc_json.h); output is written here with our own
 * escaping. Format: docs/capture-format.md, "JSON lines".
 *
 * One file, long: export and import stay together because each record's
 * fields are listed once (the key tables below) for both directions, so
 * they cannot drift; split, each half would need its own copy. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cc_json.h"
#include "md_err.h"
#include "store.h"
#include "store_int.h"

/* Longest line import accepts (a payload of up to ~190 MiB in base64). */
#define JL_MAX_LINE ((size_t)256 << 20)

/* ---------------------------------------------------------------------
 * Output helpers
 * ------------------------------------------------------------------- */

int store_json_put_str(FILE *f, const void *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = p;
    size_t i = 0, run = 0;

    if (putc('"', f) == EOF) {
        return -1;
    }
    while (i < n) {
        unsigned char c = s[i];
        char e[8];
        size_t en = 2;

        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) {
            i++;
            continue;
        }
        if (i > run && fwrite(s + run, 1, i - run, f) != i - run) {
            return -1;
        }
        e[0] = '\\';
        switch (c) {
        case '"':
            e[1] = '"';
            break;
        case '\\':
            e[1] = '\\';
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\t':
            e[1] = 't';
            break;
        case '\b':
            e[1] = 'b';
            break;
        case '\f':
            e[1] = 'f';
            break;
        default:
            e[1] = 'u';
            e[2] = '0';
            e[3] = '0';
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            en = 6;
            break;
        }
        if (fwrite(e, 1, en, f) != en) {
            return -1;
        }
        i++;
        run = i;
    }
    if (i > run && fwrite(s + run, 1, i - run, f) != i - run) {
        return -1;
    }
    return putc('"', f) == EOF ? -1 : 0;
}

int store__json_put_min(FILE *f, const char *text, size_t len)
{
    size_t i, run = 0;
    int in_str = 0, esc = 0;

    for (i = 0; i < len; i++) {
        char c = text[i];
        if (in_str) {
            if (esc) {
                esc = 0;
            } else if (c == '\\') {
                esc = 1;
            } else if (c == '"') {
                in_str = 0;
            }
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (i > run && fwrite(text + run, 1, i - run, f) != i - run) {
                return -1;
            }
            run = i + 1;
        }
    }
    if (len > run && fwrite(text + run, 1, len - run, f) != len - run) {
        return -1;
    }
    return 0;
}

char *store_fmt_utc(int64_t wall_ns, int digits, char *buf, size_t cap)
{
    int64_t sec = wall_ns / 1000000000, ns = wall_ns % 1000000000;
    time_t t;
    struct tm tm;
    char frac[16] = "";

    if (ns < 0) {
        ns += 1000000000;
        sec--;
    }
    t = (time_t)sec;
    if (gmtime_r(&t, &tm) == NULL) {
        snprintf(buf, cap, "?");
        return buf;
    }
    if (digits == 3) {
        snprintf(frac, sizeof frac, ".%03d", (int)(ns / 1000000));
    } else if (digits == 6) {
        snprintf(frac, sizeof frac, ".%06d", (int)(ns / 1000));
    } else if (digits == 9) {
        snprintf(frac, sizeof frac, ".%09d", (int)ns);
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             frac);
    return buf;
}

/* ---------------------------------------------------------------------
 * Export
 * ------------------------------------------------------------------- */

/* Key and a string value that must be valid UTF-8 (or NULL -> null). */
static int jl_put_kstr(FILE *f, const char *key, const char *s)
{
    if (fprintf(f, ",\"%s\":", key) < 0) {
        return -1;
    }
    if (s == NULL) {
        return fputs("null", f) == EOF ? -1 : 0;
    }
    return store_json_put_str(f, s, strlen(s));
}

static int jl_put_knum(FILE *f, const char *key, int has, int64_t v)
{
    if (!has) {
        return fprintf(f, ",\"%s\":null", key) < 0 ? -1 : 0;
    }
    return fprintf(f, ",\"%s\":%" PRId64, key, v) < 0 ? -1 : 0;
}

static int jl_utf8(const char *s)
{
    return s == NULL || store_utf8_valid(s, strlen(s));
}

int store_export(struct store_reader *r, FILE *out, char *errbuf,
                 size_t errlen)
{
    struct store_session s;
    struct store_conn c;
    struct store_event ev;
    char *b64 = NULL;
    size_t b64_cap = 0;
    int64_t id, nconn, nev = 0;
    int i, rc = MD_E_NOTFOUND, bad = 0;

    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (r == NULL || out == NULL) {
        return store__err(errbuf, errlen, MD_E_INVAL, "export: no input");
    }
    if (fprintf(out,
                "{\"rec\":\"capture\",\"format\":\"%s\","
                "\"schema_version\":%d,\"trailer\":true}\n",
                STORE_FORMAT, STORE_SCHEMA_VERSION) < 0) {
        bad = 1;
    }
    for (i = 0; store_reader_session(r, i, &s) == MD_OK && !bad; i++) {
        if (!jl_utf8(s.tool) || !jl_utf8(s.kind) || !jl_utf8(s.notes) ||
            !store__json_value_ok(s.config, strlen(s.config))) {
            return store__err(errbuf, errlen, MD_E_CORRUPT,
                              "session %d: tool, kind or notes is not UTF-8 "
                              "or config is not JSON",
                              i + 1);
        }
        bad |= fprintf(out,
                       "{\"rec\":\"session\",\"id\":%d,\"started_mono_ns\":"
                       "%" PRId64 ",\"started_wall_ns\":%" PRId64,
                       i + 1, s.started_mono_ns, s.started_wall_ns) < 0;
        bad |= jl_put_kstr(out, "tool", s.tool) < 0;
        bad |= jl_put_kstr(out, "kind", s.kind) < 0;
        bad |= fprintf(out, ",\"prng_seed\":%" PRIu64 ",\"config\":",
                       s.prng_seed) < 0;
        bad |= store__json_put_min(out, s.config, strlen(s.config)) < 0;
        bad |= jl_put_kstr(out, "notes", s.notes) < 0;
        if (s.core_version > 0) {
            bad |= fprintf(out, ",\"core_version\":%d", s.core_version) < 0;
        }
        bad |= fputs("}\n", out) == EOF;
    }
    nconn = store_conn_count(r);
    if (nconn < 0) {
        return store__err(errbuf, errlen, (int)nconn, "%s",
                          store_reader_errmsg(r));
    }
    for (id = 1; id <= nconn && !bad; id++) {
        rc = store_reader_conn(r, id, &c, NULL, NULL, NULL);
        if (rc == MD_E_NOTFOUND) {
            return store__err(errbuf, errlen, MD_E_CORRUPT,
                              "connection ids are not dense: %" PRId64
                              " is missing",
                              id);
        }
        if (rc != MD_OK) {
            return store__err(errbuf, errlen, rc, "%s",
                              store_reader_errmsg(r));
        }
        if (!jl_utf8(c.kind) || !jl_utf8(c.url) || !jl_utf8(c.close_reason)) {
            return store__err(errbuf, errlen, MD_E_CORRUPT,
                              "connection %" PRId64 ": text is not UTF-8",
                              id);
        }
        bad |= fprintf(out, "{\"rec\":\"conn\",\"id\":%" PRId64, id) < 0;
        bad |= jl_put_kstr(out, "kind", c.kind) < 0;
        bad |= jl_put_kstr(out, "url", c.url) < 0;
        bad |= jl_put_knum(out, "opened_mono_ns", 1, c.opened_mono_ns) < 0;
        bad |= jl_put_knum(out, "opened_wall_ns", 1, c.opened_wall_ns) < 0;
        bad |= jl_put_knum(out, "closed_mono_ns", c.closed,
                           c.closed_mono_ns) < 0;
        bad |= jl_put_knum(out, "closed_wall_ns", c.closed,
                           c.closed_wall_ns) < 0;
        bad |= jl_put_knum(out, "close_code", c.closed, c.close_code) < 0;
        bad |= jl_put_kstr(out, "close_reason", c.close_reason) < 0;
        bad |= fputs("}\n", out) == EOF;
    }
    while (!bad && (rc = store_next(r, &ev)) == MD_OK) {
        const char *kn = store_kind_name(ev.kind);

        nev++;
        bad |= fprintf(out,
                       "{\"rec\":\"event\",\"seq\":%" PRId64
                       ",\"conn\":%" PRId64 ",\"conn_seq\":%" PRId64
                       ",\"dir\":\"%s\",\"kind\":",
                       ev.seq, ev.conn_id, ev.conn_seq,
                       store_dir_name(ev.dir)) < 0;
        if (strcmp(kn, "?") == 0) {
            bad |= fprintf(out, "%d", ev.kind) < 0;
        } else {
            bad |= fprintf(out, "\"%s\"", kn) < 0;
        }
        bad |= fprintf(out,
                       ",\"mono_ns\":%" PRId64 ",\"wall_ns\":%" PRId64
                       ",\"status\":%" PRId64 ",\"meta\":",
                       ev.mono_ns, ev.wall_ns, ev.status) < 0;
        if (ev.meta == NULL) {
            bad |= fputs("null", out) == EOF;
        } else if (store__json_object_ok(ev.meta, strlen(ev.meta))) {
            bad |= store__json_put_min(out, ev.meta, strlen(ev.meta)) < 0;
        } else {
            free(b64);
            return store__err(errbuf, errlen, MD_E_CORRUPT,
                              "event seq %" PRId64
                              ": meta is not a JSON object",
                              ev.seq);
        }
        if (store_utf8_valid(ev.payload, ev.payload_len)) {
            bad |= fputs(",\"payload\":", out) == EOF;
            bad |= store_json_put_str(out, ev.payload, ev.payload_len) < 0;
        } else {
            size_t n = store__b64_len(ev.payload_len);
            if (n > b64_cap) {
                char *nb = realloc(b64, n);
                if (nb == NULL) {
                    free(b64);
                    return store__err(errbuf, errlen, MD_E_NOMEM,
                                      "export: out of memory");
                }
                b64 = nb;
                b64_cap = n;
            }
            store__b64_enc(ev.payload, ev.payload_len, b64, 0);
            bad |= fputs(",\"payload_b64\":\"", out) == EOF;
            bad |= fwrite(b64, 1, n, out) != n;
            bad |= putc('"', out) == EOF;
        }
        bad |= fputs("}\n", out) == EOF;
    }
    free(b64);
    if (!bad && rc == MD_E_NOTFOUND) {
        /* the end: what a cut file lacks */
        bad |= fprintf(out, "{\"rec\":\"end\",\"events\":%" PRId64
                       ",\"state\":\"%s\"}\n", nev,
                       store_state_name(store_reader_state(r))) < 0;
    }
    if (bad || fflush(out) != 0 || ferror(out)) {
        return store__err(errbuf, errlen, MD_E_IO, "write failed: %s",
                          strerror(errno));
    }
    if (rc != MD_E_NOTFOUND) {
        return store__err(errbuf, errlen, rc, "%s", store_reader_errmsg(r));
    }
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * Import
 * ------------------------------------------------------------------- */

enum jl_key {
    JK_REC,
    JK_FORMAT,
    JK_SCHEMA_VERSION,
    JK_ID,
    JK_STARTED_MONO_NS,
    JK_STARTED_WALL_NS,
    JK_TOOL,
    JK_KIND,
    JK_PRNG_SEED,
    JK_CONFIG,
    JK_NOTES,
    JK_URL,
    JK_OPENED_MONO_NS,
    JK_OPENED_WALL_NS,
    JK_CLOSED_MONO_NS,
    JK_CLOSED_WALL_NS,
    JK_CLOSE_CODE,
    JK_CLOSE_REASON,
    JK_SEQ,
    JK_CONN,
    JK_CONN_SEQ,
    JK_DIR,
    JK_MONO_NS,
    JK_WALL_NS,
    JK_STATUS,
    JK_META,
    JK_PAYLOAD,
    JK_PAYLOAD_B64,
    JK_CORE_VERSION,
    JK_TRAILER,
    JK_EVENTS,
    JK_STATE,
    JK__COUNT
};

static const char *const jl_names[JK__COUNT] = {
    "rec",           "format",          "schema_version",
    "id",            "started_mono_ns", "started_wall_ns",
    "tool",          "kind",            "prng_seed",
    "config",        "notes",           "url",
    "opened_mono_ns", "opened_wall_ns", "closed_mono_ns",
    "closed_wall_ns", "close_code",     "close_reason",
    "seq",           "conn",            "conn_seq",
    "dir",           "mono_ns",         "wall_ns",
    "status",        "meta",            "payload",
    "payload_b64",   "core_version",    "trailer",
    "events",        "state",
};

struct jl_val {
    int present;
    size_t off, end; /* the value's bytes in the line */
    struct cc_str str; /* when it is a string */
};

/* One parsed line and the import's running state. */
struct jl {
    const char *name;
    char *errbuf;
    size_t errlen;
    long lineno;
    const char *buf;
    size_t len;
    struct jl_val v[JK__COUNT];
    char *s[4]; /* unescaped strings of the current line */
    unsigned char *bin;
    size_t bin_cap;
};

static int jl_fail(struct jl *p, size_t off, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int jl_fail(struct jl *p, size_t off, int rc, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return store__err(p->errbuf, p->errlen, rc, "%s:%ld:%zu: %s", p->name,
                      p->lineno, off + 1, what);
}

/* Parse the line into p->v: one flat JSON object of known keys. */
static int jl_parse(struct jl *p)
{
    struct cc_json j;
    struct cc_err e;
    struct cc_str key;
    int rc, k;

    memset(p->v, 0, sizeof p->v);
    cc_json_init(&j, p->buf, p->len, &e);
    rc = cc_json_obj_begin(&j);
    while (rc == MD_OK) {
        size_t koff = j.pos;
        rc = cc_json_obj_next(&j, &key);
        if (rc <= 0) {
            break;
        }
        for (k = 0; k < JK__COUNT; k++) {
            if (cc_str_eq(&key, jl_names[k], strlen(jl_names[k]))) {
                break;
            }
        }
        while (koff < p->len && p->buf[koff] != '"') {
            koff++;
        }
        if (k == JK__COUNT) {
            return jl_fail(p, koff, MD_E_PROTO, "unknown key \"%.*s\"",
                           (int)(key.len > 40 ? 40 : key.len), key.p);
        }
        if (p->v[k].present) {
            return jl_fail(p, koff, MD_E_PROTO, "duplicate key \"%s\"",
                           jl_names[k]);
        }
        p->v[k].present = 1;
        (void)cc_json_peek(&j);
        p->v[k].off = j.pos;
        if (cc_json_peek(&j) == '"') {
            rc = cc_json_str(&j, &p->v[k].str);
        } else {
            rc = cc_json_skip(&j);
        }
        p->v[k].end = j.pos;
    }
    if (rc == 0) {
        rc = cc_json_end(&j);
    }
    if (rc != MD_OK) {
        return jl_fail(p, e.rc != MD_OK ? e.off : j.pos, MD_E_PROTO,
                       "invalid JSON: %s", e.what ? e.what : "syntax error");
    }
    return MD_OK;
}

static int jl_is_null(const struct jl *p, int k)
{
    const struct jl_val *v = &p->v[k];

    return v->end - v->off == 4 && memcmp(p->buf + v->off, "null", 4) == 0;
}

static int jl_need(struct jl *p, int k)
{
    if (!p->v[k].present) {
        return jl_fail(p, 0, MD_E_PROTO, "\"%s\" is missing", jl_names[k]);
    }
    return MD_OK;
}

/* An integer (RFC 8259 int grammar: no fraction or exponent) in int64, or
 * uint64 when u is set. *isnull when null is allowed and given. */
static int jl_int(struct jl *p, int k, int required, int nullable,
                  int64_t *out, uint64_t *uout, int *isnull)
{
    const struct jl_val *v = &p->v[k];
    char tok[32];
    size_t n, i;
    char *end;

    if (isnull != NULL) {
        *isnull = 0;
    }
    if (!v->present) {
        if (required) {
            return jl_need(p, k);
        }
        if (isnull != NULL) {
            *isnull = 1;
        }
        return MD_OK;
    }
    if (nullable && jl_is_null(p, k)) {
        *isnull = 1;
        return MD_OK;
    }
    n = v->end - v->off;
    if (n == 0 || n >= sizeof tok) {
        return jl_fail(p, v->off, MD_E_PROTO, "\"%s\" must be an integer",
                       jl_names[k]);
    }
    memcpy(tok, p->buf + v->off, n);
    tok[n] = '\0';
    i = tok[0] == '-' && uout == NULL ? 1 : 0;
    if (tok[i] < '0' || tok[i] > '9' || (tok[i] == '0' && tok[i + 1])) {
        return jl_fail(p, v->off, MD_E_PROTO, "\"%s\" must be an integer",
                       jl_names[k]);
    }
    for (; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9') {
            return jl_fail(p, v->off, MD_E_PROTO,
                           "\"%s\" must be an integer", jl_names[k]);
        }
    }
    errno = 0;
    if (uout != NULL) {
        *uout = strtoull(tok, &end, 10);
    } else {
        *out = strtoll(tok, &end, 10);
    }
    if (errno != 0 || *end != '\0') {
        return jl_fail(p, v->off, MD_E_PROTO, "\"%s\" is out of range",
                       jl_names[k]);
    }
    return MD_OK;
}

/* A string into slot (NUL-terminated, malloc'd; NUL bytes refused unless
 * len_out is given). nullable: null -> *out NULL. */
static int jl_str(struct jl *p, int k, int slot, int nullable, char **out,
                  size_t *len_out)
{
    const struct jl_val *v = &p->v[k];
    size_t n = 0;
    int rc;

    *out = NULL;
    if (!v->present) {
        return nullable ? MD_OK : jl_need(p, k);
    }
    if (nullable && jl_is_null(p, k)) {
        return MD_OK;
    }
    if (p->buf[v->off] != '"') {
        return jl_fail(p, v->off, MD_E_PROTO, "\"%s\" must be a string%s",
                       jl_names[k], nullable ? " or null" : "");
    }
    free(p->s[slot]);
    p->s[slot] = malloc(v->str.len + 1);
    if (p->s[slot] == NULL) {
        return jl_fail(p, v->off, MD_E_NOMEM, "out of memory");
    }
    rc = cc_str_unescape(&v->str, p->s[slot], v->str.len + 1, &n);
    if (rc != MD_OK) {
        return jl_fail(p, v->off, MD_E_PROTO, "\"%s\": bad escape",
                       jl_names[k]);
    }
    p->s[slot][n] = '\0';
    if (!store_utf8_valid(p->s[slot], n)) {
        return jl_fail(p, v->off, MD_E_PROTO, "\"%s\" is not valid UTF-8",
                       jl_names[k]);
    }
    if (len_out != NULL) {
        *len_out = n;
    } else if (memchr(p->s[slot], 0, n) != NULL) {
        return jl_fail(p, v->off, MD_E_PROTO,
                       "\"%s\" must not contain NUL (\\u0000)", jl_names[k]);
    }
    *out = p->s[slot];
    return MD_OK;
}

/* A JSON value copied as text into slot (an object or null when
 * object_only). */
static int jl_json(struct jl *p, int k, int slot, int object_only,
                   char **out)
{
    const struct jl_val *v = &p->v[k];
    size_t n;

    *out = NULL;
    if (!v->present) {
        return object_only ? MD_OK : jl_need(p, k);
    }
    if (object_only && jl_is_null(p, k)) {
        return MD_OK;
    }
    if (object_only && p->buf[v->off] != '{') {
        return jl_fail(p, v->off, MD_E_PROTO,
                       "\"%s\" must be a JSON object or null", jl_names[k]);
    }
    n = v->end - v->off;
    free(p->s[slot]);
    p->s[slot] = malloc(n + 1);
    if (p->s[slot] == NULL) {
        return jl_fail(p, v->off, MD_E_NOMEM, "out of memory");
    }
    memcpy(p->s[slot], p->buf + v->off, n);
    p->s[slot][n] = '\0';
    if (!store_utf8_valid(p->s[slot], n)) {
        return jl_fail(p, v->off, MD_E_PROTO, "\"%s\" is not valid UTF-8",
                       jl_names[k]);
    }
    *out = p->s[slot];
    return MD_OK;
}

/* The keys a record of this type may carry. */
static int jl_only(struct jl *p, const int *allowed, size_t n,
                   const char *rec)
{
    int k;
    size_t i;

    for (k = 0; k < JK__COUNT; k++) {
        int ok = k == JK_REC;
        for (i = 0; i < n && !ok; i++) {
            ok = allowed[i] == k;
        }
        if (p->v[k].present && !ok) {
            size_t off = p->v[k].off;
            return jl_fail(p, off, MD_E_PROTO,
                           "key \"%s\" does not belong in a \"%s\" record",
                           jl_names[k], rec);
        }
    }
    return MD_OK;
}

static int jl_rec_is(const struct jl *p, const char *what)
{
    return p->v[JK_REC].present &&
           p->buf[p->v[JK_REC].off] == '"' &&
           cc_str_eq(&p->v[JK_REC].str, what, strlen(what));
}

/* Read one line into *line (getline's buffer); 0 at EOF, 1, or < 0. */
static int jl_getline(struct jl *p, FILE *in, char **line, size_t *cap,
                      size_t *len)
{
    ssize_t n;

    for (;;) {
        errno = 0;
        n = getline(line, cap, in);
        if (n < 0) {
            if (ferror(in)) {
                return store__err(p->errbuf, p->errlen, MD_E_IO,
                                  "%s: read failed: %s", p->name,
                                  strerror(errno ? errno : EIO));
            }
            return 0;
        }
        p->lineno++;
        if ((size_t)n > JL_MAX_LINE) {
            return jl_fail(p, 0, MD_E_RANGE, "line longer than %zu bytes",
                           JL_MAX_LINE);
        }
        if (n > 0 && (*line)[n - 1] == '\n') {
            n--;
        }
        if (n > 0 && (*line)[n - 1] == '\r') {
            n--;
        }
        if (p->lineno == 1 && n >= 3 &&
            memcmp(*line, "\xef\xbb\xbf", 3) == 0) {
            /* a UTF-8 byte order mark, as some editors write: skipped
             * (columns still count it) */
            memset(*line, ' ', 3);
        }
        {
            ssize_t k = 0;
            while (k < n && ((*line)[k] == ' ' || (*line)[k] == '\t')) {
                k++;
            }
            if (k < n) {
                *len = (size_t)n;
                return 1;
            }
        }
        /* a blank line, or blanks only: skipped */
    }
}

static int jl_header(struct jl *p, int *trailer)
{
    static const int keys[] = {JK_FORMAT, JK_SCHEMA_VERSION, JK_TRAILER};
    int64_t ver = 0;
    char *fmt = NULL;
    int rc;

    if (!jl_rec_is(p, "capture")) {
        return jl_fail(p, 0, MD_E_PROTO,
                       "expected the header record {\"rec\":\"capture\","
                       "...} first");
    }
    rc = jl_only(p, keys, 3, "capture");
    if (rc == MD_OK && p->v[JK_TRAILER].present) {
        const struct jl_val *v = &p->v[JK_TRAILER];
        if (v->end - v->off != 4 || memcmp(p->buf + v->off, "true", 4) != 0) {
            rc = jl_fail(p, v->off, MD_E_PROTO, "\"trailer\" must be true");
        } else {
            *trailer = 1;
        }
    }
    if (rc == MD_OK) {
        rc = jl_str(p, JK_FORMAT, 0, 0, &fmt, NULL);
    }
    if (rc == MD_OK && strcmp(fmt, STORE_FORMAT) != 0) {
        rc = jl_fail(p, p->v[JK_FORMAT].off, MD_E_PROTO,
                     "format \"%s\" is not \"%s\"", fmt, STORE_FORMAT);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_SCHEMA_VERSION, 1, 0, &ver, NULL, NULL);
    }
    if (rc == MD_OK && (ver < 1 || ver > STORE_SCHEMA_VERSION)) {
        rc = jl_fail(p, p->v[JK_SCHEMA_VERSION].off,
                     ver > STORE_SCHEMA_VERSION ? MD_E_VERSION : MD_E_PROTO,
                     "schema_version %" PRId64
                     " (this ccstream reads 1 to %d)",
                     ver, STORE_SCHEMA_VERSION);
    }
    return rc;
}

static int jl_session(struct jl *p, struct store_session *s, int64_t want)
{
    static const int keys[] = {JK_ID,   JK_STARTED_MONO_NS,
                               JK_STARTED_WALL_NS, JK_TOOL,
                               JK_KIND, JK_PRNG_SEED,
                               JK_CONFIG, JK_NOTES, JK_CORE_VERSION};
    int64_t id = 0;
    char *tool, *kind, *cfg, *notes;
    int rc;

    if (!jl_rec_is(p, "session")) {
        return jl_fail(p, 0, MD_E_PROTO,
                       "expected a {\"rec\":\"session\",...} record after "
                       "the header");
    }
    memset(s, 0, sizeof *s);
    rc = jl_only(p, keys, sizeof keys / sizeof keys[0], "session");
    if (rc == MD_OK) {
        rc = jl_int(p, JK_ID, 0, 0, &id, NULL, NULL);
    }
    if (rc == MD_OK && p->v[JK_ID].present && id != want) {
        rc = jl_fail(p, p->v[JK_ID].off, MD_E_PROTO,
                     "session id %" PRId64 " out of order (expected %" PRId64
                     ")", id, want);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_STARTED_MONO_NS, 1, 0, &s->started_mono_ns, NULL,
                    NULL);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_STARTED_WALL_NS, 1, 0, &s->started_wall_ns, NULL,
                    NULL);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_PRNG_SEED, 1, 0, NULL, &s->prng_seed, NULL);
    }
    if (rc == MD_OK) {
        rc = jl_str(p, JK_TOOL, 0, 0, &tool, NULL);
    }
    if (rc == MD_OK) {
        rc = jl_str(p, JK_KIND, 1, 0, &kind, NULL);
    }
    if (rc == MD_OK) {
        rc = jl_json(p, JK_CONFIG, 2, 0, &cfg);
    }
    if (rc == MD_OK) {
        rc = jl_str(p, JK_NOTES, 3, 1, &notes, NULL);
    }
    if (rc == MD_OK) {
        int64_t cv = 0;
        rc = jl_int(p, JK_CORE_VERSION, 0, 0, &cv, NULL, NULL);
        if (rc == MD_OK && (cv < 0 || cv > 1000000)) {
            rc = jl_fail(p, p->v[JK_CORE_VERSION].off, MD_E_PROTO,
                         "core_version %" PRId64 " out of range", cv);
        }
        s->core_version = (int)cv;
    }
    if (rc == MD_OK) {
        s->tool = tool;
        s->kind = kind;
        s->config = cfg;
        s->notes = notes;
    }
    return rc;
}

static int jl_conn(struct jl *p, struct store_writer *w, int64_t *nconn)
{
    static const int keys[] = {JK_ID, JK_KIND, JK_URL, JK_OPENED_MONO_NS,
                               JK_OPENED_WALL_NS, JK_CLOSED_MONO_NS,
                               JK_CLOSED_WALL_NS, JK_CLOSE_CODE,
                               JK_CLOSE_REASON};
    struct store_conn c;
    int64_t id = 0, cm = 0, cw = 0, code = 0, got;
    int n1 = 1, n2 = 1, n3 = 1, rc;
    char *kind, *url, *reason;

    memset(&c, 0, sizeof c);
    rc = jl_only(p, keys, sizeof keys / sizeof keys[0], "conn");
    if (rc == MD_OK) {
        rc = jl_int(p, JK_ID, 1, 0, &id, NULL, NULL);
    }
    if (rc == MD_OK && id != *nconn + 1) {
        rc = jl_fail(p, p->v[JK_ID].off, MD_E_PROTO,
                     "connection id %" PRId64 " out of order (expected %"
                     PRId64 ")",
                     id, *nconn + 1);
    }
    if (rc == MD_OK) {
        rc = jl_str(p, JK_KIND, 0, 0, &kind, NULL);
    }
    if (rc == MD_OK) {
        rc = jl_str(p, JK_URL, 1, 0, &url, NULL);
    }
    if (rc == MD_OK) {
        rc = jl_str(p, JK_CLOSE_REASON, 2, 1, &reason, NULL);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_OPENED_MONO_NS, 1, 0, &c.opened_mono_ns, NULL,
                    NULL);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_OPENED_WALL_NS, 1, 0, &c.opened_wall_ns, NULL,
                    NULL);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_CLOSED_MONO_NS, 0, 1, &cm, NULL, &n1);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_CLOSED_WALL_NS, 0, 1, &cw, NULL, &n2);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_CLOSE_CODE, 0, 1, &code, NULL, &n3);
    }
    if (rc == MD_OK && (n1 != n2 || n1 != n3 || (n1 && reason != NULL))) {
        rc = jl_fail(p, 0, MD_E_PROTO,
                     "closed_mono_ns, closed_wall_ns, close_code (and "
                     "close_reason) are all null or all set");
    }
    if (rc != MD_OK) {
        return rc;
    }
    c.kind = kind;
    c.url = url;
    rc = store_conn_open(w, &c, &got);
    if (rc == MD_OK && !n1) {
        rc = store_conn_close(w, got, cm, cw, code, reason);
    }
    if (rc != MD_OK) {
        return jl_fail(p, 0, rc, "cannot record the connection: %s",
                       md_strerror(rc));
    }
    *nconn = got;
    return MD_OK;
}

static int jl_event(struct jl *p, struct store_writer *w, int64_t nconn,
                    int64_t *next_seq, int64_t **cseq, size_t *cseq_cap,
                    int64_t *prev_mono)
{
    static const int keys[] = {JK_SEQ,    JK_CONN,    JK_CONN_SEQ,
                               JK_DIR,    JK_KIND,    JK_MONO_NS,
                               JK_WALL_NS, JK_STATUS, JK_META,
                               JK_PAYLOAD, JK_PAYLOAD_B64};
    struct store_event ev;
    int64_t seq = 0, cs = 0, kind = 0;
    int no_seq = 0, no_cs = 0, rc, d;
    char *meta = NULL, *dir = NULL, *pl = NULL;
    size_t pl_n = 0;

    memset(&ev, 0, sizeof ev);
    rc = jl_only(p, keys, sizeof keys / sizeof keys[0], "event");
    if (rc == MD_OK) {
        rc = jl_int(p, JK_SEQ, 0, 0, &seq, NULL, &no_seq);
    }
    if (rc == MD_OK && !no_seq && seq != *next_seq) {
        rc = jl_fail(p, p->v[JK_SEQ].off, MD_E_PROTO,
                     "seq %" PRId64 " out of order (expected %" PRId64 ")",
                     seq, *next_seq);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_CONN, 1, 0, &ev.conn_id, NULL, NULL);
    }
    if (rc == MD_OK && (ev.conn_id < 0 || ev.conn_id > nconn)) {
        rc = jl_fail(p, p->v[JK_CONN].off, MD_E_PROTO,
                     "conn %" PRId64 " has no \"conn\" record before it",
                     ev.conn_id);
    }
    if (rc != MD_OK) {
        return rc;
    }
    if ((size_t)ev.conn_id >= *cseq_cap) {
        size_t cap = *cseq_cap ? *cseq_cap : 16;
        int64_t *n;
        while ((size_t)ev.conn_id >= cap) {
            cap *= 2;
        }
        n = realloc(*cseq, cap * sizeof *n);
        if (n == NULL) {
            return jl_fail(p, 0, MD_E_NOMEM, "out of memory");
        }
        memset(n + *cseq_cap, 0, (cap - *cseq_cap) * sizeof *n);
        *cseq = n;
        *cseq_cap = cap;
    }
    rc = jl_int(p, JK_CONN_SEQ, 0, 0, &cs, NULL, &no_cs);
    if (rc == MD_OK && !no_cs && cs != (*cseq)[ev.conn_id] + 1) {
        rc = jl_fail(p, p->v[JK_CONN_SEQ].off, MD_E_PROTO,
                     "conn_seq %" PRId64 " out of order (expected %" PRId64
                     ")",
                     cs, (*cseq)[ev.conn_id] + 1);
    }
    if (rc == MD_OK) {
        rc = jl_str(p, JK_DIR, 0, 0, &dir, NULL);
    }
    if (rc == MD_OK) {
        for (d = STORE_D_IN; d <= STORE_D_LOCAL; d++) {
            if (strcmp(dir, store_dir_name(d)) == 0) {
                break;
            }
        }
        if (d > STORE_D_LOCAL) {
            rc = jl_fail(p, p->v[JK_DIR].off, MD_E_PROTO,
                         "dir \"%s\" is not in, out or local", dir);
        }
        ev.dir = d;
    }
    if (rc == MD_OK) {
        rc = jl_need(p, JK_KIND);
    }
    if (rc == MD_OK && p->buf[p->v[JK_KIND].off] == '"') {
        char *kn;
        rc = jl_str(p, JK_KIND, 1, 0, &kn, NULL);
        if (rc == MD_OK) {
            ev.kind = store_kind_from_name(kn);
            if (ev.kind == STORE_K_INVALID) {
                rc = jl_fail(p, p->v[JK_KIND].off, MD_E_PROTO,
                             "unknown kind \"%s\"", kn);
            }
        }
    } else if (rc == MD_OK) {
        rc = jl_int(p, JK_KIND, 1, 0, &kind, NULL, NULL);
        if (rc == MD_OK) {
            rc = jl_fail(p, p->v[JK_KIND].off, MD_E_PROTO,
                         "kind %" PRId64 " is unknown to this ccstream",
                         kind);
        }
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_MONO_NS, 1, 0, &ev.mono_ns, NULL, NULL);
    }
    if (rc == MD_OK) {
        char why[160];
        if (store_time_check(*prev_mono, ev.mono_ns, why, sizeof why) !=
            MD_OK) {
            rc = jl_fail(p, p->v[JK_MONO_NS].off, MD_E_PROTO, "%s", why);
        } else {
            *prev_mono = ev.mono_ns;
        }
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_WALL_NS, 1, 0, &ev.wall_ns, NULL, NULL);
    }
    if (rc == MD_OK) {
        rc = jl_int(p, JK_STATUS, 1, 0, &ev.status, NULL, NULL);
    }
    if (rc == MD_OK) {
        rc = jl_json(p, JK_META, 2, 1, &meta);
    }
    if (rc == MD_OK && meta != NULL &&
        !store__json_object_ok(meta, strlen(meta))) {
        rc = jl_fail(p, p->v[JK_META].off, MD_E_PROTO,
                     "meta is not a JSON object");
    }
    if (rc != MD_OK) {
        return rc;
    }
    if (p->v[JK_PAYLOAD].present == p->v[JK_PAYLOAD_B64].present) {
        return jl_fail(p, 0, MD_E_PROTO,
                       "exactly one of \"payload\" and \"payload_b64\" is "
                       "required");
    }
    if (p->v[JK_PAYLOAD].present) {
        rc = jl_str(p, JK_PAYLOAD, 3, 0, &pl, &pl_n);
        if (rc != MD_OK) {
            return rc;
        }
        ev.payload = pl;
    } else {
        const struct jl_val *v = &p->v[JK_PAYLOAD_B64];
        size_t need;
        if (p->buf[v->off] != '"' || v->str.esc) {
            return jl_fail(p, v->off, MD_E_PROTO,
                           "payload_b64 must be a base64 string");
        }
        need = v->str.len / 4 * 3 + 3;
        if (need > p->bin_cap) {
            unsigned char *nb = realloc(p->bin, need);
            if (nb == NULL) {
                return jl_fail(p, v->off, MD_E_NOMEM, "out of memory");
            }
            p->bin = nb;
            p->bin_cap = need;
        }
        pl_n = store__b64_dec(v->str.p, v->str.len, p->bin);
        if (pl_n == (size_t)-1) {
            return jl_fail(p, v->off, MD_E_PROTO,
                           "payload_b64 is not canonical base64");
        }
        ev.payload = p->bin;
    }
    ev.payload_len = pl_n;
    ev.meta = meta;
    rc = store_append(w, &ev);
    if (rc != MD_OK) {
        return jl_fail(p, 0, rc, "cannot record the event: %s%s%s",
                       md_strerror(rc), *store_writer_errmsg(w) ? ": " : "",
                       store_writer_errmsg(w));
    }
    (*next_seq)++;
    (*cseq)[ev.conn_id]++;
    return MD_OK;
}

/* The end record: as many events as were read; the state the capture
 * had, which the new one keeps. */
static int jl_end(struct jl *p, int64_t nev, struct store_writer *w)
{
    static const int keys[] = {JK_EVENTS, JK_STATE};
    static const struct {
        const char *name;
        int state;
    } states[] = {
        {"complete", STORE_STATE_COMPLETE},
        {"incomplete", STORE_STATE_WRITING},
        {"interrupted", STORE_STATE_INTERRUPTED},
        {"unknown", STORE_STATE_UNKNOWN},
    };
    int64_t n = 0;
    char *st = NULL;
    size_t k;
    int rc = jl_only(p, keys, 2, "end");

    if (rc == MD_OK) {
        rc = jl_int(p, JK_EVENTS, 1, 0, &n, NULL, NULL);
    }
    if (rc == MD_OK && n != nev) {
        rc = jl_fail(p, p->v[JK_EVENTS].off, MD_E_PROTO,
                     "the end record counts %" PRId64 " events, the file "
                     "holds %" PRId64, n, nev);
    }
    if (rc == MD_OK) {
        rc = jl_str(p, JK_STATE, 0, 0, &st, NULL);
    }
    if (rc != MD_OK) {
        return rc;
    }
    for (k = 0; k < sizeof states / sizeof states[0]; k++) {
        if (strcmp(st, states[k].name) == 0) {
            store_writer_set_end_state(w, states[k].state);
            return MD_OK;
        }
    }
    return jl_fail(p, p->v[JK_STATE].off, MD_E_PROTO,
                   "unknown state \"%s\"", st);
}

int store_import(FILE *in, const char *name, const char *out_path,
                 const char *secret, char *errbuf, size_t errlen)
{
    struct jl p;
    struct store_session sess;
    struct store_writer *w = NULL;
    char *line = NULL;
    size_t cap = 0, len = 0, cseq_cap = 0;
    int64_t nconn = 0, next_seq = 1, *cseq = NULL, prev_mono = -1;
    int trailer = 0, ended = 0;
    int64_t nsess = 1;
    int rc, got, i;
    char cerr[512];

    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
    }
    if (in == NULL || out_path == NULL) {
        return store__err(errbuf, errlen, MD_E_INVAL, "import: no input");
    }
    if (access(out_path, F_OK) == 0) {
        return store__err(errbuf, errlen, MD_E_INVAL,
                          "%s: already exists (import writes a new capture)",
                          out_path);
    }
    memset(&p, 0, sizeof p);
    p.name = name ? name : "<input>";
    p.errbuf = errbuf;
    p.errlen = errlen;

    got = jl_getline(&p, in, &line, &cap, &len);
    if (got == 0) {
        rc = store__err(errbuf, errlen, MD_E_PROTO,
                        "%s: empty: expected the header record "
                        "{\"rec\":\"capture\",...}",
                        p.name);
        goto out;
    }
    rc = got < 0 ? got : MD_OK;
    if (rc == MD_OK) {
        p.buf = line;
        p.len = len;
        rc = jl_parse(&p);
    }
    if (rc == MD_OK) {
        rc = jl_header(&p, &trailer);
    }
    if (rc != MD_OK) {
        goto out;
    }
    got = jl_getline(&p, in, &line, &cap, &len);
    if (got == 0) {
        rc = store__err(errbuf, errlen, MD_E_PROTO,
                        "%s:%ld: ends after the header: expected a "
                        "\"session\" record",
                        p.name, p.lineno);
        goto out;
    }
    rc = got < 0 ? got : MD_OK;
    if (rc == MD_OK) {
        p.buf = line;
        p.len = len;
        rc = jl_parse(&p);
    }
    if (rc == MD_OK) {
        rc = jl_session(&p, &sess, 1);
        prev_mono = sess.started_mono_ns;
    }
    if (rc == MD_OK) {
        rc = store_writer_open(out_path, &sess, secret, NULL, &w, cerr,
                               sizeof cerr);
        if (rc != MD_OK) {
            if (rc == MD_E_INVAL && strstr(cerr, "config") != NULL) {
                rc = jl_fail(&p, p.v[JK_CONFIG].off, MD_E_PROTO,
                             "config is not valid JSON");
            } else {
                store__err(errbuf, errlen, rc, "%s", cerr);
            }
            goto out;
        }
    }
    if (rc != MD_OK) {
        goto out;
    }
    while ((got = jl_getline(&p, in, &line, &cap, &len)) == 1) {
        p.buf = line;
        p.len = len;
        rc = jl_parse(&p);
        if (rc != MD_OK) {
            break;
        }
        if (ended) {
            rc = jl_fail(&p, 0, MD_E_PROTO, "a record after the end record");
        } else if (jl_rec_is(&p, "end")) {
            rc = jl_end(&p, next_seq - 1, w);
            ended = 1;
        } else if (jl_rec_is(&p, "event")) {
            rc = jl_event(&p, w, nconn, &next_seq, &cseq, &cseq_cap,
                          &prev_mono);
        } else if (jl_rec_is(&p, "conn")) {
            rc = jl_conn(&p, w, &nconn);
        } else if (jl_rec_is(&p, "session")) {
            /* further sessions come before any connection or event */
            if (nconn > 0 || next_seq > 1) {
                rc = jl_fail(&p, 0, MD_E_PROTO,
                             "a session after connections or events (the "
                             "sessions come first)");
            } else {
                struct store_session more;
                rc = jl_session(&p, &more, ++nsess);
                if (rc == MD_OK) {
                    rc = store_session_add(w, &more);
                    if (rc != MD_OK) {
                        rc = jl_fail(&p, 0, rc, "cannot record session "
                                     "%" PRId64 ": %s", nsess,
                                     md_strerror(rc));
                    }
                }
            }
        } else if (p.v[JK_REC].present) {
            rc = jl_fail(&p, p.v[JK_REC].off, MD_E_PROTO,
                         "\"rec\" must be \"conn\" or \"event\" here");
        } else {
            rc = jl_need(&p, JK_REC);
        }
        if (rc != MD_OK) {
            break;
        }
    }
    if (rc == MD_OK && got < 0) {
        rc = got;
    }
    if (rc == MD_OK && trailer && !ended) {
        rc = store__err(errbuf, errlen, MD_E_PROTO,
                        "%s:%ld: ends without its end record "
                        "{\"rec\":\"end\",...}: the file was cut short",
                        p.name, p.lineno);
    }
    if (rc == MD_OK && !trailer && w != NULL) {
        /* an older export: whether it is whole cannot be told */
        store_writer_set_end_state(w, STORE_STATE_UNKNOWN);
    }
out:
    if (w != NULL) {
        int crc = store_writer_close(w, cerr, sizeof cerr);
        if (rc == MD_OK && crc != MD_OK) {
            rc = store__err(errbuf, errlen, crc, "%s", cerr);
        }
    }
    if (rc != MD_OK && w != NULL) {
        char pth[4096];
        unlink(out_path);
        snprintf(pth, sizeof pth, "%s-wal", out_path);
        unlink(pth);
        snprintf(pth, sizeof pth, "%s-shm", out_path);
        unlink(pth);
    }
    for (i = 0; i < 4; i++) {
        free(p.s[i]);
    }
    free(p.bin);
    free(cseq);
    free(line);
    return rc;
}
