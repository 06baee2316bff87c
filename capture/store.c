/* store.c: the capture store: SQLite writer (batched, WAL, background
 * thread, bounded queue, redaction before queueing) and streaming reader.
 * Format and rationale: docs/capture-format.md. The writer's thread is the
 * only one that touches its sqlite3 handle after store_writer_open; the
 * secret never reaches SQLite (every text and blob is redacted first).
 *
 * One file, long: the schema, the row encodings and the checks of times
 * and connections are written once and used by the writer and the reader;
 * the seam to split along (writer / reader over store_int.h) is noted in
 * docs/ARCHITECTURE.md. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cc_json.h"
#include "md_err.h"
#include "store.h"
#include "store_int.h"

/* PRAGMA application_id of every capture: "ccst". `file` and the reader
 * use it to tell a capture from any other SQLite database. */
#define STORE_APP_ID 0x63637374

/* Largest payload or meta of one event: SQLite's default length limit
 * (SQLITE_MAX_LENGTH) less room for the redaction marker growing it. */
#define STORE_MAX_BYTES ((size_t)900000000)

#define STORE_REDACTED "REDACTED"
#define STORE_RED_MAX 24

/* ---------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------- */

static const struct {
    int kind;
    const char *name;
} store_kinds[] = {
    {STORE_K_WS_CONNECT, "ws_connect"},
    {STORE_K_WS_HANDSHAKE, "ws_handshake"},
    {STORE_K_WS_TEXT, "ws_text"},
    {STORE_K_WS_BINARY, "ws_binary"},
    {STORE_K_WS_PING, "ws_ping"},
    {STORE_K_WS_PONG, "ws_pong"},
    {STORE_K_WS_CLOSE, "ws_close"},
    {STORE_K_WS_CLOSED, "ws_closed"},
    {STORE_K_WS_ERROR, "ws_error"},
    {STORE_K_HTTP_REQUEST, "http_request"},
    {STORE_K_HTTP_RESPONSE, "http_response"},
    {STORE_K_HTTP_ERROR, "http_error"},
    {STORE_K_TIMER, "timer"},
    {STORE_K_DELIVERY, "delivery"},
    {STORE_K_ADMIN, "admin"},
    {STORE_K_SIGNAL, "signal"},
    {STORE_K_OPERATOR, "operator"},
    {STORE_K_CORE_OUT, "core_out"},
};
#define STORE_NKINDS (sizeof store_kinds / sizeof store_kinds[0])

static const char *const store_dirs[] = {"in", "out", "local"};

const char *store_kind_name(int kind)
{
    size_t i;

    for (i = 0; i < STORE_NKINDS; i++) {
        if (store_kinds[i].kind == kind) {
            return store_kinds[i].name;
        }
    }
    return "?";
}

/* The kinds this version writes (store.h); a switch, for the hot path. */
static int store__kind_ok(int kind)
{
    switch (kind) {
    case STORE_K_WS_CONNECT:
    case STORE_K_WS_HANDSHAKE:
    case STORE_K_WS_TEXT:
    case STORE_K_WS_BINARY:
    case STORE_K_WS_PING:
    case STORE_K_WS_PONG:
    case STORE_K_WS_CLOSE:
    case STORE_K_WS_CLOSED:
    case STORE_K_WS_ERROR:
    case STORE_K_HTTP_REQUEST:
    case STORE_K_HTTP_RESPONSE:
    case STORE_K_HTTP_ERROR:
    case STORE_K_TIMER:
    case STORE_K_DELIVERY:
    case STORE_K_ADMIN:
    case STORE_K_SIGNAL:
    case STORE_K_OPERATOR:
    case STORE_K_CORE_OUT:
        return 1;
    default:
        return 0;
    }
}

const char *store_dir_name(int dir)
{
    if (dir >= STORE_D_IN && dir <= STORE_D_LOCAL) {
        return store_dirs[dir];
    }
    return "?";
}

int store_kind_from_name(const char *name)
{
    size_t i;

    if (name == NULL) {
        return STORE_K_INVALID;
    }
    for (i = 0; i < STORE_NKINDS; i++) {
        if (strcmp(store_kinds[i].name, name) == 0) {
            return store_kinds[i].kind;
        }
    }
    return STORE_K_INVALID;
}

