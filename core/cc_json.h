/* cc_json.h: the flat, bounded JSON scanner under the CryptoCompare decoder.
 *
 * A pull cursor over pointer+length input (never NUL-terminated): it never
 * reads past len, never allocates, never recurses deeper than
 * CC_JSON_MAX_DEPTH, and builds no tree. Pure: no I/O, no clock, no locale
 * changes. Only cc_decode.c and the tests are expected to use it directly. */
#ifndef CC_JSON_H
#define CC_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#include "md_err.h"
#include "md_float.h"
#include "md_types.h"

/* Deepest nesting of objects and arrays accepted in one document. */
#define CC_JSON_MAX_DEPTH 64
/* Longest number token accepted (bytes); longer numbers are MD_E_RANGE. */
#define CC_JSON_MAX_NUM 128

/* Where and why decoding failed. rc is MD_OK or a negative MD_E_* code;
 * off is the byte offset of the offending byte (len for truncation);
 * what is a static English phrase (never NULL after a failure). */
struct cc_err {
    int rc;
    size_t off;
    const char *what;
};

/* A string value, borrowed from the input buffer: p points at the raw bytes
 * between the quotes and len counts them. If esc is true the bytes contain
 * backslash escapes (already validated) and must go through
 * cc_str_unescape() before use; if false they are the value verbatim.
 * Bytes >= 0x80 are passed through unvalidated. Valid only while the input
 * buffer lives. */
struct cc_str {
    const char *p;
    size_t len;
    bool esc;
};

/* An exact decimal: the value is mant * 10^exp10. Canonical: mant carries
 * no trailing zeros (0 is {0, 0}), so "1.50", "1.5" and "15e-1" are all
 * {15, -1}. exact is false when the significant digits do not fit in
 * int64 or the exponent does not fit in int16; then mant/exp10 hold the
 * leading digits truncated toward zero (or {0, 0} when even the exponent
 * overflowed) and only the double is meaningful. */
struct cc_dec {
    int64_t mant;
    int16_t exp10;
    bool exact;
};

/* A JSON number in both forms: d is the correctly rounded double (C
 * locale; always finite), dec the exact decimal. */
struct cc_num {
    double d;
    struct cc_dec dec;
};

/* The cursor. Initialise with cc_json_init(); treat the fields as
 * read-only, except that a caller may restore a copy of the whole struct
 * taken earlier (to walk an object twice). */
struct cc_json {
    const char *buf;
    size_t len;
    size_t pos;
    unsigned depth;
    bool first; /* just after '{' or '[' */
    struct cc_err *err;
};

/* Start a cursor at offset 0 of buf[0..len). err may be NULL; when given it
 * is reset to {MD_OK, 0, NULL} and receives the first failure. buf may be
 * NULL only when len is 0. */
void cc_json_init(struct cc_json *j, const char *buf, size_t len,
                  struct cc_err *err);

/* Record a failure (the first one wins) and return rc. */
int cc_json_fail(struct cc_json *j, int rc, size_t off, const char *what);

/* Consume '{' (or '['). MD_OK, MD_E_TRUNC, MD_E_PROTO (wrong byte, or
 * nesting deeper than CC_JSON_MAX_DEPTH). */
int cc_json_obj_begin(struct cc_json *j);
int cc_json_arr_begin(struct cc_json *j);

/* Step to the next element of the open array: 1 when an element follows
 * (the caller consumes it), 0 when the array closed, or a negative code. */
int cc_json_arr_next(struct cc_json *j);

/* Consume true/false into *out. MD_OK, MD_E_TRUNC, MD_E_PROTO. */
int cc_json_bool(struct cc_json *j, bool *out);

/* If the next value is null, consume it and return 1; otherwise return 0
 * and consume nothing; negative on a malformed/truncated literal. */
int cc_json_null(struct cc_json *j);

