/* guard.c: inputs that end right at a PROT_NONE page (see guard.h).
 *
 * Test support only: uses POSIX mmap/mprotect/sysconf, which core/ must
 * never use. */
/* MAP_ANONYMOUS is not in POSIX.1-2008; glibc shows it with this. */
#define _DEFAULT_SOURCE 1

#include "guard.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int guard_init(struct guard *g, size_t max_len)
{
    long ps = sysconf(_SC_PAGESIZE);
    size_t page = ps > 0 ? (size_t)ps : 4096u;
    size_t body = (max_len + page - 1) / page * page;
    void *m;

    if (body == 0) {
        body = page;
    }
    g->map = NULL;
    g->map_len = 0;
    g->cap = 0;
    m = mmap(NULL, body + page, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        return -1;
    }
    if (mprotect((unsigned char *)m + body, page, PROT_NONE) != 0) {
        munmap(m, body + page);
        return -1;
    }
    g->map = m;
    g->map_len = body + page;
    g->cap = body;
    return 0;
}

const char *guard_put(struct guard *g, const void *src, size_t len)
{
    unsigned char *dst;

    if (!g->map || len > g->cap) {
        return NULL;
    }
    dst = g->map + g->cap - len;
    if (len > 0) {
        memcpy(dst, src, len);
    }
    return (const char *)dst;
}

void guard_free(struct guard *g)
{
    if (g->map) {
        munmap(g->map, g->map_len);
    }
    g->map = NULL;
    g->map_len = 0;
    g->cap = 0;
}
