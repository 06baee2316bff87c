/* bar_codec.c: JSON and msgpack encoders/decoders for struct bar, and its
 * Kafka key (contracts in bar_codec.h, formats in docs/bars.md).
 *
 * Shell-side (codec/): msgpack goes through msgpack-c's packer and
 * unpacker; the JSON decoder rides on core's bounded cc_json scanner and
 * the exact number conversions of core/md_float.c. Writes only caller
 * buffers; no I/O, no clock, no global state. The only allocation is
 * msgpack-c's own, inside bar_from_msgpack, freed before it returns. */
#include "bar_codec.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "cc_json.h"
#include "md_float.h"

#define U128_MAX (~(bar_u128)0)
#define I128_MAX ((bar_i128)(U128_MAX >> 1))
/* |INT128_MIN| = 2^127 */
#define I128_NEG_MAG ((bar_u128)1 << 127)

/* Deepest nesting bar_from_msgpack accepts inside a value. */
#define MP_MAX_DEPTH 32

/* ---------------------------------------------------------------------
 * The key table. The enum order IS the wire order of both encodings: the
 * identity, then the version of the bar, then the values. A key whose has
 * is 0 is required; the others form groups that are all present or all
 * absent, each group guarded by one BAR_HAS_* bit.
 * ------------------------------------------------------------------- */

enum {
    K_V,
    K_MARKET,
    K_BASE,
    K_QUOTE,
    K_INTERVAL,
    K_INTERVAL_S,
    K_SOURCE,
    K_START_MS,
    K_END_MS,
    K_REVISION,
    K_CLOSE_REASON,
    K_FLAGS,
    K_OPEN,
    K_HIGH,
    K_LOW,
    K_CLOSE,
    K_VOLUME,
    K_QUOTE_VOLUME,
    K_BUY_VOLUME,
    K_SELL_VOLUME,
    K_TRADES,
    K_VWAP,
    K_FIRST_ID,
    K_LAST_ID,
    K_FIRST_NS,
    K_LAST_NS,
    K__COUNT
};

/* How a key's value is read. */
enum {
    VT_VERSION,
    VT_STR,      /* market, base, quote, first_id, last_id */
    VT_INTERVAL, /* the interval name, checked against interval_s */
    VT_INT,      /* integers; range by key */
    VT_SOURCE,
    VT_CLOSE,
    VT_FLAGS,
    VT_DBL,
    VT_VOL /* scaled i128; scale in the table */
};

/* The longest ,"name": is ,"close_reason": and ,"quote_volume": */
#define KEY_JSON_MAX 16

struct key_info {
    const char *name;
    char json[KEY_JSON_MAX + 1]; /* ,"name": as the JSON encoder writes
                                    it, copied KEY_JSON_MAX bytes at a time
                                    (json_key) */
    uint8_t len;
    uint8_t type;
    uint8_t has;   /* BAR_HAS_* group, 0 = required */
    uint8_t scale; /* VT_VOL only */
};

#define KEY(n, t, h, s) {n, ",\"" n "\":", (uint8_t)(sizeof n - 1), t, h, s}

static const struct key_info keys[K__COUNT] = {
    [K_V] = KEY("v", VT_VERSION, 0, 0),
    [K_MARKET] = KEY("market", VT_STR, 0, 0),
    [K_BASE] = KEY("base", VT_STR, 0, 0),
    [K_QUOTE] = KEY("quote", VT_STR, 0, 0),
    [K_INTERVAL] = KEY("interval", VT_INTERVAL, 0, 0),
    [K_INTERVAL_S] = KEY("interval_s", VT_INT, 0, 0),
    [K_SOURCE] = KEY("source", VT_SOURCE, 0, 0),
    [K_START_MS] = KEY("start_ms", VT_INT, 0, 0),
    [K_END_MS] = KEY("end_ms", VT_INT, 0, 0),
    [K_REVISION] = KEY("revision", VT_INT, 0, 0),
    [K_CLOSE_REASON] = KEY("close_reason", VT_CLOSE, 0, 0),
    [K_FLAGS] = KEY("flags", VT_FLAGS, 0, 0),
    [K_OPEN] = KEY("open", VT_DBL, BAR_HAS_OHLC, 0),
    [K_HIGH] = KEY("high", VT_DBL, BAR_HAS_OHLC, 0),
    [K_LOW] = KEY("low", VT_DBL, BAR_HAS_OHLC, 0),
    [K_CLOSE] = KEY("close", VT_DBL, BAR_HAS_OHLC, 0),
    [K_VOLUME] = KEY("volume", VT_VOL, BAR_HAS_VOLUME, BAR_VOL_DIGITS),
    [K_QUOTE_VOLUME] =
        KEY("quote_volume", VT_VOL, BAR_HAS_VOLUME, BAR_NOTIONAL_DIGITS),
    [K_BUY_VOLUME] =
        KEY("buy_volume", VT_VOL, BAR_HAS_BUYSELL, BAR_VOL_DIGITS),
    [K_SELL_VOLUME] =
        KEY("sell_volume", VT_VOL, BAR_HAS_BUYSELL, BAR_VOL_DIGITS),
    [K_TRADES] = KEY("trades", VT_INT, BAR_HAS_TRADES, 0),
    [K_VWAP] = KEY("vwap", VT_DBL, BAR_HAS_VWAP, 0),
    [K_FIRST_ID] = KEY("first_id", VT_STR, BAR_HAS_FIRSTLAST, 0),
    [K_LAST_ID] = KEY("last_id", VT_STR, BAR_HAS_FIRSTLAST, 0),
    [K_FIRST_NS] = KEY("first_ns", VT_INT, BAR_HAS_FIRSTLAST, 0),
    [K_LAST_NS] = KEY("last_ns", VT_INT, BAR_HAS_FIRSTLAST, 0),
};

_Static_assert(K__COUNT <= 32, "seen masks are uint32_t");

#define KBIT(k) ((uint32_t)1 << (k))

/* The required keys are the first ones in wire order, up to flags. */
#define REQ_MASK (KBIT(K_FLAGS + 1) - 1)

/* The optional groups, in BAR_HAS_* order. */
static const struct {
    uint32_t has;
    uint32_t mask;
} groups[] = {
    {BAR_HAS_OHLC, KBIT(K_OPEN) | KBIT(K_HIGH) | KBIT(K_LOW) | KBIT(K_CLOSE)},
    {BAR_HAS_VOLUME, KBIT(K_VOLUME) | KBIT(K_QUOTE_VOLUME)},
    {BAR_HAS_TRADES, KBIT(K_TRADES)},
    {BAR_HAS_VWAP, KBIT(K_VWAP)},
    {BAR_HAS_BUYSELL, KBIT(K_BUY_VOLUME) | KBIT(K_SELL_VOLUME)},
    {BAR_HAS_FIRSTLAST, KBIT(K_FIRST_ID) | KBIT(K_LAST_ID) |
                            KBIT(K_FIRST_NS) | KBIT(K_LAST_NS)},
};

#define HAS_ALL                                                              \
    (BAR_HAS_OHLC | BAR_HAS_VOLUME | BAR_HAS_TRADES | BAR_HAS_VWAP |         \
     BAR_HAS_BUYSELL | BAR_HAS_FIRSTLAST)

/* Flag names, in bit order (the order they are written). */
static const char *const flag_names[] = {
    "partial_start", "spans_disconnect", "synthetic", "backfilled"};
#define FLAG_COUNT 4
#define FLAGS_ALL                                                            \
    (BAR_F_PARTIAL_START | BAR_F_SPANS_DISCONNECT | BAR_F_SYNTHETIC |        \
     BAR_F_BACKFILLED)
_Static_assert(FLAGS_ALL == (1u << FLAG_COUNT) - 1, "flag bits are dense");

/* Look a key up: the caller's hint (the key after the previous one in
 * wire order) first, since our own encoders write that order; then a
 * linear scan. -1 for an unknown key. */
static int key_find(const char *p, size_t n, int hint)
{
    int k;

    if (hint >= 0 && hint < K__COUNT && keys[hint].len == n &&
        memcmp(keys[hint].name, p, n) == 0) {
        return hint;
    }
    for (k = 0; k < K__COUNT; k++) {
        if (keys[k].len == n && memcmp(keys[k].name, p, n) == 0) {
            return k;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------------
 * Validation shared by encoders and decoders.
 * ------------------------------------------------------------------- */

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned c = p[i];
        size_t need;
        unsigned lo = 0x80;
        unsigned hi = 0xBF;
        size_t k;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlongs */
            hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            lo = c == 0xF0 ? 0x90 : 0x80;
            hi = c == 0xF4 ? 0x8F : 0xBF; /* <= U+10FFFF */
        } else {
            return false;
        }
        if (n - i - 1 < need) {
            return false;
        }
        for (k = 1; k <= need; k++) {
            unsigned b = p[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) {
                return false;
            }
        }
        i += need + 1;
    }
    return true;
}

/* A NUL-terminated string field of cap bytes. */
static int str_field(const char *s, size_t cap, bool nonempty, size_t *len)
{
    const char *z = memchr(s, '\0', cap);
    size_t n;

    if (z == NULL) {
        return MD_E_RANGE;
    }
    n = (size_t)(z - s);
    if ((nonempty && n == 0) || !utf8_ok(s, n)) {
        return MD_E_RANGE;
    }
    *len = n;
    return MD_OK;
}