/* ---------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------- */

int store__err(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;

    if (errbuf != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0. */
static size_t store__utf8_seq(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i], lo = 0x80, hi = 0xBF;
    size_t k, need;

    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) {
            lo = 0xA0; /* no overlongs */
        } else if (c == 0xED) {
            hi = 0x9F; /* no surrogates */
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F; /* nothing above U+10FFFF */
        }
    } else {
        return 0;
    }
    if (n - i <= need || s[i + 1] < lo || s[i + 1] > hi) {
        return 0;
    }
    for (k = 2; k <= need; k++) {
        if (s[i + k] < 0x80 || s[i + k] > 0xBF) {
            return 0;
        }
    }
    return need + 1;
}

int store_utf8_valid(const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i = 0, k;

    while (i < n) {
        /* ASCII runs, eight bytes at a time. */
        if (s[i] < 0x80) {
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & UINT64_C(0x8080808080808080)) {
                    break;
                }
                i += 8;
            }
            while (i < n && s[i] < 0x80) {
                i++;
            }
            continue;
        }
        k = store__utf8_seq(s, n, i);
        if (k == 0) {
            return 0;
        }
        i += k;
    }
    return 1;
}

static int store__json_ok(const char *text, size_t len, int object)
{
    struct cc_json j;
    struct cc_err e;

    if (!store_utf8_valid(text, len)) {
        return 0;
    }
    cc_json_init(&j, text, len, &e);
    if (object && cc_json_peek(&j) != '{') {
        return 0;
    }
    if (cc_json_skip(&j) != MD_OK || cc_json_end(&j) != MD_OK) {
        return 0;
    }
    return 1;
}

int store__json_object_ok(const char *text, size_t len)
{
    return store__json_ok(text, len, 1);
}

int store__json_value_ok(const char *text, size_t len)
{
    return store__json_ok(text, len, 0);
}

static const char store_b64std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char store_b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t store__b64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void store__b64_enc(const unsigned char *src, size_t n, char *dst, int url)
{
    const char *a = url ? store_b64url : store_b64std;
    size_t i = 0, o = 0;

    while (n - i >= 3) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 |
                     src[i + 2];
        dst[o++] = a[v >> 18 & 63];
        dst[o++] = a[v >> 12 & 63];
        dst[o++] = a[v >> 6 & 63];
        dst[o++] = a[v & 63];
        i += 3;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)src[i] << 16;
        dst[o++] = a[v >> 18 & 63];
        dst[o++] = a[v >> 12 & 63];
        dst[o++] = '=';
        dst[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
        dst[o++] = a[v >> 18 & 63];
        dst[o++] = a[v >> 12 & 63];
        dst[o++] = a[v >> 6 & 63];
        dst[o++] = '=';
    }
}

