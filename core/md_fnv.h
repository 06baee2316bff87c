/* md_fnv.h: FNV-1a, 64 bits, the one hash of short names (subscriptions
 * to shards, topic names to cached handles). Pure; header-only. */
#ifndef CORE_MD_FNV_H
#define CORE_MD_FNV_H

#include <stddef.h>
#include <stdint.h>

#define MD_FNV1A64_BASIS UINT64_C(0xcbf29ce484222325)

/* FNV-1a over p[0..n), continuing from h (MD_FNV1A64_BASIS to start). */
static inline uint64_t md_fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

#endif /* CORE_MD_FNV_H */
