/* test_ckpt.c: the core's checkpoint (core/ckpt.h) and the state file
 * (publish/outbox.h), on real replays of synth sessions: a restore gives
 * back the same records at every step, the incremental records equal the
 * full ones, damaged records are refused without harm, and a replay
 * stopped with --until/--state then continued with --resume makes the
 * bars of one uninterrupted run. */
#include "cmocka_inc.h"

#undef free
#undef malloc
#undef calloc
#undef realloc

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt.h"
#include "md_err.h"
#include "outbox.h"
#include "replay.h"
#include "store.h"
#include "synth.h"

static char dir[64];
static char capture[128];

static int setup(void **state)
{
    struct synth_opts so;
    char err[256];

    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ccstream-ckpt-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(capture, sizeof capture, "%s/s.db", dir);
    synth_opts_default(&so);
    so.minutes = 10;
    so.seed = 3; /* the default scenario: one drop and a reconnect */
    if (synth_write(&so, capture, NULL, err, sizeof err) != MD_OK) {
        fprintf(stderr, "synth: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- a full checkpoint in memory ------------------------------------ */

struct image {
    uint8_t *head;
    size_t head_len;
    unsigned n;
    uint8_t **rec;
    size_t *len;
};

static void image_free(struct image *im)
{
    unsigned k;

    for (k = 0; k < im->n; k++) {
        free(im->rec[k]);
    }
    free(im->rec);
    free(im->len);
    free(im->head);
    memset(im, 0, sizeof *im);
}

static void image_take(const struct core *c, struct image *im)
{
    size_t cap = core_ckpt_bound(c);
    unsigned k;

    memset(im, 0, sizeof *im);
    im->head = malloc(cap);
    assert_non_null(im->head);
    assert_int_equal(core_ckpt_head(c, im->head, cap, &im->head_len),
                     MD_OK);
    im->n = core_ckpt_streams(c);
    im->rec = calloc(im->n + 1, sizeof *im->rec);
    im->len = calloc(im->n + 1, sizeof *im->len);
    assert_non_null(im->rec);
    assert_non_null(im->len);
    for (k = 0; k < im->n; k++) {
        im->rec[k] = malloc(cap);
        assert_non_null(im->rec[k]);
        assert_int_equal(core_ckpt_stream(c, k, im->rec[k], cap,
                                          &im->len[k]),
                         MD_OK);
    }
}

/* A core of c's configuration, fresh; its memory in *mem. */
static struct core *fresh(const struct core *c, void **mem)
{
    struct core *d = calloc(1, sizeof *d);
    size_t need = core_mem_size(&c->cfg);

    assert_non_null(d);
    *mem = malloc(need);
    assert_non_null(*mem);
    assert_int_equal(core_init(d, &c->cfg, *mem, need), MD_OK);
    return d;
}

/* Restore im's head and streams into d: MD_OK or the first error. */
static int restore_parts(struct core *d, const struct image *im)
{
    unsigned k;
    int rc = core_restore_head(d, im->head, im->head_len);

    for (k = 0; k < im->n && rc == MD_OK; k++) {
        rc = core_restore_stream(d, k, im->rec[k], im->len[k]);
    }
    return rc;
}

static int restore(struct core *d, const struct image *im)
{
    int rc = restore_parts(d, im);

    return rc == MD_OK ? core_restore_done(d) : rc;
}

static void same_image(const struct image *a, const struct image *b)
{
    unsigned k;

    assert_int_equal(a->head_len, b->head_len);
    assert_memory_equal(a->head, b->head, a->head_len);
    assert_int_equal(a->n, b->n);
    for (k = 0; k < a->n; k++) {
        assert_int_equal(a->len[k], b->len[k]);
        assert_memory_equal(a->rec[k], b->rec[k], a->len[k]);
    }
}

/* ---- observers of a replay ------------------------------------------ */

struct watch {
    unsigned steps, checked, streams_max, gaps_opened;
    /* incremental: the records as a writer keeps them */
    unsigned n;
    uint8_t **rec;
    size_t *len, cap;
    uint64_t rewritten, full;
};

/* Every step: the checkpoint restored into a fresh core gives back the
 * same bytes. */
static void on_step_roundtrip(void *ctx, const struct loop *l,
                              const struct core_in *in)
{
    struct watch *w = ctx;
    struct image a, b;
    struct core *d;
    void *mem;

    (void)in;
    w->steps++;
    image_take(l->core, &a);
    d = fresh(l->core, &mem);
    assert_int_equal(restore_parts(d, &a), MD_OK);
    image_take(d, &b);
    same_image(&a, &b);
    image_free(&b);
    /* done: a gap from the last time the connection was live, unless
     * one is open already */
    {
        const struct agg *ag = &d->feed.agg;
        unsigned i, open = 0, n0 = ag->n_gaps;
        int64_t resume = d->s.restored_gap_ns;
        for (i = 0; i < ag->n_gaps; i++) {
            open += ag->gap_end[i] == 0;
        }
        assert_int_equal(core_restore_done(d), MD_OK);
        if (resume > 0 && open == 0) {
            unsigned last = (ag->gap_next + AGG_MAX_GAPS - 1) % AGG_MAX_GAPS;
            assert_true(ag->n_gaps == n0 + 1 || n0 == AGG_MAX_GAPS);
            assert_true(ag->gap_start[last] == resume);
            assert_true(ag->gap_end[last] == 0);
            w->gaps_opened++;
        } else {
            assert_int_equal(ag->n_gaps, n0);
        }
        assert_int_equal(d->s.gap_start_ns, resume > 0 ? resume : 0);
        assert_int_equal(core_check(d), MD_OK);
    }
    image_take(d, &b);
    w->checked++;
    w->streams_max = a.n > w->streams_max ? a.n : w->streams_max;
    image_free(&a);
    image_free(&b);
    free(mem);
    free(d);
}

/* Every step: a writer that rewrites only the changed streams holds the
 * same records as a full checkpoint. */
static void on_step_incremental(void *ctx, const struct loop *l,
                                const struct core_in *in)
{
    struct watch *w = ctx;
    struct core *c = l->core;
    unsigned k, n = core_ckpt_streams(c);
    size_t len;
    uint8_t *tmp;

    (void)in;
    w->steps++;
    if (w->cap == 0) {
        w->cap = core_ckpt_bound(c);
    }
    if (n > w->n) {
        w->rec = realloc(w->rec, n * sizeof *w->rec);
        w->len = realloc(w->len, n * sizeof *w->len);
        assert_non_null(w->rec);
        assert_non_null(w->len);
        for (k = w->n; k < n; k++) {
            w->rec[k] = malloc(w->cap);
            assert_non_null(w->rec[k]);
            w->len[k] = 0;
            /* a new stream is a changed one */
            assert_true(core_ckpt_changed(c, k));
        }
        w->n = n;
    }
    for (k = 0; k < n; k++) {
        if (core_ckpt_changed(c, k)) {
            assert_int_equal(core_ckpt_stream(c, k, w->rec[k], w->cap,
                                              &w->len[k]),
                             MD_OK);
            w->rewritten++;
        }
    }
    core_ckpt_written(c);
    tmp = malloc(w->cap);
    assert_non_null(tmp);
    for (k = 0; k < n; k++) {
        assert_false(core_ckpt_changed(c, k));
        assert_int_equal(core_ckpt_stream(c, k, tmp, w->cap, &len), MD_OK);
        assert_int_equal(len, w->len[k]);
        assert_memory_equal(tmp, w->rec[k], len);
    }
    w->full += n;
    free(tmp);
    w->checked++;
}

static bool g_stop_flush;

static int run(const char *tag, const char *extra_until, const char *state,
               const char *resume, const struct loop_observer *obs,
               struct rpl_summary *sum)
{
    static struct rpl_opts o;
    char bars[160], err[1024] = "";
    int rc;

    rpl_opts_default(&o);
    o.capture = capture;
    o.mode = RPL_WHATIF;
    o.observer = obs;
    o.state = state;
    o.resume = resume;
    o.stop_flush = g_stop_flush;
    if (extra_until != NULL) {
        int64_t ns = strtoll(extra_until, NULL, 10);
        o.until_ns = ns;
    }
    snprintf(bars, sizeof bars, "%s/%s.bars", dir, tag);
    o.bars = fopen(bars, "wb");
    assert_non_null(o.bars);
    rc = rpl_run(&o, sum, err, sizeof err);
    fclose(o.bars);
    if (rc != MD_OK) {
        fprintf(stderr, "replay %s: %s\n", tag, err);
    }
    return rc;
}

static void test_roundtrip_every_step(void **state)
{
    struct watch w;
    struct loop_observer obs = {&w, on_step_roundtrip};
    struct rpl_summary sum;

    (void)state;
    memset(&w, 0, sizeof w);
    assert_int_equal(run("rt", NULL, NULL, NULL, &obs, &sum), MD_OK);
    assert_true(w.checked > 4000);
    assert_true(w.streams_max >= 6); /* 3 pairs x (trades, CCCAGG) */
    assert_true(w.gaps_opened > 1000); /* restored while live */
    assert_true(sum.bars > 100);
}

static void test_incremental_equals_full(void **state)
{
    struct watch w;
    struct loop_observer obs = {&w, on_step_incremental};
    struct rpl_summary sum;
    unsigned k;

    (void)state;
    memset(&w, 0, sizeof w);
    assert_int_equal(run("inc", NULL, NULL, NULL, &obs, &sum), MD_OK);
    assert_true(w.checked > 4000);
    /* most steps change one stream of the six, timers none */
    assert_true(w.rewritten < w.full / 3);
    for (k = 0; k < w.n; k++) {
        free(w.rec[k]);
    }
    free(w.rec);
    free(w.len);
}

/* ---- damaged records ------------------------------------------------- */

struct damage {
    unsigned steps;
    bool done;
    unsigned truncated, flips_ok, flips_refused;
};

/* Stream k of im replaced by rec[0..len): restore into a fresh core. */
static int restore_with(const struct core *c, const struct image *im,
                        unsigned k, uint8_t *rec, size_t len,
                        struct core **out, void **outmem)
{
    struct image bad = *im;
    uint8_t *saved = im->rec[k];
    size_t saved_len = im->len[k];
    struct core *d;
    void *mem;
    int rc;

    bad.rec[k] = rec; /* the arrays are im's: put back below */
    bad.len[k] = len;
    d = fresh(c, &mem);
    rc = restore(d, &bad);
    im->rec[k] = saved;
    im->len[k] = saved_len;
    if (out != NULL && rc == MD_OK) {
        *out = d;
        *outmem = mem;
        return rc;
    }
    free(mem);
    free(d);
    return rc;
}

static void on_step_damage(void *ctx, const struct loop *l,
                           const struct core_in *in)
{
    struct damage *dm = ctx;
    const struct core *c = l->core;
    struct image im;
    struct core *d;
    void *mem;
    uint8_t *buf;
    unsigned k;
    size_t cut, i;

    (void)in;
    if (++dm->steps != 2000) {
        return;
    }
    dm->done = true;
    image_take(c, &im);
    assert_true(im.n >= 6);
    buf = malloc(core_ckpt_bound(c));
    assert_non_null(buf);
    /* every truncation of the head is refused */
    for (cut = 0; cut < im.head_len; cut++) {
        d = fresh(c, &mem);
        assert_int_equal(core_restore_head(d, im.head, cut), MD_E_CORRUPT);
        free(mem);
        free(d);
        dm->truncated++;
    }
    for (k = 0; k < im.n; k++) {
        /* ... and of every stream, which the restore then lacks */
        for (cut = 0; cut < im.len[k]; cut += 1 + cut / 64) {
            assert_int_not_equal(
                restore_with(c, &im, k, im.rec[k], cut, NULL, NULL), MD_OK);
            dm->truncated++;
        }
        /* a byte changed: refused, or taken exactly as it reads (the
         * restored core writes the same bytes back and can stop) */
        for (i = 0; i < im.len[k]; i += 1 + i / 128) {
            struct core_in stop;
            static struct md_out out;
            size_t len;
            memcpy(buf, im.rec[k], im.len[k]);
            buf[i] ^= 0x5a;
            if (restore_with(c, &im, k, buf, im.len[k], &d, &mem) != MD_OK) {
                dm->flips_refused++;
                continue;
            }
            dm->flips_ok++;
            assert_int_equal(core_ckpt_stream(d, k, buf + im.len[k],
                                              core_ckpt_bound(c) - im.len[k],
                                              &len),
                             MD_OK);
            assert_int_equal(len, im.len[k]);
            if (memcmp(buf + im.len[k], buf, len) != 0) {
                fprintf(stderr, "stream %u flip at %zu of %zu\n", k, i,
                        im.len[k]);
            }
            assert_memory_equal(buf + im.len[k], buf, len);
            assert_int_equal(core_check(d), MD_OK);
            memset(&stop, 0, sizeof stop);
            stop.kind = CORE_IN_STOP;
            stop.t_ns = l->now + 1;
            md_out_reset(&out);
            assert_int_equal(core_step(d, &stop, &out), MD_OK);
            free(mem);
            free(d);
        }
    }
    /* another format, another interval set, a stream out of order, a
     * restore after a step */
    {
        struct core_config cfg = c->cfg;
        struct core_in start;
        static struct md_out out;
        size_t need;
        memcpy(buf, im.head, im.head_len);
        buf[4] ^= 1; /* CKPT_FORMAT */
        d = fresh(c, &mem);
        assert_int_equal(core_restore_head(d, buf, im.head_len),
                         MD_E_VERSION);
        free(mem);
        free(d);
        d = fresh(c, &mem);
        assert_int_equal(core_restore_head(d, im.head, im.head_len), MD_OK);
        assert_int_equal(core_restore_stream(d, 1, im.rec[1], im.len[1]),
                         MD_E_CORRUPT);
        assert_int_equal(core_restore_done(d), MD_E_CORRUPT);
        free(mem);
        free(d);
        cfg.agg.intervals_s[cfg.agg.n_intervals++] = 300;
        d = calloc(1, sizeof *d);
        need = core_mem_size(&cfg);
        mem = malloc(need);
        assert_int_equal(core_init(d, &cfg, mem, need), MD_OK);
        assert_int_equal(core_restore_head(d, im.head, im.head_len),
                         MD_E_INVAL);
        free(mem);
        free(d);
        d = fresh(c, &mem);
        memset(&start, 0, sizeof start);
        start.kind = CORE_IN_START;
        start.t_ns = 1;
        start.server_ms = 1753190000000;
        md_out_reset(&out);
        assert_int_equal(core_step(d, &start, &out), MD_OK);
        assert_int_equal(core_restore_head(d, im.head, im.head_len),
                         MD_E_STATE);
        free(mem);
        free(d);
    }
    free(buf);
    image_free(&im);
}

static void test_damaged_records_refused(void **state)
{
    struct damage dm;
    struct loop_observer obs = {&dm, on_step_damage};
    struct rpl_summary sum;

    (void)state;
    memset(&dm, 0, sizeof dm);
    assert_int_equal(run("dmg", NULL, NULL, NULL, &obs, &sum), MD_OK);
    assert_true(dm.done);
    print_message("  (%u truncations refused; byte changes: %u refused, "
                  "%u taken as they read)\n", dm.truncated,
                  dm.flips_refused, dm.flips_ok);
    assert_true(dm.truncated > 500);
    /* both outcomes happen: the check is not vacuous either way */
    assert_true(dm.flips_refused > 20);
    assert_true(dm.flips_ok > 20);
}

/* ---- resume ---------------------------------------------------------- */

/* The time from the first event to the end of the first WebSocket
 * connection (the synth session's drop). */
static int64_t first_drop_ns(void)
{
    struct store_reader *rd;
    struct store_event ev;
    char err[256];
    int64_t t0 = -1, at = -1;

    assert_int_equal(store_reader_open(capture, &rd, err, sizeof err),
                     MD_OK);
    while (store_next(rd, &ev) == MD_OK) {
        if (t0 < 0) {
            t0 = ev.mono_ns;
        }
        if (ev.kind == STORE_K_WS_CLOSED) {
            at = ev.mono_ns - t0;
            break;
        }
    }
    store_reader_close(rd);
    assert_true(at > 0);
    return at;
}

static size_t slurp(const char *tag, char **out)
{
    char path[160];
    FILE *f;
    long n;

    snprintf(path, sizeof path, "%s/%s.bars", dir, tag);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    assert_non_null(*out);
    assert_int_equal(fread(*out, 1, (size_t)n, f), (size_t)n);
    (*out)[n] = '\0';
    fclose(f);
    return (size_t)n;
}

static void test_resume_between_connections(void **state)
{
    struct rpl_summary sum;
    char st_all[160], st_cut[160], until[32];
    char *all, *one, *two;
    size_t n_all, n1, n2;

    (void)state;
    snprintf(st_all, sizeof st_all, "%s/all.state", dir);
    snprintf(st_cut, sizeof st_cut, "%s/cut.state", dir);
    /* one run to the end, its open bars kept in a checkpoint */
    assert_int_equal(run("all", NULL, st_all, NULL, NULL, &sum), MD_OK);
    assert_int_equal(sum.checkpoints, 1);
    /* the same capture stopped one second after the drop, then resumed */
    snprintf(until, sizeof until, "%lld",
             (long long)(first_drop_ns() + 1000000000));
    assert_int_equal(run("one", until, st_cut, NULL, NULL, &sum), MD_OK);
    assert_int_equal(sum.checkpoints, 1);
    assert_true(sum.ckpt_seq > 100);
    assert_int_equal(run("two", NULL, NULL, st_cut, NULL, &sum), MD_OK);
    assert_true(sum.resumed_seq > 100);
    n_all = slurp("all", &all);
    n1 = slurp("one", &one);
    n2 = slurp("two", &two);
    assert_true(n1 > 1000);
    assert_true(n2 > 1000);
    /* the first part flushed nothing: its open bars went on in the
     * second, which closed them by the timer */
    assert_null(strstr(one, "\"close_reason\":\"flush\""));
    assert_int_equal(n1 + n2, n_all);
    assert_memory_equal(all, one, n1);
    assert_memory_equal(all + n1, two, n2);
    free(all);
    free(one);
    free(two);
}

/* Mid-connection, the resumed run opens a gap: it may make other bars
 * than one run (flags, revisions), but never the same identity twice. */
static void test_resume_mid_connection(void **state)
{
    struct rpl_summary sum;
    char st[160], until[32];
    char *one, *two, *both, *line, *save = NULL;
    size_t n1, n2, n = 0, i, j;
    char (*keys)[200];

    (void)state;
    snprintf(st, sizeof st, "%s/mid.state", dir);
    snprintf(until, sizeof until, "%lld",
             (long long)(first_drop_ns() / 2));
    assert_int_equal(run("m1", until, st, NULL, NULL, &sum), MD_OK);
    assert_int_equal(run("m2", NULL, NULL, st, NULL, &sum), MD_OK);
    n1 = slurp("m1", &one);
    n2 = slurp("m2", &two);
    both = malloc(n1 + n2 + 1);
    assert_non_null(both);
    memcpy(both, one, n1);
    memcpy(both + n1, two, n2 + 1);
    assert_non_null(strstr(two, "spans_disconnect"));
    keys = calloc(4096, sizeof *keys);
    assert_non_null(keys);
    for (line = strtok_r(both, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        /* the identity: everything before "close_reason" */
        char *cr = strstr(line, ",\"close_reason\"");
        assert_non_null(cr);
        assert_true(n < 4096);
        snprintf(keys[n], sizeof keys[n], "%.*s", (int)(cr - line), line);
        n++;
    }
    assert_true(n > 50);
    for (i = 0; i < n; i++) {
        for (j = i + 1; j < n; j++) {
            assert_string_not_equal(keys[i], keys[j]);
        }
    }
    free(keys);
    free(both);
    free(one);
    free(two);
}

/* Flushed at the stop all the same (--stop-flush): the resumed run does
 * not make those bars again as revision 0 (their identities are taken)
 * but revises each one the rest of its interval changes: revision 1. */
static void test_resume_after_flush(void **state)
{
    struct rpl_summary sum;
    char st[160], until[32], *one, *two, *line, *save = NULL;
    unsigned flushed = 0, revised = 0;

    (void)state;
    snprintf(st, sizeof st, "%s/flush.state", dir);
    snprintf(until, sizeof until, "%lld",
             (long long)(first_drop_ns() + 1000000000));
    g_stop_flush = true;
    assert_int_equal(run("f1", until, st, NULL, NULL, &sum), MD_OK);
    g_stop_flush = false;
    assert_int_equal(run("f2", NULL, NULL, st, NULL, &sum), MD_OK);
    slurp("f1", &one);
    slurp("f2", &two);
    for (line = strtok_r(one, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char key[200], *cr, *hit;
        if (strstr(line, "\"close_reason\":\"flush\"") == NULL) {
            continue;
        }
        flushed++;
        assert_non_null(strstr(line, "\"revision\":0,"));
        /* the same bucket in the resumed run: never revision 0 again */
        cr = strstr(line, ",\"revision\"");
        assert_non_null(cr);
        snprintf(key, sizeof key, "%.*s,\"revision\":0,", (int)(cr - line),
                 line);
        assert_null(strstr(two, key));
        snprintf(key, sizeof key, "%.*s,\"revision\":1,", (int)(cr - line),
                 line);
        hit = strstr(two, key);
        if (hit != NULL) {
            revised++;
            assert_non_null(strstr(hit, "\"close_reason\":\"revision\""));
        }
    }
    assert_true(flushed >= 4);
    assert_true(revised >= 1);
    free(one);
    free(two);
}

static void test_state_file_errors(void **state)
{
    struct rpl_summary sum;
    static struct rpl_opts o;
    char err[1024], missing[160];
    struct outbox *ob;

    (void)state;
    snprintf(missing, sizeof missing, "%s/none.state", dir);
    rpl_opts_default(&o);
    o.capture = capture;
    o.mode = RPL_WHATIF;
    o.resume = missing;
    assert_int_not_equal(rpl_run(&o, &sum, err, sizeof err), MD_OK);
    assert_non_null(strstr(err, "none.state"));
    /* a capture is not a state file */
    assert_int_equal(outbox_open(&ob, capture, err, sizeof err),
                     MD_E_CORRUPT);
    assert_non_null(strstr(err, "not a ccstream state file"));
    o.resume = capture;
    assert_int_not_equal(rpl_run(&o, &sum, err, sizeof err), MD_OK);
    assert_non_null(strstr(err, "not a ccstream state file"));
    /* a state file without a checkpoint (its run died before its first
     * commit): from the start */
    assert_int_equal(outbox_open(&ob, missing, err, sizeof err), MD_OK);
    outbox_close(ob);
    o.resume = missing;
    assert_int_equal(rpl_run(&o, &sum, err, sizeof err), MD_OK);
    assert_true(sum.resumed_empty);
    assert_int_equal(sum.resumed_seq, 0);
    assert_true(sum.bars > 100);
    /* strict replay plays no world to resume */
    o.resume = capture;
    o.mode = RPL_STRICT;
    assert_int_not_equal(rpl_run(&o, &sum, err, sizeof err), MD_OK);
}

/* Ids are never used twice: after every batch is deleted, a file opened
 * again goes on after the last id (a progress record of exactly-once
 * mode names ids: one used again would drop a new bar). */
static void test_outbox_ids_never_reused(void **state)
{
    struct outbox *ob;
    struct core *c;
    struct core_config cfg;
    void *mem;
    char path[160], err[256];
    static const unsigned char data[] = "x";
    size_t need;

    (void)state;
    snprintf(path, sizeof path, "%s/ids.state", dir);
    core_config_default(&cfg);
    need = core_mem_size(&cfg);
    c = calloc(1, sizeof *c);
    mem = malloc(need);
    assert_non_null(c);
    assert_non_null(mem);
    assert_int_equal(core_init(c, &cfg, mem, need), MD_OK);
    assert_int_equal(outbox_open(&ob, path, err, sizeof err), MD_OK);
    assert_int_equal(outbox_next_id(ob), 1);
    assert_int_equal(outbox_put(ob, 1, 3, data, 1, err, sizeof err), MD_OK);
    assert_int_equal(outbox_commit(ob, c, 1, err, sizeof err), MD_OK);
    assert_int_equal(outbox_done(ob, 1, 3), MD_OK);
    assert_int_equal(outbox_commit(ob, c, 2, err, sizeof err), MD_OK);
    outbox_close(ob);
    assert_int_equal(outbox_open(&ob, path, err, sizeof err), MD_OK);
    assert_int_equal(outbox_stats(ob)->depth, 0);
    assert_int_equal(outbox_next_id(ob), 4);
    outbox_close(ob);
    free(mem);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_step),
        cmocka_unit_test(test_incremental_equals_full),
        cmocka_unit_test(test_damaged_records_refused),
        cmocka_unit_test(test_resume_between_connections),
        cmocka_unit_test(test_resume_mid_connection),
        cmocka_unit_test(test_resume_after_flush),
        cmocka_unit_test(test_state_file_errors),
        cmocka_unit_test(test_outbox_ids_never_reused),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