/* Consume and validate one value of any kind, nested containers included
 * (bounded by CC_JSON_MAX_DEPTH). MD_OK or a negative code. */
int cc_json_skip(struct cc_json *j);

/* After the top-level value: only whitespace may follow. MD_OK or
 * MD_E_PROTO ("trailing garbage"). */
int cc_json_end(struct cc_json *j);

/* Convert the number token text[0..len) (the whole of it, RFC 8259
 * grammar, no whitespace) into *out: the reference path, no inline fast
 * path. MD_OK; MD_E_PROTO (not exactly one number); MD_E_RANGE (longer
 * than CC_JSON_MAX_NUM, or the double overflows); MD_E_INVAL (NULL or
 * empty). */
int cc_num_parse(const char *text, size_t len, struct cc_num *out);

/* The exact int64 value of an integral decimal. MD_OK, MD_E_RANGE (does
 * not fit in int64, or !d->exact), MD_E_PROTO (has a fractional part). */
int cc_dec_to_i64(const struct cc_dec *d, int64_t *out);

/* Unescape s into out[0..cap) as UTF-8 (surrogate pairs joined), setting
 * *out_len. Works for unescaped strings too (a copy). No NUL is appended.
 * MD_OK, MD_E_FULL (cap too small; out holds a prefix), MD_E_PROTO (bad
 * escape or lone surrogate). */
int cc_str_unescape(const struct cc_str *s, char *out, size_t cap,
                    size_t *out_len);

/* True when s, unescaped, equals lit[0..lit_len). */
bool cc_str_eq(const struct cc_str *s, const char *lit, size_t lit_len);

/* ---------------------------------------------------------------------
 * Inline fast paths. They live in this header so that cc_decode.c gets
 * them inlined without LTO (measured: about 2x on real frames). Each one
 * handles the common shape and hands anything unusual (whitespace,
 * escapes, exponents, long numbers, errors) to a cc_json__* function in
 * cc_json.c, which is the reference behaviour.
 * ------------------------------------------------------------------- */

/* Out-of-line halves of the inline functions below. */
int cc_json__peek_ws(struct cc_json *j);
int cc_json__expect(struct cc_json *j, const char *what);
int cc_json__str_slow(struct cc_json *j, size_t i, struct cc_str *out);
int cc_json__num_slow(struct cc_json *j, struct cc_num *out);

/* Skip whitespace; return the next byte (0..255) without consuming it, or
 * -1 at the end of the input. Records nothing. */
static inline int cc_json_peek(struct cc_json *j)
{
    if (j->pos < j->len && (unsigned char)j->buf[j->pos] > ' ') {
        return (unsigned char)j->buf[j->pos];
    }
    return cc_json__peek_ws(j);
}

/* Nonzero when some byte of w is '"', '\\' or below 0x20. Never misses
 * one (each subtraction sets the high bit of a matching byte whatever the
 * borrow); may flag other bytes too, and then the byte loop decides. */
static inline uint64_t cc_json__swar_stop(uint64_t w)
{
    const uint64_t ones = UINT64_C(0x0101010101010101);
    uint64_t q = w ^ (ones * '"');
    uint64_t bs = w ^ (ones * '\\');
    return ((q - ones) | (bs - ones) | (w - ones * 0x20)) &
           UINT64_C(0x8080808080808080);
}

/* Consume one string value into *out (borrowed). MD_OK, MD_E_TRUNC,
 * MD_E_PROTO (not a string, control byte, bad escape). */
