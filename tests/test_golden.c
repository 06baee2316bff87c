/* test_golden.c: golden transcripts of the market-data path. Every folder
 * fixtures/golden/NNNN-name/ holds frames.txt (local receive time and raw
 * frame per line; "!gap" and "!resubscribed" mark a reconnect) and
 * bars.jsonl, the bars the core must emit, as JSON lines, byte for byte.
 * Timers are delivered as the replay contract says: every bar deadline at
 * or before a frame's receive time fires first, earliest first.
 *
 * CCSTREAM_UPDATE_GOLDEN=1 rewrites bars.jsonl instead of comparing
 * (`make fixtures-update`); review the diff. The bars' trade values are
 * also recomputed with exact decimals by fixtures/golden/gen_minutes.py,
 * independently of this code. Run from the repository root. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bar_codec.h"
#include "cmocka_inc.h"
#include "feed.h"
#include "md_err.h"

#define GOLDEN_DIR "fixtures/golden"
#define OUT_CAP (4 * 1024 * 1024)

static struct feed F;
static struct bar BARS[1024];
static char OUTBUF[OUT_CAP];

struct sink {
    char *buf;
    size_t len, cap;
    size_t bars, revisions;
};

static void drain(struct sink *k, struct agg_out *out)
{
    size_t i, n;

    for (i = 0; i < out->n; i++) {
        assert_true(k->cap - k->len > 2048);
        assert_int_equal(bar_to_json(&out->bars[i], k->buf + k->len,
                                     k->cap - k->len - 1, &n),
                         MD_OK);
        k->len += n;
        k->buf[k->len++] = '\n';
        k->bars++;
        k->revisions += out->bars[i].revision > 0;
    }
    out->n = 0;
}

/* Fire every bar timer due at or before server time `now`. */
static void timers(struct sink *k, int64_t now)
{
    struct agg_out out = {BARS, sizeof BARS / sizeof BARS[0], 0};
    int64_t d;

    while ((d = agg_next_deadline(&F.agg)) <= now) {
        assert_int_equal(agg_advance(&F.agg, d, &out), MD_OK);
        drain(k, &out);
    }
}

/* Run one fixture's frames through the feed; the bars go to k. */
static void run_fixture(const char *dir, struct sink *k)
{
    char path[512], *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    FILE *f;
    struct agg_config cfg;
    void *mem;
    size_t need;
    struct agg_out out = {BARS, sizeof BARS / sizeof BARS[0], 0};
    int64_t last_server = 0;

    snprintf(path, sizeof path, "%.200s/frames.txt", dir);
    f = fopen(path, "r");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    agg_config_default(&cfg);
    need = feed_mem_size(&cfg, 0);
    mem = test_malloc(need);
    assert_non_null(mem);
    assert_int_equal(feed_init(&F, &cfg, 0, mem, need), MD_OK);
    while ((n = getline(&line, &lcap, f)) > 0) {
        char *sp = strchr(line, ' ');
        long long t;
        struct feed_result res;
        assert_non_null(sp);
        t = strtoll(line, NULL, 10);
        *sp++ = '\0';
        if (line[n - 1] == '\n' || sp[strlen(sp) - 1] == '\n') {
            sp[strlen(sp) - 1] = '\0';
        }
        timers(k, feed_server_ns(&F, t));
        if (strcmp(sp, "!gap") == 0) {
            agg_gap_open(&F.agg, last_server);
            continue;
        }
        if (strcmp(sp, "!resubscribed") == 0) {
            agg_gap_close(&F.agg, feed_server_ns(&F, t));
            feed_resubscribed(&F);
            continue;
        }
        assert_int_equal(feed_frame(&F, sp, strlen(sp), t, &res), MD_OK);
        if (res.type == CC_T_NONE) {
            fail_msg("%s: frame at %lld did not decode", path, t);
        }
        last_server = feed_server_ns(&F, t);
    }
    /* line came from getline (libc malloc): free it with libc's free,
     * not cmocka's test_free */
#undef free
    free(line);
    fclose(f);
    assert_int_equal(agg_flush(&F.agg, &out), MD_OK);
    drain(k, &out);
    test_free(mem);
}

