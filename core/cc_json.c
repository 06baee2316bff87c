/* cc_json.c: the flat, bounded JSON scanner (see cc_json.h).
 *
 * Every read is guarded by pos < len; the input is never assumed to be
 * NUL-terminated. No allocation, no recursion beyond CC_JSON_MAX_DEPTH
 * (cc_json_skip), no I/O, no setlocale: strtod runs in the C locale the
 * program never leaves. */
#include "cc_json.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "md_err.h"
#include "md_float.h"

/* Bytes that stop the fast string loop: '"', '\\' and the control bytes
 * JSON forbids inside strings. */
static const uint8_t str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1,
};

void cc_json_init(struct cc_json *j, const char *buf, size_t len,
                  struct cc_err *err)
{
    j->buf = buf;
    j->len = buf ? len : 0;
    j->pos = 0;
    j->depth = 0;
    j->first = false;
    j->err = err;
    if (err) {
        err->rc = MD_OK;
        err->off = 0;
        err->what = NULL;
    }
}

int cc_json_fail(struct cc_json *j, int rc, size_t off, const char *what)
{
    if (j->err && j->err->rc == MD_OK) {
        j->err->rc = rc;
        j->err->off = off;
        j->err->what = what;
    }
    return rc;
}

/* Truncated when the input ended, malformed otherwise. */
static int fail_at(struct cc_json *j, size_t off, const char *what)
{
    if (off >= j->len) {
        return cc_json_fail(j, MD_E_TRUNC, j->len, "truncated input");
    }
    return cc_json_fail(j, MD_E_PROTO, off, what);
}

int cc_json__expect(struct cc_json *j, const char *what)
{
    return fail_at(j, j->pos, what);
}

int cc_json__peek_ws(struct cc_json *j)
{
    size_t i = j->pos;
    const char *b = j->buf;
    while (i < j->len) {
        unsigned char c = (unsigned char)b[i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            j->pos = i;
            return c;
        }
        i++;
    }
    j->pos = i;
    return -1;
}

static int open_container(struct cc_json *j, int want, const char *what)
{
    int c = cc_json_peek(j);
    if (c != want) {
        return fail_at(j, j->pos, what);
    }
    if (j->depth >= CC_JSON_MAX_DEPTH) {
        return cc_json_fail(j, MD_E_PROTO, j->pos, "nesting too deep");
    }
    j->depth++;
    j->pos++;
    j->first = true;
    return MD_OK;
}

int cc_json_obj_begin(struct cc_json *j)
{
    return open_container(j, '{', "expected an object");
}

int cc_json_arr_begin(struct cc_json *j)
{
    return open_container(j, '[', "expected an array");
}

int cc_json_arr_next(struct cc_json *j)
{
    int c = cc_json_peek(j);

    if (c == ']') {
        j->pos++;
        j->depth--;
        j->first = false;
        return 0;
    }
    if (!j->first) {
        if (c != ',') {
            return fail_at(j, j->pos, "expected ',' or ']'");
        }
        j->pos++;
        if (cc_json_peek(j) < 0) {
            return fail_at(j, j->pos, "truncated input");
        }
    } else if (c < 0) {
        return fail_at(j, j->pos, "truncated input");
    }
    j->first = false;
    return 1;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* The general string loop, resumed at i (the fast path stopped there):
 * escapes, control bytes, truncation. */
int cc_json__str_slow(struct cc_json *j, size_t i, struct cc_str *out)
{
    const char *b = j->buf;
    size_t n = j->len;
    bool esc = false;

    for (;;) {
        unsigned char c;
        while (i < n && !str_stop[(unsigned char)b[i]]) {
            i++;
        }
        if (i >= n) {
            return fail_at(j, n, "unterminated string");
        }
        c = (unsigned char)b[i];
        if (c == '"') {
            break;
        }
        if (c != '\\') {
            return cc_json_fail(j, MD_E_PROTO, i, "control byte in string");
        }
        esc = true;
        if (i + 1 >= n) {
            return fail_at(j, n, "truncated escape");
        }
        c = (unsigned char)b[i + 1];
        switch (c) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n':
        case 'r': case 't':
            i += 2;
            break;
        case 'u': {
            size_t k;
            for (k = 2; k < 6; k++) {
                if (i + k >= n) {
                    return fail_at(j, n, "truncated \\u escape");
                }
                if (hexval((unsigned char)b[i + k]) < 0) {
                    return cc_json_fail(j, MD_E_PROTO, i + k,
                                        "bad \\u escape");
                }
            }
            i += 6;
            break;
        }
        default:
            return cc_json_fail(j, MD_E_PROTO, i + 1, "bad escape");
        }
    }
    out->p = b + j->pos + 1;
    out->len = i - (j->pos + 1);
    out->esc = esc;
    j->pos = i + 1;
    return MD_OK;
}

