/* bench_proc.h: what the benchmarks read of another process (shared by
 * bench_publish and bench_serve). Header-only, like the benchmarks. */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* CPU clock ticks of process pid, user plus system (/proc/PID/stat), 0
 * when unknown. Divide by sysconf(_SC_CLK_TCK) for seconds. */
static inline uint64_t bench_proc_cpu_ticks(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    size_t n;

    if (pid <= 0) {
        return 0;
    }
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return 0;
    }
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces and parentheses: fields after the
     * last ')' */
    p = strrchr(buf, ')');
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2) {
        return 0;
    }
    return (uint64_t)ut + st;
}

#endif /* BENCH_PROC_H */