static int list_fixtures(char names[][128], int max)
{
    DIR *d = opendir(GOLDEN_DIR);
    struct dirent *e;
    int n = 0, i, j;

    if (d == NULL) {
        fail_msg("cannot open %s (run from the repository root)",
                 GOLDEN_DIR);
    }
    while ((e = readdir(d)) != NULL && n < max) {
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
            strlen(e->d_name) < 100) {
            snprintf(names[n++], 128, "%s/%.100s", GOLDEN_DIR, e->d_name);
        }
    }
    closedir(d);
    for (i = 1; i < n; i++) { /* sort: readdir order is arbitrary */
        for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char tmp[128];
            memcpy(tmp, names[j], 128);
            memcpy(names[j], names[j - 1], 128);
            memcpy(names[j - 1], tmp, 128);
        }
    }
    return n;
}

static void test_golden_bars(void **state)
{
    static char names[32][128];
    static char second[OUT_CAP];
    int n = list_fixtures(names, 32), i;
    const char *update = getenv("CCSTREAM_UPDATE_GOLDEN");

    (void)state;
    assert_true(n > 0);
    for (i = 0; i < n; i++) {
        struct sink k = {OUTBUF, 0, OUT_CAP, 0, 0};
        struct sink k2 = {second, 0, OUT_CAP, 0, 0};
        char path[512];
        FILE *f;

        run_fixture(names[i], &k);
        /* determinism: a second run is byte-identical */
        run_fixture(names[i], &k2);
        assert_int_equal(k.len, k2.len);
        assert_memory_equal(k.buf, k2.buf, k.len);
        snprintf(path, sizeof path, "%.120s/bars.jsonl", names[i]);
        if (update != NULL && strcmp(update, "1") == 0) {
            f = fopen(path, "w");
            assert_non_null(f);
            assert_int_equal(fwrite(k.buf, 1, k.len, f), k.len);
            fclose(f);
            printf("  %s: wrote %zu bars\n", path, k.bars);
            continue;
        }
        f = fopen(path, "r");
        if (f == NULL) {
            fail_msg("%s missing: run make fixtures-update", path);
        } else {
            static char want[OUT_CAP];
            size_t wn = fread(want, 1, sizeof want, f), off = 0;
            fclose(f);
            while (off < wn && off < k.len && want[off] == k.buf[off]) {
                off++;
            }
            if (wn != k.len || off != wn) {
                size_t line = 1, p;
                for (p = 0; p < off; p++) {
                    line += want[p] == '\n';
                }
                fail_msg("%s differs from the core's output at line %zu "
                         "(byte %zu); if the change is intended, run make "
                         "fixtures-update and review the diff",
                         path, line, off);
            }
        }
        printf("  %s: %zu bars (%zu revisions), feed %llu frames, "
               "duplicates %llu, late revisions %llu, late dropped %llu\n",
               names[i], k.bars, k.revisions,
               (unsigned long long)F.st.frames,
               (unsigned long long)F.agg.st.duplicates,
               (unsigned long long)F.agg.st.late_revisions,
               (unsigned long long)F.agg.st.late_dropped);
    }
}

/* The trade bars, recomputed with exact decimals by a separate program. */
static void test_golden_independent_check(void **state)
{
    static char names[32][128];
    int n = list_fixtures(names, 32), i;

    (void)state;
    for (i = 0; i < n; i++) {
        char cmd[700];
        int rc;
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 fixtures/golden/gen_minutes.py check %.120s",
                 names[i]);
        rc = system(cmd);
        if (rc != 0) {
            fail_msg("%s: exact recomputation disagrees (exit %d)", names[i],
                     rc);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_bars),
        cmocka_unit_test(test_golden_independent_check),
    };
    return cmocka_run_group_tests_name("golden", tests, NULL, NULL);
}
