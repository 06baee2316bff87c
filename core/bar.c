/* bar.c: names for bar enums and intervals. Pure. */
#include <stdio.h>

#include "bar.h"

const char *bar_source_name(int source)
{
    switch (source) {
    case BAR_SRC_TRADES:
        return "trades";
    case BAR_SRC_CCCAGG:
        return "cccagg";
    case BAR_SRC_REST:
        return "rest";
    case BAR_SRC_OHLC:
        return "ohlc";
    default:
        return "?";
    }
}

const char *bar_close_name(int close_reason)
{
    switch (close_reason) {
    case BAR_CLOSE_TIMER:
        return "timer";
    case BAR_CLOSE_REVISION:
        return "revision";
    case BAR_CLOSE_FLUSH:
        return "flush";
    case BAR_CLOSE_BACKFILL:
        return "backfill";
    default:
        return "?";
    }
}

int bar_interval_name(int64_t interval_s, char *buf, unsigned cap)
{
    /* written by hand, not with snprintf: twice per published bar (its
     * key and its value); the same result, snprintf's contract included
     * (the length it would have written, truncated to cap - 1 bytes) */
    char tmp[24];
    unsigned n = 0, i;
    uint64_t v;
    char unit;

    if (interval_s > 0 && interval_s % 86400 == 0) {
        v = (uint64_t)(interval_s / 86400);
        unit = 'd';
    } else if (interval_s > 0 && interval_s % 3600 == 0) {
        v = (uint64_t)(interval_s / 3600);
        unit = 'h';
    } else if (interval_s > 0 && interval_s % 60 == 0) {
        v = (uint64_t)(interval_s / 60);
        unit = 'm';
    } else {
        v = interval_s < 0 ? (uint64_t)0 - (uint64_t)interval_s
                           : (uint64_t)interval_s;
        unit = 's';
    }
    tmp[sizeof tmp - 1] = unit;
    n = 1;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v != 0);
    if (interval_s < 0) {
        tmp[sizeof tmp - 1 - n++] = '-';
    }
    for (i = 0; cap > 0 && i < n && i < cap - 1; i++) {
        buf[i] = tmp[sizeof tmp - n + i];
    }
    if (cap > 0) {
        buf[i] = '\0';
    }
    return (int)n;
}
