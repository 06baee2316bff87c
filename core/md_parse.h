/* md_parse.h: strict parsers for the values users type: durations, whole
 * numbers and real numbers. Strict means: the whole text is the value
 * (no leading blanks or signs, no trailing bytes), plain decimal digits
 * (no hex, no exponent, no "nan" or "inf"), and every result is range
 * checked without wrapping. Pure. */
#ifndef MD_PARSE_H
#define MD_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* A duration: DIGITS[.DIGITS][UNIT], UNIT one of ns, us, ms, s, m, h, d;
 * no unit means unit_ns (e.g. one second). The value in nanoseconds,
 * exact (a fraction finer than a nanosecond is MD_E_INVAL). MD_OK;
 * MD_E_INVAL (not a duration); MD_E_RANGE (above max_ns). */
int md_parse_duration(const char *s, size_t n, int64_t unit_ns,
                      int64_t max_ns, int64_t *ns);

/* A whole number: DIGITS, at most max. MD_OK, MD_E_INVAL, MD_E_RANGE. */
int md_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *v);

/* A real number: DIGITS[.DIGITS] or .DIGITS, within [min, max] (both
 * finite). MD_OK, MD_E_INVAL, MD_E_RANGE. */
int md_parse_real(const char *s, size_t n, double min, double max,
                  double *v);

#endif /* MD_PARSE_H */
