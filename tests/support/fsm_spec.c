/* fsm_spec.c: the producer's machines specified as code. Each function
 * starts from "stay, do nothing" and lists what differs, state by state,
 * the way the design in docs/mealy.md reads. It shares no data with the
 * tables it checks. */
#include <stdio.h>

#include "fsm_conn.h"
#include "fsm_pub.h"
#include "fsm_rest.h"
#include "fsm_spec.h"

#define HOLDS(g, bit) ((((g) >> (bit)) & 1u) != 0)
#define SET(n, o)                                                         \
    do {                                                                  \
        *next = (n);                                                      \
        *out = (o);                                                       \
    } while (0)

void spec_conn(unsigned s, unsigned i, uint32_t g, unsigned *next,
               unsigned *out)
{
    int open = s == CONN_S_WAIT_WELCOME || s == CONN_S_SUBSCRIBING ||
               s == CONN_S_STREAMING;
    int subscribed = s == CONN_S_SUBSCRIBING || s == CONN_S_STREAMING;

    SET(s, CONN_O_NONE);
    switch (i) {
    case CONN_I_START:
        if (s == CONN_S_IDLE) {
            SET(CONN_S_CONNECTING, CONN_O_OPEN);
        }
        return;
    case CONN_I_STOP:
        if (s == CONN_S_IDLE || s == CONN_S_BACKOFF || s == CONN_S_FAILED) {
            SET(CONN_S_STOPPED, CONN_O_CANCEL);
        } else if (s == CONN_S_CONNECTING || open) {
            SET(CONN_S_CLOSING, CONN_O_CLOSE);
        }
        return;
    case CONN_I_RESET:
        if (s == CONN_S_BACKOFF || s == CONN_S_FAILED) {
            SET(CONN_S_CONNECTING, CONN_O_OPEN);
        }
        return;
    case CONN_I_WS_OPEN:
        if (s == CONN_S_CONNECTING) {
            SET(CONN_S_WAIT_WELCOME, CONN_O_NONE);
        }
        return;
    case CONN_I_WS_CLOSED:
        /* the socket ended: nothing to close */
        if (s == CONN_S_CONNECTING || open) {
            SET(CONN_S_BACKOFF, CONN_O_DROP_CLOSED);
        } else if (s == CONN_S_CLOSING) {
            SET(CONN_S_STOPPED, CONN_O_CLOSED);
        }
        return;
    case CONN_I_T_HANDSHAKE:
        if (s == CONN_S_CONNECTING || s == CONN_S_WAIT_WELCOME) {
            SET(CONN_S_BACKOFF, CONN_O_DROP);
        }
        return;
    case CONN_I_T_STALE:
        /* the server silent too long drops; while streaming, a ping
         * unanswered drops too, and nothing received for a while asks */
        if (subscribed && HOLDS(g, CONN_G_QUIET)) {
            SET(CONN_S_BACKOFF, CONN_O_DROP);
        } else if (s == CONN_S_STREAMING && HOLDS(g, CONN_G_UNANSWERED)) {
            SET(CONN_S_BACKOFF, CONN_O_DROP_NO_PONG);
        } else if (s == CONN_S_STREAMING && HOLDS(g, CONN_G_IDLE)) {
            SET(s, CONN_O_PROBE);
        } else if (subscribed) {
            SET(s, s == CONN_S_STREAMING ? CONN_O_REARM_PROBE
                                         : CONN_O_REARM_STALE);
        }
        return;
    case CONN_I_PONG:
        /* pings go out only while streaming */
        if (s == CONN_S_STREAMING) {
            SET(s, CONN_O_PONG);
        }
        return;
    case CONN_I_T_BACKOFF:
        if (s == CONN_S_BACKOFF) {
            SET(CONN_S_CONNECTING, CONN_O_OPEN);
        }
        return;
    case CONN_I_T_CLOSE:
        if (s == CONN_S_CLOSING) {
            SET(CONN_S_STOPPED, CONN_O_ABORT);
        }
        return;
    case CONN_I_T_SUBSCRIBE: /* no LOADCOMPLETE in time: reconnect */
        if (s == CONN_S_SUBSCRIBING) {
            SET(CONN_S_BACKOFF, CONN_O_DROP_SUB_TIMEOUT);
        }
        return;
    case CONN_I_WS_REFUSED_AUTH: /* only a connecting socket is refused */
        if (s == CONN_S_CONNECTING) {
            SET(CONN_S_FAILED, CONN_O_REFUSED_AUTH);
        }
        return;
    case CONN_I_WS_REFUSED_RATE:
        if (s == CONN_S_CONNECTING) {
            SET(CONN_S_BACKOFF, CONN_O_REFUSED_RATE);
        }
        return;
    default:
        break;
    }
    /* Frames: only an open socket delivers them. */
    if (!open) {
        return;
    }
    switch (i) {
    case CONN_I_UNAUTHORIZED:
        SET(CONN_S_FAILED, CONN_O_FAIL_AUTH);
        break;
    case CONN_I_TOO_MANY_SOCKETS:
        SET(CONN_S_BACKOFF, CONN_O_DROP_LONG);
        break;
    case CONN_I_FORCE_DISCONNECT:
        SET(CONN_S_BACKOFF, CONN_O_DROP_FORCED);
        break;
    case CONN_I_MALFORMED:
        SET(s, CONN_O_NOTE_MALFORMED);
        break;
    case CONN_I_HEARTBEAT:
        SET(s, CONN_O_BEAT);
        break;
    case CONN_I_WELCOME:
        if (s == CONN_S_WAIT_WELCOME) {
            SET(CONN_S_SUBSCRIBING, CONN_O_SUBSCRIBE);
        } else {
            SET(s, CONN_O_NOTE_OTHER);
        }
        break;
    case CONN_I_LOAD_COMPLETE:
        if (s == CONN_S_SUBSCRIBING) {
            SET(CONN_S_STREAMING, CONN_O_LIVE);
        } else {
            SET(s, CONN_O_NOTE_OTHER);
        }
        break;
    case CONN_I_SUB_OK:
        /* while subscribing, each completion restarts the timeout */
        SET(s, s == CONN_S_SUBSCRIBING ? CONN_O_SUB_PROGRESS
               : subscribed           ? CONN_O_SUB_ACK
                                      : CONN_O_NOTE_OTHER);
        break;
    case CONN_I_DATA:
        SET(s, subscribed ? CONN_O_FEED : CONN_O_NOTE_OTHER);
        break;
    case CONN_I_SUB_REJECTED:
        SET(s, subscribed ? CONN_O_NOTE_SUB : CONN_O_NOTE_OTHER);
        break;
    default:
        SET(s, CONN_O_NOTE_OTHER);
        break;
    }
}

