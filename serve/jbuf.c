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

void jb_str(struct jb *b, const char *s, size_t n)
{
    size_t i;

    jb_put(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            char e[2] = {'\\', (char)ch};
            jb_put(b, e, 2);
        } else if (ch < 0x20 || ch == 0x7f) {
            char e[8];
            int k = snprintf(e, sizeof e, "\\u%04x", ch);
            jb_put(b, e, (size_t)k);
        } else {
            jb_put(b, s + i, 1);
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