static int store__b64_val(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

size_t store__b64_dec(const char *src, size_t n, unsigned char *dst)
{
    size_t i, o = 0;

    if (n % 4 != 0) {
        return (size_t)-1;
    }
    for (i = 0; i < n; i += 4) {
        int v0 = store__b64_val((unsigned char)src[i]);
        int v1 = store__b64_val((unsigned char)src[i + 1]);
        int v2, v3;
        int last = i + 4 == n;

        if (v0 < 0 || v1 < 0) {
            return (size_t)-1;
        }
        dst[o++] = (unsigned char)(v0 << 2 | v1 >> 4);
        if (last && src[i + 2] == '=' && src[i + 3] == '=') {
            if (v1 & 15) {
                return (size_t)-1; /* not canonical */
            }
            break;
        }
        v2 = store__b64_val((unsigned char)src[i + 2]);
        if (v2 < 0) {
            return (size_t)-1;
        }
        dst[o++] = (unsigned char)((v1 & 15) << 4 | v2 >> 2);
        if (last && src[i + 3] == '=') {
            if (v2 & 3) {
                return (size_t)-1;
            }
            break;
        }
        v3 = store__b64_val((unsigned char)src[i + 3]);
        if (v3 < 0) {
            return (size_t)-1;
        }
        dst[o++] = (unsigned char)((v2 & 3) << 6 | v3);
    }
    return o;
}

static int64_t store__now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---------------------------------------------------------------------
 * Redaction: every form of the secret we know is replaced with
 * "REDACTED" before a byte is queued, so it never reaches SQLite (and so
 * never its WAL or free pages either).
 * ------------------------------------------------------------------- */

struct store_red {
    size_t n;
    char *pat[STORE_RED_MAX];
    size_t len[STORE_RED_MAX];
};

static void store__red_free(struct store_red *rd)
{
    size_t i;

    for (i = 0; i < rd->n; i++) {
        free(rd->pat[i]);
    }
    rd->n = 0;
}

/* Add p[0..len) unless empty, shorter than minlen or already present. */
static int store__red_add(struct store_red *rd, const char *p, size_t len,
                          size_t minlen)
{
    size_t i;
    char *c;

    if (len == 0 || len < minlen) {
        return MD_OK;
    }
    for (i = 0; i < rd->n; i++) {
        if (rd->len[i] == len && memcmp(rd->pat[i], p, len) == 0) {
            return MD_OK;
        }
    }
    if (rd->n == STORE_RED_MAX) {
        return MD_E_FULL;
    }
    c = malloc(len);
    if (c == NULL) {
        return MD_E_NOMEM;
    }
    memcpy(c, p, len);
    rd->pat[rd->n] = c;
    rd->len[rd->n] = len;
    rd->n++;
    return MD_OK;
}

/* Percent-encode everything outside RFC 3986 "unreserved"; form != 0
 * writes a space as '+'. out needs 3 * n bytes. */
static size_t store__pct(const unsigned char *s, size_t n, char *out,
                         int upper, int form)
{
    const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = s[i];
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
    return o;
}

/* The secret as it appears inside a JSON string ('/' as "\/" too). */
static size_t store__jsonesc(const unsigned char *s, size_t n, char *out,
                             int slash)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\' || (slash && c == '/')) {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)snprintf(out + o, 7, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    return o;
}

static int store__red_init(struct store_red *rd, const char *secret)
{
    const unsigned char *k = (const unsigned char *)secret;
    size_t n, shift, cap;
    char *buf = NULL;
    unsigned char *pre = NULL;
    int rc = MD_OK, url;

    rd->n = 0;
    if (secret == NULL || secret[0] == '\0') {
        return MD_OK;
    }
    n = strlen(secret);
    cap = 6 * n + 16 + store__b64_len(n + 2);
    buf = malloc(cap);
    pre = malloc(n + 2);
    if (buf == NULL || pre == NULL) {
        rc = MD_E_NOMEM;
        goto out;
    }
    /* Longest first: at one position the longest match wins. */
    store__b64_enc(k, n, buf, 0);
    rc = store__red_add(rd, buf, store__b64_len(n), 1);
    if (rc == MD_OK) {
        rc = store__red_add(rd, buf, store__pct(k, n, buf, 1, 0), 1);
    }
    if (rc == MD_OK) {
        rc = store__red_add(rd, buf, store__pct(k, n, buf, 0, 0), 1);
    }
    if (rc == MD_OK) {
        rc = store__red_add(rd, buf, store__pct(k, n, buf, 1, 1), 1);
    }
    if (rc == MD_OK) {
        rc = store__red_add(rd, buf, store__jsonesc(k, n, buf, 1), 1);
    }
    if (rc == MD_OK) {
        rc = store__red_add(rd, buf, store__jsonesc(k, n, buf, 0), 1);
    }
    if (rc == MD_OK) {
        rc = store__red_add(rd, secret, n, 1);
    }
    /* Base64 at each of the three alignments the secret can have inside
     * a longer encoded text ("Basic base64(user:key)"): the characters
     * that depend on the secret's bytes alone, standard and URL-safe. */
    for (shift = 0; shift < 3 && rc == MD_OK; shift++) {
        size_t first = (8 * shift + 5) / 6;
        size_t last1 = (8 * (shift + n) - 6) / 6 + 1; /* exclusive */
        memset(pre, 0, shift);
        memcpy(pre + shift, k, n);
        for (url = 0; url < 2 && rc == MD_OK; url++) {
            store__b64_enc(pre, shift + n, buf, url);
            if (last1 > first) {
                rc = store__red_add(rd, buf + first, last1 - first, 6);
            }
        }
    }
out:
    free(buf);
    free(pre);
    if (rc != MD_OK) {
        store__red_free(rd);
    }
    return rc;
}

