/* test_fsm_effects.c: the machines' effects, pinned as a transcript.
 *
 * The tables are tested exhaustively elsewhere (test_fsm_spec); what an
 * arm *does* (the actions with their times, deadlines and arguments, the
 * notes, the counters, the extended state) is code beside the tables. Here
 * each machine is driven by a seeded random walk of inputs (times moving
 * by small and large steps, so every timeout and back-off boundary is
 * crossed on both sides; REST retry-after and bar counts and publisher
 * batch sizes varied), and every step is written out in full: the input,
 * each action, the state, the extended state and every counter. The
 * transcript is compared with tests/fsm_effects.txt, so a change of any
 * effect shows as a diff of readable lines (make mutate counts on this to
 * kill mutants of the effect code).
 *
 * Regenerate after an intended change and review the diff:
 *   CCSTREAM_UPDATE_GOLDEN=1 build/tests/test_fsm_effects */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* libc's free, defined before cmocka's leak-checking macros: the
 * transcript comes from open_memstream. */
static void libc_free(void *p)
{
    free(p);
}

#include "cmocka_inc.h"

#include "fsm.h"
#include "fsm_conn.h"
#include "fsm_pub.h"
#include "fsm_rest.h"
#include "md_err.h"
#include "md_prng.h"
#include "md_types.h"

#define STEPS 1000
#define GOLDEN "tests/fsm_effects.txt"

static void print_out(FILE *f, const struct md_out *o)
{
    size_t i;

    for (i = 0; i < o->n; i++) {
        const struct md_action *a = &o->a[i];
        fprintf(f, "  %s t=%" PRId64, md_act_name(a->kind), a->t_ns);
        switch (a->kind) {
        case MD_A_ARM_TIMER:
            fprintf(f, " %s @%" PRId64, md_timer_name(a->timer),
                    a->deadline_ns);
            break;
        case MD_A_CANCEL_TIMER:
            fprintf(f, " %s", md_timer_name(a->timer));
            break;
        case MD_A_NOTE:
            fprintf(f, " %s %" PRIu64, md_note_name(a->note), a->arg);
            break;
        default:
            fprintf(f, " %" PRIu64, a->arg);
            break;
        }
        fputc('\n', f);
    }
}

/* An input for a machine in state: nine times in ten one its table marks
 * reachable there (the walk follows the contract and goes deep), else any
 * (the contract broken: an unreachable cell, noted). */
static uint8_t pick_input(struct md_prng *r, const struct fsm_def *d,
                          unsigned state)
{
    uint8_t ok[64];
    unsigned n = 0, i;

    for (i = 1; i < d->ninputs && n < sizeof ok; i++) {
        if (fsm_cell_at(d, state, i)->reach != FSM_R_UNREACHABLE) {
            ok[n++] = (uint8_t)i;
        }
    }
    if (n > 0 && md_prng_below(r, 10) != 0) {
        uint8_t in = ok[md_prng_below(r, n)];
        /* STOP ends a walk: seldom */
        if (strcmp(d->input_names[in], "STOP") == 0 &&
            md_prng_below(r, 8) != 0) {
            in = ok[md_prng_below(r, n)];
        }
        return in;
    }
    return (uint8_t)(1 + md_prng_below(r, d->ninputs - 1));
}

/* A time step: mostly small, sometimes past any timeout. */
static mono_ns next_t(struct md_prng *r, mono_ns t)
{
    static const mono_ns steps[] = {
        0, MD_NS_PER_MS, 500 * MD_NS_PER_MS, MD_NS_PER_S, 3 * MD_NS_PER_S,
        10 * MD_NS_PER_S, 29 * MD_NS_PER_S, 61 * MD_NS_PER_S,
        75 * MD_NS_PER_S, 76 * MD_NS_PER_S, 400 * MD_NS_PER_S,
    };
    return t + steps[md_prng_below(r, sizeof steps / sizeof steps[0])];
}

