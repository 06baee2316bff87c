/* bench_proc.h: the CPU the benchmarks read, of this process or another
 * (bench_publish, bench_outbox, bench_serve), the machine's idle share, and
 * a child run with its standard error read (bench_replay, bench_series).
 * Header-only, like the benchmarks. */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* CPU seconds of this process (RUSAGE_SELF) or its waited-for children
 * (RUSAGE_CHILDREN), user plus system. */
static inline double bench_cpu_s(int who)
{
    struct rusage ru;

    getrusage(who, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Idle CPU clock ticks of the whole machine, all cores (/proc/stat: idle
 * plus iowait), and in *total every tick counted; 0 when unknown. */
static inline uint64_t bench_idle_ticks(uint64_t *total)
{
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    int n = 0, i;

    *total = 0;
    if (f == NULL) {
        return 0;
    }
    n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
               &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 5) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        *total += v[i];
    }
    return (uint64_t)v[3] + v[4];
}

/* Run argv[0] with argv (at most 31 arguments), its standard error read
 * into out (the first cap - 1 bytes, NUL-terminated; the rest read and
 * dropped, so a talkative child never blocks), and wait for it: the wall
 * seconds it took, its resource use in *ru and its wait status in *status.
 * A pipe or fork failure exits (the benchmark cannot go on); a program
 * that cannot be run exits 127 with "cannot run" in out. Needs
 * _DEFAULT_SOURCE (wait4). */
static inline double bench_run_child(const char *const argv[], char *out,
                                     size_t cap, struct rusage *ru,
                                     int *status)
{
    struct timespec a, b;
    size_t got = 0;
    ssize_t n;
    pid_t pid;
    int fd[2];

    if (cap == 0) {
        fprintf(stderr, "bench_run_child: no room for the output\n");
        exit(1);
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (pipe(fd) != 0) {
        perror("pipe");
        exit(1);
    }
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        char *v[32];
        size_t i = 0;

        /* execv's argv is not const-qualified (and -Wcast-qual forbids
         * casting it away): the pointers are copied; the strings are not
         * written */
        while (i < 31 && argv[i] != NULL) {
            memcpy(&v[i], &argv[i], sizeof v[i]);
            i++;
        }
        v[i] = NULL;
        close(fd[0]);
        dup2(fd[1], 2);
        close(fd[1]);
        if (argv[i] != NULL) {
            fprintf(stderr, "cannot run %s: over 31 arguments\n", argv[0]);
            _exit(127);
        }
        execv(v[0], v);
        fprintf(stderr, "cannot run %s\n", argv[0]);
        _exit(127);
    }
    close(fd[1]);
    for (;;) {
        char drop[4096];
        n = got < cap - 1 ? read(fd[0], out + got, cap - 1 - got)
                          : read(fd[0], drop, sizeof drop);
        if (n <= 0) {
            break;
        }
        if (got < cap - 1) {
            got += (size_t)n;
        }
    }
    out[got] = '\0';
    close(fd[0]);
    if (wait4(pid, status, 0, ru) != pid) {
        perror("wait4");
        exit(1);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a.tv_sec) +
           (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
}

#endif /* BENCH_PROC_H */