/* A growable byte buffer owned by the caller's thread. */
struct store_buf {
    unsigned char *p;
    size_t len, cap;
};

static int store__buf_put(struct store_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        unsigned char *q;
        while (cap - b->len < n) {
            cap *= 2;
        }
        q = realloc(b->p, cap);
        if (q == NULL) {
            return MD_E_NOMEM;
        }
        b->p = q;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
    return MD_OK;
}

/* One pass: copy src to b with every leftmost-longest occurrence of a
 * pattern replaced. *hits counts the replacements. */
static int store__red_pass(const struct store_red *rd,
                           const unsigned char *src, size_t len,
                           struct store_buf *b, size_t *hits)
{
    size_t next[STORE_RED_MAX];
    size_t pos = 0, i;
    int rc;

    *hits = 0;
    b->len = 0;
    for (i = 0; i < rd->n; i++) {
        const unsigned char *f = memmem(src, len, rd->pat[i], rd->len[i]);
        next[i] = f ? (size_t)(f - src) : SIZE_MAX;
    }
    for (;;) {
        size_t best = SIZE_MAX, at = SIZE_MAX;
        for (i = 0; i < rd->n; i++) {
            if (next[i] < at) {
                at = next[i];
                best = i;
            }
        }
        if (best == SIZE_MAX) {
            break;
        }
        rc = store__buf_put(b, src + pos, at - pos);
        if (rc == MD_OK) {
            rc = store__buf_put(b, STORE_REDACTED, sizeof STORE_REDACTED - 1);
        }
        if (rc != MD_OK) {
            return rc;
        }
        (*hits)++;
        pos = at + rd->len[best];
        for (i = 0; i < rd->n; i++) {
            if (next[i] != SIZE_MAX && next[i] < pos) {
                const unsigned char *f =
                    memmem(src + pos, len - pos, rd->pat[i], rd->len[i]);
                next[i] = f ? (size_t)(f - src) : SIZE_MAX;
            }
        }
    }
    return store__buf_put(b, src + pos, len - pos);
}

/* Credentials in the places they are known to travel, whatever the key:
 * the value of a URL's api_key= parameter, and the token after an
 * Authorization scheme (Apikey, Basic, Bearer; at least 8 token bytes).
 * Case-insensitive. Copies src to b with each such value replaced by
 * REDACTED; *hits counts them. */
static bool store__tok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~' || c == '+' || c == '/' || c == '=' || c == '%';
}

static int store__cred_pass(const unsigned char *src, size_t len,
                            struct store_buf *b, size_t *hits)
{
    static const struct {
        const char *mark;
        size_t min;
    } marks[] = {
        {"api_key=", 1}, {"apikey ", 8}, {"basic ", 8}, {"bearer ", 8},
    };
    size_t pos = 0, i = 0, k;
    int rc;

    *hits = 0;
    b->len = 0;
    while (i < len) {
        size_t vs = 0, ve;
        for (k = 0; k < sizeof marks / sizeof marks[0]; k++) {
            size_t ml = strlen(marks[k].mark);
            if (len - i >= ml &&
                strncasecmp((const char *)src + i, marks[k].mark, ml) == 0) {
                vs = i + ml;
                break;
            }
        }
        if (k == sizeof marks / sizeof marks[0]) {
            i++;
            continue;
        }
        ve = vs;
        while (ve < len && store__tok(src[ve])) {
            ve++;
        }
        if (ve - vs < marks[k].min ||
            (ve - vs == sizeof STORE_REDACTED - 1 &&
             memcmp(src + vs, STORE_REDACTED, ve - vs) == 0)) {
            i = vs > i ? vs : i + 1;
            continue;
        }
        rc = store__buf_put(b, src + pos, vs - pos);
        if (rc == MD_OK) {
            rc = store__buf_put(b, STORE_REDACTED, sizeof STORE_REDACTED - 1);
        }
        if (rc != MD_OK) {
            return rc;
        }
        (*hits)++;
        pos = i = ve;
    }
    return store__buf_put(b, src + pos, len - pos);
}