/* String lengths found by bar_check, so encoders need not recount. */
struct lens {
    size_t market, base, quote, first_id, last_id;
};

/* The rules in bar_codec.h. */
static int bar_check(const struct bar *b, struct lens *l)
{
    int rc = MD_OK;

    if (b->interval_s <= 0 || b->source == BAR_SRC_INVALID ||
        b->source >= BAR_SRC__COUNT ||
        b->close_reason == BAR_CLOSE_INVALID ||
        b->close_reason >= BAR_CLOSE__COUNT ||
        (b->flags & ~(FLAGS_ALL | BAR_F_MEMORY_ONLY)) ||
        (b->has & ~(uint32_t)HAS_ALL)) {
        return MD_E_RANGE;
    }
    if ((b->has & BAR_HAS_OHLC) &&
        (!isfinite(b->open) || !isfinite(b->high) || !isfinite(b->low) ||
         !isfinite(b->close))) {
        return MD_E_RANGE;
    }
    if ((b->has & BAR_HAS_VWAP) && !isfinite(b->vwap)) {
        return MD_E_RANGE;
    }
    rc = str_field(b->market, sizeof b->market, true, &l->market);
    if (rc == MD_OK) {
        rc = str_field(b->base, sizeof b->base, true, &l->base);
    }
    if (rc == MD_OK) {
        rc = str_field(b->quote, sizeof b->quote, true, &l->quote);
    }
    l->first_id = 0;
    l->last_id = 0;
    if (rc == MD_OK && (b->has & BAR_HAS_FIRSTLAST)) {
        rc = str_field(b->first_id, sizeof b->first_id, false,
                       &l->first_id);
        if (rc == MD_OK) {
            rc = str_field(b->last_id, sizeof b->last_id, false,
                           &l->last_id);
        }
    }
    return rc;
}

/* ---------------------------------------------------------------------
 * Numbers as text.
 * ------------------------------------------------------------------- */

/* Decimal digits of v, most significant first, no leading zeros ("0" for
 * 0). out needs 20 bytes. Returns the count. */
static size_t u64_digits(uint64_t v, char *out)
{
    /* two digits a division, written in place from the end: numbers are
     * most of what the encoders write */
    static const char pairs[201] =
        "00010203040506070809101112131415161718192021222324252627282930313233"
        "34353637383940414243444546474849505152535455565758596061626364656667"
        "6869707172737475767778798081828384858687888990919293949596979899";
    /* the digit count from the bit length: bits * log10(2) ~ bits * 1233
     * / 4096, one short at most, which the table settles */
    unsigned t = ((64u - (unsigned)__builtin_clzll(v | 1)) * 1233u) >> 12;
    size_t len = t + 1 - (v < md_pow10_u64[t] && v != 0);
    size_t n = len;

    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        out[--n] = pairs[2 * r + 1];
        out[--n] = pairs[2 * r];
    }
    if (v >= 10) {
        out[1] = pairs[2 * v + 1];
        out[0] = pairs[2 * v];
    } else {
        out[0] = (char)('0' + (int)v);
    }
    return len;
}

/* As u64_digits, zero-padded to exactly 19 digits. */
static void u64_digits19(uint64_t v, char *out)
{
    int i;

    for (i = 18; i >= 0; i--) {
        out[i] = (char)('0' + (int)(v % 10));
        v /= 10;
    }
}

/* Decimal digits of a u128 (at most 39). Two 128-bit divisions at most:
 * the rest runs in 64-bit arithmetic. */
static size_t u128_digits(bar_u128 v, char *out)
{
    const uint64_t p19 = UINT64_C(10000000000000000000);
    uint64_t c0;
    uint64_t c1;
    uint64_t c2;
    size_t n;

    if (v <= UINT64_MAX) {
        return u64_digits((uint64_t)v, out);
    }
    {
        /* one 128-bit division a chunk: the remainder by multiplication */
        bar_u128 q = v / p19;
        bar_u128 q2;
        c0 = (uint64_t)(v - q * p19);
        q2 = q / p19;
        c1 = (uint64_t)(q - q2 * p19);
        c2 = (uint64_t)q2;
    }
    if (c2 != 0) {
        n = u64_digits(c2, out);
        u64_digits19(c1, out + n);
        n += 19;
    } else {
        n = u64_digits(c1, out);
    }
    u64_digits19(c0, out + n);
    return n + 19;
}

/* A scaled integer as an exact decimal: "-12.5", "0.00000001", "3".
 * Trailing fractional zeros trimmed, never an exponent. out needs 48
 * bytes; NUL-terminated; returns the length. */
static size_t fmt_scaled(bar_i128 v, int scale, char *out)
{
    char tmp[40];
    size_t sc = (size_t)scale;
    size_t nd;
    size_t tz = 0; /* trailing zeros of the fraction, trimmed */
    size_t n = 0;
    bar_u128 mag;

    if (v < 0) {
        out[n++] = '-';
        mag = (bar_u128)0 - (bar_u128)v; /* also right for INT128_MIN */
    } else {
        mag = (bar_u128)v;
    }
    nd = u128_digits(mag, tmp);
    while (tz < sc && tz < nd && tmp[nd - 1 - tz] == '0') {
        tz++;
    }
    if (nd > sc) {
        /* iii.fff: the integer digits, then what is left of the fraction */
        size_t ip = nd - sc;
        memcpy(out + n, tmp, ip);
        n += ip;
        if (sc > tz) {
            out[n++] = '.';
            memcpy(out + n, tmp + ip, sc - tz);
            n += sc - tz;
        }
    } else {
        /* 0.000ddd: sc - nd zeros after the point, then the digits; for
         * 0 itself tz == nd and only the "0" is written */
        out[n++] = '0';
        if (nd > tz) {
            out[n++] = '.';
            memset(out + n, '0', sc - nd);
            n += sc - nd;
            memcpy(out + n, tmp, nd - tz);
            n += nd - tz;
        }
    }
    out[n] = '\0';
    return n;
}

/* Fast path of dbl_shortest for the common case, a price or volume with
 * at most 15 significant digits: find m < 10^15 and i <= 22 with
 * m / 10^i == x. Both operands are exact, so that one IEEE division is
 * what strtod returns for "m e-i" (Clinger), i.e. m e-i round-trips; with
 * at most 15 digits it is the unique such decimal, hence the shortest.
 * false: not found, use the slow path. */
static bool dbl_shortest_fast(double x, char *dig, int *k, int *e)
{
    int i;

    for (i = 0; i <= 22; i++) {
        double y = x * md_pow10_exact[i];
        uint64_t m;
        char d[20];
        size_t nd;
        int n;

        if (y >= 1e15) {
            return false;
        }
        /* x * 10^i is within far less than 0.5 of any candidate m */
        m = (uint64_t)(y + 0.5);
        if (m == 0 || (double)m / md_pow10_exact[i] != x) {
            continue;
        }
        nd = u64_digits(m, d);
        n = (int)nd;
        while (n > 1 && d[n - 1] == '0') {
            n--;
        }
        memcpy(dig, d, (size_t)n);
        *k = n;
        *e = (int)nd - i;
        return true;
    }
    return false;
}

/* The slow path's answer by exact integer arithmetic: for p = 15, 16, 17
 * the correctly rounded p-digit decimal of x (what "%.*e" prints), the
 * first that reads back as x (17 digits always do), checked by an exact
 * division instead of strtod. false where either step cannot be done
 * exactly (very large or very small x): then the library path decides. */
static bool dbl_shortest_exact(double x, char *dig, int *k, int *e)
{
    int p;

    for (p = 15; p <= 17; p++) {
        uint64_t m;
        int d, i, n;
        double y;
        char tmp[20];

        if (!md_decimal_digits(x, p, &m, &d)) {
            return false;
        }
        i = p - 1 - d; /* x ~ m / 10^i */
        if (p < 17) {
            if (i < 0 || !md_ratio_pow10(m, (unsigned)i, &y)) {
                return false;
            }
            if (y != x) {
                continue;
            }
        }
        n = (int)u64_digits(m, tmp);
        while (n > 1 && tmp[n - 1] == '0') {
            n--;
        }
        memcpy(dig, tmp, (size_t)n);
        *k = n;
        *e = d + 1;
        return true;
    }
    return false;
}

/* The shortest decimal that reads back as x (x > 0, finite): digits
 * dig[0..*k), value 0.d1d2...dk x 10^*e, no trailing zeros. This is what
 * trying %.{1..17}g until strtod returns x gives: for a normal double at
 * most one 15-significant-digit decimal lies in its rounding interval, so
 * when 15 digits round-trip their zero-trimmed form is the shortest and
 * 1..14 need not be tried; subnormals are tried from 1 up. */
static void dbl_shortest(double x, char *dig, int *k, int *e)
{
    char tmp[40];
    int p = x >= DBL_MIN ? 15 : 1;
    int n = 0;
    int i = 0;
    int ex = 0;
    bool eneg = false;

    if (x >= DBL_MIN && (dbl_shortest_fast(x, dig, k, e) ||
                         dbl_shortest_exact(x, dig, k, e))) {
        return;
    }
    for (;; p++) {
        (void)snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
        if (p >= 17 || strtod(tmp, NULL) == x) {
            break;
        }
    }
    /* tmp is "d.ddde+XX" (or "de+XX" for p = 1) in the C locale. */
    for (; tmp[i] != 'e'; i++) {
        if (tmp[i] != '.') {
            dig[n++] = tmp[i];
        }
    }
    i++;
    if (tmp[i] == '-' || tmp[i] == '+') {
        eneg = tmp[i] == '-';
        i++;
    }
    for (; tmp[i] != '\0'; i++) {
        ex = ex * 10 + (tmp[i] - '0');
    }
    while (n > 1 && dig[n - 1] == '0') {
        n--;
    }
    *k = n;
    *e = (eneg ? -ex : ex) + 1;
}