void spec_rest(unsigned s, unsigned i, uint32_t g, unsigned *next,
               unsigned *out)
{
    int more = HOLDS(g, REST_G_MORE), retry = HOLDS(g, REST_G_RETRY);

    SET(s, REST_O_NONE);
    if (s == REST_S_STOPPED) {
        return;
    }
    switch (i) {
    case REST_I_STOP:
        /* only REQUESTING has a request to cancel */
        SET(REST_S_STOPPED, s == REST_S_REQUESTING ? REST_O_ABORT_REQUEST
                                                  : REST_O_ABORT);
        return;
    case REST_I_FETCH:
        SET(s == REST_S_IDLE ? REST_S_REQUESTING : s,
            s == REST_S_IDLE ? REST_O_SEND : REST_O_ENQUEUE);
        return;
    case REST_I_T_RETRY:
        if (s == REST_S_WAITING) {
            SET(REST_S_REQUESTING, REST_O_RESEND);
        }
        return;
    default:
        break;
    }
    /* Outcomes of the outstanding request. */
    if (s != REST_S_REQUESTING) {
        return;
    }
    switch (i) {
    case REST_I_RESP_OK:
        SET(more ? REST_S_REQUESTING : REST_S_IDLE,
            more ? REST_O_DELIVER_NEXT : REST_O_DELIVER_LAST);
        break;
    case REST_I_RESP_PARAM_ERROR:
        SET(more ? REST_S_REQUESTING : REST_S_IDLE,
            more ? REST_O_FAIL_NEXT : REST_O_FAIL_LAST);
        break;
    case REST_I_RESP_AUTH:
        SET(REST_S_IDLE, REST_O_FAIL_ALL);
        break;
    case REST_I_RESP_RATE_LIMIT:
    case REST_I_RESP_FAIL:
    case REST_I_T_TIMEOUT:
        if (retry) {
            SET(REST_S_WAITING, i == REST_I_RESP_RATE_LIMIT ? REST_O_WAIT_RATE
                                                            : REST_O_WAIT);
        } else {
            SET(more ? REST_S_REQUESTING : REST_S_IDLE,
                more ? REST_O_GIVE_UP_NEXT : REST_O_GIVE_UP_LAST);
        }
        break;
    default:
        break;
    }
}

