/* md_parse.c: strict parsers (md_parse.h). */
#include <string.h>

#include "md_err.h"
#include "md_parse.h"

/* __int128 is a GCC/Clang extension; -Wpedantic accepts it this way. */
__extension__ typedef unsigned __int128 u128;

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int md_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *v)
{
    uint64_t x = 0;
    size_t i;

    if (n == 0) {
        return MD_E_INVAL;
    }
    for (i = 0; i < n; i++) {
        unsigned d;
        if (!is_digit(s[i])) {
            return MD_E_INVAL;
        }
        d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10) {
            return MD_E_RANGE;
        }
        x = x * 10 + d;
    }
    if (x > max) {
        return MD_E_RANGE;
    }
    *v = x;
    return MD_OK;
}

int md_parse_duration(const char *s, size_t n, int64_t unit_ns,
                      int64_t max_ns, int64_t *ns)
{
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"ms", 1000000},
        {"s", INT64_C(1000000000)},
        {"m", INT64_C(60000000000)},
        {"h", INT64_C(3600000000000)},
        {"d", INT64_C(86400000000000)},
    };
    size_t i = 0, int_end, frac_start = 0, frac_end = 0, k;
    uint64_t whole, frac = 0, scale = 1, total;
    int64_t unit = unit_ns;
    int rc;

    while (i < n && is_digit(s[i])) {
        i++;
    }
    int_end = i;
    if (i < n && s[i] == '.') {
        frac_start = ++i;
        while (i < n && is_digit(s[i])) {
            i++;
        }
        frac_end = i;
        if (frac_end == frac_start) {
            return MD_E_INVAL; /* "1." */
        }
    }
    if (int_end == 0 && frac_end == 0) {
        return MD_E_INVAL;
    }
    if (i < n) {
        for (k = 0; k < sizeof units / sizeof units[0]; k++) {
            size_t ul = strlen(units[k].name);
            if (n - i == ul && memcmp(s + i, units[k].name, ul) == 0) {
                unit = units[k].ns;
                break;
            }
        }
        if (k == sizeof units / sizeof units[0]) {
            return MD_E_INVAL;
        }
    }
    if (unit <= 0 || max_ns < 0) {
        return MD_E_INVAL;
    }
    whole = 0;
    if (int_end > 0) {
        rc = md_parse_u64(s, int_end, UINT64_MAX, &whole);
        if (rc != MD_OK) {
            return rc;
        }
    }
    if ((uint64_t)unit != 0 && whole > (uint64_t)max_ns / (uint64_t)unit) {
        return MD_E_RANGE;
    }
    total = whole * (uint64_t)unit;
    if (frac_end > frac_start) {
        /* the fraction of one unit, exactly: digits / 10^k * unit must be
         * a whole number of nanoseconds */
        if (frac_end - frac_start > 18) {
            return MD_E_INVAL;
        }
        rc = md_parse_u64(s + frac_start, frac_end - frac_start, UINT64_MAX,
                          &frac);
        if (rc != MD_OK) {
            return rc;
        }
        for (k = frac_start; k < frac_end; k++) {
            scale *= 10;
        }
        /* frac * unit / scale exactly: frac < 1e18 and unit <= 8.64e13,
         * so the product fits 128 bits */
        {
            u128 p = (u128)frac * (u128)(uint64_t)unit;
            u128 q;
            if (p % scale != 0) {
                return MD_E_INVAL; /* finer than a nanosecond */
            }
            q = p / scale;
            if (q > (u128)((uint64_t)max_ns - total)) {
                return MD_E_RANGE;
            }
            total += (uint64_t)q;
        }
    }
    if (total > (uint64_t)max_ns) {
        return MD_E_RANGE;
    }
    *ns = (int64_t)total;
    return MD_OK;
}

int md_parse_real(const char *s, size_t n, double min, double max,
                  double *v)
{
    double x = 0, f = 1;
    size_t i = 0;
    int digits = 0;

    while (i < n && is_digit(s[i])) {
        x = x * 10 + (s[i] - '0');
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && is_digit(s[i])) {
            f /= 10;
            x += (s[i] - '0') * f;
            i++;
            digits++;
        }
    }
    if (digits == 0 || i != n || digits > 30) {
        return MD_E_INVAL;
    }
    if (!(x >= min && x <= max)) {
        return MD_E_RANGE;
    }
    *v = x;
    return MD_OK;
}