static inline int cc_json_str(struct cc_json *j, struct cc_str *out)
{
    const char *b = j->buf;
    size_t n = j->len;
    size_t i;

    if (cc_json_peek(j) != '"') {
        return cc_json__expect(j, "expected a string");
    }
    i = j->pos + 1;
    while (n - i >= 8) {
        uint64_t w;
        uint64_t t;
        memcpy(&w, b + i, 8);
        t = cc_json__swar_stop(w);
        if (t) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            /* Only bytes >= 0x80 or above a true match can be flagged
             * wrongly, so the lowest flag is a safe place to resume. */
            i += (size_t)__builtin_ctzll(t) / 8;
#endif
            break;
        }
        i += 8;
    }
    while (i < n) {
        unsigned char c = (unsigned char)b[i];
        if (c == '"') {
            out->p = b + j->pos + 1;
            out->len = i - (j->pos + 1);
            out->esc = false;
            j->pos = i + 1;
            return MD_OK;
        }
        if (c == '\\' || c < 0x20) {
            break;
        }
        i++;
    }
    return cc_json__str_slow(j, i, out);
}

/* Step to the next member of the open object: returns 1 with *key set and
 * the ':' consumed (the caller must then consume exactly one value), 0 when
 * the object closed (the '}' is consumed), or a negative MD_E_* code. */
