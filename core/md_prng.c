/* md_prng.c: splitmix64 and the jittered exponential back-off. Pure. */
#include <assert.h>

#include "md_prng.h"

void md_prng_seed(struct md_prng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t md_prng_next(struct md_prng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t md_prng_below(struct md_prng *r, uint64_t n)
{
    uint64_t x, lim;

    if (n == 0) {
        return 0;
    }
    /* Reject the top partial block so every residue is equally likely. */
    lim = UINT64_MAX - UINT64_MAX % n;
    do {
        x = md_prng_next(r);
    } while (x >= lim);
    return x % n;
}

int64_t md_backoff_ns(struct md_prng *r, unsigned k, int64_t min_ns,
                      int64_t max_ns)
{
    int64_t d = min_ns, lo, width;
    unsigned i;

    assert(min_ns > 0 && max_ns >= min_ns);
    for (i = 0; i < k && d < max_ns; i++) {
        d = d > max_ns / 2 ? max_ns : d * 2;
    }
    if (d > max_ns) {
        d = max_ns;
    }
    /* [max(min, d/2), d], at least min/2 wide: the first attempt is
     * jittered too (a window [d/2, d] clamped at min would be a point) */
    lo = d / 2 > min_ns ? d / 2 : min_ns;
    width = d - lo > min_ns / 2 ? d - lo : min_ns / 2;
    return lo + (int64_t)md_prng_below(r, (uint64_t)width + 1);
}
