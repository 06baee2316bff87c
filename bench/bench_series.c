/* bench_series.c: replay cost and memory against the number of series.
 *
 *   bench_series [FRAMES]     (default 1000000)
 *
 * For 100, 300 and 1,000 pairs, a default-scenario synth capture of FRAMES
 * frames (each pair's trades and CCCAGG updates: two subscriptions a
 * pair) is written by a child into a mkdtemp directory (removed at the
 * end), synced, then replayed with four intervals, `build/ccstream replay
 * CAPTURE --what-if --intervals 1m,5m,15m,1h`, in a child: 800, 2,400
 * (a full socket: 600 subscriptions x 4) and 8,000 series. Best of 3:
 * frames per second of wall time and of the core thread's CPU time (the
 * replay summary's "CPU x s core": less sensitive to a busy machine), the
 * replay's peak RSS (wait4), and the RSS each series adds over the
 * smallest case. Unpinned, as bench_replay: replay reads ahead on a
 * second thread. */
#define _DEFAULT_SOURCE /* wait4 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_fixture.h"
#include "bench_proc.h"
#include "md_err.h"
#include "synth.h"

#define BEST_OF 3
#define INTERVALS "1m,5m,15m,1h"
#define N_INTERVALS 4

/* The replay as its own process: wall time, peak RSS (KiB), the frame
 * and bar counts of its summary. */
static double replay_child(const char *bin, const char *path, long *rss_kib,
                           uint64_t *frames, uint64_t *bars, double *cpu)
{
    const char *argv[] = {bin, "replay", path, "--what-if",
                    "--intervals", INTERVALS, NULL};
    struct rusage ru;
    char out[4096];
    int status;
    double t = bench_run_child(argv, out, sizeof out, &ru, &status);
    const char *p = strstr(out, "\n  bars ");

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || p == NULL ||
        sscanf(out, "replay (what-if): %*u events, %" SCNu64 " frames",
               frames) != 1 ||
        sscanf(p, "\n  bars %" SCNu64, bars) != 1 ||
        strstr(out, "s wall; CPU ") == NULL ||
        sscanf(strstr(out, "s wall; CPU "), "s wall; CPU %lf", cpu) != 1 ||
        strstr(out, " full: ") != NULL) {
        fprintf(stderr, "bench_series: the replay failed or lost data:\n%s",
                out);
        exit(1);
    }
    *rss_kib = ru.ru_maxrss;
    return t;
}

int main(int argc, char **argv)
{
    static const unsigned pairs[3] = {100, 300, 1000};
    uint64_t frames_wanted = argc > 1 ? strtoull(argv[1], NULL, 10)
                                      : 1000000;
    char dir[] = "/tmp/ccstream-bench-XXXXXX", path[64], cmd[96];
    char bin[4096];
    const char *slash = strrchr(argv[0], '/');
    long rss0 = 0;
    unsigned series0 = 0;
    int k;

    snprintf(bin, sizeof bin, "%.*s../ccstream",
             slash != NULL ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "bench_series: %s: not found (make first)\n", bin);
        return 1;
    }
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    printf("%6s %7s %9s %10s %12s %8s %8s %12s %14s\n", "pairs", "series",
           "frames", "frames/s", "core CPU f/s", "ns/frame", "bars",
           "replay RSS", "RSS/series");
    for (k = 0; k < 3; k++) {
        unsigned series = pairs[k] * 2 * N_INTERVALS;
        uint64_t frames = 0, bars = 0;
        double best = 1e9, best_cpu = 1e9, t, cpu = 0;
        long rss = 0, rss_max = 0;
        int rep;

        snprintf(path, sizeof path, "%s/p%u.db", dir, pairs[k]);
        if (bench_make_capture("bench_series", path, pairs[k], frames_wanted) != 0) {
            return 1;
        }
        sync();
        for (rep = 0; rep < BEST_OF; rep++) {
            t = replay_child(bin, path, &rss, &frames, &bars, &cpu);
            rss_max = rss > rss_max ? rss : rss_max;
            best = t < best ? t : best;
            best_cpu = cpu < best_cpu ? cpu : best_cpu;
        }
        if (k == 0) {
            rss0 = rss_max;
            series0 = series;
            printf("%6u %7u %9" PRIu64 " %10.0f %12.0f %8.0f %8" PRIu64
                   " %8ld KiB %14s\n",
                   pairs[k], series, frames, (double)frames / best,
                   (double)frames / best_cpu,
                   best_cpu * 1e9 / (double)frames, bars, rss_max, "-");
        } else {
            printf("%6u %7u %9" PRIu64 " %10.0f %12.0f %8.0f %8" PRIu64
                   " %8ld KiB %10.1f KiB\n",
                   pairs[k], series, frames, (double)frames / best,
                   (double)frames / best_cpu,
                   best_cpu * 1e9 / (double)frames, bars, rss_max,
                   (double)(rss_max - rss0) / (double)(series - series0));
        }
        fflush(stdout);
        unlink(path);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
