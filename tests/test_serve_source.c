/* test_serve_source.c: what `ccstream serve` plays (serve/source.h): a
 * synth session loaded as the timeline, the subscriptions it holds, the
 * trades a reconnect repeated kept once, the ticker snapshots marked,
 * frames re-based and shifted by their patches and nothing else, the
 * recorded REST answers, and the errors of bad sources. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_decode.h"
#include "cmocka_inc.h"
#include "md_err.h"
#include "source.h"
#include "synth.h"

static struct src g_src;

static int group_setup(void **state)
{
    char err[512];

    (void)state;
    if (src_load(&g_src, "synth:minutes=10,seed=3", NULL, err, sizeof err) !=
        MD_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    src_free(&g_src);
    return 0;
}

static void test_subscriptions_and_order(void **state)
{
    static const char *const want[] = {
        "5~CCCAGG~BTC~USD", "5~CCCAGG~ETH~USD", "5~CCCAGG~LTC~USD",
        "0~Coinbase~BTC~USD", "0~Coinbase~ETH~USD", "0~Coinbase~LTC~USD",
    };
    const struct src *s = &g_src;
    size_t i, per[8] = {0};

    (void)state;
    assert_int_equal(s->n_subs, 6);
    for (i = 0; i < 6; i++) {
        long k = src_find_sub(s, want[i], strlen(want[i]));
        assert_true(k >= 0);
        assert_string_equal(s->subs[k].name, want[i]);
    }
    /* the market is matched as the streamer does, the symbols exactly */
    assert_true(src_find_sub(s, "0~coinbase~BTC~USD", 18) >= 0);
    assert_true(src_find_sub(s, "0~COINBASE~BTC~USD", 18) >= 0);
    assert_int_equal(src_find_sub(s, "0~Coinbase~btc~USD", 18), -1);
    assert_int_equal(src_find_sub(s, "0~Coinbase~BTC", 14), -1);
    assert_int_equal(src_find_sub(s, "5~CCCAGG~FOO~USD", 16), -1);
    assert_true(s->n_frames > 5000);
    for (i = 0; i < s->n_frames; i++) {
        assert_true(s->frames[i].sub < s->n_subs);
        per[s->frames[i].sub]++;
        if (i > 0) {
            assert_true(s->frames[i].t_ns >= s->frames[i - 1].t_ns);
        }
    }
    for (i = 0; i < s->n_subs; i++) {
        assert_int_equal(per[i], s->subs[i].n_frames);
        assert_true(per[i] > 0);
    }
    assert_int_equal(s->first_ns, s->frames[0].t_ns);
    assert_int_equal(s->last_ns, s->frames[s->n_frames - 1].t_ns);
    assert_int_equal(s->st.data_frames, s->n_frames);
    assert_int_equal(s->st.undecodable, 0);
    /* binary search */
    assert_int_equal(src_frame_after(s, s->first_ns - 1), 0);
    assert_int_equal(src_frame_after(s, s->last_ns), s->n_frames);
    i = src_frame_after(s, s->frames[100].t_ns);
    assert_true(i > 100 && s->frames[i].t_ns > s->frames[100].t_ns &&
                s->frames[i - 1].t_ns <= s->frames[100].t_ns);
}

/* The default session reconnects once: its 20-trade replay repeats trades
 * already kept, which are left out; every trade id appears once per pair;
 * each ticker has a snapshot per connection. */
static void test_replays_kept_once_snapshots_marked(void **state)
{
    const struct src *s = &g_src;
    size_t i, j, snaps[8] = {0}, replayed = 0;
    struct cc_msg m;

    (void)state;
    assert_true(s->st.duplicates > 0);
    for (i = 0; i < s->n_frames; i++) {
        const struct src_frame *f = &s->frames[i];
        if (f->flags & SRC_F_SNAPSHOT) {
            snaps[f->sub]++;
            assert_int_equal(s->subs[f->sub].type, 5);
        }
        if (f->flags & SRC_F_REPLAY) {
            replayed++;
            assert_int_equal(s->subs[f->sub].type, 0);
        }
    }
    for (i = 0; i < s->n_subs; i++) {
        if (s->subs[i].type == 5) {
            assert_true(snaps[i] >= 2); /* the first socket and the next */
        }
    }
    /* the reconnect's replay brought trades not seen before the drop */
    assert_true(replayed > 0);
    /* unique trade ids per pair (quadratic on a sample: the first 3000
     * frames) */
    for (i = 0; i < s->n_frames && i < 3000; i++) {
        char id_i[40];
        if (s->subs[s->frames[i].sub].type != 0) {
            continue;
        }
        assert_int_equal(cc_ws_decode(src_payload(s, &s->frames[i]),
                                      s->frames[i].len, &m, NULL),
                         MD_OK);
        snprintf(id_i, sizeof id_i, "%.*s", (int)m.u.trade.id.len,
                 m.u.trade.id.p);
        for (j = i + 1; j < s->n_frames && j < 3000; j++) {
            if (s->frames[j].sub != s->frames[i].sub) {
                continue;
            }
            assert_int_equal(cc_ws_decode(src_payload(s, &s->frames[j]),
                                          s->frames[j].len, &m, NULL),
                             MD_OK);
            assert_false(m.u.trade.id.len == strlen(id_i) &&
                         memcmp(m.u.trade.id.p, id_i, strlen(id_i)) == 0);
        }
    }
}

/* Re-basing changes the times by the shift and the ids by theirs, every
 * other byte as recorded. */