void spec_pub(unsigned s, unsigned i, uint32_t g, unsigned *next,
              unsigned *out)
{
    int empty = HOLDS(g, PUB_G_EMPTY), last = HOLDS(g, PUB_G_LAST);
    int busy = HOLDS(g, PUB_G_BUSY), topic = HOLDS(g, PUB_G_TOPIC);
    int held = HOLDS(g, PUB_G_HELD);
    int topic_wait = HOLDS(g, PUB_G_TOPIC_WAIT);
    int wait_only = HOLDS(g, PUB_G_WAIT_ONLY);
    /* States in which the publisher is still running normally. */
    int running = s == PUB_S_IDLE || s == PUB_S_FETCHING ||
                  s == PUB_S_PUBLISHING || s == PUB_S_ERROR ||
                  s == PUB_S_CREATING_TOPIC;
    /* States that keep a failed bar back until they end (ERROR holds
     * new bars too; CREATING_TOPIC produces bars for topics that exist:
     * those for the topics asked for wait in the core). */
    int holding = s == PUB_S_ERROR || s == PUB_S_CREATING_TOPIC;

    SET(s, PUB_O_NONE);
    switch (i) {
    case PUB_I_FETCH_DATA:
        if (running) {
            SET(s == PUB_S_IDLE ? PUB_S_FETCHING : s, PUB_O_START_FETCH);
        }
        break;
    case PUB_I_DATA_READY:
        if (s == PUB_S_ERROR) {
            SET(s, PUB_O_QUEUE);
        } else if (s == PUB_S_CREATING_TOPIC || s == PUB_S_DRAINING) {
            SET(s, PUB_O_START_PUBLISH);
        } else if (s == PUB_S_IDLE || s == PUB_S_FETCHING) {
            if (empty) {
                SET(PUB_S_IDLE, PUB_O_NONE);
            } else {
                SET(PUB_S_PUBLISHING, PUB_O_START_PUBLISH);
            }
        } else if (s == PUB_S_PUBLISHING) {
            SET(s, empty ? PUB_O_NONE : PUB_O_START_PUBLISH);
        }
        break;
    case PUB_I_PUBLISH_SUCCESS:
        if (s == PUB_S_PUBLISHING) {
            SET(last ? PUB_S_IDLE : s, PUB_O_ACK);
        } else if (holding) {
            SET(s, PUB_O_ACK);
        } else if (s == PUB_S_DRAINING) {
            SET(last ? PUB_S_STOPPED : s, last ? PUB_O_FINISH_ACK : PUB_O_ACK);
        }
        break;
    case PUB_I_PUBLISH_FAILURE:
        if (s == PUB_S_PUBLISHING) {
            SET(PUB_S_ERROR, PUB_O_HANDLE_ERROR_PUBLISH);
        } else if (holding) {
            SET(s, PUB_O_REQUEUE);
        } else if (s == PUB_S_DRAINING) {
            SET(last ? PUB_S_STOPPED : s,
                last ? PUB_O_FINISH_LOSE : PUB_O_LOSE);
        }
        break;
    case PUB_I_RESET:
        if (s == PUB_S_ERROR) {
            if (topic) {
                SET(PUB_S_CREATING_TOPIC, PUB_O_CREATE_NEW_TOPIC);
            } else {
                SET(busy ? PUB_S_PUBLISHING : PUB_S_IDLE, PUB_O_RESET_ERROR);
            }
        } else if (s == PUB_S_DRAINING && held) {
            /* the wait for room is over: produce what waits */
            SET(s, PUB_O_RESUME);
        }
        break;
    case PUB_I_PUBLISH_REJECTED:
        /* refused for good: dead-lettered wherever it is reported */
        if (s == PUB_S_PUBLISHING) {
            SET(last ? PUB_S_IDLE : s, PUB_O_DEAD_LETTER);
        } else if (holding) {
            SET(s, PUB_O_DEAD_LETTER);
        } else if (s == PUB_S_DRAINING) {
            SET(last ? PUB_S_STOPPED : s,
                last ? PUB_O_FINISH_DEAD_LETTER : PUB_O_DEAD_LETTER);
        }
        break;
    case PUB_I_QUEUE_FULL:
        /* refused at once: back, then a short wait (while a topic is
         * created: until its result) */
        if (s == PUB_S_PUBLISHING) {
            SET(PUB_S_ERROR, PUB_O_BACKPRESSURE);
        } else if (holding) {
            SET(s, PUB_O_GIVE_BACK);
        } else if (s == PUB_S_DRAINING) {
            SET(s, PUB_O_GIVE_BACK_WAIT);
        }
        break;
    case PUB_I_PRODUCER_FATAL:
        /* the producer died: all in flight back, a new producer later */
        if (s == PUB_S_PUBLISHING) {
            SET(PUB_S_ERROR, PUB_O_HANDLE_ERROR_FATAL);
        } else if (holding) {
            SET(s, PUB_O_REQUEUE_ALL);
        } else if (s == PUB_S_DRAINING) {
            SET(s, PUB_O_REPRODUCE);
        }
        break;
    case PUB_I_FETCH_FAILURE:
        if (s == PUB_S_FETCHING) {
            SET(PUB_S_ERROR, PUB_O_HANDLE_ERROR_FETCH);
        } else if (running) {
            SET(s, PUB_O_REPORT_FETCH_ERROR);
        }
        break;
    case PUB_I_CREATE_DYNAMIC_TOPIC:
        if (holding) {
            SET(s, PUB_O_NOTE_TOPIC);
        } else if (running) {
            SET(PUB_S_CREATING_TOPIC, PUB_O_CREATE_NEW_TOPIC);
        }
        break;
    case PUB_I_TOPIC_CREATED:
        if (s == PUB_S_DRAINING && wait_only) {
            /* the topics exist (their bars came before); nothing else
             * outstanding: the drain ends */
            SET(PUB_S_STOPPED, PUB_O_FINISH_TOPIC_DONE);
        } else if (s == PUB_S_DRAINING && topic_wait) {
            SET(s, PUB_O_TOPIC_DONE);
        }
        if (s == PUB_S_CREATING_TOPIC) {
            /* a topic was created; then the next, or the queue */
            if (topic) {
                SET(s, PUB_O_CREATE_NEW_TOPIC_NEXT);
            } else if (busy) {
                SET(PUB_S_PUBLISHING, PUB_O_START_PUBLISH_QUEUED);
            } else {
                SET(PUB_S_IDLE, PUB_O_TOPIC_READY);
            }
        }
        break;
    case PUB_I_TOPIC_FAILED:
        if (s == PUB_S_CREATING_TOPIC) {
            SET(PUB_S_ERROR, PUB_O_HANDLE_ERROR_TOPIC);
        } else if (s == PUB_S_DRAINING && wait_only) {
            /* a topic failed (its bars are the core's, given up when
             * the publisher stops); nothing else outstanding: the end */
            SET(PUB_S_STOPPED, PUB_O_FINISH_TOPIC_LOST);
        } else if (s == PUB_S_DRAINING && topic_wait) {
            SET(s, PUB_O_TOPIC_LOST);
        }
        break;
    case PUB_I_STOP:
        if (s == PUB_S_IDLE || s == PUB_S_FETCHING) {
            SET(PUB_S_STOPPED, PUB_O_FINISH);
        } else if (s == PUB_S_PUBLISHING) {
            SET(PUB_S_DRAINING, PUB_O_FLUSH);
        } else if (s == PUB_S_CREATING_TOPIC) {
            /* the drain waits for the topics' result too */
            SET(PUB_S_DRAINING, PUB_O_FLUSH_TOPIC);
        } else if (holding) {
            SET(busy ? PUB_S_DRAINING : PUB_S_STOPPED,
                busy ? PUB_O_FLUSH : PUB_O_FINISH);
        }
        break;
    case PUB_I_T_FLUSH:
        if (s == PUB_S_DRAINING) {
            SET(PUB_S_STOPPED, PUB_O_ABANDON);
        }
        break;
    default:
        break;
    }
}