static void walk_conn(FILE *f)
{
    static struct md_prng rng, pick;
    struct conn m;
    struct conn_config cfg;
    struct md_out out;
    mono_ns t = MD_NS_PER_S;
    unsigned k;

    md_prng_seed(&rng, 101);
    md_prng_seed(&pick, 102);
    conn_config_default(&cfg);
    conn_init(&m, &cfg, &rng);
    fprintf(f, "== conn\n");
    for (k = 0; k < STEPS; k++) {
        struct conn_in in = {0};
        int rc;
        in.input = pick_input(&pick, &conn_def, m.state);
        in.t_ns = t = next_t(&pick, t);
        in.server_ms = (int64_t)md_prng_below(&pick, 3) * 1000;
        md_out_reset(&out);
        rc = conn_step(&m, &in, &out);
        fprintf(f, "%u %s t=%" PRId64 " rc=%s -> %s\n", k,
                conn_def.input_names[in.input], t, md_errname(rc),
                conn_def.state_names[m.state]);
        print_out(f, &out);
        fprintf(f, "  . out=%s attempt=%u id=%" PRIu32 " act=%" PRId64
                " live=%u gap=%u@%" PRId64 " timers=%" PRIx32 " st=%" PRIu64
                "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64
                "/%" PRIu64 "/%" PRIu64 "\n",
                conn_def.output_names[m.out], m.attempt, m.conn_id,
                m.last_activity, m.was_live, m.gap_open, m.gap_start,
                m.timers, m.st.frames, m.st.malformed, m.st.other,
                m.st.subs_ok, m.st.subs_rejected, m.st.drops, m.st.connects,
                m.st.unreachable);
        if (m.state == CONN_S_STOPPED && md_prng_below(&pick, 2) == 0) {
            conn_init(&m, &cfg, &rng);
            fprintf(f, "  . restarted\n");
        }
    }
}

static void walk_rest(FILE *f)
{
    static struct md_prng rng, pick;
    struct rest m;
    struct rest_config cfg;
    struct md_out out;
    mono_ns t = MD_NS_PER_S;
    unsigned k;

    md_prng_seed(&rng, 201);
    md_prng_seed(&pick, 202);
    rest_config_default(&cfg);
    cfg.queue_cap = 2; /* jobs of up to 3 requests overflow it */
    rest_init(&m, &cfg, &rng);
    fprintf(f, "== rest\n");
    for (k = 0; k < STEPS; k++) {
        struct rest_in in = {0};
        int rc;
        in.input = pick_input(&pick, &rest_def, m.state);
        in.t_ns = t = next_t(&pick, t);
        in.retry_after_ns = (mono_ns)md_prng_below(&pick, 3) * 20 *
                            MD_NS_PER_S;
        in.bars = (uint32_t)md_prng_below(&pick, 7);
        md_out_reset(&out);
        rc = rest_step(&m, &in, &out);
        fprintf(f, "%u %s t=%" PRId64 " ra=%" PRId64 " n=%" PRIu32
                " rc=%s -> %s\n", k, rest_def.input_names[in.input], t,
                in.retry_after_ns, in.bars, md_errname(rc),
                rest_def.state_names[m.state]);
        print_out(f, &out);
        fprintf(f, "  . queued=%u attempt=%u next=%" PRIu64 " timers=%" PRIx32
                " st=%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64
                "/%" PRIu64 "/%" PRIu64 "\n",
                m.queued, m.attempt, m.next_id, m.timers, m.st.sent, m.st.ok,
                m.st.failed, m.st.retried, m.st.rate_limited, m.st.overflow,
                m.st.unreachable);
        if (m.state == REST_S_STOPPED && md_prng_below(&pick, 2) == 0) {
            rest_init(&m, &cfg, &rng);
            fprintf(f, "  . restarted\n");
        }
    }
}

