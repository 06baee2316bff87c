/* md_float.h: exact conversions between decimals and doubles by integer
 * arithmetic, shared by the decoder (reading numbers) and the bar
 * encoder (printing them). Each one either gives exactly what the C
 * library would (strtod, printf "%.*e" in the default rounding mode) or
 * says it cannot, and the caller uses the library. Pure. */
#ifndef MD_FLOAT_H
#define MD_FLOAT_H

#include <stdbool.h>
#include <stdint.h>

/* 10^0 .. 10^22, every one exact in a double (Clinger's fast path). */
extern const double md_pow10_exact[23];

/* 10^0 .. 10^19, every power of ten a uint64_t holds. */
extern const uint64_t md_pow10_u64[20];

/* m / 10^k correctly rounded (ties to even) into *out, for m >= 1 and
 * k <= 19, by one exact 128-bit integer division: strtod's result for
 * the decimal. false where the compiler has no 128-bit integers. */
bool md_ratio_pow10(uint64_t m, unsigned k, double *out);

/* The p significant digits (1 <= p <= 17) of a positive normal double x
 * correctly rounded (ties to even), as printf("%.*e", p - 1, x) prints
 * them: x ~ m * 10^(d + 1 - p), 10^(p-1) <= m < 10^p, d the decimal
 * exponent printed. Exact integer arithmetic where x * 10^(p-1-d) can be
 * formed in 128 bits (roughly 1e-6 <= x < 10^p); false elsewhere. */
bool md_decimal_digits(double x, int p, uint64_t *m, int *d);

#endif /* MD_FLOAT_H */