/* A finite double as its shortest round-trip JSON number, laid out as
 * ECMAScript's Number::toString does (so JSON.stringify agrees): plain
 * digits for 1e-7 <= |x| < 1e21 ("119283", "0.1", "0.00001"), else
 * "1e-8", "5e-324", "1.7976931348623157e+308". Negative zero is "-0" (it
 * reads back as -0.0; JavaScript would write "0"). out needs 32 bytes. */
size_t bar_fmt_double(double x, char *out)
{
    char dig[20];
    size_t n = 0;
    int k;
    int e;
    int i;

    if (x == 0) {
        if (signbit(x)) {
            out[n++] = '-';
        }
        out[n++] = '0';
        out[n] = '\0';
        return n;
    }
    if (x < 0) {
        out[n++] = '-';
        x = -x;
    }
    dbl_shortest(x, dig, &k, &e);
    if (k <= e && e <= 21) {
        memcpy(out + n, dig, (size_t)k);
        n += (size_t)k;
        for (i = k; i < e; i++) {
            out[n++] = '0';
        }
    } else if (0 < e && e <= 21) {
        memcpy(out + n, dig, (size_t)e);
        n += (size_t)e;
        out[n++] = '.';
        memcpy(out + n, dig + e, (size_t)(k - e));
        n += (size_t)(k - e);
    } else if (-6 < e && e <= 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (i = 0; i < -e; i++) {
            out[n++] = '0';
        }
        memcpy(out + n, dig, (size_t)k);
        n += (size_t)k;
    } else {
        int ex = e - 1;
        char ed[20];
        size_t en;
        out[n++] = dig[0];
        if (k > 1) {
            out[n++] = '.';
            memcpy(out + n, dig + 1, (size_t)(k - 1));
            n += (size_t)(k - 1);
        }
        out[n++] = 'e';
        out[n++] = ex < 0 ? '-' : '+';
        en = u64_digits((uint64_t)(ex < 0 ? -ex : ex), ed);
        memcpy(out + n, ed, en);
        n += en;
    }
    out[n] = '\0';
    return n;
}

/* mag *= 10^t, false on overflow. */
static bool u128_mul_pow10(bar_u128 *mag, long t)
{
    bar_u128 m = *mag;

    if (m == 0) {
        return true;
    }
    for (; t > 0; t--) {
        if (m > U128_MAX / 10) {
            return false;
        }
        m *= 10;
    }
    *mag = m;
    return true;
}

/* How parse_scaled ended. */
enum { DEC_OK, DEC_OVERFLOW, DEC_FRACTION, DEC_MALFORMED };

/* Exact parse of a JSON number token s[0..n) as sign and magnitude of
 * value x 10^scale. DEC_FRACTION when a nonzero digit lies beyond the
 * scale (never rounded), DEC_OVERFLOW when the magnitude passes 2^128-1.
 * Trailing zeros are counted, not multiplied in, so "1.000...0" of any
 * length with a small exponent stays exact. */
static int parse_scaled(const char *s, size_t n, int scale, bool *neg,
                        bar_u128 *mag)
{
    size_t i = 0;
    bar_u128 acc = 0;
    long zeros = 0; /* deferred trailing zeros of the digit string */
    long exp10 = 0; /* value = acc x 10^(exp10 + zeros) */
    long e = 0;
    bool eneg = false;
    bool frac = false;
    bool any = false;
    long t;

    *neg = false;
    if (i < n && s[i] == '-') {
        *neg = true;
        i++;
    }
    for (; i < n; i++) {
        char c = s[i];
        if (c == '.' && !frac) {
            frac = true;
            continue;
        }
        if (c < '0' || c > '9') {
            break;
        }
        any = true;
        if (frac) {
            exp10--;
        }
        if (c == '0') {
            if (acc != 0) {
                zeros++;
            }
            continue;
        }
        /* flush the zeros, then append the digit (U128_MAX / 10 is a
         * constant: no 128-bit division per digit) */
        for (; zeros >= 0; zeros--) {
            if (acc > U128_MAX / 10) {
                return DEC_OVERFLOW;
            }
            acc *= 10;
        }
        zeros = 0;
        if (acc > U128_MAX - (unsigned)(c - '0')) {
            return DEC_OVERFLOW;
        }
        acc += (unsigned)(c - '0');
    }
    if (!any) {
        return DEC_MALFORMED;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            eneg = s[i] == '-';
            i++;
        }
        if (i >= n) {
            return DEC_MALFORMED;
        }
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (e < 100000) {
                e = e * 10 + (s[i] - '0');
            }
        }
    }
    if (i != n) {
        return DEC_MALFORMED;
    }
    if (acc == 0) {
        *mag = 0;
        return DEC_OK;
    }
    t = exp10 + zeros + (eneg ? -e : e) + scale;
    if (t < 0) {
        return DEC_FRACTION; /* acc ends in a nonzero digit */
    }
    if (t > 39 || !u128_mul_pow10(&acc, t)) {
        return DEC_OVERFLOW;
    }
    *mag = acc;
    return DEC_OK;
}

/* A double (finite or not) as sign and magnitude of value x 10^scale,
 * through its shortest round-trip decimal: what the msgpack form of a
 * volume decodes to. MD_E_RANGE for inf/nan, more significant fractional
 * digits than the scale, or overflow. */
static int dbl_to_scaled(double x, int scale, bool *neg, bar_u128 *mag)
{
    char dig[20];
    int k;
    int e;
    int i;
    bar_u128 acc = 0;
    long t;

    *neg = false;
    *mag = 0;
    if (!isfinite(x)) {
        return MD_E_RANGE;
    }
    if (x == 0) {
        return MD_OK;
    }
    if (x < 0) {
        *neg = true;
        x = -x;
    }
    dbl_shortest(x, dig, &k, &e);
    for (i = 0; i < k; i++) {
        acc = acc * 10u + (unsigned)(dig[i] - '0');
    }
    t = (long)e - (long)k + scale;
    if (t < 0 || t > 39 || !u128_mul_pow10(&acc, t)) {
        return MD_E_RANGE;
    }
    *mag = acc;
    return MD_OK;
}

/* Signed conversions from sign + magnitude. */
static bool to_i64(bool neg, bar_u128 mag, int64_t *out)
{
    if (!neg) {
        if (mag > (bar_u128)INT64_MAX) {
            return false;
        }
        *out = (int64_t)mag;
        return true;
    }
    if (mag > (bar_u128)INT64_MAX + 1) {
        return false;
    }
    *out = mag == 0 ? 0 : -(int64_t)(mag - 1) - 1;
    return true;
}

static bool to_i128(bool neg, bar_u128 mag, bar_i128 *out)
{
    if (!neg) {
        if (mag > (bar_u128)I128_MAX) {
            return false;
        }
        *out = (bar_i128)mag;
        return true;
    }
    if (mag > I128_NEG_MAG) {
        return false;
    }
    *out = mag == 0 ? 0 : -(bar_i128)(mag - 1) - 1;
    return true;
}

/* ---------------------------------------------------------------------
 * Output buffer. n always counts what the whole output needs; bytes are
 * stored only while they fit, so after an overflow buf holds a prefix and
 * n is the size to ask for.
 * ------------------------------------------------------------------- */

struct wr {
    unsigned char *p;
    size_t cap;
    size_t n;
    bool whole; /* cap holds the worst case: the output cannot overflow */
};

static void put(struct wr *w, const void *s, size_t k)
{
    if (w->n <= w->cap && k <= w->cap - w->n) {
        memcpy(w->p + w->n, s, k);
    }
    w->n += k;
}

static void put1(struct wr *w, unsigned char c)
{
    if (w->n < w->cap) {
        w->p[w->n] = c;
    }
    w->n++;
}

#define PUTS(w, lit) put((w), (lit), sizeof(lit) - 1)

/* Where the next need bytes can be written in place, or NULL (then the
 * caller writes through put, which counts). Only into a buffer that holds
 * the worst case (w->whole): writing in place may leave scratch bytes past
 * what is written next, which a truncated output must not show (its
 * bytes are a prefix of the whole; tests/test_bar_codec.c). The encoders
 * write keys and numbers straight into the output this way: no copy. */
static char *room(struct wr *w, size_t need)
{
    return w->whole && w->cap - w->n >= need ? (char *)w->p + w->n : NULL;
}

/* ---------------------------------------------------------------------
 * JSON encoder
 * ------------------------------------------------------------------- */

/* A JSON string: '"' and '\\' escaped with a backslash, every byte below
 * 0x20 as \u00XX, everything else (valid UTF-8, checked) verbatim. */
static void json_str(struct wr *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;

    put1(w, '"');
    while (i < n) {
        size_t j = i;
        unsigned char c;
        while (j < n && (unsigned char)s[j] >= 0x20 && s[j] != '"' &&
               s[j] != '\\') {
            j++;
        }
        put(w, s + i, j - i);
        if (j == n) {
            break;
        }
        c = (unsigned char)s[j];
        if (c == '"' || c == '\\') {
            put1(w, '\\');
            put1(w, c);
        } else {
            unsigned char u[6] = {'\\', 'u', '0', '0', 0, 0};
            u[4] = (unsigned char)hex[c >> 4];
            u[5] = (unsigned char)hex[c & 0xF];
            put(w, u, sizeof u);
        }
        i = j + 1;
    }
    put1(w, '"');
}

