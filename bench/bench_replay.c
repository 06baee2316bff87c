/* bench_replay.c: replay throughput against a bare SQLite scan of the same
 * capture, and replay's peak RSS at two capture lengths.
 *
 *   bench_replay [FRAMES]     (default 5000000; the RSS pair is 1 M, FRAMES)
 *
 * A default-scenario synth capture of FRAMES frames is written to a
 * mkdtemp directory (removed at the end) and synced. Then, best of 5 each:
 *   scan    SELECT kind, dir, conn_id, mono_ns, payload FROM events ORDER
 *           BY seq, every row stepped and its payload touched;
 *   replay  `build/ccstream replay CAPTURE --what-if` (no outputs but the
 *           summary), exec'd in a child, its peak RSS from wait4 (this
 *           process stays small: see bench_make_capture). Unpinned: replay
 *           reads the capture ahead on a second thread. */
#define _DEFAULT_SOURCE /* wait4 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench_fixture.h"
#include "bench_proc.h"
#include "md_err.h"
#include "synth.h"

#define BEST_OF 5

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double scan(const char *path, uint64_t *rows)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    double t;
    uint64_t sum = 0, n = 0;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT kind, dir, conn_id, mono_ns, payload FROM "
                           "events ORDER BY seq",
                           -1, &q, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_replay: scan: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    t = now_s();
    while (sqlite3_step(q) == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_blob(q, 4);
        int len = sqlite3_column_bytes(q, 4);
        sum += (uint64_t)sqlite3_column_int64(q, 3) + (uint64_t)len +
               (len > 0 ? p[0] : 0);
        n++;
    }
    t = now_s() - t;
    sqlite3_finalize(q);
    sqlite3_close(db);
    *rows = n + (sum & 0); /* sum keeps the reads from being optimised out */
    return t;
}

/* `ccstream replay PATH --what-if` as its own process: its wall time,
 * peak RSS (KiB; it includes what this process had at the fork, kept
 * small), and the event and bar counts of its summary. */
static double replay_child(const char *bin, const char *path, long *rss_kib,
                           uint64_t *events, uint64_t *bars)
{
    const char *argv[] = {bin, "replay", path, "--what-if", NULL};
    struct rusage ru;
    char out[4096];
    int status;
    double t = bench_run_child(argv, out, sizeof out, &ru, &status);
    /* "replay (what-if): N events, ..." then "  bars B (..." */
    const char *p = strstr(out, "\n  bars ");

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || p == NULL ||
        sscanf(out, "replay (what-if): %" SCNu64 " events", events) != 1 ||
        sscanf(p, "\n  bars %" SCNu64, bars) != 1) {
        fprintf(stderr, "bench_replay: the replay failed:\n%s", out);
        exit(1);
    }
    *rss_kib = ru.ru_maxrss;
    return t;
}

int main(int argc, char **argv)
{
    uint64_t frames = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000;
    uint64_t sizes[2] = {1000000, frames};
    char dir[] = "/tmp/ccstream-bench-XXXXXX", path[64], cmd[96];
    char bin[4096];
    const char *slash = strrchr(argv[0], '/');
    int k;

    /* build/bench/bench_replay -> build/ccstream */
    snprintf(bin, sizeof bin, "%.*s../ccstream",
             slash != NULL ? (int)(slash - argv[0] + 1) : 0, argv[0]);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "bench_replay: %s: not found (make first)\n", bin);
        return 1;
    }

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    printf("%-10s %10s %12s %12s %8s %12s %8s\n", "capture", "events",
           "scan ev/s", "replay ev/s", "ratio", "replay RSS", "bars");
    for (k = 0; k < 2; k++) {
        uint64_t rows, events, bars;
        double ts, tr, best_s = 1e9, best_r = 1e9;
        long rss = 0, rss_max = 0;
        int rep;
        if (k == 1 && sizes[1] == sizes[0]) {
            break;
        }
        snprintf(path, sizeof path, "%s/c%d.db", dir, k);
        if (bench_make_capture("bench_replay", path, 0, sizes[k]) != 0) {
            return 1;
        }
        /* the new file's write-back would otherwise compete with the
         * measurements for the CPUs (it takes seconds for 1.9 GB) */
        sync();
        for (rep = 0; rep < BEST_OF; rep++) {
            ts = scan(path, &rows);
            tr = replay_child(bin, path, &rss, &events, &bars);
            rss_max = rss > rss_max ? rss : rss_max;
            best_s = ts < best_s ? ts : best_s;
            best_r = tr < best_r ? tr : best_r;
        }
        printf("%-10" PRIu64 " %10" PRIu64 " %12.0f %12.0f %8.2f %9ld KiB "
               "%8" PRIu64 "\n",
               sizes[k], rows, (double)rows / best_s, (double)events / best_r,
               best_s / best_r, rss_max, bars);
        fflush(stdout);
        unlink(path);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
