/* test_replay_golden.c: golden transcripts of replay. Every folder
 * fixtures/replay/NNNN-name/ holds capture.jsonl (make imports it into
 * $BUILD/fixtures/replay/NNNN-name.db) or a `uses` file naming another
 * fixture whose capture it replays, an optional `inject` file (one
 * --inject spec per line), and the golden trace.txt (--trace-quiet) and
 * bars.jsonl. Each capture is replayed twice: both runs must equal the
 * golden files byte for byte. The (machine, state, input) pairs the corpus
 * exercises are checked against docs/mealy.md's labels: every pair
 * labelled reachable must be reached by some fixture, and no pair
 * labelled unreachable may be.
 *
 * CCSTREAM_UPDATE_GOLDEN=1 rewrites the golden files (make
 * fixtures-update); review the diff. Run from the repository root. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmocka_inc.h"
#include "core.h"
#include "md_err.h"
#include "replay.h"

#define DIR_ "fixtures/replay"
#define BIG (8 << 20)

static char GOT[BIG], WANT[BIG];
static uint64_t covered[MD_M__COUNT][32];

static size_t slurp(const char *path, char *buf, size_t cap, int must)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    if (f == NULL) {
        if (must) {
            fail_msg("cannot read %s (run make fixtures-update?)", path);
        }
        return 0;
    }
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

#define MAX_FIXTURES 256

static int list(char names[][64], int max)
{
    DIR *d = opendir(DIR_);
    struct dirent *e;
    int n = 0, i, j;

    if (d == NULL) {
        fail_msg("cannot open %s (run from the repository root)", DIR_);
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') {
            continue;
        }
        /* no fixture is left out unnoticed */
        if (n == max || strlen(e->d_name) >= 60) {
            closedir(d);
            fail_msg("%s/%s: more than %d fixtures or a name of 60 "
                     "characters or more; raise MAX_FIXTURES", DIR_,
                     e->d_name, max);
        }
        snprintf(names[n++], 64, "%.59s", e->d_name);
    }
    closedir(d);
    for (i = 1; i < n; i++) {
        for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[64];
            memcpy(t, names[j], 64);
            memcpy(names[j], names[j - 1], 64);
            memcpy(names[j - 1], t, 64);
        }
    }
    return n;
}

/* Replay one fixture into tmp files; returns the summary. */
static void run(const char *name, const char *tag, struct rpl_summary *sum)
{
    static struct rpl_opts o;
    const char *build = getenv("BUILD");
    char db[256], inject[256], tr[256], bars[256], err[1024] = "";
    char line[700];
    FILE *f;
    int rc;
    unsigned m, s;

    rpl_opts_default(&o);
    snprintf(db, sizeof db, "%s/fixtures/replay/%s.db",
             build != NULL ? build : "build", name);
    /* a fixture without capture.jsonl replays another's: its `uses` file
     * names it */
    snprintf(inject, sizeof inject, "%s/%s/uses", DIR_, name);
    f = fopen(inject, "r");
    if (f != NULL) {
        if (fgets(line, sizeof line, f) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(db, sizeof db, "%s/fixtures/replay/%.60s.db",
                     build != NULL ? build : "build", line);
        }
        fclose(f);
    }
    o.capture = db;
    snprintf(inject, sizeof inject, "%s/%s/inject", DIR_, name);
    f = fopen(inject, "r");
    if (f != NULL) {
        while (fgets(line, sizeof line, f) != NULL) {
            line[strcspn(line, "\n")] = '\0';
            if (line[0] != '\0') {
                assert_int_equal(rpl_add_inject(&o, line), MD_OK);
            }
        }
        fclose(f);
    }
    snprintf(tr, sizeof tr, "build/tests/golden-%s.%s.trace", name, tag);
    snprintf(bars, sizeof bars, "build/tests/golden-%s.%s.bars", name, tag);
    o.trace = fopen(tr, "w");
    o.bars = fopen(bars, "wb");
    o.trace_quiet = true;
    o.coverage_wanted = true;
    assert_non_null(o.trace);
    assert_non_null(o.bars);
    rc = rpl_run(&o, sum, err, sizeof err);
    fclose(o.trace);
    fclose(o.bars);
    if (rc != MD_OK) {
        fail_msg("%s: replay failed: %s", name, err);
    }
    for (m = 1; m < MD_M__COUNT; m++) {
        for (s = 0; s < 32; s++) {
            covered[m][s] |= o.coverage[m][s];
        }
    }
}

