/* bench_synth.c: how fast `ccstream synth` makes a session, one core.
 *
 *   bench_synth [FRAMES]     (default 5000000)
 *
 * Two figures for a default-scenario session of FRAMES WebSocket frames
 * (BTC ETH LTC, the minutes set large enough; the session ends once the
 * frames are written, then the postflight follows):
 *   generate  the generator alone, into a sink that only counts;
 *   capture   the same session into a capture file through the store
 *             writer (SQLite, WAL), what `ccstream synth --frames` does.
 * The file goes to a mkdtemp directory under $TMPDIR (or /tmp) and is
 * removed. Built and run by `make bench` (mk/bench.mk, taskset -c 1). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "md_err.h"
#include "synth.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t next_id;
static volatile uint64_t sink_bytes;

static int null_open(void *ctx, const struct store_conn *c, int64_t *id)
{
    (void)ctx;
    (void)c;
    *id = ++next_id;
    return MD_OK;
}

static int null_close(void *ctx, int64_t id, int64_t mono, int64_t wall,
                      int64_t code, const char *reason)
{
    (void)ctx;
    (void)id;
    (void)mono;
    (void)wall;
    (void)code;
    (void)reason;
    return MD_OK;
}

static int null_event(void *ctx, const struct store_event *ev)
{
    (void)ctx;
    sink_bytes += ev->payload_len;
    return MD_OK;
}

static void report(const char *what, const struct synth_stats *st,
                   double secs, double file_mb)
{
    printf("synth %-9s %10" PRIu64 " frames %10" PRIu64
           " events %8.1f MB payload",
           what, st->frames, st->events, (double)st->payload_bytes / 1e6);
    if (file_mb > 0) {
        printf(" %8.1f MB file", file_mb);
    }
    printf(" %7.2f s %10.0f frames/s  (%.1f days of session)\n", secs,
           (double)st->frames / secs, (double)st->span_ns / 86400e9);
}

int main(int argc, char **argv)
{
    struct synth_opts o;
    struct synth_stats st;
    struct synth_sink sink = {NULL, null_open, null_close, null_event};
    char dir[512], path[600], err[256];
    const char *tmp = getenv("TMPDIR");
    struct stat sb;
    double t;
    uint64_t frames = 5000000;
    int rc;

    if (argc > 1) {
        char *end;
        frames = strtoull(argv[1], &end, 10);
        if (*end != '\0' || frames == 0) {
            fprintf(stderr, "usage: bench_synth [FRAMES]\n");
            return 2;
        }
    }
    synth_opts_default(&o);
    o.minutes = SYNTH_MINUTES_MAX;
    o.max_frames = frames;
    o.seed = 1;

    t = now_s();
    rc = synth_generate(&o, &sink, &st, err, sizeof err);
    t = now_s() - t;
    if (rc != MD_OK) {
        fprintf(stderr, "bench_synth: %s\n", err);
        return 1;
    }
    report("generate", &st, t, 0);

    snprintf(dir, sizeof dir, "%s/bench_synth.XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("bench_synth: mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/bench.db", dir);
    t = now_s();
    rc = synth_write(&o, path, &st, err, sizeof err);
    t = now_s() - t;
    if (rc == MD_OK) {
        if (stat(path, &sb) != 0) {
            sb.st_size = 0;
        }
        report("capture", &st, t, (double)sb.st_size / 1e6);
    } else {
        fprintf(stderr, "bench_synth: %s: %s\n", path, err);
    }
    (void)unlink(path);
    snprintf(path, sizeof path, "%s/bench.db-wal", dir);
    (void)unlink(path);
    snprintf(path, sizeof path, "%s/bench.db-shm", dir);
    (void)unlink(path);
    (void)rmdir(dir);
    return rc == MD_OK ? 0 : 1;
}