/* Validate one number token starting at j->pos (RFC 8259 grammar) and
 * return its end in *end. Consumes nothing. */
static int num_scan(struct cc_json *j, size_t *end)
{
    const char *b = j->buf;
    size_t n = j->len;
    size_t i = j->pos;

    if (i < n && b[i] == '-') {
        i++;
    }
    if (i >= n) {
        return fail_at(j, n, "truncated number");
    }
    if (b[i] == '0') {
        i++;
        if (i < n && b[i] >= '0' && b[i] <= '9') {
            return cc_json_fail(j, MD_E_PROTO, i, "leading zero in number");
        }
    } else if (b[i] >= '1' && b[i] <= '9') {
        while (i < n && b[i] >= '0' && b[i] <= '9') {
            i++;
        }
    } else {
        return cc_json_fail(j, MD_E_PROTO, i, "expected a digit");
    }
    if (i < n && b[i] == '.') {
        i++;
        if (i >= n) {
            return fail_at(j, n, "truncated number");
        }
        if (b[i] < '0' || b[i] > '9') {
            return cc_json_fail(j, MD_E_PROTO, i, "expected a digit");
        }
        while (i < n && b[i] >= '0' && b[i] <= '9') {
            i++;
        }
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
        i++;
        if (i < n && (b[i] == '+' || b[i] == '-')) {
            i++;
        }
        if (i >= n) {
            return fail_at(j, n, "truncated number");
        }
        if (b[i] < '0' || b[i] > '9') {
            return cc_json_fail(j, MD_E_PROTO, i, "expected a digit");
        }
        while (i < n && b[i] >= '0' && b[i] <= '9') {
            i++;
        }
    }
    *end = i;
    return MD_OK;
}

/* Accumulate the digits text[*i..) into *m (value m * 10^*exp). Digits
 * that no longer fit are dropped: integer-part ones still scale the value
 * (*exp + 1), and a dropped non-zero digit makes the result inexact. */
static void digits(const char *text, size_t len, size_t *i, bool frac,
                   uint64_t limit, uint64_t *m, long *exp, bool *inexact)
{
    size_t k = *i;
    uint64_t v = *m;
    long e = *exp;

    while (k < len) {
        unsigned dg = (unsigned)((unsigned char)text[k] - '0');
        if (dg > 9) {
            break;
        }
        /* v < 10^17 guarantees v*10+9 < 10^18 < 2^63: no check. */
        if (v < UINT64_C(100000000000000000)) {
            v = v * 10 + dg;
            e -= frac ? 1 : 0;
        } else if (v <= (limit - dg) / 10) {
            v = v * 10 + dg;
            e -= frac ? 1 : 0;
        } else {
            e += frac ? 0 : 1;
            if (dg != 0) {
                *inexact = true;
            }
        }
        k++;
    }
    *i = k;
    *m = v;
    *exp = e;
}

