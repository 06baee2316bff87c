/* md_types.c: the output buffer and the name tables of md_types.h. Pure. */
#include <assert.h>
#include <string.h>

#include "md_types.h"

static const char *const timer_names[] = {
    "invalid",       "conn.handshake", "conn.stale", "conn.backoff",
    "conn.close",    "rest.timeout",   "rest.retry", "pub.retry",
    "pub.flush",     "bar",            "backfill",   "conn.subscribe",
};
_Static_assert(sizeof timer_names / sizeof timer_names[0] == MD_T__COUNT,
               "timer_names out of step with enum md_timer");

static const char *const act_names[] = {
    "invalid",      "trace",        "arm_timer",   "cancel_timer",
    "ws_open",      "ws_subscribe", "ws_close",    "rest_send",
    "rest_cancel",  "topic_create", "produce",     "discard",
    "flush",        "bars",
    "note",         "dead_letter",  "producer_reset", "ws_ping",
    "fetch",        "fetch_done",   "fetch_failed",
    "requeue",      "requeue_all",  "gap_open",    "gap_closed",
};
_Static_assert(sizeof act_names / sizeof act_names[0] == MD_A__COUNT,
               "act_names out of step with enum md_act_kind");

static const char *const note_names[] = {
    "invalid",          "malformed_frame", "other_frame",
    "sub_rejected",     "auth_failed",     "too_many_sockets",
    "force_disconnect", "conn_lost",       "gap_open",
    "gap_closed",       "fetch_failed",    "rest_failed",
    "publish_failed",   "topic_failed",    "queue_overflow",
    "bars_lost",        "stale_report",    "streams_full",
    "tickers_full",     "bars_wait",       "unreachable",
    "subscribe_timeout",
    "backfill_retry",   "backfill_dropped",
    "dead_letter",      "producer_fatal",  "backpressure",
    "ping_timeout",
};
_Static_assert(sizeof note_names / sizeof note_names[0] == MD_N__COUNT,
               "note_names out of step with enum md_note");

static const char *const machine_names[] = {"invalid", "conn", "rest", "pub"};
_Static_assert(sizeof machine_names / sizeof machine_names[0] == MD_M__COUNT,
               "machine_names out of step with enum md_machine");

#define NAME_OF(tab, i)                                                   \
    (((i) >= 0 && (size_t)(i) < sizeof(tab) / sizeof((tab)[0]))           \
         ? (tab)[(size_t)(i)]                                             \
         : "?")

const char *md_timer_name(int timer)
{
    return NAME_OF(timer_names, timer);
}

const char *md_act_name(int kind)
{
    return NAME_OF(act_names, kind);
}

const char *md_note_name(int note)
{
    return NAME_OF(note_names, note);
}

const char *md_machine_name(int machine)
{
    return NAME_OF(machine_names, machine);
}

void md_out_reset(struct md_out *out)
{
    out->n = 0;
}

size_t md_out_room(const struct md_out *out)
{
    return MD_OUT_CAP - out->n;
}

struct md_action *md_out_push(struct md_out *out, enum md_act_kind kind,
                              mono_ns t_ns)
{
    struct md_action *a;

    assert(out->n < MD_OUT_CAP);
    a = &out->a[out->n++];
    memset(a, 0, sizeof *a);
    a->kind = (uint8_t)kind;
    a->t_ns = t_ns;
    return a;
}
