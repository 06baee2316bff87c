/* stats.c: the live producer's observed counts (stats.h). */
#define _GNU_SOURCE /* memmem */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cc_decode.h"
#include "core.h"
#include "log.h"
#include "stats.h"

static const char *const cause_names[LS_C__COUNT] = {
    "stale", "ping_timeout", "force_disconnect", "subscribe_timeout",
    "too_many_sockets", "auth_failed", "closed", "handshake",
};

const char *ls_cause_name(int c)
{
    return c >= 0 && c < LS_C__COUNT ? cause_names[c] : "unknown";
}

const double ls_lag_le_s[LS_LAG_N] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
};

void live_stats_init(struct live_stats *s, int64_t wall_minus_mono,
                     int64_t skew_warn_ms)
{
    memset(s, 0, sizeof *s);
    s->wall_minus_mono = wall_minus_mono;
    s->skew_warn_ms = skew_warn_ms;
    s->cause = -1;
}

static void on_frame(struct live_stats *s, const struct core_in *in)
{
    int64_t wall_ns = in->t_ns + s->wall_minus_mono, server_ms;
    static const char trade[] = "\"TYPE\":\"0\"";

    if (in->data == NULL) {
        return;
    }
    if (memmem(in->data, in->len, trade, sizeof trade - 1) != NULL) {
        int64_t ts = cc_peek_int(in->data, in->len, "\"TS\":", 5);
        int64_t tsns = cc_peek_int(in->data, in->len, "\"TSNS\":", 7);
        if (ts > 0 && ts < INT64_C(4102444800)) {
            int64_t at = ts * INT64_C(1000000000) +
                         (tsns > 0 && tsns < 1000000000 ? tsns : 0);
            /* a trade stamped after its receipt (our clock behind the
             * exchange's) counts as no lag: the skew gauge says by how
             * much */
            double l = wall_ns > at ? (double)(wall_ns - at) / 1e9 : 0;
            unsigned b = 0;
            while (b < LS_LAG_N && l > ls_lag_le_s[b]) {
                b++;
            }
            s->lag[b]++;
            s->lag_sum_s += l;
        }
        return;
    }
    server_ms = cc_peek_int(in->data, in->len, "\"SERVER_TIME_MS\":", 17);
    if (server_ms < 0) {
        server_ms = cc_peek_int(in->data, in->len, "\"TIMEMS\":", 9);
    }
    if (server_ms > 0 && server_ms < INT64_C(4102444800000)) {
        int64_t skew = server_ms - wall_ns / 1000000;
        int64_t mag = skew < 0 ? -skew : skew;
        s->skew_known = true;
        s->skew_ms = skew;
        if (s->skew_warn_ms > 0 && mag > s->skew_warn_ms && !s->skew_warned) {
            md_log(MD_LOG_WARN, "clock_skew", "ccstream live: the local "
                   "clock is %" PRId64 " ms %s the server's (more than %"
                   PRId64 " ms): lag figures and Kafka time stamps are off "
                   "by as much; check NTP (chronyc tracking)", mag,
                   skew > 0 ? "behind" : "ahead of", s->skew_warn_ms);
            s->skew_warned = true;
        } else if (s->skew_warned && mag <= s->skew_warn_ms / 2) {
            md_log(MD_LOG_INFO, "clock_skew_ok", "ccstream live: the local "
                   "clock is back within %" PRId64 " ms of the server's",
                   mag);
            s->skew_warned = false;
        }
    }
}

static void observe(void *ctx, const struct loop *l, const struct core_in *in)
{
    struct live_stats *s = ctx;
    bool ping_lost = false, sock;
    size_t i;

    if (in->kind == CORE_IN_FRAME) {
        on_frame(s, in);
    }
    if (in->kind == CORE_IN_CONN && s->cause < 0) {
        if (in->input == CONN_I_WS_CLOSED) {
            s->cause = LS_C_CLOSED;
        } else if (in->input == CONN_I_WS_REFUSED_AUTH) {
            s->cause = LS_C_AUTH_FAILED;
        } else if (in->input == CONN_I_WS_REFUSED_RATE) {
            s->cause = LS_C_TOO_MANY_SOCKETS;
        }
    }
    sock = in->kind == CORE_IN_FRAME || in->kind == CORE_IN_CONN ||
           in->kind == CORE_IN_TIMER;
    for (i = 0; i < l->out.n; i++) {
        const struct md_action *a = &l->out.a[i];
        int c = -1;
        if (a->kind != MD_A_NOTE || !sock) {
            continue;
        }
        switch (a->note) {
        case MD_N_PING_TIMEOUT:
            c = LS_C_PING_TIMEOUT;
            ping_lost = true;
            break;
        case MD_N_FORCE_DISCONNECT:
            c = LS_C_FORCE_DISCONNECT;
            break;
        case MD_N_SUBSCRIBE_TIMEOUT:
            c = LS_C_SUBSCRIBE_TIMEOUT;
            break;
        case MD_N_TOO_MANY_SOCKETS:
            c = LS_C_TOO_MANY_SOCKETS;
            break;
        case MD_N_AUTH_FAILED:
            c = LS_C_AUTH_FAILED;
            break;
        default:
            break;
        }
        if (c >= 0) {
            s->cause = c; /* the core's reason before the close it makes */
        }
    }
    for (i = 0; i < l->out.n; i++) {
        const struct md_action *a = &l->out.a[i];
        switch (a->kind) {
        case MD_A_TRACE:
            if (a->tr.machine == MD_M_CONN && a->tr.input == CONN_I_T_STALE &&
                a->tr.from != a->tr.to && !ping_lost) {
                s->stale++;
                if (s->cause < 0 || s->cause == LS_C_CLOSED) {
                    s->cause = LS_C_STALE;
                }
            }
            if (in->kind == CORE_IN_HTTP && a->tr.machine == MD_M_REST &&
                a->tr.input >= REST_I_RESP_OK &&
                a->tr.input <= REST_I_RESP_FAIL) {
                s->rest[a->tr.input]++;
            }
            if (in->kind == CORE_IN_TIMER && a->tr.machine == MD_M_REST &&
                a->tr.input == REST_I_T_TIMEOUT && a->tr.from != a->tr.to) {
                s->rest[REST_I_T_TIMEOUT]++;
            }
            break;
        case MD_A_WS_OPEN:
            if (s->had_conn) {
                int c = s->cause >= 0 ? s->cause : LS_C_HANDSHAKE;
                s->reconnects[c]++;
            }
            s->had_conn = true;
            s->opens++;
            s->cause = -1;
            break;
        case MD_A_REST_SEND:
            s->rest_sent++;
            break;
        case MD_A_REST_CANCEL:
            s->rest_cancelled++;
            break;
        default:
            break;
        }
    }
}

const struct loop_observer *live_stats_observer(struct live_stats *s,
                                                struct loop_observer *o)
{
    o->ctx = s;
    o->step = observe;
    return o;
}

double live_stats_lag(const struct live_stats *s, double q)
{
    uint64_t n = 0, seen = 0;
    unsigned b;

    for (b = 0; b <= LS_LAG_N; b++) {
        n += s->lag[b];
    }
    if (n == 0) {
        return -1;
    }
    for (b = 0; b < LS_LAG_N; b++) {
        seen += s->lag[b];
        if ((double)seen >= q * (double)n) {
            return ls_lag_le_s[b];
        }
    }
    return ls_lag_le_s[LS_LAG_N - 1];
}