/* Convert a token num_scan accepted. */
static int num_convert(const char *text, size_t len, struct cc_num *out)
{
    size_t i = 0;
    bool neg = false;
    bool inexact = false;
    uint64_t m = 0;
    uint64_t limit;
    long exp = 0; /* value = m * 10^exp */
    double d;

    if (len > CC_JSON_MAX_NUM) {
        return MD_E_RANGE;
    }
    if (i < len && text[i] == '-') {
        neg = true;
        i++;
    }
    /* 2^63 for negatives so INT64_MIN is exact, 2^63-1 otherwise. */
    limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    digits(text, len, &i, false, limit, &m, &exp, &inexact);
    if (i < len && text[i] == '.') {
        i++;
        digits(text, len, &i, true, limit, &m, &exp, &inexact);
    }
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        /* Explicit exponent: clamped; beyond int16 it is inexact anyway. */
        long e = 0;
        bool eneg = false;
        i++;
        if (i < len && (text[i] == '+' || text[i] == '-')) {
            eneg = text[i] == '-';
            i++;
        }
        for (; i < len; i++) {
            if (e < 100000) {
                e = e * 10 + (text[i] - '0');
            }
        }
        exp += eneg ? -e : e;
    }
    /* Canonical form: no trailing zeros in the mantissa. */
    if (m == 0) {
        exp = 0;
    } else {
        while (m % 10 == 0) {
            m /= 10;
            exp++;
        }
    }
    out->dec.exact = !inexact && exp >= INT16_MIN && exp <= INT16_MAX;
    if (exp >= INT16_MIN && exp <= INT16_MAX) {
        out->dec.exp10 = (int16_t)exp;
        if (!neg) {
            out->dec.mant = (int64_t)m;
        } else if (m > (uint64_t)INT64_MAX) {
            out->dec.mant = INT64_MIN; /* m is exactly 2^63 here */
        } else {
            out->dec.mant = -(int64_t)m;
        }
    } else {
        out->dec.exp10 = 0;
        out->dec.mant = 0;
    }

    /* Clinger: both operands exact in a double, one IEEE operation, so the
     * result is correctly rounded. Needs double evaluation (no x87). */
    if (out->dec.exact && m <= (UINT64_C(1) << 53) && exp >= -22 &&
        exp <= 22 && sizeof(double_t) == sizeof(double)) {
        d = (double)m;
        if (exp >= 0) {
            d *= md_pow10_exact[exp];
        } else {
            d /= md_pow10_exact[-exp];
        }
        out->d = neg ? -d : d;
        return MD_OK;
    }
    /* An integral value over 2^53, or up to 19 fraction digits: one
     * exact integer division, correctly rounded. */
    if (out->dec.exact && exp <= 0 && exp >= -19 &&
        md_ratio_pow10(m, (unsigned)-exp, &d)) {
        out->d = neg ? -d : d;
        return MD_OK;
    }
    {
        char tmp[CC_JSON_MAX_NUM + 1];
        memcpy(tmp, text, len);
        tmp[len] = '\0';
        d = strtod(tmp, NULL);
    }
    if (!isfinite(d)) {
        return MD_E_RANGE;
    }
    out->d = d;
    return MD_OK;
}

int cc_num_parse(const char *text, size_t len, struct cc_num *out)
{
    struct cc_json j;
    size_t end;

    if (!text || !out || len == 0 || len > CC_JSON_MAX_NUM) {
        return len > CC_JSON_MAX_NUM ? MD_E_RANGE : MD_E_INVAL;
    }
    cc_json_init(&j, text, len, NULL);
    if ((text[0] != '-' && (text[0] < '0' || text[0] > '9')) ||
        num_scan(&j, &end) < 0 || end != len) {
        return MD_E_PROTO;
    }
    return num_convert(text, len, out);
}

int cc_json__num_slow(struct cc_json *j, struct cc_num *out)
{
    size_t end;
    int rc;
    int c = cc_json_peek(j);

    if (c != '-' && (c < '0' || c > '9')) {
        return fail_at(j, j->pos, "expected a number");
    }
    rc = num_scan(j, &end);
    if (rc < 0) {
        return rc;
    }
    rc = num_convert(j->buf + j->pos, end - j->pos, out);
    if (rc < 0) {
        return cc_json_fail(j, rc, j->pos, "number out of range");
    }
    j->pos = end;
    return MD_OK;
}

static int literal(struct cc_json *j, const char *lit, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (j->pos + i >= j->len) {
            return fail_at(j, j->len, "truncated literal");
        }
        if (j->buf[j->pos + i] != lit[i]) {
            return cc_json_fail(j, MD_E_PROTO, j->pos + i, "bad literal");
        }
    }
    j->pos += n;
    return MD_OK;
}

int cc_json_bool(struct cc_json *j, bool *out)
{
    int c = cc_json_peek(j);
    if (c == 't') {
        *out = true;
        return literal(j, "true", 4);
    }
    if (c == 'f') {
        *out = false;
        return literal(j, "false", 5);
    }
    return fail_at(j, j->pos, "expected true or false");
}

int cc_json_null(struct cc_json *j)
{
    int rc;
    if (cc_json_peek(j) != 'n') {
        return 0;
    }
    rc = literal(j, "null", 4);
    return rc < 0 ? rc : 1;
}

int cc_json_skip(struct cc_json *j)
{
    struct cc_str s;
    size_t end;
    int rc;
    int c = cc_json_peek(j);

    switch (c) {
    case '{':
        rc = cc_json_obj_begin(j);
        while (rc >= 0) {
            rc = cc_json_obj_next(j, &s);
            if (rc <= 0) {
                break;
            }
            rc = cc_json_skip(j);
        }
        return rc < 0 ? rc : MD_OK;
    case '[':
        rc = cc_json_arr_begin(j);
        while (rc >= 0) {
            rc = cc_json_arr_next(j);
            if (rc <= 0) {
                break;
            }
            rc = cc_json_skip(j);
        }
        return rc < 0 ? rc : MD_OK;
    case '"':
        return cc_json_str(j, &s);
    case 't':
        return literal(j, "true", 4);
    case 'f':
        return literal(j, "false", 5);
    case 'n':
        return literal(j, "null", 4);
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            rc = num_scan(j, &end);
            if (rc < 0) {
                return rc;
            }
            if (end - j->pos > CC_JSON_MAX_NUM) {
                return cc_json_fail(j, MD_E_RANGE, j->pos, "number too long");
            }
            j->pos = end;
            return MD_OK;
        }
        return fail_at(j, j->pos, "expected a value");
    }
}

