/* md_float.c: exact decimal <-> double conversions (md_float.h). Pure. */
#include "md_float.h"

#include <string.h>

const double md_pow10_exact[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

const uint64_t md_pow10_u64[20] = {
    UINT64_C(1),
    UINT64_C(10),
    UINT64_C(100),
    UINT64_C(1000),
    UINT64_C(10000),
    UINT64_C(100000),
    UINT64_C(1000000),
    UINT64_C(10000000),
    UINT64_C(100000000),
    UINT64_C(1000000000),
    UINT64_C(10000000000),
    UINT64_C(100000000000),
    UINT64_C(1000000000000),
    UINT64_C(10000000000000),
    UINT64_C(100000000000000),
    UINT64_C(1000000000000000),
    UINT64_C(10000000000000000),
    UINT64_C(100000000000000000),
    UINT64_C(1000000000000000000),
    UINT64_C(10000000000000000000),
};

static unsigned bitlen64(uint64_t x)
{
#if defined(__GNUC__)
    return x == 0 ? 0u : 64u - (unsigned)__builtin_clzll(x);
#else
    unsigned n = 0;
    while (x != 0) {
        n++;
        x >>= 1;
    }
    return n;
#endif
}

bool md_ratio_pow10(uint64_t m, unsigned k, double *out)
{
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    uint64_t den, q, mant, rest, half, bits;
    unsigned lm, ld, s, lq, shift;
    int e2;
    u128 num;
    bool sticky;

    if (m == 0 || k > 19) {
        return false;
    }
    den = md_pow10_u64[k];
    lm = bitlen64(m);
    ld = bitlen64(den);
    /* m * 2^s has 63 + ld bits (at most 127), so the quotient lies in
     * [2^62, 2^64): at least 63 bits, 10 more than a double keeps. */
    s = 63u + ld - lm;
    num = (u128)m << s;
    q = (uint64_t)(num / den);
    sticky = (uint64_t)(num % den) != 0;
    lq = bitlen64(q);
    shift = lq - 53u;
    mant = q >> shift;
    rest = q & ((UINT64_C(1) << shift) - 1u);
    half = UINT64_C(1) << (shift - 1u);
    /* round to nearest, ties to even; the remainder breaks exact ties */
    if (rest > half || (rest == half && (sticky || (mant & 1u) != 0))) {
        mant++;
        if (mant == UINT64_C(1) << 53) {
            mant >>= 1;
            shift++;
        }
    }
    /* value = mant * 2^(shift - s), mant in [2^52, 2^53): always a
     * normal double here (m >= 1, 10^-19 <= value < 2^64) */
    e2 = (int)shift - (int)s + 52;
    bits = ((uint64_t)(e2 + 1023) << 52) | (mant & ((UINT64_C(1) << 52) - 1u));
    memcpy(out, &bits, sizeof bits);
    return true;
#else
    (void)m;
    (void)k;
    (void)out;
    return false;
#endif
}

/* x = M * 2^E with M < 2^53: 10^i * M < 2^128 for i <= 22. */
#define MD_DIGITS_MAX_I 22

/* round(x * 10^i), ties to even, x = mant * 2^e2; false when it cannot be
 * formed in 128 bits. */
static bool scaled_round(uint64_t mant, int e2, int i, uint64_t *out)
{
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    u128 n, q, rest, half;
    unsigned s;
    int k;

    if (i < 0 || i > MD_DIGITS_MAX_I) {
        return false;
    }
    n = mant;
    for (k = 0; k < i; k++) {
        n *= 10u;
    }
    if (e2 == 0) {
        q = n;
    } else if (e2 > 0) {
        if (e2 >= 64 || (n >> (128 - e2)) != 0) {
            return false; /* would not fit */
        }
        q = n << e2;
    } else {
        s = (unsigned)-e2;
        if (s >= 127) {
            return false;
        }
        q = n >> s;
        rest = n & (((u128)1 << s) - 1u);
        half = (u128)1 << (s - 1u);
        if (rest > half || (rest == half && (q & 1u) != 0)) {
            q++;
        }
    }
    if ((q >> 64) != 0) {
        return false;
    }
    *out = (uint64_t)q;
    return true;
#else
    (void)mant;
    (void)e2;
    (void)i;
    (void)out;
    return false;
#endif
}

bool md_decimal_digits(double x, int p, uint64_t *m, int *d)
{
    uint64_t bits, mant, lo, hi, v;
    int e2, dec, tries;

    if (p < 1 || p > 17 || !(x > 0)) {
        return false;
    }
    memcpy(&bits, &x, sizeof bits);
    if ((bits >> 52) == 0 || (bits >> 52) >= 0x7FFu) {
        return false; /* subnormal, infinite or NaN */
    }
    mant = (bits & ((UINT64_C(1) << 52) - 1u)) | (UINT64_C(1) << 52);
    e2 = (int)(bits >> 52) - 1075;
    lo = md_pow10_u64[p - 1];
    hi = md_pow10_u64[p];
    /* floor(log10(x)), or one less: log10(2) ~ 78913 / 2^18 */
    dec = ((e2 + 52) * 78913) >> 18;
    for (tries = 0; tries < 4; tries++) {
        if (!scaled_round(mant, e2, p - 1 - dec, &v)) {
            return false;
        }
        if (v >= hi) {
            dec++; /* too many digits (or rounded up to 10^p) */
        } else if (v < lo) {
            dec--;
        } else {
            *m = v;
            *d = dec;
            return true;
        }
    }
    return false;
}