unsigned spec_check(const struct fsm_def *d, spec_fn spec, char *why,
                    size_t why_size, unsigned *checked)
{
    unsigned s, i, bad = 0, n = 0;
    uint32_t g, gmax = 1u << d->nguards;

    if (why_size > 0) {
        why[0] = '\0';
    }
    for (s = 1; s < d->nstates; s++) {
        for (i = 1; i < d->ninputs; i++) {
            /* Bit 0 (the "always" guard) carries no information. */
            for (g = 0; g < gmax; g += 2) {
                const struct fsm_arm *arm;
                unsigned en, eo;
                int rc = fsm_select(d, s, i, g, &arm);
                n++;
                spec(s, i, g, &en, &eo);
                if (rc != 0 || arm->next != en || arm->out != eo) {
                    if (bad++ == 0 && why_size > 0) {
                        snprintf(why, why_size,
                                 "%s (%s, %s, guards 0x%x): table %s/%s, "
                                 "spec %s/%s",
                                 d->name, d->state_names[s],
                                 d->input_names[i], (unsigned)g,
                                 rc ? "?" : d->state_names[arm->next],
                                 rc ? "?" : d->output_names[arm->out],
                                 d->state_names[en], d->output_names[eo]);
                    }
                }
            }
        }
    }
    if (checked != NULL) {
        *checked = n;
    }
    return bad;
}