int cc_json_end(struct cc_json *j)
{
    if (cc_json_peek(j) >= 0) {
        return cc_json_fail(j, MD_E_PROTO, j->pos, "trailing garbage");
    }
    return MD_OK;
}

int cc_dec_to_i64(const struct cc_dec *d, int64_t *out)
{
    int64_t v = d->mant;
    int k;

    if (!d->exact) {
        return MD_E_RANGE;
    }
    if (d->exp10 < 0) {
        return MD_E_PROTO;
    }
    for (k = 0; k < d->exp10; k++) {
        if (v > INT64_MAX / 10 || v < INT64_MIN / 10) {
            return MD_E_RANGE;
        }
        v *= 10;
    }
    *out = v;
    return MD_OK;
}

/* Write code point cp as UTF-8 at out[*n..cap). */
static int put_utf8(char *out, size_t cap, size_t *n, uint32_t cp)
{
    unsigned char u[4];
    size_t k = 0;
    size_t i;

    if (cp < 0x80) {
        u[k++] = (unsigned char)cp;
    } else if (cp < 0x800) {
        u[k++] = (unsigned char)(0xC0 | (cp >> 6));
        u[k++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        u[k++] = (unsigned char)(0xE0 | (cp >> 12));
        u[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[k++] = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        u[k++] = (unsigned char)(0xF0 | (cp >> 18));
        u[k++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        u[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[k++] = (unsigned char)(0x80 | (cp & 0x3F));
    }
    for (i = 0; i < k; i++) {
        if (*n >= cap) {
            return MD_E_FULL;
        }
        out[(*n)++] = (char)u[i];
    }
    return MD_OK;
}

/* Read the 4 hex digits of a \u escape at p[i..i+4). */
static int hex4(const char *p, size_t len, size_t i, uint32_t *cp)
{
    uint32_t v = 0;
    size_t k;
    if (i + 4 > len) {
        return MD_E_PROTO;
    }
    for (k = 0; k < 4; k++) {
        int h = hexval((unsigned char)p[i + k]);
        if (h < 0) {
            return MD_E_PROTO;
        }
        v = (v << 4) | (uint32_t)h;
    }
    *cp = v;
    return MD_OK;
}

int cc_str_unescape(const struct cc_str *s, char *out, size_t cap,
                    size_t *out_len)
{
    const char *p = s->p;
    size_t len = s->len;
    size_t i = 0;
    size_t n = 0;
    int rc = MD_OK;

    while (i < len && rc == MD_OK) {
        char c = p[i];
        uint32_t cp;
        if (c != '\\') {
            if (n >= cap) {
                rc = MD_E_FULL;
                break;
            }
            out[n++] = c;
            i++;
            continue;
        }
        if (i + 1 >= len) {
            rc = MD_E_PROTO;
            break;
        }
        switch (p[i + 1]) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u':
            rc = hex4(p, len, i + 2, &cp);
            if (rc < 0) {
                break;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (i + 7 >= len || p[i + 6] != '\\' || p[i + 7] != 'u' ||
                    hex4(p, len, i + 8, &lo) < 0 || lo < 0xDC00 ||
                    lo > 0xDFFF) {
                    rc = MD_E_PROTO;
                    break;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                rc = MD_E_PROTO;
                break;
            }
            i += 4;
            break;
        default:
            rc = MD_E_PROTO;
            break;
        }
        if (rc < 0) {
            break;
        }
        i += 2;
        rc = put_utf8(out, cap, &n, cp);
    }
    *out_len = n;
    return rc;
}

bool cc_str_eq(const struct cc_str *s, const char *lit, size_t lit_len)
{
    char tmp[256];
    size_t n;

    if (!s->esc) {
        return s->len == lit_len && memcmp(s->p, lit, lit_len) == 0;
    }
    if (lit_len >= sizeof tmp) {
        return false;
    }
    /* One spare byte: a longer value must not compare equal. */
    if (cc_str_unescape(s, tmp, lit_len + 1, &n) != MD_OK) {
        return false;
    }
    return n == lit_len && memcmp(tmp, lit, lit_len) == 0;
}