static void walk_pub(FILE *f)
{
    static struct md_prng rng, pick;
    struct pub m;
    struct pub_config cfg;
    struct md_out out;
    mono_ns t = MD_NS_PER_S;
    unsigned k;

    md_prng_seed(&rng, 301);
    md_prng_seed(&pick, 302);
    pub_config_default(&cfg);
    pub_init(&m, &cfg, &rng);
    fprintf(f, "== pub\n");
    for (k = 0; k < STEPS; k++) {
        struct pub_in in = {0};
        int rc;
        in.input = pick_input(&pick, &pub_def, m.state);
        in.t_ns = t = next_t(&pick, t);
        in.n = md_prng_below(&pick, 4);
        md_out_reset(&out);
        rc = pub_step(&m, &in, &out);
        fprintf(f, "%u %s t=%" PRId64 " n=%" PRIu64 " rc=%s -> %s\n", k,
                pub_def.input_names[in.input], t, in.n, md_errname(rc),
                pub_def.state_names[m.state]);
        print_out(f, &out);
        fprintf(f, "  . queued=%" PRIu64 " inflight=%" PRIu64 " topic=%u "
                "attempt=%u timers=%" PRIx32 " st=%" PRIu64 "/%" PRIu64
                "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64
                "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
                m.queued, m.inflight, m.topic_pending, m.attempt, m.timers,
                m.st.produced, m.st.delivered, m.st.failed, m.st.lost,
                m.st.fetches, m.st.fetch_failures, m.st.topics_created,
                m.st.topic_failures, m.st.errors, m.st.unreachable);
        if (m.state == PUB_S_STOPPED && md_prng_below(&pick, 2) == 0) {
            pub_init(&m, &cfg, &rng);
            fprintf(f, "  . restarted\n");
        }
    }
}

static const struct md_action *find(const struct md_out *o, uint8_t kind,
                                    uint8_t note)
{
    size_t i;

    for (i = 0; i < o->n; i++) {
        if (o->a[i].kind == kind &&
            (kind != MD_A_NOTE || o->a[i].note == note)) {
            return &o->a[i];
        }
    }
    return NULL;
}

/* A live connection lost: the gap opens at the last activity, noted and
 * announced with that time, at the time of the loss. */
static void test_conn_gap_opens_at_last_activity(void **state)
{
    static struct md_prng rng;
    static const uint8_t path[] = {CONN_I_START, CONN_I_WS_OPEN,
                                   CONN_I_WELCOME, CONN_I_LOAD_COMPLETE,
                                   CONN_I_DATA};
    struct conn m;
    struct conn_config cfg;
    struct md_out out;
    const struct md_action *a;
    size_t k;

    (void)state;
    md_prng_seed(&rng, 5);
    conn_config_default(&cfg);
    conn_init(&m, &cfg, &rng);
    for (k = 0; k < sizeof path; k++) {
        struct conn_in in = {path[k], (mono_ns)(k + 1) * MD_NS_PER_S, 0};
        md_out_reset(&out);
        assert_int_equal(conn_step(&m, &in, &out), MD_OK);
    }
    assert_int_equal(m.state, CONN_S_STREAMING);
    {
        struct conn_in in = {CONN_I_WS_CLOSED, 9 * MD_NS_PER_S, 0};
        md_out_reset(&out);
        assert_int_equal(conn_step(&m, &in, &out), MD_OK);
    }
    a = find(&out, MD_A_NOTE, MD_N_GAP_OPEN);
    assert_non_null(a);
    assert_int_equal(a->t_ns, 9 * MD_NS_PER_S);
    assert_int_equal(a->arg, 5 * MD_NS_PER_S); /* the last DATA */
    a = find(&out, MD_A_GAP_OPEN, 0);
    assert_non_null(a);
    assert_int_equal(a->arg, 5 * MD_NS_PER_S);
    /* live again: the gap closes, noted with its start */
    {
        static const uint8_t again[] = {CONN_I_T_BACKOFF, CONN_I_WS_OPEN,
                                        CONN_I_WELCOME,
                                        CONN_I_LOAD_COMPLETE};
        for (k = 0; k < sizeof again; k++) {
            struct conn_in in = {again[k], (mono_ns)(20 + k) * MD_NS_PER_S,
                                 0};
            md_out_reset(&out);
            assert_int_equal(conn_step(&m, &in, &out), MD_OK);
        }
    }
    assert_int_equal(m.state, CONN_S_STREAMING);
    a = find(&out, MD_A_NOTE, MD_N_GAP_CLOSED);
    assert_non_null(a);
    assert_int_equal(a->t_ns, 23 * MD_NS_PER_S);
    assert_int_equal(a->arg, 5 * MD_NS_PER_S);
    assert_non_null(find(&out, MD_A_GAP_CLOSED, 0));
}