/* ,"name": -- with room, as a fixed KEY_JSON_MAX bytes (a copy the
 * compiler makes in two moves): what lies past the key is written over
 * next, or lies past the output's end. */
static void json_key(struct wr *w, int k)
{
    char *o = room(w, KEY_JSON_MAX);

    if (o != NULL) {
        memcpy(o, keys[k].json, KEY_JSON_MAX);
        w->n += (size_t)keys[k].len + 4;
    } else {
        put(w, keys[k].json, (size_t)keys[k].len + 4);
    }
}

/* The digits of a number: in place when there is room for the longest
 * (cap bytes), else through d and put. */
#define JSON_NUM(w, cap, fmt_into)                                               do {                                                                             char d_[cap];                                                                char *o_ = room((w), (cap));                                                 size_t n_ = fmt_into(o_ != NULL ? o_ : d_);                                  if (o_ != NULL) {                                                                (w)->n += n_;                                                            } else {                                                                         put((w), d_, n_);                                                        }                                                                        } while (0)

static size_t i64_text(int64_t v, char *out)
{
    if (v < 0) {
        out[0] = '-';
        return 1 + u64_digits((uint64_t)0 - (uint64_t)v, out + 1);
    }
    return u64_digits((uint64_t)v, out);
}

static void json_i64(struct wr *w, int k, int64_t v)
{
    json_key(w, k);
#define I64_INTO(o) i64_text(v, (o))
    JSON_NUM(w, 24, I64_INTO);
#undef I64_INTO
}

static void json_u64(struct wr *w, int k, uint64_t v)
{
    json_key(w, k);
#define U64_INTO(o) u64_digits(v, (o))
    JSON_NUM(w, 24, U64_INTO);
#undef U64_INTO
}

static void json_dbl(struct wr *w, int k, double v)
{
    json_key(w, k);
#define DBL_INTO(o) bar_fmt_double(v, (o))
    JSON_NUM(w, 32, DBL_INTO);
#undef DBL_INTO
}

static void json_vol(struct wr *w, int k, bar_i128 v)
{
    json_key(w, k);
#define VOL_INTO(o) fmt_scaled(v, keys[k].scale, (o))
    JSON_NUM(w, 48, VOL_INTO);
#undef VOL_INTO
}

static void json_strkey(struct wr *w, int k, const char *s, size_t n)
{
    json_key(w, k);
    json_str(w, s, n);
}

