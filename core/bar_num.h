/* bar_num.h: exact fixed-point arithmetic for bars: decimals from the wire
 * (struct cc_dec) to scaled __int128, products for notionals, and back to
 * double or decimal text. Rounding, where a value has more digits than the
 * scale, is round-half-even and happens per value, before any sum, so sums
 * do not depend on order. Pure. */
#ifndef BAR_NUM_H
#define BAR_NUM_H

#include <stdbool.h>
#include <stddef.h>

#include "bar.h"
#include "cc_json.h"

/* d as an integer count of 10^-digits units (digits <= 30).
 * MD_OK exact; MD_OK with *rounded = true when d had more fractional digits
 * (rounded half-even); MD_E_RANGE when d is not exact (too many significant
 * digits for cc_dec) or the result does not fit. rounded may be NULL. */
int bar_dec_scaled(const struct cc_dec *d, unsigned digits, bar_i128 *out,
                   bool *rounded);

/* The product a*b as a count of 10^-digits units, rounded half-even.
 * MD_OK; MD_E_RANGE (inexact inputs or overflow). rounded may be NULL. */
int bar_dec_product_scaled(const struct cc_dec *a, const struct cc_dec *b,
                           unsigned digits, bar_i128 *out, bool *rounded);

/* v / 10^digits as the nearest double (correctly rounded via the decimal
 * text and strtod, so the result does not depend on FPU settings). */
double bar_scaled_to_double(bar_i128 v, unsigned digits);

/* v / 10^digits as exact decimal text, trailing zeros trimmed ("12.5",
 * "-0.00000001", "3"). Returns the length, or -1 if cap is too small. */
int bar_scaled_to_text(bar_i128 v, unsigned digits, char *buf, size_t cap);

#endif /* BAR_NUM_H */