static void test_render_shifts_only_times_and_ids(void **state)
{
    const struct src *s = &g_src;
    char out[8192];
    size_t i, checked_trades = 0, checked_tickers = 0;
    const int64_t shift = 86400 * 500, ids = 1000000;

    (void)state;
    for (i = 0; i < s->n_frames; i += 7) {
        const struct src_frame *f = &s->frames[i];
        struct cc_msg a, b;
        size_t n = src_render(s, f, shift, ids, out, sizeof out);
        assert_true(n > 0);
        assert_int_equal(cc_ws_decode(src_payload(s, f), f->len, &a, NULL),
                         MD_OK);
        assert_int_equal(cc_ws_decode(out, n, &b, NULL), MD_OK);
        assert_int_equal(a.type, b.type);
        if (a.type == CC_T_TRADE) {
            assert_int_equal(b.u.trade.ts, a.u.trade.ts + shift);
            assert_int_equal(b.u.trade.rts, a.u.trade.rts + shift);
            assert_int_equal(b.u.trade.tsns, a.u.trade.tsns);
            assert_int_equal(b.u.trade.ccseq, a.u.trade.ccseq + ids);
            assert_int_equal(strtoll(b.u.trade.id.p, NULL, 10),
                             strtoll(a.u.trade.id.p, NULL, 10) + ids);
            assert_true(b.u.trade.p.d == a.u.trade.p.d);
            assert_true(b.u.trade.q.d == a.u.trade.q.d);
            checked_trades++;
        } else if (a.type == CC_T_CCCAGG &&
                   (a.u.ticker.has & CC_TKM(CC_TK_LASTUPDATE))) {
            assert_int_equal(b.u.ticker.lastupdate,
                             a.u.ticker.lastupdate + shift);
            checked_tickers++;
        }
        /* no shift: the frame as recorded */
        n = src_render(s, f, 0, 0, out, sizeof out);
        assert_int_equal(n, f->len);
        assert_memory_equal(out, src_payload(s, f), n);
        /* too small a buffer: refused, not cut */
        assert_int_equal(src_render(s, f, shift, ids, out, f->len / 2), 0);
    }
    assert_true(checked_trades > 100 && checked_tickers > 50);
}

static void test_recorded_rest(void **state)
{
    const struct src *s = &g_src;
    const struct src_rest *r;

    (void)state;
    assert_true(s->n_rest > 0);
    r = src_rest_find(s, s->rest[0].key, s->rest[0].t_ns);
    assert_non_null(r);
    assert_string_equal(r->key, s->rest[0].key);
    assert_true(r->len > 0 && strstr(r->body, "\"Data\"") != NULL);
    assert_null(src_rest_find(s, "GET /nothing", 0));
    assert_null(strstr(s->rest[0].key, "api_key"));
}

static void test_bad_sources(void **state)
{
    struct src s;
    char err[512];

    (void)state;
    assert_int_equal(src_load(&s, "/nonexistent/x.db", NULL, err,
                              sizeof err),
                     MD_E_NOTFOUND);
    assert_non_null(strstr(err, "/nonexistent/x.db"));
    assert_int_equal(src_load(&s, "synth:minutes=0", NULL, err, sizeof err),
                     MD_E_USAGE);
    assert_int_equal(src_load(&s, "synth:scenario=nope", NULL, err,
                              sizeof err),
                     MD_E_USAGE);
    assert_non_null(strstr(err, "nope"));
    assert_int_equal(src_load(&s, "synth:seed", NULL, err, sizeof err),
                     MD_E_USAGE);
    assert_int_equal(src_load(&s, "synth:colour=red", NULL, err, sizeof err),
                     MD_E_USAGE);
    assert_non_null(strstr(err, "colour"));
    assert_int_equal(src_load(&s, "", NULL, err, sizeof err), MD_E_USAGE);
    /* a file that is not a capture */
    {
        char path[] = "/tmp/test_serve_source.XXXXXX";
        int fd = mkstemp(path);
        FILE *f;
        assert_true(fd >= 0);
        f = fdopen(fd, "w");
        fputs("not a capture at all\n", f);
        fclose(f);
        assert_int_equal(src_load(&s, path, NULL, err, sizeof err),
                         MD_E_CORRUPT);
        assert_non_null(strstr(err, path));
        remove(path);
    }
}

/* Frames that do not decode are counted and left out; a scenario's
 * symbols and market are taken. */
static void test_scenarios_and_options(void **state)
{
    struct src s;
    char err[512];

    (void)state;
    assert_int_equal(src_load(&s, "synth:minutes=3,seed=2,scenario="
                                  "malformed-frame",
                              NULL, err, sizeof err),
                     MD_OK);
    assert_true(s.st.undecodable > 0);
    assert_int_equal(s.st.data_frames, s.n_frames);
    src_free(&s);
    assert_int_equal(src_load(&s, "synth:minutes=2,symbols=BTC+SOL,"
                                  "exchange=Kraken",
                              NULL, err, sizeof err),
                     MD_OK);
    assert_true(src_find_sub(&s, "0~Kraken~SOL~USD", 16) >= 0);
    assert_true(src_find_sub(&s, "5~CCCAGG~SOL~USD", 16) >= 0);
    assert_int_equal(src_find_sub(&s, "0~Coinbase~BTC~USD", 18), -1);
    src_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subscriptions_and_order),
        cmocka_unit_test(test_replays_kept_once_snapshots_marked),
        cmocka_unit_test(test_render_shifts_only_times_and_ids),
        cmocka_unit_test(test_recorded_rest),
        cmocka_unit_test(test_bad_sources),
        cmocka_unit_test(test_scenarios_and_options),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