int bar_to_json(const struct bar *b, char *buf, size_t cap, size_t *len)
{
    struct lens l;
    struct wr w;
    char iv[32];
    int ivn;
    const char *name;
    unsigned f;
    bool first = true;
    int rc;

    if (len == NULL) {
        return MD_E_INVAL;
    }
    *len = 0;
    if (b == NULL || (buf == NULL && cap != 0)) {
        return MD_E_INVAL;
    }
    rc = bar_check(b, &l);
    if (rc < 0) {
        return rc;
    }
    w.p = (unsigned char *)buf;
    w.cap = cap;
    w.n = 0;
    w.whole = cap >= BAR_JSON_MAX;

    /* {"v":1 -- then every other key with its leading comma */
    PUTS(&w, "{\"v\":");
#define V_INTO(o) u64_digits(BAR_VERSION, (o))
    JSON_NUM(&w, 24, V_INTO);
#undef V_INTO
    json_strkey(&w, K_MARKET, b->market, l.market);
    json_strkey(&w, K_BASE, b->base, l.base);
    json_strkey(&w, K_QUOTE, b->quote, l.quote);
    ivn = bar_interval_name(b->interval_s, iv, (unsigned)sizeof iv);
    json_strkey(&w, K_INTERVAL, iv, (size_t)ivn);
    json_i64(&w, K_INTERVAL_S, b->interval_s);
    name = bar_source_name(b->source);
    json_strkey(&w, K_SOURCE, name, strlen(name));
    json_i64(&w, K_START_MS, b->start_ms);
    json_i64(&w, K_END_MS, b->end_ms);
    json_u64(&w, K_REVISION, b->revision);
    name = bar_close_name(b->close_reason);
    json_strkey(&w, K_CLOSE_REASON, name, strlen(name));
    json_key(&w, K_FLAGS);
    put1(&w, '[');
    for (f = 0; f < FLAG_COUNT; f++) {
        if (b->flags & (1u << f)) {
            if (!first) {
                put1(&w, ',');
            }
            first = false;
            json_str(&w, flag_names[f], strlen(flag_names[f]));
        }
    }
    put1(&w, ']');
    if (b->has & BAR_HAS_OHLC) {
        json_dbl(&w, K_OPEN, b->open);
        json_dbl(&w, K_HIGH, b->high);
        json_dbl(&w, K_LOW, b->low);
        json_dbl(&w, K_CLOSE, b->close);
    }
    if (b->has & BAR_HAS_VOLUME) {
        json_vol(&w, K_VOLUME, b->volume);
        json_vol(&w, K_QUOTE_VOLUME, b->quote_volume);
    }
    if (b->has & BAR_HAS_BUYSELL) {
        json_vol(&w, K_BUY_VOLUME, b->buy_volume);
        json_vol(&w, K_SELL_VOLUME, b->sell_volume);
    }
    if (b->has & BAR_HAS_TRADES) {
        json_u64(&w, K_TRADES, b->trades);
    }
    if (b->has & BAR_HAS_VWAP) {
        json_dbl(&w, K_VWAP, b->vwap);
    }
    if (b->has & BAR_HAS_FIRSTLAST) {
        json_strkey(&w, K_FIRST_ID, b->first_id, l.first_id);
        json_strkey(&w, K_LAST_ID, b->last_id, l.last_id);
        json_i64(&w, K_FIRST_NS, b->first_ns);
        json_i64(&w, K_LAST_NS, b->last_ns);
    }
    put1(&w, '}');

    *len = w.n;
    if (w.n >= cap) {
        return MD_E_FULL; /* no room for the NUL */
    }
    buf[w.n] = '\0';
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * Decoding, shared part: values land in a scratch bar through these
 * setters, which hold every range rule; dec_finish applies the presence
 * rules. Both decoders copy the scratch bar out only on success.
 * ------------------------------------------------------------------- */

struct dec {
    struct bar t;
    uint32_t seen;            /* KBIT(k) for every key decoded */
    size_t voff[K__COUNT];    /* where each value started */
    char ival[24];            /* the "interval" text */
    size_t ival_len;          /* SIZE_MAX: too long to match anything */
    int hint;                 /* the key expected next */
};

static void dec_init(struct dec *d)
{
    memset(&d->t, 0, sizeof d->t);
    d->seen = 0;
    d->ival_len = 0;
    d->hint = 0;
}

/* v: 1..BAR_VERSION, newer is MD_E_VERSION. */
static int set_version(bool neg, bar_u128 mag, int pr)
{
    if (pr == DEC_OVERFLOW && !neg) {
        return MD_E_VERSION;
    }
    if (pr != DEC_OK || neg || mag == 0) {
        return MD_E_PROTO;
    }
    return mag > BAR_VERSION ? MD_E_VERSION : MD_OK;
}

static int set_int(struct bar *t, int k, bool neg, bar_u128 mag)
{
    int64_t v;

    switch (k) {
    case K_INTERVAL_S:
        if (!to_i64(neg, mag, &v) || v <= 0) {
            return MD_E_RANGE;
        }
        t->interval_s = v;
        return MD_OK;
    case K_REVISION:
        if ((neg && mag != 0) || mag > UINT32_MAX) {
            return MD_E_RANGE;
        }
        t->revision = (uint32_t)mag;
        return MD_OK;
    case K_TRADES:
        if ((neg && mag != 0) || mag > UINT64_MAX) {
            return MD_E_RANGE;
        }
        t->trades = (uint64_t)mag;
        return MD_OK;
    default:
        break;
    }
    if (!to_i64(neg, mag, &v)) {
        return MD_E_RANGE;
    }
    switch (k) {
    case K_START_MS:
        t->start_ms = v;
        break;
    case K_END_MS:
        t->end_ms = v;
        break;
    case K_FIRST_NS:
        t->first_ns = v;
        break;
    case K_LAST_NS:
        t->last_ns = v;
        break;
    default:
        return MD_E_PROTO;
    }
    return MD_OK;
}

static int set_vol(struct bar *t, int k, bool neg, bar_u128 mag)
{
    bar_i128 v;

    if (!to_i128(neg, mag, &v)) {
        return MD_E_RANGE;
    }
    switch (k) {
    case K_VOLUME:
        t->volume = v;
        break;
    case K_QUOTE_VOLUME:
        t->quote_volume = v;
        break;
    case K_BUY_VOLUME:
        t->buy_volume = v;
        break;
    case K_SELL_VOLUME:
        t->sell_volume = v;
        break;
    default:
        return MD_E_PROTO;
    }
    return MD_OK;
}

static void set_dbl(struct bar *t, int k, double v)
{
    switch (k) {
    case K_OPEN:
        t->open = v;
        break;
    case K_HIGH:
        t->high = v;
        break;
    case K_LOW:
        t->low = v;
        break;
    case K_CLOSE:
        t->close = v;
        break;
    default:
        t->vwap = v;
        break;
    }
}

/* The unescaped bytes of a string field; MD_E_RANGE when longer than the
 * field, MD_E_PROTO for NUL or invalid UTF-8. */
static int set_str(struct bar *t, int k, const char *p, size_t n)
{
    char *dst;
    size_t cap;

    switch (k) {
    case K_MARKET:
        dst = t->market;
        cap = sizeof t->market;
        break;
    case K_BASE:
        dst = t->base;
        cap = sizeof t->base;
        break;
    case K_QUOTE:
        dst = t->quote;
        cap = sizeof t->quote;
        break;
    case K_FIRST_ID:
        dst = t->first_id;
        cap = sizeof t->first_id;
        break;
    default:
        dst = t->last_id;
        cap = sizeof t->last_id;
        break;
    }
    if (n >= cap) {
        return MD_E_RANGE;
    }
    if (memchr(p, '\0', n) != NULL || !utf8_ok(p, n)) {
        return MD_E_PROTO;
    }
    if (n == 0 && (k == K_MARKET || k == K_BASE || k == K_QUOTE)) {
        return MD_E_RANGE;
    }
    memcpy(dst, p, n);
    dst[n] = '\0';
    return MD_OK;
}

static void set_interval(struct dec *d, const char *p, size_t n)
{
    if (n >= sizeof d->ival) {
        d->ival_len = SIZE_MAX;
        return;
    }
    memcpy(d->ival, p, n);
    d->ival_len = n;
}

/* source / close_reason by name. */
static int set_enum(struct bar *t, int k, const char *p, size_t n)
{
    int v;
    int count = k == K_SOURCE ? BAR_SRC__COUNT : BAR_CLOSE__COUNT;

    for (v = 1; v < count; v++) {
        const char *name =
            k == K_SOURCE ? bar_source_name(v) : bar_close_name(v);
        if (strlen(name) == n && memcmp(name, p, n) == 0) {
            if (k == K_SOURCE) {
                t->source = (uint8_t)v;
            } else {
                t->close_reason = (uint8_t)v;
            }
            return MD_OK;
        }
    }
    return MD_E_PROTO;
}

/* One flag name; unknown or repeated is MD_E_PROTO. */
static int set_flag(struct bar *t, const char *p, size_t n)
{
    unsigned f;

    for (f = 0; f < FLAG_COUNT; f++) {
        if (strlen(flag_names[f]) == n && memcmp(flag_names[f], p, n) == 0) {
            if (t->flags & (1u << f)) {
                return MD_E_PROTO;
            }
            t->flags |= 1u << f;
            return MD_OK;
        }
    }
    return MD_E_PROTO;
}

/* Presence rules after the last key. On failure *off is the offset to
 * report (0 for the object as a whole). */
static int dec_finish(struct dec *d, size_t *off)
{
    size_t g;
    int k;
    char iv[32];
    int ivn;

    if ((d->seen & REQ_MASK) != REQ_MASK) {
        *off = 0;
        return MD_E_PROTO; /* a required key is missing */
    }
    for (g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        uint32_t grp = groups[g].mask;
        if ((d->seen & grp) == grp) {
            d->t.has |= groups[g].has;
        } else if (d->seen & grp) {
            for (k = 0; k < K__COUNT; k++) {
                if (d->seen & grp & KBIT(k)) {
                    break;
                }
            }
            *off = d->voff[k];
            return MD_E_PROTO; /* a group is incomplete */
        }
    }
    ivn = bar_interval_name(d->t.interval_s, iv, (unsigned)sizeof iv);
    if (d->ival_len != (size_t)ivn || memcmp(d->ival, iv, d->ival_len)) {
        *off = d->voff[K_INTERVAL];
        return MD_E_PROTO;
    }
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * JSON decoder
 * ------------------------------------------------------------------- */

/* The bytes of a string, unescaped into tmp if it has escapes. Returns
 * MD_OK, MD_E_FULL (longer than cap: the caller decides), MD_E_PROTO. */
static int json_view(const struct cc_str *s, char *tmp, size_t cap,
                     const char **p, size_t *n)
{
    if (!s->esc) {
        *p = s->p;
        *n = s->len;
        return MD_OK;
    }
    *p = tmp;
    return cc_str_unescape(s, tmp, cap, n);
}

/* The number token at the cursor, parsed exactly from its text. The
 * scanner's cc_json_skip checks the RFC 8259 grammar and the length
 * without making a double (which would overflow for "1e400", a fine
 * spelling of a too-large integer). */
static int json_scaled(struct cc_json *j, int scale, bool *neg,
                       bar_u128 *mag, int *pr)
{
    size_t start;
    int c = cc_json_peek(j);
    int rc;

    start = j->pos;
    if (c < 0) {
        return cc_json_fail(j, MD_E_TRUNC, j->len, "truncated input");
    }
    if (c != '-' && (c < '0' || c > '9')) {
        return cc_json_fail(j, MD_E_PROTO, j->pos, "expected a number");
    }
    rc = cc_json_skip(j);
    if (rc < 0) {
        return rc;
    }
    *pr = parse_scaled(j->buf + start, j->pos - start, scale, neg, mag);
    return MD_OK;
}

static int json_value(struct dec *d, struct cc_json *j, int k, size_t voff)
{
    struct cc_str s;
    struct cc_num num;
    char tmp[64];
    const char *p;
    size_t n;
    bool neg;
    bar_u128 mag;
    int pr;
    int rc;

    switch (keys[k].type) {
    case VT_VERSION:
        rc = json_scaled(j, 0, &neg, &mag, &pr);
        if (rc == MD_OK) {
            rc = set_version(neg, mag, pr);
        }
        break;
    case VT_INT:
        rc = json_scaled(j, 0, &neg, &mag, &pr);
        if (rc == MD_OK) {
            rc = pr == DEC_OK         ? set_int(&d->t, k, neg, mag)
                 : pr == DEC_OVERFLOW ? MD_E_RANGE
                                      : MD_E_PROTO;
        }
        break;
    case VT_VOL:
        rc = json_scaled(j, keys[k].scale, &neg, &mag, &pr);
        if (rc == MD_OK) {
            rc = pr == DEC_OK          ? set_vol(&d->t, k, neg, mag)
                 : pr == DEC_MALFORMED ? MD_E_PROTO
                                       : MD_E_RANGE;
        }
        break;
    case VT_DBL:
        rc = cc_json_num(j, &num);
        if (rc == MD_OK) {
            set_dbl(&d->t, k, num.d);
        }
        break;
    case VT_STR:
    case VT_INTERVAL:
    case VT_SOURCE:
    case VT_CLOSE:
        rc = cc_json_str(j, &s);
        if (rc < 0) {
            break;
        }
        rc = json_view(&s, tmp, sizeof tmp, &p, &n);
        if (rc == MD_E_FULL) {
            /* longer than any field or name */
            rc = keys[k].type == VT_STR ? MD_E_RANGE : MD_E_PROTO;
            n = sizeof tmp;
        }
        if (rc < 0) {
            break;
        }
        if (keys[k].type == VT_STR) {
            rc = set_str(&d->t, k, p, n);
        } else if (keys[k].type == VT_INTERVAL) {
            set_interval(d, p, n);
        } else {
            rc = set_enum(&d->t, k, p, n);
        }
        break;
    case VT_FLAGS:
        rc = cc_json_arr_begin(j);
        while (rc >= 0) {
            rc = cc_json_arr_next(j);
            if (rc <= 0) {
                break;
            }
            voff = j->pos;
            rc = cc_json_str(j, &s);
            if (rc == MD_OK) {
                rc = json_view(&s, tmp, sizeof tmp, &p, &n);
                rc = rc == MD_E_FULL ? MD_E_PROTO : rc;
            }
            if (rc == MD_OK) {
                rc = set_flag(&d->t, p, n);
            }
        }
        break;
    default:
        rc = MD_E_PROTO;
        break;
    }
    if (rc < 0) {
        /* No-op when the scanner already recorded its own failure. */
        (void)cc_json_fail(j, rc, voff, "bad value");
    }
    return rc < 0 ? rc : MD_OK;
}

/* Key of a member, or -1 if unknown. */
static int json_key_id(const struct cc_str *key, int hint)
{
    char tmp[32];
    const char *p;
    size_t n;

    if (json_view(key, tmp, sizeof tmp, &p, &n) != MD_OK) {
        return -1;
    }
    return key_find(p, n, hint);
}

/* After a failure: does the object carry a readable "v" newer than ours?
 * Then that is the error to report. */
static bool json_newer(const char *buf, size_t len, size_t *off)
{
    struct cc_json j;
    struct cc_str key;
    bool neg;
    bar_u128 mag;
    int pr;
    int rc;

    cc_json_init(&j, buf, len, NULL);
    rc = cc_json_obj_begin(&j);
    while (rc >= 0) {
        rc = cc_json_obj_next(&j, &key);
        if (rc <= 0) {
            break;
        }
        if (json_key_id(&key, K_V) == K_V) {
            size_t at;
            (void)cc_json_peek(&j);
            at = j.pos;
            rc = json_scaled(&j, 0, &neg, &mag, &pr);
            if (rc == MD_OK && set_version(neg, mag, pr) == MD_E_VERSION) {
                *off = at;
                return true;
            }
            return false;
        }
        rc = cc_json_skip(&j);
    }
    return false;
}

int bar_from_json(const char *buf, size_t len, struct bar *b,
                  size_t *err_off)
{
    struct dec d;
    struct cc_json j;
    struct cc_err err;
    struct cc_str key;
    size_t off = 0;
    int rc;

    if (err_off != NULL) {
        *err_off = 0;
    }
    if (b == NULL || (buf == NULL && len != 0)) {
        return MD_E_INVAL;
    }
    dec_init(&d);
    cc_json_init(&j, buf, len, &err);
    rc = cc_json_obj_begin(&j);
    while (rc >= 0) {
        int k;
        size_t koff;

        rc = cc_json_obj_next(&j, &key);
        if (rc <= 0) {
            break;
        }
        k = json_key_id(&key, d.hint);
        if (k < 0) {
            rc = cc_json_skip(&j);
            continue;
        }
        koff = (size_t)(key.p - buf) - 1; /* the opening quote */
        if (d.seen & KBIT(k)) {
            rc = cc_json_fail(&j, MD_E_PROTO, koff, "duplicate key");
            break;
        }
        d.seen |= KBIT(k);
        (void)cc_json_peek(&j);
        d.voff[k] = j.pos;
        d.hint = k + 1;
        rc = json_value(&d, &j, k, j.pos);
    }
    if (rc >= 0) {
        rc = cc_json_end(&j);
    }
    if (rc < 0) {
        off = err.rc < 0 ? err.off : j.pos;
        rc = err.rc < 0 ? err.rc : rc;
    } else {
        rc = dec_finish(&d, &off);
    }
    if (rc < 0 && rc != MD_E_VERSION && json_newer(buf, len, &off)) {
        rc = MD_E_VERSION;
    }
    if (rc < 0) {
        if (err_off != NULL) {
            *err_off = off;
        }
        return rc;
    }
    *b = d.t;
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * msgpack encoder: msgpack-c's packer (the format:
 * github.com/msgpack/msgpack/spec.md). Its msgpack_pack_* calls choose
 * the smallest int form, fixstr/str8/str16, fixmap/map16,
 * fixarray/array16 and float64 (0xcb) for a double: the bytes of
 * docs/bars.md, pinned by the golden tests.
 * ------------------------------------------------------------------- */

/* msgpack_packer's write callback: into the struct wr, which keeps
 * counting past cap so the caller learns the size it needs. */
static int mp_write(void *data, const char *s, size_t k)
{
    put(data, s, k);
    return 0;
}

/* The packer's calls return the callback's result, always 0 here. */
static void mp_str(msgpack_packer *pk, const char *s, size_t n)
{
    (void)msgpack_pack_str_with_body(pk, s, n);
}

static double scaled_to_dbl_text(bar_i128 v, int scale);

static double scaled_to_dbl(bar_i128 v, int scale)
{
    /* Below 2^53 both v and 10^scale are exact doubles: one correctly
     * rounded division is the nearest double to the decimal. */
    if (v > -((bar_i128)1 << 53) && v < ((bar_i128)1 << 53) && scale <= 22) {
        return (double)(int64_t)v / md_pow10_exact[scale];
    }
    return scaled_to_dbl_text(v, scale);
}

/* scaled_to_dbl for the rest, through the decimal text. */
static double scaled_to_dbl_text(bar_i128 v, int scale)
{
    char d[48];
    size_t n = fmt_scaled(v, scale, d);
    size_t i;
    size_t sig = 0;   /* significant digits seen */
    size_t zeros = 0; /* trailing zeros not yet counted */
    int frac = -1;    /* digits after the point, -1 before it */
    uint64_t m = 0;
    double x;

    /* Same Clinger shortcut as dbl_shortest_fast: <= 15 significant
     * digits and an exact power of ten make one correctly rounded IEEE
     * operation; anything longer goes to strtod. */
    for (i = d[0] == '-' ? 1u : 0u; i < n; i++) {
        if (d[i] == '.') {
            frac = 0;
            continue;
        }
        frac += frac >= 0 ? 1 : 0;
        if (d[i] == '0') {
            zeros += m != 0 ? 1u : 0u;
            continue;
        }
        for (; zeros > 0; zeros--) {
            m *= 10;
            sig++;
        }
        m = m * 10 + (uint64_t)(d[i] - '0');
        sig++;
        if (sig > 15) {
            return strtod(d, NULL);
        }
    }
    if (m == 0) {
        return 0;
    }
    /* value = m x 10^(zeros - frac); zeros only count integer zeros,
     * since fmt_scaled trims fractional ones */
    {
        int e10 = (int)zeros - (frac < 0 ? 0 : frac);
        if (e10 > 22) {
            return strtod(d, NULL); /* 10^e10 is not exact */
        }
        x = (double)m;
        x = e10 >= 0 ? x * md_pow10_exact[e10] : x / md_pow10_exact[-e10];
    }
    return d[0] == '-' ? -x : x;
}

/* The double nearest to the exact decimal value (what strtod gives), so
 * the decoder's shortest form gives the volume back whenever it has at
 * most 15 significant digits. */
static void mp_vol(msgpack_packer *pk, int k, bar_i128 v)
{
    mp_str(pk, keys[k].name, keys[k].len);
    (void)msgpack_pack_double(pk, scaled_to_dbl(v, keys[k].scale));
}

static void mp_kstr(msgpack_packer *pk, int k, const char *s, size_t n)
{
    mp_str(pk, keys[k].name, keys[k].len);
    mp_str(pk, s, n);
}

static void mp_kint(msgpack_packer *pk, int k, int64_t v)
{
    mp_str(pk, keys[k].name, keys[k].len);
    (void)msgpack_pack_int64(pk, v);
}

static void mp_kuint(msgpack_packer *pk, int k, uint64_t v)
{
    mp_str(pk, keys[k].name, keys[k].len);
    (void)msgpack_pack_uint64(pk, v);
}

static void mp_kdbl(msgpack_packer *pk, int k, double v)
{
    mp_str(pk, keys[k].name, keys[k].len);
    (void)msgpack_pack_double(pk, v);
}

int bar_to_msgpack(const struct bar *b, unsigned char *buf, size_t cap,
                   size_t *len)
{
    struct lens l;
    struct wr w;
    msgpack_packer pk;
    char iv[32];
    int ivn;
    const char *name;
    unsigned f;
    size_t nflags = 0;
    size_t entries = 0;
    int k;
    int rc;

    if (len == NULL) {
        return MD_E_INVAL;
    }
    *len = 0;
    if (b == NULL || (buf == NULL && cap != 0)) {
        return MD_E_INVAL;
    }
    rc = bar_check(b, &l);
    if (rc < 0) {
        return rc;
    }
    w.p = buf;
    w.cap = cap;
    w.n = 0;
    w.whole = false;
    msgpack_packer_init(&pk, &w, mp_write);

    for (k = 0; k < K__COUNT; k++) {
        if (keys[k].has == 0 || (b->has & keys[k].has)) {
            entries++;
        }
    }
    (void)msgpack_pack_map(&pk, entries);
    mp_kuint(&pk, K_V, BAR_VERSION);
    mp_kstr(&pk, K_MARKET, b->market, l.market);
    mp_kstr(&pk, K_BASE, b->base, l.base);
    mp_kstr(&pk, K_QUOTE, b->quote, l.quote);
    ivn = bar_interval_name(b->interval_s, iv, (unsigned)sizeof iv);
    mp_kstr(&pk, K_INTERVAL, iv, (size_t)ivn);
    mp_kint(&pk, K_INTERVAL_S, b->interval_s);
    name = bar_source_name(b->source);
    mp_kstr(&pk, K_SOURCE, name, strlen(name));
    mp_kint(&pk, K_START_MS, b->start_ms);
    mp_kint(&pk, K_END_MS, b->end_ms);
    mp_kuint(&pk, K_REVISION, b->revision);
    name = bar_close_name(b->close_reason);
    mp_kstr(&pk, K_CLOSE_REASON, name, strlen(name));
    mp_str(&pk, keys[K_FLAGS].name, keys[K_FLAGS].len);
    for (f = 0; f < FLAG_COUNT; f++) {
        nflags += (b->flags >> f) & 1u;
    }
    (void)msgpack_pack_array(&pk, nflags);
    for (f = 0; f < FLAG_COUNT; f++) {
        if (b->flags & (1u << f)) {
            mp_str(&pk, flag_names[f], strlen(flag_names[f]));
        }
    }
    if (b->has & BAR_HAS_OHLC) {
        mp_kdbl(&pk, K_OPEN, b->open);
        mp_kdbl(&pk, K_HIGH, b->high);
        mp_kdbl(&pk, K_LOW, b->low);
        mp_kdbl(&pk, K_CLOSE, b->close);
    }
    if (b->has & BAR_HAS_VOLUME) {
        mp_vol(&pk, K_VOLUME, b->volume);
        mp_vol(&pk, K_QUOTE_VOLUME, b->quote_volume);
    }
    if (b->has & BAR_HAS_BUYSELL) {
        mp_vol(&pk, K_BUY_VOLUME, b->buy_volume);
        mp_vol(&pk, K_SELL_VOLUME, b->sell_volume);
    }
    if (b->has & BAR_HAS_TRADES) {
        mp_kuint(&pk, K_TRADES, b->trades);
    }
    if (b->has & BAR_HAS_VWAP) {
        mp_kdbl(&pk, K_VWAP, b->vwap);
    }
    if (b->has & BAR_HAS_FIRSTLAST) {
        mp_kstr(&pk, K_FIRST_ID, b->first_id, l.first_id);
        mp_kstr(&pk, K_LAST_ID, b->last_id, l.last_id);
        mp_kint(&pk, K_FIRST_NS, b->first_ns);
        mp_kint(&pk, K_LAST_NS, b->last_ns);
    }
    *len = w.n;
    return w.n > cap ? MD_E_FULL : MD_OK;
}

/* ---------------------------------------------------------------------
 * msgpack decoder: msgpack-c's msgpack_unpack_next reads the map into an
 * object tree in one call; the loop below takes each pair from the tree.
 * A value's offset, for error reports, is where its key's bytes end
 * (msgpack-c's str objects point into the input).
 *
 * Before msgpack-c sees the bytes, mp_bound walks their headers:
 * msgpack-c's C unpacker allocates a container's declared size before
 * any element arrives (a 5-byte array32 header would ask for ~100 GB),
 * and has no limit to give it. mp_bound proves every length and count
 * fits in the bytes that remain (an element costs at least one byte),
 * bounds the nesting, and refuses 0xc1; so msgpack-c only ever allocates
 * in proportion to the input. Truncation is reported at len, every other
 * failure at the first byte of the offending item.
 *
 * msgpack-c's stack holds 32 containers, empty ones included, counting
 * the map itself; we accept an empty container one level deeper (32
 * non-empty levels). For such a map, and to look for a newer "v" in a
 * map that did not decode, items are read one at a time instead
 * (msgpack_unpack_next on each key and each value).
 * ------------------------------------------------------------------- */

struct mp {
    const unsigned char *b;
    size_t len;
    size_t pos;
    int rc;              /* first failure */
    size_t off;          /* and where */
    msgpack_unpacked *u; /* holds the tree, or the item read last */
};

static int mp_fail(struct mp *m, int rc, size_t off)
{
    if (m->rc == MD_OK) {
        m->rc = rc;
        m->off = rc == MD_E_TRUNC ? m->len : off;
    }
    return rc;
}

/* n more bytes available from pos? */
static int mp_need(struct mp *m, size_t n)
{
    if (m->len - m->pos < n) {
        return mp_fail(m, MD_E_TRUNC, m->len);
    }
    return MD_OK;
}

/* Big-endian unsigned of n bytes at pos + at (checked by the caller). */
static uint64_t mp_get(const struct mp *m, size_t at, size_t n)
{
    uint64_t v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        v = (v << 8) | m->b[m->pos + at + i];
    }
    return v;
}

/* The tag at pos; negative (truncated) at the end of input. */
static int mp_tag(struct mp *m)
{
    if (m->pos >= m->len) {
        return mp_fail(m, MD_E_TRUNC, m->len);
    }
    return m->b[m->pos];
}

/* The header of the top-level map: its pair count. Anything but a map is
 * MD_E_PROTO. */
static int mp_map(struct mp *m, uint64_t *n)
{
    int t = mp_tag(m);
    size_t w;

    if (t < 0) {
        return t;
    }
    if ((t & 0xf0) == 0x80) {
        *n = (unsigned)t & 0x0fu;
        m->pos++;
        return MD_OK;
    }
    if (t != 0xde && t != 0xdf) {
        return mp_fail(m, MD_E_PROTO, m->pos);
    }
    w = t == 0xde ? 2u : 4u;
    if (mp_need(m, 1 + w) < 0) {
        return MD_E_TRUNC;
    }
    *n = mp_get(m, 1, w);
    m->pos += 1 + w;
    return MD_OK;
}

/* Walk one item of any type from pos to its end, containers included,
 * depth bounded (see above). Every element costs at least one byte, so a
 * huge declared count ends at the end of input, not after 2^32
 * iterations. */
static int mp_bound(struct mp *m, unsigned depth)
{
    int t = mp_tag(m);
    size_t hdr = 1;
    uint64_t body = 0;
    uint64_t count = 0;
    uint64_t i;
    int rc;

    if (t < 0) {
        return t;
    }
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
        hdr = 1; /* fixint, nil, false, true */
    } else if ((t & 0xe0) == 0xa0) {
        body = (unsigned)t & 0x1fu;
    } else if ((t & 0xf0) == 0x80 || (t & 0xf0) == 0x90) {
        count = ((unsigned)t & 0x0fu) * ((t & 0xf0) == 0x80 ? 2u : 1u);
    } else {
        static const uint8_t fixed[] = {
            /* 0xca float32, 0xcb float64, 0xcc..0xcf uint, 0xd0..0xd3 int */
            5, 9, 2, 3, 5, 9, 2, 3, 5, 9,
            /* 0xd4..0xd8 fixext 1/2/4/8/16: tag, type, data */
            3, 4, 6, 10, 18};
        size_t w = 0;
        switch (t) {
        case 0xc4: /* bin8 */
        case 0xd9: /* str8 */
        case 0xc7: /* ext8 (+ type byte) */
            w = 1;
            break;
        case 0xc5:
        case 0xda:
        case 0xc8:
            w = 2;
            break;
        case 0xc6:
        case 0xdb:
        case 0xc9:
            w = 4;
            break;
        case 0xdc: /* array16 */
        case 0xde: /* map16 */
            w = 2;
            break;
        case 0xdd:
        case 0xdf:
            w = 4;
            break;
        default:
            if (t >= 0xca && t <= 0xd8) {
                hdr = fixed[t - 0xca];
                break;
            }
            return mp_fail(m, MD_E_PROTO, m->pos); /* 0xc1 */
        }
        if (w != 0) {
            if (mp_need(m, 1 + w) < 0) {
                return MD_E_TRUNC;
            }
            hdr = 1 + w;
            if (t >= 0xdc) {
                count = mp_get(m, 1, w) * (t >= 0xde ? 2u : 1u);
            } else {
                body = mp_get(m, 1, w);
                if (t >= 0xc7 && t <= 0xc9) {
                    hdr++; /* ext type */
                }
            }
        }
    }
    if (mp_need(m, hdr) < 0 || m->len - m->pos - hdr < body) {
        return mp_fail(m, MD_E_TRUNC, m->len);
    }
    if (count != 0 && depth >= MP_MAX_DEPTH) {
        return mp_fail(m, MD_E_PROTO, m->pos);
    }
    m->pos += hdr + (size_t)body;
    for (i = 0; i < count; i++) {
        rc = mp_bound(m, depth + 1);
        if (rc < 0) {
            return rc;
        }
    }
    return MD_OK;
}

