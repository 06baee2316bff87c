/* bench_bar_codec.c: encode/decode speed of core/bar_codec.h, one core.
 *
 * Not built or run by `make`; docs/bars.md gives the command. Measures
 * bars/s for each encoding over 1024 realistic Coinbase-like bars (best of
 * 3 runs of >= 1 s each), with msgpack-c's own pack/unpack of the same
 * map as a reference point. */
#include <msgpack.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bar_codec.h"

#define NBARS 1024

static struct bar bars[NBARS];
static char json[NBARS][BAR_JSON_MAX];
static size_t json_len[NBARS];
static unsigned char mp[NBARS][BAR_MSGPACK_MAX];
static size_t mp_len[NBARS];
static volatile size_t sink;

static uint64_t rng = 0x243F6A8885A308D3u;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Du;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What a Coinbase BTC-USD minute looks like: prices are parsed trade
 * prices with 2 decimals (cents / 100.0 is the double strtod gives for
 * "119283.10"), volumes have 8 decimals, the notional is exact to 1e-10,
 * and the VWAP is a full-precision quotient (17 significant digits, the
 * slow path of the shortest-double search). */
static void make_bars(void)
{
    int i;
    for (i = 0; i < NBARS; i++) {
        struct bar *b = &bars[i];
        int64_t cents = 11900000 + (int64_t)(rnd() % 100000);
        memset(b, 0, sizeof *b);
        memcpy(b->market, "Coinbase", 9);
        memcpy(b->base, "BTC", 4);
        memcpy(b->quote, "USD", 4);
        b->interval_s = 60;
        b->source = BAR_SRC_TRADES;
        b->start_ms = 1753190400000 + (int64_t)i * 60000;
        b->end_ms = b->start_ms + 60000;
        b->close_reason = BAR_CLOSE_TIMER;
        b->has = BAR_HAS_OHLC | BAR_HAS_VOLUME | BAR_HAS_TRADES |
                 BAR_HAS_VWAP | BAR_HAS_BUYSELL | BAR_HAS_FIRSTLAST;
        b->open = (double)cents / 100.0;
        b->high = (double)(cents + (int64_t)(rnd() % 5000)) / 100.0;
        b->low = (double)(cents - (int64_t)(rnd() % 5000)) / 100.0;
        b->close = (double)(cents + (int64_t)(rnd() % 4000) - 2000) / 100.0;
        b->volume = (bar_i128)(rnd() % 5000000000u) * 10000; /* 1e-8 */
        b->buy_volume = b->volume / 3;
        b->sell_volume = b->volume - b->buy_volume;
        b->quote_volume = b->volume * (bar_i128)119123 * 100000000 +
                          (bar_i128)(rnd() % 1000000000u);
        b->trades = rnd() % 2000;
        b->vwap = (double)cents / 100.0 * (1 + (double)(rnd() % 1000) / 3e6);
        snprintf(b->first_id, sizeof b->first_id, "%u",
                 (unsigned)(852793745 + i * 200));
        snprintf(b->last_id, sizeof b->last_id, "%u",
                 (unsigned)(852793745 + i * 200 + 187));
        b->first_ns = b->start_ms * 1000000 + 123000000;
        b->last_ns = b->start_ms * 1000000 + 59987000000;
    }
}

enum op {
    OP_TO_JSON,
    OP_FROM_JSON,
    OP_TO_MP,
    OP_FROM_MP,
    OP_KEY,
    OP_MPC_UNPACK,
    OP__COUNT
};

static const char *const op_name[] = {
    "bar_to_json", "bar_from_json", "bar_to_msgpack", "bar_from_msgpack",
    "bar_key", "msgpack-c unpack (tree only)"};

static void run(enum op op, long n)
{
    long k;
    struct bar d;
    char key[BAR_KEY_MAX];
    size_t len = 0;
    msgpack_unpacked u;

    msgpack_unpacked_init(&u);
    for (k = 0; k < n; k++) {
        int i = (int)(k & (NBARS - 1));
        switch (op) {
        case OP_TO_JSON:
            bar_to_json(&bars[i], json[i], BAR_JSON_MAX, &len);
            break;
        case OP_FROM_JSON:
            bar_from_json(json[i], json_len[i], &d, NULL);
            len = (size_t)d.trades;
            break;
        case OP_TO_MP:
            bar_to_msgpack(&bars[i], mp[i], BAR_MSGPACK_MAX, &len);
            break;
        case OP_FROM_MP:
            bar_from_msgpack(mp[i], mp_len[i], &d, NULL);
            len = (size_t)d.trades;
            break;
        case OP_KEY:
            bar_key(&bars[i], key, sizeof key, &len);
            break;
        case OP_MPC_UNPACK: {
            size_t off = 0;
            msgpack_unpack_next(&u, (const char *)mp[i], mp_len[i], &off);
            len = off;
            break;
        }
        case OP__COUNT:
            break;
        }
        sink += len;
    }
    msgpack_unpacked_destroy(&u);
}

int main(void)
{
    int i, op, r;
    size_t jt = 0, mt = 0;

    make_bars();
    for (i = 0; i < NBARS; i++) {
        if (bar_to_json(&bars[i], json[i], BAR_JSON_MAX, &json_len[i]) ||
            bar_to_msgpack(&bars[i], mp[i], BAR_MSGPACK_MAX, &mp_len[i])) {
            fprintf(stderr, "encode failed\n");
            return 1;
        }
        jt += json_len[i];
        mt += mp_len[i];
    }
    printf("mean size: JSON %.0f B, msgpack %.0f B\n", (double)jt / NBARS,
           (double)mt / NBARS);
    for (op = 0; op < OP__COUNT; op++) {
        double best = 0;
        for (r = 0; r < 3; r++) {
            long n = 1 << 14;
            double t0, t;
            for (;;) {
                t0 = now();
                run((enum op)op, n);
                t = now() - t0;
                if (t >= 1.0) {
                    break;
                }
                n *= 2;
            }
            if ((double)n / t > best) {
                best = (double)n / t;
            }
        }
        printf("%-30s %10.0f bars/s  %7.0f ns/bar\n", op_name[op], best,
               1e9 / best);
    }
    return 0;
}
