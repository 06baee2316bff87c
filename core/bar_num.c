/* bar_num.c: exact fixed-point conversions for bars. Pure. */
#include <stdlib.h>
#include <string.h>

#include "bar_num.h"
#include "md_err.h"

/* 10^k for 0 <= k <= 38: a table up to 10^19, products beyond. */
static bar_i128 p10(int k)
{
    static const uint64_t small[20] = {
        UINT64_C(1), UINT64_C(10), UINT64_C(100), UINT64_C(1000),
        UINT64_C(10000), UINT64_C(100000), UINT64_C(1000000),
        UINT64_C(10000000), UINT64_C(100000000), UINT64_C(1000000000),
        UINT64_C(10000000000), UINT64_C(100000000000),
        UINT64_C(1000000000000), UINT64_C(10000000000000),
        UINT64_C(100000000000000), UINT64_C(1000000000000000),
        UINT64_C(10000000000000000), UINT64_C(100000000000000000),
        UINT64_C(1000000000000000000), UINT64_C(10000000000000000000),
    };

    if (k <= 19) {
        return (bar_i128)small[k];
    }
    return (bar_i128)small[19] * (bar_i128)small[k - 19];
}

/* m * 10^e rescaled to 10^-digits units: e + digits >= 0 multiplies,
 * below divides with round-half-even. */
static int rescale(bar_i128 m, int e, unsigned digits, bar_i128 *out,
                   bool *rounded)
{
    int shift = e + (int)digits;

    if (rounded != NULL) {
        *rounded = false;
    }
    if (m == 0) {
        *out = 0;
        return MD_OK;
    }
    if (shift >= 0) {
        if (shift > 38 || __builtin_mul_overflow(m, p10(shift), out)) {
            return MD_E_RANGE;
        }
        return MD_OK;
    } else {
        bar_i128 q, r, half, div;
        int k = -shift;
        if (k > 38) {
            /* Far below one unit: rounds to zero. */
            *out = 0;
            if (rounded != NULL) {
                *rounded = true;
            }
            return MD_OK;
        }
        div = p10(k);
        q = m / div;
        r = m % div;
        if (r != 0) {
            bar_i128 ar = r < 0 ? -r : r;
            half = div / 2;
            if (ar > half || (ar == half && (q % 2) != 0)) {
                q += m < 0 ? -1 : 1;
            }
            if (rounded != NULL) {
                *rounded = true;
            }
        }
        *out = q;
        return MD_OK;
    }
}

int bar_dec_scaled(const struct cc_dec *d, unsigned digits, bar_i128 *out,
                   bool *rounded)
{
    if (!d->exact || digits > 30) {
        return MD_E_RANGE;
    }
    return rescale((bar_i128)d->mant, d->exp10, digits, out, rounded);
}

int bar_dec_product_scaled(const struct cc_dec *a, const struct cc_dec *b,
                           unsigned digits, bar_i128 *out, bool *rounded)
{
    if (!a->exact || !b->exact || digits > 30) {
        return MD_E_RANGE;
    }
    /* |mant| < 2^63 each, so the product fits in 126 bits. */
    return rescale((bar_i128)a->mant * (bar_i128)b->mant,
                   (int)a->exp10 + (int)b->exp10, digits, out, rounded);
}

int bar_scaled_to_text(bar_i128 v, unsigned digits, char *buf, size_t cap)
{
    char tmp[64];
    bar_u128 u;
    int n = 0, neg = v < 0, len, int_digits, i, o = 0, frac_end;

    u = neg ? (bar_u128)0 - (bar_u128)v
            : (bar_u128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0);
    /* tmp holds the digits reversed; pad to at least digits + 1. */
    while (n < (int)digits + 1) {
        tmp[n++] = '0';
    }
    int_digits = n - (int)digits;
    /* trim trailing fractional zeros: tmp[0..] are the lowest digits */
    frac_end = 0;
    while (frac_end < (int)digits && tmp[frac_end] == '0') {
        frac_end++;
    }
    len = neg + int_digits + (frac_end < (int)digits
                                  ? 1 + (int)digits - frac_end
                                  : 0);
    if ((size_t)len + 1 > cap) {
        return -1;
    }
    if (neg) {
        buf[o++] = '-';
    }
    for (i = n - 1; i >= (int)digits; i--) {
        buf[o++] = tmp[i];
    }
    if (frac_end < (int)digits) {
        buf[o++] = '.';
        for (i = (int)digits - 1; i >= frac_end; i--) {
            buf[o++] = tmp[i];
        }
    }
    buf[o] = '\0';
    return o;
}

double bar_scaled_to_double(bar_i128 v, unsigned digits)
{
    char buf[80];

    if (bar_scaled_to_text(v, digits, buf, sizeof buf) < 0) {
        return 0.0;
    }
    return strtod(buf, NULL);
}
