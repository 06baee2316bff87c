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
    int n;

    if (interval_s > 0 && interval_s % 86400 == 0) {
        n = snprintf(buf, cap, "%lldd", (long long)(interval_s / 86400));
    } else if (interval_s > 0 && interval_s % 3600 == 0) {
        n = snprintf(buf, cap, "%lldh", (long long)(interval_s / 3600));
    } else if (interval_s > 0 && interval_s % 60 == 0) {
        n = snprintf(buf, cap, "%lldm", (long long)(interval_s / 60));
    } else {
        n = snprintf(buf, cap, "%llds", (long long)interval_s);
    }
    return n;
}