/* The item at pos (a key or a value of the top-level map): t itself
 * when the map is a tree (t not NULL; pos is not moved), else bounded by
 * mp_bound and read alone by msgpack-c, valid until the next call, and
 * pos moves past it. str and bin bodies borrow the input. */
static int mp_item(struct mp *m, const msgpack_object *t,
                   const msgpack_object **o)
{
    size_t at = m->pos;
    size_t off = at;
    msgpack_unpack_return ur;
    int rc;

    *o = t;
    if (t != NULL) {
        return MD_OK;
    }
    rc = mp_bound(m, 1);
    if (rc < 0) {
        return rc;
    }
    /* A bounded item fails only for want of memory (msgpack-c's depth
     * limit, 32 containers, is never reached: mp_bound stops first). */
    ur = msgpack_unpack_next(m->u, (const char *)m->b, m->pos, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        return mp_fail(m, MD_E_NOMEM, at);
    }
    if (ur != MSGPACK_UNPACK_SUCCESS || off != m->pos) {
        return mp_fail(m, MD_E_PROTO, at);
    }
    *o = &m->u->data;
    return MD_OK;
}

/* Any integer as sign + magnitude; false when o is not an integer. */
static bool obj_int(const msgpack_object *o, bool *neg, bar_u128 *mag)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *neg = false;
        *mag = o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *neg = true;
        *mag = (uint64_t)0 - (uint64_t)o->via.i64; /* INT64_MIN too */
        return true;
    }
    return false;
}

