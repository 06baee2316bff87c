/* md_prng.h: the core's deterministic PRNG (splitmix64), used for back-off
 * jitter. Seeded from configuration so live runs are reproducible in
 * replay. Pure: never reads a clock or the OS. */
#ifndef MD_PRNG_H
#define MD_PRNG_H

#include <stdint.h>

struct md_prng {
    uint64_t s;
};

/* Seed the generator. Any seed, including 0, is valid. */
void md_prng_seed(struct md_prng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t md_prng_next(struct md_prng *r);

/* Uniform in [0, n); returns 0 when n == 0. Unbiased (rejection). */
uint64_t md_prng_below(struct md_prng *r, uint64_t n);

/* Exponential back-off with jitter, in ns, for attempt k (0-based):
 *   d = min(max_ns, min_ns * 2^k);  lo = max(min_ns, d/2);
 *   delay = lo + U[0, max(d - lo, min_ns/2)]
 * so every attempt, the first included, draws from a window: attempt 0
 * from [min, 1.5 min], the capped ones from [max/2, max]. Never below
 * min_ns; above max_ns only when max_ns < 1.5 min_ns (md_backoff_ns(r,
 * 0, x, x) is a jittered [x, 1.5 x]). min_ns > 0 and max_ns >= min_ns are
 * asserted. */
int64_t md_backoff_ns(struct md_prng *r, unsigned k, int64_t min_ns,
                      int64_t max_ns);

#endif /* MD_PRNG_H */
