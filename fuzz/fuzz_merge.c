/* fuzz_merge.c: stateful libFuzzer target for the TYPE 5/2 merge.
 *
 * The input is a session: frames separated by '\n'. Each frame is decoded;
 * tickers merge into one of four states (a slot per key, reset when the
 * key changes, as a resubscribe would). After every merge the merge rules
 * are checked against a copy of the state taken before it. A frame that is
 * exactly "RESET" resets every state. Hook for the aggregator later. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_decode.h"
#include "md_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSTATE 4

static unsigned slot_of(const struct cc_ticker *t)
{
    unsigned h = (unsigned)t->type_num;
    size_t i;
    for (i = 0; i < t->fsym.len; i++) {
        h = h * 31u + (unsigned char)t->fsym.p[i];
    }
    return h % NSTATE;
}

static void check_merge(const struct cc_ticker_state *old,
                        const struct cc_ticker_state *st,
                        const struct cc_ticker *up, uint64_t changed)
{
    size_t i;
    if ((changed & ~up->has) != 0 || (st->has & old->has) != old->has) {
        abort();
    }
    for (i = 0; i < CC_TK__NUM; i++) {
        const struct cc_num *want =
            (up->has & CC_TKM(i)) ? &up->num[i] : &old->num[i];
        if (memcmp(&st->num[i], want, sizeof *want) != 0) {
            abort(); /* absent fields never change; present ones win */
        }
    }
    if (!(up->has & CC_TKM(CC_TK_PRICE)) &&
        memcmp(&st->num[CC_TK_PRICE], &old->num[CC_TK_PRICE],
               sizeof st->num[0]) != 0) {
        abort();
    }
    if (st->lastupdate !=
        ((up->has & CC_TKM(CC_TK_LASTUPDATE)) ? up->lastupdate
                                               : old->lastupdate)) {
        abort();
    }
    if (st->flags !=
        ((up->has & CC_TKM(CC_TK_FLAGS)) ? up->flags : old->flags)) {
        abort();
    }
    if (!(up->has & CC_TKM(CC_TK_LASTMARKET)) &&
        memcmp(&st->lastmarket, &old->lastmarket, sizeof st->lastmarket)) {
        abort();
    }
    if (st->updates != old->updates + 1 || !st->keyed) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cc_ticker_state states[NSTATE];
    const char *p = (const char *)data;
    const char *end = p + size;
    size_t i;

    for (i = 0; i < NSTATE; i++) {
        cc_ticker_reset(&states[i]);
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct cc_msg m;
        struct cc_err e;
        int rc;

        if (n == 5 && memcmp(p, "RESET", 5) == 0) {
            for (i = 0; i < NSTATE; i++) {
                cc_ticker_reset(&states[i]);
            }
        }
        rc = cc_ws_decode(p, n, &m, &e);
        if (rc == MD_OK &&
            (m.type == CC_T_CCCAGG || m.type == CC_T_TICKER)) {
            struct cc_ticker_state *st = &states[slot_of(&m.u.ticker)];
            struct cc_ticker_state old = *st;
            uint64_t changed;
            rc = cc_ticker_merge(st, &m.u.ticker, &changed);
            if (rc == MD_E_INVAL) {
                /* another key in this slot: resubscribe */
                if (memcmp(st, &old, sizeof old) != 0) {
                    abort();
                }
                cc_ticker_reset(st);
                old = *st;
                rc = cc_ticker_merge(st, &m.u.ticker, &changed);
            }
            if (rc == MD_OK) {
                check_merge(&old, st, &m.u.ticker, changed);
            } else if (memcmp(st, &old, sizeof old) != 0) {
                abort(); /* a failed merge changes nothing */
            }
        }
        p += n + (nl ? 1 : 0);
    }
    return 0;
}