/* A float32 (widened exactly) or float64; false for anything else. */
static bool obj_float(const msgpack_object *o, double *x)
{
    if (o->type == MSGPACK_OBJECT_FLOAT64 ||
        o->type == MSGPACK_OBJECT_FLOAT32) {
        *x = o->via.f64;
        return true;
    }
    return false;
}

/* Where an array's first element starts: past its header at voff. */
static size_t mp_array_body(const struct mp *m, size_t voff)
{
    unsigned char t = m->b[voff];

    return voff + (t == 0xdc ? 3u : t == 0xdd ? 5u : 1u);
}

/* The value o of key k, which started at voff. */
static int mp_value(struct dec *d, struct mp *m, int k,
                    const msgpack_object *o, size_t voff)
{
    bool neg = false;
    bar_u128 mag = 0;
    double x = 0;
    uint32_t i;
    int rc;

    switch (keys[k].type) {
    case VT_VERSION:
        rc = obj_int(o, &neg, &mag) ? set_version(neg, mag, DEC_OK)
                                    : MD_E_PROTO;
        break;
    case VT_INT:
        rc = obj_int(o, &neg, &mag) ? set_int(&d->t, k, neg, mag)
                                    : MD_E_PROTO;
        break;
    case VT_DBL:
        if (obj_float(o, &x)) {
            rc = isfinite(x) ? MD_OK : MD_E_RANGE;
        } else if (obj_int(o, &neg, &mag)) {
            /* only integers a double holds exactly */
            x = (double)mag;
            rc = mag > ((bar_u128)1 << 53) && (bar_u128)x != mag
                     ? MD_E_RANGE
                     : MD_OK;
            x = neg ? -x : x;
        } else {
            rc = MD_E_PROTO;
        }
        if (rc == MD_OK) {
            set_dbl(&d->t, k, x);
        }
        break;
    case VT_VOL:
        if (obj_float(o, &x)) {
            rc = dbl_to_scaled(x, keys[k].scale, &neg, &mag);
        } else if (obj_int(o, &neg, &mag)) {
            rc = u128_mul_pow10(&mag, keys[k].scale) ? MD_OK : MD_E_RANGE;
        } else {
            rc = MD_E_PROTO;
        }
        if (rc == MD_OK) {
            rc = set_vol(&d->t, k, neg, mag);
        }
        break;
    case VT_STR:
    case VT_INTERVAL:
    case VT_SOURCE:
    case VT_CLOSE:
        if (o->type != MSGPACK_OBJECT_STR) {
            rc = MD_E_PROTO;
        } else if (keys[k].type == VT_STR) {
            rc = set_str(&d->t, k, o->via.str.ptr, o->via.str.size);
        } else if (keys[k].type == VT_INTERVAL) {
            set_interval(d, o->via.str.ptr, o->via.str.size);
            rc = MD_OK;
        } else {
            rc = set_enum(&d->t, k, o->via.str.ptr, o->via.str.size);
        }
        break;
    case VT_FLAGS:
        if (o->type != MSGPACK_OBJECT_ARRAY) {
            rc = MD_E_PROTO;
            break;
        }
        /* each element's offset: the end of the one before */
        voff = mp_array_body(m, voff);
        rc = MD_OK;
        for (i = 0; rc == MD_OK && i < o->via.array.size; i++) {
            const msgpack_object *e = &o->via.array.ptr[i];
            if (e->type != MSGPACK_OBJECT_STR) {
                rc = MD_E_PROTO;
                break;
            }
            rc = set_flag(&d->t, e->via.str.ptr, e->via.str.size);
            if (rc == MD_OK) {
                voff = (size_t)((const unsigned char *)e->via.str.ptr -
                                m->b) +
                       e->via.str.size;
            }
        }
        break;
    default:
        rc = MD_E_PROTO;
        break;
    }
    if (rc < 0) {
        (void)mp_fail(m, rc, voff);
    }
    return rc < 0 ? rc : MD_OK;
}

