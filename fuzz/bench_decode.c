/* fuzz/bench_decode.c: single-core throughput of cc_ws_decode on the
 * real-shaped frames of the protocol reference (section 3.2, 3.3).
 * Not part of the core; run with `make bench-decode` (mk/fuzz.mk). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cc_decode.h"
#include "md_err.h"

static const char trade[] =
    "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\",\"TSYM\":\"USD\","
    "\"F\":\"1\",\"ID\":\"852793745\",\"TS\":1753190418,\"Q\":0.34637342,"
    "\"P\":119283.1,\"TOTAL\":41316.495295202,\"RTS\":1753190418,"
    "\"CCSEQ\":852777369,\"TSNS\":654000000,\"RTSNS\":708000000}";

static const char agg[] =
    "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
    "\"TOSYMBOL\":\"USD\",\"FLAGS\":2,\"MEDIAN\":49735.6637659428,"
    "\"LASTTRADEID\":\"217093517\",\"PRICE\":49735.6637659428,"
    "\"LASTUPDATE\":1707832427,\"LASTVOLUME\":0.02800179,"
    "\"LASTVOLUMETO\":1392.2750404647,\"VOLUMEHOUR\":2593.3459684,"
    "\"VOLUMEHOURTO\":128681184.345007,\"VOLUMEDAY\":15494.02153829,"
    "\"VOLUMEDAYTO\":773812157.387051,\"VOLUME24HOUR\":49236.99141083,"
    "\"VOLUME24HOURTO\":2449291847.091117,"
    "\"CURRENTSUPPLYMKTCAP\":976108705309.5936,"
    "\"CIRCULATINGSUPPLYMKTCAP\":976108705309.5936,"
    "\"MAXSUPPLYMKTCAP\":1044448937935.905}";

/* TYPE first is the fast path; this one puts it last (slow path). */
static const char trade_type_last[] =
    "{\"M\":\"Coinbase\",\"FSYM\":\"BTC\",\"TSYM\":\"USD\","
    "\"F\":\"1\",\"ID\":\"852793745\",\"TS\":1753190418,\"Q\":0.34637342,"
    "\"P\":119283.1,\"TOTAL\":41316.495295202,\"RTS\":1753190418,"
    "\"CCSEQ\":852777369,\"TSNS\":654000000,\"RTSNS\":708000000,"
    "\"TYPE\":\"0\"}";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double run(const char *name, const char *s, int merge)
{
    size_t len = strlen(s);
    struct cc_msg m;
    struct cc_ticker_state st;
    double best = 0;
    int rep;

    cc_ticker_reset(&st);
    for (rep = 0; rep < 3; rep++) {
        unsigned long n = 0;
        double t0 = now_s();
        double t1;
        do {
            int k;
            for (k = 0; k < 10000; k++) {
                if (cc_ws_decode(s, len, &m, NULL) != MD_OK) {
                    fprintf(stderr, "%s: decode failed\n", name);
                    return 0;
                }
                if (merge &&
                    cc_ticker_merge(&st, &m.u.ticker, NULL) != MD_OK) {
                    fprintf(stderr, "%s: merge failed\n", name);
                    return 0;
                }
            }
            n += 10000;
            t1 = now_s();
        } while (t1 - t0 < 1.0);
        if ((double)n / (t1 - t0) > best) {
            best = (double)n / (t1 - t0);
        }
    }
    printf("%-28s %4zu B  %6.2f M msg/s  %6.0f ns/msg  %5.0f MB/s\n", name,
           len, best / 1e6, 1e9 / best, best * (double)len / 1e6);
    return best;
}

int main(void)
{
    run("trade TYPE 0", trade, 0);
    run("CCCAGG TYPE 5 (21 fields)", agg, 0);
    run("CCCAGG TYPE 5 + merge", agg, 1);
    run("trade, TYPE last", trade_type_last, 0);
    return 0;
}
