/* bench_core.c: decode + aggregate throughput of the pure core on a
 * realistic mix of CryptoCompare frames (Coinbase trades and partial CCCAGG
 * updates for BTC, ETH and LTC), one core. Timing lives here, never in
 * core/ and never in a test. Run by `make bench`; see docs/performance.md.
 *
 *   build/bench/bench_core [FRAMES]      (default 2,000,000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg.h"
#include "cc_decode.h"
#include "feed.h"
#include "md_err.h"
#include "md_prng.h"

#define S INT64_C(1000000000)

struct frame {
    unsigned off, len;
    int64_t t_ns; /* local receive time */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const SYM[3] = {"BTC", "ETH", "LTC"};
static const double PX[3] = {119283.1, 3712.45, 92.31};

/* A deterministic session: 80% trades, 20% CCCAGG updates, about 50
 * frames per second of server time. */
static char *make_frames(size_t n, struct frame *fr)
{
    size_t cap = n * 300 + 1024, used = 0, i;
    char *buf = malloc(cap);
    struct md_prng r;
    double px[3];
    double vd[3] = {15494.02153829, 301234.5, 88123.25};
    int64_t t0 = INT64_C(1753190400) * S, id[3] = {852793745, 512000000,
                                                   91000000};

    if (buf == NULL) {
        return NULL;
    }
    memcpy(px, PX, sizeof px);
    md_prng_seed(&r, 42);
    /* the welcome first: it sets the server clock */
    used = (size_t)snprintf(buf, cap,
                            "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\","
                            "\"SERVER_TIME_MS\":%lld}",
                            (long long)(t0 / 1000000));
    fr[0].off = 0;
    fr[0].len = (unsigned)used;
    fr[0].t_ns = 1000 * S;
    for (i = 1; i < n; i++) {
        unsigned k = (unsigned)md_prng_below(&r, 3);
        int64_t t = t0 + (int64_t)i * (S / 50);
        int64_t ts = t / S, tsns = (t % S) / 1000000 * 1000000;
        int len;
        px[k] *= 1.0 + ((double)md_prng_below(&r, 2001) - 1000.0) * 1e-7;
        if (md_prng_below(&r, 5) != 0) {
            long long tid = (long long)++id[k];
            double q = (double)(1 + md_prng_below(&r, 5000000)) / 1e8;
            len = snprintf(buf + used, cap - used,
                           "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"%s\","
                           "\"TSYM\":\"USD\",\"F\":\"%u\",\"ID\":\"%lld\","
                           "\"TS\":%lld,\"Q\":%.8f,\"P\":%.2f,\"TOTAL\":%.9g,"
                           "\"RTS\":%lld,\"CCSEQ\":%lld,\"TSNS\":%lld,"
                           "\"RTSNS\":%lld}",
                           SYM[k], 1u + (unsigned)md_prng_below(&r, 2),
                           tid, (long long)ts, q, px[k],
                           q * px[k], (long long)ts, tid - 16376,
                           (long long)tsns, (long long)tsns);
        } else {
            vd[k] += (double)md_prng_below(&r, 100000) / 1e4;
            len = snprintf(buf + used, cap - used,
                           "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\","
                           "\"FROMSYMBOL\":\"%s\",\"TOSYMBOL\":\"USD\","
                           "\"FLAGS\":2,\"PRICE\":%.4f,\"LASTUPDATE\":%lld,"
                           "\"LASTVOLUME\":0.028,\"LASTVOLUMETO\":1392.27,"
                           "\"LASTTRADEID\":\"%lld\",\"VOLUMEDAY\":%.8f,"
                           "\"VOLUMEDAYTO\":%.6f,\"VOLUMEHOUR\":2593.3459684,"
                           "\"VOLUMEHOURTO\":128681184.345007}",
                           SYM[k], px[k], (long long)ts, (long long)id[k],
                           vd[k], vd[k] * px[k]);
        }
        fr[i].off = (unsigned)used;
        fr[i].len = (unsigned)len;
        fr[i].t_ns = t - t0 + 1000 * S;
        used += (size_t)len;
    }
    return buf;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000, i;
    struct frame *fr = calloc(n, sizeof *fr);
    char *buf = fr ? make_frames(n, fr) : NULL;
    static struct feed f;
    static struct bar bars[4096];
    struct cc_msg msg;
    struct agg_config cfg;
    double t, best_dec = 1e9, best_feed = 1e9, best_agg[2] = {1e9, 1e9};
    struct cc_trade *trades;
    size_t ntr = 0, bytes = 0, mem_size;
    void *mem; /* the feed's and aggregator's tables, reused */
    int rep;

    if (buf == NULL) {
        fprintf(stderr, "bench_core: out of memory\n");
        return 1;
    }
    for (i = 0; i < n; i++) {
        bytes += fr[i].len;
    }
    trades = calloc(n, sizeof *trades);
    agg_config_default(&cfg);
    cfg.n_intervals = 3; /* the largest configuration below */
    mem_size = feed_mem_size(&cfg, 0);
    mem = malloc(mem_size);
    if (trades == NULL || mem == NULL) {
        fprintf(stderr, "bench_core: out of memory\n");
        return 1;
    }
    for (rep = 0; rep < 3; rep++) {
        /* 1. decode only */
        t = now_s();
        for (i = 0; i < n; i++) {
            if (cc_ws_decode(buf + fr[i].off, fr[i].len, &msg, NULL) != MD_OK) {
                fprintf(stderr, "bench_core: frame %zu did not decode\n", i);
                return 1;
            }
            if (rep == 0 && msg.type == CC_T_TRADE) {
                trades[ntr++] = msg.u.trade;
            }
        }
        t = now_s() - t;
        best_dec = t < best_dec ? t : best_dec;
        /* 2. decode + merge + aggregate (1m), closing bars as they come */
        agg_config_default(&cfg);
        feed_init(&f, &cfg, 0, mem, mem_size);
        t = now_s();
        for (i = 0; i < n; i++) {
            struct feed_result res;
            struct agg_out out = {bars, 4096, 0};
            feed_frame(&f, buf + fr[i].off, fr[i].len, fr[i].t_ns, &res);
            if ((i & 1023) == 0) {
                agg_advance(&f.agg, feed_server_ns(&f, fr[i].t_ns), &out);
            }
        }
        t = now_s() - t;
        best_feed = t < best_feed ? t : best_feed;
    }
    /* 3. the aggregator alone on decoded trades: 1 and 3 intervals */
    for (rep = 0; rep < 3; rep++) {
        unsigned ni;
        for (ni = 0; ni < 2; ni++) {
            static struct agg a;
            agg_config_default(&cfg);
            if (ni == 1) {
                cfg.intervals_s[1] = 300;
                cfg.intervals_s[2] = 900;
                cfg.n_intervals = 3;
            }
            agg_init(&a, &cfg, mem, mem_size);
            t = now_s();
            for (i = 0; i < ntr; i++) {
                struct agg_out out = {bars, 4096, 0};
                int64_t now = trades[i].ts * S + trades[i].tsns;
                agg_trade(&a, &trades[i], now);
                if ((i & 1023) == 0) {
                    agg_advance(&a, now, &out);
                }
            }
            t = now_s() - t;
            best_agg[ni] = t < best_agg[ni] ? t : best_agg[ni];
        }
    }
    printf("frames: %zu (%zu trades, %zu CCCAGG), %.0f bytes/frame\n", n, ntr,
           n - ntr, (double)bytes / (double)n);
    printf("decode only:                 %8.2f M frames/s  (%6.1f ns/frame)\n",
           (double)n / best_dec / 1e6, best_dec / (double)n * 1e9);
    printf("decode+merge+aggregate (1m): %8.2f M frames/s  (%6.1f ns/frame)\n",
           (double)n / best_feed / 1e6, best_feed / (double)n * 1e9);
    printf("aggregator alone, 1 interval:  %6.1f ns/trade/interval\n",
           best_agg[0] / (double)ntr * 1e9);
    printf("aggregator alone, 3 intervals: %6.1f ns/trade/interval\n",
           best_agg[1] / (double)ntr / 3 * 1e9);
    printf("bars: %llu, duplicates %llu, late %llu\n",
           (unsigned long long)f.agg.st.bars,
           (unsigned long long)f.agg.st.duplicates,
           (unsigned long long)f.agg.st.late_dropped);
    (void)cmp_double;
    free(trades);
    free(mem);
    free(buf);
    free(fr);
    return 0;
}