/* Redact src[0..len). *out is src itself when nothing matched (the
 * common case: no copy), else a[] or b[]'s bytes. Repeats until no
 * pattern is left, in case a replacement formed a new occurrence. With
 * creds, credentials in known places go first (store__cred_pass): texts
 * and meta, never payloads, which stay byte for byte what was sent or
 * received. */
static int store__redact(const struct store_red *rd, const void *src,
                         size_t len, struct store_buf *a,
                         struct store_buf *b, const unsigned char **out,
                         size_t *out_len, int creds)
{
    const unsigned char *cur = src;
    size_t cur_len = len, hits, pass;
    struct store_buf *dst = a;
    int rc;

    *out = cur;
    *out_len = cur_len;
    if (creds && len > 0) {
        rc = store__cred_pass(cur, cur_len, dst, &hits);
        if (rc != MD_OK) {
            return rc;
        }
        if (hits > 0) {
            cur = dst->p;
            cur_len = dst->len;
            *out = cur;
            *out_len = cur_len;
            dst = dst == a ? b : a;
        }
    }
    if (rd->n == 0 || len == 0) {
        return MD_OK;
    }
    for (pass = 0; pass < 8; pass++) {
        rc = store__red_pass(rd, cur, cur_len, dst, &hits);
        if (rc != MD_OK) {
            return rc;
        }
        if (hits == 0) {
            return MD_OK;
        }
        cur = dst->p;
        cur_len = dst->len;
        *out = cur;
        *out_len = cur_len;
        dst = dst == a ? b : a;
    }
    return MD_E_RANGE; /* a pathological secret: refuse rather than leak */
}

/* The text columns (session tool, kind and notes, connection kind, URL
 * and close reason) hold valid UTF-8 so that every text form can show
 * them: s redacted, each byte that does not start a valid sequence
 * replaced with '?', NUL-terminated, into dst. */
static int store__clean_text(const struct store_red *rd, const char *s,
                             struct store_buf *a, struct store_buf *b,
                             struct store_buf *dst)
{
    const unsigned char *p;
    size_t n, i = 0, k;
    int rc;

    rc = store__redact(rd, s, strlen(s), a, b, &p, &n, 1);
    if (rc != MD_OK) {
        return rc;
    }
    dst->len = 0;
    rc = store__buf_put(dst, p, n);
    if (rc == MD_OK) {
        rc = store__buf_put(dst, "", 1);
        dst->len--;
    }
    if (rc != MD_OK) {
        return rc;
    }
    while (i < dst->len) {
        k = store__utf8_seq(dst->p, dst->len, i);
        if (k == 0) {
            dst->p[i] = '?';
            k = 1;
        }
        i += k;
    }
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * Writer
 * ------------------------------------------------------------------- */

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
    for (i = 0; i < STORE_NKINDS && rc == MD_OK; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO kinds VALUES(%d,'%s')",
                 store_kinds[i].kind, store_kinds[i].name);
        rc = store__exec(w->db, sql, w->path, errbuf, errlen);
    }
    for (i = 0; i < 3 && rc == MD_OK; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO dirs VALUES(%zu,'%s')", i,
                 store_dirs[i]);
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

/* ---------------------------------------------------------------------
 * Reader
 * ------------------------------------------------------------------- */

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

const char *store_state_name(int state)
{
    switch (state) {
    case STORE_STATE_WRITING:
        return "incomplete";
    case STORE_STATE_COMPLETE:
        return "complete";
    case STORE_STATE_INTERRUPTED:
        return "interrupted";
    default:
        return "unknown";
    }
}

void store_writer_set_end_state(struct store_writer *w, int state)
{
    if (w != NULL) {
        w->end_state = state;
    }
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