/* New bars while bars already wait (ERROR): they add to the queue. */
static void test_pub_queue_adds(void **state)
{
    static struct md_prng rng;
    struct pub m;
    struct pub_config cfg;
    struct md_out out;
    struct pub_in in = {PUB_I_DATA_READY, 5 * MD_NS_PER_S, 3};
    char why[128];

    (void)state;
    md_prng_seed(&rng, 6);
    pub_config_default(&cfg);
    pub_init(&m, &cfg, &rng);
    m.state = PUB_S_ERROR;
    m.queued = 2;
    m.timers = 1u << MD_T_PUB_RETRY;
    assert_int_equal(pub_check(&m, why, sizeof why), MD_OK);
    md_out_reset(&out);
    assert_int_equal(pub_step(&m, &in, &out), MD_OK);
    assert_int_equal(m.state, PUB_S_ERROR);
    assert_int_equal(m.queued, 5);
}

/* The flush deadline passes with bars in flight: all of them are
 * discarded, in one action, and counted lost. */
static void test_pub_abandon_discards_all(void **state)
{
    static struct md_prng rng;
    struct pub m;
    struct pub_config cfg;
    struct md_out out;
    struct pub_in in = {PUB_I_T_FLUSH, 20 * MD_NS_PER_S, 0};
    const struct md_action *a;

    (void)state;
    md_prng_seed(&rng, 7);
    pub_config_default(&cfg);
    pub_init(&m, &cfg, &rng);
    m.state = PUB_S_DRAINING;
    m.inflight = 4;
    m.timers = 1u << MD_T_PUB_FLUSH;
    assert_int_equal(pub_check(&m, NULL, 0), MD_OK);
    md_out_reset(&out);
    assert_int_equal(pub_step(&m, &in, &out), MD_OK);
    a = find(&out, MD_A_DISCARD, 0);
    assert_non_null(a);
    assert_int_equal(a->arg, 4);
    assert_int_equal(m.st.lost, 4);
    assert_int_equal(m.inflight + m.queued, 0);
}

static void test_effects_transcript(void **state)
{
    char *text = NULL, *want = NULL;
    size_t len = 0, wlen = 0, line = 1, i;
    const char *update = getenv("CCSTREAM_UPDATE_GOLDEN");
    FILE *f = open_memstream(&text, &len);
    FILE *g;

    (void)state;
    assert_non_null(f);
    walk_conn(f);
    walk_rest(f);
    walk_pub(f);
    fclose(f);
    if (update != NULL && update[0] == '1') {
        g = fopen(GOLDEN, "wb");
        assert_non_null(g);
        assert_int_equal(fwrite(text, 1, len, g), len);
        assert_int_equal(fclose(g), 0);
        libc_free(text);
        return;
    }
    g = fopen(GOLDEN, "rb");
    if (g == NULL) {
        libc_free(text);
        fail_msg("%s missing: run CCSTREAM_UPDATE_GOLDEN=1 %s", GOLDEN,
                 "build/tests/test_fsm_effects");
    }
    want = malloc(len + 2);
    assert_non_null(want);
    wlen = fread(want, 1, len + 1, g);
    fclose(g);
    for (i = 0; i < len && i < wlen && text[i] == want[i]; i++) {
        line += text[i] == '\n';
    }
    if (i != len || wlen != len) {
        char got[160];
        size_t b = i, e = i;
        while (b > 0 && text[b - 1] != '\n') {
            b--;
        }
        while (e < len && text[e] != '\n' && e - b < sizeof got - 1) {
            e++;
        }
        memcpy(got, text + b, e - b);
        got[e - b] = '\0';
        free(want);
        libc_free(text);
        fail_msg("the effects differ from %s at line %zu: %s", GOLDEN,
                 line + 1, got);
    }
    free(want);
    libc_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_effects_transcript),
        cmocka_unit_test(test_conn_gap_opens_at_last_activity),
        cmocka_unit_test(test_pub_queue_adds),
        cmocka_unit_test(test_pub_abandon_discards_all),
    };
    return cmocka_run_group_tests_name("fsm_effects", tests, NULL, NULL);
}
