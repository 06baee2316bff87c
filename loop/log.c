/* log.c: log lines (log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static bool g_json;

void md_log_json(bool on)
{
    g_json = on;
}

bool md_log_is_json(void)
{
    return g_json;
}

void md_log_json_str(char *out, unsigned cap, const char *text)
{
    unsigned o = 0;

    if (cap < 3) {
        return;
    }
    out[o++] = '"';
    for (; *text != '\0' && o + 8 < cap; text++) {
        unsigned char c = (unsigned char)*text;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            o += (unsigned)snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

void md_log(int level, const char *event, const char *fmt, ...)
{
    static const char *const names[] = {"info", "warn", "error"};
    char msg[2048], js[4200], ts[40];
    struct timespec now;
    struct tm tm;
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n') {
        msg[--n] = '\0';
    }
    if (!g_json) {
        fprintf(stderr, "%s\n", msg);
        return;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    md_log_json_str(js, sizeof js, msg);
    fprintf(stderr, "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"event\":\"%s\","
            "\"msg\":%s}\n", ts, now.tv_nsec / 1000000,
            names[level >= 0 && level <= 2 ? level : 0], event, js);
}
