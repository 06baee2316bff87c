/* synth_fmt.c: text output for the generator: a bounded buffer, numbers
 * exactly as the server's JavaScript writes them, and UTC dates. No
 * allocation, no locale, no clock. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bar_codec.h"
#include "md_civil.h"
#include "synth_int.h"

__extension__ typedef unsigned __int128 sy_u128;

void sy_buf_init(struct sy_buf *b, char *mem, size_t cap)
{
    b->p = mem;
    b->cap = cap;
    sy_buf_reset(b);
}

void sy_buf_reset(struct sy_buf *b)
{
    b->len = 0;
    b->full = false;
    if (b->cap > 0) {
        b->p[0] = '\0';
    }
}

void sy_puts(struct sy_buf *b, const char *s)
{
    sy_put(b, s, strlen(s));
}

/* Decimal digits of v into d (no NUL), most significant first, written
 * in place two at a time from a table (the generator's hottest loop).
 * d needs 20 bytes. */
static size_t u64_digits(uint64_t v, char *d)
{
    static const char pairs[] = "00010203040506070809"
                                "10111213141516171819"
                                "20212223242526272829"
                                "30313233343536373839"
                                "40414243444546474849"
                                "50515253545556575859"
                                "60616263646566676869"
                                "70717273747576777879"
                                "80818283848586878889"
                                "90919293949596979899";
    size_t n = 1, i;
    uint64_t t = v;

    if (t >= UINT64_C(10000000000000000)) {
        n += 16;
        t /= UINT64_C(10000000000000000);
    }
    if (t >= 100000000) {
        n += 8;
        t /= 100000000;
    }
    if (t >= 10000) {
        n += 4;
        t /= 10000;
    }
    if (t >= 100) {
        n += 2;
        t /= 100;
    }
    if (t >= 10) {
        n++;
    }
    i = n;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        i -= 2;
        d[i] = pairs[2 * r];
        d[i + 1] = pairs[2 * r + 1];
    }
    if (v >= 10) {
        d[0] = pairs[2 * v];
        d[1] = pairs[2 * v + 1];
    } else {
        d[0] = (char)('0' + v);
    }
    return n;
}

void sy_u64(struct sy_buf *b, uint64_t v)
{
    if (b->cap - b->len > 21 && !b->full) {
        b->len += u64_digits(v, b->p + b->len);
        b->p[b->len] = '\0';
    } else {
        char d[20];
        sy_put(b, d, u64_digits(v, d));
    }
}

void sy_i64(struct sy_buf *b, int64_t v)
{
    if (v < 0) {
        sy_putc(b, '-');
        sy_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        sy_u64(b, (uint64_t)v);
    }
}

void sy_fixed(struct sy_buf *b, int64_t v, unsigned dec)
{
    char d[24];
    uint64_t mag;
    size_t n;
    unsigned i;

    if (v < 0) {
        sy_putc(b, '-');
        mag = (uint64_t)0 - (uint64_t)v;
    } else {
        mag = (uint64_t)v;
    }
    n = u64_digits(mag, d);
    /* trailing zeros of the fraction go */
    while (dec > 0 && n > 1 && d[n - 1] == '0') {
        n--;
        dec--;
    }
    if (dec > 0 && n == 1 && d[0] == '0') {
        dec = 0;
    }
    if (dec == 0) {
        sy_put(b, d, n);
        return;
    }
    if (n <= dec) {
        SY_LIT(b, "0.");
        for (i = 0; i < dec - n; i++) {
            sy_putc(b, '0');
        }
        sy_put(b, d, n);
        return;
    }
    sy_put(b, d, n - dec);
    sy_putc(b, '.');
    sy_put(b, d + (n - dec), dec);
}

void sy_qstr(struct sy_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    sy_putc(b, '"');
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            sy_putc(b, '\\');
            sy_putc(b, (char)c);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sy_put(b, e, sizeof e);
        } else {
            sy_putc(b, (char)c);
        }
    }
    sy_putc(b, '"');
}

/* ---------------------------------------------------------------------
 * Shortest round-trip doubles
 * ------------------------------------------------------------------- */

/* The shortest round-trip text of x in JavaScript's Number::toString
 * layout: the core's formatter (bar_fmt_double), so synth frames and bars
 * print numbers alike; zero (either sign) is "0" as a server writes it. */
size_t sy_fmt_double(double x, char *out)
{
    if (x == 0) {
        out[0] = '0';
        out[1] = '\0';
        return 1;
    }
    return bar_fmt_double(x, out);
}

void sy_scaled(struct sy_buf *b, int64_t v, unsigned dec)
{
    static const double p10[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,
                                   1e7,  1e8,  1e9,  1e10, 1e11, 1e12, 1e13,
                                   1e14, 1e15, 1e16, 1e17, 1e18};
    static const int64_t p10i[13] = {1,         10,         100,
                                     1000,      10000,      100000,
                                     1000000,   10000000,   100000000,
                                     1000000000, 10000000000, 100000000000,
                                     1000000000000};
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    /* 15 significant digits or fewer: the decimal is its own shortest
     * form (any such decimal round-trips through a double); JavaScript
     * writes it plainly from 1e-6 up */
    if (mag < UINT64_C(1000000000000000) &&
        (mag == 0 || dec <= 6 ||
         (dec <= 18 && mag >= (uint64_t)p10i[dec - 6]))) {
        sy_fixed(b, v, dec);
    } else {
        sy_dbl(b, (double)v / p10[dec < 18 ? dec : 18]);
    }
}

void sy_dbl(struct sy_buf *b, double x)
{
    char t[40];
    sy_put(b, t, sy_fmt_double(x, t));
}

/* ---------------------------------------------------------------------
 * Calendar (Howard Hinnant's days_from_civil / civil_from_days)
 * ------------------------------------------------------------------- */

int64_t sy_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    return md_days_from_civil(y, m, d);
}

void sy_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    md_civil_from_days(z, y, m, d);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void sy_iso8601(int64_t t, char *out, size_t cap)
{
    int64_t days = floor_div(t, 86400), sod = t - days * 86400, y;
    unsigned m, d;

    sy_civil_from_days(days, &y, &m, &d);
    (void)snprintf(out, cap, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y,
                   m, d, (int)(sod / 3600), (int)(sod / 60 % 60),
                   (int)(sod % 60));
}

void sy_http_date(int64_t t, char *out, size_t cap)
{
    static const char wd[7][4] = {"Thu", "Fri", "Sat", "Sun",
                                  "Mon", "Tue", "Wed"};
    static const char mn[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t days = floor_div(t, 86400), sod = t - days * 86400, y;
    unsigned m, d;
    int64_t w = days % 7;

    if (w < 0) {
        w += 7;
    }
    sy_civil_from_days(days, &y, &m, &d);
    (void)snprintf(out, cap, "%s, %02u %s %04lld %02d:%02d:%02d GMT", wd[w], d,
                   mn[m - 1], (long long)y, (int)(sod / 3600),
                   (int)(sod / 60 % 60), (int)(sod % 60));
}