static void compare(const char *name, const char *tag, const char *ext,
                    const char *golden, int update)
{
    char got[256], want[256];
    size_t gn, wn, off = 0, line = 1, i;

    snprintf(got, sizeof got, "build/tests/golden-%s.%s.%s", name, tag, ext);
    snprintf(want, sizeof want, "%s/%s/%s", DIR_, name, golden);
    gn = slurp(got, GOT, BIG, 1);
    if (update) {
        FILE *f = fopen(want, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(GOT, 1, gn, f), gn);
        fclose(f);
        return;
    }
    wn = slurp(want, WANT, BIG, 1);
    while (off < gn && off < wn && GOT[off] == WANT[off]) {
        off++;
    }
    if (gn != wn || off != gn) {
        for (i = 0; i < off; i++) {
            line += WANT[i] == '\n';
        }
        fail_msg("%s differs from the replay at line %zu; if intended, run "
                 "make fixtures-update and review the diff",
                 want, line);
    }
}

static void test_replay_golden(void **state)
{
    static char names[MAX_FIXTURES][64];
    const char *u = getenv("CCSTREAM_UPDATE_GOLDEN");
    int update = u != NULL && strcmp(u, "1") == 0;
    int n = list(names, MAX_FIXTURES), i;

    (void)state;
    assert_true(n > 0);
    for (i = 0; i < n; i++) {
        struct rpl_summary s1, s2;
        run(names[i], "1", &s1);
        run(names[i], "2", &s2);
        /* run 1 against the goldens (or into them), run 2 the same */
        compare(names[i], "1", "trace", "trace.txt", update);
        compare(names[i], "1", "bars", "bars.jsonl", update);
        compare(names[i], "2", "trace", "trace.txt", 0);
        compare(names[i], "2", "bars", "bars.jsonl", 0);
        printf("  %-26s %5llu frames %4llu bars %3llu rev %4llu dup "
               "%2llu late %3llu malformed %2llu rest %2llu miss "
               "%llu fail\n",
               names[i], (unsigned long long)s1.frames,
               (unsigned long long)s1.bars,
               (unsigned long long)s1.revisions,
               (unsigned long long)s1.duplicates,
               (unsigned long long)s1.late_dropped,
               (unsigned long long)s1.malformed,
               (unsigned long long)s1.rest_matched,
               (unsigned long long)s1.rest_misses,
               (unsigned long long)s1.deliveries_failed);
    }
}

/* Transition coverage over the corpus, against the reachable labels. */
static void test_replay_coverage(void **state)
{
    unsigned m, s, in, reach = 0, hit = 0;
    FILE *f = fopen("build/tests/coverage-uncovered.txt", "w");

    (void)state;
    assert_non_null(f);
    for (m = 1; m < MD_M__COUNT; m++) {
        const struct fsm_def *d = core_defs[m];
        unsigned mr = 0, mh = 0;
        for (s = 1; s < d->nstates; s++) {
            for (in = 1; in < d->ninputs; in++) {
                const struct fsm_cell *c = fsm_cell_at(d, s, in);
                int got = (int)((covered[m][s] >> in) & 1u);
                if (c->reach != FSM_R_REACHABLE) {
                    /* an unreachable pair must never happen */
                    if (got) {
                        fail_msg("replay reached %s (%s, %s), labelled "
                                 "unreachable", d->name, d->state_names[s],
                                 d->input_names[in]);
                    }
                    continue;
                }
                mr++;
                mh += (unsigned)got;
                if (!got) {
                    fprintf(f, "%s\t%s\t%s\n", d->name, d->state_names[s],
                            d->input_names[in]);
                }
            }
        }
        printf("  coverage %-4s %3u of %3u reachable (state, input) pairs\n",
               d->name, mh, mr);
        reach += mr;
        hit += mh;
    }
    fclose(f);
    printf("  coverage: %u of %u reachable pairs exercised by the fixture "
           "corpus (uncovered ones: build/tests/coverage-uncovered.txt)\n",
           hit, reach);
    /* the gate: every pair docs/mealy.md labels reachable is reached */
    if (hit != reach) {
        fail_msg("%u reachable (machine, state, input) pairs are reached by "
                 "no fixture; see build/tests/coverage-uncovered.txt",
                 reach - hit);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_golden),
        cmocka_unit_test(test_replay_coverage),
    };
    return cmocka_run_group_tests_name("replay_golden", tests, NULL, NULL);
}
