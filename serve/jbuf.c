/* jbuf.c: see jbuf.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bar_codec.h"
#include "jbuf.h"
#include "md_err.h"

void jb_put(struct jb *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        char *p;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void jb_s(struct jb *b, const char *s)
{
    jb_put(b, s, strlen(s));
}

void jb_i64(struct jb *b, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%" PRId64, v);

    jb_put(b, t, (size_t)n);
}

/* The length of the valid UTF-8 sequence at p[0..n) (RFC 3629: no
 * overlongs, no surrogates, nothing above U+10FFFF), 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (p[0] < 0x80) {
        return 1;
    } else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
        cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (len > n) {
        return 0;
    }
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    return len;
}

void jb_str(struct jb *b, const char *s, size_t n)
{
    size_t i = 0;

    jb_put(b, "\"", 1);
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        size_t l;
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            jb_put(b, e, 2);
            i++;
        } else if (ch < 0x20 || ch == 0x7f) {
            char e[8];
            int k = snprintf(e, sizeof e, "\\u%04x", ch);
            jb_put(b, e, (size_t)k);
            i++;
        } else if ((l = utf8_len((const unsigned char *)s + i, n - i)) ==
                   0) {
            /* not UTF-8: a replacement character, so every frame and
             * body stays valid text */
            jb_put(b, "\\ufffd", 6);
            i++;
        } else {
            jb_put(b, s + i, l);
            i += l;
        }
    }
    jb_put(b, "\"", 1);
}

void jb_dbl(struct jb *b, double x)
{
    char t[40];
    size_t n = bar_fmt_double(x, t);

    jb_put(b, t, n);
}

int jb_ok(struct jb *b)
{
    if (b->oom) {
        jb_free(b);
        return MD_E_NOMEM;
    }
    return MD_OK;
}

void jb_free(struct jb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