static inline int cc_json_obj_next(struct cc_json *j, struct cc_str *key)
{
    int c = cc_json_peek(j);
    int rc;

    if (c == '}') {
        j->pos++;
        j->depth--;
        j->first = false;
        return 0;
    }
    if (!j->first) {
        if (c != ',') {
            return cc_json__expect(j, "expected ',' or '}'");
        }
        j->pos++;
        c = cc_json_peek(j);
    }
    if (c != '"') {
        return cc_json__expect(j, "expected a member name");
    }
    rc = cc_json_str(j, key);
    if (rc < 0) {
        return rc;
    }
    if (cc_json_peek(j) != ':') {
        return cc_json__expect(j, "expected ':'");
    }
    j->pos++;
    j->first = false;
    return 1;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CC_JSON_SWAR_DIGITS 1
/* The value of 8 ASCII digits loaded little-endian (first digit in the
 * low byte): three multiplications instead of eight steps. */
static inline uint64_t cc_json__8digits_val(uint64_t w)
{
    const uint64_t mask = UINT64_C(0x000000FF000000FF);
    w -= UINT64_C(0x3030303030303030);
    w = (w * 10) + (w >> 8);
    return (((w & mask) * UINT64_C(0x000F424000000064)) +
            (((w >> 16) & mask) * UINT64_C(0x0000271000000001))) >> 32;
}
/* How many of the 8 bytes of w (little-endian load) are digits before
 * the first non-digit: 0..8. After x = w ^ '0' a byte is a digit when it
 * is 0..9; adding 0x76 sets the high bit of any byte 10..127, and bytes
 * from 128 have it already. A carry out of a byte (from 0x8A) only
 * disturbs later bytes, after a non-digit, which are not counted. */
static inline unsigned cc_json__digit_run(uint64_t w)
{
    uint64_t x = w ^ UINT64_C(0x3030303030303030);
    uint64_t flag = ((x + UINT64_C(0x7676767676767676)) | x) &
                    UINT64_C(0x8080808080808080);

    return flag == 0 ? 8u : (unsigned)__builtin_ctzll(flag) / 8u;
}

/* Append the digits at b[*i..) to *m, 8 bytes at a time while 8 bytes
 * remain. */
static inline void cc_json__digits8(const char *b, size_t n, size_t *i,
                                    uint64_t *m)
{
    while (n - *i >= 8) {
        uint64_t w;
        unsigned k;
        memcpy(&w, b + *i, 8);
        k = cc_json__digit_run(w);
        if (k == 0) {
            return;
        }
        if (k < 8) {
            /* the k digits as the low end of "000..": '0' bytes first */
            unsigned s = 8u * (8u - k);
            w = (w << s) | (UINT64_C(0x3030303030303030) >> (64u - s));
        }
        *m = *m * md_pow10_u64[k] + cc_json__8digits_val(w);
        *i += k;
        if (k < 8) {
            return;
        }
    }
}
#endif

/* Append the run of digits at b[*i..) to *m (m * 10 + digit each; more
 * than 19 digits wrap, which the callers check by counting them). */
static inline void cc_json__digits(const char *b, size_t n, size_t *i,
                                   uint64_t *m)
{
    size_t k;
    uint64_t v;

#ifdef CC_JSON_SWAR_DIGITS
    cc_json__digits8(b, n, i, m);
#endif
    k = *i;
    v = *m;
    while (k < n && (unsigned)(b[k] - '0') <= 9u) {
        v = v * 10 + (uint64_t)(b[k] - '0');
        k++;
    }
    *i = k;
    *m = v;
}

/* a[0..n) == b[0..n), for member names (a few to some thirty bytes),
 * where a call to memcmp costs more than the comparison: unaligned 8-byte
 * (or, under 8 bytes, 4-byte) loads, the last one overlapping the one
 * before it so that no load leaves either range; under 4 bytes, byte by
 * byte. */
static inline bool cc_json__bytes_eq(const char *a, const char *b, size_t n)
{
    size_t i;

    if (n >= 8) {
        uint64_t x, y;
        for (i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y) {
                return false;
            }
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return x == y;
    }
    if (n >= 4) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, a, 4);
        memcpy(&y0, b, 4);
        memcpy(&x1, a + n - 4, 4);
        memcpy(&y1, b + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    for (i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
}

/* The common case of cc_json_obj_next after the first member, when the
 * caller knows which name most likely comes: pat[0..plen) is that name
 * as it appears in place, ,"name": (plen is the name's length + 4). If
 * the input continues with exactly those bytes (no whitespace, no
 * escapes) consume them and return true with *key set as
 * cc_json_obj_next would; else consume nothing and return false (the
 * caller then calls cc_json_obj_next). */
static inline bool cc_json_next_key_is(struct cc_json *j, const char *pat,
                                       size_t plen, struct cc_str *key)
{
    const char *b = j->buf + j->pos;

    if (j->first || j->len - j->pos < plen ||
        !cc_json__bytes_eq(b, pat, plen)) {
        return false;
    }
    key->p = b + 2;
    key->len = plen - 4;
    key->esc = false;
    j->pos += plen;
    return true;
}

/* The common integer: -?[1-9][0-9]{0,17} not followed by a fraction or an
 * exponent. Consumes it into *out and returns true; else consumes nothing
 * and returns false (the caller takes the general path: "0", "1.0",
 * "1e3", 19 digits, errors). */
static inline bool cc_json_int_fast(struct cc_json *j, int64_t *out)
{
    const char *b = j->buf;
    size_t n = j->len, i, d0;
    uint64_t m = 0;
    bool neg;

    (void)cc_json_peek(j);
    i = j->pos;
    neg = i < n && b[i] == '-';
    i += neg ? 1u : 0u;
    d0 = i;
    if (i >= n || b[i] < '1' || b[i] > '9') {
        return false;
    }
    cc_json__digits(b, n, &i, &m);
    if (i - d0 > 18 || (i < n && (b[i] == '.' || b[i] == 'e' || b[i] == 'E'))) {
        return false; /* a wrapped m (over 18 digits) is never used */
    }
    *out = neg ? -(int64_t)m : (int64_t)m;
    j->pos = i;
    return true;
}

/* Pass over the digits at b[*i..). */
static inline void cc_json__skip_digits(const char *b, size_t n, size_t *i)
{
    size_t k = *i;

#ifdef CC_JSON_SWAR_DIGITS
    while (n - k >= 8) {
        uint64_t w;
        unsigned r;
        memcpy(&w, b + k, 8);
        r = cc_json__digit_run(w);
        k += r;
        if (r < 8) {
            *i = k;
            return;
        }
    }
#endif
    while (k < n && (unsigned)(b[k] - '0') <= 9u) {
        k++;
    }
    *i = k;
}

/* The common number not wanted: -?(0|[1-9][0-9]*)(.[0-9]+)? not
 * followed by an exponent or a digit, at most CC_JSON_MAX_NUM bytes. Pass
 * over it and return true; else consume nothing and return false (the
 * caller then calls cc_json_skip, which accepts or rejects the token as
 * it always did: "1e3", "01", "1.", errors). */
static inline bool cc_json_num_pass(struct cc_json *j)
{
    const char *b = j->buf;
    size_t n = j->len;
    size_t i;
    size_t d0;

    (void)cc_json_peek(j);
    i = j->pos;
    if (i < n && b[i] == '-') {
        i++;
    }
    d0 = i;
    if (i < n && b[i] == '0') {
        i++;
    } else {
        cc_json__skip_digits(b, n, &i);
    }
    if (i == d0) {
        return false;
    }
    if (i < n && b[i] == '.') {
        size_t f0 = ++i;
        cc_json__skip_digits(b, n, &i);
        if (i == f0) {
            return false;
        }
    }
    if ((i < n && (b[i] == 'e' || b[i] == 'E' ||
                   (unsigned)(b[i] - '0') <= 9u)) ||
        i - j->pos > CC_JSON_MAX_NUM) {
        return false;
    }
    j->pos = i;
    return true;
}

/* Consume one number into *out. MD_OK, MD_E_TRUNC, MD_E_PROTO (not a
 * number, RFC 8259 grammar violated), MD_E_RANGE (token longer than
 * CC_JSON_MAX_NUM, or the double overflows).
 * Fast path: -?(0|[1-9][0-9]*)(.[0-9]+)? with at most 18 digits, so the
 * mantissa cannot overflow, and a double made by one exact IEEE operation
 * (Clinger) when the mantissa is <= 2^53, else by one exact integer
 * division (md_ratio_pow10: 17- and 18-digit values such as TOTAL). */
static inline int cc_json_num(struct cc_json *j, struct cc_num *out)
{
    const char *b = j->buf;
    size_t n = j->len;
    size_t i;
    size_t d0;
    size_t nd;
    size_t fd = 0;
    uint64_t m = 0;
    int exp;
    bool neg;
    double d;

    (void)cc_json_peek(j);
    i = j->pos;
    neg = i < n && b[i] == '-';
    i += neg ? 1u : 0u;
    d0 = i;
    if (i < n && b[i] == '0') {
        i++;
    } else {
        /* more than 18 digits in all go to the slow path below, so a
         * wrapped m is never used */
        cc_json__digits(b, n, &i, &m);
    }
    nd = i - d0;
    if (i < n && b[i] == '.') {
        size_t f0 = ++i;
        cc_json__digits(b, n, &i, &m);
        fd = i - f0;
        if (fd == 0) {
            return cc_json__num_slow(j, out);
        }
    }
    if (nd == 0 || nd + fd > 18 ||
        (i < n && (b[i] == 'e' || b[i] == 'E' ||
                   (unsigned)(b[i] - '0') <= 9u))) {
        return cc_json__num_slow(j, out);
    }
    /* Canonical: strip trailing zeros (none when the last digit is not
     * one, the usual case). */
    exp = -(int)fd;
    if (m == 0) {
        exp = 0;
    } else if (b[i - 1] == '0') {
        while (m % 10 == 0) {
            m /= 10;
            exp++;
        }
    }
    if (m <= (UINT64_C(1) << 53) && sizeof(double_t) == sizeof(double)) {
        d = (double)m;
        d = exp >= 0 ? d * md_pow10_exact[exp] : d / md_pow10_exact[-exp];
    } else if (exp > 0 || !md_ratio_pow10(m, (unsigned)-exp, &d)) {
        return cc_json__num_slow(j, out);
    }
    out->dec.mant = neg ? -(int64_t)m : (int64_t)m;
    out->dec.exp10 = (int16_t)exp;
    out->dec.exact = true;
    out->d = neg ? -d : d;
    j->pos = i;
    return MD_OK;
}

#endif /* CC_JSON_H */