/* Where pair i of a bounded map whose pairs start at body begins. A tree
 * keeps no offsets; only a duplicate key needs this one. */
static size_t mp_pair_off(const struct mp *m, size_t body, uint64_t i)
{
    struct mp w = *m;

    w.pos = body;
    for (; i > 0; i--) {
        (void)mp_bound(&w, 1);
        (void)mp_bound(&w, 1);
    }
    return w.pos;
}

/* A str object's text equal to the n bytes at s? */
static bool obj_is(const msgpack_object *o, const char *s, size_t n)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

/* After a failure: a readable "v" newer than ours wins. */
static bool mp_newer(const unsigned char *buf, size_t len, size_t *off)
{
    msgpack_unpacked u;
    struct mp m = {buf, len, 0, MD_OK, 0, &u};
    const msgpack_object *o;
    uint64_t n;
    uint64_t i;
    bool neg;
    bar_u128 mag;
    bool newer = false;

    if (mp_map(&m, &n) < 0) {
        return false;
    }
    msgpack_unpacked_init(&u);
    for (i = 0; i < n; i++) {
        if (mp_item(&m, NULL, &o) < 0) {
            break;
        }
        if (obj_is(o, "v", 1)) {
            size_t at = m.pos;
            if (mp_item(&m, NULL, &o) == MD_OK && obj_int(o, &neg, &mag) &&
                set_version(neg, mag, DEC_OK) == MD_E_VERSION) {
                *off = at;
                newer = true;
            }
            break;
        }
        if (mp_bound(&m, 1) < 0) {
            break;
        }
    }
    msgpack_unpacked_destroy(&u);
    return newer;
}

int bar_from_msgpack(const unsigned char *buf, size_t len, struct bar *b,
                     size_t *err_off)
{
    struct dec d;
    msgpack_unpacked u;
    struct mp m = {buf, len, 0, MD_OK, 0, &u};
    const msgpack_object_kv *kv = NULL; /* the tree's pairs */
    const msgpack_object *o;
    uint64_t n = 0;
    uint64_t i;
    size_t body = 0; /* where the first pair starts */
    size_t end = 0;  /* and where the map ends */
    size_t off = 0;
    int rc;

    if (err_off != NULL) {
        *err_off = 0;
    }
    if (b == NULL || (buf == NULL && len != 0)) {
        return MD_E_INVAL;
    }
    dec_init(&d);
    msgpack_unpacked_init(&u);
    rc = mp_map(&m, &n);
    if (rc == MD_OK) {
        body = m.pos;
        m.pos = 0;
        rc = mp_bound(&m, 0); /* the whole map: pos is its end */
    }
    if (rc == MD_OK) {
        size_t at = 0;
        msgpack_unpack_return ur;
        end = m.pos;
        ur = msgpack_unpack_next(&u, (const char *)buf, end, &at);
        if (ur == MSGPACK_UNPACK_SUCCESS && at == end) {
            kv = u.data.via.map.ptr;
        } else if (ur != MSGPACK_UNPACK_NOMEM_ERROR) {
            rc = mp_fail(&m, MD_E_PROTO, 0); /* not after mp_bound */
        }
        /* NOMEM: too deep for msgpack-c's stack, or short of memory;
         * item by item tells which */
        m.pos = body;
    }
    for (i = 0; rc == MD_OK && i < n; i++) {
        size_t koff = m.pos;
        int k = -1;

        rc = mp_item(&m, kv != NULL ? &kv[i].key : NULL, &o);
        if (rc < 0) {
            break;
        }
        if (o->type == MSGPACK_OBJECT_STR) {
            k = key_find(o->via.str.ptr, o->via.str.size, d.hint);
            if (kv != NULL) {
                /* a tree's str borrows the input: the value follows */
                const char *s = o->via.str.ptr;
                assert(s >= (const char *)buf &&
                       s <= (const char *)buf + end);
                m.pos = (size_t)(s - (const char *)buf) + o->via.str.size;
            }
        }
        if (k < 0) {
            /* an unknown key's value: skipped */
            rc = kv != NULL ? MD_OK : mp_bound(&m, 1);
            continue;
        }
        if (d.seen & KBIT(k)) {
            koff = kv != NULL ? mp_pair_off(&m, body, i) : koff;
            rc = mp_fail(&m, MD_E_PROTO, koff); /* duplicate key */
            break;
        }
        d.seen |= KBIT(k);
        d.voff[k] = m.pos;
        d.hint = k + 1;
        rc = mp_item(&m, kv != NULL ? &kv[i].val : NULL, &o);
        if (rc == MD_OK) {
            rc = mp_value(&d, &m, k, o, d.voff[k]);
        }
    }
    msgpack_unpacked_destroy(&u);
    if (kv != NULL) {
        m.pos = end;
    }
    if (rc == MD_OK && m.pos != len) {
        rc = mp_fail(&m, MD_E_PROTO, m.pos); /* bytes after the map */
    }
    if (rc < 0) {
        rc = m.rc < 0 ? m.rc : rc;
        off = m.off;
    } else {
        rc = dec_finish(&d, &off);
    }
    if (rc < 0 && rc != MD_E_VERSION && mp_newer(buf, len, &off)) {
        rc = MD_E_VERSION;
    }
    if (rc < 0) {
        if (err_off != NULL) {
            *err_off = off;
        }
        return rc;
    }
    *b = d.t;
    return MD_OK;
}

/* ---------------------------------------------------------------------
 * Kafka key
 * ------------------------------------------------------------------- */

int bar_key(const struct bar *b, char *buf, size_t cap, size_t *len)
{
    size_t lm;
    size_t lb;
    size_t lq;
    char iv[32];
    int ivn;
    const char *src;
    struct wr w;

    if (len == NULL) {
        return MD_E_INVAL;
    }
    *len = 0;
    if (b == NULL || (buf == NULL && cap != 0)) {
        return MD_E_INVAL;
    }
    if (str_field(b->market, sizeof b->market, true, &lm) < 0 ||
        str_field(b->base, sizeof b->base, true, &lb) < 0 ||
        str_field(b->quote, sizeof b->quote, true, &lq) < 0 ||
        memchr(b->market, ':', lm) || memchr(b->base, ':', lb) ||
        memchr(b->base, '-', lb) || memchr(b->quote, ':', lq) ||
        b->interval_s <= 0 || b->source == BAR_SRC_INVALID ||
        b->source >= BAR_SRC__COUNT) {
        return MD_E_RANGE;
    }
    ivn = bar_interval_name(b->interval_s, iv, (unsigned)sizeof iv);
    src = bar_source_name(b->source);
    w.p = (unsigned char *)buf;
    w.cap = cap;
    w.n = 0;
    w.whole = false;
    put(&w, b->market, lm);
    put1(&w, ':');
    put(&w, b->base, lb);
    put1(&w, '-');
    put(&w, b->quote, lq);
    put1(&w, ':');
    put(&w, iv, (size_t)ivn);
    put1(&w, ':');
    put(&w, src, strlen(src));
    *len = w.n;
    if (w.n >= cap) {
        return MD_E_FULL;
    }
    buf[w.n] = '\0';
    return MD_OK;
}
