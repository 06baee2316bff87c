/* bench_ckpt.c: the cost of the core's checkpoint against the number of
 * series (docs/performance.md, "Checkpoints").
 *
 *   bench_ckpt [FRAMES]       (default 300000)
 *
 * For 38 and 300 pairs (trades and CCCAGG each, four intervals 1m, 5m,
 * 15m, 1h: 304 and 2,400 series), a default-scenario synth capture of
 * FRAMES frames is replayed in this process; an observer writes a
 * checkpoint into a state file (publish/outbox.h: SQLite, WAL,
 * synchronous=FULL, in a mkdtemp directory under $TMPDIR or /var/tmp,
 * removed at the end) every second of virtual time, timing each, and
 * every tenth one also serialises the whole core (head and every stream,
 * no SQLite) for comparison. Printed: checkpoints, their time (median,
 * p99, max), the stream records and bytes each rewrote, the first and
 * last tenth's mean time (the cost must not grow with the bars written),
 * and the full serialisation's time and size. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt.h"
#include "md_err.h"
#include "outbox.h"
#include "replay.h"
#include "synth.h"

#define MAXCK 100000

struct bench {
    struct outbox *ob;
    int64_t last_t;
    unsigned n;
    double ms[MAXCK];
    uint64_t streams, bytes;
    unsigned n_full;
    double full_ms;
    uint64_t full_bytes;
    unsigned streams_max;
    uint8_t *buf;
    size_t cap;
    int rc;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void full(struct bench *b, const struct core *c)
{
    unsigned k, n = core_ckpt_streams(c);
    size_t len, cap = core_ckpt_bound(c);
    uint64_t bytes = 0;
    double t0;

    if (cap > b->cap) {
        free(b->buf);
        b->buf = malloc(cap);
        b->cap = b->buf != NULL ? cap : 0;
    }
    if (b->buf == NULL) {
        b->rc = MD_E_NOMEM;
        return;
    }
    t0 = now_ms();
    if (core_ckpt_head(c, b->buf, b->cap, &len) == MD_OK) {
        bytes += len;
    }
    for (k = 0; k < n; k++) {
        if (core_ckpt_stream(c, k, b->buf, b->cap, &len) == MD_OK) {
            bytes += len;
        }
    }
    b->full_ms += now_ms() - t0;
    b->full_bytes += bytes;
    b->n_full++;
}

static void on_step(void *ctx, const struct loop *l, const struct core_in *in)
{
    struct bench *b = ctx;
    char err[512];
    double t0;

    if (b->rc != MD_OK || in->t_ns - b->last_t < 1000000000 ||
        b->n == MAXCK) {
        return;
    }
    b->last_t = in->t_ns;
    if (b->n % 10 == 9) {
        full(b, l->core);
    }
    t0 = now_ms();
    b->rc = outbox_checkpoint(b->ob, l->core, (int64_t)b->n, err,
                              sizeof err);
    if (b->rc != MD_OK) {
        fprintf(stderr, "bench_ckpt: %s\n", err);
        return;
    }
    b->ms[b->n++] = now_ms() - t0;
    b->streams += outbox_stats(b->ob)->last_streams;
    b->bytes += outbox_stats(b->ob)->last_bytes;
    if (core_ckpt_streams(l->core) > b->streams_max) {
        b->streams_max = core_ckpt_streams(l->core);
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double mean(const double *v, unsigned n)
{
    double s = 0;
    unsigned i;

    for (i = 0; i < n; i++) {
        s += v[i];
    }
    return n > 0 ? s / n : 0;
}

static int one(const char *dir, unsigned pairs, uint64_t frames)
{
    static struct bench b;
    static struct rpl_opts o;
    struct rpl_summary sum;
    struct synth_opts so;
    char cap[256], st[256], err[1024], *list;
    size_t n = 0, lcap = (size_t)pairs * 8 + 1;
    unsigned i, tenth;
    double first, last;

    snprintf(cap, sizeof cap, "%s/s%u.db", dir, pairs);
    snprintf(st, sizeof st, "%s/s%u.state", dir, pairs);
    list = malloc(lcap);
    if (list == NULL) {
        return 1;
    }
    for (i = 0; i < pairs; i++) {
        n += (size_t)snprintf(list + n, lcap - n, "%sQ%04u", i > 0 ? "," : "",
                              i);
    }
    synth_opts_default(&so);
    if (synth_set_symbols(&so, list, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_ckpt: %s\n", err);
        return 1;
    }
    so.minutes = SYNTH_MINUTES_MAX;
    so.max_frames = frames;
    so.seed = 20250722;
    if (synth_write(&so, cap, NULL, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_ckpt: synth: %s\n", err);
        return 1;
    }
    free(list);
    memset(&b, 0, sizeof b);
    b.last_t = INT64_MIN / 2;
    if (outbox_open(&b.ob, st, err, sizeof err) != MD_OK) {
        fprintf(stderr, "bench_ckpt: %s\n", err);
        return 1;
    }
    struct loop_observer obs = {&b, on_step};
    rpl_opts_default(&o);
    o.capture = cap;
    o.mode = RPL_WHATIF;
    o.intervals = "1m,5m,15m,1h";
    o.observer = &obs;
    if (rpl_run(&o, &sum, err, sizeof err) != MD_OK || b.rc != MD_OK) {
        fprintf(stderr, "bench_ckpt: replay: %s\n", err);
        return 1;
    }
    outbox_close(b.ob);
    tenth = b.n / 10 > 0 ? b.n / 10 : 1;
    first = mean(b.ms, tenth);
    last = mean(b.ms + b.n - tenth, tenth);
    qsort(b.ms, b.n, sizeof b.ms[0], cmp_d);
    printf("%u pairs, %u series (%u streams), %" PRIu64 " bars in %.0f s "
           "of virtual time:\n",
           pairs, pairs * 2 * 4, b.streams_max, sum.bars,
           (double)sum.span_ns / 1e9);
    printf("  %u checkpoints (1 per virtual second): median %.3f ms, p99 "
           "%.3f ms, max %.3f ms; %.1f stream records and %.1f KB each\n",
           b.n, b.ms[b.n / 2], b.ms[b.n * 99 / 100], b.ms[b.n - 1],
           (double)b.streams / b.n, (double)b.bytes / b.n / 1024);
    printf("  first tenth %.3f ms, last tenth %.3f ms on average\n", first,
           last);
    printf("  whole core serialised (no SQLite): %.3f ms, %.1f KB\n",
           b.n_full ? b.full_ms / b.n_full : 0,
           b.n_full ? (double)b.full_bytes / b.n_full / 1024 : 0);
    free(b.buf);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t frames = argc > 1 ? strtoull(argv[1], NULL, 10) : 300000;
    const char *tmp = getenv("TMPDIR");
    char dir[256], cmd[300];
    int rc;

    snprintf(dir, sizeof dir, "%s/ccstream-bench-ckpt-XXXXXX",
             tmp != NULL ? tmp : "/var/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    rc = one(dir, 38, frames);
    if (rc == 0) {
        rc = one(dir, 300, frames);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_ckpt: could not remove %s\n", dir);
    }
    return rc;
}
