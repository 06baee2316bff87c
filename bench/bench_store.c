/* bench_store.c: capture store throughput: durable batched writes of
 * realistic frames through the writer (redaction on, WAL), and streaming
 * read-back through the reader; best of 3 runs each.
 *
 *   build/bench/bench_store [FRAMES]     (default 1,000,000)
 *
 * `make bench` runs it pinned to one core (the writer thread shares it).
 * Files go to a mkdtemp directory under $TMPDIR (or /tmp), removed after.
 * Figures: docs/capture-format.md, "Performance". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "md_err.h"
#include "store.h"

#define POOL 4096
#define KEY "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0"

static char *pool[POOL];
static size_t pool_len[POOL];

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Du;
}

/* 80% Coinbase trades (about 220 B), 20% CCCAGG partial updates (about
 * 330 B), as in bench_core. 0, or -1 when out of memory. */
static int make_pool(void)
{
    static const char *const sym[] = {"BTC", "ETH", "LTC"};
    int i;

    for (i = 0; i < POOL; i++) {
        char b[512];
        int n;
        const char *s = sym[rnd() % 3];
        long ts = 1714564800 + i / 50;
        if (rnd() % 5 != 0) {
            n = snprintf(b, sizeof b,
                         "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"%s\","
                         "\"TSYM\":\"USD\",\"F\":\"%d\",\"ID\":\"%" PRIu64
                         "\",\"TS\":%ld,\"Q\":0.%08" PRIu64 ",\"P\":%" PRIu64
                         ".%02" PRIu64 ",\"TOTAL\":%" PRIu64 ".%06" PRIu64
                         ",\"RTS\":%ld,\"CCSEQ\":%d,\"TSNS\":%" PRIu64
                         ",\"RTSNS\":%" PRIu64 "}",
                         s, 1 + (int)(rnd() % 2), 600000000 + rnd() % 1000000,
                         ts, rnd() % 100000000, 60000 + rnd() % 9000,
                         rnd() % 100, rnd() % 100000, rnd() % 1000000, ts,
                         9000000 + i, rnd() % 1000000000,
                         rnd() % 1000000000);
        } else {
            n = snprintf(b, sizeof b,
                         "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":"
                         "\"%s\",\"TOSYMBOL\":\"USD\",\"FLAGS\":%d,\"PRICE\":"
                         "%" PRIu64 ".%02" PRIu64 ",\"LASTUPDATE\":%ld,"
                         "\"MEDIAN\":%" PRIu64 ".%02" PRIu64 ",\"LASTVOLUME\":"
                         "0.%08" PRIu64 ",\"LASTVOLUMETO\":%" PRIu64
                         ".%04" PRIu64 ",\"LASTTRADEID\":\"%" PRIu64
                         "\",\"VOLUMEDAY\":%" PRIu64 ".%06" PRIu64
                         ",\"VOLUMEDAYTO\":%" PRIu64 ".%04" PRIu64
                         ",\"VOLUME24HOUR\":%" PRIu64 ".%06" PRIu64
                         ",\"LASTMARKET\":\"Coinbase\"}",
                         s, 1 + (int)(rnd() % 4), 60000 + rnd() % 9000,
                         rnd() % 100, ts, 60000 + rnd() % 9000, rnd() % 100,
                         rnd() % 100000000, rnd() % 100000, rnd() % 10000,
                         600000000 + rnd() % 1000000, rnd() % 100000,
                         rnd() % 1000000, rnd() % 1000000000, rnd() % 10000,
                         rnd() % 100000, rnd() % 1000000);
        }
        pool[i] = malloc((size_t)n);
        if (pool[i] == NULL) {
            return -1;
        }
        memcpy(pool[i], b, (size_t)n);
        pool_len[i] = (size_t)n;
    }
    return 0;
}

static long n_commits; /* written by the writer thread, read after close */

static void count_commit(void *arg, int64_t last_seq)
{
    (void)arg;
    (void)last_seq;
    n_commits++;
}

struct wres {
    long commits;
    double append_s, total_s;
    struct store_writer_stats st;
    off_t size;
};

