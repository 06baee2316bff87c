/* store_redact.c: the capture store's redaction: every form of the
 * secret we know (as given, percent-encoded, JSON-escaped, base64 in both
 * alphabets, and credentials behind known marks) is replaced with
 * "REDACTED" before a byte is queued, so it never reaches SQLite (and so
 * never its WAL or free pages either). docs/capture-format.md, "Secrets". */
#define _GNU_SOURCE /* memmem */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "md_err.h"
#include "store_int.h"

#define STORE_REDACTED "REDACTED"

void store__red_free(struct store_red *rd)
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

int store__red_init(struct store_red *rd, const char *secret)
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

int store__buf_put(struct store_buf *b, const void *p, size_t n)
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
int store__redact(const struct store_red *rd, const void *src, size_t len,
                  struct store_buf *a, struct store_buf *b,
                  const unsigned char **out, size_t *out_len, int creds)
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
int store__clean_text(const struct store_red *rd, const char *s,
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
