/* bench_report.c: `ccstream report` on a capture of the demo's shape.
 *
 *   bench_report [FRAMES]     (default 1000000)
 *
 * A default-scenario synth capture of FRAMES frames (BTC, ETH, LTC, as
 * `make run`'s demo) is written to a mkdtemp directory (removed at the
 * end) and synced. Then, best of 3: `build/ccstream report CAPTURE --out
 * PAGE` exec'd in a child; its wall time, CPU time and peak RSS from
 * wait4, and the page's size. The targets (docs/report.md): under 5 s and
 * under 5 MB for 1,000,000 frames. Unpinned: the replay inside reads the
 * capture ahead on a second thread. */
#define _DEFAULT_SOURCE /* wait4 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_fixture.h"
#include "md_err.h"
#include "synth.h"

#define BEST_OF 3

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    uint64_t frames = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    char dir[] = "/tmp/ccstream-bench-XXXXXX", path[64], page[64];
    char bin[4096], cmd[96];
    const char *slash = strrchr(argv[0], '/');
    double best = 1e9, best_cpu = 1e9;
    long rss_max = 0;
    struct stat st;
    int rep;

    snprintf(bin, sizeof bin, "%.*s../ccstream",
             slash != NULL ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "bench_report: %s: not found (make first)\n", bin);
        return 1;
    }
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/c.db", dir);
    snprintf(page, sizeof page, "%s/report.html", dir);
    if (bench_make_capture("bench_report", path, 0, frames) != 0) {
        return 1;
    }
    sync();
    for (rep = 0; rep < BEST_OF; rep++) {
        struct rusage ru;
        double t = now_s(), cpu;
        int status;
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        if (pid == 0) {
            execl(bin, bin, "report", path, "--out", page, (char *)NULL);
            fprintf(stderr, "bench_report: cannot run %s\n", bin);
            _exit(127);
        }
        if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fprintf(stderr, "bench_report: the report failed\n");
            return 1;
        }
        t = now_s() - t;
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
        best = t < best ? t : best;
        best_cpu = cpu < best_cpu ? cpu : best_cpu;
        rss_max = ru.ru_maxrss > rss_max ? ru.ru_maxrss : rss_max;
    }
    if (stat(page, &st) != 0) {
        perror(page);
        return 1;
    }
    printf("report of %" PRIu64 " frames: %.2f s wall (best of %d), %.2f s "
           "CPU, peak RSS %ld KiB, page %.2f MB (targets: < 5 s, < 5 MB)\n",
           frames, best, BEST_OF, best_cpu, rss_max,
           (double)st.st_size / 1e6);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
