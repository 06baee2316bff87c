/* guard.h: place test input immediately before a PROT_NONE page.
 *
 * A decoder that reads even one byte past the end of its input then
 * faults at once (SIGSEGV) instead of reading stale memory silently.
 * Test support only (POSIX mmap/mprotect); never linked into core/. */
#ifndef GUARD_H
#define GUARD_H

#include <stddef.h>

struct guard {
    unsigned char *map; /* readable pages followed by one PROT_NONE page */
    size_t map_len;     /* whole mapping */
    size_t cap;         /* readable bytes before the guard page */
};

/* Map room for inputs up to max_len bytes plus the guard page.
 * Returns 0, or -1 (errno from mmap/mprotect) with g->map NULL. */
int guard_init(struct guard *g, size_t max_len);

/* Copy src[0..len) so that its last byte is the last readable byte
 * (src may be NULL when len is 0). Returns the copy, or NULL when len
 * exceeds g->cap. The copy stays valid until the next guard_put or
 * guard_free on g. */
const char *guard_put(struct guard *g, const void *src, size_t len);

/* Unmap. Safe on a zeroed or already freed guard. */
void guard_free(struct guard *g);

#endif /* GUARD_H */