/* Write n frames on one ws connection; 0 or -1. */
static int write_run(const char *path, long n, int full, struct wres *res)
{
    struct store_session s;
    struct store_writer_opts o;
    struct store_writer *w = NULL;
    struct store_conn c;
    struct store_event e;
    struct stat sb;
    char err[512];
    int64_t id;
    double t0;
    long i;

    memset(&s, 0, sizeof s);
    s.tool = "bench_store";
    s.kind = "capture";
    s.config = "{}";
    store_writer_opts_default(&o);
    o.synchronous_full = full;
    o.on_commit = count_commit;
    n_commits = 0;
    unlink(path);
    t0 = now();
    if (store_writer_open(path, &s, KEY, &o, &w, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_store: %s\n", err);
        return -1;
    }
    memset(&c, 0, sizeof c);
    c.kind = "ws";
    c.url = "wss://streamer.cryptocompare.com/v2?api_key=" KEY;
    if (store_conn_open(w, &c, &id) != MD_OK) {
        return -1;
    }
    memset(&e, 0, sizeof e);
    e.conn_id = id;
    e.kind = STORE_K_WS_TEXT;
    e.dir = STORE_D_IN;
    for (i = 0; i < n; i++) {
        e.mono_ns = 1000000000 + i * 20000;
        e.wall_ns = INT64_C(1714564800000000000) + i * 20000;
        e.payload = pool[i % POOL];
        e.payload_len = pool_len[i % POOL];
        if (store_append(w, &e) != MD_OK) {
            fprintf(stderr, "bench_store: append: %s\n",
                    store_writer_errmsg(w));
            return -1;
        }
    }
    res->append_s = now() - t0;
    store_writer_stats(w, &res->st);
    if (store_writer_close(w, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_store: %s\n", err);
        return -1;
    }
    res->total_s = now() - t0;
    res->commits = n_commits;
    res->size = stat(path, &sb) == 0 ? sb.st_size : 0;
    return 0;
}

static double read_run(const char *path, long *count, uint64_t *bytes)
{
    struct store_reader *r = NULL;
    struct store_event e;
    char err[512];
    double t0 = now();
    int rc;

    *count = 0;
    *bytes = 0;
    if (store_reader_open(path, &r, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_store: %s\n", err);
        return -1;
    }
    while ((rc = store_next(r, &e)) == MD_OK) {
        (*count)++;
        *bytes += e.payload_len + (unsigned char)((const char *)e.payload)[0];
    }
    store_reader_close(r);
    if (rc != MD_E_NOTFOUND) {
        return -1;
    }
    return now() - t0;
}

static double export_run(const char *path)
{
    struct store_reader *r = NULL;
    FILE *f = fopen("/dev/null", "w");
    char err[512];
    double t0 = now();
    int rc;

    if (f == NULL ||
        store_reader_open(path, &r, err, sizeof err) != MD_OK) {
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    rc = store_export(r, f, err, sizeof err);
    store_reader_close(r);
    fclose(f);
    return rc == MD_OK ? now() - t0 : -1;
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512], path[600], cmd[700];
    long n = 1000000, cnt;
    uint64_t bytes, payload = 0;
    double best_w = 1e30, best_a = 1e30, best_r = 1e30, best_x = 1e30;
    double best_full = 1e30, t;
    struct wres res, keep;
    int i, bad = 0;
    char *end;

    if (argc > 1) {
        n = strtol(argv[1], &end, 10);
        if (*end != '\0' || n < 1000) {
            fprintf(stderr, "usage: bench_store [FRAMES >= 1000]\n");
            return 2;
        }
    }
    snprintf(dir, sizeof dir, "%s/bench_store.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/bench.db", dir);
    if (make_pool() != 0) {
        fprintf(stderr, "bench_store: out of memory\n");
        rmdir(dir);
        return 1;
    }
    for (i = 0; i < POOL; i++) {
        payload += pool_len[i];
    }
    printf("bench_store: %ld frames, mean %.0f B, WAL, batches of 10000 / "
           "100 ms, 64 MiB queue, redaction on\n",
           n, (double)payload / POOL);
    memset(&keep, 0, sizeof keep);
    for (i = 0; i < 3 && !bad; i++) {
        bad = write_run(path, n, 0, &res) != 0;
        if (!bad && res.total_s < best_w) {
            best_w = res.total_s;
            keep = res;
        }
        if (!bad && res.append_s < best_a) {
            best_a = res.append_s;
        }
    }
    for (i = 0; i < 3 && !bad; i++) {
        t = read_run(path, &cnt, &bytes);
        bad = t < 0 || cnt != n;
        if (!bad && t < best_r) {
            best_r = t;
        }
    }
    for (i = 0; i < 3 && !bad; i++) {
        t = export_run(path);
        bad = t < 0;
        if (!bad && t < best_x) {
            best_x = t;
        }
    }
    for (i = 0; i < 3 && !bad; i++) {
        struct wres fr;
        bad = write_run(path, n, 1, &fr) != 0;
        if (!bad && fr.total_s < best_full) {
            best_full = fr.total_s;
        }
    }
    if (bad) {
        fprintf(stderr, "bench_store: a run failed\n");
    } else {
        printf("write, synchronous=NORMAL   %9.0f frames/s  (%.1f MB/s of "
               "payload; appends alone %.0f frames/s)\n",
               (double)n / best_w,
               (double)n * ((double)payload / POOL) / best_w / 1e6,
               (double)n / best_a);
        printf("  %ld commits, %" PRIu64 " appends waited for room, file "
               "%.1f MB (%.0f B per frame)\n",
               keep.commits, keep.st.stalls, (double)keep.size / 1e6,
               (double)keep.size / (double)n);
        printf("write, synchronous=FULL     %9.0f frames/s\n",
               (double)n / best_full);
        printf("read back (store_next)      %9.0f frames/s\n",
               (double)n / best_r);
        printf("export to /dev/null         %9.0f frames/s\n",
               (double)n / best_x);
    }
    unlink(path);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_store: could not remove %s\n", dir);
    }
    for (i = 0; i < POOL; i++) {
        free(pool[i]);
    }
    return bad;
}
